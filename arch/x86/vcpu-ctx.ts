// The per-vCPU context page shared with the native VM-exit stub; offsets match
// arch/x86/native/vcpu_ctx.h (test/unit/vcpu-ctx.test.ts compares them).
// Guest GPRs are in ACRN's order: rax rcx rdx rbx rsp rbp rsi rdi r8..r15
// (rsp's slot is unused: guest RSP lives in the VMCS).

export const CTX_RAX = 0x000;
export const CTX_RCX = 0x008;
export const CTX_RDX = 0x010;
export const CTX_RBX = 0x018;
export const CTX_RSP = 0x020;
export const CTX_RBP = 0x028;
export const CTX_RSI = 0x030;
export const CTX_RDI = 0x038;
export const CTX_R8 = 0x040;
export const CTX_R9 = 0x048;
export const CTX_R10 = 0x050;
export const CTX_R11 = 0x058;
export const CTX_R12 = 0x060;
export const CTX_R13 = 0x068;
export const CTX_R14 = 0x070;
export const CTX_R15 = 0x078;
export const CTX_CR2 = 0x080;
export const CTX_XCR0 = 0x088;
export const CTX_KERNEL_GS_BASE = 0x090;
export const CTX_STAR = 0x098;
export const CTX_LSTAR = 0x0a0;
export const CTX_CSTAR = 0x0a8;
export const CTX_FMASK = 0x0b0;
export const CTX_TSC_AUX = 0x0b8;
export const CTX_DR0 = 0x0c0;
export const CTX_DR1 = 0x0c8;
export const CTX_DR2 = 0x0d0;
export const CTX_DR3 = 0x0d8;
export const CTX_DR6 = 0x0e0;
export const CTX_XSAVE_PA = 0x0e8;
export const CTX_HOST_RSP = 0x0f0;
export const CTX_EXITS = 0x0f8;
export const CTX_SIZE = 0x100;
export const CTX_PAGES = 2;

/** GPR index (0 rax .. 15 r15, instruction-encoding order) to its context offset. */
export function gprOffset(index: number): number {
  return index * 8;
}
