// Virtual PIC: two cascaded Intel 8259A programmable interrupt controllers
// as on a PC (ACRN hypervisor/dm/vpic.c; Intel 8259A datasheet; PIIX/ICH
// ELCR). The master answers at ports 0x20/0x21, the slave at 0xA0/0xA1 and
// its INT output drives the master's IR2; the edge/level control registers
// (ELCR) are at 0x4D0 (IRQ 0-7) and 0x4D1 (IRQ 8-15).
//
//   port A0=0 (0x20/0xA0) write: ICW1 when bit 4 = 1, else OCW3 when bit 3 = 1, else OCW2
//                         read:  IRR or ISR (OCW3 RR/RIS), or the poll word after OCW3 P
//   port A0=1 (0x21/0xA1) write: ICW2, ICW3, ICW4 during initialisation, else OCW1 (IMR)
//                         read:  IMR, or the poll word after OCW3 P
//
//   ICW1  7:5 A7-A5 (8080)  4 = 1  3 LTIM  2 ADI (8080)  1 SNGL  0 IC4
//   ICW2  7:3 vector base T7-T3 (2:0 ignored)
//   ICW3  master: bit n = a slave on IRn; slave: 2:0 its ID (recorded only)
//   ICW4  4 SFNM  3 BUF  2 M/S  1 AEOI  0 uPM (1 = 8086)
//   OCW2  7:5 R SL EOI: 001 non-specific EOI, 011 specific EOI (2:0),
//         101 rotate on non-specific EOI, 111 rotate on specific EOI (2:0),
//         100 set / 000 clear rotate in AEOI mode, 110 set priority (2:0 lowest), 010 no-op
//   OCW3  6 ESMM  5 SMM  3 = 1  2 P (poll)  1 RR  0 RIS
//
// The model (one state per chip; the pair adds the cascade and the INTR line):
// - Priority: IRn is served before IR(n+1) counting from the IR after the
//   lowest-priority one (`lowestPriority`, 7 after ICW1; rotation and the
//   set-priority command move it). An in-service IR blocks itself and every
//   lower IR (fully nested mode); in special mask mode the ISR blocks nothing
//   (datasheet: "enables interrupts from all other levels that are not
//   masked", ACRN vpic_get_highest_irrpin). In special fully nested mode the
//   master's IR2 in service does not block IR2 itself (a higher-priority
//   request inside the slave), but still blocks IR3-IR7.
// - Trigger: a pin is level-sensitive when its ELCR bit is set or its chip
//   was initialised with LTIM; its IRR bit follows the input line. Other pins
//   latch the rising edge in IRR; the latch stays until INTA (or ICW1) even
//   if the line falls (as ACRN and QEMU do, so a pulse() is one interrupt;
//   the real 8259A also wants an edge input held until INTA).
// - INTA (intAck): the highest eligible master IR goes to ISR (unless AEOI;
//   with rotate-in-AEOI it becomes the lowest priority); its edge latch is
//   cleared. IR2 in cascade mode also acknowledges the slave, which supplies
//   the vector. Nothing eligible on the master: the master's IR7 vector
//   without touching ISR (spurious IRQ 7); IR2 latched but nothing eligible
//   on the slave any more: master ISR2 is set and the slave's IR7 vector
//   comes back (spurious IRQ 15) - what a guest sees when a request goes away
//   between INTR and INTA.
// - INT outputs: the slave's INT (something eligible) is the master's IR2
//   input (edge-triggered: ELCR bits 0-2 are reserved); the master's INT is
//   the INTR line reported to VpicSink.intr on every change. An INTA cycle
//   (intAck, or a poll read) drops the acknowledged chip's INT; it rises again
//   when another request is eligible, so every intr(true) is one interrupt to
//   take and a slave with AEOI re-requests through the master's edge latch.
// - Initialisation: ICW1 starts it (IRR edge latches, ISR, IMR, special mask,
//   read-register select, poll and rotate-in-AEOI cleared; lowest priority 7;
//   without IC4 every ICW4 function is 0); ICW3 is skipped when SNGL, ICW4
//   when IC4 = 0. OCW2/OCW3 written before initialisation completes are
//   ignored (ACRN); OCW1 is taken whenever no ICW is expected. The
//   vector is always base + IR: 8080/8085 mode (uPM = 0) and buffered mode
//   are recorded but change nothing, as in QEMU. A master initialised with
//   SNGL has no slave: its IR2 is then answered by the master itself.
// - Pin 2 (the master's IR2) is wired to the slave; setIrq(2, ...) is ignored
//   (ACRN's GSI 2 is PIC pin 0). Input line levels are wires, not chip state:
//   reset() keeps them.
// - Ports take byte accesses only (ACRN): a wider access is counted in
//   `ignoredAccesses`, reads all ones and is dropped. Register the ranges with
//   WIDTH_1 to have the registry refuse them first.
//
// Nothing here allocates after construction or throws; pins, ports and values
// may be hostile (non-integers, NaN, out of range).
import type { PioDevice } from './io-emul';

