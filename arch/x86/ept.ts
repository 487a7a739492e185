// Extended page tables: the guest-physical -> host-physical map of one VM
// (Intel SDM Vol. 3C 29.3 "The Extended Page Table Mechanism", 25.6.11 EPTP).
//
// A 4-level walk: the PML4 (level 4) entry for GPA bits 47:39, the PDPT
// (level 3) entry for bits 38:30, the PD (level 2) entry for bits 29:21 and the
// PT (level 1) entry for bits 20:12. A PDPTE or PDE with bit 7 set maps a
// 1 GiB or 2 MiB page itself (Figures 29-1..29-7).
//
//   EPTP (25.6.11)          63      52 51                 12 11  7 6  5:3  2:0
//                           | 0       | PML4 address       | 0   |AD|WL-1| MT |
//                           MT 6 = WB for the paging structures, WL-1 = 3, AD = 0
//
//   entry (Tables 29-1..29-6) 63    52 51                 12 11  8 7  6   5:3  2 1 0
//                           | 0      | address            | 0   |PS|IPAT| MT |X|W|R|
//     non-leaf: address of the next table, R=W=X=1, bits 7:3 = 0
//     leaf:     address of the page, MT = EPT memory type, IPAT = ignore guest
//               PAT, PS (bit 7) = 1 in a PDPTE (1 GiB) or PDE (2 MiB), 0 in a PTE
//     bits 2:0 all 0: not present. W without R is a misconfiguration (29.3.3.1),
//     so are MT 2, 3 and 7, and X-only unless IA32_VMX_EPT_VPID_CAP[0] is set.
//
// Entries are 64-bit words in pool pages, read with peek64 + hi() and written
// whole with poke64(pa, hi, lo), so a walker on another CPU sees either the old
// or the new entry. A table is linked into its parent only once it is complete
// (zeroed, or filled with the 512 pieces of the large page it splits), so the
// tables are valid after every single store, and after running out of pool
// pages half way. Pages of tables that leave the tree are freed only after the
// operation's INVEPT (a deferred list threaded through each page's entry 0, kept
// not-present), so no walk cached before the flush can reach a reused page.
//
// map/unmap/modify/translate allocate nothing but pool pages: no objects, no
// arrays, no strings; the walk is recursion bounded by the 4 levels.
import { eptFlushCpus, hi, invept, pageAlloc, pageFree, peek64, poke64, thisCpu } from './intrinsics';
import { hiOf, join, loOf } from '../../hv/u64';

export const EPT_R = 1;
export const EPT_W = 2;
export const EPT_X = 4;
export const EPT_RWX = 7;

/** EPT memory types (SDM Vol. 3C 29.3.7, bits 5:3 of a leaf entry). */
export const EPT_MT_UC = 0;
export const EPT_MT_WC = 1;
export const EPT_MT_WT = 4;
export const EPT_MT_WP = 5;
export const EPT_MT_WB = 6;
/** Or into a memory type to set the leaf's IPAT bit (6): ignore the guest PAT. */
export const EPT_IGNORE_PAT = 8;

/** Page sizes, also the values of Ept.largestPage. */
export const EPT_PAGE_4K = 0x1000;
export const EPT_PAGE_2M = 0x200000;
export const EPT_PAGE_1G = 0x40000000;

/** Errors of map/unmap/modify (0 or a hole count means success). */
export const EPT_ERR_ALIGN = -1;
export const EPT_ERR_NOMEM = -2;
export const EPT_ERR_RANGE = -3;
export const EPT_ERR_PERMS = -4;
export const EPT_ERR_MEMTYPE = -5;
/** The EPT has no PML4 (init not called or failed, or destroyed). */
export const EPT_ERR_STATE = -6;

/** A 4-level EPT translates 48-bit guest-physical addresses. */
export const EPT_GPA_LIMIT = 0x1000000000000; // 2^48
/** Architectural MAXPHYADDR ceiling: host-physical addresses below 2^52. */
export const EPT_HPA_LIMIT = 0x10000000000000; // 2^52

