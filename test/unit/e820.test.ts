// Per-VM e820 tables (hv/vm/e820.ts): ACRN's pre-launched template sized from
// the VM's memory regions, and the Service VM's host map minus removed ranges.
// Expected tables are written out from ACRN-ABI.md and ACRN's ve820.c
// (low RAM 0-640K, reserved to 1M, RAM from 1M, ACPI reclaim at 0x7FE00000
// (960 KiB), ACPI NVS at 0x7FF00000 (1 MiB), PCI hole 2-4 GiB, high RAM).
import { describe, expect, it } from 'vitest';
import { attachSimMachine } from '../../arch/x86/intrinsics';
import { SimMachine } from '../../arch/x86/sim-machine';
import { E820_ACPI, E820_NVS, E820_RAM, E820_RESERVED, RESV_HV_IMAGE, RESV_MODULE, RESV_PAGE_POOL } from '../../hv/mm';
import {
  E820_E_BAD_RANGE, E820_E_FULL, E820_E_NO_RAM, E820_MAX_ENTRIES, E820_OK, E820Table, e820AddHypervisorRanges,
  e820BuildPreLaunched, e820BuildServiceVm, e820ErrorMessage, e820FromHostMap,
} from '../../hv/vm/e820';

const MiB = 0x100000;
const GiB = 0x40000000;
type Entry = [number, number, number];

function table(entries: Entry[], capacity = E820_MAX_ENTRIES): E820Table {
  const t = new E820Table(capacity);
  for (const [b, s, ty] of entries) expect(t.append(b, s, ty)).toBe(true);
  return t;
}
function rows(t: E820Table): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < t.count; i++) out.push([t.base[i], t.size[i], t.type[i]]);
  return out;
}
/** The fixed part of ACRN's template. */
const TEMPLATE_TAIL: Entry[] = [
  [0x7fe00000, 0xf0000, E820_ACPI],
  [0x7ff00000, 0x100000, E820_NVS],
  [0x80000000, 0x80000000, E820_RESERVED],
];

function pre(regions: Entry[]): { rc: number; out: Entry[] } {
  const out = new E820Table();
  const rc = e820BuildPreLaunched(out, table(regions));
  return { rc, out: rows(out) };
}

/** Sorted, non-overlapping, touching same-type entries merged. */
function expectWellFormed(t: E820Table): void {
  for (let i = 1; i < t.count; i++) {
    const prevEnd = t.base[i - 1] + t.size[i - 1];
    expect(t.base[i]).toBeGreaterThanOrEqual(prevEnd);
    if (t.base[i] === prevEnd) expect(t.type[i]).not.toBe(t.type[i - 1]);
  }
  for (let i = 0; i < t.count; i++) expect(t.size[i]).toBeGreaterThan(0);
}

describe('E820Table', () => {
  it('appends up to its capacity and refuses bad ranges', () => {
    const t = new E820Table(2);
    expect(t.append(0, 0x1000, E820_RAM)).toBe(true);
    expect(t.append(0x1000, 0, E820_RAM)).toBe(false);
    expect(t.append(-0x1000, 0x1000, E820_RAM)).toBe(false);
    expect(t.append(4096.5, 0x1000, E820_RAM)).toBe(false);
    expect(t.append(0xfffffffff000 * 0x100, 0x1000, E820_RAM)).toBe(false);
    expect(t.append(0x2000, 0x1000, E820_RESERVED)).toBe(true);
    expect(t.append(0x3000, 0x1000, E820_RAM)).toBe(false);
    expect(t.count).toBe(2);
    expect(t.entryEnd(1)).toBe(0x3000);
    expect(t.entryEnd(5)).toBe(0);
  });

  it('finds runs of RAM across touching entries', () => {
    const t = table([[0, 0xa0000, E820_RAM], [MiB, MiB, E820_RAM], [2 * MiB, 2 * MiB, E820_RAM], [4 * MiB, MiB, E820_RESERVED]]);
    expect(t.ramRunEnd(0x1000)).toBe(0xa0000);
    expect(t.ramRunEnd(MiB + 5)).toBe(4 * MiB);
    expect(t.ramRunEnd(0xa0000)).toBe(-1);
    expect(t.ramRunEnd(4 * MiB)).toBe(-1);
    expect(t.isRam(MiB, 3 * MiB)).toBe(true);
    expect(t.isRam(MiB, 3 * MiB + 1)).toBe(false);
    expect(t.isRam(0x9f000, 0x2000)).toBe(false);
    expect(t.isRam(MiB, 0)).toBe(false);
    expect(t.ramBytes()).toBe(0xa0000 + 3 * MiB);
    const copy = new E820Table(4);
    expect(copy.copyFrom(t)).toBe(true);
    expect(rows(copy)).toEqual(rows(t));
    expect(new E820Table(2).copyFrom(t)).toBe(false);
  });

  it('has a message for every error', () => {
    expect(e820ErrorMessage(E820_OK)).toBe('no error');
    expect(e820ErrorMessage(E820_E_FULL)).toMatch(/128 entries/);
    expect(e820ErrorMessage(E820_E_BAD_RANGE)).toMatch(/range/);
    expect(e820ErrorMessage(E820_E_NO_RAM)).toMatch(/no RAM/);
    expect(e820ErrorMessage(-99)).toMatch(/unknown/);
  });
});

