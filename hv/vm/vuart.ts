// The virtual 16550A UART (ACRN hypervisor/dm/vuart.c, behaviour from the
// PC16550D datasheet). A register-level core that owns its state, a thin
// port-I/O adapter (VuartPio, ports base..base+7), and two back-end sides:
//   TX: bytes the guest writes go into a 16-byte TX FIFO and leave through an
//       injected VuartBackend (the console multiplexer, or the peer vuart)
//       only while the backend is ready; LSR.THRE stays 0 until they left.
//   RX: rxPush(byte) from outside returns false when the RX FIFO is full, and
//       the caller keeps the byte; rxListener hears when space frees up.
// Nothing is lost under flow control; only a guest that ignores THRE (writes
// into a full TX FIFO) or an internal loopback overrun loses bytes, counted.
//
// Register map (DLAB = LCR bit 7):
//   +0 RBR (read) / THR (write)      DLAB: DLL      +4 MCR  - - - LOOP OUT2 OUT1 RTS DTR
//   +1 IER  - - - - EDSSI ELSI ETBEI ERBFI DLAB: DLM  +5 LSR  ERR TEMT THRE BI FE PE OE DR
//   +2 IIR (read)  FIFO FIFO - - ID3 ID2 ID1 /INT      +6 MSR  DCD RI DSR CTS DDCD TERI DDSR DCTS
//      FCR (write) TRIG TRIG - - DMA TXRST RXRST EN    +7 SCR
//   +3 LCR  DLAB BRK SPAR EPS PEN STB WLS1 WLS0
//
// IIR identification (datasheet table "Interrupt Control Functions"), by priority:
//   0x6 receiver line status (OE here)          cleared by reading LSR
//   0x4 received data at or above the trigger   cleared when the FIFO drops below it
//   0xC character timeout                       cleared by reading RBR
//   0x2 THR empty                               cleared by reading IIR (when it is the
//                                               source) or writing THR
//   0x0 modem status (MSR delta bits)           cleared by reading MSR
//   0x1 nothing pending; bits 7:6 read 11 when FIFOs are enabled.
//
// Simplifications, each documented where it lives:
//   - no time base: the character timeout is reported as soon as data below
//     the trigger level sits in the RX FIFO (the datasheet waits 4 character
//     times); Linux treats 0xC and 0x4 alike;
//   - no shift registers: TEMT = THRE = "TX FIFO empty";
//   - PE/FE/BI and LSR bit 7 are never set (no line errors on a virtual wire).
//
// Interrupt line: the chip's INTR output is gated as on PCs, where the IRQ
// buffer is enabled by the OUT2 output pin: the line is high when a reason is
// pending, MCR.OUT2 = 1 and MCR.LOOP = 0 (in loopback the datasheet forces the
// modem output pins inactive). ACRN's vuart.c does NOT gate (it raises the GSI
// whenever a reason is pending, whatever MCR says); pass gateOut2 = false for
// that behaviour. Linux's 8250 driver sets OUT2 whenever it uses the IRQ.
//
// Differences from ACRN's vuart.c, on purpose (datasheet behaviour):
//   - 16-byte FIFOs with flow control instead of 256/8192-byte rings that
//     overwrite the oldest byte; trigger levels honoured; OE only on a real
//     overrun (ACRN sets OE on every loopback write); OE cleared by reading
//     LSR only (ACRN also clears it on RBR reads);
//   - DLAB changes offsets 0 and 1 only (ACRN reads 0 at offsets 2-7 under DLAB);
//   - MSR after reset already holds DCD|DSR (ACRN: 0 until the first MCR write);
//   - FCR bit 2 (TX FIFO reset) honoured; FIFO enable changes clear both FIFOs.
// Kept from ACRN: MCR bits 7:5 and IER bits 7:4 read 0; MSR outside loopback is
// DCD|DSR (CTS not asserted); the divisor latch resets to 1 (115200 baud).
//
// Porffor rules (tools/PORFFOR.md): no allocation after construction, stores
// into typed arrays indexed by locals (P1), values masked before stores (B9).
import type { PioDevice } from './io-emul';

export const UART_RBR = 0;
export const UART_THR = 0;
export const UART_DLL = 0;
export const UART_IER = 1;
export const UART_DLM = 1;
export const UART_IIR = 2;
export const UART_FCR = 2;
export const UART_LCR = 3;
export const UART_MCR = 4;
export const UART_LSR = 5;
export const UART_MSR = 6;
export const UART_SCR = 7;

