// RDMSR/WRMSR exits (SDM Vol. 3C 26.1.3; the MSR bitmap, vmcs-setup.ts, lets
// the MSRs the VMCS or the vCPU switch already handles pass through). Emulated
// here: IA32_EFER and IA32_PAT (in the VMCS guest-state area), the MTRRs
// (IA32_MTRRCAP reports fixed ranges and WC, no variable ranges), IA32_TSC,
// IA32_MISC_ENABLE and the platform-info read-only MSRs Linux reads; the
// vLAPIC's MSRs (IA32_APIC_BASE, IA32_TSC_DEADLINE, the x2APIC range
// 0x800-0xBFF) go to the vCPU's vLAPIC, which decides their #GP cases (SDM
// Vol. 3A 11.12.1). Any other MSR gets #GP(0).
import { rdtsc, vmread, vmwrite } from '../../../arch/x86/intrinsics';
import { CR0_READ_SHADOW, GUEST_IA32_EFER, GUEST_IA32_PAT } from '../../../arch/x86/vmcs';
import type { ExitInfo } from '../../../arch/x86/vmexit-info';
import { hi } from '../../../arch/x86/intrinsics';
import type { Vcpu } from '../vcpu';
import { queueException, VECTOR_GP } from '../virq';
import { VLAPIC_OK } from '../vlapic-regs';

const RAX = 0;
const RCX = 1;
const RDX = 2;

export const MSR_IA32_TSC = 0x10;
export const MSR_IA32_APIC_BASE = 0x1b;
export const MSR_IA32_FEATURE_CONTROL = 0x3a;
export const MSR_IA32_MTRRCAP = 0xfe;
export const MSR_IA32_MISC_ENABLE = 0x1a0;
export const MSR_IA32_PAT = 0x277;
export const MSR_IA32_MTRR_DEF_TYPE = 0x2ff;
export const MSR_IA32_EFER = 0xc0000080;
export const MSR_IA32_TSC_DEADLINE = 0x6e0;

/** MSRs the vLAPIC owns. */
function isLapicMsr(msr: number): boolean {
  return msr === MSR_IA32_APIC_BASE || msr === MSR_IA32_TSC_DEADLINE || (msr >= 0x800 && msr <= 0xbff);
}

/** Fixed-range MTRRs (SDM Vol. 3A 11.11.2.2): 0x250, 0x258, 0x259, 0x268..0x26F. */
function fixedMtrrIndex(msr: number): number {
  if (msr === 0x250) return 0;
  if (msr === 0x258) return 1;
  if (msr === 0x259) return 2;
  if (msr >= 0x268 && msr <= 0x26f) return msr - 0x268 + 3;
  return -1;
}

/** MTRRCAP: VCNT 0, fixed ranges supported (bit 8), WC supported (bit 10). */
const MTRRCAP_VALUE = 0x500;
/** EFER bits a guest may set: SCE, LME, LMA (read-only here), NXE. */
const EFER_WRITABLE = 0x1 | 0x100 | 0x400 | 0x800;
/** PAT memory types 0, 1, 4, 5, 6, 7 are valid (SDM Vol. 3A 11.12.2). */
function patValid(half: number): boolean {
  for (let i = 0; i < 4; i++) {
    const t = (half >>> (i * 8)) & 0xff;
    if (t === 2 || t === 3 || t > 7) return false;
  }
  return true;
}

