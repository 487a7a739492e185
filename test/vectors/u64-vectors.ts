// hv/u64.ts vectors: [hi, lo, lowBit, width, expected field64]. Expected values
// are worked out by hand from the bit layouts (e.g. IA32_VMX_BASIC, SDM A.1).
export const FIELD_VECTORS: [number, number, number, number, number][] = [
  [0x00d81000, 0x0000002b, 0, 31, 0x2b], // VMCS revision
  [0x00d81000, 0x0000002b, 32, 13, 0x1000], // region size
  [0x00d81000, 0x0000002b, 50, 4, 6], // memory type WB
  [0x00d81000, 0x0000002b, 54, 1, 1], // INS/OUTS info
  [0x00d81000, 0x0000002b, 55, 1, 1], // TRUE controls
  [0x00000001, 0x80000000, 31, 2, 3], // straddles the halves
  [0xffffffff, 0xffffffff, 0, 32, 0xffffffff],
  [0xffffffff, 0x00000000, 32, 32, 0xffffffff],
  [0x80000000, 0x00000000, 63, 1, 1],
  [0x00000000, 0x00000000, 12, 20, 0],
];

/** [aHi, aLo, bHi, bLo, sumHi, sumLo] */
export const ADD_VECTORS: [number, number, number, number, number, number][] = [
  [0, 1, 0, 2, 0, 3],
  [0, 0xffffffff, 0, 1, 1, 0],
  [0xffffffff, 0xffffffff, 0, 1, 0, 0],
  [0x12345678, 0x9abcdef0, 0x11111111, 0x76543210, 0x2345678a, 0x11111100], // carry out of the low half
  [0, 0x80000000, 0, 0x80000000, 1, 0],
];
