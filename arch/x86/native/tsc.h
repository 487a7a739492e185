/*
 * tsc.h - the TSC frequency, calibrated at boot against PIT channel 2.
 */
#pragma once
#include <stdint.h>

/* Calibrate (boot CPU, interrupts off, ~30 ms); returns kHz, 0 if the PIT did not count. */
uint32_t tsc_calibrate(void);
/* The calibrated frequency in kHz (0 before or after a failed calibration). */
uint32_t tsc_khz(void);
/* Busy-wait us microseconds (TSC; assumes 1 GHz when uncalibrated, i.e. waits at least as long on slower TSCs). */
void tsc_delay_us(uint64_t us);
