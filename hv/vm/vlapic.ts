// Virtual local APIC, one per vCPU: the register-level core of ACRN's
// hypervisor/arch/x86/guest/vlapic.c without APICv (interrupts are injected
// through the VM-entry interruption-information field), after the Intel SDM
// Vol. 3A chapter 11 (APIC). It owns the whole APIC state: IDs, TPR/PPR, the
// IRR/ISR/TMR bitmaps, ESR, ICR, the local vector table and the timer
// (hv/vm/vlapic-timer.ts). Register layout and constants: hv/vm/vlapic-regs.ts;
// destination matching and IPI delivery over a VM's vLAPICs: vlapic-dest.ts.
//
// What reaches outside goes through two injected objects (no closures, see
// tools/PORFFOR.md B5): a VlapicSink for this vCPU (EOI broadcast, NMI,
// ExtINT, INIT, SIPI, wake-up) and a VlapicBus for the VM (IPIs from the ICR).
//
// Using it from the VM-entry path (ACRN apicv_basic_inject_intr):
//   v = vlapic.pendingVector()   highest IRR vector whose class beats PPR, or -1
//   if v >= 0 and the guest can take it (RFLAGS.IF = 1, no STI/MOV-SS
//   blocking, no other event injected on this entry): write it to the
//   VM-entry interruption field as an external interrupt and call
//   vlapic.ackVector(v) (IRR -> ISR, PPR rises); otherwise turn on
//   interrupt-window exiting and try again on that exit. An interrupt whose
//   delivery a VM exit cut short comes back through IDT-vectoring information
//   and is re-injected as is: it is already in ISR, do not ack it again.
//
// Time: methods that need it take `now`, a guest TSC value below 2^53 (host
// TSC + TSC offset). The caller keeps one host timer per vCPU at
// timerDeadline() (guest TSC, 0 = none; convert back to host TSC) and calls
// timerExpire(now) when it fires, then reads timerDeadline() again; after any
// register or MSR write it must also re-read timerDeadline().
//
// Nothing here allocates after construction or throws; every offset, MSR
// number and value may be hostile.
import {
  APIC_BASE_BSP, APIC_BASE_DEFAULT, APIC_BASE_ENABLE, APIC_BASE_EXTD, APIC_BASE_RESERVED_LO, APIC_OFF_DFR, APIC_OFF_EOI,
  APIC_OFF_ESR, APIC_OFF_ICR_HI, APIC_OFF_ICR_LO, APIC_OFF_ID, APIC_OFF_LDR, APIC_OFF_LVT_CMCI, APIC_OFF_LVT_ERROR,
  APIC_OFF_LVT_TIMER, APIC_OFF_PPR, APIC_OFF_SELF_IPI, APIC_OFF_SVR, APIC_OFF_TIMER_CCR, APIC_OFF_TIMER_DCR,
  APIC_OFF_TIMER_ICR, APIC_OFF_TPR, APIC_OFF_VER, DCR_WRITABLE, DFR_RESERVED_ONES, DM_EXTINT, DM_FIXED, DM_INIT,
  DM_LOWEST, DM_NMI, DM_SMI, DM_STARTUP, ESR_ILLEGAL_REGISTER, ESR_RECEIVE_ILLEGAL_VECTOR, ESR_SEND_ILLEGAL_VECTOR,
  ICR_HI_XAPIC_DEST, ICR_LO_WRITABLE, LDR_XAPIC_ID, LVT_CMCI, LVT_COUNT, LVT_DEFINED, LVT_ERROR, LVT_LINT0, LVT_LINT1,
  LVT_MASKED, LVT_TIMER, LVT_TIMER_MODE_SHIFT, LVT_WRITABLE, MSR_IA32_APIC_BASE, MSR_IA32_TSC_DEADLINE,
  MSR_X2APIC_FIRST, MSR_X2APIC_ICR, MSR_X2APIC_LAST, SHORTHAND_ALL_INCLUDING_SELF, SHORTHAND_SELF, SVR_ENABLE,
  SVR_WRITABLE, VLAPIC_GP, VLAPIC_IGNORED, VLAPIC_ILLEGAL, VLAPIC_MODE_DISABLED, VLAPIC_MODE_X2APIC,
  VLAPIC_MODE_XAPIC, VLAPIC_OK, VLAPIC_VERSION, X2APIC_ACCESS, X2_READ_ONLY, X2_RESERVED, X2_WRITE_ONLY, XAPIC_ACCESS,
  vlapicU32,
} from './vlapic-regs';
import { VlapicTimer } from './vlapic-timer';

