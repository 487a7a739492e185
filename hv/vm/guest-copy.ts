// Copies between hypervisor buffers and guest memory (ACRN's copy_from_gpa,
// copy_to_gpa, copy_from_gva, copy_to_gva), and the scalar guest-virtual
// accesses of the instruction emulator.
//
// Guest-physical copies go page by page (4 KiB): each page's GPA is
// translated through the VM's EPT (Ept.translate) and must be mapped with the
// permission the copy needs (R to read, W to write, X for an ACC_FETCH read),
// or the copy stops with COPY_EPT_UNMAPPED. Guest-virtual copies walk the
// guest's page tables for each 4 KiB piece of the linear range (GuestWalker,
// which sets A/D as the CPU would), then translate the GPA the same way.
//
// A copy never touches memory the EPT does not map, nor a host page the
// hypervisor may not access (physPageOk: the Service VM's identity map
// reaches MMIO and memory the hypervisor does not own; a guest pointing a
// hypercall or its page tables there gets COPY_EPT_UNMAPPED, not a panic of
// the hypervisor). A copy that fails has
// copied the whole pages before the failing one (its destination holds that
// prefix; for a copy to the guest, guest memory does) and nothing of the
// failing page or after it. readGva/writeGva translate every page of the
// access before touching any byte, so a failed scalar write changes no guest
// data (the A/D flags of a page translated before the failing one may be set).
//
// After COPY_FAULT or COPY_EPT_UNMAPPED from a guest-virtual access,
// faultLinHi/faultLinLo hold the linear address of the first byte not copied
// (the start of the failing piece: the CR2 value for a #PF), and faultStatus
// the walk status (WALK_OK when the walk succeeded and the EPT refused; then
// walker.gpa is the GPA the EPT does not map). Nothing here allocates or throws.
import { EPT_R, EPT_W, EPT_X, type Ept } from '../../arch/x86/ept';
import { atomicOr32, hi, peek8, peek32, peek64, physPageOk, poke8, poke32 } from '../../arch/x86/intrinsics';
import { ACC_FETCH, ACC_WRITE, GuestWalker, type GuestPhysMemory, PAGING_4LEVEL, type PagingState, WALK_OK } from './guest-walk';

export const COPY_OK = 0;
/** Some byte's GPA is not mapped by the EPT with the needed permission (R for reads, W for writes, X for fetches). */
export const COPY_EPT_UNMAPPED = -1;
/** Offset/length outside the buffer, negative or not an integer; or a GPA range past 2^52; or a bad scalar size. */
export const COPY_BAD_LENGTH = -2;
/** GVA copy: the walk failed; faultStatus = WALK_*, walker.faultError = #PF error code, faultLinHi/Lo = CR2. */
export const COPY_FAULT = -3;

const PAGE = 4096;
const TWO_32 = 4294967296;
/** Guest-physical addresses stay below 2^52 (MAXPHYADDR ceiling). */
const GPA_LIMIT = 0x10000000000000;

/** True when [offset, offset+length) is a range of integers inside a buffer of `size` bytes. */
function copyRangeValid(size: number, offset: number, length: number): boolean {
  if (!(offset >= 0 && length >= 0) || offset % 1 !== 0 || length % 1 !== 0) return false;
  return offset + length <= size;
}

/** The GuestPhysMemory the walker uses on a real VM: entries read through the VM's EPT, A/D set with LOCK OR. */
export class EptGuestPhysMemory implements GuestPhysMemory {
  entryHi = 0;
  private readonly ept: Ept;

  constructor(ept: Ept) {
    this.ept = ept;
  }

  /** The entry at `gpa` (4 or 8 bytes; never straddles a page): the EPT must map it readable. */
  readEntry(gpa: number, size: number): number {
    this.entryHi = 0;
    const hpa = this.ept.translate(gpa);
    if (hpa < 0 || (this.ept.lastPerms & EPT_R) === 0 || !physPageOk(hpa, false)) return -1;
    if (size === 8) {
      const lo = peek64(hpa);
      this.entryHi = hi();
      return lo;
    }
    return peek32(hpa);
  }

  /** OR A/D bits into the entry's low dword: the EPT must map it writable (the CPU's A/D update is a write). */
  setEntryBits(gpa: number, bits: number): boolean {
    const hpa = this.ept.translate(gpa);
    if (hpa < 0 || (this.ept.lastPerms & EPT_W) === 0 || !physPageOk(hpa, true)) return false;
    atomicOr32(hpa, bits);
    return true;
  }
}

