// The MMIO instruction emulator (ACRN's instr_emul.c, emulation half): after
// an EPT violation on an emulated device register, InstrDecoder decodes the
// guest's instruction and emulate() carries it out against the vCPU's
// registers (RegisterFile) and the device (MmioAccess), exactly as the CPU
// would: results, RFLAGS (instr-alu.ts), register writes with the CPU's
// width rules (SDM Vol. 1 3.4.1.1):
//
//   64-bit write    the whole register
//   32-bit write    zero-extends into bits 63:32
//   16/8-bit write  merges: the other bits keep their values
//   AH CH DH BH     bits 15:8 of RAX..RBX (8-bit register 4-7 without REX;
//                   with any REX they are SPL BPL SIL DIL)
//
// String instructions (STOS, MOVS, with or without REP) do one element per
// call, as ACRN does: rSI/rDI step by the element size (down when RFLAGS.DF
// is set) and, with REP, rCX counts down, all in the address size (SI/DI/CX,
// ESI/EDI/ECX zero-extended, or RSI/RDI/RCX). emulate() returns EMUL_REPEAT
// while rCX is not 0: the caller leaves RIP on the instruction so the guest
// executes it again (the next element exits again if it is MMIO), or loops
// itself with the next element's address (siDelta/diDelta give the step).
//
// The caller (the EPT-violation handler) advances RIP by decoder.instLen on
// EMUL_DONE. Nothing here allocates.
import {
  InstrAlu, RFLAGS_CF, RFLAGS_DF, instrCutLo,
} from './instr-alu';
import {
  DECODE_OK, InstrDecoder, OP_AND, OP_BT, OP_CMP, OP_MOV, OP_MOVS, OP_MOVSX, OP_MOVSXD, OP_MOVZX, OP_STOS, OP_SUB, OP_TEST,
  REG_RAX, REG_RCX, REG_RDI, REG_RSI, SEG_ES, SEG_FS, SEG_GS,
} from './instr-decode';

/** emulate() results. */
export const EMUL_DONE = 0;
/** A REP string instruction with rCX not yet 0: do not advance RIP. */
export const EMUL_REPEAT = 1;
/** The decoder holds no valid instruction. */
export const EMUL_ERR_DECODE = -1;
/** MOVS: the guest-memory side failed (readGuest/writeGuest refused it; the caller injects #PF or stops the VM). */
export const EMUL_ERR_GUEST_MEM = -2;
/** MOVS: the guest-memory side's linear address is not canonical (#GP(0), or #SS(0) for SS). */
export const EMUL_ERR_NONCANONICAL = -3;

const TWO_POW_32 = 4294967296;

/**
 * The vCPU's registers. GPRs by encoding index (0 RAX .. 15 R15) as unsigned
 * 32-bit halves; RFLAGS bits 31:0 (63:32 are reserved 0).
 */
export interface RegisterFile {
  regLo(index: number): number;
  regHi(index: number): number;
  setReg(index: number, hiHalf: number, loHalf: number): void;
  /** RIP of the instruction being emulated (RIP-relative addresses). */
  ripLo(): number;
  ripHi(): number;
  rflags(): number;
  setRflags(value: number): void;
  /** Segment base of SEG_ES .. SEG_GS (used for linear addresses; in 64-bit mode only FS and GS). */
  segBaseLo(seg: number): number;
  segBaseHi(seg: number): number;
}

/**
 * The access that caused the EPT violation, implemented by the caller: the
 * device side at the faulting guest-physical address, and, for MOVS, the
 * other side in ordinary guest memory at a linear address (the caller walks
 * the guest's page tables; an element may straddle a page boundary).
 */
