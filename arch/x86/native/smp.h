/*
 * smp.h - per-CPU state and the TypeScript lock.
 *
 * One Wasm instance serves every pCPU and porffor's code is not reentrant, so
 * only one CPU runs TypeScript at a time (DESIGN.md). A CPU takes ts_lock before
 * it enters TypeScript (boot, VM exit) and releases it before VM entry and while
 * idle. Everything wasm-rt keeps per thread of execution (the exception unwind
 * target) lives in the per-CPU block.
 */
#pragma once
#include <stdint.h>
#include <setjmp.h>

#define HV_MAX_CPUS 8

struct percpu {
  uint32_t cpu_id;              /* index, 0 = boot CPU */
  uint32_t online;
  jmp_buf *unwind_target;       /* wasm-rt exception unwind target of this CPU */
  uint64_t ts_entries;          /* times this CPU took the TypeScript lock */
};

extern struct percpu percpu[HV_MAX_CPUS];

/** Index of the executing CPU. Only the boot CPU runs before AP bring-up. */
uint32_t this_cpu(void);
static inline struct percpu *this_percpu(void) { return &percpu[this_cpu()]; }

/** Ticket lock around all TypeScript execution. */
void ts_lock_acquire(void);
void ts_lock_release(void);
/** Which CPU holds the lock, or -1. */
int32_t ts_lock_owner(void);
