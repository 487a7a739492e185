// Conformance: the vLAPIC (hv/vm/vlapic.ts, vlapic-dest.ts, vlapic-timer.ts,
// vlapic-regs.ts) compiled by the native pipeline must print what Node
// prints. Each scenario prints one line of register values, statuses and
// counts into the capture sink, checked against the value worked out by hand
// from the Intel SDM Vol. 3A chapter 11 (the same cases as
// test/unit/vlapic.test.ts). Then 10,000 seeded random register, MSR,
// interrupt and timer operations on two vLAPICs print a checksum both sides
// must agree on, with an invariant count that must be 0; running the
// scenarios and another 10,000 operations must not grow the heap.
import { heapUsed } from '../../arch/x86/intrinsics';
import { LOG_INFO, log } from '../../hv/log';
import { Vlapic, type VlapicBus, type VlapicSink } from '../../hv/vm/vlapic';
import { matchesDestination, vlapicDeliverIpi, vlapicLowestPriority } from '../../hv/vm/vlapic-dest';
import * as R from '../../hv/vm/vlapic-regs';
import { capture, check, com1, heapDelta, say } from './lib';

class CountingSink implements VlapicSink {
  eoiCount = 0;
  lastEoi = -1;
  nmis = 0;
  extInts = 0;
  inits = 0;
  sipis = 0;
  lastSipi = -1;
  kicks = 0;
  eoiLevel(vector: number): void {
    this.eoiCount++;
    this.lastEoi = vector;
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
    this.sipis++;
    this.lastSipi = vector;
  }
  kick(): void {
    this.kicks++;
  }
  zero(): void {
    this.eoiCount = 0;
    this.lastEoi = -1;
    this.nmis = 0;
    this.extInts = 0;
    this.inits = 0;
    this.sipis = 0;
    this.lastSipi = -1;
    this.kicks = 0;
  }
}

/** Keeps the last IPI's fields and a count. */
class LastCallBus implements VlapicBus {
  count = 0;
  mode = 0;
  vector = 0;
  level = 0;
  trigger = 0;
  shorthand = 0;
  destMode = 0;
  dest = 0;
  deliver(_sender: Vlapic, mode: number, vector: number, level: number, trigger: number, shorthand: number,
    destMode: number, dest: number): void {
    this.count++;
    this.mode = mode;
    this.vector = vector;
    this.level = level;
    this.trigger = trigger;
    this.shorthand = shorthand;
    this.destMode = destMode;
    this.dest = dest;
  }
}

/** A VM's bus: one call to vlapicDeliverIpi. */
class ArrayBus implements VlapicBus {
  readonly vlapics: Vlapic[] = [];
  deliver(sender: Vlapic, mode: number, vector: number, _level: number, _trigger: number, shorthand: number,
    destMode: number, dest: number): void {
    vlapicDeliverIpi(this.vlapics, this.vlapics.length, sender, mode, vector, shorthand, destMode, dest);
  }
}

// Everything is built here, at init; the scenarios only reset and reuse it.
const sink = new CountingSink();
const lastBus = new LastCallBus();
const solo = new Vlapic(0, sink, lastBus, 1);
const wide = new Vlapic(0, sink, lastBus, 3);
const huge = new Vlapic(0, sink, lastBus, 8192);
const trioBus = new ArrayBus();
const trioSinks = [new CountingSink(), new CountingSink(), new CountingSink()];
for (let i = 0; i < 3; i++) trioBus.vlapics.push(new Vlapic(i, trioSinks[i], trioBus, 1));

function cfStart(): void {
  log.attach(capture);
  capture.reset();
  log.begin(LOG_INFO);
}

function cfHex(value: number): void {
  if (capture.length > 0) log.char(32);
  log.hex(value);
}

function cfDec(value: number): void {
  if (capture.length > 0) log.char(32);
  log.dec(value);
}

function cfFlag(value: boolean): void {
  cfDec(value ? 1 : 0);
}

/** `v` after power-up with `apicId`, software-enabled when `on`. */
function cfFresh(v: Vlapic, apicId: number, on: boolean): Vlapic {
  v.reset(apicId, apicId === 0);
  if (on) v.writeReg(R.APIC_OFF_SVR, 0x1ff, 0);
  sink.zero();
  lastBus.count = 0;
  return v;
}

function cfEsr(v: Vlapic): number {
  v.writeReg(R.APIC_OFF_ESR, 0, 0);
  return v.readReg(R.APIC_OFF_ESR, 0);
}

function cfServe(v: Vlapic, vector: number, level: boolean): void {
  v.acceptIrq(vector, level);
  v.ackVector(vector);
}

