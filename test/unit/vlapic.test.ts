// The vLAPIC (hv/vm/vlapic*.ts) against the Intel SDM Vol. 3A chapter 11.
// Every expected value is worked out by hand from the SDM's layouts:
//   xAPIC ID register: APIC ID in bits 31:24 (11.4.6)
//   version: 0x00060010 = version 10H, max LVT entry 6 (7 entries), ACRN's value (11.4.8)
//   LVT: vector 7:0, delivery mode 10:8, mask bit 16, timer mode 18:17 (Figure 11-8)
//   PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4] << 4 (11.8.3.1)
//   ICR: vector 7:0, mode 10:8, logical 11, level 14, trigger 15, shorthand 19:18,
//        destination 63:56 (xAPIC) or 63:32 (x2APIC) (11.6.1, 11.12.9)
//   x2APIC MSR = 0x800 + offset / 16; LDR = ID[19:4] << 16 | 1 << ID[3:0] (11.12)
//   timer divisor by DCR bits 3,1,0: 000 2, 001 4, 010 8, 011 16, 100 32, 101 64, 110 128, 111 1
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { Vlapic, type VlapicBus, type VlapicSink, vlapicX2apicLdr } from '../../hv/vm/vlapic';
import {
  matchesDestination, vlapicDeliverIpi, vlapicDeliverMessage, vlapicIsIpiTarget, vlapicLowestPriority,
} from '../../hv/vm/vlapic-dest';
import * as R from '../../hv/vm/vlapic-regs';

class RecordingSink implements VlapicSink {
  eoiLevels: number[] = [];
  nmis = 0;
  extInts = 0;
  inits = 0;
  sipis: number[] = [];
  kicks = 0;
  eoiLevel(vector: number): void {
    this.eoiLevels.push(vector);
  }
  nmi(): void {
    this.nmis++;
  }
  extInt(): void {
    this.extInts++;
  }
  initSignal(): void {
    this.inits++;
  }
  sipi(vector: number): void {
    this.sipis.push(vector);
  }
  kick(): void {
    this.kicks++;
  }
}

/** Records every IPI as [mode, vector, level, trigger, shorthand, destMode, dest]. */
class RecordingBus implements VlapicBus {
  calls: number[][] = [];
  senders: Vlapic[] = [];
  deliver(sender: Vlapic, mode: number, vector: number, level: number, trigger: number, shorthand: number,
    destMode: number, dest: number): void {
    this.senders.push(sender);
    this.calls.push([mode, vector, level, trigger, shorthand, destMode, dest]);
  }
}

/** A VM's bus: one call to vlapicDeliverIpi. */
class VmBus implements VlapicBus {
  vlapics: Vlapic[] = [];
  deliver(sender: Vlapic, mode: number, vector: number, _level: number, _trigger: number, shorthand: number,
    destMode: number, dest: number): void {
    vlapicDeliverIpi(this.vlapics, this.vlapics.length, sender, mode, vector, shorthand, destMode, dest);
  }
}

function make(apicId = 0, ratio = 1): { v: Vlapic; sink: RecordingSink; bus: RecordingBus } {
  const sink = new RecordingSink();
  const bus = new RecordingBus();
  const v = new Vlapic(apicId, sink, bus, ratio);
  v.reset(apicId, apicId === 0);
  return { v, sink, bus };
}

/** A software-enabled vLAPIC (SVR = 0x1FF). */
function enabled(apicId = 0, ratio = 1): { v: Vlapic; sink: RecordingSink; bus: RecordingBus } {
  const t = make(apicId, ratio);
  expect(t.v.writeReg(R.APIC_OFF_SVR, 0x1ff, 0)).toBe(R.VLAPIC_OK);
  return t;
}

function toX2apic(v: Vlapic): void {
  expect(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00c00, 0)).toBe(R.VLAPIC_OK);
  expect(v.mode).toBe(R.VLAPIC_MODE_X2APIC);
}

/** ESR as software sees it after the write-then-read sequence of SDM 11.5.3. */
function readEsr(v: Vlapic): number {
  v.writeReg(R.APIC_OFF_ESR, 0, 0);
  return v.readReg(R.APIC_OFF_ESR, 0);
}

/** Deliver and take `vector` (accept, then the VM-entry path acks it). */
function inService(v: Vlapic, vector: number, level = false): void {
  expect(v.acceptIrq(vector, level)).toBe(true);
  expect(v.pendingVector()).toBe(vector);
  expect(v.ackVector(vector)).toBe(true);
}

describe('power-up reset (SDM 11.4.7.1)', () => {
  it('every xAPIC register has its reset value', () => {
    const { v } = make(3);
    const want: [number, number][] = [
      [R.APIC_OFF_ID, 0x03000000], [R.APIC_OFF_VER, 0x00060010], [R.APIC_OFF_TPR, 0], [R.APIC_OFF_APR, 0],
      [R.APIC_OFF_PPR, 0], [R.APIC_OFF_EOI, 0], [R.APIC_OFF_RRD, 0], [R.APIC_OFF_LDR, 0],
      [R.APIC_OFF_DFR, 0xffffffff], [R.APIC_OFF_SVR, 0xff], [R.APIC_OFF_ESR, 0], [R.APIC_OFF_LVT_CMCI, 0x10000],
      [R.APIC_OFF_ICR_LO, 0], [R.APIC_OFF_ICR_HI, 0], [R.APIC_OFF_LVT_TIMER, 0x10000],
      [R.APIC_OFF_LVT_THERMAL, 0x10000], [R.APIC_OFF_LVT_PERF, 0x10000], [R.APIC_OFF_LVT_LINT0, 0x10000],
      [R.APIC_OFF_LVT_LINT1, 0x10000], [R.APIC_OFF_LVT_ERROR, 0x10000], [R.APIC_OFF_TIMER_ICR, 0],
      [R.APIC_OFF_TIMER_CCR, 0], [R.APIC_OFF_TIMER_DCR, 0],
    ];
    for (const [off, value] of want) expect([off, v.readReg(off, 0)]).toEqual([off, value]);
    for (let i = 0; i < 8; i++) {
      expect(v.readReg(0x100 + i * 16, 0)).toBe(0);
      expect(v.readReg(0x180 + i * 16, 0)).toBe(0);
      expect(v.readReg(0x200 + i * 16, 0)).toBe(0);
    }
    expect(readEsr(v)).toBe(0); // none of those reads was illegal
    expect(v.mode).toBe(R.VLAPIC_MODE_XAPIC);
    expect(v.isEnabled()).toBe(false); // software disabled
    expect(v.timerDeadline()).toBe(0);
  });

  it('IA32_APIC_BASE: 0xFEE00900 on the BSP (base | EN | BSP), 0xFEE00800 on an AP', () => {
    expect(make(0).v.msrRead(R.MSR_IA32_APIC_BASE, 0)).toBe(R.VLAPIC_OK);
    const bsp = make(0).v;
    bsp.msrRead(R.MSR_IA32_APIC_BASE, 0);
    expect([bsp.msrHi, bsp.msrLo]).toEqual([0, 0xfee00900]);
    const ap = make(2).v;
    ap.msrRead(R.MSR_IA32_APIC_BASE, 0);
    expect([ap.msrHi, ap.msrLo]).toEqual([0, 0xfee00800]);
  });

  it('reset puts back every register a guest changed', () => {
    const { v } = enabled(1);
    v.writeReg(R.APIC_OFF_TPR, 0x40, 0);
    v.writeReg(R.APIC_OFF_LDR, 0x01000000, 0);
    v.writeReg(R.APIC_OFF_LVT_LINT0, 0x700, 0);
    v.writeReg(R.APIC_OFF_TIMER_ICR, 100, 0);
    v.acceptIrq(0x80, true);
    v.reset(1, false);
    expect(v.readReg(R.APIC_OFF_TPR, 0)).toBe(0);
    expect(v.readReg(R.APIC_OFF_LDR, 0)).toBe(0);
    expect(v.readReg(R.APIC_OFF_SVR, 0)).toBe(0xff);
    expect(v.readReg(R.APIC_OFF_LVT_LINT0, 0)).toBe(0x10000);
    expect(v.readReg(R.APIC_OFF_IRR0 + 0x40, 0)).toBe(0);
    expect(v.readReg(R.APIC_OFF_TMR0 + 0x40, 0)).toBe(0);
    expect(v.timerDeadline()).toBe(0);
  });
});

