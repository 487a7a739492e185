// I/O instruction exits (SDM Vol. 3C 26.1.3 and Table 28-5): IN/OUT go to the
// VM's I/O emulation registry; INS/OUTS (and their REP forms) move data
// between the port and guest memory at ES:rDI / seg:rSI, stepping by the
// operand size in the direction RFLAGS.DF gives and counting rCX down (SDM
// Vol. 2B INS/OUTS). A long REP is done in chunks: RIP stays on the
// instruction until rCX reaches 0, so the guest re-executes it (and can take
// interrupts in between, as on hardware).
import { hi, vmread } from '../../../arch/x86/intrinsics';
import {
  GUEST_CS_AR, GUEST_CS_BASE, GUEST_DS_BASE, GUEST_ES_BASE, GUEST_FS_BASE, GUEST_GS_BASE, GUEST_SS_BASE,
} from '../../../arch/x86/vmcs';
import type { ExitInfo } from '../../../arch/x86/vmexit-info';
import { TWO_POW_32 } from '../../u64';
import { linearToGpa, readGpa8, writeGpa8 } from '../guest-mem';
import type { Vcpu } from '../vcpu';
import { stopVm } from '../vm-stop';

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

function sizeMask(size: number): number {
  return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
}

export function ioExit(vcpu: Vcpu, exit: ExitInfo): void {
  const io = exit.io;
  if (!io.isString) {
    if (io.isIn) vcpu.setGprSized(RAX, io.size, vcpu.vm.io.pioRead(io.port, io.size));
    else vcpu.vm.io.pioWrite(io.port, io.size, vcpu.gprLo(RAX) & sizeMask(io.size));
    vcpu.advanceRip(exit.ripHi, exit.ripLo, exit.instLen);
    return;
  }
  stringIo(vcpu, exit);
}

/** Address-size mask of a pointer register (its low 16/32/64 bits), as halves. */
function pointerLo(vcpu: Vcpu, reg: number, addrSize: number): number {
  const lo = vcpu.gprLo(reg);
  return addrSize === 2 ? lo & 0xffff : lo;
}

/** INS/OUTS. Returns false when the VM was stopped. */
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
    const gpa = linearToGpa(vcpu.vm, linHi >>> 0, linLo);
    if (gpa < 0) {
      stopVm(vcpu, 'string I/O with a guest address that does not translate', exit);
      return false;
    }
    if (io.isIn) {
      const v = vcpu.vm.io.pioRead(io.port, io.size);
      for (let b = 0; b < io.size; b++) {
        if (!writeGpa8(vcpu.vm, gpa + b, (v >>> (b * 8)) & 0xff)) {
          stopVm(vcpu, 'INS into guest-physical memory the VM does not have', exit);
          return false;
        }
      }
    } else {
      let v = 0;
      for (let b = io.size - 1; b >= 0; b--) {
        const byte = readGpa8(vcpu.vm, gpa + b);
        if (byte < 0) {
          stopVm(vcpu, 'OUTS from guest-physical memory the VM does not have', exit);
          return false;
        }
        v = v * 256 + byte;
      }
      vcpu.vm.io.pioWrite(io.port, io.size, v);
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
