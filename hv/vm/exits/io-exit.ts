// I/O instruction exits (SDM Vol. 3C 26.1.3 and Table 28-5): IN/OUT go to the
// VM's I/O emulation registry; INS/OUTS (and their REP forms) move data
// between the port and guest memory at ES:rDI / seg:rSI, stepping by the
// operand size in the direction RFLAGS.DF gives and counting rCX down (SDM
// Vol. 2B INS/OUTS). A long REP is done in chunks: RIP stays on the
// instruction until rCX reaches 0, so the guest re-executes it (and can take
// interrupts in between, as on hardware). Guest memory is reached through the
// guest's page tables (guest-walk.ts) and the VM's EPT (guest-copy.ts): a
// paging fault is the guest's #PF (CR2, error code), a non-canonical address
// its #GP(0), memory the VM does not have stops the VM.
//
// A post-launched VM with a device model (ioreq.ts ioreqServed) sends the
// ports no hypervisor device claims, and configuration accesses to PCI
// functions its vPCI does not have, to the DM as I/O requests.
import { hi, poke64, vmread } from '../../../arch/x86/intrinsics';
import { CTX_CR2 } from '../../../arch/x86/vcpu-ctx';
import {
  GUEST_CS_AR, GUEST_CS_BASE, GUEST_DS_BASE, GUEST_ES_BASE, GUEST_FS_BASE, GUEST_GS_BASE, GUEST_SS_BASE,
} from '../../../arch/x86/vmcs';
import type { ExitInfo } from '../../../arch/x86/vmexit-info';
import { TWO_POW_32 } from '../../u64';
import { COPY_EPT_UNMAPPED, COPY_FAULT } from '../guest-copy';
import { ACC_USER, ACC_WRITE, PagingState, WALK_FAULT, WALK_NONCANONICAL, WALK_OK, WALK_UNSUPPORTED } from '../guest-walk';
import { queueException, VECTOR_GP, VECTOR_PF } from '../virq';
import type { Vcpu } from '../vcpu';
import { stopVm } from '../vm-stop';
import { IOREQ_DIR_READ, IOREQ_DIR_WRITE, ioreqSend, ioreqServed } from '../ioreq';
import { IOREQ_TYPE_PCICFG, IOREQ_TYPE_PORTIO } from '../../dm-hypercall/abi';

const RAX = 0;
const RCX = 1;
const RSI = 6;
const RDI = 7;
const RFLAGS_DF = 0x400;
const CS_AR_L = 0x2000;
/** Iterations of a REP string instruction done per exit. */
const REP_CHUNK = 256;
const SEGMENT_BASES = [GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE, GUEST_DS_BASE, GUEST_FS_BASE, GUEST_GS_BASE];
const SEG_ES = 0;
const SEG_FS = 4;
/** The guest's paging registers for INS/OUTS (loaded once per exit). */
const PAGING = new PagingState();
/** One element's scratch buffer (at most 4 bytes). */
const ELEMENT = new Uint8Array(4);
const ELEMENT_DONE = 0;

function sizeMask(size: number): number {
  return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
}

export function ioExit(vcpu: Vcpu, exit: ExitInfo): void {
  const io = exit.io;
  const vm = vcpu.vm;
  if (ioreqServed(vm) && vm.io.findPio(io.port) < 0) {
    portForDeviceModel(vcpu, exit);
    return;
  }
  if (!io.isString) {
    const cfg = vm.devices.vpci.mech1;
    if (io.isIn) {
      const value = vm.io.pioRead(io.port, io.size);
      if (cfg.forwarded) {
        pciForDeviceModel(vcpu, exit);
        return;
      }
      vcpu.setGprSized(RAX, io.size, value);
    } else {
      vm.io.pioWrite(io.port, io.size, vcpu.gprLo(RAX) & sizeMask(io.size));
      if (cfg.forwarded) {
        pciForDeviceModel(vcpu, exit);
        return;
      }
    }
    vcpu.advanceRip(exit.ripHi, exit.ripLo, exit.instLen);
    return;
  }
  stringIo(vcpu, exit);
}

/**
 * A port nobody in the hypervisor claims, of a VM a device model serves: an
 * I/O request (ioreq.ts). The read's value reaches RAX when the DM has
 * finished (ioreqComplete); RIP moves past the IN/OUT now. INS/OUTS to such a
 * port are not emulated: the VM stops with a message.
 */
function portForDeviceModel(vcpu: Vcpu, exit: ExitInfo): void {
  const io = exit.io;
  if (io.isString) {
    stopVm(vcpu, 'INS/OUTS to a port of the device model is not supported', exit);
    return;
  }
  const value = io.isIn ? 0 : vcpu.gprLo(RAX) & sizeMask(io.size);
  vcpu.ioreq.fill(IOREQ_TYPE_PORTIO, io.isIn ? IOREQ_DIR_READ : IOREQ_DIR_WRITE, io.port, io.size, 0, value);
  sendOrStop(vcpu, exit);
}