describe('register access rules (xAPIC MMIO)', () => {
  it('read-only registers ignore writes; the APIC ID is read-only as in ACRN', () => {
    const { v } = enabled(7);
    for (const off of [R.APIC_OFF_VER, R.APIC_OFF_APR, R.APIC_OFF_PPR, R.APIC_OFF_RRD, 0x100, 0x180, 0x200, R.APIC_OFF_TIMER_CCR]) {
      expect(v.writeReg(off, 0xffffffff, 0)).toBe(R.VLAPIC_IGNORED);
    }
    expect(v.writeReg(R.APIC_OFF_ID, 0x09000000, 0)).toBe(R.VLAPIC_IGNORED);
    expect(v.readReg(R.APIC_OFF_ID, 0)).toBe(0x07000000);
    expect(v.readReg(R.APIC_OFF_VER, 0)).toBe(0x00060010);
    expect(readEsr(v)).toBe(0);
  });

  it('reserved, misaligned and SELF IPI offsets log "illegal register address" (ESR bit 7)', () => {
    const { v } = enabled();
    expect(v.readReg(0x010, 0)).toBe(0);
    expect(readEsr(v)).toBe(0x80);
    expect(v.writeReg(0x024, 1, 0)).toBe(R.VLAPIC_ILLEGAL);
    expect(readEsr(v)).toBe(0x80);
    expect(v.writeReg(R.APIC_OFF_SELF_IPI, 0x40, 0)).toBe(R.VLAPIC_ILLEGAL); // x2APIC only
    expect(readEsr(v)).toBe(0x80);
    expect(v.readReg(0x400, 0)).toBe(0);
    expect(readEsr(v)).toBe(0x80);
    expect(readEsr(v)).toBe(0); // a second write finds nothing new
    expect(v.readReg(R.APIC_OFF_TPR + 1, 0)).toBe(0); // byte 1 of TPR: same register, no error
    expect(readEsr(v)).toBe(0);
  });

  it('offsets outside the page, fractions and NaN are refused without touching state', () => {
    const { v } = enabled();
    for (const off of [-16, 0x1000, 0x1010, 1.5, Number.NaN, Infinity]) {
      expect(v.readReg(off, 0)).toBe(0);
      expect(v.writeReg(off, 0xff, 0)).toBe(R.VLAPIC_ILLEGAL);
    }
    expect(readEsr(v)).toBe(0);
  });

  it('writes keep only the defined bits: TPR 7:0, LDR 31:24, DFR model, SVR 9:0, DCR 3,1,0, LVT per entry', () => {
    const { v } = enabled();
    v.writeReg(R.APIC_OFF_TPR, 0xffffffff, 0);
    expect(v.readReg(R.APIC_OFF_TPR, 0)).toBe(0xff);
    v.writeReg(R.APIC_OFF_LDR, 0xffffffff, 0);
    expect(v.readReg(R.APIC_OFF_LDR, 0)).toBe(0xff000000);
    v.writeReg(R.APIC_OFF_DFR, 0x00000000, 0);
    expect(v.readReg(R.APIC_OFF_DFR, 0)).toBe(0x0fffffff);
    v.writeReg(R.APIC_OFF_SVR, 0xffffffff, 0);
    expect(v.readReg(R.APIC_OFF_SVR, 0)).toBe(0x3ff);
    v.writeReg(R.APIC_OFF_TIMER_DCR, 0xffffffff, 0);
    expect(v.readReg(R.APIC_OFF_TIMER_DCR, 0)).toBe(0xb);
    // timer: vector, mask, mode (no delivery mode, DS read-only)
    v.writeReg(R.APIC_OFF_LVT_TIMER, 0xffffffff, 0);
    expect(v.readReg(R.APIC_OFF_LVT_TIMER, 0)).toBe(0x700ff);
    // LINT0: vector, mode, polarity, trigger, mask (DS and remote IRR read-only)
    v.writeReg(R.APIC_OFF_LVT_LINT0, 0xffffffff, 0);
    expect(v.readReg(R.APIC_OFF_LVT_LINT0, 0)).toBe(0x1a7ff);
    v.writeReg(R.APIC_OFF_LVT_ERROR, 0xffffffff, 0);
    expect(v.readReg(R.APIC_OFF_LVT_ERROR, 0)).toBe(0x100ff);
    v.writeReg(R.APIC_OFF_LVT_CMCI, 0xffffffff, 0);
    expect(v.readReg(R.APIC_OFF_LVT_CMCI, 0)).toBe(0x107ff);
    v.writeReg(R.APIC_OFF_LVT_PERF, 0x12345, 0);
    expect(v.readReg(R.APIC_OFF_LVT_PERF, 0)).toBe(0x10345);
  });

  it('a value past 32 bits is taken modulo 2^32, a fraction dropped', () => {
    const { v } = enabled();
    v.writeReg(R.APIC_OFF_TPR, 0x100000000 + 0x35, 0);
    expect(v.readReg(R.APIC_OFF_TPR, 0)).toBe(0x35);
    v.writeReg(R.APIC_OFF_TPR, 71.9, 0);
    expect(v.readReg(R.APIC_OFF_TPR, 0)).toBe(0x47);
    v.writeReg(R.APIC_OFF_TPR, -1, 0);
    expect(v.readReg(R.APIC_OFF_TPR, 0)).toBe(0xff);
  });
});

describe('TPR, ISRV and PPR (SDM 11.8.3.1)', () => {
  // [TPR, vector in service or 0, PPR]
  const cases: [number, number, number][] = [
    [0x00, 0, 0x00],
    [0x2f, 0, 0x2f],
    [0x20, 0x31, 0x30], // TPR class 2 < ISRV class 3: ISRV & 0xF0
    [0x35, 0x31, 0x35], // same class: TPR
    [0x3f, 0x3a, 0x3f],
    [0x4f, 0x31, 0x4f], // TPR class above
    [0x10, 0xfe, 0xf0],
    [0xff, 0xfe, 0xff],
  ];
  for (const [tpr, isrv, ppr] of cases) {
    it(`TPR ${tpr.toString(16)} ISRV ${isrv.toString(16)} -> PPR ${ppr.toString(16)}`, () => {
      const { v } = enabled();
      if (isrv !== 0) inService(v, isrv);
      v.writeReg(R.APIC_OFF_TPR, tpr, 0);
      expect(v.readReg(R.APIC_OFF_PPR, 0)).toBe(ppr);
    });
  }

  it('CR8 is TPR[7:4]', () => {
    const { v } = enabled();
    v.writeCr8(0x9);
    expect(v.readReg(R.APIC_OFF_TPR, 0)).toBe(0x90);
    expect(v.readReg(R.APIC_OFF_PPR, 0)).toBe(0x90);
    v.writeReg(R.APIC_OFF_TPR, 0x5c, 0);
    expect(v.cr8()).toBe(5);
  });
});

