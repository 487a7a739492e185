// I/O requests to the Service VM's device model (ACRN hypervisor/dm/io_req.c;
// the layout and states are Linux's include/uapi/linux/acrn.h, ACRN-ABI.md).
//
// A post-launched VM's port, MMIO or PCI-configuration access that no device
// of the hypervisor claims goes to the DM: ports no slot holds
// (exits/io-exit.ts), CFC-CFF accesses to functions its vPCI lacks (PCICFG,
// vpci/cfg-mech1.ts), unclaimed MMIO and ECAM accesses to such functions
// (mmio-emul.ts). Each VM has one 4 KiB page of 16
// struct acrn_io_request slots in the Service VM's memory (SET_IOREQ_BUFFER);
// the slot is the vCPU id, and it belongs to the hypervisor while its vCPU
// has no request in flight (so garbage the DM leaves there is overwritten).
//
//   ioreqSend            the exit handler filled vcpu.ioreq: the request goes
//                        into the slot, `processed` last (PENDING); the vCPU
//                        leaves its run queue (VCPU_WAIT_IO: not spinning,
//                        not woken by interrupts); the Service VM's BSP gets
//                        the upcall vector (HC_SET_CALLBACK_VECTOR, default
//                        0xF3) in its vLAPIC, edge-triggered, as ACRN's
//                        arch_fire_hsm_interrupt.
//   the DM               sets PROCESSING, serves, writes a read's value, sets
//                        COMPLETE, calls NOTIFY_REQUEST_FINISH(vm, vcpu).
//   ioreqNotifyFinish    refuses (-1) a vCPU that has no request in flight or
//                        a slot that is not COMPLETE; else the request is
//                        finished and the vCPU goes back on its run queue
//                        (a paused VM's vCPU stays off it).
//   ioreqComplete        on the vCPU's own pCPU before its next entry (the
//                        VMCS current): a read's value goes to the guest
//                        (RAX for ports and CFC-CFF, the instruction emulator
//                        for MMIO), the slot becomes FREE (ACRN
//                        dm_emulate_io_complete).
//
// Lifecycle: pausing leaves a request in flight where it is (the DM may still
// complete it, as ACRN's DM does between pause and reset); resetting or
// destroying the VM abandons every request and sets every slot FREE (ACRN
// reset_vm_ioreqs), so nothing is left stuck; an INIT abandons its vCPU's.
// Only the request's own record (kept in the vCPU, decoded once at the exit)
// says what the access was: the DM can change nothing but the value.
import { peek32, poke32, poke64 } from '../../arch/x86/intrinsics';
import {
  IO_REQUEST_COMPLETION_POLLING, IO_REQUEST_KERNEL_HANDLED, IO_REQUEST_MAX, IO_REQUEST_PROCESSED, IO_REQUEST_REQS,
  IO_REQUEST_SIZE, IO_REQUEST_TYPE, IOREQ_STATE_COMPLETE, IOREQ_STATE_FREE, IOREQ_STATE_PENDING, IOREQ_TYPE_MMIO,
  IOREQ_TYPE_PCICFG, IOREQ_TYPE_PORTIO, MMIO_REQUEST_VALUE, PCI_REQUEST_BUS, PCI_REQUEST_DEV, PCI_REQUEST_FUNC,
  PCI_REQUEST_REG, PCI_REQUEST_SIZE, PCI_REQUEST_VALUE, PIO_REQUEST_ADDRESS, PIO_REQUEST_DIRECTION,
  PIO_REQUEST_SIZE, PIO_REQUEST_VALUE, HSM_DEFAULT_VECTOR,
} from '../dm-hypercall/abi';
import { InstrDecoder } from './instr-decode';
import type { AcrnVm } from './vm';

/** The request record's states (the vCPU's side; the page's `processed` is the DM's). */
export const IOREQ_NONE = 0;
/** In the page, the vCPU off its run queue until NOTIFY_REQUEST_FINISH. */
export const IOREQ_WAITING = 1;
/** NOTIFY_REQUEST_FINISH came: complete it before the vCPU's next entry. */
export const IOREQ_FINISHED = 2;

