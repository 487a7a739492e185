// The Linux/x86 boot protocol (Documentation/arch/x86/boot.rst; the zero
// page layout is Documentation/arch/x86/zero-page.rst): check a bzImage's
// setup header, place the protected-mode kernel, the command line and the
// ramdisk, and build struct boot_params (the "zero page").
//
// Setup header fields used (offset in the image and in boot_params, size,
// protocol):
//   0x1F1/1 setup_sects (0 means 4)    0x211/1 loadflags (bit 0 LOADED_HIGH)
//   0x1F4/4 syssize (16-byte paras)    0x214/4 code32_start (set to the load address)
//   0x1FA/2 vid_mode (0xFFFF normal)   0x218/4 ramdisk_image, 0x21C/4 ramdisk_size
//   0x1FE/2 boot_flag 0xAA55           0x228/4 cmd_line_ptr
//   0x200/2 jump: 0xEB, header length  0x22C/4 initrd_addr_max (highest ramdisk byte)
//   0x202/4 "HdrS"                     0x230/4 kernel_alignment, 0x234/1 relocatable_kernel
//   0x206/2 version                    0x236/2 xloadflags (2.12+; bit 0 XLF_KERNEL_64)
//   0x210/1 type_of_loader (0xFF)      0x238/4 cmdline_size (2.06+)
//                                      0x258/8 pref_address, 0x260/4 init_size (2.10+)
// boot_params: e820_entries u8 @0x1E8, e820_table @0x2D0 (20-byte entries:
// addr u64, size u64, type u32; up to 128); the setup header is copied to
// 0x1F1 .. 0x202 + byte 0x201 ("The end of setup header can be calculated as
// 0x0202 + byte value at offset 0x0201"), which boot.rst caps at 144 bytes.
//
// Decisions (documented here, checked by the tests):
//  - protocol 2.06 or later (cmdline_size exists from 2.06, so the command
//    line limit can be checked); the 64-bit entry (load address + 0x200)
//    needs 2.12 (xloadflags) with XLF_KERNEL_64; LINUX_ENTRY_AUTO takes it
//    when present, else the 32-bit entry (load address).
//  - the kernel goes to pref_address (2.10+; 0x100000 before) when its
//    init_size fits in guest RAM there; a relocatable kernel otherwise goes
//    to the lowest kernel_alignment-aligned RAM at or above pref_address
//    where it fits. Its footprint is [load, runtime start + max(init_size,
//    protected-mode size)), runtime start = align_up(load, kernel_alignment)
//    (boot.rst, init_size), but never below pref_address: Linux's
//    decompressor moves a kernel loaded lower up to LOAD_PHYSICAL_ADDR.
//    Everything stays below 4 GiB (32-bit pointers, the identity map).
//  - the whole rest of the file after the setup sectors is copied (signed
//    Debian images carry a signature past syssize); syssize * 16 bytes must
//    be there, or the image is truncated.
//  - the ramdisk goes to the highest page-aligned RAM ending at or below
//    initrd_addr_max + 1 (and 4 GiB), clear of the kernel and the boot area.
import type { E820Table } from './e820';
import { type ImageSource, imgU8, imgU16, imgU32 } from './loader-image';
import {
  ENTRY_32, ENTRY_64, FOUR_GIB, KERNEL_BZIMAGE, LINUX_ENTRY_32, LINUX_ENTRY_64, type LoadPlan, LOAD_E_BZ_ALIGN,
  LOAD_E_BZ_BOOT_FLAG, LOAD_E_BZ_CMDLINE, LOAD_E_BZ_CMDLINE_BUF, LOAD_E_BZ_HEADER_LEN, LOAD_E_BZ_KERNEL_RAM, LOAD_E_BZ_LOAD_ADDR,
  LOAD_E_BZ_MAGIC, LOAD_E_BZ_NO_64, LOAD_E_BZ_NOT_BZIMAGE, LOAD_E_BZ_RAMDISK, LOAD_E_BZ_RAMDISK_ADDR, LOAD_E_BZ_SETUP_SECTS,
  LOAD_E_BZ_SHORT, LOAD_E_BZ_SYSSIZE, LOAD_E_BZ_VERSION, LOAD_OK, BOOT_CMDLINE_MAX, PAGE_SIZE, alignUp, bufFill, bufPut8,
  bufPut16, bufPut32, bufPut64,
} from './loader-plan';

