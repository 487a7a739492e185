// pCPU bring-up in TypeScript (hv/pcpu.ts, hv/smp.ts): the per-pCPU table,
// placement of test VMs with pcpu=<n>, kicks on a wake from another pCPU, the
// VMCS hand-off from the boot CPU to an AP, the AP entry, and the idle path
// of the run loop.
import { describe, expect, it } from 'vitest';
import { attachSimMachine } from '../../arch/x86/intrinsics';
import { SimMachine } from '../../arch/x86/sim-machine';
import { HV_MAX_CPUS, PcpuTable } from '../../hv/pcpu';
import { bringUpCpus, handOffVcpus, hvApEntry, PCPU_RUNNING, stopCpus, tscTicks, waitForCpus } from '../../hv/smp';
import { launchTestVms } from '../../hv/vm/test-vms';
import { VCPU_HALTED } from '../../hv/vm/vcpu';
import type { LoopPoller } from '../../hv/vm/vcpu-run';
import { makeEnv } from './vm-fixture';

const MODULE_PA = 0x08000000;
const HLT_IMAGE = new Uint8Array([0xf4]);

function twoCpus(m: SimMachine): void {
  m.cpuApicIds = [0, 2];
  m.cpusThatStart = [1];
}

/** The environment of vm-fixture with a PcpuTable of the machine's CPUs. */
function smpEnv(edit?: (m: SimMachine) => void) {
  const env = makeEnv(edit);
  const pcpus = new PcpuTable(env.m.cpuApicIds.length, env.platform.preemptionShift);
  env.vms.pcpus = pcpus;
  for (const vm of env.vms.vms) vm.scheduler = pcpus.scheds[0];
  return { ...env, pcpus };
}

