/*
 * smp.h - per-CPU state and the TypeScript lock.
 *
 * One Wasm instance serves every pCPU and porffor's code is not reentrant, so
 * only one CPU runs TypeScript at a time (DESIGN.md). A CPU takes ts_lock before
 * it enters TypeScript (boot, AP entry, VM exit) and releases it before VM
 * entry and while idle (cpu_idle, smp_ipi.c). Everything wasm-rt keeps per
 * thread of execution (the exception unwind target) lives in the per-CPU block.
 *
 * this_cpu() reads the block's first field through GS: each CPU's IA32_GS_BASE
 * points at its own percpu[] entry (kmain for the boot CPU, ap_main for the
 * APs; the VMCS host state keeps it across VM exits).
 */
#pragma once
#include <stdint.h>
#include <setjmp.h>

#define HV_MAX_CPUS 8

struct percpu {
  uint32_t cpu_id;              /* index, 0 = boot CPU; MUST stay first (gs:0) */
  volatile uint32_t online;     /* set by the CPU itself once it runs 64-bit C */
  jmp_buf *unwind_target;       /* wasm-rt exception unwind target of this CPU */
  uint64_t ts_entries;          /* times this CPU took the TypeScript lock */
  uint32_t apic_id;             /* local APIC ID (MADT) */
  volatile uint32_t kicked;     /* kickCpu() since this CPU last went idle */
  volatile uint32_t flush_seq;  /* EPT flush requests answered (smp_ipi.c) */
  uint32_t idle;                /* in cpu_idle (lock released) */
  uint64_t idle_wakeups;        /* HLTs that returned */
  uint64_t kicks_received;
};

extern struct percpu percpu[HV_MAX_CPUS];

/** Index of the executing CPU (0 until the boot CPU's GS base is set). */
uint32_t this_cpu(void);
static inline struct percpu *this_percpu(void) { return &percpu[this_cpu()]; }
/** Point GS at percpu[cpu] on the executing CPU (ap_start.c). */
void smp_set_gs_base(uint32_t cpu);
/** this_cpu() may read GS from now on (kmain, once the boot CPU's GS base is set). */
void smp_gs_ready(void);

/** Ticket lock around all TypeScript execution. */
void ts_lock_acquire(void);
void ts_lock_release(void);
/** Which CPU holds the lock, or -1. */
int32_t ts_lock_owner(void);

/** ap_start.c: TSC calibration, MADT, trampoline page, interrupt gates (boot CPU, before TypeScript). */
void smp_init(void);
/** ap_start.c: start every enumerated AP; returns the CPUs online (boot CPU included). */
uint32_t smp_start_aps(void);
