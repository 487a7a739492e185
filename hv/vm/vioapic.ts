// Virtual I/O APIC, 82093AA style, version 0x11 (ACRN hypervisor/dm/vioapic.c;
// Intel 82093AA I/O APIC datasheet, 3.2 "Register Description"). Two
// memory-mapped registers select and reach the indirect ones:
//
//   base + 0x00  IOREGSEL  bits 7:0 register index (32-bit accesses only)
//   base + 0x10  IOWIN     the selected register
//
//   0x00        ID           27:24 APIC ID (the only writable bits)
//   0x01        version      23:16 max redirection entry (pins - 1), 7:0 0x11; read-only
//   0x02        arbitration  27:24 arbitration ID (= the ID here); read-only
//   0x10 + 2n   RTE n bits 31:0     0x11 + 2n   RTE n bits 63:32
//
//   redirection entry: 63:56 destination   16 mask   15 trigger (1 level)
//     14 remote IRR (RO)   13 polarity (1 active low)   12 delivery status (RO, always 0 here)
//     11 destination mode (1 logical)   10:8 delivery mode   7:0 vector
//
// Version 0x11 has no EOI register: a level-triggered entry's remote IRR is
// cleared by the EOI message the local APICs broadcast (eoi(vector), ACRN
// vioapic_broadcast_eoi -> vioapic_process_eoi), or when software rewrites the
// entry as edge-triggered (what OSes do to unstick one, ACRN).
//
// Pins: setIrq(pin, level) drives the wire; an active-low entry sees the
// inverted level. Edge-triggered entries deliver once per inactive-to-active
// transition; level-triggered entries deliver while active, unless remote IRR
// is set (set by the delivery, so they wait for the EOI, then deliver again if
// still active). Masked entries ignore their pin (an edge is lost; datasheet:
// "not delivered or held pending"), but a level entry unmasked - or made
// level-triggered, or given the polarity that makes it active - while its
// line is active delivers then. ACRN also re-delivers an unmasked edge entry
// on any write while its line is high; this model follows the datasheet.
// Deliveries go to VioapicSink.deliver with the entry's fields decoded; the
// vIOAPIC does not know the vLAPICs (the VM calls vlapicDeliverMessage).
// Reserved bits of an entry (55:17) are stored as written (ACRN).
//
// Nothing here allocates after construction or throws; registers, pins,
// vectors and values may be hostile.
import type { MmioDevice } from './io-emul';

/** Where the vIOAPIC's interrupt messages go (the VM: vlapicDeliverMessage over its vLAPICs, xAPIC format). */
export interface VioapicSink {
  /**
   * Deliver a message: `destMode` 0 physical / 1 logical (DEST_PHYSICAL /
   * DEST_LOGICAL), `dest` bits 63:56 of the entry, `deliveryMode` bits 10:8
   * (0 fixed, 1 lowest priority, 2 SMI, 4 NMI, 5 INIT, 7 ExtINT; 3 and 6 are
   * reserved), `levelTriggered` bit 15 (the vLAPIC sets TMR so its EOI comes
   * back to eoi()). Called with the vIOAPIC's state consistent (remote IRR
   * already set); the sink may call back into it.
   */
  deliver(destMode: number, dest: number, deliveryMode: number, vector: number, levelTriggered: boolean): void;
}

export const VIOAPIC_BASE = 0xfec00000;
/** The MMIO page the vIOAPIC claims (ACRN VIOAPIC_SIZE). */
export const VIOAPIC_SIZE = 0x1000;
export const VIOAPIC_VERSION = 0x11;
/** Pins of a non-Service VM's vIOAPIC (ACRN VIOAPIC_RTE_NUM). */
export const VIOAPIC_PINS_DEFAULT = 48;
/** Register indexes are 8 bits: 0x10 + 2n + 1 <= 0xff allows 120 entries. */
export const VIOAPIC_MAX_PINS = 120;

export const IOAPIC_IOREGSEL = 0x00;
export const IOAPIC_IOWIN = 0x10;
export const IOAPIC_REG_ID = 0x00;
export const IOAPIC_REG_VERSION = 0x01;
export const IOAPIC_REG_ARBITRATION = 0x02;
export const IOAPIC_REG_REDTBL = 0x10;
/** ID and arbitration registers: bits 27:24. */
export const IOAPIC_ID_SHIFT = 24;
export const IOAPIC_ID_MASK = 0x0f000000;

