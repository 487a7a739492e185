/*
 * smp_ipi.c - host interrupt gates, idle, kick and EPT-flush IPIs, and the
 * SMP intrinsics of arch/x86/intrinsics.ts (smpInfo, startCpus, cpuIdle,
 * kickCpu, eptFlushCpus). See smp_ipi.h for the vectors.
 */
#include "physaccess.h"
#include <stdint.h>
#include "prog.h"
#include "intrinsics_gen.h"
#include "acpi.h"
#include "panic.h"
#include "smp.h"
#include "smp_ipi.h"
#include "tsc.h"

struct Z__instance_t;
#define IMPORT(ret, name, ...) ret HV_IMPORT_##name(struct Z__instance_t *inst, ##__VA_ARGS__)

extern uint8_t boot_idt[];
extern struct acpi_cpus smp_cpus;
extern void irq_eoi_stub(void), irq_spurious_stub(void), irq_flush_stub(void);

#define GDT_CODE64 0x08
#define IDT_GATE_INTR 0x8E
#define ICR_FIXED 0x00004000u          /* fixed, physical, edge, assert */
#define ICR_SPIN_LIMIT 1000000u
#define FLUSH_TIMEOUT_MS 50
#define CR4_VMXE (1ull << 13)

static inline uint64_t rdtsc64(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}
static inline uint64_t u64_of(f64 v) { return v <= 0 ? 0 : (uint64_t)v; }

int lapic_icr_wait(void) {
  for (uint32_t i = 0; i < ICR_SPIN_LIMIT; i++) {
    if (!(lapic_read(LAPIC_ICR_LOW) & (1u << 12))) return 1; /* delivery status idle */
    __asm__ volatile("pause");
  }
  return 0;
}

static void set_gate(uint32_t vector, void (*handler)(void)) {
  uint64_t off = (uint64_t)(uintptr_t)handler;
  uint64_t *g = (uint64_t *)(boot_idt + vector * 16);
  g[0] = (off & 0xFFFF) | ((uint64_t)GDT_CODE64 << 16) | ((uint64_t)IDT_GATE_INTR << 40) | (((off >> 16) & 0xFFFF) << 48);
  g[1] = off >> 32;
}

void smp_ipi_init(void) {
  set_gate(HOST_TIMER_VECTOR, irq_eoi_stub);
  set_gate(KICK_VECTOR, irq_eoi_stub);
  set_gate(FLUSH_VECTOR, irq_flush_stub);
  set_gate(SPURIOUS_VECTOR, irq_spurious_stub);
}

/* ---- the LAPIC timer as the idle wake-up ------------------------------------
   The host tick (arch/x86/lapic.ts) is periodic and coarse; an idle CPU whose
   deadline is nearer arms the timer one-shot for it and restores the tick
   afterwards. Its rate, in timer ticks per ms at divide-by-16 (the divide
   lapic.ts uses), is measured against the calibrated TSC at boot. */
#define LAPIC_SVR 0x0F0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3E0
#define DIVIDE_BY_16 0x3
#define LVT_MASKED (1u << 16)
static uint64_t lapic_ticks_per_ms;

void smp_lapic_timer_calibrate(void) {
  if (!tsc_khz()) return;
  lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
  lapic_write(LAPIC_TIMER_DIVIDE, DIVIDE_BY_16);
  lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | HOST_TIMER_VECTOR);
  lapic_write(LAPIC_TIMER_INITIAL, 0xFFFFFFFFu);
  tsc_delay_us(5000);
  uint32_t left = lapic_read(LAPIC_TIMER_CURRENT);
  lapic_write(LAPIC_TIMER_INITIAL, 0);
  lapic_ticks_per_ms = (0xFFFFFFFFull - left) / 5;
}

uint64_t smp_lapic_timer_khz(void) { return lapic_ticks_per_ms; }

static int send_fixed(uint32_t cpu, uint32_t vector) {
  lapic_write(LAPIC_ICR_HIGH, percpu[cpu].apic_id << 24);
  lapic_write(LAPIC_ICR_LOW, ICR_FIXED | vector);
  return lapic_icr_wait();
}

static int usable(uint32_t cpu) {
  return cpu < smp_cpus.count && cpu < HV_MAX_CPUS && percpu[cpu].online;
}

/* ---- EPT flush requests: one slot per target CPU, written under the lock ---- */
static volatile uint64_t flush_eptp[HV_MAX_CPUS];
static volatile uint32_t flush_req[HV_MAX_CPUS];
uint64_t smp_flushes_done[HV_MAX_CPUS];

