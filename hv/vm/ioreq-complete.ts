// Finishing a vCPU's I/O request once the device model has answered (ACRN
// dm_emulate_io_complete, called on the vCPU's pCPU before it re-enters):
// a read's value goes where the instruction wanted it, then the slot is FREE.
//
//   port I/O, PCICFG (an IN from CFC-CFF)  the low `size` bytes of RAX, as
//                                          IN writes them (vcpu.setGprSized)
//   MMIO                                   the instruction runs with the value
//                                          (mmio-emul.ts completeRead)
//   writes                                 nothing left to do (RIP moved on
//                                          when the request was sent)
import { IOREQ_TYPE_MMIO } from '../dm-hypercall/abi';
import { IOREQ_DIR_READ, ioreqReadValue, ioreqRelease } from './ioreq';
import { MMIO_EMULATION } from './mmio-emul';
import type { Vcpu } from './vcpu';

const RAX = 0;

/** @pre vcpu.ioreq.state === IOREQ_FINISHED and its VMCS is current. */
export function ioreqComplete(vcpu: Vcpu): void {
  const vm = vcpu.vm;
  const r = vcpu.ioreq;
  if (r.dir === IOREQ_DIR_READ) {
    const lo = ioreqReadValue(vm, vcpu.id);
    ioreqRelease(vm, vcpu.id);
    if (r.type === IOREQ_TYPE_MMIO) MMIO_EMULATION.completeRead(vcpu, r.valueHi, lo);
    else vcpu.setGprSized(RAX, r.size, lo);
    return;
  }
  ioreqRelease(vm, vcpu.id);
}