describe('acceptance and priority (SDM 11.8.3, 11.8.4)', () => {
  it('the highest class goes first; a class equal to PPR waits', () => {
    const { v, sink } = enabled();
    for (const vec of [0x41, 0x92, 0x65]) expect(v.acceptIrq(vec, false)).toBe(true);
    expect(sink.kicks).toBe(3);
    expect(v.readReg(0x200 + 2 * 16, 0)).toBe(0x00000002); // 0x41: IRR2 bit 1
    expect(v.readReg(0x200 + 4 * 16, 0)).toBe(0x00040000); // 0x92: IRR4 bit 18
    expect(v.readReg(0x200 + 3 * 16, 0)).toBe(0x00000020); // 0x65: IRR3 bit 5
    expect(v.pendingVector()).toBe(0x92);
    expect(v.ackVector(0x92)).toBe(true);
    expect(v.readReg(0x100 + 4 * 16, 0)).toBe(0x00040000);
    expect(v.readReg(R.APIC_OFF_PPR, 0)).toBe(0x90);
    expect(v.pendingVector()).toBe(-1);
    v.writeReg(R.APIC_OFF_EOI, 0, 0);
    expect(v.pendingVector()).toBe(0x65);
  });

  it('two vectors of one class: the higher first, the other waits for its EOI', () => {
    const { v } = enabled();
    v.acceptIrq(0x31, false);
    v.acceptIrq(0x35, false);
    expect(v.pendingVector()).toBe(0x35);
    v.ackVector(0x35);
    expect(v.pendingVector()).toBe(-1); // 0x31 is class 3, PPR 0x30
    v.writeReg(R.APIC_OFF_EOI, 0, 0);
    expect(v.pendingVector()).toBe(0x31);
  });

  it('TPR masks every class at or below its own', () => {
    const { v } = enabled();
    v.writeReg(R.APIC_OFF_TPR, 0x50, 0);
    v.acceptIrq(0x45, false);
    expect(v.pendingVector()).toBe(-1);
    v.acceptIrq(0x50, false);
    expect(v.pendingVector()).toBe(-1); // class 5 is not above 5
    v.acceptIrq(0x61, false);
    expect(v.pendingVector()).toBe(0x61);
    v.ackVector(0x61);
    v.writeReg(R.APIC_OFF_EOI, 0, 0);
    v.writeReg(R.APIC_OFF_TPR, 0x40, 0);
    expect(v.pendingVector()).toBe(0x50);
    v.writeReg(R.APIC_OFF_TPR, 0x3f, 0);
    expect(v.pendingVector()).toBe(0x50);
  });

  it('an interrupt already pending coalesces; ackVector refuses what is not pending', () => {
    const { v, sink } = enabled();
    expect(v.acceptIrq(0x40, false)).toBe(true);
    expect(v.acceptIrq(0x40, false)).toBe(false);
    expect(sink.kicks).toBe(1);
    expect(v.ackVector(0x41)).toBe(false);
    expect(v.ackVector(5)).toBe(false);
    expect(v.ackVector(256)).toBe(false);
    expect(v.ackVector(0x40)).toBe(true);
    expect(v.ackVector(0x40)).toBe(false);
  });

  it('vectors 16-31 are deliverable (class 1)', () => {
    const { v } = enabled();
    v.acceptIrq(0x10, false);
    expect(v.readReg(0x200, 0)).toBe(0x00010000);
    expect(v.pendingVector()).toBe(0x10);
  });

  it('vectors 0-15 are illegal: "received illegal vector" (ESR bit 6), never in IRR', () => {
    const { v, sink } = enabled();
    expect(v.acceptIrq(5, false)).toBe(false);
    expect(v.acceptIrq(15, true)).toBe(false);
    expect(v.readReg(0x200, 0)).toBe(0);
    expect(sink.kicks).toBe(0);
    expect(readEsr(v)).toBe(0x40);
  });

  it('an unmasked error LVT raises its vector on an error', () => {
    const { v } = enabled();
    v.writeReg(R.APIC_OFF_LVT_ERROR, 0xee, 0);
    v.acceptIrq(3, false);
    expect(v.pendingVector()).toBe(0xee);
    expect(readEsr(v)).toBe(0x40);
  });

  it('a globally disabled APIC or a bad vector number takes nothing', () => {
    const { v } = enabled();
    for (const vec of [256, -1, 1.5, Number.NaN]) expect(v.acceptIrq(vec, false)).toBe(false);
    expect(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00000, 0)).toBe(R.VLAPIC_OK);
    expect(v.mode).toBe(R.VLAPIC_MODE_DISABLED);
    expect(v.acceptIrq(0x40, false)).toBe(false);
    expect(v.pendingVector()).toBe(-1);
  });
});

describe('EOI (SDM 11.8.5)', () => {
  it('nested: the highest in-service vector is cleared first and PPR drops back', () => {
    const { v } = enabled();
    inService(v, 0x40);
    expect(v.readReg(R.APIC_OFF_PPR, 0)).toBe(0x40);
    inService(v, 0x80);
    expect(v.readReg(0x100 + 2 * 16, 0)).toBe(0x00000001); // 0x40
    expect(v.readReg(0x100 + 4 * 16, 0)).toBe(0x00000001); // 0x80
    expect(v.readReg(R.APIC_OFF_PPR, 0)).toBe(0x80);
    v.writeReg(R.APIC_OFF_EOI, 0, 0);
    expect(v.readReg(0x100 + 4 * 16, 0)).toBe(0);
    expect(v.readReg(0x100 + 2 * 16, 0)).toBe(1);
    expect(v.readReg(R.APIC_OFF_PPR, 0)).toBe(0x40);
    v.writeReg(R.APIC_OFF_EOI, 0, 0);
    expect(v.readReg(R.APIC_OFF_PPR, 0)).toBe(0);
    v.writeReg(R.APIC_OFF_TPR, 0x20, 0);
    v.writeReg(R.APIC_OFF_EOI, 0, 0); // nothing in service: no effect
    expect(v.readReg(R.APIC_OFF_PPR, 0)).toBe(0x20);
  });

  it('a level-triggered vector calls sink.eoiLevel once with its vector; an edge one does not', () => {
    const { v, sink } = enabled();
    inService(v, 0x50, true);
    expect(v.readReg(0x180 + 2 * 16, 0)).toBe(0x00010000); // TMR: 0x50 is word 2 bit 16
    inService(v, 0x61, false);
    v.writeReg(R.APIC_OFF_EOI, 0, 0); // 0x61, edge
    expect(sink.eoiLevels).toEqual([]);
    v.writeReg(R.APIC_OFF_EOI, 0, 0); // 0x50, level
    expect(sink.eoiLevels).toEqual([0x50]);
    v.writeReg(R.APIC_OFF_EOI, 0, 0);
    expect(sink.eoiLevels).toEqual([0x50]);
  });

  it('accepting a vector again as edge clears its TMR bit', () => {
    const { v, sink } = enabled();
    inService(v, 0x50, true);
    v.writeReg(R.APIC_OFF_EOI, 0, 0);
    inService(v, 0x50, false);
    expect(v.readReg(0x180 + 2 * 16, 0)).toBe(0);
    v.writeReg(R.APIC_OFF_EOI, 0, 0);
    expect(sink.eoiLevels).toEqual([0x50]);
  });
});

describe('ESR write-then-read (SDM 11.5.3)', () => {
  it('errors become visible only after a write, which also clears them', () => {
    const { v } = enabled();
    v.acceptIrq(1, false);
    expect(v.readReg(R.APIC_OFF_ESR, 0)).toBe(0); // not latched yet
    v.writeReg(R.APIC_OFF_ESR, 0xffffffff, 0); // the value written does not matter
    expect(v.readReg(R.APIC_OFF_ESR, 0)).toBe(0x40);
    v.writeReg(R.APIC_OFF_ICR_LO, 0x00000007, 0); // fixed IPI, vector 7
    expect(v.readReg(R.APIC_OFF_ESR, 0)).toBe(0x40);
    v.writeReg(R.APIC_OFF_ESR, 0, 0);
    expect(v.readReg(R.APIC_OFF_ESR, 0)).toBe(0x20); // send illegal vector
    v.writeReg(R.APIC_OFF_ESR, 0, 0);
    expect(v.readReg(R.APIC_OFF_ESR, 0)).toBe(0);
  });
});

describe('ICR (SDM 11.6.1)', () => {
  // [ICR high, ICR low, expected bus call or null]: [mode, vector, level, trigger, shorthand, destMode, dest]
  const cases: [string, number, number, number[] | null][] = [
    ['fixed, physical', 0x05000000, 0x000040f1, [0, 0xf1, 1, 0, 0, 0, 5]],
    ['lowest priority, logical', 0x0f000000, 0x00000931, [1, 0x31, 0, 0, 0, 1, 0x0f]],
    ['SMI: ignored', 0x01000000, 0x00000200, null],
    ['NMI', 0x02000000, 0x00004400, [4, 0, 1, 0, 0, 0, 2]],
    ['INIT assert, level', 0x02000000, 0x0000c500, [5, 0, 1, 1, 0, 0, 2]],
    ['INIT de-assert: ignored', 0x00000000, 0x00008500, null],
    ['start-up', 0x03000000, 0x00004699, [6, 0x99, 1, 0, 0, 0, 3]],
    ['mode 3: reserved', 0x01000000, 0x00000340, null],
    ['ExtINT: refused', 0x01000000, 0x00000740, null],
    ['fixed to self', 0, 0x00040040, [0, 0x40, 0, 0, 1, 0, 0]],
    ['NMI to self: invalid', 0, 0x00040400, null],
    ['fixed to all including self', 0, 0x00080050, [0, 0x50, 0, 0, 2, 0, 0]],
    ['INIT to all including self: invalid', 0, 0x00084500, null],
    ['INIT to all excluding self', 0, 0x000c4500, [5, 0, 1, 0, 3, 0, 0]],
    ['start-up to all excluding self', 0, 0x000c4608, [6, 0x08, 1, 0, 3, 0, 0]],
    ['lowest priority to all excluding self', 0, 0x000c0160, [1, 0x60, 0, 0, 3, 0, 0]],
    ['fixed vector 15: send illegal vector', 0x01000000, 0x0000000f, null],
    ['broadcast destination 0xFF', 0xff000000, 0x00000070, [0, 0x70, 0, 0, 0, 0, 0xff]],
  ];
  for (const [name, hi, lo, want] of cases) {
    it(name, () => {
      const { v, bus } = enabled(1);
      expect(v.writeReg(R.APIC_OFF_ICR_HI, hi, 0)).toBe(R.VLAPIC_OK);
      expect(v.writeReg(R.APIC_OFF_ICR_LO, lo, 0)).toBe(R.VLAPIC_OK);
      expect(bus.calls).toEqual(want === null ? [] : [want]);
      if (want !== null) expect(bus.senders[0]).toBe(v);
      expect(readEsr(v)).toBe(name.includes('illegal') ? 0x20 : 0);
    });
  }

  it('reads back without the delivery-status bit (idle); ICR high keeps bits 31:24', () => {
    const { v } = enabled();
    v.writeReg(R.APIC_OFF_ICR_HI, 0x12345678, 0);
    expect(v.readReg(R.APIC_OFF_ICR_HI, 0)).toBe(0x12000000);
    v.writeReg(R.APIC_OFF_ICR_LO, 0xffffffff, 0); // ExtINT: nothing sent
    expect(v.readReg(R.APIC_OFF_ICR_LO, 0)).toBe(0x000ccfff);
    v.writeReg(R.APIC_OFF_ICR_LO, 0x00001040, 0);
    expect(v.readReg(R.APIC_OFF_ICR_LO, 0)).toBe(0x00000040);
  });

  it('an IPI sent while software disabled still goes out (SDM 11.4.7.2)', () => {
    const { v, bus } = make(0);
    v.writeReg(R.APIC_OFF_ICR_HI, 0x01000000, 0);
    v.writeReg(R.APIC_OFF_ICR_LO, 0x00004500, 0);
    expect(bus.calls).toEqual([[5, 0, 1, 0, 0, 0, 1]]);
  });
});

