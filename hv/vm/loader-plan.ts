// The software loader's plan: everything it will write into a VM and every
// register the entry state takes, worked out and checked against the image
// and the VM's e820 table before a byte of guest memory is touched
// (sw-loader.ts runs the plan, then writes). Also the loader's error codes
// and messages, its guest memory layout (the "boot area"), and the placement
// searches over the e820 table. Nothing here allocates after construction.
//
// The boot area: one 52 KiB block of guest RAM below 4 GiB, page aligned,
// chosen by the loader (lowest fit at or above 0x1000 that avoids the
// kernel, its segments and the given `avoid` ranges) unless the request names
// it:
//
//   +0x0000  PML4                  identity map of [0, 4 GiB): PML4[0] -> PDPT,
//   +0x1000  PDPT                  PDPT[0..3] -> PD0..PD3, each PD 512 2 MiB
//   +0x2000  PD0 .. PD3 (4 pages)  pages P|RW|PS (SDM Vol. 3A 4.5, Table 4-17)
//   +0x6000  GDT (4 descriptors)   64-bit images: 0x08 code64, 0x10 data, 0x18 data;
//                                  Linux: 0x10 __BOOT_CS, 0x18 __BOOT_DS (boot.rst)
//   +0x7000  zero page             struct boot_params (Linux)
//   +0x8000  command line          at most 4095 characters and a NUL (Linux)
//   +0x9000  stack (16 KiB)        RSP = +0xD000 unless the request gives one
import { E820_RAM } from '../mm';
import type { E820Table } from './e820';

// ---- kernel types (ACRN's enum os_kernel_type, hv/scenario.ts SCN_KERNEL_*) ---------------
export const KERNEL_BZIMAGE = 1;
export const KERNEL_RAW64 = 2;
export const KERNEL_ELF = 3;

/** Entry modes. */
export const ENTRY_NONE = 0;
export const ENTRY_64 = 1;
export const ENTRY_32 = 2;

/** Linux: which boot protocol entry to use. */
export const LINUX_ENTRY_AUTO = 0;
export const LINUX_ENTRY_64 = 1;
export const LINUX_ENTRY_32 = 2;

export const PAGE_SIZE = 4096;
export const FOUR_GIB = 0x100000000;
export const ADDR_LIMIT = 0x10000000000000;

export const BOOT_PML4_OFF = 0x0000;
export const BOOT_PDPT_OFF = 0x1000;
export const BOOT_PD_OFF = 0x2000;
export const BOOT_PD_COUNT = 4;
export const BOOT_GDT_OFF = 0x6000;
export const BOOT_ZERO_PAGE_OFF = 0x7000;
export const BOOT_CMDLINE_OFF = 0x8000;
export const BOOT_CMDLINE_MAX = 4095;
export const BOOT_STACK_TOP_OFF = 0xd000;
export const BOOT_AREA_SIZE = 0xd000;
/** Bytes of the boot area the loader writes (page tables up to the command line). */
export const BOOT_AREA_WRITTEN = 0x9000;
/** Lowest boot area the loader picks itself (page 0 is left alone). */
export const BOOT_AREA_MIN = 0x1000;
/** GDT limit: 4 descriptors of 8 bytes. */
export const BOOT_GDT_LIMIT = 0x1f;

export const MAX_SEGMENTS = 16;
const MAX_BUSY = 28;
/** Ranges a request may ask the loader to keep clear. */
export const MAX_AVOID = 8;

