// Per-VM e820 tables (ACRN's ve820.c): what each guest is told about its
// guest-physical memory, through the Linux zero page (sw-loader.ts) and the
// loader's own placement decisions.
//
//   pre-launched VM  ACRN's pre_ve820_template (v3.x hypervisor/arch/x86/guest/ve820.c)
//                    with the RAM sized from the VM's memory regions:
//
//        0x00000000 +------------------------+
//                   | RAM (low, 640 KiB)     |  where a region covers it
//        0x000A0000 +------------------------+
//                   | reserved (video, BIOS) |  384 KiB
//        0x00100000 +------------------------+
//                   | RAM                    |  where a region covers it, up to 0x7FE00000
//        0x7FE00000 +------------------------+
//                   | ACPI reclaim (type 3)  |  960 KiB (VIRT_ACPI_DATA_ADDR)
//        0x7FEF0000 +------------------------+
//                   | (hole, 64 KiB)         |
//        0x7FF00000 +------------------------+
//                   | ACPI NVS (type 4)      |  1 MiB (VIRT_ACPI_NVS_ADDR)
//        0x80000000 +------------------------+
//                   | reserved: PCI hole     |  2 GiB
//       0x100000000 +------------------------+
//                   | RAM (high)             |  where a region covers it
//
//                    ACRN's Software SRAM and GPU OpRegion entries are left out
//                    (no such devices here). Region bytes that fall into a
//                    non-RAM window are EPT-mapped but not reported as RAM.
//
//   Service VM       the host map minus the given ranges (ACRN's
//                    create_service_vm_e820 / filter_mem_from_service_vm_e820):
//                    RAM inside a removed range becomes reserved (ACRN drops
//                    partly covered pieces and marks wholly covered entries
//                    reserved; marking every removed piece reserved keeps the
//                    Service VM from placing PCI windows over the hypervisor).
//                    Non-RAM entries are kept as they are.
//
// Both builders "paint" elementary intervals: every start and end is a
// boundary; each interval between two boundaries gets the highest e820 type
// of the entries covering it (Linux's sanitize_e820 rule: reserved wins over
// RAM), or none (a hole). The output is sorted, non-overlapping, with
// touching entries of the same type merged, and at most E820_MAX_ENTRIES
// (128, the size of boot_params.e820_table). Tables have a fixed capacity and
// nothing here allocates after module initialisation.
import { mmapCount, mmapField, resvCount, resvField } from '../../arch/x86/intrinsics';
import { E820_ACPI, E820_NVS, E820_RAM, E820_RESERVED } from '../mm';

/** boot_params.e820_table holds 128 entries (E820_MAX_ENTRIES_ZEROPAGE). */
export const E820_MAX_ENTRIES = 128;
/** Guest- and host-physical addresses stay below 2^52. */
export const E820_ADDR_LIMIT = 0x10000000000000;

export const E820_OK = 0;
/** An input range is empty, negative, not an integer, or ends past 2^52. */
export const E820_E_BAD_RANGE = -1;
/** The result needs more than E820_MAX_ENTRIES entries. */
export const E820_E_FULL = -2;
/** A pre-launched VM whose regions give it no RAM at all. */
export const E820_E_NO_RAM = -3;

export const E820_ERRORS = [
  'no error',
  'a range is empty, negative, not an integer or ends past 2^52',
  'the table would need more than 128 entries',
  'the memory regions give the VM no RAM',
];

/** Message of an E820_* result (0 or negative). */
export function e820ErrorMessage(code: number): string {
  const i = -code;
  return i >= 0 && i < E820_ERRORS.length ? E820_ERRORS[i] : 'unknown e820 error';
}

// ---- the pre-launched template (ACRN-ABI.md, ve820.c) ----------------------------------

export const PRE_LOWMEM_END = 0xa0000;
export const PRE_BIOS_END = 0x100000;
/** VIRT_ACPI_DATA_ADDR: ACPI reclaim, 960 KiB. */
export const PRE_ACPI_DATA_GPA = 0x7fe00000;
export const PRE_ACPI_DATA_SIZE = 960 * 1024;
/** VIRT_ACPI_NVS_ADDR: ACPI NVS, 1 MiB. */
export const PRE_ACPI_NVS_GPA = 0x7ff00000;
export const PRE_ACPI_NVS_SIZE = 0x100000;
/** The 32-bit PCI hole, 2 GiB up to 4 GiB. */
export const PRE_PCI_HOLE_GPA = 0x80000000;
export const PRE_PCI_HOLE_SIZE = 0x80000000;
export const PRE_HIGHMEM_GPA = 0x100000000;

/** A fixed-capacity e820 table; addresses and sizes are exact numbers below 2^52. */
export class E820Table {
  count = 0;
  readonly capacity: number;
  readonly base: Float64Array;
  readonly size: Float64Array;
  readonly type: Uint32Array;

