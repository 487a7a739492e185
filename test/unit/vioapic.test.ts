// The vIOAPIC (hv/vm/vioapic.ts) against the Intel 82093AA I/O APIC datasheet
// (3.2 "Register Description") and ACRN's vioapic.c. Expected values by hand:
//   IOREGSEL at base + 0x00, IOWIN at base + 0x10, 32-bit accesses
//   ID 0x00: bits 27:24; version 0x01: (pins - 1) << 16 | 0x11; arbitration 0x02: ID << 24
//   RTE n: low word at 0x10 + 2n, high word at 0x11 + 2n
//     vector 7:0, delivery mode 10:8, logical 11, delivery status 12 (RO),
//     active low 13, remote IRR 14 (RO), level 15, mask 16, destination 63:56
//   reset: every low word 0x00010000 (masked), every high word 0
import { describe, expect, it } from 'vitest';
import { Vioapic, type VioapicSink } from '../../hv/vm/vioapic';
import { Vlapic, type VlapicBus, type VlapicSink } from '../../hv/vm/vlapic';
import { vlapicDeliverMessage } from '../../hv/vm/vlapic-dest';
import * as R from '../../hv/vm/vlapic-regs';

/** Records every message as [destMode, dest, deliveryMode, vector, level (0/1)]. */
class RecordingSink implements VioapicSink {
  calls: number[][] = [];
  deliver(destMode: number, dest: number, deliveryMode: number, vector: number, levelTriggered: boolean): void {
    this.calls.push([destMode, dest, deliveryMode, vector, levelTriggered ? 1 : 0]);
  }
}

const BASE = 0xfec00000;

function make(pins = 24): { io: Vioapic; sink: RecordingSink } {
  const sink = new RecordingSink();
  return { io: new Vioapic(pins, BASE, sink), sink };
}

function rd(io: Vioapic, reg: number): number {
  io.mmioWrite(BASE, 4, 0, reg);
  return io.mmioRead(BASE + 0x10, 4);
}

function wr(io: Vioapic, reg: number, value: number): void {
  io.mmioWrite(BASE, 4, 0, reg);
  io.mmioWrite(BASE + 0x10, 4, 0, value);
}

/** Program RTE `pin`: high word first, then low (as OSes do to unmask last). */
function rte(io: Vioapic, pin: number, hi: number, lo: number): void {
  wr(io, 0x11 + 2 * pin, hi);
  wr(io, 0x10 + 2 * pin, lo);
}

describe('registers', () => {
  it('reset state: ID 0, version 0x11 with max entry, every entry masked', () => {
    const { io } = make(24);
    expect(rd(io, 0x00)).toBe(0);
    expect(rd(io, 0x01)).toBe(0x00170011);
    expect(rd(io, 0x02)).toBe(0);
    for (let pin = 0; pin < 24; pin++) {
      expect(rd(io, 0x10 + 2 * pin)).toBe(0x00010000);
      expect(rd(io, 0x11 + 2 * pin)).toBe(0);
    }
    expect(make(48).io.readReg(0x01)).toBe(0x002f0011);
    expect(make(120).io.readReg(0x01)).toBe(0x00770011);
  });

  it('ID bits 27:24 only are writable; arbitration follows; version and arbitration are read-only', () => {
    const { io } = make();
    wr(io, 0x00, 0xffffffff);
    expect(rd(io, 0x00)).toBe(0x0f000000);
    expect(rd(io, 0x02)).toBe(0x0f000000);
    wr(io, 0x01, 0);
    wr(io, 0x02, 0);
    expect(rd(io, 0x01)).toBe(0x00170011);
    expect(rd(io, 0x02)).toBe(0x0f000000);
    wr(io, 0x00, 0x05000000);
    expect(rd(io, 0x00)).toBe(0x05000000);
  });

  it('IOREGSEL keeps bits 7:0 and reads back', () => {
    const { io } = make();
    io.mmioWrite(BASE, 4, 0, 0x1234);
    expect(io.mmioRead(BASE, 4)).toBe(0x34);
  });

  it('delivery status and remote IRR cannot be written', () => {
    const { io } = make();
    wr(io, 0x10, 0xffffffff);
    expect(rd(io, 0x10)).toBe(0xffffafff);
    wr(io, 0x11, 0xffffffff);
    expect(rd(io, 0x11)).toBe(0xffffffff);
    wr(io, 0x12, 0x00001000 | 0x00004000 | 0x21);
    expect(rd(io, 0x12)).toBe(0x21);
  });

  it('registers past the table and unimplemented ones read 0 and ignore writes', () => {
    const { io, sink } = make(24);
    expect(rd(io, 0x03)).toBe(0);
    expect(rd(io, 0x0f)).toBe(0);
    wr(io, 0x40, 0x30); // 0x10 + 2 * 24: past the last entry
    expect(rd(io, 0x40)).toBe(0);
    expect(rd(io, 0x3f)).toBe(0); // entry 23 high word
    wr(io, 0xff, 1);
    expect(sink.calls).toEqual([]);
  });

  it('MMIO: 32-bit accesses at IOREGSEL and IOWIN only; no EOI register (version 0x11)', () => {
    const { io } = make();
    expect(io.mmioRead(BASE, 1)).toBe(0xff);
    expect(io.mmioRead(BASE + 0x10, 2)).toBe(0xffff);
    expect(io.mmioRead(BASE + 0x10, 8)).toBe(0xffffffff);
    expect(io.mmioValueHi).toBe(0xffffffff);
    expect(io.mmioRead(BASE + 0x20, 4)).toBe(0xffffffff);
    io.mmioWrite(BASE, 1, 0, 0x01);
    io.mmioWrite(BASE + 0x10, 8, 0, 0);
    io.mmioWrite(BASE + 0x40, 4, 0, 0x30);
    io.mmioWrite(BASE + 4, 4, 0, 0x30);
    expect(io.badAccesses).toBe(8);
    expect(io.mmioRead(BASE, 4)).toBe(0);
    expect(io.mmioValueHi).toBe(0);
  });
});