// ---- errors ----------------------------------------------------------------------------
export const LOAD_OK = 0;
export const LOAD_E_NO_IMAGE = 1;
export const LOAD_E_EMPTY = 2;
export const LOAD_E_KERNEL_TYPE = 3;
export const LOAD_E_RAW_RAM = 4;
export const LOAD_E_ENTRY = 5;
export const LOAD_E_ABOVE_4G = 6;
export const LOAD_E_ELF_SHORT = 7;
export const LOAD_E_ELF_MAGIC = 8;
export const LOAD_E_ELF_CLASS = 9;
export const LOAD_E_ELF_TYPE = 10;
export const LOAD_E_ELF_MACHINE = 11;
export const LOAD_E_ELF_VERSION = 12;
export const LOAD_E_ELF_HEADER_SIZE = 13;
export const LOAD_E_ELF_PH_TABLE = 14;
export const LOAD_E_ELF_PH_COUNT = 15;
export const LOAD_E_ELF_SEG_FILE = 16;
export const LOAD_E_ELF_SEG_SIZE = 17;
export const LOAD_E_ELF_SEG_ADDR = 18;
export const LOAD_E_ELF_SEG_RAM = 19;
export const LOAD_E_ELF_SEG_OVERLAP = 20;
export const LOAD_E_ELF_ENTRY = 21;
export const LOAD_E_BOOT_AREA_OVERLAP = 22;
export const LOAD_E_BOOT_AREA_BAD = 23;
export const LOAD_E_BOOT_AREA_NONE = 24;
export const LOAD_E_BZ_SHORT = 25;
export const LOAD_E_BZ_BOOT_FLAG = 26;
export const LOAD_E_BZ_MAGIC = 27;
export const LOAD_E_BZ_VERSION = 28;
export const LOAD_E_BZ_HEADER_LEN = 29;
export const LOAD_E_BZ_SETUP_SECTS = 30;
export const LOAD_E_BZ_NOT_BZIMAGE = 31;
export const LOAD_E_BZ_SYSSIZE = 32;
export const LOAD_E_BZ_NO_64 = 33;
export const LOAD_E_BZ_ALIGN = 34;
export const LOAD_E_BZ_LOAD_ADDR = 35;
export const LOAD_E_BZ_KERNEL_RAM = 36;
export const LOAD_E_BZ_CMDLINE = 37;
export const LOAD_E_BZ_CMDLINE_BUF = 38;
export const LOAD_E_BZ_RAMDISK = 39;
export const LOAD_E_BZ_RAMDISK_ADDR = 40;
export const LOAD_E_EPT = 41;
export const LOAD_E_COPY = 42;
export const LOAD_E_BAD_REQUEST = 43;
export const LOAD_E_AVOID = 44;
export const LOAD_E_TOO_MANY = 45;

export const LOAD_ERRORS = [
  'ok',
  'no kernel image',
  'the image is empty',
  'unknown kernel type (bzImage 1, raw64 2, elf 3)',
  'raw image: [load address, + image size) is not guest RAM',
  'raw image: the entry point is outside the loaded image',
  'a 64-bit image must lie below 4 GiB (the identity map covers [0, 4 GiB))',
  'ELF: the image is shorter than the 64-byte ELF header',
  'ELF: bad magic (not 7F "ELF")',
  'ELF: not a 64-bit little-endian ELF (EI_CLASS 2, EI_DATA 1, EI_VERSION 1)',
  'ELF: not an executable (e_type is not ET_EXEC 2)',
  'ELF: not x86-64 (e_machine is not EM_X86_64 62)',
  'ELF: e_version is not 1',
  'ELF: e_ehsize is below 64 or e_phentsize below 56',
  'ELF: the program header table runs past the end of the image (e_phoff + e_phnum * e_phentsize)',
  'ELF: no PT_LOAD segment, or more than 16',
  'ELF: a segment\'s file bytes run past the end of the image (p_offset + p_filesz)',
  'ELF: a segment\'s p_filesz is larger than its p_memsz',
  'ELF: a segment\'s address or size reaches past 2^52',
  'ELF: a segment lies outside guest RAM (p_paddr .. p_paddr + p_memsz)',
  'ELF: two PT_LOAD segments overlap',
  'ELF: the entry point e_entry is in no executable (PF_X) PT_LOAD segment',
  'the image overlaps the loader\'s page tables, GDT, zero page or command line',
  'the given boot area is not page aligned, not guest RAM or not below 4 GiB',
  'no room in guest RAM below 4 GiB for the loader\'s page tables, GDT, zero page and command line (52 KiB)',
  'bzImage: the image is shorter than 1 KiB (boot sector and setup header)',
  'bzImage: no boot flag 0xAA55 at 0x1FE',
  'bzImage: no "HdrS" signature at 0x202 (not a bzImage, or a pre-2.00 kernel)',
  'bzImage: boot protocol older than 2.06 (version at 0x206)',
  'bzImage: bad setup header length (jump at 0x200: 0xEB and 0x202 + byte 0x201 within what the version needs and the 144-byte limit)',
  'bzImage: setup_sects (0x1F1) runs past the end of the image',
  'bzImage: LOADED_HIGH is clear in loadflags (0x211): a zImage',
  'bzImage: truncated: the protected-mode code is shorter than syssize (0x1F4) says, or empty',
  'bzImage: 64-bit entry asked for, but the kernel has no XLF_KERNEL_64 (xloadflags 0x236, protocol 2.12+)',
  'bzImage: kernel_alignment (0x230) is not a power of two of at least 4 KiB',
  'bzImage: the given load address does not suit the kernel (not relocatable: pref_address 0x258 only; below 1 MiB)',
  'bzImage: the kernel does not fit in guest RAM below 4 GiB (init_size 0x260 from its load address)',
  'bzImage: the command line is longer than the kernel\'s cmdline_size (0x238)',
  'bzImage: the command line is longer than the loader\'s 4095 bytes',
  'bzImage: the ramdisk does not fit in guest RAM below initrd_addr_max (0x22C)',
  'bzImage: the given ramdisk address is not page aligned, not guest RAM, past initrd_addr_max, or overlaps the kernel or the boot area',
  'a destination page is not mapped writable in the VM\'s EPT',
  'a copy into guest memory failed',
  'bad load request (an address or register value that is negative, fractional or past 2^52)',
  'the image overlaps a range the loader must keep clear (the request\'s avoid list: e.g. the module it is read from)',
  'too many pieces to place (avoid list longer than 8 ranges)',
];

