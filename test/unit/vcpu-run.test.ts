// The per-pCPU run loop (hv/vm/vcpu-run.ts) with a simulated guest: the sim's
// `guest` callback plays the CPU between VM entry and VM exit. At each entry it
// records what the loop set up (current VMCS, VMLAUNCH or VMRESUME, the
// VMX-preemption timer value, the VM-entry interruption information), then does
// what the CPU does on the exit (SDM Vol. 3C 28.2 / 28.3): clears the valid bit
// of the VM-entry interruption information, saves the remaining timer value
// (exit control "save VMX-preemption timer value") and records the next exit of
// that vCPU's script.
import { describe, expect, it } from 'vitest';
import type { SimMachine } from '../../arch/x86/sim-machine';
import * as F from '../../arch/x86/vmcs';
import { VCPU_HALTED, VCPU_RUNNABLE, VCPU_STOPPED, type Vcpu } from '../../hv/vm/vcpu';
import { ExitInfo } from '../../arch/x86/vmexit-info';
import { launchTestVms } from '../../hv/vm/test-vms';
import { PcpuLoop, SLICE_TSC } from '../../hv/vm/vcpu-run';
import { VM_PAUSED, VM_RUNNING } from '../../hv/vm/vm';
import {
  addVm, ENTRY_RIP, type ExitSpec, type Fixture, fieldLo, makeEnv, makeFixture, plantExit, RAX, RDI, setField,
} from './vm-fixture';

/** The saved timer value the simulated CPU leaves at each exit. */
const SAVED_TIMER = 4321;

interface Entry {
  vcpu: Vcpu;
  launch: number;
  timer: number;
  intrInfo: number;
  tsc: number;
}

type Step = ExitSpec | ((m: SimMachine, ctxPa: number) => ExitSpec);

const CPUID: ExitSpec = { reason: 10, instLen: 2 };
const PREEMPT: ExitSpec = { reason: 52 };
const HLT: ExitSpec = { reason: 12, instLen: 1, rflags: 0x202, interruptibility: 0 };

/** Script the guest of each vCPU; a vCPU past its script halts. Returns the entries seen. */
function scriptGuests(f: Fixture, scripts: [Vcpu, Step[]][]): Entry[] {
  const entries: Entry[] = [];
  f.m.guest = (m, ctxPa, launch) => {
    const found = scripts.find(([v]) => v.ctxPa === ctxPa);
    if (!found) throw new Error('a vCPU without a script ran');
    const [vcpu, steps] = found;
    expect(m.currentVmcs, 'the vCPU runs on its own VMCS').toBe(vcpu.vmcsPa);
    entries.push({ vcpu, launch, timer: fieldLo(m, F.VMX_PREEMPTION_TIMER_VALUE), intrInfo: fieldLo(m, F.VM_ENTRY_INTR_INFO), tsc: m.tsc });
    setField(m, F.VM_ENTRY_INTR_INFO, 0, 0);
    setField(m, F.VMX_PREEMPTION_TIMER_VALUE, 0, SAVED_TIMER);
    const step = steps.shift() ?? HLT;
    plantExit(m, typeof step === 'function' ? step(m, ctxPa) : step);
  };
  return entries;
}

/** Stops the loop once nothing is runnable (and `also` holds); fails a runaway loop. */
function untilIdle(f: Fixture, also: () => boolean = () => true): { poll(): boolean; polls: number } {
  return {
    polls: 0,
    poll() {
      this.polls++;
      if (this.polls > 100000) throw new Error('the run loop did not settle');
      return f.sched.count === 0 && also();
    },
  };
}

