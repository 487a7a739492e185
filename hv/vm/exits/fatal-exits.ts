// Exits after which the guest cannot go on: that VM stops with a report
// (a triple fault is a reset: vm-power.ts).
import type { ExitInfo } from '../../../arch/x86/vmexit-info';
import { LOG_ERROR, log } from '../../log';
import { TWO_POW_32 } from '../../u64';
import type { Vcpu } from '../vcpu';
import { stopVm } from '../vm-stop';
import { tripleFaultReset } from '../vm-power';

/**
 * Triple fault (SDM Vol. 3C 27.2: the guest entered shutdown): a reset of the
 * VM (vm-power.ts, ACRN triple_fault_shutdown_vm); a test VM stops with a
 * report instead, so that tests can read it.
 */
export function tripleFaultExit(vcpu: Vcpu, exit: ExitInfo): void {
  if (vcpu.vm.testVm) stopVm(vcpu, 'triple fault', exit);
  else tripleFaultReset(vcpu, exit.ripHi, exit.ripLo);
}

/** VM-entry failure because of guest state, MSR loading or a machine check (SDM 27.8). */
export function entryFailureExit(vcpu: Vcpu, exit: ExitInfo): void {
  stopVm(vcpu, 'VM entry failed (invalid guest state, MSR loading or machine check)', exit);
}

/** EPT misconfiguration: the hypervisor built a bad entry (SDM 29.3.3.1). */
export function eptMisconfigExit(vcpu: Vcpu, exit: ExitInfo): void {
  stopVm(vcpu, 'EPT misconfiguration (hypervisor bug)', exit);
  reportGpa(exit);
}

/** Every reason the table does not handle. */
export function unhandledExit(vcpu: Vcpu, exit: ExitInfo): void {
  stopVm(vcpu, 'unhandled VM exit', exit);
}

/** The EPT exit's guest-physical address and access kinds, under a stop report. */
export function reportGpa(exit: ExitInfo): void {
  const e = exit.ept;
  log.begin(LOG_ERROR);
  log.str('  guest-physical address ');
  const h = Math.floor(e.gpa / TWO_POW_32);
  log.hex64(h, e.gpa - h * TWO_POW_32);
  log.str(e.read ? ' read' : '');
  log.str(e.write ? ' write' : '');
  log.str(e.fetch ? ' fetch' : '');
  log.end();
}
