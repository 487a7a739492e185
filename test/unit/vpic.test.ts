// The vPIC (hv/vm/vpic.ts) against the Intel 8259A datasheet and the PC
// wiring (slave INT on master IR2, ELCR at 0x4D0/0x4D1). Every expected value
// is worked out by hand:
//   PC init: ICW1 0x11 (edge, cascade, ICW4 needed), ICW2 0x08 / 0x70,
//            ICW3 0x04 (slave on IR2) / 0x02 (slave ID 2), ICW4 0x01 (8086)
//   vector = ICW2 & 0xF8 + IR; priority after ICW1: IR0 highest, IR7 lowest
//   OCW2 = R SL EOI 0 0 L2 L1 L0: 0x20 EOI, 0x60+n specific EOI, 0xA0 rotate on EOI,
//          0xE0+n rotate on specific EOI, 0xC0+n set priority (n lowest), 0x80/0x00 rotate in AEOI on/off
//   OCW3 = 0 ESMM SMM 0 1 P RR RIS: 0x0A read IRR, 0x0B read ISR, 0x0C poll, 0x68 / 0x48 special mask on / off
//   poll word: 0x80 | IR when a request is there, else 0
//   ELCR: master bits 0-2 and slave bits 0 (IRQ 8) and 5 (IRQ 13) always 0
import { describe, expect, it } from 'vitest';
import { Vpic, type VpicSink } from '../../hv/vm/vpic';

class RecordingSink implements VpicSink {
  events: boolean[] = [];
  intr(asserted: boolean): void {
    this.events.push(asserted);
  }
}

function make(): { pic: Vpic; sink: RecordingSink } {
  const sink = new RecordingSink();
  return { pic: new Vpic(sink), sink };
}

function out(pic: Vpic, port: number, value: number): void {
  pic.pioWrite(port, 1, value);
}

function inb(pic: Vpic, port: number): number {
  return pic.pioRead(port, 1);
}

/** The PC BIOS / Linux sequence: master at 0x08, slave at 0x70, `icw4` on both (default 8086 mode only). */
function initPc(pic: Vpic, icw4 = 0x01, masterIcw4 = icw4): void {
  out(pic, 0x20, 0x11);
  out(pic, 0x21, 0x08);
  out(pic, 0x21, 0x04);
  out(pic, 0x21, masterIcw4);
  out(pic, 0xa0, 0x11);
  out(pic, 0xa1, 0x70);
  out(pic, 0xa1, 0x02);
  out(pic, 0xa1, icw4);
}

function readIsr(pic: Vpic, port: number): number {
  out(pic, port, 0x0b);
  return inb(pic, port);
}

function readIrr(pic: Vpic, port: number): number {
  out(pic, port, 0x0a);
  return inb(pic, port);
}

function pc(icw4 = 0x01, masterIcw4 = icw4): { pic: Vpic; sink: RecordingSink } {
  const m = make();
  initPc(m.pic, icw4, masterIcw4);
  return m;
}

describe('power-on state', () => {
  it('is uninitialised: IMR 0xFF, ELCR 0, no interrupt, INTA gives IR7 of base 0', () => {
    const { pic, sink } = make();
    expect(inb(pic, 0x21)).toBe(0xff);
    expect(inb(pic, 0xa1)).toBe(0xff);
    expect(inb(pic, 0x4d0)).toBe(0);
    expect(inb(pic, 0x4d1)).toBe(0);
    expect(inb(pic, 0x20)).toBe(0);
    pic.pulse(1);
    expect(pic.pendingVector()).toBe(-1);
    expect(pic.intAck()).toBe(7);
    expect(sink.events).toEqual([]);
  });

  it('ignores OCW2/OCW3 before initialisation but takes OCW1', () => {
    const { pic } = make();
    out(pic, 0x20, 0x0b);
    out(pic, 0x20, 0x20);
    expect(pic.ignoredCommands).toBe(2);
    out(pic, 0x21, 0x5a);
    expect(inb(pic, 0x21)).toBe(0x5a);
  });
});

