// The physical CPUs: one Scheduler, PcpuLoop and VmxRoot per pCPU the ACPI
// MADT lists (at most HV_MAX_CPUS), all built by the boot CPU at init before
// any AP starts, so nothing is allocated once several pCPUs run TypeScript.
// Index n is pCPU n (0 = the boot CPU); `online` is what startCpus reported.
import { cpuOnline, kickCpu, thisCpu } from '../arch/x86/intrinsics';
import { VmxRoot } from '../arch/x86/vmx';
import { type RemoteWaker, Scheduler } from './vm/sched';
import { PcpuLoop } from './vm/vcpu-run';

/** = HV_MAX_CPUS in arch/x86/native/smp.h. */
export const HV_MAX_CPUS = 8;

/**
 * A Scheduler's wake from another pCPU (e.g. a vCPU on pCPU 1 woken by an
 * interrupt raised on pCPU 0) kicks the target so its idle HLT ends.
 */
export class IpiWaker implements RemoteWaker {
  kicks = 0;

  wakeRemote(pcpu: number): void {
    if (pcpu === thisCpu()) return;
    if (kickCpu(pcpu) !== 0) this.kicks++;
  }
}

export class PcpuTable {
  /** pCPUs enumerated (MADT), capped at HV_MAX_CPUS. */
  readonly count: number;
  readonly scheds: Scheduler[] = [];
  readonly loops: PcpuLoop[] = [];
  readonly roots: VmxRoot[] = [];
  /** 1 once the pCPU is up (startCpus), 2 once it runs its loop in VMX root operation. */
  readonly state = new Uint8Array(HV_MAX_CPUS);
  readonly waker = new IpiWaker();

  constructor(count: number, preemptionShift: number) {
    const n = count < 1 ? 1 : count > HV_MAX_CPUS ? HV_MAX_CPUS : count;
    this.count = n;
    for (let i = 0; i < n; i++) {
      const s = new Scheduler(i);
      s.waker = this.waker;
      this.scheds.push(s);
      this.loops.push(new PcpuLoop(s, preemptionShift));
      this.roots.push(new VmxRoot());
    }
    this.state[0] = 1;
  }

  /** Re-read which pCPUs came up (after startCpus). Returns how many are online. */
  refreshOnline(): number {
    let up = 0;
    for (let i = 0; i < this.count; i++) {
      const on = i === 0 || cpuOnline(i);
      const at = i;
      if (on && this.state[at] === 0) this.state[at] = 1;
      if (on) up++;
    }
    return up;
  }

  isOnline(pcpu: number): boolean {
    return pcpu >= 0 && pcpu < this.count && this.state[pcpu] !== 0;
  }

  /** The scheduler of an online pCPU, or null. */
  schedulerOf(pcpu: number): Scheduler | null {
    return this.isOnline(pcpu) ? this.scheds[pcpu] : null;
  }

  /** VM exits handled on all pCPUs. */
  totalExits(): number {
    let t = 0;
    for (let i = 0; i < this.count; i++) t += this.loops[i].exits;
    return t;
  }
}