/**
 * What a vLAPIC asks of its own vCPU. Members are called synchronously, each
 * as the last step of the operation that causes it, with the vLAPIC's state
 * already consistent: they may call back into it (the vIOAPIC re-delivering
 * a still-asserted level line from eoiLevel, the VM calling initReset from
 * initSignal).
 */
export interface VlapicSink {
  /**
   * EOI of a level-triggered vector (its TMR bit was set): broadcast it to
   * the vIOAPIC so the pin's remote IRR clears (ACRN vioapic_broadcast_eoi).
   * Called once per EOI; never for edge-triggered vectors.
   */
  eoiLevel(vector: number): void;
  /** Deliver an NMI to this vCPU (LVT or IPI in NMI mode, LINT1 of a disabled APIC). */
  nmi(): void;
  /**
   * ExtINT (LINT0 in ExtINT mode, or LINT0 of a disabled APIC): the vCPU
   * takes its next interrupt vector from the vPIC (INTA) at injection time.
   */
  extInt(): void;
  /** INIT IPI (or LINT in INIT mode) to this vCPU: the VM resets it and waits for a SIPI. */
  initSignal(): void;
  /** Start-up IPI: start the vCPU in real mode at vector << 12 if it waits for one. */
  sipi(vector: number): void;
  /** A new IRR bit was set: wake the vCPU if halted, or make it re-evaluate pendingVector() before its next entry. */
  kick(): void;
}

/** The VM's interconnect: IPIs written to an ICR. */
export interface VlapicBus {
  /**
   * Deliver an IPI decoded from `sender`'s ICR (SDM 11.6.1): `mode` is the
   * delivery mode (DM_FIXED, DM_LOWEST, DM_NMI, DM_INIT or DM_STARTUP; SMI,
   * ExtINT and reserved modes never reach the bus), `level` and `trigger`
   * ICR bits 14 and 15, `shorthand` SHORTHAND_*, `destMode` DEST_PHYSICAL or
   * DEST_LOGICAL, `dest` the destination (8 bits in xAPIC mode, 32 in
   * x2APIC mode). A VM implements it as one call to vlapicDeliverIpi().
   */
  deliver(sender: Vlapic, mode: number, vector: number, level: number, trigger: number, shorthand: number,
    destMode: number, dest: number): void;
}

/** Logical x2APIC ID derived from the x2APIC ID (SDM 11.12.10.2): cluster ID[19:4] << 16 | 1 << ID[3:0]. */
export function vlapicX2apicLdr(apicId: number): number {
  return ((apicId >>> 4) & 0xffff) * 65536 + (1 << (apicId & 0xf));
}

/** An integer in 0..255. */
function isVectorNumber(vector: number): boolean {
  return vector >= 0 && vector <= 255 && Math.floor(vector) === vector;
}

export class Vlapic {
  /** Index of the vCPU in its VM. */
  readonly vcpuId: number;
  /** x2APIC ID; the xAPIC ID register shows its low 8 bits in bits 31:24. */
  apicId = 0;
  /** BSP flag of IA32_APIC_BASE. */
  bsp = false;
  /** VLAPIC_MODE_DISABLED, _XAPIC or _X2APIC (IA32_APIC_BASE[11:10]). */
  mode = VLAPIC_MODE_XAPIC;
  tpr = 0;
  /** Processor priority, kept up to date on every TPR, ISR change. */
  ppr = 0;
  ldr = 0;
  dfr = 0xffffffff;
  svr = 0xff;
  /** ESR as read; errors collect in esrPending until software writes the ESR. */
  esr = 0;
  esrPending = 0;
  icrLo = 0;
  icrHi = 0;
  /** Interrupt request, in-service and trigger-mode bitmaps, vector v in word v >> 5, bit v & 31. */
  readonly irr = new Uint32Array(8);
  readonly isr = new Uint32Array(8);
  readonly tmr = new Uint32Array(8);
  /** LVT entries by LVT_* index. */
  readonly lvt = new Uint32Array(LVT_COUNT);
  readonly timer: VlapicTimer;
  /** Value of the last successful msrRead(). */
  msrHi = 0;
  msrLo = 0;
  private readonly sink: VlapicSink;
  private readonly bus: VlapicBus;

