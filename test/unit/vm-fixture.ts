// A whole VM in memory for the VMX-core unit tests (DESIGN.md style rule 8):
// the Bochs corei7_skylake_x machine in VMX root operation, a Platform from its
// capability MSRs, one Scheduler, the VmTable, and VMs with their vCPUs
// allocated, EPT mapping 4 MiB of carved guest RAM at GPA 0, bitmaps, a VMCS per
// vCPU set up and holding one of the entry states. Then helpers to plant a VM
// exit in the current VMCS (what the CPU would record, SDM Vol. 3C 28.2), decode
// it and dispatch it, and to read guest registers and VMCS fields straight from
// the simulated machine (never through the code under test).
import { expect } from 'vitest';
import { CpuInfo } from '../../arch/x86/cpu';
import { EPT_MT_WB, EPT_RWX } from '../../arch/x86/ept';
import { vmptrld } from '../../arch/x86/intrinsics';
import { COM1_BASE, Uart16550 } from '../../arch/x86/serial';
import type { SimMachine } from '../../arch/x86/sim-machine';
import * as F from '../../arch/x86/vmcs';
import { ExitInfo } from '../../arch/x86/vmexit-info';
import { computeVmcsControls, ROOT_OK, VmxRoot } from '../../arch/x86/vmx';
import { CAP_MISC, VmxCaps } from '../../arch/x86/vmx-caps';
import { LOG_INFO, log } from '../../hv/log';
import { DEBUG_CONSOLE_PORT, TEST_CONTROL_PORT } from '../../hv/vm/debug-port';
import { setGuestLongMode64, setGuestProtected32, setGuestRealModeReset } from '../../hv/vm/guest-state';
import { WIDTH_ANY } from '../../hv/vm/io-emul';
import { Platform } from '../../hv/vm/platform';
import { Scheduler } from '../../hv/vm/sched';
import type { Vcpu } from '../../hv/vm/vcpu';
import { LOAD_ORDER_PRE, LOAD_ORDER_SERVICE, VM_RUNNING, type AcrnVm } from '../../hv/vm/vm';
import { VmTable } from '../../hv/vm/vm-table';
import { allocateBitmaps, setupVmcs } from '../../hv/vm/vmcs-setup';
import { dispatchExit } from '../../hv/vm/vmexit';
import { bochsSkylakeX } from './machines';

export const GUEST_RAM = 4 * 1024 * 1024;
/** Guest page tables of the long64 state (identity map of [0, 1 GiB) with 2 MiB pages). */
export const PML4_GPA = 0x1000;
const PDPT_GPA = 0x2000;
const PD_GPA = 0x3000;
export const ENTRY_RIP = 0x100000;
export const TSC_KHZ = 3300000;

/** GPR numbering of Table 28-3 (and the context page): RAX 0 .. R15 15. */
export const RAX = 0;
export const RCX = 1;
export const RDX = 2;
export const RBX = 3;
export const RSP = 4;
export const RBP = 5;
export const RSI = 6;
export const RDI = 7;
export const R8 = 8;
export const R9 = 9;
export const R11 = 11;
export const R13 = 13;

export type EntryState = 'long64' | 'prot32' | 'real16';

export interface Env {
  m: SimMachine;
  caps: VmxCaps;
  platform: Platform;
  sched: Scheduler;
  vms: VmTable;
}

export interface VmOptions {
  name?: string;
  vcpus?: number;
  serviceVm?: boolean;
  state?: EntryState;
  /** Register the debug console (0xE9) and test control (0xEA) ports as test-vms.ts does. */
  devices?: boolean;
}

export interface Fixture extends Env {
  vm: AcrnVm;
  vcpu: Vcpu;
  /** Host-physical base of the VM's guest RAM (GPA 0). */
  ram: number;
  exit: ExitInfo;
}

/** The machine in VMX root operation with a Platform, a Scheduler and the VM table. */
export function makeEnv(edit?: (m: SimMachine) => void): Env {
  const m = bochsSkylakeX();
  m.cr[0] = 0x80000031; // PG | NE | ET | PE, as the boot code leaves it
  m.cr[4] = 0x20;
  if (edit) edit(m);
  const uart = new Uart16550(COM1_BASE);
  uart.init();
  log.attach(uart);
  log.level = LOG_INFO;
  m.strayWrites.length = 0; // the divisor-latch write of uart.init()
  const cpu = new CpuInfo();
  cpu.read();
  const caps = new VmxCaps();
  caps.probe(cpu);
  expect(new VmxRoot().enable(caps)).toBe(ROOT_OK);
  const platform = new Platform(caps, computeVmcsControls(caps));
  platform.preemptionShift = caps.msrLo(CAP_MISC) & 0x1f;
  platform.tscKhz = TSC_KHZ;
  const sched = new Scheduler(0);
  const vms = new VmTable(sched, platform);
  return { m, caps, platform, sched, vms };
}

