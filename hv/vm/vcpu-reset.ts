// A vCPU's cold reset (ACRN reset_vcpu(COLD_RESET) + init_vmcs), applied by
// the pCPU that runs the vCPU, before its next entry.
//
// resetVm runs wherever its caller runs (the shell on pCPU 0, a hypercall on
// the Service VM's pCPU) while the vCPU's VMCS may still be current on the
// pCPU it last ran on (SDM Vol. 3C 25.11.1: a VMCS is active on one logical
// processor at a time; VMCLEAR on that processor makes it inactive). So
// resetVm drops the vCPU's events and vLAPIC state at once and leaves
// `coldResetPending`; the run loop calls applyColdReset first thing in
// runOnce, where this pCPU may VMCLEAR, VMPTRLD and rewrite it:
//   - the VMCS from scratch (setupVmcs);
//   - the power-up registers (SDM Vol. 3A Table 9-1): real mode at
//     F000:FFF0, GPRs 0, EDX = the processor signature;
//   - for the BSP of a VM the hypervisor launched (pre-launched VMs and the
//     Service VM), its images and entry state again (ACRN reset_vm calls
//     prepare_os_image for the Service VM; a pre-launched VM that is reset
//     through the shell comes back the same way).
import { cpuid } from '../../arch/x86/intrinsics';
import { setGuestRealModeReset } from './guest-state';
import type { Vcpu } from './vcpu';
import { setupVmcs } from './vmcs-setup';

/** Apply a pending cold reset. False when the VMCS or the images could not be written (the caller stops the VM). */
export function applyColdReset(v: Vcpu): boolean {
  v.coldResetPending = false;
  if (setupVmcs(v) !== 0) return false;
  for (let r = 0; r < 16; r++) v.setGpr(r, 0, 0);
  if (setGuestRealModeReset(v.vm.platform.caps) !== 0) return false;
  v.setGpr(2, 0, cpuid(1, 0) >>> 0);
  const vm = v.vm;
  if (v.id === 0 && vm.imageLoader !== null) return vm.imageLoader.reload(vm, v);
  return true;
}