export const IER_ERBFI = 0x01;
export const IER_ETBEI = 0x02;
export const IER_ELSI = 0x04;
export const IER_EDSSI = 0x08;

export const IIR_NONE = 0x01;
export const IIR_MSR = 0x00;
export const IIR_THRE = 0x02;
export const IIR_RDA = 0x04;
export const IIR_RLS = 0x06;
export const IIR_TIMEOUT = 0x0c;
export const IIR_FIFO_BITS = 0xc0;

export const FCR_ENABLE = 0x01;
export const FCR_RX_RESET = 0x02;
export const FCR_TX_RESET = 0x04;
export const FCR_DMA = 0x08;
export const FCR_TRIGGER = 0xc0;

export const LCR_DLAB = 0x80;

export const MCR_DTR = 0x01;
export const MCR_RTS = 0x02;
export const MCR_OUT1 = 0x04;
export const MCR_OUT2 = 0x08;
export const MCR_LOOP = 0x10;

export const LSR_DR = 0x01;
export const LSR_OE = 0x02;
export const LSR_THRE = 0x20;
export const LSR_TEMT = 0x40;

export const MSR_DCTS = 0x01;
export const MSR_DDSR = 0x02;
export const MSR_TERI = 0x04;
export const MSR_DDCD = 0x08;
export const MSR_DELTAS = 0x0f;
export const MSR_CTS = 0x10;
export const MSR_DSR = 0x20;
export const MSR_RI = 0x40;
export const MSR_DCD = 0x80;

/** FIFO depth of a 16550A; 1 (a holding register) with FIFOs disabled. */
export const VUART_FIFO_SIZE = 16;

/** RX trigger levels by FCR bits 7:6. */
const TRIGGER_LEVELS = [1, 4, 8, 14];

/** COM1-4 port bases and their ISA IRQs (ACRN-ABI.md "Devices and memory"). */
export const COM_BASES = [0x3f8, 0x2f8, 0x3e8, 0x2e8];
export const COM_IRQS = [4, 3, 6, 7];

/** The interrupt line; the VM wires it to the vuart's GSI (4/3/6/7) on the vPIC and vIOAPIC. */
export interface VuartSink {
  irq(level: boolean): void;
}

/** Where transmitted bytes go. tx is only called right after txReady returned true. */
export interface VuartBackend {
  txReady(): boolean;
  tx(byte: number): void;
}

/** Told when the RX FIFO gained space (RBR read, FIFO reset, loopback off, reset). */
export interface VuartRxListener {
  rxSpaceAvailable(): void;
}

export class Vuart {
  readonly base: number;
  readonly sink: VuartSink;
  /** Gate the line with MCR.OUT2 as PCs do (false: ACRN's ungated line). */
  readonly gateOut2: boolean;
  backend: VuartBackend | null = null;
  rxListener: VuartRxListener | null = null;
  /** The port adapter (register it for base..base+7). */
  readonly pio: VuartPio;
  /** This vuart's end of a vuartConnect link (preallocated). */
  readonly link: VuartPeer;

  readonly rxBuf = new Uint8Array(VUART_FIFO_SIZE);
  rxHead = 0;
  rxCount = 0;
  readonly txBuf = new Uint8Array(VUART_FIFO_SIZE);
  txHead = 0;
  txCount = 0;

  ier = 0;
  fcr = 0;
  lcr = 0;
  mcr = 0;
  msr = MSR_DCD | MSR_DSR;
  scr = 0;
  dll = 1;
  dlm = 0;
  /** LSR.OE, sticky until LSR is read. */
  overrun = false;
  /** THRE interrupt condition (set when the TX FIFO empties, see the table above). */
  thrPending = false;
  /** The last byte read from RBR (an empty RBR reads it again). */
  rbr = 0;
  /** The level last given to the sink. */
  line = false;

  /** Bytes a guest wrote while the TX FIFO was full (it ignored THRE). */
  txDropped = 0;
  /** Bytes lost to an RX overrun (loopback into a full RX FIFO). */
  rxOverruns = 0;

  constructor(base: number, sink: VuartSink, gateOut2: boolean) {
    this.base = base;
    this.sink = sink;
    this.gateOut2 = gateOut2;
    this.pio = new VuartPio(this);
    this.link = new VuartPeer();
  }

  /** VM creation: power-on state. */
  init(): void {
    this.reset();
  }

