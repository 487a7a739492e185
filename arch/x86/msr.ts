// Model-specific register numbers (Intel SDM Vol. 4, "Model-Specific Registers")
// and 64-bit reads as hi/lo halves.
import { hi, rdmsr } from './intrinsics';

export const IA32_FEATURE_CONTROL = 0x3a;
export const IA32_VMX_BASIC = 0x480;
export const IA32_VMX_PINBASED_CTLS = 0x481;
export const IA32_VMX_PROCBASED_CTLS = 0x482;
export const IA32_VMX_EXIT_CTLS = 0x483;
export const IA32_VMX_ENTRY_CTLS = 0x484;
export const IA32_VMX_MISC = 0x485;
export const IA32_VMX_CR0_FIXED0 = 0x486;
export const IA32_VMX_CR0_FIXED1 = 0x487;
export const IA32_VMX_CR4_FIXED0 = 0x488;
export const IA32_VMX_CR4_FIXED1 = 0x489;
export const IA32_VMX_VMCS_ENUM = 0x48a;
export const IA32_VMX_PROCBASED_CTLS2 = 0x48b;
export const IA32_VMX_EPT_VPID_CAP = 0x48c;
export const IA32_VMX_TRUE_PINBASED_CTLS = 0x48d;
export const IA32_VMX_TRUE_PROCBASED_CTLS = 0x48e;
export const IA32_VMX_TRUE_EXIT_CTLS = 0x48f;
export const IA32_VMX_TRUE_ENTRY_CTLS = 0x490;
export const IA32_VMX_VMFUNC = 0x491;
export const IA32_EFER = 0xc0000080;

/** IA32_FEATURE_CONTROL bits (SDM Vol. 3C 24.7 "Enabling and Entering VMX Operation"). */
export const FEATURE_CONTROL_LOCK = 1 << 0;
export const FEATURE_CONTROL_VMX_IN_SMX = 1 << 1;
export const FEATURE_CONTROL_VMX_OUTSIDE_SMX = 1 << 2;

/**
 * Read an MSR into out[slot] (high half) and out[slot + 1] (low half).
 * @pre the MSR exists on this CPU (a missing one faults with #GP).
 */
export function readMsr64(msr: number, out: Uint32Array, slot: number): void {
  const lo = rdmsr(msr);
  out[slot] = hi() >>> 0;
  out[slot + 1] = lo >>> 0;
}
