// I/O requests to the device model (hv/vm/ioreq.ts, ioreq-complete.ts):
// a post-launched User VM made through the hypercalls (hc-fixture.ts) makes
// port, PCI-configuration and MMIO accesses nobody in the hypervisor claims;
// the test plays the Service VM's DM on the request page in its RAM
// (struct acrn_io_request, Linux include/uapi/linux/acrn.h) and calls
// NOTIFY_REQUEST_FINISH. Checked: the slot's contents and state machine
// (FREE -> PENDING -> [PROCESSING] -> COMPLETE -> FREE), the vCPU off its run
// queue until finished, the upcall in the Service VM's vLAPIC, the write-back
// of every size and direction, refusals of wrong-state completions, the
// lifecycle with requests in flight, and bad DM input.
import { describe, expect, it } from 'vitest';
import { EPT_MT_WB, EPT_RWX } from '../../arch/x86/ept';
import { heapUsed, poolPages } from '../../arch/x86/intrinsics';
import * as F from '../../arch/x86/vmcs';
import * as A from '../../hv/dm-hypercall/abi';
import { hcApplyPendingRegs } from '../../hv/dm-hypercall/hc-vcpu-regs';
import { IOREQ_FINISHED, IOREQ_NONE, IOREQ_WAITING, UPCALL } from '../../hv/vm/ioreq';
import { ioreqComplete } from '../../hv/vm/ioreq-complete';
import type { Vcpu } from '../../hv/vm/vcpu';
import { VCPU_RUNNABLE, VCPU_STOPPED, VCPU_WAIT_IO } from '../../hv/vm/vcpu';
import { type AcrnVm, VM_CREATED, VM_PAUSED, VM_POWERED_OFF } from '../../hv/vm/vm';
import { call, type Hc, IOREQ_PAGE_GPA, makeHc, r32, setIoreq, vmIn, w32, w8 } from './hc-fixture';
import { fieldLo, load, RAX, RBX, regHi, regLo, rip, runExit, setReg } from './vm-fixture';

const REQ = A.IO_REQUEST_SIZE;
const BODY = A.IO_REQUEST_REQS;
const DM_PORT = 0x5a0;
/** The spurious-interrupt vector register (SDM Vol. 3A 11.9): bit 8 enables the APIC in software. */
const SVR = 0xf0;

/** Table 28-5 qualification of an IN/OUT exit. */
function ioQual(port: number, size: number, isIn: boolean): number {
  return ((port << 16) | (isIn ? 8 : 0) | (size - 1)) >>> 0;
}

interface User {
  h: Hc;
  vm: AcrnVm;
  v: Vcpu;
  rel: number;
}

/** The Service VM with its vLAPIC software-enabled, and a running User VM (relative id 1) with its ioreq page. */
function user(): User {
  const h = makeHc();
  h.vcpu.vlapic.writeReg(SVR, 0x1ff, 0);
  const { vm, rel } = vmIn(h, 'running');
  return { h, vm, v: vm.vcpus[0], rel };
}

function slot(u: User, field: number, vcpu = 0): number {
  return r32(u.h, IOREQ_PAGE_GPA + vcpu * REQ + field);
}
function setSlot(u: User, field: number, value: number, vcpu = 0): void {
  w32(u.h, IOREQ_PAGE_GPA + vcpu * REQ + field, value);
}

/** The User VM's vCPU 0 executes IN or OUT (1 byte long) with RAX = rax. */
function pio(u: User, port: number, size: number, isIn: boolean, rax = 0, raxHi = 0): void {
  load(u.h.env, u.v);
  setReg(u.h, RAX, rax, raxHi, u.v);
  runExit(u.h, { reason: F.EXIT_REASON_IO_INSTRUCTION, qual: ioQual(port, size, isIn), instLen: 1 }, u.v);
}

/** The DM: (value), COMPLETE, NOTIFY_REQUEST_FINISH; the result. */
function finish(u: User, value?: number, vcpuId = 0, valueAt = BODY + A.PIO_REQUEST_VALUE): number {
  if (value !== undefined) setSlot(u, valueAt, value, vcpuId);
  setSlot(u, A.IO_REQUEST_PROCESSED, A.IOREQ_STATE_COMPLETE, vcpuId);
  return call(u.h, A.HC_NOTIFY_REQUEST_FINISH, u.rel, vcpuId);
}

