// Guest copies (hv/vm/guest-copy.ts) on the simulated machine: a real EPT
// (arch/x86/ept.ts) maps guest RAM to host pages that are deliberately not
// adjacent, the guest's 4-level page tables (SDM Vol. 3A 4.5) are written
// into that RAM by this file, and every expected byte is read back from the
// host pages with the simulator's own accessors.
import { beforeEach, describe, expect, it } from 'vitest';
import { EPT_R, EPT_RWX, EPT_MT_WB, Ept } from '../../arch/x86/ept';
import type { SimMachine } from '../../arch/x86/sim-machine';
import {
  COPY_BAD_LENGTH, COPY_EPT_UNMAPPED, COPY_FAULT, COPY_OK, EptGuestPhysMemory, GuestMemory,
} from '../../hv/vm/guest-copy';
import { ACC_FETCH, ACC_USER, ACC_WRITE, GuestWalker, PagingState, WALK_FAULT, WALK_NONCANONICAL, WALK_OK } from '../../hv/vm/guest-walk';
import { baseMachine } from './machines';

// ---- SDM layouts -------------------------------------------------------------------------
const P = 1n;
const RW = 2n;
const US = 4n;
const A = 0x20n;
const D = 0x40n;
const PRESENT_RW = P | RW;
// #PF error code (4.7)
const EP = 1;
const EW = 2;
const EU = 4;

// ---- the machine -------------------------------------------------------------------------
/** Host RAM given to the guest (declared to the simulator), 4 MiB. */
const HBASE = 0x10000000;
/** Guest RAM 0..1 MiB (page tables live here) -> HBASE, RWX. */
const LOW_SIZE = 0x100000;
// Data pages: GPA -> HPA, on purpose neither adjacent nor in order.
const GPA_A = 0x200000;
const HPA_A = HBASE + 0x300000;
const GPA_B = 0x201000;
const HPA_B = HBASE + 0x105000;
const GPA_HOLE = 0x202000; // not mapped by the EPT
const GPA_C = 0x203000;
const HPA_C = HBASE + 0x200000;
const GPA_RO = 0x204000; // EPT read-only
const HPA_RO = HBASE + 0x201000;
// The guest's tables (GPAs in low RAM).
const PML4 = 0x1000;
const PDPT = 0x2000;
const PD = 0x3000;
const PT = 0x4000;
/** Linear pages 0x40000000 + i * 4 KiB use PT entry i (PML4E 0, PDPTE 1, PDE 0). */
const LIN = 0x40000000;
// PT entry i -> [GPA, flags]
const PTES: [number, bigint][] = [
  [GPA_A, PRESENT_RW], // 0
  [GPA_B, PRESENT_RW], // 1
  [GPA_HOLE, PRESENT_RW], // 2: EPT hole
  [GPA_C, PRESENT_RW | US], // 3
  [GPA_RO, PRESENT_RW], // 4: EPT read-only
  [GPA_C, P | US], // 5: guest read-only
  [GPA_C, RW], // 6: not present
];

let m: SimMachine;
let ept: Ept;
let ps: PagingState;
let walker: GuestWalker;
let gm: GuestMemory;

function hpaOfLow(gpa: number): number {
  return HBASE + gpa;
}
function put64(gpa: number, v: bigint): void {
  for (let i = 0; i < 8; i++) m.writeByte(hpaOfLow(gpa) + i, Number((v >> BigInt(8 * i)) & 0xffn));
}
function get64(gpa: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(m.readByte(hpaOfLow(gpa) + i));
  return v;
}
function hostBytes(hpa: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(m.readByte(hpa + i));
  return out;
}
function fillHost(hpa: number, n: number, seed: number): void {
  for (let i = 0; i < n; i++) m.writeByte(hpa + i, (seed + i * 7) & 0xff);
}
function pteGpa(i: number): number {
  return PT + i * 8;
}