describe('initialisation sequences', () => {
  it('cascade with ICW4: ICW1 clears IMR, vectors from ICW2, slave on IR2', () => {
    const { pic, sink } = pc();
    expect(inb(pic, 0x21)).toBe(0x00);
    expect(inb(pic, 0xa1)).toBe(0x00);
    expect(pic.master.icw3).toBe(0x04);
    expect(pic.slave.icw3).toBe(0x02);
    pic.pulse(1);
    expect(sink.events).toEqual([true]);
    expect(pic.pendingVector()).toBe(0x09);
    expect(pic.intAck()).toBe(0x09);
    expect(readIsr(pic, 0x20)).toBe(0x02);
    expect(readIrr(pic, 0x20)).toBe(0x00);
    out(pic, 0x20, 0x20);
    expect(readIsr(pic, 0x20)).toBe(0x00);
    pic.pulse(14);
    expect(pic.intAck()).toBe(0x76);
  });

  it('ICW2 bits 2:0 are not part of the base', () => {
    const { pic } = make();
    out(pic, 0x20, 0x11);
    out(pic, 0x21, 0x27);
    out(pic, 0x21, 0x04);
    out(pic, 0x21, 0x01);
    pic.pulse(3);
    expect(pic.intAck()).toBe(0x23);
  });

  it('cascade without ICW4: the third data write is OCW1, normal EOI mode', () => {
    const { pic } = make();
    out(pic, 0x20, 0x10);
    out(pic, 0x21, 0x20);
    out(pic, 0x21, 0x04);
    expect(pic.master.ready).toBe(true);
    out(pic, 0x21, 0xfe);
    expect(inb(pic, 0x21)).toBe(0xfe);
    pic.pulse(1);
    expect(pic.pendingVector()).toBe(-1);
    pic.pulse(0);
    expect(pic.intAck()).toBe(0x20);
    expect(readIsr(pic, 0x20)).toBe(0x01);
  });

  it('single mode with ICW4 (AEOI): no ICW3; IR2 is answered by the master itself', () => {
    const { pic } = make();
    out(pic, 0x20, 0x13);
    out(pic, 0x21, 0x40);
    out(pic, 0x21, 0x03);
    expect(pic.master.ready).toBe(true);
    out(pic, 0x21, 0x00);
    pic.pulse(3);
    expect(pic.intAck()).toBe(0x43);
    expect(readIsr(pic, 0x20)).toBe(0x00);
    out(pic, 0xa0, 0x11);
    out(pic, 0xa1, 0x70);
    out(pic, 0xa1, 0x02);
    out(pic, 0xa1, 0x01);
    pic.pulse(9);
    expect(pic.pendingVector()).toBe(0x42);
    expect(pic.intAck()).toBe(0x42);
  });

  it('single mode without ICW4: the second data write is OCW1', () => {
    const { pic } = make();
    out(pic, 0x20, 0x12);
    out(pic, 0x21, 0x50);
    expect(pic.master.ready).toBe(true);
    out(pic, 0x21, 0xfd);
    expect(inb(pic, 0x21)).toBe(0xfd);
    pic.pulse(0);
    pic.pulse(1);
    expect(pic.intAck()).toBe(0x51);
  });

  it('ICW1 resets the edge sense: a line already high needs a new rising edge', () => {
    const { pic } = make();
    pic.setIrq(4, true);
    initPc(pic);
    expect(pic.pendingVector()).toBe(-1);
    pic.setIrq(4, false);
    pic.setIrq(4, true);
    expect(pic.pendingVector()).toBe(0x0c);
  });

  it('re-initialisation clears IMR, ISR, special mask and the IRR/ISR read select', () => {
    const { pic } = pc();
    pic.pulse(5);
    pic.intAck();
    out(pic, 0x21, 0xaa);
    out(pic, 0x20, 0x68);
    out(pic, 0x20, 0x0b);
    initPc(pic);
    expect(inb(pic, 0x21)).toBe(0x00);
    expect(pic.master.specialMask).toBe(false);
    pic.pulse(6);
    expect(inb(pic, 0x20)).toBe(0x40); // IRR, not ISR
    expect(readIsr(pic, 0x20)).toBe(0x00);
  });

  it('LTIM makes every IR of the chip level-sensitive', () => {
    const { pic } = make();
    out(pic, 0x20, 0x19);
    out(pic, 0x21, 0x08);
    out(pic, 0x21, 0x04);
    out(pic, 0x21, 0x01);
    pic.setIrq(1, true);
    expect(pic.isLevelTriggered(1)).toBe(true);
    expect(pic.intAck()).toBe(0x09);
    out(pic, 0x20, 0x20);
    expect(pic.pendingVector()).toBe(0x09);
    pic.setIrq(1, false);
    expect(pic.pendingVector()).toBe(-1);
  });
});

