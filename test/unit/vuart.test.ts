// The vUART (hv/vm/vuart.ts) against the PC16550D datasheet. Expected values
// worked out by hand from its tables:
//   IIR: bits 7:6 = 11 with FCR0 = 1; id 0x1 none, 0x6 line status, 0x4 data
//        at the trigger, 0xC character timeout, 0x2 THR empty, 0x0 modem status
//   LSR: DR 0x01, OE 0x02, THRE 0x20, TEMT 0x40 -> reset value 0x60
//   MSR: DCTS 0x01, DDSR 0x02, TERI 0x04, DDCD 0x08, CTS 0x10, DSR 0x20, RI 0x40, DCD 0x80;
//        loopback: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD
//   FCR bits 7:6 -> RX trigger 1, 4, 8, 14
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { IoEmul, WIDTH_ANY } from '../../hv/vm/io-emul';
import {
  UART_DLL, UART_DLM, UART_FCR, UART_IER, UART_IIR, UART_LCR, UART_LSR, UART_MCR, UART_MSR, UART_RBR, UART_SCR,
  UART_THR, Vuart, type VuartBackend, type VuartSink, vuartConnect, vuartDisconnect,
} from '../../hv/vm/vuart';

class RecordingSink implements VuartSink {
  levels: boolean[] = [];
  level = false;
  irq(level: boolean): void {
    this.levels.push(level);
    this.level = level;
  }
}

class ScriptedBackend implements VuartBackend {
  ready = true;
  out: number[] = [];
  txReady(): boolean {
    return this.ready;
  }
  tx(byte: number): void {
    if (!this.ready) throw new Error('tx while not ready');
    this.out.push(byte);
  }
}

function fresh(gate = true): { vu: Vuart; sink: RecordingSink; be: ScriptedBackend } {
  const sink = new RecordingSink();
  const vu = new Vuart(0x3f8, sink, gate);
  const be = new ScriptedBackend();
  vu.backend = be;
  vu.reset();
  return { vu, sink, be };
}

describe('vuart registers', () => {
  it('reset values: IER 0, IIR 01, LCR 0, MCR 0, LSR 60, MSR A0 (DCD|DSR), SCR 0, divisor 1', () => {
    const { vu } = fresh();
    expect([UART_IER, UART_IIR, UART_LCR, UART_MCR, UART_LSR, UART_MSR, UART_SCR].map((r) => vu.readReg(r)))
      .toEqual([0x00, 0x01, 0x00, 0x00, 0x60, 0xa0, 0x00]);
    vu.writeReg(UART_LCR, 0x80);
    expect([vu.readReg(UART_DLL), vu.readReg(UART_DLM)]).toEqual([1, 0]);
  });

  it('SCR keeps any byte', () => {
    const { vu } = fresh();
    for (const v of [0x5a, 0xa5, 0xff, 0x00, 0x1234]) {
      vu.writeReg(UART_SCR, v);
      expect(vu.readReg(UART_SCR)).toBe(v & 0xff);
    }
  });

  it('DLAB maps offsets 0 and 1 to the divisor latch and nothing else', () => {
    const { vu, be } = fresh();
    vu.writeReg(UART_LCR, 0x83);
    vu.writeReg(UART_DLL, 0x0c);
    vu.writeReg(UART_DLM, 0x01);
    vu.writeReg(UART_SCR, 0x77);
    expect([vu.readReg(UART_DLL), vu.readReg(UART_DLM), vu.readReg(UART_LCR), vu.readReg(UART_SCR)])
      .toEqual([0x0c, 0x01, 0x83, 0x77]);
    expect(be.out).toEqual([]); // the DLL write did not transmit
    vu.writeReg(UART_LCR, 0x03);
    expect([vu.readReg(UART_IER), vu.readReg(UART_LCR)]).toEqual([0x00, 0x03]);
    vu.writeReg(UART_THR, 0x41);
    expect(be.out).toEqual([0x41]);
    vu.writeReg(UART_LCR, 0x80);
    expect([vu.readReg(UART_DLL), vu.readReg(UART_DLM)]).toEqual([0x0c, 0x01]);
  });

  it('IER keeps bits 3:0, MCR bits 4:0; LSR and MSR writes are ignored', () => {
    const { vu } = fresh();
    vu.writeReg(UART_IER, 0xff);
    vu.writeReg(UART_MCR, 0xff);
    vu.writeReg(UART_LSR, 0x00);
    expect([vu.readReg(UART_IER), vu.readReg(UART_MCR)]).toEqual([0x0f, 0x1f]);
    vu.writeReg(UART_MCR, 0);
    vu.readReg(UART_MSR);
    vu.writeReg(UART_MSR, 0x00);
    expect(vu.readReg(UART_LSR)).toBe(0x60);
    expect(vu.readReg(UART_MSR)).toBe(0xa0);
  });
});