  /** `tscPerBusTick`: TSC cycles per tick of the timer's input clock (ACRN: 1). */
  constructor(vcpuId: number, sink: VlapicSink, bus: VlapicBus, tscPerBusTick: number) {
    this.vcpuId = vcpuId;
    this.sink = sink;
    this.bus = bus;
    this.timer = new VlapicTimer(tscPerBusTick);
    this.reset(vcpuId, vcpuId === 0);
  }

  /**
   * Power-up reset (SDM 11.4.7.1): xAPIC mode, globally enabled, software
   * disabled (SVR 0xFF), LVTs masked, DFR all ones, everything else 0.
   */
  reset(apicId: number, bsp: boolean): void {
    this.apicId = vlapicU32(apicId);
    this.bsp = bsp;
    this.mode = VLAPIC_MODE_XAPIC;
    this.clearState();
  }

  /** INIT (SDM 11.4.7.3, 11.12.5.1): as power-up, but the APIC ID and the xAPIC/x2APIC mode stay. */
  initReset(): void {
    this.clearState();
  }

  private clearState(): void {
    this.tpr = 0;
    this.ppr = 0;
    this.ldr = this.mode === VLAPIC_MODE_X2APIC ? vlapicX2apicLdr(this.apicId) : 0;
    this.dfr = 0xffffffff;
    this.svr = 0xff;
    this.esr = 0;
    this.esrPending = 0;
    this.icrLo = 0;
    this.icrHi = 0;
    for (let i = 0; i < 8; i++) {
      this.irr[i] = 0;
      this.isr[i] = 0;
      this.tmr[i] = 0;
    }
    for (let i = 0; i < LVT_COUNT; i++) this.lvt[i] = LVT_MASKED;
    this.timer.clear();
  }

  /** Globally and software enabled (ACRN vlapic_enabled). */
  isEnabled(): boolean {
    return this.mode !== VLAPIC_MODE_DISABLED && (this.svr & SVR_ENABLE) !== 0;
  }

  /** ID register as software reads it. */
  idRegister(): number {
    return this.mode === VLAPIC_MODE_X2APIC ? this.apicId : (this.apicId & 0xff) * 0x1000000;
  }

  // ---- priorities, acceptance, EOI (SDM 11.8) ----

  private highestIsr(): number {
    for (let w = 7; w >= 0; w--) {
      const bits = this.isr[w];
      if (bits !== 0) return w * 32 + 31 - Math.clz32(bits);
    }
    return 0;
  }

  /** PPR (SDM 11.8.3.1): TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4] << 4. */
  private updatePpr(): void {
    const isrv = this.highestIsr();
    this.ppr = (this.tpr >>> 4) >= (isrv >>> 4) ? this.tpr : isrv & 0xf0;
  }

  /** Highest vector in IRR, or -1. */
  highestIrr(): number {
    for (let w = 7; w >= 0; w--) {
      const bits = this.irr[w];
      if (bits !== 0) return w * 32 + 31 - Math.clz32(bits);
    }
    return -1;
  }

  /**
   * The vector to inject next: the highest IRR vector if its priority class
   * (bits 7:4) is above PPR's (SDM 11.8.4), else -1.
   */
  pendingVector(): number {
    const vector = this.highestIrr();
    if (vector < 0) return -1;
    return (vector >>> 4) > (this.ppr >>> 4) ? vector : -1;
  }

  /** `vector` was injected into the guest: move it from IRR to ISR and raise PPR. False when it was not pending. */
  ackVector(vector: number): boolean {
    if (!isVectorNumber(vector) || vector < 16) return false;
    const w = vector >>> 5;
    const bit = 1 << (vector & 31);
    const pending = this.irr[w];
    if ((pending & bit) === 0) return false;
    this.irr[w] = (pending & ~bit) >>> 0;
    this.isr[w] = (this.isr[w] | bit) >>> 0;
    this.updatePpr();
    return true;
  }

