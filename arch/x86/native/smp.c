/* smp.c - see smp.h. */
#include <stdint.h>
#include "panic.h"
#include "smp.h"
#include "smp_ipi.h"

struct percpu percpu[HV_MAX_CPUS];

static volatile uint32_t ts_ticket_next;
static volatile uint32_t ts_ticket_serving;
static volatile int32_t ts_owner = -1;

static volatile uint32_t gs_ready;

uint32_t this_cpu(void) {
  if (!gs_ready) return 0;
  uint32_t c;
  __asm__ volatile("movl %%gs:0, %0" : "=r"(c));
  return c;
}

void smp_gs_ready(void) { gs_ready = 1; }

void ts_lock_acquire(void) {
  uint32_t me = this_cpu();
  if (ts_owner == (int32_t)me) hv_panic(me == 0 ? "TypeScript lock taken twice by one CPU (the boot CPU)" : "TypeScript lock taken twice by one CPU (an AP)");
  uint32_t ticket = __atomic_fetch_add(&ts_ticket_next, 1, __ATOMIC_ACQUIRE);
  /* While waiting, answer EPT flush requests: the CPU that asked holds the lock. */
  while (__atomic_load_n(&ts_ticket_serving, __ATOMIC_ACQUIRE) != ticket) {
    smp_flush_ipi();
    __asm__ volatile("pause");
  }
  ts_owner = (int32_t)me;
  percpu[me].ts_entries++;
}

void ts_lock_release(void) {
  if (ts_owner != (int32_t)this_cpu()) hv_panic("TypeScript lock released by a CPU that does not hold it");
  ts_owner = -1;
  __atomic_fetch_add(&ts_ticket_serving, 1, __ATOMIC_RELEASE);
}

int32_t ts_lock_owner(void) { return ts_owner; }
