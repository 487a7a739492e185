// The host's local APIC (xAPIC, memory-mapped at its default base; SDM Vol. 3A
// chapter 10 "Advanced Programmable Interrupt Controller"): enabled through the
// spurious-interrupt vector register, its timer periodic, as the host's tick.
// The hypervisor runs with interrupts off: a tick that arrives while a guest
// runs is a VM exit (external-interrupt exiting, acknowledged on exit), and
// the exit handler sends the EOI.
import { peek32, poke32 } from './intrinsics';

export const LAPIC_BASE = 0xfee00000;
const REG_EOI = 0xb0;
const REG_SVR = 0xf0;
const REG_LVT_TIMER = 0x320;
const REG_TIMER_INITIAL = 0x380;
const REG_TIMER_DIVIDE = 0x3e0;
const SVR_ENABLE = 0x100;
const LVT_PERIODIC = 1 << 17;
const LVT_MASKED = 1 << 16;
const DIVIDE_BY_16 = 0x3;

export const HOST_TIMER_VECTOR = 0xef;
export const HOST_SPURIOUS_VECTOR = 0xff;

export class HostLapic {
  ticksArmed = 0;

  /** Enable the APIC and start the periodic timer with `initialCount` (bus clock / 16). */
  startTimer(initialCount: number): void {
    poke32(LAPIC_BASE + REG_SVR, SVR_ENABLE | HOST_SPURIOUS_VECTOR);
    poke32(LAPIC_BASE + REG_TIMER_DIVIDE, DIVIDE_BY_16);
    poke32(LAPIC_BASE + REG_LVT_TIMER, LVT_PERIODIC | HOST_TIMER_VECTOR);
    poke32(LAPIC_BASE + REG_TIMER_INITIAL, initialCount >>> 0);
    this.ticksArmed = initialCount;
  }

  stopTimer(): void {
    poke32(LAPIC_BASE + REG_LVT_TIMER, LVT_MASKED | HOST_TIMER_VECTOR);
    poke32(LAPIC_BASE + REG_TIMER_INITIAL, 0);
  }

  eoi(): void {
    poke32(LAPIC_BASE + REG_EOI, 0);
  }

  /** APIC ID of this CPU (xAPIC: bits 31:24 of the ID register). */
  id(): number {
    return peek32(LAPIC_BASE + 0x20) >>> 24;
  }
}