const RESET_OFFSETS = [0x20, 0x30, 0x80, 0xa0, 0xd0, 0xe0, 0xf0, 0x280, 0x2f0, 0x300, 0x310, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x390, 0x3e0];
const RESET_WANT = '0x3000000 0x60010 0x0 0x0 0x0 0xffffffff 0xff 0x0 0x10000 0x0 0x0 0x10000 0x10000 0x10000 0x10000 0x10000 0x10000 0x0 0x0 0x0';

function scenarioReset(): void {
  const v = cfFresh(solo, 3, false);
  cfStart();
  for (let i = 0; i < RESET_OFFSETS.length; i++) cfHex(v.readReg(RESET_OFFSETS[i], 0));
}

// [TPR, ISRV]: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV & 0xF0 (SDM 11.8.3.1).
const PPR_CASES = [0x00, 0, 0x2f, 0, 0x20, 0x31, 0x35, 0x31, 0x3f, 0x3a, 0x4f, 0x31, 0x10, 0xfe, 0xff, 0xfe];
const PPR_WANT = '0x0 0x2f 0x30 0x35 0x3f 0x4f 0xf0 0xff';

function scenarioPpr(): void {
  cfStart();
  for (let i = 0; i < PPR_CASES.length; i += 2) {
    const v = cfFresh(solo, 0, true);
    if (PPR_CASES[i + 1] !== 0) cfServe(v, PPR_CASES[i + 1], false);
    v.writeReg(R.APIC_OFF_TPR, PPR_CASES[i], 0);
    cfHex(v.readReg(R.APIC_OFF_PPR, 0));
  }
}

function scenarioPriority(): void {
  const v = cfFresh(solo, 0, true);
  cfStart();
  v.acceptIrq(0x41, false);
  v.acceptIrq(0x92, false);
  v.acceptIrq(0x65, false);
  cfDec(v.pendingVector());
  v.ackVector(0x92);
  cfDec(v.pendingVector());
  v.writeReg(R.APIC_OFF_EOI, 0, 0);
  cfDec(v.pendingVector());
  cfDec(sink.kicks);
  v.writeReg(R.APIC_OFF_TPR, 0x70, 0);
  cfDec(v.pendingVector());
  v.writeReg(R.APIC_OFF_TPR, 0x5f, 0);
  cfDec(v.pendingVector());
}

function scenarioEoi(): void {
  const v = cfFresh(solo, 0, true);
  cfStart();
  cfServe(v, 0x40, true);
  cfServe(v, 0x80, false);
  cfHex(v.readReg(R.APIC_OFF_PPR, 0));
  v.writeReg(R.APIC_OFF_EOI, 0, 0);
  cfHex(v.readReg(R.APIC_OFF_PPR, 0));
  cfDec(sink.eoiCount);
  v.writeReg(R.APIC_OFF_EOI, 0, 0);
  cfHex(v.readReg(R.APIC_OFF_PPR, 0));
  cfDec(sink.eoiCount);
  cfDec(sink.lastEoi);
  v.writeReg(R.APIC_OFF_EOI, 0, 0);
  cfDec(sink.eoiCount);
}

function scenarioEsr(): void {
  const v = cfFresh(solo, 0, true);
  cfStart();
  v.acceptIrq(5, false);
  cfHex(v.readReg(R.APIC_OFF_ESR, 0));
  cfHex(cfEsr(v));
  v.writeReg(R.APIC_OFF_ICR_LO, 7, 0);
  cfHex(cfEsr(v));
  v.readReg(0x10, 0);
  cfHex(cfEsr(v));
  cfHex(cfEsr(v));
  v.writeReg(R.APIC_OFF_LVT_ERROR, 0xee, 0);
  v.acceptIrq(2, false);
  cfDec(v.pendingVector());
}

// [ICR high, ICR low]: the bus call, as "count mode vector level trigger shorthand destMode dest".
const ICR_CASES = [
  0x05000000, 0x000040f1, 0x0f000000, 0x00000931, 0x01000000, 0x00000200, 0x02000000, 0x00004400,
  0x02000000, 0x0000c500, 0x00000000, 0x00008500, 0x03000000, 0x00004699, 0x01000000, 0x00000340,
  0x01000000, 0x00000740, 0, 0x00040040, 0, 0x00040400, 0, 0x00080050, 0, 0x00084500, 0, 0x000c4500,
  0, 0x000c4608, 0, 0x000c0160, 0x01000000, 0x0000000f, 0xff000000, 0x00000070,
];
const ICR_WANT = [
  '1 0 241 1 0 0 0 5', '1 1 49 0 0 0 1 15', '0', '1 4 0 1 0 0 0 2', '1 5 0 1 1 0 0 2', '0', '1 6 153 1 0 0 0 3', '0',
  '0', '1 0 64 0 0 1 0 0', '0', '1 0 80 0 0 2 0 0', '0', '1 5 0 1 0 3 0 0', '1 6 8 1 0 3 0 0', '1 1 96 0 0 3 0 0', '0',
  '1 0 112 0 0 0 0 255',
];

