// The Service VM fixture of the hypercall tests (hypercall.test.ts,
// ioreq.test.ts): a fixture VM (vm-fixture.ts) with 4 MiB of RAM at GPA 0
// that makes each hypercall through a planted VMCALL exit, its guest memory,
// and post-launched VMs made through the hypercalls.
import { expect } from 'vitest';
import type { SimMachine } from '../../arch/x86/sim-machine';
import * as F from '../../arch/x86/vmcs';
import { ExitInfo } from '../../arch/x86/vmexit-info';
import * as A from '../../hv/dm-hypercall/abi';
import { hcBindVmTable, hcConfigureSlot } from '../../hv/dm-hypercall/hc-state';
import type { Vcpu } from '../../hv/vm/vcpu';
import {
  type AcrnVm, LOAD_ORDER_POST, VM_CREATED, VM_PAUSED, VM_POWERED_OFF, VM_READY_TO_POWEROFF, VM_RUNNING,
} from '../../hv/vm/vm';
import { powerOffRtVm, SEVERITY_RTVM, SEVERITY_STANDARD_VM } from '../../hv/vm/vm-api';
import { addVm, type Env, load, makeEnv, R8, RAX, RDI, regHi, regLo, rip, RSI, runExit, setReg } from './vm-fixture';
import { POOL_BASE } from './machines';

// ---- a Service VM making hypercalls -------------------------------------------------------

export interface Hc {
  env: Env;
  m: SimMachine;
  svc: AcrnVm;
  vcpu: Vcpu;
  exit: ExitInfo;
  ram: number;
}

/** The machine with the Service VM (after a pre-launched VM in slot 0 when `preFirst`), the hypercall layer bound. */
export function makeHc(opts: { preFirst?: boolean; svcVcpus?: number; poolPages?: number } = {}): Hc {
  const pages = opts.poolPages ?? 0;
  const env = makeEnv(pages > 0 ? (m: SimMachine) => {
    m.setPool(POOL_BASE, pages);
    m.reserved[3].size = pages * 4096;
  } : undefined);
  if (opts.preFirst) addVm(env, { name: 'pre0' });
  const { vm, ram } = addVm(env, { serviceVm: true, name: 'sos', vcpus: opts.svcVcpus ?? 1 });
  hcBindVmTable(env.vms);
  return { env, m: env.m, svc: vm, vcpu: vm.vcpus[0], exit: new ExitInfo(), ram };
}

export const TWO32 = 4294967296;

/** RAX as a signed number. */
export function rax(h: { m: SimMachine; vcpu: Vcpu }, vcpu: Vcpu): number {
  const hi = regHi(h, RAX, vcpu);
  const lo = regLo(h, RAX, vcpu);
  expect(hi === 0 || (hi === 0xffffffff && lo >= 0x80000000)).toBe(true);
  return hi === 0 ? lo : lo - TWO32;
}

/** The Service VM's vCPU executes VMCALL with R8 = id, RDI = p1, RSI = p2 (each below 2^53 or as halves). */
export function call(h: Hc, id: number, p1 = 0, p2 = 0, idHi = 0, p1Hi?: number, p2Hi?: number, vcpu: Vcpu = h.vcpu): number {
  load(h.env, vcpu);
  setReg(h, R8, id, idHi, vcpu);
  setReg(h, RDI, p1 % TWO32, p1Hi ?? Math.floor(p1 / TWO32), vcpu);
  setReg(h, RSI, p2 % TWO32, p2Hi ?? Math.floor(p2 / TWO32), vcpu);
  const before = rip(h.m);
  runExit(h, { reason: F.EXIT_REASON_VMCALL, instLen: 3 }, vcpu);
  expect(h.m.currentVmcs).toBe(vcpu.vmcsPa); // the caller's VMCS is current again
  expect(h.env.sched.loadedVmcs).toBe(vcpu.vmcsPa);
  expect(rip(h.m)).toBe(before + 3);
  expect(vcpu.exceptionVector).toBe(-1);
  return rax(h, vcpu);
}

// Guest memory of the Service VM (RAM at GPA 0).
export function w8(h: Hc, gpa: number, v: number): void {
  h.m.writeByte(h.ram + gpa, v);
}
export function w16(h: Hc, gpa: number, v: number): void {
  w8(h, gpa, v & 0xff);
  w8(h, gpa + 1, (v >>> 8) & 0xff);
}
export function w32(h: Hc, gpa: number, v: number): void {
  for (let i = 0; i < 4; i++) w8(h, gpa + i, Math.floor(v / 2 ** (8 * i)) & 0xff);
}
export function w64(h: Hc, gpa: number, v: number): void {
  w32(h, gpa, v % TWO32);
  w32(h, gpa + 4, Math.floor(v / TWO32));
}
export function r8(h: Hc, gpa: number): number {
  return h.m.readByte(h.ram + gpa);
}
export function r16(h: Hc, gpa: number): number {
  return r8(h, gpa) + r8(h, gpa + 1) * 256;
}
export function r32(h: Hc, gpa: number): number {
  return r16(h, gpa) + r16(h, gpa + 2) * 65536;
}
export function fill(h: Hc, gpa: number, n: number, v = 0): void {
  for (let i = 0; i < n; i++) w8(h, gpa + i, v);
}

