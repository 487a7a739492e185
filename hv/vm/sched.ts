// A round-robin vCPU scheduler per pCPU (ACRN's sched_iorr idea). The run
// queue holds the runnable vCPUs; a halted or stopped vCPU leaves it and a
// woken one joins at the tail. Time slices come from the VMX preemption timer
// (vcpu-run.ts); each timer exit makes the running vCPU yield.
import { pageFree, vmclear } from '../../arch/x86/intrinsics';
import { VCPU_HALTED, VCPU_RUNNABLE, VCPU_STOPPED, VCPU_WAIT_IO, type Vcpu } from './vcpu';

export const RUNQ_CAPACITY = 32;

/** Told when a vCPU of this pCPU becomes runnable, so another pCPU can kick it (hv/pcpu.ts). */
export interface RemoteWaker {
  wakeRemote(pcpu: number): void;
}

export class Scheduler {
  readonly pcpu: number;
  readonly queue: (Vcpu | null)[] = [];
  count = 0;
  /** Index in `queue` of the vCPU to run next. */
  cursor = 0;
  /** Every vCPU ever placed on this pCPU (for timers and lists). */
  readonly assigned: (Vcpu | null)[] = [];
  assignedCount = 0;
  /** VMCS currently loaded on this pCPU (VMPTRLD), 0 if none. */
  loadedVmcs = 0;
  switches = 0;
  /** The running vCPU's slice ended (preemption-timer exit): pick the next one. */
  yieldRequested = false;
  /** Set for SMP: a wake may come from another pCPU, which must then kick this one. */
  waker: RemoteWaker | null = null;
  /**
   * VMCS pages of destroyed vCPUs that may still be active on this pCPU
   * (their VM was shut down from another one): this pCPU VMCLEARs and frees
   * them (reclaim) at the top of its loop. SDM Vol. 3C 25.11.1: a VMCS
   * region must not be reused before VMCLEAR on the processor it is active
   * on, which may write its cached state back at any time.
   */
  readonly retired = new Float64Array(RUNQ_CAPACITY);
  retiredCount = 0;

  constructor(pcpu: number) {
    this.pcpu = pcpu;
    for (let i = 0; i < RUNQ_CAPACITY; i++) {
      this.queue.push(null);
      this.assigned.push(null);
    }
  }

  /** Place a vCPU on this pCPU (VM creation). False when full. */
  assign(vcpu: Vcpu): boolean {
    for (let i = 0; i < this.assignedCount; i++) if (this.assigned[i] === vcpu) return true;
    const n = this.assignedCount;
    if (n === RUNQ_CAPACITY) return false;
    this.assigned[n] = vcpu;
    this.assignedCount = n + 1;
    vcpu.pcpu = this.pcpu;
    vcpu.vm.ept.cpuMask |= 1 << this.pcpu; // its EPT changes are flushed here too (ept.ts)
    return true;
  }

  unassign(vcpu: Vcpu): void {
    this.remove(vcpu);
    const n = this.assignedCount;
    for (let i = 0; i < n; i++) {
      if (this.assigned[i] === vcpu) {
        this.assigned[i] = this.assigned[n - 1];
        this.assigned[n - 1] = null;
        this.assignedCount = n - 1;
        return;
      }
    }
  }

  private indexOf(vcpu: Vcpu): number {
    for (let i = 0; i < this.count; i++) if (this.queue[i] === vcpu) return i;
    return -1;
  }

  /** Make runnable: join the run queue at the tail. */
  wake(vcpu: Vcpu): void {
    vcpu.state = VCPU_RUNNABLE;
    if (this.indexOf(vcpu) >= 0) return;
    const n = this.count;
    if (n === RUNQ_CAPACITY) return; // cannot happen: at most `assigned` vCPUs
    this.queue[n] = vcpu;
    this.count = n + 1;
    if (this.waker !== null) this.waker.wakeRemote(this.pcpu);
  }

  remove(vcpu: Vcpu): void {
    const at = this.indexOf(vcpu);
    if (at < 0) return;
    const n = this.count;
    for (let i = at; i < n - 1; i++) this.queue[i] = this.queue[i + 1];
    this.queue[n - 1] = null;
    this.count = n - 1;
    if (this.cursor > at) this.cursor--;
    if (this.cursor >= this.count) this.cursor = 0;
  }

  /** HLT with nothing pending: leave the queue until woken. */
  halt(vcpu: Vcpu): void {
    this.remove(vcpu);
    vcpu.state = VCPU_HALTED;
  }

  /** Hand over a VMCS page active here (see `retired`) and kick this pCPU. False when full: the caller clears and frees it. */
  retire(vmcsPa: number): boolean {
    const n = this.retiredCount;
    if (n === RUNQ_CAPACITY) return false;
    this.retired[n] = vmcsPa;
    this.retiredCount = n + 1;
    if (this.loadedVmcs === vmcsPa) this.loadedVmcs = 0;
    this.kick();
    return true;
  }

  /** On this pCPU: VMCLEAR and free the retired VMCS pages. */
  reclaim(): void {
    for (let i = 0; i < this.retiredCount; i++) {
      const pa = this.retired[i];
      vmclear(pa);
      pageFree(pa);
      this.retired[i] = 0;
    }
    this.retiredCount = 0;
  }

  /** Make this pCPU leave guest mode soon (an IPI) when it is another one: a vCPU running there has a new interrupt. */
  kick(): void {
    if (this.waker !== null) this.waker.wakeRemote(this.pcpu);
  }

  /** Its I/O request went to the device model: off the queue, not woken by interrupts (ioreq.ts). */
  waitForIo(vcpu: Vcpu): void {
    this.remove(vcpu);
    vcpu.state = VCPU_WAIT_IO;
  }

  /**
   * The device model finished its request: runnable again, unless its VM was
   * paused meanwhile (VCPU_STOPPED). The pCPU reschedules at its next turn
   * (ACRN wake_thread's reschedule request), so that a DM sharing the pCPU
   * does not keep it for the rest of its slice while the vCPU waits.
   */
  ioDone(vcpu: Vcpu): void {
    if (vcpu.state !== VCPU_WAIT_IO) return;
    this.wake(vcpu);
    this.yieldRequested = true;
  }

  stop(vcpu: Vcpu): void {
    this.remove(vcpu);
    vcpu.state = VCPU_STOPPED;
  }

  /** The next vCPU in round-robin order, or null when none is runnable. */
  pick(): Vcpu | null {
    if (this.count === 0) return null;
    if (this.cursor >= this.count) this.cursor = 0;
    const at = this.cursor;
    this.cursor = at + 1;
    return this.queue[at];
  }
}