__attribute__((target("general-regs-only"))) void smp_flush_ipi(void) {
  uint32_t me = this_cpu();
  uint32_t want = __atomic_load_n(&flush_req[me], __ATOMIC_ACQUIRE);
  if (percpu[me].flush_seq == want) return;
  uint64_t cr4;
  __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
  if (cr4 & CR4_VMXE) { /* in VMX operation (VmxRoot sets VMXE just before VMXON): else nothing is cached */
    struct { uint64_t eptp, zero; } desc = {flush_eptp[me], 0};
    uint8_t cf, zf;
    __asm__ volatile("invept %2, %3; setc %0; setz %1" : "=r"(cf), "=r"(zf) : "m"(desc), "r"(1ull) : "cc", "memory");
    (void)cf;
    (void)zf;
  }
  smp_flushes_done[me]++;
  __atomic_store_n(&percpu[me].flush_seq, want, __ATOMIC_RELEASE);
}

/* ---- intrinsics ------------------------------------------------------------ */

/* which: 0 CPUs enumerated, 1 APIC ID of CPU index, 2 online flag of index,
   3 this CPU, 4 TSC kHz, 5 HLT wake-ups of index, 6 kicks received by index,
   7 EPT flushes answered by index, 8 LAPIC timer ticks per ms (divide 16);
   9-10 the MCFG window, 11-15 the I/O APICs (below). */
/*
 * Redirection entries of the I/O APIC at `addr`: IOAPICVER (register 1)
 * bits 23:16 + 1, read through IOREGSEL/IOWIN (82093AA datasheet 3.2.2). The
 * page is in the boot identity map (below 4 GiB) and no guest maps it (the
 * Service VM's EPT leaves it out); 0 when the address is not page aligned.
 */
static uint32_t ioapic_pins(uint32_t addr) {
  if (addr == 0 || (addr & 0xFFF) != 0) return 0;
  volatile uint32_t *regsel = (volatile uint32_t *)(uintptr_t)addr;
  volatile uint32_t *win = (volatile uint32_t *)(uintptr_t)(addr + 0x10);
  *regsel = 1;
  uint32_t ver = *win;
  return ((ver >> 16) & 0xFF) + 1;
}

IMPORT(f64, __smp_info, f64 which, f64 index) {
  (void)inst;
  uint32_t i = (uint32_t)u64_of(index);
  uint32_t j = i < ACPI_MAX_IOAPICS ? i : ACPI_MAX_IOAPICS;
  if (i >= HV_MAX_CPUS) i = 0;
  switch ((int)which) {
    case 0: return smp_cpus.count ? smp_cpus.count : 1;
    case 1: return percpu[i].apic_id;
    case 2: return i == 0 ? 1 : percpu[i].online;
    case 3: return this_cpu();
    case 4: return tsc_khz();
    case 5: return (f64)percpu[i].idle_wakeups;
    case 6: return (f64)percpu[i].kicks_received;
    case 7: return (f64)smp_flushes_done[i];
    case 8: return (f64)lapic_ticks_per_ms;
    case 9: return (f64)smp_cpus.mmcfg_base;  /* not SMP: import slots are scarce */
    case 10: return (f64)smp_cpus.mmcfg_size;
    /* The MADT's I/O APICs (the Service VM's vIOAPICs), index = MADT order. */
    case 11: return smp_cpus.ioapic_count;
    case 12: return j < smp_cpus.ioapic_count ? smp_cpus.ioapic_addr[j] : 0;
    case 13: return j < smp_cpus.ioapic_count ? smp_cpus.ioapic_gsi_base[j] : 0;
    case 14: return j < smp_cpus.ioapic_count ? smp_cpus.ioapic_id[j] : 0;
    case 15: return j < smp_cpus.ioapic_count ? ioapic_pins(smp_cpus.ioapic_addr[j]) : 0;
    default: return 0;
  }
}

static f64 start_cpus(void) {
  if (this_cpu() != 0) hv_panic("startCpus: not on the boot CPU");
  return smp_start_aps();
}

/* Release the lock, HLT with interrupts on until kicked or the TSC passes
   `deadline` (checked at each wake-up: the host LAPIC timer's tick, any IPI),
   then interrupts off and the lock again. Returns 1 if kicked. */