/** Message of a LOAD_* code. */
export function loaderErrorMessage(code: number): string {
  return code >= 0 && code < LOAD_ERRORS.length ? LOAD_ERRORS[code] : 'unknown loader error';
}

export function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

export function alignDown(value: number, align: number): number {
  return Math.floor(value / align) * align;
}

/** True for a non-negative integer below 2^52. */
export function isAddress(value: number): boolean {
  return value >= 0 && value < ADDR_LIMIT && value % 1 === 0;
}

/** What a load will do, and the entry state it leads to. */
export class LoadPlan {
  kernelType = 0;
  entryMode = ENTRY_NONE;
  /** RIP (guest-physical: the loader maps identity). */
  entry = 0;
  /** Image pieces to copy: image offset, bytes from the image, destination GPA, bytes in memory (the rest zeroed). */
  segCount = 0;
  readonly segOffset = new Float64Array(MAX_SEGMENTS);
  readonly segFile = new Float64Array(MAX_SEGMENTS);
  readonly segGpa = new Float64Array(MAX_SEGMENTS);
  readonly segMem = new Float64Array(MAX_SEGMENTS);
  /** The kernel's footprint in guest memory (bzImage: up to init_size from the runtime start). */
  kernelLoad = 0;
  kernelEnd = 0;
  bootArea = 0;
  /** 64-bit entries: the PML4 (CR3); 0 for the 32-bit protocol. */
  cr3 = 0;
  gdtBase = 0;
  rsp = 0;
  rsi = 0;
  rdi = 0;
  zeroPage = 0;
  cmdlineGpa = 0;
  /** Characters of the command line (the NUL after them is written too). */
  cmdlineLen = 0;
  ramdiskGpa = 0;
  ramdiskSize = 0;
  // bzImage setup header facts (boot.rst, "The Real-Mode Kernel Header")
  protocol = 0;
  setupSize = 0;
  /** 0x202 + the byte at 0x201: where the setup header ends. */
  headerEnd = 0;
  loadFlags = 0;
  xloadFlags = 0;
  initSize = 0;
  kernelAlign = 0;
  relocatable = false;
  prefAddress = 0;
  cmdlineMax = 0;
  initrdMax = 0;
  /** A number that says what failed (address, size, segment index), for the message. */
  failValue = 0;

  /** Ranges placements must avoid (image pieces, the boot area, `avoid` ranges). */
  busyCount = 0;
  private readonly busyStart = new Float64Array(MAX_BUSY);
  private readonly busyEnd = new Float64Array(MAX_BUSY);

