// The MMIO instruction emulator (hv/vm/instr-emul.ts): every vector of
// test/vectors/instr-vectors.ts, decoded and emulated against a register file
// and a device double, gives the expected registers, RFLAGS, device accesses
// and guest memory; plus the API's edges.
import { describe, expect, it } from 'vitest';
import { Logger } from '../../hv/log';
import { InstrDecoder } from '../../hv/vm/instr-decode';
import {
  EMUL_DONE, EMUL_ERR_DECODE, EMUL_REPEAT, InstrEmulator,
} from '../../hv/vm/instr-emul';
import { INSTR_VECTORS, InstrFuzz, InstrVectorRunner, VecMmio, VecRegs } from '../vectors/instr-vectors';

function textLogger(): { logger: Logger; take: () => string } {
  const out: number[] = [];
  const logger = new Logger();
  logger.attach({ putc: (c: number) => out.push(c) });
  logger.begin(3);
  return { logger, take: () => String.fromCharCode(...out.splice(0)) };
}

describe('InstrEmulator vectors', () => {
  const runner = new InstrVectorRunner();
  const { logger, take } = textLogger();
  const emulated = INSTR_VECTORS.filter((v) => v.split('|').length >= 5);
  it('most vectors emulate', () => {
    expect(emulated.length).toBeGreaterThanOrEqual(200);
  });
  INSTR_VECTORS.forEach((v, i) => {
    it(`vector ${i}: ${v}`, () => {
      const misses = runner.checkVector(v, logger);
      expect(take()).toBe('');
      expect(misses).toBe(0);
    });
  });
});

describe('InstrEmulator details', () => {
  const d = new InstrDecoder();
  const emu = new InstrEmulator();
  const regs = new VecRegs();
  const mmio = new VecMmio();
  const bytes = new Uint8Array(16);
  function decode(hex: number[], mode = 64): number {
    bytes.fill(0);
    hex.forEach((b, i) => { bytes[i] = b; });
    return d.decode(bytes, hex.length, mode, mode === 32);
  }

  it('refuses a decoder holding no instruction', () => {
    regs.clearAll();
    mmio.clearAll();
    decode([0x01, 0x03]);
    expect(emu.emulate(regs, d, mmio)).toBe(EMUL_ERR_DECODE);
    expect(mmio.reads + mmio.writes).toBe(0);
  });

  it('a caller looping on EMUL_REPEAT finishes REP STOSD, stepping the device address by diDelta', () => {
    regs.clearAll();
    mmio.clearAll();
    decode([0xf3, 0xab]);
    regs.setReg(7, 0, 0xfee00000);
    regs.setReg(1, 0, 5);
    regs.setReg(0, 0, 0x1234);
    let gpa = 0xfee00000;
    const seen: number[] = [];
    let r = EMUL_REPEAT;
    while (r === EMUL_REPEAT) {
      seen.push(gpa);
      r = emu.emulate(regs, d, mmio);
      gpa += emu.diDelta;
    }
    expect(r).toBe(EMUL_DONE);
    expect(seen).toEqual([0xfee00000, 0xfee00004, 0xfee00008, 0xfee0000c, 0xfee00010]);
    expect(mmio.writes).toBe(5);
    expect(regs.lo[1]).toBe(0);
    expect(regs.lo[7]).toBe(0xfee00014);
    expect(emu.countLeft).toBe(false);
  });

  it('reports the pointer and count deltas', () => {
    regs.clearAll();
    mmio.clearAll();
    decode([0xf3, 0x48, 0xa5]); // rep movsq
    regs.setReg(6, 0, 0xfee00000);
    regs.setReg(7, 0, 0x3000);
    regs.setReg(1, 0, 2);
    regs.setRflags(0x402);
    mmio.openMemory = true;
    expect(emu.emulate(regs, d, mmio)).toBe(EMUL_REPEAT);
    expect([emu.siDelta, emu.diDelta, emu.countDelta, emu.countLeft]).toEqual([-8, -8, -1, true]);
  });

  it('random instructions emulate without throwing and without creating objects', () => {
    const fuzz = new InstrFuzz();
    const alu = fuzz.emu.alu;
    fuzz.runMany(20000);
    expect(fuzz.emulated).toBeGreaterThan(2000);
    expect(fuzz.emu.alu).toBe(alu);
    for (const value of Object.values(fuzz.emu)) {
      if (value === alu) continue;
      expect(['number', 'boolean']).toContain(typeof value);
    }
  });
});
