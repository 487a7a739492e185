// VMX capability discovery (Intel SDM Vol. 3D Appendix A, "VMX Capability
// Reporting Facility"). Reads CPUID.1:ECX.VMX, IA32_FEATURE_CONTROL and the
// IA32_VMX_* MSRs once at boot and keeps them as hi/lo halves.
//
// Control MSRs (A.3-A.5): bits 31:0 are the allowed 0-settings (a 1 there means
// the control must be 1), bits 63:32 the allowed 1-settings (a 0 there means it
// must be 0). When IA32_VMX_BASIC[55] is set, the TRUE_* MSRs report the
// default1 controls that may be cleared and are the ones to use (A.2).
import { CpuInfo } from './cpu';
import {
  FEATURE_CONTROL_LOCK, FEATURE_CONTROL_VMX_OUTSIDE_SMX, IA32_FEATURE_CONTROL, IA32_VMX_BASIC,
  IA32_VMX_CR0_FIXED0, IA32_VMX_CR0_FIXED1, IA32_VMX_CR4_FIXED0, IA32_VMX_CR4_FIXED1, IA32_VMX_ENTRY_CTLS,
  IA32_VMX_EPT_VPID_CAP, IA32_VMX_EXIT_CTLS, IA32_VMX_MISC, IA32_VMX_PINBASED_CTLS, IA32_VMX_PROCBASED_CTLS,
  IA32_VMX_PROCBASED_CTLS2, IA32_VMX_TRUE_ENTRY_CTLS, IA32_VMX_TRUE_EXIT_CTLS, IA32_VMX_TRUE_PINBASED_CTLS,
  IA32_VMX_TRUE_PROCBASED_CTLS, IA32_VMX_VMCS_ENUM, readMsr64,
} from './msr';

/** Why VMX cannot be used; VMX_USABLE when it can. */
export const VMX_USABLE = 0;
export const VMX_NOT_INTEL = 1;
export const VMX_NO_CPUID_BIT = 2;
export const VMX_DISABLED_BY_FIRMWARE = 3;

export const VMX_UNUSABLE_REASONS = [
  '',
  'CPUID.1:ECX.VMX[bit 5] is 0 and the CPU is not an Intel CPU (this hypervisor needs Intel VMX)',
  'CPUID.1:ECX.VMX[bit 5] is 0 (no VMX, or it is hidden by the emulator or host)',
  'IA32_FEATURE_CONTROL is locked with VMX outside SMX (bit 2) disabled by the firmware',
];

/** Capability MSR slots; each holds hi at 2*slot and lo at 2*slot+1. */
export const CAP_FEATURE_CONTROL = 0;
export const CAP_BASIC = 1;
export const CAP_PINBASED = 2;
export const CAP_PROCBASED = 3;
export const CAP_EXIT = 4;
export const CAP_ENTRY = 5;
export const CAP_MISC = 6;
export const CAP_CR0_FIXED0 = 7;
export const CAP_CR0_FIXED1 = 8;
export const CAP_CR4_FIXED0 = 9;
export const CAP_CR4_FIXED1 = 10;
export const CAP_VMCS_ENUM = 11;
export const CAP_PROCBASED2 = 12;
export const CAP_EPT_VPID = 13;
const CAP_SLOTS = 14;

/** IA32_VMX_BASIC[55]: the TRUE_* control MSRs exist. */
export const BASIC_HI_TRUE_CTLS = 1 << (55 - 32);
/** Primary processor-based control 31: activate secondary controls. */
export const PROC_ACTIVATE_SECONDARY = 1 << 31;
/** Secondary controls 1 (enable EPT) and 5 (enable VPID). */
export const PROC2_EPT = 1 << 1;
export const PROC2_VPID = 1 << 5;

export class VmxCaps {
  reason = VMX_NO_CPUID_BIT;
  /** hi, lo pairs per CAP_* slot; a slot not read stays 0. */
  readonly msr = new Uint32Array(CAP_SLOTS * 2);
  /** Which CAP_* slots were read (1 bit per slot). */
  present = 0;
  trueControls = false;

