// The instruction decoder of the MMIO emulator (ACRN's instr_emul.c, decode
// half): after an EPT violation on an emulated device register, the guest's
// instruction bytes (fetched by the caller, at most 15) are decoded here into
// plain fields, and InstrEmulator (instr-emul.ts) carries them out.
//
// Only the instructions guests use on device registers are decoded (SDM Vol.
// 2, Appendix A opcode map): MOV 88-8B, C6/C7 /0, A0-A3; MOVZX 0F B6/B7;
// MOVSX 0F BE/BF; MOVSXD 63 (64-bit mode); STOS AA/AB; MOVS A4/A5; AND, OR,
// XOR, SUB, CMP (the /r forms and 80/81/83); TEST 84/85, F6/F7 /0; BT 0F A3,
// 0F BA /4. Every form has a memory operand: a register-only form (ModRM.mod
// = 3) cannot cause an EPT violation and is refused.
//
// Instruction layout (SDM Vol. 2A 2.1, Figure 2-1):
//
//   [legacy prefixes]   [REX]       opcode     [ModRM]       [SIB]          [disp]  [imm]
//   66 67 F0 F2 F3      40-4F       1-2 bytes  mod reg rm    ss index base  0,1,2,4 0,1,2,4
//   26 2E 36 3E 64 65   (64-bit                7:6 5:3 2:0   7:6 5:3  2:0   (moffs: 2,4,8)
//                       mode only)
//
// Dispatch is through const tables indexed by the opcode byte (operation and
// flags), groups by ModRM.reg; decode() allocates nothing and never throws:
// any byte sequence ends in 0 or a negative DECODE_ERR_* code.

import {
  F_BYTE, F_IMM8, F_IMM8U, F_IMMZ, F_MEM16, F_MEM32, F_MEM8, F_MODE64, F_MODRM, F_MOFFS, F_REG_DEST, F_VALID, FLAGS_ONE,
  FLAGS_TWO, GROUP_ONE, GROUP_OPS, GROUP_TWO, GRP_NONE, LOCK_OK, OP_NONE, OP_ONE, OP_STOS, OP_TWO, REG_RAX, REG_RBP,
  REG_RDI, REG_RSI, REG_RSP, RM16_BASE, RM16_INDEX, SEG_DS, SEG_ES, SEG_PREFIX, SEG_SS,
} from './instr-ops';

export * from './instr-ops';

/** decode() results. */
export const DECODE_OK = 0;
/** The instruction runs past the bytes given (fetch more and retry). */
export const DECODE_ERR_TRUNCATED = -1;
/** Longer than 15 bytes (the CPU raises #GP). */
export const DECODE_ERR_TOO_LONG = -2;
/** An opcode (or group member) this emulator does not handle. */
export const DECODE_ERR_UNSUPPORTED = -3;
/** A register-only form (mod = 3): it has no memory operand to emulate. */
export const DECODE_ERR_NO_MEMORY = -4;
/** An encoding the CPU rejects with #UD: LOCK on a form that does not allow it. */
export const DECODE_ERR_INVALID = -5;
/** `mode` is not 16, 32 or 64. */
export const DECODE_ERR_MODE = -6;

/** The architectural length limit (SDM Vol. 2A 2.3.11). */
export const MAX_INSTR_LEN = 15;

/** 0 when byte `pos` may be read, else the error that stops decoding there. */
function instrNeed(pos: number, avail: number): number {
  if (pos >= MAX_INSTR_LEN) return DECODE_ERR_TOO_LONG;
  if (pos >= avail) return DECODE_ERR_TRUNCATED;
  return DECODE_OK;
}

/** Little-endian unsigned value of `size` (1, 2, 4) bytes at `pos` (the caller checked the bounds). */
function instrLe32(bytes: Uint8Array, pos: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + bytes[pos + i];
  return v;
}

// ---- decoded operand ------------------------------------------------------------

