// CPUID exit (SDM Vol. 3C 26.1.2: CPUID always exits): answer from the VM's
// platform CPUID entries (vcpuid.ts).
import { vmread } from '../../../arch/x86/intrinsics';
import { GUEST_CR4 } from '../../../arch/x86/vmcs';
import type { ExitInfo } from '../../../arch/x86/vmexit-info';
import type { Vcpu } from '../vcpu';

const RAX = 0;
const RCX = 1;
const RDX = 2;
const RBX = 3;

export function cpuidExit(vcpu: Vcpu, exit: ExitInfo): void {
  const leaf = vcpu.gprLo(RAX);
  const sub = vcpu.gprLo(RCX);
  const table = vcpu.vm.vcpuid;
  table.lookup(leaf, sub, vcpu.id);
  if (leaf === 1) {
    // CPUID.1:ECX.OSXSAVE[27] mirrors the guest's CR4.OSXSAVE[18] (SDM Vol. 2A CPUID).
    const osxsave = (vmread(GUEST_CR4) >>> 18) & 1;
    table.outEcx = ((table.outEcx & ~(1 << 27)) | (osxsave << 27)) >>> 0;
  }
  // CPUID writes the low 32 bits and clears the high halves (SDM Vol. 2A).
  vcpu.setGpr(RAX, 0, table.outEax);
  vcpu.setGpr(RBX, 0, table.outEbx);
  vcpu.setGpr(RCX, 0, table.outEcx);
  vcpu.setGpr(RDX, 0, table.outEdx);
  vcpu.advanceRip(exit.ripHi, exit.ripLo, exit.instLen);
}