  /**
   * VM shutdown (ACRN vuart_deinit): break a vuartConnect link (the peer
   * keeps its unsent bytes under flow control until it gets a new backend),
   * drop the backend and RX listener, power-on state.
   */
  deinit(): void {
    if (this.link.dst !== null) vuartDisconnect(this);
    this.backend = null;
    this.rxListener = null;
    this.reset();
  }

  /** Power-on state (datasheet "Reset" table); backend and connections stay. */
  reset(): void {
    this.ier = 0;
    this.fcr = 0;
    this.lcr = 0;
    this.mcr = 0;
    this.msr = MSR_DCD | MSR_DSR;
    this.scr = 0;
    this.dll = 1;
    this.dlm = 0;
    this.overrun = false;
    this.thrPending = false;
    this.rbr = 0;
    this.rxHead = 0;
    this.rxCount = 0;
    this.txHead = 0;
    this.txCount = 0;
    this.txDropped = 0;
    this.rxOverruns = 0;
    this.updateLine();
    this.notifyRxSpace();
  }

  fifoEnabled(): boolean {
    return (this.fcr & FCR_ENABLE) !== 0;
  }

  loopback(): boolean {
    return (this.mcr & MCR_LOOP) !== 0;
  }

  /** Bytes each FIFO holds: 16, or 1 (the holding register) with FIFOs off. */
  capacity(): number {
    return (this.fcr & FCR_ENABLE) !== 0 ? VUART_FIFO_SIZE : 1;
  }

  /** RX bytes that raise "received data available" (1 with FIFOs off). */
  triggerLevel(): number {
    return (this.fcr & FCR_ENABLE) !== 0 ? TRIGGER_LEVELS[(this.fcr >>> 6) & 3] : 1;
  }

  // ---- the back-end sides ----

  /** Free RX slots for rxPush (0 in loopback: the receiver input is disconnected). */
  rxSpace(): number {
    if ((this.mcr & MCR_LOOP) !== 0) return 0;
    return this.capacity() - this.rxCount;
  }

  /** A byte from outside; false when it was not taken (FIFO full or loopback): keep it. */
  rxPush(byte: number): boolean {
    if ((this.mcr & MCR_LOOP) !== 0 || this.rxCount >= this.capacity()) return false;
    this.rxStore(byte);
    this.updateLine();
    return true;
  }

  /** Move TX FIFO bytes to the backend while it is ready (to RX in loopback). */
  pump(): void {
    const before = this.txCount;
    if ((this.mcr & MCR_LOOP) !== 0) {
      while (this.txCount > 0) {
        const b = this.txTake();
        if (this.rxCount < this.capacity()) {
          this.rxStore(b);
        } else {
          // Overrun: the character in the shift register is lost (datasheet LSR bit 1).
          this.overrun = true;
          this.rxOverruns++;
        }
      }
    } else {
      const be = this.backend;
      if (be !== null) {
        while (this.txCount > 0 && be.txReady()) be.tx(this.txTake());
      }
    }
    if (before > 0 && this.txCount === 0) this.thrPending = true;
    this.updateLine();
  }

  // ---- registers ----

  /** Read register `offset` (0-7); side effects as the datasheet says. */
  readReg(offset: number): number {
    const reg = offset & 7;
    let value = 0;
    let freed = false;
    if ((this.lcr & LCR_DLAB) !== 0 && reg <= 1) {
      value = reg === 0 ? this.dll : this.dlm;
    } else if (reg === UART_RBR) {
      if (this.rxCount > 0) {
        this.rbr = this.rxTake();
        freed = true;
      }
      value = this.rbr;
    } else if (reg === UART_IER) {
      value = this.ier;
    } else if (reg === UART_IIR) {
      const id = this.interruptId();
      if (id === IIR_THRE) this.thrPending = false;
      value = id | ((this.fcr & FCR_ENABLE) !== 0 ? IIR_FIFO_BITS : 0);
    } else if (reg === UART_LCR) {
      value = this.lcr;
    } else if (reg === UART_MCR) {
      value = this.mcr;
    } else if (reg === UART_LSR) {
      value = this.lsr();
      this.overrun = false;
    } else if (reg === UART_MSR) {
      value = this.msr;
      this.msr = this.msr & ~MSR_DELTAS & 0xff;
    } else {
      value = this.scr;
    }
    this.updateLine();
    if (freed) this.notifyRxSpace();
    return value;
  }

