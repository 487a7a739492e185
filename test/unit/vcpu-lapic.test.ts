// The vLAPIC wired into vCPUs (hv/vm/vcpu-lapic.ts, virq.ts, vcpu-run.ts,
// msr-exit.ts): the xAPIC page through MMIO exits, IPIs between vCPUs, INIT
// and SIPI, interrupt injection and EOI, the LAPIC timer waking a halted vCPU,
// and x2APIC MSRs. Exits are planted in the simulated VMCS as the CPU records
// them; expected values follow the SDM Vol. 3A chapter 11 and are written out.
import { describe, expect, it } from 'vitest';
import type { SimMachine } from '../../arch/x86/sim-machine';
import * as F from '../../arch/x86/vmcs';
import { LAPIC_MMIO_GPA, LAPIC_MMIO_SIZE, applyStartupSignals } from '../../hv/vm/vcpu-lapic';
import { PcpuLoop } from '../../hv/vm/vcpu-run';
import { VCPU_HALTED, VCPU_INIT, VCPU_RUNNABLE, type Vcpu } from '../../hv/vm/vcpu';
import { injectPending, requestIrq } from '../../hv/vm/virq';
import { injectMsi, MSI_ERR_ADDRESS, MSI_ERR_MODE, MSI_ERR_VECTOR } from '../../hv/vm/msi';
import {
  ENTRY_RIP, type Fixture, fieldLo, load, makeFixture, RAX, RBX, RCX, RDX, regLo, rip, runExit, setField, setGuestBytes, setReg,
} from './vm-fixture';

const READ = 0x181;
const WRITE = 0x182;
const MOV_LOAD = [0x8b, 0x03]; // mov eax, [rbx]
const MOV_STORE = [0x89, 0x03]; // mov [rbx], eax

function fixture(vcpus = 1): Fixture {
  const f = makeFixture({ vcpus });
  expect(f.vm.io.registerMmio(LAPIC_MMIO_GPA, LAPIC_MMIO_SIZE, f.vm.lapicMmio)).toBe(true);
  return f;
}

/** Guest `vcpu` reads the 32-bit LAPIC register at `offset` (an MMIO exit). */
function lapicRead(f: Fixture, offset: number, vcpu: Vcpu = f.vcpu): number {
  load(f, vcpu);
  setGuestBytes(f, ENTRY_RIP, MOV_LOAD);
  setField(f.m, F.GUEST_RIP, 0, ENTRY_RIP);
  setReg(f, RBX, LAPIC_MMIO_GPA + offset, 0, vcpu);
  runExit(f, { reason: 48, qual: READ, gpa: LAPIC_MMIO_GPA + offset, rflags: 2 }, vcpu);
  return regLo(f, RAX, vcpu);
}

function lapicWrite(f: Fixture, offset: number, value: number, vcpu: Vcpu = f.vcpu): void {
  load(f, vcpu);
  setGuestBytes(f, ENTRY_RIP, MOV_STORE);
  setField(f.m, F.GUEST_RIP, 0, ENTRY_RIP);
  setReg(f, RBX, LAPIC_MMIO_GPA + offset, 0, vcpu);
  setReg(f, RAX, value, 0, vcpu);
  runExit(f, { reason: 48, qual: WRITE, gpa: LAPIC_MMIO_GPA + offset, rflags: 2 }, vcpu);
  expect(rip(f.m)).toBe(ENTRY_RIP + 2);
}

function irrHas(v: Vcpu, vector: number): boolean {
  return (v.vlapic.irr[vector >>> 5] & (1 << (vector & 31))) !== 0;
}
function isrHas(v: Vcpu, vector: number): boolean {
  return (v.vlapic.isr[vector >>> 5] & (1 << (vector & 31))) !== 0;
}

