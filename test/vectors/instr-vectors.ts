// Vectors for the MMIO instruction decoder and emulator (hv/vm/instr-*.ts),
// and the runner that checks one (used by test/unit/instr-*.test.ts and, natively,
// by test/conformance/instr.ts; it parses the text without allocating).
//
// Each vector is one line of five sections separated by "|":
//
//   MODE | BYTES | DECODE | SETUP | EXPECT
//
//   MODE    64 (64-bit mode), 32 (protected, CS.D = 1), p16 (protected,
//           CS.D = 0), 16 (real mode), r32 (real mode with CS.D = 1)
//   BYTES   the instruction, hex bytes
//   DECODE  err=<n> (decode must fail with that code), or the operation then
//           os=<operand size> as=<address size> ms=<memory access size,
//           default os> seg=<es|cs|ss|ds|fs|gs> base=<reg|-> idx=<reg|->
//           sc=<scale> disp=<hex, "-" for negative; sign-extended to 64 bits,
//           a moffs zero-extended> imm=<hex as sign-extended to os> reg=<index
//           of the register operand, - for none> len=<length>, and the words
//           rip (RIP-relative), rep, repne, lock when set. Omitted: base, idx
//           and reg "-", sc 1, disp 0, no immediate, flags clear.
//   SETUP   initial state: <gpr>=hex (others 0), rip=, fl=<set flags among
//           C P A Z S O D, "-" none>, in=<what the device returns on a read>,
//           mmio=w (MOVS: the device is the destination), fsb= gsb= esb= ...
//           (segment bases), m=<linear>:<bytes> (guest memory, up to 16 bytes
//           per region; bytes outside every region fault).
//   EXPECT  ret=<emulate() result, default 0> rd=<size of the one device read>
//           wr=<size>:<value of the one device write> (no rd / wr: none may
//           happen), <gpr>= and fl= for what changes (the rest must be
//           unchanged), ea= / lin= (effective / linear address of the memory
//           operand, before emulation), m=<linear>:<bytes> (guest memory after).
//   Vectors without SETUP and EXPECT are decoded only.
//
// The encodings were assembled with nasm (the asm is given in each comment) and
// read back with objdump; the expected decode fields come from the SDM's
// ModRM/SIB tables (Vol. 2A 2.1.5) and the instruction pages. ALU results and
// flags were taken from this x86-64 CPU executing the same operation (with
// the SDM's undefined flags - AF after AND/OR/XOR/TEST, OF/SF/AF/PF after BT -
// kept at their initial values, as the emulator does); MOV/MOVZX/MOVSX and
// the string forms from the SDM's register-width and DF/rCX rules.
import { InstrDecoder, OP_NAMES, SEG_DS } from '../../hv/vm/instr-decode';
import { InstrEmulator, type MmioAccess, type RegisterFile } from '../../hv/vm/instr-emul';
import type { Logger } from '../../hv/log';

// ---- test doubles -----------------------------------------------------------------

/** A register file in typed arrays. */
export class VecRegs implements RegisterFile {
  readonly lo = new Uint32Array(16);
  readonly hi = new Uint32Array(16);
  readonly baseLo = new Uint32Array(6);
  readonly baseHi = new Uint32Array(6);
  ripLoValue = 0;
  ripHiValue = 0;
  flagsValue = 2;
  regLo(index: number): number {
    return index >= 0 && index < 16 ? this.lo[index] : 0;
  }
  regHi(index: number): number {
    return index >= 0 && index < 16 ? this.hi[index] : 0;
  }
  setReg(index: number, hiHalf: number, loHalf: number): void {
    if (index < 0 || index >= 16) return;
    this.lo[index] = loHalf >>> 0;
    this.hi[index] = hiHalf >>> 0;
  }
  ripLo(): number {
    return this.ripLoValue;
  }
  ripHi(): number {
    return this.ripHiValue;
  }
  rflags(): number {
    return this.flagsValue;
  }
  setRflags(value: number): void {
    this.flagsValue = value >>> 0;
  }
  segBaseLo(seg: number): number {
    return seg >= 0 && seg < 6 ? this.baseLo[seg] : 0;
  }
  segBaseHi(seg: number): number {
    return seg >= 0 && seg < 6 ? this.baseHi[seg] : 0;
  }
  clearAll(): void {
    this.lo.fill(0);
    this.hi.fill(0);
    this.baseLo.fill(0);
    this.baseHi.fill(0);
    this.ripLoValue = 0;
    this.ripHiValue = 0;
    this.flagsValue = 2;
  }
}

/** Guest-memory regions of the MOVS tests. */
const REGIONS = 4;
const REGION_BYTES = 16;

/** A device that returns a fixed value and records accesses, plus a small linear guest memory. */
export class VecMmio implements MmioAccess {
  valueHi = 0;
  mmioIsDest = false;
  inHi = 0;
  inLo = 0;
  reads = 0;
  readSize = 0;
  writes = 0;
  writeSize = 0;
  writeHi = 0;
  writeLo = 0;
  readonly regionLo = new Float64Array(REGIONS);
  readonly regionHi = new Float64Array(REGIONS);
  readonly regionUsed = new Uint8Array(REGIONS);
  /** Bytes each region holds (at most REGION_BYTES). */
  readonly regionSize = new Uint8Array(REGIONS);
  readonly memory = new Uint8Array(REGIONS * REGION_BYTES);
  /** Fuzzing: every guest address reads a value made from the address; writes are recorded, not stored. */
  openMemory = false;
  guestWrites = 0;
  guestWriteHi = 0;
  guestWriteLo = 0;
  read(size: number): number {
    this.reads++;
    this.readSize = size;
    this.valueHi = size === 8 ? this.inHi : 0;
    if (size === 1) return this.inLo & 0xff;
    if (size === 2) return this.inLo & 0xffff;
    return this.inLo;
  }
  write(size: number, hiHalf: number, loHalf: number): void {
    this.writes++;
    this.writeSize = size;
    this.writeHi = hiHalf >>> 0;
    this.writeLo = loHalf >>> 0;
  }
  /** Index into memory of linear hi:lo, or -1 when no region holds it. */
  slot(linHi: number, linLo: number): number {
    for (let r = 0; r < REGIONS; r++) {
      if (this.regionUsed[r] === 0 || this.regionHi[r] !== linHi) continue;
      const off = linLo - this.regionLo[r];
      if (off >= 0 && off < this.regionSize[r]) return r * REGION_BYTES + off;
    }
    return -1;
  }
  /** Slot of byte `b` of an element at linear hi:lo (the element may cross into the next region, or page). */
  slotAt(linHi: number, linLo: number, b: number): number {
    let l = linLo + b;
    let h = linHi;
    if (l >= 4294967296) {
      l -= 4294967296;
      h = (h + 1) >>> 0;
    }
    return this.slot(h, l);
  }
  readGuest(linHi: number, linLo: number, size: number): number {
    if (this.openMemory) {
      if ((linLo & 0xff) === 0xff) return -1;
      this.valueHi = size === 8 ? (linHi ^ 0x13579bdf) >>> 0 : 0;
      const v = (linLo ^ 0x2468ace0) >>> 0;
      return size === 1 ? v & 0xff : size === 2 ? v & 0xffff : v;
    }
    let lo = 0;
    let hiHalf = 0;
    for (let b = size - 1; b >= 0; b--) {
      const at = this.slotAt(linHi, linLo, b);
      if (at < 0) return -1;
      if (b >= 4) hiHalf = hiHalf * 256 + this.memory[at];
      else lo = lo * 256 + this.memory[at];
    }
    this.valueHi = hiHalf;
    return lo;
  }
  writeGuest(linHi: number, linLo: number, size: number, hiHalf: number, loHalf: number): boolean {
    if (this.openMemory) {
      if ((linLo & 0xff) === 0xfe) return false;
      this.guestWrites++;
      this.guestWriteHi = (hiHalf ^ linHi) >>> 0;
      this.guestWriteLo = (loHalf ^ linLo) >>> 0;
      return true;
    }
    for (let b = 0; b < size; b++) if (this.slotAt(linHi, linLo, b) < 0) return false;
    for (let b = 0; b < size; b++) {
      const at = this.slotAt(linHi, linLo, b);
      const v = b < 4 ? loHalf >>> (b * 8) : hiHalf >>> ((b - 4) * 8);
      if (at >= 0) this.memory[at] = v & 0xff;
    }
    return true;
  }
  clearAll(): void {
    this.valueHi = 0;
    this.mmioIsDest = false;
    this.inHi = 0;
    this.inLo = 0;
    this.reads = 0;
    this.readSize = 0;
    this.writes = 0;
    this.writeSize = 0;
    this.writeHi = 0;
    this.writeLo = 0;
    this.regionUsed.fill(0);
    this.regionSize.fill(0);
    this.memory.fill(0);
    this.openMemory = false;
    this.guestWrites = 0;
    this.guestWriteHi = 0;
    this.guestWriteLo = 0;
  }
}

// ---- the vector text ------------------------------------------------------------

const CH_SPACE = 32;
const CH_BAR = 124;
const CH_EQ = 61;
const CH_MINUS = 45;
const TWO_POW_32 = 4294967296;

/** Value of a character in a packed word code (a-z 1-26, 0-9 27-36, others 37). */
function ivCharValue(ch: number): number {
  if (ch >= 97 && ch <= 122) return ch - 96;
  if (ch >= 48 && ch <= 57) return ch - 48 + 27;
  return 37;
}

/** A word (up to 8 characters) packed into a number. */
function ivWordCode(text: string): number {
  let code = 0;
  for (let i = 0; i < text.length && i < 8; i++) code = code * 40 + ivCharValue(text.charCodeAt(i));
  return code;
}

function ivHexDigit(ch: number): number {
  if (ch >= 48 && ch <= 57) return ch - 48;
  if (ch >= 97 && ch <= 102) return ch - 87;
  if (ch >= 65 && ch <= 70) return ch - 55;
  return -1;
}

export const GPR_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
const SEG_BASE_NAMES = ['esb', 'csb', 'ssb', 'dsb', 'fsb', 'gsb'];
/** RFLAGS letters: C P A Z S O D. */
const FLAG_LETTERS = 'CPAZSOD';
const FLAG_BITS = [0x1, 0x4, 0x10, 0x40, 0x80, 0x800, 0x400];

const GPR_CODES = new Float64Array(16);
for (let i = 0; i < 16; i++) GPR_CODES[i] = ivWordCode(GPR_NAMES[i]);
const SEG_CODES = new Float64Array(6);
const SEG_BASE_CODES = new Float64Array(6);
for (let i = 0; i < 6; i++) {
  SEG_CODES[i] = ivWordCode(SEG_NAMES[i]);
  SEG_BASE_CODES[i] = ivWordCode(SEG_BASE_NAMES[i]);
}
const OP_CODES = new Float64Array(OP_NAMES.length);
for (let i = 0; i < OP_NAMES.length; i++) OP_CODES[i] = ivWordCode(OP_NAMES[i]);
const K_ERR = ivWordCode('err');
const K_OS = ivWordCode('os');
const K_AS = ivWordCode('as');
const K_MS = ivWordCode('ms');
const K_SEG = ivWordCode('seg');
const K_BASE = ivWordCode('base');
const K_IDX = ivWordCode('idx');
const K_SC = ivWordCode('sc');
const K_DISP = ivWordCode('disp');
const K_IMM = ivWordCode('imm');
const K_REG = ivWordCode('reg');
const K_LEN = ivWordCode('len');
const K_RIP = ivWordCode('rip');
const K_REP = ivWordCode('rep');
const K_REPNE = ivWordCode('repne');
const K_LOCK = ivWordCode('lock');
const K_FL = ivWordCode('fl');
const K_IN = ivWordCode('in');
const K_MMIO = ivWordCode('mmio');
const K_M = ivWordCode('m');
const K_RET = ivWordCode('ret');
const K_RD = ivWordCode('rd');
const K_WR = ivWordCode('wr');
const K_EA = ivWordCode('ea');
const K_LIN = ivWordCode('lin');
const K_64 = ivWordCode('64');
const K_32 = ivWordCode('32');
const K_16 = ivWordCode('16');
const K_P16 = ivWordCode('p16');
const K_R32 = ivWordCode('r32');

/** Checks one vector: decode, then (when it has SETUP/EXPECT) emulate, against the expectations. */
export class InstrVectorRunner {
  readonly dec = new InstrDecoder();
  readonly emu = new InstrEmulator();
  readonly regs = new VecRegs();
  readonly mmio = new VecMmio();
  readonly bytes = new Uint8Array(32);
  byteCount = 0;
  mode = 64;
  csD = false;
  /** Mismatches found by the last check(). */
  misses = 0;
  private out: Logger | null = null;

  // the text being parsed: [at, end) inside section bounds
  private text = '';
  private at = 0;
  private end = 0;
  private readonly sectionStart = new Float64Array(6);
  private readonly sectionEnd = new Float64Array(6);
  private sections = 0;
  private numHi = 0;
  private numLo = 0;
  private word = 0;

  // expectations
  private readonly wantLo = new Uint32Array(16);
  private readonly wantHi = new Uint32Array(16);
  private wantFlags = 0;
  private wantRet = 0;
  private wantRead = 0;
  private wantWrite = 0;
  private wantWriteHi = 0;
  private wantWriteLo = 0;
  private wantEa = false;
  private wantEaHi = 0;
  private wantEaLo = 0;
  private wantLin = false;
  private wantLinHi = 0;
  private wantLinLo = 0;
  private readonly wantMem = new Uint8Array(REGIONS * REGION_BYTES);
  private readonly wantMemSet = new Uint8Array(REGIONS * REGION_BYTES);

  /** Check vector `text`; mismatches are described through `out`. Returns how many. */
  checkVector(text: string, out: Logger): number {
    this.out = out;
    this.misses = 0;
    this.text = text;
    this.splitSections();
    if (this.sections < 3) {
      out.str(' malformed vector');
      return 1;
    }
    this.parseMode();
    this.parseBytes();
    this.dec.decode(this.bytes, this.byteCount, this.mode, this.csD);
    this.checkDecode();
    if (this.sections >= 5 && this.dec.status === 0) this.checkEmulation();
    return this.misses;
  }

  // ---- decode ---------------------------------------------------------------------