function scenarioIcr(i: number): void {
  const v = cfFresh(solo, 1, true);
  v.writeReg(R.APIC_OFF_ICR_HI, ICR_CASES[i * 2], 0);
  v.writeReg(R.APIC_OFF_ICR_LO, ICR_CASES[i * 2 + 1], 0);
  cfStart();
  cfDec(lastBus.count);
  if (lastBus.count === 0) return;
  cfDec(lastBus.mode);
  cfDec(lastBus.vector);
  cfDec(lastBus.level);
  cfDec(lastBus.trigger);
  cfDec(lastBus.shorthand);
  cfDec(lastBus.destMode);
  cfDec(lastBus.dest);
}

function scenarioIcrRead(): void {
  const v = cfFresh(solo, 0, true);
  cfStart();
  v.writeReg(R.APIC_OFF_ICR_HI, 0x12345678, 0);
  cfHex(v.readReg(R.APIC_OFF_ICR_HI, 0));
  v.writeReg(R.APIC_OFF_ICR_LO, 0xffffffff, 0);
  cfHex(v.readReg(R.APIC_OFF_ICR_LO, 0));
  cfDec(lastBus.count);
}

function scenarioDestinations(): void {
  cfStart();
  let v = cfFresh(solo, 5, false);
  cfFlag(matchesDestination(v, R.DEST_PHYSICAL, 5, false));
  cfFlag(matchesDestination(v, R.DEST_PHYSICAL, 6, false));
  cfFlag(matchesDestination(v, R.DEST_PHYSICAL, 0xff, false));
  cfFlag(matchesDestination(v, R.DEST_LOGICAL, 0xff, false));
  v = cfFresh(solo, 0, true);
  v.writeReg(R.APIC_OFF_LDR, 0x04000000, 0);
  cfFlag(matchesDestination(v, R.DEST_LOGICAL, 0x04, false));
  cfFlag(matchesDestination(v, R.DEST_LOGICAL, 0x0c, false));
  cfFlag(matchesDestination(v, R.DEST_LOGICAL, 0x03, false));
  cfFlag(matchesDestination(v, R.DEST_PHYSICAL, 0x04, false));
  v.writeReg(R.APIC_OFF_DFR, 0x0fffffff, 0);
  v.writeReg(R.APIC_OFF_LDR, 0x21000000, 0);
  cfFlag(matchesDestination(v, R.DEST_LOGICAL, 0x21, false));
  cfFlag(matchesDestination(v, R.DEST_LOGICAL, 0x23, false));
  cfFlag(matchesDestination(v, R.DEST_LOGICAL, 0x11, false));
  cfFlag(matchesDestination(v, R.DEST_LOGICAL, 0x22, false));
  cfFlag(matchesDestination(v, R.DEST_LOGICAL, 0xff, false));
  v = cfFresh(solo, 0x23, true);
  v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00c00, 0);
  cfFlag(matchesDestination(v, R.DEST_LOGICAL, 0x00020008, true));
  cfFlag(matchesDestination(v, R.DEST_LOGICAL, 0x0002000c, true));
  cfFlag(matchesDestination(v, R.DEST_LOGICAL, 0x00010008, true));
  cfFlag(matchesDestination(v, R.DEST_LOGICAL, 0x00020004, true));
  cfFlag(matchesDestination(v, R.DEST_PHYSICAL, 0x23, true));
  cfFlag(matchesDestination(v, R.DEST_PHYSICAL, 0x123, true));
  cfFlag(matchesDestination(v, R.DEST_PHYSICAL, 0xffffffff, true));
  cfFlag(matchesDestination(v, R.DEST_PHYSICAL, 0xff, true));
  cfHex(v.ldr);
}

function cfTrio(): void {
  for (let i = 0; i < 3; i++) {
    const v = trioBus.vlapics[i];
    v.reset(i, i === 0);
    v.writeReg(R.APIC_OFF_SVR, 0x1ff, 0);
    v.writeReg(R.APIC_OFF_LDR, (1 << i) * 0x1000000, 0);
    trioSinks[i].zero();
  }
}

