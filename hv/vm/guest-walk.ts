// The guest page walker: translate a guest linear address to a guest-physical
// address the way the guest's own MMU would, with its access rights, its #PF
// error code and its accessed/dirty updates (ACRN's gva2gpa). Everything here
// follows the Intel SDM Vol. 3A chapter 4 ("Paging"):
//
//   mode (4.1.1, Table 4-1)       CR0.PG CR4.PAE EFER.LMA CR4.LA57  walk
//   0 paging off                    0      -       -        -       linear bits 31:0 = GPA
//   1 32-bit paging (4.3)           1      0       -        -       PDE (31:22), PTE (21:12); 4 MiB if CR4.PSE & PS
//   2 PAE paging (4.4)              1      1       0        -       PDPTE register (31:30), PDE (29:21), PTE (20:12)
//   3 4-level paging (4.5)          1      1       1        0       PML4E (47:39) PDPTE (38:30) PDE (29:21) PTE (20:12)
//   4 5-level paging                1      1       1        1       refused: WALK_UNSUPPORTED
//   (with CR0.PG = 1, EFER.LMA = EFER.LME: VM entry checks it, SDM Vol. 3C 27.3.1.1)
//
//   entry (64-bit formats)   63  62:52  51:M  M-1:12   11:9  8  7  6  5  4   3   2   1   0
//                            XD  ign.   rsvd  address  ign.  G  PS D  A  PCD PWT U/S R/W P
//   32-bit entries are bits 31:0 of the same; a 4 MiB PDE keeps address bits
//   39:32 (PSE-36) in bits 20:13. PAE entries reserve bits 62:M instead of 51:M.
//
// Reserved bits (4.3, 4.4.1, 4.4.2, 4.5; checked only in present entries):
//   32-bit  4 MiB PDE (CR4.PSE): bits 21:(M'-19), M' = min(MAXPHYADDR, 40); nothing else
//   PAE     PDPTE: 2:1, 8:5, 63:M   PDE/PTE: 62:M, 63 if !NXE, 2 MiB PDE also 20:13
//   4-level PML4E: 7, 51:M          all: 51:M, 63 if !NXE
//           1 GiB PDPTE: 29:13 (PS itself when 1 GiB pages are not offered); 2 MiB PDE: 20:13
//
// Access rights (4.6): a linear address is a user-mode address when U/S = 1
// in every entry of its translation, writable when R/W = 1 in every one,
// executable when XD = 0 in every one (PAE and 4-level with EFER.NXE only; the
// PAE PDPTEs take no part). Supervisor accesses (CPL < 3, or implicit ones):
//   read   user page with CR4.SMAP: only explicit with RFLAGS.AC = 1
//   write  as read for user pages, then: non-writable faults only if CR0.WP
//   fetch  not executable faults; user page with CR4.SMEP faults
// User accesses (CPL 3): user pages only; writes need writable; fetches need
// executable. Protection keys (CR4.PKE/PKS, PK error bit 5), shadow stacks
// (CET, bit 6) and HLAT are out of scope: leaf bits 62:59 are ignored.
//
// #PF error code (4.7): P (0) = present entries only (protection or reserved
// bit), W/R (1) = write, U/S (2) = user-mode access, RSVD (3) = reserved bit
// (with P), I/D (4) = fetch when CR4.SMEP or (CR4.PAE and EFER.NXE).
// A not-present entry or a reserved bit stops the walk (no translation); the
// rights are checked once the translation is complete, so a deeper
// not-present entry wins over a higher-level protection problem.
//
// Accessed/dirty flags (4.8): a successful translation sets A in every entry
// it used and, for a write, D in the leaf, each with a locked OR and only when
// not already set. A failing walk sets none. The SDM sets A in entries "used
// as part of linear-address translation", and lets a CPU set A in upper-level
// entries it caches even when the access then faults (4.10.3) without
// requiring it; leaving guest memory untouched on a fault is what KVM does too,
// and an emulated access that faults is re-executed by the guest anyway.
// Updates go top level first; when the EPT refuses one (the guest's tables in
// EPT read-only memory) the walk ends with WALK_EPT_UNMAPPED and the entries
// above keep the A flags already set, as the CPU's would before its EPT
// violation. The OR is atomic (the guest's other vCPUs may be writing the
// entry), but it is not a compare-exchange: an entry the guest rewrites
// between our read and our OR gets the bits anyway.
//
// walk() allocates nothing, throws nothing and keeps its per-walk state in
// typed arrays made at construction.
import { hi, vmread } from '../../arch/x86/intrinsics';
import { GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_IA32_EFER, GUEST_PDPTE0, GUEST_RFLAGS, GUEST_SS_AR } from '../../arch/x86/vmcs';

