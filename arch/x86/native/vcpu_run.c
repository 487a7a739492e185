/*
 * vcpu_run.c - running a vCPU: the native half of arch/x86/intrinsics.ts's
 * vcpuRun, vmcsHostSetup and xsaveSize.
 *
 * vcpu_run releases the TypeScript lock, switches the per-vCPU MSRs and debug
 * registers when a different vCPU than last time runs on this pCPU, enters the
 * guest through boot/vmexit.asm (which also switches XCR0 and the XSAVE state
 * on every entry and exit), and takes the lock again after the VM exit.
 */
#include <stdint.h>
#include "prog.h"
#include "intrinsics_gen.h"
#include "panic.h"
#include "smp.h"
#include "vcpu_ctx.h"

struct Z__instance_t;
#define IMPORT(ret, name, ...) ret HV_IMPORT_##name(struct Z__instance_t *inst, ##__VA_ARGS__)

extern int vmx_enter(uint8_t *ctx, uint32_t launch);
extern void vmx_exit(void);
extern uint64_t vmx_host_xcr0;
extern uint32_t vmx_use_xsave;
extern uint8_t boot_gdt[], boot_idt[], boot_tss[];

#define GDT_CODE64 0x08
#define GDT_DATA64 0x10
#define GDT_TSS0 0x28
#define TSS_STRIDE 128

/* MSRs swapped on a vCPU switch (SDM Vol. 4 Table 2-2). */
#define MSR_STAR 0xC0000081
#define MSR_LSTAR 0xC0000082
#define MSR_CSTAR 0xC0000083
#define MSR_FMASK 0xC0000084
#define MSR_KERNEL_GS_BASE 0xC0000102
#define MSR_TSC_AUX 0xC0000103
#define MSR_PAT 0x277
#define MSR_EFER 0xC0000080
#define MSR_FS_BASE 0xC0000100
#define MSR_GS_BASE 0xC0000101

/* VMCS host-state field encodings (SDM Vol. 3D Appendix B). */
#define HOST_ES_SELECTOR 0x0C00
#define HOST_CS_SELECTOR 0x0C02
#define HOST_SS_SELECTOR 0x0C04
#define HOST_DS_SELECTOR 0x0C06
#define HOST_FS_SELECTOR 0x0C08
#define HOST_GS_SELECTOR 0x0C0A
#define HOST_TR_SELECTOR 0x0C0C
#define HOST_IA32_PAT 0x2C00
#define HOST_IA32_EFER 0x2C02
#define HOST_IA32_SYSENTER_CS 0x4C00
#define HOST_CR0 0x6C00
#define HOST_CR3 0x6C02
#define HOST_CR4 0x6C04
#define HOST_FS_BASE 0x6C06
#define HOST_GS_BASE 0x6C08
#define HOST_TR_BASE 0x6C0A
#define HOST_GDTR_BASE 0x6C0C
#define HOST_IDTR_BASE 0x6C0E
#define HOST_IA32_SYSENTER_ESP 0x6C10
#define HOST_IA32_SYSENTER_EIP 0x6C12
#define HOST_RIP 0x6C16

