// Guest memory access for the exit handlers: guest-physical through the VM's
// EPT, and guest-linear through a walk of the guest's own page tables.
// This is the VMX core's minimal walker (paging off, and 4-level paging for
// reads and writes without permission checks or A/D updates); the complete
// walker with every paging mode, permissions and faults replaces it.
import { hi, peek8, peek64, poke8, vmread } from '../../arch/x86/intrinsics';
import { GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_IA32_EFER } from '../../arch/x86/vmcs';
import type { AcrnVm } from './vm';

const PAGE = 4096;
const CR0_PG = 0x80000000;
const CR4_PAE = 0x20;
const EFER_LMA = 0x400;
const ADDR_MASK_LO = 0xfffff000;
const ADDR_MASK_HI = 0x000fffff;

/** Host physical address of a guest-physical byte, or -1 when the EPT does not map it. */
export function gpaToHpa(vm: AcrnVm, gpa: number): number {
  return vm.ept.translate(gpa);
}

export function readGpa8(vm: AcrnVm, gpa: number): number {
  const hpa = vm.ept.translate(gpa);
  return hpa < 0 ? -1 : peek8(hpa);
}

export function writeGpa8(vm: AcrnVm, gpa: number, value: number): boolean {
  const hpa = vm.ept.translate(gpa);
  if (hpa < 0) return false;
  poke8(hpa, value & 0xff);
  return true;
}

/** Index into the level-`level` table (0 = PML4 .. 3 = PT) of a linear address. */
function tableIndex(level: number, linHi: number, linLo: number): number {
  if (level === 0) return (linHi >>> 7) & 0x1ff; // bits 47:39
  if (level === 1) return ((linHi & 0x7f) << 2) | (linLo >>> 30); // bits 38:30
  if (level === 2) return (linLo >>> 21) & 0x1ff; // bits 29:21
  return (linLo >>> 12) & 0x1ff; // bits 20:12
}

/**
 * Guest-physical address of a guest linear address (halves: linear addresses
 * may exceed 2^53), or -1 when not mapped or the paging mode is not handled.
 */
export function linearToGpa(vm: AcrnVm, linHi: number, linLo: number): number {
  const cr0 = vmread(GUEST_CR0);
  if ((cr0 & CR0_PG) === 0) return linHi === 0 ? linLo : -1;
  const cr4 = vmread(GUEST_CR4);
  const efer = vmread(GUEST_IA32_EFER);
  if ((cr4 & CR4_PAE) === 0 || (efer & EFER_LMA) === 0) return -1;
  // 4-level paging (SDM Vol. 3A 4.5): indexes 47:39, 38:30, 29:21, 20:12.
  let tableLo = vmread(GUEST_CR3) & ADDR_MASK_LO;
  let tableHi = hi() & ADDR_MASK_HI;
  for (let level = 0; level < 4; level++) {
    const entryGpa = tableHi * 4294967296 + tableLo + tableIndex(level, linHi, linLo) * 8;
    const hpa = vm.ept.translate(entryGpa);
    if (hpa < 0) return -1;
    const lo = peek64(hpa) >>> 0;
    const eHi = hi() & ADDR_MASK_HI;
    if ((lo & 1) === 0) return -1;
    const large = (lo & 0x80) !== 0;
    if (level === 1 && large) return eHi * 4294967296 + (lo & 0xc0000000) + (linLo & 0x3fffffff);
    if (level === 2 && large) return eHi * 4294967296 + (lo & 0xffe00000) + (linLo & 0x1fffff);
    tableLo = (lo & ADDR_MASK_LO) >>> 0;
    tableHi = eHi;
  }
  return tableHi * 4294967296 + tableLo + (linLo & (PAGE - 1));
}