const ENTRIES = 512;
const ENTRY_PRESENT = 7; // bits 2:0
const ENTRY_PS = 0x80; // bit 7
const ENTRY_IPAT = 0x40; // bit 6
const ADDR_LO_MASK = 0xfffff000; // address bits 31:12 in the low half
const ADDR_HI_MASK = 0xfffff; // address bits 51:32 in the high half
/** EPTP bits 5:3 = walk length - 1 = 3, bits 2:0 = WB (6). */
const EPTP_WB_4LEVEL = (3 << 3) | EPT_MT_WB;
/** INVEPT type 1: single-context, for the EPTP given. */
const INVEPT_SINGLE_CONTEXT = 1;

// ---- pure helpers (also run by test/conformance/ept.ts) ---------------------

/** Bytes one entry of a level-`level` table maps: 4 KiB, 2 MiB, 1 GiB, 512 GiB. */
export function eptLevelSize(level: number): number {
  if (level === 1) return EPT_PAGE_4K;
  if (level === 2) return EPT_PAGE_2M;
  if (level === 3) return EPT_PAGE_1G;
  return 0x8000000000;
}

/** Index (0..511) of the entry for `gpa` in its level-`level` table (4 = PML4 .. 1 = PT). */
export function eptIndex(gpa: number, level: number): number {
  return Math.floor(gpa / eptLevelSize(level)) % ENTRIES;
}

/** Low half of an entry: address bits 31:12, perms, memory type (+IPAT), PS bit. */
export function eptEntryLo(hpa: number, perms: number, memType: number, large: boolean): number {
  let lo = (loOf(hpa) & ADDR_LO_MASK) >>> 0;
  lo = (lo | (perms & ENTRY_PRESENT) | ((memType & 7) << 3)) >>> 0;
  if ((memType & EPT_IGNORE_PAT) !== 0) lo = (lo | ENTRY_IPAT) >>> 0;
  if (large) lo = (lo | ENTRY_PS) >>> 0;
  return lo;
}

/** High half of an entry: address bits 51:32 (bits 63:52 stay 0). */
export function eptEntryHi(hpa: number): number {
  return hiOf(hpa) & ADDR_HI_MASK;
}

/** Bits 51:12 of an entry given as halves. */
export function eptEntryAddr(hiHalf: number, loHalf: number): number {
  return join(hiHalf & ADDR_HI_MASK, (loHalf & ADDR_LO_MASK) >>> 0);
}

/** Memory type of a leaf entry's low half, with EPT_IGNORE_PAT when IPAT is set. */
export function eptEntryMemType(loHalf: number): number {
  return ((loHalf >>> 3) & 7) | ((loHalf & ENTRY_IPAT) !== 0 ? EPT_IGNORE_PAT : 0);
}

/** True when a present entry at `level` maps a page rather than pointing to a table. */
export function eptIsLeaf(loHalf: number, level: number): boolean {
  return level === 1 || (level <= 3 && (loHalf & ENTRY_PS) !== 0);
}

/**
 * Largest page (EPT_PAGE_*) not above `largest` that both addresses are
 * aligned to and that `remaining` bytes fill.
 */
export function eptPageSize(gpa: number, hpa: number, remaining: number, largest: number): number {
  if (largest >= EPT_PAGE_1G && remaining >= EPT_PAGE_1G && gpa % EPT_PAGE_1G === 0 && hpa % EPT_PAGE_1G === 0) return EPT_PAGE_1G;
  if (largest >= EPT_PAGE_2M && remaining >= EPT_PAGE_2M && gpa % EPT_PAGE_2M === 0 && hpa % EPT_PAGE_2M === 0) return EPT_PAGE_2M;
  return EPT_PAGE_4K;
}

/** R/W/X bits an entry may hold: not 0, not W-only, not W+X without R; X-only when allowed. */
export function eptPermsValid(perms: number, executeOnly: boolean): boolean {
  if (!(perms >= 1 && perms <= 7) || perms % 1 !== 0) return false;
  if ((perms & EPT_R) === 0 && (perms & EPT_W) !== 0) return false;
  return perms !== EPT_X || executeOnly;
}

