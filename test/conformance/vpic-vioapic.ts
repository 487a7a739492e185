// Conformance: the vPIC (hv/vm/vpic.ts) and the vIOAPIC (hv/vm/vioapic.ts)
// compiled by the native pipeline must print what Node prints. Each scenario
// prints one line of vectors, register values and counts into the capture
// sink, checked against the value worked out by hand from the 8259A and
// 82093AA datasheets (the same cases as test/unit/vpic.test.ts and
// vioapic.test.ts). Then 10,000 seeded random port, MMIO, pin, INTA and EOI
// operations on one vPIC and one 48-pin vIOAPIC print a checksum both sides
// must agree on, with an invariant count that must be 0; running the
// scenarios and another 10,000 operations must not grow the heap.
import { heapUsed } from '../../arch/x86/intrinsics';
import { LOG_INFO, log } from '../../hv/log';
import { Vioapic, type VioapicSink } from '../../hv/vm/vioapic';
import { Vpic, type Vpic8259, type VpicSink } from '../../hv/vm/vpic';
import { capture, check, com1, heapDelta, say } from './lib';

class PicSink implements VpicSink {
  rises = 0;
  falls = 0;
  level = false;
  intr(asserted: boolean): void {
    if (asserted) this.rises++;
    else this.falls++;
    this.level = asserted;
  }
}

/** Keeps the last message's fields and a count. */
class IoSink implements VioapicSink {
  count = 0;
  levels = 0;
  destMode = 0;
  dest = 0;
  mode = 0;
  vector = 0;
  level = 0;
  deliver(destMode: number, dest: number, deliveryMode: number, vector: number, levelTriggered: boolean): void {
    this.count++;
    this.destMode = destMode;
    this.dest = dest;
    this.mode = deliveryMode;
    this.vector = vector;
    this.level = levelTriggered ? 1 : 0;
    if (levelTriggered) this.levels++;
  }
}

const BASE = 0xfec00000;

// Everything is built here, at init; the scenarios only reset and reuse it.
const picSink = new PicSink();
const pic = new Vpic(picSink);
const ioSink = new IoSink();
const io = new Vioapic(24, BASE, ioSink);
const io48 = new Vioapic(48, BASE, ioSink);
const io120 = new Vioapic(120, BASE, ioSink);

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

// ---- vPIC ----

/** Power-on state with every input line low and the sink's counters at 0. */
function cfPic(): void {
  pic.reset();
  for (let i = 0; i < 16; i++) if (i !== 2) pic.setIrq(i, false);
  picSink.rises = 0;
  picSink.falls = 0;
}

function outb(port: number, value: number): void {
  pic.pioWrite(port, 1, value);
}

function inb(port: number): number {
  return pic.pioRead(port, 1);
}

function cfIsr(port: number): number {
  outb(port, 0x0b);
  return inb(port);
}

function cfIrr(port: number): number {
  outb(port, 0x0a);
  return inb(port);
}

/** Master at 0x08, slave at 0x70, cascade on IR2, ICW4 as given. */
function cfInitPc(icw4: number, masterIcw4: number): void {
  outb(0x20, 0x11);
  outb(0x21, 0x08);
  outb(0x21, 0x04);
  outb(0x21, masterIcw4);
  outb(0xa0, 0x11);
  outb(0xa1, 0x70);
  outb(0xa1, 0x02);
  outb(0xa1, icw4);
}

function cfPc(): void {
  cfPic();
  cfInitPc(0x01, 0x01);
}

function scenarioPicPowerOn(): void {
  cfPic();
  cfStart();
  cfDec(inb(0x21));
  cfDec(inb(0xa1));
  cfDec(inb(0x4d0));
  cfDec(inb(0x4d1));
  cfDec(inb(0x20));
  pic.pulse(1);
  cfDec(pic.pendingVector());
  cfDec(pic.intAck());
  cfDec(picSink.rises);
}

function scenarioPicInit(): void {
  cfPc();
  cfStart();
  cfDec(inb(0x21));
  cfDec(inb(0xa1));
  pic.pulse(1);
  cfDec(picSink.rises);
  cfDec(pic.pendingVector());
  cfDec(pic.intAck());
  cfDec(cfIsr(0x20));
  cfDec(cfIrr(0x20));
  outb(0x20, 0x20);
  cfDec(cfIsr(0x20));
  pic.pulse(14);
  cfDec(pic.intAck());
  cfDec(picSink.rises);
  cfDec(picSink.falls);
}