describe('delivery', () => {
  it('edge-triggered: one message per rising edge', () => {
    const { io, sink } = make();
    rte(io, 0, 0x03000000, 0x30);
    expect(sink.calls).toEqual([]);
    io.setIrq(0, true);
    io.setIrq(0, true);
    io.setIrq(0, false);
    expect(sink.calls).toEqual([[0, 3, 0, 0x30, 0]]);
    io.setIrq(0, true);
    io.pulse(0); // already high: the pulse's rise is not an edge
    io.setIrq(0, false);
    io.pulse(0);
    expect(sink.calls).toEqual([[0, 3, 0, 0x30, 0], [0, 3, 0, 0x30, 0], [0, 3, 0, 0x30, 0]]);
    expect(rd(io, 0x10)).toBe(0x30); // no remote IRR for edge
  });

  it('level-triggered: delivers, sets remote IRR, waits for the EOI, re-delivers while asserted', () => {
    const { io, sink } = make();
    rte(io, 1, 0x01000000, 0x8041);
    io.setIrq(1, true);
    expect(sink.calls).toEqual([[0, 1, 0, 0x41, 1]]);
    expect(rd(io, 0x12)).toBe(0xc041);
    io.setIrq(1, true);
    io.setIrq(1, false);
    io.setIrq(1, true);
    expect(sink.calls.length).toBe(1); // remote IRR holds it
    io.eoi(0x42);
    expect(sink.calls.length).toBe(1);
    io.eoi(0x41);
    expect(sink.calls.length).toBe(2); // still asserted: again
    expect(rd(io, 0x12)).toBe(0xc041);
    io.setIrq(1, false);
    io.eoi(0x41);
    expect(sink.calls.length).toBe(2);
    expect(rd(io, 0x12)).toBe(0x8041);
    io.setIrq(1, true);
    expect(sink.calls.length).toBe(3);
  });

  it('an EOI clears every level entry with that vector', () => {
    const { io, sink } = make();
    rte(io, 3, 0, 0x8050);
    rte(io, 4, 0, 0x8050);
    rte(io, 5, 0, 0x0050);
    io.setIrq(3, true);
    io.setIrq(4, true);
    io.setIrq(3, false);
    io.setIrq(4, false);
    expect(rd(io, 0x16)).toBe(0xc050);
    expect(rd(io, 0x18)).toBe(0xc050);
    io.eoi(0x50);
    expect(rd(io, 0x16)).toBe(0x8050);
    expect(rd(io, 0x18)).toBe(0x8050);
    expect(sink.calls.length).toBe(2);
  });

  it('masked: an edge is lost; a level line unmasked while asserted delivers then', () => {
    const { io, sink } = make();
    rte(io, 2, 0, 0x10030);
    io.setIrq(2, true);
    wr(io, 0x14, 0x30);
    expect(sink.calls).toEqual([]); // the edge came while masked
    io.setIrq(2, false);
    io.setIrq(2, true);
    expect(sink.calls).toEqual([[0, 0, 0, 0x30, 0]]);
    rte(io, 6, 0, 0x18044);
    io.setIrq(6, true);
    expect(sink.calls.length).toBe(1);
    wr(io, 0x1c, 0x8044);
    expect(sink.calls[1]).toEqual([0, 0, 0, 0x44, 1]);
    expect(rd(io, 0x1c)).toBe(0xc044);
  });

  it('masking after delivery keeps remote IRR; the EOI clears it; unmasking re-delivers if asserted', () => {
    const { io, sink } = make();
    rte(io, 7, 0, 0x8060);
    io.setIrq(7, true);
    wr(io, 0x1e, 0x18060);
    expect(rd(io, 0x1e)).toBe(0x1c060);
    io.eoi(0x60);
    expect(rd(io, 0x1e)).toBe(0x18060);
    expect(sink.calls.length).toBe(1);
    wr(io, 0x1e, 0x8060);
    expect(sink.calls.length).toBe(2);
  });

  it('rewriting a level entry as edge clears remote IRR; making an asserted line level delivers', () => {
    const { io, sink } = make();
    rte(io, 8, 0, 0x8070);
    io.setIrq(8, true);
    expect(rd(io, 0x20)).toBe(0xc070);
    wr(io, 0x20, 0x0070);
    expect(rd(io, 0x20)).toBe(0x0070);
    expect(sink.calls.length).toBe(1);
    wr(io, 0x20, 0x8070);
    expect(sink.calls.length).toBe(2);
    expect(rd(io, 0x20)).toBe(0xc070);
  });

  it('active low: the inverted line; edge entries fire on the falling wire, level entries while low', () => {
    const { io, sink } = make();
    rte(io, 9, 0, 0x2031); // edge, active low
    io.setIrq(9, true);
    expect(sink.calls).toEqual([]);
    io.setIrq(9, false);
    expect(sink.calls).toEqual([[0, 0, 0, 0x31, 0]]);
    io.setIrq(10, true); // wire high = inactive for an active-low entry
    rte(io, 10, 0, 0xa042); // level, active low
    expect(sink.calls.length).toBe(1);
    io.setIrq(10, false);
    expect(sink.calls[1]).toEqual([0, 0, 0, 0x42, 1]);
    io.setIrq(10, true);
    io.eoi(0x42);
    expect(sink.calls.length).toBe(2);
    expect(rd(io, 0x24)).toBe(0xa042);
    rte(io, 11, 0, 0xa043); // its wire is low from reset: active at once
    expect(sink.calls[2]).toEqual([0, 0, 0, 0x43, 1]);
  });

  it('passes destination mode, destination and delivery mode through', () => {
    const { io, sink } = make();
    rte(io, 12, 0x0f000000, 0x0850);
    io.pulse(12);
    rte(io, 13, 0xff000000, 0x0151);
    io.pulse(13);
    rte(io, 14, 0x02000000, 0x0400);
    io.pulse(14);
    rte(io, 15, 0x00000000, 0x0700);
    io.pulse(15);
    rte(io, 16, 0x81000000, 0x0d52);
    io.pulse(16);
    expect(sink.calls).toEqual([
      [1, 0x0f, 0, 0x50, 0], [0, 0xff, 1, 0x51, 0], [0, 2, 4, 0, 0], [0, 0, 7, 0, 0], [1, 0x81, 5, 0x52, 0],
    ]);
  });

  it('48 pins: pin 47 is the last', () => {
    const { io, sink } = make(48);
    rte(io, 47, 0x01000000, 0x8080);
    expect(rd(io, 0x6e)).toBe(0x8080);
    expect(rd(io, 0x6f)).toBe(0x01000000);
    expect(rd(io, 0x70)).toBe(0);
    io.setIrq(47, true);
    io.setIrq(48, true);
    io.setIrq(-1, true);
    io.setIrq(1.5, true);
    io.pulse(Number.NaN);
    expect(io.ignoredPins).toBe(4);
    expect(sink.calls).toEqual([[0, 1, 0, 0x80, 1]]);
  });

  it('reset masks everything again and keeps the wires', () => {
    const { io, sink } = make();
    rte(io, 1, 0x01000000, 0x8041);
    io.setIrq(1, true);
    wr(io, 0x00, 0x03000000);
    io.reset();
    expect(rd(io, 0x00)).toBe(0);
    expect(rd(io, 0x12)).toBe(0x10000);
    expect(io.lines[1]).toBe(1);
    wr(io, 0x12, 0x8041);
    expect(sink.calls.length).toBe(2);
  });
});