beforeEach(() => {
  m = baseMachine();
  m.declareRegion(HBASE, 0x400000);
  ept = new Ept();
  expect(ept.init()).toBe(true);
  expect(ept.map(0, HBASE, LOW_SIZE, EPT_RWX, EPT_MT_WB)).toBe(0);
  expect(ept.map(GPA_A, HPA_A, 0x1000, EPT_RWX, EPT_MT_WB)).toBe(0);
  expect(ept.map(GPA_B, HPA_B, 0x1000, EPT_RWX, EPT_MT_WB)).toBe(0);
  expect(ept.map(GPA_C, HPA_C, 0x1000, EPT_RWX, EPT_MT_WB)).toBe(0);
  expect(ept.map(GPA_RO, HPA_RO, 0x1000, EPT_R, EPT_MT_WB)).toBe(0);
  // 4-level tables: PML4E 0 -> PDPT, PDPTE 1 -> PD, PDE 0 -> PT.
  put64(PML4, BigInt(PDPT) | PRESENT_RW | US);
  put64(PDPT + 8, BigInt(PD) | PRESENT_RW | US);
  put64(PD, BigInt(PT) | PRESENT_RW | US);
  PTES.forEach(([gpa, flags], i) => put64(pteGpa(i), BigInt(gpa) | flags));
  ps = new PagingState();
  ps.cr0 = 0x80000011; // PG, ET, PE
  ps.cr4 = 0x20; // PAE
  ps.efer = 0x500; // LME, LMA
  ps.cr3Lo = PML4;
  walker = new GuestWalker(new EptGuestPhysMemory(ept));
  gm = new GuestMemory(ept, walker);
});

describe('EptGuestPhysMemory', () => {
  it('reads 8- and 4-byte entries through the EPT; -1 when unmapped or not readable', () => {
    const mem = new EptGuestPhysMemory(ept);
    put64(0x5008, 0x8123_4567_89ab_cdefn);
    expect(mem.readEntry(0x5008, 8)).toBe(0x89abcdef);
    expect(mem.entryHi).toBe(0x81234567);
    expect(mem.readEntry(0x500c, 4)).toBe(0x81234567);
    expect(mem.entryHi).toBe(0);
    expect(mem.readEntry(GPA_HOLE, 8)).toBe(-1);
    expect(mem.readEntry(0x1_0000_0000, 8)).toBe(-1);
  });

  it('sets bits with one LOCK OR at the host address; refuses EPT read-only and unmapped entries', () => {
    const mem = new EptGuestPhysMemory(ept);
    put64(0x5010, 0xffff_0000_0000_0003n);
    expect(mem.setEntryBits(0x5010, 0x60)).toBe(true);
    expect(get64(0x5010)).toBe(0xffff_0000_0000_0063n);
    expect(m.atomicOrs).toEqual([[hpaOfLow(0x5010), 0x60]]);
    fillHost(HPA_RO, 8, 1);
    const before = hostBytes(HPA_RO, 8);
    expect(mem.setEntryBits(GPA_RO, 0x20)).toBe(false);
    expect(mem.setEntryBits(GPA_HOLE, 0x20)).toBe(false);
    expect(hostBytes(HPA_RO, 8)).toEqual(before);
    expect(m.atomicOrs.length).toBe(1);
  });
});