/** A CFC-CFF access to a function the vPCI does not have, of a VM a device model serves (cfg-mech1.ts): a PCICFG request. */
function pciForDeviceModel(vcpu: Vcpu, exit: ExitInfo): void {
  const io = exit.io;
  const cfg = vcpu.vm.devices.vpci.mech1;
  cfg.forwarded = false;
  if (!ioreqServed(vcpu.vm)) {
    // No DM (yet): an absent function, as for other VMs.
    if (io.isIn) vcpu.setGprSized(RAX, io.size, sizeMask(io.size));
    vcpu.advanceRip(exit.ripHi, exit.ripLo, exit.instLen);
    return;
  }
  const r = vcpu.ioreq;
  r.fill(IOREQ_TYPE_PCICFG, io.isIn ? IOREQ_DIR_READ : IOREQ_DIR_WRITE, cfg.fwdOffset, io.size, 0, io.isIn ? 0 : cfg.fwdValue);
  r.bus = (cfg.fwdBdf >>> 8) & 0xff;
  r.dev = (cfg.fwdBdf >>> 3) & 0x1f;
  r.func = cfg.fwdBdf & 7;
  sendOrStop(vcpu, exit);
}

function sendOrStop(vcpu: Vcpu, exit: ExitInfo): void {
  vcpu.advanceRip(exit.ripHi, exit.ripLo, exit.instLen);
  if (!ioreqSend(vcpu.vm, vcpu.id)) stopVm(vcpu, 'the I/O request could not go to the device model (one already in flight: a hypervisor bug)', exit);
}

/** Address-size mask of a pointer register (its low 16/32/64 bits), as halves. */
function pointerLo(vcpu: Vcpu, reg: number, addrSize: number): number {
  const lo = vcpu.gprLo(reg);
  return addrSize === 2 ? lo & 0xffff : lo;
}

/** INS/OUTS. Returns false when an element failed (#PF/#GP queued or the VM stopped). */
function stringIo(vcpu: Vcpu, exit: ExitInfo): boolean {
  const io = exit.io;
  const addrSize = io.addrSize;
  const reg = io.isIn ? RDI : RSI;
  // INS always uses ES; OUTS uses DS unless overridden (instruction information).
  const seg = io.isIn ? SEG_ES : io.segment;
  const longMode = (vmread(GUEST_CS_AR) & CS_AR_L) !== 0;
  let baseLo = 0;
  let baseHi = 0;
  if (!longMode || seg >= SEG_FS) {
    baseLo = vmread(SEGMENT_BASES[seg]) >>> 0;
    baseHi = hi() >>> 0;
  }
  let countLo = vcpu.gprLo(RCX);
  let countHi = vcpu.gprHi();
  if (addrSize === 2) countLo &= 0xffff;
  if (addrSize !== 8) countHi = 0;
  if (!io.rep) {
    countLo = 1;
    countHi = 0;
  }
  const step = (exit.rflags & RFLAGS_DF) !== 0 ? -io.size : io.size;
  const ps = PAGING;
  ps.load();
  const user = ps.cpl === 3 ? ACC_USER : 0;
  let ptrLo = pointerLo(vcpu, reg, addrSize);
  let ptrHi = addrSize === 8 ? vcpu.gprHi() : 0;
  let done = 0;
  while ((countLo !== 0 || countHi !== 0) && done < REP_CHUNK) {
    // linear = base + pointer (64-bit add as halves)
    let linLo = baseLo + ptrLo;
    let linHi = baseHi + ptrHi;
    if (linLo >= TWO_POW_32) {
      linLo -= TWO_POW_32;
      linHi += 1;
    }
    if (addrSize !== 8) {
      linLo = linLo >>> 0;
      linHi = 0;
    }
    const fault = io.isIn ? insElement(vcpu, io.port, io.size, linHi >>> 0, linLo, user) : outsElement(vcpu, io.port, io.size, linHi >>> 0, linLo, user);
    if (fault !== ELEMENT_DONE) {
      // Elements done so far stay done: rSI/rDI and rCX as they are now; RIP stays.
      writePointer(vcpu, reg, addrSize, ptrHi, ptrLo);
      if (io.rep) writePointer(vcpu, RCX, addrSize, countHi, countLo);
      elementFailed(vcpu, exit, fault, linHi >>> 0, linLo);
      return false;
    }
    // pointer += step, count -= 1 (wrapping in the address size)
    ptrLo += step;
    if (ptrLo < 0) {
      ptrLo += TWO_POW_32;
      ptrHi = (ptrHi - 1) >>> 0;
    } else if (ptrLo >= TWO_POW_32) {
      ptrLo -= TWO_POW_32;
      ptrHi = (ptrHi + 1) >>> 0;
    }
    if (addrSize === 2) ptrLo &= 0xffff;
    if (countLo === 0) {
      countLo = 0xffffffff;
      countHi = (countHi - 1) >>> 0;
    } else {
      countLo--;
    }
    done++;
  }
  // Write back rSI/rDI and rCX in the address size (16-bit forms keep the upper bits).
  writePointer(vcpu, reg, addrSize, ptrHi, ptrLo);
  if (io.rep) writePointer(vcpu, RCX, addrSize, countHi, countLo);
  if (countLo === 0 && countHi === 0) vcpu.advanceRip(exit.ripHi, exit.ripLo, exit.instLen);
  return true;
}