/** Memory types 0 (UC), 1 (WC), 4 (WT), 5 (WP), 6 (WB), optionally | EPT_IGNORE_PAT. */
export function eptMemTypeValid(memType: number): boolean {
  if (!(memType >= 0 && memType <= 15) || memType % 1 !== 0) return false;
  const t = memType & 7;
  return t === 0 || t === 1 || t === 4 || t === 5 || t === 6;
}

/** EPTP halves for a PML4 at `pml4`: WB paging structures, 4-level walk, no A/D flags. */
export function eptPointerLo(pml4: number): number {
  return ((loOf(pml4) & ADDR_LO_MASK) | EPTP_WB_4LEVEL) >>> 0;
}
export function eptPointerHi(pml4: number): number {
  return hiOf(pml4) & ADDR_HI_MASK;
}

/** 0 when [gpa, gpa+size) is a non-empty, 4 KiB-aligned range of guest-physical space. */
export function eptCheckRange(gpa: number, size: number): number {
  if (gpa % EPT_PAGE_4K !== 0 || size % EPT_PAGE_4K !== 0) return EPT_ERR_ALIGN;
  if (!(gpa >= 0 && size > 0 && gpa + size <= EPT_GPA_LIMIT)) return EPT_ERR_RANGE;
  return 0;
}

// ---- the tables ---------------------------------------------------------------

/** The EPT of one VM. */
export class Ept {
  /** Physical address of the PML4; 0 before init and after destroy. */
  pml4 = 0;
  /** Table pages (PML4 included) this EPT holds. */
  tablePages = 0;
  /** Largest page map() uses; lower it when IA32_VMX_EPT_VPID_CAP lacks bit 17 (1 GiB) or 16 (2 MiB). */
  largestPage = EPT_PAGE_1G;
  /** Accept execute-only mappings (IA32_VMX_EPT_VPID_CAP[0]). */
  allowExecuteOnly = false;
  /** Set by translate(): the leaf's R/W/X bits, memory type (| EPT_IGNORE_PAT) and page size; 0 when unmapped. */
  lastPerms = 0;
  lastMemType = 0;
  lastPageSize = 0;
  /** Bytes from the start of the last map/unmap/modify range that it handled (the whole size on success). */
  done = 0;
  /** 4 KiB pages of the last modify() range that were not mapped. */
  holes = 0;
  /** RFLAGS outcome of the last INVEPT (0 = success). */
  inveptStatus = 0;
  /**
   * pCPUs (bit n = pCPU n) that may hold translations of this EPT: those its
   * vCPUs are placed on (Scheduler.assign). A change is flushed on each.
   */
  cpuMask = 0;
  /** pCPUs that did not answer the last remote flush (0: all did), and how often that happened. */
  remoteMissed = 0;
  remoteMissCount = 0;

  // The operation in progress (set by map/unmap/modify, read by the walkers).
  private opStart = 0;
  private opDelta = 0;
  private opPerms = 0;
  private opMemType = 0;
  /** Head of the table pages to free after the next INVEPT (0: none). */
  private pendingFree = 0;

  /** Allocate the (zeroed) PML4; false when the pool is empty. */
  init(): boolean {
    if (this.pml4 !== 0) return true;
    const page = pageAlloc();
    if (page === 0) return false;
    this.pml4 = page;
    this.tablePages = 1;
    return true;
  }

  eptpHi(): number {
    return this.pml4 === 0 ? 0 : eptPointerHi(this.pml4);
  }
  eptpLo(): number {
    return this.pml4 === 0 ? 0 : eptPointerLo(this.pml4);
  }

