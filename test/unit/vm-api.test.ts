// The VM lifecycle APIs (hv/vm/vm-api.ts) against every state, checked with
// the table of ../shared/ACRN-ABI.md "VM states and API guards" (written
// out below as the expected results), for a standard VM and a real-time VM;
// then 1,000 create/destroy cycles must leave the page pool where it was.
import { describe, expect, it } from 'vitest';
import { poolPages } from '../../arch/x86/intrinsics';
import {
  createVm, pauseVm, powerOffRtVm, resetVm, SEVERITY_RTVM, SEVERITY_STANDARD_VM, shutdownVm, startVm, VmCreateParams,
} from '../../hv/vm/vm-api';
import { VCPU_INIT, VCPU_OFFLINE, VCPU_RUNNABLE, VCPU_STOPPED } from '../../hv/vm/vcpu';
import {
  type AcrnVm, LOAD_ORDER_POST, VM_CREATED, VM_PAUSED, VM_POWERED_OFF, VM_RUNNING,
} from '../../hv/vm/vm';
import { type Env, makeEnv } from './vm-fixture';
import { REALTIME_VECTORS, STANDARD_VECTORS } from '../conformance/data/vm-state-vectors';

const OFF = VM_POWERED_OFF;
const CREATED = VM_CREATED;
const RUNNING = VM_RUNNING;
const PAUSED = VM_PAUSED;

function params(rt = false, vcpus = 2): VmCreateParams {
  const p = new VmCreateParams();
  p.name = rt ? 'rtvm' : 'post1';
  p.loadOrder = LOAD_ORDER_POST;
  p.severity = rt ? SEVERITY_RTVM : SEVERITY_STANDARD_VM;
  p.vcpus = vcpus;
  return p;
}

/** A VM in `state` through the APIs themselves. */
function vmIn(env: Env, state: number, rt = false): AcrnVm {
  const vm = env.vms.freeSlot() as AcrnVm;
  if (state === OFF) return vm;
  expect(createVm(vm, params(rt))).toBe(0);
  if (state === CREATED) return vm;
  if (state === PAUSED) {
    expect(pauseVm(vm)).toBe(0);
    return vm;
  }
  expect(startVm(vm)).toBe(0);
  if (state === RUNNING) return vm;
  expect(powerOffRtVm(vm)).toBe(0); // READY_TO_POWEROFF: real-time VMs only
  return vm;
}

const API_NAMES = ['create', 'start', 'pause', 'reset', 'shutdown', 'poweroff_rt'];
function call(api: number, vm: AcrnVm, rt: boolean): number {
  if (api === 0) return createVm(vm, params(rt));
  if (api === 1) return startVm(vm);
  if (api === 2) return pauseVm(vm);
  if (api === 3) return resetVm(vm);
  if (api === 4) return shutdownVm(vm);
  return powerOffRtVm(vm);
}

describe('VM APIs against every state (ACRN-ABI.md)', () => {
  // The vectors the conformance tier also runs natively (test/conformance/vm-state.ts).
  for (const [api, before, rc, after] of STANDARD_VECTORS) {
    it(`standard VM: ${API_NAMES[api]} in state ${before} returns ${rc} and leaves state ${after}`, () => {
      const env = makeEnv();
      const vm = vmIn(env, before);
      expect(call(api, vm, false)).toBe(rc);
      expect(vm.state).toBe(after);
    });
  }
  for (const [api, before, rc, after] of REALTIME_VECTORS) {
    it(`real-time VM: ${API_NAMES[api]} in state ${before} returns ${rc} and leaves state ${after}`, () => {
      const env = makeEnv();
      const vm = vmIn(env, before, true);
      expect(call(api, vm, true)).toBe(rc);
      expect(vm.state).toBe(after);
    });
  }

  it('a standard VM has no READY_TO_POWEROFF: powerOffRtVm refuses it', () => {
    const env = makeEnv();
    const vm = vmIn(env, RUNNING);
    expect(powerOffRtVm(vm)).toBe(-1);
    expect(vm.state).toBe(RUNNING);
  });
});

