/*
 * ap_start.c - processor enumeration and application-processor start-up.
 *
 * smp_init (boot CPU, from kmain, before TypeScript):
 *   - calibrates the TSC against the PIT (tsc.c);
 *   - lists the processors from the ACPI MADT (acpi.c): the boot CPU is CPU 0,
 *     the others follow in MADT order, at most HV_MAX_CPUS; a missing or
 *     garbled MADT leaves the boot CPU alone, with the reason printed;
 *   - declares the ACPI tables it read as read-only boot information, so
 *     TypeScript may read them (physaccess.c);
 *   - reserves the trampoline page below 1 MiB (MEMMAP_TRAMPOLINE: hypervisor
 *     memory, to be left out of the Service VM's EPT);
 *   - installs the host interrupt gates (smp_ipi.c) and masks the 8259 PICs.
 *
 * smp_start_aps (boot CPU, from TypeScript's startCpus(), lock held): one AP
 * at a time, fill the trampoline's parameter block (boot/trampoline.asm), send
 * INIT, START-UP, START-UP with the SDM's delays (Vol. 3A 8.4.4.1 "Typical BSP
 * Initialization Sequence": INIT, 10 ms, SIPI, 200 us, SIPI, 200 us; ACRN's
 * start_pcpus/send_startup_ipi) and wait up to AP_TIMEOUT_MS for it to mark
 * itself online. An AP that never does is reported, sent INIT again (so it
 * waits for a START-UP that never comes instead of running later on shared
 * start-up data) and skipped.
 *
 * ap_main (on the AP): this CPU's GDT/TSS (IST stacks), IDT, GS base = its
 * per-CPU block (this_cpu()), CR4 OSFXSR/OSXMMEXCPT(/OSXSAVE) and XCR0 as the
 * boot CPU has them, MXCSR, its local APIC enabled; online; then the
 * TypeScript lock and hvApEntry(cpu) (hv/smp.ts), which does not return while
 * the hypervisor runs.
 */
#include <stdint.h>
#include <setjmp.h>
#include "prog.h"
#include "acpi.h"
#include "early_console.h"
#include "memmap.h"
#include "multiboot2.h"
#include "panic.h"
#include "physaccess.h"
#include "portio.h"
#include "smp.h"
#include "smp_ipi.h"
#include "tsc.h"

#define TRAMPOLINE_PA 0x8000ull     /* SIPI vector 0x08; usable RAM on PCs, below the EBDA */
#define AP_TIMEOUT_MS 100
#define LAPIC_ID 0x020
#define LAPIC_SVR 0x0F0
#define SVR_ENABLE 0x100
#define ICR_INIT_ASSERT 0x0000C500u  /* INIT, level, assert */
#define ICR_INIT_DEASSERT 0x00008500u /* INIT, level, de-assert */
#define ICR_STARTUP 0x00004600u      /* START-UP | vector */

#define MSR_GS_BASE 0xC0000101
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_OSXSAVE (1u << 18)

/* boot/trampoline.asm and boot/boot.asm */
extern uint8_t ap_trampoline[], ap_trampoline_end[], ap_trampoline_pm32[], ap_trampoline_lm64[];
extern void ap_entry64(void);
extern uint8_t boot_gdt[], boot_pml4[];
extern uint64_t percpu_stack_top[];
extern uint64_t boot_mapped_top;
extern void boot_load_cpu_tables(uint32_t cpu);
extern Z_prog_instance_t *hv_ts_instance(void);

/* Trampoline parameter block offsets (boot/trampoline.asm). */
#define P_GDTR 0x08
#define P_PM32 0x10
#define P_LM64 0x18
#define P_CR3 0x20
#define P_CPU 0x24
#define P_STACK 0x28
#define P_ENTRY 0x30
#define GDT_CODE32 0x18
#define GDT_CODE64 0x08
#define GDT_LIMIT (0x28 + HV_MAX_CPUS * 16 - 1)

struct acpi_cpus smp_cpus;
static uint64_t bsp_xcr0;
static int have_xsave;
static int trampoline_ok;