function poke64(m: SimMachine, pa: number, hiHalf: number, loHalf: number): void {
  m.poke(pa, 8, hiHalf, loHalf);
}

/**
 * Create and start a VM in the lowest free slot: 4 MiB of RAM at GPA 0, its
 * vCPUs on the run queue in id order, vCPU 0's VMCS loaded at the end.
 */
export function addVm(env: Env, opts: VmOptions = {}): { vm: AcrnVm; ram: number } {
  const { m, platform, sched, vms } = env;
  const vm = vms.freeSlot();
  if (vm === null) throw new Error('no free VM slot');
  const n = opts.vcpus ?? 1;
  const state = opts.state ?? 'long64';
  vm.name = opts.name ?? 'test';
  vm.loadOrder = opts.serviceVm ? LOAD_ORDER_SERVICE : LOAD_ORDER_PRE;
  vm.vcpuid.build(opts.serviceVm === true, platform.tscKhz);
  vm.configureWalker();
  const ram = m.guestRamCarve(GUEST_RAM);
  vm.ramHpa = ram;
  vm.ramSize = GUEST_RAM;
  expect(vm.ept.init()).toBe(true);
  expect(vm.ept.map(0, ram, GUEST_RAM, EPT_RWX, EPT_MT_WB)).toBe(0);
  expect(allocateBitmaps(vm)).toBe(true);
  if (opts.devices) {
    vm.io.registerPio(DEBUG_CONSOLE_PORT, 1, WIDTH_ANY, vm.debugConsole);
    vm.io.registerPio(TEST_CONTROL_PORT, 1, WIDTH_ANY, vm.testControl);
  }
  if (state === 'long64') {
    // SDM Vol. 3A 4.5: PML4E -> PDPTE -> PDEs with PS (bit 7), P|RW.
    poke64(m, ram + PML4_GPA, 0, PDPT_GPA | 3);
    poke64(m, ram + PDPT_GPA, 0, PD_GPA | 3);
    for (let i = 0; i < 512; i++) poke64(m, ram + PD_GPA + i * 8, 0, ((i * 0x200000) | 0x83) >>> 0);
  }
  for (let i = 0; i < n; i++) {
    const v = vm.vcpus[i];
    expect(v.allocate()).toBe(true);
    expect(sched.assign(v)).toBe(true);
    expect(setupVmcs(v)).toBe(0);
    const caps = platform.caps;
    const rc = state === 'long64' ? setGuestLongMode64(caps, ENTRY_RIP, PML4_GPA, 0x80000)
      : state === 'prot32' ? setGuestProtected32(caps, ENTRY_RIP) : setGuestRealModeReset(caps);
    expect(rc).toBe(0);
  }
  vm.vcpuCount = n;
  vm.state = VM_RUNNING;
  for (let i = 0; i < n; i++) sched.wake(vm.vcpus[i]);
  load(env, vm.vcpus[0]);
  return { vm, ram };
}

/** A machine with one VM (vCPU 0's VMCS current). */
export function makeFixture(opts: VmOptions = {}, edit?: (m: SimMachine) => void): Fixture {
  const env = makeEnv(edit);
  const { vm, ram } = addVm(env, opts);
  return { ...env, vm, vcpu: vm.vcpus[0], ram, exit: new ExitInfo() };
}

/** Make `vcpu`'s VMCS the current one (as the run loop does before entry). */
export function load(env: Env, vcpu: Vcpu): void {
  expect(vmptrld(vcpu.vmcsPa)).toBe(0);
  env.sched.loadedVmcs = vcpu.vmcsPa;
}

// ---- the VMCS, read and written on the simulated machine directly --------------------

function store(m: SimMachine, vmcsPa: number): Map<number, [number, number]> {
  const s = m.vmcsStores.get(vmcsPa);
  if (!s) throw new Error('no VMCS store at 0x' + vmcsPa.toString(16));
  return s;
}

/** Write a field of the current VMCS as halves. */
export function setField(m: SimMachine, field: number, hiHalf: number, loHalf: number): void {
  store(m, m.currentVmcs).set(field, [hiHalf >>> 0, loHalf >>> 0]);
}

/** Low half of a field of `vcpu`'s VMCS (current VMCS when omitted). */
export function fieldLo(m: SimMachine, field: number, vcpu?: Vcpu): number {
  return (store(m, vcpu ? vcpu.vmcsPa : m.currentVmcs).get(field) ?? [0, 0])[1];
}
export function fieldHi(m: SimMachine, field: number, vcpu?: Vcpu): number {
  return (store(m, vcpu ? vcpu.vmcsPa : m.currentVmcs).get(field) ?? [0, 0])[0];
}