describe('priority, EOI and nesting', () => {
  it('serves the lowest IR first and nests a higher one over a lower one in service', () => {
    const { pic } = pc();
    pic.pulse(5);
    pic.pulse(3);
    expect(pic.pendingVector()).toBe(0x0b);
    expect(pic.intAck()).toBe(0x0b);
    expect(pic.pendingVector()).toBe(-1); // IR5 is below IR3 in service
    pic.pulse(1);
    expect(pic.intAck()).toBe(0x09);
    expect(readIsr(pic, 0x20)).toBe(0x0a);
    out(pic, 0x20, 0x20); // ends IR1, the highest in service
    expect(readIsr(pic, 0x20)).toBe(0x08);
    expect(pic.pendingVector()).toBe(-1);
    out(pic, 0x20, 0x20);
    expect(pic.intAck()).toBe(0x0d);
  });

  it('specific EOI ends the named IR only', () => {
    const { pic } = pc();
    pic.pulse(3);
    pic.intAck();
    pic.pulse(1);
    pic.intAck();
    out(pic, 0x20, 0x63);
    expect(readIsr(pic, 0x20)).toBe(0x02);
    out(pic, 0x20, 0x67); // IR7 not in service: nothing
    expect(readIsr(pic, 0x20)).toBe(0x02);
  });

  it('rotate on non-specific EOI makes the ended IR the lowest', () => {
    const { pic } = pc();
    pic.pulse(0);
    pic.pulse(1);
    expect(pic.intAck()).toBe(0x08);
    out(pic, 0x20, 0xa0); // IR0 lowest: order 1..7, 0
    pic.pulse(0);
    expect(pic.intAck()).toBe(0x09);
    out(pic, 0x20, 0xa0); // IR1 lowest: order 2..7, 0, 1
    expect(pic.intAck()).toBe(0x08);
    expect(pic.master.lowestPriority).toBe(1);
  });

  it('set priority and rotate on specific EOI', () => {
    const { pic } = pc();
    out(pic, 0x20, 0xc4); // IR4 lowest: order 5, 6, 7, 0, 1, 2, 3, 4
    pic.pulse(3);
    pic.pulse(6);
    expect(pic.intAck()).toBe(0x0e);
    out(pic, 0x20, 0xe6); // ends IR6, IR6 lowest: order 7, 0, ..., 6
    expect(readIsr(pic, 0x20)).toBe(0x00);
    expect(pic.master.lowestPriority).toBe(6);
    pic.pulse(7);
    expect(pic.intAck()).toBe(0x0f);
    out(pic, 0x20, 0x20);
    expect(pic.intAck()).toBe(0x0b);
  });

  it('a no-op OCW2 (010) changes nothing', () => {
    const { pic } = pc();
    pic.pulse(3);
    pic.intAck();
    out(pic, 0x20, 0x40);
    expect(readIsr(pic, 0x20)).toBe(0x08);
    expect(pic.master.lowestPriority).toBe(7);
  });
});

