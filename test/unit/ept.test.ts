// EPT builder (arch/x86/ept.ts) on the simulated machine. Expected entries are
// built here from the SDM bit layout (Vol. 3C 29.3, Tables 29-1..29-6; EPTP in
// 25.6.11) with BigInt, and the tables are read back from the simulated memory
// and walked by this file's own code, never by the module under test.
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import {
  EPT_ERR_ALIGN, EPT_ERR_MEMTYPE, EPT_ERR_NOMEM, EPT_ERR_PERMS, EPT_ERR_RANGE, EPT_ERR_STATE, EPT_IGNORE_PAT,
  EPT_MT_UC, EPT_MT_WB, EPT_MT_WC, EPT_MT_WP, EPT_MT_WT, EPT_PAGE_2M, EPT_R, EPT_RWX, EPT_W, EPT_X, Ept,
} from '../../arch/x86/ept';
import type { SimMachine } from '../../arch/x86/sim-machine';
import { POOL_BASE, POOL_PAGES, baseMachine } from './machines';

// ---- the SDM layout ---------------------------------------------------------------
const K4 = 0x1000;
const M2 = 0x200000;
const G1 = 0x40000000;
const R = 1n; // bit 0
const W = 2n; // bit 1
const X = 4n; // bit 2
const IPAT = 1n << 6n; // bit 6: ignore PAT
const PS = 1n << 7n; // bit 7: page size (PDPTE 1 GiB, PDE 2 MiB)
const ADDR = ((1n << 52n) - 1n) & ~0xfffn; // bits 51:12
/** A leaf: address | memory type in bits 5:3 | R/W/X. */
const leaf = (addr: number, rwx: bigint, mt: number, flags = 0n): bigint => BigInt(addr) | (BigInt(mt) << 3n) | rwx | flags;
/** A non-leaf entry: next table's address with R, W and X set, bits 7:3 zero. */
const nonLeaf = (addr: bigint): bigint => addr | R | W | X;
/** Index into the level's table: PML4 bits 47:39, PDPT 38:30, PD 29:21, PT 20:12. */
const index = (gpa: number, level: number): number => Number((BigInt(gpa) >> BigInt(12 + 9 * (level - 1))) & 511n);

function entryAt(m: SimMachine, table: bigint, i: number): bigint {
  let v = 0n;
  for (let b = 7; b >= 0; b--) v = (v << 8n) | BigInt(m.readByte(Number(table) + i * 8 + b));
  return v;
}
function eptp(ept: Ept): bigint {
  return (BigInt(ept.eptpHi()) << 32n) | BigInt(ept.eptpLo());
}
function pml4Of(ept: Ept): bigint {
  return eptp(ept) & ADDR;
}
/** The entry for `gpa` at `level`, walking down from the PML4 through non-leaf entries. */
function entryFor(m: SimMachine, ept: Ept, gpa: number, level: number): bigint {
  let table = pml4Of(ept);
  for (let l = 4; l > level; l--) {
    const e = entryAt(m, table, index(gpa, l));
    if ((e & 7n) === 0n || (l <= 3 && (e & PS) !== 0n)) throw new Error(`no table below level ${l} for 0x${gpa.toString(16)}`);
    table = e & ADDR;
  }
  return entryAt(m, table, index(gpa, level));
}
function tableFor(m: SimMachine, ept: Ept, gpa: number, level: number): bigint {
  return entryFor(m, ept, gpa, level + 1) & ADDR;
}

function isPoolPage(pa: bigint): boolean {
  return pa >= BigInt(POOL_BASE) && pa < BigInt(POOL_BASE + POOL_PAGES * K4) && (pa & 0xfffn) === 0n;
}
const VALID_MT = [0n, 1n, 4n, 5n, 6n];

/**
 * Walk every table from the PML4 with the SDM rules and check that each entry
 * is valid (no misconfiguration), that non-leaf entries are exactly addr|RWX
 * into pool pages, and that no table but the PML4 is empty. Returns the number
 * of table pages.
 */
function audit(m: SimMachine, ept: Ept): number {
  const seen = new Set<bigint>();
  const bad: string[] = [];
  const visit = (table: bigint, level: number): void => {
    if (!isPoolPage(table) || seen.has(table)) {
      bad.push(`level ${level} table 0x${table.toString(16)} is not a pool page, or is linked twice`);
      return;
    }
    seen.add(table);
    let present = 0;
    for (let i = 0; i < 512; i++) {
      const e = entryAt(m, table, i);
      const where = `level ${level} entry ${i} = 0x${e.toString(16)}`;
      if ((e & 7n) === 0n) {
        if (e !== 0n) bad.push(`${where}: not present but not zero`);
        continue;
      }
      present++;
      if ((e & (R | W)) === W) bad.push(`${where}: W without R`);
      if (e >> 52n !== 0n) bad.push(`${where}: bits 63:52 set`);
      if (level === 1 || (level <= 3 && (e & PS) !== 0n)) {
        const size = BigInt(K4) << BigInt(9 * (level - 1));
        if (!VALID_MT.includes((e >> 3n) & 7n)) bad.push(`${where}: memory type`);
        if ((e & 0xf00n) !== 0n) bad.push(`${where}: bits 11:8 set`);
        if ((e & ADDR) % size !== 0n) bad.push(`${where}: page not aligned`);
      } else {
        if ((e & 0xff8n) !== 0n || (e & 7n) !== 7n) bad.push(`${where}: non-leaf is not address|RWX`);
        visit(e & ADDR, level - 1);
      }
    }
    if (level !== 4 && present === 0) bad.push(`level ${level} table 0x${table.toString(16)} is empty`);
  };
  visit(pml4Of(ept), 4);
  expect(bad).toEqual([]);
  expect(ept.tablePages).toBe(seen.size);
  return seen.size;
}

