// The MMIO instruction decoder (hv/vm/instr-decode.ts): every vector of
// test/vectors/instr-vectors.ts decodes to its expected fields, random bytes
// never throw, and one decoder is reused for everything (no allocation).
import { describe, expect, it } from 'vitest';
import { Logger } from '../../hv/log';
import {
  DECODE_ERR_MODE, DECODE_ERR_NO_MEMORY, DECODE_ERR_TOO_LONG, DECODE_ERR_TRUNCATED, DECODE_ERR_UNSUPPORTED, DECODE_OK,
  InstrDecoder, OP_MOV, OP_NONE, SEG_DS,
} from '../../hv/vm/instr-decode';
import { INSTR_VECTORS, InstrFuzz, InstrVectorRunner } from '../vectors/instr-vectors';

function textLogger(): { logger: Logger; take: () => string } {
  const out: number[] = [];
  const logger = new Logger();
  logger.attach({ putc: (c: number) => out.push(c) });
  logger.begin(3);
  return { logger, take: () => String.fromCharCode(...out.splice(0)) };
}

/** Decode-only view of a vector: drop SETUP and EXPECT. */
function decodePart(v: string): string {
  return v.split('|').slice(0, 3).join('|');
}

describe('InstrDecoder vectors', () => {
  it('has at least 200 real encodings', () => {
    expect(INSTR_VECTORS.length).toBeGreaterThanOrEqual(200);
  });

  const runner = new InstrVectorRunner();
  const { logger, take } = textLogger();
  INSTR_VECTORS.forEach((v, i) => {
    it(`vector ${i}: ${v.split('|').slice(0, 3).join('|').trim()}`, () => {
      const misses = runner.checkVector(decodePart(v), logger);
      expect(take()).toBe('');
      expect(misses).toBe(0);
    });
  });
});

describe('InstrDecoder details', () => {
  const d = new InstrDecoder();
  const bytes = new Uint8Array(16);
  function load(hex: number[]): number {
    bytes.fill(0);
    hex.forEach((b, i) => { bytes[i] = b; });
    return hex.length;
  }

  it('refuses a mode other than 16, 32, 64', () => {
    const n = load([0x8b, 0x03]);
    expect(d.decode(bytes, n, 48, false)).toBe(DECODE_ERR_MODE);
    expect(d.op).toBe(OP_NONE);
  });

  it('never reads past the count given, nor past the array', () => {
    const n = load([0x8b, 0x80, 0x00, 0x01, 0x00, 0x00]);
    expect(d.decode(bytes, 5, 64, false)).toBe(DECODE_ERR_TRUNCATED);
    expect(d.decode(bytes, n, 64, false)).toBe(DECODE_OK);
    expect(d.decode(bytes.subarray(0, 3), 100, 64, false)).toBe(DECODE_ERR_TRUNCATED);
    expect(d.decode(bytes, -4, 64, false)).toBe(DECODE_ERR_TRUNCATED);
    expect(d.decode(bytes, 2.5, 64, false)).toBe(DECODE_ERR_TRUNCATED);
  });

  it('reports 15 bytes of prefixes as too long even with more bytes given', () => {
    const long = new Uint8Array(32).fill(0x66);
    expect(d.decode(long, 32, 64, false)).toBe(DECODE_ERR_TOO_LONG);
    expect(d.decode(long, 10, 64, false)).toBe(DECODE_ERR_TRUNCATED);
  });

  it('resets every field between decodes', () => {
    load([0xf0, 0x64, 0x48, 0x81, 0x64, 0x8b, 0x10, 0x78, 0x56, 0x34, 0x12]);
    expect(d.decode(bytes, 11, 64, false)).toBe(DECODE_OK); // lock and qword [fs:rbx+rcx*4+0x10], 0x12345678
    expect(d.lock).toBe(true);
    expect(d.hasSib).toBe(true);
    const n = load([0x8b, 0x03]);
    expect(d.decode(bytes, n, 32, true)).toBe(DECODE_OK);
    expect([d.op, d.lock, d.hasSib, d.hasImm, d.immLo, d.rex, d.segOverride, d.segment, d.dispSize, d.mem.index])
      .toEqual([OP_MOV, false, false, false, 0, 0, -1, SEG_DS, 0, -1]);
  });

  it('decodes 40-4F as REX only in 64-bit mode', () => {
    const n = load([0x48, 0x8b, 0x03]);
    expect(d.decode(bytes, n, 64, false)).toBe(DECODE_OK);
    expect(d.opSize).toBe(8);
    expect(d.decode(bytes, n, 32, true)).toBe(DECODE_ERR_UNSUPPORTED);
  });

  it('refuses register forms whatever the opcode', () => {
    for (const op of [0x08, 0x09, 0x20, 0x21, 0x28, 0x30, 0x38, 0x84, 0x85, 0x88, 0x89, 0x8a, 0x8b]) {
      const n = load([op, 0xc1]);
      expect(d.decode(bytes, n, 64, false)).toBe(DECODE_ERR_NO_MEMORY);
    }
  });
});

describe('InstrDecoder on random bytes', () => {
  it('100,000 seeded random sequences decode without throwing, within their invariants', () => {
    const fuzz = new InstrFuzz();
    const mem = fuzz.dec.mem;
    fuzz.runMany(100000);
    expect(fuzz.broken).toBe(0);
    expect(fuzz.dec.mem).toBe(mem); // the same operand record, refilled
    // the generator reaches every outcome
    expect(fuzz.decoded).toBeGreaterThan(10000);
    for (let s = 0; s <= 5; s++) expect(fuzz.statusCounts[s]).toBeGreaterThan(0);
  });

  it('holds no per-decode objects: every field is a number, a boolean or the one MemOperand', () => {
    const d = new InstrDecoder();
    const mem = d.mem;
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 2000; i++) {
      for (let k = 0; k < 16; k++) bytes[k] = (i * 131 + k * 71) & 0xff;
      d.decode(bytes, 16, 64, false);
      expect(d.mem).toBe(mem);
    }
    for (const [key, value] of Object.entries(d)) {
      if (key === 'mem') continue;
      expect(['number', 'boolean']).toContain(typeof value);
    }
    for (const value of Object.values(mem)) expect(['number', 'boolean']).toContain(typeof value);
  });
});