  /**
   * Map [gpa, gpa+size) to [hpa, hpa+size) with R/W/X `perms` and `memType`,
   * each piece with the largest page that alignment and size allow, replacing
   * what was mapped there (large pages that only partly overlap are split).
   * Returns 0 or EPT_ERR_*; after EPT_ERR_NOMEM the first `done` bytes are
   * mapped and the rest keeps its previous mapping.
   */
  map(gpa: number, hpa: number, size: number, perms: number, memType: number): number {
    const bad = this.validate(gpa, size, perms, memType);
    if (bad !== 0) return bad;
    if (hpa % EPT_PAGE_4K !== 0) return EPT_ERR_ALIGN;
    if (!(hpa >= 0 && hpa + size <= EPT_HPA_LIMIT)) return EPT_ERR_RANGE;
    if (this.pml4 === 0) return EPT_ERR_STATE;
    this.startOp(gpa, perms, memType);
    this.opDelta = hpa - gpa;
    return this.finish(this.mapIn(this.pml4, 4, 0, gpa, gpa + size), 0);
  }

  /**
   * Remove the mappings of [gpa, gpa+size), splitting large pages at the edges
   * and freeing tables that become empty (never the PML4). Unmapped parts
   * of the range are fine (whole tables are dropped without looking inside,
   * so unlike modify() it does not count holes). Returns 0 or EPT_ERR_*;
   * after EPT_ERR_NOMEM the first `done` bytes are unmapped.
   */
  unmap(gpa: number, size: number): number {
    const bad = eptCheckRange(gpa, size);
    if (bad !== 0) return bad;
    if (this.pml4 === 0) return EPT_ERR_STATE;
    this.startOp(gpa, 0, 0);
    return this.finish(this.unmapIn(this.pml4, 4, 0, gpa, gpa + size), 0);
  }

  /**
   * Give the mapped pages of [gpa, gpa+size) new `perms` and `memType`,
   * splitting large pages at the edges. Returns the number of 4 KiB pages in
   * the range that were not mapped (skipped), or EPT_ERR_*.
   */
  modify(gpa: number, size: number, perms: number, memType: number): number {
    const bad = this.validate(gpa, size, perms, memType);
    if (bad !== 0) return bad;
    if (this.pml4 === 0) return EPT_ERR_STATE;
    this.startOp(gpa, perms, memType);
    const r = this.modifyIn(this.pml4, 4, 0, gpa, gpa + size);
    return this.finish(r, this.holes);
  }

  /** Host-physical address of `gpa`, or -1 when unmapped; sets lastPerms/lastMemType/lastPageSize. */
  translate(gpa: number): number {
    this.lastPerms = 0;
    this.lastMemType = 0;
    this.lastPageSize = 0;
    if (this.pml4 === 0 || !(gpa >= 0 && gpa < EPT_GPA_LIMIT)) return -1;
    let table = this.pml4;
    for (let level = 4; level >= 1; level--) {
      const lo = peek64(table + eptIndex(gpa, level) * 8);
      const hiHalf = hi();
      if ((lo & ENTRY_PRESENT) === 0) return -1;
      if (eptIsLeaf(lo, level)) {
        const size = eptLevelSize(level);
        this.lastPerms = lo & ENTRY_PRESENT;
        this.lastMemType = eptEntryMemType(lo);
        this.lastPageSize = size;
        return eptEntryAddr(hiHalf, lo) + (gpa % size);
      }
      table = eptEntryAddr(hiHalf, lo);
    }
    return -1;
  }

  /**
   * Free every table page, the PML4 included. Issues one INVEPT first, so that
   * a later EPT that gets the same PML4 page cannot hit this one's cached
   * translations. The Ept can be init()ed again afterwards.
   */
  destroy(): void {
    if (this.pml4 === 0) return;
    this.flush();
    this.releasePending();
    this.freeTree(this.pml4, 4, false);
    this.pml4 = 0;
  }

  // ---- the walkers: one table at `level` whose entry 0 maps `base`; handle [start, end) ----