/**
 * The memory operand: effective address = base + index * scale + disp (+ the
 * next instruction's RIP when ripRel), truncated to the address size. For the
 * string instructions it is the source of MOVS ([seg:rSI]) or the destination
 * of STOS ([ES:rDI]); MOVS's destination is always [ES:rDI].
 */
export class MemOperand {
  /** Base register (0-15), or -1. */
  base = -1;
  /** Index register (0-15), or -1. */
  index = -1;
  /** 1, 2, 4 or 8. */
  scale = 1;
  /** Displacement sign-extended to 64 bits (a moffs: zero-extended). */
  dispHi = 0;
  dispLo = 0;
  /** RIP-relative (64-bit mode, mod = 00, rm = 101). */
  ripRel = false;
}

export class InstrDecoder {
  /** Result of the last decode(): 0, or a DECODE_ERR_* code. */
  status = DECODE_ERR_TRUNCATED;
  /** CPU mode given to decode() (16, 32, 64) and CS.D. */
  mode = 64;
  csD = false;
  /** OP_* */
  op = OP_NONE;
  /** The opcode byte (after 0F for two-byte opcodes). */
  opcode = 0;
  twoByte = false;
  /** Operand size in bytes: 1, 2, 4, 8. */
  opSize = 4;
  /** Bytes read or written in memory (differs from opSize for MOVZX/MOVSX/MOVSXD). */
  memSize = 4;
  /** Address size in bytes: 2, 4, 8. */
  addrSize = 8;
  /** Effective segment of the memory operand (SEG_*), override or default. */
  segment = SEG_DS;
  /** The segment override prefix (SEG_*), or -1. */
  segOverride = -1;
  /** F3, F2 and F0 prefixes (of F2/F3, only the last one counts). */
  rep = false;
  repne = false;
  lock = false;
  /** 66 and 67 prefixes seen. */
  opSizePrefix = false;
  addrSizePrefix = false;
  /** The REX byte in effect (0: none) and its bits. */
  rex = 0;
  rexW = 0;
  rexR = 0;
  rexX = 0;
  rexB = 0;
  /** ModRM fields (3 bits each, without REX) and whether there is one. */
  hasModrm = false;
  mod = 0;
  reg = 0;
  rm = 0;
  /** SIB fields (raw: scale field 0-3, index and base 3 bits without REX). */
  hasSib = false;
  sibScale = 0;
  sibIndex = 0;
  sibBase = 0;
  /** Displacement: size in bytes (0, 1, 2, 4, 8) and value sign-extended to 64 bits (moffs: zero-extended). */
  dispSize = 0;
  dispHi = 0;
  dispLo = 0;
  /** Immediate: size in bytes as encoded, and value sign-extended to the operand size (BT: as encoded). */
  immSize = 0;
  immHi = 0;
  immLo = 0;
  /** The register operand (0-15; AL/eAX for moffs and the string forms), -1 when none. */
  regOperand = -1;
  /** The register operand is the destination and memory the source. */
  regDest = false;
  /** The second operand is the immediate (rather than the register). */
  hasImm = false;
  /** Total length in bytes. */
  instLen = 0;
  readonly mem = new MemOperand();

  /**
   * Decode one instruction from bytes[0 .. count). `mode` is 64 (IA-32e
   * 64-bit mode), 32 (protected mode) or 16 (real or virtual-8086 mode); in
   * modes 32 and 16, `csD` (the CS descriptor's D bit) selects 32-bit default
   * operand and address sizes. Returns 0 or a DECODE_ERR_* code; never throws,
   * never allocates.
   */
  decode(bytes: Uint8Array, count: number, mode: number, csD: boolean): number {
    this.clear(mode, csD);
    const result = this.decodeBytes(bytes, count, mode, csD);
    this.status = result;
    if (result !== DECODE_OK) this.op = OP_NONE;
    return result;
  }