describe('destinations (SDM 11.6.2, 11.12.10)', () => {
  it('physical xAPIC: the 8-bit ID; 0xFF is broadcast', () => {
    const { v } = make(5);
    expect(matchesDestination(v, R.DEST_PHYSICAL, 5, false)).toBe(true);
    expect(matchesDestination(v, R.DEST_PHYSICAL, 6, false)).toBe(false);
    expect(matchesDestination(v, R.DEST_PHYSICAL, 0xff, false)).toBe(true);
    expect(matchesDestination(v, R.DEST_LOGICAL, 0xff, false)).toBe(true);
  });

  it('logical flat (DFR 0xFFFFFFFF): LDR[31:24] & dest', () => {
    const { v } = enabled();
    v.writeReg(R.APIC_OFF_LDR, 0x04000000, 0);
    expect(matchesDestination(v, R.DEST_LOGICAL, 0x04, false)).toBe(true);
    expect(matchesDestination(v, R.DEST_LOGICAL, 0x0c, false)).toBe(true);
    expect(matchesDestination(v, R.DEST_LOGICAL, 0x03, false)).toBe(false);
    expect(matchesDestination(v, R.DEST_PHYSICAL, 0x04, false)).toBe(false); // ID is 0
  });

  it('logical cluster (DFR 0x0FFFFFFF): cluster LDR[31:28] == dest[7:4], LDR[27:24] & dest[3:0]', () => {
    const { v } = enabled();
    v.writeReg(R.APIC_OFF_DFR, 0x0fffffff, 0);
    v.writeReg(R.APIC_OFF_LDR, 0x21000000, 0);
    expect(matchesDestination(v, R.DEST_LOGICAL, 0x21, false)).toBe(true);
    expect(matchesDestination(v, R.DEST_LOGICAL, 0x23, false)).toBe(true);
    expect(matchesDestination(v, R.DEST_LOGICAL, 0x11, false)).toBe(false);
    expect(matchesDestination(v, R.DEST_LOGICAL, 0x22, false)).toBe(false);
    expect(matchesDestination(v, R.DEST_LOGICAL, 0xff, false)).toBe(true);
  });

  it('an undefined DFR model matches nothing in logical mode', () => {
    const { v } = enabled();
    v.writeReg(R.APIC_OFF_DFR, 0x50000000, 0);
    v.writeReg(R.APIC_OFF_LDR, 0xff000000, 0);
    expect(v.readReg(R.APIC_OFF_DFR, 0)).toBe(0x5fffffff);
    expect(matchesDestination(v, R.DEST_LOGICAL, 0x0f, false)).toBe(false);
  });

  it('x2APIC: logical ID derived from the ID, cluster in 31:16; 32-bit physical ID; 0xFFFFFFFF broadcast', () => {
    const { v } = enabled(0x23);
    toX2apic(v);
    expect(v.ldr).toBe(0x00020008); // cluster 2, 1 << 3
    expect(vlapicX2apicLdr(0x12345)).toBe(0x12340020);
    expect(matchesDestination(v, R.DEST_LOGICAL, 0x00020008, true)).toBe(true);
    expect(matchesDestination(v, R.DEST_LOGICAL, 0x0002000c, true)).toBe(true);
    expect(matchesDestination(v, R.DEST_LOGICAL, 0x00010008, true)).toBe(false);
    expect(matchesDestination(v, R.DEST_LOGICAL, 0x00020004, true)).toBe(false);
    expect(matchesDestination(v, R.DEST_PHYSICAL, 0x23, true)).toBe(true);
    expect(matchesDestination(v, R.DEST_PHYSICAL, 0x123, true)).toBe(false);
    expect(matchesDestination(v, R.DEST_PHYSICAL, 0xffffffff, true)).toBe(true);
    expect(matchesDestination(v, R.DEST_LOGICAL, 0xffffffff, true)).toBe(true);
    expect(matchesDestination(v, R.DEST_PHYSICAL, 0xff, true)).toBe(false); // only 0xFFFFFFFF in x2APIC format
  });

  it('a globally disabled APIC matches nothing, broadcast included', () => {
    const { v } = make(1);
    v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00000, 0);
    expect(matchesDestination(v, R.DEST_PHYSICAL, 0xff, false)).toBe(false);
    expect(matchesDestination(v, R.DEST_PHYSICAL, 1, false)).toBe(false);
  });

  it('shorthands: self, all including self, all excluding self', () => {
    const a = make(0).v;
    const b = make(1).v;
    expect(vlapicIsIpiTarget(a, a, R.SHORTHAND_SELF, 0, 0)).toBe(true);
    expect(vlapicIsIpiTarget(b, a, R.SHORTHAND_SELF, 0, 0)).toBe(false);
    expect(vlapicIsIpiTarget(a, a, R.SHORTHAND_ALL_INCLUDING_SELF, 0, 0)).toBe(true);
    expect(vlapicIsIpiTarget(b, a, R.SHORTHAND_ALL_INCLUDING_SELF, 0, 0)).toBe(true);
    expect(vlapicIsIpiTarget(a, a, R.SHORTHAND_ALL_EXCLUDING_SELF, 0, 0)).toBe(false);
    expect(vlapicIsIpiTarget(b, a, R.SHORTHAND_ALL_EXCLUDING_SELF, 0, 0)).toBe(true);
    expect(vlapicIsIpiTarget(b, a, R.SHORTHAND_NONE, R.DEST_PHYSICAL, 1)).toBe(true);
    expect(vlapicIsIpiTarget(a, a, R.SHORTHAND_NONE, R.DEST_PHYSICAL, 1)).toBe(false);
  });
});

/** A VM of `n` software-enabled vLAPICs with flat logical IDs 1 << i, on a VmBus. */
function vm(n: number): { bus: VmBus; sinks: RecordingSink[] } {
  const bus = new VmBus();
  const sinks: RecordingSink[] = [];
  for (let i = 0; i < n; i++) {
    const sink = new RecordingSink();
    const v = new Vlapic(i, sink, bus, 1);
    v.writeReg(R.APIC_OFF_SVR, 0x1ff, 0);
    v.writeReg(R.APIC_OFF_LDR, (1 << i) * 0x1000000, 0);
    bus.vlapics.push(v);
    sinks.push(sink);
  }
  return { bus, sinks };
}