/** The INTR output of the master (the VM turns a rising edge into an ExtINT for vCPU 0 through LINT0). */
export interface VpicSink {
  /**
   * INTR changed. Called with the vPIC's state consistent, as the last step of
   * the operation that caused it (the VM may call pendingVector or intAck from it).
   */
  intr(asserted: boolean): void;
}

export const VPIC_PINS = 16;
export const VPIC_MASTER_CMD = 0x20;
export const VPIC_MASTER_DATA = 0x21;
export const VPIC_SLAVE_CMD = 0xa0;
export const VPIC_SLAVE_DATA = 0xa1;
export const VPIC_ELCR_MASTER = 0x4d0;
export const VPIC_ELCR_SLAVE = 0x4d1;
/** ELCR bits software can set: IRQ 0, 1, 2 (master) and IRQ 8, 13 (slave) are always edge (PIIX, ACRN). */
export const ELCR_MASTER_WRITABLE = 0xf8;
export const ELCR_SLAVE_WRITABLE = 0xde;
/** The master input the slave's INT drives. */
export const VPIC_CASCADE_PIN = 2;

export const ICW1_IC4 = 0x01;
export const ICW1_SNGL = 0x02;
export const ICW1_LTIM = 0x08;
export const ICW1_INIT = 0x10;
export const ICW4_UPM = 0x01;
export const ICW4_AEOI = 0x02;
export const ICW4_MS = 0x04;
export const ICW4_BUF = 0x08;
export const ICW4_SFNM = 0x10;
export const OCW3_RIS = 0x01;
export const OCW3_RR = 0x02;
export const OCW3_POLL = 0x04;
export const OCW3_SELECT = 0x08;
export const OCW3_SMM = 0x20;
export const OCW3_ESMM = 0x40;
/** OCW2 commands (bits 7:5 R SL EOI). */
export const OCW2_CLEAR_ROTATE_AEOI = 0;
export const OCW2_EOI = 1;
export const OCW2_NOP = 2;
export const OCW2_SPECIFIC_EOI = 3;
export const OCW2_SET_ROTATE_AEOI = 4;
export const OCW2_ROTATE_EOI = 5;
export const OCW2_SET_PRIORITY = 6;
export const OCW2_ROTATE_SPECIFIC_EOI = 7;

/** The next word of the initialisation sequence a chip expects (INIT_DONE: none). */
export const INIT_DONE = 0;
export const INIT_ICW2 = 2;
export const INIT_ICW3 = 3;
export const INIT_ICW4 = 4;

/** Low byte of any number (x86 port semantics: the value's bits 7:0; NaN and huge values are 0). */
function vpicU8(value: number): number {
  if (!(value >= -9007199254740991 && value <= 9007199254740991)) return 0;
  const whole = Math.floor(value);
  return whole - Math.floor(whole / 256) * 256;
}