static f64 cpu_idle(f64 deadline) {
  struct percpu *p = this_percpu();
  uint64_t end = u64_of(deadline);
  uint32_t lvt = lapic_read(LAPIC_LVT_TIMER), initial = lapic_read(LAPIC_TIMER_INITIAL);
  int armed = 0;
  p->idle = 1;
  ts_lock_release();
  for (;;) {
    uint64_t now = rdtsc64();
    if (p->kicked || now >= end) break;
    /* Arm the one-shot when the deadline comes before the tick's next expiry
       (or there is no tick), and again if it expired a little early. */
    if (lapic_ticks_per_ms && tsc_khz() && (!armed || lapic_read(LAPIC_TIMER_CURRENT) == 0)) {
      uint64_t ticks = (end - now) * lapic_ticks_per_ms / tsc_khz() + 1;
      if (ticks > 0xFFFFFFFFull) ticks = 0xFFFFFFFFull;
      if (armed || (lvt & LVT_MASKED) || initial == 0 || ticks < lapic_read(LAPIC_TIMER_CURRENT)) {
        lapic_write(LAPIC_LVT_TIMER, HOST_TIMER_VECTOR); /* one-shot, unmasked */
        lapic_write(LAPIC_TIMER_INITIAL, (uint32_t)ticks);
        armed = 1;
      }
    }
    __asm__ volatile("sti; hlt; cli" ::: "memory");
    p->idle_wakeups++;
    smp_flush_ipi();
  }
  if (armed) { /* the host tick again, as lapic.ts left it */
    lapic_write(LAPIC_LVT_TIMER, lvt);
    lapic_write(LAPIC_TIMER_INITIAL, initial);
  }
  ts_lock_acquire();
  p->idle = 0;
  uint32_t k = p->kicked;
  if (k) p->kicks_received++;
  p->kicked = 0;
  return k;
}

/* Make `cpu` re-evaluate its vCPUs: flag it and send KICK_VECTOR (an idle CPU
   wakes from HLT; one in a guest takes an external-interrupt exit). 1 if sent. */
static f64 kick_cpu(f64 cpu) {
  uint32_t c = (uint32_t)u64_of(cpu);
  if (!usable(c) || c == this_cpu()) return 0;
  __atomic_store_n(&percpu[c].kicked, 1, __ATOMIC_RELEASE);
  return send_fixed(c, KICK_VECTOR);
}

/* INVEPT single-context for EPTP (hi:lo) on every online CPU in `mask` except
   this one, and wait for each to answer (FLUSH_TIMEOUT_MS in all). Returns the
   mask of CPUs that did not answer (0: all flushed). */
static f64 ept_flush_cpus(f64 mask, f64 eptp_hi, f64 eptp_lo) {
  uint32_t m = (uint32_t)u64_of(mask), me = this_cpu(), pending = 0;
  uint64_t eptp = (u64_of(eptp_hi) << 32) | (uint32_t)u64_of(eptp_lo);
  uint32_t want[HV_MAX_CPUS] = {0};
  for (uint32_t c = 0; c < HV_MAX_CPUS; c++) {
    if (!(m & (1u << c)) || c == me || !usable(c)) continue;
    flush_eptp[c] = eptp;
    want[c] = percpu[c].flush_seq + 1;
    __atomic_store_n(&flush_req[c], want[c], __ATOMIC_RELEASE);
    send_fixed(c, FLUSH_VECTOR);
    pending |= 1u << c;
  }
  uint64_t k = tsc_khz() ? tsc_khz() : 1000000u;
  uint64_t end = rdtsc64() + FLUSH_TIMEOUT_MS * k;
  while (pending && rdtsc64() < end) {
    for (uint32_t c = 0; c < HV_MAX_CPUS; c++)
      if ((pending & (1u << c)) && __atomic_load_n(&percpu[c].flush_seq, __ATOMIC_ACQUIRE) == want[c]) pending &= ~(1u << c);
    __asm__ volatile("pause");
  }
  return pending;
}

/* op 0 startCpus(), 1 cpuIdle(a = deadline), 2 kickCpu(a = cpu),
   3 eptFlushCpus(a = mask, b:c = EPTP). */
extern uint64_t boot_mapped_top;

IMPORT(f64, __smp_op, f64 op, f64 a, f64 b, f64 c) {
  (void)inst;
  switch ((int)op) {
    case 0: return start_cpus();
    case 1: return cpu_idle(a);
    case 2: return kick_cpu(a);
    case 3: return ept_flush_cpus(a, b, c);
    case 4: return phys_try_declare_guest((uint64_t)a, (uint64_t)b, boot_mapped_top); /* not SMP: import slots are scarce */
    case 5: return phys_page_ok((uint64_t)a, b != 0) ? 1 : 0;
    default: hv_panic("__smp_op: unknown operation");
  }
}