/** The vCPU's pCPU before its next entry: the finished request goes in. */
function complete(u: User): void {
  load(u.h.env, u.v);
  expect(u.v.ioreq.state).toBe(IOREQ_FINISHED);
  ioreqComplete(u.v);
}

function irrHas(v: Vcpu, vector: number): boolean {
  return (v.vlapic.irr[vector >>> 5] & (1 << (vector & 31))) !== 0;
}

describe('port I/O requests', () => {
  it('an IN from a port nobody claims: a PENDING PIO request in slot 0, the vCPU off its run queue, the upcall raised', () => {
    const u = user();
    expect(slot(u, A.IO_REQUEST_PROCESSED)).toBe(A.IOREQ_STATE_FREE);
    load(u.h.env, u.v);
    const before = rip(u.h.m);
    pio(u, DM_PORT, 2, true, 0x11223344);
    expect(rip(u.h.m)).toBe(before + 1);
    expect([slot(u, A.IO_REQUEST_TYPE), slot(u, BODY + A.PIO_REQUEST_DIRECTION), slot(u, BODY + A.PIO_REQUEST_ADDRESS),
      slot(u, BODY + A.PIO_REQUEST_SIZE), slot(u, A.IO_REQUEST_PROCESSED)])
      .toEqual([A.IOREQ_TYPE_PORTIO, 0, DM_PORT, 2, A.IOREQ_STATE_PENDING]);
    expect([u.v.state, u.v.ioreq.state, u.v.sched.count]).toEqual([VCPU_WAIT_IO, IOREQ_WAITING, 1]); // only the Service VM queued
    expect(irrHas(u.h.vcpu, A.HSM_DEFAULT_VECTOR)).toBe(true);
    // the DM serves it: PROCESSING, value, COMPLETE, NOTIFY
    setSlot(u, A.IO_REQUEST_PROCESSED, A.IOREQ_STATE_PROCESSING);
    u.v.sched.yieldRequested = false;
    expect(finish(u, 0xbeef)).toBe(0);
    expect([u.v.state, u.v.sched.yieldRequested]).toEqual([VCPU_RUNNABLE, true]); // its pCPU reschedules (ACRN wake_thread)
    complete(u);
    expect([regHi(u.h, RAX, u.v), regLo(u.h, RAX, u.v) >>> 0]).toEqual([0, 0x1122beef]); // a word IN keeps the rest of RAX
    expect([u.v.ioreq.state, slot(u, A.IO_REQUEST_PROCESSED)]).toEqual([IOREQ_NONE, A.IOREQ_STATE_FREE]);
  });

  it('every size and direction: writes carry the masked value, reads write back only their size', () => {
    for (const size of [1, 2, 4]) {
      const u = user();
      const mask = size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
      pio(u, DM_PORT + 1, size, false, 0xa1b2c3d4);
      expect([slot(u, BODY + A.PIO_REQUEST_DIRECTION), slot(u, BODY + A.PIO_REQUEST_SIZE), slot(u, BODY + A.PIO_REQUEST_VALUE)])
        .toEqual([1, size, (0xa1b2c3d4 & mask) >>> 0]);
      expect(finish(u)).toBe(0);
      complete(u);
      expect(regLo(u.h, RAX, u.v) >>> 0).toBe(0xa1b2c3d4); // a write changes no register
      pio(u, DM_PORT, size, true, 0x55555555, 0x66);
      expect(finish(u, 0xffeeddcc)).toBe(0);
      complete(u);
      const want = size === 4 ? [0, 0xffeeddcc] : [0x66, ((0x55555555 & ~mask) | (0xffeeddcc & mask)) >>> 0];
      expect([regHi(u.h, RAX, u.v), regLo(u.h, RAX, u.v) >>> 0], `size ${size}`).toEqual(want);
    }
  });

  it('ports the hypervisor emulates stay its own (COM1, the PIC); the reset ports and PM1a_CNT are the DM\'s', () => {
    const u = user();
    pio(u, 0x3f8 + 7, 1, false, 0x5a); // COM1 scratch register
    pio(u, 0x21, 1, true);
    expect([u.v.state, u.v.ioreq.sent]).toEqual([VCPU_RUNNABLE, 0]);
    pio(u, 0xcf9, 1, false, 0x06);
    expect([slot(u, BODY + A.PIO_REQUEST_ADDRESS), slot(u, BODY + A.PIO_REQUEST_VALUE), u.vm.powerRequest]).toEqual([0xcf9, 6, 0]);
  });

  it('a triple fault goes to the DM as an S5 write to PM1a_CNT (ACRN triple_fault_shutdown_vm)', () => {
    const u = user();
    load(u.h.env, u.v);
    runExit(u.h, { reason: F.EXIT_REASON_TRIPLE_FAULT }, u.v);
    expect([slot(u, BODY + A.PIO_REQUEST_DIRECTION), slot(u, BODY + A.PIO_REQUEST_ADDRESS), slot(u, BODY + A.PIO_REQUEST_SIZE),
      slot(u, BODY + A.PIO_REQUEST_VALUE), u.v.state]).toEqual([1, 0x404, 2, (5 << 10) | 0x2000, VCPU_WAIT_IO]);
    expect(u.h.m.output()).toContain('triple fault: S5 sent to its device model');
  });

  it('the upcall goes to the vector SET_CALLBACK_VECTOR chose', () => {
    const u = user();
    expect(call(u.h, A.HC_SET_CALLBACK_VECTOR, 0x40)).toBe(0);
    pio(u, DM_PORT, 1, true);
    expect([irrHas(u.h.vcpu, 0x40), irrHas(u.h.vcpu, A.HSM_DEFAULT_VECTOR)]).toEqual([true, false]);
    expect(UPCALL.vector).toBe(0x40);
  });
});