describe('what the transitions do to the vCPUs', () => {
  it('create: vCPUs allocated and waiting; start: the BSP runnable, the AP waits for SIPI; pause: all stopped', () => {
    const env = makeEnv();
    const vm = env.vms.freeSlot() as AcrnVm;
    expect(createVm(vm, params(false, 2))).toBe(0);
    expect([vm.vcpus[0].state, vm.vcpus[1].state]).toEqual([VCPU_INIT, VCPU_INIT]);
    expect(vm.vcpus[1].waitingForSipi).toBe(true);
    expect(startVm(vm)).toBe(0);
    expect([vm.vcpus[0].state, vm.vcpus[1].state]).toEqual([VCPU_RUNNABLE, VCPU_INIT]);
    expect(env.sched.count).toBe(1);
    expect(pauseVm(vm)).toBe(0);
    expect([vm.vcpus[0].state, vm.vcpus[1].state]).toEqual([VCPU_STOPPED, VCPU_STOPPED]);
    expect(env.sched.count).toBe(0);
  });

  it('reset: vCPUs back to power-up (pending events and vLAPIC state dropped), devices reset; start runs the BSP again', () => {
    const env = makeEnv();
    const vm = vmIn(env, RUNNING);
    vm.vcpus[0].pendingNmi = 3;
    vm.vcpus[0].vlapic.tpr = 0x50;
    expect(pauseVm(vm)).toBe(0);
    expect(resetVm(vm)).toBe(0);
    expect(vm.vcpus[0].pendingNmi).toBe(0);
    expect(vm.vcpus[0].vlapic.tpr).toBe(0);
    expect(vm.vcpus[0].launched).toBe(false);
    expect(startVm(vm)).toBe(0);
    expect(vm.vcpus[0].state).toBe(VCPU_RUNNABLE);
  });

  it('shutdown: vCPUs offline, registrations gone, the slot is free again', () => {
    const env = makeEnv();
    const vm = vmIn(env, PAUSED);
    expect(vm.io.findPio(0x3f8)).toBeGreaterThanOrEqual(0);
    expect(shutdownVm(vm)).toBe(0);
    expect([vm.vcpus[0].state, vm.vcpus[1].state]).toEqual([VCPU_OFFLINE, VCPU_OFFLINE]);
    expect(vm.io.findPio(0x3f8)).toBe(-1);
    expect(vm.io.mmioRegions).toBe(0);
    expect(env.vms.freeSlot()).toBe(vm);
    expect(env.sched.assignedCount).toBe(0);
  });

  it('a create that runs out of pool pages fails, leaves the VM off and gives every page back', () => {
    const env = makeEnv();
    const hog: number[] = [];
    const vm = env.vms.freeSlot() as AcrnVm;
    // Leave only a few pages: enough for the EPT root and bitmaps, not for the vCPUs.
    while (poolPages(0) > 6) hog.push(env.m.pageAlloc());
    const before = poolPages(0);
    expect(createVm(vm, params(false, 2))).toBe(-1);
    expect(vm.state).toBe(OFF);
    expect(poolPages(0)).toBe(before);
    for (const pa of hog) env.m.pageFree(pa);
  });
});

describe('1,000 create/destroy cycles', () => {
  it('leave the page pool exactly where it started', () => {
    const env = makeEnv();
    const vm = env.vms.freeSlot() as AcrnVm;
    const before = poolPages(0);
    for (let i = 0; i < 1000; i++) {
      expect(createVm(vm, params(false, 2))).toBe(0);
      expect(startVm(vm)).toBe(0);
      expect(pauseVm(vm)).toBe(0);
      expect(shutdownVm(vm)).toBe(0);
    }
    expect(poolPages(0)).toBe(before);
    expect(env.sched.assignedCount).toBe(0);
  });
});

describe('reset gives the vCPUs their power-up registers (SDM Vol. 3A Table 9-1)', () => {
  it('real mode at F000:FFF0, GPRs 0 but EDX = the processor signature', async () => {
    const F = await import('../../arch/x86/vmcs');
    const { fieldLo, load, regLo, RAX, RDX } = await import('./vm-fixture');
    const env = makeEnv();
    const vm = vmIn(env, PAUSED);
    env.m.poke(vm.vcpus[0].ctxPa, 8, 0, 0x1234);
    expect(resetVm(vm)).toBe(0);
    // The VMCS and registers are the owning pCPU's to rewrite, before the next entry (vcpu-reset.ts).
    expect(vm.vcpus.slice(0, vm.vcpuCount).map((v) => v.coldResetPending)).toEqual([true, true]);
    const { applyColdReset } = await import('../../hv/vm/vcpu-reset');
    expect(applyColdReset(vm.vcpus[0])).toBe(true);
    expect(vm.vcpus[0].coldResetPending).toBe(false);
    const f = { ...env, vm, vcpu: vm.vcpus[0] };
    load(env, vm.vcpus[0]);
    expect(fieldLo(env.m, F.GUEST_RIP)).toBe(0xfff0);
    expect(fieldLo(env.m, F.GUEST_CS_SELECTOR)).toBe(0xf000);
    expect(regLo(f as never, RAX)).toBe(0);
    expect(regLo(f as never, RDX)).toBe(0x00050654);
  });
});