export const WALK_OK = 0;
/** Page fault: walker.faultError is the #PF error code; CR2 = the linear address walked. */
export const WALK_FAULT = 1;
/** A paging-structure entry's GPA is not mapped by the VM's EPT, or (A/D update) not writable there. */
export const WALK_EPT_UNMAPPED = 2;
/** CR4.LA57 (5-level paging) is on: refused. */
export const WALK_UNSUPPORTED = 3;
/** 4-level paging: the linear address is not canonical (the caller injects #GP(0)). */
export const WALK_NONCANONICAL = 4;

// Access flags, at the bit positions of the #PF error code (SDM Vol. 3A 4.7).
export const ACC_WRITE = 2;
/** The access is made at CPL 3 (from PagingState.cpl). */
export const ACC_USER = 4;
export const ACC_FETCH = 16;
/** Implicit supervisor-mode access (GDT, IDT, TSS...): supervisor even at CPL 3, SMAP applies regardless of AC. */
export const ACC_IMPLICIT = 0x100;

/** #PF error-code bits (SDM Vol. 3A 4.7, Figure 4-12). */
export const PF_P = 1;
export const PF_W = 2;
export const PF_U = 4;
export const PF_RSVD = 8;
export const PF_ID = 16;

/** PagingState.mode() values. */
export const PAGING_OFF = 0;
export const PAGING_32 = 1;
export const PAGING_PAE = 2;
export const PAGING_4LEVEL = 3;
export const PAGING_5LEVEL = 4;

const CR0_WP = 0x10000; // bit 16
const CR0_PG = 0x80000000; // bit 31
const CR4_PSE = 0x10; // bit 4
const CR4_PAE = 0x20; // bit 5
const CR4_LA57 = 0x1000; // bit 12
const CR4_SMEP = 0x100000; // bit 20
const CR4_SMAP = 0x200000; // bit 21
const EFER_LMA = 0x400; // bit 10
const EFER_NXE = 0x800; // bit 11
const RFLAGS_AC = 0x40000; // bit 18

const E_P = 1;
const E_RW = 2;
const E_US = 4;
const E_A = 0x20;
const E_D = 0x40;
const E_PS = 0x80;
/** XD, bit 63: bit 31 of the high half. */
const E_XD_HI = 0x80000000;
/** Address bits 51:32 in the high half. */
const ADDR_HI = 0xfffff;
/** PAE PDPTE reserved bits 2:1 and 8:5 (Table 4-8). */
const PDPTE_RSVD_LO = 0x1e6;
/** Bits 20:13: reserved in 2 MiB PDEs (and part of 29:13 in 1 GiB PDPTEs). */
const RSVD_20_13 = 0x1fe000;
const RSVD_29_13 = 0x3fffe000;

const K4 = 0x1000;
const M2 = 0x200000;
const M4 = 0x400000;
const G1 = 0x40000000;
const TWO_32 = 4294967296;

/** The deepest walk: 4 entries (PML4E, PDPTE, PDE, PTE). */
const MAX_LEVELS = 4;
// Internal walk outcomes besides WALK_OK (entry() returns them in place of an entry's low half).
const NOT_PRESENT = -1;
const RESERVED = -2;
const UNMAPPED = -3;

