// The per-pCPU run loop: pick a runnable vCPU (round robin), load its VMCS,
// inject what is pending, arm the VMX-preemption timer for one slice, enter
// the guest, then decode the exit once and dispatch it. Between slices and
// while idle the loop fires due vCPU timers and polls the hypervisor shell.
import { cpuIdle, rdtsc, vcpuRun, vmcsHostSetup, vmptrld, vmread, vmwrite } from '../../arch/x86/intrinsics';
import { VM_INSTRUCTION_ERROR, VMX_PREEMPTION_TIMER_VALUE } from '../../arch/x86/vmcs';
import { ExitInfo } from '../../arch/x86/vmexit-info';
import { LOG_ERROR, log } from '../log';
import type { Scheduler } from './sched';
import { VCPU_HALTED, VCPU_RUNNABLE, type Vcpu } from './vcpu';
import { dispatchExit } from './vmexit';
import { injectPending, noteInterruptedEvent, requestIrq } from './virq';
import { stopVm } from './vm-stop';
import { applyStartupSignals } from './vcpu-lapic';
import { applyColdReset } from './vcpu-reset';
import { POWER_NONE } from './vm';
import { actOnPowerRequest } from './vm-power';
import { hcApplyPendingRegs } from '../dm-hypercall/hc-vcpu-regs';
import { IOREQ_FINISHED } from './ioreq';
import { ioreqComplete } from './ioreq-complete';

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
  /** TSC ticks per preemption-timer tick (2^IA32_VMX_MISC[4:0]). */
  tscPerTick = 1;
  /** TSC when the running vCPU's slice began. */
  sliceStart = 0;
  /** The TSC and the earliest timer deadline (0: none) as fireTimers() last saw them. */
  now = 0;
  earliest = 0;
  exits = 0;
  entryFailures = 0;
  /**
   * With nothing runnable, idle (cpuIdle: TypeScript lock released, HLT) for
   * at most this many TSC ticks, or until the next vCPU timer is due; 0 spins
   * (unit tests). The boot CPU keeps it short: it polls the shell's UART.
   */
  idleTsc = 0;

  constructor(sched: Scheduler, preemptionShift: number) {
    this.sched = sched;
    this.tscPerTick = Math.pow(2, preemptionShift);
    this.sliceTicks = Math.floor(SLICE_TSC / this.tscPerTick);
  }

  /**
   * Fire the timers that are due on this pCPU: each vCPU's LAPIC timer
   * (one-shot, periodic, TSC-deadline; vlapic-timer.ts) and the delayed
   * interrupts of the test control port. An expiry sets the vector in the
   * vLAPIC's IRR, which wakes a halted vCPU (VcpuLapicSink.kick).
   */
  fireTimers(): void {
    const s = this.sched;
    const now = rdtsc();
    let next = 0;
    for (let i = 0; i < s.assignedCount; i++) {
      const v = s.assigned[i] as Vcpu;
      let lapicDue = v.vlapic.timerDeadline();
      if (lapicDue !== 0 && now >= lapicDue) {
        v.vlapic.timerExpire(now);
        lapicDue = v.vlapic.timerDeadline(); // periodic: the next period
      }
      if (lapicDue !== 0 && (next === 0 || lapicDue < next)) next = lapicDue;
      if (v.timerDeadline !== 0 && now >= v.timerDeadline) {
        v.timerDeadline = 0;
        requestIrq(v, v.timerVector);
      }
      if (v.timerDeadline !== 0 && (next === 0 || v.timerDeadline < next)) next = v.timerDeadline;
    }
    // One TSC read and one walk per pass of the loop: armPreemption uses them.
    this.now = now;
    this.earliest = next;
    // The preemption timer counts only in guest mode (SDM Vol. 3C 26.5.1): a
    // vCPU that exits all the time would keep its slice for ever. A slice is
    // SLICE_TSC of wall time, exits included.
    if (now - this.sliceStart >= SLICE_TSC) s.yieldRequested = true;
  }

  /** The earliest timer deadline (TSC) of this pCPU's vCPUs, 0 when none is armed. */
  nextDeadline(): number {
    const s = this.sched;
    let next = 0;
    for (let i = 0; i < s.assignedCount; i++) {
      const v = s.assigned[i] as Vcpu;
      const lapicDue = v.vlapic.timerDeadline();
      if (lapicDue !== 0 && (next === 0 || lapicDue < next)) next = lapicDue;
      if (v.timerDeadline !== 0 && (next === 0 || v.timerDeadline < next)) next = v.timerDeadline;
    }
    return next;
  }

  /**
   * Arm the VMX-preemption timer for this entry: a full slice when the slice
   * is new, else what is left of it, but never past the next timer deadline
   * on this pCPU, so that a guest timer fires on time even while another
   * vCPU runs (the timer exit ends the slice early: the loop then fires it).
   */
  private armPreemption(newSlice: boolean): void {
    const now = this.now;
    if (newSlice) this.sliceStart = now;
    const due = this.earliest;
    if (!newSlice && due === 0) return; // the saved value goes on counting
    let ticks = newSlice ? this.sliceTicks : vmread(VMX_PREEMPTION_TIMER_VALUE);
    if (due !== 0) {
      const left = due > now ? Math.floor((due - now) / this.tscPerTick) : 0;
      if (left < ticks) ticks = left;
    }
    vmwrite(VMX_PREEMPTION_TIMER_VALUE, 0, ticks);
  }

  /**
   * Enter one vCPU and handle the exit that ends the run. A new slice arms
   * the VMX-preemption timer; otherwise the timer goes on counting from the
   * value the last exit saved (exit control "save VMX-preemption timer value").
   */
  runOnce(v: Vcpu, newSlice: boolean): void {
    const s = this.sched;
    if (v.coldResetPending && !applyColdReset(v)) {
      stopVm(v, 'the cold reset could not rewrite the VMCS or reload the images', null);
      return;
    }
    if (s.loadedVmcs !== v.vmcsPa) {
      vmptrld(v.vmcsPa);
      s.loadedVmcs = v.vmcsPa;
      s.switches++;
      // A VMCS set up on another pCPU (CREATE_VM from the Service VM's pCPU)
      // holds that pCPU's host state: VM exits here would come back with its
      // GS base, TR and descriptor tables. Write this pCPU's (as adoptVcpus at boot).
      if (v.hostPcpu !== s.pcpu) {
        vmcsHostSetup();
        v.hostPcpu = s.pcpu;
      }
    }
    // Registers the Service VM set with SET_VCPU_REGS, written with this vCPU's VMCS current.
    if (!hcApplyPendingRegs(v)) {
      stopVm(v, 'writing the registers set by SET_VCPU_REGS failed', null);
      return;
    }
    if (!applyStartupSignals(v)) {
      stopVm(v, 'writing the guest state for a SIPI failed', null);
      return;
    }
    // The device model finished this vCPU's I/O request: its read's value goes in first.
    if (v.ioreq.state === IOREQ_FINISHED) {
      ioreqComplete(v);
      if (v.state !== VCPU_RUNNABLE) return;
    }
    injectPending(v);
    this.armPreemption(newSlice);
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
      if (s.retiredCount > 0) s.reclaim(); // VMCSs of vCPUs destroyed from another pCPU
      this.fireTimers();
      let newSlice = false;
      if (current === null || current.state !== VCPU_RUNNABLE || s.yieldRequested) {
        s.yieldRequested = false;
        current = s.pick();
        newSlice = true;
      }
      if (current === null) {
        if (poller.poll()) return;
        if (this.idleTsc > 0) {
          const due = this.nextDeadline();
          const until = rdtsc() + this.idleTsc;
          cpuIdle(due !== 0 && due < until ? due : until);
        }
        continue;
      }
      this.runOnce(current, newSlice);
      if (current.vm.powerRequest !== POWER_NONE) actOnPowerRequest(current.vm);
      sincePoll++;
      if (sincePoll >= POLL_EVERY_EXITS || current.state === VCPU_HALTED) {
        sincePoll = 0;
        if (poller.poll()) return;
      }
    }
  }
}