/** What the next VM entry injects (interruption-information field). */
function nextInjection(m: SimMachine, v: Vcpu, rflags = 0x202): number {
  setField(m, F.GUEST_RFLAGS, 0, rflags);
  setField(m, F.GUEST_INTERRUPTIBILITY_INFO, 0, 0);
  setField(m, F.VM_ENTRY_INTR_INFO, 0, 0);
  injectPending(v);
  return fieldLo(m, F.VM_ENTRY_INTR_INFO);
}

describe('the xAPIC page through MMIO exits', () => {
  it('each vCPU reads its own ID register (bits 31:24) and the version 0x00060010', () => {
    const f = fixture(2);
    expect(lapicRead(f, 0x20)).toBe(0);
    expect(lapicRead(f, 0x20, f.vm.vcpus[1])).toBe(0x01000000);
    expect(lapicRead(f, 0x30)).toBe(0x00060010);
  });

  it('a byte access is not a LAPIC access: counted and ignored, the read gives 0', () => {
    const f = fixture();
    setGuestBytes(f, ENTRY_RIP, [0x8a, 0x03]); // mov al, [rbx]
    setField(f.m, F.GUEST_RIP, 0, ENTRY_RIP);
    setReg(f, RBX, LAPIC_MMIO_GPA + 0x30);
    setReg(f, RAX, 0xffffffff);
    runExit(f, { reason: 48, qual: READ, gpa: LAPIC_MMIO_GPA + 0x30 });
    expect(regLo(f, RAX) & 0xff).toBe(0);
    expect(f.vm.io.badWidth).toBe(1);
    expect(f.m.output()).toContain('vm0: an MMIO 1-byte access at 0xfee00030 is not a width its device takes: ignored (later ones are only counted)');
    setField(f.m, F.GUEST_RIP, 0, ENTRY_RIP);
    runExit(f, { reason: 48, qual: READ, gpa: LAPIC_MMIO_GPA + 0x30 });
    expect(f.vm.io.badWidth).toBe(2);
    expect(f.m.output().split('is not a width').length).toBe(2); // logged once
  });
});

describe('interrupts from the vLAPIC', () => {
  it('a self IPI (ICR shorthand 01, fixed, vector 0x50) is injected when IF=1, goes in service, and an EOI ends it', () => {
    const f = fixture();
    lapicWrite(f, 0xf0, 0x1ff); // SVR: software enable (bit 8)
    lapicWrite(f, 0x300, 0x40050); // shorthand self (bits 19:18 = 01), vector 0x50
    expect(irrHas(f.vcpu, 0x50)).toBe(true);
    expect(nextInjection(f.m, f.vcpu, 0x002)).toBe(0); // IF=0: waits
    expect(f.vcpu.procControls & F.PROC_INTERRUPT_WINDOW_EXITING).not.toBe(0);
    expect(nextInjection(f.m, f.vcpu)).toBe(0x80000050); // valid, external interrupt, vector 0x50
    expect(irrHas(f.vcpu, 0x50)).toBe(false);
    expect(isrHas(f.vcpu, 0x50)).toBe(true);
    expect(lapicRead(f, 0xa0)).toBe(0x50); // PPR = ISRV & F0 (TPR 0)
    lapicWrite(f, 0xb0, 0); // EOI
    expect(isrHas(f.vcpu, 0x50)).toBe(false);
    expect(lapicRead(f, 0xa0)).toBe(0);
  });

  it('an interrupt in service blocks the same priority class; the higher class goes first (SDM 11.8.3.1)', () => {
    const f = fixture();
    lapicWrite(f, 0xf0, 0x1ff);
    lapicWrite(f, 0x300, 0x40051);
    expect(nextInjection(f.m, f.vcpu)).toBe(0x80000051);
    lapicWrite(f, 0x300, 0x40052); // same class 5: held
    lapicWrite(f, 0x300, 0x40061); // class 6: beats PPR 0x50
    expect(nextInjection(f.m, f.vcpu)).toBe(0x80000061);
    expect(nextInjection(f.m, f.vcpu)).toBe(0); // 0x52 waits for the EOIs
    lapicWrite(f, 0xb0, 0); // ends 0x61
    lapicWrite(f, 0xb0, 0); // ends 0x51
    expect(nextInjection(f.m, f.vcpu)).toBe(0x80000052);
  });

  it('an ExtINT-style interrupt (test control port) goes before the vLAPIC\'s and needs no EOI', () => {
    const f = fixture();
    lapicWrite(f, 0xf0, 0x1ff);
    lapicWrite(f, 0x300, 0x40070);
    requestIrq(f.vcpu, 0x30);
    expect(nextInjection(f.m, f.vcpu)).toBe(0x80000030);
    expect(nextInjection(f.m, f.vcpu)).toBe(0x80000070);
  });

  it('a fixed IPI to APIC ID 1 (physical) wakes the halted vCPU 1', () => {
    const f = fixture(2);
    const ap = f.vm.vcpus[1];
    lapicWrite(f, 0xf0, 0x1ff, ap);
    f.sched.halt(ap);
    load(f, f.vcpu);
    lapicWrite(f, 0x310, 0x01000000); // destination APIC ID 1
    lapicWrite(f, 0x300, 0x4041); // fixed, level assert, vector 0x41
    expect(irrHas(ap, 0x41)).toBe(true);
    expect(irrHas(f.vcpu, 0x41)).toBe(false);
    expect(ap.state).toBe(VCPU_RUNNABLE);
    expect(f.vm.lapicBus.ipis).toBe(1);
  });
});