describe('lowest priority and delivery over a VM', () => {
  it('picks the lowest PPR; a tie goes to the lowest index; disabled APICs are skipped', () => {
    const { bus } = vm(3);
    const [a, b, c] = bus.vlapics;
    a.writeReg(R.APIC_OFF_TPR, 0x30, 0);
    b.writeReg(R.APIC_OFF_TPR, 0x10, 0);
    c.writeReg(R.APIC_OFF_TPR, 0x10, 0);
    expect(vlapicLowestPriority(bus.vlapics, 3, a, R.SHORTHAND_NONE, R.DEST_LOGICAL, 0x07)).toBe(1);
    expect(vlapicLowestPriority(bus.vlapics, 3, a, R.SHORTHAND_NONE, R.DEST_LOGICAL, 0x05)).toBe(2);
    c.writeReg(R.APIC_OFF_TPR, 0x00, 0);
    expect(vlapicLowestPriority(bus.vlapics, 3, a, R.SHORTHAND_NONE, R.DEST_LOGICAL, 0x07)).toBe(2);
    c.writeReg(R.APIC_OFF_SVR, 0xff, 0);
    expect(vlapicLowestPriority(bus.vlapics, 3, a, R.SHORTHAND_NONE, R.DEST_LOGICAL, 0x07)).toBe(1);
    expect(vlapicLowestPriority(bus.vlapics, 3, a, R.SHORTHAND_NONE, R.DEST_LOGICAL, 0x08)).toBe(-1);
    expect(vlapicLowestPriority(bus.vlapics, 3, a, R.SHORTHAND_ALL_EXCLUDING_SELF, 0, 0)).toBe(1);
  });

  it('a lowest-priority IPI reaches one vLAPIC, a fixed one every match', () => {
    const { bus } = vm(3);
    const [a, b, c] = bus.vlapics;
    a.writeReg(R.APIC_OFF_TPR, 0x20, 0);
    c.writeReg(R.APIC_OFF_TPR, 0x20, 0);
    a.writeReg(R.APIC_OFF_ICR_HI, 0x07000000, 0);
    a.writeReg(R.APIC_OFF_ICR_LO, 0x00000945, 0); // lowest priority, logical, vector 0x45
    expect([a.highestIrr(), b.highestIrr(), c.highestIrr()]).toEqual([-1, 0x45, -1]);
    a.writeReg(R.APIC_OFF_ICR_HI, 0x06000000, 0);
    a.writeReg(R.APIC_OFF_ICR_LO, 0x00000846, 0); // fixed, logical 0x06: b and c
    expect([a.highestIrr(), b.highestIrr(), c.highestIrr()]).toEqual([-1, 0x46, 0x46]);
    a.writeReg(R.APIC_OFF_ICR_LO, 0x00080047, 0); // all including self
    expect([a.highestIrr(), b.highestIrr(), c.highestIrr()]).toEqual([0x47, 0x47, 0x47]);
  });

  it('INIT, start-up and NMI IPIs reach the target sinks, software disabled or not', () => {
    const { bus, sinks } = vm(3);
    const [a, , c] = bus.vlapics;
    c.writeReg(R.APIC_OFF_SVR, 0xff, 0);
    a.writeReg(R.APIC_OFF_ICR_LO, 0x000c4500, 0); // INIT to all excluding self
    a.writeReg(R.APIC_OFF_ICR_LO, 0x000c4699, 0); // SIPI 0x99 to all excluding self
    a.writeReg(R.APIC_OFF_ICR_HI, 0x02000000, 0);
    a.writeReg(R.APIC_OFF_ICR_LO, 0x00004400, 0); // NMI to ID 2
    expect(sinks.map((s) => [s.inits, s.sipis.length, s.nmis])).toEqual([[0, 0, 0], [1, 1, 0], [1, 1, 1]]);
    expect(sinks[1].sipis).toEqual([0x99]);
  });

  it('I/O APIC / MSI messages: level-triggered sets TMR, lowest priority picks one, ExtINT only when enabled', () => {
    const { bus, sinks } = vm(2);
    const [a, b] = bus.vlapics;
    expect(vlapicDeliverMessage(bus.vlapics, 2, R.DEST_PHYSICAL, 1, false, R.DM_FIXED, 0x61, true)).toBe(1);
    expect(b.readReg(0x180 + 3 * 16, 0)).toBe(0x00000002);
    expect(vlapicDeliverMessage(bus.vlapics, 2, R.DEST_LOGICAL, 0x03, false, R.DM_LOWEST, 0x62, false)).toBe(1);
    expect([a.highestIrr(), b.highestIrr()]).toEqual([0x62, 0x61]);
    b.writeReg(R.APIC_OFF_SVR, 0xff, 0);
    expect(vlapicDeliverMessage(bus.vlapics, 2, R.DEST_PHYSICAL, 0xff, false, R.DM_EXTINT, 0, false)).toBe(2);
    expect([sinks[0].extInts, sinks[1].extInts]).toEqual([1, 0]);
    expect(vlapicDeliverMessage(bus.vlapics, 2, R.DEST_PHYSICAL, 0xff, false, R.DM_STARTUP, 0x10, false)).toBe(0);
  });
});

