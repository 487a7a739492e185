// Hypercall dispatch (ACRN hypervisor/arch/x86/guest/vmcall.c): a const table
// indexed by id & 0xFF, every one of the 256 slots filled explicitly, as
// parallel arrays: the handler, its permission flags (which VMs may call it)
// and how its target VM is found (ACRN parse_target_vm).
//
// The VMCALL exit (hv/vm/exits/misc-exits.ts vmcallExit) has already:
//   - injected #UD when the caller is not the Service VM,
//   - injected #GP(0) when the caller's CPL (SS.DPL) is not 0,
//   - advanced RIP past the VMCALL,
// in ACRN's order, and calls hcDispatch(vcpu) for the rest:
//   R8 = id, RDI = param1, RSI = param2 (64-bit halves), result to RAX as a
//   sign-extended 64-bit integer.
// An id is valid only as 0x00000000_800000nn with a handler at nn (ACRN
// indexes by id & 0xFF whatever the upper bits are; here those ids are
// unknown). Unknown ids, ids ACRN has that are not implemented yet
// (VM_INTR_MONITOR, WRITE_PROTECT_PAGE, the PCI/ptdev
// and vdev calls, the trusty and debug ones), a caller the slot's permission
// does not allow, and a missing, pre-launched or Service VM target all answer
// -ENOTTY (ACRN dispatch_hypercall's default).
//
// Targets:
//   TARGET_SELF     the Service VM (GET_API_VERSION, SERVICE_VM_OFFLINE_CPU,
//                   SET_CALLBACK_VECTOR, GET_HW_INFO)
//   TARGET_PARAM1   param1 bits 15:0: a VM id relative to the Service VM
//                   (hc-util.ts hcTargetVm: absolute = service + rel, mod 2^16)
//   TARGET_HANDLER  the handler finds it in its own copied structure
//                   (CREATE_VM by name, VM_SET_MEMORY_REGIONS by the vmid in
//                   set_regions, PM_GET_CPU_STATE by param1 bits 31:24)
//
// CREATE_VM and RESET_VM (re)initialise the target's VMCSs, which loads them
// on this pCPU (vmcs-setup.ts setupVmcs): those slots carry HC_F_LOADS_VMCS
// and the caller's VMCS is loaded back before returning to the run loop.
// Nothing here allocates, throws or logs.
import { vmptrld } from '../../arch/x86/intrinsics';
import type { Vcpu } from '../vm/vcpu';
import type { AcrnVm } from '../vm/vm';
import {
  abiRaxHi, abiRaxLo, ENOTTY, HC_CREATE_VCPU, HC_CREATE_VM, HC_DESTROY_VM, HC_GET_API_VERSION, HC_GET_HW_INFO,
  HC_ID_BASE, HC_INJECT_MSI, HC_PAUSE_VM, HC_PM_GET_CPU_STATE, HC_RESET_VM, HC_SERVICE_VM_OFFLINE_CPU,
  HC_NOTIFY_REQUEST_FINISH, HC_SET_CALLBACK_VECTOR, HC_SET_IOREQ_BUFFER, HC_SET_IRQLINE, HC_SET_VCPU_REGS, HC_START_VM, HC_VM_GPA2HPA,
  HC_VM_SET_MEMORY_REGIONS,
} from './abi';
import { hcGetApiVersion, hcGetHwInfo, hcPmGetCpuState, hcServiceVmOfflineCpu, hcSetCallbackVector } from './hc-general';
import { hcNotifyRequestFinish, hcSetIoreqBuffer } from './hc-ioreq';
import { hcInjectMsi, hcSetIrqline } from './hc-irq';
import { hcGpa2Hpa, hcSetMemoryRegions } from './hc-memory';
import { HC } from './hc-state';
import { hcTargetVm } from './hc-util';
import { hcSetVcpuRegs } from './hc-vcpu-regs';
import { hcCreateVcpu, hcCreateVm, hcDestroyVm, hcPauseVm, hcResetVm, hcStartVm } from './hc-vm';

/** A handler: the calling vCPU, the target VM (the Service VM for TARGET_SELF / TARGET_HANDLER), param1 and param2 as halves. */
export type HcHandler = (caller: Vcpu, target: AcrnVm, p1Hi: number, p1Lo: number, p2Hi: number, p2Lo: number) => number;

export const HC_TABLE_SIZE = 256;

/** Permission flags (ACRN hc_dispatch.permission_flags): who may call the slot. 0: nobody (no such hypercall). */
export const HC_PERM_SERVICE_VM = 1;

/** Target kinds. */
export const TARGET_NONE = 0;
export const TARGET_SELF = 1;
export const TARGET_PARAM1 = 2;
export const TARGET_HANDLER = 3;

/** Slot flags. */
export const HC_F_LOADS_VMCS = 1;

function hcUnknown(_c: Vcpu, _t: AcrnVm, _p1Hi: number, _p1Lo: number, _p2Hi: number, _p2Lo: number): number {
  return -ENOTTY;
}

function hcTable(): HcHandler[] {
  const t: HcHandler[] = [];
  for (let i = 0; i < HC_TABLE_SIZE; i++) t.push(hcUnknown);
  return t;
}