describe('vuart FIFOs', () => {
  it('IIR bits 7:6 follow FCR0', () => {
    const { vu } = fresh();
    expect(vu.readReg(UART_IIR)).toBe(0x01);
    vu.writeReg(UART_FCR, 0x01);
    expect(vu.readReg(UART_IIR)).toBe(0xc1);
    vu.writeReg(UART_FCR, 0xc6); // FCR0 = 0: nothing else programmed
    expect(vu.readReg(UART_IIR)).toBe(0x01);
    expect(vu.fcr).toBe(0);
  });

  it('fills 16 bytes, refuses the 17th, reads back in order', () => {
    const { vu } = fresh();
    vu.writeReg(UART_FCR, 0x07);
    for (let i = 0; i < 16; i++) {
      expect(vu.rxSpace()).toBe(16 - i);
      expect(vu.rxPush(0x30 + i)).toBe(true);
    }
    expect(vu.rxPush(0x99)).toBe(false);
    expect(vu.rxSpace()).toBe(0);
    expect(vu.readReg(UART_LSR)).toBe(0x61); // DR, no OE: the caller kept the byte
    const got: number[] = [];
    for (let i = 0; i < 16; i++) got.push(vu.readReg(UART_RBR));
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => 0x30 + i));
    expect(vu.readReg(UART_LSR)).toBe(0x60);
    expect(vu.readReg(UART_RBR)).toBe(0x3f); // an empty RBR reads the last byte again
  });

  it('with FIFOs off the receiver holds one byte', () => {
    const { vu } = fresh();
    expect(vu.rxPush(1)).toBe(true);
    expect(vu.rxPush(2)).toBe(false);
    expect(vu.rxSpace()).toBe(0);
    expect(vu.readReg(UART_RBR)).toBe(1);
    expect(vu.rxSpace()).toBe(1);
  });

  it('trigger levels 1, 4, 8, 14: timeout (0xCC) below, data available (0xC4) at the level', () => {
    const { vu } = fresh();
    vu.writeReg(UART_IER, 0x01);
    const want: number[][] = [];
    const got: number[][] = [];
    for (const [code, level] of [[0, 1], [1, 4], [2, 8], [3, 14]]) {
      vu.writeReg(UART_FCR, (code << 6) | 0x03); // enable + RX reset
      const row: number[] = [vu.readReg(UART_IIR)];
      for (let i = 0; i < level - 1; i++) vu.rxPush(i);
      row.push(vu.readReg(UART_IIR));
      vu.rxPush(0xee);
      row.push(vu.readReg(UART_IIR));
      vu.readReg(UART_RBR);
      row.push(vu.readReg(UART_IIR));
      got.push(row);
      want.push(level === 1 ? [0xc1, 0xc1, 0xc4, 0xc1] : [0xc1, 0xcc, 0xc4, 0xcc]);
    }
    expect(got).toEqual(want);
  });

  it('FCR RX reset empties the receiver; TX reset drops stuck bytes and raises THRE', () => {
    const { vu, be } = fresh();
    vu.writeReg(UART_FCR, 0x01);
    vu.rxPush(1);
    vu.rxPush(2);
    be.ready = false;
    vu.writeReg(UART_THR, 0x41);
    vu.writeReg(UART_IER, 0x02);
    expect(vu.readReg(UART_LSR)).toBe(0x01);
    expect(vu.readReg(UART_IIR)).toBe(0xc1);
    vu.writeReg(UART_FCR, 0x03);
    expect(vu.readReg(UART_LSR)).toBe(0x00);
    vu.writeReg(UART_FCR, 0x05);
    expect(vu.readReg(UART_LSR)).toBe(0x60);
    expect(vu.readReg(UART_IIR)).toBe(0xc2);
    be.ready = true;
    vu.pump();
    expect(be.out).toEqual([]);
  });

  it('overrun: loopback into a full RX FIFO sets OE, loses the new byte, LSR read clears OE', () => {
    const { vu } = fresh();
    vu.writeReg(UART_FCR, 0x01);
    vu.writeReg(UART_MCR, 0x10);
    for (let i = 0; i < 17; i++) vu.writeReg(UART_THR, 0x40 + i);
    expect(vu.rxOverruns).toBe(1);
    expect(vu.readReg(UART_LSR)).toBe(0x63);
    expect(vu.readReg(UART_LSR)).toBe(0x61);
    const got: number[] = [];
    for (let i = 0; i < 16; i++) got.push(vu.readReg(UART_RBR));
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => 0x40 + i));
  });

  it('overrun with FIFOs off: the second byte is lost, the first kept', () => {
    const { vu } = fresh();
    vu.writeReg(UART_MCR, 0x10);
    vu.writeReg(UART_THR, 0x61);
    vu.writeReg(UART_THR, 0x62);
    expect(vu.readReg(UART_LSR)).toBe(0x63);
    expect(vu.readReg(UART_RBR)).toBe(0x61);
    expect(vu.readReg(UART_LSR)).toBe(0x60);
  });
});

