// ELF64 executables (ACRN's KERNEL_ELF): the PT_LOAD segments are copied to
// their physical addresses (p_paddr: p_filesz bytes from p_offset, then zeros
// up to p_memsz) and the guest enters e_entry in 64-bit mode with the
// loader's identity paging. Every header field is checked against the image
// and every segment against the VM's e820 RAM before anything is written.
//
// Layouts (System V gABI, "ELF Header" and "Program Header"; x86-64 psABI):
//
//   ELF header (64 bytes)                 program header (56 bytes)
//   0x00 e_ident[16]: 7F 'E' 'L' 'F',     0x00 p_type u32 (PT_LOAD 1)
//        EI_CLASS 2 (64-bit) @4,          0x04 p_flags u32 (PF_X 1, PF_W 2, PF_R 4)
//        EI_DATA 1 (LSB) @5,              0x08 p_offset u64
//        EI_VERSION 1 @6                  0x10 p_vaddr u64
//   0x10 e_type u16 (ET_EXEC 2)           0x18 p_paddr u64
//   0x12 e_machine u16 (EM_X86_64 62)     0x20 p_filesz u64
//   0x14 e_version u32 (1)                0x28 p_memsz u64
//   0x18 e_entry u64                      0x30 p_align u64
//   0x20 e_phoff u64
//   0x34 e_ehsize u16, 0x36 e_phentsize u16, 0x38 e_phnum u16
//
// The entry point is a virtual address: it must fall inside an executable
// PT_LOAD segment, and the guest starts at that segment's p_paddr plus the
// offset (for the usual vaddr == paddr image, e_entry itself). Segments must
// lie in guest RAM below 4 GiB (the identity map) and not overlap each
// other, the boot area or the request's avoid ranges.
import type { E820Table } from './e820';
import { type ImageSource, imgU8, imgU16, imgU32 } from './loader-image';
import {
  ADDR_LIMIT, FOUR_GIB, KERNEL_ELF, type LoadPlan, LOAD_E_ABOVE_4G, LOAD_E_AVOID, LOAD_E_ELF_CLASS, LOAD_E_ELF_ENTRY,
  LOAD_E_ELF_HEADER_SIZE, LOAD_E_ELF_MACHINE, LOAD_E_ELF_MAGIC, LOAD_E_ELF_PH_COUNT, LOAD_E_ELF_PH_TABLE, LOAD_E_ELF_SEG_ADDR,
  LOAD_E_ELF_SEG_FILE, LOAD_E_ELF_SEG_OVERLAP, LOAD_E_ELF_SEG_RAM, LOAD_E_ELF_SEG_SIZE, LOAD_E_ELF_SHORT, LOAD_E_ELF_TYPE,
  LOAD_E_ELF_VERSION, LOAD_OK, MAX_SEGMENTS,
} from './loader-plan';

export const ELF_HEADER_SIZE = 64;
export const ELF_PHDR_SIZE = 56;
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const EV_CURRENT = 1;
export const ET_EXEC = 2;
export const EM_X86_64 = 62;
export const PT_LOAD = 1;
export const PF_X = 1;

const TWO32 = 4294967296;
/** High halves at or above this make the value reach 2^52. */
const HI_LIMIT = 0x100000;

/**
 * Check an ELF64 image and plan its segments into `plan` (segments, entry,
 * kernel footprint, busy ranges). LOAD_OK or a LOAD_E_* code with
 * plan.failValue saying which segment (index among the program headers)
 * or which value. Reads the image only.
 * @pre plan holds the request's avoid ranges as busy ranges and nothing else.
 */