/** Reads paging-structure entries at guest-physical addresses, and sets A/D bits. */
export interface GuestPhysMemory {
  /** The 4- or 8-byte entry at `gpa`: bits 31:0 (bits 63:32 in entryHi); -1 when the VM's EPT does not map it. */
  readEntry(gpa: number, size: number): number;
  entryHi: number;
  /** Atomically OR `bits` (A = bit 5, D = bit 6) into the low dword of the entry at `gpa`; false when unmapped/not writable. */
  setEntryBits(gpa: number, bits: number): boolean;
}

/** The guest's paging registers, read once per exit. All values are unsigned 32-bit halves. */
export class PagingState {
  cr0 = 0;
  cr3Lo = 0;
  cr3Hi = 0;
  cr4 = 0;
  efer = 0;
  cpl = 0;
  rflags = 0;
  /** PAE: the CPU's PDPTE registers (VMCS GUEST_PDPTE0-3, saved on VM exit when EPT is on). */
  readonly pdpteLo = new Uint32Array(4);
  readonly pdpteHi = new Uint32Array(4);

  /**
   * Load from the current VMCS. CPL is SS.DPL (SS access rights bits 6:5):
   * the VMCS keeps SS.DPL equal to the CPL (SDM Vol. 3C 25.4.1, checked at VM
   * entry in 27.3.1.2). The PDPTE fields are read in PAE mode only, the one
   * mode in which a VM exit saves them (SDM Vol. 3C 28.3.4).
   */
  load(): void {
    this.cr0 = vmread(GUEST_CR0) >>> 0;
    this.cr3Lo = vmread(GUEST_CR3) >>> 0;
    this.cr3Hi = hi() >>> 0;
    this.cr4 = vmread(GUEST_CR4) >>> 0;
    this.efer = vmread(GUEST_IA32_EFER) >>> 0;
    this.rflags = vmread(GUEST_RFLAGS) >>> 0;
    this.cpl = (vmread(GUEST_SS_AR) >>> 5) & 3;
    if (this.mode() !== PAGING_PAE) return;
    for (let i = 0; i < 4; i++) {
      const lo = vmread(GUEST_PDPTE0 + i * 2);
      const hiHalf = hi();
      this.pdpteLo[i] = lo >>> 0;
      this.pdpteHi[i] = hiHalf >>> 0;
    }
  }

  /** 0 paging off, 1 32-bit, 2 PAE, 3 4-level, 4 5-level (SDM Vol. 3A 4.1.1 Table 4-1). */
  mode(): number {
    if ((this.cr0 & CR0_PG) === 0) return PAGING_OFF;
    if ((this.cr4 & CR4_PAE) === 0) return PAGING_32;
    if ((this.efer & EFER_LMA) === 0) return PAGING_PAE;
    return (this.cr4 & CR4_LA57) !== 0 ? PAGING_5LEVEL : PAGING_4LEVEL;
  }
}

export class GuestWalker {
  /** Result of the last successful walk (below 2^52, exact in a double). */
  gpa = 0;
  /** Size of the page that mapped it: 4 KiB, 2 MiB, 4 MiB or 1 GiB (4 KiB with paging off). */
  pageSize = K4;
  /** #PF error code after WALK_FAULT. */
  faultError = 0;
  /**
   * The guest's MAXPHYADDR (CPUID 80000008H EAX[7:0]): address bits from here
   * to 51 are reserved in entries. Set it from the guest's CPUID; the default
   * 52 checks none of them. Values outside 32..52 are clamped.
   */
  maxPhysAddr = 52;
  /** The guest's CPUID 80000001H EDX[26] (1 GiB pages); when false, PS in a PDPTE is a reserved bit. */
  gbPages = true;

  private readonly mem: GuestPhysMemory;
  // The entries of the walk in progress: guest-physical address and the A/D bits it needs.
  private readonly entGpa = new Float64Array(MAX_LEVELS);
  private readonly entNeed = new Uint8Array(MAX_LEVELS);
  private used = 0;
  private entrySize = 8;
  // Rights gathered over the walk in progress (1 = every entry so far allows it).
  private allWritable = 1;
  private allUser = 1;
  private anyXd = 0;

  constructor(mem: GuestPhysMemory) {
    this.mem = mem;
  }

