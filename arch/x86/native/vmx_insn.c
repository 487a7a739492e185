/*
 * vmx_insn.c - the VMX instructions TypeScript calls directly: VMXON, VMXOFF,
 * VMCLEAR, VMPTRLD, INVEPT and INVVPID (VMREAD/VMWRITE are in intrinsics.c;
 * VMLAUNCH/VMRESUME are in the vCPU run path, vcpu_run.c and boot/vmexit.asm).
 *
 * Each returns the instruction's outcome from RFLAGS (SDM Vol. 3C 31.2
 * "Conventions"): 0 VMsucceed, 1 VMfailInvalid (CF=1), 2 VMfailValid (ZF=1).
 */
#include <stdint.h>
#include "prog.h"
#include "intrinsics_gen.h"

struct Z__instance_t;
#define IMPORT(ret, name, ...) ret HV_IMPORT_##name(struct Z__instance_t *inst, ##__VA_ARGS__)

static inline uint64_t u64_of(f64 v) { return v <= 0 ? 0 : (uint64_t)v; }

#define VMX_OUTCOME(cf, zf) ((cf) ? 1 : (zf) ? 2 : 0)

/* VMXON, VMCLEAR and VMPTRLD take a memory operand holding the physical address. */
static int vmx_pa_insn(int which, uint64_t pa) {
  uint8_t cf, zf;
  switch (which) {
    case 0: __asm__ volatile("vmxon %2; setc %0; setz %1" : "=r"(cf), "=r"(zf) : "m"(pa) : "cc", "memory"); break;
    case 1: __asm__ volatile("vmclear %2; setc %0; setz %1" : "=r"(cf), "=r"(zf) : "m"(pa) : "cc", "memory"); break;
    default: __asm__ volatile("vmptrld %2; setc %0; setz %1" : "=r"(cf), "=r"(zf) : "m"(pa) : "cc", "memory"); break;
  }
  return VMX_OUTCOME(cf, zf);
}

IMPORT(f64, __vmxon, f64 pa) { (void)inst; return vmx_pa_insn(0, u64_of(pa)); }
IMPORT(f64, __vmclear, f64 pa) { (void)inst; return vmx_pa_insn(1, u64_of(pa)); }
IMPORT(f64, __vmptrld, f64 pa) { (void)inst; return vmx_pa_insn(2, u64_of(pa)); }

IMPORT(f64, __vmxoff) {
  (void)inst;
  uint8_t cf, zf;
  __asm__ volatile("vmxoff; setc %0; setz %1" : "=r"(cf), "=r"(zf) : : "cc", "memory");
  return VMX_OUTCOME(cf, zf);
}

/* INVEPT descriptor (SDM Vol. 3C 31.3 "INVEPT"): EPTP, then 64 reserved bits. */
IMPORT(f64, __invept, f64 type, f64 eptp_hi, f64 eptp_lo) {
  (void)inst;
  struct { uint64_t eptp, reserved; } __attribute__((aligned(16))) desc = {
    ((uint64_t)(uint32_t)u64_of(eptp_hi) << 32) | (uint32_t)u64_of(eptp_lo), 0 };
  uint64_t t = u64_of(type);
  uint8_t cf, zf;
  __asm__ volatile("invept %2, %3; setc %0; setz %1" : "=r"(cf), "=r"(zf) : "m"(desc), "r"(t) : "cc", "memory");
  return VMX_OUTCOME(cf, zf);
}

/* INVVPID descriptor: VPID in bits 15:0, reserved, then the linear address. */
IMPORT(f64, __invvpid, f64 type, f64 vpid) {
  (void)inst;
  struct { uint64_t vpid, linear; } __attribute__((aligned(16))) desc = { u64_of(vpid) & 0xFFFF, 0 };
  uint64_t t = u64_of(type);
  uint8_t cf, zf;
  __asm__ volatile("invvpid %2, %3; setc %0; setz %1" : "=r"(cf), "=r"(zf) : "m"(desc), "r"(t) : "cc", "memory");
  return VMX_OUTCOME(cf, zf);
}