  private mapIn(table: number, level: number, base: number, start: number, end: number): number {
    const size = eptLevelSize(level);
    let i = eptIndex(start, level);
    for (let at = base + i * size; at < end; at += size) {
      const pa = table + i * 8;
      i++;
      const lo = peek64(pa);
      const hiHalf = hi();
      const from = at > start ? at : start;
      const to = at + size < end ? at + size : end;
      const whole = from === at && to === at + size;
      if (level === 1 || (level <= 3 && whole && eptPageSize(at, at + this.opDelta, end - at, this.largestPage) >= size)) {
        const hpa = at + this.opDelta;
        poke64(pa, eptEntryHi(hpa), eptEntryLo(hpa, this.opPerms, this.opMemType, level > 1));
        if ((lo & ENTRY_PRESENT) !== 0 && !eptIsLeaf(lo, level)) this.freeTree(eptEntryAddr(hiHalf, lo), level - 1, true);
        this.done = to - this.opStart;
        continue;
      }
      const child = this.childOf(pa, hiHalf, lo, level);
      if (child === 0) return EPT_ERR_NOMEM;
      const r = this.mapIn(child, level - 1, at, from, to);
      if (r < 0) {
        // Out of pool pages below a table this call created: drop it if nothing got mapped in it.
        if ((lo & ENTRY_PRESENT) === 0 && this.isEmpty(child)) {
          poke64(pa, 0, 0);
          this.freeTree(child, level - 1, true);
        }
        return r;
      }
    }
    return 0;
  }

  /** Returns 1 when it cleared an entry of `table` (which may now be empty), 0 if not, or EPT_ERR_*. */
  private unmapIn(table: number, level: number, base: number, start: number, end: number): number {
    const size = eptLevelSize(level);
    let cleared = 0;
    let i = eptIndex(start, level);
    for (let at = base + i * size; at < end; at += size) {
      const pa = table + i * 8;
      i++;
      const lo = peek64(pa);
      const hiHalf = hi();
      const from = at > start ? at : start;
      const to = at + size < end ? at + size : end;
      if ((lo & ENTRY_PRESENT) === 0) {
        // nothing mapped here
      } else if (from === at && to === at + size) {
        poke64(pa, 0, 0);
        cleared = 1;
        if (!eptIsLeaf(lo, level)) this.freeTree(eptEntryAddr(hiHalf, lo), level - 1, true);
      } else {
        const child = this.childOf(pa, hiHalf, lo, level);
        if (child === 0) return EPT_ERR_NOMEM;
        const r = this.unmapIn(child, level - 1, at, from, to);
        if (r < 0) return r;
        if (r === 1 && this.isEmpty(child)) {
          poke64(pa, 0, 0);
          this.freeTree(child, level - 1, true);
          cleared = 1;
        }
      }
      this.done = to - this.opStart;
    }
    return cleared;
  }

  private modifyIn(table: number, level: number, base: number, start: number, end: number): number {
    const size = eptLevelSize(level);
    let i = eptIndex(start, level);
    for (let at = base + i * size; at < end; at += size) {
      const pa = table + i * 8;
      i++;
      const lo = peek64(pa);
      const hiHalf = hi();
      const from = at > start ? at : start;
      const to = at + size < end ? at + size : end;
      if ((lo & ENTRY_PRESENT) === 0) {
        this.holes += (to - from) / EPT_PAGE_4K;
      } else if (eptIsLeaf(lo, level) && from === at && to === at + size) {
        poke64(pa, hiHalf, eptEntryLo(eptEntryAddr(hiHalf, lo), this.opPerms, this.opMemType, level > 1));
      } else {
        const child = this.childOf(pa, hiHalf, lo, level);
        if (child === 0) return EPT_ERR_NOMEM;
        const r = this.modifyIn(child, level - 1, at, from, to);
        if (r < 0) return r;
      }
      this.done = to - this.opStart;
    }
    return 0;
  }

  // ---- helpers ------------------------------------------------------------------