static inline uint64_t rdmsr64(uint32_t msr) {
  uint32_t lo, hi;
  __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr64(uint32_t msr, uint64_t v) {
  __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline void cpuid4(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static int vmwrite64(uint64_t field, uint64_t value) {
  uint8_t cf, zf;
  __asm__ volatile("vmwrite %3, %2; setc %0; setz %1" : "=r"(cf), "=r"(zf) : "r"(field), "r"(value) : "cc", "memory");
  return cf ? 1 : zf ? 2 : 0;
}

static int have_rdtscp;
static int state_probed;

/* Decide once how extended state is switched and what XCR0 the host runs with. */
static void probe_extended_state(void) {
  uint32_t r[4];
  cpuid4(1, 0, r);
  uint64_t cr4;
  __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
  vmx_use_xsave = (r[2] & (1u << 26)) && (cr4 & (1u << 18)); /* XSAVE and CR4.OSXSAVE */
  if (vmx_use_xsave) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    vmx_host_xcr0 = ((uint64_t)hi << 32) | lo;
  }
  cpuid4(0x80000001, 0, r);
  have_rdtscp = (r[3] >> 27) & 1;
  state_probed = 1;
}

IMPORT(f64, __xsave_size) {
  (void)inst;
  if (!state_probed) probe_extended_state();
  if (!vmx_use_xsave) return 512; /* FXSAVE area */
  uint32_t r[4];
  cpuid4(0xD, 0, r);
  return r[2]; /* ECX: bytes for every feature XCR0 may enable */
}

/* Swap the MSRs and debug registers VMX does not switch (DESIGN.md: on vCPU switches). */
static void save_vcpu_state(uint8_t *ctx) {
  *(uint64_t *)(ctx + CTX_KERNEL_GS_BASE) = rdmsr64(MSR_KERNEL_GS_BASE);
  *(uint64_t *)(ctx + CTX_STAR) = rdmsr64(MSR_STAR);
  *(uint64_t *)(ctx + CTX_LSTAR) = rdmsr64(MSR_LSTAR);
  *(uint64_t *)(ctx + CTX_CSTAR) = rdmsr64(MSR_CSTAR);
  *(uint64_t *)(ctx + CTX_FMASK) = rdmsr64(MSR_FMASK);
  if (have_rdtscp) *(uint64_t *)(ctx + CTX_TSC_AUX) = rdmsr64(MSR_TSC_AUX);
  uint64_t v;
  __asm__ volatile("mov %%db0, %0" : "=r"(v)); *(uint64_t *)(ctx + CTX_DR0) = v;
  __asm__ volatile("mov %%db1, %0" : "=r"(v)); *(uint64_t *)(ctx + CTX_DR1) = v;
  __asm__ volatile("mov %%db2, %0" : "=r"(v)); *(uint64_t *)(ctx + CTX_DR2) = v;
  __asm__ volatile("mov %%db3, %0" : "=r"(v)); *(uint64_t *)(ctx + CTX_DR3) = v;
  __asm__ volatile("mov %%db6, %0" : "=r"(v)); *(uint64_t *)(ctx + CTX_DR6) = v;
}

static void load_vcpu_state(const uint8_t *ctx) {
  wrmsr64(MSR_KERNEL_GS_BASE, *(const uint64_t *)(ctx + CTX_KERNEL_GS_BASE));
  wrmsr64(MSR_STAR, *(const uint64_t *)(ctx + CTX_STAR));
  wrmsr64(MSR_LSTAR, *(const uint64_t *)(ctx + CTX_LSTAR));
  wrmsr64(MSR_CSTAR, *(const uint64_t *)(ctx + CTX_CSTAR));
  wrmsr64(MSR_FMASK, *(const uint64_t *)(ctx + CTX_FMASK));
  if (have_rdtscp) wrmsr64(MSR_TSC_AUX, *(const uint64_t *)(ctx + CTX_TSC_AUX));
  __asm__ volatile("mov %0, %%db0" ::"r"(*(const uint64_t *)(ctx + CTX_DR0)));
  __asm__ volatile("mov %0, %%db1" ::"r"(*(const uint64_t *)(ctx + CTX_DR1)));
  __asm__ volatile("mov %0, %%db2" ::"r"(*(const uint64_t *)(ctx + CTX_DR2)));
  __asm__ volatile("mov %0, %%db3" ::"r"(*(const uint64_t *)(ctx + CTX_DR3)));
  __asm__ volatile("mov %0, %%db6" ::"r"(*(const uint64_t *)(ctx + CTX_DR6)));
}

/* The context page each pCPU last ran, whose MSR/DR values are live. */
static uint8_t *live_ctx[HV_MAX_CPUS];

IMPORT(f64, __vcpu_run, f64 ctx_pa, f64 launch) {
  (void)inst;
  if (!state_probed) probe_extended_state();
  uint8_t *ctx = (uint8_t *)(uintptr_t)(uint64_t)ctx_pa;
  if (((uintptr_t)ctx & 0xFFF) || *(uint64_t *)(ctx + CTX_XSAVE_PA) != (uint64_t)(uintptr_t)ctx + 4096)
    hv_panic("vcpu_run: malformed vCPU context page");
  uint32_t cpu = this_cpu();
  if (live_ctx[cpu] != ctx) {
    if (live_ctx[cpu]) save_vcpu_state(live_ctx[cpu]);
    load_vcpu_state(ctx);
    live_ctx[cpu] = ctx;
  }
  ts_lock_release();
  int rc = vmx_enter(ctx, launch != 0);
  ts_lock_acquire();
  return rc;
}

/* make bench: switch the assembly floor for CPUID/VMCALL exits (boot/vmexit.asm). */
extern uint32_t vmx_exit_floor;
IMPORT(void, __exit_floor, f64 on) { (void)inst; vmx_exit_floor = on != 0; }

/* Forget a context page that is about to be freed (vCPU destroyed). */
IMPORT(void, __vcpu_forget, f64 ctx_pa) {
  (void)inst;
  uint8_t *ctx = (uint8_t *)(uintptr_t)(uint64_t)ctx_pa;
  for (uint32_t i = 0; i < HV_MAX_CPUS; i++)
    if (live_ctx[i] == ctx) live_ctx[i] = 0;
}

/* Host-state area (SDM Vol. 3C 25.5 "Host-State Area", 27.2.x checks): the
   state this CPU runs the hypervisor with; HOST_RSP is written per entry. */
IMPORT(f64, __vmcs_host_setup) {
  (void)inst;
  uint32_t cpu = this_cpu();
  uint64_t cr0, cr3, cr4;
  __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
  __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
  __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
  int rc = 0;
  rc |= vmwrite64(HOST_ES_SELECTOR, GDT_DATA64);
  rc |= vmwrite64(HOST_CS_SELECTOR, GDT_CODE64);
  rc |= vmwrite64(HOST_SS_SELECTOR, GDT_DATA64);
  rc |= vmwrite64(HOST_DS_SELECTOR, GDT_DATA64);
  rc |= vmwrite64(HOST_FS_SELECTOR, GDT_DATA64);
  rc |= vmwrite64(HOST_GS_SELECTOR, GDT_DATA64);
  rc |= vmwrite64(HOST_TR_SELECTOR, GDT_TSS0 + 16 * cpu);
  rc |= vmwrite64(HOST_CR0, cr0);
  rc |= vmwrite64(HOST_CR3, cr3);
  rc |= vmwrite64(HOST_CR4, cr4);
  rc |= vmwrite64(HOST_FS_BASE, rdmsr64(MSR_FS_BASE));
  rc |= vmwrite64(HOST_GS_BASE, rdmsr64(MSR_GS_BASE));
  rc |= vmwrite64(HOST_TR_BASE, (uint64_t)(uintptr_t)(boot_tss + TSS_STRIDE * cpu));
  rc |= vmwrite64(HOST_GDTR_BASE, (uint64_t)(uintptr_t)boot_gdt);
  rc |= vmwrite64(HOST_IDTR_BASE, (uint64_t)(uintptr_t)boot_idt);
  rc |= vmwrite64(HOST_IA32_SYSENTER_CS, 0);
  rc |= vmwrite64(HOST_IA32_SYSENTER_ESP, 0);
  rc |= vmwrite64(HOST_IA32_SYSENTER_EIP, 0);
  rc |= vmwrite64(HOST_IA32_PAT, rdmsr64(MSR_PAT));
  rc |= vmwrite64(HOST_IA32_EFER, rdmsr64(MSR_EFER));
  rc |= vmwrite64(HOST_RIP, (uint64_t)(uintptr_t)vmx_exit);
  return rc ? 2 : 0;
}