describe('automatic EOI', () => {
  it('leaves ISR clear and rotates only in rotate-in-AEOI mode', () => {
    const { pic } = pc(0x03);
    pic.pulse(4);
    expect(pic.intAck()).toBe(0x0c);
    expect(readIsr(pic, 0x20)).toBe(0x00);
    out(pic, 0x20, 0x80); // rotate in AEOI on
    pic.pulse(4);
    pic.pulse(5);
    expect(pic.intAck()).toBe(0x0c);
    expect(pic.intAck()).toBe(0x0d); // IR4 became lowest, IR5 next
    pic.pulse(4);
    pic.pulse(6);
    expect(pic.intAck()).toBe(0x0e); // IR5 lowest: order 6, 7, 0, ...
    out(pic, 0x20, 0x00); // rotate in AEOI off: IR6 stays lowest
    expect(pic.intAck()).toBe(0x0c);
    pic.pulse(0);
    pic.pulse(7);
    expect(pic.intAck()).toBe(0x0f);
    expect(pic.master.lowestPriority).toBe(6);
  });

  it('INTR drops for each INTA and rises again while requests remain', () => {
    const { pic, sink } = pc(0x03);
    pic.pulse(4);
    pic.pulse(5);
    expect(sink.events).toEqual([true]);
    pic.intAck();
    expect(sink.events).toEqual([true, false, true]);
    pic.intAck();
    expect(sink.events).toEqual([true, false, true, false]);
  });

  it('a slave in AEOI re-requests through the master for its next IR', () => {
    const { pic } = pc(0x03);
    pic.pulse(9);
    pic.pulse(10);
    expect(pic.intAck()).toBe(0x71);
    expect(pic.intAck()).toBe(0x72);
    expect(pic.pendingVector()).toBe(-1);
  });
});

describe('poll mode', () => {
  it('returns 0x80 | IR and acknowledges it; then reads are normal again', () => {
    const { pic } = pc();
    pic.pulse(6);
    out(pic, 0x20, 0x0c);
    expect(inb(pic, 0x20)).toBe(0x86);
    expect(readIsr(pic, 0x20)).toBe(0x40);
    expect(readIrr(pic, 0x20)).toBe(0x00);
    out(pic, 0x20, 0x20);
    out(pic, 0x20, 0x0c);
    expect(inb(pic, 0x21)).toBe(0x00); // no request: poll word 0, on the data port too
    out(pic, 0x21, 0x37);
    expect(inb(pic, 0x21)).toBe(0x37);
  });

  it('a poll given with a read-register command wins', () => {
    const { pic } = pc();
    pic.pulse(5);
    out(pic, 0x20, 0x0f);
    expect(inb(pic, 0x20)).toBe(0x85);
    expect(inb(pic, 0x20)).toBe(0x20); // RR RIS=1 taken too: ISR
  });

  it('polls the master then the slave for a slave request', () => {
    const { pic } = pc();
    pic.pulse(11);
    out(pic, 0x20, 0x0c);
    expect(inb(pic, 0x20)).toBe(0x82);
    out(pic, 0xa0, 0x0c);
    expect(inb(pic, 0xa0)).toBe(0x83);
    expect(readIsr(pic, 0x20)).toBe(0x04);
    expect(readIsr(pic, 0xa0)).toBe(0x08);
  });
});

describe('special mask mode', () => {
  it('lets lower IRs in past a masked in-service IR, and non-specific EOI skips masked IS bits', () => {
    const { pic } = pc();
    pic.pulse(3);
    pic.intAck();
    out(pic, 0x21, 0x08);
    out(pic, 0x20, 0x68);
    pic.pulse(5);
    expect(pic.pendingVector()).toBe(0x0d);
    expect(pic.intAck()).toBe(0x0d);
    expect(readIsr(pic, 0x20)).toBe(0x28);
    out(pic, 0x20, 0x20); // IR3 is masked: IR5 is ended
    expect(readIsr(pic, 0x20)).toBe(0x08);
    out(pic, 0x20, 0x48); // special mask off: IR3 in service blocks again
    out(pic, 0x21, 0x00);
    pic.pulse(6);
    expect(pic.pendingVector()).toBe(-1);
    out(pic, 0x20, 0x20);
    expect(pic.intAck()).toBe(0x0e);
  });

  it('OCW3 without ESMM leaves the mode alone', () => {
    const { pic } = pc();
    out(pic, 0x20, 0x68);
    out(pic, 0x20, 0x2a); // SMM=1 without ESMM, read IRR
    expect(pic.master.specialMask).toBe(true);
    out(pic, 0x20, 0x0a);
    expect(pic.master.specialMask).toBe(true);
  });
});