describe('PCI configuration requests', () => {
  it('CFC-CFF accesses to a function the vPCI lacks: PCICFG requests with bus, device, function and register', () => {
    const u = user();
    pio(u, 0xcf8, 4, false, 0x80001840 >>> 0); // 00:03.0 register 0x40
    expect(u.v.ioreq.sent).toBe(0); // CF8 itself is the hypervisor's
    pio(u, 0xcfe, 2, true, 0x77770000);
    const pci = (f: number): number => slot(u, BODY + f);
    expect([slot(u, A.IO_REQUEST_TYPE), pci(A.PIO_REQUEST_DIRECTION), pci(A.PCI_REQUEST_SIZE), pci(A.PCI_REQUEST_BUS),
      pci(A.PCI_REQUEST_DEV), pci(A.PCI_REQUEST_FUNC), pci(A.PCI_REQUEST_REG)]).toEqual([A.IOREQ_TYPE_PCICFG, 0, 2, 0, 3, 0, 0x42]);
    expect(finish(u, 0x1234abcd, 0, BODY + A.PCI_REQUEST_VALUE)).toBe(0);
    complete(u);
    expect(regLo(u.h, RAX, u.v) >>> 0).toBe(0x7777abcd);
    pio(u, 0xcf8, 4, false, 0x80011a04 >>> 0); // 01:03.2 register 4
    pio(u, 0xcfc, 4, false, 0xcafef00d);
    expect([pci(A.PIO_REQUEST_DIRECTION), pci(A.PCI_REQUEST_VALUE), pci(A.PCI_REQUEST_BUS), pci(A.PCI_REQUEST_DEV),
      pci(A.PCI_REQUEST_FUNC), pci(A.PCI_REQUEST_REG)]).toEqual([1, 0xcafef00d, 1, 3, 2, 4]);
    expect(finish(u)).toBe(0);
    complete(u);
    pio(u, 0xcfc, 4, true); // no fresh CF8: the latch was cleared, all ones from the hypervisor
    expect([u.v.ioreq.sent, regLo(u.h, RAX, u.v) >>> 0]).toEqual([2, 0xffffffff]);
  });
});