  /** Write register `offset` (0-7) with the byte `value`. */
  writeReg(offset: number, value: number): void {
    const reg = offset & 7;
    const v = value & 0xff;
    if ((this.lcr & LCR_DLAB) !== 0 && reg <= 1) {
      if (reg === 0) this.dll = v;
      else this.dlm = v;
    } else if (reg === UART_THR) {
      this.thrPending = false;
      if (this.txCount < this.capacity()) this.txStore(v);
      else this.txDropped++;
      this.pump();
    } else if (reg === UART_IER) {
      // Enabling ETBEI while the THR is empty raises the THRE interrupt (datasheet; ACRN too).
      if ((this.ier & IER_ETBEI) === 0 && (v & IER_ETBEI) !== 0 && this.txCount === 0) this.thrPending = true;
      this.ier = v & 0x0f;
    } else if (reg === UART_FCR) {
      this.writeFcr(v);
    } else if (reg === UART_LCR) {
      this.lcr = v;
    } else if (reg === UART_MCR) {
      this.writeMcr(v);
    } else if (reg === UART_SCR) {
      this.scr = v;
    }
    // LSR and MSR writes are ignored (factory test only / read-only).
    this.updateLine();
  }

  /** LSR as read now (without the read's side effect). */
  lsr(): number {
    let v = 0;
    if (this.rxCount > 0) v |= LSR_DR;
    if (this.overrun) v |= LSR_OE;
    if (this.txCount === 0) v |= LSR_THRE | LSR_TEMT;
    return v;
  }

  /** The IIR identification bits 3:0 of the highest-priority pending reason. */
  interruptId(): number {
    const ier = this.ier;
    if ((ier & IER_ELSI) !== 0 && this.overrun) return IIR_RLS;
    if ((ier & IER_ERBFI) !== 0 && this.rxCount > 0) {
      // Simplified character timeout: no time base, so data below the trigger is reported at once.
      return this.rxCount >= this.triggerLevel() ? IIR_RDA : IIR_TIMEOUT;
    }
    if ((ier & IER_ETBEI) !== 0 && this.thrPending) return IIR_THRE;
    if ((ier & IER_EDSSI) !== 0 && (this.msr & MSR_DELTAS) !== 0) return IIR_MSR;
    return IIR_NONE;
  }

  /** The chip's INTR output before the OUT2 gate. */
  intrPending(): boolean {
    return this.interruptId() !== IIR_NONE;
  }

  /** Recompute the gated line and tell the sink when it changed. */
  updateLine(): void {
    let level = this.interruptId() !== IIR_NONE;
    if (this.gateOut2 && ((this.mcr & MCR_OUT2) === 0 || (this.mcr & MCR_LOOP) !== 0)) level = false;
    if (level !== this.line) {
      this.line = level;
      this.sink.irq(level);
    }
  }

  // ---- internals ----

  writeFcr(v: number): void {
    const wasOn = (this.fcr & FCR_ENABLE) !== 0;
    const on = (v & FCR_ENABLE) !== 0;
    let clearRx = false;
    let clearTx = false;
    if (on !== wasOn) {
      // Changing FCR0 clears both FIFOs (datasheet FCR bit 0).
      clearRx = true;
      clearTx = true;
    }
    if (on) {
      if ((v & FCR_RX_RESET) !== 0) clearRx = true;
      if ((v & FCR_TX_RESET) !== 0) clearTx = true;
      this.fcr = v & (FCR_ENABLE | FCR_DMA | FCR_TRIGGER);
    } else {
      // With FCR0 = 0 no other FCR bit is programmed.
      this.fcr = 0;
    }
    if (clearTx && this.txCount > 0) {
      this.txHead = 0;
      this.txCount = 0;
      this.thrPending = true;
    }
    if (clearRx) {
      this.rxHead = 0;
      this.rxCount = 0;
    }
    this.updateLine();
    if (clearRx || clearTx) this.pump();
    if (clearRx || on !== wasOn) this.notifyRxSpace();
  }