function writePointer(vcpu: Vcpu, reg: number, addrSize: number, valueHi: number, valueLo: number): void {
  if (addrSize === 8) vcpu.setGpr(reg, valueHi, valueLo >>> 0);
  else if (addrSize === 4) vcpu.setGpr(reg, 0, valueLo >>> 0);
  else vcpu.setGprSized(reg, 2, valueLo & 0xffff);
}


/**
 * INS, one element: the destination is checked first (a guest page walk and
 * the EPT for its first and last byte), so that a faulting element does not consume the
 * port's data; then the port is read and the bytes stored. Returns
 * ELEMENT_DONE or a negative COPY_* / WALK_* failure (WALK_* as -10 - code).
 */
function insElement(vcpu: Vcpu, port: number, size: number, linHi: number, linLo: number, user: number): number {
  const walker = vcpu.vm.walker;
  const last = linLo + size - 1;
  const walkFirst = walker.walk(PAGING, linHi, linLo, ACC_WRITE | user);
  if (walkFirst !== WALK_OK) return -10 - walkFirst;
  if (vcpu.vm.ept.translate(walker.gpa) < 0) return COPY_EPT_UNMAPPED;
  if (last < TWO_POW_32 && (last >>> 12) !== (linLo >>> 12)) {
    const walkLast = walker.walk(PAGING, linHi, last, ACC_WRITE | user);
    if (walkLast !== WALK_OK) return -10 - walkLast;
    if (vcpu.vm.ept.translate(walker.gpa) < 0) return COPY_EPT_UNMAPPED;
  }
  const v = vcpu.vm.io.pioRead(port, size);
  for (let b = 0; b < size; b++) ELEMENT[b] = (v >>> (b * 8)) & 0xff;
  const rc = vcpu.vm.guestMem.copyToGva(PAGING, linHi, linLo, ELEMENT, 0, size, ACC_WRITE | user);
  return rc === 0 ? ELEMENT_DONE : rc;
}

/** OUTS, one element: guest memory first, then the port. */
function outsElement(vcpu: Vcpu, port: number, size: number, linHi: number, linLo: number, user: number): number {
  const rc = vcpu.vm.guestMem.copyFromGva(PAGING, linHi, linLo, ELEMENT, 0, size, user);
  if (rc !== 0) return rc;
  let v = 0;
  for (let b = size - 1; b >= 0; b--) v = v * 256 + ELEMENT[b];
  vcpu.vm.io.pioWrite(port, size, v);
  return ELEMENT_DONE;
}

/** An element's guest access failed: the guest's #PF or #GP(0), or the VM stops. */
function elementFailed(vcpu: Vcpu, exit: ExitInfo, failure: number, linHi: number, linLo: number): void {
  const mem = vcpu.vm.guestMem;
  let walk = -1;
  let crHi = linHi;
  let crLo = linLo;
  if (failure <= -10) {
    walk = -10 - failure;
  } else if (failure === COPY_FAULT) {
    walk = mem.faultStatus;
    crHi = mem.faultLinHi;
    crLo = mem.faultLinLo;
  }
  if (walk === WALK_FAULT) {
    poke64(vcpu.ctxPa + CTX_CR2, crHi >>> 0, crLo >>> 0);
    if (!queueException(vcpu, VECTOR_PF, vcpu.vm.walker.faultError)) stopVm(vcpu, 'triple fault (an exception while delivering #DF)', exit);
  } else if (walk === WALK_NONCANONICAL) {
    if (!queueException(vcpu, VECTOR_GP, 0)) stopVm(vcpu, 'triple fault (an exception while delivering #DF)', exit);
  } else if (walk === WALK_UNSUPPORTED) {
    stopVm(vcpu, 'the guest enabled 5-level paging, which this hypervisor does not support', exit);
  } else {
    stopVm(vcpu, 'string I/O with guest memory the VM does not have', exit);
  }
}