  /**
   * Accept a fixed interrupt (ACRN vlapic_set_intr): set its IRR bit and its
   * TMR bit to the trigger mode (`level` true = level-triggered). Vectors
   * 0-15 are illegal: ESR "received illegal vector", dropped (SDM 11.5.3).
   * A globally or software-disabled APIC drops it. True when a new IRR bit
   * was set (the sink was kicked); false when dropped or already pending.
   */
  acceptIrq(vector: number, level: boolean): boolean {
    if (!isVectorNumber(vector) || this.mode === VLAPIC_MODE_DISABLED) return false;
    if (vector < 16) {
      this.logError(ESR_RECEIVE_ILLEGAL_VECTOR);
      return false;
    }
    if ((this.svr & SVR_ENABLE) === 0) return false;
    const w = vector >>> 5;
    const bit = 1 << (vector & 31);
    const pending = this.irr[w];
    if ((pending & bit) !== 0) return false;
    this.irr[w] = (pending | bit) >>> 0;
    const trig = this.tmr[w];
    this.tmr[w] = level ? (trig | bit) >>> 0 : (trig & ~bit) >>> 0;
    this.sink.kick();
    return true;
  }

  /**
   * EOI (SDM 11.8.5, ACRN vlapic_process_eoi): clear the highest ISR bit; for
   * a level-triggered vector tell the sink (EOI broadcast: EOI-broadcast
   * suppression is not offered, VLAPIC_VERSION bit 24 is 0). Nothing in
   * service: nothing happens.
   */
  eoi(): void {
    for (let w = 7; w >= 0; w--) {
      const bits = this.isr[w];
      if (bits === 0) continue;
      const pos = 31 - Math.clz32(bits);
      const bit = 1 << pos;
      this.isr[w] = (bits & ~bit) >>> 0;
      this.updatePpr();
      if ((this.tmr[w] & bit) !== 0) this.sink.eoiLevel(w * 32 + pos);
      return;
    }
  }

  /**
   * Log an error in the ESR latch and raise the LVT error interrupt (always
   * fixed) unless masked; an error vector below 16 is itself an illegal
   * vector and is not delivered.
   */
  private logError(bits: number): void {
    this.esrPending = (this.esrPending | bits) >>> 0;
    const entry = this.lvt[LVT_ERROR];
    if ((entry & LVT_MASKED) !== 0) return;
    const vector = entry & 0xff;
    if (vector < 16) {
      this.esrPending = (this.esrPending | ESR_RECEIVE_ILLEGAL_VECTOR) >>> 0;
      return;
    }
    this.acceptIrq(vector, false);
  }

  /** TPR as CR8 (SDM 11.8.6): CR8[3:0] = TPR[7:4]. */
  cr8(): number {
    return this.tpr >>> 4;
  }

  /** MOV to CR8 (the caller checks CR8 bits 63:4 are 0 and injects #GP otherwise). */
  writeCr8(value: number): void {
    this.tpr = (vlapicU32(value) & 0xf) << 4;
    this.updatePpr();
  }

  // ---- local vector table, LINT pins, timer ----

  /**
   * Fire LVT entry `index` (ACRN vlapic_fire_lvt): nothing when masked; the
   * timer and error entries are always fixed; ExtINT and INIT exist on LINT0
   * and LINT1 only; SMI and reserved modes are ignored.
   */
  private fireLvt(index: number): void {
    const entry = this.lvt[index];
    if ((entry & LVT_MASKED) !== 0) return;
    const pin = index === LVT_LINT0 || index === LVT_LINT1;
    const mode = index === LVT_TIMER || index === LVT_ERROR ? DM_FIXED : (entry >>> 8) & 7;
    if (mode === DM_FIXED) {
      this.acceptIrq(entry & 0xff, false);
    } else if (mode === DM_NMI) {
      this.sink.nmi();
    } else if (pin && mode === DM_EXTINT) {
      this.sink.extInt();
    } else if (pin && mode === DM_INIT) {
      this.sink.initSignal();
    }
  }

  /**
   * A LINT pin (0 or 1) is asserted (`level` true; false, a de-assertion, does
   * nothing): each assertion is one delivery through LVT LINTn. Fixed mode is
   * taken as edge-triggered (no remote IRR). While the APIC is globally or
   * software disabled, LINT0 is INTR (sink.extInt) and LINT1 is NMI, as in
   * ACRN vlapic_trigger_lvt: the virtual-wire setup a BIOS would make.
   */
  lint(pin: number, level: boolean): void {
    if (!level || (pin !== 0 && pin !== 1)) return;
    if (!this.isEnabled()) {
      if (pin === 0) this.sink.extInt();
      else this.sink.nmi();
      return;
    }
    this.fireLvt(pin === 0 ? LVT_LINT0 : LVT_LINT1);
  }