function scenarioLowest(): void {
  cfTrio();
  const a = trioBus.vlapics[0];
  const b = trioBus.vlapics[1];
  const c = trioBus.vlapics[2];
  cfStart();
  a.writeReg(R.APIC_OFF_TPR, 0x30, 0);
  b.writeReg(R.APIC_OFF_TPR, 0x10, 0);
  c.writeReg(R.APIC_OFF_TPR, 0x10, 0);
  cfDec(vlapicLowestPriority(trioBus.vlapics, 3, a, R.SHORTHAND_NONE, R.DEST_LOGICAL, 0x07));
  cfDec(vlapicLowestPriority(trioBus.vlapics, 3, a, R.SHORTHAND_NONE, R.DEST_LOGICAL, 0x05));
  c.writeReg(R.APIC_OFF_TPR, 0x00, 0);
  cfDec(vlapicLowestPriority(trioBus.vlapics, 3, a, R.SHORTHAND_NONE, R.DEST_LOGICAL, 0x07));
  c.writeReg(R.APIC_OFF_SVR, 0xff, 0);
  cfDec(vlapicLowestPriority(trioBus.vlapics, 3, a, R.SHORTHAND_NONE, R.DEST_LOGICAL, 0x07));
  cfDec(vlapicLowestPriority(trioBus.vlapics, 3, a, R.SHORTHAND_NONE, R.DEST_LOGICAL, 0x08));
  cfDec(vlapicLowestPriority(trioBus.vlapics, 3, a, R.SHORTHAND_ALL_EXCLUDING_SELF, 0, 0));
}

function scenarioIpis(): void {
  cfTrio();
  const a = trioBus.vlapics[0];
  const b = trioBus.vlapics[1];
  const c = trioBus.vlapics[2];
  cfStart();
  a.writeReg(R.APIC_OFF_TPR, 0x20, 0);
  c.writeReg(R.APIC_OFF_TPR, 0x20, 0);
  a.writeReg(R.APIC_OFF_ICR_HI, 0x07000000, 0);
  a.writeReg(R.APIC_OFF_ICR_LO, 0x00000945, 0);
  cfDec(a.highestIrr());
  cfDec(b.highestIrr());
  cfDec(c.highestIrr());
  a.writeReg(R.APIC_OFF_ICR_HI, 0x06000000, 0);
  a.writeReg(R.APIC_OFF_ICR_LO, 0x00000846, 0);
  cfDec(a.highestIrr());
  cfDec(b.highestIrr());
  cfDec(c.highestIrr());
  a.writeReg(R.APIC_OFF_ICR_LO, 0x00080047, 0);
  cfDec(a.highestIrr());
  cfDec(b.highestIrr());
  cfDec(c.highestIrr());
  a.writeReg(R.APIC_OFF_ICR_LO, 0x000c4500, 0);
  a.writeReg(R.APIC_OFF_ICR_LO, 0x000c4699, 0);
  a.writeReg(R.APIC_OFF_ICR_HI, 0x02000000, 0);
  a.writeReg(R.APIC_OFF_ICR_LO, 0x00004400, 0);
  cfDec(trioSinks[0].inits + trioSinks[0].sipis + trioSinks[0].nmis);
  cfDec(trioSinks[1].inits);
  cfDec(trioSinks[1].lastSipi);
  cfDec(trioSinks[2].nmis);
}

function cfMsr(v: Vlapic, msr: number): void {
  v.msrRead(msr, 0);
  cfHex(v.msrLo);
}

function scenarioX2apic(): void {
  const v = cfFresh(solo, 0x23, true);
  v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00c00, 0);
  cfStart();
  cfMsr(v, 0x802);
  cfMsr(v, 0x803);
  cfMsr(v, 0x80d);
  v.msrWrite(0x808, 0, 0x45, 0);
  cfMsr(v, 0x80a);
  v.msrWrite(0x830, 3, 0x40, 0);
  v.msrRead(0x830, 0);
  cfHex(v.msrHi);
  cfHex(v.msrLo);
  cfDec(lastBus.dest);
  v.msrWrite(0x83f, 0, 0x55, 0);
  cfDec(v.pendingVector());
  v.msrWrite(0x83f, 0, 3, 0);
  v.msrWrite(0x828, 0, 0, 0);
  cfMsr(v, 0x828);
  cfHex(v.readReg(R.APIC_OFF_TPR, 0));
  cfDec(v.writeReg(R.APIC_OFF_TPR, 0, 0));
}

