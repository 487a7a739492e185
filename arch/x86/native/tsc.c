/*
 * tsc.c - TSC frequency calibrated against the PIT (see tsc.h).
 *
 * PIT channel 2 is the one whose gate software controls (port 0x61 bit 0)
 * and whose output it can read (port 0x61 bit 5), so it needs no interrupt:
 * program it in mode 0 ("interrupt on terminal count", 8254 data sheet) with a
 * count of CALIBRATE_MS at 1.193182 MHz, open the gate, and count TSC ticks
 * until OUT goes high. This is Linux's pit_calibrate_tsc() and ACRN's
 * calibrate_tsc()/pit_calibrate_tsc(). The shortest of a few runs is kept
 * (an SMI or an emulator's time slice only ever makes a run longer).
 *
 * Why the PIT and not CPUID 15H/16H: Bochs reports a CPUID frequency that its
 * TSC does not run at, and many CPUs have neither leaf.
 */
#include <stdint.h>
#include "portio.h"
#include "tsc.h"

#define PIT_TICK_RATE 1193182u  /* Hz */
#define PIT_CH2 0x42
#define PIT_MODE 0x43
#define PIT_GATE_PORT 0x61      /* NMI status and control (PC/AT port B) */
#define GATE_CH2 0x01           /* bit 0: channel 2 gate */
#define SPEAKER_DATA 0x02       /* bit 1: speaker data (kept off) */
#define OUT_CH2 0x20            /* bit 5: channel 2 OUT (read only) */
#define MODE_CH2_LOHI_MODE0 0xB0 /* channel 2, lobyte/hibyte, mode 0, binary */
#define CALIBRATE_MS 10u
#define CALIBRATE_RUNS 3
/* A run whose OUT never rises (no PIT) gives up after this many TSC ticks:
   10 ms at 50 GHz, far beyond any real or emulated CPU. */
#define RUN_TSC_LIMIT 500000000ull
#define RUN_LOOP_LIMIT 50000000u

static uint32_t khz;

static inline uint64_t rdtsc64(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

/* TSC ticks over one CALIBRATE_MS PIT countdown, or 0 if OUT never rose. */
static uint64_t one_run(void) {
  const uint32_t latch = PIT_TICK_RATE / (1000u / CALIBRATE_MS);
  uint8_t gate = inb(PIT_GATE_PORT);
  outb(PIT_GATE_PORT, (uint8_t)((gate & ~(SPEAKER_DATA | GATE_CH2)) & 0x0F)); /* gate low: counter holds */
  outb(PIT_MODE, MODE_CH2_LOHI_MODE0);
  outb(PIT_CH2, (uint8_t)(latch & 0xFF));
  outb(PIT_CH2, (uint8_t)(latch >> 8));
  uint64_t t0 = rdtsc64(), t = t0;
  outb(PIT_GATE_PORT, (uint8_t)(((gate & ~SPEAKER_DATA) | GATE_CH2) & 0x0F)); /* gate high: count */
  t0 = rdtsc64();
  uint32_t loops = 0;
  while ((inb(PIT_GATE_PORT) & OUT_CH2) == 0) {
    t = rdtsc64();
    if (t - t0 > RUN_TSC_LIMIT || ++loops > RUN_LOOP_LIMIT) return 0;
  }
  t = rdtsc64();
  outb(PIT_GATE_PORT, (uint8_t)(gate & ~(SPEAKER_DATA | GATE_CH2) & 0x0F));
  return t - t0;
}

uint32_t tsc_calibrate(void) {
  uint64_t best = 0;
  for (int i = 0; i < CALIBRATE_RUNS; i++) {
    uint64_t d = one_run();
    if (d == 0) continue;
    if (best == 0 || d < best) best = d;
  }
  khz = (uint32_t)(best / CALIBRATE_MS);
  return khz;
}

uint32_t tsc_khz(void) { return khz; }

void tsc_delay_us(uint64_t us) {
  uint64_t k = khz ? khz : 1000000u; /* uncalibrated: assume a fast (1 GHz) TSC, so delays are never short */
  uint64_t end = rdtsc64() + us * k / 1000u;
  while (rdtsc64() < end) __asm__ volatile("pause");
}
