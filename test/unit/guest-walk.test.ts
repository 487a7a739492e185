// The guest page walker (hv/vm/guest-walk.ts). Guest page tables are built
// here in a sparse fake guest-physical memory, entries assembled with BigInt
// from the SDM Vol. 3A chapter 4 layouts (Tables 4-4..4-6 for 32-bit paging,
// 4-7..4-11 for PAE, 4-14..4-19 for 4-level paging), and every expected GPA
// and #PF error code (4.7, Figure 4-12) is written from those rules, never
// taken from the module under test.
import { describe, expect, it } from 'vitest';
import {
  ACC_FETCH, ACC_IMPLICIT, ACC_USER, ACC_WRITE, GuestWalker, type GuestPhysMemory, PagingState, WALK_EPT_UNMAPPED,
  WALK_FAULT, WALK_NONCANONICAL, WALK_OK, WALK_UNSUPPORTED,
} from '../../hv/vm/guest-walk';
import { GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_IA32_EFER, GUEST_PDPTE0, GUEST_PDPTE1, GUEST_PDPTE2, GUEST_PDPTE3, GUEST_RFLAGS, GUEST_SS_AR } from '../../arch/x86/vmcs';
import { baseMachine } from './machines';

// ---- SDM bit layouts ------------------------------------------------------------------
const P = 1n; // present
const RW = 2n; // read/write
const US = 4n; // user/supervisor
const A = 0x20n; // accessed
const D = 0x40n; // dirty
const PS = 0x80n; // page size
const XD = 1n << 63n; // execute-disable
const PRESENT_RW_US = P | RW | US;

// #PF error code bits (4.7)
const EP = 1; // present (protection or reserved bit)
const EW = 2; // write
const EU = 4; // user-mode access
const ERSVD = 8; // reserved bit
const EID = 16; // instruction fetch

// control bits (2.5, 2.2.1)
const CR0_PE = 1;
const CR0_WP = 1 << 16;
const CR0_PG = 0x80000000;
const CR4_PSE = 1 << 4;
const CR4_PAE = 1 << 5;
const CR4_LA57 = 1 << 12;
const CR4_SMEP = 1 << 20;
const CR4_SMAP = 1 << 21;
const EFER_LME = 1 << 8;
const EFER_LMA = 1 << 10;
const EFER_NXE = 1 << 11;
const RFLAGS_AC = 1 << 18;

// ---- a sparse guest-physical memory -----------------------------------------------------
class FakeMem implements GuestPhysMemory {
  entryHi = 0;
  readonly pages = new Map<number, Uint8Array>();
  /** Pages the "EPT" does not map (reads fail) and pages it maps read-only (A/D updates fail). */
  readonly unmapped = new Set<number>();
  readonly readOnly = new Set<number>();
  /** Every read [gpa, size] and every setEntryBits [gpa, bits]. */
  readonly reads: [number, number][] = [];
  readonly writes: [number, number][] = [];

  private page(gpa: bigint): Uint8Array {
    const n = Number(gpa >> 12n);
    let p = this.pages.get(n);
    if (!p) {
      p = new Uint8Array(4096);
      this.pages.set(n, p);
    }
    return p;
  }
  put(gpa: bigint, value: bigint, size: number): void {
    const p = this.page(gpa);
    for (let i = 0; i < size; i++) p[Number(gpa & 0xfffn) + i] = Number((value >> BigInt(i * 8)) & 0xffn);
  }
  get(gpa: bigint, size: number): bigint {
    const p = this.page(gpa);
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(p[Number(gpa & 0xfffn) + i]);
    return v;
  }
  readEntry(gpa: number, size: number): number {
    this.reads.push([gpa, size]);
    if (this.unmapped.has(Math.floor(gpa / 4096))) return -1;
    const v = this.get(BigInt(gpa), size);
    this.entryHi = Number(v >> 32n);
    return Number(v & 0xffffffffn);
  }
  setEntryBits(gpa: number, bits: number): boolean {
    const page = Math.floor(gpa / 4096);
    if (this.unmapped.has(page) || this.readOnly.has(page)) return false;
    this.writes.push([gpa, bits]);
    this.put(BigInt(gpa), this.get(BigInt(gpa), 4) | BigInt(bits), 4);
    return true;
  }
}

/** Guest page tables for one paging mode, tables taken from a bump allocator. */
class Tables {
  readonly mem = new FakeMem();
  readonly ps = new PagingState();
  readonly walker = new GuestWalker(this.mem);
  private next = 0x100000n;
  root: bigint;

  constructor(mode: 'flat' | '32' | 'pae' | '4level') {
    this.root = this.alloc();
    if (mode === 'flat') this.ps.cr0 = CR0_PE;
    if (mode === '32') this.ps.cr0 = CR0_PE | CR0_PG;
    if (mode === 'pae') {
      this.ps.cr0 = CR0_PE | CR0_PG;
      this.ps.cr4 = CR4_PAE;
    }
    if (mode === '4level') {
      this.ps.cr0 = CR0_PE | CR0_PG;
      this.ps.cr4 = CR4_PAE;
      this.ps.efer = EFER_LME | EFER_LMA;
    }
    this.ps.cr3Lo = Number(this.root & 0xffffffffn);
    this.ps.cr3Hi = Number(this.root >> 32n);
  }
  alloc(): bigint {
    const p = this.next;
    this.next += 0x1000n;
    return p;
  }