describe('with vLAPICs (the integrator contract)', () => {
  class NullBus implements VlapicBus {
    deliver(): void {}
  }
  class EoiToIoapic implements VlapicSink {
    io: Vioapic | null = null;
    eoiLevel(vector: number): void {
      if (this.io !== null) this.io.eoi(vector);
    }
    nmi(): void {}
    extInt(): void {}
    initSignal(): void {}
    sipi(): void {}
    kick(): void {}
  }
  class ToVlapics implements VioapicSink {
    vlapics: Vlapic[] = [];
    deliver(destMode: number, dest: number, deliveryMode: number, vector: number, levelTriggered: boolean): void {
      vlapicDeliverMessage(this.vlapics, this.vlapics.length, destMode, dest, false, deliveryMode, vector, levelTriggered);
    }
  }

  it('a level interrupt goes to the vLAPIC, its EOI comes back and re-delivers while asserted', () => {
    const lapicSink = new EoiToIoapic();
    const route = new ToVlapics();
    const v = new Vlapic(0, lapicSink, new NullBus(), 1);
    v.writeReg(R.APIC_OFF_SVR, 0x1ff, 0);
    route.vlapics.push(v);
    const io = new Vioapic(48, BASE, route);
    lapicSink.io = io;
    rte(io, 20, 0x00000000, 0x8061);
    io.setIrq(20, true);
    expect(v.pendingVector()).toBe(0x61);
    v.ackVector(0x61);
    v.writeReg(R.APIC_OFF_EOI, 0, 0); // TMR set: broadcast to the vIOAPIC, line still high
    expect(v.pendingVector()).toBe(0x61);
    io.setIrq(20, false);
    v.ackVector(0x61);
    v.writeReg(R.APIC_OFF_EOI, 0, 0);
    expect(v.pendingVector()).toBe(-1);
    expect(io.readReg(0x10 + 40)).toBe(0x8061);
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
  it('10,000 seeded random MMIO accesses, pin changes and EOIs never throw and keep the invariants', () => {
    const rng = new Rng(0x82093aa);
    const { io, sink } = make(48);
    const odd = [Number.NaN, -1, 2 ** 32, 2 ** 53, 1.5, -0x80000000, Infinity, 0x7fffffff];
    const broken: string[] = [];
    const value = (): number => {
      const kind = rng.below(8);
      if (kind === 0) return odd[rng.below(odd.length)];
      if (kind < 4) return (rng.next() & 0x1ffff & ~0x10000) | (rng.below(4) === 0 ? 0x10000 : 0);
      return rng.next();
    };
    for (let i = 0; i < 10000; i++) {
      const op = rng.below(10);
      if (op < 3) {
        const reg = rng.below(4) === 0 ? rng.below(256) : 0x10 + rng.below(96);
        const size = rng.below(16) === 0 ? [1, 2, 8][rng.below(3)] : 4;
        const offset = rng.below(16) === 0 ? rng.below(0x1000) : 0;
        io.mmioWrite(BASE + offset, size, 0, reg);
        io.mmioWrite(BASE + 0x10, size, value(), value());
      } else if (op < 5) {
        io.mmioWrite(BASE, 4, 0, rng.below(0x80));
        const v = io.mmioRead(BASE + (rng.below(2) === 0 ? 0x10 : rng.below(0x20)), rng.below(8) === 0 ? 8 : 4);
        if (!(v >= 0 && v <= 0xffffffff)) broken.push(`read ${v}`);
      } else if (op < 8) {
        const pin = rng.below(32) === 0 ? odd[rng.below(odd.length)] : rng.below(50);
        if (rng.below(3) === 0) io.pulse(pin);
        else io.setIrq(pin, rng.below(2) === 0);
      } else if (op === 8) {
        const last = sink.calls.length > 0 ? sink.calls[sink.calls.length - 1][3] : 0;
        io.eoi(rng.below(2) === 0 ? last : value());
      } else if (rng.below(100) === 0) {
        io.reset();
      }
      for (let pin = 0; pin < 48; pin++) {
        const lo = io.redirLo[pin];
        if ((lo & 0x1000) !== 0) broken.push('delivery status set');
        if ((lo & 0x4000) !== 0 && (lo & 0x8000) === 0) broken.push('remote IRR on an edge entry');
        if ((lo & 0x1c000) === 0x8000 && io.isActive(pin)) broken.push(`pin ${pin}: level, active, unmasked, not delivered`);
      }
      if (io.readReg(1) !== 0x002f0011 || io.id > 15 || io.regSelect > 0xff) broken.push('id/version/select');
    }
    for (const c of sink.calls) {
      if (c[0] > 1 || c[1] > 0xff || c[2] > 7 || c[3] > 0xff) broken.push(`message ${c}`);
    }
    expect(broken.slice(0, 5)).toEqual([]);
    expect(sink.calls.length).toBeGreaterThan(100);
    expect(sink.calls.filter((c) => c[4] === 1).length).toBeGreaterThan(20);
  });
});