  private clear(mode: number, csD: boolean): void {
    this.mode = mode;
    this.csD = csD;
    this.op = OP_NONE;
    this.opcode = 0;
    this.twoByte = false;
    this.opSize = 4;
    this.memSize = 4;
    this.addrSize = 8;
    this.segment = SEG_DS;
    this.segOverride = -1;
    this.rep = false;
    this.repne = false;
    this.lock = false;
    this.opSizePrefix = false;
    this.addrSizePrefix = false;
    this.rex = 0;
    this.rexW = 0;
    this.rexR = 0;
    this.rexX = 0;
    this.rexB = 0;
    this.hasModrm = false;
    this.mod = 0;
    this.reg = 0;
    this.rm = 0;
    this.hasSib = false;
    this.sibScale = 0;
    this.sibIndex = 0;
    this.sibBase = 0;
    this.dispSize = 0;
    this.dispHi = 0;
    this.dispLo = 0;
    this.immSize = 0;
    this.immHi = 0;
    this.immLo = 0;
    this.regOperand = -1;
    this.regDest = false;
    this.hasImm = false;
    this.instLen = 0;
    const m = this.mem;
    m.base = -1;
    m.index = -1;
    m.scale = 1;
    m.dispHi = 0;
    m.dispLo = 0;
    m.ripRel = false;
  }