// [msr, write?, hi, lo]: the status (3 = #GP).
const GP_CASES = [
  0x802, 1, 0, 0, 0x80b, 0, 0, 0, 0x83f, 0, 0, 0, 0x800, 0, 0, 0, 0x80e, 0, 0, 0, 0x831, 1, 0, 0, 0x840, 0, 0, 0,
  0xbff, 1, 0, 0, 0x808, 1, 1, 0, 0x808, 1, 0, 0x100, 0x80b, 1, 0, 1, 0x828, 1, 0, 1, 0x80f, 1, 0, 0x1000,
  0x830, 1, 0, 0x1000, 0x83e, 1, 0, 4, 0x83f, 1, 0, 0x140, 0x80b, 1, 0, 0, 0x828, 1, 0, 0, 0x835, 1, 0, 0x1f7ff,
];
const GP_WANT = '3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 0 0 0';

function scenarioGp(): void {
  const v = cfFresh(solo, 1, true);
  v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00c00, 0);
  cfStart();
  for (let i = 0; i < GP_CASES.length; i += 4) {
    const msr = GP_CASES[i];
    cfDec(GP_CASES[i + 1] === 1 ? v.msrWrite(msr, GP_CASES[i + 2], GP_CASES[i + 3], 0) : v.msrRead(msr, 0));
  }
}

function scenarioApicBase(): void {
  const v = cfFresh(solo, 2, true);
  cfStart();
  cfDec(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00400, 0));
  cfDec(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00801, 0));
  cfDec(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00c00, 0));
  cfDec(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00800, 0));
  cfDec(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00000, 0));
  cfDec(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00c00, 0));
  cfDec(v.msrWrite(R.MSR_IA32_APIC_BASE, 0, 0xfee00800, 0));
  cfHex(v.readReg(R.APIC_OFF_SVR, 0));
  cfHex(v.readReg(R.APIC_OFF_ID, 0));
  cfMsr(v, R.MSR_IA32_APIC_BASE);
}

const DCR_CASES = [0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa, 0xb];
const ONESHOT_WANT = '1006000 1012000 1024000 1048000 1096000 1192000 1384000 1003000 8';

function scenarioOneShot(): void {
  cfStart();
  let good = 0;
  const t0 = 1000000;
  for (let i = 0; i < DCR_CASES.length; i++) {
    const v = cfFresh(wide, 0, true);
    v.writeReg(R.APIC_OFF_LVT_TIMER, 0x30, t0);
    v.writeReg(R.APIC_OFF_TIMER_DCR, DCR_CASES[i], t0);
    v.writeReg(R.APIC_OFF_TIMER_ICR, 1000, t0);
    const due = v.timerDeadline();
    cfDec(due);
    const early = v.timerExpire(due - 1);
    const onTime = v.timerExpire(due);
    if (!early && onTime && v.pendingVector() === 0x30 && v.timerDeadline() === 0 && v.currentCount(due + 5) === 0) good++;
  }
  cfDec(good);
}

function scenarioPeriodic(): void {
  const v = cfFresh(solo, 0, true);
  const t0 = 5000;
  v.writeReg(R.APIC_OFF_LVT_TIMER, 0x20040, t0);
  v.writeReg(R.APIC_OFF_TIMER_DCR, 0xb, t0);
  v.writeReg(R.APIC_OFF_TIMER_ICR, 100, t0);
  let fired = 0;
  let first = 0;
  let last = 0;
  for (;;) {
    const due = v.timerDeadline();
    if (due === 0 || due > t0 + 1050) break;
    if (!v.timerExpire(due)) break;
    if (fired === 0) first = due;
    last = due;
    fired++;
    v.ackVector(0x40);
    v.writeReg(R.APIC_OFF_EOI, 0, due);
  }
  cfStart();
  cfDec(fired);
  cfDec(first);
  cfDec(last);
  cfDec(v.timerDeadline());
  cfDec(v.timerExpire(6450) ? 1 : 0);
  cfDec(v.timerDeadline());
  cfDec(v.currentCount(6450));
}

const CCR_TIMES = [0, 1, 2, 1001, 1999, 2000, 9999];
const CCR_WANT = '1000 1000 999 500 1 0 0 1000 999 750 750 3500';

function scenarioCount(): void {
  const v = cfFresh(solo, 0, true);
  const t0 = 10000;
  v.writeReg(R.APIC_OFF_LVT_TIMER, 0x30, t0);
  v.writeReg(R.APIC_OFF_TIMER_ICR, 1000, t0);
  cfStart();
  for (let i = 0; i < CCR_TIMES.length; i++) cfDec(v.readReg(R.APIC_OFF_TIMER_CCR, t0 + CCR_TIMES[i]));
  v.writeReg(R.APIC_OFF_LVT_TIMER, 0x20030, t0);
  v.writeReg(R.APIC_OFF_TIMER_ICR, 1000, t0);
  cfDec(v.readReg(R.APIC_OFF_TIMER_CCR, t0 + 2000));
  cfDec(v.readReg(R.APIC_OFF_TIMER_CCR, t0 + 2002));
  cfFresh(v, 0, true);
  v.writeReg(R.APIC_OFF_LVT_TIMER, 0x30, 0);
  v.writeReg(R.APIC_OFF_TIMER_ICR, 1000, 0);
  cfDec(v.readReg(R.APIC_OFF_TIMER_CCR, 500));
  v.writeReg(R.APIC_OFF_TIMER_DCR, 0x1, 500);
  cfDec(v.readReg(R.APIC_OFF_TIMER_CCR, 500));
  cfDec(v.timerDeadline());
}