  reset(): void {
    this.kernelType = 0;
    this.entryMode = ENTRY_NONE;
    this.entry = 0;
    this.segCount = 0;
    this.kernelLoad = 0;
    this.kernelEnd = 0;
    this.bootArea = 0;
    this.cr3 = 0;
    this.gdtBase = 0;
    this.rsp = 0;
    this.rsi = 0;
    this.rdi = 0;
    this.zeroPage = 0;
    this.cmdlineGpa = 0;
    this.cmdlineLen = 0;
    this.ramdiskGpa = 0;
    this.ramdiskSize = 0;
    this.protocol = 0;
    this.setupSize = 0;
    this.headerEnd = 0;
    this.loadFlags = 0;
    this.xloadFlags = 0;
    this.initSize = 0;
    this.kernelAlign = 0;
    this.relocatable = false;
    this.prefAddress = 0;
    this.cmdlineMax = 0;
    this.initrdMax = 0;
    this.failValue = 0;
    this.busyCount = 0;
  }

  /** Add one piece to copy; false when the table is full. */
  addSegment(offset: number, fileBytes: number, gpa: number, memBytes: number): boolean {
    const at = this.segCount;
    if (at >= MAX_SEGMENTS) return false;
    this.segOffset[at] = offset;
    this.segFile[at] = fileBytes;
    this.segGpa[at] = gpa;
    this.segMem[at] = memBytes;
    this.segCount = at + 1;
    return true;
  }

  /** Mark [start, end) as taken; false when the busy list is full. */
  addBusy(start: number, end: number): boolean {
    const at = this.busyCount;
    if (at >= MAX_BUSY) return false;
    this.busyStart[at] = start;
    this.busyEnd[at] = end;
    this.busyCount = at + 1;
    return true;
  }

  /** Index of a busy range overlapping [start, end), or -1. */
  busyOverlap(start: number, end: number): number {
    for (let i = 0; i < this.busyCount; i++) if (start < this.busyEnd[i] && this.busyStart[i] < end) return i;
    return -1;
  }

  /**
   * Lowest `align`-aligned GPA >= `min` with [gpa, gpa + size) in one RAM
   * run of `e820`, ending at or below `maxEnd`, and clear of every busy
   * range; -1 when there is none.
   */
  findLowest(e820: E820Table, size: number, align: number, min: number, maxEnd: number): number {
    for (let i = 0; i < e820.count; i++) {
      if (e820.type[i] !== E820_RAM) continue;
      const runEnd = e820.ramRunEnd(e820.base[i]);
      const limit = runEnd < maxEnd ? runEnd : maxEnd;
      let a = alignUp(e820.base[i] > min ? e820.base[i] : min, align);
      for (let step = 0; step <= this.busyCount && a + size <= limit; step++) {
        const hit = this.busyOverlap(a, a + size);
        if (hit < 0) return a;
        a = alignUp(this.busyEnd[hit], align);
      }
    }
    return -1;
  }

  /** Highest such GPA (same rules as findLowest); -1 when there is none. */
  findHighest(e820: E820Table, size: number, align: number, min: number, maxEnd: number): number {
    for (let i = e820.count - 1; i >= 0; i--) {
      if (e820.type[i] !== E820_RAM) continue;
      const end = e820.base[i] + e820.size[i];
      const top = end < maxEnd ? end : maxEnd;
      const bottom = e820.base[i] > min ? e820.base[i] : min;
      if (top - size < bottom) continue;
      let a = alignDown(top - size, align);
      for (let step = 0; step <= this.busyCount && a >= bottom; step++) {
        const hit = this.busyOverlap(a, a + size);
        if (hit < 0) return a;
        a = alignDown(this.busyStart[hit] - size, align);
      }
    }
    return -1;
  }
}

// ---- little-endian stores into a host buffer (values below 2^53) -------------------------------

export function bufPut8(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value & 0xff;
}

export function bufPut16(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value & 0xff;
  buf[at + 1] = (value >>> 8) & 0xff;
}

export function bufPut32(buf: Uint8Array, at: number, value: number): void {
  const v = value >>> 0;
  buf[at] = v & 0xff;
  buf[at + 1] = (v >>> 8) & 0xff;
  buf[at + 2] = (v >>> 16) & 0xff;
  buf[at + 3] = (v >>> 24) & 0xff;
}

/** A 64-bit value below 2^53 as two little-endian dwords. */
export function bufPut64(buf: Uint8Array, at: number, value: number): void {
  const hiHalf = Math.floor(value / 4294967296);
  bufPut32(buf, at, value - hiHalf * 4294967296);
  bufPut32(buf, at + 4, hiHalf);
}

export function bufFill(buf: Uint8Array, value: number): void {
  const v = value & 0xff;
  for (let i = 0; i < buf.length; i++) buf[i] = v;
}