export const RTE_VECTOR = 0xff;
export const RTE_DELIVERY_MODE_SHIFT = 8;
export const RTE_DEST_LOGICAL = 0x800;
export const RTE_DELIVERY_STATUS = 0x1000;
export const RTE_ACTIVE_LOW = 0x2000;
export const RTE_REMOTE_IRR = 0x4000;
export const RTE_LEVEL = 0x8000;
export const RTE_MASKED = 0x10000;
/** Bits software cannot write (delivery status, remote IRR). */
export const RTE_READ_ONLY = RTE_DELIVERY_STATUS | RTE_REMOTE_IRR;
/** Destination: high word bits 31:24 (entry bits 63:56). */
export const RTE_DEST_SHIFT = 24;

/** Any number as a u32 (x86 semantics: bits 31:0; NaN and huge values are 0). */
function vioapicU32(value: number): number {
  if (!(value >= -9007199254740991 && value <= 9007199254740991)) return 0;
  const whole = Math.floor(value);
  return whole - Math.floor(whole / 4294967296) * 4294967296;
}

export class Vioapic implements MmioDevice {
  /** Redirection entries (1 to VIOAPIC_MAX_PINS). */
  pins: number;
  /** Guest-physical address of IOREGSEL; the first GSI of pin 0 (the Service VM's vIOAPICs mirror the MADT's). */
  base: number;
  gsiBase = 0;
  /** The ID register's value after a reset (the physical chip's for the Service VM, as ACRN). */
  resetId = 0;
  readonly sink: VioapicSink;
  /** Redirection entries, bits 31:0 and 63:32 (read them; write through writeReg). */
  readonly redirLo = new Uint32Array(VIOAPIC_MAX_PINS);
  readonly redirHi = new Uint32Array(VIOAPIC_MAX_PINS);
  /** Wire level of each pin (1 high), as setIrq left it. */
  readonly lines = new Uint8Array(VIOAPIC_MAX_PINS);
  /** ID register bits 27:24. */
  id = 0;
  /** IOREGSEL. */
  regSelect = 0;
  mmioValueHi = 0;
  /** MMIO accesses dropped: not 32 bits wide, or not at IOREGSEL/IOWIN. */
  badAccesses = 0;
  /** setIrq/pulse calls with a pin that does not exist. */
  ignoredPins = 0;
  /** Messages handed to the sink. */
  deliveries = 0;

  /** `pins` is clamped to 1..VIOAPIC_MAX_PINS; `base` is the guest-physical address of IOREGSEL. */
  constructor(pins: number, base: number, sink: VioapicSink) {
    this.pins = pins >= 1 && pins <= VIOAPIC_MAX_PINS ? Math.floor(pins) : pins > VIOAPIC_MAX_PINS ? VIOAPIC_MAX_PINS : 1;
    this.base = base;
    this.sink = sink;
    this.reset();
  }

  /** Shape it (VM create, before any use): `pins` clamped as in the constructor, then a reset. */
  configure(pins: number, base: number, gsiBase: number, id: number): void {
    this.pins = pins >= 1 && pins <= VIOAPIC_MAX_PINS ? Math.floor(pins) : pins > VIOAPIC_MAX_PINS ? VIOAPIC_MAX_PINS : 1;
    this.base = base;
    this.gsiBase = gsiBase;
    this.resetId = id & 0x0f;
    this.lines.fill(0);
    this.reset();
  }

  /** Every entry masked with the other bits 0, the ID its reset value, IOREGSEL 0. Pin levels are wires and are kept. */
  reset(): void {
    for (let pin = 0; pin < VIOAPIC_MAX_PINS; pin++) {
      this.redirLo[pin] = RTE_MASKED;
      this.redirHi[pin] = 0;
    }
    this.id = this.resetId;
    this.regSelect = 0;
    this.mmioValueHi = 0;
  }

  /** Drive pin `pin` to `level` (true = wire high). */
  setIrq(pin: number, level: boolean): void {
    if (!this.validPin(pin)) return;
    this.driveLine(pin, level === true ? 1 : 0);
  }

  /** Raise then lower pin `pin`: one edge for an edge-triggered active-high entry (ACRN GSI_RAISING_PULSE). */
  pulse(pin: number): void {
    if (!this.validPin(pin)) return;
    this.driveLine(pin, 1);
    this.driveLine(pin, 0);
  }

  /**
   * EOI broadcast for `vector` from a vLAPIC: every level-triggered entry with
   * that vector and remote IRR set has it cleared, and delivers again if its
   * line is still active and it is unmasked.
   */
  eoi(vector: number): void {
    const v = vioapicU32(vector) & 0xff;
    const n = this.pins;
    for (let pin = 0; pin < n; pin++) {
      const lo = this.redirLo[pin];
      if ((lo & RTE_VECTOR) !== v || (lo & RTE_REMOTE_IRR) === 0) continue;
      this.redirLo[pin] = (lo & ~RTE_REMOTE_IRR) >>> 0;
      this.levelCheck(pin);
    }
  }