function scenarioPicInitForms(): void {
  cfStart();
  // cascade without ICW4
  cfPic();
  outb(0x20, 0x10);
  outb(0x21, 0x20);
  outb(0x21, 0x04);
  cfFlag(pic.master.ready);
  outb(0x21, 0xfe);
  cfDec(inb(0x21));
  pic.pulse(1);
  cfDec(pic.pendingVector());
  pic.pulse(0);
  cfDec(pic.intAck());
  cfDec(cfIsr(0x20));
  // single mode with ICW4 (AEOI); IR2 answered by the master
  cfPic();
  outb(0x20, 0x13);
  outb(0x21, 0x40);
  outb(0x21, 0x03);
  cfFlag(pic.master.ready);
  outb(0x21, 0x00);
  pic.pulse(3);
  cfDec(pic.intAck());
  cfDec(cfIsr(0x20));
  outb(0xa0, 0x11);
  outb(0xa1, 0x70);
  outb(0xa1, 0x02);
  outb(0xa1, 0x01);
  pic.pulse(9);
  cfDec(pic.pendingVector());
  cfDec(pic.intAck());
  // single mode without ICW4
  cfPic();
  outb(0x20, 0x12);
  outb(0x21, 0x50);
  cfFlag(pic.master.ready);
  outb(0x21, 0xfd);
  cfDec(inb(0x21));
  pic.pulse(0);
  pic.pulse(1);
  cfDec(pic.intAck());
  // the edge sense is reset by ICW1
  cfPic();
  pic.setIrq(4, true);
  cfInitPc(0x01, 0x01);
  cfDec(pic.pendingVector());
  pic.setIrq(4, false);
  pic.setIrq(4, true);
  cfDec(pic.pendingVector());
  // ICW2 bits 2:0 ignored
  cfPic();
  outb(0x20, 0x11);
  outb(0x21, 0x27);
  outb(0x21, 0x04);
  outb(0x21, 0x01);
  pic.pulse(3);
  cfDec(pic.intAck());
}

function scenarioPicPriority(): void {
  cfPc();
  cfStart();
  pic.pulse(5);
  pic.pulse(3);
  cfDec(pic.pendingVector());
  cfDec(pic.intAck());
  cfDec(pic.pendingVector());
  pic.pulse(1);
  cfDec(pic.intAck());
  cfDec(cfIsr(0x20));
  outb(0x20, 0x20);
  cfDec(cfIsr(0x20));
  cfDec(pic.pendingVector());
  outb(0x20, 0x20);
  cfDec(pic.intAck());
  cfPc();
  pic.pulse(3);
  pic.intAck();
  pic.pulse(1);
  pic.intAck();
  outb(0x20, 0x63);
  cfDec(cfIsr(0x20));
  outb(0x20, 0x67);
  cfDec(cfIsr(0x20));
}

function scenarioPicRotation(): void {
  cfPc();
  cfStart();
  pic.pulse(0);
  pic.pulse(1);
  cfDec(pic.intAck());
  outb(0x20, 0xa0);
  pic.pulse(0);
  cfDec(pic.intAck());
  outb(0x20, 0xa0);
  cfDec(pic.intAck());
  cfDec(pic.master.lowestPriority);
  cfPc();
  outb(0x20, 0xc4);
  pic.pulse(3);
  pic.pulse(6);
  cfDec(pic.intAck());
  outb(0x20, 0xe6);
  cfDec(cfIsr(0x20));
  cfDec(pic.master.lowestPriority);
  pic.pulse(7);
  cfDec(pic.intAck());
  outb(0x20, 0x20);
  cfDec(pic.intAck());
}

function scenarioPicAeoi(): void {
  cfPic();
  cfInitPc(0x03, 0x03);
  cfStart();
  pic.pulse(4);
  cfDec(pic.intAck());
  cfDec(cfIsr(0x20));
  outb(0x20, 0x80);
  pic.pulse(4);
  pic.pulse(5);
  cfDec(pic.intAck());
  cfDec(pic.intAck());
  pic.pulse(4);
  pic.pulse(6);
  cfDec(pic.intAck());
  outb(0x20, 0x00);
  cfDec(pic.intAck());
  pic.pulse(0);
  pic.pulse(7);
  cfDec(pic.intAck());
  cfDec(pic.master.lowestPriority);
  cfPic();
  cfInitPc(0x03, 0x03);
  pic.pulse(4);
  pic.pulse(5);
  pic.intAck();
  cfDec(picSink.rises);
  cfDec(picSink.falls);
  pic.intAck();
  cfDec(picSink.rises);
  cfDec(picSink.falls);
  pic.pulse(9);
  pic.pulse(10);
  cfDec(pic.intAck());
  cfDec(pic.intAck());
  cfDec(pic.pendingVector());
}