  /** Raise a local interrupt through LVT entry `index` (thermal, performance counter, CMCI, ...). */
  localInterrupt(index: number): boolean {
    if (!(index >= 0 && index < LVT_COUNT) || Math.floor(index) !== index) return false;
    if (this.mode === VLAPIC_MODE_DISABLED) return false;
    this.fireLvt(index);
    return true;
  }

  /** Guest TSC of the timer's next expiry, or 0 when it is not counting (a masked timer still counts). */
  timerDeadline(): number {
    return this.timer.nextExpiry();
  }

  /**
   * The timer may have expired at `now`: raise the LVT timer vector (unless
   * masked) and re-arm a periodic timer. True when an expiry was due.
   */
  timerExpire(now: number): boolean {
    if (!this.timer.expire(now)) return false;
    this.fireLvt(LVT_TIMER);
    return true;
  }

  /** Current-count register at `now`. */
  currentCount(now: number): number {
    return this.timer.currentCount(now);
  }

  private writeLvt(index: number, value: number, now: number): void {
    let entry = value & LVT_WRITABLE[index];
    // SDM 11.4.7.2: while software disabled, the mask bits cannot be cleared.
    if ((this.svr & SVR_ENABLE) === 0) entry = entry | LVT_MASKED;
    if (index === LVT_TIMER) {
      this.timerExpire(now);
      this.timer.changeMode((entry >>> LVT_TIMER_MODE_SHIFT) & 3);
    }
    this.lvt[index] = entry >>> 0;
  }

  private writeSvr(value: number): void {
    const wasEnabled = (this.svr & SVR_ENABLE) !== 0;
    this.svr = value & SVR_WRITABLE;
    if (wasEnabled && (this.svr & SVR_ENABLE) === 0) {
      // Software disable (SDM 11.4.7.2): every LVT entry is masked; the timer keeps counting.
      for (let i = 0; i < LVT_COUNT; i++) this.lvt[i] = (this.lvt[i] | LVT_MASKED) >>> 0;
    }
  }

  // ---- IPIs ----

  /**
   * Send the IPI the ICR holds (ACRN vlapic_write_icrlo). The delivery status
   * bit is never set: delivery is immediate, the ICR always reads idle.
   */
  private sendIcr(): void {
    const lo = this.icrLo;
    const vector = lo & 0xff;
    const mode = (lo >>> 8) & 7;
    const shorthand = (lo >>> 18) & 3;
    const level = (lo >>> 14) & 1;
    if ((mode === DM_FIXED || mode === DM_LOWEST) && vector < 16) {
      this.logError(ESR_SEND_ILLEGAL_VECTOR);
      return;
    }
    // SMI is not emulated (ACRN); 3 and 7 (ExtINT) are not valid ICR modes.
    if (mode === DM_SMI || mode === 3 || mode === DM_EXTINT) return;
    // SDM 11.6.1, valid ICR combinations: only fixed IPIs go to self or to all including self.
    if ((shorthand === SHORTHAND_SELF || shorthand === SHORTHAND_ALL_INCLUDING_SELF) && mode !== DM_FIXED) return;
    // INIT level de-assert: no effect on Pentium 4 and later (ACRN skips it).
    if (mode === DM_INIT && level === 0) return;
    const dest = this.mode === VLAPIC_MODE_X2APIC ? this.icrHi : this.icrHi >>> 24;
    this.bus.deliver(this, mode, vector, level, (lo >>> 15) & 1, shorthand, (lo >>> 11) & 1, dest);
  }

  /**
   * An interrupt message for this APIC (an IPI picked by vlapicDeliverIpi, an
   * I/O APIC or MSI message): fixed and lowest priority set IRR; NMI, INIT,
   * SIPI and ExtINT go to the sink (ExtINT only while enabled, as ACRN
   * vlapic_receive_intr); SMI and reserved modes are dropped. INIT, NMI and
   * SIPI are taken while software disabled (SDM 11.4.7.2); a globally
   * disabled APIC takes nothing. True when delivered.
   */
  receive(mode: number, vector: number, levelTriggered: boolean): boolean {
    if (this.mode === VLAPIC_MODE_DISABLED) return false;
    if (mode === DM_FIXED || mode === DM_LOWEST) return this.acceptIrq(vector, levelTriggered);
    if (mode === DM_NMI) {
      this.sink.nmi();
      return true;
    }
    if (mode === DM_INIT) {
      this.sink.initSignal();
      return true;
    }
    if (mode === DM_STARTUP) {
      this.sink.sipi(vlapicU32(vector) & 0xff);
      return true;
    }
    if (mode === DM_EXTINT && this.isEnabled()) {
      this.sink.extInt();
      return true;
    }
    return false;
  }