  constructor(capacity = E820_MAX_ENTRIES) {
    this.capacity = capacity;
    this.base = new Float64Array(capacity);
    this.size = new Float64Array(capacity);
    this.type = new Uint32Array(capacity);
  }

  clear(): void {
    this.count = 0;
  }

  /** Append one entry as given (no sorting or merging); false when full or the range is bad. */
  append(base: number, size: number, type: number): boolean {
    if (!e820RangeValid(base, size)) return false;
    const at = this.count;
    if (at >= this.capacity) return false;
    this.base[at] = base;
    this.size[at] = size;
    this.type[at] = type >>> 0;
    this.count = at + 1;
    return true;
  }

  /** Exclusive end of entry i. */
  entryEnd(i: number): number {
    return i >= 0 && i < this.count ? this.base[i] + this.size[i] : 0;
  }

  /** Copy another table (up to this table's capacity); false when it does not fit. */
  copyFrom(other: E820Table): boolean {
    if (other.count > this.capacity) return false;
    for (let i = 0; i < other.count; i++) {
      this.base[i] = other.base[i];
      this.size[i] = other.size[i];
      this.type[i] = other.type[i];
    }
    this.count = other.count;
    return true;
  }

  /** Total bytes of RAM (type 1). */
  ramBytes(): number {
    let total = 0;
    for (let i = 0; i < this.count; i++) if (this.type[i] === E820_RAM) total += this.size[i];
    return total;
  }

  /**
   * Exclusive end of the run of RAM that contains `gpa` (RAM entries that
   * touch are one run), or -1 when `gpa` is not RAM.
   */
  ramRunEnd(gpa: number): number {
    let end = -1;
    for (let i = 0; i < this.count; i++) {
      if (this.type[i] === E820_RAM && gpa >= this.base[i] && gpa < this.base[i] + this.size[i]) end = this.base[i] + this.size[i];
    }
    if (end < 0) return -1;
    // Follow RAM entries that start exactly where the run ends (bounded: each step moves past one entry).
    for (let step = 0; step < this.count; step++) {
      let next = -1;
      for (let i = 0; i < this.count; i++) {
        if (this.type[i] === E820_RAM && this.base[i] <= end && this.base[i] + this.size[i] > end) next = this.base[i] + this.size[i];
      }
      if (next < 0) break;
      end = next;
    }
    return end;
  }

  /** True when all of [gpa, gpa + size) is RAM (size > 0). */
  isRam(gpa: number, size: number): boolean {
    if (!e820RangeValid(gpa, size)) return false;
    return this.ramRunEnd(gpa) >= gpa + size;
  }
}

/** True when [base, base + size) is a non-empty range of integers below 2^52. */
export function e820RangeValid(base: number, size: number): boolean {
  if (!(base >= 0 && size > 0) || base % 1 !== 0 || size % 1 !== 0) return false;
  return base + size <= E820_ADDR_LIMIT;
}

// ---- painting ---------------------------------------------------------------------------

/** Boundary scratch: starts and ends of three full tables. */
const BOUNDS = new Float64Array(E820_MAX_ENTRIES * 6);
const PRE_TEMPLATE = new E820Table(4);
PRE_TEMPLATE.append(PRE_LOWMEM_END, PRE_BIOS_END - PRE_LOWMEM_END, E820_RESERVED);
PRE_TEMPLATE.append(PRE_ACPI_DATA_GPA, PRE_ACPI_DATA_SIZE, E820_ACPI);
PRE_TEMPLATE.append(PRE_ACPI_NVS_GPA, PRE_ACPI_NVS_SIZE, E820_NVS);
PRE_TEMPLATE.append(PRE_PCI_HOLE_GPA, PRE_PCI_HOLE_SIZE, E820_RESERVED);

/** Add the starts and ends of `t` to BOUNDS from index n; returns the new count, -1 when a range is bad. */
function e820CollectBounds(t: E820Table | null, n: number): number {
  if (t === null) return n;
  let k = n;
  for (let i = 0; i < t.count; i++) {
    const b = t.base[i];
    const s = t.size[i];
    if (!e820RangeValid(b, s) || k + 2 > BOUNDS.length) return -1;
    BOUNDS[k] = b;
    BOUNDS[k + 1] = b + s;
    k += 2;
  }
  return k;
}

/** Sort BOUNDS[0..n) ascending and drop duplicates; returns the unique count. */
function e820SortBounds(n: number): number {
  for (let i = 1; i < n; i++) {
    const v = BOUNDS[i];
    let j = i - 1;
    while (j >= 0 && BOUNDS[j] > v) {
      BOUNDS[j + 1] = BOUNDS[j];
      j--;
    }
    BOUNDS[j + 1] = v;
  }
  let u = 0;
  for (let i = 0; i < n; i++) {
    if (u === 0 || BOUNDS[i] !== BOUNDS[u - 1]) {
      BOUNDS[u] = BOUNDS[i];
      u++;
    }
  }
  return u;
}