export function elfPlan(src: ImageSource, e820: E820Table, plan: LoadPlan): number {
  const len = src.length();
  plan.kernelType = KERNEL_ELF;
  if (len < ELF_HEADER_SIZE) return LOAD_E_ELF_SHORT;
  if (imgU8(src, 0) !== 0x7f || imgU8(src, 1) !== 0x45 || imgU8(src, 2) !== 0x4c || imgU8(src, 3) !== 0x46) return LOAD_E_ELF_MAGIC;
  if (imgU8(src, 4) !== ELFCLASS64 || imgU8(src, 5) !== ELFDATA2LSB || imgU8(src, 6) !== EV_CURRENT) return LOAD_E_ELF_CLASS;
  const type = imgU16(src, 0x10);
  if (type !== ET_EXEC) {
    plan.failValue = type;
    return LOAD_E_ELF_TYPE;
  }
  const machine = imgU16(src, 0x12);
  if (machine !== EM_X86_64) {
    plan.failValue = machine;
    return LOAD_E_ELF_MACHINE;
  }
  if (imgU32(src, 0x14) !== EV_CURRENT) return LOAD_E_ELF_VERSION;
  const entryLo = imgU32(src, 0x18);
  const entryHi = imgU32(src, 0x1c);
  const phoffLo = imgU32(src, 0x20);
  const phoffHi = imgU32(src, 0x24);
  const ehsize = imgU16(src, 0x34);
  const phentsize = imgU16(src, 0x36);
  const phnum = imgU16(src, 0x38);
  if (ehsize < ELF_HEADER_SIZE || phentsize < ELF_PHDR_SIZE) return LOAD_E_ELF_HEADER_SIZE;
  if (phoffHi !== 0 || phoffLo + phnum * phentsize > len) {
    plan.failValue = phoffLo;
    return LOAD_E_ELF_PH_TABLE;
  }

  let loads = 0;
  let entryGpa = -1;
  let lowest = ADDR_LIMIT;
  let highest = 0;
  for (let i = 0; i < phnum; i++) {
    const ph = phoffLo + i * phentsize;
    if (imgU32(src, ph) !== PT_LOAD) continue;
    loads++;
    plan.failValue = i;
    if (loads > MAX_SEGMENTS) return LOAD_E_ELF_PH_COUNT;
    const flags = imgU32(src, ph + 0x04);
    const offHi = imgU32(src, ph + 0x0c);
    const vaddrLo = imgU32(src, ph + 0x10);
    const vaddrHi = imgU32(src, ph + 0x14);
    const paddrHi = imgU32(src, ph + 0x1c);
    const fileHi = imgU32(src, ph + 0x24);
    const memHi = imgU32(src, ph + 0x2c);
    if (offHi >= HI_LIMIT || paddrHi >= HI_LIMIT || fileHi >= HI_LIMIT || memHi >= HI_LIMIT) return LOAD_E_ELF_SEG_ADDR;
    const offset = offHi * TWO32 + imgU32(src, ph + 0x08);
    const paddr = paddrHi * TWO32 + imgU32(src, ph + 0x18);
    const filesz = fileHi * TWO32 + imgU32(src, ph + 0x20);
    const memsz = memHi * TWO32 + imgU32(src, ph + 0x28);
    if (filesz > memsz) return LOAD_E_ELF_SEG_SIZE;
    if (offset + filesz > len) return LOAD_E_ELF_SEG_FILE;
    if (memsz === 0) continue;
    if (paddr + memsz > ADDR_LIMIT) return LOAD_E_ELF_SEG_ADDR;
    if (!e820.isRam(paddr, memsz)) {
      plan.failValue = paddr;
      return LOAD_E_ELF_SEG_RAM;
    }
    if (paddr + memsz > FOUR_GIB) {
      plan.failValue = paddr;
      return LOAD_E_ABOVE_4G;
    }
    for (let k = 0; k < plan.segCount; k++) {
      if (paddr < plan.segGpa[k] + plan.segMem[k] && plan.segGpa[k] < paddr + memsz) return LOAD_E_ELF_SEG_OVERLAP;
    }
    if (plan.busyOverlap(paddr, paddr + memsz) >= 0) {
      plan.failValue = paddr;
      return LOAD_E_AVOID;
    }
    // e_entry - p_vaddr from the halves: exact whenever it can be inside the segment.
    const delta = (entryHi - vaddrHi) * TWO32 + (entryLo - vaddrLo);
    if ((flags & PF_X) !== 0 && delta >= 0 && delta < memsz && entryGpa < 0) entryGpa = paddr + delta;
    plan.addSegment(offset, filesz, paddr, memsz);
    if (paddr < lowest) lowest = paddr;
    if (paddr + memsz > highest) highest = paddr + memsz;
  }
  plan.failValue = 0;
  if (plan.segCount === 0) return LOAD_E_ELF_PH_COUNT;
  if (entryGpa < 0) {
    plan.failValue = entryLo;
    return LOAD_E_ELF_ENTRY;
  }
  for (let k = 0; k < plan.segCount; k++) plan.addBusy(plan.segGpa[k], plan.segGpa[k] + plan.segMem[k]);
  plan.entry = entryGpa;
  plan.kernelLoad = lowest;
  plan.kernelEnd = highest;
  return LOAD_OK;
}