describe('edge and level triggering through the ELCR', () => {
  it('keeps reserved ELCR bits 0 (IRQ 0-2, 8, 13)', () => {
    const { pic } = pc();
    out(pic, 0x4d0, 0xff);
    out(pic, 0x4d1, 0xff);
    expect(inb(pic, 0x4d0)).toBe(0xf8);
    expect(inb(pic, 0x4d1)).toBe(0xde);
    expect(pic.isLevelTriggered(0)).toBe(false);
    expect(pic.isLevelTriggered(8)).toBe(false);
    expect(pic.isLevelTriggered(13)).toBe(false);
    expect(pic.isLevelTriggered(9)).toBe(true);
    pic.setIrq(0, true);
    pic.intAck();
    out(pic, 0x20, 0x20);
    expect(pic.pendingVector()).toBe(-1); // IRQ 0 stays edge
  });

  it('a level IRQ is requested again after EOI while its line is high, and not after it falls', () => {
    const { pic, sink } = pc();
    out(pic, 0x4d0, 0x20);
    pic.setIrq(5, true);
    expect(readIrr(pic, 0x20)).toBe(0x20);
    expect(pic.intAck()).toBe(0x0d);
    expect(readIrr(pic, 0x20)).toBe(0x20); // level: IRR follows the line
    out(pic, 0x20, 0x20);
    expect(pic.pendingVector()).toBe(0x0d);
    pic.setIrq(5, false);
    expect(pic.pendingVector()).toBe(-1);
    expect(sink.events).toEqual([true, false, true, false]);
  });

  it('an edge IRQ is requested once per rising edge; the latch survives the line falling', () => {
    const { pic } = pc();
    pic.setIrq(4, true);
    expect(pic.intAck()).toBe(0x0c);
    out(pic, 0x20, 0x20);
    expect(pic.pendingVector()).toBe(-1);
    pic.setIrq(4, true);
    expect(pic.pendingVector()).toBe(-1);
    pic.setIrq(4, false);
    pic.setIrq(4, true);
    pic.setIrq(4, false);
    expect(pic.intAck()).toBe(0x0c);
  });

  it('a slave level IRQ through the cascade', () => {
    const { pic } = pc();
    out(pic, 0x4d1, 0x04);
    pic.setIrq(10, true);
    expect(pic.intAck()).toBe(0x72);
    out(pic, 0xa0, 0x20);
    expect(pic.pendingVector()).toBe(-1); // master IR2 still in service
    out(pic, 0x20, 0x20);
    expect(pic.intAck()).toBe(0x72);
  });

  it('switching a pin to level takes its line into IRR', () => {
    const { pic } = pc();
    pic.setIrq(6, true);
    pic.intAck();
    out(pic, 0x20, 0x20);
    expect(pic.pendingVector()).toBe(-1);
    out(pic, 0x4d0, 0x40);
    expect(pic.pendingVector()).toBe(0x0e);
  });
});

describe('spurious interrupts', () => {
  it('IRQ 7: a level request that goes away before INTA', () => {
    const { pic, sink } = pc();
    out(pic, 0x4d0, 0x20);
    pic.setIrq(5, true);
    expect(pic.pendingVector()).toBe(0x0d);
    pic.setIrq(5, false);
    expect(sink.events).toEqual([true, false]);
    expect(pic.intAck()).toBe(0x0f);
    expect(readIsr(pic, 0x20)).toBe(0x00);
  });

  it('IRQ 7: an edge request masked before INTA', () => {
    const { pic } = pc();
    pic.pulse(4);
    out(pic, 0x21, 0x10);
    expect(pic.intAck()).toBe(0x0f);
    expect(readIsr(pic, 0x20)).toBe(0x00);
    out(pic, 0x21, 0x00);
    expect(pic.intAck()).toBe(0x0c); // the latch is still there
  });

  it('IRQ 15: a slave request that goes away after the master latched IR2', () => {
    const { pic } = pc();
    out(pic, 0x4d1, 0x08);
    pic.setIrq(11, true);
    pic.setIrq(11, false);
    expect(pic.pendingVector()).toBe(0x77);
    expect(pic.intAck()).toBe(0x77);
    expect(readIsr(pic, 0x20)).toBe(0x04);
    expect(readIsr(pic, 0xa0)).toBe(0x00);
  });
});