  // ---- register file ----

  /** Register at 16-byte aligned `off` (< 0x400) in the current mode; the caller checked it exists. */
  private registerValue(off: number, now: number): number {
    if (off === APIC_OFF_ID) return this.idRegister();
    if (off === APIC_OFF_VER) return VLAPIC_VERSION;
    if (off === APIC_OFF_TPR) return this.tpr;
    if (off === APIC_OFF_PPR) return this.ppr;
    if (off === APIC_OFF_LDR) return this.ldr;
    if (off === APIC_OFF_DFR) return this.dfr;
    if (off === APIC_OFF_SVR) return this.svr;
    if (off === APIC_OFF_ESR) return this.esr;
    if (off === APIC_OFF_ICR_LO) return this.icrLo;
    if (off === APIC_OFF_ICR_HI) return this.icrHi;
    if (off === APIC_OFF_LVT_CMCI) return this.lvt[LVT_CMCI];
    if (off === APIC_OFF_TIMER_ICR) return this.timer.initialCountRead();
    if (off === APIC_OFF_TIMER_CCR) return this.timer.currentCount(now);
    if (off === APIC_OFF_TIMER_DCR) return this.timer.dcr;
    if (off >= APIC_OFF_LVT_TIMER && off <= APIC_OFF_LVT_ERROR) return this.lvt[(off - APIC_OFF_LVT_TIMER) >>> 4];
    if (off >= 0x100 && off < 0x280) {
      const slot = (off - 0x100) >>> 4;
      const w = slot & 7;
      if (slot < 8) return this.isr[w];
      if (slot < 16) return this.tmr[w];
      return this.irr[w];
    }
    return 0; // APR, RRD, EOI (write-only in xAPIC: reads 0)
  }

  /** Writes both modes share; the value was checked for the mode. */
  private storeRegister(off: number, value: number, now: number): number {
    if (off === APIC_OFF_TPR) {
      this.tpr = value & 0xff;
      this.updatePpr();
    } else if (off === APIC_OFF_EOI) {
      this.eoi();
    } else if (off === APIC_OFF_SVR) {
      this.writeSvr(value);
    } else if (off === APIC_OFF_ESR) {
      // SDM 11.5.3: a write makes the errors logged since the last write readable and clears the latch.
      this.esr = this.esrPending;
      this.esrPending = 0;
    } else if (off === APIC_OFF_LVT_CMCI) {
      this.writeLvt(LVT_CMCI, value, now);
    } else if (off >= APIC_OFF_LVT_TIMER && off <= APIC_OFF_LVT_ERROR) {
      this.writeLvt((off - APIC_OFF_LVT_TIMER) >>> 4, value, now);
    } else if (off === APIC_OFF_TIMER_ICR) {
      this.timerExpire(now);
      this.timer.writeInitialCount(value, now);
    } else if (off === APIC_OFF_TIMER_DCR) {
      this.timerExpire(now);
      this.timer.writeDivide(value & DCR_WRITABLE, now);
    } else {
      return VLAPIC_IGNORED;
    }
    return VLAPIC_OK;
  }

  /**
   * xAPIC MMIO read at `offset` (0..0xFFF in the APIC page): the 32-bit
   * register holding that byte (the adapter extracts narrower accesses).
   * Registers sit on 16-byte boundaries (SDM 11.4.1); bytes 4-15 of a slot
   * and reserved slots log ESR "illegal register address" and read 0. Reads
   * 0 outside xAPIC mode.
   */
  readReg(offset: number, now: number): number {
    if (this.mode !== VLAPIC_MODE_XAPIC || !(offset >= 0 && offset < 0x1000) || Math.floor(offset) !== offset) return 0;
    const off = offset & 0xffc;
    if ((off & 0xf) !== 0 || off >= 0x400 || XAPIC_ACCESS[off >>> 4] === X2_RESERVED) {
      this.logError(ESR_ILLEGAL_REGISTER);
      return 0;
    }
    return this.registerValue(off, now);
  }

