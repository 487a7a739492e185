/*
 * exceptions.h - the native exception path.
 *
 * boot/boot.asm points all 256 IDT vectors at stubs that save the registers
 * and call exception_panic(); nothing is recoverable yet.  #DF runs on the
 * CPU's IST1 stack and NMI on IST2, so a stack overflow (a fault on the guard
 * page below the stack) still reaches the panic line.
 *
 * Freestanding: only <stdint.h>.
 */
#ifndef HV_NATIVE_EXCEPTIONS_H
#define HV_NATIVE_EXCEPTIONS_H

#include <stdint.h>

/*
 * Called by the IDT stubs (interrupts disabled).  Prints one line on COM1,
 * for vectors 0-31
 *   PANIC: vector 14 (#PF), error code 0x2, RIP 0x101234, CR2 0xfffffffff000
 * (error code 0 where the CPU pushes none; RIP is the saved one, which the
 * SDM leaves undefined for #DF), and for vectors 32-255
 *   PANIC: unexpected interrupt vector 32
 * then drains the UART, calls panic_halt() and halts for good.
 * rsp is the interrupted context's stack pointer.
 *
 * A fault inside the panic path prints a second line (typically the #DF that
 * follows an overflow of the handler's stack); any deeper nesting halts
 * silently.
 */
__attribute__((noreturn)) void exception_panic(uint64_t vector,
					       uint64_t error_code,
					       uint64_t rip, uint64_t cr2,
					       uint64_t rsp);

/*
 * Stops the machine after a panic line has been printed and drained.
 * exceptions.c has a weak default (cli; hlt forever); a strong definition
 * elsewhere can first signal a test emulator.  If it returns, the caller
 * halts anyway.
 */
void panic_halt(void);

#endif /* HV_NATIVE_EXCEPTIONS_H */