  /** GPA of the entry for `lin` at `level` (4 = PML4 .. 1 = PT) in `table`, 8-byte entries. */
  static slot(table: bigint, lin: bigint, level: number): bigint {
    return table + ((lin >> BigInt(12 + 9 * (level - 1))) & 511n) * 8n;
  }

  /**
   * 4-level: map `lin` with a leaf at `leafLevel` (1 = 4 KiB PTE, 2 = 2 MiB PDE
   * with PS, 3 = 1 GiB PDPTE with PS). `upper` gives the flags of the entries
   * above the leaf (PML4E first); existing tables are reused.
   */
  map4(lin: bigint, leafLevel: number, leaf: bigint, upper: bigint[] = []): { entries: bigint[] } {
    let table = this.root;
    const entries: bigint[] = [];
    for (let level = 4; level > leafLevel; level--) {
      const at = Tables.slot(table, lin, level);
      entries.push(at);
      const flags = upper[4 - level] ?? PRESENT_RW_US;
      let e = this.mem.get(at, 8);
      let next = e & 0xffffffffff000n;
      if ((e & P) === 0n) next = this.alloc();
      e = next | flags;
      this.mem.put(at, e, 8);
      table = next;
    }
    const at = Tables.slot(table, lin, leafLevel);
    entries.push(at);
    this.mem.put(at, leaf, 8);
    return { entries };
  }

  /** 32-bit paging: PDE (and PTE unless `bigPage`) for `lin`, 4-byte entries. */
  map32(lin: bigint, pde: bigint, pte?: bigint): { entries: bigint[] } {
    const pdeAt = this.root + ((lin >> 22n) & 1023n) * 4n;
    if (pte === undefined) {
      this.mem.put(pdeAt, pde, 4);
      return { entries: [pdeAt] };
    }
    const pt = this.alloc();
    this.mem.put(pdeAt, pt | pde, 4);
    const pteAt = pt + ((lin >> 12n) & 1023n) * 4n;
    this.mem.put(pteAt, pte, 4);
    return { entries: [pdeAt, pteAt] };
  }

  /** PAE: PDPTE register for `lin` (bits 31:30) = `pdpte` | a new PD, then PDE (and PTE). */
  mapPae(lin: bigint, pdpteFlags: bigint, pde: bigint, pte?: bigint): { entries: bigint[] } {
    const i = Number((lin >> 30n) & 3n);
    const pd = this.alloc();
    const pdpte = pd | pdpteFlags;
    this.ps.pdpteLo[i] = Number(pdpte & 0xffffffffn);
    this.ps.pdpteHi[i] = Number(pdpte >> 32n);
    const pdeAt = pd + ((lin >> 21n) & 511n) * 8n;
    if (pte === undefined) {
      this.mem.put(pdeAt, pde, 8);
      return { entries: [pdeAt] };
    }
    const pt = this.alloc();
    this.mem.put(pdeAt, pt | pde, 8);
    const pteAt = pt + ((lin >> 12n) & 511n) * 8n;
    this.mem.put(pteAt, pte, 8);
    return { entries: [pdeAt, pteAt] };
  }

  walk(lin: bigint, access: number): number {
    return this.walker.walk(this.ps, Number(lin >> 32n), Number(lin & 0xffffffffn), access);
  }
  /** Walk and expect success: returns the GPA. */
  ok(lin: bigint, access: number): bigint {
    const st = this.walk(lin, access);
    expect({ st, err: this.walker.faultError }).toEqual({ st: WALK_OK, err: 0 });
    return BigInt(this.walker.gpa);
  }
  /** Walk and expect a #PF: returns the error code. */
  fault(lin: bigint, access: number): number {
    const st = this.walk(lin, access);
    expect(st).toBe(WALK_FAULT);
    return this.walker.faultError;
  }
}

