// Stopping a VM whose guest did something fatal (triple fault, an access
// outside its memory, a failed VM entry, an exit reason nothing handles):
// that VM stops with a report, the hypervisor and the other VMs go on
// (DESIGN.md: errors by who is at fault).
import { hi, vmread } from '../../arch/x86/intrinsics';
import { EXIT_REASON_NAMES, GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_CS_SELECTOR, GUEST_RFLAGS, GUEST_RSP } from '../../arch/x86/vmcs';
import type { ExitInfo } from '../../arch/x86/vmexit-info';
import { LOG_ERROR, log } from '../log';
import { VCPU_STOPPED, type Vcpu } from './vcpu';
import { VM_PAUSED } from './vm';

function regHex(name: string, field: number): void {
  const lo = vmread(field) >>> 0;
  const h = hi() >>> 0;
  log.str(name);
  log.hex64(h, lo);
}

/** Stop every vCPU of `vcpu`'s VM and print why, with the exit and guest state. */
export function stopVm(vcpu: Vcpu, why: string, exit: ExitInfo | null): void {
  const vm = vcpu.vm;
  if (vm.stopReason === '') vm.stopReason = why;
  for (let i = 0; i < vm.vcpuCount; i++) {
    const v = vm.vcpus[i];
    if (v.state !== VCPU_STOPPED) v.sched.stop(v);
  }
  vm.state = VM_PAUSED;
  log.begin(LOG_ERROR);
  log.str('vm');
  log.dec(vm.vmId);
  log.str(' (');
  log.str(vm.name);
  log.str(') stopped: ');
  log.str(why);
  log.end();
  if (exit === null) return;
  log.begin(LOG_ERROR);
  log.str('  vcpu');
  log.dec(vcpu.id);
  log.str(' exit reason ');
  log.dec(exit.reason);
  log.str(' (');
  log.str(exit.reason < EXIT_REASON_NAMES.length ? EXIT_REASON_NAMES[exit.reason] : 'unknown');
  log.str(exit.entryFailure ? ', VM-entry failure)' : ')');
  log.str(', qualification ');
  log.hex64(exit.qualHi, exit.qualLo);
  log.str(', RIP ');
  log.hex64(exit.ripHi, exit.ripLo);
  log.end();
  log.begin(LOG_ERROR);
  log.str('  guest state:');
  regHex(' CR0 ', GUEST_CR0);
  regHex(' CR3 ', GUEST_CR3);
  regHex(' CR4 ', GUEST_CR4);
  regHex(' RSP ', GUEST_RSP);
  regHex(' RFLAGS ', GUEST_RFLAGS);
  log.str(' CS ');
  log.hex(vmread(GUEST_CS_SELECTOR), 4);
  log.end();
}