describe('guest-physical copies', () => {
  it('cross a page boundary into a non-adjacent host page, both ways', () => {
    fillHost(HPA_A, 0x1000, 3);
    fillHost(HPA_B, 0x1000, 90);
    const dst = new Uint8Array(0x40);
    expect(gm.copyFromGpa(GPA_A + 0xff0, dst, 8, 0x30)).toBe(COPY_OK);
    expect([...dst.subarray(8, 0x38)]).toEqual([...hostBytes(HPA_A + 0xff0, 0x10), ...hostBytes(HPA_B, 0x20)]);
    expect([...dst.subarray(0, 8), ...dst.subarray(0x38)]).toEqual(new Array(16).fill(0));

    const src = Uint8Array.from({ length: 0x1100 }, (_, i) => (i * 13 + 5) & 0xff);
    expect(gm.copyToGpa(GPA_A + 0x801, src, 0x10, 0x1000)).toBe(COPY_OK);
    expect(hostBytes(HPA_A + 0x801, 0x7ff)).toEqual([...src.subarray(0x10, 0x80f)]);
    expect(hostBytes(HPA_B, 0x801)).toEqual([...src.subarray(0x80f, 0x1010)]);
  });

  it('refuse a page the EPT maps to host memory the hypervisor does not own (MMIO in an identity map): no panic', () => {
    const MMIO_GPA = 0x205000;
    expect(ept.map(MMIO_GPA, 0xe0000000, 0x1000, EPT_RWX, EPT_MT_WB)).toBe(0);
    const dst = new Uint8Array(16);
    expect(gm.copyFromGpa(MMIO_GPA + 8, dst, 0, 8)).toBe(COPY_EPT_UNMAPPED);
    expect(gm.copyToGpa(MMIO_GPA, dst, 0, 8)).toBe(COPY_EPT_UNMAPPED);
    expect(gm.copyFromGpa(MMIO_GPA - 8, dst, 0, 16)).toBe(COPY_EPT_UNMAPPED); // the GPA_RO page before it is copied, then the refusal
    const phys = new EptGuestPhysMemory(ept);
    expect(phys.readEntry(MMIO_GPA, 8)).toBe(-1);
    expect(phys.setEntryBits(MMIO_GPA, 0x20)).toBe(false);
  });

  it('stop at an EPT hole: the pages before it are copied, nothing after', () => {
    fillHost(HPA_B, 0x1000, 50);
    const dst = new Uint8Array(0x3000).fill(0xee);
    expect(gm.copyFromGpa(GPA_B + 0xf00, dst, 0, 0x1200)).toBe(COPY_EPT_UNMAPPED);
    expect([...dst.subarray(0, 0x100)]).toEqual(hostBytes(HPA_B + 0xf00, 0x100));
    expect(dst.subarray(0x100).every((b) => b === 0xee)).toBe(true);
    // A range that starts in the hole copies nothing.
    const dst2 = new Uint8Array(16).fill(0xee);
    expect(gm.copyFromGpa(GPA_HOLE + 8, dst2, 0, 16)).toBe(COPY_EPT_UNMAPPED);
    expect(dst2.every((b) => b === 0xee)).toBe(true);
  });

  it('a write needs EPT W: a read-only page stops it (reads are fine)', () => {
    fillHost(HPA_C, 0x1000, 0);
    fillHost(HPA_RO, 0x1000, 77);
    const roBefore = hostBytes(HPA_RO, 0x1000);
    const src = new Uint8Array(0x200).fill(0x5a);
    expect(gm.copyToGpa(GPA_C + 0xf00, src, 0, 0x200)).toBe(COPY_EPT_UNMAPPED);
    expect(hostBytes(HPA_C + 0xf00, 0x100)).toEqual(new Array(0x100).fill(0x5a)); // the prefix
    expect(hostBytes(HPA_RO, 0x1000)).toEqual(roBefore);
    const dst = new Uint8Array(0x10);
    expect(gm.copyFromGpa(GPA_RO, dst, 0, 0x10)).toBe(COPY_OK);
    expect([...dst]).toEqual(roBefore.slice(0, 0x10));
  });

  it('bounds: negative, fractional, past the buffer, past 2^52; length 0 is fine', () => {
    const buf = new Uint8Array(16);
    const bad: [number, number, number][] = [
      // gpa, offset, length
      [GPA_A, -1, 4],
      [GPA_A, 0, -1],
      [GPA_A, 0.5, 4],
      [GPA_A, 0, 2.5],
      [GPA_A, 0, 17],
      [GPA_A, 8, 9],
      [GPA_A, 16, 1],
      [GPA_A, NaN, 1],
      [GPA_A, 0, Infinity],
      [-0x1000, 0, 4],
      [0.5, 0, 4],
      [2 ** 52 - 8, 0, 9],
      [2 ** 52, 0, 0],
    ];
    for (const [gpa, off, len] of bad) {
      expect(gm.copyFromGpa(gpa, buf, off, len), `${gpa} ${off} ${len}`).toBe(COPY_BAD_LENGTH);
      expect(gm.copyToGpa(gpa, buf, off, len), `${gpa} ${off} ${len}`).toBe(COPY_BAD_LENGTH);
    }
    expect(gm.copyFromGpa(GPA_A, buf, 16, 0)).toBe(COPY_OK);
    expect(gm.copyFromGpa(GPA_HOLE, buf, 0, 0)).toBe(COPY_OK);
    expect(gm.copyFromGpa(GPA_A, buf, 0, 16)).toBe(COPY_OK);
    // 2^52 - 8 .. 2^52 is in range but unmapped
    expect(gm.copyFromGpa(2 ** 52 - 8, buf, 0, 8)).toBe(COPY_EPT_UNMAPPED);
  });
});