/** One 8259A: registers, modes and priority logic. The pair (Vpic) wires two of them. */
export class Vpic8259 {
  readonly isMaster: boolean;
  readonly elcrWritable: number;
  /** Interrupt request, in-service and mask registers (8 bits each). */
  irr = 0;
  isr = 0;
  imr = 0xff;
  /** Input pin levels (bit n = IRn high). */
  lines = 0;
  /** Edge/level control register (bit n = IRn level-sensitive). */
  elcr = 0;
  /** ICW2 bits 7:3: the vector of IR0. */
  vectorBase = 0;
  /** The IR with the lowest priority; the next one round has the highest. */
  lowestPriority = 7;
  icw1 = 0;
  icw3 = 0;
  icw4 = 0;
  /** INIT_DONE, or the ICW the data port takes next. */
  initState = INIT_DONE;
  /** The initialisation sequence has completed (never before the first one). */
  ready = false;
  /** OCW3: a read of the command port returns ISR (else IRR). */
  readIsr = false;
  /** OCW3 P: the next read of either port is a poll (an INTA for this chip). */
  pollPending = false;
  specialMask = false;
  /** OCW2 100/000: AEOI acknowledgements rotate priority. */
  rotateInAeoi = false;

  constructor(isMaster: boolean) {
    this.isMaster = isMaster;
    this.elcrWritable = isMaster ? ELCR_MASTER_WRITABLE : ELCR_SLAVE_WRITABLE;
  }

  /** Power-on state: uninitialised, everything masked, ELCR all edge. Input levels are kept. */
  resetChip(): void {
    this.irr = 0;
    this.isr = 0;
    this.imr = 0xff;
    this.elcr = 0;
    this.vectorBase = 0;
    this.lowestPriority = 7;
    this.icw1 = 0;
    this.icw3 = 0;
    this.icw4 = 0;
    this.initState = INIT_DONE;
    this.ready = false;
    this.readIsr = false;
    this.pollPending = false;
    this.specialMask = false;
    this.rotateInAeoi = false;
  }

  /** Bit n set when IRn is level-sensitive (ELCR, or every IR with LTIM). */
  levelMask(): number {
    return (this.icw1 & ICW1_LTIM) !== 0 ? 0xff : this.elcr;
  }

  /** Drive input IR`pin` (0-7) to `level`: level pins follow it, edge pins latch a rising edge. */
  setLine(pin: number, level: boolean): void {
    const bit = 1 << pin;
    const wasHigh = (this.lines & bit) !== 0;
    const levelPin = (this.levelMask() & bit) !== 0;
    if (level) {
      this.lines = this.lines | bit;
      if (levelPin || !wasHigh) this.irr = this.irr | bit;
    } else {
      this.lines = this.lines & ~bit & 0xff;
      if (levelPin) this.irr = this.irr & ~bit & 0xff;
    }
  }

  /** The IR an INTA would acknowledge now (highest priority, unmasked, not blocked by ISR), or -1. */
  resolveRequest(): number {
    if (!this.ready) return -1;
    const pending = this.irr & ~this.imr & 0xff;
    if (pending === 0) return -1;
    const serviced = this.specialMask ? 0 : this.isr;
    const sfnm = this.isMaster && (this.icw4 & ICW4_SFNM) !== 0;
    for (let i = 1; i <= 8; i++) {
      const pin = (this.lowestPriority + i) & 7;
      const bit = 1 << pin;
      if ((serviced & bit) !== 0) {
        // SFNM: the slave's higher-priority requests get through an IR2 in service.
        if (sfnm && pin === VPIC_CASCADE_PIN && (pending & bit) !== 0) return pin;
        return -1;
      }
      if ((pending & bit) !== 0) return pin;
    }
    return -1;
  }

  /**
   * The highest-priority IR in service, the one a non-specific EOI ends, or -1.
   * In special mask mode an IS bit masked in IMR is skipped (datasheet, ACRN).
   */
  highestInService(): number {
    for (let i = 1; i <= 8; i++) {
      const pin = (this.lowestPriority + i) & 7;
      const bit = 1 << pin;
      if ((this.isr & bit) === 0) continue;
      if (this.specialMask && (this.imr & bit) !== 0) continue;
      return pin;
    }
    return -1;
  }

