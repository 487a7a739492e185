/* panic.h - stopping the machine: hv_panic for broken invariants, hv_exit for
   a deliberate stop that tells the test emulators the outcome. */
#pragma once
#include <stdint.h>

/** Exit status (see hv/main.ts): 0 power off, 1 panic, 2 no VMX. */
#define HV_EXIT_POWEROFF 0
#define HV_EXIT_PANIC 1

/** Print "PANIC: <msg>" on COM1 and stop (status HV_EXIT_PANIC). */
__attribute__((noreturn)) void hv_panic(const char *msg);

/**
 * Drain COM1, then signal the outcome to an emulator: QEMU's isa-debug-exit
 * (port 0xF4) and Bochs's iodebug port (0x8A00, pass) or shutdown port (0x8900,
 * fail); then halt with interrupts off. On a board the writes go nowhere and the
 * CPU halts.
 */
__attribute__((noreturn)) void hv_exit(uint32_t code);