  private checkDecode(): void {
    const d = this.dec;
    this.enter(2);
    this.skipSpaces();
    this.readWord();
    if (this.word === K_ERR) {
      this.readNumber();
      this.expect('status', d.status, this.signedLo());
      return;
    }
    this.expect('status', d.status, 0);
    let op = -1;
    for (let i = 0; i < OP_CODES.length; i++) if (OP_CODES[i] === this.word) op = i;
    this.expect('op', d.op, op);
    let os = -1;
    let ms = -1;
    let as = -1;
    let seg = SEG_DS;
    let base = -1;
    let index = -1;
    let scale = 1;
    let dispHi = 0;
    let dispLo = 0;
    let hasImm = false;
    let immHi = 0;
    let immLo = 0;
    let reg = -1;
    let len = -1;
    let rip = false;
    let rep = false;
    let repne = false;
    let lock = false;
    for (;;) {
      this.skipSpaces();
      if (this.at >= this.end) break;
      this.readWord();
      const key = this.word;
      if (key === K_RIP) rip = true;
      else if (key === K_REP) rep = true;
      else if (key === K_REPNE) repne = true;
      else if (key === K_LOCK) lock = true;
      else if (key === K_SEG) seg = this.readName(SEG_CODES);
      else if (key === K_BASE) base = this.readName(GPR_CODES);
      else if (key === K_IDX) index = this.readName(GPR_CODES);
      else if (key === K_REG) reg = this.readSmall();
      else if (key === K_LEN) len = this.readSmall();
      else {
        this.readNumber();
        if (key === K_OS) os = this.numLo;
        else if (key === K_AS) as = this.numLo;
        else if (key === K_MS) ms = this.numLo;
        else if (key === K_SC) scale = this.numLo;
        else if (key === K_DISP) {
          dispHi = this.numHi;
          dispLo = this.numLo;
        } else if (key === K_IMM) {
          hasImm = true;
          immHi = this.numHi;
          immLo = this.numLo;
        } else {
          this.note(' unknown key');
        }
      }
    }
    if (d.status !== 0) return;
    this.expect('os', d.opSize, os);
    this.expect('as', d.addrSize, as);
    this.expect('ms', d.memSize, ms < 0 ? os : ms);
    this.expect('seg', d.segment, seg);
    this.expect('base', d.mem.base, base);
    this.expect('idx', d.mem.index, index);
    this.expect('sc', d.mem.scale, scale);
    this.expect('dispHi', d.mem.dispHi, dispHi);
    this.expect('dispLo', d.mem.dispLo, dispLo);
    this.expect('hasImm', d.hasImm ? 1 : 0, hasImm ? 1 : 0);
    this.expect('immHi', d.immHi, immHi);
    this.expect('immLo', d.immLo, immLo);
    this.expect('reg', d.regOperand, reg);
    this.expect('len', d.instLen, len);
    this.expect('rip', d.mem.ripRel ? 1 : 0, rip ? 1 : 0);
    this.expect('rep', d.rep ? 1 : 0, rep ? 1 : 0);
    this.expect('repne', d.repne ? 1 : 0, repne ? 1 : 0);
    this.expect('lock', d.lock ? 1 : 0, lock ? 1 : 0);
  }

  // ---- emulation ------------------------------------------------------------------

  private checkEmulation(): void {
    const regs = this.regs;
    const mmio = this.mmio;
    regs.clearAll();
    mmio.clearAll();
    this.wantMem.fill(0);
    this.wantMemSet.fill(0);
    this.parseState(3, false);
    for (let i = 0; i < 16; i++) {
      this.wantLo[i] = regs.lo[i];
      this.wantHi[i] = regs.hi[i];
    }
    this.wantFlags = regs.flagsValue;
    this.wantRet = 0;
    this.wantRead = 0;
    this.wantWrite = 0;
    this.wantWriteHi = 0;
    this.wantWriteLo = 0;
    this.wantEa = false;
    this.wantLin = false;
    this.parseState(4, true);
    const emu = this.emu;
    if (this.wantEa) {
      const lo = emu.effectiveAddress(regs, this.dec);
      this.expect64('ea', emu.eaHi, lo, this.wantEaHi, this.wantEaLo);
    }
    if (this.wantLin) {
      const lo = emu.linearAddress(regs, this.dec);
      this.expect64('lin', emu.linHi, lo, this.wantLinHi, this.wantLinLo);
    }
    const ret = emu.emulate(regs, this.dec, mmio);
    this.expect('ret', ret, this.wantRet);
    this.expect('reads', mmio.reads, this.wantRead === 0 ? 0 : 1);
    if (this.wantRead !== 0) this.expect('readSize', mmio.readSize, this.wantRead);
    this.expect('writes', mmio.writes, this.wantWrite === 0 ? 0 : 1);
    if (this.wantWrite !== 0 && mmio.writes === 1) {
      this.expect('writeSize', mmio.writeSize, this.wantWrite);
      this.expect64('written', mmio.writeHi, mmio.writeLo, this.wantWriteHi, this.wantWriteLo);
    }
    for (let i = 0; i < 16; i++) this.expect64(GPR_NAMES[i], regs.hi[i], regs.lo[i], this.wantHi[i], this.wantLo[i]);
    this.expect('rflags', regs.flagsValue, this.wantFlags);
    for (let i = 0; i < REGIONS * REGION_BYTES; i++) {
      if (this.wantMemSet[i] !== 0) this.expect('memory', mmio.memory[i], this.wantMem[i]);
    }
  }

  /** SETUP (state = false: set the initial state) or EXPECT (true: record expectations). */
  private parseState(section: number, expecting: boolean): void {
    const regs = this.regs;
    const mmio = this.mmio;
    this.enter(section);
    for (;;) {
      this.skipSpaces();
      if (this.at >= this.end) break;
      this.readWord();
      const key = this.word;
      let gpr = -1;
      for (let i = 0; i < 16; i++) if (GPR_CODES[i] === key) gpr = i;
      let segBase = -1;
      for (let i = 0; i < 6; i++) if (SEG_BASE_CODES[i] === key) segBase = i;
      if (key === K_FL) {
        const flags = this.readFlags();
        if (expecting) this.wantFlags = flags;
        else regs.flagsValue = flags;
      } else if (key === K_MMIO) {
        this.readWord();
        mmio.mmioIsDest = true;
      } else if (key === K_M) {
        this.readMemory(expecting);
      } else if (key === K_WR) {
        this.wantWrite = this.readSmall();
        this.at++; // ':'
        this.readNumber();
        this.wantWriteHi = this.numHi;
        this.wantWriteLo = this.numLo;
      } else {
        this.readNumber();
        const h = this.numHi;
        const l = this.numLo;
        if (gpr >= 0) {
          if (expecting) {
            this.wantHi[gpr] = h;
            this.wantLo[gpr] = l;
          } else {
            regs.setReg(gpr, h, l);
          }
        } else if (segBase >= 0) {
          regs.baseHi[segBase] = h;
          regs.baseLo[segBase] = l;
        } else if (key === K_RIP) {
          regs.ripHiValue = h;
          regs.ripLoValue = l;
        } else if (key === K_IN) {
          mmio.inHi = h;
          mmio.inLo = l;
        } else if (key === K_RET) {
          this.wantRet = this.signedLo();
        } else if (key === K_RD) {
          this.wantRead = l;
        } else if (key === K_EA) {
          this.wantEa = true;
          this.wantEaHi = h;
          this.wantEaLo = l;
        } else if (key === K_LIN) {
          this.wantLin = true;
          this.wantLinHi = h;
          this.wantLinLo = l;
        } else {
          this.note(' unknown key');
        }
      }
    }
  }

  /** m=<linear>:<bytes>: define a guest-memory region (SETUP) or expect its bytes (EXPECT). */
  private readMemory(expecting: boolean): void {
    const mmio = this.mmio;
    this.readNumber();
    const baseHi = this.numHi;
    const baseLo = this.numLo;
    this.at++; // ':'
    let region = -1;
    if (!expecting) {
      for (let r = REGIONS - 1; r >= 0; r--) if (mmio.regionUsed[r] === 0) region = r;
      if (region < 0) {
        this.note(' too many regions');
        return;
      }
      mmio.regionUsed[region] = 1;
      mmio.regionHi[region] = baseHi;
      mmio.regionLo[region] = baseLo;
    }
    let n = 0;
    while (this.at + 1 < this.end && ivHexDigit(this.text.charCodeAt(this.at)) >= 0 && n < REGION_BYTES) {
      const v = ivHexDigit(this.text.charCodeAt(this.at)) * 16 + ivHexDigit(this.text.charCodeAt(this.at + 1));
      this.at += 2;
      if (expecting) {
        const slot = mmio.slot(baseHi, baseLo + n);
        if (slot < 0) {
          this.note(' expected memory outside the regions');
        } else {
          this.wantMem[slot] = v & 0xff;
          this.wantMemSet[slot] = 1;
        }
      } else {
        mmio.memory[region * REGION_BYTES + n] = v & 0xff;
      }
      n++;
    }
    if (!expecting) mmio.regionSize[region] = n & 0xff;
  }

  // ---- lexer ----------------------------------------------------------------------

  private splitSections(): void {
    const text = this.text;
    let n = 0;
    let start = 0;
    for (let i = 0; i <= text.length && n < 6; i++) {
      if (i === text.length || text.charCodeAt(i) === CH_BAR) {
        this.sectionStart[n] = start;
        this.sectionEnd[n] = i;
        n++;
        start = i + 1;
      }
    }
    this.sections = n;
  }

  private enter(section: number): void {
    this.at = this.sectionStart[section];
    this.end = this.sectionEnd[section];
  }

  private skipSpaces(): void {
    while (this.at < this.end && this.text.charCodeAt(this.at) === CH_SPACE) this.at++;
  }

  /** A word up to a space, '=' or the section end (the '=' is consumed). */
  private readWord(): void {
    let code = 0;
    let n = 0;
    while (this.at < this.end) {
      const ch = this.text.charCodeAt(this.at);
      if (ch === CH_SPACE) break;
      this.at++;
      if (ch === CH_EQ) break;
      if (n < 8) code = code * 40 + ivCharValue(ch);
      n++;
    }
    this.word = code;
  }

  /** A name from `codes` (its index), or -1 ("-" or unknown). */
  private readName(codes: Float64Array): number {
    this.readWord();
    for (let i = 0; i < codes.length; i++) if (codes[i] === this.word) return i;
    return -1;
  }

  /** A small decimal number, or -1 for "-". */
  private readSmall(): number {
    if (this.at < this.end && this.text.charCodeAt(this.at) === CH_MINUS) {
      this.at++;
      return -1;
    }
    let v = 0;
    while (this.at < this.end) {
      const ch = this.text.charCodeAt(this.at);
      if (ch < 48 || ch > 57) break;
      v = v * 10 + ch - 48;
      this.at++;
    }
    return v;
  }

  /** A hex number (a leading "-" negates it in 64 bits) into numHi:numLo. */
  private readNumber(): void {
    let negative = false;
    if (this.at < this.end && this.text.charCodeAt(this.at) === CH_MINUS) {
      negative = true;
      this.at++;
    }
    let hiHalf = 0;
    let lo = 0;
    while (this.at < this.end) {
      const d = ivHexDigit(this.text.charCodeAt(this.at));
      if (d < 0) break;
      this.at++;
      hiHalf = (hiHalf * 16 + Math.floor(lo / 0x10000000)) % TWO_POW_32;
      lo = (lo % 0x10000000) * 16 + d;
    }
    if (negative) {
      // two's complement: ~x + 1
      lo = TWO_POW_32 - lo;
      hiHalf = TWO_POW_32 - 1 - hiHalf;
      if (lo === TWO_POW_32) {
        lo = 0;
        hiHalf = hiHalf === TWO_POW_32 - 1 ? 0 : hiHalf + 1;
      }
    }
    this.numHi = hiHalf;
    this.numLo = lo;
  }

  /** numHi:numLo as a signed number (for small negative codes). */
  private signedLo(): number {
    return this.numHi === 0 ? this.numLo : this.numLo - TWO_POW_32;
  }

  /** RFLAGS from letters ("-": none); bit 1 is always set. */
  private readFlags(): number {
    let flags = 2;
    while (this.at < this.end) {
      const ch = this.text.charCodeAt(this.at);
      if (ch === CH_SPACE) break;
      this.at++;
      for (let i = 0; i < FLAG_BITS.length; i++) if (FLAG_LETTERS.charCodeAt(i) === ch) flags |= FLAG_BITS[i];
    }
    return flags;
  }

  private parseMode(): void {
    this.enter(0);
    this.skipSpaces();
    this.readWord();
    const w = this.word;
    this.mode = w === K_64 ? 64 : w === K_32 || w === K_P16 ? 32 : 16;
    this.csD = w === K_32 || w === K_R32;
    if (w !== K_64 && w !== K_32 && w !== K_16 && w !== K_P16 && w !== K_R32) this.note(' bad mode');
  }

  private parseBytes(): void {
    this.enter(1);
    let n = 0;
    for (;;) {
      this.skipSpaces();
      if (this.at + 1 >= this.end || n >= this.bytes.length) break;
      const v = ivHexDigit(this.text.charCodeAt(this.at)) * 16 + ivHexDigit(this.text.charCodeAt(this.at + 1));
      this.bytes[n] = v & 0xff;
      n++;
      this.at += 2;
    }
    this.byteCount = n;
  }

  // ---- reporting ------------------------------------------------------------------

  private note(text: string): void {
    this.misses++;
    (this.out as Logger).str(text);
  }

  private expect(name: string, got: number, want: number): void {
    if (got === want) return;
    const out = this.out as Logger;
    this.misses++;
    out.char(CH_SPACE);
    out.str(name);
    out.char(CH_EQ);
    if (got < 0) out.char(CH_MINUS);
    out.hex(got < 0 ? -got : got);
    out.str(" want ");
    if (want < 0) out.char(CH_MINUS);
    out.hex(want < 0 ? -want : want);
  }

  private expect64(name: string, gotHi: number, gotLo: number, wantHi: number, wantLo: number): void {
    if (gotHi === wantHi && gotLo === wantLo) return;
    const out = this.out as Logger;
    this.misses++;
    out.char(CH_SPACE);
    out.str(name);
    out.char(CH_EQ);
    out.hex64(gotHi, gotLo);
    out.str(' want ');
    out.hex64(wantHi, wantLo);
  }
}

// ---- random byte sequences --------------------------------------------------------

