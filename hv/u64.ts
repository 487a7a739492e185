// 64-bit values as hi/lo u32 halves (DESIGN.md: porffor has no usable BigInt,
// and numbers are f64, exact only below 2^53). Helpers never return objects:
// a 64-bit result is returned as its low half with the high half written to
// a caller-owned Uint32Array slot, or the caller asks for each half.

export const TWO_POW_32 = 4294967296;

/** High 32 bits of a non-negative integer below 2^53. */
export function hiOf(value: number): number {
  return Math.floor(value / TWO_POW_32);
}

/** Low 32 bits of a non-negative integer below 2^53, as an unsigned number. */
export function loOf(value: number): number {
  return value - hiOf(value) * TWO_POW_32;
}

/** hi:lo as one number; exact while hi < 2^21 (the value is below 2^53). */
export function join(hiHalf: number, loHalf: number): number {
  return hiHalf * TWO_POW_32 + loHalf;
}

/** True when hi:lo fits a number exactly (below 2^53). */
export function fitsNumber(hiHalf: number): boolean {
  return hiHalf < 0x200000;
}

/** Bit n (0..63) of hi:lo. */
export function bit64(hiHalf: number, loHalf: number, n: number): number {
  return n < 32 ? (loHalf >>> n) & 1 : (hiHalf >>> (n - 32)) & 1;
}

/** Unsigned view of a 32-bit result of a bitwise operation. */
export function u32(value: number): number {
  return value >>> 0;
}

/**
 * Bits [lowBit, lowBit+width) of hi:lo, width <= 32, as an unsigned number.
 * The field may straddle the two halves.
 */
export function field64(hiHalf: number, loHalf: number, lowBit: number, width: number): number {
  let result = 0;
  for (let i = width - 1; i >= 0; i--) result = result * 2 + bit64(hiHalf, loHalf, lowBit + i);
  return result;
}

/** Add two u64s given as halves; returns the low half and stores the high half in out[slot]. */
export function add64(aHi: number, aLo: number, bHi: number, bLo: number, out: Uint32Array, slot: number): number {
  const lo = aLo + bLo;
  const carry = lo >= TWO_POW_32 ? 1 : 0;
  out[slot] = (aHi + bHi + carry) >>> 0;
  return lo - carry * TWO_POW_32;
}