function fresh(pool = POOL_PAGES): { m: SimMachine; ept: Ept } {
  const m = baseMachine();
  if (pool !== POOL_PAGES) m.setPool(POOL_BASE, pool);
  const ept = new Ept();
  expect(ept.init()).toBe(true);
  return { m, ept };
}
const used = (m: SimMachine): number => m.poolPages(1) - m.poolPages(0);

describe('EPT: pointer and init (SDM 25.6.11)', () => {
  it('allocates a zeroed PML4 and builds a WB, 4-level EPTP without A/D flags', () => {
    const m = baseMachine();
    const ept = new Ept();
    expect(ept.eptpLo()).toBe(0);
    expect(ept.init()).toBe(true);
    expect(ept.tablePages).toBe(1);
    expect(used(m)).toBe(1);
    const p = eptp(ept);
    expect(p & 7n).toBe(6n); // bits 2:0 memory type WB
    expect((p >> 3n) & 7n).toBe(3n); // bits 5:3 walk length - 1
    expect((p >> 6n) & 1n).toBe(0n); // bit 6 A/D flags off
    expect(p & 0xf80n).toBe(0n);
    expect(p >> 52n).toBe(0n);
    expect(isPoolPage(p & ADDR)).toBe(true);
    expect(p).toBe(BigInt(POOL_BASE) | 0x1en); // the first pool page
    for (let i = 0; i < 512; i++) expect(entryAt(m, p & ADDR, i)).toBe(0n);
  });

  it('returns false when the pool is empty', () => {
    const m = baseMachine();
    m.setPool(POOL_BASE, 0);
    const ept = new Ept();
    expect(ept.init()).toBe(false);
    expect(ept.tablePages).toBe(0);
    expect(ept.map(0, 0, K4, EPT_RWX, EPT_MT_WB)).toBe(EPT_ERR_STATE);
    expect(m.invalidations.length).toBe(0);
  });
});

describe('EPT: table contents (SDM 29.3.2)', () => {
  it('maps a 4 KiB page through PML4E, PDPTE, PDE and PTE', () => {
    const { m, ept } = fresh();
    expect(ept.map(0x1234000, 0x40005000, K4, EPT_RWX, EPT_MT_WB)).toBe(0);
    const pml4 = pml4Of(ept);
    const pml4e = entryAt(m, pml4, 0);
    const pdpt = pml4e & ADDR;
    expect(pml4e).toBe(nonLeaf(pdpt));
    const pdpte = entryAt(m, pdpt, 0);
    const pd = pdpte & ADDR;
    expect(pdpte).toBe(nonLeaf(pd));
    const pde = entryAt(m, pd, 9); // 0x1234000 >> 21 = 9
    const pt = pde & ADDR;
    expect(pde).toBe(nonLeaf(pt));
    expect(entryAt(m, pt, 0x34)).toBe(0x40005037n); // 0x40005000 | WB<<3 | RWX
    expect(entryAt(m, pt, 0x34)).toBe(leaf(0x40005000, R | W | X, 6));
    for (const t of [pdpt, pd, pt]) expect(isPoolPage(t)).toBe(true);
    expect(new Set([pml4, pdpt, pd, pt]).size).toBe(4);
    // every other entry stays not present
    let present = 0;
    for (const t of [pml4, pdpt, pd, pt]) for (let i = 0; i < 512; i++) if (entryAt(m, t, i) !== 0n) present++;
    expect(present).toBe(4);
    expect(ept.tablePages).toBe(4);
    expect(used(m)).toBe(4);
    audit(m, ept);
  });

  it('maps a 2 MiB page with bit 7 in the PDE', () => {
    const { m, ept } = fresh();
    expect(ept.map(0x200000, 0x80000000, M2, EPT_R | EPT_X, EPT_MT_UC)).toBe(0);
    expect(entryFor(m, ept, 0x200000, 2)).toBe(0x80000085n);
    expect(entryFor(m, ept, 0x200000, 2)).toBe(leaf(0x80000000, R | X, 0, PS));
    expect(ept.tablePages).toBe(3);
    audit(m, ept);
  });

  it('maps a 1 GiB page with bit 7 in the PDPTE, address bits above 31 in the high half', () => {
    const { m, ept } = fresh();
    expect(ept.map(G1, 0x100000000, G1, EPT_RWX, EPT_MT_WB | EPT_IGNORE_PAT)).toBe(0);
    const pdpte = entryFor(m, ept, G1, 3);
    expect(pdpte).toBe(0x1000000f7n);
    expect(pdpte).toBe(leaf(0x100000000, R | W | X, 6, PS | IPAT));
    expect(ept.tablePages).toBe(2);
    audit(m, ept);
  });

  it('encodes every memory type and the top of the address spaces', () => {
    const { m, ept } = fresh();
    const gpaTop = 2 ** 48 - K4;
    const hpaTop = 2 ** 52 - K4;
    expect(ept.map(gpaTop, hpaTop, K4, EPT_R, EPT_MT_WC)).toBe(0);
    for (let l = 4; l >= 1; l--) expect(index(gpaTop, l)).toBe(511);
    expect(entryFor(m, ept, gpaTop, 1)).toBe(0xffffffffff009n);
    expect(entryFor(m, ept, gpaTop, 1)).toBe(leaf(hpaTop, R, 1));
    const types = [EPT_MT_UC, EPT_MT_WC, EPT_MT_WT, EPT_MT_WP, EPT_MT_WB];
    for (let i = 0; i < types.length; i++) {
      expect(ept.map(i * K4, 0x123456789000 + i * K4, K4, EPT_R | EPT_W, types[i])).toBe(0);
      expect(entryFor(m, ept, i * K4, 1)).toBe(leaf(0x123456789000 + i * K4, R | W, [0, 1, 4, 5, 6][i]));
    }
    audit(m, ept);
  });
});

