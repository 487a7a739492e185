// The vLAPIC timer's counting state (SDM Vol. 3A 11.5.4 "APIC Timer"): the
// initial-count, current-count and divide-configuration registers, the three
// modes of LVT timer bits 18:17, and IA32_TSC_DEADLINE (11.5.4.1). It raises
// nothing itself: Vlapic (hv/vm/vlapic.ts) asks it when the next expiry is
// and raises the LVT timer vector when `expire` reports one.
//
// Time: there is no clock here. Every call that needs the time takes `now`,
// a guest TSC value (a non-negative integer below 2^53). Like ACRN, the timer
// is emulated from the TSC: one tick of the APIC timer's input clock lasts
// `tscPerBusTick` TSC cycles (ACRN counts `tmicr << divisor_shift` TSC cycles,
// that is tscPerBusTick = 1), so a count of N with divisor D lasts
// N * D * tscPerBusTick cycles. A counting one-shot or periodic timer is a
// start time and a period; the current count is derived from them, so it is
// right whenever it is read, whether or not the expiry was processed yet.
import { TIMER_ONESHOT, TIMER_PERIODIC, TIMER_TSC_DEADLINE, vlapicDivisor } from './vlapic-regs';

/** Largest time this module computes with (2^53 - 1). */
const TIME_MAX = 9007199254740991;
/** tscPerBusTick at most 2^13: a count (< 2^32) times 128 times it stays below 2^53. */
const TSC_PER_TICK_MAX = 8192;

export class VlapicTimer {
  /** TSC cycles per tick of the timer's input clock (1..8192). */
  tscPerBusTick = 1;
  /** Mode from LVT timer bits 18:17; the reserved encoding 3 counts like one-shot (as in ACRN). */
  mode = TIMER_ONESHOT;
  /** Initial-count register (0x380). */
  initialCount = 0;
  /** Divide configuration register (0x3E0), bits 0, 1 and 3. */
  dcr = 0;
  /** Divisor the DCR selects. */
  divisor = 2;
  /** One-shot or periodic counting, or a TSC deadline, is armed. */
  armed = false;
  /** TSC at which the count was last loaded (one-shot, periodic). */
  start = 0;
  /** TSC length of a whole count: initialCount * divisor * tscPerBusTick. */
  period = 0;
  /** TSC-deadline target as a number (clamped below 2^53); 0 = disarmed. */
  deadline = 0;
  /** IA32_TSC_DEADLINE as written, for reads. */
  deadlineHi = 0;
  deadlineLo = 0;

  constructor(tscPerBusTick: number) {
    this.setTscPerBusTick(tscPerBusTick);
  }

  /** Set the input clock ratio (an integer 1..8192; anything else is clamped). */
  setTscPerBusTick(ratio: number): void {
    let r = ratio >= 1 ? Math.floor(ratio) : 1;
    if (!(r <= TSC_PER_TICK_MAX)) r = TSC_PER_TICK_MAX;
    this.tscPerBusTick = r;
  }

  /** Power-up values (SDM 11.4.7.1): counts 0, DCR 0 (divide by 2), one-shot, disarmed. */
  clear(): void {
    this.mode = TIMER_ONESHOT;
    this.initialCount = 0;
    this.dcr = 0;
    this.divisor = 2;
    this.disarm();
  }

  /** Stop counting and drop any TSC deadline. */
  disarm(): void {
    this.armed = false;
    this.start = 0;
    this.period = 0;
    this.deadline = 0;
    this.deadlineHi = 0;
    this.deadlineLo = 0;
  }

  /**
   * The LVT timer's mode field was written. A change of mode disarms the
   * timer (SDM 11.5.4.1: "A write to the LVT Timer Register that changes the
   * timer mode disarms the local APIC timer"; ACRN vlapic_update_lvtt).
   */
  changeMode(mode: number): void {
    if (mode === this.mode) return;
    this.mode = mode;
    this.disarm();
  }

  /** Length of one tick of the counter in TSC cycles. */
  tickLength(): number {
    return this.divisor * this.tscPerBusTick;
  }