describe('INIT and SIPI (SDM Vol. 3A 8.4.4.1)', () => {
  it('INIT parks vCPU 1 waiting for a SIPI; the SIPI starts it in real mode at vector << 12; a second SIPI is ignored', () => {
    const f = fixture(2);
    const ap = f.vm.vcpus[1];
    lapicWrite(f, 0x310, 0x01000000);
    lapicWrite(f, 0x300, 0x4500); // INIT, level assert
    expect(ap.state).toBe(VCPU_INIT);
    expect(ap.waitingForSipi).toBe(true);
    expect(f.sched.count).toBe(1); // only vCPU 0 on the run queue
    lapicWrite(f, 0x300, 0x4608); // SIPI, vector 8
    expect(ap.state).toBe(VCPU_RUNNABLE);
    expect(ap.pendingSipiVector).toBe(8);
    lapicWrite(f, 0x300, 0x4609); // the second SIPI of the sequence
    expect(ap.pendingSipiVector).toBe(8);
    load(f, ap);
    expect(applyStartupSignals(ap)).toBe(true);
    expect(fieldLo(f.m, F.GUEST_CS_SELECTOR)).toBe(0x800);
    expect(fieldLo(f.m, F.GUEST_CS_BASE)).toBe(0x8000);
    expect(rip(f.m)).toBe(0);
    expect(regLo(f, RDX, ap)).toBe(0x00050654); // EDX = processor signature (Table 9-1)
    expect(ap.pendingSipiVector).toBe(-1);
  });
});

describe('the LAPIC timer', () => {
  it('one-shot: the deadline is initial count x divisor TSC ticks away; the run loop fires it and wakes the halted vCPU', () => {
    const f = fixture();
    lapicWrite(f, 0xf0, 0x1ff);
    lapicWrite(f, 0x3e0, 0xb); // divide by 1
    lapicWrite(f, 0x320, 0x45); // one-shot, vector 0x45, not masked
    f.m.tscStep = 1;
    const before = f.m.tsc;
    lapicWrite(f, 0x380, 50000); // initial count
    const due = f.vcpu.vlapic.timerDeadline();
    expect(due).toBeGreaterThan(before + 50000 - 1);
    expect(due).toBeLessThan(before + 50000 + 10);
    f.sched.halt(f.vcpu);
    const loop = new PcpuLoop(f.sched, 5);
    expect(loop.nextDeadline()).toBe(due);
    loop.fireTimers();
    expect(f.vcpu.state).toBe(VCPU_HALTED);
    f.m.tsc = due;
    loop.fireTimers();
    expect(irrHas(f.vcpu, 0x45)).toBe(true);
    expect(f.vcpu.state).toBe(VCPU_RUNNABLE);
    expect(f.vcpu.vlapic.timerDeadline()).toBe(0); // one-shot: disarmed
  });
});