describe('x2APIC MSRs (SDM 11.12)', () => {
  it('MSR 0x800 + offset/16 reads the registers; ICR is one 64-bit MSR 0x830', () => {
    const { v, bus } = enabled(0x23);
    toX2apic(v);
    const read = (msr: number): number[] => {
      expect(v.msrRead(msr, 0)).toBe(R.VLAPIC_OK);
      return [v.msrHi, v.msrLo];
    };
    expect(read(0x802)).toEqual([0, 0x23]);
    expect(read(0x803)).toEqual([0, 0x00060010]);
    expect(read(0x80d)).toEqual([0, 0x00020008]);
    expect(read(0x80f)).toEqual([0, 0x1ff]);
    expect(v.msrWrite(0x808, 0, 0x45, 0)).toBe(R.VLAPIC_OK);
    expect(read(0x808)).toEqual([0, 0x45]);
    expect(read(0x80a)).toEqual([0, 0x45]);
    expect(v.msrWrite(0x830, 3, 0x00000040, 0)).toBe(R.VLAPIC_OK);
    expect(bus.calls).toEqual([[0, 0x40, 0, 0, 0, 0, 3]]);
    expect(read(0x830)).toEqual([3, 0x40]);
    expect(v.msrWrite(0x830, 0xffffffff, 0x00000841, 0)).toBe(R.VLAPIC_OK); // logical broadcast
    expect(bus.calls[1]).toEqual([0, 0x41, 0, 0, 0, 1, 0xffffffff]);
    v.acceptIrq(0x81, true);
    expect(read(0x824)).toEqual([0, 0x00000002]); // IRR4
    expect(read(0x81c)).toEqual([0, 0x00000002]); // TMR4
    expect(v.msrWrite(0x838, 0, 1000, 0)).toBe(R.VLAPIC_OK);
    expect(read(0x838)).toEqual([0, 1000]);
    expect(read(0x839)).toEqual([0, 1000]);
    expect(v.msrWrite(0x83e, 0, 0xb, 0)).toBe(R.VLAPIC_OK);
    expect(read(0x83e)).toEqual([0, 0xb]);
  });

  it('#GP: read-only writes, write-only reads, reserved MSRs, bits 63:32, reserved bits, EOI/ESR non-zero', () => {
    const { v } = enabled(1);
    toX2apic(v);
    for (const msr of [0x802, 0x803, 0x80a, 0x80d, 0x810, 0x817, 0x818, 0x820, 0x827, 0x839]) {
      expect([msr, v.msrWrite(msr, 0, 0, 0)]).toEqual([msr, R.VLAPIC_GP]);
    }
    for (const msr of [0x80b, 0x83f]) expect([msr, v.msrRead(msr, 0)]).toEqual([msr, R.VLAPIC_GP]);
    for (const msr of [0x800, 0x801, 0x804, 0x807, 0x809, 0x80c, 0x80e, 0x829, 0x82e, 0x831, 0x83a, 0x83d, 0x840, 0x8ff, 0xbff]) {
      expect([msr, v.msrRead(msr, 0), v.msrWrite(msr, 0, 0, 0)]).toEqual([msr, R.VLAPIC_GP, R.VLAPIC_GP]);
    }
    const gp: [number, number, number][] = [
      [0x808, 1, 0], // high half of a 32-bit register
      [0x808, 0, 0x100], // TPR bits 31:8
      [0x80b, 0, 1], // EOI non-zero
      [0x828, 0, 1], // ESR non-zero
      [0x80f, 0, 0x1000], // SVR bit 12: EOI-broadcast suppression not offered
      [0x832, 0, 0x80000], // LVT timer bit 19
      [0x835, 0, 0x800], // LINT0 bit 11
      [0x837, 0, 0x400], // error LVT has no delivery mode
      [0x830, 0, 0x1000], // ICR bit 12: no delivery status in x2APIC
      [0x830, 0, 0x2000], // ICR bit 13
      [0x830, 0, 0x100000], // ICR bit 20
      [0x83e, 0, 0x4], // DCR bit 2
      [0x83f, 0, 0x140], // SELF IPI bits 31:8
    ];
    for (const [msr, hi, lo] of gp) expect([msr, hi, lo, v.msrWrite(msr, hi, lo, 0)]).toEqual([msr, hi, lo, R.VLAPIC_GP]);
    expect(v.msrWrite(0x80b, 0, 0, 0)).toBe(R.VLAPIC_OK);
    expect(v.msrWrite(0x828, 0, 0, 0)).toBe(R.VLAPIC_OK);
    expect(v.msrWrite(0x835, 0, 0x1f7ff, 0)).toBe(R.VLAPIC_OK); // DS and remote IRR are defined, read-only
    v.msrRead(0x835, 0);
    expect(v.msrLo).toBe(0x1a7ff);
    expect(v.msrRead(0x12345, 0)).toBe(R.VLAPIC_GP);
    expect(v.msrRead(Number.NaN, 0)).toBe(R.VLAPIC_GP);
  });

  it('SELF IPI (0x83F) sets IRR on this APIC; vectors 0-15 log "send illegal vector"', () => {
    const { v, bus } = enabled();
    toX2apic(v);
    expect(v.msrWrite(0x83f, 0, 0x55, 0)).toBe(R.VLAPIC_OK);
    expect(v.pendingVector()).toBe(0x55);
    expect(bus.calls).toEqual([]);
    expect(v.msrWrite(0x83f, 0, 0x03, 0)).toBe(R.VLAPIC_OK);
    v.msrWrite(0x828, 0, 0, 0);
    v.msrRead(0x828, 0);
    expect(v.msrLo).toBe(0x20);
  });

  it('in xAPIC mode every x2APIC MSR faults; in x2APIC mode the MMIO page reads 0 and ignores writes', () => {
    const { v } = enabled(4);
    expect(v.msrRead(0x802, 0)).toBe(R.VLAPIC_GP);
    expect(v.msrWrite(0x808, 0, 0, 0)).toBe(R.VLAPIC_GP);
    toX2apic(v);
    expect(v.readReg(R.APIC_OFF_ID, 0)).toBe(0);
    expect(v.writeReg(R.APIC_OFF_TPR, 0x40, 0)).toBe(R.VLAPIC_IGNORED);
    v.msrRead(0x808, 0);
    expect(v.msrLo).toBe(0);
  });

  it('IA32_APIC_BASE transitions (SDM Figure 11-27): the invalid ones fault', () => {
    const { v } = enabled(2);
    expect(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00400, 0)).toBe(R.VLAPIC_GP); // EXTD without EN
    expect(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00801, 0)).toBe(R.VLAPIC_GP); // reserved bit 0
    expect(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00a00, 0)).toBe(R.VLAPIC_GP); // reserved bit 9
    toX2apic(v);
    expect(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00800, 0)).toBe(R.VLAPIC_GP); // x2APIC -> xAPIC
    expect(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00000, 0)).toBe(R.VLAPIC_OK); // -> disabled
    expect(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00c00, 0)).toBe(R.VLAPIC_GP); // disabled -> x2APIC
    expect(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00800, 0)).toBe(R.VLAPIC_OK); // -> xAPIC
    expect(v.readReg(R.APIC_OFF_SVR, 0)).toBe(0xff); // disabling reset the state
    expect(v.readReg(R.APIC_OFF_ID, 0)).toBe(0x02000000);
    v.msrRead(R.MSR_IA32_APIC_BASE, 0);
    expect(v.msrLo).toBe(0xfee00800);
  });

  it('INIT keeps the APIC ID and x2APIC mode and resets the rest', () => {
    const { v } = enabled(0x31);
    toX2apic(v);
    v.msrWrite(0x808, 0, 0x20, 0);
    v.initReset();
    expect(v.mode).toBe(R.VLAPIC_MODE_X2APIC);
    v.msrRead(0x802, 0);
    expect(v.msrLo).toBe(0x31);
    v.msrRead(0x80d, 0);
    expect(v.msrLo).toBe(0x00030002);
    v.msrRead(0x808, 0);
    expect(v.msrLo).toBe(0);
    v.msrRead(0x80f, 0);
    expect(v.msrLo).toBe(0xff);
  });
});

