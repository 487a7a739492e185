/*
 * exceptions.c - the panic line for CPU exceptions and stray interrupts; see
 * exceptions.h.  The vector numbers and mnemonics are those of the Intel SDM
 * Vol. 3A, table 6-1 "Protected-Mode Exceptions and Interrupts" and 6.15
 * "Exception and Interrupt Reference"; 28-30 are AMD's (AMD64 Architecture
 * Programmer's Manual Vol. 2, 8.2 "Vectors").
 */
#include "exceptions.h"

#include <stdint.h>

#include "early_console.h"

#define EXCEPTION_VECTORS 32

/* Nested panics that still print; see exceptions.h. */
#define PANIC_MAX_PRINTING_DEPTH 2

static const char *const exception_mnemonic[EXCEPTION_VECTORS] = {
	[0] = "#DE",       /* divide error                          */
	[1] = "#DB",       /* debug                                 */
	[2] = "NMI",       /* non-maskable interrupt                */
	[3] = "#BP",       /* breakpoint (INT3)                     */
	[4] = "#OF",       /* overflow (INTO)                       */
	[5] = "#BR",       /* BOUND range exceeded                  */
	[6] = "#UD",       /* invalid opcode                        */
	[7] = "#NM",       /* device not available                  */
	[8] = "#DF",       /* double fault                          */
	[9] = "reserved",  /* coprocessor segment overrun (386 only) */
	[10] = "#TS",      /* invalid TSS                           */
	[11] = "#NP",      /* segment not present                   */
	[12] = "#SS",      /* stack-segment fault                   */
	[13] = "#GP",      /* general protection                    */
	[14] = "#PF",      /* page fault                            */
	[15] = "reserved",
	[16] = "#MF",      /* x87 floating-point error              */
	[17] = "#AC",      /* alignment check                       */
	[18] = "#MC",      /* machine check                         */
	[19] = "#XM",      /* SIMD floating-point exception         */
	[20] = "#VE",      /* virtualization exception              */
	[21] = "#CP",      /* control protection                    */
	[22] = "reserved",
	[23] = "reserved",
	[24] = "reserved",
	[25] = "reserved",
	[26] = "reserved",
	[27] = "reserved",
	[28] = "#HV",      /* AMD: hypervisor injection             */
	[29] = "#VC",      /* AMD: VMM communication                */
	[30] = "#SX",      /* AMD: security exception               */
	[31] = "reserved",
};

/* Panics entered so far, on any CPU. */
static uint32_t panic_depth;

static __attribute__((noreturn)) void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}

__attribute__((weak)) void panic_halt(void)
{
	halt_forever();
}

void exception_panic(uint64_t vector, uint64_t error_code, uint64_t rip,
		     uint64_t cr2, uint64_t rsp)
{
	(void)rsp;
	if (__atomic_fetch_add(&panic_depth, 1, __ATOMIC_ACQ_REL) >=
	    PANIC_MAX_PRINTING_DEPTH)
		halt_forever();

	if (vector < EXCEPTION_VECTORS) {
		kputs("PANIC: vector ");
		kputdec(vector);
		kputs(" (");
		kputs(exception_mnemonic[vector]);
		kputs("), error code 0x");
		kputhex(error_code);
		kputs(", RIP 0x");
		kputhex(rip);
		kputs(", CR2 0x");
		kputhex(cr2);
		kputs("\n");
	} else {
		kputs("PANIC: unexpected interrupt vector ");
		kputdec(vector);
		kputs("\n");
	}
	early_console_drain();
	panic_halt();
	halt_forever();
}