function scenarioDeadline(): void {
  const v = cfFresh(solo, 0, true);
  v.writeReg(R.APIC_OFF_LVT_TIMER, 0x40050, 100);
  v.msrWrite(R.MSR_IA32_TSC_DEADLINE, 1, 0x1000, 100);
  cfStart();
  cfHex(v.timerDeadline());
  v.msrRead(R.MSR_IA32_TSC_DEADLINE, 200);
  cfHex(v.msrHi);
  cfHex(v.msrLo);
  v.writeReg(R.APIC_OFF_TIMER_ICR, 1234, 200);
  cfDec(v.readReg(R.APIC_OFF_TIMER_ICR, 200));
  cfDec(v.readReg(R.APIC_OFF_TIMER_CCR, 200));
  cfFlag(v.timerExpire(0x100000fff));
  cfFlag(v.timerExpire(0x100001000));
  cfDec(v.pendingVector());
  v.ackVector(0x50);
  v.writeReg(R.APIC_OFF_EOI, 0, 0x100001000);
  cfDec(v.timerDeadline());
  v.msrRead(R.MSR_IA32_TSC_DEADLINE, 0x100001001);
  cfHex(v.msrHi);
  cfHex(v.msrLo);
  v.msrWrite(R.MSR_IA32_TSC_DEADLINE, 0, 500, 0x100002000);
  cfDec(sink.kicks);
  v.writeReg(R.APIC_OFF_LVT_TIMER, 0x50, 0x100002000);
  v.msrWrite(R.MSR_IA32_TSC_DEADLINE, 0, 7000, 0x100002000);
  cfDec(v.timerDeadline());
}

function scenarioMasked(): void {
  const v = cfFresh(solo, 0, true);
  v.writeReg(R.APIC_OFF_LVT_TIMER, 0x10000 | 0x20000 | 0x30, 0);
  v.writeReg(R.APIC_OFF_TIMER_ICR, 10, 0);
  cfStart();
  cfDec(v.timerDeadline());
  cfFlag(v.timerExpire(20));
  cfDec(v.timerDeadline());
  cfDec(v.pendingVector());
  cfDec(sink.kicks);
  cfDec(v.readReg(R.APIC_OFF_TIMER_CCR, 25));
  v.writeReg(R.APIC_OFF_LVT_TIMER, 0x20030, 45);
  cfDec(v.pendingVector());
  cfFlag(v.timerExpire(60));
  cfDec(v.pendingVector());
  v.writeReg(R.APIC_OFF_TIMER_ICR, 0, 61);
  cfDec(v.timerDeadline());
  const b = cfFresh(huge, 0, true);
  b.writeReg(R.APIC_OFF_TIMER_DCR, 0xa, 0);
  b.writeReg(R.APIC_OFF_TIMER_ICR, 0xffffffff, 7);
  cfDec(b.timerDeadline());
  cfDec(b.readReg(R.APIC_OFF_TIMER_CCR, 7 + 128 * 8192));
}

function scenarioDisable(): void {
  const v = cfFresh(solo, 0, true);
  v.acceptIrq(0x70, false);
  cfServe(v, 0x90, false);
  v.writeReg(R.APIC_OFF_LVT_LINT0, 0x700, 0);
  v.writeReg(R.APIC_OFF_SVR, 0x0ff, 0);
  cfStart();
  cfHex(v.readReg(R.APIC_OFF_LVT_LINT0, 0));
  v.writeReg(R.APIC_OFF_LVT_LINT1, 0x400, 0);
  cfHex(v.readReg(R.APIC_OFF_LVT_LINT1, 0));
  cfFlag(v.acceptIrq(0x71, false));
  cfHex(v.readReg(0x140, 0));
  v.writeReg(R.APIC_OFF_EOI, 0, 0);
  cfDec(v.pendingVector());
  cfFlag(v.receive(R.DM_INIT, 0, false));
  cfFlag(v.receive(R.DM_NMI, 0, false));
  cfDec(sink.inits);
  cfDec(sink.nmis);
  v.lint(0, true);
  v.lint(1, true);
  cfDec(sink.extInts);
  cfDec(sink.nmis);
  v.writeReg(R.APIC_OFF_SVR, 0x1ff, 0);
  cfHex(v.readReg(R.APIC_OFF_LVT_LINT0, 0));
  v.lint(0, true);
  cfDec(sink.extInts);
  v.writeReg(R.APIC_OFF_LVT_LINT0, 0x700, 0);
  v.writeReg(R.APIC_OFF_LVT_LINT1, 0x33, 0);
  v.lint(0, true);
  v.lint(1, true);
  v.lint(0, false);
  cfDec(sink.extInts);
  cfDec(v.pendingVector());
}