describe('pre-launched VM e820 (ACRN template)', () => {
  it('16 MiB at GPA 0: low RAM, BIOS hole, RAM from 1 MiB, ACPI, NVS, PCI hole', () => {
    expect(pre([[0, 16 * MiB, E820_RAM]])).toEqual({
      rc: E820_OK,
      out: [[0, 0xa0000, E820_RAM], [0xa0000, 0x60000, E820_RESERVED], [MiB, 15 * MiB, E820_RAM], ...TEMPLATE_TAIL],
    });
  });

  it('4 MiB (the test VMs): RAM from 1 MiB to 4 MiB', () => {
    const { out } = pre([[0, 4 * MiB, E820_RAM]]);
    expect(out[2]).toEqual([MiB, 3 * MiB, E820_RAM]);
    expect(out).toHaveLength(6);
  });

  it('RAM stops at 0x7FE00000; above 4 GiB it is high RAM; the 2-4 GiB hole is never RAM', () => {
    expect(pre([[0, 3 * GiB, E820_RAM], [4 * GiB, GiB, 0]])).toEqual({
      rc: E820_OK,
      out: [
        [0, 0xa0000, E820_RAM], [0xa0000, 0x60000, E820_RESERVED], [MiB, 0x7fe00000 - MiB, E820_RAM], ...TEMPLATE_TAIL,
        [4 * GiB, GiB, E820_RAM],
      ],
    });
  });

  it('touching regions merge; a region from 1 MiB gives no low RAM; the region types are ignored', () => {
    expect(pre([[8 * MiB, 8 * MiB, E820_RESERVED], [MiB, 7 * MiB, E820_NVS]]).out).toEqual([
      [0xa0000, 0x60000, E820_RESERVED], [MiB, 15 * MiB, E820_RAM], ...TEMPLATE_TAIL,
    ]);
  });

  it('regions with holes between them give separate RAM entries', () => {
    expect(pre([[0, 0x80000, E820_RAM], [2 * MiB, MiB, E820_RAM], [8 * MiB, MiB, E820_RAM]]).out).toEqual([
      [0, 0x80000, E820_RAM], [0xa0000, 0x60000, E820_RESERVED], [2 * MiB, MiB, E820_RAM], [8 * MiB, MiB, E820_RAM], ...TEMPLATE_TAIL,
    ]);
  });

  it('regions only inside the template windows give no RAM: refused', () => {
    const out = new E820Table();
    expect(e820BuildPreLaunched(out, table([[0x7fe00000, 2 * MiB, E820_RAM], [3 * GiB, MiB, E820_RAM]]))).toBe(E820_E_NO_RAM);
    expect(out.count).toBe(0);
    expect(e820BuildPreLaunched(out, new E820Table(1))).toBe(E820_E_NO_RAM);
  });

  it('a bad region is refused', () => {
    const regions = table([[0, MiB, E820_RAM]]);
    regions.size[0] = -5;
    const out = new E820Table();
    expect(e820BuildPreLaunched(out, regions)).toBe(E820_E_BAD_RANGE);
    expect(out.count).toBe(0);
  });
});

// The emulator board (scenarios/board-default.ts) and the hypervisor's own memory.
const BOARD: Entry[] = [
  [0x0, 0x9f000, E820_RAM],
  [0x9f000, 0x1000, E820_RESERVED],
  [0xe8000, 0x18000, E820_RESERVED],
  [0x100000, 0x3fef0000, E820_RAM],
  [0x3fff0000, 0x10000, E820_ACPI],
  [0xfffc0000, 0x40000, E820_RESERVED],
];