// ---- setup header (boot.rst) -------------------------------------------------------------
export const BZ_SETUP_SECTS = 0x1f1;
export const BZ_SYSSIZE = 0x1f4;
export const BZ_VID_MODE = 0x1fa;
export const BZ_BOOT_FLAG = 0x1fe;
export const BZ_JUMP = 0x200;
export const BZ_HEADER = 0x202;
export const BZ_VERSION = 0x206;
export const BZ_TYPE_OF_LOADER = 0x210;
export const BZ_LOADFLAGS = 0x211;
export const BZ_CODE32_START = 0x214;
export const BZ_RAMDISK_IMAGE = 0x218;
export const BZ_RAMDISK_SIZE = 0x21c;
export const BZ_HEAP_END_PTR = 0x224;
export const BZ_CMD_LINE_PTR = 0x228;
export const BZ_INITRD_ADDR_MAX = 0x22c;
export const BZ_KERNEL_ALIGNMENT = 0x230;
export const BZ_RELOCATABLE = 0x234;
export const BZ_XLOADFLAGS = 0x236;
export const BZ_CMDLINE_SIZE = 0x238;
export const BZ_HARDWARE_SUBARCH = 0x23c;
export const BZ_SETUP_DATA = 0x250;
export const BZ_PREF_ADDRESS = 0x258;
export const BZ_INIT_SIZE = 0x260;

export const BZ_BOOT_FLAG_MAGIC = 0xaa55;
/** "HdrS" little-endian. */
export const BZ_HDRS_MAGIC = 0x53726448;
export const BZ_JUMP_OPCODE = 0xeb;
export const BZ_MIN_PROTOCOL = 0x0206;
export const BZ_PROTOCOL_2_10 = 0x020a;
export const BZ_PROTOCOL_2_12 = 0x020c;
export const LOADED_HIGH = 0x01;
export const XLF_KERNEL_64 = 0x01;
/** type_of_loader: no assigned id. */
export const LOADER_TYPE_UNDEFINED = 0xff;
/** vid_mode "normal". */
export const VID_MODE_NORMAL = 0xffff;
/** setup_header is limited to 144 bytes (boot.rst, "The kernel_info"): it ends by 0x1F1 + 144. */
export const BZ_HEADER_MAX_END = 0x1f1 + 144;
/** The header must reach cmdline_size (2.06) or init_size (2.10+). */
const BZ_HEADER_END_206 = 0x23c;
const BZ_HEADER_END_210 = 0x264;
/** A bzImage has at least the boot sector and one setup sector. */
export const BZ_MIN_IMAGE = 1024;
/** bzImage kernels load at 1 MiB by default ("load_address = is_bzImage ? 0x100000 : 0x10000"). */
export const BZ_DEFAULT_LOAD = 0x100000;
/** initrd_addr_max before protocol 2.03. */
export const BZ_DEFAULT_INITRD_MAX = 0x37ffffff;
/** Offset of the 64-bit entry from the load address. */
export const BZ_ENTRY64_OFFSET = 0x200;

// ---- boot_params (zero-page.rst) --------------------------------------------------------
export const ZP_SIZE = 4096;
export const ZP_EXT_RAMDISK_IMAGE = 0x0c0;
export const ZP_EXT_RAMDISK_SIZE = 0x0c4;
export const ZP_EXT_CMD_LINE_PTR = 0x0c8;
export const ZP_E820_ENTRIES = 0x1e8;
export const ZP_SETUP_HEADER = 0x1f1;
export const ZP_E820_TABLE = 0x2d0;
export const ZP_E820_ENTRY_SIZE = 20;
export const ZP_E820_MAX = 128;