  /**
   * Translate hi:lo linear address with `access` (ACC_* flags). Returns
   * WALK_OK with gpa/pageSize set, or WALK_FAULT with faultError, or another
   * WALK_* status. In 32-bit, PAE and paging-off modes only bits 31:0 count.
   */
  walk(ps: PagingState, linHi: number, linLo: number, access: number): number {
    this.faultError = 0;
    this.used = 0;
    this.allWritable = 1;
    this.allUser = 1;
    this.anyXd = 0;
    const lo = linLo >>> 0;
    const mode = ps.mode();
    if (mode === PAGING_OFF) {
      this.gpa = lo;
      this.pageSize = K4;
      return WALK_OK;
    }
    if (mode === PAGING_5LEVEL) return WALK_UNSUPPORTED;
    const lh = linHi >>> 0;
    if (mode === PAGING_4LEVEL && !(lh < 0x8000 || lh >= 0xffff8000)) return WALK_NONCANONICAL;

    const write = (access & ACC_WRITE) !== 0;
    const fetch = (access & ACC_FETCH) !== 0;
    const implicit = (access & ACC_IMPLICIT) !== 0;
    const user = !implicit && (access & ACC_USER) !== 0;
    const nxe = mode !== PAGING_32 && (ps.efer & EFER_NXE) !== 0;
    let err = write ? PF_W : 0;
    if (user) err |= PF_U;
    if (fetch && ((ps.cr4 & CR4_SMEP) !== 0 || nxe)) err |= PF_ID;

    let st: number;
    if (mode === PAGING_32) st = this.walk32(ps, lo, write);
    else if (mode === PAGING_PAE) st = this.walkPae(ps, lo, write, nxe);
    else st = this.walk4(ps, lh, lo, write, nxe);
    if (st === NOT_PRESENT) return this.pageFault(err);
    if (st === RESERVED) return this.pageFault(err | PF_P | PF_RSVD);
    if (st === UNMAPPED) return WALK_EPT_UNMAPPED;
    if (!this.allowed(ps, write, fetch, user, implicit)) return this.pageFault(err | PF_P);
    return this.setAccessed();
  }

  // ---- the three walks: WALK_OK (gpa, pageSize set), NOT_PRESENT, RESERVED or UNMAPPED ----

  /** 32-bit paging (4.3): 4-byte entries, CR3 bits 31:12 = page directory. */
  private walk32(ps: PagingState, lin: number, write: boolean): number {
    this.entrySize = 4;
    const pdBase = ps.cr3Lo - (ps.cr3Lo % K4);
    const pde = this.entry(pdBase + (lin >>> 22) * 4);
    if (pde < 0) return pde;
    if ((pde & E_PS) !== 0 && (ps.cr4 & CR4_PSE) !== 0) {
      // 4 MiB page: address bits 31:22 from bits 31:22, bits 39:32 from bits 20:13 (PSE-36).
      const m = this.physBits() < 40 ? this.physBits() : 40;
      const rsvd = 0x400000 - this.pow2(m - 19); // bits 21:(M-19)
      if ((pde & rsvd) !== 0) return RESERVED;
      this.record(pde, write);
      this.gpa = ((pde >>> 13) & 0xff) * TWO_32 + (pde - (pde % M4)) + (lin % M4);
      this.pageSize = M4;
      return WALK_OK;
    }
    this.record(pde, false);
    const pte = this.entry(pde - (pde % K4) + ((lin >>> 12) & 0x3ff) * 4);
    if (pte < 0) return pte;
    this.record(pte, write);
    this.gpa = pte - (pte % K4) + (lin % K4);
    this.pageSize = K4;
    return WALK_OK;
  }