export class GuestMemory {
  /** WALK_* status of the failed walk after COPY_FAULT (WALK_OK otherwise). */
  faultStatus = 0;
  /** Linear address of the first byte not copied after COPY_FAULT or a GVA COPY_EPT_UNMAPPED. */
  faultLinHi = 0;
  faultLinLo = 0;
  /** High half of the last 8-byte scalar read. */
  valueHi = 0;

  readonly walker: GuestWalker;
  private readonly ept: Ept;
  /** A scalar access's bytes, little-endian. */
  private readonly scratch = new Uint8Array(8);

  constructor(ept: Ept, walker: GuestWalker) {
    this.ept = ept;
    this.walker = walker;
  }

  // ---- guest-physical ---------------------------------------------------------------

  /** Copy `length` bytes at guest-physical `gpa` into dst[dstOffset...]. COPY_OK or a negative COPY_*. */
  copyFromGpa(gpa: number, dst: Uint8Array, dstOffset: number, length: number): number {
    return this.gpaCopy(gpa, dst, dstOffset, length, false);
  }

  /** Copy src[srcOffset...] (`length` bytes) to guest-physical `gpa`. COPY_OK or a negative COPY_*. */
  copyToGpa(gpa: number, src: Uint8Array, srcOffset: number, length: number): number {
    return this.gpaCopy(gpa, src, srcOffset, length, true);
  }

  private gpaCopy(gpa: number, buf: Uint8Array, offset: number, length: number, toGuest: boolean): number {
    if (!copyRangeValid(buf.length, offset, length)) return COPY_BAD_LENGTH;
    if (!(gpa >= 0 && gpa < GPA_LIMIT) || gpa % 1 !== 0 || gpa + length > GPA_LIMIT) return COPY_BAD_LENGTH;
    const perm = toGuest ? EPT_W : EPT_R;
    let at = gpa;
    let pos = offset;
    let left = length;
    while (left > 0) {
      const hpa = this.ept.translate(at);
      if (hpa < 0 || (this.ept.lastPerms & perm) === 0 || !physPageOk(hpa, toGuest)) return COPY_EPT_UNMAPPED;
      let n = PAGE - (at % PAGE);
      if (n > left) n = left;
      if (toGuest) this.toHost(hpa, buf, pos, n);
      else this.fromHost(hpa, buf, pos, n);
      at += n;
      pos += n;
      left -= n;
    }
    return COPY_OK;
  }

  // ---- guest-virtual ------------------------------------------------------------------

  /**
   * Copy `length` bytes at guest linear hi:lo into dst[dstOffset...], walking
   * with `access` (ACC_* flags, as given: ACC_FETCH makes the EPT check X).
   */
  copyFromGva(ps: PagingState, linHi: number, linLo: number, dst: Uint8Array, dstOffset: number, length: number, access: number): number {
    return this.gvaCopy(ps, linHi, linLo, dst, dstOffset, length, access, false);
  }

  /** Copy src[srcOffset...] (`length` bytes) to guest linear hi:lo; the walk uses `access` | ACC_WRITE. */
  copyToGva(ps: PagingState, linHi: number, linLo: number, src: Uint8Array, srcOffset: number, length: number, access: number): number {
    return this.gvaCopy(ps, linHi, linLo, src, srcOffset, length, access | ACC_WRITE, true);
  }

  private gvaCopy(ps: PagingState, linHi: number, linLo: number, buf: Uint8Array, offset: number, length: number, access: number, toGuest: boolean): number {
    this.faultStatus = WALK_OK;
    if (!copyRangeValid(buf.length, offset, length)) return COPY_BAD_LENGTH;
    const wide = ps.mode() >= PAGING_4LEVEL;
    let lHi = wide ? linHi >>> 0 : 0;
    let lLo = linLo >>> 0;
    let pos = offset;
    let left = length;
    while (left > 0) {
      const hpa = this.translateLinear(ps, lHi, lLo, access, toGuest);
      if (hpa < 0) return hpa;
      let n = PAGE - (lLo % PAGE);
      if (n > left) n = left;
      if (toGuest) this.toHost(hpa, buf, pos, n);
      else this.fromHost(hpa, buf, pos, n);
      pos += n;
      left -= n;
      lLo += n;
      if (lLo >= TWO_32) {
        // Past the top of a 32-bit space the address wraps; in 4-level mode the carry goes on.
        lLo -= TWO_32;
        if (wide) lHi = lHi === 0xffffffff ? 0 : lHi + 1;
      }
    }
    return COPY_OK;
  }