export const IOREQ_DIR_READ = 0;
export const IOREQ_DIR_WRITE = 1;

const TWO_POW_32 = 4294967296;

/** One vCPU's request in flight (ACRN's vcpu->req), built at init. */
export class IoRequest {
  state = IOREQ_NONE;
  /** IOREQ_TYPE_PORTIO / MMIO / PCICFG. */
  type = IOREQ_TYPE_PORTIO;
  dir = IOREQ_DIR_READ;
  /** Port, guest-physical address (below 2^52), or the PCI register. */
  address = 0;
  size = 0;
  /** A write's value (MMIO: 64 bits as halves). */
  valueLo = 0;
  valueHi = 0;
  /** PCICFG: the function. */
  bus = 0;
  dev = 0;
  func = 0;
  /** The MMIO instruction, decoded at the exit; a read is carried out with the DM's value (mmio-emul.ts). */
  readonly decoder = new InstrDecoder();
  /** Requests sent for this vCPU. */
  sent = 0;

  /** The access, as its exit handler decoded it (a read's value 0; PCICFG's function set apart). */
  fill(type: number, dir: number, address: number, size: number, valueHi: number, valueLo: number): void {
    this.type = type;
    this.dir = dir;
    this.address = address;
    this.size = size;
    this.valueHi = valueHi >>> 0;
    this.valueLo = valueLo >>> 0;
  }
}

/** The upcall vector (ACRN acrn_hsm_notification_vector; HC_SET_CALLBACK_VECTOR). */
export class UpcallState {
  vector = HSM_DEFAULT_VECTOR;
}

export const UPCALL = new UpcallState();

/** The VM's accesses go to a DM: post-launched, with a registered page and a Service VM (still on) to serve it. */
export function ioreqServed(vm: AcrnVm): boolean {
  const svc = vm.ioreqServiceVm;
  return vm.ioreqBufferSet && svc !== null && !svc.isPoweredOff();
}

function slotBase(vm: AcrnVm, vcpuId: number): number {
  return vm.ioreqBufferHpa + vcpuId * IO_REQUEST_SIZE;
}

/** The DM's state of a vCPU's slot (IOREQ_STATE_*), or -1 when the VM has no page. */
function slotState(vm: AcrnVm, vcpuId: number): number {
  if (!vm.ioreqBufferSet || !(vcpuId >= 0 && vcpuId < IO_REQUEST_MAX)) return -1;
  return peek32(slotBase(vm, vcpuId) + IO_REQUEST_PROCESSED) >>> 0;
}

/**
 * Put the request the vCPU's exit handler filled in (vcpu.ioreq) into its
 * slot, take the vCPU off its run queue and raise the upcall. False (nothing
 * done) when the VM has no DM or the vCPU already has a request in flight.
 */