  /**
   * xAPIC MMIO write of a 32-bit `value` at `offset`: VLAPIC_OK,
   * VLAPIC_IGNORED (read-only register, or not in xAPIC mode) or
   * VLAPIC_ILLEGAL (reserved or misaligned; ESR bit 7 logged). The ID
   * register is read-only, as in ACRN.
   */
  writeReg(offset: number, value: number, now: number): number {
    if (this.mode !== VLAPIC_MODE_XAPIC) return VLAPIC_IGNORED;
    if (!(offset >= 0 && offset < 0x1000) || Math.floor(offset) !== offset) return VLAPIC_ILLEGAL;
    if ((offset & 0xf) !== 0 || offset >= 0x400 || XAPIC_ACCESS[offset >>> 4] === X2_RESERVED) {
      this.logError(ESR_ILLEGAL_REGISTER);
      return VLAPIC_ILLEGAL;
    }
    if (XAPIC_ACCESS[offset >>> 4] === X2_READ_ONLY || offset === APIC_OFF_ID) return VLAPIC_IGNORED;
    const v = vlapicU32(value);
    if (offset === APIC_OFF_ICR_LO) {
      this.icrLo = (v & ICR_LO_WRITABLE) >>> 0;
      this.sendIcr();
      return VLAPIC_OK;
    }
    if (offset === APIC_OFF_ICR_HI) {
      this.icrHi = (v & ICR_HI_XAPIC_DEST) >>> 0;
      return VLAPIC_OK;
    }
    if (offset === APIC_OFF_LDR) {
      this.ldr = (v & LDR_XAPIC_ID) >>> 0;
      return VLAPIC_OK;
    }
    if (offset === APIC_OFF_DFR) {
      this.dfr = ((v & 0xf0000000) | DFR_RESERVED_ONES) >>> 0;
      return VLAPIC_OK;
    }
    return this.storeRegister(offset, v, now);
  }

  // ---- MSRs ----

  /** IA32_APIC_BASE low half (the base is fixed at 0xFEE00000; the high half is 0). */
  apicBaseLo(): number {
    let value = APIC_BASE_DEFAULT;
    if (this.bsp) value += APIC_BASE_BSP;
    if (this.mode !== VLAPIC_MODE_DISABLED) value += APIC_BASE_ENABLE;
    if (this.mode === VLAPIC_MODE_X2APIC) value += APIC_BASE_EXTD;
    return value;
  }

  /**
   * WRMSR IA32_APIC_BASE (SDM 11.4.4, 11.12.5): reserved bits, EXTD without
   * EN, x2APIC -> xAPIC and disabled -> x2APIC fault. Disabling resets the
   * APIC state (11.4.3); entering x2APIC mode derives the LDR from the ID.
   * The BSP flag is not writable, and a new base address is ignored (ACRN
   * does not relocate the APIC page).
   */
  private writeApicBase(hi: number, lo: number): number {
    if ((lo & APIC_BASE_RESERVED_LO) !== 0 || hi >= 0x100000) return VLAPIC_GP;
    const enable = (lo & APIC_BASE_ENABLE) !== 0;
    const extd = (lo & APIC_BASE_EXTD) !== 0;
    if (extd && !enable) return VLAPIC_GP;
    const next = !enable ? VLAPIC_MODE_DISABLED : extd ? VLAPIC_MODE_X2APIC : VLAPIC_MODE_XAPIC;
    const now = this.mode;
    if (next === now) return VLAPIC_OK;
    if (now === VLAPIC_MODE_X2APIC && next === VLAPIC_MODE_XAPIC) return VLAPIC_GP;
    if (now === VLAPIC_MODE_DISABLED && next === VLAPIC_MODE_X2APIC) return VLAPIC_GP;
    this.mode = next;
    if (next === VLAPIC_MODE_DISABLED) this.clearState();
    else if (next === VLAPIC_MODE_X2APIC) this.ldr = vlapicX2apicLdr(this.apicId);
    return VLAPIC_OK;
  }

  /** Bits of an x2APIC MSR write that are defined (SDM 11.12.1.3: writing any other bit is a #GP). */
  private x2apicValueLegal(off: number, value: number): boolean {
    if (off === APIC_OFF_TPR || off === APIC_OFF_SELF_IPI) return (value & ~0xff) === 0;
    if (off === APIC_OFF_EOI || off === APIC_OFF_ESR) return value === 0;
    if (off === APIC_OFF_SVR) return (value & ~SVR_WRITABLE) === 0;
    if (off === APIC_OFF_TIMER_DCR) return (value & ~DCR_WRITABLE) === 0;
    if (off === APIC_OFF_LVT_CMCI) return (value & ~LVT_DEFINED[LVT_CMCI]) === 0;
    if (off >= APIC_OFF_LVT_TIMER && off <= APIC_OFF_LVT_ERROR) {
      return (value & ~LVT_DEFINED[(off - APIC_OFF_LVT_TIMER) >>> 4]) === 0;
    }
    return true;
  }