describe('vuart interrupts', () => {
  it('IIR priority: line status > received data > THR empty > modem status', () => {
    const { vu } = fresh();
    vu.writeReg(UART_FCR, 0x01);
    vu.writeReg(UART_MCR, 0x10); // loopback: DCD and DSR drop -> DDCD|DDSR
    vu.writeReg(UART_IER, 0x0f);
    for (let i = 0; i < 17; i++) vu.writeReg(UART_THR, i);
    const seq: number[] = [];
    seq.push(vu.readReg(UART_IIR)); // C6 line status (OE)
    seq.push(vu.readReg(UART_IIR)); // reading IIR does not clear it
    seq.push(vu.readReg(UART_LSR)); // 63
    seq.push(vu.readReg(UART_IIR)); // C4 data
    for (let i = 0; i < 16; i++) vu.readReg(UART_RBR);
    seq.push(vu.readReg(UART_IIR)); // C2 THRE, cleared by this read
    seq.push(vu.readReg(UART_IIR)); // C0 modem status
    seq.push(vu.readReg(UART_MSR)); // 0A
    seq.push(vu.readReg(UART_IIR)); // C1
    expect(seq).toEqual([0xc6, 0xc6, 0x63, 0xc4, 0xc2, 0xc0, 0x0a, 0xc1]);
  });

  it('THRE interrupt: raised by enabling ETBEI with THR empty, cleared by an IIR read or a THR write', () => {
    const { vu, be } = fresh();
    vu.writeReg(UART_FCR, 0x01);
    expect(vu.readReg(UART_IIR)).toBe(0xc1);
    vu.writeReg(UART_IER, 0x02);
    expect(vu.readReg(UART_IIR)).toBe(0xc2);
    expect(vu.readReg(UART_IIR)).toBe(0xc1);
    vu.writeReg(UART_THR, 0x41); // sent at once: the FIFO empties again
    expect(vu.readReg(UART_IIR)).toBe(0xc2);
    be.ready = false;
    vu.writeReg(UART_THR, 0x42); // the write clears it; the byte waits
    expect([vu.readReg(UART_IIR), vu.readReg(UART_LSR)]).toEqual([0xc1, 0x00]);
    vu.pump();
    expect(vu.readReg(UART_IIR)).toBe(0xc1);
    be.ready = true;
    vu.pump();
    expect([vu.readReg(UART_LSR), vu.readReg(UART_IIR), vu.readReg(UART_IIR)]).toEqual([0x60, 0xc2, 0xc1]);
    vu.writeReg(UART_IER, 0x00);
    vu.writeReg(UART_IER, 0x02);
    expect(vu.readReg(UART_IIR)).toBe(0xc2);
    vu.writeReg(UART_IER, 0x02); // no 0 -> 1 edge: nothing new
    expect(vu.readReg(UART_IIR)).toBe(0xc1);
    expect(be.out).toEqual([0x41, 0x42]);
  });

  it('the line follows the pending reason, gated by OUT2 (and off in loopback)', () => {
    const { vu, sink } = fresh();
    vu.writeReg(UART_IER, 0x01);
    vu.rxPush(0x31);
    expect(vu.intrPending()).toBe(true);
    expect(sink.levels).toEqual([]);
    vu.writeReg(UART_MCR, 0x08);
    expect(sink.levels).toEqual([true]);
    vu.readReg(UART_RBR);
    expect(sink.levels).toEqual([true, false]);
    vu.rxPush(0x32);
    expect(sink.levels).toEqual([true, false, true]);
    vu.writeReg(UART_MCR, 0x18); // loopback: the OUT2 pin is forced inactive
    expect(sink.levels).toEqual([true, false, true, false]);
    expect(vu.intrPending()).toBe(true);
    vu.reset();
    expect(sink.level).toBe(false);
  });

  it('without the OUT2 gate (ACRN) the line is the chip output', () => {
    const { vu, sink } = fresh(false);
    vu.writeReg(UART_IER, 0x02);
    expect(sink.levels).toEqual([true]);
    vu.readReg(UART_IIR);
    expect(sink.levels).toEqual([true, false]);
  });

  it('loopback: THR to RBR, MCR outputs to MSR inputs with delta bits, receiver disconnected', () => {
    const { vu, be } = fresh();
    vu.writeReg(UART_FCR, 0x01);
    vu.writeReg(UART_MCR, 0x1f);
    // A0 -> F0: CTS rose (DCTS); DSR, DCD unchanged; RI rose (no TERI)
    expect([vu.readReg(UART_MSR), vu.readReg(UART_MSR)]).toEqual([0xf1, 0xf0]);
    vu.writeReg(UART_MCR, 0x10);
    // F0 -> 00: DCTS, DDSR, DDCD and TERI (RI fell)
    expect(vu.readReg(UART_MSR)).toBe(0x0f);
    vu.writeReg(UART_MCR, 0x12); // RTS -> CTS
    expect(vu.readReg(UART_MSR)).toBe(0x11);
    vu.writeReg(UART_THR, 0x5a);
    expect([vu.readReg(UART_LSR), vu.readReg(UART_RBR)]).toEqual([0x61, 0x5a]);
    expect(be.out).toEqual([]);
    expect(vu.rxSpace()).toBe(0);
    expect(vu.rxPush(0x33)).toBe(false);
    vu.writeReg(UART_MCR, 0x00); // CTS 1->0, DSR and DCD 0->1
    expect(vu.readReg(UART_MSR)).toBe(0xab);
    expect(vu.rxPush(0x33)).toBe(true);
    vu.writeReg(UART_THR, 0x5b);
    expect(be.out).toEqual([0x5b]);
  });

  it('bytes waiting in TX when loopback starts come back to RX', () => {
    const { vu, be } = fresh();
    vu.writeReg(UART_FCR, 0x01);
    be.ready = false;
    vu.writeReg(UART_THR, 1);
    vu.writeReg(UART_THR, 2);
    vu.writeReg(UART_MCR, 0x10);
    expect([vu.readReg(UART_RBR), vu.readReg(UART_RBR), vu.readReg(UART_LSR)]).toEqual([1, 2, 0x60]);
  });
});

