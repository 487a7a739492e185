/*
 * early_console.h - a minimal polled 16550 driver on COM1 (port 0x3F8) for
 * the native side: early boot and the panic path only.  The hypervisor's real
 * console driver is TypeScript (arch/x86/serial.ts).
 *
 * Bytes go out exactly as given: '\n' is not expanded to "\r\n".  Every wait
 * on the UART is bounded, so a missing or wedged UART slows output down but
 * never hangs the caller.  Not locked: callers serialise (only one pCPU runs
 * at a time outside the panic path).
 *
 * Freestanding: only <stdint.h>.
 */
#ifndef HV_NATIVE_EARLY_CONSOLE_H
#define HV_NATIVE_EARLY_CONSOLE_H

#include <stdint.h>

/* Program COM1 for 115200 baud 8N1 with FIFOs, no interrupts.  Idempotent;
   kputc calls it on first use. */
void early_console_init(void);

/* Send one byte (bounded wait for the transmit holding register). */
void kputc(char c);

/* Send a NUL-terminated string. */
void kputs(const char *s);

/* Print v in lowercase hex, no "0x" prefix, no leading zeros ("0" for 0). */
void kputhex(uint64_t v);

/* Print v in decimal. */
void kputdec(uint64_t v);

/* Wait (bounded) until the UART has shifted out every queued byte
   (LSR.TEMT), e.g. before stopping the machine: an emulator that quits
   first loses the tail of the output. */
void early_console_drain(void);

#endif /* HV_NATIVE_EARLY_CONSOLE_H */
