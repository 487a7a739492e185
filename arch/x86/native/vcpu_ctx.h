/*
 * vcpu_ctx.h - the per-vCPU context page shared by the VM-exit stub
 * (boot/vmexit.asm), the native vCPU switch (vmx.c) and TypeScript
 * (arch/x86/vcpu-ctx.ts, which must use the same offsets: a unit test compares
 * them with this file).
 *
 * The context is one 4 KiB page from the page pool, allocated by TypeScript;
 * its second page (ctx + 4096, also from the pool, 64-byte aligned) is the
 * guest's XSAVE area. Guest RSP, RIP and RFLAGS live in the VMCS, not here.
 *
 *   0x000  rax rcx rdx rbx [rsp: unused] rbp rsi rdi   (ACRN's GPR order)
 *   0x040  r8 .. r15
 *   0x080  cr2            guest CR2 (not switched by VMX)
 *   0x088  xcr0           guest XCR0 (XSETBV exits update it)
 *   0x090  kernel_gs_base, star, lstar, cstar, fmask, tsc_aux  (swapped on vCPU switch)
 *   0x0c0  dr0 dr1 dr2 dr3 dr6                                  (swapped on vCPU switch)
 *   0x0e8  xsave_pa       physical address of the XSAVE area (ctx + 4096)
 *   0x0f0  host_rsp       scratch for the exit stub
 *   0x0f8  exits          count of VM exits taken by this vCPU (native counter)
 */
#pragma once

#define CTX_RAX 0x000
#define CTX_RCX 0x008
#define CTX_RDX 0x010
#define CTX_RBX 0x018
#define CTX_RSP 0x020
#define CTX_RBP 0x028
#define CTX_RSI 0x030
#define CTX_RDI 0x038
#define CTX_R8 0x040
#define CTX_R9 0x048
#define CTX_R10 0x050
#define CTX_R11 0x058
#define CTX_R12 0x060
#define CTX_R13 0x068
#define CTX_R14 0x070
#define CTX_R15 0x078
#define CTX_CR2 0x080
#define CTX_XCR0 0x088
#define CTX_KERNEL_GS_BASE 0x090
#define CTX_STAR 0x098
#define CTX_LSTAR 0x0a0
#define CTX_CSTAR 0x0a8
#define CTX_FMASK 0x0b0
#define CTX_TSC_AUX 0x0b8
#define CTX_DR0 0x0c0
#define CTX_DR1 0x0c8
#define CTX_DR2 0x0d0
#define CTX_DR3 0x0d8
#define CTX_DR6 0x0e0
#define CTX_XSAVE_PA 0x0e8
#define CTX_HOST_RSP 0x0f0
#define CTX_EXITS 0x0f8
#define CTX_SIZE 0x100
#define CTX_PAGES 2 /* the context page and the XSAVE page */