export interface MmioAccess {
  /** Read `size` (1, 2, 4, 8) bytes of the device: returns bits 31:0, bits 63:32 in valueHi. */
  read(size: number): number;
  /** High half of the last read() or readGuest() of 8 bytes. */
  valueHi: number;
  /** Write `size` bytes to the device. */
  write(size: number, hiHalf: number, loHalf: number): void;
  /** MOVS: the device is the destination (the EPT violation was a write); else the source. */
  mmioIsDest: boolean;
  /** MOVS: read `size` bytes of guest memory at linear hi:lo; bits 31:0 (high half in valueHi), or -1 on a fault. */
  readGuest(linHi: number, linLo: number, size: number): number;
  /** MOVS: write `size` bytes of guest memory at linear hi:lo; false on a fault. */
  writeGuest(linHi: number, linLo: number, size: number, hiHalf: number, loHalf: number): boolean;
}

export class InstrEmulator {
  readonly alu = new InstrAlu();
  /** High half of the last register, device or pointer value read. */
  private valHi = 0;
  /** High half of the last effectiveAddress() / linearAddress(). */
  eaHi = 0;
  linHi = 0;
  /** How the last emulate() moved rSI, rDI (signed bytes) and rCX (0 or -1). */
  siDelta = 0;
  diDelta = 0;
  countDelta = 0;
  /** REP forms: rCX was not 0 after the last emulate(). */
  countLeft = false;

  /** Emulate the decoded instruction. Returns EMUL_DONE, EMUL_REPEAT or an EMUL_ERR_* code. */
  emulate(regs: RegisterFile, dec: InstrDecoder, mmio: MmioAccess): number {
    this.siDelta = 0;
    this.diDelta = 0;
    this.countDelta = 0;
    this.countLeft = false;
    if (dec.status !== DECODE_OK) return EMUL_ERR_DECODE;
    const op = dec.op;
    if (op === OP_STOS || op === OP_MOVS) return this.emulateString(regs, dec, mmio);
    if (op === OP_MOV) return this.emulateMov(regs, dec, mmio);
    if (op === OP_MOVZX || op === OP_MOVSX || op === OP_MOVSXD) return this.emulateExtend(regs, dec, mmio);
    if (op === OP_BT) return this.emulateBitTest(regs, dec, mmio);
    return this.emulateAlu(regs, dec, mmio);
  }

  // ---- operations ---------------------------------------------------------------

  /** MOV: device to register, register or immediate to device. */
  private emulateMov(regs: RegisterFile, dec: InstrDecoder, mmio: MmioAccess): number {
    const size = dec.opSize;
    if (dec.regDest) {
      const lo = this.readDevice(mmio, size);
      this.writeReg(regs, dec, dec.regOperand, size, this.valHi, lo);
    } else if (dec.hasImm) {
      mmio.write(size, size === 8 ? dec.immHi : 0, instrCutLo(size, dec.immLo));
    } else {
      const lo = this.readReg(regs, dec, dec.regOperand, size);
      mmio.write(size, this.valHi, lo);
    }
    return EMUL_DONE;
  }

  /** MOVZX, MOVSX, MOVSXD: a memSize read extended to the operand size. */
  private emulateExtend(regs: RegisterFile, dec: InstrDecoder, mmio: MmioAccess): number {
    const from = dec.memSize;
    const to = dec.opSize;
    let lo = this.readDevice(mmio, from);
    let hiHalf = 0;
    if (dec.op !== OP_MOVZX && from < to) {
      const top = from === 1 ? 0x80 : from === 2 ? 0x8000 : 0x80000000;
      if (lo >= top) {
        if (from === 1) lo += 0xffffff00;
        else if (from === 2) lo += 0xffff0000;
        hiHalf = 0xffffffff;
      }
    }
    this.writeReg(regs, dec, dec.regOperand, to, hiHalf, lo);
    return EMUL_DONE;
  }