// ---- seeded random operations ----

const ODD_VALUES = [Number.NaN, -1, 4294967296, 9007199254740992, 18446744073709551616, 1.5, -2147483648, Infinity];
const BASE_VALUES = [0xfee00c00, 0xfee00800, 0xfee00000, 0xfee00400];

class CfFuzz {
  seed = 0x5eed1234;
  sum = 0;
  broken = 0;
  now = 0;
  x2apicOps = 0;
  okMsrWrites = 0;
  delivered = 0;
  readonly bus = new ArrayBus();
  readonly sinks = [new CountingSink(), new CountingSink()];

  constructor() {
    this.bus.vlapics.push(new Vlapic(0, this.sinks[0], this.bus, 1));
    this.bus.vlapics.push(new Vlapic(1, this.sinks[1], this.bus, 2));
  }

  nextRandom(): number {
    let x = this.seed;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    this.seed = x;
    return x;
  }

  below(n: number): number {
    return this.nextRandom() % n;
  }

  fold(value: number): void {
    this.sum = (this.sum * 31 + (value % 4294967291)) % 4294967291;
  }

  value(): number {
    const kind = this.below(8);
    if (kind === 0) return ODD_VALUES[this.below(ODD_VALUES.length)];
    if (kind === 1) return this.nextRandom() & 0xff;
    if (kind === 2) return this.nextRandom() & 0x1ffff;
    if (kind === 3) return 0;
    return this.nextRandom();
  }

  step(): void {
    const v = this.bus.vlapics[this.below(2)];
    this.now += this.below(5000);
    const now = this.now;
    const op = this.below(10);
    if (op < 4) {
      const offset = this.below(4) === 0 ? this.below(0x1400) - 0x100 : this.below(64) * 16;
      this.fold(v.writeReg(offset, this.value(), now));
      this.fold(v.readReg(this.below(0x1000), now));
    } else if (op < 7) {
      const pick = this.below(4);
      let msr = pick === 0 ? 0x800 + this.below(0x40) : pick === 1 ? R.MSR_IA32_APIC_BASE : pick === 2 ? R.MSR_IA32_TSC_DEADLINE : this.nextRandom();
      if (pick === 0 && this.below(8) === 0) msr = 0x800 + this.below(0x400);
      const lo = pick === 1 && this.below(4) !== 0 ? BASE_VALUES[this.below(4)] : this.value();
      const status = v.msrWrite(msr, this.below(4) === 0 ? this.nextRandom() : 0, lo, now);
      if (status === R.VLAPIC_OK) this.okMsrWrites++;
      this.fold(status);
      this.fold(v.msrRead(msr, now));
      this.fold(v.msrHi);
      this.fold(v.msrLo);
    } else if (op === 7) {
      // keep interrupts flowing: software-enable now and then, in either mode
      if (this.below(4) === 0) {
        v.writeReg(R.APIC_OFF_SVR, 0x1ff, now);
        v.msrWrite(0x80f, 0, 0x1ff, now);
      }
      this.fold(v.acceptIrq(this.below(300) - 20, this.below(2) === 0) ? 1 : 0);
    } else if (op === 8) {
      const vector = v.pendingVector();
      if (vector >= 0) {
        if (!v.ackVector(vector)) this.broken++;
        this.delivered++;
      }
      if (this.below(2) === 0) v.writeReg(R.APIC_OFF_EOI, 0, now);
    } else {
      this.fold(v.timerExpire(now) ? 1 : 0);
      v.lint(this.below(3), this.below(2) === 0);
    }
    if (v.mode === R.VLAPIC_MODE_X2APIC) this.x2apicOps++;
    this.verify(0);
    this.verify(1);
  }