function scenarioPicPoll(): void {
  cfPc();
  cfStart();
  pic.pulse(6);
  outb(0x20, 0x0c);
  cfDec(inb(0x20));
  cfDec(cfIsr(0x20));
  cfDec(cfIrr(0x20));
  outb(0x20, 0x20);
  outb(0x20, 0x0c);
  cfDec(inb(0x21));
  outb(0x21, 0x37);
  cfDec(inb(0x21));
  cfPc();
  pic.pulse(5);
  outb(0x20, 0x0f);
  cfDec(inb(0x20));
  cfDec(inb(0x20));
  cfPc();
  pic.pulse(11);
  outb(0x20, 0x0c);
  cfDec(inb(0x20));
  outb(0xa0, 0x0c);
  cfDec(inb(0xa0));
  cfDec(cfIsr(0x20));
  cfDec(cfIsr(0xa0));
}

function scenarioPicSpecialMask(): void {
  cfPc();
  cfStart();
  pic.pulse(3);
  pic.intAck();
  outb(0x21, 0x08);
  outb(0x20, 0x68);
  pic.pulse(5);
  cfDec(pic.pendingVector());
  cfDec(pic.intAck());
  cfDec(cfIsr(0x20));
  outb(0x20, 0x20);
  cfDec(cfIsr(0x20));
  outb(0x20, 0x48);
  outb(0x21, 0x00);
  pic.pulse(6);
  cfDec(pic.pendingVector());
  outb(0x20, 0x20);
  cfDec(pic.intAck());
}

function scenarioPicElcr(): void {
  cfPc();
  cfStart();
  outb(0x4d0, 0xff);
  outb(0x4d1, 0xff);
  cfDec(inb(0x4d0));
  cfDec(inb(0x4d1));
  cfFlag(pic.isLevelTriggered(0));
  cfFlag(pic.isLevelTriggered(8));
  cfFlag(pic.isLevelTriggered(13));
  cfFlag(pic.isLevelTriggered(9));
  pic.setIrq(0, true);
  cfDec(pic.intAck());
  outb(0x20, 0x20);
  cfDec(pic.pendingVector());
  cfPc();
  outb(0x4d0, 0x20);
  pic.setIrq(5, true);
  cfDec(cfIrr(0x20));
  cfDec(pic.intAck());
  cfDec(cfIrr(0x20));
  outb(0x20, 0x20);
  cfDec(pic.pendingVector());
  pic.setIrq(5, false);
  cfDec(pic.pendingVector());
  cfDec(picSink.rises);
  cfDec(picSink.falls);
  cfPc();
  pic.setIrq(4, true);
  cfDec(pic.intAck());
  outb(0x20, 0x20);
  cfDec(pic.pendingVector());
  pic.setIrq(4, true);
  cfDec(pic.pendingVector());
  pic.setIrq(4, false);
  pic.setIrq(4, true);
  pic.setIrq(4, false);
  cfDec(pic.intAck());
  cfPc();
  outb(0x4d1, 0x04);
  pic.setIrq(10, true);
  cfDec(pic.intAck());
  outb(0xa0, 0x20);
  cfDec(pic.pendingVector());
  outb(0x20, 0x20);
  cfDec(pic.intAck());
}

function scenarioPicSpurious(): void {
  cfPc();
  cfStart();
  outb(0x4d0, 0x20);
  pic.setIrq(5, true);
  cfDec(pic.pendingVector());
  pic.setIrq(5, false);
  cfDec(picSink.rises);
  cfDec(picSink.falls);
  cfDec(pic.intAck());
  cfDec(cfIsr(0x20));
  cfPc();
  pic.pulse(4);
  outb(0x21, 0x10);
  cfDec(pic.intAck());
  cfDec(cfIsr(0x20));
  outb(0x21, 0x00);
  cfDec(pic.intAck());
  cfPc();
  outb(0x4d1, 0x08);
  pic.setIrq(11, true);
  pic.setIrq(11, false);
  cfDec(pic.pendingVector());
  cfDec(pic.intAck());
  cfDec(cfIsr(0x20));
  cfDec(cfIsr(0xa0));
}