  /**
   * Write the initial count (`count` is a u32): loads the counter and starts
   * it; 0 stops it (SDM 11.5.4). Ignored in TSC-deadline mode (11.5.4.1).
   */
  writeInitialCount(count: number, now: number): void {
    if (this.mode === TIMER_TSC_DEADLINE) return;
    this.initialCount = count;
    if (count === 0) {
      this.disarm();
      return;
    }
    this.armed = true;
    this.start = now;
    this.period = count * this.tickLength();
  }

  /**
   * Write the DCR. A counting timer keeps its current count and goes on at
   * the new rate (the next reloads use the new rate too).
   */
  writeDivide(value: number, now: number): void {
    const remaining = this.currentCount(now);
    this.dcr = value & 0xb;
    this.divisor = vlapicDivisor(this.dcr);
    if (!this.armed || this.mode === TIMER_TSC_DEADLINE) return;
    const tick = this.tickLength();
    this.period = this.initialCount * tick;
    this.start = now - (this.initialCount - remaining) * tick;
  }

  /** Initial-count register as read: 0 in TSC-deadline mode (ACRN). */
  initialCountRead(): number {
    return this.mode === TIMER_TSC_DEADLINE ? 0 : this.initialCount;
  }

  /**
   * Current-count register at `now`: counts down from the initial count by
   * one per tick; a one-shot timer stays at 0 once it expired, a periodic one
   * reloads; 0 when stopped and always 0 in TSC-deadline mode (11.5.4.1).
   */
  currentCount(now: number): number {
    if (!this.armed || this.mode === TIMER_TSC_DEADLINE) return 0;
    let elapsed = now - this.start;
    if (elapsed < 0) elapsed = 0;
    if (this.mode === TIMER_PERIODIC) {
      elapsed -= Math.floor(elapsed / this.period) * this.period;
    } else if (elapsed >= this.period) {
      return 0;
    }
    return this.initialCount - Math.floor(elapsed / this.tickLength());
  }

  /** TSC of the next expiry, or 0 when nothing is armed. */
  nextExpiry(): number {
    if (!this.armed) return 0;
    if (this.mode === TIMER_TSC_DEADLINE) return this.deadline;
    return this.start + this.period;
  }

  /**
   * Consume an expiry due at `now`: true when one was due. A one-shot timer
   * stops, a periodic one moves to the first period ending after `now`
   * (expiries missed in between coalesce into this one, as the single IRR
   * bit would), a TSC deadline disarms and IA32_TSC_DEADLINE reads 0 again
   * (SDM 11.5.4.1).
   */
  expire(now: number): boolean {
    const due = this.nextExpiry();
    if (due === 0 || now < due) return false;
    if (this.mode === TIMER_PERIODIC) {
      this.start += (Math.floor((now - this.start) / this.period)) * this.period;
    } else {
      this.disarm();
    }
    return true;
  }

  /**
   * Write IA32_TSC_DEADLINE: arms at hi:lo (a guest TSC), 0 disarms. Ignored
   * outside TSC-deadline mode (11.5.4.1: "writes are ignored").
   */
  writeDeadline(hi: number, lo: number): void {
    if (this.mode !== TIMER_TSC_DEADLINE) return;
    if (hi === 0 && lo === 0) {
      this.disarm();
      return;
    }
    this.deadlineHi = hi;
    this.deadlineLo = lo;
    const value = hi * 4294967296 + lo;
    this.deadline = value > TIME_MAX ? TIME_MAX : value;
    this.armed = true;
  }

  /** IA32_TSC_DEADLINE high half as read: 0 unless a deadline is armed. */
  deadlineReadHi(): number {
    return this.armed && this.mode === TIMER_TSC_DEADLINE ? this.deadlineHi : 0;
  }

  /** IA32_TSC_DEADLINE low half as read. */
  deadlineReadLo(): number {
    return this.armed && this.mode === TIMER_TSC_DEADLINE ? this.deadlineLo : 0;
  }
}
