import { describe, expect, it } from 'vitest';
import { add64, bit64, field64, fitsNumber, hiOf, join, loOf } from '../../hv/u64';

describe('u64 helpers', () => {
  it('splits and joins numbers below 2^53', () => {
    for (const v of [0, 1, 0xffffffff, 0x100000000, 0x123456789abcd, 2 ** 53 - 1]) {
      expect(join(hiOf(v), loOf(v))).toBe(v);
      expect(loOf(v)).toBeLessThan(2 ** 32);
    }
    expect(hiOf(0x1_2345_6789)).toBe(1);
    expect(loOf(0x1_2345_6789)).toBe(0x2345_6789);
  });

  it('reads bits and fields across the halves', () => {
    // IA32_VMX_BASIC of Bochs skylake: 0x00d810000000002b
    const hi = 0x00d81000, lo = 0x2b;
    expect(bit64(hi, lo, 55)).toBe(1);
    expect(bit64(hi, lo, 54)).toBe(1);
    expect(bit64(hi, lo, 49)).toBe(0);
    expect(field64(hi, lo, 50, 4)).toBe(6); // memory type WB
    expect(field64(hi, lo, 32, 13)).toBe(0x1000); // region size
    expect(field64(0x1, 0x80000000, 31, 2)).toBe(3); // straddles the halves
  });

  it('adds with carry into the high half', () => {
    const out = new Uint32Array(1);
    expect(add64(0, 0xffffffff, 0, 1, out, 0)).toBe(0);
    expect(out[0]).toBe(1);
    expect(add64(0xffffffff, 0xffffffff, 0, 1, out, 0)).toBe(0);
    expect(out[0]).toBe(0);
  });

  it('knows which pairs fit a number', () => {
    expect(fitsNumber(0x1fffff)).toBe(true);
    expect(fitsNumber(0x200000)).toBe(false);
  });
});