function scenarioPicCascade(): void {
  cfPc();
  cfStart();
  pic.pulse(3);
  pic.pulse(9);
  cfDec(pic.intAck());
  cfDec(cfIsr(0x20));
  cfDec(cfIsr(0xa0));
  cfDec(pic.pendingVector());
  outb(0xa0, 0x20);
  cfDec(pic.pendingVector());
  outb(0x20, 0x20);
  cfDec(pic.intAck());
  cfPc();
  pic.pulse(12);
  cfDec(pic.intAck());
  pic.pulse(9);
  cfDec(pic.pendingVector());
  cfPic();
  cfInitPc(0x01, 0x11);
  pic.pulse(12);
  cfDec(pic.intAck());
  pic.pulse(13);
  cfDec(pic.pendingVector());
  pic.pulse(9);
  cfDec(pic.intAck());
  pic.pulse(3);
  cfDec(pic.pendingVector());
  cfDec(cfIsr(0x20));
  cfDec(cfIsr(0xa0));
  cfPc();
  outb(0x21, 0x04);
  pic.pulse(8);
  cfDec(pic.pendingVector());
  outb(0x21, 0x00);
  cfDec(pic.intAck());
  outb(0xa0, 0x20);
  outb(0x20, 0x20);
  outb(0xa1, 0x80);
  pic.pulse(15);
  cfDec(pic.pendingVector());
  pic.setIrq(2, true);
  pic.pulse(2);
  cfDec(pic.pendingVector());
}

function scenarioPicPorts(): void {
  cfPc();
  cfStart();
  cfDec(pic.pioRead(0x20, 2));
  cfDec(pic.pioRead(0x21, 4));
  pic.pioWrite(0x21, 2, 0xffff);
  cfDec(inb(0x21));
  cfDec(pic.pioRead(0x22, 1));
  outb(0x21, 0x1234);
  cfDec(inb(0x21));
  outb(0x21, -1);
  cfDec(inb(0x21));
  outb(0x21, Number.NaN);
  cfDec(inb(0x21));
  outb(0x4d0, 0x80);
  picSink.rises = 0;
  picSink.falls = 0;
  pic.pulse(1);
  pic.reset();
  cfDec(picSink.rises);
  cfDec(picSink.falls);
  cfDec(inb(0x21));
  cfDec(inb(0x4d0));
}

// ---- vIOAPIC ----

/** `v` after reset with every wire low and the sink's count at 0. */
function cfIo(v: Vioapic): Vioapic {
  v.reset();
  for (let pin = 0; pin < v.pins; pin++) v.setIrq(pin, false);
  ioSink.count = 0;
  ioSink.levels = 0;
  return v;
}

function ioRd(v: Vioapic, reg: number): number {
  v.mmioWrite(BASE, 4, 0, reg);
  return v.mmioRead(BASE + 0x10, 4);
}

function ioWr(v: Vioapic, reg: number, value: number): void {
  v.mmioWrite(BASE, 4, 0, reg);
  v.mmioWrite(BASE + 0x10, 4, 0, value);
}

function ioRte(v: Vioapic, pin: number, hi: number, lo: number): void {
  ioWr(v, 0x11 + 2 * pin, hi);
  ioWr(v, 0x10 + 2 * pin, lo);
}

function cfLast(): void {
  cfDec(ioSink.destMode);
  cfDec(ioSink.dest);
  cfDec(ioSink.mode);
  cfDec(ioSink.vector);
  cfDec(ioSink.level);
}

function scenarioIoRegisters(): void {
  const v = cfIo(io);
  cfStart();
  cfHex(ioRd(v, 0x00));
  cfHex(ioRd(v, 0x01));
  cfHex(ioRd(v, 0x02));
  cfHex(ioRd(v, 0x10));
  cfHex(ioRd(v, 0x11));
  cfHex(cfIo(io48).readReg(0x01));
  cfHex(cfIo(io120).readReg(0x01));
  ioWr(v, 0x00, 0xffffffff);
  cfHex(ioRd(v, 0x00));
  cfHex(ioRd(v, 0x02));
  ioWr(v, 0x01, 0);
  cfHex(ioRd(v, 0x01));
  v.mmioWrite(BASE, 4, 0, 0x1234);
  cfHex(v.mmioRead(BASE, 4));
}