describe('PcpuLoop: slices and round robin', () => {
  it('runs a vCPU until its preemption-timer exit, then the next; a new slice arms the timer, a resumed one does not', () => {
    const f = makeFixture({ vcpus: 3 });
    const [a, b, c] = f.vm.vcpus;
    const entries = scriptGuests(f, [
      [a, [CPUID, CPUID, PREEMPT, CPUID, HLT]],
      [b, [PREEMPT, HLT]],
      [c, [CPUID, PREEMPT, HLT]],
    ]);
    const loop = new PcpuLoop(f.sched, f.platform.preemptionShift);
    // IA32_VMX_MISC[4:0] = 0 on this machine: one timer tick per TSC tick
    expect(loop.sliceTicks).toBe(SLICE_TSC);
    expect(SLICE_TSC).toBe(10000000);
    loop.run(untilIdle(f));
    const N = SLICE_TSC;
    const S = SAVED_TIMER;
    expect(entries.map((e) => e.vcpu)).toEqual([a, a, a, b, c, c, a, a, b, c]);
    expect(entries.map((e) => e.launch)).toEqual([1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    expect(entries.map((e) => e.timer)).toEqual([N, S, S, N, N, S, N, S, N, N]);
    expect(loop.exits).toBe(10);
    expect(f.sched.switches).toBe(5); // a's VMCS was current already
    expect([a, b, c].map((v) => v.state)).toEqual([VCPU_HALTED, VCPU_HALTED, VCPU_HALTED]);
    expect(f.vm.exitCounts[10]).toBe(4);
    expect(f.vm.exitCounts[52]).toBe(3);
    expect(f.vm.exitCounts[12]).toBe(3);
    expect(fieldLo(f.m, F.GUEST_RIP, a)).toBe(ENTRY_RIP + 3 * 2 + 1);
    expect(fieldLo(f.m, F.GUEST_RIP, c)).toBe(ENTRY_RIP + 2 + 1);
  });

  it('records the RIP of the last exit of each vCPU (before the handler moved it)', () => {
    const f = makeFixture();
    scriptGuests(f, [[f.vcpu, [{ reason: 10, instLen: 2, rip: 0x123456, ripHi: 0x1 }]]]);
    const loop = new PcpuLoop(f.sched, 0);
    loop.runOnce(f.vcpu, true);
    expect([f.vcpu.lastRipHi, f.vcpu.lastRipLo]).toEqual([1, 0x123456]);
    expect(fieldLo(f.m, F.GUEST_RIP)).toBe(0x123458);
  });

  it('polls between exits every 64 exits of a busy guest', () => {
    const f = makeFixture();
    scriptGuests(f, [[f.vcpu, Array.from({ length: 200 }, () => CPUID)]]);
    const loop = new PcpuLoop(f.sched, 0);
    let polls = 0;
    loop.run({ poll: () => ++polls === 2 });
    expect(loop.exits).toBe(128);
    expect(f.vcpu.state).toBe(VCPU_RUNNABLE);
  });

  it('a vCPU that exits all the time still yields after SLICE_TSC of wall time (the preemption timer counts guest time only)', () => {
    const f = makeFixture({ vcpus: 2 });
    const [a, b] = f.vm.vcpus;
    // Each entry of a costs 4 M TSC ticks of hypervisor time; its timer never expires.
    const busy: Step = (m) => {
      m.tsc += 4000000;
      return CPUID;
    };
    const entries = scriptGuests(f, [[a, [busy, busy, busy, busy, busy]], [b, [CPUID]]]);
    const loop = new PcpuLoop(f.sched, f.platform.preemptionShift);
    loop.run(untilIdle(f));
    // a runs until 10 M ticks have passed since its slice began (3 entries), then b gets its turn.
    expect(entries.map((e) => e.vcpu).slice(0, 4)).toEqual([a, a, a, b]);
  });

  it('the slice scales with IA32_VMX_MISC[4:0] (timer ticks = TSC >> shift)', () => {
    const f = makeFixture();
    expect(new PcpuLoop(f.sched, 5).sliceTicks).toBe(312500);
  });
});

describe('PcpuLoop: events', () => {
  it('fires a delayed interrupt once the TSC passes its deadline and wakes the halted vCPU to take it', () => {
    const f = makeFixture({ devices: true });
    const v = f.vcpu;
    let deadline = 0;
    const entries = scriptGuests(f, [[v, [
      (m, ctx) => {
        m.poke(ctx + RAX * 8, 8, 0, 0x0003 | (1 << 8)); // test port EAH: vector 41H after 1 ms
        return { reason: 30, qual: (0xea << 16) | 3, instLen: 1 }; // out dx, eax
      },
      () => {
        deadline = v.timerDeadline;
        return HLT; // sti; hlt
      },
      () => HLT,
    ]]]);
    const loop = new PcpuLoop(f.sched, 0);
    loop.run(untilIdle(f, () => entries.length === 3));
    // the deadline: the TSC at the OUT plus 1 ms at 1,000,000 TSC ticks per ms
    expect(entries).toHaveLength(3);
    expect(deadline - 1000000).toBeGreaterThanOrEqual(entries[0].tsc);
    expect(deadline - 1000000).toBeLessThanOrEqual(entries[1].tsc);
    expect(entries[1].tsc).toBeLessThan(deadline); // halted before the deadline
    expect(entries[2].intrInfo).toBe(0x80000041);
    expect(entries[1].intrInfo).toBe(0);
    expect(entries[2].tsc).toBeGreaterThanOrEqual(deadline);
    expect(v.timerDeadline).toBe(0);
    expect(v.state).toBe(VCPU_HALTED);
  });

  it('re-injects the event an exit interrupted at the next entry (external interrupt during delivery of vector 30H)', () => {
    const f = makeFixture();
    const entries = scriptGuests(f, [[f.vcpu, [{ reason: 1, intrInfo: 0x800000ef, idtVectoring: 0x80000030 }, CPUID]]]);
    const loop = new PcpuLoop(f.sched, 0);
    loop.runOnce(f.vcpu, true);
    loop.runOnce(f.vcpu, false);
    expect(entries.map((e) => e.intrInfo)).toEqual([0, 0x80000030]);
    expect(f.platform.hostInterrupts).toBe(1);
  });
});

describe('PcpuLoop: a failed VM entry stops only that VM', () => {
  it('VMLAUNCH failing with VMfailValid prints the VM-instruction error; the other VM runs on', () => {
    const f = makeFixture({ name: 'alpha' });
    const beta = addVm(f, { name: 'beta' }).vm;
    const a = f.vcpu;
    const b = beta.vcpus[0];
    const entries = scriptGuests(f, [[b, [CPUID, PREEMPT, CPUID, HLT]]]);
    const run = f.m.vcpuRun.bind(f.m);
    f.m.vcpuRun = (ctxPa: number, launch: number): number => {
      if (ctxPa !== a.ctxPa) return run(ctxPa, launch);
      f.m.setVmcs(F.VM_INSTRUCTION_ERROR, 7); // invalid control field(s) (SDM Vol. 3C 31.4)
      return 2;
    };
    const loop = new PcpuLoop(f.sched, 0);
    loop.run(untilIdle(f));
    expect(loop.entryFailures).toBe(1);
    expect(f.vm.state).toBe(VM_PAUSED);
    expect(a.state).toBe(VCPU_STOPPED);
    expect(a.launched).toBe(false);
    expect(beta.state).toBe(VM_RUNNING);
    expect(entries.map((e) => e.vcpu)).toEqual([b, b, b, b]);
    expect(beta.exitCounts[10]).toBe(2);
    const out = f.m.output();
    expect(out).toContain('error: vm0 (alpha) stopped: VMLAUNCH failed\nerror:   VM-instruction error 7\n');
    expect(out).not.toContain('vm1 (beta) stopped');
  });

  it('VMRESUME failing after a launch says so', () => {
    const f = makeFixture({ name: 'gamma' });
    scriptGuests(f, [[f.vcpu, [CPUID]]]);
    const loop = new PcpuLoop(f.sched, 0);
    loop.runOnce(f.vcpu, true);
    expect(f.vcpu.launched).toBe(true);
    f.m.vcpuRun = (): number => {
      f.m.setVmcs(F.VM_INSTRUCTION_ERROR, 5); // VMRESUME with non-launched VMCS
      return 2;
    };
    loop.runOnce(f.vcpu, false);
    expect(f.vm.state).toBe(VM_PAUSED);
    expect(f.m.output()).toContain('error: vm0 (gamma) stopped: VMRESUME failed\nerror:   VM-instruction error 5\n');
  });

  it('VMfailInvalid (no current VMCS) has no error number to read', () => {
    const f = makeFixture({ name: 'delta' });
    f.m.vcpuRun = (): number => 1;
    const loop = new PcpuLoop(f.sched, 0);
    loop.runOnce(f.vcpu, true);
    expect(f.vm.state).toBe(VM_PAUSED);
    expect(f.m.output()).toContain('stopped: VMLAUNCH failed\nerror:   VM-instruction error 0 (VMfailInvalid: no current VMCS)\n');
  });
});

describe('test VMs from GRUB modules (test-vms.ts), run by the loop', () => {
  const MODULE_PA = 0x4000000;

  it('a long64 module becomes a running VM: image at 100000H, identity paging at CR3 1000H, RDI = VM id, debug ports', () => {
    const env = makeEnv();
    env.m.addModule(MODULE_PA, new Uint8Array([0xe6, 0xe9, 0xf4, 0x90, 0x90]), 'guest=long64 name=alpha');
    env.m.addModule(MODULE_PA + 0x1000, new Uint8Array([0xf4]), 'guest=long64');
    expect(launchTestVms(env.vms)).toBe(2);
    const [vm, second] = env.vms.vms;
    expect(vm.name).toBe('alpha');
    expect(second.name).toBe('long64');
    expect(vm.state).toBe(VM_RUNNING);
    expect(vm.vcpuCount).toBe(1);
    const v = vm.vcpus[0];
    expect(v.state).toBe(VCPU_RUNNABLE);
    expect(env.sched.queue.slice(0, env.sched.count)).toEqual([v, second.vcpus[0]]);
    expect(fieldLo(env.m, F.GUEST_RIP, v)).toBe(0x100000);
    expect(fieldLo(env.m, F.GUEST_CR3, v)).toBe(0x1000);
    expect(fieldLo(env.m, F.GUEST_RSP, v)).toBe(0x80000);
    expect(fieldLo(env.m, F.GUEST_CS_AR, v) & 0x2000).toBe(0x2000); // CS.L
    expect(vm.ept.translate(0x100000)).toBe(vm.ramHpa + 0x100000);
    expect(vm.ept.translate(0x3fffff)).toBe(vm.ramHpa + 0x3fffff);
    expect(vm.ept.translate(0x400000)).toBe(-1);
    expect(env.m.peek(vm.ramHpa + 0x100000, 4)).toBe(0x90f4e9e6);
    // PML4[0] -> PDPT 2000H, PDPT[0] -> PD 3000H, PD[1] = 200000H | PS | RW | P (SDM Vol. 3A 4.5)
    expect(env.m.peek(vm.ramHpa + 0x1000, 8)).toBe(0x2003);
    expect(env.m.peek(vm.ramHpa + 0x2000, 8)).toBe(0x3003);
    expect(env.m.peek(vm.ramHpa + 0x3008, 8)).toBe(0x200083);
    expect(env.m.peek(second.vcpus[0].ctxPa + RDI * 8, 8)).toBe(1);
    expect(vm.io.findPio(0xe9)).toBeGreaterThanOrEqual(0);
    expect(vm.io.findPio(0xea)).toBeGreaterThanOrEqual(0);
    expect(env.m.output()).toContain('vm0 (alpha): long64 test VM started\n');
    expect(env.m.output()).toContain('vm1 (long64): long64 test VM started\n');
  });

  it('the loop runs it: its port-E9 output reaches COM1 prefixed with its name', () => {
    const env = makeEnv();
    env.m.addModule(MODULE_PA, new Uint8Array([0x90]), 'guest=long64 name=alpha');
    launchTestVms(env.vms);
    const vm = env.vms.vms[0];
    const f: Fixture = { ...env, vm, vcpu: vm.vcpus[0], ram: vm.ramHpa, exit: new ExitInfo() };
    const out = (c: string): Step => (m, ctx) => {
      m.poke(ctx + RAX * 8, 8, 0, c.charCodeAt(0));
      return { reason: 30, qual: 0x00e90000, instLen: 2 }; // out 0xe9, al
    };
    scriptGuests(f, [[f.vcpu, [out('o'), out('k'), out('\n'), HLT]]]);
    new PcpuLoop(env.sched, 0).run(untilIdle(f));
    expect(env.m.output()).toContain('[alpha] ok\n');
    expect(vm.debugConsole.lines).toBe(1);
  });

  it('real16 and prot32 modules start in their entry states', () => {
    const env = makeEnv();
    const image = new Uint8Array(0x10000);
    image[0xfff0] = 0xea; // the first byte at the reset vector
    env.m.addModule(MODULE_PA, image, 'guest=real16');
    env.m.addModule(MODULE_PA + 0x20000, new Uint8Array([0xfa, 0xf4]), 'guest=prot32');
    expect(launchTestVms(env.vms)).toBe(2);
    const [real, prot] = env.vms.vms;
    const r = real.vcpus[0];
    // Table 9-1: CS F000, base FFFF0000, IP FFF0; EDX = CPUID.01H:EAX
    expect(fieldLo(env.m, F.GUEST_RIP, r)).toBe(0xfff0);
    expect(fieldLo(env.m, F.GUEST_CS_SELECTOR, r)).toBe(0xf000);
    expect(fieldLo(env.m, F.GUEST_CS_BASE, r)).toBe(0xffff0000);
    expect(env.m.peek(r.ctxPa + 2 * 8, 8)).toBe(0x00050654);
    // the image at F0000 is also what the reset alias FFFF0000 maps
    expect(real.ept.translate(0xfffffff0)).toBe(real.ramHpa + 0xffff0);
    expect(env.m.peek(real.ramHpa + 0xffff0, 1)).toBe(0xea);
    const p = prot.vcpus[0];
    expect(fieldLo(env.m, F.GUEST_RIP, p)).toBe(0x100000);
    expect(fieldLo(env.m, F.GUEST_CR0, p) & 0x80000001).toBe(1); // PE, no PG
    expect(fieldLo(env.m, F.GUEST_CS_SELECTOR, p)).toBe(0x10);
    expect(env.m.peek(prot.ramHpa + 0x100000, 2)).toBe(0xf4fa);
  });

  it('an unknown kind is refused with a message; modules without guest= are ignored', () => {
    const env = makeEnv();
    env.m.addModule(MODULE_PA, new Uint8Array([0]), 'scenario.bin');
    env.m.addModule(MODULE_PA + 0x1000, new Uint8Array([0]), 'guest=long32');
    expect(launchTestVms(env.vms)).toBe(0);
    expect(env.vms.vms[0].state).toBe(0);
    expect(env.m.output()).toContain('error: module 1: unknown guest kind "long32" (long64, prot32 or real16)\n');
  });
});