  /** The chip's part of an INTA for IR`pin`: clear its edge latch, then ISR (or AEOI). */
  acceptPin(pin: number): void {
    const bit = 1 << pin;
    if ((this.levelMask() & bit) === 0) this.irr = this.irr & ~bit & 0xff;
    if ((this.icw4 & ICW4_AEOI) !== 0) {
      if (this.rotateInAeoi) this.lowestPriority = pin;
    } else {
      this.isr = this.isr | bit;
    }
  }

  /** The poll word (OCW3 P): bit 7 = a request, 2:0 its IR; it is acknowledged like an INTA. */
  pollWord(): number {
    this.pollPending = false;
    const pin = this.resolveRequest();
    if (pin < 0) return 0;
    this.acceptPin(pin);
    return 0x80 | pin;
  }

  /** Read of port A0 = 0 (0x20 / 0xA0) when no poll is pending. */
  readCommand(): number {
    return this.readIsr ? this.isr : this.irr;
  }

  /** Write of port A0 = 0: ICW1, OCW2 or OCW3. False when ignored (OCW before initialisation). */
  writeCommand(value: number): boolean {
    if ((value & ICW1_INIT) !== 0) {
      this.startInit(value);
      return true;
    }
    if (!this.ready) return false;
    if ((value & OCW3_SELECT) !== 0) this.writeOcw3(value);
    else this.writeOcw2(value);
    return true;
  }

  /** Write of port A0 = 1: the ICW the sequence expects, else OCW1. */
  writeData(value: number): void {
    const state = this.initState;
    if (state === INIT_ICW2) {
      this.vectorBase = value & 0xf8;
      if ((this.icw1 & ICW1_SNGL) === 0) this.initState = INIT_ICW3;
      else this.afterIcw3();
    } else if (state === INIT_ICW3) {
      this.icw3 = value;
      this.afterIcw3();
    } else if (state === INIT_ICW4) {
      this.icw4 = value & 0x1f;
      this.finishInit();
    } else {
      this.imr = value;
    }
  }

  /** ELCR write: reserved bits stay 0; pins that became level-sensitive take their line into IRR. */
  writeElcr(value: number): void {
    this.elcr = value & this.elcrWritable;
    const level = this.levelMask();
    this.irr = ((this.irr & ~level) | (this.lines & level)) & 0xff;
  }

  private startInit(value: number): void {
    this.icw1 = value;
    this.icw3 = 0;
    this.icw4 = 0;
    this.ready = false;
    this.initState = INIT_ICW2;
    // The edge sense circuit is reset: edge inputs need a new rising edge;
    // level inputs are still sensed.
    const level = this.levelMask();
    this.irr = this.lines & level & 0xff;
    this.isr = 0;
    this.imr = 0;
    this.lowestPriority = 7;
    this.readIsr = false;
    this.pollPending = false;
    this.specialMask = false;
    this.rotateInAeoi = false;
  }

  private afterIcw3(): void {
    if ((this.icw1 & ICW1_IC4) !== 0) this.initState = INIT_ICW4;
    else this.finishInit();
  }

  private finishInit(): void {
    this.initState = INIT_DONE;
    this.ready = true;
  }

  private writeOcw2(value: number): void {
    const command = value >>> 5;
    const level = value & 7;
    if (command === OCW2_EOI || command === OCW2_ROTATE_EOI) {
      const pin = this.highestInService();
      if (pin < 0) return;
      this.isr = this.isr & ~(1 << pin) & 0xff;
      if (command === OCW2_ROTATE_EOI) this.lowestPriority = pin;
    } else if (command === OCW2_SPECIFIC_EOI || command === OCW2_ROTATE_SPECIFIC_EOI) {
      this.isr = this.isr & ~(1 << level) & 0xff;
      if (command === OCW2_ROTATE_SPECIFIC_EOI) this.lowestPriority = level;
    } else if (command === OCW2_SET_PRIORITY) {
      this.lowestPriority = level;
    } else if (command === OCW2_SET_ROTATE_AEOI) {
      this.rotateInAeoi = true;
    } else if (command === OCW2_CLEAR_ROTATE_AEOI) {
      this.rotateInAeoi = false;
    }
  }