function scenarioIoReadOnly(): void {
  const v = cfIo(io);
  cfStart();
  ioWr(v, 0x10, 0xffffffff);
  cfHex(ioRd(v, 0x10));
  ioWr(v, 0x11, 0xffffffff);
  cfHex(ioRd(v, 0x11));
  ioWr(v, 0x12, 0x5021);
  cfHex(ioRd(v, 0x12));
  cfHex(ioRd(v, 0x03));
  ioWr(v, 0x40, 0x30);
  cfHex(ioRd(v, 0x40));
  const before = v.badAccesses;
  cfHex(v.mmioRead(BASE, 1));
  cfHex(v.mmioRead(BASE + 0x10, 8));
  cfHex(v.mmioValueHi);
  v.mmioWrite(BASE + 0x40, 4, 0, 0x30);
  cfDec(v.badAccesses - before);
}

function scenarioIoEdge(): void {
  const v = cfIo(io);
  cfStart();
  ioRte(v, 0, 0x03000000, 0x30);
  v.setIrq(0, true);
  v.setIrq(0, true);
  v.setIrq(0, false);
  cfDec(ioSink.count);
  cfLast();
  v.setIrq(0, true);
  v.pulse(0);
  v.setIrq(0, false);
  v.pulse(0);
  cfDec(ioSink.count);
  cfHex(ioRd(v, 0x10));
}

function scenarioIoLevel(): void {
  const v = cfIo(io);
  cfStart();
  ioRte(v, 1, 0x01000000, 0x8041);
  v.setIrq(1, true);
  cfDec(ioSink.count);
  cfDec(ioSink.level);
  cfHex(ioRd(v, 0x12));
  v.setIrq(1, true);
  v.setIrq(1, false);
  v.setIrq(1, true);
  cfDec(ioSink.count);
  v.eoi(0x42);
  cfDec(ioSink.count);
  v.eoi(0x41);
  cfDec(ioSink.count);
  cfHex(ioRd(v, 0x12));
  v.setIrq(1, false);
  v.eoi(0x41);
  cfDec(ioSink.count);
  cfHex(ioRd(v, 0x12));
  v.setIrq(1, true);
  cfDec(ioSink.count);
  ioRte(v, 3, 0, 0x8050);
  ioRte(v, 4, 0, 0x8050);
  ioRte(v, 5, 0, 0x0050);
  v.setIrq(3, true);
  v.setIrq(4, true);
  v.setIrq(3, false);
  v.setIrq(4, false);
  cfHex(ioRd(v, 0x16));
  cfHex(ioRd(v, 0x18));
  v.eoi(0x50);
  cfHex(ioRd(v, 0x16));
  cfHex(ioRd(v, 0x18));
  cfDec(ioSink.count);
}

function scenarioIoMask(): void {
  const v = cfIo(io);
  cfStart();
  ioRte(v, 2, 0, 0x10030);
  v.setIrq(2, true);
  ioWr(v, 0x14, 0x30);
  cfDec(ioSink.count);
  v.setIrq(2, false);
  v.setIrq(2, true);
  cfDec(ioSink.count);
  ioRte(v, 6, 0, 0x18044);
  v.setIrq(6, true);
  cfDec(ioSink.count);
  ioWr(v, 0x1c, 0x8044);
  cfDec(ioSink.count);
  cfDec(ioSink.vector);
  cfDec(ioSink.level);
  cfHex(ioRd(v, 0x1c));
  ioRte(v, 7, 0, 0x8060);
  v.setIrq(7, true);
  ioWr(v, 0x1e, 0x18060);
  cfHex(ioRd(v, 0x1e));
  v.eoi(0x60);
  cfHex(ioRd(v, 0x1e));
  cfDec(ioSink.count);
  ioWr(v, 0x1e, 0x8060);
  cfDec(ioSink.count);
  ioRte(v, 8, 0, 0x8070);
  v.setIrq(8, true);
  cfDec(ioSink.count);
  ioWr(v, 0x20, 0x0070);
  cfHex(ioRd(v, 0x20));
  ioWr(v, 0x20, 0x8070);
  cfDec(ioSink.count);
  cfHex(ioRd(v, 0x20));
}