describe('timer (SDM 11.5.4)', () => {
  const DIVIDES: [number, number][] = [[0x0, 2], [0x1, 4], [0x2, 8], [0x3, 16], [0x8, 32], [0x9, 64], [0xa, 128], [0xb, 1]];
  for (const [dcr, divisor] of DIVIDES) {
    it(`one-shot, DCR ${dcr.toString(16)} (divide by ${divisor}): fires once at now + count * ${divisor} * tscPerBusTick`, () => {
      const { v } = enabled(0, 3);
      const t0 = 1_000_000;
      const due = t0 + 1000 * divisor * 3;
      v.writeReg(R.APIC_OFF_LVT_TIMER, 0x30, t0);
      v.writeReg(R.APIC_OFF_TIMER_DCR, dcr, t0);
      v.writeReg(R.APIC_OFF_TIMER_ICR, 1000, t0);
      expect(v.timerDeadline()).toBe(due);
      expect(v.timerExpire(due - 1)).toBe(false);
      expect(v.pendingVector()).toBe(-1);
      expect(v.timerExpire(due)).toBe(true);
      expect(v.pendingVector()).toBe(0x30);
      expect(v.timerDeadline()).toBe(0);
      expect(v.timerExpire(due + 10 * divisor * 3 * 1000)).toBe(false);
      expect(v.readReg(R.APIC_OFF_TIMER_CCR, due + 5)).toBe(0);
      expect(v.readReg(R.APIC_OFF_TIMER_ICR, due + 5)).toBe(1000);
    });
  }

  it('periodic: re-arms and fires once per period over an interval', () => {
    const { v } = enabled();
    const t0 = 5000;
    v.writeReg(R.APIC_OFF_LVT_TIMER, 0x20000 | 0x40, t0); // periodic, vector 0x40
    v.writeReg(R.APIC_OFF_TIMER_DCR, 0xb, t0); // divide by 1
    v.writeReg(R.APIC_OFF_TIMER_ICR, 100, t0);
    const fired: number[] = [];
    for (;;) {
      const due = v.timerDeadline();
      if (due === 0 || due > t0 + 1050) break;
      expect(v.timerExpire(due)).toBe(true);
      fired.push(due);
      expect(v.pendingVector()).toBe(0x40);
      v.ackVector(0x40);
      v.writeReg(R.APIC_OFF_EOI, 0, due);
    }
    expect(fired).toEqual([5100, 5200, 5300, 5400, 5500, 5600, 5700, 5800, 5900, 6000]);
    expect(v.timerDeadline()).toBe(6100);
  });

  it('periodic: expiries missed in between coalesce into one', () => {
    const { v, sink } = enabled();
    v.writeReg(R.APIC_OFF_LVT_TIMER, 0x20000 | 0x40, 0);
    v.writeReg(R.APIC_OFF_TIMER_DCR, 0xb, 0);
    v.writeReg(R.APIC_OFF_TIMER_ICR, 100, 0);
    expect(v.timerExpire(350)).toBe(true);
    expect(sink.kicks).toBe(1);
    expect(v.timerDeadline()).toBe(400);
    expect(v.readReg(R.APIC_OFF_TIMER_CCR, 350)).toBe(50);
  });

  it('the current count counts down one per tick (divide by 2: a tick is 2 TSC cycles)', () => {
    const { v } = enabled();
    const t0 = 10_000;
    v.writeReg(R.APIC_OFF_LVT_TIMER, 0x30, t0);
    v.writeReg(R.APIC_OFF_TIMER_ICR, 1000, t0);
    // [now, CCR]: count = 1000 - floor((now - t0) / 2); 0 once expired (one-shot)
    const want: [number, number][] = [[t0, 1000], [t0 + 1, 1000], [t0 + 2, 999], [t0 + 1001, 500], [t0 + 1999, 1], [t0 + 2000, 0], [t0 + 9999, 0]];
    for (const [now, ccr] of want) expect([now, v.readReg(R.APIC_OFF_TIMER_CCR, now)]).toEqual([now, ccr]);
    v.writeReg(R.APIC_OFF_LVT_TIMER, 0x20030, t0); // periodic: the mode change disarms
    expect(v.timerDeadline()).toBe(0);
    expect(v.readReg(R.APIC_OFF_TIMER_CCR, t0)).toBe(0);
    v.writeReg(R.APIC_OFF_TIMER_ICR, 1000, t0);
    expect(v.readReg(R.APIC_OFF_TIMER_CCR, t0 + 2000)).toBe(1000);
    expect(v.readReg(R.APIC_OFF_TIMER_CCR, t0 + 2002)).toBe(999);
  });

  it('a DCR change keeps the current count and goes on at the new rate', () => {
    const { v } = enabled();
    v.writeReg(R.APIC_OFF_LVT_TIMER, 0x30, 0);
    v.writeReg(R.APIC_OFF_TIMER_ICR, 1000, 0); // divide by 2: due at 2000
    expect(v.readReg(R.APIC_OFF_TIMER_CCR, 500)).toBe(750);
    v.writeReg(R.APIC_OFF_TIMER_DCR, 0x1, 500); // divide by 4
    expect(v.readReg(R.APIC_OFF_TIMER_CCR, 500)).toBe(750);
    expect(v.timerDeadline()).toBe(500 + 750 * 4);
  });

  it('TSC-deadline mode: fires at the written value, then IA32_TSC_DEADLINE reads 0', () => {
    const { v } = enabled();
    v.writeReg(R.APIC_OFF_LVT_TIMER, 0x40000 | 0x50, 100);
    expect(v.msrWrite(R.MSR_IA32_TSC_DEADLINE, 0x1, 0x00001000, 100)).toBe(R.VLAPIC_OK);
    expect(v.timerDeadline()).toBe(0x100001000);
    v.msrRead(R.MSR_IA32_TSC_DEADLINE, 200);
    expect([v.msrHi, v.msrLo]).toEqual([1, 0x1000]);
    v.writeReg(R.APIC_OFF_TIMER_ICR, 1234, 200); // ignored in this mode
    expect(v.readReg(R.APIC_OFF_TIMER_ICR, 200)).toBe(0);
    expect(v.readReg(R.APIC_OFF_TIMER_CCR, 200)).toBe(0);
    expect(v.timerDeadline()).toBe(0x100001000);
    expect(v.timerExpire(0x100000fff)).toBe(false);
    expect(v.timerExpire(0x100001000)).toBe(true);
    expect(v.pendingVector()).toBe(0x50);
    expect(v.timerDeadline()).toBe(0);
    v.msrRead(R.MSR_IA32_TSC_DEADLINE, 0x100001001);
    expect([v.msrHi, v.msrLo]).toEqual([0, 0]);
  });

  it('TSC-deadline: a deadline already passed fires on the write; 0 disarms; other modes ignore the MSR', () => {
    const { v } = enabled();
    v.writeReg(R.APIC_OFF_LVT_TIMER, 0x40000 | 0x50, 0);
    v.msrWrite(R.MSR_IA32_TSC_DEADLINE, 0, 500, 1000);
    expect(v.pendingVector()).toBe(0x50);
    v.msrWrite(R.MSR_IA32_TSC_DEADLINE, 0, 5000, 1000);
    expect(v.timerDeadline()).toBe(5000);
    v.msrWrite(R.MSR_IA32_TSC_DEADLINE, 0, 0, 1000);
    expect(v.timerDeadline()).toBe(0);
    v.msrWrite(R.MSR_IA32_TSC_DEADLINE, 0, 5000, 1000);
    v.writeReg(R.APIC_OFF_LVT_TIMER, 0x50, 1000); // to one-shot: disarms
    expect(v.timerDeadline()).toBe(0);
    expect(v.msrWrite(R.MSR_IA32_TSC_DEADLINE, 0, 7000, 1000)).toBe(R.VLAPIC_OK);
    expect(v.timerDeadline()).toBe(0);
    v.msrRead(R.MSR_IA32_TSC_DEADLINE, 1000);
    expect(v.msrLo).toBe(0);
  });

  it('a masked timer counts but raises nothing', () => {
    const { v, sink } = enabled();
    v.writeReg(R.APIC_OFF_LVT_TIMER, 0x10000 | 0x20000 | 0x30, 0); // masked, periodic
    v.writeReg(R.APIC_OFF_TIMER_ICR, 10, 0);
    expect(v.timerDeadline()).toBe(20);
    expect(v.timerExpire(20)).toBe(true);
    expect(v.timerDeadline()).toBe(40);
    expect(v.pendingVector()).toBe(-1);
    expect(sink.kicks).toBe(0);
    expect(v.readReg(R.APIC_OFF_TIMER_CCR, 25)).toBe(8);
    v.writeReg(R.APIC_OFF_LVT_TIMER, 0x20000 | 0x30, 45); // unmask: the expiry at 40 stays consumed
    expect(v.pendingVector()).toBe(-1);
    expect(v.timerExpire(60)).toBe(true);
    expect(v.pendingVector()).toBe(0x30);
  });

  it('writing initial count 0 stops the timer', () => {
    const { v } = enabled();
    v.writeReg(R.APIC_OFF_LVT_TIMER, 0x30, 0);
    v.writeReg(R.APIC_OFF_TIMER_ICR, 100, 0);
    v.writeReg(R.APIC_OFF_TIMER_ICR, 0, 50);
    expect(v.timerDeadline()).toBe(0);
    expect(v.readReg(R.APIC_OFF_TIMER_CCR, 60)).toBe(0);
    expect(v.timerExpire(1000)).toBe(false);
    expect(v.pendingVector()).toBe(-1);
  });

  it('the largest count with the largest ratio stays exact', () => {
    const { v } = enabled(0, 8192);
    v.writeReg(R.APIC_OFF_TIMER_DCR, 0xa, 0); // divide by 128
    v.writeReg(R.APIC_OFF_TIMER_ICR, 0xffffffff, 7);
    expect(v.timerDeadline()).toBe(7 + 0xffffffff * 128 * 8192);
    expect(v.readReg(R.APIC_OFF_TIMER_CCR, 7 + 128 * 8192)).toBe(0xfffffffe);
  });
});

describe('software disable (SVR bit 8, SDM 11.4.7.2) and LINT pins', () => {
  it('masks every LVT, keeps them masked, refuses fixed interrupts, holds IRR and ISR', () => {
    const { v, sink } = enabled();
    v.acceptIrq(0x70, false);
    inService(v, 0x90);
    v.writeReg(R.APIC_OFF_LVT_LINT0, 0x700, 0);
    v.writeReg(R.APIC_OFF_SVR, 0x0ff, 0);
    for (const off of [0x2f0, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370]) expect(v.readReg(off, 0) & 0x10000).toBe(0x10000);
    expect(v.readReg(R.APIC_OFF_LVT_LINT0, 0)).toBe(0x10700);
    v.writeReg(R.APIC_OFF_LVT_LINT1, 0x400, 0);
    expect(v.readReg(R.APIC_OFF_LVT_LINT1, 0)).toBe(0x10400);
    expect(v.acceptIrq(0x71, false)).toBe(false);
    expect(v.readReg(0x100 + 4 * 16, 0)).toBe(0x10000); // 0x90 (word 4, bit 16) still in service
    v.writeReg(R.APIC_OFF_EOI, 0, 0);
    expect(v.pendingVector()).toBe(0x70); // held IRR still delivered
    expect(v.receive(R.DM_INIT, 0, false)).toBe(true);
    expect(v.receive(R.DM_NMI, 0, false)).toBe(true);
    expect([sink.inits, sink.nmis]).toEqual([1, 1]);
    // ACRN: a disabled APIC's LINT0 is INTR and LINT1 NMI (virtual wire)
    v.lint(0, true);
    v.lint(1, true);
    expect([sink.extInts, sink.nmis]).toEqual([1, 2]);
    v.writeReg(R.APIC_OFF_SVR, 0x1ff, 0); // enabling does not unmask
    expect(v.readReg(R.APIC_OFF_LVT_LINT0, 0)).toBe(0x10700);
    v.lint(0, true);
    expect(sink.extInts).toBe(1);
  });

  it('LINT0/LINT1 deliver through their LVT: ExtINT, NMI, fixed; masked and de-asserted do nothing', () => {
    const { v, sink } = enabled();
    v.writeReg(R.APIC_OFF_LVT_LINT0, 0x700, 0);
    v.writeReg(R.APIC_OFF_LVT_LINT1, 0x400, 0);
    v.lint(0, true);
    v.lint(1, true);
    v.lint(0, false);
    v.lint(2, true);
    expect([sink.extInts, sink.nmis]).toEqual([1, 1]);
    v.writeReg(R.APIC_OFF_LVT_LINT0, 0x0033, 0);
    v.lint(0, true);
    expect(v.pendingVector()).toBe(0x33);
    v.writeReg(R.APIC_OFF_LVT_LINT1, 0x10400, 0);
    v.lint(1, true);
    expect(sink.nmis).toBe(1);
    v.writeReg(R.APIC_OFF_LVT_LINT0, 0x0005, 0); // illegal vector
    v.lint(0, true);
    expect(readEsr(v)).toBe(0x40);
  });

  it('local interrupts through thermal, performance and CMCI entries', () => {
    const { v, sink } = enabled();
    v.writeReg(R.APIC_OFF_LVT_PERF, 0x400, 0); // NMI (perf counters usually)
    v.writeReg(R.APIC_OFF_LVT_THERMAL, 0xfa, 0);
    v.writeReg(R.APIC_OFF_LVT_CMCI, 0x700 | 0xfb, 0); // ExtINT is not valid here: ignored
    expect(v.localInterrupt(R.LVT_PERF)).toBe(true);
    expect(v.localInterrupt(R.LVT_THERMAL)).toBe(true);
    expect(v.localInterrupt(R.LVT_CMCI)).toBe(true);
    expect(v.localInterrupt(7)).toBe(false);
    expect(sink.nmis).toBe(1);
    expect(sink.extInts).toBe(0);
    expect(v.pendingVector()).toBe(0xfa);
  });
});