  private decodeBytes(bytes: Uint8Array, count: number, mode: number, csD: boolean): number {
    if (mode !== 16 && mode !== 32 && mode !== 64) return DECODE_ERR_MODE;
    // Bytes that may be read: never past the array (indexes are not checked natively).
    let avail = count >= 0 ? Math.floor(count) : 0;
    if (avail > bytes.length) avail = bytes.length;
    if (avail > MAX_INSTR_LEN) avail = MAX_INSTR_LEN;
    const is64 = mode === 64;
    const wide = is64 || csD;

    // Legacy prefixes and REX (SDM Vol. 2A 2.1.1, 2.2.1): a REX counts only
    // when it comes last, right before the opcode.
    let pos = 0;
    let b = 0;
    let rex = 0;
    for (;;) {
      const e = instrNeed(pos, avail);
      if (e !== DECODE_OK) return e;
      b = bytes[pos];
      if (is64 && (b & 0xf0) === 0x40) {
        rex = b;
      } else if (b === 0x66) {
        this.opSizePrefix = true;
        rex = 0;
      } else if (b === 0x67) {
        this.addrSizePrefix = true;
        rex = 0;
      } else if (b === 0xf0) {
        this.lock = true;
        rex = 0;
      } else if (b === 0xf2) {
        this.repne = true;
        this.rep = false;
        rex = 0;
      } else if (b === 0xf3) {
        this.rep = true;
        this.repne = false;
        rex = 0;
      } else if (SEG_PREFIX[b] !== 0xff) {
        this.segOverride = SEG_PREFIX[b];
        rex = 0;
      } else {
        break;
      }
      pos++;
    }
    this.rex = rex;
    this.rexW = (rex >>> 3) & 1;
    this.rexR = (rex >>> 2) & 1;
    this.rexX = (rex >>> 1) & 1;
    this.rexB = rex & 1;

    // Opcode.
    let op = 0;
    let flags = 0;
    let group = 0;
    if (b === 0x0f) {
      pos++;
      const e = instrNeed(pos, avail);
      if (e !== DECODE_OK) return e;
      b = bytes[pos];
      this.twoByte = true;
      op = OP_TWO[b];
      flags = FLAGS_TWO[b];
      group = GROUP_TWO[b];
    } else {
      op = OP_ONE[b];
      flags = FLAGS_ONE[b];
      group = GROUP_ONE[b];
    }
    this.opcode = b;
    pos++;
    if ((flags & F_VALID) === 0) return DECODE_ERR_UNSUPPORTED;
    if ((flags & F_MODE64) !== 0 && !is64) return DECODE_ERR_UNSUPPORTED;

    // Operand and address sizes (SDM Vol. 1 3.6, Vol. 2A 2.2.1.2 Table 2-4).
    if ((flags & F_BYTE) !== 0) this.opSize = 1;
    else if (this.rexW !== 0) this.opSize = 8;
    else if (this.opSizePrefix) this.opSize = wide ? 2 : 4;
    else this.opSize = wide ? 4 : 2;
    if (is64) this.addrSize = this.addrSizePrefix ? 4 : 8;
    else if (csD) this.addrSize = this.addrSizePrefix ? 2 : 4;
    else this.addrSize = this.addrSizePrefix ? 4 : 2;
    if ((flags & F_MEM8) !== 0) this.memSize = 1;
    else if ((flags & F_MEM16) !== 0) this.memSize = 2;
    else if ((flags & F_MEM32) !== 0) this.memSize = this.opSize === 2 ? 2 : 4;
    else this.memSize = this.opSize;
    this.regDest = (flags & F_REG_DEST) !== 0;

    // Operands.
    let defaultSeg = SEG_DS;
    if ((flags & F_MODRM) !== 0) {
      const e = instrNeed(pos, avail);
      if (e !== DECODE_OK) return e;
      const modrm = bytes[pos];
      pos++;
      this.hasModrm = true;
      this.mod = modrm >>> 6;
      this.reg = (modrm >>> 3) & 7;
      this.rm = modrm & 7;
      if (group !== GRP_NONE) op = GROUP_OPS[group * 8 + this.reg];
      if (op === OP_NONE) return DECODE_ERR_UNSUPPORTED;
      if (this.mod === 3) return DECODE_ERR_NO_MEMORY;
      if (group === GRP_NONE) this.regOperand = this.reg | (this.rexR << 3);
      const next = this.addrSize === 2 ? this.modrm16(bytes, pos, avail) : this.modrm32(bytes, pos, avail, is64);
      if (next < 0) return next;
      pos = next;
      const base = this.mem.base;
      if (base === REG_RSP || base === REG_RBP) defaultSeg = SEG_SS;
    } else if ((flags & F_MOFFS) !== 0) {
      // moffs: an offset of the address size (SDM Vol. 2B MOV, "moffs").
      const size = this.addrSize;
      if (pos + size > MAX_INSTR_LEN) return DECODE_ERR_TOO_LONG;
      if (pos + size > avail) return DECODE_ERR_TRUNCATED;
      this.dispSize = size;
      this.dispLo = instrLe32(bytes, pos, size < 4 ? size : 4);
      this.dispHi = size === 8 ? instrLe32(bytes, pos + 4, 4) : 0;
      pos += size;
      this.mem.dispLo = this.dispLo;
      this.mem.dispHi = this.dispHi;
      this.regOperand = REG_RAX;
    } else {
      // String forms: MOVS reads [seg:rSI] (DS unless overridden), STOS writes [ES:rDI].
      this.regOperand = op === OP_STOS ? REG_RAX : -1;
      this.mem.base = op === OP_STOS ? REG_RDI : REG_RSI;
      if (op === OP_STOS) this.segOverride = -1;
    }
    this.segment = this.segOverride >= 0 ? this.segOverride : op === OP_STOS ? SEG_ES : defaultSeg;
    this.op = op;

    // LOCK: only on AND/OR/XOR/SUB with a memory destination (SDM Vol. 2A LOCK: #UD otherwise).
    if (this.lock && (LOCK_OK[op] === 0 || this.regDest)) return DECODE_ERR_INVALID;

    // Immediate.
    if ((flags & (F_IMM8 | F_IMM8U | F_IMMZ)) !== 0) {
      let size = 1;
      if ((flags & F_IMMZ) !== 0) size = this.opSize === 1 ? 1 : this.opSize === 2 ? 2 : 4;
      if (pos + size > MAX_INSTR_LEN) return DECODE_ERR_TOO_LONG;
      if (pos + size > avail) return DECODE_ERR_TRUNCATED;
      const raw = instrLe32(bytes, pos, size);
      pos += size;
      this.immSize = size;
      this.hasImm = true;
      if ((flags & F_IMM8U) !== 0) {
        this.immLo = raw;
      } else {
        // Sign-extend the encoded size to the operand size.
        const topBit = size === 1 ? 0x80 : size === 2 ? 0x8000 : 0x80000000;
        const negative = raw >= topBit;
        const opSize = this.opSize;
        let lo = raw;
        if (negative && opSize > size) {
          lo = size === 1 ? raw + 0xffffff00 : size === 2 ? raw + 0xffff0000 : raw;
          if (opSize === 2) lo = lo & 0xffff;
        }
        this.immLo = lo >>> 0;
        this.immHi = negative && opSize === 8 ? 0xffffffff : 0;
      }
    }
    this.instLen = pos;
    return DECODE_OK;
  }