function scenarioIoPolarity(): void {
  const v = cfIo(io);
  cfStart();
  ioRte(v, 9, 0, 0x2031);
  v.setIrq(9, true);
  cfDec(ioSink.count);
  v.setIrq(9, false);
  cfDec(ioSink.count);
  v.setIrq(10, true);
  ioRte(v, 10, 0, 0xa042);
  cfDec(ioSink.count);
  v.setIrq(10, false);
  cfDec(ioSink.count);
  cfDec(ioSink.vector);
  cfDec(ioSink.level);
  v.setIrq(10, true);
  v.eoi(0x42);
  cfDec(ioSink.count);
  cfHex(ioRd(v, 0x24));
  ioRte(v, 11, 0, 0xa043);
  cfDec(ioSink.count);
  cfDec(ioSink.vector);
}

// [pin, high word, low word] for scenarioIoDestinations.
const DEST_CASES = [12, 0x0f000000, 0x0850, 13, 0xff000000, 0x0151, 14, 0x02000000, 0x0400, 15, 0, 0x0700, 16, 0x81000000, 0x0d52];
const DEST_WANT = '1 15 0 80 0 0 255 1 81 0 0 2 4 0 0 0 0 7 0 0 1 129 5 82 0';

function scenarioIoDestinations(): void {
  const v = cfIo(io);
  cfStart();
  for (let i = 0; i < DEST_CASES.length; i += 3) {
    ioRte(v, DEST_CASES[i], DEST_CASES[i + 1], DEST_CASES[i + 2]);
    v.pulse(DEST_CASES[i]);
    cfLast();
  }
}

function scenarioIo48(): void {
  const v = cfIo(io48);
  cfStart();
  ioRte(v, 47, 0x01000000, 0x8080);
  cfHex(ioRd(v, 0x6e));
  cfHex(ioRd(v, 0x6f));
  cfHex(ioRd(v, 0x70));
  const before = v.ignoredPins;
  v.setIrq(48, true);
  v.setIrq(-1, true);
  v.setIrq(1.5, true);
  v.pulse(Number.NaN);
  cfDec(v.ignoredPins - before);
  v.setIrq(47, true);
  cfDec(ioSink.count);
}

function scenarioIoReset(): void {
  const v = cfIo(io);
  cfStart();
  ioRte(v, 1, 0x01000000, 0x8041);
  v.setIrq(1, true);
  ioWr(v, 0x00, 0x03000000);
  v.reset();
  cfHex(ioRd(v, 0x00));
  cfHex(ioRd(v, 0x12));
  cfDec(v.lines[1]);
  ioWr(v, 0x12, 0x8041);
  cfDec(ioSink.count);
}

// ---- seeded random operations ----

const ODD_VALUES = [Number.NaN, -1, 4294967296, 9007199254740992, 1.5, -2147483648, Infinity, 0x7fffffff];
const PIC_PORTS = [0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1];
const ICW1_VALUES = [0x11, 0x13, 0x19, 0x10, 0x12];
const ODD_SIZES = [1, 2, 8];

class CfFuzz {
  seed = 0x8259a;
  sum = 0;
  broken = 0;
  acks = 0;
  realAcks = 0;
  readonly picSink: PicSink;
  readonly pic: Vpic;
  readonly ioSink: IoSink;
  readonly io: Vioapic;