describe('MMIO requests', () => {
  /** The User VM in real mode at F000:FFF0 with `code` there, BX = the MMIO address. */
  function mmioUser(code: number[]): User {
    const u = user();
    load(u.h.env, u.v);
    expect(hcApplyPendingRegs(u.v)).toBe(true); // the power-up state: CS base 0xFFFF0000, IP 0xFFF0
    const page = u.h.svc.ramHpa + 0x380000;
    expect(u.vm.ept.map(0xffff0000 + 0xf000, page, 0x1000, EPT_RWX, EPT_MT_WB)).toBe(0);
    code.forEach((b, i) => w8(u.h, 0x380000 + 0xff0 + i, b));
    setReg(u.h, RBX, 0x8000, 0, u.v);
    return u;
  }

  it('a read waits for the DM; the instruction then runs with its value (mov eax, [bx])', () => {
    const u = mmioUser([0x66, 0x8b, 0x07]);
    setReg(u.h, RAX, 0x99999999, 0, u.v);
    runExit(u.h, { reason: F.EXIT_REASON_EPT_VIOLATION, qual: 0x181, gpa: 0x8000 }, u.v);
    expect([slot(u, A.IO_REQUEST_TYPE), slot(u, BODY + A.PIO_REQUEST_DIRECTION), slot(u, BODY + A.PIO_REQUEST_ADDRESS),
      slot(u, BODY + A.PIO_REQUEST_SIZE), u.v.state]).toEqual([A.IOREQ_TYPE_MMIO, 0, 0x8000, 4, VCPU_WAIT_IO]);
    expect(fieldLo(u.h.m, F.GUEST_RIP)).toBe(0xfff0); // not yet
    expect(regLo(u.h, RAX, u.v) >>> 0).toBe(0x99999999);
    expect(finish(u, 0x0badcafe, 0, BODY + A.MMIO_REQUEST_VALUE)).toBe(0);
    complete(u);
    expect([regLo(u.h, RAX, u.v) >>> 0, fieldLo(u.h.m, F.GUEST_RIP)]).toEqual([0x0badcafe, 0xfff3]);
  });

  it('a write carries its value and moves RIP at once (mov [bx], ax)', () => {
    const u = mmioUser([0x89, 0x07]);
    setReg(u.h, RAX, 0x12345678, 0, u.v);
    runExit(u.h, { reason: F.EXIT_REASON_EPT_VIOLATION, qual: 0x182, gpa: 0x8000 }, u.v);
    expect([slot(u, BODY + A.PIO_REQUEST_DIRECTION), slot(u, BODY + A.PIO_REQUEST_SIZE), slot(u, BODY + A.MMIO_REQUEST_VALUE),
      fieldLo(u.h.m, F.GUEST_RIP)]).toEqual([1, 2, 0x5678, 0xfff2]);
    expect(finish(u)).toBe(0);
    complete(u);
    expect(u.v.state).toBe(VCPU_RUNNABLE);
  });

  it('ECAM (0xE0000000) accesses to functions the vPCI lacks are the DM\'s too: an MMIO request', () => {
    const u = mmioUser([0x66, 0x8b, 0x07]);
    runExit(u.h, { reason: F.EXIT_REASON_EPT_VIOLATION, qual: 0x181, gpa: 0xe0018000 }, u.v); // 00:03.0 register 0
    expect([slot(u, A.IO_REQUEST_TYPE), slot(u, BODY + A.PIO_REQUEST_ADDRESS), u.v.state]).toEqual([A.IOREQ_TYPE_MMIO, 0xe0018000, VCPU_WAIT_IO]);
    expect(finish(u, 0xace08086, 0, BODY + A.MMIO_REQUEST_VALUE)).toBe(0);
    complete(u);
    expect(regLo(u.h, RAX, u.v) >>> 0).toBe(0xace08086);
  });

  it('an instruction that reads and writes device-model MMIO stops the VM (or [bx], ax)', () => {
    const u = mmioUser([0x09, 0x07]);
    runExit(u.h, { reason: F.EXIT_REASON_EPT_VIOLATION, qual: 0x183, gpa: 0x8000 }, u.v);
    expect(u.vm.state).toBe(VM_PAUSED);
    expect(u.h.m.output()).toContain('an instruction that reads and writes device-model MMIO is not supported');
  });
});

