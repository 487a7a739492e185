// ACRN's VM lifecycle APIs (hypervisor/arch/x86/guest/vm.c: create_vm,
// start_vm, pause_vm, reset_vm, shutdown_vm) with the guards of ACRN-ABI.md,
// "VM states and API guards":
//
//   createVm    POWERED_OFF -> CREATED            else -1; a failure leaves it OFF
//   startVm     CREATED -> RUNNING (BSP runnable)  @pre CREATED, else -1
//   pauseVm     RUNNING/CREATED/READY_TO_POWEROFF -> PAUSED; -1 only when OFF;
//               a running real-time VM is not paused (0, still RUNNING)
//   resetVm     PAUSED -> CREATED (vCPUs cold reset by their pCPUs, devices)  else -1
//   shutdownVm  PAUSED -> POWERED_OFF (devices, I/O handlers, EPT, vCPUs torn down) else -1
//   powerOffRtVm  a real-time VM's own power-off: RUNNING -> READY_TO_POWEROFF
//
// The guards are vm-state.ts's pure table. Each returns 0 or -1 and never
// throws. What a VM owns comes from the page pool (VMCS, context and XSAVE
// pages, EPT tables, bitmaps) and goes back to it on shutdown; the VM's
// objects themselves (vCPUs, devices) were built with its slot at init, so
// none of this allocates on the TypeScript heap.
// Guest RAM and images are the loader's (and for post-launched VMs the
// Service VM's memory-region hypercalls), after createVm.
import { LOG_INFO, log } from '../log';
import type { Scheduler } from './sched';
import { allocateBitmaps, releaseBitmaps, setupVmcs } from './vmcs-setup';
import {
  VM_API_CREATE, VM_API_PAUSE, VM_API_POWEROFF_RT, VM_API_REFUSED, VM_API_RESET, VM_API_SHUTDOWN, VM_API_START,
  vmApiNextState,
} from './vm-state';
import { VCPU_INIT, VCPU_OFFLINE } from './vcpu';
import { ioreqResetAll } from './ioreq';
import { LAPIC_MMIO_GPA, LAPIC_MMIO_SIZE } from './vcpu-lapic';
import {
  type AcrnVm, LOAD_ORDER_POST, POWER_NONE, LOAD_ORDER_PRE, LOAD_ORDER_SERVICE, MAX_VCPUS_PER_VM, VM_CREATED, VM_PAUSED,
  VM_POWERED_OFF, VM_READY_TO_POWEROFF, VM_RUNNING, VM_STATE_NAMES,
} from './vm';

/** ACRN's severities (vm_config.h): the highest-severity VM's reset resets the host. */
export const SEVERITY_SAFETY_VM = 0x40;
export const SEVERITY_RTVM = 0x30;
export const SEVERITY_SERVICE_VM = 0x20;
export const SEVERITY_STANDARD_VM = 0x10;

/** What createVm needs (a reused object: fill it, then call). */
export class VmCreateParams {
  name = '';
  loadOrder = LOAD_ORDER_POST;
  severity = SEVERITY_STANDARD_VM;
  vcpus = 1;
  /** vuarts to give (vuart 0 is the console). */
  vuarts = 1;
  /** Where each vCPU runs (ACRN's cpu_affinity, one pCPU per vCPU); null: the VM's scheduler. */
  readonly vcpuSched: (Scheduler | null)[] = [null, null, null, null];
}

/** The VM is real-time (ACRN's is_rt_vm; by severity here). */
export function isRtVm(vm: AcrnVm): boolean {
  return vm.severity === SEVERITY_RTVM;
}

/** One log line per state transition: "vm<id> (<name>): <from> -> <to>". */
function transition(vm: AcrnVm, to: number): void {
  const from = vm.state;
  vm.state = to;
  log.begin(LOG_INFO);
  log.str('vm');
  log.dec(vm.vmId);
  log.str(' (');
  log.str(vm.name);
  log.str('): ');
  log.str(VM_STATE_NAMES[from]);
  log.str(' -> ');
  log.str(VM_STATE_NAMES[to]);
  log.end();
}

/** Give back everything createVm took, in reverse (also after a partial create). */
function teardown(vm: AcrnVm): void {
  vm.devices.deinit();
  vm.io.clear();
  for (let i = 0; i < MAX_VCPUS_PER_VM; i++) {
    const v = vm.vcpus[i];
    if (v.state === VCPU_OFFLINE) continue;
    v.sched.unassign(v);
    v.coldResetPending = false;
    v.release(); // forgets the VMCS in its scheduler (retired there when current on another pCPU)
  }
  vm.vcpuCount = 0;
  vm.powerRequest = POWER_NONE;
  vm.imageLoader = null;
  ioreqResetAll(vm);
  vm.ioreqServiceVm = null;
  vm.ioreqBufferSet = false;
  vm.ioreqBufferGpa = 0;
  vm.ioreqBufferHpa = 0;
  releaseBitmaps(vm);
  vm.ept.destroy();
}

/**
 * POWERED_OFF -> CREATED: vCPUs (VMCS, context, XSAVE pages), EPT root, I/O
 * and MSR bitmaps, devices and the vLAPICs' xAPIC page. The vCPUs wait: vCPU 0 for startVm, the others
 * for INIT-SIPI-SIPI from it.
 */
