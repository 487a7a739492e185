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
//   else: the page is registered in the VM (AcrnVm.ioreqBuffer*: GPA and HPA), every slot's state set to
//   FREE (as ACRN), 0.
//
// Serving requests through the page (and NOTIFY_REQUEST_FINISH) is the next
// issue; START_VM only needs a registered page.
import { EPT_R, EPT_W } from '../../arch/x86/ept';
import { physPageOk, poke32 } from '../../arch/x86/intrinsics';
import type { Vcpu } from '../vm/vcpu';
import { type AcrnVm, VM_CREATED } from '../vm/vm';
import {
  abiAddr, abiRd32, HC_FAIL, IO_REQUEST_BUFFER_SIZE, IO_REQUEST_MAX, IO_REQUEST_PROCESSED, IO_REQUEST_SIZE,
  IOREQ_BUFFER_GPA, IOREQ_BUFFER_SIZE, IOREQ_STATE_FREE,
} from './abi';
import { HC } from './hc-state';
import { hcCopyIn, hcHpaAllowed } from './hc-util';

/** Set every request slot of `vm`'s registered page to FREE (ACRN reset_vm_ioreqs). */
export function hcIoreqResetSlots(vm: AcrnVm): void {
  if (!vm.ioreqBufferSet) return;
  const hpa = vm.ioreqBufferHpa;
  for (let i = 0; i < IO_REQUEST_MAX; i++) poke32(hpa + i * IO_REQUEST_SIZE + IO_REQUEST_PROCESSED, IOREQ_STATE_FREE);
}

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
    vm.ioreqBufferSet = false;
    vm.ioreqBufferGpa = 0;
    vm.ioreqBufferHpa = 0;
    return HC_FAIL;
  }
  vm.ioreqBufferSet = true;
  vm.ioreqBufferGpa = gpa;
  vm.ioreqBufferHpa = hpa;
  hcIoreqResetSlots(vm);
  return 0;
}