const TWO32 = 4294967296;

/**
 * Check the setup header and place the protected-mode kernel: fills plan's
 * header facts, entry mode, entry point, the kernel segment, footprint and
 * busy range. `linuxEntry` is LINUX_ENTRY_*; `loadGpa` 0 lets the loader
 * choose. LOAD_OK or a LOAD_E_BZ_* code (plan.failValue: the value at fault).
 * @pre plan holds only the request's avoid ranges as busy ranges.
 */
export function bzPlanKernel(src: ImageSource, e820: E820Table, plan: LoadPlan, linuxEntry: number, loadGpa: number): number {
  plan.kernelType = KERNEL_BZIMAGE;
  const len = src.length();
  if (len < BZ_MIN_IMAGE) {
    plan.failValue = len;
    return LOAD_E_BZ_SHORT;
  }
  if (imgU16(src, BZ_BOOT_FLAG) !== BZ_BOOT_FLAG_MAGIC) return LOAD_E_BZ_BOOT_FLAG;
  if (imgU32(src, BZ_HEADER) !== BZ_HDRS_MAGIC) return LOAD_E_BZ_MAGIC;
  const version = imgU16(src, BZ_VERSION);
  plan.protocol = version;
  if (version < BZ_MIN_PROTOCOL) {
    plan.failValue = version;
    return LOAD_E_BZ_VERSION;
  }
  // The jump's signed byte offset is relative to 0x202: it ends the header.
  const jumpLen = imgU8(src, BZ_JUMP + 1);
  const headerEnd = BZ_HEADER + (jumpLen < 0x80 ? jumpLen : jumpLen - 0x100);
  plan.headerEnd = headerEnd;
  const needEnd = version >= BZ_PROTOCOL_2_10 ? BZ_HEADER_END_210 : BZ_HEADER_END_206;
  if (imgU8(src, BZ_JUMP) !== BZ_JUMP_OPCODE || headerEnd < needEnd || headerEnd > BZ_HEADER_MAX_END) {
    plan.failValue = headerEnd;
    return LOAD_E_BZ_HEADER_LEN;
  }
  let sects = imgU8(src, BZ_SETUP_SECTS);
  if (sects === 0) sects = 4;
  const setupSize = (sects + 1) * 512;
  plan.setupSize = setupSize;
  if (setupSize > len) {
    plan.failValue = setupSize;
    return LOAD_E_BZ_SETUP_SECTS;
  }
  const loadFlags = imgU8(src, BZ_LOADFLAGS);
  plan.loadFlags = loadFlags;
  if ((loadFlags & LOADED_HIGH) === 0) return LOAD_E_BZ_NOT_BZIMAGE;
  const pmSize = len - setupSize;
  const sysBytes = imgU32(src, BZ_SYSSIZE) * 16;
  if (pmSize === 0 || sysBytes === 0 || sysBytes > pmSize) {
    plan.failValue = sysBytes;
    return LOAD_E_BZ_SYSSIZE;
  }

  // Entry mode.
  const xlf = version >= BZ_PROTOCOL_2_12 ? imgU16(src, BZ_XLOADFLAGS) : 0;
  plan.xloadFlags = xlf;
  const has64 = (xlf & XLF_KERNEL_64) !== 0;
  if (linuxEntry === LINUX_ENTRY_64 && !has64) return LOAD_E_BZ_NO_64;
  plan.entryMode = has64 && linuxEntry !== LINUX_ENTRY_32 ? ENTRY_64 : ENTRY_32;

  // Placement facts.
  plan.cmdlineMax = imgU32(src, BZ_CMDLINE_SIZE);
  plan.initrdMax = imgU32(src, BZ_INITRD_ADDR_MAX);
  const relocatable = imgU8(src, BZ_RELOCATABLE) !== 0;
  plan.relocatable = relocatable;
  const align = imgU32(src, BZ_KERNEL_ALIGNMENT);
  plan.kernelAlign = align;
  let pref = BZ_DEFAULT_LOAD;
  let initSize = 0;
  if (version >= BZ_PROTOCOL_2_10) {
    const prefHi = imgU32(src, BZ_PREF_ADDRESS + 4);
    pref = prefHi >= 1 ? FOUR_GIB : imgU32(src, BZ_PREF_ADDRESS);
    if (prefHi >= 1) plan.prefAddress = prefHi * TWO32 + imgU32(src, BZ_PREF_ADDRESS);
    else plan.prefAddress = pref;
    initSize = imgU32(src, BZ_INIT_SIZE);
  } else {
    plan.prefAddress = pref;
  }
  plan.initSize = initSize;
  const need = initSize > pmSize ? initSize : pmSize;
  if (relocatable && !(align >= PAGE_SIZE && align <= 0x80000000 && bzIsPowerOfTwo(align))) {
    plan.failValue = align;
    return LOAD_E_BZ_ALIGN;
  }

  // Choose the load address.
  let load = -1;
  if (loadGpa !== 0) {
    if (loadGpa < BZ_DEFAULT_LOAD || (!relocatable && loadGpa !== pref)) {
      plan.failValue = loadGpa;
      return LOAD_E_BZ_LOAD_ADDR;
    }
    if (!bzFits(e820, plan, loadGpa, bzFootprintEnd(loadGpa, relocatable, align, pref, need))) {
      plan.failValue = need;
      return LOAD_E_BZ_KERNEL_RAM;
    }
    load = loadGpa;
  } else {
    const prefOk = pref >= BZ_DEFAULT_LOAD && pref < FOUR_GIB && (!relocatable || pref % align === 0);
    if (prefOk && bzFits(e820, plan, pref, bzFootprintEnd(pref, relocatable, align, pref, need))) load = pref;
    else if (relocatable) {
      const min = pref >= BZ_DEFAULT_LOAD && pref < FOUR_GIB ? pref : BZ_DEFAULT_LOAD;
      load = plan.findLowest(e820, need, align, min, FOUR_GIB);
    }
    if (load < 0) {
      plan.failValue = need;
      return LOAD_E_BZ_KERNEL_RAM;
    }
  }
  const end = bzFootprintEnd(load, relocatable, align, pref, need);
  plan.addSegment(setupSize, pmSize, load, pmSize);
  plan.kernelLoad = load;
  plan.kernelEnd = end;
  plan.addBusy(load, end);
  plan.entry = plan.entryMode === ENTRY_64 ? load + BZ_ENTRY64_OFFSET : load;
  return LOAD_OK;
}

