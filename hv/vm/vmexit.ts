// VM-exit dispatch (ACRN's vmexit.c): a const table indexed by the basic exit
// reason, every slot filled explicitly, with per-entry flags; every reason has
// a counter per VM. A reason nothing handles stops that VM with a report.
// Exit reasons: SDM Vol. 3D Appendix C.
import * as R from '../../arch/x86/vmcs';
import type { ExitInfo } from '../../arch/x86/vmexit-info';
import { cpuidExit } from './exits/cpuid-exit';
import { crAccessExit } from './exits/cr-exit';
import { entryFailureExit, eptMisconfigExit, tripleFaultExit, unhandledExit } from './exits/fatal-exits';
import { eptViolationExit } from './mmio-emul';
import { ioExit } from './exits/io-exit';
import {
  cacheExit, exceptionOrNmiExit, externalInterruptExit, hltExit, interruptWindowExit, nmiWindowExit,
  preemptionTimerExit, undefinedOpcodeExit, vmcallExit, xsetbvExit,
} from './exits/misc-exits';
import { rdmsrExit, wrmsrExit } from './exits/msr-exit';
import type { Vcpu } from './vcpu';

export type ExitHandler = (vcpu: Vcpu, exit: ExitInfo) => void;

/** Entry flags. */
export const EXIT_HANDLED = 1;

function table(): ExitHandler[] {
  const t: ExitHandler[] = [];
  for (let i = 0; i < R.EXIT_REASON_COUNT; i++) t.push(unhandledExit);
  return t;
}

/** Handlers by exit reason; slots not set below stay unhandledExit. */
export const EXIT_HANDLERS: ExitHandler[] = table();
export const EXIT_FLAGS = new Uint8Array(R.EXIT_REASON_COUNT);

function set(reason: number, handler: ExitHandler): void {
  EXIT_HANDLERS[reason] = handler;
  EXIT_FLAGS[reason] = EXIT_HANDLED;
}

set(R.EXIT_REASON_EXCEPTION_NMI, exceptionOrNmiExit);
set(R.EXIT_REASON_EXTERNAL_INTERRUPT, externalInterruptExit);
set(R.EXIT_REASON_TRIPLE_FAULT, tripleFaultExit);
set(R.EXIT_REASON_INTERRUPT_WINDOW, interruptWindowExit);
set(R.EXIT_REASON_NMI_WINDOW, nmiWindowExit);
set(R.EXIT_REASON_CPUID, cpuidExit);
set(R.EXIT_REASON_HLT, hltExit);
set(R.EXIT_REASON_INVD, cacheExit);
set(R.EXIT_REASON_VMCALL, vmcallExit);
set(R.EXIT_REASON_VMCLEAR, undefinedOpcodeExit);
set(R.EXIT_REASON_VMLAUNCH, undefinedOpcodeExit);
set(R.EXIT_REASON_VMPTRLD, undefinedOpcodeExit);
set(R.EXIT_REASON_VMPTRST, undefinedOpcodeExit);
set(R.EXIT_REASON_VMREAD, undefinedOpcodeExit);
set(R.EXIT_REASON_VMRESUME, undefinedOpcodeExit);
set(R.EXIT_REASON_VMWRITE, undefinedOpcodeExit);
set(R.EXIT_REASON_VMXOFF, undefinedOpcodeExit);
set(R.EXIT_REASON_VMXON, undefinedOpcodeExit);
set(R.EXIT_REASON_INVEPT, undefinedOpcodeExit);
set(R.EXIT_REASON_INVVPID, undefinedOpcodeExit);
set(R.EXIT_REASON_VMFUNC, undefinedOpcodeExit);
set(R.EXIT_REASON_MWAIT, undefinedOpcodeExit);
set(R.EXIT_REASON_MONITOR, undefinedOpcodeExit);
set(R.EXIT_REASON_CR_ACCESS, crAccessExit);
set(R.EXIT_REASON_IO_INSTRUCTION, ioExit);
set(R.EXIT_REASON_RDMSR, rdmsrExit);
set(R.EXIT_REASON_WRMSR, wrmsrExit);
set(R.EXIT_REASON_ENTRY_FAILURE_GUEST_STATE, entryFailureExit);
set(R.EXIT_REASON_ENTRY_FAILURE_MSR_LOADING, entryFailureExit);
set(R.EXIT_REASON_ENTRY_FAILURE_MACHINE_CHECK, entryFailureExit);
set(R.EXIT_REASON_EPT_VIOLATION, eptViolationExit);
set(R.EXIT_REASON_EPT_MISCONFIG, eptMisconfigExit);
set(R.EXIT_REASON_PREEMPTION_TIMER, preemptionTimerExit);
set(R.EXIT_REASON_WBINVD, cacheExit);
set(R.EXIT_REASON_XSETBV, xsetbvExit);

/** Count and handle one decoded exit. */
export function dispatchExit(vcpu: Vcpu, exit: ExitInfo): void {
  const reason = exit.reason;
  vcpu.exits++;
  if (reason >= R.EXIT_REASON_COUNT) {
    unhandledExit(vcpu, exit);
    return;
  }
  const counts = vcpu.vm.exitCounts;
  counts[reason] = counts[reason] + 1;
  EXIT_HANDLERS[reason](vcpu, exit);
}