describe('x2APIC MSRs', () => {
  function wrmsr(f: Fixture, msr: number, edx: number, eax: number): void {
    setReg(f, RCX, msr);
    setReg(f, RAX, eax);
    setReg(f, RDX, edx);
    setField(f.m, F.GUEST_RIP, 0, ENTRY_RIP);
    runExit(f, { reason: 32, instLen: 2 });
  }

  it('after EXTD+EN, SELF IPI (MSR 83FH) raises the vector; in xAPIC mode the x2APIC MSRs are #GP(0)', () => {
    const f = fixture();
    wrmsr(f, 0x83f, 0, 0x60);
    expect(nextInjection(f.m, f.vcpu)).toBe(0x80000b0d); // #GP(0): hardware exception 13 with error code
    wrmsr(f, 0x1b, 0, 0xfee00d00);
    wrmsr(f, 0x80f, 0, 0x1ff); // SVR
    wrmsr(f, 0x83f, 0, 0x60);
    expect(rip(f.m)).toBe(ENTRY_RIP + 2);
    expect(irrHas(f.vcpu, 0x60)).toBe(true);
  });
});

describe('MSI injection (SDM Vol. 3A 11.11)', () => {
  it('address FEE01000 (dest 1, physical), data 0x4061: vector 0x61 fixed to vCPU 1 only', () => {
    const f = fixture(2);
    for (const v of f.vm.vcpus.slice(0, 2)) v.vlapic.svr = 0x1ff;
    expect(injectMsi(f.vm, 0, 0xfee01000, 0x0061)).toBe(1);
    expect(irrHas(f.vm.vcpus[1], 0x61)).toBe(true);
    expect(irrHas(f.vm.vcpus[0], 0x61)).toBe(false);
  });

  it('level-triggered (data bit 15) sets the TMR, so the EOI is broadcast once', () => {
    const f = fixture();
    f.vcpu.vlapic.svr = 0x1ff;
    expect(injectMsi(f.vm, 0, 0xfee00000, 0xc062)).toBe(1);
    expect(nextInjection(f.m, f.vcpu)).toBe(0x80000062);
    lapicWrite(f, 0xb0, 0);
    expect(f.vcpu.lapicSink.levelEois).toBe(1);
  });

  it('NMI delivery mode (data bits 10:8 = 100b) queues an NMI', () => {
    const f = fixture();
    expect(injectMsi(f.vm, 0, 0xfee00000, 0x0400)).toBe(1);
    expect(f.vcpu.pendingNmi).toBe(1);
  });

  it('malformed messages are refused: wrong address, bits 63:32, SMI/start-up/reserved modes, vectors below 16', () => {
    const f = fixture();
    expect(injectMsi(f.vm, 0, 0xfed00000, 0x0061)).toBe(MSI_ERR_ADDRESS);
    expect(injectMsi(f.vm, 1, 0xfee00000, 0x0061)).toBe(MSI_ERR_ADDRESS);
    for (const mode of [2, 3, 6]) expect(injectMsi(f.vm, 0, 0xfee00000, (mode << 8) | 0x61)).toBe(MSI_ERR_MODE);
    expect(injectMsi(f.vm, 0, 0xfee00000, 0x000f)).toBe(MSI_ERR_VECTOR);
    expect(f.vcpu.vlapic.irr.every((w) => w === 0)).toBe(true);
  });

  it('a destination no vCPU has reaches nobody', () => {
    const f = fixture();
    expect(injectMsi(f.vm, 0, 0xfee05000, 0x0061)).toBe(0);
  });
});