describe('Service VM e820 (host map minus removed ranges)', () => {
  it('the hypervisor (1-68 MiB) and a pre-launched VM\'s 16 MiB become reserved; the rest is kept', () => {
    const out = new E820Table();
    const removed = table([[MiB, 67 * MiB, 0], [0x10000000, 16 * MiB, 0]]);
    expect(e820BuildServiceVm(out, table(BOARD), removed)).toBe(E820_OK);
    expect(rows(out)).toEqual([
      [0x0, 0x9f000, E820_RAM],
      [0x9f000, 0x1000, E820_RESERVED],
      [0xe8000, 0x18000 + 67 * MiB, E820_RESERVED], // touching reserved entries merge
      [68 * MiB, 0x10000000 - 68 * MiB, E820_RAM],
      [0x10000000, 16 * MiB, E820_RESERVED],
      [0x11000000, 0x3fff0000 - 0x11000000, E820_RAM],
      [0x3fff0000, 0x10000, E820_ACPI],
      [0xfffc0000, 0x40000, E820_RESERVED],
    ]);
    expectWellFormed(out);
  });

  it('a removed range over a whole entry, over non-RAM and over a hole', () => {
    const out = new E820Table();
    const removed = table([[0, 0x9f000, 0], [0xe0000, 0x30000, 0], [0x50000000, MiB, 0]]);
    expect(e820BuildServiceVm(out, table(BOARD), removed)).toBe(E820_OK);
    expect(rows(out)).toEqual([
      [0x0, 0xa0000, E820_RESERVED],
      [0xe8000, 0x28000, E820_RESERVED],
      [0x110000, 0x3fee0000, E820_RAM],
      [0x3fff0000, 0x10000, E820_ACPI],
      [0xfffc0000, 0x40000, E820_RESERVED],
    ]);
  });

  it('sorts an unsorted host map; overlapping host entries: the higher type wins', () => {
    const out = new E820Table();
    const host = table([[MiB, 15 * MiB, E820_RAM], [0, 0xa0000, E820_RAM], [4 * MiB, MiB, E820_RESERVED], [15 * MiB, 2 * MiB, E820_ACPI]]);
    expect(e820BuildServiceVm(out, host, new E820Table(1))).toBe(E820_OK);
    expect(rows(out)).toEqual([
      [0, 0xa0000, E820_RAM], [MiB, 3 * MiB, E820_RAM], [4 * MiB, MiB, E820_RESERVED], [5 * MiB, 10 * MiB, E820_RAM],
      [15 * MiB, 2 * MiB, E820_ACPI],
    ]);
  });

  it('more than 128 resulting entries: E820_E_FULL, table empty', () => {
    const host = new E820Table();
    const removed = new E820Table();
    for (let i = 0; i < 100; i++) {
      host.append(i * 0x10000, 0x8000, E820_RAM);
      removed.append(i * 0x10000 + 0x2000, 0x1000, 0);
    }
    const out = new E820Table();
    expect(e820BuildServiceVm(out, host, removed)).toBe(E820_E_FULL);
    expect(out.count).toBe(0);
  });

  it('a bad host entry is refused', () => {
    const host = table([[0, MiB, E820_RAM]]);
    host.base[0] = 0.5;
    expect(e820BuildServiceVm(new E820Table(), host, new E820Table(1))).toBe(E820_E_BAD_RANGE);
  });

  it('matches a page-by-page model on random maps', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const PAGES = 64;
      const host = new E820Table();
      const removed = new E820Table();
      const model: number[] = new Array(PAGES).fill(0);
      for (let k = 0, n = 1 + rnd(6); k < n; k++) {
        const b = rnd(PAGES);
        const s = 1 + rnd(PAGES - b);
        const ty = 1 + rnd(4);
        host.append(b * 0x1000, s * 0x1000, ty);
        for (let p = b; p < b + s; p++) model[p] = Math.max(model[p], ty);
      }
      for (let k = 0, n = rnd(4); k < n; k++) {
        const b = rnd(PAGES);
        const s = 1 + rnd(PAGES - b);
        removed.append(b * 0x1000, s * 0x1000, 0);
        for (let p = b; p < b + s; p++) if (model[p] === E820_RAM) model[p] = E820_RESERVED;
      }
      const out = new E820Table();
      expect(e820BuildServiceVm(out, host, removed)).toBe(E820_OK);
      expectWellFormed(out);
      const got: number[] = new Array(PAGES).fill(0);
      for (let i = 0; i < out.count; i++) {
        for (let p = out.base[i] / 0x1000; p < (out.base[i] + out.size[i]) / 0x1000; p++) got[p] = out.type[i];
      }
      expect(got).toEqual(model);
    }
  });

  it('reads the host map and the hypervisor-reserved ranges through the intrinsics', () => {
    const m = new SimMachine();
    m.memoryMap = BOARD.map(([base, length, type]) => ({ base, length, type }));
    m.memoryMap.push({ base: 0x200000000, length: 0, type: E820_RAM });
    m.reserved = [
      { base: MiB, size: 2 * MiB, kind: RESV_HV_IMAGE },
      { base: 0x2000000, size: 0x100000, kind: RESV_MODULE },
      { base: 3 * MiB, size: 16 * MiB, kind: RESV_PAGE_POOL },
      { base: 0x5000000, size: 0, kind: RESV_PAGE_POOL },
    ];
    attachSimMachine(m);
    const host = new E820Table();
    expect(e820FromHostMap(host)).toBe(E820_OK);
    expect(rows(host)).toEqual(BOARD);
    const removed = new E820Table();
    expect(e820AddHypervisorRanges(removed, (1 << RESV_HV_IMAGE) | (1 << RESV_PAGE_POOL))).toBe(E820_OK);
    expect(rows(removed)).toEqual([[MiB, 2 * MiB, E820_RESERVED], [3 * MiB, 16 * MiB, E820_RESERVED]]);
    const out = new E820Table();
    expect(e820BuildServiceVm(out, host, removed)).toBe(E820_OK);
    expect(rows(out)[2]).toEqual([0xe8000, 0x18000 + 18 * MiB, E820_RESERVED]);
    expect(rows(out)[3]).toEqual([19 * MiB, 0x3fff0000 - 19 * MiB, E820_RAM]);
    const small = new E820Table(2);
    expect(e820FromHostMap(small)).toBe(E820_E_FULL);
    expect(e820AddHypervisorRanges(new E820Table(1), 0xffff)).toBe(E820_E_FULL);
  });
});