describe('vuart back ends', () => {
  it('a slow backend: LSR.THRE stays 0 while bytes wait; nothing is lost', () => {
    const { vu, be } = fresh();
    vu.writeReg(UART_FCR, 0x07);
    const sent: number[] = [];
    let tick = 0;
    let n = 0;
    while (n < 1000) {
      be.ready = tick++ % 7 === 0;
      vu.pump();
      const lsr = vu.readReg(UART_LSR);
      if ((lsr & 0x20) !== 0) {
        for (let i = 0; i < 16 && n < 1000; i++, n++) {
          vu.writeReg(UART_THR, n & 0xff);
          sent.push(n & 0xff);
        }
      }
    }
    be.ready = true;
    vu.pump();
    expect(be.out).toEqual(sent);
    expect(vu.txDropped).toBe(0);
  });

  it('a guest ignoring THRE loses only what overflows, counted', () => {
    const { vu, be } = fresh();
    vu.writeReg(UART_FCR, 0x01);
    be.ready = false;
    for (let i = 0; i < 20; i++) vu.writeReg(UART_THR, i);
    expect(vu.txDropped).toBe(4);
    be.ready = true;
    vu.pump();
    expect(be.out).toEqual(Array.from({ length: 16 }, (_, i) => i));
  });

  it('no backend: bytes wait in the FIFO', () => {
    const { vu } = fresh();
    vu.backend = null;
    vu.writeReg(UART_THR, 1);
    expect(vu.readReg(UART_LSR)).toBe(0x00);
  });

  it('two connected vuarts move 10,000 bytes each way with flow control and nothing lost', () => {
    const a = fresh().vu;
    const b = fresh().vu;
    vuartConnect(a, b);
    for (const vu of [a, b]) {
      vu.writeReg(UART_FCR, 0x87); // FIFOs, trigger 8
      vu.writeReg(UART_MCR, 0x0b);
    }
    const total = 10000;
    const sentBy = [[] as number[], [] as number[]];
    const got = [[] as number[], [] as number[]];
    const uarts = [a, b];
    let seed = 12345;
    const rnd = (n: number): number => {
      seed ^= seed << 13;
      seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      seed >>>= 0;
      return seed % n;
    };
    let steps = 0;
    let blocked = 0;
    while ((got[0].length < total || got[1].length < total) && steps < 1000000) {
      steps++;
      const side = rnd(2);
      const vu = uarts[side];
      if (rnd(2) === 0) {
        // the sending driver: up to 16 bytes after seeing THRE
        if ((vu.readReg(UART_LSR) & 0x20) === 0) {
          blocked++;
        } else {
          const burst = 1 + rnd(16);
          for (let i = 0; i < burst && sentBy[side].length < total; i++) {
            const byte = (sentBy[side].length * 7 + side) & 0xff;
            sentBy[side].push(byte);
            vu.writeReg(UART_THR, byte);
          }
        }
      } else if (rnd(3) === 0) {
        // a slow receiving driver: a few bytes now and then
        const reads = rnd(4);
        for (let i = 0; i < reads && (vu.readReg(UART_LSR) & 0x01) !== 0; i++) got[side].push(vu.readReg(UART_RBR));
      }
    }
    expect(got[1]).toEqual(sentBy[0]);
    expect(got[0]).toEqual(sentBy[1]);
    expect(got[0].length).toBe(total);
    expect(blocked).toBeGreaterThan(1000); // the slow readers held the writers back
    expect(a.txDropped + b.txDropped + a.rxOverruns + b.rxOverruns).toBe(0);
    vuartDisconnect(a);
    expect([a.backend, b.backend, a.rxListener, b.rxListener]).toEqual([null, null, null, null]);
  });

  it('connected: a full peer RX holds THRE at 0 until the peer reads', () => {
    const a = fresh().vu;
    const b = fresh().vu;
    vuartConnect(a, b);
    a.writeReg(UART_FCR, 0x01);
    b.writeReg(UART_FCR, 0x01);
    for (let i = 0; i < 32; i++) a.writeReg(UART_THR, i);
    expect(a.readReg(UART_LSR) & 0x60).toBe(0x00);
    expect(b.rxSpace()).toBe(0);
    for (let i = 0; i < 16; i++) expect(b.readReg(UART_RBR)).toBe(i);
    expect(a.readReg(UART_LSR) & 0x60).toBe(0x60);
    for (let i = 16; i < 32; i++) expect(b.readReg(UART_RBR)).toBe(i);
  });
});