describe('wrong completions are refused (-1) and change nothing', () => {
  it('no request in flight, a slot not COMPLETE, another vCPU id, or a VM that is not post-launched', () => {
    const u = user();
    expect(call(u.h, A.HC_NOTIFY_REQUEST_FINISH, u.rel, 0)).toBe(-1); // idle slot
    setSlot(u, A.IO_REQUEST_PROCESSED, A.IOREQ_STATE_COMPLETE);
    expect(call(u.h, A.HC_NOTIFY_REQUEST_FINISH, u.rel, 0)).toBe(-1); // COMPLETE but nothing in flight
    pio(u, DM_PORT, 4, true);
    for (const state of [A.IOREQ_STATE_PENDING, A.IOREQ_STATE_PROCESSING, A.IOREQ_STATE_FREE, 7]) {
      setSlot(u, A.IO_REQUEST_PROCESSED, state);
      expect(call(u.h, A.HC_NOTIFY_REQUEST_FINISH, u.rel, 0), `state ${state}`).toBe(-1);
      expect(u.v.state).toBe(VCPU_WAIT_IO);
    }
    setSlot(u, A.IO_REQUEST_PROCESSED, A.IOREQ_STATE_COMPLETE);
    for (const id of [1, 15, 16, 0xffff, 0xffffffff]) expect(call(u.h, A.HC_NOTIFY_REQUEST_FINISH, u.rel, id)).toBe(-1);
    expect(call(u.h, A.HC_NOTIFY_REQUEST_FINISH, u.rel, 0, 0, undefined, 1)).toBe(-1); // param2 above 2^32
    expect(call(u.h, A.HC_NOTIFY_REQUEST_FINISH, 0, 0)).toBe(-A.ENOTTY); // the Service VM itself
    expect(call(u.h, A.HC_NOTIFY_REQUEST_FINISH, 5, 0)).toBe(-1); // an empty post-launched slot: powered off
    expect(u.v.state).toBe(VCPU_WAIT_IO);
    expect(call(u.h, A.HC_NOTIFY_REQUEST_FINISH, u.rel, 0)).toBe(0);
    expect(call(u.h, A.HC_NOTIFY_REQUEST_FINISH, u.rel, 0)).toBe(-1); // twice
  });

  it('garbage the DM writes over the request does not change what the access was', () => {
    const u = user();
    pio(u, DM_PORT, 1, true, 0xaabbccdd);
    for (let off = 0; off < A.IO_REQUEST_PROCESSED; off += 4) setSlot(u, off, 0xdeadbeef);
    expect(finish(u, 0x12)).toBe(0);
    complete(u);
    expect(regLo(u.h, RAX, u.v) >>> 0).toBe(0xaabbcc12); // still a byte IN
    pio(u, DM_PORT, 2, false, 0x4321); // the slot is the hypervisor's again: rewritten whole
    expect([slot(u, A.IO_REQUEST_TYPE), slot(u, A.IO_REQUEST_COMPLETION_POLLING), slot(u, BODY + A.PIO_REQUEST_ADDRESS),
      slot(u, BODY + A.PIO_REQUEST_SIZE), slot(u, BODY + A.PIO_REQUEST_VALUE)]).toEqual([0, 0, DM_PORT, 2, 0x4321]);
  });

  it('10,000 seeded random completions and page writes never throw, leave the vCPU waiting, and allocate nothing', () => {
    const u = user();
    pio(u, DM_PORT, 4, true);
    let seed = 0x2545f491;
    const rand = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    const heap = heapUsed();
    const pages = poolPages(0);
    for (let i = 0; i < 10000; i++) {
      setSlot(u, (rand() % 63) * 4, rand() % 5 === 0 ? A.IOREQ_STATE_PENDING : rand());
      setSlot(u, A.IO_REQUEST_PROCESSED, rand() % 8 === 0 ? A.IOREQ_STATE_PROCESSING : rand() | 4);
      const id = rand() % 4 === 0 ? rand() : rand() % 20;
      expect(call(u.h, A.HC_NOTIFY_REQUEST_FINISH, u.rel, id === 0 ? 1 : id)).toBe(-1);
    }
    expect([heapUsed(), poolPages(0)]).toEqual([heap, pages]);
    expect(u.v.state).toBe(VCPU_WAIT_IO);
    expect(finish(u, 7)).toBe(0);
    complete(u);
    expect(regLo(u.h, RAX, u.v)).toBe(7);
  });
});