// ---- guest GPRs in the context page (offset index * 8, ACRN order) ----------------------

function readU32(m: SimMachine, pa: number): number {
  return (m.readByte(pa) | (m.readByte(pa + 1) << 8) | (m.readByte(pa + 2) << 16) | (m.readByte(pa + 3) << 24)) >>> 0;
}

export function setReg(f: { m: SimMachine; vcpu: Vcpu }, index: number, loHalf: number, hiHalf = 0, vcpu = f.vcpu): void {
  f.m.poke(vcpu.ctxPa + index * 8, 8, hiHalf >>> 0, loHalf >>> 0);
}
export function regLo(f: { m: SimMachine; vcpu: Vcpu }, index: number, vcpu = f.vcpu): number {
  return readU32(f.m, vcpu.ctxPa + index * 8);
}
export function regHi(f: { m: SimMachine; vcpu: Vcpu }, index: number, vcpu = f.vcpu): number {
  return readU32(f.m, vcpu.ctxPa + index * 8 + 4);
}

/** Bytes of guest RAM at `gpa` (inside the 4 MiB at GPA 0). */
export function guestBytes(f: Fixture, gpa: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(f.m.readByte(f.ram + gpa + i));
  return out;
}
export function setGuestBytes(f: Fixture, gpa: number, bytes: number[]): void {
  for (let i = 0; i < bytes.length; i++) f.m.writeByte(f.ram + gpa + i, bytes[i]);
}

// ---- planting an exit ------------------------------------------------------------------

/** What the CPU records on one VM exit (SDM Vol. 3C 28.2); omitted fields are 0. */
export interface ExitSpec {
  reason: number;
  entryFailure?: boolean;
  /** Raw VM_EXIT_REASON bits besides reason and bit 31. */
  reasonExtra?: number;
  qual?: number;
  qualHi?: number;
  instLen?: number;
  instInfo?: number;
  intrInfo?: number;
  intrError?: number;
  idtVectoring?: number;
  idtError?: number;
  gpa?: number;
  linearLo?: number;
  linearHi?: number;
  /** Guest state: left as it is unless given. */
  rip?: number;
  ripHi?: number;
  rflags?: number;
  interruptibility?: number;
}

/** Write one exit's information fields into the current VMCS. */
export function plantExit(m: SimMachine, s: ExitSpec): void {
  const raw = ((s.reason & 0xffff) | (s.reasonExtra ?? 0) | (s.entryFailure ? 0x80000000 : 0)) >>> 0;
  setField(m, F.VM_EXIT_REASON, 0, raw);
  setField(m, F.EXIT_QUALIFICATION, s.qualHi ?? 0, s.qual ?? 0);
  setField(m, F.VM_EXIT_INSTRUCTION_LEN, 0, s.instLen ?? 0);
  setField(m, F.VM_EXIT_INSTRUCTION_INFO, 0, s.instInfo ?? 0);
  setField(m, F.VM_EXIT_INTR_INFO, 0, s.intrInfo ?? 0);
  setField(m, F.VM_EXIT_INTR_ERROR_CODE, 0, s.intrError ?? 0);
  setField(m, F.IDT_VECTORING_INFO, 0, s.idtVectoring ?? 0);
  setField(m, F.IDT_VECTORING_ERROR_CODE, 0, s.idtError ?? 0);
  const gpa = s.gpa ?? 0;
  setField(m, F.GUEST_PHYSICAL_ADDRESS, Math.floor(gpa / 4294967296), gpa % 4294967296);
  setField(m, F.GUEST_LINEAR_ADDRESS, s.linearHi ?? 0, s.linearLo ?? 0);
  if (s.rip !== undefined) setField(m, F.GUEST_RIP, s.ripHi ?? 0, s.rip);
  if (s.rflags !== undefined) setField(m, F.GUEST_RFLAGS, 0, s.rflags);
  if (s.interruptibility !== undefined) setField(m, F.GUEST_INTERRUPTIBILITY_INFO, 0, s.interruptibility);
}

/** Plant an exit in `vcpu`'s (current) VMCS, decode it and dispatch it. */
export function runExit(f: { m: SimMachine; exit: ExitInfo; vcpu: Vcpu }, s: ExitSpec, vcpu: Vcpu = f.vcpu): ExitInfo {
  plantExit(f.m, s);
  f.exit.decode();
  dispatchExit(vcpu, f.exit);
  return f.exit;
}

/** GUEST_RIP of the current VMCS as one number (below 2^53). */
export function rip(m: SimMachine): number {
  return fieldHi(m, F.GUEST_RIP) * 4294967296 + fieldLo(m, F.GUEST_RIP);
}