  private validate(gpa: number, size: number, perms: number, memType: number): number {
    const bad = eptCheckRange(gpa, size);
    if (bad !== 0) return bad;
    if (!eptPermsValid(perms, this.allowExecuteOnly)) return EPT_ERR_PERMS;
    if (!eptMemTypeValid(memType)) return EPT_ERR_MEMTYPE;
    return 0;
  }

  private startOp(gpa: number, perms: number, memType: number): void {
    this.opStart = gpa;
    this.opPerms = perms;
    this.opMemType = memType;
    this.done = 0;
    this.holes = 0;
  }

  /** End of every map/unmap/modify that reached the tables: one INVEPT, then free unlinked tables. */
  private finish(result: number, success: number): number {
    this.flush();
    this.releasePending();
    return result < 0 ? result : success;
  }

  /**
   * INVEPT single-context for this EPTP on this pCPU, and on every other pCPU
   * in cpuMask before returning (ACRN's ept_flush_leaf_page): a flush IPI
   * whose native handler does the INVEPT and acknowledges; eptFlushCpus waits
   * for the acknowledgements (arch/x86/native/smp_ipi.c). A pCPU that never
   * answers is left in remoteMissed.
   */
  private flush(): void {
    const hiPart = eptPointerHi(this.pml4);
    const loPart = eptPointerLo(this.pml4);
    this.inveptStatus = invept(INVEPT_SINGLE_CONTEXT, hiPart, loPart);
    const others = this.cpuMask & ~(1 << thisCpu());
    if (others === 0) return;
    this.remoteMissed = eptFlushCpus(others, hiPart, loPart);
    if (this.remoteMissed !== 0) this.remoteMissCount++;
  }

  /**
   * The table below the entry at `pa` (level > 1): the existing one, a new
   * empty one for a not-present entry, or a new one holding the 512 pieces
   * of a large page. Returns 0 when the pool is empty (nothing changed).
   */
  private childOf(pa: number, hiHalf: number, lo: number, level: number): number {
    if ((lo & ENTRY_PRESENT) !== 0 && !eptIsLeaf(lo, level)) return eptEntryAddr(hiHalf, lo);
    const page = pageAlloc();
    if (page === 0) return 0;
    this.tablePages++;
    if ((lo & ENTRY_PRESENT) !== 0) {
      const addr = eptEntryAddr(hiHalf, lo);
      const perms = lo & ENTRY_PRESENT;
      const memType = eptEntryMemType(lo);
      const size = eptLevelSize(level - 1);
      for (let k = 0; k < ENTRIES; k++) {
        const hpa = addr + k * size;
        poke64(page + k * 8, eptEntryHi(hpa), eptEntryLo(hpa, perms, memType, level > 2));
      }
    }
    poke64(pa, eptEntryHi(page), eptEntryLo(page, EPT_RWX, 0, false));
    return page;
  }

  private isEmpty(table: number): boolean {
    for (let k = 0; k < ENTRIES; k++) if ((peek64(table + k * 8) & ENTRY_PRESENT) !== 0) return false;
    return true;
  }

  /** Free a table at `level` and the tables below it, now or (`deferred`) after the next INVEPT. */
  private freeTree(table: number, level: number, deferred: boolean): void {
    if (level > 1) {
      for (let k = 0; k < ENTRIES; k++) {
        const lo = peek64(table + k * 8);
        const hiHalf = hi();
        if ((lo & ENTRY_PRESENT) !== 0 && !eptIsLeaf(lo, level)) this.freeTree(eptEntryAddr(hiHalf, lo), level - 1, deferred);
      }
    }
    if (deferred) {
      // Entry 0 becomes the list link; its bits 2:0 stay 0 (not present).
      const next = this.pendingFree;
      poke64(table, hiOf(next), loOf(next));
      this.pendingFree = table;
    } else {
      pageFree(table);
      this.tablePages--;
    }
  }

  private releasePending(): void {
    let page = this.pendingFree;
    this.pendingFree = 0;
    while (page !== 0) {
      const lo = peek64(page);
      const next = join(hi(), lo);
      pageFree(page);
      this.tablePages--;
      page = next;
    }
  }
}