  /**
   * RDMSR of a vLAPIC MSR: IA32_APIC_BASE, IA32_TSC_DEADLINE (0 unless
   * armed in TSC-deadline mode) or an x2APIC register (0x800 + offset / 16;
   * the ICR is the 64-bit MSR 0x830). Returns VLAPIC_OK with the value in
   * msrHi:msrLo, or VLAPIC_GP: any other MSR, x2APIC MSRs outside x2APIC
   * mode, reserved ones and the write-only EOI and SELF IPI (SDM Table 11-6).
   */
  msrRead(msr: number, now: number): number {
    this.msrHi = 0;
    this.msrLo = 0;
    if (msr === MSR_IA32_APIC_BASE) {
      this.msrLo = this.apicBaseLo();
      return VLAPIC_OK;
    }
    if (msr === MSR_IA32_TSC_DEADLINE) {
      this.timerExpire(now);
      this.msrHi = this.timer.deadlineReadHi();
      this.msrLo = this.timer.deadlineReadLo();
      return VLAPIC_OK;
    }
    if (!(msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST) || Math.floor(msr) !== msr) return VLAPIC_GP;
    if (this.mode !== VLAPIC_MODE_X2APIC) return VLAPIC_GP;
    const index = msr - MSR_X2APIC_FIRST;
    if (index >= 64) return VLAPIC_GP;
    const kind = X2APIC_ACCESS[index];
    if (kind === X2_RESERVED || kind === X2_WRITE_ONLY) return VLAPIC_GP;
    if (msr === MSR_X2APIC_ICR) {
      this.msrHi = this.icrHi;
      this.msrLo = this.icrLo;
      return VLAPIC_OK;
    }
    this.msrLo = this.registerValue(index * 16, now);
    return VLAPIC_OK;
  }

  /**
   * WRMSR of a vLAPIC MSR with hi:lo: VLAPIC_OK or VLAPIC_GP (the caller
   * injects #GP(0)). x2APIC rules (SDM 11.12.1): only in x2APIC mode;
   * reserved and read-only MSRs fault; bits 63:32 must be 0 except in the
   * ICR; a set reserved bit faults; EOI and ESR take only 0; SELF IPI
   * (0x83F) sends a fixed edge IPI to this APIC.
   */
  msrWrite(msr: number, hi: number, lo: number, now: number): number {
    const h = vlapicU32(hi);
    const l = vlapicU32(lo);
    if (msr === MSR_IA32_APIC_BASE) return this.writeApicBase(h, l);
    if (msr === MSR_IA32_TSC_DEADLINE) {
      this.timerExpire(now);
      this.timer.writeDeadline(h, l);
      this.timerExpire(now);
      return VLAPIC_OK;
    }
    if (!(msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST) || Math.floor(msr) !== msr) return VLAPIC_GP;
    if (this.mode !== VLAPIC_MODE_X2APIC) return VLAPIC_GP;
    const index = msr - MSR_X2APIC_FIRST;
    if (index >= 64) return VLAPIC_GP;
    const kind = X2APIC_ACCESS[index];
    if (kind === X2_RESERVED || kind === X2_READ_ONLY) return VLAPIC_GP;
    if (msr === MSR_X2APIC_ICR) {
      if ((l & ~ICR_LO_WRITABLE) !== 0) return VLAPIC_GP;
      this.icrHi = h;
      this.icrLo = l;
      this.sendIcr();
      return VLAPIC_OK;
    }
    const off = index * 16;
    if (h !== 0 || !this.x2apicValueLegal(off, l)) return VLAPIC_GP;
    if (off === APIC_OFF_SELF_IPI) {
      const vector = l & 0xff;
      if (vector < 16) this.logError(ESR_SEND_ILLEGAL_VECTOR);
      else this.acceptIrq(vector, false);
      return VLAPIC_OK;
    }
    this.storeRegister(off, l, now);
    return VLAPIC_OK;
  }
}