/** Highest type among the entries of `t` that cover `at` (0: none). `asRam`: every entry counts as RAM. */
function e820TypeAt(t: E820Table | null, at: number, asRam: boolean): number {
  if (t === null) return 0;
  let best = 0;
  for (let i = 0; i < t.count; i++) {
    if (at >= t.base[i] && at < t.base[i] + t.size[i]) {
      const ty = asRam ? E820_RAM : t.type[i];
      if (ty > best) best = ty;
    }
  }
  return best;
}

/** Append [base, base + size) of `type` to `out`, merging with the last entry when they touch and match. */
function e820Put(out: E820Table, base: number, size: number, type: number): boolean {
  const last = out.count - 1;
  if (last >= 0 && out.type[last] === type && out.base[last] + out.size[last] === base) {
    out.size[last] = out.size[last] + size;
    return true;
  }
  return out.append(base, size, type);
}

/**
 * Paint `layer` (its own types) and `ram` (every entry RAM) into `out`; RAM
 * covered by `removed` becomes reserved. `preLaunched`: RAM between
 * PRE_ACPI_DATA_GPA and 4 GiB is dropped (the template's windows).
 */
function e820Paint(out: E820Table, layer: E820Table | null, ram: E820Table | null, removed: E820Table | null, preLaunched: boolean): number {
  out.clear();
  let n = e820CollectBounds(layer, 0);
  if (n >= 0) n = e820CollectBounds(ram, n);
  if (n >= 0) n = e820CollectBounds(removed, n);
  if (n < 0) return E820_E_BAD_RANGE;
  const u = e820SortBounds(n);
  for (let k = 0; k + 1 < u; k++) {
    const lo = BOUNDS[k];
    const hi = BOUNDS[k + 1];
    let ty = e820TypeAt(layer, lo, false);
    const r = e820TypeAt(ram, lo, true);
    if (r > ty) ty = r;
    if (ty === 0) continue;
    if (ty === E820_RAM && preLaunched && lo >= PRE_ACPI_DATA_GPA && lo < PRE_HIGHMEM_GPA) continue;
    if (ty === E820_RAM && e820TypeAt(removed, lo, true) !== 0) ty = E820_RESERVED;
    if (!e820Put(out, lo, hi - lo, ty)) {
      out.clear();
      return E820_E_FULL;
    }
  }
  return E820_OK;
}

// ---- builders ---------------------------------------------------------------------------

/**
 * The pre-launched VM's e820: ACRN's template with RAM where `regions` (the
 * VM's guest-physical memory regions; their types are ignored) cover the
 * template's RAM windows. E820_OK, or a negative E820_E_* with `out` empty.
 */
export function e820BuildPreLaunched(out: E820Table, regions: E820Table): number {
  const rc = e820Paint(out, PRE_TEMPLATE, regions, null, true);
  if (rc !== E820_OK) return rc;
  if (out.ramBytes() === 0) {
    out.clear();
    return E820_E_NO_RAM;
  }
  return E820_OK;
}

/**
 * The Service VM's e820: `host` (the host map, in any order, overlaps
 * resolved by the highest type) minus `removed` (the hypervisor image, page
 * pool, Wasm window, stacks, the pre-launched VMs' RAM...: their types are
 * ignored): removed RAM becomes reserved. Sorted, non-overlapping, merged.
 * E820_OK, or a negative E820_E_* with `out` empty.
 */
export function e820BuildServiceVm(out: E820Table, host: E820Table, removed: E820Table): number {
  return e820Paint(out, host, null, removed, false);
}

/** The multiboot2 host memory map (hv/mm.ts) as a table, as reported. E820_OK or E820_E_FULL / E820_E_BAD_RANGE. */
export function e820FromHostMap(out: E820Table): number {
  out.clear();
  const n = mmapCount();
  for (let i = 0; i < n; i++) {
    const size = mmapField(i, 1);
    if (size === 0) continue;
    if (out.count >= out.capacity) return E820_E_FULL;
    if (!out.append(mmapField(i, 0), size, mmapField(i, 2))) return E820_E_BAD_RANGE;
  }
  return E820_OK;
}

/**
 * Append the hypervisor-reserved host ranges (hv/mm.ts RESV_*) whose kind
 * bit is set in `kindMask` (bit k = RESV kind k) to `out`, for the Service
 * VM's removed list. E820_OK or E820_E_FULL / E820_E_BAD_RANGE.
 */
export function e820AddHypervisorRanges(out: E820Table, kindMask: number): number {
  const n = resvCount();
  for (let i = 0; i < n; i++) {
    const kind = resvField(i, 2);
    if (kind < 0 || kind > 30 || ((kindMask >>> kind) & 1) === 0) continue;
    const size = resvField(i, 1);
    if (size === 0) continue;
    if (out.count >= out.capacity) return E820_E_FULL;
    if (!out.append(resvField(i, 0), size, E820_RESERVED)) return E820_E_BAD_RANGE;
  }
  return E820_OK;
}