  /** AND, OR, XOR, SUB (read-modify-write or into a register), CMP, TEST (flags only). */
  private emulateAlu(regs: RegisterFile, dec: InstrDecoder, mmio: MmioAccess): number {
    const op = dec.op;
    const size = dec.opSize;
    const memLo = this.readDevice(mmio, size);
    const memHi = this.valHi;
    let otherLo = 0;
    let otherHi = 0;
    if (dec.hasImm) {
      otherLo = instrCutLo(size, dec.immLo);
      otherHi = size === 8 ? dec.immHi : 0;
    } else {
      otherLo = this.readReg(regs, dec, dec.regOperand, size);
      otherHi = this.valHi;
    }
    // The first operand is the destination: the register for the "r, r/m" forms.
    const alu = this.alu;
    const regFirst = dec.regDest;
    const aHi = regFirst ? otherHi : memHi;
    const aLo = regFirst ? otherLo : memLo;
    const bHi = regFirst ? memHi : otherHi;
    const bLo = regFirst ? memLo : otherLo;
    if (op === OP_SUB || op === OP_CMP) alu.subtract(size, aHi, aLo, bHi, bLo);
    else alu.logic(op === OP_TEST ? OP_AND : op, size, aHi, aLo, bHi, bLo);
    regs.setRflags(((regs.rflags() & ~alu.affected) | alu.flags) >>> 0);
    if (op === OP_CMP || op === OP_TEST) return EMUL_DONE;
    if (regFirst) this.writeReg(regs, dec, dec.regOperand, size, alu.resultHi, alu.resultLo);
    else mmio.write(size, alu.resultHi, alu.resultLo);
    return EMUL_DONE;
  }

  /**
   * BT: CF = the selected bit of the device operand; the other flags stay
   * (OF, SF, AF, PF are undefined, ZF unaffected). The bit offset is taken
   * modulo the operand width: for a register offset beyond it, the CPU
   * accesses the unit at EA + size * floor(offset / width), which is the
   * faulting address the device side reads.
   */
  private emulateBitTest(regs: RegisterFile, dec: InstrDecoder, mmio: MmioAccess): number {
    const size = dec.opSize;
    const offset = dec.hasImm ? dec.immLo : this.readReg(regs, dec, dec.regOperand, size);
    const bit = offset & (size * 8 - 1);
    const lo = this.readDevice(mmio, size);
    const value = bit < 32 ? (lo >>> bit) & 1 : (this.valHi >>> (bit - 32)) & 1;
    regs.setRflags(((regs.rflags() & ~RFLAGS_CF) | value) >>> 0);
    return EMUL_DONE;
  }

  /** STOS and MOVS, one element. */
  private emulateString(regs: RegisterFile, dec: InstrDecoder, mmio: MmioAccess): number {
    const size = dec.opSize;
    const addrSize = dec.addrSize;
    const repeat = dec.rep || dec.repne;
    let countLo = 0;
    let countHi = 0;
    if (repeat) {
      countLo = this.readPointer(regs, REG_RCX, addrSize);
      countHi = this.valHi;
      if (countLo === 0 && countHi === 0) return EMUL_DONE; // nothing to do
    }
    const step = (regs.rflags() & RFLAGS_DF) !== 0 ? -size : size;
    if (dec.op === OP_STOS) {
      const lo = this.readReg(regs, dec, REG_RAX, size);
      mmio.write(size, this.valHi, lo);
    } else {
      const siLo = this.readPointer(regs, REG_RSI, addrSize);
      const siHi = this.valHi;
      if (mmio.mmioIsDest) {
        const srcLo = this.linear(regs, dec, dec.segment, siHi, siLo);
        if (srcLo < 0) return EMUL_ERR_NONCANONICAL;
        const lo = mmio.readGuest(this.linHi, srcLo, size);
        if (lo < 0) return EMUL_ERR_GUEST_MEM;
        mmio.write(size, size === 8 ? mmio.valueHi >>> 0 : 0, instrCutLo(size, lo));
      } else {
        const diLo = this.readPointer(regs, REG_RDI, addrSize);
        const dstLo = this.linear(regs, dec, SEG_ES, this.valHi, diLo);
        if (dstLo < 0) return EMUL_ERR_NONCANONICAL;
        const dstHi = this.linHi;
        const lo = this.readDevice(mmio, size);
        if (!mmio.writeGuest(dstHi, dstLo, size, this.valHi, lo)) return EMUL_ERR_GUEST_MEM;
      }
      this.stepPointer(regs, REG_RSI, addrSize, step);
      this.siDelta = step;
    }
    this.stepPointer(regs, REG_RDI, addrSize, step);
    this.diDelta = step;
    if (!repeat) return EMUL_DONE;
    this.stepPointer(regs, REG_RCX, addrSize, -1);
    this.countDelta = -1;
    this.countLeft = !(countHi === 0 && countLo === 1);
    return this.countLeft ? EMUL_REPEAT : EMUL_DONE;
  }