describe('API constants', () => {
  it('access flags sit at the #PF error-code bit positions (4.7)', () => {
    expect([ACC_WRITE, ACC_USER, ACC_FETCH]).toEqual([EW, EU, EID]);
    expect(ACC_IMPLICIT & 0x1f).toBe(0);
    expect([WALK_OK, WALK_FAULT, WALK_EPT_UNMAPPED, WALK_UNSUPPORTED, WALK_NONCANONICAL]).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('PagingState', () => {
  it('mode() follows Table 4-1', () => {
    const ps = new PagingState();
    const cases: [number, number, number, number][] = [
      // cr0, cr4, efer, mode
      [CR0_PE, CR4_PAE | CR4_PSE, EFER_LME, 0],
      [0, 0, 0, 0],
      [CR0_PE | CR0_PG, 0, 0, 1],
      [CR0_PE | CR0_PG, CR4_PSE | CR4_LA57, 0, 1],
      [CR0_PE | CR0_PG, CR4_PAE, 0, 2],
      [CR0_PE | CR0_PG, CR4_PAE | CR4_LA57, 0, 2],
      [CR0_PE | CR0_PG, CR4_PAE, EFER_LME | EFER_LMA, 3],
      [CR0_PE | CR0_PG, CR4_PAE | CR4_LA57, EFER_LME | EFER_LMA, 4],
    ];
    for (const [cr0, cr4, efer, mode] of cases) {
      ps.cr0 = cr0 >>> 0;
      ps.cr4 = cr4;
      ps.efer = efer;
      expect(ps.mode(), `cr0 ${cr0.toString(16)} cr4 ${cr4.toString(16)} efer ${efer.toString(16)}`).toBe(mode);
    }
  });

  it('load() reads CR0/CR3/CR4/EFER/RFLAGS, CPL from SS.DPL and, in PAE mode, the PDPTE fields', () => {
    const m = baseMachine();
    m.currentVmcs = 0x7000;
    m.setVmcs(GUEST_CR0, 0x80010031);
    m.setVmcs(GUEST_CR3, 0x000123456789a000);
    m.setVmcs(GUEST_CR4, CR4_PAE | CR4_SMAP);
    m.setVmcs(GUEST_IA32_EFER, EFER_NXE);
    m.setVmcs(GUEST_RFLAGS, 0x40202);
    m.setVmcs(GUEST_SS_AR, 0xc0f3); // DPL 3 (bits 6:5), present, type 3
    const pdptes = [0x80000001, 0x123400000001, 0, 0xfffff000];
    const fields = [GUEST_PDPTE0, GUEST_PDPTE1, GUEST_PDPTE2, GUEST_PDPTE3];
    for (let i = 0; i < 4; i++) m.setVmcs(fields[i], pdptes[i]);
    const ps = new PagingState();
    ps.load();
    expect([ps.cr0, ps.cr3Hi, ps.cr3Lo, ps.cr4, ps.efer, ps.rflags, ps.cpl]).toEqual([
      0x80010031, 0x12345, 0x6789a000, CR4_PAE | CR4_SMAP, EFER_NXE, 0x40202, 3,
    ]);
    expect(ps.mode()).toBe(2);
    expect([...ps.pdpteLo]).toEqual([0x80000001, 1, 0, 0xfffff000]);
    expect([...ps.pdpteHi]).toEqual([0, 0x1234, 0, 0]);

    // 4-level: the PDPTE fields are not read (a VM exit does not save them).
    m.setVmcs(GUEST_IA32_EFER, EFER_LME | EFER_LMA);
    m.setVmcs(GUEST_SS_AR, 0xa09b & ~0x60); // DPL 0
    const ps4 = new PagingState();
    ps4.load();
    expect(ps4.mode()).toBe(3);
    expect(ps4.cpl).toBe(0);
    expect([...ps4.pdpteLo, ...ps4.pdpteHi]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('paging off', () => {
  it('linear = physical, bits 31:0 only, no memory read, no fault', () => {
    const t = new Tables('flat');
    expect(t.walk(0x5_89abcdefn, ACC_WRITE | ACC_USER | ACC_FETCH)).toBe(WALK_OK);
    expect(t.walker.gpa).toBe(0x89abcdef);
    expect(t.walker.pageSize).toBe(4096);
    expect(t.mem.reads).toEqual([]);
    expect(t.mem.writes).toEqual([]);
  });
});

describe('32-bit paging (4.3)', () => {
  it('4 KiB page: PDE bits 31:22, PTE bits 21:12, offset 11:0', () => {
    const t = new Tables('32');
    const lin = 0xc0403a5cn;
    t.map32(lin, PRESENT_RW_US, 0x12345000n | PRESENT_RW_US);
    expect(t.ok(lin, 0)).toBe(0x12345a5cn);
    expect(t.walker.pageSize).toBe(0x1000);
    expect(t.mem.reads.map((r) => r[1])).toEqual([4, 4]);
  });

  it('4 MiB page only with CR4.PSE; PS is ignored (a page table) without it', () => {
    const t = new Tables('32');
    const lin = 0x80654321n;
    t.map32(lin, 0x12c00000n | PS | PRESENT_RW_US);
    t.ps.cr4 = CR4_PSE;
    expect(t.ok(lin, 0)).toBe(0x12c00000n | (lin & 0x3fffffn));
    expect(t.walker.pageSize).toBe(0x400000);
    // Without PSE the same PDE points to a page table at bits 31:12 = 0x12c00000.
    t.ps.cr4 = 0;
    t.mem.put(0x12c00000n + ((lin >> 12n) & 1023n) * 4n, 0x777000n | P, 4);
    expect(t.ok(lin, 0)).toBe(0x777000n | (lin & 0xfffn));
    expect(t.walker.pageSize).toBe(0x1000);
  });

  it('PSE-36: PDE bits 20:13 are physical-address bits 39:32 of a 4 MiB page', () => {
    const t = new Tables('32');
    t.ps.cr4 = CR4_PSE;
    t.walker.maxPhysAddr = 40;
    const lin = 0x00abcdefn;
    const page = 0xab_ffc00000n;
    t.map32(lin, (page & 0xffc00000n) | ((page >> 32n) << 13n) | PS | P);
    expect(t.ok(lin, 0)).toBe(page | (lin & 0x3fffffn));
  });

  it('4 MiB PDE reserved bits 21:(M-19): bit 21 with M = 40, bits 21:17 with M = 36', () => {
    const t = new Tables('32');
    t.ps.cr4 = CR4_PSE;
    const lin = 0x00400000n;
    t.walker.maxPhysAddr = 40;
    t.map32(lin, 0x00400000n | (1n << 21n) | PS | P);
    expect(t.fault(lin, 0)).toBe(EP | ERSVD);
    expect(t.fault(lin, ACC_WRITE | ACC_USER)).toBe(EP | ERSVD | EW | EU);
    // bit 17 = address bit 36: fine with M = 40, reserved with M = 36.
    t.map32(lin, 0x00400000n | (1n << 17n) | PS | P);
    expect(t.ok(lin, 0)).toBe(0x10_00400000n);
    t.walker.maxPhysAddr = 36;
    expect(t.fault(lin, 0)).toBe(EP | ERSVD);
    // bit 16 = address bit 35: fine with M = 36.
    t.map32(lin, 0x00400000n | (1n << 16n) | PS | P);
    expect(t.ok(lin, 0)).toBe(0x8_00400000n);
  });

  it('no reserved bits in a 4 KiB PDE or PTE; no XD: fetches allowed, I/D only with SMEP', () => {
    const t = new Tables('32');
    t.ps.efer = EFER_NXE; // no effect in 32-bit paging
    const lin = 0x1000n;
    // PDE: ignored bits 11:8 and PS (ignored without CR4.PSE); PTE: ignored bits 11:9, G, PAT.
    t.map32(lin, 0xf80n | PRESENT_RW_US, 0xfff00000n | 0xf80n | PRESENT_RW_US);
    expect(t.ok(lin, ACC_FETCH | ACC_USER)).toBe(0xfff00000n);
    t.map32(0x400000n, PRESENT_RW_US, 0n); // PTE not present
    expect(t.fault(0x400000n, ACC_FETCH)).toBe(0);
    t.ps.cr4 = CR4_SMEP;
    expect(t.fault(0x400000n, ACC_FETCH)).toBe(EID);
    expect(t.fault(0x1000n, ACC_FETCH)).toBe(EP | EID); // supervisor fetch from a user page
  });

  it('not present PDE or PTE: P = 0, W and U describe the access', () => {
    const t = new Tables('32');
    expect(t.fault(0x400000n, 0)).toBe(0);
    expect(t.fault(0x400000n, ACC_WRITE | ACC_USER)).toBe(EW | EU);
    t.map32(0x800000n, PRESENT_RW_US, RW | US); // PTE not present
    expect(t.fault(0x800000n, ACC_WRITE)).toBe(EW);
  });

  it('U/S and R/W: the PDE and the PTE both count; WP only for supervisor writes; SMAP', () => {
    const t = new Tables('32');
    t.map32(0x1000n, P | RW, 0x5000n | PRESENT_RW_US); // PDE supervisor
    expect(t.fault(0x1000n, ACC_USER)).toBe(EP | EU);
    expect(t.ok(0x1000n, ACC_WRITE)).toBe(0x5000n);
    t.map32(0x400000n, P | US, 0x6000n | PRESENT_RW_US); // PDE read-only
    expect(t.fault(0x400000n, ACC_USER | ACC_WRITE)).toBe(EP | EW | EU);
    expect(t.ok(0x400000n, ACC_WRITE)).toBe(0x6000n);
    t.ps.cr0 = (t.ps.cr0 | CR0_WP) >>> 0;
    expect(t.fault(0x400000n, ACC_WRITE)).toBe(EP | EW);
    t.ps.cr4 = CR4_SMAP;
    expect(t.fault(0x400000n, 0)).toBe(EP);
    t.ps.rflags = RFLAGS_AC;
    expect(t.ok(0x400000n, 0)).toBe(0x6000n);
  });
});

describe('PAE paging (4.4)', () => {
  it('4 KiB and 2 MiB pages through the PDPTE registers (CR3 is not read)', () => {
    const t = new Tables('pae');
    t.ps.cr3Lo = 0xdead0020; // the PDPT itself is never read
    const lin = 0x8060_1234n; // PDPTE 2, PDE 3, PTE 1
    const { entries } = t.mapPae(lin, P, PRESENT_RW_US, 0x9_87654000n | PRESENT_RW_US);
    expect(t.ok(lin, 0)).toBe(0x9_87654234n);
    expect(t.walker.pageSize).toBe(0x1000);
    expect(t.mem.reads).toEqual([[Number(entries[0]), 8], [Number(entries[1]), 8]]);
    const big = 0xc0a1_2345n; // PDPTE 3, 2 MiB page
    t.mapPae(big, P, 0x3_4aa00000n | PS | PRESENT_RW_US);
    expect(t.ok(big, 0)).toBe(0x3_4aa00000n | (big & 0x1fffffn));
    expect(t.walker.pageSize).toBe(0x200000);
  });

  it('a not-present PDPTE register is a #PF with P = 0', () => {
    const t = new Tables('pae');
    expect(t.fault(0x4000_0000n, 0)).toBe(0);
    expect(t.fault(0x4000_0000n, ACC_WRITE | ACC_USER)).toBe(EW | EU);
    expect(t.mem.reads).toEqual([]);
  });

  it('reserved bits: PDPTE 2:1, 8:5, 63:M; PDE/PTE 62:M; 2 MiB PDE 20:13; XD without NXE', () => {
    const lin = 0x1000n;
    const cases: [bigint, bigint, bigint | undefined][] = [
      [P | RW, PRESENT_RW_US, 0x2000n | P], // PDPTE bit 1
      [P | (1n << 5n), PRESENT_RW_US, 0x2000n | P], // PDPTE bit 5
      [P | (1n << 63n), PRESENT_RW_US, 0x2000n | P], // PDPTE bit 63
      [P, PRESENT_RW_US | (1n << 52n), 0x2000n | P], // PDE bit 52
      [P, PRESENT_RW_US, 0x2000n | P | (1n << 62n)], // PTE bit 62
      [P, PRESENT_RW_US, 0x2000n | P | XD], // XD with NXE = 0
      [P, 0x200000n | PS | P | (1n << 13n), undefined], // 2 MiB bit 13
    ];
    for (const [pdpte, pde, pte] of cases) {
      const t = new Tables('pae');
      t.mapPae(lin, pdpte, pde, pte);
      expect(t.fault(lin, ACC_WRITE), `${pdpte.toString(16)} ${pde.toString(16)} ${pte?.toString(16)}`).toBe(EP | ERSVD | EW);
    }
    // bits 11:9 (ignored) and 3/4 (PWT/PCD) of a PDPTE are not reserved; address bit 36 is with M = 36.
    const t = new Tables('pae');
    t.mapPae(lin, P | 0xe18n, PRESENT_RW_US, 0x10_00002000n | P);
    expect(t.ok(lin, 0)).toBe(0x10_00002000n);
    t.walker.maxPhysAddr = 36;
    expect(t.fault(lin, 0)).toBe(EP | ERSVD);
  });

  it('XD with EFER.NXE: fetch faults with I/D, reads do not; PAT bit 12 of a 2 MiB PDE is not reserved', () => {
    const t = new Tables('pae');
    t.ps.efer = EFER_NXE;
    t.mapPae(0x1000n, P, PRESENT_RW_US, 0x2000n | PRESENT_RW_US | XD);
    expect(t.ok(0x1000n, ACC_USER)).toBe(0x2000n);
    expect(t.fault(0x1000n, ACC_FETCH | ACC_USER)).toBe(EP | EU | EID);
    t.mapPae(0x4000_0000n, P, 0x600000n | (1n << 12n) | PS | PRESENT_RW_US);
    expect(t.ok(0x4000_0000n, ACC_FETCH)).toBe(0x600000n);
    // not present with NXE: fetches still report I/D
    expect(t.fault(0x8000_0000n, ACC_FETCH)).toBe(EID);
  });
});

describe('4-level paging (4.5)', () => {
  it('4 KiB, 2 MiB and 1 GiB pages, indexes 47:39 / 38:30 / 29:21 / 20:12', () => {
    const t = new Tables('4level');
    const lin = 0xffff_8123_4567_89abn;
    const { entries } = t.map4(lin, 1, 0x000f_edcb_a987_6000n | PRESENT_RW_US);
    expect(t.ok(lin, 0)).toBe(0x000f_edcb_a987_69abn);
    expect(t.walker.pageSize).toBe(0x1000);
    expect(t.mem.reads.map((r) => BigInt(r[0]))).toEqual(entries);
    const lin2 = 0x0000_7f00_1234_5678n;
    t.map4(lin2, 2, 0x0000_0123_4560_0000n | PS | PRESENT_RW_US);
    expect(t.ok(lin2, 0)).toBe(0x0000_0123_4560_0000n | (lin2 & 0x1fffffn));
    expect(t.walker.pageSize).toBe(0x200000);
    const lin3 = 0x0000_0040_7654_3210n;
    t.map4(lin3, 3, 0x0000_0fff_c000_0000n | PS | PRESENT_RW_US);
    expect(t.ok(lin3, 0)).toBe(0x0000_0fff_c000_0000n | (lin3 & 0x3fffffffn));
    expect(t.walker.pageSize).toBe(0x40000000);
  });

  it('CR3 bits 51:12 locate the PML4 (PCID bits 11:0 ignored)', () => {
    const t = new Tables('4level');
    t.map4(0x1000n, 1, 0x2000n | P);
    t.ps.cr3Lo = (t.ps.cr3Lo | 0x123) >>> 0;
    expect(t.ok(0x1000n, 0)).toBe(0x2000n);
  });

  it('not present at each level: P = 0', () => {
    for (let level = 4; level >= 1; level--) {
      const t = new Tables('4level');
      const lin = 0x0000_1234_5678_9000n;
      const upper = [PRESENT_RW_US, PRESENT_RW_US, PRESENT_RW_US];
      if (level > 1) upper[4 - level] = RW | US; // that upper entry not present
      t.map4(lin, 1, level === 1 ? 0x5000n | RW | US : 0x5000n | PRESENT_RW_US, upper);
      expect(t.fault(lin, 0), `level ${level}`).toBe(0);
      expect(t.fault(lin, ACC_WRITE | ACC_USER), `level ${level}`).toBe(EW | EU);
      expect(t.mem.reads.length, `level ${level}`).toBe(2 * (5 - level));
      expect(t.mem.writes).toEqual([]);
    }
  });

  it('a deeper not-present entry wins over a protection problem above it', () => {
    const t = new Tables('4level');
    t.map4(0x1000n, 1, 0x5000n, [P, P, P]); // supervisor, read-only, PTE not present
    expect(t.fault(0x1000n, ACC_WRITE | ACC_USER)).toBe(EW | EU);
  });

  it('reserved bits: PML4E bit 7, 51:M, XD without NXE, 1 GiB 29:13, 2 MiB 20:13; 62:52 are ignored', () => {
    const lin = 0x0000_0080_4020_1000n;
    const rsvd: [number, bigint, bigint[]][] = [
      [1, 0x5000n | P, [P | PS, P, P]], // PML4E PS
      [1, 0x5000n | P | XD, []], // XD, NXE = 0
      [1, 0x5000n | P, [P, P | XD, P]], // XD in a PDPTE
      [1, 0x80_0000_5000n | P, []], // address bit 39 with M = 39
      [2, 0x20_0000n | PS | P | (1n << 20n), []], // 2 MiB bit 20
      [3, 0x4000_0000n | PS | P | (1n << 29n), []], // 1 GiB bit 29
      [3, 0x4000_0000n | PS | P | (1n << 13n), []], // 1 GiB bit 13
    ];
    for (const [leafLevel, leaf, upper] of rsvd) {
      const t = new Tables('4level');
      t.walker.maxPhysAddr = 39;
      t.map4(lin, leafLevel, leaf, upper);
      expect(t.fault(lin, ACC_USER), `${leafLevel} ${leaf.toString(16)}`).toBe(EP | ERSVD | EU);
      expect(t.mem.writes).toEqual([]);
    }
    const t = new Tables('4level');
    t.walker.maxPhysAddr = 39;
    // bits 62:52 ignored, bit 7 of a PTE is PAT, bit 12 of a 1 GiB page is PAT, bit 38 is below M.
    t.map4(lin, 1, 0x40_0000_5000n | (0x7ffn << 52n) | PS | P, [P | (0x7ffn << 52n), P, P]);
    expect(t.ok(lin, 0)).toBe(0x40_0000_5000n);
    t.map4(0x4000_0000n, 3, 0x4000_0000n | (1n << 12n) | PS | P);
    expect(t.ok(0x4000_0000n, 0)).toBe(0x4000_0000n);
  });

  it('1 GiB pages are a reserved-bit fault when the guest has no 1 GiB page support', () => {
    const t = new Tables('4level');
    t.map4(0x4000_0000n, 3, 0x4000_0000n | PS | P);
    t.walker.gbPages = false;
    expect(t.fault(0x4000_0000n, 0)).toBe(EP | ERSVD);
  });

  it('canonical addresses only; LA57 refused', () => {
    const t = new Tables('4level');
    t.map4(0xffff_8000_0000_0000n, 1, 0x3000n | P);
    t.map4(0x0000_7fff_ffff_f000n, 1, 0x4000n | P);
    expect(t.ok(0xffff_8000_0000_0000n, 0)).toBe(0x3000n);
    expect(t.ok(0x0000_7fff_ffff_ffffn, 0)).toBe(0x4fffn);
    for (const bad of [0x0000_8000_0000_0000n, 0xffff_7fff_ffff_ffffn, 0x8000_0000_0000_0000n, 0x0001_0000_0000_0000n]) {
      expect(t.walk(bad, 0), bad.toString(16)).toBe(WALK_NONCANONICAL);
    }
    const reads = t.mem.reads.length;
    t.ps.cr4 |= CR4_LA57;
    expect(t.walk(0x1000n, 0)).toBe(WALK_UNSUPPORTED);
    expect(t.mem.reads.length).toBe(reads);
  });

  it('a paging-structure entry the EPT does not map: WALK_EPT_UNMAPPED', () => {
    const t = new Tables('4level');
    const { entries } = t.map4(0x1000n, 1, 0x5000n | P);
    t.mem.unmapped.add(Number(entries[2] >> 12n)); // the PD page
    expect(t.walk(0x1000n, 0)).toBe(WALK_EPT_UNMAPPED);
    expect(t.mem.writes).toEqual([]);
    t.mem.unmapped.clear();
    t.mem.unmapped.add(Number(entries[0] >> 12n)); // the PML4 itself
    expect(t.walk(0x1000n, 0)).toBe(WALK_EPT_UNMAPPED);
  });
});

describe('access rights (4.6) and error codes (4.7), 4-level paging', () => {
  // Leaf 4 KiB page with `pte` flags under upper entries `upper`; [cr0 WP, cr4, efer NXE, rflags AC, access, expected error or 'ok'].
  type Case = [string, bigint, bigint[], number, number, number, number, number | 'ok'];
  const U = PRESENT_RW_US;
  const WP = CR0_WP;
  const cases: Case[] = [
    ['user read, supervisor PTE', P | RW, [], 0, 0, 0, ACC_USER, EP | EU],
    ['user read, supervisor PML4E', U, [P | RW, U, U], 0, 0, 0, ACC_USER, EP | EU],
    ['user read, supervisor PDE', U, [U, U, P | RW], 0, 0, 0, ACC_USER, EP | EU],
    ['user read, user page', U, [], 0, 0, 0, ACC_USER, 'ok'],
    ['user write, read-only PDE', U, [U, U, P | US], 0, 0, 0, ACC_USER | ACC_WRITE, EP | EW | EU],
    ['user write, read-only PTE, WP=0', P | US, [], 0, 0, 0, ACC_USER | ACC_WRITE, EP | EW | EU],
    ['user write, writable', U, [], WP, 0, 0, ACC_USER | ACC_WRITE, 'ok'],
    ['supervisor write, read-only PDPTE, WP=0', U, [U, P | US, U], 0, 0, 0, ACC_WRITE, 'ok'],
    ['supervisor write, read-only PDPTE, WP=1', U, [U, P | US, U], WP, 0, 0, ACC_WRITE, EP | EW],
    ['supervisor write, read-only supervisor PTE, WP=1', P, [], WP, 0, 0, ACC_WRITE, EP | EW],
    ['supervisor write, user page, no SMAP', U, [], WP, 0, 0, ACC_WRITE, 'ok'],
    ['user fetch, XD PTE, NXE', U | XD, [], 0, 0, EFER_NXE, ACC_USER | ACC_FETCH, EP | EU | EID],
    ['user fetch, XD PML4E, NXE', U, [U | XD, U, U], 0, 0, EFER_NXE, ACC_USER | ACC_FETCH, EP | EU | EID],
    ['supervisor fetch, XD PDE, NXE', P, [U, U, U | XD], 0, 0, EFER_NXE, ACC_FETCH, EP | EID],
    ['user read, XD page, NXE', U | XD, [], 0, 0, EFER_NXE, ACC_USER, 'ok'],
    ['user fetch, no XD, NXE', U, [], 0, 0, EFER_NXE, ACC_USER | ACC_FETCH, 'ok'],
    ['fetch, XD bit, NXE=0: reserved', U | XD, [], 0, 0, 0, ACC_FETCH, EP | ERSVD],
    ['fetch, not present, NXE=0, no SMEP: no I/D', RW, [], 0, 0, 0, ACC_FETCH, 0],
    ['fetch, not present, NXE=1: I/D', RW, [], 0, 0, EFER_NXE, ACC_FETCH, EID],
    ['fetch, not present, SMEP: I/D', RW, [], 0, CR4_SMEP, 0, ACC_FETCH, EID],
    ['SMEP: supervisor fetch, user page', U, [], 0, CR4_SMEP, 0, ACC_FETCH, EP | EID],
    ['SMEP: supervisor fetch, supervisor PTE', P, [], 0, CR4_SMEP, 0, ACC_FETCH, 'ok'],
    ['SMEP: supervisor fetch, supervisor PML4E', U, [P | RW, U, U], 0, CR4_SMEP, 0, ACC_FETCH, 'ok'],
    ['SMEP: user fetch, user page', U, [], 0, CR4_SMEP, 0, ACC_USER | ACC_FETCH, 'ok'],
    ['SMEP: supervisor read, user page', U, [], 0, CR4_SMEP, 0, 0, 'ok'],
    ['SMAP: supervisor read, user page, AC=0', U, [], 0, CR4_SMAP, 0, 0, EP],
    ['SMAP: supervisor read, supervisor page', P, [], 0, CR4_SMAP, 0, 0, 'ok'],
    ['SMAP: supervisor write, user page, AC=0, WP=0', U, [], 0, CR4_SMAP, 0, ACC_WRITE, EP | EW],
    ['SMAP: user read, user page', U, [], 0, CR4_SMAP, 0, ACC_USER, 'ok'],
    ['SMAP: supervisor fetch, user page (SMEP off)', U, [], 0, CR4_SMAP, 0, ACC_FETCH, 'ok'],
    ['implicit supervisor access at CPL 3 to a supervisor page', P, [], 0, 0, 0, ACC_USER | ACC_IMPLICIT, 'ok'],
  ];
  for (const [name, pte, upper, cr0, cr4, efer, access, want] of cases) {
    it(name, () => {
      const t = new Tables('4level');
      t.ps.cr0 = (t.ps.cr0 | cr0) >>> 0;
      t.ps.cr4 |= cr4;
      t.ps.efer |= efer;
      const lin = 0x0000_0012_3456_7000n;
      t.map4(lin, 1, 0x9000n | pte, upper);
      if (want === 'ok') expect(t.ok(lin | 0x123n, access)).toBe(0x9123n);
      else expect(t.fault(lin | 0x123n, access)).toBe(want);
    });
  }

  // SMAP with RFLAGS.AC: explicit accesses obey AC, implicit ones never do.
  const smap: [string, number, bigint, number, number, number | 'ok'][] = [
    // name, rflags, pte, cr0, access, expected
    ['AC=1 explicit read', RFLAGS_AC, PRESENT_RW_US, 0, 0, 'ok'],
    ['AC=1 implicit read', RFLAGS_AC, PRESENT_RW_US, 0, ACC_IMPLICIT, EP],
    ['AC=1 implicit read at CPL 3: a supervisor access (U = 0)', RFLAGS_AC, PRESENT_RW_US, 0, ACC_IMPLICIT | ACC_USER, EP],
    ['AC=1 explicit write, writable', RFLAGS_AC, PRESENT_RW_US, CR0_WP, ACC_WRITE, 'ok'],
    ['AC=1 explicit write, read-only, WP=1', RFLAGS_AC, P | US, CR0_WP, ACC_WRITE, EP | EW],
    ['AC=1 explicit write, read-only, WP=0', RFLAGS_AC, P | US, 0, ACC_WRITE, 'ok'],
    ['AC=0 explicit write, writable', 0, PRESENT_RW_US, CR0_WP, ACC_WRITE, EP | EW],
    ['AC=1 implicit write, writable', RFLAGS_AC, PRESENT_RW_US, 0, ACC_WRITE | ACC_IMPLICIT, EP | EW],
    ['AC=0 user-mode read (SMAP does not apply)', 0, PRESENT_RW_US, 0, ACC_USER, 'ok'],
  ];
  for (const [name, rflags, pte, cr0, access, want] of smap) {
    it(`SMAP: ${name}`, () => {
      const t = new Tables('4level');
      t.ps.cr4 |= CR4_SMAP;
      t.ps.cr0 = (t.ps.cr0 | cr0) >>> 0;
      t.ps.rflags = rflags;
      t.map4(0x7000n, 1, 0x9000n | pte);
      if (want === 'ok') expect(t.ok(0x7000n, access)).toBe(0x9000n);
      else expect(t.fault(0x7000n, access)).toBe(want);
    });
  }
});

describe('accessed and dirty flags (4.8)', () => {
  it('a read sets A in all four entries, top level first, and no D', () => {
    const t = new Tables('4level');
    const lin = 0x0000_0001_0020_3000n;
    const { entries } = t.map4(lin, 1, 0x9000n | PRESENT_RW_US);
    t.ok(lin, 0);
    expect(t.mem.writes).toEqual(entries.map((e) => [Number(e), 0x20]));
    for (const e of entries) expect(t.mem.get(e, 8) & (A | D)).toBe(A);
    // Already set: nothing written the second time.
    t.mem.writes.length = 0;
    t.ok(lin, 0);
    expect(t.mem.writes).toEqual([]);
  });

  it('a write sets D in the leaf only (PTE, 2 MiB PDE, 1 GiB PDPTE), and only when not set', () => {
    for (const leafLevel of [1, 2, 3]) {
      const t = new Tables('4level');
      const lin = 0x0000_0040_0000_0000n;
      const leaf = leafLevel === 1 ? 0x9000n | PRESENT_RW_US : 0x4000_0000n | PS | PRESENT_RW_US;
      const { entries } = t.map4(lin, leafLevel, leaf);
      t.ok(lin, ACC_WRITE);
      const want = entries.map((e, i) => [Number(e), i === entries.length - 1 ? 0x60 : 0x20]);
      expect(t.mem.writes, `leaf level ${leafLevel}`).toEqual(want);
      for (let i = 0; i < entries.length; i++) {
        expect(t.mem.get(entries[i], 8) & (A | D)).toBe(i === entries.length - 1 ? A | D : A);
      }
      t.mem.writes.length = 0;
      t.ok(lin, ACC_WRITE);
      expect(t.mem.writes).toEqual([]);
      // A read of a fresh large or small page: A everywhere, no D; a later write adds D alone.
      const r = new Tables('4level');
      const fresh = r.map4(lin, leafLevel, leaf).entries;
      r.ok(lin, 0);
      expect(r.mem.writes, `leaf level ${leafLevel}`).toEqual(fresh.map((e) => [Number(e), 0x20]));
      expect(r.mem.get(fresh[fresh.length - 1], 8) & (A | D)).toBe(A);
      r.mem.writes.length = 0;
      r.ok(lin, ACC_WRITE);
      expect(r.mem.writes).toEqual([[Number(fresh[fresh.length - 1]), 0x40]]);
    }
  });

  it('A already set but D clear: a write ORs D alone; a read of a dirty page writes nothing', () => {
    const t = new Tables('4level');
    const lin = 0x5000n;
    const { entries } = t.map4(lin, 1, 0x9000n | PRESENT_RW_US | A, [PRESENT_RW_US | A, PRESENT_RW_US | A, PRESENT_RW_US | A]);
    t.ok(lin, ACC_WRITE);
    expect(t.mem.writes).toEqual([[Number(entries[3]), 0x40]]);
    t.mem.writes.length = 0;
    t.ok(lin, 0);
    expect(t.mem.writes).toEqual([]);
  });

  it('a faulting walk (protection, not present, reserved) sets nothing', () => {
    const t = new Tables('4level');
    t.map4(0x1000n, 1, 0x9000n | P | US); // read-only
    t.fault(0x1000n, ACC_WRITE | ACC_USER);
    t.map4(0x2000n, 1, 0x9000n | RW); // not present
    t.fault(0x2000n, 0);
    t.map4(0x3000n, 1, 0x9000n | P | XD); // reserved (NXE = 0)
    t.fault(0x3000n, 0);
    expect(t.mem.writes).toEqual([]);
  });

  it('32-bit paging: 4-byte entries, D in the 4 MiB PDE on a write', () => {
    const t = new Tables('32');
    t.ps.cr4 = CR4_PSE;
    const { entries } = t.map32(0x1000n, PRESENT_RW_US, 0x9000n | PRESENT_RW_US);
    t.ok(0x1000n, ACC_WRITE);
    expect(t.mem.writes).toEqual([[Number(entries[0]), 0x20], [Number(entries[1]), 0x60]]);
    expect(t.mem.get(entries[0], 4)).toBe((entries[1] & ~0xfffn) | PRESENT_RW_US | A);
    t.mem.writes.length = 0;
    const big = t.map32(0x800000n, 0x800000n | PS | PRESENT_RW_US);
    t.ok(0x800000n, ACC_WRITE);
    expect(t.mem.writes).toEqual([[Number(big.entries[0]), 0x60]]);
  });

  it('PAE: the PDPTE registers get no A flag; PDE and PTE do', () => {
    const t = new Tables('pae');
    const { entries } = t.mapPae(0x1000n, P, PRESENT_RW_US, 0x9000n | PRESENT_RW_US);
    t.ok(0x1000n, ACC_WRITE);
    expect(t.mem.writes).toEqual([[Number(entries[0]), 0x20], [Number(entries[1]), 0x60]]);
    expect(t.ps.pdpteLo[0]).toBe(Number(entries[0] & ~0xfffn) | 1);
  });

  it('an A/D update the EPT does not allow (read-only page tables): WALK_EPT_UNMAPPED', () => {
    const t = new Tables('4level');
    const { entries } = t.map4(0x1000n, 1, 0x9000n | PRESENT_RW_US);
    t.mem.readOnly.add(Number(entries[3] >> 12n));
    expect(t.walk(0x1000n, 0)).toBe(WALK_EPT_UNMAPPED);
    // Entries already accessed need no write: the same walk then succeeds.
    t.mem.put(entries[3], t.mem.get(entries[3], 8) | A, 8);
    expect(t.walk(0x1000n, 0)).toBe(WALK_OK);
  });
});