const FUZZ_PREFIXES = [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x40, 0x41, 0x42, 0x44, 0x48, 0x4c, 0x4f];
const FUZZ_OPCODES = [
  0x08, 0x09, 0x0a, 0x0b, 0x20, 0x21, 0x22, 0x23, 0x28, 0x29, 0x2a, 0x2b, 0x30, 0x31, 0x32, 0x33, 0x38, 0x39, 0x3a, 0x3b,
  0x63, 0x80, 0x81, 0x83, 0x84, 0x85, 0x88, 0x89, 0x8a, 0x8b, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xaa, 0xab, 0xc6, 0xc7,
  0xf6, 0xf7, 0x0f, 0x0f, 0x0f, 0x0f,
];
const FUZZ_TWO_BYTE = [0xa3, 0xb6, 0xb7, 0xba, 0xbe, 0xbf, 0xa3, 0xab];

/**
 * Deterministic random instructions (xorshift32): a third fully random bytes,
 * the rest random prefixes, a supported opcode and random operand bytes. Each
 * is decoded and, when it decodes, emulated against random registers; every
 * result is folded into a checksum that Node and the native build must agree on.
 */
export class InstrFuzz {
  readonly dec = new InstrDecoder();
  readonly emu = new InstrEmulator();
  readonly regs = new VecRegs();
  readonly mmio = new VecMmio();
  readonly bytes = new Uint8Array(16);
  state = 0x2545f491;
  sum = 0;
  decoded = 0;
  emulated = 0;
  /** Results by status (index -status) and the number of decodes that broke an invariant. */
  readonly statusCounts = new Float64Array(8);
  broken = 0;

  nextRandom(): number {
    let x = this.state;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    this.state = x;
    return x;
  }

  private fold(v: number): void {
    this.sum = (this.sum * 31 + ((v + 64) >>> 0)) % 4294967291;
  }

  /** Generate, decode and emulate `count` sequences. */
  runMany(count: number): void {
    for (let i = 0; i < count; i++) this.runOne();
  }

  runOne(): void {
    const bytes = this.bytes;
    const kind = this.nextRandom() % 3;
    let n = 0;
    if (kind !== 0) {
      // mostly a few prefixes, sometimes enough to pass the 15-byte limit
      const prefixes = (this.nextRandom() & 15) === 0 ? 8 + (this.nextRandom() % 6) : this.nextRandom() % 5;
      for (let p = 0; p < prefixes; p++) {
        bytes[n] = FUZZ_PREFIXES[this.nextRandom() % FUZZ_PREFIXES.length] & 0xff;
        n++;
      }
      const opcode = FUZZ_OPCODES[this.nextRandom() % FUZZ_OPCODES.length];
      bytes[n] = opcode & 0xff;
      n++;
      if (opcode === 0x0f) {
        bytes[n] = FUZZ_TWO_BYTE[this.nextRandom() % FUZZ_TWO_BYTE.length] & 0xff;
        n++;
      }
      let modrm = this.nextRandom() & 0xff;
      if (modrm >= 0xc0 && (this.nextRandom() & 3) !== 0) modrm &= 0xbf;
      if (n < 16) {
        bytes[n] = modrm;
        n++;
      }
    }
    while (n < 16) {
      bytes[n] = this.nextRandom() & 0xff;
      n++;
    }
    const count = kind === 0 ? 1 + (this.nextRandom() % 15) : 1 + (this.nextRandom() % 16);
    const modeSel = this.nextRandom() % 3;
    const mode = modeSel === 0 ? 16 : modeSel === 1 ? 32 : 64;
    const csD = (this.nextRandom() & 1) !== 0;
    const d = this.dec;
    const status = d.decode(bytes, count, mode, csD);
    const slot = -status;
    if (slot >= 0 && slot < 8) this.statusCounts[slot] += 1;
    this.fold(status);
    this.fold(d.op);
    if (status !== 0) {
      if (d.op !== 0) this.broken++;
      return;
    }
    this.decoded++;
    if (d.instLen < 1 || d.instLen > count || d.instLen > 15 || d.op <= 0 || d.op >= OP_NAMES.length) this.broken++;
    if (d.opSize !== 1 && d.opSize !== 2 && d.opSize !== 4 && d.opSize !== 8) this.broken++;
    this.fold(d.opSize);
    this.fold(d.memSize);
    this.fold(d.addrSize);
    this.fold(d.segment);
    this.fold(d.instLen);
    this.fold(d.regOperand);
    this.fold(d.mem.base);
    this.fold(d.mem.index);
    this.fold(d.mem.scale);
    this.fold(d.mem.dispHi);
    this.fold(d.mem.dispLo);
    this.fold(d.immHi);
    this.fold(d.immLo);
    this.fold(d.mem.ripRel ? 1 : 0);
    this.fold((d.rep ? 1 : 0) + (d.repne ? 2 : 0) + (d.lock ? 4 : 0) + (d.regDest ? 8 : 0));
    this.fold(d.rex);
    this.emulateRandom();
  }

  private emulateRandom(): void {
    const regs = this.regs;
    const mmio = this.mmio;
    const emu = this.emu;
    regs.clearAll();
    mmio.clearAll();
    mmio.openMemory = true;
    for (let r = 0; r < 16; r++) {
      const h = this.nextRandom();
      const sel = this.nextRandom() & 3;
      // small counts and pointers often, so REP forms finish and addresses stay canonical
      regs.setReg(r, sel === 0 ? 0 : sel === 1 ? 0xffffffff : h & 0x7fff, sel === 3 ? this.nextRandom() & 7 : this.nextRandom());
    }
    for (let s = 0; s < 6; s++) {
      regs.baseLo[s] = this.nextRandom() >>> 0;
      regs.baseHi[s] = (this.nextRandom() & 1) === 0 ? 0 : 0xffff8000;
    }
    regs.ripLoValue = this.nextRandom() >>> 0;
    regs.ripHiValue = this.nextRandom() & 0x7fff;
    regs.flagsValue = ((this.nextRandom() & 0xcd5) | 2) >>> 0;
    mmio.inLo = this.nextRandom() >>> 0;
    mmio.inHi = this.nextRandom() >>> 0;
    mmio.mmioIsDest = (this.nextRandom() & 1) !== 0;
    const eaLo = emu.effectiveAddress(regs, this.dec);
    this.fold(eaLo);
    this.fold(emu.eaHi);
    const linLo = emu.linearAddress(regs, this.dec);
    this.fold(linLo);
    this.fold(emu.linHi);
    const ret = emu.emulate(regs, this.dec, mmio);
    this.emulated++;
    this.fold(ret);
    for (let r = 0; r < 16; r++) {
      this.fold(regs.lo[r]);
      this.fold(regs.hi[r]);
    }
    this.fold(regs.flagsValue);
    this.fold(mmio.reads * 16 + mmio.readSize);
    this.fold(mmio.writes * 16 + mmio.writeSize);
    this.fold(mmio.writeHi);
    this.fold(mmio.writeLo);
    this.fold(mmio.guestWrites);
    this.fold(mmio.guestWriteHi);
    this.fold(mmio.guestWriteLo);
    this.fold(emu.siDelta);
    this.fold(emu.diDelta);
    this.fold(emu.countDelta);
    this.fold(emu.countLeft ? 1 : 0);
  }
}

// ---- the vectors -------------------------------------------------------------------