describe('PcpuTable', () => {
  it('builds one scheduler, loop and VMX root per enumerated pCPU, capped at HV_MAX_CPUS', () => {
    attachSimMachine(new SimMachine());
    const t = new PcpuTable(12, 0);
    expect(t.count).toBe(HV_MAX_CPUS);
    expect(t.scheds.map((s) => s.pcpu)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(t.loops[3].sched).toBe(t.scheds[3]);
    expect(t.scheds[5].waker).toBe(t.waker);
    expect(new PcpuTable(0, 0).count).toBe(1);
  });

  it('only the boot CPU is online until startCpus reports the others', () => {
    const m = new SimMachine();
    m.cpuApicIds = [0, 1, 2];
    m.cpusThatStart = [2];
    attachSimMachine(m);
    const t = new PcpuTable(3, 0);
    expect([t.isOnline(0), t.isOnline(1), t.isOnline(2)]).toEqual([true, false, false]);
    expect(bringUpCpus(t, null, null)).toBe(2);
    expect([t.isOnline(0), t.isOnline(1), t.isOnline(2), t.isOnline(3), t.isOnline(-1)]).toEqual([true, false, true, false, false]);
    expect(t.schedulerOf(1)).toBeNull();
    expect(t.schedulerOf(2)).toBe(t.scheds[2]);
  });

  it('tscTicks converts microseconds at the calibrated frequency, 1 GHz when unknown', () => {
    expect(tscTicks(2000, 50000)).toBe(100000);
    expect(tscTicks(1000, 0)).toBe(1000000);
  });
});

describe('placement with pcpu=<n>', () => {
  it('puts a VM on an online pCPU, defaults to pCPU 0 and refuses one that is not online', () => {
    const env = smpEnv(twoCpus);
    bringUpCpus(env.pcpus, env.caps, env.platform);
    env.m.addModule(MODULE_PA, HLT_IMAGE, 'guest=long64 name=zero');
    env.m.addModule(MODULE_PA + 0x1000, HLT_IMAGE, 'guest=long64 name=one pcpu=1');
    env.m.addModule(MODULE_PA + 0x2000, HLT_IMAGE, 'guest=long64 name=nowhere pcpu=3');
    env.m.addModule(MODULE_PA + 0x3000, HLT_IMAGE, 'guest=long64 name=junk pcpu=x');
    const out: number[] = [];
    env.m.serialSink = (c) => out.push(c);
    expect(launchTestVms(env.vms)).toBe(2);
    const text = String.fromCharCode(...out);
    expect(text).toContain('module 2: pcpu=3 is not an online pCPU (2 enumerated); VM not created');
    expect(text).toContain('module 3: pcpu=x is not an online pCPU');
    expect(text).toContain('vm1 (one): long64 test VM started on pCPU 1');
    const [zero, one] = env.vms.vms;
    expect(zero.scheduler).toBe(env.pcpus.scheds[0]);
    expect(one.scheduler).toBe(env.pcpus.scheds[1]);
    expect(one.vcpus[0].pcpu).toBe(1);
    expect(env.pcpus.scheds[1].queue[0]).toBe(one.vcpus[0]);
    // The wake of vm1's vCPU came from pCPU 0: pCPU 1 was kicked.
    expect(env.m.kicks).toEqual([1]);
  });

  it('without a pCPU table only pcpu=0 is accepted', () => {
    const env = makeEnv();
    env.m.addModule(MODULE_PA, HLT_IMAGE, 'guest=long64 name=a pcpu=0');
    env.m.addModule(MODULE_PA + 0x1000, HLT_IMAGE, 'guest=long64 name=b pcpu=1');
    expect(launchTestVms(env.vms)).toBe(1);
  });
});

describe('kicks', () => {
  it('a wake on the own pCPU does not kick; one from another pCPU does, once per join', () => {
    const env = smpEnv(twoCpus);
    bringUpCpus(env.pcpus, env.caps, env.platform);
    env.m.addModule(MODULE_PA, HLT_IMAGE, 'guest=long64 name=one pcpu=1');
    env.m.addModule(MODULE_PA + 0x1000, HLT_IMAGE, 'guest=long64 name=zero');
    launchTestVms(env.vms);
    expect(env.m.kicks).toEqual([1]);
    const v1 = env.vms.vms[0].vcpus[0];
    env.pcpus.scheds[1].wake(v1); // already queued
    expect(env.m.kicks).toEqual([1]);
    env.pcpus.scheds[1].halt(v1);
    expect(v1.state).toBe(VCPU_HALTED);
    env.m.currentCpu = 1; // now the wake happens on pCPU 1 itself
    env.pcpus.scheds[1].wake(v1);
    expect(env.m.kicks).toEqual([1]);
    expect(env.pcpus.waker.kicks).toBe(1);
  });
});

describe('hand-off and AP entry', () => {
  it('VMCLEARs on the boot CPU the VMCS of vCPUs placed elsewhere; the AP enters VMX, reloads them and runs its loop', () => {
    const env = smpEnv(twoCpus);
    bringUpCpus(env.pcpus, env.caps, env.platform);
    env.m.addModule(MODULE_PA, HLT_IMAGE, 'guest=long64 name=zero');
    env.m.addModule(MODULE_PA + 0x1000, HLT_IMAGE, 'guest=long64 name=one pcpu=1');
    launchTestVms(env.vms);
    const v1 = env.vms.vms[1].vcpus[0];
    handOffVcpus(env.pcpus);
    expect(env.m.currentVmcs === v1.vmcsPa).toBe(false);
    expect(env.pcpus.scheds.map((s) => s.loadedVmcs)).toEqual([0, 0]);
    // The AP: its own VMXON region, v1's VMCS current with host state written there.
    env.m.currentCpu = 1;
    env.m.vmxonRegion = 0; // a second CPU is not in VMX operation yet
    let entries = 0;
    env.m.guest = (_m, ctxPa) => {
      entries++;
      expect(ctxPa).toBe(v1.ctxPa);
      stopCpus(); // after the first exit, the AP's poller stops its loop
      env.m.vmcs.set(0x4402, [0, 12]); // HLT exit
      env.m.vmcs.set(0x440c, [0, 1]);
    };
    const out: number[] = [];
    env.m.serialSink = (c) => out.push(c);
    hvApEntry(1);
    expect(String.fromCharCode(...out)).toContain('VMX root operation on CPU 1 (APIC ID 2)');
    expect(env.pcpus.state[1]).toBe(PCPU_RUNNING);
    expect(env.pcpus.roots[1].isOn()).toBe(true);
    expect(entries).toBeGreaterThanOrEqual(1); // the poller is asked after a HLT or 64 exits
    expect(env.pcpus.loops[1].exits).toBe(entries);
    expect(env.pcpus.loops[0].exits).toBe(0);
  });

  it('hvApEntry does nothing for the boot CPU, an unknown CPU or when VMX is not usable', () => {
    const env = smpEnv(twoCpus);
    bringUpCpus(env.pcpus, null, null);
    env.m.currentCpu = 1;
    hvApEntry(1);
    expect(env.pcpus.state[1]).toBe(1);
    hvApEntry(0);
    hvApEntry(7);
  });

  it('waitForCpus idles until every AP that came up runs its loop, bounded', () => {
    const env = smpEnv(twoCpus);
    bringUpCpus(env.pcpus, env.caps, env.platform);
    expect(waitForCpus(env.pcpus, 50000, 5)).toBe(1);
    expect(env.m.idleCalls.length).toBe(5);
    env.pcpus.state[1] = PCPU_RUNNING;
    env.m.idleCalls.length = 0;
    expect(waitForCpus(env.pcpus, 50000, 5)).toBe(2);
    expect(env.m.idleCalls.length).toBe(0);
  });
});

describe('the run loop idles with nothing runnable', () => {
  it('calls cpuIdle with now + idleTsc, or the next vCPU timer deadline when earlier', () => {
    const env = smpEnv();
    const loop = env.pcpus.loops[0];
    loop.idleTsc = 100000;
    let polls = 0;
    const poller: LoopPoller = { poll: () => ++polls > 3 };
    env.m.tsc = 1000;
    loop.run(poller);
    expect(env.m.idleCalls.length).toBe(3);
    expect(env.m.idleCalls[0]).toBeGreaterThanOrEqual(101000);
    expect(env.m.idleCalls[0]).toBeLessThan(102000 + 10 * env.m.tscStep);
  });

  it('spins without idling when idleTsc is 0 (the default)', () => {
    const env = smpEnv();
    let polls = 0;
    env.pcpus.loops[0].run({ poll: () => ++polls > 3 });
    expect(env.m.idleCalls.length).toBe(0);
  });
});

describe('EPT flush across pCPUs', () => {
  it('a change to an EPT whose vCPUs run on another pCPU is flushed there too; a pCPU that never answers is reported', () => {
    const env = smpEnv(twoCpus);
    bringUpCpus(env.pcpus, env.caps, env.platform);
    env.m.addModule(MODULE_PA, HLT_IMAGE, 'guest=long64 name=one pcpu=1');
    env.m.addModule(MODULE_PA + 0x1000, HLT_IMAGE, 'guest=long64 name=zero');
    launchTestVms(env.vms);
    const [one, zero] = env.vms.vms;
    expect(one.ept.cpuMask).toBe(2);
    expect(zero.ept.cpuMask).toBe(1);
    env.m.eptFlushes.length = 0;
    expect(one.ept.map(0x800000, one.ramHpa, 0x1000, 7, 6)).toBe(0);
    expect(env.m.eptFlushes.length).toBe(1);
    expect(env.m.eptFlushes[0][0]).toBe(2);
    expect(one.ept.remoteMissed).toBe(0);
    expect(zero.ept.map(0x800000, zero.ramHpa, 0x1000, 7, 6)).toBe(0);
    expect(env.m.eptFlushes.length).toBe(1); // only pCPU 0 (this one) runs it: a local INVEPT
    env.m.eptFlushDeaf = 2;
    expect(one.ept.map(0x801000, one.ramHpa, 0x1000, 7, 6)).toBe(0);
    expect(one.ept.remoteMissed).toBe(2);
    expect(one.ept.remoteMissCount).toBe(1);
  });
});
