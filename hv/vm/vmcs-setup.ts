// Building a vCPU's VMCS (SDM Vol. 3C chapter 25 "Virtual Machine Control
// Structures", 25.11 "Software Use of the VMCS"): VMCLEAR then VMPTRLD the
// region with the revision identifier in place, the host state (native), the
// controls derived at boot, the bitmaps and EPT pointer of the VM, and one of
// the guest entry states (guest-state.ts).
import { pageAlloc, pageFree, peek8, poke8, poke32, vmclear, vmcsHostSetup, vmptrld, vmwrite, thisCpu } from '../../arch/x86/intrinsics';
import {
  CPU_BASED_VM_EXEC_CONTROL, CR3_TARGET_COUNT, EPT_POINTER, EXCEPTION_BITMAP, IO_BITMAP_A, IO_BITMAP_B, MSR_BITMAP,
  PAGE_FAULT_ERROR_CODE_MASK, PAGE_FAULT_ERROR_CODE_MATCH, PIN_BASED_VM_EXEC_CONTROL, PROC_CR8_LOAD_EXITING,
  PROC_CR8_STORE_EXITING, PROC_MONITOR_EXITING, PROC_MWAIT_EXITING, SECONDARY_VM_EXEC_CONTROL, TSC_OFFSET,
  VIRTUAL_PROCESSOR_ID, VM_ENTRY_CONTROLS, VM_ENTRY_INTR_INFO, VM_ENTRY_MSR_LOAD_COUNT, VM_EXIT_CONTROLS,
  VM_EXIT_MSR_LOAD_COUNT, VM_EXIT_MSR_STORE_COUNT,
} from '../../arch/x86/vmcs';
import { CAP_PROCBASED } from '../../arch/x86/vmx-caps';
import type { Vcpu } from './vcpu';
import type { AcrnVm } from './vm';

/**
 * MSRs the guest reads and writes directly (bitmap bit 0): their state is in
 * the VMCS guest-state area (FS/GS base, SYSENTER_*) or switched with the vCPU
 * by the native run path (KERNEL_GS_BASE, STAR, LSTAR, CSTAR, FMASK, TSC_AUX).
 */
const PASSTHROUGH_MSRS = [0x174, 0x175, 0x176, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103];

/** Primary controls beyond the boot-time set: CR8 accesses and MONITOR/MWAIT exit. */
const EXTRA_PROC = (PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING | PROC_MWAIT_EXITING | PROC_MONITOR_EXITING) >>> 0;

function fillPage(pa: number, value: number): void {
  for (let off = 0; off < 4096; off += 4) poke32(pa + off, value);
}

/**
 * MSR bitmap (SDM Vol. 3C 25.6.9): read-low at 0, read-high (C0000000H-) at
 * 1024, write-low at 2048, write-high at 3072; one bit per MSR; 1 = exit.
 */
function clearMsrBit(bitmap: number, msr: number): void {
  const high = msr >= 0xc0000000;
  const bit = msr & 0x1fff;
  for (let write = 0; write < 2; write++) {
    const base = bitmap + write * 2048 + (high ? 1024 : 0);
    const at = base + (bit >>> 3);
    poke8(at, peek8(at) & ~(1 << (bit & 7)) & 0xff);
  }
}

/**
 * The VM's I/O and MSR bitmaps: every port exits (this VM owns no physical
 * port) and every MSR exits except the pass-through ones.
 * @returns false when the pool is exhausted (nothing is kept).
 */
export function allocateBitmaps(vm: AcrnVm): boolean {
  const a = pageAlloc();
  const b = a === 0 ? 0 : pageAlloc();
  const m = b === 0 ? 0 : pageAlloc();
  if (m === 0) {
    if (b !== 0) pageFree(b);
    if (a !== 0) pageFree(a);
    return false;
  }
  fillPage(a, 0xffffffff);
  fillPage(b, 0xffffffff);
  fillPage(m, 0xffffffff);
  for (let i = 0; i < PASSTHROUGH_MSRS.length; i++) clearMsrBit(m, PASSTHROUGH_MSRS[i]);
  vm.ioBitmapA = a;
  vm.ioBitmapB = b;
  vm.msrBitmap = m;
  return true;
}

/** The physical console UART the hypervisor owns (COM1): never passed through. */
export const HOST_CONSOLE_PORT = 0x3f8;
export const HOST_CONSOLE_PORTS = 8;

/**
 * The Service VM's I/O bitmap (ACRN-ABI.md, "Devices and memory"): every port
 * passes through (its bit clear: SDM Vol. 3C 25.6.4, a clear bit means the
 * access does not exit) except the ports a device in the VM's I/O registry
 * emulates and the ones the hypervisor owns (its console UART). Call it after
 * the VM's devices have registered their ports.
 */