export const RAM_END = 0x400000;
export const CREATE_GPA = 0x200000;
export const IOREQ_PTR_GPA = 0x201000;
export const IOREQ_PAGE_GPA = 0x300000;
export const MSI_GPA = 0x202000;
export const REGS_GPA = 0x203000;
export const OUT_GPA = 0x204000;
export const SET_REGIONS_GPA = 0x205000;
export const REGIONS_GPA = 0x206000;

/** acrn_vm_creation at CREATE_GPA; CREATE_VM; the result and the vmid/vcpu_num written back. */
export function createVm(h: Hc, name = '', affinity = 0, flag = 0): { rc: number; vmid: number; vcpus: number } {
  fill(h, CREATE_GPA, A.VM_CREATION_SIZE);
  w16(h, CREATE_GPA + A.VM_CREATION_VMID, 0x5a5a);
  for (let i = 0; i < name.length; i++) w8(h, CREATE_GPA + A.VM_CREATION_NAME + i, name.charCodeAt(i));
  w64(h, CREATE_GPA + A.VM_CREATION_VM_FLAG, flag);
  w64(h, CREATE_GPA + A.VM_CREATION_CPU_AFFINITY, affinity);
  const rc = call(h, A.HC_CREATE_VM, CREATE_GPA);
  return { rc, vmid: r16(h, CREATE_GPA + A.VM_CREATION_VMID), vcpus: r16(h, CREATE_GPA + A.VM_CREATION_VCPU_NUM) };
}

export function setIoreq(h: Hc, rel: number, page = IOREQ_PAGE_GPA): number {
  w64(h, IOREQ_PTR_GPA, page);
  return call(h, A.HC_SET_IOREQ_BUFFER, rel, IOREQ_PTR_GPA);
}

export function vmOf(h: Hc, rel: number): AcrnVm {
  return h.env.vms.vms[A.abiRelToAbsVmid(h.svc.vmId, rel)];
}

export type State = 'off' | 'created' | 'running' | 'paused' | 'ready';
export const STATE_NUM: Record<State, number> = { off: VM_POWERED_OFF, created: VM_CREATED, running: VM_RUNNING, paused: VM_PAUSED, ready: VM_READY_TO_POWEROFF };

/** A post-launched VM in `state` in slot 1 (relative id 1), made through the hypercalls; `rt` makes it real-time. */
export function vmIn(h: Hc, state: State, rt = false): { vm: AcrnVm; rel: number } {
  expect(hcConfigureSlot(1, rt ? 'rtvm' : 'std', LOAD_ORDER_POST, rt ? SEVERITY_RTVM : SEVERITY_STANDARD_VM, 1, 0)).toBe(true);
  const vm = vmOf(h, 1);
  if (state === 'off') return { vm, rel: 1 };
  const c = createVm(h, rt ? 'rtvm' : 'std');
  expect([c.rc, c.vmid, c.vcpus]).toEqual([0, 1, 1]);
  if (state === 'created') return { vm, rel: 1 };
  if (state === 'paused') {
    expect(call(h, A.HC_PAUSE_VM, 1)).toBe(0);
    return { vm, rel: 1 };
  }
  expect(setIoreq(h, 1)).toBe(0);
  expect(call(h, A.HC_START_VM, 1)).toBe(0);
  if (state === 'running') return { vm, rel: 1 };
  expect(powerOffRtVm(vm)).toBe(0);
  return { vm, rel: 1 };
}

/** A valid 64-bit acrn_vcpu_regs at REGS_GPA for vCPU `vcpuId`. */
export function regs64(h: Hc, vcpuId = 0): void {
  fill(h, REGS_GPA, A.VCPU_REGS_SIZE);
  w16(h, REGS_GPA + A.VCPU_REGS_VCPU_ID, vcpuId);
  const r = REGS_GPA + A.VCPU_REGS_REGS;
  for (let i = 0; i < 16; i++) w64(h, r + A.abiGprOffset(i), 0x1000 * (i + 1) + i);
  w64(h, r + A.abiGprOffset(6), 0x12345678 * 4096 + 0x9abc); // RSI above 2^32
  w16(h, r + A.REGS_GDT + A.DESC_PTR_LIMIT, 0x27);
  w64(h, r + A.REGS_GDT + A.DESC_PTR_BASE, 0x5000);
  w16(h, r + A.REGS_IDT + A.DESC_PTR_LIMIT, 0xfff);
  w64(h, r + A.REGS_IDT + A.DESC_PTR_BASE, 0x6000);
  w64(h, r + A.REGS_RIP, 0x100200);
  w64(h, r + A.REGS_CS_BASE, 0);
  w64(h, r + A.REGS_CR0, 0x80050033);
  w64(h, r + A.REGS_CR4, 0x20);
  w64(h, r + A.REGS_CR3, 0x7000);
  w64(h, r + A.REGS_IA32_EFER, 0x500);
  w64(h, r + A.REGS_RFLAGS, 0x2c7); // CF PF ZF SF IF: the status flags go
  w32(h, r + A.REGS_CS_AR, 0xa09b);
  w32(h, r + A.REGS_CS_LIMIT, 0xffffffff);
  const sels = [0x10, 0x18, 0x18, 0x18, 0x18, 0x18, 0x28, 0x30];
  for (let i = 0; i < 8; i++) w16(h, r + A.REGS_CS_SEL + i * 2, sels[i]);
}

