// Logger formatting vectors: [format, value(s), expected text]. Used by the
// unit tests (Node) and by the conformance tier (native vs Node).
// format: 0 dec, 1 hex, 2 hex width 8, 3 hex64 (value = hi, value2 = lo), 4 ascii4
export const LOG_VECTORS: [number, number, number, string][] = [
  [0, 0, 0, '0'],
  [0, 9, 0, '9'],
  [0, 10, 0, '10'],
  [0, -1, 0, '-1'],
  [0, 2147483648, 0, '2147483648'],
  [0, 4294967295, 0, '4294967295'],
  [0, 4294967296, 0, '4294967296'],
  [0, 9007199254740991, 0, '9007199254740991'],
  [1, 0, 0, '0x0'],
  [1, 255, 0, '0xff'],
  [1, 0x80000000, 0, '0x80000000'],
  [1, 0xffffffff, 0, '0xffffffff'],
  [1, 0x123456789a, 0, '0x123456789a'],
  [1, 0xfee00000, 0, '0xfee00000'],
  [2, 0x2b, 0, '0x0000002b'],
  [2, 0xc0000080, 0, '0xc0000080'],
  [3, 0x00d81000, 0x2b, '0x00d810000000002b'],
  [3, 0xffffffff, 0xffffffff, '0xffffffffffffffff'],
  [3, 0, 0, '0x0000000000000000'],
  [4, 0x756e6547, 0, 'Genu'],
  [4, 0x6c65746e, 0, 'ntel'],
  [4, 0x00000041, 0, 'A'],
];