static inline void wrmsr64(uint32_t msr, uint64_t v) {
  __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t rdtsc64(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

/* Per-CPU block through GS (smp.c's this_cpu reads gs:0). */
void smp_set_gs_base(uint32_t cpu) {
  wrmsr64(MSR_GS_BASE, (uint64_t)(uintptr_t)&percpu[cpu]);
}

static void declare_table(uint64_t base, uint32_t len) {
  if (base == 0 || len == 0) return;
  uint32_t k = memmap_overlap(base, len);
  if (k != 0 && k != MEMMAP_LOW_1M) return; /* never inside hypervisor memory; leave it undeclared */
  for (uint32_t i = 0; i < phys_region_count(); i++)
    if (phys_region(i)->base == base) return;
  phys_declare(base, len, PHYS_BOOTINFO);
}

/* Is [pa, pa + 4 KiB) available RAM in the boot memory map? */
static int low_page_usable(uint64_t pa) {
  for (uint32_t i = 0; i < mb2_mmap_count(); i++) {
    const struct mb2_mmap_entry *e = mb2_mmap(i);
    if (e->type == 1 && e->base <= pa && e->base + e->len >= pa + 0x1000) return 1;
  }
  return 0;
}

void smp_init(void) {
  tsc_calibrate(); /* reported by TypeScript's boot report (hv/smp.ts) */
  smp_lapic_timer_calibrate(); /* idle wake-ups (smp_ipi.c) */

  uint32_t bsp_id = lapic_read(LAPIC_ID) >> 24;
  percpu[0].apic_id = bsp_id;
  acpi_phys_limit = boot_mapped_top;
  uint64_t rsdp = mb2_rsdp();
  if (!rsdp) rsdp = acpi_find_rsdp_bios();
  if (!acpi_read_cpus(rsdp, bsp_id, &smp_cpus)) {
    kputs("ACPI: ");
    kputs(acpi_error());
    kputs("; booting on the boot CPU only\n");
  } else {
    declare_table(smp_cpus.sdt, smp_cpus.sdt_len);
    declare_table(smp_cpus.madt, smp_cpus.madt_len);
    if (smp_cpus.dropped) {
      kputs("ACPI: ");
      kputdec(smp_cpus.dropped);
      kputs(" enabled processor(s) beyond HV_MAX_CPUS (8) ignored\n");
    }
    if (smp_cpus.x2apic_only) {
      kputs("ACPI: ");
      kputdec(smp_cpus.x2apic_only);
      kputs(" processor(s) with an x2APIC ID above 255 ignored (xAPIC mode)\n");
    }
    if (!smp_cpus.bsp_listed) kputs("ACPI: the boot CPU is not in the MADT (taken anyway)\n");
  }
  for (uint32_t i = 0; i < smp_cpus.count; i++) {
    percpu[i].cpu_id = i;
    percpu[i].apic_id = smp_cpus.apic_id[i];
  }

  uint32_t r[4];
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(1), "c"(0));
  have_xsave = (r[2] >> 26) & 1;
  if (have_xsave) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    bsp_xcr0 = ((uint64_t)hi << 32) | lo;
  }

  if (smp_cpus.count > 1) {
    if (low_page_usable(TRAMPOLINE_PA) && memmap_reserve(TRAMPOLINE_PA, 0x1000, MEMMAP_TRAMPOLINE)) {
      trampoline_ok = 1;
    } else {
      kputs("SMP: the trampoline page is not usable RAM; booting on the boot CPU only\n");
      smp_cpus.count = 1;
    }
  }
  smp_ipi_init();
  /* 8259 PICs: all lines masked; host interrupts come from the local APIC only. */
  outb(0x21, 0xFF);
  outb(0xA1, 0xFF);
}

static int icr_send(uint32_t apic_id, uint32_t low) {
  lapic_write(LAPIC_ICR_HIGH, apic_id << 24);
  lapic_write(LAPIC_ICR_LOW, low);
  return lapic_icr_wait();
}