  private writeOcw3(value: number): void {
    if ((value & OCW3_ESMM) !== 0) this.specialMask = (value & OCW3_SMM) !== 0;
    if ((value & OCW3_RR) !== 0) this.readIsr = (value & OCW3_RIS) !== 0;
    // A poll overrides a read-register command given with it.
    if ((value & OCW3_POLL) !== 0) this.pollPending = true;
  }
}

/** The master/slave pair with the ELCR: the PIC of a VM. */
export class Vpic implements PioDevice {
  readonly master = new Vpic8259(true);
  readonly slave = new Vpic8259(false);
  readonly sink: VpicSink;
  /** The INTR output as last reported to the sink. */
  intrLine = false;
  /** Port accesses dropped: wider than a byte, or a port that is not the vPIC's. */
  ignoredAccesses = 0;
  /** setIrq/pulse calls dropped: pin not 0-15, or pin 2 (the cascade input). */
  ignoredPins = 0;
  /** OCW2/OCW3 written before initialisation completed. */
  ignoredCommands = 0;

  constructor(sink: VpicSink) {
    this.sink = sink;
  }

  /** Power-on state (both chips uninitialised and masked, ELCR 0); reports INTR falling if it was high. */
  reset(): void {
    this.master.resetChip();
    this.slave.resetChip();
    this.refresh();
  }

  /** Drive IRQ `pin` (0-15; 2 is the cascade and ignored) to `level`. */
  setIrq(pin: number, level: boolean): void {
    if (!this.validPin(pin)) return;
    if (pin < 8) this.master.setLine(pin, level === true);
    else this.slave.setLine(pin - 8, level === true);
    this.refresh();
  }

  /** Assert and de-assert IRQ `pin`: one edge-triggered interrupt (a level pin is left low). */
  pulse(pin: number): void {
    if (!this.validPin(pin)) return;
    const chip = pin < 8 ? this.master : this.slave;
    const ir = pin & 7;
    chip.setLine(ir, true);
    chip.setLine(ir, false);
    this.refresh();
  }

  /** Level of IRQ `pin`'s input line (for pin 2: the slave's INT). */
  lineLevel(pin: number): boolean {
    if (!(pin >= 0 && pin < VPIC_PINS) || Math.floor(pin) !== pin) return false;
    const chip = pin < 8 ? this.master : this.slave;
    return (chip.lines & (1 << (pin & 7))) !== 0;
  }

  /** Is IRQ `pin` level-triggered (ELCR or LTIM)? */
  isLevelTriggered(pin: number): boolean {
    if (!(pin >= 0 && pin < VPIC_PINS) || Math.floor(pin) !== pin) return false;
    const chip = pin < 8 ? this.master : this.slave;
    return (chip.levelMask() & (1 << (pin & 7))) !== 0;
  }

  /** The vector an INTA would return now (possibly the spurious IRQ 15 one), or -1 when INTR is low. */
  pendingVector(): number {
    const pin = this.master.resolveRequest();
    if (pin < 0) return -1;
    if (pin !== VPIC_CASCADE_PIN || !this.cascaded()) return this.master.vectorBase + pin;
    const slavePin = this.slave.resolveRequest();
    return this.slave.vectorBase + (slavePin < 0 ? 7 : slavePin);
  }