describe('guest-virtual copies', () => {
  it('cross pages mapped to non-adjacent host pages; A set on every entry, D only by writes', () => {
    fillHost(HPA_A, 0x1000, 1);
    fillHost(HPA_B, 0x1000, 2);
    const dst = new Uint8Array(0x20);
    expect(gm.copyFromGva(ps, 0, LIN + 0xff8, dst, 0, 0x20, 0)).toBe(COPY_OK);
    expect([...dst]).toEqual([...hostBytes(HPA_A + 0xff8, 8), ...hostBytes(HPA_B, 0x18)]);
    for (const gpa of [PML4, PDPT + 8, PD, pteGpa(0), pteGpa(1)]) expect(get64(gpa) & (A | D), `0x${gpa.toString(16)}`).toBe(A);
    const src = Uint8Array.from({ length: 0x20 }, (_, i) => 0xc0 + i);
    expect(gm.copyToGva(ps, 0, LIN + 0xff0, src, 4, 0x1c, 0)).toBe(COPY_OK);
    expect([...hostBytes(HPA_A + 0xff0, 0x10), ...hostBytes(HPA_B, 0xc)]).toEqual([...src.subarray(4)]);
    expect(get64(pteGpa(0)) & (A | D)).toBe(A | D);
    expect(get64(pteGpa(1)) & (A | D)).toBe(A | D);
    expect(get64(PD) & (A | D)).toBe(A);
  });

  it('a #PF in the middle: prefix copied, fault address = first byte of the failing page', () => {
    fillHost(HPA_C, 0x1000, 9);
    const dst = new Uint8Array(0x200).fill(0xee);
    expect(gm.copyFromGva(ps, 0, LIN + 0x5f00, dst, 0, 0x200, ACC_USER)).toBe(COPY_FAULT);
    expect(gm.faultStatus).toBe(WALK_FAULT);
    expect(walker.faultError).toBe(EU); // not present, user read
    expect([gm.faultLinHi, gm.faultLinLo]).toEqual([0, LIN + 0x6000]);
    expect([...dst.subarray(0, 0x100)]).toEqual(hostBytes(HPA_C + 0xf00, 0x100));
    expect(dst.subarray(0x100).every((b) => b === 0xee)).toBe(true);
  });

  it('a write to a guest read-only page: P|W|U, nothing written', () => {
    fillHost(HPA_C, 0x1000, 9);
    const before = hostBytes(HPA_C, 0x1000);
    const src = new Uint8Array(8).fill(1);
    expect(gm.copyToGva(ps, 0, LIN + 0x5010, src, 0, 8, ACC_USER)).toBe(COPY_FAULT);
    expect(gm.faultStatus).toBe(WALK_FAULT);
    expect(walker.faultError).toBe(EP | EW | EU);
    expect([gm.faultLinHi, gm.faultLinLo]).toEqual([0, LIN + 0x5010]);
    expect(hostBytes(HPA_C, 0x1000)).toEqual(before);
  });

  it('a page the EPT does not map: COPY_EPT_UNMAPPED, walk fine, walker.gpa = that GPA', () => {
    const dst = new Uint8Array(8);
    expect(gm.copyFromGva(ps, 0, LIN + 0x2010, dst, 0, 8, 0)).toBe(COPY_EPT_UNMAPPED);
    expect(gm.faultStatus).toBe(WALK_OK);
    expect(walker.gpa).toBe(GPA_HOLE + 0x10);
    expect([gm.faultLinHi, gm.faultLinLo]).toEqual([0, LIN + 0x2010]);
  });

  it('fetches need EPT X, reads need R', () => {
    const dst = new Uint8Array(4);
    expect(gm.copyFromGva(ps, 0, LIN + 0x4000, dst, 0, 4, 0)).toBe(COPY_OK);
    expect(gm.copyFromGva(ps, 0, LIN + 0x4000, dst, 0, 4, ACC_FETCH)).toBe(COPY_EPT_UNMAPPED);
    expect(gm.copyFromGva(ps, 0, LIN, dst, 0, 4, ACC_FETCH)).toBe(COPY_OK);
    expect(gm.copyToGva(ps, 0, LIN + 0x4000, dst, 0, 4, 0)).toBe(COPY_EPT_UNMAPPED);
  });

  it('bounds are checked before any walk', () => {
    const buf = new Uint8Array(8);
    for (const [off, len] of [[-1, 1], [0, 9], [4, 5], [0.5, 1], [0, -3]]) {
      expect(gm.copyFromGva(ps, 0, LIN, buf, off, len, 0)).toBe(COPY_BAD_LENGTH);
      expect(gm.copyToGva(ps, 0, LIN, buf, off, len, 0)).toBe(COPY_BAD_LENGTH);
    }
    expect(get64(pteGpa(0)) & A).toBe(0n);
    expect(gm.readGva(ps, 0, LIN, 3, 0)).toBe(COPY_BAD_LENGTH);
    expect(gm.writeGva(ps, 0, LIN, 16, 0, 0, 0)).toBe(COPY_BAD_LENGTH);
  });

  it('4-level: the non-canonical page after 0x00007ffffffff000 ends the copy with WALK_NONCANONICAL', () => {
    // PML4E 255 -> 0x6000, PDPTE 511 -> 0x7000, PDE 511 -> 0x8000, PTE 511 -> page A.
    put64(PML4 + 255 * 8, 0x6000n | PRESENT_RW);
    put64(0x6000 + 511 * 8, 0x7000n | PRESENT_RW);
    put64(0x7000 + 511 * 8, 0x8000n | PRESENT_RW);
    put64(0x8000 + 511 * 8, BigInt(GPA_A) | PRESENT_RW);
    fillHost(HPA_A, 0x1000, 4);
    const dst = new Uint8Array(0x20);
    expect(gm.copyFromGva(ps, 0x7fff, 0xfffffff0, dst, 0, 0x20, 0)).toBe(COPY_FAULT);
    expect(gm.faultStatus).toBe(WALK_NONCANONICAL);
    expect([gm.faultLinHi, gm.faultLinLo]).toEqual([0x8000, 0]);
    expect([...dst.subarray(0, 0x10)]).toEqual(hostBytes(HPA_A + 0xff0, 0x10));
  });

  it('32-bit paging: linear addresses wrap at 4 GiB, the high half is ignored', () => {
    // PD at 0x9000: PDE 1023 -> PT 0xa000 (PTE 1023 -> page A), PDE 0 -> PT 0xb000 (PTE 0 -> page B).
    const pd32 = 0x9000;
    const put32 = (gpa: number, v: number): void => {
      for (let i = 0; i < 4; i++) m.writeByte(hpaOfLow(gpa) + i, (v >>> (8 * i)) & 0xff);
    };
    put32(pd32 + 1023 * 4, 0xa000 | 3);
    put32(0xa000 + 1023 * 4, GPA_A | 3);
    put32(pd32, 0xb000 | 3);
    put32(0xb000, GPA_B | 3);
    const ps32 = new PagingState();
    ps32.cr0 = 0x80000011;
    ps32.cr3Lo = pd32;
    fillHost(HPA_A, 0x1000, 11);
    fillHost(HPA_B, 0x1000, 12);
    const dst = new Uint8Array(8);
    expect(gm.copyFromGva(ps32, 0x1234, 0xfffffffc, dst, 0, 8, 0)).toBe(COPY_OK);
    expect([...dst]).toEqual([...hostBytes(HPA_A + 0xffc, 4), ...hostBytes(HPA_B, 4)]);
    // The PDE entries got A; the 4-byte entries are ORed in place.
    expect(m.readByte(hpaOfLow(pd32 + 1023 * 4)) & 0x20).toBe(0x20);
    expect(m.readByte(hpaOfLow(pd32)) & 0x20).toBe(0x20);
    // The page after the wrap not present: CR2 is linear address 0 (32 bits, no carry into the high half).
    put32(0xb000, GPA_B | 2);
    expect(gm.copyFromGva(ps32, 0, 0xfffffffc, dst, 0, 8, 0)).toBe(COPY_FAULT);
    expect(gm.faultStatus).toBe(WALK_FAULT);
    expect(walker.faultError).toBe(0);
    expect([gm.faultLinHi, gm.faultLinLo]).toEqual([0, 0]);
  });
});

