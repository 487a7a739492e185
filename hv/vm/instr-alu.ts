// Arithmetic and flags for the MMIO instruction emulator (instr-emul.ts), on
// 8/16/32/64-bit operands given as hi/lo u32 halves (hv/u64.ts convention;
// the high half is 0 below 64 bits). RFLAGS results follow the SDM Vol. 2
// instruction pages and Vol. 1 3.4.3.1 (status flags):
//
//   bit  11 10  7  6  4  2  0
//        OF DF SF ZF AF PF CF
//
//   AND, OR, XOR, TEST: CF = OF = 0; SF, ZF, PF from the result; AF undefined
//                       (left as it was).
//   SUB, CMP:           CF = borrow, OF = signed overflow, AF = borrow out of
//                       bit 3; SF, ZF, PF from the result.
// PF is set when the low byte of the result has an even number of 1 bits.
// Nothing here allocates.
import { OP_AND, OP_OR, OP_XOR } from './instr-ops';

export const RFLAGS_CF = 0x001;
export const RFLAGS_PF = 0x004;
export const RFLAGS_AF = 0x010;
export const RFLAGS_ZF = 0x040;
export const RFLAGS_SF = 0x080;
export const RFLAGS_DF = 0x400;
export const RFLAGS_OF = 0x800;
/** The flags the logic operations define. */
export const LOGIC_FLAGS = RFLAGS_CF | RFLAGS_PF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF;
/** The flags SUB and CMP define. */
export const ARITH_FLAGS = LOGIC_FLAGS | RFLAGS_AF;

const TWO_POW_32 = 4294967296;

/** RFLAGS_PF for each byte value with an even number of 1 bits, else 0. */
const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let ones = 0;
  for (let b = 0; b < 8; b++) ones += (i >>> b) & 1;
  PARITY[i] = (ones & 1) === 0 ? RFLAGS_PF : 0;
}

/** `value` cut to `size` bytes' low half, as an unsigned number. */
export function instrCutLo(size: number, value: number): number {
  if (size === 1) return value & 0xff;
  if (size === 2) return value & 0xffff;
  return value >>> 0;
}

export class InstrAlu {
  /** The result of the last operation, cut to its size. */
  resultHi = 0;
  resultLo = 0;
  /** The status flags it computed, and the mask of the flags it defines. */
  flags = 0;
  affected = 0;

  /** AND, OR or XOR (TEST is AND without the write). Operands already cut to `size`. */
  logic(op: number, size: number, aHi: number, aLo: number, bHi: number, bLo: number): void {
    let lo = 0;
    let hiHalf = 0;
    if (op === OP_AND) {
      lo = aLo & bLo;
      hiHalf = aHi & bHi;
    } else if (op === OP_OR) {
      lo = aLo | bLo;
      hiHalf = aHi | bHi;
    } else if (op === OP_XOR) {
      lo = aLo ^ bLo;
      hiHalf = aHi ^ bHi;
    }
    this.resultLo = instrCutLo(size, lo);
    this.resultHi = size === 8 ? hiHalf >>> 0 : 0;
    this.flags = this.signZeroParity(size);
    this.affected = LOGIC_FLAGS;
  }

  /** a - b (SUB, CMP). Operands already cut to `size`. */
  subtract(size: number, aHi: number, aLo: number, bHi: number, bLo: number): void {
    let carry = 0;
    let signA = 0;
    let signB = 0;
    let signR = 0;
    if (size === 8) {
      let lo = aLo - bLo;
      const borrow = lo < 0 ? 1 : 0;
      if (borrow !== 0) lo += TWO_POW_32;
      let hiHalf = aHi - bHi - borrow;
      if (hiHalf < 0) {
        hiHalf += TWO_POW_32;
        carry = 1;
      }
      this.resultLo = lo;
      this.resultHi = hiHalf;
      signA = aHi >>> 31;
      signB = bHi >>> 31;
      signR = hiHalf >>> 31;
    } else {
      const top = size * 8 - 1;
      let r = aLo - bLo;
      if (r < 0) {
        r += size === 1 ? 0x100 : size === 2 ? 0x10000 : TWO_POW_32;
        carry = 1;
      }
      this.resultLo = r;
      this.resultHi = 0;
      signA = (aLo >>> top) & 1;
      signB = (bLo >>> top) & 1;
      signR = (r >>> top) & 1;
    }
    let f = this.signZeroParity(size);
    if (carry !== 0) f |= RFLAGS_CF;
    // Overflow: the operands' signs differ and the result's sign is not the minuend's.
    if (signA !== signB && signR !== signA) f |= RFLAGS_OF;
    if (((aLo ^ bLo ^ this.resultLo) & 0x10) !== 0) f |= RFLAGS_AF;
    this.flags = f;
    this.affected = ARITH_FLAGS;
  }

  /** SF, ZF and PF of the current result. */
  private signZeroParity(size: number): number {
    const lo = this.resultLo;
    const sign = size === 8 ? this.resultHi >>> 31 : (lo >>> (size * 8 - 1)) & 1;
    let f = PARITY[lo & 0xff];
    if (sign !== 0) f |= RFLAGS_SF;
    if (lo === 0 && this.resultHi === 0) f |= RFLAGS_ZF;
    return f;
  }
}