describe('EPT: page size selection', () => {
  it('maps a 2 MiB-aligned 4 MiB range with two 2 MiB pages', () => {
    const { m, ept } = fresh();
    expect(ept.map(0x400000, 0x10400000, 2 * M2, EPT_RWX, EPT_MT_WB)).toBe(0);
    const pd = tableFor(m, ept, 0x400000, 2);
    for (let i = 0; i < 512; i++) {
      const want = i === 2 ? leaf(0x10400000, R | W | X, 6, PS) : i === 3 ? leaf(0x10600000, R | W | X, 6, PS) : 0n;
      expect(entryAt(m, pd, i)).toBe(want);
    }
    expect(ept.tablePages).toBe(3);
  });

  it('falls back to 4 KiB pages when the hpa is not 2 MiB-aligned', () => {
    const { m, ept } = fresh();
    expect(ept.map(0x400000, 0x10401000, 2 * M2, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(ept.tablePages).toBe(5); // PML4, PDPT, PD, two PTs
    for (let p = 0; p < 1024; p++) {
      expect(entryFor(m, ept, 0x400000 + p * K4, 1)).toBe(leaf(0x10401000 + p * K4, R | W | X, 6));
    }
    audit(m, ept);
  });

  it('uses 2 MiB pages for a 1 GiB range whose hpa is only 2 MiB-aligned', () => {
    const { m, ept } = fresh();
    expect(ept.map(G1, 0x80200000, G1, EPT_RWX, EPT_MT_WB)).toBe(0);
    const pd = tableFor(m, ept, G1, 2);
    for (let i = 0; i < 512; i++) expect(entryAt(m, pd, i)).toBe(leaf(0x80200000 + i * M2, R | W | X, 6, PS));
    expect(ept.tablePages).toBe(3);
  });

  it('mixes sizes: 4 KiB up to the 2 MiB boundary, 2 MiB pages, 4 KiB tail', () => {
    const { m, ept } = fresh();
    const gpa = M2 - 2 * K4;
    expect(ept.map(gpa, 0x30000000 + gpa, 2 * K4 + 2 * M2 + K4, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(entryFor(m, ept, M2 - 2 * K4, 1)).toBe(leaf(0x30000000 + M2 - 2 * K4, R | W | X, 6));
    expect(entryFor(m, ept, M2 - K4, 1)).toBe(leaf(0x30000000 + M2 - K4, R | W | X, 6));
    expect(entryFor(m, ept, M2, 2)).toBe(leaf(0x30000000 + M2, R | W | X, 6, PS));
    expect(entryFor(m, ept, 2 * M2, 2)).toBe(leaf(0x30000000 + 2 * M2, R | W | X, 6, PS));
    expect(entryFor(m, ept, 3 * M2, 1)).toBe(leaf(0x30000000 + 3 * M2, R | W | X, 6));
    expect(entryAt(m, tableFor(m, ept, 3 * M2, 1), 1)).toBe(0n);
    audit(m, ept);
  });

  it('uses 1 GiB pages when both addresses are 1 GiB-aligned and enough remains', () => {
    const { m, ept } = fresh();
    expect(ept.map(0, 2 * G1, 2 * G1 + M2, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(entryFor(m, ept, 0, 3)).toBe(leaf(2 * G1, R | W | X, 6, PS));
    expect(entryFor(m, ept, G1, 3)).toBe(leaf(3 * G1, R | W | X, 6, PS));
    expect(entryFor(m, ept, 2 * G1, 2)).toBe(leaf(4 * G1, R | W | X, 6, PS));
    audit(m, ept);
  });

  it('honours largestPage (no 1 GiB pages without IA32_VMX_EPT_VPID_CAP[17])', () => {
    const { m, ept } = fresh();
    ept.largestPage = EPT_PAGE_2M;
    expect(ept.map(0, 0, G1, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(entryFor(m, ept, 0, 2)).toBe(leaf(0, R | W | X, 6, PS));
    expect(entryFor(m, ept, G1 - M2, 2)).toBe(leaf(G1 - M2, R | W | X, 6, PS));
  });
});

describe('EPT: splitting and replacing', () => {
  it('splits a 2 MiB page for a 4 KiB remap; the other 511 entries keep their mapping', () => {
    const { m, ept } = fresh();
    expect(ept.map(0x600000, 0x10000000, M2, EPT_R | EPT_W, EPT_MT_WB)).toBe(0);
    expect(ept.tablePages).toBe(3);
    expect(ept.map(0x605000, 0x20000000, K4, EPT_R, EPT_MT_UC)).toBe(0);
    expect(ept.tablePages).toBe(4);
    const pde = entryFor(m, ept, 0x600000, 2);
    expect(pde & PS).toBe(0n);
    expect(pde).toBe(nonLeaf(pde & ADDR));
    const pt = pde & ADDR;
    for (let i = 0; i < 512; i++) {
      const want = i === 5 ? leaf(0x20000000, R, 0) : leaf(0x10000000 + i * K4, R | W, 6);
      expect(entryAt(m, pt, i)).toBe(want);
    }
    audit(m, ept);
  });

  it('splits a 1 GiB page into 2 MiB pages and one of those into 4 KiB pages, keeping IPAT', () => {
    const { m, ept } = fresh();
    expect(ept.map(0, 4 * G1, G1, EPT_RWX, EPT_MT_WT | EPT_IGNORE_PAT)).toBe(0);
    expect(ept.map(0x3ff000, 0x7000, K4, EPT_RWX, EPT_MT_WB)).toBe(0); // PD entry 1, PT entry 511
    expect(ept.tablePages).toBe(4);
    const pd = tableFor(m, ept, 0, 2);
    for (let i = 0; i < 512; i++) {
      if (i === 1) continue;
      expect(entryAt(m, pd, i)).toBe(leaf(4 * G1 + i * M2, R | W | X, 4, PS | IPAT));
    }
    const pt = entryAt(m, pd, 1) & ADDR;
    expect(entryAt(m, pd, 1)).toBe(nonLeaf(pt));
    for (let i = 0; i < 512; i++) {
      const want = i === 511 ? leaf(0x7000, R | W | X, 6) : leaf(4 * G1 + M2 + i * K4, R | W | X, 4, IPAT);
      expect(entryAt(m, pt, i)).toBe(want);
    }
    audit(m, ept);
  });

  it('replaces an existing 4 KiB mapping', () => {
    const { m, ept } = fresh();
    expect(ept.map(0x3000, 0x9000, K4, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(ept.map(0x3000, 0xa000, K4, EPT_R, EPT_MT_UC)).toBe(0);
    expect(entryFor(m, ept, 0x3000, 1)).toBe(leaf(0xa000, R, 0));
    expect(ept.tablePages).toBe(4);
  });

  it('replaces 4 KiB pages by a 2 MiB page and frees their table', () => {
    const { m, ept } = fresh();
    expect(ept.map(0x200000, 0x1000000, 16 * K4, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(ept.tablePages).toBe(4);
    const before = used(m);
    expect(ept.map(0x200000, 0x2000000, M2, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(entryFor(m, ept, 0x200000, 2)).toBe(leaf(0x2000000, R | W | X, 6, PS));
    expect(ept.tablePages).toBe(3);
    expect(used(m)).toBe(before - 1);
    audit(m, ept);
  });

  it('replaces a subtree of 2 MiB and 4 KiB pages by a 1 GiB page and frees it all', () => {
    const { m, ept } = fresh();
    expect(ept.map(G1, 0x1000, 3 * M2, EPT_RWX, EPT_MT_WB)).toBe(0); // PD + 3 PTs
    expect(ept.map(G1 + 8 * M2, 0, 4 * M2, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(ept.tablePages).toBe(6);
    expect(ept.map(G1, 0, G1, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(ept.tablePages).toBe(2);
    expect(used(m)).toBe(2);
    expect(entryFor(m, ept, G1, 3)).toBe(leaf(0, R | W | X, 6, PS));
    audit(m, ept);
  });
});

describe('EPT: unmap', () => {
  it('clears the PTE and frees the tables that become empty, not the PML4', () => {
    const { m, ept } = fresh();
    expect(ept.map(0x1234000, 0x40005000, K4, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(ept.unmap(0x1234000, K4)).toBe(0);
    expect(ept.tablePages).toBe(1);
    expect(used(m)).toBe(1);
    for (let i = 0; i < 512; i++) expect(entryAt(m, pml4Of(ept), i)).toBe(0n);
    expect(ept.translate(0x1234000)).toBe(-1);
  });

  it('keeps tables that still map something', () => {
    const { m, ept } = fresh();
    expect(ept.map(0x1000, 0x1000, 2 * K4, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(ept.unmap(0x1000, K4)).toBe(0);
    expect(ept.tablePages).toBe(4);
    expect(entryFor(m, ept, 0x1000, 1)).toBe(0n);
    expect(entryFor(m, ept, 0x2000, 1)).toBe(leaf(0x2000, R | W | X, 6));
    audit(m, ept);
  });

  it('splits large pages at both edges and keeps the rest mapped', () => {
    const { m, ept } = fresh();
    expect(ept.map(0, 0x40000000, 2 * M2, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(ept.unmap(M2 - K4, 2 * K4)).toBe(0);
    expect(ept.tablePages).toBe(5);
    const pt0 = tableFor(m, ept, 0, 1);
    const pt1 = tableFor(m, ept, M2, 1);
    for (let i = 0; i < 512; i++) {
      expect(entryAt(m, pt0, i)).toBe(i === 511 ? 0n : leaf(0x40000000 + i * K4, R | W | X, 6));
      expect(entryAt(m, pt1, i)).toBe(i === 0 ? 0n : leaf(0x40000000 + M2 + i * K4, R | W | X, 6));
    }
    audit(m, ept);
    // unmapping the remainder (holes included) frees the two PTs, the PD and the PDPT
    expect(ept.unmap(0, 2 * M2)).toBe(0);
    expect(ept.tablePages).toBe(1);
    expect(used(m)).toBe(1);
  });

  it('drops a 1 GiB range of mixed pages at once, and tolerates unmapped ranges', () => {
    const { m, ept } = fresh();
    expect(ept.map(G1 + K4, 0x5000, 5 * M2, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(ept.map(G1 + 100 * M2, 0, 8 * M2, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(ept.unmap(0, 4 * G1)).toBe(0);
    expect(ept.tablePages).toBe(1);
    expect(used(m)).toBe(1);
    expect(ept.unmap(0x7000, K4)).toBe(0);
    expect(ept.tablePages).toBe(1);
  });

  it('frees tables only after the INVEPT, on every path that drops a table', () => {
    const { m, ept } = fresh();
    let freeAtFlush = -1;
    const original = m.invept.bind(m);
    m.invept = (type: number, h: number, l: number): number => {
      freeAtFlush = m.poolPages(0);
      return original(type, h, l);
    };
    const cases: [() => number, number][] = [
      [() => ept.unmap(0, K4), 3], // last page of a PT: PT, PD, PDPT become empty
      [() => ept.unmap(0, 0x8000000000), 3], // the whole PML4 entry: its subtree at once
      [() => ept.map(0, 0, G1, EPT_RWX, EPT_MT_WB), 2], // a 1 GiB page over a PD and its PT
    ];
    for (const [op, pages] of cases) {
      expect(ept.map(0, 0x1000, K4, EPT_RWX, EPT_MT_WB)).toBe(0);
      const free = m.poolPages(0);
      expect(op()).toBe(0);
      expect(freeAtFlush).toBe(free);
      expect(m.poolPages(0)).toBe(free + pages);
      expect(ept.unmap(0, G1)).toBe(0);
    }
  });
});

describe('EPT: modify', () => {
  it('changes a whole 2 MiB page in place', () => {
    const { m, ept } = fresh();
    expect(ept.map(M2, 0x800000, M2, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(ept.modify(M2, M2, EPT_R, EPT_MT_UC)).toBe(0);
    expect(entryFor(m, ept, M2, 2)).toBe(leaf(0x800000, R, 0, PS));
    expect(ept.tablePages).toBe(3);
  });

  it('splits a 2 MiB page to change one 4 KiB page', () => {
    const { m, ept } = fresh();
    expect(ept.map(M2, 0x800000, M2, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(ept.modify(M2 + 7 * K4, K4, EPT_R | EPT_X, EPT_MT_WC | EPT_IGNORE_PAT)).toBe(0);
    const pt = tableFor(m, ept, M2, 1);
    for (let i = 0; i < 512; i++) {
      expect(entryAt(m, pt, i)).toBe(i === 7 ? leaf(0x807000, R | X, 1, IPAT) : leaf(0x800000 + i * K4, R | W | X, 6));
    }
    audit(m, ept);
  });

  it('skips holes and returns how many 4 KiB pages were not mapped', () => {
    const { m, ept } = fresh();
    expect(ept.map(0x10000, 0x10000, 4 * K4, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(ept.map(0x20000, 0x20000, 2 * K4, EPT_RWX, EPT_MT_WB)).toBe(0);
    // [0x8000, 0x40000) = 56 pages, 6 mapped
    expect(ept.modify(0x8000, 0x38000, EPT_R, EPT_MT_WB)).toBe(50);
    expect(ept.holes).toBe(50);
    expect(entryFor(m, ept, 0x13000, 1)).toBe(leaf(0x13000, R, 6));
    expect(entryFor(m, ept, 0x21000, 1)).toBe(leaf(0x21000, R, 6));
    expect(entryFor(m, ept, 0x14000, 1)).toBe(0n);
    // a range with nothing mapped in a whole missing 1 GiB region
    expect(ept.modify(G1, G1, EPT_R, EPT_MT_WB)).toBe(262144);
    expect(ept.tablePages).toBe(4);
    audit(m, ept);
  });
});

describe('EPT: translate', () => {
  it('returns hpa + offset and the leaf permissions, memory type and page size', () => {
    const { ept } = fresh();
    expect(ept.map(0x1234000, 0x40005000, K4, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(ept.map(0x200000, 0x80000000, M2, EPT_R | EPT_X, EPT_MT_UC)).toBe(0);
    expect(ept.map(G1, 0x100000000, G1, EPT_R | EPT_W, EPT_MT_WT | EPT_IGNORE_PAT)).toBe(0);
    expect(ept.translate(0x1234abc)).toBe(0x40005abc);
    expect([ept.lastPerms, ept.lastMemType, ept.lastPageSize]).toEqual([7, 6, K4]);
    expect(ept.translate(0x3fffff)).toBe(0x801fffff);
    expect([ept.lastPerms, ept.lastMemType, ept.lastPageSize]).toEqual([5, 0, M2]);
    expect(ept.translate(G1 + 0x12345678)).toBe(0x112345678);
    expect([ept.lastPerms, ept.lastMemType, ept.lastPageSize]).toEqual([3, 4 | EPT_IGNORE_PAT, G1]);
    expect(ept.translate(0x1235000)).toBe(-1);
    expect([ept.lastPerms, ept.lastMemType, ept.lastPageSize]).toEqual([0, 0, 0]);
    expect(ept.translate(2 * G1)).toBe(-1);
    expect(ept.translate(2 ** 48)).toBe(-1);
    expect(ept.translate(-1)).toBe(-1);
  });
});

describe('EPT: errors and misconfigurations', () => {
  it('rejects bad arguments without touching the tables or flushing', () => {
    const { m, ept } = fresh();
    expect(ept.map(0, 0, K4, EPT_RWX, EPT_MT_WB)).toBe(0);
    const flushes = m.invalidations.length;
    const cases: [() => number, number][] = [
      [() => ept.map(0x800, 0, K4, EPT_RWX, EPT_MT_WB), EPT_ERR_ALIGN],
      [() => ept.map(0, 0x10, K4, EPT_RWX, EPT_MT_WB), EPT_ERR_ALIGN],
      [() => ept.map(0, 0, 0x1800, EPT_RWX, EPT_MT_WB), EPT_ERR_ALIGN],
      [() => ept.map(0, 0, 0, EPT_RWX, EPT_MT_WB), EPT_ERR_RANGE],
      [() => ept.map(-K4, 0, K4, EPT_RWX, EPT_MT_WB), EPT_ERR_RANGE],
      [() => ept.map(2 ** 48 - K4, 0, 2 * K4, EPT_RWX, EPT_MT_WB), EPT_ERR_RANGE],
      [() => ept.map(2 ** 48, 0, K4, EPT_RWX, EPT_MT_WB), EPT_ERR_RANGE],
      [() => ept.map(0, 2 ** 52 - K4, 2 * K4, EPT_RWX, EPT_MT_WB), EPT_ERR_RANGE],
      [() => ept.map(0, -K4, K4, EPT_RWX, EPT_MT_WB), EPT_ERR_RANGE],
      [() => ept.map(0, 0, K4, 0, EPT_MT_WB), EPT_ERR_PERMS],
      [() => ept.map(0, 0, K4, EPT_W, EPT_MT_WB), EPT_ERR_PERMS], // write-only
      [() => ept.map(0, 0, K4, EPT_W | EPT_X, EPT_MT_WB), EPT_ERR_PERMS], // write+execute without read
      [() => ept.map(0, 0, K4, EPT_X, EPT_MT_WB), EPT_ERR_PERMS], // execute-only not enabled
      [() => ept.map(0, 0, K4, 8, EPT_MT_WB), EPT_ERR_PERMS],
      [() => ept.map(0, 0, K4, EPT_RWX, 2), EPT_ERR_MEMTYPE],
      [() => ept.map(0, 0, K4, EPT_RWX, 3), EPT_ERR_MEMTYPE],
      [() => ept.map(0, 0, K4, EPT_RWX, 7), EPT_ERR_MEMTYPE],
      [() => ept.map(0, 0, K4, EPT_RWX, 16), EPT_ERR_MEMTYPE],
      [() => ept.unmap(0x10, K4), EPT_ERR_ALIGN],
      [() => ept.unmap(0, 0), EPT_ERR_RANGE],
      [() => ept.unmap(2 ** 48, K4), EPT_ERR_RANGE],
      [() => ept.modify(0, K4, EPT_W, EPT_MT_WB), EPT_ERR_PERMS],
      [() => ept.modify(0, K4, EPT_RWX, 2), EPT_ERR_MEMTYPE],
      [() => ept.modify(0, 0x10, EPT_RWX, EPT_MT_WB), EPT_ERR_ALIGN],
    ];
    for (const [call, want] of cases) expect(call()).toBe(want);
    expect(m.invalidations.length).toBe(flushes);
    expect(entryFor(m, ept, 0, 1)).toBe(leaf(0, R | W | X, 6));
    expect(ept.tablePages).toBe(4);
  });

  it('accepts execute-only when the CPU supports it', () => {
    const { m, ept } = fresh();
    ept.allowExecuteOnly = true;
    expect(ept.map(0, 0x5000, K4, EPT_X, EPT_MT_WB)).toBe(0);
    expect(entryFor(m, ept, 0, 1)).toBe(leaf(0x5000, X, 6));
    expect(ept.map(0, 0x5000, K4, EPT_W, EPT_MT_WB)).toBe(EPT_ERR_PERMS);
  });

  it('refuses to work before init and after destroy', () => {
    baseMachine();
    const ept = new Ept();
    expect(ept.map(0, 0, K4, EPT_RWX, EPT_MT_WB)).toBe(EPT_ERR_STATE);
    expect(ept.unmap(0, K4)).toBe(EPT_ERR_STATE);
    expect(ept.modify(0, K4, EPT_R, EPT_MT_WB)).toBe(EPT_ERR_STATE);
    expect(ept.translate(0)).toBe(-1);
    ept.destroy();
    expect(ept.init()).toBe(true);
    ept.destroy();
    expect(ept.map(0, 0, K4, EPT_RWX, EPT_MT_WB)).toBe(EPT_ERR_STATE);
    expect(ept.eptpLo()).toBe(0);
  });
});

describe('EPT: invalidation (SDM 29.4.3.1)', () => {
  it('issues exactly one single-context INVEPT with this EPTP per map, unmap and modify', () => {
    const { m, ept } = fresh();
    const want = ['invept', 1, Number(eptp(ept))];
    const ops: (() => number)[] = [
      () => ept.map(0, 0, K4, EPT_RWX, EPT_MT_WB),
      () => ept.map(0x400000, 0x1000, 3 * M2, EPT_RWX, EPT_MT_WB), // 1536 pages, 4 tables
      () => ept.map(0, 0, 2 * G1, EPT_RWX, EPT_MT_WB), // two 1 GiB pages replacing everything
      () => ept.modify(0x1000, M2, EPT_R, EPT_MT_UC),
      () => ept.modify(4 * G1, K4, EPT_R, EPT_MT_UC), // nothing there
      () => ept.unmap(0x3000, 5 * M2),
      () => ept.unmap(8 * G1, G1), // nothing there
    ];
    for (const op of ops) {
      const n = m.invalidations.length;
      expect(op()).toBeGreaterThanOrEqual(0);
      expect(m.invalidations.length).toBe(n + 1);
      expect(m.invalidations[n]).toEqual(want);
    }
    audit(m, ept);
  });
});

describe('EPT: pool exhaustion', () => {
  it('fails with EPT_ERR_NOMEM, leaves no empty tables, and destroy returns every page', () => {
    const { m, ept } = fresh(3); // PML4 + 2: not enough for PDPT, PD and PT
    const flushes = m.invalidations.length;
    expect(ept.map(0x1234000, 0x5000, K4, EPT_RWX, EPT_MT_WB)).toBe(EPT_ERR_NOMEM);
    expect(m.invalidations.length).toBe(flushes + 1);
    expect(ept.done).toBe(0);
    expect(ept.translate(0x1234000)).toBe(-1);
    expect(ept.tablePages).toBe(1);
    audit(m, ept);
    expect(ept.map(0x1234000, 0x200000, M2 - 0x34000, EPT_RWX, EPT_MT_WB)).toBe(EPT_ERR_NOMEM);
    // a 2 MiB page needs only PDPT and PD
    expect(ept.map(0, 0, M2, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(m.poolPages(0)).toBe(0);
    ept.destroy();
    expect(m.poolPages(0)).toBe(3);
    expect(ept.tablePages).toBe(0);
  });

  it('reports how far a mapping got', () => {
    const { m, ept } = fresh(4); // PML4, PDPT, PD and one PT: the second PT fails
    expect(ept.map(0x400000, 0x10401000, 2 * M2, EPT_RWX, EPT_MT_WB)).toBe(EPT_ERR_NOMEM);
    expect(ept.done).toBe(M2);
    expect(ept.translate(0x400000 + M2 - K4)).toBe(0x10401000 + M2 - K4);
    expect(ept.translate(0x400000 + M2)).toBe(-1);
    audit(m, ept);
    ept.destroy();
    expect(m.poolPages(0)).toBe(4);
  });

  it('keeps the old mapping when splitting for unmap or modify runs out', () => {
    const { m, ept } = fresh(3);
    expect(ept.map(0, 0x600000, M2, EPT_RWX, EPT_MT_WB)).toBe(0);
    const flushes = m.invalidations.length;
    expect(ept.unmap(K4, K4)).toBe(EPT_ERR_NOMEM);
    expect(ept.modify(K4, K4, EPT_R, EPT_MT_WB)).toBe(EPT_ERR_NOMEM);
    expect(m.invalidations.length).toBe(flushes + 2);
    expect(entryFor(m, ept, 0, 2)).toBe(leaf(0x600000, R | W | X, 6, PS));
    expect(ept.translate(K4)).toBe(0x601000);
    audit(m, ept);
    ept.destroy();
    expect(m.poolPages(0)).toBe(3);
  });
});

describe('EPT: lifetime', () => {
  it('create/destroy 1,000 times leaves the pool as it was', () => {
    const m = baseMachine();
    const free = m.poolPages(0);
    for (let i = 0; i < 1000; i++) {
      const ept = new Ept();
      expect(ept.init()).toBe(true);
      if (i % 10 === 0) {
        expect(ept.map(i * M2 + K4, 0x100000, K4, EPT_RWX, EPT_MT_WB)).toBe(0);
        expect(ept.map(i * G1, 0, M2, EPT_RWX, EPT_MT_WB)).toBe(0);
      }
      ept.destroy();
      expect(ept.tablePages).toBe(0);
    }
    expect(m.poolPages(0)).toBe(free);
  });

  it('destroy frees a large tree, PML4 included, and issues one INVEPT', () => {
    const m = baseMachine();
    const free = m.poolPages(0);
    const ept = new Ept();
    expect(ept.init()).toBe(true);
    for (let i = 0; i < 8; i++) expect(ept.map(i * 0x8000000000 + i * G1 + K4, 0x1000, 3 * K4, EPT_RWX, EPT_MT_WB)).toBe(0);
    expect(ept.tablePages).toBe(1 + 8 * 3);
    expect(used(m)).toBe(25);
    const n = m.invalidations.length;
    ept.destroy();
    expect(m.invalidations.length).toBe(n + 1);
    expect(m.poolPages(0)).toBe(free);
  });
});

// ---- a random walk against a page-by-page model -----------------------------------
describe('EPT: random operations against a model', () => {
  /** xorshift32, so failures reproduce. */
  function rng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s ^= s << 13; s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5; s >>>= 0;
      return s / 2 ** 32;
    };
  }

  it('agrees with the model on every page of a window across a 1 GiB boundary', { timeout: 60000 }, () => {
    const { m, ept } = fresh();
    const lo = G1 - 4 * M2, hi = G1 + 4 * M2, pages = (hi - lo) / K4;
    const model: ({ hpa: number; perms: number; mt: number } | null)[] = new Array(pages).fill(null);
    const rand = rng(0x5eed1234);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const PERMS = [EPT_R, EPT_R | EPT_W, EPT_R | EPT_X, EPT_RWX];
    const MTS = [EPT_MT_UC, EPT_MT_WC, EPT_MT_WT, EPT_MT_WP, EPT_MT_WB, EPT_MT_WB | EPT_IGNORE_PAT];
    for (let step = 0; step < 300; step++) {
      const kind = rand();
      let gpa = lo + (rand() < 0.5 ? Math.floor(rand() * 8) * M2 : Math.floor(rand() * pages) * K4);
      let size = pick([K4, 2 * K4, 17 * K4, M2, M2 + K4, 2 * M2, 3 * M2 - K4, 8 * M2]);
      if (gpa + size > hi) size = hi - gpa;
      if (size <= 0) continue;
      const first = (gpa - lo) / K4, count = size / K4;
      const n = m.invalidations.length;
      if (kind < 0.05) {
        // a 1 GiB page at 1 GiB (beyond the window too), hpa 1 GiB-aligned
        const hpa = pick([2, 5, 9]) * G1;
        gpa = G1;
        expect(ept.map(G1, hpa, G1, EPT_RWX, EPT_MT_WB)).toBe(0);
        for (let p = (G1 - lo) / K4; p < pages; p++) model[p] = { hpa: hpa + (lo + p * K4 - G1), perms: EPT_RWX, mt: EPT_MT_WB };
      } else if (kind < 0.5) {
        const hpa = 0x200000000 + Math.floor(rand() * 64) * M2 + (rand() < 0.5 ? 0 : Math.floor(rand() * 512) * K4);
        const perms = pick(PERMS), mt = pick(MTS);
        expect(ept.map(gpa, hpa, size, perms, mt)).toBe(0);
        for (let p = 0; p < count; p++) model[first + p] = { hpa: hpa + p * K4, perms, mt };
      } else if (kind < 0.8) {
        expect(ept.unmap(gpa, size)).toBe(0);
        expect(ept.done).toBe(size);
        for (let p = 0; p < count; p++) model[first + p] = null;
      } else {
        const perms = pick(PERMS), mt = pick(MTS);
        let holes = 0;
        for (let p = 0; p < count; p++) {
          const e = model[first + p];
          if (e === null) holes++;
          else model[first + p] = { hpa: e.hpa, perms, mt };
        }
        expect(ept.modify(gpa, size, perms, mt)).toBe(holes);
      }
      expect(m.invalidations.length).toBe(n + 1);
      // every page every 20 steps (the simulated memory is slow), else the
      // range just touched, its neighbours and a random sample
      const full = step % 20 === 0;
      const wrong: number[] = [];
      for (let p = 0; p < pages; p++) {
        if (!full && !(p >= first - 2 && p < first + count + 2) && rand() > 0.05) continue;
        const e = model[p];
        const got = ept.translate(lo + p * K4 + 0x123);
        if (e === null ? got !== -1 : got !== e.hpa + 0x123 || ept.lastPerms !== e.perms || ept.lastMemType !== e.mt) wrong.push(p);
      }
      expect(wrong, `step ${step}`).toEqual([]);
      if (full) expect(audit(m, ept)).toBe(used(m));
    }
    expect(ept.unmap(0, 2 * G1)).toBe(0);
    expect(ept.tablePages).toBe(1);
    ept.destroy();
    expect(m.poolPages(0)).toBe(POOL_PAGES);
  });
});

// ---- porffor rules for the code that will join the native bundle --------------------
describe('EPT: porffor coding rules', () => {
  const bundleOf = (contents: string): string => buildSync({
    stdin: { contents, resolveDir: process.cwd(), loader: 'ts' }, bundle: true, format: 'esm', write: false,
    target: 'es2022', define: { __NATIVE__: 'true' }, logLevel: 'silent',
  }).outputFiles[0].text;

  for (const [name, contents] of [
    ['hypervisor + ept', "import './hv/main'; export * from './arch/x86/ept';"],
    ['conformance program', "import './test/conformance/ept';"],
  ]) {
    it(`P1/P3 hold in the ${name} bundle`, () => {
      const bundle = bundleOf(contents);
      expect(bundle).toMatch(/class Ept\b|\bEpt = class\b/);
      const functions = new Set([...bundle.matchAll(/^(?:async )?function (\w+)\(/gm)].map((x) => x[1]));
      const methods = new Set([...bundle.matchAll(/^ {2}(?:static )?(\w+)\([^)]*\) \{/gm)].map((x) => x[1]));
      expect([...functions].filter((f) => methods.has(f) && f !== 'constructor')).toEqual([]);
      expect([...bundle.matchAll(/this\.\w+\[[^\]\n]*this\.[^\]\n]*\]\s*=[^=]/g)].map((x) => x[0])).toEqual([]);
      expect(bundle).not.toMatch(/\bfinally\b/);
      expect(bundle).not.toMatch(/\b\d+n\b/);
      const ept = bundle.slice(bundle.search(/class Ept\b|\bEpt = class\b/));
      expect(ept.slice(0, ept.search(/^\}/m))).not.toMatch(/\blength\b/); // no field or method named length
    });
  }
});
