import { describe, expect, it } from 'vitest';
import { Uart16550 } from '../../arch/x86/serial';
import { baseMachine } from './machines';

describe('Uart16550 (COM1 driver)', () => {
  it('programs 115200 8N1 with FIFOs, in the datasheet order', () => {
    const m = baseMachine();
    const writes: number[][] = [];
    m.attachPort(0x3f9, 4, { read: () => 0, write: (p, _w, v) => writes.push([p, v]) });
    m.attachPort(0x3f8, 1, { read: () => 0, write: (p, _w, v) => writes.push([p, v]) });
    new Uart16550(0x3f8).init();
    expect(writes).toEqual([
      [0x3f9, 0x00], // IER: no interrupts
      [0x3fb, 0x80], // LCR: DLAB
      [0x3f8, 0x01], // DLL: 115200 baud
      [0x3f9, 0x00], // DLM
      [0x3fb, 0x03], // LCR: 8N1
      [0x3fa, 0xc7], // FCR
      [0x3fc, 0x0b], // MCR
    ]);
    expect(m.serialOut).toEqual([]); // DLL = 1 went to the divisor latch, not THR
  });

  it('turns \\n into \\r\\n and reads typed input, then -1', () => {
    const m = baseMachine();
    const u = new Uart16550(0x3f8);
    u.putc(65);
    u.putc(10);
    expect(m.serialOut).toEqual([65, 13, 10]);
    m.type('ok');
    expect(u.getc()).toBe(111);
    expect(u.getc()).toBe(107);
    expect(u.getc()).toBe(-1);
  });

  it('gives up on a transmitter that never empties instead of hanging', () => {
    const m = baseMachine();
    m.attachPort(0x3fd, 1, { read: () => 0, write: () => {} }); // LSR stuck at 0
    const u = new Uart16550(0x3f8);
    u.putc(65);
    expect(u.dropped).toBe(1);
    expect(m.serialOut).toEqual([]);
  });

  it('reports a BREAK on input as -2', () => {
    const m = baseMachine();
    m.attachPort(0x3fd, 1, { read: () => 0x71, write: () => {} }); // DR | BI | THRE | TEMT
    m.attachPort(0x3f8, 1, { read: () => 0, write: () => {} });
    const u = new Uart16550(0x3f8);
    expect(u.getc()).toBe(-2);
    expect(u.breaks).toBe(1);
  });
});
