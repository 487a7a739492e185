// The per-pCPU run loop: pick a runnable vCPU (round robin), load its VMCS,
// inject what is pending, arm the VMX-preemption timer for one slice, enter
// the guest, then decode the exit once and dispatch it. Between slices and
// while idle the loop fires due vCPU timers and polls the hypervisor shell.
import { rdtsc, vcpuRun, vmptrld, vmread, vmwrite } from '../../arch/x86/intrinsics';
import { VM_INSTRUCTION_ERROR, VMX_PREEMPTION_TIMER_VALUE } from '../../arch/x86/vmcs';
import { ExitInfo } from '../../arch/x86/vmexit-info';
import { LOG_ERROR, log } from '../log';
import type { Scheduler } from './sched';
import { VCPU_HALTED, VCPU_RUNNABLE, type Vcpu } from './vcpu';
import { dispatchExit } from './vmexit';
import { injectPending, noteInterruptedEvent, requestIrq } from './virq';
import { stopVm } from './vm-stop';

/** Something the loop polls between slices (the shell); true = stop the loop. */
export interface LoopPoller {
  poll(): boolean;
}

/** TSC ticks in one scheduling slice (about 10 ms at 1 GHz). */
export const SLICE_TSC = 10000000;
/** Exits between two polls of the shell while vCPUs run. */
const POLL_EVERY_EXITS = 64;

export class PcpuLoop {
  readonly sched: Scheduler;
  readonly exit = new ExitInfo();
  /** Preemption-timer ticks per slice (TSC >> IA32_VMX_MISC[4:0]). */
  sliceTicks = 0;
  exits = 0;
  entryFailures = 0;

  constructor(sched: Scheduler, preemptionShift: number) {
    this.sched = sched;
    this.sliceTicks = Math.floor(SLICE_TSC / Math.pow(2, preemptionShift));
  }

  /** Deliver the delayed interrupts whose deadline passed (test control port). */
  fireTimers(): void {
    const s = this.sched;
    let now = -1;
    for (let i = 0; i < s.assignedCount; i++) {
      const v = s.assigned[i] as Vcpu;
      if (v.timerDeadline === 0) continue;
      if (now < 0) now = rdtsc();
      if (now >= v.timerDeadline) {
        v.timerDeadline = 0;
        requestIrq(v, v.timerVector);
      }
    }
  }

  /**
   * Enter one vCPU and handle the exit that ends the run. A new slice arms
   * the VMX-preemption timer; otherwise the timer goes on counting from the
   * value the last exit saved (exit control "save VMX-preemption timer value").
   */
  runOnce(v: Vcpu, newSlice: boolean): void {
    const s = this.sched;
    if (s.loadedVmcs !== v.vmcsPa) {
      vmptrld(v.vmcsPa);
      s.loadedVmcs = v.vmcsPa;
      s.switches++;
    }
    injectPending(v);
    if (newSlice) vmwrite(VMX_PREEMPTION_TIMER_VALUE, 0, this.sliceTicks);
    const rc = vcpuRun(v.ctxPa, v.launched ? 0 : 1);
    if (rc !== 0) {
      // VMLAUNCH/VMRESUME itself failed (SDM Vol. 3C 31.4 "VM Instruction Error Numbers").
      this.entryFailures++;
      stopVm(v, v.launched ? 'VMRESUME failed' : 'VMLAUNCH failed', null);
      log.begin(LOG_ERROR);
      log.str('  VM-instruction error ');
      log.dec(rc === 2 ? vmread(VM_INSTRUCTION_ERROR) : 0);
      log.str(rc === 2 ? '' : ' (VMfailInvalid: no current VMCS)');
      log.end();
      return;
    }
    v.launched = true;
    this.exits++;
    const exit = this.exit;
    exit.decode();
    v.lastRipLo = exit.ripLo;
    v.lastRipHi = exit.ripHi;
    dispatchExit(v, exit);
    noteInterruptedEvent(v, exit);
  }

  /**
   * Schedule until the poller asks to stop. Idle when nothing is runnable:
   * timers and the poller keep running.
   */
  run(poller: LoopPoller): void {
    const s = this.sched;
    let sincePoll = 0;
    let current: Vcpu | null = null;
    for (;;) {
      this.fireTimers();
      let newSlice = false;
      if (current === null || current.state !== VCPU_RUNNABLE || s.yieldRequested) {
        s.yieldRequested = false;
        current = s.pick();
        newSlice = true;
      }
      if (current === null) {
        if (poller.poll()) return;
        continue;
      }
      this.runOnce(current, newSlice);
      sincePoll++;
      if (sincePoll >= POLL_EVERY_EXITS || current.state === VCPU_HALTED) {
        sincePoll = 0;
        if (poller.poll()) return;
      }
    }
  }
}