static void fill_params(uint32_t cpu) {
  uint8_t *p = (uint8_t *)(uintptr_t)TRAMPOLINE_PA;
  uint32_t P = (uint32_t)TRAMPOLINE_PA;
  uint32_t n = (uint32_t)(ap_trampoline_end - ap_trampoline);
  for (uint32_t i = 0; i < n; i++) p[i] = ap_trampoline[i];
  *(uint16_t *)(p + P_GDTR) = GDT_LIMIT;
  *(uint32_t *)(p + P_GDTR + 2) = (uint32_t)(uintptr_t)boot_gdt;
  *(uint32_t *)(p + P_PM32) = P + (uint32_t)(ap_trampoline_pm32 - ap_trampoline);
  *(uint16_t *)(p + P_PM32 + 4) = GDT_CODE32;
  *(uint32_t *)(p + P_LM64) = P + (uint32_t)(ap_trampoline_lm64 - ap_trampoline);
  *(uint16_t *)(p + P_LM64 + 4) = GDT_CODE64;
  *(uint32_t *)(p + P_CR3) = (uint32_t)(uintptr_t)boot_pml4;
  *(uint32_t *)(p + P_CPU) = cpu;
  *(uint64_t *)(p + P_STACK) = percpu_stack_top[cpu];
  *(uint64_t *)(p + P_ENTRY) = (uint64_t)(uintptr_t)ap_entry64;
  __asm__ volatile("wbinvd" ::: "memory"); /* the AP starts with caches off */
}

uint32_t smp_start_aps(void) {
  uint32_t online = 1;
  if (!trampoline_ok) return online;
  for (uint32_t cpu = 1; cpu < smp_cpus.count; cpu++) {
    uint32_t id = percpu[cpu].apic_id;
    fill_params(cpu);
    int ok = icr_send(id, ICR_INIT_ASSERT);
    tsc_delay_us(10000);
    ok &= icr_send(id, ICR_INIT_DEASSERT);
    ok &= icr_send(id, ICR_STARTUP | (uint32_t)(TRAMPOLINE_PA >> 12));
    tsc_delay_us(200);
    if (!__atomic_load_n(&percpu[cpu].online, __ATOMIC_ACQUIRE)) {
      ok &= icr_send(id, ICR_STARTUP | (uint32_t)(TRAMPOLINE_PA >> 12));
      tsc_delay_us(200);
    }
    uint64_t k = tsc_khz() ? tsc_khz() : 1000000u;
    uint64_t end = rdtsc64() + (uint64_t)AP_TIMEOUT_MS * k;
    while (!__atomic_load_n(&percpu[cpu].online, __ATOMIC_ACQUIRE) && rdtsc64() < end) __asm__ volatile("pause");
    if (__atomic_load_n(&percpu[cpu].online, __ATOMIC_ACQUIRE)) {
      online++;
      continue;
    }
    icr_send(id, ICR_INIT_ASSERT); /* park it: waits for a START-UP that never comes */
    kputs("SMP: CPU ");
    kputdec(cpu);
    kputs(" (APIC ID ");
    kputdec(id);
    kputs(ok ? ") did not come up within 100 ms; skipped\n" : ") did not accept the INIT/START-UP IPIs; skipped\n");
  }
  return online;
}

static jmp_buf ap_top[HV_MAX_CPUS];

__attribute__((noreturn)) void ap_main(uint32_t cpu) {
  boot_load_cpu_tables(cpu);
  smp_set_gs_base(cpu);
  uint64_t cr4;
  __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
  cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
  if (have_xsave) cr4 |= CR4_OSXSAVE;
  __asm__ volatile("mov %0, %%cr4" ::"r"(cr4));
  if (have_xsave) __asm__ volatile("xsetbv" ::"c"(0), "a"((uint32_t)bsp_xcr0), "d"((uint32_t)(bsp_xcr0 >> 32)));
  uint32_t mxcsr = 0x1F80;
  __asm__ volatile("fninit; ldmxcsr %0" ::"m"(mxcsr));
  lapic_write(LAPIC_SVR, SVR_ENABLE | 0xFF);
  __atomic_store_n(&percpu[cpu].online, 1, __ATOMIC_RELEASE);

  ts_lock_acquire();
  if (setjmp(ap_top[cpu]) != 0) {
    this_percpu()->unwind_target = 0;
    hv_panic("uncaught exception in TypeScript (AP)");
  }
  this_percpu()->unwind_target = &ap_top[cpu];
  Z_progZ_hvApEntry(hv_ts_instance(), 0, 0, 0, 0, (f64)cpu, 1);
  this_percpu()->unwind_target = 0;
  ts_lock_release();
  for (;;) __asm__ volatile("cli; hlt");
}