/** Returns false when the MSR is not emulated (the caller injects #GP). */
function readMsr(vcpu: Vcpu, msr: number): boolean {
  let lo = 0;
  let h = 0;
  const fixed = fixedMtrrIndex(msr);
  if (isLapicMsr(msr)) {
    const lapic = vcpu.vlapic;
    if (lapic.msrRead(msr, rdtsc()) !== VLAPIC_OK) return false;
    lo = lapic.msrLo;
    h = lapic.msrHi;
  } else if (msr === MSR_IA32_EFER) {
    lo = vmread(GUEST_IA32_EFER);
    h = hi();
  } else if (msr === MSR_IA32_PAT) {
    lo = vmread(GUEST_IA32_PAT);
    h = hi();
  } else if (msr === MSR_IA32_TSC) {
    const t = rdtsc();
    h = Math.floor(t / 4294967296);
    lo = t - h * 4294967296;
  } else if (msr === MSR_IA32_MTRRCAP) {
    lo = MTRRCAP_VALUE;
  } else if (msr === MSR_IA32_MTRR_DEF_TYPE) {
    lo = vcpu.mtrrDefType;
  } else if (fixed >= 0) {
    lo = vcpu.mtrrFixed[fixed * 2 + 1];
    h = vcpu.mtrrFixed[fixed * 2];
  } else if (msr === MSR_IA32_MISC_ENABLE) {
    lo = 1; // fast strings
  } else if (msr === MSR_IA32_FEATURE_CONTROL) {
    lo = 1; // locked, VMX off: VMX is hidden from guests
  } else {
    return false;
  }
  vcpu.setGpr(RAX, 0, lo >>> 0);
  vcpu.setGpr(RDX, 0, h >>> 0);
  return true;
}

function writeMsr(vcpu: Vcpu, msr: number, h: number, lo: number): boolean {
  const fixed = fixedMtrrIndex(msr);
  if (isLapicMsr(msr)) {
    if (vcpu.vlapic.msrWrite(msr, h, lo, rdtsc()) !== VLAPIC_OK) return false;
  } else if (msr === MSR_IA32_EFER) {
    if (h !== 0 || (lo & ~EFER_WRITABLE) !== 0) return false;
    const cur = vmread(GUEST_IA32_EFER);
    // LME cannot change while paging is on (SDM Vol. 3A 4.1.2).
    if ((vmread(CR0_READ_SHADOW) & 0x80000000) !== 0 && ((cur ^ lo) & 0x100) !== 0) return false;
    // LMA is the processor's: keep the current one (SDM Vol. 3A 9.8.5).
    vmwrite(GUEST_IA32_EFER, 0, ((lo & ~0x400) | (cur & 0x400)) >>> 0);
  } else if (msr === MSR_IA32_PAT) {
    if (!patValid(lo) || !patValid(h)) return false;
    vmwrite(GUEST_IA32_PAT, h, lo);
  } else if (msr === MSR_IA32_MTRR_DEF_TYPE) {
    // bits 7:0 type, 10 FE, 11 E; the rest reserved (SDM Vol. 3A 11.11.2.1)
    const type = lo & 0xff;
    if (h !== 0 || (lo & ~0xcff) !== 0 || type === 2 || type === 3 || type > 6) return false;
    vcpu.mtrrDefType = lo >>> 0;
  } else if (fixed >= 0) {
    vcpu.mtrrFixed[fixed * 2] = h >>> 0;
    vcpu.mtrrFixed[fixed * 2 + 1] = lo >>> 0;
  } else if (msr === MSR_IA32_TSC || msr === MSR_IA32_MISC_ENABLE) {
    // accepted and ignored (no TSC offsetting yet)
  } else {
    return false;
  }
  return true;
}

export function rdmsrExit(vcpu: Vcpu, exit: ExitInfo): void {
  if (!readMsr(vcpu, vcpu.gprLo(RCX))) {
    queueException(vcpu, VECTOR_GP, 0);
    return;
  }
  vcpu.advanceRip(exit.ripHi, exit.ripLo, exit.instLen);
}

export function wrmsrExit(vcpu: Vcpu, exit: ExitInfo): void {
  const msr = vcpu.gprLo(RCX);
  const lo = vcpu.gprLo(RAX);
  const h = vcpu.gprLo(RDX);
  if (!writeMsr(vcpu, msr, h, lo)) {
    queueException(vcpu, VECTOR_GP, 0);
    return;
  }
  vcpu.advanceRip(exit.ripHi, exit.ripLo, exit.instLen);
}
