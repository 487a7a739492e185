// The general hypercalls (ACRN hypervisor/common/hypercall.c), all about the
// Service VM itself except PM_GET_CPU_STATE:
//
//   GET_API_VERSION         {1, 0} to the GPA in param1; the copy's result:
//                           0, or -EINVAL when the GPA is not writable memory
//   GET_HW_INFO             acrn_hw_info {cpu_num} to the GPA in param1; 0 or -EINVAL
//   SET_CALLBACK_VECTOR     param1 in 0x20..0xFF (VECTOR_DYNAMIC_START..NR_MAX_VECTOR):
//                           the upcall vector, 0; else -EINVAL
//   SERVICE_VM_OFFLINE_CPU  param1 = LAPIC id of a Service VM vCPU: the BSP
//                           -1 (ACRN); another vCPU -1 too: taking a vCPU of a
//                           running VM offline is not supported here; no
//                           match 0 (as ACRN)
//   PM_GET_CPU_STATE        param1 = command (relative VM id in bits 31:24,
//                           type in 7:0), param2 = GPA of the answer. The
//                           target must be CREATED or PAUSED, else -1. No VM
//                           has P-state data and none has C-states: GET_CX_CNT
//                           writes the u8 0 (0, or -EINVAL when the copy
//                           fails); GET_PX_CNT, GET_PX_DATA, GET_CX_DATA and
//                           unknown types are -1, as ACRN without P-state
//                           pass-through or vHWP.
import { cpuCount } from '../../arch/x86/intrinsics';
import type { Vcpu } from '../vm/vcpu';
import { type AcrnVm, VM_CREATED, VM_PAUSED } from '../vm/vm';
import {
  abiWr16, abiWr32, abiZero, API_VERSION_MAJOR, API_VERSION_MINOR, API_VERSION_SIZE, EINVAL, ENOTTY, HC_FAIL,
  HV_API_MAJOR_VERSION, HV_API_MINOR_VERSION, HW_INFO_CPU_NUM, HW_INFO_SIZE, NR_MAX_VECTOR, PM_COUNT_SIZE,
  PMCMD_GET_CX_CNT, PMCMD_TYPE_MASK, PMCMD_VMID_SHIFT, VECTOR_DYNAMIC_START,
} from './abi';
import { HC } from './hc-state';
import { UPCALL } from '../vm/ioreq';
import { hcCopyOut, hcTargetVm } from './hc-util';

export function hcGetApiVersion(caller: Vcpu, _t: AcrnVm, p1Hi: number, p1Lo: number, _p2Hi: number, _p2Lo: number): number {
  const b = HC.buf;
  abiWr32(b, API_VERSION_MAJOR, HV_API_MAJOR_VERSION);
  abiWr32(b, API_VERSION_MINOR, HV_API_MINOR_VERSION);
  return hcCopyOut(caller.vm, p1Hi, p1Lo, b, API_VERSION_SIZE) ? 0 : -EINVAL;
}

export function hcGetHwInfo(caller: Vcpu, _t: AcrnVm, p1Hi: number, p1Lo: number, _p2Hi: number, _p2Lo: number): number {
  const b = HC.buf;
  abiZero(b, 0, HW_INFO_SIZE);
  const n = cpuCount();
  abiWr16(b, HW_INFO_CPU_NUM, n >= 1 ? n : 1);
  return hcCopyOut(caller.vm, p1Hi, p1Lo, b, HW_INFO_SIZE) ? 0 : -EINVAL;
}

export function hcSetCallbackVector(_c: Vcpu, _t: AcrnVm, p1Hi: number, p1Lo: number, _p2Hi: number, _p2Lo: number): number {
  if (p1Hi !== 0 || p1Lo > NR_MAX_VECTOR || p1Lo < VECTOR_DYNAMIC_START) return -EINVAL;
  UPCALL.vector = p1Lo;
  return 0;
}

export function hcServiceVmOfflineCpu(caller: Vcpu, _t: AcrnVm, _p1Hi: number, p1Lo: number, _p2Hi: number, _p2Lo: number): number {
  const svc = caller.vm;
  for (let i = 0; i < svc.vcpuCount; i++) {
    const v = svc.vcpus[i];
    if (v.vlapic.apicId === p1Lo) return HC_FAIL;
  }
  return 0;
}

export function hcPmGetCpuState(caller: Vcpu, _t: AcrnVm, _p1Hi: number, p1Lo: number, p2Hi: number, p2Lo: number): number {
  const vm = hcTargetVm(caller.vm, (p1Lo >>> PMCMD_VMID_SHIFT) & 0xff);
  if (vm === null) return -ENOTTY;
  if (vm.state !== VM_CREATED && vm.state !== VM_PAUSED) return HC_FAIL;
  if ((p1Lo & PMCMD_TYPE_MASK) !== PMCMD_GET_CX_CNT) return HC_FAIL;
  const b = HC.buf;
  b[0] = 0; // cx_cnt: no C-state data
  return hcCopyOut(caller.vm, p2Hi, p2Lo, b, PM_COUNT_SIZE) ? 0 : -EINVAL;
}