export function ioreqSend(vm: AcrnVm, vcpuId: number): boolean {
  const svc = vm.ioreqServiceVm;
  const v = vm.vcpus[vcpuId];
  const r = v.ioreq;
  if (!ioreqServed(vm) || svc === null || r.state !== IOREQ_NONE || vcpuId >= IO_REQUEST_MAX) return false;
  const at = slotBase(vm, vcpuId);
  const body = at + IO_REQUEST_REQS;
  poke32(at + IO_REQUEST_TYPE, r.type);
  poke32(at + IO_REQUEST_COMPLETION_POLLING, 0);
  poke32(at + IO_REQUEST_KERNEL_HANDLED, 0);
  for (let i = 0; i < 64; i += 8) poke64(body + i, 0, 0);
  poke32(body + PIO_REQUEST_DIRECTION, r.dir);
  if (r.type === IOREQ_TYPE_PCICFG) {
    poke64(body + PCI_REQUEST_SIZE, 0, r.size);
    poke32(body + PCI_REQUEST_VALUE, r.dir === IOREQ_DIR_WRITE ? r.valueLo >>> 0 : 0);
    poke32(body + PCI_REQUEST_BUS, r.bus);
    poke32(body + PCI_REQUEST_DEV, r.dev);
    poke32(body + PCI_REQUEST_FUNC, r.func);
    poke32(body + PCI_REQUEST_REG, r.address);
  } else {
    // pio and mmio share direction @0, address @8, size @16, value @24 (u32 / u64)
    poke64(body + PIO_REQUEST_ADDRESS, Math.floor(r.address / TWO_POW_32), r.address % TWO_POW_32);
    poke64(body + PIO_REQUEST_SIZE, 0, r.size);
    if (r.dir === IOREQ_DIR_WRITE) {
      if (r.type === IOREQ_TYPE_MMIO) poke64(body + MMIO_REQUEST_VALUE, r.valueHi >>> 0, r.valueLo >>> 0);
      else poke32(body + PIO_REQUEST_VALUE, r.valueLo >>> 0);
    }
  }
  // The request is complete in the slot before the DM can see it PENDING
  // (x86 stores are not reordered with other stores, SDM Vol. 3A 9.2.2).
  poke32(at + IO_REQUEST_PROCESSED, IOREQ_STATE_PENDING);
  r.state = IOREQ_WAITING;
  r.sent++;
  v.sched.waitForIo(v);
  // Edge-triggered: an upcall still pending covers this request too (the DM scans every slot).
  const bsp = svc.vcpus[0];
  bsp.vlapic.acceptIrq(UPCALL.vector, false);
  // A BSP running on another pCPU sees its new IRR bit at its next exit: make one now.
  bsp.sched.kick();
  return true;
}

/**
 * NOTIFY_REQUEST_FINISH for `vcpuId` of `vm`: 0 when its request in flight is
 * COMPLETE in the slot (the vCPU runs again unless its VM is paused), -1 for
 * any other vCPU id, a vCPU without a request, or a slot not COMPLETE.
 */
export function ioreqNotifyFinish(vm: AcrnVm, vcpuId: number): number {
  if (!vm.ioreqBufferSet || !(vcpuId >= 0 && vcpuId < vm.vcpuCount)) return -1;
  const v = vm.vcpus[vcpuId];
  const r = v.ioreq;
  if (r.state !== IOREQ_WAITING || slotState(vm, vcpuId) !== IOREQ_STATE_COMPLETE) return -1;
  r.state = IOREQ_FINISHED;
  v.sched.ioDone(v);
  return 0;
}

/** The DM's value of a finished read (low half; the high half of an 8-byte MMIO read in valueHi). */
export function ioreqReadValue(vm: AcrnVm, vcpuId: number): number {
  const r = vm.vcpus[vcpuId].ioreq;
  const body = slotBase(vm, vcpuId) + IO_REQUEST_REQS;
  if (r.type === IOREQ_TYPE_MMIO) {
    r.valueHi = peek32(body + MMIO_REQUEST_VALUE + 4) >>> 0;
    return peek32(body + MMIO_REQUEST_VALUE) >>> 0;
  }
  r.valueHi = 0;
  return peek32(body + (r.type === IOREQ_TYPE_PCICFG ? PCI_REQUEST_VALUE : PIO_REQUEST_VALUE)) >>> 0;
}

/** The request is done: the slot is FREE again and the vCPU may send the next one. */
export function ioreqRelease(vm: AcrnVm, vcpuId: number): void {
  vm.vcpus[vcpuId].ioreq.state = IOREQ_NONE;
  if (vm.ioreqBufferSet) poke32(slotBase(vm, vcpuId) + IO_REQUEST_PROCESSED, IOREQ_STATE_FREE);
}

/** Abandon every request of the VM and set every slot FREE (ACRN reset_vm_ioreqs: reset, destroy). */
export function ioreqResetAll(vm: AcrnVm): void {
  for (let i = 0; i < vm.vcpus.length; i++) vm.vcpus[i].ioreq.state = IOREQ_NONE;
  if (!vm.ioreqBufferSet) return;
  const hpa = vm.ioreqBufferHpa;
  for (let i = 0; i < IO_REQUEST_MAX; i++) poke32(hpa + i * IO_REQUEST_SIZE + IO_REQUEST_PROCESSED, IOREQ_STATE_FREE);
}