describe('cascade and masking', () => {
  it('slave IRQs take the master IR2 priority (between IRQ 1 and IRQ 3)', () => {
    const { pic } = pc();
    pic.pulse(3);
    pic.pulse(9);
    expect(pic.intAck()).toBe(0x71);
    expect(readIsr(pic, 0x20)).toBe(0x04);
    expect(readIsr(pic, 0xa0)).toBe(0x02);
    expect(pic.pendingVector()).toBe(-1);
    out(pic, 0xa0, 0x20);
    expect(pic.pendingVector()).toBe(-1);
    out(pic, 0x20, 0x20);
    expect(pic.intAck()).toBe(0x0b);
  });

  it('fully nested: a higher slave IRQ waits while IR2 is in service', () => {
    const { pic } = pc();
    pic.pulse(12);
    expect(pic.intAck()).toBe(0x74);
    pic.pulse(9);
    expect(pic.pendingVector()).toBe(-1);
  });

  it('special fully nested mode: a higher slave IRQ gets through IR2 in service, lower IRs do not', () => {
    const { pic } = pc(0x01, 0x11);
    pic.pulse(12);
    expect(pic.intAck()).toBe(0x74);
    pic.pulse(13);
    expect(pic.pendingVector()).toBe(-1); // below IRQ 12 in the slave
    pic.pulse(9);
    expect(pic.intAck()).toBe(0x71);
    pic.pulse(3);
    expect(pic.pendingVector()).toBe(-1); // IR3 is below IR2 in service
    expect(readIsr(pic, 0x20)).toBe(0x04);
    expect(readIsr(pic, 0xa0)).toBe(0x12);
  });

  it('IMR masks a pin; IRR still shows it; unmasking delivers it', () => {
    const { pic } = pc();
    out(pic, 0x21, 0x02);
    pic.pulse(1);
    expect(pic.pendingVector()).toBe(-1);
    expect(readIrr(pic, 0x20)).toBe(0x02);
    out(pic, 0x21, 0x00);
    expect(pic.pendingVector()).toBe(0x09);
  });

  it('masking master IR2 masks every slave IRQ; a slave mask bit masks one', () => {
    const { pic } = pc();
    out(pic, 0x21, 0x04);
    pic.pulse(8);
    expect(pic.pendingVector()).toBe(-1);
    out(pic, 0x21, 0x00);
    expect(pic.intAck()).toBe(0x70);
    out(pic, 0xa0, 0x20);
    out(pic, 0x20, 0x20);
    out(pic, 0xa1, 0x80);
    pic.pulse(15);
    expect(pic.pendingVector()).toBe(-1);
  });

  it('pin 2 cannot be driven from outside', () => {
    const { pic } = pc();
    pic.setIrq(2, true);
    pic.pulse(2);
    expect(pic.pendingVector()).toBe(-1);
    expect(pic.ignoredPins).toBe(2);
  });
});