export function passThroughUnclaimedPorts(vm: AcrnVm): void {
  const a = vm.ioBitmapA;
  const b = vm.ioBitmapB;
  if (a === 0 || b === 0) return;
  fillPage(a, 0);
  fillPage(b, 0);
  trapPorts(vm, HOST_CONSOLE_PORT, HOST_CONSOLE_PORTS);
  const io = vm.io;
  for (let slot = 0; slot < io.portCount.length; slot++) {
    const n = io.portCount[slot];
    if (n !== 0) trapPorts(vm, io.portFirst[slot], n);
  }
}

/** Make ports [first, first + count) exit (set their bits in bitmap A or B). */
function trapPorts(vm: AcrnVm, first: number, count: number): void {
  for (let port = first; port < first + count && port < 0x10000; port++) {
    const page = port < 0x8000 ? vm.ioBitmapA : vm.ioBitmapB;
    const bit = port & 0x7fff;
    const at = page + (bit >>> 3);
    poke8(at, (peek8(at) | (1 << (bit & 7))) & 0xff);
  }
}

export function releaseBitmaps(vm: AcrnVm): void {
  if (vm.msrBitmap !== 0) pageFree(vm.msrBitmap);
  if (vm.ioBitmapB !== 0) pageFree(vm.ioBitmapB);
  if (vm.ioBitmapA !== 0) pageFree(vm.ioBitmapA);
  vm.msrBitmap = 0;
  vm.ioBitmapB = 0;
  vm.ioBitmapA = 0;
}

/**
 * Initialise and load the vCPU's VMCS with everything but the guest state.
 * @pre the vCPU's pages are allocated; the VM's EPT and bitmaps exist.
 * @returns 0, or the failing VMX instruction's status.
 */
export function setupVmcs(vcpu: Vcpu): number {
  const vm = vcpu.vm;
  const caps = vm.platform.caps;
  const c = vm.platform.controls;
  poke32(vcpu.vmcsPa, caps.vmcsRevision()); // SDM 25.2: revision id in bits 30:0, bit 31 = 0
  let rc = vmclear(vcpu.vmcsPa);
  if (rc !== 0) return rc;
  rc = vmptrld(vcpu.vmcsPa);
  if (rc !== 0) return rc;
  vcpu.sched.loadedVmcs = vcpu.vmcsPa;
  vcpu.launched = false;
  rc |= vmcsHostSetup();
  vcpu.hostPcpu = thisCpu();
  const proc = ((c.proc | (EXTRA_PROC & caps.mayBeOne(CAP_PROCBASED))) | caps.mustBeOne(CAP_PROCBASED)) >>> 0;
  vcpu.procControls = proc;
  rc |= vmwrite(PIN_BASED_VM_EXEC_CONTROL, 0, c.pin);
  rc |= vmwrite(CPU_BASED_VM_EXEC_CONTROL, 0, proc);
  rc |= vmwrite(SECONDARY_VM_EXEC_CONTROL, 0, c.proc2);
  rc |= vmwrite(VM_EXIT_CONTROLS, 0, c.exit);
  rc |= vmwrite(VM_ENTRY_CONTROLS, 0, c.entry);
  rc |= vmwrite(EXCEPTION_BITMAP, 0, 0);
  rc |= vmwrite(PAGE_FAULT_ERROR_CODE_MASK, 0, 0);
  rc |= vmwrite(PAGE_FAULT_ERROR_CODE_MATCH, 0, 0);
  rc |= vmwrite(CR3_TARGET_COUNT, 0, 0);
  rc |= vmwrite(VM_EXIT_MSR_STORE_COUNT, 0, 0);
  rc |= vmwrite(VM_EXIT_MSR_LOAD_COUNT, 0, 0);
  rc |= vmwrite(VM_ENTRY_MSR_LOAD_COUNT, 0, 0);
  rc |= vmwrite(VM_ENTRY_INTR_INFO, 0, 0);
  rc |= vmwrite(TSC_OFFSET, 0, 0);
  rc |= vmwrite(IO_BITMAP_A, 0, vm.ioBitmapA);
  rc |= vmwrite(IO_BITMAP_B, 0, vm.ioBitmapB);
  rc |= vmwrite(MSR_BITMAP, 0, vm.msrBitmap);
  rc |= vmwrite(EPT_POINTER, vm.ept.eptpHi(), vm.ept.eptpLo());
  rc |= vmwrite(VIRTUAL_PROCESSOR_ID, 0, vm.vpidOf(vcpu.id));
  return rc;
}