  /**
   * Read a 1-, 2-, 4- or 8-byte value at guest linear hi:lo (may straddle two
   * pages). Returns bits 31:0 (bits 63:32 in valueHi) or a negative COPY_*.
   */
  readGva(ps: PagingState, linHi: number, linLo: number, size: number, access: number): number {
    this.valueHi = 0;
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8) return COPY_BAD_LENGTH;
    const r = this.gvaCopy(ps, linHi, linLo, this.scratch, 0, size, access, false);
    if (r !== COPY_OK) return r;
    const b = this.scratch;
    if (size === 8) this.valueHi = b[4] + b[5] * 0x100 + b[6] * 0x10000 + b[7] * 0x1000000;
    let lo = b[0];
    if (size >= 2) lo += b[1] * 0x100;
    if (size >= 4) lo += b[2] * 0x10000 + b[3] * 0x1000000;
    return lo;
  }

  /**
   * Write the low `size` bytes (1, 2, 4 or 8) of hiHalf:loHalf at guest linear
   * hi:lo; both pages of a straddling write are translated before any byte is
   * written. The walk uses `access` | ACC_WRITE. COPY_OK or a negative COPY_*.
   */
  writeGva(ps: PagingState, linHi: number, linLo: number, size: number, hiHalf: number, loHalf: number, access: number): number {
    this.faultStatus = WALK_OK;
    if (size !== 1 && size !== 2 && size !== 4 && size !== 8) return COPY_BAD_LENGTH;
    const acc = access | ACC_WRITE;
    const wide = ps.mode() >= PAGING_4LEVEL;
    const lHi = wide ? linHi >>> 0 : 0;
    const lLo = linLo >>> 0;
    let first = PAGE - (lLo % PAGE);
    if (first > size) first = size;
    const hpa1 = this.translateLinear(ps, lHi, lLo, acc, true);
    if (hpa1 < 0) return hpa1;
    let hpa2 = 0;
    if (first < size) {
      let nHi = lHi;
      let nLo = lLo + first;
      if (nLo >= TWO_32) {
        nLo -= TWO_32;
        if (wide) nHi = nHi === 0xffffffff ? 0 : nHi + 1;
      }
      hpa2 = this.translateLinear(ps, nHi, nLo, acc, true);
      if (hpa2 < 0) return hpa2;
    }
    const lo = loHalf >>> 0;
    const h = hiHalf >>> 0;
    for (let i = 0; i < size; i++) {
      const v = i < 4 ? (lo >>> (i * 8)) & 0xff : (h >>> ((i - 4) * 8)) & 0xff;
      if (i < first) poke8(hpa1 + i, v);
      else poke8(hpa2 + (i - first), v);
    }
    return COPY_OK;
  }

  /**
   * Host-physical address of one guest linear byte for a copy: the walk, then
   * the EPT with R (X for fetches) or W. A negative COPY_* on failure, with
   * faultStatus and faultLinHi/Lo set.
   */
  private translateLinear(ps: PagingState, linHi: number, linLo: number, access: number, toGuest: boolean): number {
    const st = this.walker.walk(ps, linHi, linLo, access);
    if (st !== WALK_OK) {
      this.faultStatus = st;
      this.faultLinHi = linHi;
      this.faultLinLo = linLo;
      return COPY_FAULT;
    }
    let perm = EPT_R;
    if (toGuest) perm = EPT_W;
    else if ((access & ACC_FETCH) !== 0) perm = EPT_X;
    const hpa = this.ept.translate(this.walker.gpa);
    if (hpa < 0 || (this.ept.lastPerms & perm) === 0 || !physPageOk(hpa, toGuest)) {
      this.faultLinHi = linHi;
      this.faultLinLo = linLo;
      return COPY_EPT_UNMAPPED;
    }
    return hpa;
  }

  // ---- host side: `n` bytes inside one page at `hpa` -----------------------------------

  private fromHost(hpa: number, dst: Uint8Array, pos: number, n: number): void {
    let i = 0;
    if (hpa % 4 === 0) {
      for (; i + 4 <= n; i += 4) {
        const v = peek32(hpa + i);
        const at = pos + i;
        dst[at] = v & 0xff;
        dst[at + 1] = (v >>> 8) & 0xff;
        dst[at + 2] = (v >>> 16) & 0xff;
        dst[at + 3] = (v >>> 24) & 0xff;
      }
    }
    for (; i < n; i++) {
      const at = pos + i;
      dst[at] = peek8(hpa + i) & 0xff;
    }
  }

  private toHost(hpa: number, src: Uint8Array, pos: number, n: number): void {
    let i = 0;
    if (hpa % 4 === 0) {
      for (; i + 4 <= n; i += 4) {
        const at = pos + i;
        poke32(hpa + i, src[at] + src[at + 1] * 0x100 + src[at + 2] * 0x10000 + src[at + 3] * 0x1000000);
      }
    }
    for (; i < n; i++) {
      const at = pos + i;
      poke8(hpa + i, src[at]);
    }
  }
}