  /** Read a displacement of `size` (1, 2, 4) bytes at `pos`, sign-extended to 64 bits. Returns the next position or an error. */
  private disp(bytes: Uint8Array, pos: number, avail: number, size: number): number {
    if (pos + size > MAX_INSTR_LEN) return DECODE_ERR_TOO_LONG;
    if (pos + size > avail) return DECODE_ERR_TRUNCATED;
    const raw = instrLe32(bytes, pos, size);
    const topBit = size === 1 ? 0x80 : size === 2 ? 0x8000 : 0x80000000;
    let lo = raw;
    if (raw >= topBit) lo = size === 1 ? raw + 0xffffff00 : size === 2 ? raw + 0xffff0000 : raw;
    this.dispSize = size;
    this.dispLo = lo >>> 0;
    this.dispHi = raw >= topBit ? 0xffffffff : 0;
    this.mem.dispLo = this.dispLo;
    this.mem.dispHi = this.dispHi;
    return pos + size;
  }

  /** 16-bit addressing forms (SDM Vol. 2A Table 2-1). Returns the next position or an error. */
  private modrm16(bytes: Uint8Array, pos: number, avail: number): number {
    const mod = this.mod;
    const rm = this.rm;
    const m = this.mem;
    if (mod === 0 && rm === 6) return this.disp(bytes, pos, avail, 2);
    m.base = RM16_BASE[rm];
    m.index = RM16_INDEX[rm];
    if (mod === 1) return this.disp(bytes, pos, avail, 1);
    if (mod === 2) return this.disp(bytes, pos, avail, 2);
    return pos;
  }

  /** 32/64-bit addressing forms (SDM Vol. 2A Tables 2-2, 2-3, 2-7). Returns the next position or an error. */
  private modrm32(bytes: Uint8Array, pos: number, avail: number, is64: boolean): number {
    const mod = this.mod;
    const rm = this.rm;
    const m = this.mem;
    let at = pos;
    let noBase = false;
    if (rm === 4) {
      const e = instrNeed(at, avail);
      if (e !== DECODE_OK) return e;
      const sib = bytes[at];
      at++;
      this.hasSib = true;
      this.sibScale = sib >>> 6;
      this.sibIndex = (sib >>> 3) & 7;
      this.sibBase = sib & 7;
      const index = this.sibIndex | (this.rexX << 3);
      // index 100 without REX.X: no index (the scale is then meaningless: 1)
      m.index = index === REG_RSP ? -1 : index;
      m.scale = m.index < 0 ? 1 : 1 << this.sibScale;
      if (this.sibBase === 5 && mod === 0) noBase = true; // [index*scale + disp32]
      else m.base = this.sibBase | (this.rexB << 3);
    } else if (rm === 5 && mod === 0) {
      noBase = true; // disp32; RIP-relative in 64-bit mode
      m.ripRel = is64;
    } else {
      m.base = rm | (this.rexB << 3);
    }
    if (noBase || mod === 2) return this.disp(bytes, at, avail, 4);
    if (mod === 1) return this.disp(bytes, at, avail, 1);
    return at;
  }
}