  // ---- addresses ----------------------------------------------------------------

  /**
   * The memory operand's effective address (the offset in its segment),
   * truncated to the address size: bits 31:0 returned, 63:32 in eaHi. String
   * forms give rSI (MOVS) or rDI (STOS); RIP-relative forms count from the
   * next instruction (RIP + instLen).
   */
  effectiveAddress(regs: RegisterFile, dec: InstrDecoder): number {
    const m = dec.mem;
    if (dec.addrSize === 2) {
      let sum = m.dispLo & 0xffff;
      if (m.base >= 0) sum += regs.regLo(m.base) & 0xffff;
      if (m.index >= 0) sum += regs.regLo(m.index) & 0xffff;
      this.eaHi = 0;
      return sum & 0xffff;
    }
    let lo = m.dispLo;
    let hiHalf = m.dispHi;
    if (m.ripRel) {
      lo += (regs.ripLo() >>> 0) + dec.instLen;
      hiHalf += regs.ripHi() >>> 0;
      const carry = Math.floor(lo / TWO_POW_32);
      lo -= carry * TWO_POW_32;
      hiHalf += carry;
    }
    if (m.base >= 0) {
      lo += regs.regLo(m.base) >>> 0;
      hiHalf += regs.regHi(m.base) >>> 0;
    }
    if (m.index >= 0) {
      const scaled = (regs.regLo(m.index) >>> 0) * m.scale;
      const carry = Math.floor(scaled / TWO_POW_32);
      lo += scaled - carry * TWO_POW_32;
      hiHalf += (regs.regHi(m.index) >>> 0) * m.scale + carry;
    }
    const carry = Math.floor(lo / TWO_POW_32);
    lo -= carry * TWO_POW_32;
    hiHalf += carry;
    hiHalf -= Math.floor(hiHalf / TWO_POW_32) * TWO_POW_32;
    this.eaHi = dec.addrSize === 8 ? hiHalf : 0;
    return lo;
  }

  /** Linear address of the memory operand (segment base + effective address), as linearAddress. */
  linearAddress(regs: RegisterFile, dec: InstrDecoder): number {
    const lo = this.effectiveAddress(regs, dec);
    return this.linear(regs, dec, dec.segment, this.eaHi, lo);
  }

  /**
   * Segment base + offset: bits 31:0 returned (63:32 in linHi), or -1 when not
   * canonical. In 64-bit mode only FS and GS have a base (SDM Vol. 1 3.3.7.1)
   * and the address must be canonical (48 bits); elsewhere it wraps at 4 GiB.
   */
  private linear(regs: RegisterFile, dec: InstrDecoder, seg: number, offHi: number, offLo: number): number {
    if (dec.mode !== 64) {
      const sum = (regs.segBaseLo(seg) >>> 0) + offLo;
      this.linHi = 0;
      return sum >= TWO_POW_32 ? sum - TWO_POW_32 : sum;
    }
    let lo = offLo;
    let hiHalf = offHi;
    if (seg === SEG_FS || seg === SEG_GS) {
      lo += regs.segBaseLo(seg) >>> 0;
      hiHalf += regs.segBaseHi(seg) >>> 0;
      if (lo >= TWO_POW_32) {
        lo -= TWO_POW_32;
        hiHalf += 1;
      }
      if (hiHalf >= TWO_POW_32) hiHalf -= TWO_POW_32;
    }
    this.linHi = hiHalf;
    const top = hiHalf >>> 15; // bits 63:47 all equal
    if (top !== 0 && top !== 0x1ffff) return -1;
    return lo;
  }