  /**
   * The INTA cycle: acknowledge the highest eligible request (through the
   * slave for IR2) and return its vector; the master's IR7 vector, changing
   * nothing, when no request is eligible (spurious IRQ 7), the slave's IR7
   * vector when the slave's request went away (spurious IRQ 15).
   */
  intAck(): number {
    const master = this.master;
    const pin = master.resolveRequest();
    if (pin < 0) return master.vectorBase + 7;
    master.acceptPin(pin);
    let vector = master.vectorBase + pin;
    if (pin === VPIC_CASCADE_PIN && this.cascaded()) {
      const slave = this.slave;
      const slavePin = slave.resolveRequest();
      if (slavePin >= 0) {
        slave.acceptPin(slavePin);
        vector = slave.vectorBase + slavePin;
      } else {
        vector = slave.vectorBase + 7;
      }
      master.setLine(VPIC_CASCADE_PIN, false); // the slave's INT drops for the cycle
    }
    this.dropIntr();
    this.refresh();
    return vector;
  }

  pioRead(port: number, size: number): number {
    if (size !== 1) {
      this.ignoredAccesses++;
      return size === 2 ? 0xffff : 0xffffffff;
    }
    if (port === VPIC_MASTER_CMD || port === VPIC_MASTER_DATA) return this.readChip(this.master, port === VPIC_MASTER_DATA);
    if (port === VPIC_SLAVE_CMD || port === VPIC_SLAVE_DATA) return this.readChip(this.slave, port === VPIC_SLAVE_DATA);
    if (port === VPIC_ELCR_MASTER) return this.master.elcr;
    if (port === VPIC_ELCR_SLAVE) return this.slave.elcr;
    this.ignoredAccesses++;
    return 0xff;
  }

  pioWrite(port: number, size: number, value: number): void {
    if (size !== 1) {
      this.ignoredAccesses++;
      return;
    }
    const byte = vpicU8(value);
    let chip: Vpic8259;
    let data: boolean;
    if (port === VPIC_MASTER_CMD || port === VPIC_MASTER_DATA) {
      chip = this.master;
      data = port === VPIC_MASTER_DATA;
    } else if (port === VPIC_SLAVE_CMD || port === VPIC_SLAVE_DATA) {
      chip = this.slave;
      data = port === VPIC_SLAVE_DATA;
    } else if (port === VPIC_ELCR_MASTER || port === VPIC_ELCR_SLAVE) {
      if (port === VPIC_ELCR_MASTER) this.master.writeElcr(byte);
      else this.slave.writeElcr(byte);
      this.refresh();
      return;
    } else {
      this.ignoredAccesses++;
      return;
    }
    if (data) chip.writeData(byte);
    else if (!chip.writeCommand(byte)) this.ignoredCommands++;
    this.refresh();
  }

  /** The master's IR2 is the slave's INT (cascade mode: the master not initialised with SNGL). */
  private cascaded(): boolean {
    return (this.master.icw1 & ICW1_SNGL) === 0;
  }

  private validPin(pin: number): boolean {
    if (!(pin >= 0 && pin < VPIC_PINS) || Math.floor(pin) !== pin || pin === VPIC_CASCADE_PIN) {
      this.ignoredPins++;
      return false;
    }
    return true;
  }

  private readChip(chip: Vpic8259, data: boolean): number {
    if (!chip.pollPending) return data ? chip.imr : chip.readCommand();
    const word = chip.pollWord();
    if (word !== 0) {
      if (chip === this.slave) this.master.setLine(VPIC_CASCADE_PIN, false);
      else this.dropIntr();
    }
    this.refresh();
    return word;
  }

  /** The master's INT drops for an INTA cycle. */
  private dropIntr(): void {
    if (!this.intrLine) return;
    this.intrLine = false;
    this.sink.intr(false);
  }

  /** Propagate the slave's INT to the master's IR2, then report INTR if it changed. */
  private refresh(): void {
    this.master.setLine(VPIC_CASCADE_PIN, this.slave.resolveRequest() >= 0);
    const intr = this.master.resolveRequest() >= 0;
    if (intr === this.intrLine) return;
    this.intrLine = intr;
    this.sink.intr(intr);
  }
}