describe('the lifecycle with a request in flight', () => {
  it('pause: the DM may still finish it, the vCPU stays off; reset: every slot FREE, no request left; start again works', () => {
    const u = user();
    pio(u, DM_PORT, 4, false, 1);
    expect(call(u.h, A.HC_PAUSE_VM, u.rel)).toBe(0);
    expect(u.v.state).toBe(VCPU_STOPPED);
    expect(finish(u)).toBe(0); // ACRN's DM finishes requests between pause and reset
    expect([u.v.state, u.v.ioreq.state]).toEqual([VCPU_STOPPED, IOREQ_FINISHED]);
    expect(call(u.h, A.HC_RESET_VM, u.rel)).toBe(0);
    expect([u.vm.state, u.v.ioreq.state, slot(u, A.IO_REQUEST_PROCESSED)]).toEqual([VM_CREATED, IOREQ_NONE, A.IOREQ_STATE_FREE]);
    expect(call(u.h, A.HC_NOTIFY_REQUEST_FINISH, u.rel, 0)).toBe(-1);
    expect(call(u.h, A.HC_START_VM, u.rel)).toBe(0);
    pio(u, DM_PORT, 4, false, 2);
    expect(slot(u, BODY + A.PIO_REQUEST_VALUE)).toBe(2);
    expect(finish(u)).toBe(0);
  });

  it('pause and reset without finishing: nothing stuck; destroy in flight frees the slot, and 50 cycles leak nothing', () => {
    const u = user();
    pio(u, DM_PORT, 4, true);
    expect(call(u.h, A.HC_PAUSE_VM, u.rel)).toBe(0);
    expect(call(u.h, A.HC_RESET_VM, u.rel)).toBe(0);
    expect([u.v.ioreq.state, slot(u, A.IO_REQUEST_PROCESSED)]).toEqual([IOREQ_NONE, A.IOREQ_STATE_FREE]);
    expect(call(u.h, A.HC_PAUSE_VM, u.rel)).toBe(0);
    expect(call(u.h, A.HC_DESTROY_VM, u.rel)).toBe(0);
    const heap = heapUsed();
    const pages = poolPages(0);
    for (let i = 0; i < 50; i++) {
      const { vm } = vmIn(u.h, 'running');
      expect(vm.state).not.toBe(VM_POWERED_OFF);
      pio(u, DM_PORT, 2, i % 2 === 0);
      expect(slot(u, A.IO_REQUEST_PROCESSED)).toBe(A.IOREQ_STATE_PENDING);
      expect(call(u.h, A.HC_PAUSE_VM, u.rel)).toBe(0);
      expect(call(u.h, A.HC_DESTROY_VM, u.rel)).toBe(0);
      expect(slot(u, A.IO_REQUEST_PROCESSED)).toBe(A.IOREQ_STATE_FREE);
    }
    expect([heapUsed(), poolPages(0)]).toEqual([heap, pages]);
    expect(setIoreq(u.h, u.rel)).toBe(-1); // powered off
  });

  it('once the Service VM is off, nothing goes to its DM: ports read all ones, MMIO stops the User VM', () => {
    const u = user();
    u.h.svc.state = VM_POWERED_OFF; // as after its own S5 (its pages stay where they were)
    pio(u, DM_PORT, 2, true, 0x12340000);
    expect([u.v.state, u.v.ioreq.sent, regLo(u.h, RAX, u.v) >>> 0]).toEqual([VCPU_RUNNABLE, 0, 0x1234ffff]);
    expect(slot(u, A.IO_REQUEST_PROCESSED)).toBe(A.IOREQ_STATE_FREE);
  });

  it('an INIT abandons its vCPU\'s request and frees the slot', () => {
    const u = user();
    pio(u, DM_PORT, 1, true);
    u.v.lapicSink.initSignal();
    expect([u.v.ioreq.state, slot(u, A.IO_REQUEST_PROCESSED)]).toEqual([IOREQ_NONE, A.IOREQ_STATE_FREE]);
    expect(call(u.h, A.HC_NOTIFY_REQUEST_FINISH, u.rel, 0)).toBe(-1);
  });
});