  /** PAE paging (4.4): the PDPTE registers, then 8-byte PDE and PTE. */
  private walkPae(ps: PagingState, lin: number, write: boolean, nxe: boolean): number {
    this.entrySize = 8;
    const i = lin >>> 30;
    const pdpteLo = ps.pdpteLo[i];
    const pdpteHi = ps.pdpteHi[i];
    if ((pdpteLo & E_P) === 0) return NOT_PRESENT;
    // A PDPTE with reserved bits cannot be loaded (MOV to CR3 and VM entry refuse it): checked anyway.
    if ((pdpteLo & PDPTE_RSVD_LO) !== 0 || pdpteHi >= this.hiLimit()) return RESERVED;
    const rsvdHi = this.paeRsvdHi();
    const pde = this.entry((pdpteHi & ADDR_HI) * TWO_32 + (pdpteLo - (pdpteLo % K4)) + ((lin >>> 21) & 0x1ff) * 8);
    if (pde < 0) return pde;
    const pdeHi = this.mem.entryHi;
    if (this.hiReserved(pdeHi, rsvdHi, nxe)) return RESERVED;
    if ((pde & E_PS) !== 0) {
      if ((pde & RSVD_20_13) !== 0) return RESERVED;
      this.gather(pdeHi, nxe);
      this.record(pde, write);
      this.gpa = (pdeHi & ADDR_HI) * TWO_32 + (pde - (pde % M2)) + (lin % M2);
      this.pageSize = M2;
      return WALK_OK;
    }
    this.gather(pdeHi, nxe);
    this.record(pde, false);
    const pte = this.entry((pdeHi & ADDR_HI) * TWO_32 + (pde - (pde % K4)) + ((lin >>> 12) & 0x1ff) * 8);
    if (pte < 0) return pte;
    const pteHi = this.mem.entryHi;
    if (this.hiReserved(pteHi, rsvdHi, nxe)) return RESERVED;
    this.gather(pteHi, nxe);
    this.record(pte, write);
    this.gpa = (pteHi & ADDR_HI) * TWO_32 + (pte - (pte % K4)) + (lin % K4);
    this.pageSize = K4;
    return WALK_OK;
  }

  /** 4-level paging (4.5): CR3 bits 51:12 = PML4, four 8-byte levels, 1 GiB and 2 MiB leaves. */
  private walk4(ps: PagingState, linHi: number, linLo: number, write: boolean, nxe: boolean): number {
    this.entrySize = 8;
    const rsvdHi = this.longRsvdHi();
    let tHi = ps.cr3Hi & ADDR_HI;
    let tLo = ps.cr3Lo - (ps.cr3Lo % K4);
    for (let level = 4; level >= 1; level--) {
      let index: number;
      if (level === 4) index = (linHi >>> 7) & 0x1ff; // bits 47:39
      else if (level === 3) index = (linHi & 0x7f) * 4 + (linLo >>> 30); // bits 38:30
      else if (level === 2) index = (linLo >>> 21) & 0x1ff; // bits 29:21
      else index = (linLo >>> 12) & 0x1ff; // bits 20:12
      const e = this.entry(tHi * TWO_32 + tLo + index * 8);
      if (e < 0) return e;
      const eHi = this.mem.entryHi;
      if (this.hiReserved(eHi, rsvdHi, nxe)) return RESERVED;
      const ps7 = (e & E_PS) !== 0;
      if (level === 4 && ps7) return RESERVED; // PML4E bit 7 is reserved
      this.gather(eHi, nxe);
      if (level === 3 && ps7) {
        if (!this.gbPages || (e & RSVD_29_13) !== 0) return RESERVED;
        this.record(e, write);
        this.gpa = (eHi & ADDR_HI) * TWO_32 + (e - (e % G1)) + (linLo % G1);
        this.pageSize = G1;
        return WALK_OK;
      }
      if (level === 2 && ps7) {
        if ((e & RSVD_20_13) !== 0) return RESERVED;
        this.record(e, write);
        this.gpa = (eHi & ADDR_HI) * TWO_32 + (e - (e % M2)) + (linLo % M2);
        this.pageSize = M2;
        return WALK_OK;
      }
      if (level === 1) {
        this.record(e, write);
        this.gpa = (eHi & ADDR_HI) * TWO_32 + (e - (e % K4)) + (linLo % K4);
        this.pageSize = K4;
        return WALK_OK;
      }
      this.record(e, false);
      tHi = eHi & ADDR_HI;
      tLo = e - (e % K4);
    }
    return NOT_PRESENT; // not reached: level 1 always returns
  }