describe('vuart port adapter', () => {
  it('ports base..base+7 through IoEmul; wider accesses touch one register', () => {
    const io = new IoEmul();
    const { vu } = fresh();
    expect(io.registerPio(vu.base, 8, WIDTH_ANY, vu.pio)).toBe(true);
    io.pioWrite(0x3ff, 1, 0x42);
    expect(io.pioRead(0x3ff, 1)).toBe(0x42);
    expect(io.pioRead(0x3fd, 1)).toBe(0x60);
    io.pioWrite(0x3fb, 2, 0x1283); // LCR = 0x83 only
    expect(io.pioRead(0x3fb, 4)).toBe(0x83);
    expect(io.pioRead(0x3fc, 1)).toBe(0x00); // MCR untouched
    expect(io.pioRead(0x3f8, 1)).toBe(1); // DLL
  });
});

describe('vuart seeded random port accesses', () => {
  it('10,000 accesses never throw and keep the invariants', () => {
    const io = new IoEmul();
    const sinks = [new RecordingSink(), new RecordingSink()];
    const a = new Vuart(0x3f8, sinks[0], true);
    const b = new Vuart(0x2f8, sinks[1], false);
    a.reset();
    b.reset();
    vuartConnect(a, b);
    io.registerPio(0x3f8, 8, WIDTH_ANY, a.pio);
    io.registerPio(0x2f8, 8, WIDTH_ANY, b.pio);
    let seed = 0x5eed;
    const next = (): number => {
      seed ^= seed << 13;
      seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      seed >>>= 0;
      return seed;
    };
    let broken = 0;
    for (let i = 0; i < 10000; i++) {
      const r = next();
      const base = (r & 1) === 0 ? 0x3f8 : 0x2f8;
      const port = base + ((r >>> 1) & 7);
      const size = [1, 2, 4][(r >>> 4) % 3];
      const kind = (r >>> 8) % 10;
      if (kind < 5) io.pioRead(port, size);
      else if (kind < 9) io.pioWrite(port, size, next());
      else if ((r >>> 12) % 2 === 0) (base === 0x3f8 ? a : b).rxPush(next() & 0xff);
      else (base === 0x3f8 ? a : b).reset();
      for (const [vu, sink] of [[a, sinks[0]], [b, sinks[1]]] as [Vuart, RecordingSink][]) {
        const cap = vu.capacity();
        if (vu.rxCount < 0 || vu.rxCount > cap || vu.txCount < 0 || vu.txCount > cap) broken++;
        const iir = vu.interruptId();
        if (![0x0, 0x1, 0x2, 0x4, 0x6, 0xc].includes(iir)) broken++;
        const gated = vu.gateOut2 && ((vu.mcr & 0x08) === 0 || (vu.mcr & 0x10) !== 0);
        if (vu.line !== (iir !== 0x1 && !gated) || sink.level !== vu.line) broken++;
        const lsr = vu.lsr();
        if (((lsr & 0x01) !== 0) !== (vu.rxCount > 0) || ((lsr & 0x20) !== 0) !== (vu.txCount === 0)) broken++;
        if (vu.ier > 0x0f || vu.mcr > 0x1f) broken++;
      }
    }
    expect(broken).toBe(0);
  });
});

describe('vuart porffor rules', () => {
  const bundle = buildSync({
    stdin: { contents: "export * from './hv/vm/vuart';", resolveDir: process.cwd(), loader: 'ts' },
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

  it('no finally, BigInt, closures, switch or console', () => {
    expect(bundle).not.toMatch(/\bfinally\b|\b\d+n\b|=>|console\.|\bswitch\b/);
  });
});

describe('vuart lifecycle', () => {
  it('deinit breaks the link both ways; the peer keeps its bytes until a new backend', () => {
    const a = fresh().vu;
    const b = fresh().vu;
    vuartConnect(a, b);
    a.init();
    b.init();
    a.writeReg(UART_THR, 0x41);
    expect(b.readReg(UART_RBR)).toBe(0x41);
    a.deinit();
    expect([a.backend, a.rxListener, b.backend, b.rxListener]).toEqual([null, null, null, null]);
    b.writeReg(UART_THR, 0x42);
    expect(b.readReg(UART_LSR)).toBe(0x00);
    const be = new ScriptedBackend();
    b.backend = be;
    b.pump();
    expect(be.out).toEqual([0x42]);
    expect(a.readReg(UART_LSR)).toBe(0x60);
  });
});