/** Small deterministic PRNG (xorshift32). */
class Rng {
  s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return this.next() % n;
  }
}

describe('hostile input', () => {
  it('10,000 seeded random register and MSR writes never throw and keep the invariants', () => {
    const rng = new Rng(0x5eed1234);
    const bus = new VmBus();
    const sinks = [new RecordingSink(), new RecordingSink()];
    bus.vlapics.push(new Vlapic(0, sinks[0], bus, 1), new Vlapic(1, sinks[1], bus, 2));
    const odd = [Number.NaN, -1, 2 ** 32, 2 ** 53, 2 ** 64, 1.5, -0x80000000, Infinity, -Infinity, 0x7fffffff];
    const bases = [0xfee00c00, 0xfee00800, 0xfee00000, 0xfee00400];
    const value = (): number => {
      const kind = rng.below(8);
      if (kind === 0) return odd[rng.below(odd.length)];
      if (kind === 1) return rng.next() & 0xff;
      if (kind === 2) return rng.next() & 0x1ffff;
      if (kind === 3) return 0;
      return rng.next();
    };
    const broken: string[] = [];
    let now = 0;
    let x2apicOps = 0;
    let okMsrWrites = 0;
    let injected = 0;
    for (let i = 0; i < 10000; i++) {
      const v = bus.vlapics[rng.below(2)];
      now += rng.below(5000);
      const op = rng.below(10);
      if (op < 4) {
        const offset = rng.below(4) === 0 ? rng.below(0x1400) - 0x100 : rng.below(64) * 16;
        v.writeReg(offset, value(), now);
        v.readReg(rng.below(4) === 0 ? value() : rng.below(0x1000), now);
      } else if (op < 7) {
        const pick = rng.below(4);
        let msr = pick === 0 ? 0x800 + rng.below(0x40) : pick === 1 ? R.MSR_IA32_APIC_BASE : pick === 2 ? R.MSR_IA32_TSC_DEADLINE : value();
        if (pick === 0 && rng.below(8) === 0) msr = 0x800 + rng.below(0x400);
        const lo = pick === 1 && rng.below(4) !== 0 ? bases[rng.below(4)] : value();
        if (v.msrWrite(msr, rng.below(4) === 0 ? value() : 0, lo, now) === R.VLAPIC_OK) okMsrWrites++;
        v.msrRead(msr, now);
      } else if (op === 7) {
        if (rng.below(4) === 0) {
          v.writeReg(R.APIC_OFF_SVR, 0x1ff, now);
          v.msrWrite(0x80f, 0, 0x1ff, now);
        }
        v.acceptIrq(rng.below(300) - 20, rng.below(2) === 0);
        v.receive(rng.below(8), rng.below(256), rng.below(2) === 0);
      } else if (op === 8) {
        const vector = v.pendingVector();
        if (vector >= 0) {
          if (!v.ackVector(vector)) broken.push(`ack ${vector}`);
          injected++;
        }
        if (rng.below(2) === 0) v.writeReg(R.APIC_OFF_EOI, 0, now);
      } else {
        v.timerExpire(now);
        v.lint(rng.below(3), rng.below(2) === 0);
        v.localInterrupt(rng.below(9) - 1);
      }
      if (v.mode === R.VLAPIC_MODE_X2APIC) x2apicOps++;
      for (const x of bus.vlapics) {
        const isrv = highest(x.isr);
        const p = x.pendingVector();
        const due = x.timerDeadline();
        const lvtOk = [...x.lvt].every((e, k) => (e & ~R.LVT_WRITABLE[k]) === 0 && ((x.svr & 0x100) !== 0 || (e & 0x10000) !== 0));
        const fine = (x.irr[0] & 0xffff) === 0 && (x.isr[0] & 0xffff) === 0
          && x.ppr === (x.tpr >>> 4 >= isrv >>> 4 ? x.tpr : isrv & 0xf0)
          && (p === -1 || (p >= 16 && p >>> 4 > x.ppr >>> 4))
          && [0, 1, 2].includes(x.mode) && Number.isInteger(due) && due >= 0 && due < 2 ** 53 && lvtOk
          && (x.icrLo & 0x1000) === 0 && x.svr <= 0x3ff && x.tpr <= 0xff;
        if (!fine) broken.push(`op ${i} vcpu ${x.vcpuId}`);
      }
    }
    expect(broken.slice(0, 5)).toEqual([]);
    // the run reached the interesting states
    expect(x2apicOps).toBeGreaterThan(100);
    expect(okMsrWrites).toBeGreaterThan(100);
    expect(injected).toBeGreaterThan(10);
  });
});

function highest(bits: Uint32Array): number {
  for (let w = 7; w >= 0; w--) if (bits[w] !== 0) return w * 32 + 31 - Math.clz32(bits[w]);
  return 0;
}

describe('porffor coding rules on the vLAPIC sources (tools/PORFFOR.md)', () => {
  const bundle = buildSync({
    stdin: { contents: "export * from './hv/vm/vlapic'; export * from './hv/vm/vlapic-dest'; export * from './hv/vm/vlapic-regs';", resolveDir: process.cwd(), loader: 'ts' },
    bundle: true, format: 'esm', write: false, target: 'es2022', logLevel: 'silent',
  }).outputFiles[0].text;

  it('P1: no store into obj.field[index] where the index reads a property, an element or a call', () => {
    const re = /[\w$]+(?:\.[\w$]+|\[[^\]\n]*\])*\.[\w$]+\[([^\]\n]*)\]\s*(?:[-+*\/%&|^]|<<|>>>?)?=(?!=)|[\w$]+(?:\.[\w$]+)*\.[\w$]+\[([^\]\n]*)\](?:\+\+|--)/g;
    expect([...bundle.matchAll(re)].filter((m) => /[.[(]/.test(m[1] ?? m[2])).map((m) => m[0])).toEqual([]);
  });

  it('P3: no top-level function shares its name with a class method, with the hypervisor bundle too', () => {
    const main = buildSync({
      entryPoints: ['hv/main.ts'], bundle: true, format: 'esm', write: false, target: 'es2022',
      define: { __NATIVE__: 'true' }, logLevel: 'silent',
    }).outputFiles[0].text;
    const both = main + '\n' + bundle;
    const functions = new Set([...both.matchAll(/^(?:async )?function (\w+)\(/gm)].map((m) => m[1]));
    const methods = new Set([...both.matchAll(/^ {2}(?:static )?(\w+)\([^)]*\) \{/gm)].map((m) => m[1]));
    const mine = new Set([...bundle.matchAll(/^(?:async )?function (\w+)\(|^ {2}(?:static )?(\w+)\([^)]*\) \{/gm)].map((m) => m[1] ?? m[2]));
    expect([...functions].filter((f) => methods.has(f) && f !== 'constructor' && mine.has(f))).toEqual([]);
  });

  it('no finally, BigInt, closures in methods or console', () => {
    expect(bundle).not.toMatch(/\bfinally\b|\b\d+n\b|=>|console\./);
  });
});