  constructor() {
    this.picSink = new PicSink();
    this.pic = new Vpic(this.picSink);
    this.ioSink = new IoSink();
    this.io = new Vioapic(48, BASE, this.ioSink);
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

  odd(): number {
    return ODD_VALUES[this.below(ODD_VALUES.length)];
  }

  picStep(): void {
    const p = this.pic;
    const op = this.below(12);
    if (op < 4) {
      const port = this.below(16) === 0 ? this.below(0x500) : PIC_PORTS[this.below(6)];
      const size = this.below(16) === 0 ? 1 + this.below(4) : 1;
      let value = this.below(3) === 0 ? ICW1_VALUES[this.below(5)] : this.nextRandom() & 0xff;
      if (this.below(32) === 0) value = this.odd();
      p.pioWrite(port, size, value);
    } else if (op < 6) {
      const v = p.pioRead(PIC_PORTS[this.below(6)], 1);
      if (!(v >= 0 && v <= 0xff)) this.broken++;
      this.fold(v);
    } else if (op < 9) {
      const pin = this.below(32) === 0 ? this.odd() : this.below(16);
      if (this.below(3) === 0) p.pulse(pin);
      else p.setIrq(pin, this.below(2) === 0);
    } else if (op === 9) {
      const want = p.pendingVector();
      const v = p.intAck();
      this.acks++;
      if (want >= 0 && v !== want) this.broken++;
      if (want >= 0 && (v & 7) !== 7) this.realAcks++;
      if (!(v >= 0 && v <= 0xff)) this.broken++;
      this.fold(v);
    } else if (op === 10) {
      p.pioWrite(this.below(2) === 0 ? 0x20 : 0xa0, 1, 0x20);
    } else if (this.below(64) === 0) {
      p.reset();
    }
    this.verifyChip(p.master);
    this.verifyChip(p.slave);
    if (((p.master.lines & 4) !== 0) !== p.slave.resolveRequest() >= 0) this.broken++;
    const pending = p.pendingVector();
    if (p.intrLine !== pending >= 0) this.broken++;
    if (this.picSink.level !== p.intrLine) this.broken++;
    this.fold(pending + 1);
  }

  verifyChip(chip: Vpic8259): void {
    if (!this.isByte(chip.irr) || !this.isByte(chip.isr) || !this.isByte(chip.imr) || !this.isByte(chip.lines)) this.broken++;
    if (!this.isByte(chip.elcr) || !this.isByte(chip.vectorBase) || !this.isByte(chip.icw1) || !this.isByte(chip.icw3)) this.broken++;
    const level = chip.levelMask();
    if ((chip.irr & level) !== (chip.lines & level)) this.broken++;
    if ((chip.elcr & ~chip.elcrWritable) !== 0) this.broken++;
    if ((chip.vectorBase & 7) !== 0 || chip.lowestPriority < 0 || chip.lowestPriority > 7) this.broken++;
    this.fold(chip.irr * 0x10000 + chip.isr * 0x100 + chip.imr);
  }

  isByte(value: number): boolean {
    return value >= 0 && value <= 0xff && Math.floor(value) === value;
  }

  ioValue(): number {
    const kind = this.below(8);
    if (kind === 0) return this.odd();
    if (kind < 4) return ((this.nextRandom() & 0xffff) | (this.below(4) === 0 ? 0x10000 : 0)) >>> 0;
    return this.nextRandom();
  }

  ioStep(): void {
    const v = this.io;
    const op = this.below(10);
    if (op < 3) {
      const reg = this.below(4) === 0 ? this.below(256) : 0x10 + this.below(96);
      const size = this.below(16) === 0 ? ODD_SIZES[this.below(3)] : 4;
      const offset = this.below(16) === 0 ? this.below(0x1000) : 0;
      v.mmioWrite(BASE + offset, size, 0, reg);
      v.mmioWrite(BASE + 0x10, size, this.ioValue(), this.ioValue());
    } else if (op < 5) {
      v.mmioWrite(BASE, 4, 0, this.below(0x80));
      const r = v.mmioRead(BASE + (this.below(2) === 0 ? 0x10 : this.below(0x20)), this.below(8) === 0 ? 8 : 4);
      if (!(r >= 0 && r <= 0xffffffff)) this.broken++;
      this.fold(r);
      this.fold(v.mmioValueHi);
    } else if (op < 8) {
      const pin = this.below(32) === 0 ? this.odd() : this.below(50);
      if (this.below(3) === 0) v.pulse(pin);
      else v.setIrq(pin, this.below(2) === 0);
    } else if (op === 8) {
      v.eoi(this.below(2) === 0 ? this.ioSink.vector : this.ioValue());
    } else if (this.below(100) === 0) {
      v.reset();
    }
    for (let pin = 0; pin < 48; pin++) {
      const lo = v.redirLo[pin];
      if ((lo & 0x1000) !== 0) this.broken++;
      if ((lo & 0x4000) !== 0 && (lo & 0x8000) === 0) this.broken++;
      if ((lo & 0x1c000) === 0x8000 && v.isActive(pin)) this.broken++;
    }
    if (v.readReg(1) !== 0x002f0011 || v.id > 15 || v.regSelect > 0xff) this.broken++;
    const s = this.ioSink;
    if (s.destMode > 1 || s.dest > 0xff || s.mode > 7 || s.vector > 0xff) this.broken++;
    this.fold(s.count);
    this.fold(s.vector);
  }

  runMany(n: number): void {
    for (let i = 0; i < n; i++) {
      this.picStep();
      this.ioStep();
    }
  }
}

const fuzz = new CfFuzz();
const RANDOM_OPS = 10000;

function runScenarios(): void {
  scenarioPicPowerOn();
  check('vpic power-on', 0, '255 255 0 0 0 -1 7 0');
  scenarioPicInit();
  check('vpic init cascade icw4', 0, '0 0 1 9 9 2 0 0 118 2 2');
  scenarioPicInitForms();
  check('vpic init forms', 0, '1 254 -1 32 1 1 67 0 66 66 1 253 81 -1 12 35');
  scenarioPicPriority();
  check('vpic priority eoi', 0, '11 11 -1 9 10 8 -1 13 2 2');
  scenarioPicRotation();
  check('vpic rotation', 0, '8 9 8 1 14 0 6 15 11');
  scenarioPicAeoi();
  check('vpic aeoi', 0, '12 0 12 13 14 12 15 6 2 1 2 2 113 114 -1');
  scenarioPicPoll();
  check('vpic poll', 0, '134 64 0 0 55 133 32 130 131 4 8');
  scenarioPicSpecialMask();
  check('vpic special mask', 0, '13 13 40 8 -1 14');
  scenarioPicElcr();
  check('vpic elcr', 0, '248 222 0 0 0 1 8 -1 32 13 32 13 -1 2 2 12 -1 -1 12 114 -1 114');
  scenarioPicSpurious();
  check('vpic spurious', 0, '13 1 1 15 0 15 0 12 119 119 4 0');
  scenarioPicCascade();
  check('vpic cascade', 0, '113 4 2 -1 -1 11 116 -1 116 -1 113 -1 4 18 -1 112 -1 -1');
  scenarioPicPorts();
  check('vpic ports', 0, '65535 4294967295 0 255 52 255 0 1 1 255 0');
  scenarioIoRegisters();
  check('vioapic registers', 0, '0x0 0x170011 0x0 0x10000 0x0 0x2f0011 0x770011 0xf000000 0xf000000 0x170011 0x34');
  scenarioIoReadOnly();
  check('vioapic read-only', 0, '0xffffafff 0xffffffff 0x21 0x0 0x0 0xff 0xffffffff 0xffffffff 3');
  scenarioIoEdge();
  check('vioapic edge', 0, '1 0 3 0 48 0 3 0x30');
  scenarioIoLevel();
  check('vioapic level eoi', 0, '1 1 0xc041 1 1 2 0xc041 2 0x8041 3 0xc050 0xc050 0x8050 0x8050 5');
  scenarioIoMask();
  check('vioapic mask', 0, '0 1 1 2 68 1 0xc044 0x1c060 0x18060 3 4 5 0x70 6 0xc070');
  scenarioIoPolarity();
  check('vioapic polarity', 0, '0 1 1 2 66 1 2 0xa042 3 67');
  scenarioIoDestinations();
  check('vioapic destinations', 0, DEST_WANT);
  scenarioIo48();
  check('vioapic 48 pins', 0, '0x8080 0x1000000 0x0 4 1');
  scenarioIoReset();
  check('vioapic reset', 0, '0x0 0x10000 1 2');
}

say('conformance: vpic-vioapic');
runScenarios();
fuzz.runMany(RANDOM_OPS);
log.attach(com1);
log.begin(LOG_INFO);
log.str('random vpic/vioapic operations: ');
log.dec(RANDOM_OPS);
log.str(' checksum ');
log.hex(fuzz.sum, 8);
log.str(' intas ');
log.dec(fuzz.acks);
log.str(' real ');
log.dec(fuzz.realAcks);
log.str(' messages ');
log.dec(fuzz.ioSink.count);
log.str(' level ');
log.dec(fuzz.ioSink.levels);
log.end();
say(fuzz.broken === 0 && fuzz.realAcks > 50 && fuzz.ioSink.count > 100 && fuzz.ioSink.levels > 20
  ? 'random invariants: ok' : 'random invariants: MISMATCH');
{
  const before = heapUsed();
  runScenarios();
  heapDelta('vpic-vioapic scenarios', before);
}
{
  const before = heapUsed();
  fuzz.runMany(RANDOM_OPS);
  heapDelta('10000 random vpic/vioapic operations', before);
}
say('conformance: vpic-vioapic done');