  /** Is pin `pin`'s input active (its wire level seen through the entry's polarity)? */
  isActive(pin: number): boolean {
    const high = this.lines[pin] !== 0;
    return (this.redirLo[pin] & RTE_ACTIVE_LOW) !== 0 ? !high : high;
  }

  /** Indirect register `index` (what IOWIN reads with IOREGSEL = index); 0 for an unimplemented one. */
  readReg(index: number): number {
    const reg = vioapicU32(index) & 0xff;
    if (reg === IOAPIC_REG_ID || reg === IOAPIC_REG_ARBITRATION) return (this.id << IOAPIC_ID_SHIFT) >>> 0;
    if (reg === IOAPIC_REG_VERSION) return (((this.pins - 1) << 16) | VIOAPIC_VERSION) >>> 0;
    if (reg < IOAPIC_REG_REDTBL || reg >= IOAPIC_REG_REDTBL + this.pins * 2) return 0;
    const pin = (reg - IOAPIC_REG_REDTBL) >>> 1;
    return (reg & 1) !== 0 ? this.redirHi[pin] : this.redirLo[pin];
  }

  /** Write indirect register `index` (what IOWIN does with IOREGSEL = index). */
  writeReg(index: number, value: number): void {
    const reg = vioapicU32(index) & 0xff;
    const data = vioapicU32(value);
    if (reg === IOAPIC_REG_ID) {
      this.id = (data & IOAPIC_ID_MASK) >>> IOAPIC_ID_SHIFT;
      return;
    }
    if (reg < IOAPIC_REG_REDTBL || reg >= IOAPIC_REG_REDTBL + this.pins * 2) return; // version, arbitration, unimplemented
    const pin = (reg - IOAPIC_REG_REDTBL) >>> 1;
    if ((reg & 1) !== 0) {
      this.redirHi[pin] = data;
      return; // the destination is used at the next delivery
    }
    let lo = ((this.redirLo[pin] & RTE_READ_ONLY) | (data & ~RTE_READ_ONLY)) >>> 0;
    if ((lo & RTE_LEVEL) === 0) lo = (lo & ~RTE_REMOTE_IRR) >>> 0;
    this.redirLo[pin] = lo;
    this.levelCheck(pin);
  }

  mmioRead(gpa: number, size: number): number {
    this.mmioValueHi = 0;
    const offset = gpa - this.base;
    if (size !== 4 || (offset !== IOAPIC_IOREGSEL && offset !== IOAPIC_IOWIN)) {
      this.badAccesses++;
      if (size === 8) this.mmioValueHi = 0xffffffff;
      return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
    }
    return offset === IOAPIC_IOREGSEL ? this.regSelect : this.readReg(this.regSelect);
  }

  mmioWrite(gpa: number, size: number, _hiHalf: number, loHalf: number): void {
    const offset = gpa - this.base;
    if (size !== 4 || (offset !== IOAPIC_IOREGSEL && offset !== IOAPIC_IOWIN)) {
      this.badAccesses++;
      return;
    }
    if (offset === IOAPIC_IOREGSEL) this.regSelect = vioapicU32(loHalf) & 0xff;
    else this.writeReg(this.regSelect, loHalf);
  }

  private validPin(pin: number): boolean {
    if (!(pin >= 0 && pin < this.pins) || Math.floor(pin) !== pin) {
      this.ignoredPins++;
      return false;
    }
    return true;
  }

  private driveLine(pin: number, level: number): void {
    const wasActive = this.isActive(pin);
    this.lines[pin] = level;
    const lo = this.redirLo[pin];
    if ((lo & RTE_MASKED) !== 0) return;
    if ((lo & RTE_LEVEL) !== 0) this.levelCheck(pin);
    else if (!wasActive && this.isActive(pin)) this.fire(pin);
  }

  /** A level-triggered entry, unmasked, active and without remote IRR delivers. */
  private levelCheck(pin: number): void {
    const lo = this.redirLo[pin];
    if ((lo & (RTE_LEVEL | RTE_MASKED | RTE_REMOTE_IRR)) !== RTE_LEVEL || !this.isActive(pin)) return;
    this.fire(pin);
  }

  /** Send entry `pin`'s message; a level-triggered one sets remote IRR first. */
  private fire(pin: number): void {
    let lo = this.redirLo[pin];
    const level = (lo & RTE_LEVEL) !== 0;
    if (level) {
      lo = (lo | RTE_REMOTE_IRR) >>> 0;
      this.redirLo[pin] = lo;
    }
    this.deliveries++;
    this.sink.deliver((lo & RTE_DEST_LOGICAL) !== 0 ? 1 : 0, this.redirHi[pin] >>> RTE_DEST_SHIFT,
      (lo >>> RTE_DELIVERY_MODE_SHIFT) & 7, lo & RTE_VECTOR, level);
  }
}