  writeMcr(v: number): void {
    const wasLoop = (this.mcr & MCR_LOOP) !== 0;
    this.mcr = v & 0x1f;
    const loop = (this.mcr & MCR_LOOP) !== 0;
    // Loopback: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD; otherwise DCD|DSR as ACRN.
    let inputs = MSR_DCD | MSR_DSR;
    if (loop) {
      inputs = 0;
      if ((v & MCR_RTS) !== 0) inputs |= MSR_CTS;
      if ((v & MCR_DTR) !== 0) inputs |= MSR_DSR;
      if ((v & MCR_OUT1) !== 0) inputs |= MSR_RI;
      if ((v & MCR_OUT2) !== 0) inputs |= MSR_DCD;
    }
    const old = this.msr;
    let deltas = old & MSR_DELTAS;
    if (((inputs ^ old) & MSR_CTS) !== 0) deltas |= MSR_DCTS;
    if (((inputs ^ old) & MSR_DSR) !== 0) deltas |= MSR_DDSR;
    if (((inputs ^ old) & MSR_DCD) !== 0) deltas |= MSR_DDCD;
    if ((old & MSR_RI) !== 0 && (inputs & MSR_RI) === 0) deltas |= MSR_TERI;
    this.msr = (inputs | deltas) & 0xff;
    if (loop !== wasLoop) {
      this.updateLine();
      this.pump();
      if (!loop) this.notifyRxSpace();
    }
  }

  notifyRxSpace(): void {
    const l = this.rxListener;
    if (l !== null && this.rxSpace() > 0) l.rxSpaceAvailable();
  }

  rxStore(byte: number): void {
    let at = this.rxHead + this.rxCount;
    if (at >= VUART_FIFO_SIZE) at -= VUART_FIFO_SIZE;
    this.rxBuf[at] = byte & 0xff;
    this.rxCount++;
  }

  rxTake(): number {
    const at = this.rxHead;
    const b = this.rxBuf[at];
    this.rxHead = at + 1 === VUART_FIFO_SIZE ? 0 : at + 1;
    this.rxCount--;
    return b;
  }

  txStore(byte: number): void {
    let at = this.txHead + this.txCount;
    if (at >= VUART_FIFO_SIZE) at -= VUART_FIFO_SIZE;
    this.txBuf[at] = byte & 0xff;
    this.txCount++;
  }

  txTake(): number {
    const at = this.txHead;
    const b = this.txBuf[at];
    this.txHead = at + 1 === VUART_FIFO_SIZE ? 0 : at + 1;
    this.txCount--;
    return b;
  }
}

/**
 * Ports base..base+7. Any width is taken as ACRN does: the register at the
 * addressed port, the low byte of a write, a read zero-extended (a 2- or
 * 4-byte access touches one register, not the neighbours).
 */
export class VuartPio implements PioDevice {
  readonly vuart: Vuart;

  constructor(vuart: Vuart) {
    this.vuart = vuart;
  }

  pioRead(port: number, _size: number): number {
    return this.vuart.readReg(port - this.vuart.base);
  }

  pioWrite(port: number, _size: number, value: number): void {
    this.vuart.writeReg(port - this.vuart.base, value);
  }
}

/**
 * One direction of a vuart-to-vuart link: the backend of `src` that feeds
 * `dst`'s RX FIFO, and the RX listener of `dst` that restarts `src`'s TX.
 */
export class VuartPeer implements VuartBackend, VuartRxListener {
  src: Vuart | null = null;
  dst: Vuart | null = null;

  txReady(): boolean {
    const d = this.dst;
    return d !== null && d.rxSpace() > 0;
  }

  tx(byte: number): void {
    const d = this.dst;
    if (d !== null) d.rxPush(byte);
  }

  rxSpaceAvailable(): void {
    const s = this.src;
    if (s !== null) s.pump();
  }
}

/** Connect two vuarts both ways (ACRN's vuart connection); replaces their backends and RX listeners. */
export function vuartConnect(a: Vuart, b: Vuart): void {
  a.link.src = a;
  a.link.dst = b;
  a.backend = a.link;
  b.rxListener = a.link;
  b.link.src = b;
  b.link.dst = a;
  b.backend = b.link;
  a.rxListener = b.link;
  a.pump();
  b.pump();
}

/** Undo vuartConnect for `a` and its peer (bytes already in the TX FIFOs stay there). */
export function vuartDisconnect(a: Vuart): void {
  const b = a.link.dst;
  a.link.src = null;
  a.link.dst = null;
  if (a.backend === a.link) a.backend = null;
  if (b !== null) {
    b.link.src = null;
    b.link.dst = null;
    if (b.backend === b.link) b.backend = null;
    if (b.rxListener === a.link) b.rxListener = null;
    if (a.rxListener === b.link) a.rxListener = null;
  }
}
