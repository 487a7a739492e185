// HC_SET_IOREQ_BUFFER (ACRN hypercall.c hcall_set_ioreq_buffer): param2 is
// the Service VM GPA of struct acrn_ioreq_buffer, a u64 holding the GPA of the
// 4 KiB page of 16 acrn_io_request slots the DM shares with the hypervisor.
//
//   target not CREATED                                   -1
//   the u64 cannot be copied                             -1 (registration kept)
//   the page is not 4 KiB aligned, not mapped readable
//   and writable in the Service VM's EPT, or its host
//   page is hypervisor or another VM's memory            -1, registration dropped
//                                                        (ACRN: io_shared_page = NULL)
//   else: the page is registered in the VM (AcrnVm.ioreqBuffer*: GPA and HPA)
//   with the caller as the Service VM that serves it, every slot's state set
//   to FREE (as ACRN), 0.
//
// HC_NOTIFY_REQUEST_FINISH (ACRN hcall_notify_ioreq_finish): param1 = the
// User VM, param2 = the vCPU id, whose slot the DM has set COMPLETE. The
// target must be a post-launched VM that is not POWERED_OFF, whose severity
// passes (not real-time), with a registered page; the vCPU must exist and
// have a request in flight whose slot is COMPLETE (ioreq.ts
// ioreqNotifyFinish); otherwise -1 and nothing changes. A paused VM's
// request may be finished (the DM does so between pause and reset); its vCPU
// stays off the run queue.
import { EPT_R, EPT_W } from '../../arch/x86/ept';
import { physPageOk } from '../../arch/x86/intrinsics';
import { ioreqNotifyFinish, ioreqResetAll } from '../vm/ioreq';
import type { Vcpu } from '../vm/vcpu';
import { type AcrnVm, VM_CREATED, VM_POWERED_OFF } from '../vm/vm';
import { SEVERITY_SERVICE_VM } from '../vm/vm-api';
import { abiAddr, abiRd32, HC_FAIL, IO_REQUEST_BUFFER_SIZE, IOREQ_BUFFER_GPA, IOREQ_BUFFER_SIZE } from './abi';
import { HC } from './hc-state';
import { hcCopyIn, hcHpaAllowed } from './hc-util';

export function hcSetIoreqBuffer(caller: Vcpu, vm: AcrnVm, _p1Hi: number, _p1Lo: number, p2Hi: number, p2Lo: number): number {
  if (vm.state !== VM_CREATED) return HC_FAIL;
  const svc = caller.vm;
  const b = HC.buf;
  if (!hcCopyIn(svc, p2Hi, p2Lo, b, IOREQ_BUFFER_SIZE)) return HC_FAIL;
  const gpa = abiAddr(abiRd32(b, IOREQ_BUFFER_GPA + 4), abiRd32(b, IOREQ_BUFFER_GPA));
  let hpa = -1;
  if (gpa >= 0 && gpa % IO_REQUEST_BUFFER_SIZE === 0) {
    hpa = svc.ept.translate(gpa);
    if (hpa >= 0 && ((svc.ept.lastPerms & (EPT_R | EPT_W)) !== (EPT_R | EPT_W) || !hcHpaAllowed(svc, hpa, IO_REQUEST_BUFFER_SIZE)
      || !physPageOk(hpa, true))) hpa = -1;
  }
  if (hpa < 0) {
    ioreqResetAll(vm);
    vm.ioreqServiceVm = null;
    vm.ioreqBufferSet = false;
    vm.ioreqBufferGpa = 0;
    vm.ioreqBufferHpa = 0;
    return HC_FAIL;
  }
  vm.ioreqBufferSet = true;
  vm.ioreqBufferGpa = gpa;
  vm.ioreqBufferHpa = hpa;
  vm.ioreqServiceVm = svc;
  ioreqResetAll(vm);
  return 0;
}

export function hcNotifyRequestFinish(_c: Vcpu, vm: AcrnVm, _p1Hi: number, _p1Lo: number, p2Hi: number, p2Lo: number): number {
  if (vm.state === VM_POWERED_OFF || vm.severity > SEVERITY_SERVICE_VM || p2Hi !== 0) return HC_FAIL;
  return ioreqNotifyFinish(vm, p2Lo >>> 0);
}