function bzIsPowerOfTwo(v: number): boolean {
  let x = v;
  while (x > 1 && x % 2 === 0) x = x / 2;
  return x === 1;
}

/** End of the kernel's footprint when loaded at `load`. */
function bzFootprintEnd(load: number, relocatable: boolean, align: number, pref: number, need: number): number {
  if (!relocatable) return pref + need;
  let start = alignUp(load, align);
  if (start < pref && pref < FOUR_GIB) start = pref;
  return start + need;
}

/** True when [load, end) is RAM below 4 GiB and clear of every busy range. */
function bzFits(e820: E820Table, plan: LoadPlan, load: number, end: number): boolean {
  if (end > FOUR_GIB) return false;
  return e820.isRam(load, end - load) && plan.busyOverlap(load, end) < 0;
}

/** Check the command line's length (`chars`, without the NUL) against cmdline_size and the loader's buffer. */
export function bzPlanCmdline(plan: LoadPlan, chars: number, gpa: number): number {
  if (chars > plan.cmdlineMax) {
    plan.failValue = chars;
    return LOAD_E_BZ_CMDLINE;
  }
  if (chars > BOOT_CMDLINE_MAX) {
    plan.failValue = chars;
    return LOAD_E_BZ_CMDLINE_BUF;
  }
  plan.cmdlineGpa = gpa;
  plan.cmdlineLen = chars;
  return LOAD_OK;
}