// Generated from asm with nasm (bytes), checked against objdump; see the header.
export const INSTR_VECTORS: string[] = [
  // MOV loads, 64-bit mode: addressing forms (SDM Vol. 2A Tables 2-2, 2-3)
  '64 | 8b 05 10 00 00 00 | mov os=4 as=8 seg=ds disp=10 reg=0 rip len=6 | rip=ffffffff80001000 rax=ffffffffffffffff in=12345678 | ea=ffffffff80001016 lin=ffffffff80001016 rd=4 rax=12345678', // mov eax, [rip+0x10] RIP-relative; 32-bit write clears 63:32
  '64 | 48 8b 05 e0 ff ff ff | mov os=8 as=8 seg=ds disp=-20 reg=0 rip len=7 | rip=7000 in=8000000000000001 | ea=6fe7 lin=6fe7 rd=8 rax=8000000000000001', // mov rax, [rip-0x20]
  '64 | 48 8b 03 | mov os=8 as=8 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 in=fedcba9876543210 | ea=fee00000 lin=fee00000 rd=8 rax=fedcba9876543210', // mov rax, [rbx]
  '64 | 8b 4c b3 10 | mov os=4 as=8 seg=ds base=rbx idx=rsi sc=4 disp=10 reg=1 len=4 | rbx=1000 rsi=2 rcx=ffffffffffffffff in=89abcdef | ea=1018 lin=1018 rd=4 rcx=89abcdef', // mov ecx, [rbx+rsi*4+0x10]
  '64 | 47 8b 4c ec c0 | mov os=4 as=8 seg=ds base=r12 idx=r13 sc=8 disp=-40 reg=9 len=5 | r12=fed00000 r13=10 r9=1111111111111111 in=cafef00d | ea=fed00040 lin=fed00040 rd=4 r9=cafef00d', // mov r9d, [r12+r13*8-0x40]
  '64 | 4d 8b 7d 00 | mov os=8 as=8 seg=ds base=r13 reg=15 len=4 | r13=fed00040 in=0102030405060708 | ea=fed00040 lin=fed00040 rd=8 r15=102030405060708', // mov r15, [r13] mod=01 disp8 0: r13 needs a displacement
  '64 | 41 8b 04 24 | mov os=4 as=8 seg=ds base=r12 reg=0 len=4 | r12=fec00000 in=1 | ea=fec00000 lin=fec00000 rd=4 rax=1', // mov eax, [r12] r12 as base needs a SIB byte
  '64 | 8b 44 24 08 | mov os=4 as=8 seg=ss base=rsp disp=8 reg=0 len=4 | rsp=7ff0 in=5 | ea=7ff8 lin=7ff8 rd=4 rax=5', // mov eax, [rsp+8] base rsp: SS
  '64 | 8b 55 fc | mov os=4 as=8 seg=ss base=rbp disp=-4 reg=2 len=3 | rbp=8000 rdx=1234 in=ffffffff | ea=7ffc lin=7ffc rd=4 rdx=ffffffff', // mov edx, [rbp-4] base rbp: SS
  '64 | 64 8b 10 | mov os=4 as=8 seg=fs base=rax reg=2 len=3 | rax=10 fsb=ffff800000000000 in=77 | ea=10 lin=ffff800000000010 rd=4 rdx=77', // mov edx, [fs:rax]
  '64 | 65 8b 04 25 28 00 00 00 | mov os=4 as=8 seg=gs disp=28 reg=0 len=8 | gsb=7f0000001000 in=abcd | ea=28 lin=7f0000001028 rd=4 rax=abcd', // mov eax, [gs:0x28] SIB without base or index
  '64 | 8b 04 25 00 10 00 00 | mov os=4 as=8 seg=ds disp=1000 reg=0 len=7 | in=42 | ea=1000 lin=1000 rd=4 rax=42', // mov eax, [abs 0x1000]
  '64 | 8b 34 45 08 00 00 00 | mov os=4 as=8 seg=ds idx=rax sc=2 disp=8 reg=6 len=7 | rax=800 in=9 | ea=1008 lin=1008 rd=4 rsi=9', // mov esi, [nosplit rax*2+0x8] index without base
  '64 | 8b 3c 03 | mov os=4 as=8 seg=ds base=rbx idx=rax reg=7 len=3 | rbx=fee00000 rax=300 in=55aa55aa | ea=fee00300 lin=fee00300 rd=4 rdi=55aa55aa', // mov edi, [rbx+rax]
  '64 | 4c 8b 84 d1 ff ff ff 7f | mov os=8 as=8 seg=ds base=rcx idx=rdx sc=8 disp=7fffffff reg=8 len=8 | rcx=100000000 rdx=1 in=ffffffffffffffff | ea=180000007 lin=180000007 rd=8 r8=ffffffffffffffff', // mov r8, [rcx+rdx*8+0x7fffffff]
  '64 | 44 8b 97 00 00 00 80 | mov os=4 as=8 seg=ds base=rdi disp=-80000000 reg=10 len=7 | rdi=1fee00000 in=1 | ea=17ee00000 lin=17ee00000 rd=4 r10=1', // mov r10d, [rdi-0x80000000]
  '64 | 43 8b 9c 48 78 56 34 12 | mov os=4 as=8 seg=ds base=r8 idx=r9 sc=2 disp=12345678 reg=3 len=8 | r8=1 r9=2 in=2 | ea=1234567d lin=1234567d rd=4 rbx=2', // mov ebx, [r8+r9*2+0x12345678]
  '64 | 42 8b 04 20 | mov os=4 as=8 seg=ds base=rax idx=r12 reg=0 len=4 | rax=1000 r12=fff in=3 | ea=1fff lin=1fff rd=4 rax=3', // mov eax, [rax+r12*1] index r12 (REX.X)
  '64 | 47 8b 1c be | mov os=4 as=8 seg=ds base=r14 idx=r15 sc=4 reg=11 len=4 | r14=fee00000 r15=8 in=4 | ea=fee00020 lin=fee00020 rd=4 r11=4', // mov r11d, [r14+r15*4]
  '64 | 66 8b 07 | mov os=2 as=8 seg=ds base=rdi reg=0 len=3 | rdi=fee00300 rax=1122334455667788 in=abcd | rd=2 rax=112233445566abcd', // mov ax, [rdi] 16-bit write merges
  '64 | 66 44 8b 4e 02 | mov os=2 as=8 seg=ds base=rsi disp=2 reg=9 len=5 | rsi=fee00300 r9=ffffffffffffffff in=1 | rd=2 r9=ffffffffffff0001', // mov r9w, [rsi+2] 16-bit merge into r9
  '64 | 8a 06 | mov os=1 as=8 seg=ds base=rsi reg=0 len=2 | rsi=fee00000 rax=1122334455667788 in=99 | rd=1 rax=1122334455667799', // mov al, [rsi] AL
  '64 | 8a 26 | mov os=1 as=8 seg=ds base=rsi reg=4 len=2 | rsi=fee00000 rax=1122334455667788 in=99 | rd=1 rax=1122334455669988', // mov ah, [rsi] AH without REX: bits 15:8 of RAX
  '64 | 8a 2e | mov os=1 as=8 seg=ds base=rsi reg=5 len=2 | rsi=fee00000 rcx=ffffffffffffffff in=0 | rd=1 rcx=ffffffffffff00ff', // mov ch, [rsi] CH
  '64 | 8a 32 | mov os=1 as=8 seg=ds base=rdx reg=6 len=2 | rdx=fee00000 in=5a | rd=1 rdx=fee05a00', // mov dh, [rdx] DH from [rdx] writes the base register's bits 15:8
  '64 | 8a 7b 01 | mov os=1 as=8 seg=ds base=rbx disp=1 reg=7 len=3 | rbx=fee00000 in=80 | rd=1 rbx=fee08000', // mov bh, [rbx+1]
  '64 | 40 8a 26 | mov os=1 as=8 seg=ds base=rsi reg=4 len=3 | rsi=fee00000 rsp=7ff0 in=aa | rd=1 rsp=7faa', // mov spl, [rsi] REX 40: SPL, not AH
  '64 | 40 8a 2e | mov os=1 as=8 seg=ds base=rsi reg=5 len=3 | rsi=fee00000 rbp=1234 in=bb | rd=1 rbp=12bb', // mov bpl, [rsi]
  '64 | 40 8a 37 | mov os=1 as=8 seg=ds base=rdi reg=6 len=3 | rdi=fee00000 rsi=ffff in=cc | rd=1 rsi=ffcc', // mov sil, [rdi]
  '64 | 40 8a 3e | mov os=1 as=8 seg=ds base=rsi reg=7 len=3 | rsi=fee00000 rdi=1111 in=dd | rd=1 rdi=11dd', // mov dil, [rsi]
  '64 | 44 8a 16 | mov os=1 as=8 seg=ds base=rsi reg=10 len=3 | rsi=fee00000 r10=ffffffffffffffff in=0 | rd=1 r10=ffffffffffffff00', // mov r10b, [rsi]
  '64 | 45 8a 3f | mov os=1 as=8 seg=ds base=r15 reg=15 len=3 | r15=fee00010 in=7f | rd=1 r15=fee0007f', // mov r15b, [r15]
  '64 | 48 a1 20 00 e0 fe 00 00 00 00 | mov os=8 as=8 seg=ds disp=fee00020 reg=0 len=10 | in=123456789abcdef0 | ea=fee00020 lin=fee00020 rd=8 rax=123456789abcdef0', // mov rax, [abs qword 0xfee00020] A1 moffs64
  '64 | a0 10 00 00 00 00 00 d0 fe | mov os=1 as=8 seg=ds disp=fed0000000000010 reg=0 len=9 | in=fe | rd=1 rax=fe', // mov al, [abs qword 0xfed0000000000010] A0 moffs64
  '64 | a1 f0 00 e0 fe 00 00 00 00 | mov os=4 as=8 seg=ds disp=fee000f0 reg=0 len=9 | rax=ffffffffffffffff in=5 | rd=4 rax=5', // mov eax, [abs qword 0xfee000f0]
  '64 | 66 a1 f0 00 e0 fe 00 00 00 00 | mov os=2 as=8 seg=ds disp=fee000f0 reg=0 len=10 | in=5 | rd=2 rax=5', // mov ax, [abs qword 0xfee000f0]
  '64 | 67 8b 03 | mov os=4 as=4 seg=ds base=rbx reg=0 len=3 | rbx=ffffffff00001000 in=6 | ea=1000 lin=1000 rd=4 rax=6', // mov eax, [ebx] 67: 32-bit address
  '64 | 67 8b 44 73 f0 | mov os=4 as=4 seg=ds base=rbx idx=rsi sc=2 disp=-10 reg=0 len=5 | rbx=ffffffff00001000 rsi=8 in=7 | ea=1000 lin=1000 rd=4 rax=7', // mov eax, [ebx+esi*2-0x10]
  '64 | 67 8b 05 20 00 00 00 | mov os=4 as=4 seg=ds disp=20 reg=0 rip len=7 | rip=100001000 in=8 | ea=1027 lin=1027 rd=4 rax=8', // mov eax, [eip+0x20] 67: EIP-relative
  '64 | 67 49 8b 48 10 | mov os=8 as=4 seg=ds base=r8 disp=10 reg=1 len=5 | r8=ffffffff00002000 in=9 | ea=2010 lin=2010 rd=8 rcx=9', // mov rcx, [r8d+0x10]
  // MOV stores, 64-bit mode
  '64 | 89 03 | mov os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=1122334455667788 | wr=4:55667788', // mov [rbx], eax
  '64 | 48 89 03 | mov os=8 as=8 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=1122334455667788 | wr=8:1122334455667788', // mov [rbx], rax
  '64 | 66 89 03 | mov os=2 as=8 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=1122334455667788 | wr=2:7788', // mov [rbx], ax
  '64 | 88 07 | mov os=1 as=8 seg=ds base=rdi reg=0 len=2 | rdi=fee00000 rax=1122334455667788 | wr=1:88', // mov [rdi], al
  '64 | 88 27 | mov os=1 as=8 seg=ds base=rdi reg=4 len=2 | rdi=fee00000 rax=1122334455667788 | wr=1:77', // mov [rdi], ah
  '64 | 88 3f | mov os=1 as=8 seg=ds base=rdi reg=7 len=2 | rdi=fee00000 rbx=fedc | wr=1:fe', // mov [rdi], bh
  '64 | 40 88 36 | mov os=1 as=8 seg=ds base=rsi reg=6 len=3 | rsi=fee00042 | wr=1:42', // mov [rsi], sil
  '64 | 40 88 3e | mov os=1 as=8 seg=ds base=rsi reg=7 len=3 | rsi=fee00000 rdi=1234 | wr=1:34', // mov [rsi], dil
  '64 | 44 88 00 | mov os=1 as=8 seg=ds base=rax reg=8 len=3 | rax=fee00000 r8=ff01 | wr=1:1', // mov [rax], r8b
  '64 | 4c 89 34 c8 | mov os=8 as=8 seg=ds base=rax idx=rcx sc=8 reg=14 len=4 | rax=fee00000 rcx=2 r14=8000000000000000 | ea=fee00010 lin=fee00010 wr=8:8000000000000000', // mov [rax+rcx*8], r14
  '64 | 44 89 6d 10 | mov os=4 as=8 seg=ss base=rbp disp=10 reg=13 len=4 | rbp=fee00000 r13=ffffffffdeadbeef | wr=4:deadbeef', // mov [rbp+0x10], r13d
  '64 | 64 66 44 89 0c 25 10 00 00 00 | mov os=2 as=8 seg=fs disp=10 reg=9 len=10 | r9=abcd1234 | wr=2:1234', // mov [fs:0x10], r9w
  '64 | 89 0d 00 01 00 00 | mov os=4 as=8 seg=ds disp=100 reg=1 rip len=6 | rip=401000 rcx=c0ffee | ea=401106 lin=401106 wr=4:c0ffee', // mov [rip+0x100], ecx
  '64 | c7 03 78 56 34 12 | mov os=4 as=8 seg=ds base=rbx imm=12345678 reg=- len=6 | rbx=fee00000 | wr=4:12345678', // mov dword [rbx], 0x12345678
  '64 | 48 c7 03 ff ff ff ff | mov os=8 as=8 seg=ds base=rbx imm=ffffffffffffffff reg=- len=7 | rbx=fee00000 | wr=8:ffffffffffffffff', // mov qword [rbx], -1 imm32 sign-extended to 64
  '64 | 48 c7 43 08 ff ff ff 7f | mov os=8 as=8 seg=ds base=rbx disp=8 imm=7fffffff reg=- len=8 | rbx=fee00000 | wr=8:7fffffff', // mov qword [rbx+8], 0x7fffffff
  '64 | 48 c7 03 00 00 00 80 | mov os=8 as=8 seg=ds base=rbx imm=ffffffff80000000 reg=- len=7 | rbx=fee00000 | wr=8:ffffffff80000000', // mov qword [rbx], -0x80000000
  '64 | 66 c7 03 cd ab | mov os=2 as=8 seg=ds base=rbx imm=abcd reg=- len=5 | rbx=fee00000 | wr=2:abcd', // mov word [rbx], 0xabcd
  '64 | c6 03 7f | mov os=1 as=8 seg=ds base=rbx imm=7f reg=- len=3 | rbx=fee00000 | wr=1:7f', // mov byte [rbx], 0x7f
  '64 | c6 04 0b 80 | mov os=1 as=8 seg=ds base=rbx idx=rcx imm=80 reg=- len=4 | rbx=fee00000 rcx=3 | wr=1:80', // mov byte [rbx+rcx], 0x80
  '64 | c7 05 40 00 00 00 01 00 00 00 | mov os=4 as=8 seg=ds disp=40 imm=1 reg=- rip len=10 | rip=1000 | ea=104a lin=104a wr=4:1', // mov dword [rip+0x40], 1 RIP-relative with an immediate: RIP of the next instruction
  '64 | 66 41 c7 44 24 20 fe ff | mov os=2 as=8 seg=ds base=r12 disp=20 imm=fffe reg=- len=8 | r12=fee00000 | wr=2:fffe', // mov word [r12+0x20], -2
  '64 | a3 20 00 e0 fe 00 00 00 00 | mov os=4 as=8 seg=ds disp=fee00020 reg=0 len=9 | rax=ffffffff00000001 | wr=4:1', // mov [abs qword 0xfee00020], eax A3 moffs64
  '64 | 48 a3 20 00 e0 fe 00 00 00 00 | mov os=8 as=8 seg=ds disp=fee00020 reg=0 len=10 | rax=ffffffff00000001 | wr=8:ffffffff00000001', // mov [abs qword 0xfee00020], rax
  '64 | a2 20 00 e0 fe 00 00 00 00 | mov os=1 as=8 seg=ds disp=fee00020 reg=0 len=9 | rax=ab | wr=1:ab', // mov [abs qword 0xfee00020], al
  '64 | 66 a3 20 00 e0 fe 00 00 00 00 | mov os=2 as=8 seg=ds disp=fee00020 reg=0 len=10 | rax=abcd | wr=2:abcd', // mov [abs qword 0xfee00020], ax
  // MOVZX, MOVSX, MOVSXD
  '64 | 0f b6 03 | movzx os=4 as=8 ms=1 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=ffffffffffffffff in=80 | rd=1 rax=80', // movzx eax, byte [rbx]
  '64 | 0f b7 03 | movzx os=4 as=8 ms=2 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 in=ffff | rd=2 rax=ffff', // movzx eax, word [rbx]
  '64 | 48 0f b6 03 | movzx os=8 as=8 ms=1 seg=ds base=rbx reg=0 len=4 | rbx=fee00000 rax=ffffffffffffffff in=ff | rd=1 rax=ff', // movzx rax, byte [rbx]
  '64 | 48 0f b7 0b | movzx os=8 as=8 ms=2 seg=ds base=rbx reg=1 len=4 | rbx=fee00000 rcx=ffffffffffffffff in=8001 | rd=2 rcx=8001', // movzx rcx, word [rbx]
  '64 | 66 0f b6 03 | movzx os=2 as=8 ms=1 seg=ds base=rbx reg=0 len=4 | rbx=fee00000 rax=ffffffffffffffff in=80 | rd=1 rax=ffffffffffff0080', // movzx ax, byte [rbx] 16-bit destination merges
  '64 | 45 0f b7 18 | movzx os=4 as=8 ms=2 seg=ds base=r8 reg=11 len=4 | r8=fee00000 r11=ffffffffffffffff in=1234 | rd=2 r11=1234', // movzx r11d, word [r8]
  '64 | 0f b6 35 08 00 00 00 | movzx os=4 as=8 ms=1 seg=ds disp=8 reg=6 rip len=7 | rip=2000 in=12 | ea=200f lin=200f rd=1 rsi=12', // movzx esi, byte [rip+0x8]
  '64 | 0f be 03 | movsx os=4 as=8 ms=1 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 in=80 | rd=1 rax=ffffff80', // movsx eax, byte [rbx]
  '64 | 0f be 03 | movsx os=4 as=8 ms=1 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=ffffffffffffffff in=7f | rd=1 rax=7f', // movsx eax, byte [rbx]
  '64 | 48 0f bf 03 | movsx os=8 as=8 ms=2 seg=ds base=rbx reg=0 len=4 | rbx=fee00000 in=8000 | rd=2 rax=ffffffffffff8000', // movsx rax, word [rbx]
  '64 | 48 0f be 13 | movsx os=8 as=8 ms=1 seg=ds base=rbx reg=2 len=4 | rbx=fee00000 in=ff | rd=1 rdx=ffffffffffffffff', // movsx rdx, byte [rbx]
  '64 | 66 0f be 03 | movsx os=2 as=8 ms=1 seg=ds base=rbx reg=0 len=4 | rbx=fee00000 rax=1234567812345678 in=ff | rd=1 rax=123456781234ffff', // movsx ax, byte [rbx]
  '64 | 0f bf 0b | movsx os=4 as=8 ms=2 seg=ds base=rbx reg=1 len=3 | rbx=fee00000 rcx=ffffffffffffffff in=7fff | rd=2 rcx=7fff', // movsx ecx, word [rbx]
  '64 | 44 0f bf 67 04 | movsx os=4 as=8 ms=2 seg=ds base=rdi disp=4 reg=12 len=5 | rdi=fee00000 in=fffe | rd=2 r12=fffffffe', // movsx r12d, word [rdi+4]
  '64 | 48 63 03 | movsxd os=8 as=8 ms=4 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 in=80000000 | rd=4 rax=ffffffff80000000', // movsxd rax, dword [rbx]
  '64 | 48 63 03 | movsxd os=8 as=8 ms=4 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 in=7fffffff | rd=4 rax=7fffffff', // movsxd rax, dword [rbx]
  '64 | 4c 63 05 30 00 00 00 | movsxd os=8 as=8 ms=4 seg=ds disp=30 reg=8 rip len=7 | rip=5000 in=fffffffe | ea=5037 lin=5037 rd=4 r8=fffffffffffffffe', // movsxd r8, dword [rip+0x30]
  '64 | 4f 63 0c 9a | movsxd os=8 as=8 ms=4 seg=ds base=r10 idx=r11 sc=4 reg=9 len=4 | r10=fee00000 r11=1 in=1 | rd=4 r9=1', // movsxd r9, dword [r10+r11*4]
  // AND (20-23, 80/81/83 /4)
  '64 | 21 03 | and os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=ff00ff00 in=f0f0f0f0 fl=CO | rd=4 wr=4:f000f000 fl=PS', // and [rbx], eax
  '64 | 48 21 03 | and os=8 as=8 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=8000000000000000 in=ffffffffffffffff | rd=8 wr=8:8000000000000000 fl=PS', // and [rbx], rax
  '64 | 66 21 03 | and os=2 as=8 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=ff in=f00 fl=A | rd=2 wr=2:0 fl=PAZ', // and [rbx], ax result 0: ZF, PF; AF kept
  '64 | 20 03 | and os=1 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=81 in=ff | rd=1 wr=1:81 fl=PS', // and [rbx], al
  '64 | 20 23 | and os=1 as=8 seg=ds base=rbx reg=4 len=2 | rbx=fee00000 rax=f000 in=3c | rd=1 wr=1:30 fl=P', // and [rbx], ah
  '64 | 23 03 | and os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=ffffffffffffffff in=0f0f0f0f | rd=4 rax=f0f0f0f fl=P', // and eax, [rbx]
  '64 | 48 23 0b | and os=8 as=8 seg=ds base=rbx reg=1 len=3 | rbx=fee00000 rcx=ffffffff0000ffff in=ffff00ffff00ff00 | rd=8 rcx=ffff00ff0000ff00 fl=PS', // and rcx, [rbx]
  '64 | 66 23 13 | and os=2 as=8 seg=ds base=rbx reg=2 len=3 | rbx=fee00000 rdx=ffffffffffff8001 in=8000 | rd=2 rdx=ffffffffffff8000 fl=PS', // and dx, [rbx]
  '64 | 22 1e | and os=1 as=8 seg=ds base=rsi reg=3 len=2 | rsi=fee00000 rbx=ff in=3 | rd=1 rbx=3 fl=P', // and bl, [rsi]
  '64 | 83 23 fe | and os=4 as=8 seg=ds base=rbx imm=fffffffe reg=- len=3 | rbx=fee00000 in=1 fl=SZC | rd=4 wr=4:0 fl=PZ', // and dword [rbx], 0xfffffffe
  '64 | 48 81 23 00 ff ff ff | and os=8 as=8 seg=ds base=rbx imm=ffffffffffffff00 reg=- len=7 | rbx=fee00000 in=ffffffffffffffff | rd=8 wr=8:ffffffffffffff00 fl=PS', // and qword [rbx], -0x100
  '64 | 83 23 7f | and os=4 as=8 seg=ds base=rbx imm=7f reg=- len=3 | rbx=fee00000 in=ff | rd=4 wr=4:7f', // and dword [rbx], 0x7f
  '64 | 66 81 23 f0 7f | and os=2 as=8 seg=ds base=rbx imm=7ff0 reg=- len=5 | rbx=fee00000 in=ffff | rd=2 wr=2:7ff0 fl=P', // and word [rbx], 0x7ff0
  '64 | 80 23 c0 | and os=1 as=8 seg=ds base=rbx imm=c0 reg=- len=3 | rbx=fee00000 in=81 | rd=1 wr=1:80 fl=S', // and byte [rbx], 0xc0
  '64 | f0 81 23 00 00 ff ff | and os=4 as=8 seg=ds base=rbx imm=ffff0000 reg=- lock len=7 | rbx=fee00000 in=12345678 | rd=4 wr=4:12340000 fl=P', // lock and dword [rbx], 0xffff0000
  '64 | f0 21 4b 08 | and os=4 as=8 seg=ds base=rbx disp=8 reg=1 lock len=4 | rbx=fee00000 rcx=f0f0 in=ff00ff fl=A | rd=4 wr=4:f0 fl=PA', // lock and [rbx+8], ecx
  // OR (08-0B, 80/81/83 /1)
  '64 | 09 03 | or os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=80000000 in=1 | rd=4 wr=4:80000001 fl=S', // or [rbx], eax
  '64 | 48 09 03 | or os=8 as=8 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=0 in=0 fl=CSO | rd=8 wr=8:0 fl=PZ', // or [rbx], rax
  '64 | 66 09 0b | or os=2 as=8 seg=ds base=rbx reg=1 len=3 | rbx=fee00000 rcx=8000 in=7fff | rd=2 wr=2:ffff fl=PS', // or [rbx], cx
  '64 | 08 13 | or os=1 as=8 seg=ds base=rbx reg=2 len=2 | rbx=fee00000 rdx=3 in=0 | rd=1 wr=1:3 fl=P', // or [rbx], dl
  '64 | 0b 03 | or os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=ffffffff00000000 in=100 | rd=4 rax=100 fl=P', // or eax, [rbx]
  '64 | 4c 0b 03 | or os=8 as=8 seg=ds base=rbx reg=8 len=3 | rbx=fee00000 r8=1 in=8000000000000000 | rd=8 r8=8000000000000001 fl=S', // or r8, [rbx]
  '64 | 0a 03 | or os=1 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=11 in=22 | rd=1 rax=33 fl=P', // or al, [rbx]
  '64 | 81 0b 00 01 00 00 | or os=4 as=8 seg=ds base=rbx imm=100 reg=- len=6 | rbx=fee00000 in=1 | rd=4 wr=4:101', // or dword [rbx], 0x100
  '64 | 48 83 0b 08 | or os=8 as=8 seg=ds base=rbx imm=8 reg=- len=4 | rbx=fee00000 in=fffffffffffffff0 | rd=8 wr=8:fffffffffffffff8 fl=S', // or qword [rbx], 0x8
  '64 | 66 81 0b 00 80 | or os=2 as=8 seg=ds base=rbx imm=8000 reg=- len=5 | rbx=fee00000 in=1 | rd=2 wr=2:8001 fl=S', // or word [rbx], 0x8000
  '64 | 80 0b 01 | or os=1 as=8 seg=ds base=rbx imm=1 reg=- len=3 | rbx=fee00000 in=fe | rd=1 wr=1:ff fl=PS', // or byte [rbx], 1
  '64 | 83 0b ff | or os=4 as=8 seg=ds base=rbx imm=ffffffff reg=- len=3 | rbx=fee00000 in=0 | rd=4 wr=4:ffffffff fl=PS', // or dword [rbx], -1
  '64 | f0 83 0b 01 | or os=4 as=8 seg=ds base=rbx imm=1 reg=- lock len=4 | rbx=fee00000 in=0 fl=Z | rd=4 wr=4:1 fl=-', // lock or dword [rbx], 1
  '64 | f0 4c 09 0b | or os=8 as=8 seg=ds base=rbx reg=9 lock len=4 | rbx=fee00000 r9=100000000 in=1 | rd=8 wr=8:100000001', // lock or [rbx], r9
  // XOR (30-33, 80/81/83 /6)
  '64 | 31 03 | xor os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=ffffffff in=ffffffff | rd=4 wr=4:0 fl=PZ', // xor [rbx], eax
  '64 | 48 31 03 | xor os=8 as=8 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=ffffffffffffffff in=1 | rd=8 wr=8:fffffffffffffffe fl=S', // xor [rbx], rax
  '64 | 66 31 33 | xor os=2 as=8 seg=ds base=rbx reg=6 len=3 | rbx=fee00000 rsi=ff in=f0f | rd=2 wr=2:ff0 fl=P', // xor [rbx], si
  '64 | 30 3b | xor os=1 as=8 seg=ds base=rbx reg=7 len=2 | rbx=fee00000 in=80 | rd=1 wr=1:80 fl=S', // xor [rbx], bh
  '64 | 33 03 | xor os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=ffffffffaaaaaaaa in=55555555 | rd=4 rax=ffffffff fl=PS', // xor eax, [rbx]
  '64 | 4c 33 3b | xor os=8 as=8 seg=ds base=rbx reg=15 len=3 | rbx=fee00000 r15=1234 in=1234 | rd=8 r15=0 fl=PZ', // xor r15, [rbx]
  '64 | 32 0b | xor os=1 as=8 seg=ds base=rbx reg=1 len=2 | rbx=fee00000 rcx=f in=f0 | rd=1 rcx=ff fl=PS', // xor cl, [rbx]
  '64 | 81 33 00 00 00 80 | xor os=4 as=8 seg=ds base=rbx imm=80000000 reg=- len=6 | rbx=fee00000 in=80000001 | rd=4 wr=4:1', // xor dword [rbx], 0x80000000
  '64 | 48 83 33 ff | xor os=8 as=8 seg=ds base=rbx imm=ffffffffffffffff reg=- len=4 | rbx=fee00000 in=0 | rd=8 wr=8:ffffffffffffffff fl=PS', // xor qword [rbx], -1
  '64 | 66 83 33 01 | xor os=2 as=8 seg=ds base=rbx imm=1 reg=- len=4 | rbx=fee00000 in=3 | rd=2 wr=2:2', // xor word [rbx], 0x1
  '64 | 80 33 ff | xor os=1 as=8 seg=ds base=rbx imm=ff reg=- len=3 | rbx=fee00000 in=f | rd=1 wr=1:f0 fl=PS', // xor byte [rbx], 0xff
  '64 | f0 83 33 55 | xor os=4 as=8 seg=ds base=rbx imm=55 reg=- lock len=4 | rbx=fee00000 in=55 fl=CASO | rd=4 wr=4:0 fl=PAZ', // lock xor dword [rbx], 0x55
  '64 | f0 30 03 | xor os=1 as=8 seg=ds base=rbx reg=0 lock len=3 | rbx=fee00000 rax=1 in=1 | rd=1 wr=1:0 fl=PZ', // lock xor [rbx], al
  // SUB (28-2B, 80/81/83 /5)
  '64 | 29 03 | sub os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=2 in=1 | rd=4 wr=4:ffffffff fl=CPAS', // sub [rbx], eax
  '64 | 29 03 | sub os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=1 in=80000000 | rd=4 wr=4:7fffffff fl=PAO', // sub [rbx], eax signed overflow
  '64 | 48 29 03 | sub os=8 as=8 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=1 in=0 | rd=8 wr=8:ffffffffffffffff fl=CPAS', // sub [rbx], rax
  '64 | 48 29 03 | sub os=8 as=8 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=ffffffffffffffff in=7fffffffffffffff | rd=8 wr=8:8000000000000000 fl=CPSO', // sub [rbx], rax
  '64 | 66 29 03 | sub os=2 as=8 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=10 in=10 | rd=2 wr=2:0 fl=PZ', // sub [rbx], ax
  '64 | 28 03 | sub os=1 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=1 in=10 | rd=1 wr=1:f fl=PA', // sub [rbx], al borrow from bit 4: AF
  '64 | 28 2b | sub os=1 as=8 seg=ds base=rbx reg=5 len=2 | rbx=fee00000 rcx=100 in=80 | rd=1 wr=1:7f fl=AO', // sub [rbx], ch
  '64 | 2b 03 | sub os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=ffffffff00000005 in=6 | rd=4 rax=ffffffff fl=CPAS', // sub eax, [rbx]
  '64 | 48 2b 13 | sub os=8 as=8 seg=ds base=rbx reg=2 len=3 | rbx=fee00000 rdx=100000000 in=1 | rd=8 rdx=ffffffff fl=PA', // sub rdx, [rbx]
  '64 | 66 2b 0b | sub os=2 as=8 seg=ds base=rbx reg=1 len=3 | rbx=fee00000 rcx=12348000 in=1 | rd=2 rcx=12347fff fl=PAO', // sub cx, [rbx]
  '64 | 44 2a 03 | sub os=1 as=8 seg=ds base=rbx reg=8 len=3 | rbx=fee00000 r8=0 in=80 | rd=1 r8=80 fl=CSO', // sub r8b, [rbx]
  '64 | 83 2b 10 | sub os=4 as=8 seg=ds base=rbx imm=10 reg=- len=3 | rbx=fee00000 in=10 | rd=4 wr=4:0 fl=PZ', // sub dword [rbx], 0x10
  '64 | 48 83 2b 01 | sub os=8 as=8 seg=ds base=rbx imm=1 reg=- len=4 | rbx=fee00000 in=0 | rd=8 wr=8:ffffffffffffffff fl=CPAS', // sub qword [rbx], 0x1
  '64 | 48 83 2b ff | sub os=8 as=8 seg=ds base=rbx imm=ffffffffffffffff reg=- len=4 | rbx=fee00000 in=7fffffffffffffff | rd=8 wr=8:8000000000000000 fl=CPSO', // sub qword [rbx], -0x1
  '64 | 66 81 2b 34 12 | sub os=2 as=8 seg=ds base=rbx imm=1234 reg=- len=5 | rbx=fee00000 in=1234 | rd=2 wr=2:0 fl=PZ', // sub word [rbx], 0x1234
  '64 | 81 2b 78 56 34 12 | sub os=4 as=8 seg=ds base=rbx imm=12345678 reg=- len=6 | rbx=fee00000 in=12345677 | rd=4 wr=4:ffffffff fl=CPAS', // sub dword [rbx], 0x12345678
  '64 | 80 2b 80 | sub os=1 as=8 seg=ds base=rbx imm=80 reg=- len=3 | rbx=fee00000 in=0 | rd=1 wr=1:80 fl=CSO', // sub byte [rbx], 0x80
  '64 | f0 83 2b 01 | sub os=4 as=8 seg=ds base=rbx imm=1 reg=- lock len=4 | rbx=fee00000 in=1 fl=CSAO | rd=4 wr=4:0 fl=PZ', // lock sub dword [rbx], 1
  '64 | f0 48 29 0b | sub os=8 as=8 seg=ds base=rbx reg=1 lock len=4 | rbx=fee00000 rcx=8000000000000000 in=0 | rd=8 wr=8:8000000000000000 fl=CPSO', // lock sub [rbx], rcx
  // CMP (38-3B, 80/81/83 /7): flags only
  '64 | 39 03 | cmp os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=5 in=5 | rd=4 fl=PZ', // cmp [rbx], eax
  '64 | 39 03 | cmp os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=6 in=5 | rd=4 fl=CPAS', // cmp [rbx], eax
  '64 | 48 39 03 | cmp os=8 as=8 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=1 in=8000000000000000 | rd=8 fl=PAO', // cmp [rbx], rax
  '64 | 66 39 13 | cmp os=2 as=8 seg=ds base=rbx reg=2 len=3 | rbx=fee00000 rdx=8000 in=7fff | rd=2 fl=CPSO', // cmp [rbx], dx
  '64 | 38 33 | cmp os=1 as=8 seg=ds base=rbx reg=6 len=2 | rbx=fee00000 rdx=100 in=0 | rd=1 fl=CPAS', // cmp [rbx], dh
  '64 | 3b 03 | cmp os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=5 in=6 | rd=4 fl=CPAS', // cmp eax, [rbx]
  '64 | 48 3b 03 | cmp os=8 as=8 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=0 in=1 | rd=8 fl=CPAS', // cmp rax, [rbx]
  '64 | 66 44 3b 23 | cmp os=2 as=8 seg=ds base=rbx reg=12 len=4 | rbx=fee00000 r12=8000 in=1 | rd=2 fl=PAO', // cmp r12w, [rbx]
  '64 | 40 3a 33 | cmp os=1 as=8 seg=ds base=rbx reg=6 len=3 | rbx=fee00000 rsi=7f in=ff | rd=1 fl=CSO', // cmp sil, [rbx]
  '64 | 83 3b 01 | cmp os=4 as=8 seg=ds base=rbx imm=1 reg=- len=3 | rbx=fee00000 in=0 fl=Z | rd=4 fl=CPAS', // cmp dword [rbx], 0x1
  '64 | 81 3b 00 00 e0 fe | cmp os=4 as=8 seg=ds base=rbx imm=fee00000 reg=- len=6 | rbx=fee00000 in=fee00000 | rd=4 fl=PZ', // cmp dword [rbx], 0xfee00000
  '64 | 48 83 3b 80 | cmp os=8 as=8 seg=ds base=rbx imm=ffffffffffffff80 reg=- len=4 | rbx=fee00000 in=ffffffffffffff80 | rd=8 fl=PZ', // cmp qword [rbx], -0x80
  '64 | 48 81 3b ff ff ff 7f | cmp os=8 as=8 seg=ds base=rbx imm=7fffffff reg=- len=7 | rbx=fee00000 in=ffffffff | rd=8 fl=P', // cmp qword [rbx], 0x7fffffff
  '64 | 66 81 3b 00 01 | cmp os=2 as=8 seg=ds base=rbx imm=100 reg=- len=5 | rbx=fee00000 in=ff | rd=2 fl=CPS', // cmp word [rbx], 0x100
  '64 | 80 3b 80 | cmp os=1 as=8 seg=ds base=rbx imm=80 reg=- len=3 | rbx=fee00000 in=7f | rd=1 fl=CPSO', // cmp byte [rbx], 0x80
  '64 | 80 3b 0f | cmp os=1 as=8 seg=ds base=rbx imm=f reg=- len=3 | rbx=fee00000 in=10 | rd=1 fl=A', // cmp byte [rbx], 0xf
  // TEST (84/85, F6/F7 /0): flags only
  '64 | 85 03 | test os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=1 in=2 fl=CO | rd=4 fl=PZ', // test [rbx], eax
  '64 | 85 03 | test os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=80000000 in=80000000 | rd=4 fl=PS', // test [rbx], eax
  '64 | 48 85 03 | test os=8 as=8 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=8000000000000000 in=8000000000000000 | rd=8 fl=PS', // test [rbx], rax
  '64 | 66 85 0b | test os=2 as=8 seg=ds base=rbx reg=1 len=3 | rbx=fee00000 rcx=ff in=3 | rd=2 fl=P', // test [rbx], cx
  '64 | 84 1b | test os=1 as=8 seg=ds base=rbx reg=3 len=2 | rbx=fee00001 in=1 | rd=1', // test [rbx], bl
  '64 | 84 23 | test os=1 as=8 seg=ds base=rbx reg=4 len=2 | rbx=fee00000 rax=8000 in=ff fl=A | rd=1 fl=AS', // test [rbx], ah
  '64 | 44 84 0b | test os=1 as=8 seg=ds base=rbx reg=9 len=3 | rbx=fee00000 r9=1 in=1 | rd=1', // test [rbx], r9b
  '64 | f7 03 80 00 00 00 | test os=4 as=8 seg=ds base=rbx imm=80 reg=- len=6 | rbx=fee00000 in=80 | rd=4', // test dword [rbx], 0x80
  '64 | f7 03 80 00 00 00 | test os=4 as=8 seg=ds base=rbx imm=80 reg=- len=6 | rbx=fee00000 in=7f fl=SPC | rd=4 fl=PZ', // test dword [rbx], 0x80
  '64 | 48 f7 03 ff ff ff ff | test os=8 as=8 seg=ds base=rbx imm=ffffffffffffffff reg=- len=7 | rbx=fee00000 in=8000000000000000 | rd=8 fl=PS', // test qword [rbx], -1
  '64 | 66 f7 03 00 40 | test os=2 as=8 seg=ds base=rbx imm=4000 reg=- len=5 | rbx=fee00000 in=4000 | rd=2 fl=P', // test word [rbx], 0x4000
  '64 | f6 03 01 | test os=1 as=8 seg=ds base=rbx imm=1 reg=- len=3 | rbx=fee00000 in=ff | rd=1', // test byte [rbx], 0x1
  '64 | f6 44 4b 10 20 | test os=1 as=8 seg=ds base=rbx idx=rcx sc=2 disp=10 imm=20 reg=- len=5 | rbx=fee00000 rcx=4 in=df | ea=fee00018 lin=fee00018 rd=1 fl=PZ', // test byte [rbx+rcx*2+0x10], 0x20
  // BT (0F A3, 0F BA /4): CF = the bit
  '64 | 0f ba 23 05 | bt os=4 as=8 seg=ds base=rbx imm=5 reg=- len=4 | rbx=fee00000 in=20 | rd=4 fl=C', // bt dword [rbx], 5
  '64 | 0f ba 23 05 | bt os=4 as=8 seg=ds base=rbx imm=5 reg=- len=4 | rbx=fee00000 in=df fl=CZ | rd=4 fl=Z', // bt dword [rbx], 5 ZF unaffected
  '64 | 66 0f ba 23 0f | bt os=2 as=8 seg=ds base=rbx imm=f reg=- len=5 | rbx=fee00000 in=8000 | rd=2 fl=C', // bt word [rbx], 15
  '64 | 48 0f ba 23 3f | bt os=8 as=8 seg=ds base=rbx imm=3f reg=- len=5 | rbx=fee00000 in=8000000000000000 | rd=8 fl=C', // bt qword [rbx], 63
  '64 | 48 0f ba 23 20 | bt os=8 as=8 seg=ds base=rbx imm=20 reg=- len=5 | rbx=fee00000 in=100000000 | rd=8 fl=C', // bt qword [rbx], 32
  '64 | 0f ba 23 21 | bt os=4 as=8 seg=ds base=rbx imm=21 reg=- len=4 | rbx=fee00000 in=2 | rd=4 fl=C', // bt dword [rbx], 33 offset taken modulo 32
  '64 | 0f a3 0b | bt os=4 as=8 seg=ds base=rbx reg=1 len=3 | rbx=fee00000 rcx=1f in=80000000 | rd=4 fl=C', // bt [rbx], ecx
  '64 | 48 0f a3 0b | bt os=8 as=8 seg=ds base=rbx reg=1 len=4 | rbx=fee00000 rcx=64 in=1000000000 | rd=8 fl=C', // bt [rbx], rcx 100: bit 36 of the accessed quadword
  '64 | 66 0f a3 13 | bt os=2 as=8 seg=ds base=rbx reg=2 len=4 | rbx=fee00000 rdx=3 in=7 fl=SOP | rd=2', // bt [rbx], dx
  '64 | 0f a3 0b | bt os=4 as=8 seg=ds base=rbx reg=1 len=3 | rbx=fee00000 rcx=ffffffff in=80000000 | rd=4 fl=C', // bt [rbx], ecx offset -1: bit 31 of the accessed dword
  '64 | 0f a3 05 10 00 00 00 | bt os=4 as=8 seg=ds disp=10 reg=0 rip len=7 | rip=3000 rax=0 in=0 fl=C | ea=3017 lin=3017 rd=4 fl=-', // bt [rip+0x10], eax
  // STOS (AA/AB): [ES:rDI] <- rAX; REP counts rCX down, one element per call
  '64 | aa | stos os=1 as=8 seg=es base=rdi reg=0 len=1 | rdi=fee00000 rax=1122334455667788 | wr=1:88 rdi=fee00001', // stosb
  '64 | 66 ab | stos os=2 as=8 seg=es base=rdi reg=0 len=2 | rdi=fee00000 rax=1122334455667788 | wr=2:7788 rdi=fee00002', // stosw
  '64 | ab | stos os=4 as=8 seg=es base=rdi reg=0 len=1 | rdi=fee00000 rax=1122334455667788 | wr=4:55667788 rdi=fee00004', // stosd
  '64 | 48 ab | stos os=8 as=8 seg=es base=rdi reg=0 len=2 | rdi=fee00000 rax=1122334455667788 | wr=8:1122334455667788 rdi=fee00008', // stosq
  '64 | ab | stos os=4 as=8 seg=es base=rdi reg=0 len=1 | rdi=fee00008 rax=5 fl=D | wr=4:5 rdi=fee00004', // stosd DF: rDI steps down
  '64 | f3 ab | stos os=4 as=8 seg=es base=rdi reg=0 rep len=2 | rdi=fee00000 rcx=3 rax=deadbeef | ret=1 wr=4:deadbeef rcx=2 rdi=fee00004', // rep stosd
  '64 | f3 ab | stos os=4 as=8 seg=es base=rdi reg=0 rep len=2 | rdi=fee00000 rcx=1 rax=deadbeef | wr=4:deadbeef rcx=0 rdi=fee00004', // rep stosd last element: done
  '64 | f3 ab | stos os=4 as=8 seg=es base=rdi reg=0 rep len=2 | rdi=fee00000 rcx=0 rax=deadbeef | ', // rep stosd rCX 0: nothing
  '64 | f3 48 ab | stos os=8 as=8 seg=es base=rdi reg=0 rep len=3 | rdi=fee00ff8 rcx=100000000 rax=1 | ret=1 wr=8:1 rcx=ffffffff rdi=fee01000', // rep stosq RCX borrows from bit 32
  '64 | f3 aa | stos os=1 as=8 seg=es base=rdi reg=0 rep len=2 | rdi=fee00010 rcx=2 rax=ab fl=D | ret=1 wr=1:ab rcx=1 rdi=fee0000f', // rep stosb
  '64 | f2 aa | stos os=1 as=8 seg=es base=rdi reg=0 repne len=2 | rdi=fee00000 rcx=2 rax=cd | ret=1 wr=1:cd rcx=1 rdi=fee00001', // repne stosb F2 repeats like F3
  '64 | f3 67 ab | stos os=4 as=4 seg=es base=rdi reg=0 rep len=3 | rdi=ffffffff00001000 rcx=ffffffff00000002 rax=9 | ret=1 wr=4:9 rcx=1 rdi=1004', // a32 rep stosd 67: EDI and ECX, zero-extended
  '64 | 67 aa | stos os=1 as=4 seg=es base=rdi reg=0 len=2 | rdi=1ffffffff rax=1 | wr=1:1 rdi=0', // a32 stosb EDI wraps to 0
  '64 | 26 66 ab | stos os=2 as=8 seg=es base=rdi reg=0 len=3 | rdi=fee00000 rax=beef esb=1000 | wr=2:beef rdi=fee00002', // es stosw an override does not apply to STOS
  '64 | 48 ab | stos os=8 as=8 seg=es base=rdi reg=0 len=2 | rdi=0 rax=1 fl=D | wr=8:1 rdi=fffffffffffffff8', // stosq RDI wraps below 0
  // MOVS (A4/A5): one side is the device, the other guest memory
  '64 | a4 | movs os=1 as=8 seg=ds base=rsi reg=- len=1 | rsi=2000 rdi=fee00000 m=2000:7f mmio=w | wr=1:7f rsi=2001 rdi=fee00001', // movsb
  '64 | 66 a5 | movs os=2 as=8 seg=ds base=rsi reg=- len=2 | rsi=2000 rdi=fee00000 m=2000:3412 mmio=w | wr=2:1234 rsi=2002 rdi=fee00002', // movsw
  '64 | a5 | movs os=4 as=8 seg=ds base=rsi reg=- len=1 | rsi=2000 rdi=fee00000 m=2000:78563412 mmio=w | wr=4:12345678 rsi=2004 rdi=fee00004', // movsd
  '64 | 48 a5 | movs os=8 as=8 seg=ds base=rsi reg=- len=2 | rsi=2000 rdi=fee00000 m=2000:efcdab8967452301 mmio=w | wr=8:123456789abcdef rsi=2008 rdi=fee00008', // movsq
  '64 | a5 | movs os=4 as=8 seg=ds base=rsi reg=- len=1 | rsi=fee00000 rdi=3000 m=3000:00000000 in=cafebabe | rd=4 rsi=fee00004 rdi=3004 m=3000:bebafeca', // movsd device to memory
  '64 | 48 a5 | movs os=8 as=8 seg=ds base=rsi reg=- len=2 | rsi=fee00000 rdi=3000 m=3000:0000000000000000 in=0102030405060708 | rd=8 rsi=fee00008 rdi=3008 m=3000:0807060504030201', // movsq
  '64 | 66 a5 | movs os=2 as=8 seg=ds base=rsi reg=- len=2 | rsi=fee00000 rdi=3000 m=3000:0000 in=beef fl=D | rd=2 rsi=fedffffe rdi=2ffe m=3000:efbe', // movsw
  '64 | f3 a5 | movs os=4 as=8 seg=ds base=rsi reg=- rep len=2 | rsi=2000 rdi=fee00000 rcx=4 m=2000:0100000002000000 mmio=w | ret=1 wr=4:1 rcx=3 rsi=2004 rdi=fee00004', // rep movsd
  '64 | f3 a4 | movs os=1 as=8 seg=ds base=rsi reg=- rep len=2 | rsi=fee00000 rdi=3000 rcx=1 m=3000:00 in=5a | rd=1 rcx=0 rsi=fee00001 rdi=3001 m=3000:5a', // rep movsb
  '64 | f3 48 a5 | movs os=8 as=8 seg=ds base=rsi reg=- rep len=3 | rsi=fee00000 rdi=3000 rcx=0 m=3000:00 in=5a | ', // rep movsq rCX 0: nothing
  '64 | 64 a4 | movs os=1 as=8 seg=fs base=rsi reg=- len=2 | rsi=10 rdi=fee00000 fsb=5000 m=5010:99 mmio=w | wr=1:99 rsi=11 rdi=fee00001', // fs movsb FS override on the source
  '64 | 64 a5 | movs os=4 as=8 seg=fs base=rsi reg=- len=2 | rsi=fee00000 rdi=3000 fsb=5000 m=3000:00000000 in=12345678 | rd=4 rsi=fee00004 rdi=3004 m=3000:78563412', // fs movsd ES destination: no override
  '64 | a5 | movs os=4 as=8 seg=ds base=rsi reg=- len=1 | rsi=1ffe rdi=fee00000 m=1ffe:3412 m=2000:7856 mmio=w | wr=4:56781234 rsi=2002 rdi=fee00004', // movsd source element crosses a page
  '64 | a5 | movs os=4 as=8 seg=ds base=rsi reg=- len=1 | rsi=fee00000 rdi=2ffe m=2ffe:0000 m=3000:0000 in=a1b2c3d4 | rd=4 rsi=fee00004 rdi=3002 m=2ffe:d4c3b2a1', // movsd destination crosses a page
  '64 | a5 | movs os=4 as=8 seg=ds base=rsi reg=- len=1 | rsi=1ffe rdi=fee00000 m=1ffe:3412 mmio=w | ret=-2', // movsd second page absent: fault
  '64 | 48 a5 | movs os=8 as=8 seg=ds base=rsi reg=- len=2 | rsi=fee00000 rdi=4000 m=3000:00 in=1 | ret=-2 rd=8', // movsq destination absent: fault after the device read
  '64 | 65 a4 | movs os=1 as=8 seg=gs base=rsi reg=- len=2 | rsi=0 rdi=fee00000 gsb=800000000000 mmio=w | ret=-3', // gs movsb non-canonical source
  '64 | 67 a4 | movs os=1 as=4 seg=ds base=rsi reg=- len=2 | rsi=ffffffff00002000 rdi=ffffffff00003000 m=2000:66 mmio=w | wr=1:66 rsi=2001 rdi=3001', // a32 movsb
  // 32-bit protected mode (CS.D = 1)
  '32 | 8b 84 4b 00 01 00 00 | mov os=4 as=4 seg=ds base=rbx idx=rcx sc=2 disp=100 reg=0 len=7 | rbx=fee00000 rcx=8 in=12345678 | ea=fee00110 lin=fee00110 rd=4 rax=12345678', // mov eax, [ebx+ecx*2+0x100]
  '32 | a1 20 00 e0 fe | mov os=4 as=4 seg=ds disp=fee00020 reg=0 len=5 | in=11 | ea=fee00020 lin=fee00020 rd=4 rax=11', // mov eax, [0xfee00020] A1 moffs32
  '32 | 8b 0d 20 00 e0 fe | mov os=4 as=4 seg=ds disp=-11fffe0 reg=1 len=6 | in=22 | ea=fee00020 lin=fee00020 rd=4 rcx=22', // mov ecx, [0xfee00020] 8B /r with disp32, no base
  '32 | a0 10 00 c0 fe | mov os=1 as=4 seg=ds disp=fec00010 reg=0 len=5 | in=33 | rd=1 rax=33', // mov al, [0xfec00010]
  '32 | a3 10 00 c0 fe | mov os=4 as=4 seg=ds disp=fec00010 reg=0 len=5 | rax=abcdef01 | wr=4:abcdef01', // mov [0xfec00010], eax
  '32 | 66 a3 10 00 c0 fe | mov os=2 as=4 seg=ds disp=fec00010 reg=0 len=6 | rax=abcdef01 | wr=2:ef01', // mov [0xfec00010], ax
  '32 | a2 10 00 c0 fe | mov os=1 as=4 seg=ds disp=fec00010 reg=0 len=5 | rax=abcdef01 | wr=1:1', // mov [0xfec00010], al
  '32 | 89 56 08 | mov os=4 as=4 seg=ds base=rsi disp=8 reg=2 len=3 | rsi=fee00000 rdx=87654321 | wr=4:87654321', // mov [esi+8], edx
  '32 | 8b 6d 10 | mov os=4 as=4 seg=ss base=rbp disp=10 reg=5 len=3 | rbp=fee00000 ssb=0 in=1 | ea=fee00010 lin=fee00010 rd=4 rbp=1', // mov ebp, [ebp+0x10] base ebp: SS
  '32 | 8b 04 ac | mov os=4 as=4 seg=ss base=rsp idx=rbp sc=4 reg=0 len=3 | rsp=100 rbp=4 in=2 | ea=110 lin=110 rd=4 rax=2', // mov eax, [esp+ebp*4]
  '32 | 3e 8b 45 04 | mov os=4 as=4 seg=ds base=rbp disp=4 reg=0 len=4 | rbp=fee00000 dsb=100 in=3 | ea=fee00004 lin=fee00104 rd=4 rax=3', // mov eax, [ds:ebp+4] DS override with base ebp
  '32 | 64 a1 30 00 00 00 | mov os=4 as=4 seg=fs disp=30 reg=0 len=6 | fsb=7ffde000 in=4 | ea=30 lin=7ffde030 rd=4 rax=4', // mov eax, [fs:0x30]
  '32 | 26 8b 07 | mov os=4 as=4 seg=es base=rdi reg=0 len=3 | rdi=10 esb=fee00000 in=5 | ea=10 lin=fee00010 rd=4 rax=5', // mov eax, [es:edi] segment base added to the offset
  '32 | 65 8b 04 18 | mov os=4 as=4 seg=gs base=rax idx=rbx reg=0 len=4 | rax=f0000000 rbx=f0000000 gsb=20000000 in=6 | ea=e0000000 lin=0 rd=4 rax=6', // mov eax, [gs:eax+ebx] offset and linear wrap at 4 GiB
  '32 | 66 8b 01 | mov os=2 as=4 seg=ds base=rcx reg=0 len=3 | rcx=fee00000 rax=ffffffff in=1234 | rd=2 rax=ffff1234', // mov ax, [ecx] 66: 16-bit
  '32 | c7 07 00 00 00 80 | mov os=4 as=4 seg=ds base=rdi imm=80000000 reg=- len=6 | rdi=fee00000 | wr=4:80000000', // mov dword [edi], 0x80000000
  '32 | 66 c7 07 00 80 | mov os=2 as=4 seg=ds base=rdi imm=8000 reg=- len=5 | rdi=fee00000 | wr=2:8000', // mov word [edi], 0x8000
  '32 | c6 07 01 | mov os=1 as=4 seg=ds base=rdi imm=1 reg=- len=3 | rdi=fee00000 | wr=1:1', // mov byte [edi], 0x1
  '32 | 67 8b 00 | mov os=4 as=2 seg=ds base=rbx idx=rsi reg=0 len=3 | rbx=fe00 rsi=0200 in=7 | ea=0 lin=0 rd=4 rax=7', // mov eax, [bx+si] 67: 16-bit addressing
  '32 | 67 8b 43 10 | mov os=4 as=2 seg=ss base=rbp idx=rdi disp=10 reg=0 len=4 | rbp=fff0 rdi=10 in=8 | ea=10 lin=10 rd=4 rax=8', // mov eax, [bp+di+0x10] 16-bit sum wraps
  '32 | 0f b6 03 | movzx os=4 as=4 ms=1 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=ffffffff in=fe | rd=1 rax=fe', // movzx eax, byte [ebx]
  '32 | 0f b7 03 | movzx os=4 as=4 ms=2 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 in=fffe | rd=2 rax=fffe', // movzx eax, word [ebx]
  '32 | 0f bf 03 | movsx os=4 as=4 ms=2 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 in=8000 | rd=2 rax=ffff8000', // movsx eax, word [ebx]
  '32 | 66 0f be 03 | movsx os=2 as=4 ms=1 seg=ds base=rbx reg=0 len=4 | rbx=fee00000 rax=12345678 in=80 | rd=1 rax=1234ff80', // movsx ax, byte [ebx]
  '32 | 21 03 | and os=4 as=4 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=f in=3c | rd=4 wr=4:c fl=P', // and [ebx], eax
  '32 | 83 0b 10 | or os=4 as=4 seg=ds base=rbx imm=10 reg=- len=3 | rbx=fee00000 in=1 | rd=4 wr=4:11 fl=P', // or dword [ebx], 0x10
  '32 | 66 31 03 | xor os=2 as=4 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=ffff in=ffff | rd=2 wr=2:0 fl=PZ', // xor [ebx], ax
  '32 | 80 2b 01 | sub os=1 as=4 seg=ds base=rbx imm=1 reg=- len=3 | rbx=fee00000 in=0 | rd=1 wr=1:ff fl=CPAS', // sub byte [ebx], 0x1
  '32 | 3b 03 | cmp os=4 as=4 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=80000000 in=1 | rd=4 fl=PAO', // cmp eax, [ebx]
  '32 | f6 03 80 | test os=1 as=4 seg=ds base=rbx imm=80 reg=- len=3 | rbx=fee00000 in=80 | rd=1 fl=S', // test byte [ebx], 0x80
  '32 | 0f ba 23 1f | bt os=4 as=4 seg=ds base=rbx imm=1f reg=- len=4 | rbx=fee00000 in=80000000 | rd=4 fl=C', // bt dword [ebx], 31
  '32 | f0 83 4b 04 01 | or os=4 as=4 seg=ds base=rbx disp=4 imm=1 reg=- lock len=5 | rbx=fee00000 in=2 | rd=4 wr=4:3 fl=P', // lock or dword [ebx+4], 0x1
  '32 | f3 ab | stos os=4 as=4 seg=es base=rdi reg=0 rep len=2 | rdi=fee00000 rcx=2 rax=1 | ret=1 wr=4:1 rcx=1 rdi=fee00004', // rep stosd
  '32 | f3 aa | stos os=1 as=4 seg=es base=rdi reg=0 rep len=2 | rdi=fee00000 rcx=5 rax=ff fl=D | ret=1 wr=1:ff rcx=4 rdi=fedfffff', // rep stosb
  '32 | a5 | movs os=4 as=4 seg=ds base=rsi reg=- len=1 | rsi=1000 rdi=fee00000 dsb=10000 m=11000:44332211 mmio=w | wr=4:11223344 rsi=1004 rdi=fee00004', // movsd DS base added
  '32 | f3 66 67 ab | stos os=2 as=2 seg=es base=rdi reg=0 rep len=4 | rdi=fffe rcx=1 rax=1234 | wr=2:1234 rcx=0 rdi=0', // a16 rep stosw 67: DI and CX
  '32 | ab | stos os=4 as=4 seg=es base=rdi reg=0 len=1 | rdi=fee00000 esb=1000 rax=7 | ea=fee00000 lin=fee01000 wr=4:7 rdi=fee00004', // stosd
  // 16-bit modes: real mode (CS.D = 0) and 16-bit protected mode
  '16 | 8b 40 04 | mov os=2 as=2 seg=ds base=rbx idx=rsi disp=4 reg=0 len=3 | rbx=100 rsi=20 in=1234 | ea=124 lin=124 rd=2 rax=1234', // mov ax, [bx+si+4]
  '16 | 8a 43 fe | mov os=1 as=2 seg=ss base=rbp idx=rdi disp=-2 reg=0 len=3 | rbp=10 rdi=4 in=ab | ea=12 lin=12 rd=1 rax=ab', // mov al, [bp+di-2] BP-based: SS
  '16 | a1 34 12 | mov os=2 as=2 seg=ds disp=1234 reg=0 len=3 | in=5678 dsb=f0000 | ea=1234 lin=f1234 rd=2 rax=5678', // mov ax, [0x1234] A1 moffs16
  '16 | 8b 16 34 12 | mov os=2 as=2 seg=ds disp=1234 reg=2 len=4 | in=5678 | ea=1234 lin=1234 rd=2 rdx=5678', // mov dx, [0x1234] 8B /r disp16
  '16 | 8b 4e 00 | mov os=2 as=2 seg=ss base=rbp reg=1 len=3 | rbp=8 ssb=20000 in=1 | ea=8 lin=20008 rd=2 rcx=1', // mov cx, [bp] [bp] needs disp8 0; SS
  '16 | 8b 1c | mov os=2 as=2 seg=ds base=rsi reg=3 len=2 | rsi=2 in=2 | ea=2 lin=2 rd=2 rbx=2', // mov bx, [si]
  '16 | 8b 9d ff 7f | mov os=2 as=2 seg=ds base=rdi disp=7fff reg=3 len=4 | rdi=2 in=3 | ea=8001 lin=8001 rd=2 rbx=3', // mov bx, [di+0x7fff]
  '16 | 8b 41 f0 | mov os=2 as=2 seg=ds base=rbx idx=rdi disp=-10 reg=0 len=3 | rbx=8 rdi=10 in=4 | ea=8 lin=8 rd=2 rax=4', // mov ax, [bx+di+0xfff0] disp16 negative
  '16 | 8b 07 | mov os=2 as=2 seg=ds base=rbx reg=0 len=2 | rbx=ffffffffffff0010 in=5 | ea=10 lin=10 rd=2 rax=5', // mov ax, [bx] only BX counts
  '16 | 66 8b 07 | mov os=4 as=2 seg=ds base=rbx reg=0 len=3 | rbx=10 rax=ffffffffffffffff in=deadbeef | rd=4 rax=deadbeef', // mov eax, [bx] 66: 32-bit operand
  '16 | 67 8b 04 98 | mov os=2 as=4 seg=ds base=rax idx=rbx sc=4 reg=0 len=4 | rax=1000 rbx=2 in=6 | ea=1008 lin=1008 rd=2 rax=6', // mov ax, [eax+ebx*4] 67: 32-bit addressing
  '16 | 66 67 8b 44 24 04 | mov os=4 as=4 seg=ss base=rsp disp=4 reg=0 len=6 | rsp=ffff0010 ssb=30000 in=1 | ea=ffff0014 lin=20014 rd=4 rax=1', // mov eax, [esp+4] 67: 32-bit addressing, base ESP: SS
  '16 | 8a 24 | mov os=1 as=2 seg=ds base=rsi reg=4 len=2 | rsi=0 rax=1234 in=ff | rd=1 rax=ff34', // mov ah, [si]
  '16 | 88 04 | mov os=1 as=2 seg=ds base=rsi reg=0 len=2 | rsi=0 rax=1234 | wr=1:34', // mov [si], al
  '16 | 89 00 | mov os=2 as=2 seg=ds base=rbx idx=rsi reg=0 len=2 | rbx=0 rsi=0 rax=abcd | wr=2:abcd', // mov [bx+si], ax
  '16 | c7 07 34 12 | mov os=2 as=2 seg=ds base=rbx imm=1234 reg=- len=4 | rbx=0 | wr=2:1234', // mov word [bx], 0x1234
  '16 | c6 07 12 | mov os=1 as=2 seg=ds base=rbx imm=12 reg=- len=3 | rbx=0 | wr=1:12', // mov byte [bx], 0x12
  '16 | 66 c7 07 78 56 34 12 | mov os=4 as=2 seg=ds base=rbx imm=12345678 reg=- len=7 | rbx=0 | wr=4:12345678', // mov dword [bx], 0x12345678
  '16 | 0f b6 07 | movzx os=2 as=2 ms=1 seg=ds base=rbx reg=0 len=3 | rbx=0 in=80 | rd=1 rax=80', // movzx ax, byte [bx]
  '16 | 66 0f bf 07 | movsx os=4 as=2 ms=2 seg=ds base=rbx reg=0 len=4 | rbx=0 in=8000 | rd=2 rax=ffff8000', // movsx eax, word [bx]
  '16 | 81 27 ff 00 | and os=2 as=2 seg=ds base=rbx imm=ff reg=- len=4 | rbx=0 in=1234 | rd=2 wr=2:34', // and word [bx], 0xff
  '16 | 09 07 | or os=2 as=2 seg=ds base=rbx reg=0 len=2 | rbx=0 rax=1 in=8000 | rd=2 wr=2:8001 fl=S', // or [bx], ax
  '16 | 80 37 80 | xor os=1 as=2 seg=ds base=rbx imm=80 reg=- len=3 | rbx=0 in=80 | rd=1 wr=1:0 fl=PZ', // xor byte [bx], 0x80
  '16 | 2b 07 | sub os=2 as=2 seg=ds base=rbx reg=0 len=2 | rbx=0 rax=0 in=1 | rd=2 rax=ffff fl=CPAS', // sub ax, [bx]
  '16 | 83 3f 10 | cmp os=2 as=2 seg=ds base=rbx imm=10 reg=- len=3 | rbx=0 in=10 | rd=2 fl=PZ', // cmp word [bx], 0x10
  '16 | 84 07 | test os=1 as=2 seg=ds base=rbx reg=0 len=2 | rbx=0 rax=0 in=ff | rd=1 fl=PZ', // test [bx], al
  '16 | 0f ba 27 03 | bt os=2 as=2 seg=ds base=rbx imm=3 reg=- len=4 | rbx=0 in=8 | rd=2 fl=C', // bt word [bx], 3
  '16 | f3 ab | stos os=2 as=2 seg=es base=rdi reg=0 rep len=2 | rdi=ffffffff1234fffe rcx=3 rax=1111 | ret=1 wr=2:1111 rcx=2 rdi=ffffffff12340000', // rep stosw DI wraps at 64 KiB; upper bits kept
  '16 | f3 aa | stos os=1 as=2 seg=es base=rdi reg=0 rep len=2 | rdi=ffff0000 rcx=ffff0001 rax=1 | wr=1:1 rcx=ffff0000 rdi=ffff0001', // rep stosb CX reaches 0
  '16 | a4 | movs os=1 as=2 seg=ds base=rsi reg=- len=1 | rsi=10 rdi=0 dsb=1000 m=1010:aa mmio=w | wr=1:aa rsi=11 rdi=1', // movsb
  '16 | 26 a5 | movs os=2 as=2 seg=es base=rsi reg=- len=2 | rsi=10 rdi=0 esb=2000 m=2010:bbcc mmio=w | wr=2:ccbb rsi=12 rdi=2', // es movsw ES override on the source
  'p16 | 8b 00 | mov os=2 as=2 seg=ds base=rbx idx=rsi reg=0 len=2 | rbx=100 rsi=1 in=1234 | ea=101 lin=101 rd=2 rax=1234', // mov ax, [bx+si]
  'p16 | 66 67 8b 03 | mov os=4 as=4 seg=ds base=rbx reg=0 len=4 | rbx=fee00000 in=12345678 | ea=fee00000 lin=fee00000 rd=4 rax=12345678', // mov eax, [ebx]
  'p16 | 83 25 01 | and os=2 as=2 seg=ds base=rdi imm=1 reg=- len=3 | rdi=0 in=ffff | rd=2 wr=2:1', // and word [di], 0x1
  'p16 | f3 ab | stos os=2 as=2 seg=es base=rdi reg=0 rep len=2 | rdi=0 rcx=2 rax=5 fl=D | ret=1 wr=2:5 rcx=1 rdi=fffe', // rep stosw
  'r32 | 8b 03 | mov os=4 as=4 seg=ds base=rbx reg=0 len=2 | rbx=1000 in=1 | ea=1000 lin=1000 rd=4 rax=1', // mov eax, [ebx] real mode with a 32-bit code segment (CS.D = 1)
  'r32 | f3 a5 | movs os=4 as=4 seg=ds base=rsi reg=- rep len=2 | rsi=fee00000 rdi=100 rcx=2 esb=1000 m=1100:00000000 in=11223344 | ret=1 rd=4 rcx=1 rsi=fee00004 rdi=104 m=1100:44332211', // rep movsd real mode, CS.D = 1: ESI/EDI/ECX
  'r32 | 66 8b 03 | mov os=2 as=4 seg=ds base=rbx reg=0 len=3 | rbx=2000 rax=ffffffff in=5 | rd=2 rax=ffff0005', // mov ax, [ebx] 66 gives 16 bits when CS.D = 1
  'p16 | a4 | movs os=1 as=2 seg=ds base=rsi reg=- len=1 | rsi=fee0 rdi=10 dsb=fe000000 esb=0 m=10:00 in=77 | rd=1 rsi=fee1 rdi=11 m=10:77', // movsb device source at DS base + SI
  // hand-written: prefixes, SIB and REX corner cases
  '64 | 48 66 89 03 | mov os=2 as=8 seg=ds base=rbx reg=0 len=4 | rbx=fee00000 rax=1122334455667788 | wr=2:7788', // REX followed by 66: the REX is ignored (SDM Vol. 2A 2.2.1)
  '64 | 66 48 89 03 | mov os=8 as=8 seg=ds base=rbx reg=0 len=4 | rbx=fee00000 rax=1122334455667788 | wr=8:1122334455667788', // REX.W takes precedence over 66
  '64 | 40 66 88 26 | mov os=1 as=8 seg=ds base=rsi reg=4 len=4 | rsi=fee00000 rax=1122 rsp=7fab | wr=1:11', // REX 40 then 66: REX dropped, so reg 4 is AH
  '64 | 66 40 88 26 | mov os=1 as=8 seg=ds base=rsi reg=4 len=4 | rsi=fee00000 rax=1122 rsp=7fab | wr=1:ab', // 66 then REX 40: SPL
  '64 | 41 48 8b 03 | mov os=8 as=8 seg=ds base=rbx reg=0 len=4 | rbx=fee00000 r11=5 in=1122334455667788 | rd=8 rax=1122334455667788', // two REX bytes: only the last (48) counts, so the base is RBX, not R11
  '64 | f3 f2 a4 | movs os=1 as=8 seg=ds base=rsi reg=- repne len=3 | rsi=2000 rdi=fee00000 rcx=2 m=2000:01 mmio=w | ret=1 wr=1:1 rsi=2001 rdi=fee00001 rcx=1', // F3 then F2: the last one counts
  '64 | f2 f3 ab | stos os=4 as=8 seg=es base=rdi reg=0 rep len=3 | rdi=fee00000 rcx=1 rax=2 | wr=4:2 rdi=fee00004 rcx=0', // F2 then F3
  '64 | 2e 65 8b 00 | mov os=4 as=8 seg=gs base=rax reg=0 len=4 | rax=8 gsb=1000 in=1 | ea=8 lin=1008 rd=4 rax=1', // two segment overrides: the last one counts
  '64 | 3e 8b 45 00 | mov os=4 as=8 seg=ds base=rbp reg=0 len=4 | rbp=2000 dsb=5000 in=3 | ea=2000 lin=2000 rd=4 rax=3', // DS override on an RBP base; DS base ignored in 64-bit mode
  '64 | 26 8b 03 | mov os=4 as=8 seg=es base=rbx reg=0 len=3 | rbx=2000 esb=5000 in=4 | ea=2000 lin=2000 rd=4 rax=4', // ES base ignored in 64-bit mode
  '64 | 8b 04 65 10 00 00 00 | mov os=4 as=8 seg=ds disp=10 reg=0 len=7 | rsp=5000 in=1 | ea=10 lin=10 rd=4 rax=1', // SIB index 100 (scale 2 ignored) and base 101 with mod 00: disp32 only
  '64 | 42 8b 04 25 10 00 00 00 | mov os=4 as=8 seg=ds idx=r12 disp=10 reg=0 len=8 | r12=100 in=2 | ea=110 lin=110 rd=4 rax=2', // REX.X: index 100 is R12
  '64 | 41 8b 04 25 10 00 00 00 | mov os=4 as=8 seg=ds disp=10 reg=0 len=8 | r13=5000 in=3 | ea=10 lin=10 rd=4 rax=3', // REX.B with SIB base 101 and mod 00: still no base
  '64 | 41 8b 05 10 00 00 00 | mov os=4 as=8 seg=ds disp=10 reg=0 rip len=7 | rip=1000 r13=5000 in=4 | ea=1017 lin=1017 rd=4 rax=4', // REX.B with rm 101 and mod 00: still RIP-relative
  '64 | 43 8b 44 ed 08 | mov os=4 as=8 seg=ds base=r13 idx=r13 sc=8 disp=8 reg=0 len=5 | r13=10 in=5 | ea=98 lin=98 rd=4 rax=5', // R13 as base (mod 01) and as index
  '64 | 67 8b 05 f0 ff ff ff | mov os=4 as=4 seg=ds disp=-10 reg=0 rip len=7 | rip=100000005 in=6 | ea=fffffffc lin=fffffffc rd=4 rax=6', // EIP-relative: the sum is cut to 32 bits
  '64 | 64 67 8b 03 | mov os=4 as=4 seg=fs base=rbx reg=0 len=4 | rbx=ffffffffffffffff fsb=ffffffff00000000 in=7 | ea=ffffffff lin=ffffffffffffffff rd=4 rax=7', // 32-bit offset, 64-bit FS base
  '64 | 63 03 | movsxd os=4 as=8 seg=ds base=rbx reg=0 len=2 | rbx=fee00000 rax=ffffffffffffffff in=80000000 | rd=4 rax=80000000', // MOVSXD without REX.W: a 32-bit move
  '64 | 66 63 03 | movsxd os=2 as=8 seg=ds base=rbx reg=0 len=3 | rbx=fee00000 rax=ffffffffffffffff in=8000 | rd=2 rax=ffffffffffff8000', // MOVSXD r16, r/m16
  '64 | 4f a5 | movs os=8 as=8 seg=ds base=rsi reg=- len=2 | rsi=2000 rdi=fee00000 m=2000:0807060504030201 mmio=w | wr=8:102030405060708 rsi=2008 rdi=fee00008', // REX.RXB on MOVS: only W matters
  '64 | 2e 2e 2e 48 c7 84 24 00 01 00 00 78 56 34 12 | mov os=8 as=8 seg=cs base=rsp disp=100 imm=12345678 reg=- len=15 | rsp=fee00000 | wr=8:12345678', // exactly 15 bytes
  '64 | f3 0f b6 03 | movzx os=4 as=8 ms=1 seg=ds base=rbx reg=0 rep len=4 | rbx=fee00000 in=ff | rd=1 rax=ff', // F3 on a non-string instruction: recorded, no effect
  // hand-written: decode errors
  '64 | 01 03 | err=-3', // add [rbx], eax: not emulated
  '64 | 90 | err=-3', // nop
  '64 | 0f 0b | err=-3', // ud2
  '64 | 0f ab 03 | err=-3', // bts [rbx], eax
  '64 | 0f ba 2b 01 | err=-3', // bts dword [rbx], 1: group 8 /5
  '64 | 0f ba 33 01 | err=-3', // btr dword [rbx], 1: group 8 /6
  '64 | 80 03 01 | err=-3', // add byte [rbx], 1: group 1 /0
  '64 | 83 13 01 | err=-3', // adc dword [rbx], 1: group 1 /2
  '64 | 83 1b 01 | err=-3', // sbb dword [rbx], 1: group 1 /3
  '64 | f6 13 | err=-3', // not byte [rbx]: group 3 /2
  '64 | f7 1b | err=-3', // neg dword [rbx]: group 3 /3
  '64 | f6 0b 01 | err=-3', // F6 /1 (undocumented TEST alias) is not decoded
  '64 | c6 0b 01 | err=-3', // C6 /1 is not MOV
  '64 | c4 e2 79 18 03 | err=-3', // VEX
  '32 | 63 03 | err=-3', // 63 is ARPL outside 64-bit mode
  '32 | 40 8b 03 | err=-3', // 40 is INC EAX outside 64-bit mode
  '64 | 48 | err=-1', // REX alone
  '64 | 0f | err=-1', // two-byte escape without its second byte
  '64 | 8b | err=-1', // no ModRM
  '64 | 8b 04 | err=-1', // no SIB
  '64 | 8b 80 00 00 | err=-1', // disp32 cut short
  '64 | 8b 44 24 | err=-1', // disp8 missing
  '64 | c7 03 78 56 | err=-1', // imm32 cut short
  '64 | a1 20 00 e0 fe | err=-1', // moffs64 needs 8 bytes
  '16 | 8b 87 00 | err=-1', // disp16 cut short
  '64 | 66 66 | err=-1', // prefixes only
  '64 | 2e 2e 2e 48 c7 84 24 00 01 00 00 78 56 | err=-1', // the 15-byte instruction cut to 13
  '64 | 2e 2e 2e 2e 48 c7 84 24 00 01 00 00 78 56 34 12 | err=-2', // 16 bytes: too long
  '64 | 66 66 66 66 66 66 66 66 66 66 66 66 66 66 89 03 | err=-2', // 14 prefixes: the ModRM would be byte 16
  '64 | 66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 89 03 | err=-2', // 15 prefixes
  '64 | 8b c3 | err=-4', // mov eax, ebx: no memory operand
  '64 | 80 e0 01 | err=-4', // and al, 1
  '64 | f7 c0 01 00 00 00 | err=-4', // test eax, 1
  '64 | 0f b6 c1 | err=-4', // movzx eax, cl
  '64 | f0 09 c3 | err=-4', // lock or ebx, eax: register form
  '64 | f0 89 03 | err=-5', // lock mov [rbx], eax: #UD
  '64 | f0 c7 03 01 00 00 00 | err=-5', // lock mov dword [rbx], 1
  '64 | f0 39 03 | err=-5', // lock cmp [rbx], eax
  '64 | f0 83 3b 01 | err=-5', // lock cmp dword [rbx], 1
  '64 | f0 85 03 | err=-5', // lock test [rbx], eax
  '64 | f0 0b 03 | err=-5', // lock or eax, [rbx]: the destination is a register
  '64 | f0 2b 03 | err=-5', // lock sub eax, [rbx]
  '64 | f0 0f a3 03 | err=-5', // lock bt [rbx], eax
  '64 | f0 ab | err=-5', // lock stosd
  '64 | f0 a4 | err=-5', // lock movsb
  '64 | f0 0f b6 03 | err=-5', // lock movzx eax, byte [rbx]
  '64 | f0 a1 00 00 00 00 00 00 00 00 | err=-5', // lock mov eax, moffs
];