describe('scalar guest-virtual accesses', () => {
  it('an 8-byte read straddling two non-adjacent host pages', () => {
    fillHost(HPA_A, 0x1000, 0x31);
    fillHost(HPA_B, 0x1000, 0x92);
    for (let k = 1; k < 8; k++) {
      const bytes = [...hostBytes(HPA_A + 0x1000 - k, k), ...hostBytes(HPA_B, 8 - k)];
      let want = 0n;
      for (let i = 7; i >= 0; i--) want = (want << 8n) | BigInt(bytes[i]);
      const lo = gm.readGva(ps, 0, LIN + 0x1000 - k, 8, 0);
      expect(lo, `k ${k}`).toBe(Number(want & 0xffffffffn));
      expect(gm.valueHi, `k ${k}`).toBe(Number(want >> 32n));
    }
    // 2 and 4 bytes, straddling too; valueHi is 0.
    const b2 = [...hostBytes(HPA_A + 0xfff, 1), ...hostBytes(HPA_B, 1)];
    expect(gm.readGva(ps, 0, LIN + 0xfff, 2, 0)).toBe(b2[0] | (b2[1] << 8));
    expect(gm.valueHi).toBe(0);
    const b4 = [...hostBytes(HPA_A + 0xffe, 2), ...hostBytes(HPA_B, 2)];
    expect(gm.readGva(ps, 0, LIN + 0xffe, 4, 0)).toBe((b4[0] | (b4[1] << 8) | (b4[2] << 16) | (b4[3] << 24)) >>> 0);
    expect(gm.readGva(ps, 0, LIN + 0x10, 1, 0)).toBe(m.readByte(HPA_A + 0x10));
  });

  it('an 8-byte write straddling two pages, little-endian', () => {
    expect(gm.writeGva(ps, 0, LIN + 0xffd, 8, 0x89abcdef, 0x01234567, 0)).toBe(COPY_OK);
    expect([...hostBytes(HPA_A + 0xffd, 3), ...hostBytes(HPA_B, 5)]).toEqual([0x67, 0x45, 0x23, 0x01, 0xef, 0xcd, 0xab, 0x89]);
    expect(gm.writeGva(ps, 0, LIN + 0x20, 2, 0xffffffff, 0xfffe1234, 0)).toBe(COPY_OK);
    expect(hostBytes(HPA_A + 0x20, 3)).toEqual([0x34, 0x12, 0]);
    expect(get64(pteGpa(0)) & D).toBe(D);
  });

  it('a straddling write whose second page fails writes nothing at all', () => {
    fillHost(HPA_C, 0x1000, 5);
    const before = hostBytes(HPA_C, 0x1000);
    // C (PTE 3) then the EPT read-only page (PTE 4).
    expect(gm.writeGva(ps, 0, LIN + 0x3ffc, 8, 0, 0, 0)).toBe(COPY_EPT_UNMAPPED);
    expect([gm.faultLinHi, gm.faultLinLo]).toEqual([0, LIN + 0x4000]);
    // guest read-only (PTE 5) then not present (PTE 6), from CPL 3: the first page already faults.
    expect(gm.writeGva(ps, 0, LIN + 0x5ffc, 8, 0, 0, ACC_USER)).toBe(COPY_FAULT);
    expect(walker.faultError).toBe(EP | EW | EU);
    // B then the EPT hole (PTE 2), and a read over a #PF.
    expect(gm.writeGva(ps, 0, LIN + 0x1ffe, 4, 0, 0, 0)).toBe(COPY_EPT_UNMAPPED);
    expect(gm.readGva(ps, 0, LIN + 0x6ffe, 4, ACC_WRITE)).toBe(COPY_FAULT);
    expect(walker.faultError).toBe(EW);
    expect(hostBytes(HPA_C, 0x1000)).toEqual(before);
  });
});
