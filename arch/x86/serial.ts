// A polled 16550 UART driver (the physical console; COM1 at 0x3F8).
// Register map (PC16550D datasheet, "Register Addresses"):
//   +0 RBR (read) / THR (write) / DLL (DLAB=1)   +1 IER / DLM (DLAB=1)
//   +2 IIR (read) / FCR (write)                  +3 LCR
//   +4 MCR   +5 LSR   +6 MSR   +7 SCR
import { inb, outb } from './intrinsics';

export const COM1_BASE = 0x3f8;

const REG_DATA = 0;
const REG_IER = 1;
const REG_FCR = 2;
const REG_LCR = 3;
const REG_MCR = 4;
const REG_LSR = 5;

const LCR_DLAB = 0x80;
const LCR_8N1 = 0x03;
const FCR_ENABLE_CLEAR_14 = 0xc7; // enable FIFOs, clear RX/TX, RX trigger 14 bytes
const MCR_DTR_RTS_OUT2 = 0x0b;
const LSR_DATA_READY = 0x01;
const LSR_BREAK = 0x10;
const LSR_THR_EMPTY = 0x20;
const LSR_TX_EMPTY = 0x40; // THR and shift register empty (TEMT)

/** 115200 baud: divisor latch = 115200 / baud. */
const DIVISOR_115200 = 1;

/**
 * Bound on polls of LSR before a byte is given up: a missing or wedged UART
 * must not hang the hypervisor (a real 16550 at 115200 drains a byte in ~87 us).
 */
const POLL_LIMIT = 1000000;

/** Anything that takes console bytes. */
export interface CharSink {
  putc(c: number): void;
}

export class Uart16550 implements CharSink {
  readonly base: number;
  /** Bytes dropped because the transmitter never became ready. */
  dropped = 0;
  /** BREAK conditions seen on input. */
  breaks = 0;

  constructor(base: number) {
    this.base = base;
  }

  /** 115200 8N1, FIFOs on, interrupts off (the hypervisor polls). */
  init(): void {
    const b = this.base;
    outb(b + REG_IER, 0);
    outb(b + REG_LCR, LCR_DLAB);
    outb(b + REG_DATA, DIVISOR_115200 & 0xff);
    outb(b + REG_IER, (DIVISOR_115200 >>> 8) & 0xff);
    outb(b + REG_LCR, LCR_8N1);
    outb(b + REG_FCR, FCR_ENABLE_CLEAR_14);
    outb(b + REG_MCR, MCR_DTR_RTS_OUT2);
  }

  /** Transmit one byte; '\n' goes out as "\r\n". */
  putc(c: number): void {
    if (c === 10) this.putRaw(13);
    this.putRaw(c);
  }

  putRaw(c: number): void {
    const lsr = this.base + REG_LSR;
    for (let i = 0; i < POLL_LIMIT; i++) {
      if ((inb(lsr) & LSR_THR_EMPTY) !== 0) {
        outb(this.base + REG_DATA, c & 0xff);
        return;
      }
    }
    this.dropped++;
  }

  /** One received byte, or -1 when none is waiting. A BREAK reads as -2. */
  getc(): number {
    const status = inb(this.base + REG_LSR);
    if ((status & LSR_DATA_READY) === 0) return -1;
    const c = inb(this.base + REG_DATA);
    if ((status & LSR_BREAK) !== 0) {
      this.breaks++;
      return -2;
    }
    return c;
  }

  /** Wait (bounded) until every transmitted byte has left the shift register. */
  drain(): void {
    const lsr = this.base + REG_LSR;
    for (let i = 0; i < POLL_LIMIT; i++) if ((inb(lsr) & LSR_TX_EMPTY) !== 0) return;
  }
}