describe('port adapter', () => {
  it('refuses accesses wider than a byte and ports that are not the vPIC', () => {
    const { pic } = pc();
    expect(pic.pioRead(0x20, 2)).toBe(0xffff);
    expect(pic.pioRead(0x21, 4)).toBe(0xffffffff);
    pic.pioWrite(0x21, 2, 0xffff);
    expect(inb(pic, 0x21)).toBe(0x00);
    expect(pic.pioRead(0x22, 1)).toBe(0xff);
    pic.pioWrite(0x4d2, 1, 0);
    expect(pic.ignoredAccesses).toBe(5);
  });

  it('takes the low byte of a written value', () => {
    const { pic } = pc();
    out(pic, 0x21, 0x1234);
    expect(inb(pic, 0x21)).toBe(0x34);
    out(pic, 0x21, -1);
    expect(inb(pic, 0x21)).toBe(0xff);
    out(pic, 0x21, Number.NaN);
    expect(inb(pic, 0x21)).toBe(0x00);
  });

  it('reset() returns to power-on and reports INTR falling', () => {
    const { pic, sink } = pc();
    out(pic, 0x4d0, 0x80);
    pic.pulse(1);
    pic.reset();
    expect(sink.events).toEqual([true, false]);
    expect(inb(pic, 0x21)).toBe(0xff);
    expect(inb(pic, 0x4d0)).toBe(0);
    expect(pic.pendingVector()).toBe(-1);
    expect(pic.master.ready).toBe(false);
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
  it('10,000 seeded random port writes, reads, pin changes and INTAs never throw and keep the invariants', () => {
    const rng = new Rng(0x8259a);
    const { pic, sink } = make();
    const ports = [0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1];
    const odd = [Number.NaN, -1, 2 ** 32, 2 ** 53, 1.5, -0x80000000, Infinity, 0x7fffffff];
    const broken: string[] = [];
    let acks = 0;
    let real = 0;
    for (let i = 0; i < 10000; i++) {
      const op = rng.below(12);
      if (op < 4) {
        const port = rng.below(16) === 0 ? rng.below(0x500) : ports[rng.below(6)];
        const size = rng.below(16) === 0 ? 1 + rng.below(4) : 1;
        let value = rng.below(3) === 0 ? [0x11, 0x13, 0x19, 0x10, 0x12][rng.below(5)] : rng.next() & 0xff;
        if (rng.below(32) === 0) value = odd[rng.below(odd.length)];
        pic.pioWrite(port, size, value);
      } else if (op < 6) {
        const v = pic.pioRead(ports[rng.below(6)], 1);
        if (!(v >= 0 && v <= 0xff)) broken.push(`read ${v}`);
      } else if (op < 9) {
        const pin = rng.below(32) === 0 ? odd[rng.below(odd.length)] : rng.below(16);
        if (rng.below(3) === 0) pic.pulse(pin);
        else pic.setIrq(pin, rng.below(2) === 0);
      } else if (op === 9) {
        const want = pic.pendingVector();
        const v = pic.intAck();
        acks++;
        if (want >= 0 && v !== want) broken.push(`intAck ${v} want ${want}`);
        if (want >= 0 && (v & 7) !== 7) real++;
        if (!(v >= 0 && v <= 0xff)) broken.push(`vector ${v}`);
      } else if (op === 10) {
        // end something now and then so interrupts keep flowing
        pic.pioWrite(rng.below(2) === 0 ? 0x20 : 0xa0, 1, 0x20);
      } else if (rng.below(64) === 0) {
        pic.reset();
      }
      for (const chip of [pic.master, pic.slave]) {
        for (const r of [chip.irr, chip.isr, chip.imr, chip.lines, chip.elcr, chip.vectorBase, chip.icw1, chip.icw3, chip.icw4]) {
          if (!(r >= 0 && r <= 0xff) || Math.floor(r) !== r) broken.push(`register ${r}`);
        }
        const level = chip.levelMask();
        if ((chip.irr & level) !== (chip.lines & level)) broken.push('level IRR does not follow its line');
        if ((chip.elcr & ~chip.elcrWritable) !== 0) broken.push('reserved ELCR bit');
        if ((chip.vectorBase & 7) !== 0 || chip.lowestPriority < 0 || chip.lowestPriority > 7) broken.push('base/priority');
      }
      if (((pic.master.lines & 4) !== 0) !== pic.slave.resolveRequest() >= 0) broken.push('cascade line');
      const pending = pic.pendingVector();
      if (pic.intrLine !== pending >= 0) broken.push(`intr ${pic.intrLine} pending ${pending}`);
      const lastEvent = sink.events.length === 0 ? false : sink.events[sink.events.length - 1];
      if (lastEvent !== pic.intrLine) broken.push('sink out of date');
    }
    expect(broken.slice(0, 5)).toEqual([]);
    expect(acks).toBeGreaterThan(500);
    expect(real).toBeGreaterThan(50);
  });
});