  // ---- registers and the device -------------------------------------------------

  /** A device read of `size` bytes, cut to size; high half in valHi. */
  private readDevice(mmio: MmioAccess, size: number): number {
    const lo = mmio.read(size);
    this.valHi = size === 8 ? mmio.valueHi >>> 0 : 0;
    return instrCutLo(size, lo);
  }

  /** Register `index` at `size` bytes (AH..BH for 4-7 at size 1 without REX); high half in valHi. */
  private readReg(regs: RegisterFile, dec: InstrDecoder, index: number, size: number): number {
    this.valHi = 0;
    if (size === 1) {
      if (dec.rex === 0 && index >= 4 && index < 8) return (regs.regLo(index - 4) >>> 8) & 0xff;
      return regs.regLo(index) & 0xff;
    }
    if (size === 8) this.valHi = regs.regHi(index) >>> 0;
    return instrCutLo(size, regs.regLo(index));
  }

  /** Write register `index` at `size` bytes with the CPU's zero-extension and merge rules. */
  private writeReg(regs: RegisterFile, dec: InstrDecoder, index: number, size: number, hiHalf: number, lo: number): void {
    if (size === 8) {
      regs.setReg(index, hiHalf >>> 0, lo >>> 0);
      return;
    }
    if (size === 4) {
      regs.setReg(index, 0, lo >>> 0);
      return;
    }
    let reg = index;
    let mask = size === 2 ? 0xffff : 0xff;
    let value = lo & mask;
    if (size === 1 && dec.rex === 0 && index >= 4 && index < 8) {
      reg = index - 4; // AH, CH, DH, BH
      mask = 0xff00;
      value = (lo & 0xff) << 8;
    }
    const old = regs.regLo(reg) >>> 0;
    const oldHi = regs.regHi(reg) >>> 0;
    regs.setReg(reg, oldHi, ((old & ~mask) | value) >>> 0);
  }

  /** A pointer or count register at the address size (SI/ESI/RSI ...); high half in valHi. */
  private readPointer(regs: RegisterFile, index: number, addrSize: number): number {
    const lo = regs.regLo(index) >>> 0;
    this.valHi = addrSize === 8 ? regs.regHi(index) >>> 0 : 0;
    return addrSize === 2 ? lo & 0xffff : lo;
  }

  /** Add `delta` to a pointer or count register, wrapping in the address size. */
  private stepPointer(regs: RegisterFile, index: number, addrSize: number, delta: number): void {
    let lo = this.readPointer(regs, index, addrSize) + delta;
    let hiHalf = this.valHi;
    if (lo < 0) {
      lo += TWO_POW_32;
      hiHalf = hiHalf === 0 ? 0xffffffff : hiHalf - 1;
    } else if (lo >= TWO_POW_32) {
      lo -= TWO_POW_32;
      hiHalf = hiHalf === 0xffffffff ? 0 : hiHalf + 1;
    }
    if (addrSize === 8) {
      regs.setReg(index, hiHalf, lo);
    } else if (addrSize === 4) {
      regs.setReg(index, 0, lo);
    } else {
      const old = regs.regLo(index) >>> 0;
      regs.setReg(index, regs.regHi(index) >>> 0, ((old & 0xffff0000) | (lo & 0xffff)) >>> 0);
    }
  }
}
