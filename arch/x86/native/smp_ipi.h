/*
 * smp_ipi.h - the local APIC as the hypervisor uses it between pCPUs: host
 * interrupt gates, the kick IPI, idling with the TypeScript lock released,
 * and EPT flushes on other pCPUs.
 *
 * Vectors (the IDT's other vectors 32-255 still panic):
 *   0xEF  HOST_TIMER_VECTOR  host LAPIC timer (arch/x86/lapic.ts): EOI only
 *   0xF0  KICK_VECTOR        kickCpu(): EOI only; waking from HLT is the point
 *   0xF1  FLUSH_VECTOR       EPT flush request: INVEPT, acknowledge, EOI
 *   0xFF  SPURIOUS_VECTOR    spurious: no EOI (SDM Vol. 3A 10.9)
 * The hypervisor runs with interrupts off except inside cpu_idle's STI;HLT.
 * While a guest runs, any of them is an external-interrupt VM exit
 * (acknowledged on exit); hv/vm/exits/misc-exits.ts sends the EOI, and
 * vcpu_run.c answers pending flush requests before taking the lock.
 */
#pragma once
#include <stdint.h>

#define HOST_TIMER_VECTOR 0xEF
#define KICK_VECTOR 0xF0
#define FLUSH_VECTOR 0xF1
#define SPURIOUS_VECTOR 0xFF

#define LAPIC_BASE 0xFEE00000ull
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310

static inline uint32_t lapic_read(uint32_t reg) { return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg); }
static inline void lapic_write(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = v; }
/** Wait for the ICR's delivery status to go idle (bounded); 1 if it did. */
int lapic_icr_wait(void);

/** Install the gates above in the shared IDT (boot CPU, before any STI). */
void smp_ipi_init(void);
/** Measure the LAPIC timer (divide by 16) against the TSC (boot CPU, after tsc_calibrate). */
void smp_lapic_timer_calibrate(void);
uint64_t smp_lapic_timer_khz(void);
/** INVEPT for every pending flush request of this CPU, then acknowledge it. */
void smp_flush_ipi(void);