  // ---- helpers ----------------------------------------------------------------------

  /**
   * Read the entry at `gpa` (this.entrySize bytes; the high half stays in
   * mem.entryHi) and remember where it is. Returns its low half, NOT_PRESENT
   * or UNMAPPED (the EPT does not map it).
   */
  private entry(gpa: number): number {
    const e = this.mem.readEntry(gpa, this.entrySize);
    if (e < 0) return UNMAPPED;
    if ((e & E_P) === 0) return NOT_PRESENT;
    const at = this.used;
    if (at < MAX_LEVELS) {
      this.entGpa[at] = gpa;
      this.entNeed[at] = 0;
    }
    return e;
  }

  /** The entry last read by entry() is part of the translation: note its R/W and U/S, and the A/D bits it needs. */
  private record(e: number, leafWrite: boolean): void {
    if ((e & E_RW) === 0) this.allWritable = 0;
    if ((e & E_US) === 0) this.allUser = 0;
    let need = (e & E_A) === 0 ? E_A : 0;
    if (leafWrite && (e & E_D) === 0) need |= E_D;
    const at = this.used;
    if (at < MAX_LEVELS) {
      this.entNeed[at] = need & 0xff;
      this.used = at + 1;
    }
  }

  /** XD (bit 63) of a 64-bit entry; only meaningful, and only gathered, with EFER.NXE. */
  private gather(eHi: number, nxe: boolean): void {
    if (nxe && eHi >= E_XD_HI) this.anyXd = 1;
  }

  /** MAXPHYADDR clamped to 32..52. */
  private physBits(): number {
    const m = this.maxPhysAddr;
    if (!(m >= 32)) return 32;
    if (m > 52) return 52;
    return Math.floor(m);
  }

  /** 2^(M-32): a high half at or above it has a bit at or above M set. */
  private hiLimit(): number {
    return this.pow2(this.physBits() - 32);
  }

  /** 2^n for 0 <= n <= 31, exactly (no Math.pow: keep the native build's float library out of it). */
  private pow2(n: number): number {
    let v = 1;
    for (let i = 0; i < n; i++) v *= 2;
    return v;
  }

  /** 4-level: reserved bits 51:M of the high half (bit 63 is handled with NXE). */
  private longRsvdHi(): number {
    return ADDR_HI + 1 - this.hiLimit();
  }

  /** PAE: reserved bits 62:M of the high half. */
  private paeRsvdHi(): number {
    return 0x80000000 - this.hiLimit();
  }

  /** True when the high half sets a reserved bit: one of `rsvdHi`, or XD without EFER.NXE. */
  private hiReserved(eHi: number, rsvdHi: number, nxe: boolean): boolean {
    if ((eHi & rsvdHi) !== 0) return true;
    return !nxe && eHi >= E_XD_HI;
  }

  /** Access rights of the complete translation (SDM Vol. 3A 4.6). */
  private allowed(ps: PagingState, write: boolean, fetch: boolean, user: boolean, implicit: boolean): boolean {
    const userPage = this.allUser === 1;
    if (user) {
      if (!userPage) return false;
      if (fetch) return this.anyXd === 0;
      return !write || this.allWritable === 1;
    }
    if (fetch) {
      if (this.anyXd !== 0) return false;
      return !(userPage && (ps.cr4 & CR4_SMEP) !== 0);
    }
    if (userPage && (ps.cr4 & CR4_SMAP) !== 0 && (implicit || (ps.rflags & RFLAGS_AC) === 0)) return false;
    return !write || this.allWritable === 1 || (ps.cr0 & CR0_WP) === 0;
  }

  /** Set A (and D) where the translation needs them, top level first. */
  private setAccessed(): number {
    const n = this.used;
    for (let k = 0; k < n; k++) {
      const need = this.entNeed[k];
      if (need !== 0 && !this.mem.setEntryBits(this.entGpa[k], need)) return WALK_EPT_UNMAPPED;
    }
    return WALK_OK;
  }

  private pageFault(err: number): number {
    this.faultError = err;
    return WALK_FAULT;
  }
}