export function createVm(vm: AcrnVm, p: VmCreateParams): number {
  if (vmApiNextState(VM_API_CREATE, vm.state, p.severity === SEVERITY_RTVM) === VM_API_REFUSED) return -1;
  if (!(p.vcpus >= 1 && p.vcpus <= MAX_VCPUS_PER_VM)) return -1;
  vm.name = p.name;
  vm.loadOrder = p.loadOrder;
  vm.severity = p.severity;
  vm.stopReason = '';
  vm.testVm = false;
  vm.vcpuid.build(p.loadOrder === LOAD_ORDER_SERVICE, vm.platform.tscKhz);
  vm.configureWalker();
  let ok = vm.ept.init() && allocateBitmaps(vm);
  for (let i = 0; ok && i < p.vcpus; i++) {
    const v = vm.vcpus[i];
    ok = v.allocate();
    if (!ok) break;
    vm.vcpuCount = i + 1;
    const placed = p.vcpuSched[i];
    v.sched = placed !== null ? placed : vm.scheduler;
    ok = v.sched.assign(v) && setupVmcs(v) === 0;
    v.state = VCPU_INIT;
    v.waitingForSipi = i > 0;
  }
  ok = ok && vm.devices.init(p.vuarts, p.loadOrder === LOAD_ORDER_PRE, p.loadOrder !== LOAD_ORDER_SERVICE,
    p.loadOrder === LOAD_ORDER_POST, p.severity === SEVERITY_RTVM);
  ok = ok && vm.io.registerMmio(LAPIC_MMIO_GPA, LAPIC_MMIO_SIZE, vm.lapicMmio);
  if (!ok) {
    teardown(vm);
    return -1;
  }
  transition(vm, VM_CREATED);
  return 0;
}

/** CREATED -> RUNNING: the BSP joins its pCPU's run queue (ACRN start_vm: @pre CREATED). */
export function startVm(vm: AcrnVm): number {
  if (vmApiNextState(VM_API_START, vm.state, isRtVm(vm)) === VM_API_REFUSED || vm.vcpuCount === 0) return -1;
  transition(vm, VM_RUNNING);
  const bsp = vm.vcpus[0];
  bsp.waitingForSipi = false;
  bsp.sched.wake(bsp);
  return 0;
}

/** Take every vCPU of the VM off its run queue (ACRN zombie_vcpu). */
function stopVcpus(vm: AcrnVm): void {
  for (let i = 0; i < vm.vcpuCount; i++) {
    const v = vm.vcpus[i];
    v.sched.stop(v);
  }
}

/** -> PAUSED. -1 only when POWERED_OFF; a running real-time VM is left running (0). */
export function pauseVm(vm: AcrnVm): number {
  const next = vmApiNextState(VM_API_PAUSE, vm.state, isRtVm(vm));
  if (next === VM_API_REFUSED) return -1;
  if (next === vm.state) return 0; // already paused, or a running real-time VM
  stopVcpus(vm);
  transition(vm, VM_PAUSED);
  return 0;
}

/**
 * PAUSED -> CREATED: cold reset of the vCPUs and of the devices. Pending
 * events, the vLAPICs and the startup signals go at once; the VMCS, the
 * power-up registers and (for VMs the hypervisor launched) the images are
 * rewritten by the pCPU that runs each vCPU before its next entry
 * (vcpu-reset.ts: the VMCS may still be current there).
 */
export function resetVm(vm: AcrnVm): number {
  if (vmApiNextState(VM_API_RESET, vm.state, isRtVm(vm)) === VM_API_REFUSED) return -1;
  for (let i = 0; i < vm.vcpuCount; i++) {
    const v = vm.vcpus[i];
    v.clearEvents();
    v.vlapic.reset(v.id, v.id === 0);
    v.pendingInit = false;
    v.pendingSipiVector = -1;
    v.pendingExtInt = false;
    v.waitingForSipi = i > 0;
    v.state = VCPU_INIT;
    v.launched = false;
    v.coldResetPending = true;
  }
  ioreqResetAll(vm);
  vm.devices.reset();
  vm.stopReason = '';
  vm.powerRequest = POWER_NONE;
  transition(vm, VM_CREATED);
  return 0;
}

/** PAUSED -> POWERED_OFF: everything the VM owns goes back. */
export function shutdownVm(vm: AcrnVm): number {
  if (vmApiNextState(VM_API_SHUTDOWN, vm.state, isRtVm(vm)) === VM_API_REFUSED) return -1;
  teardown(vm);
  transition(vm, VM_POWERED_OFF);
  return 0;
}

/** A real-time VM powered itself off (S5): RUNNING -> READY_TO_POWEROFF; the DM then pauses and destroys it. */
export function powerOffRtVm(vm: AcrnVm): number {
  if (vmApiNextState(VM_API_POWEROFF_RT, vm.state, isRtVm(vm)) === VM_API_REFUSED) return -1;
  stopVcpus(vm);
  transition(vm, VM_READY_TO_POWEROFF);
  return 0;
}