  verify(i: number): void {
    const x = this.bus.vlapics[i];
    if ((x.irr[0] & 0xffff) !== 0 || (x.isr[0] & 0xffff) !== 0) this.broken++;
    let isrv = 0;
    for (let w = 7; w >= 0; w--) {
      if (x.isr[w] !== 0) {
        isrv = w * 32 + 31 - Math.clz32(x.isr[w]);
        break;
      }
    }
    const ppr = x.tpr >>> 4 >= isrv >>> 4 ? x.tpr : isrv & 0xf0;
    if (x.ppr !== ppr) this.broken++;
    const p = x.pendingVector();
    if (p !== -1 && (p < 16 || p >>> 4 <= x.ppr >>> 4)) this.broken++;
    if (x.mode < 0 || x.mode > 2) this.broken++;
    for (let k = 0; k < R.LVT_COUNT; k++) {
      if ((x.lvt[k] & ~R.LVT_WRITABLE[k]) !== 0) this.broken++;
      if ((x.svr & 0x100) === 0 && (x.lvt[k] & 0x10000) === 0) this.broken++;
    }
    const due = x.timerDeadline();
    if (!(due >= 0 && due < 9007199254740992) || Math.floor(due) !== due) this.broken++;
    this.fold(x.ppr);
    this.fold(x.highestIrr() + 1);
    this.fold(due);
    this.fold(x.esr);
  }

  runMany(n: number): void {
    for (let i = 0; i < n; i++) this.step();
  }
}

const fuzz = new CfFuzz();
const RANDOM_OPS = 10000;

function runScenarios(): void {
  scenarioReset();
  check('vlapic reset', 0, RESET_WANT);
  scenarioPpr();
  check('vlapic ppr', 0, PPR_WANT);
  scenarioPriority();
  check('vlapic priority', 0, '146 -1 101 3 -1 101');
  scenarioEoi();
  check('vlapic eoi', 0, '0x80 0x40 0 0x0 1 64 1');
  scenarioEsr();
  check('vlapic esr', 0, '0x0 0x40 0x20 0x80 0x0 238');
  for (let i = 0; i < ICR_WANT.length; i++) {
    scenarioIcr(i);
    check('vlapic icr', i, ICR_WANT[i]);
  }
  scenarioIcrRead();
  check('vlapic icr read', 0, '0x12000000 0xccfff 0');
  scenarioDestinations();
  check('vlapic destinations', 0, '1 0 1 1 1 1 0 0 1 1 0 0 1 1 1 0 0 1 0 1 0 0x20008');
  scenarioLowest();
  check('vlapic lowest priority', 0, '1 2 2 1 -1 1');
  scenarioIpis();
  check('vlapic ipis', 0, '-1 69 -1 -1 70 70 71 71 71 0 1 153 1');
  scenarioX2apic();
  check('vlapic x2apic', 0, '0x23 0x60010 0x20008 0x45 0x3 0x40 3 85 0x20 0x0 1');
  scenarioGp();
  check('vlapic x2apic gp', 0, GP_WANT);
  scenarioApicBase();
  check('vlapic apic base', 0, '3 3 0 3 0 3 0 0xff 0x2000000 0xfee00800');
  scenarioOneShot();
  check('vlapic one-shot', 0, ONESHOT_WANT);
  scenarioPeriodic();
  check('vlapic periodic', 0, '10 5100 6000 6100 1 6500 50');
  scenarioCount();
  check('vlapic current count', 0, CCR_WANT);
  scenarioDeadline();
  check('vlapic tsc deadline', 0, '0x100001000 0x1 0x1000 0 0 0 1 80 0 0x0 0x0 2 0');
  scenarioMasked();
  check('vlapic masked timer', 0, '20 1 40 -1 0 8 -1 1 48 0 4503599626321927 4294967294');
  scenarioDisable();
  check('vlapic software disable', 0, '0x10700 0x10400 0 0x10000 112 1 1 1 1 1 2 0x10700 1 2 112');
}

say('conformance: vlapic');
runScenarios();
fuzz.runMany(RANDOM_OPS);
log.attach(com1);
log.begin(LOG_INFO);
log.str('random vlapic operations: ');
log.dec(RANDOM_OPS);
log.str(' checksum ');
log.hex(fuzz.sum, 8);
log.str(' x2apic ops ');
log.dec(fuzz.x2apicOps);
log.str(' ok msr writes ');
log.dec(fuzz.okMsrWrites);
log.str(' injected ');
log.dec(fuzz.delivered);
log.end();
say(fuzz.broken === 0 && fuzz.x2apicOps > 0 && fuzz.okMsrWrites > 0 && fuzz.delivered > 0 ? 'random invariants: ok' : 'random invariants: MISMATCH');
{
  const before = heapUsed();
  runScenarios();
  heapDelta('vlapic scenarios', before);
}
{
  const before = heapUsed();
  fuzz.runMany(RANDOM_OPS);
  heapDelta('10000 random vlapic operations', before);
}
say('conformance: vlapic done');