export const HC_HANDLERS: HcHandler[] = hcTable();
export const HC_PERMISSION = new Uint8Array(HC_TABLE_SIZE);
export const HC_TARGET = new Uint8Array(HC_TABLE_SIZE);
export const HC_FLAGS = new Uint8Array(HC_TABLE_SIZE);

function hcSet(id: number, handler: HcHandler, target: number, flags: number): void {
  const n = id - HC_ID_BASE;
  HC_HANDLERS[n] = handler;
  HC_PERMISSION[n] = HC_PERM_SERVICE_VM;
  HC_TARGET[n] = target;
  HC_FLAGS[n] = flags;
}

hcSet(HC_GET_API_VERSION, hcGetApiVersion, TARGET_SELF, 0);
hcSet(HC_SERVICE_VM_OFFLINE_CPU, hcServiceVmOfflineCpu, TARGET_SELF, 0);
hcSet(HC_SET_CALLBACK_VECTOR, hcSetCallbackVector, TARGET_SELF, 0);
hcSet(HC_CREATE_VM, hcCreateVm, TARGET_HANDLER, HC_F_LOADS_VMCS);
hcSet(HC_DESTROY_VM, hcDestroyVm, TARGET_PARAM1, 0);
hcSet(HC_START_VM, hcStartVm, TARGET_PARAM1, 0);
hcSet(HC_PAUSE_VM, hcPauseVm, TARGET_PARAM1, 0);
hcSet(HC_CREATE_VCPU, hcCreateVcpu, TARGET_PARAM1, 0);
hcSet(HC_RESET_VM, hcResetVm, TARGET_PARAM1, HC_F_LOADS_VMCS);
hcSet(HC_SET_VCPU_REGS, hcSetVcpuRegs, TARGET_PARAM1, 0);
hcSet(HC_INJECT_MSI, hcInjectMsi, TARGET_PARAM1, 0);
hcSet(HC_SET_IRQLINE, hcSetIrqline, TARGET_PARAM1, 0);
hcSet(HC_SET_IOREQ_BUFFER, hcSetIoreqBuffer, TARGET_PARAM1, 0);
hcSet(HC_NOTIFY_REQUEST_FINISH, hcNotifyRequestFinish, TARGET_PARAM1, 0);
hcSet(HC_VM_GPA2HPA, hcGpa2Hpa, TARGET_PARAM1, 0);
hcSet(HC_VM_SET_MEMORY_REGIONS, hcSetMemoryRegions, TARGET_HANDLER, 0);
hcSet(HC_GET_HW_INFO, hcGetHwInfo, TARGET_SELF, 0);
hcSet(HC_PM_GET_CPU_STATE, hcPmGetCpuState, TARGET_HANDLER, 0);

const R8 = 8;
const RDI = 7;
const RSI = 6;
const RAX = 0;

/**
 * The result of hypercall idHi:idLo with param1 and param2 from `caller`
 * (dispatch only: no register is read or written). An int32: 0, a positive
 * value, -1 or a negative errno.
 */
export function hcCall(caller: Vcpu, idHi: number, idLo: number, p1Hi: number, p1Lo: number, p2Hi: number, p2Lo: number): number {
  if (HC.vms === null) return -ENOTTY;
  if (idHi !== 0 || !(idLo >= HC_ID_BASE && idLo < HC_ID_BASE + HC_TABLE_SIZE)) return -ENOTTY;
  const n = idLo - HC_ID_BASE;
  if ((HC_PERMISSION[n] & HC_PERM_SERVICE_VM) === 0 || !caller.vm.isServiceVm()) return -ENOTTY;
  const kind = HC_TARGET[n];
  let target = caller.vm;
  if (kind === TARGET_PARAM1) {
    const vm = hcTargetVm(caller.vm, p1Lo & 0xffff);
    if (vm === null) return -ENOTTY;
    target = vm;
  }
  return HC_HANDLERS[n](caller, target, p1Hi, p1Lo, p2Hi, p2Lo);
}

/**
 * Run the hypercall in `caller`'s R8/RDI/RSI and put the result in its RAX.
 * @pre the caller is the Service VM at CPL 0, its VMCS current, RIP already advanced.
 */
export function hcDispatch(caller: Vcpu): void {
  const idLo = caller.gprLo(R8);
  const idHi = caller.gprHi();
  const p1Lo = caller.gprLo(RDI);
  const p1Hi = caller.gprHi();
  const p2Lo = caller.gprLo(RSI);
  const p2Hi = caller.gprHi();
  const rc = hcCall(caller, idHi, idLo, p1Hi, p1Lo, p2Hi, p2Lo);
  caller.setGpr(RAX, abiRaxHi(rc), abiRaxLo(rc));
  const sched = caller.sched;
  const n = idLo - HC_ID_BASE;
  const loaded = idHi === 0 && n >= 0 && n < HC_TABLE_SIZE && (HC_FLAGS[n] & HC_F_LOADS_VMCS) !== 0;
  if (loaded || sched.loadedVmcs !== caller.vmcsPa) {
    vmptrld(caller.vmcsPa);
    sched.loadedVmcs = caller.vmcsPa;
  }
}