  /** Probe VMX; reads only MSRs that CPUID and earlier MSRs say exist. */
  probe(cpu: CpuInfo): number {
    this.present = 0;
    this.msr.fill(0);
    if (!cpu.hasVmx()) return (this.reason = cpu.isGenuineIntel() ? VMX_NO_CPUID_BIT : VMX_NOT_INTEL);
    this.read(CAP_FEATURE_CONTROL, IA32_FEATURE_CONTROL);
    const fc = this.msrLo(CAP_FEATURE_CONTROL);
    if ((fc & FEATURE_CONTROL_LOCK) !== 0 && (fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX) === 0) {
      return (this.reason = VMX_DISABLED_BY_FIRMWARE);
    }
    this.read(CAP_BASIC, IA32_VMX_BASIC);
    this.trueControls = (this.msrHi(CAP_BASIC) & BASIC_HI_TRUE_CTLS) !== 0;
    const t = this.trueControls;
    this.read(CAP_PINBASED, t ? IA32_VMX_TRUE_PINBASED_CTLS : IA32_VMX_PINBASED_CTLS);
    this.read(CAP_PROCBASED, t ? IA32_VMX_TRUE_PROCBASED_CTLS : IA32_VMX_PROCBASED_CTLS);
    this.read(CAP_EXIT, t ? IA32_VMX_TRUE_EXIT_CTLS : IA32_VMX_EXIT_CTLS);
    this.read(CAP_ENTRY, t ? IA32_VMX_TRUE_ENTRY_CTLS : IA32_VMX_ENTRY_CTLS);
    this.read(CAP_MISC, IA32_VMX_MISC);
    this.read(CAP_CR0_FIXED0, IA32_VMX_CR0_FIXED0);
    this.read(CAP_CR0_FIXED1, IA32_VMX_CR0_FIXED1);
    this.read(CAP_CR4_FIXED0, IA32_VMX_CR4_FIXED0);
    this.read(CAP_CR4_FIXED1, IA32_VMX_CR4_FIXED1);
    this.read(CAP_VMCS_ENUM, IA32_VMX_VMCS_ENUM);
    // A.3.3: IA32_VMX_PROCBASED_CTLS2 exists only if secondary controls may be 1.
    if ((this.msrHi(CAP_PROCBASED) & PROC_ACTIVATE_SECONDARY) !== 0) {
      this.read(CAP_PROCBASED2, IA32_VMX_PROCBASED_CTLS2);
      // A.10: IA32_VMX_EPT_VPID_CAP exists if EPT or VPID may be enabled.
      if ((this.msrHi(CAP_PROCBASED2) & (PROC2_EPT | PROC2_VPID)) !== 0) this.read(CAP_EPT_VPID, IA32_VMX_EPT_VPID_CAP);
    }
    return (this.reason = VMX_USABLE);
  }

  has(slot: number): boolean {
    return ((this.present >>> slot) & 1) !== 0;
  }
  msrHi(slot: number): number {
    return this.msr[slot * 2];
  }
  msrLo(slot: number): number {
    return this.msr[slot * 2 + 1];
  }
  /** Allowed 0-settings of a control MSR: bits that must be 1. */
  mustBeOne(slot: number): number {
    return this.msrLo(slot);
  }
  /** Allowed 1-settings of a control MSR: bits that may be 1. */
  mayBeOne(slot: number): number {
    return this.msrHi(slot);
  }
  /** IA32_VMX_BASIC[30:0]: the VMCS revision identifier. */
  vmcsRevision(): number {
    return this.msrLo(CAP_BASIC) & 0x7fffffff;
  }
  /** IA32_VMX_BASIC[44:32]: bytes to allocate for a VMXON region or VMCS. */
  vmcsRegionSize(): number {
    return this.msrHi(CAP_BASIC) & 0x1fff;
  }
  /** IA32_VMX_BASIC[53:50]: memory type for the VMCS (6 = write-back). */
  vmcsMemoryType(): number {
    return (this.msrHi(CAP_BASIC) >>> (50 - 32)) & 0xf;
  }

  private read(slot: number, msr: number): void {
    readMsr64(msr, this.msr, slot * 2);
    this.present |= 1 << slot;
  }
}