/**
 * Place a ramdisk of `size` bytes (0: none) at `gpa`, or where the loader
 * chooses when `gpa` is 0: page aligned, in RAM, its last byte at or below
 * initrd_addr_max and below 4 GiB, clear of the kernel and the boot area.
 */
export function bzPlanRamdisk(e820: E820Table, plan: LoadPlan, size: number, gpa: number): number {
  plan.ramdiskGpa = 0;
  plan.ramdiskSize = 0;
  if (size === 0) return LOAD_OK;
  let maxEnd = plan.initrdMax + 1;
  if (maxEnd > FOUR_GIB) maxEnd = FOUR_GIB;
  let at = gpa;
  if (gpa !== 0) {
    if (gpa % PAGE_SIZE !== 0 || gpa + size > maxEnd || !e820.isRam(gpa, size) || plan.busyOverlap(gpa, gpa + size) >= 0) {
      plan.failValue = gpa;
      return LOAD_E_BZ_RAMDISK_ADDR;
    }
  } else {
    at = plan.findHighest(e820, size, PAGE_SIZE, BZ_DEFAULT_LOAD, maxEnd);
    if (at < 0) {
      plan.failValue = size;
      return LOAD_E_BZ_RAMDISK;
    }
  }
  plan.ramdiskGpa = at;
  plan.ramdiskSize = size;
  return LOAD_OK;
}

/**
 * struct boot_params for a planned bzImage into `zp` (4096 bytes): zeroed,
 * the setup header copied from the image, the loader's fields written, and
 * the e820 table (at most 128 entries).
 */
export function bzBuildZeroPage(zp: Uint8Array, src: ImageSource, plan: LoadPlan, e820: E820Table): void {
  bufFill(zp, 0);
  const end = plan.headerEnd;
  for (let off = ZP_SETUP_HEADER; off < end; off++) zp[off] = imgU8(src, off) & 0xff;
  bufPut16(zp, BZ_VID_MODE, VID_MODE_NORMAL);
  bufPut8(zp, BZ_TYPE_OF_LOADER, LOADER_TYPE_UNDEFINED);
  // loadflags: keep LOADED_HIGH; no QUIET_FLAG; CAN_USE_HEAP clear (no real-mode setup runs, no heap).
  bufPut8(zp, BZ_LOADFLAGS, plan.loadFlags & LOADED_HIGH);
  bufPut32(zp, BZ_CODE32_START, plan.kernelLoad);
  bufPut32(zp, BZ_RAMDISK_IMAGE, plan.ramdiskGpa);
  bufPut32(zp, BZ_RAMDISK_SIZE, plan.ramdiskSize);
  bufPut16(zp, BZ_HEAP_END_PTR, 0);
  bufPut32(zp, BZ_CMD_LINE_PTR, plan.cmdlineGpa);
  bufPut32(zp, BZ_HARDWARE_SUBARCH, 0);
  bufPut64(zp, BZ_SETUP_DATA, 0);
  // Everything is below 4 GiB: the ext_* high halves stay 0.
  bufPut32(zp, ZP_EXT_RAMDISK_IMAGE, 0);
  bufPut32(zp, ZP_EXT_RAMDISK_SIZE, 0);
  bufPut32(zp, ZP_EXT_CMD_LINE_PTR, 0);
  let n = e820.count;
  if (n > ZP_E820_MAX) n = ZP_E820_MAX;
  bufPut8(zp, ZP_E820_ENTRIES, n);
  for (let i = 0; i < n; i++) {
    const at = ZP_E820_TABLE + i * ZP_E820_ENTRY_SIZE;
    bufPut64(zp, at, e820.base[i]);
    bufPut64(zp, at + 8, e820.size[i]);
    bufPut32(zp, at + 16, e820.type[i]);
  }
}
