// Control-register access exits (SDM Vol. 3C 26.1.3, Table 28-3). CR0 and CR4
// exit when a write changes a bit the host owns (the guest/host masks:
// CR0.NE, which IA32_VMX_CR0_FIXED0 pins, and CR4.VMXE); the guest keeps
// seeing its own value through the read shadows (SDM 25.6.6). CR8 exits
// (CR8-load/store exiting) read and write the vCPU's task priority.
import { vmread, vmwrite } from '../../../arch/x86/intrinsics';
import {
  CR0_READ_SHADOW, CR4_READ_SHADOW, ENTRY_IA32E_MODE_GUEST, GUEST_CR0, GUEST_CR4, GUEST_CS_AR, GUEST_IA32_EFER, VM_ENTRY_CONTROLS,
} from '../../../arch/x86/vmcs';
import { CAP_CR4_FIXED1 } from '../../../arch/x86/vmx-caps';
import type { ExitInfo } from '../../../arch/x86/vmexit-info';
import { guestCr0, guestCr4 } from '../guest-state';
import type { Vcpu } from '../vcpu';
import { queueException, VECTOR_GP } from '../virq';
import { stopVm } from '../vm-stop';

const ACCESS_MOV_TO_CR = 0;
const ACCESS_MOV_FROM_CR = 1;
const ACCESS_CLTS = 2;
const ACCESS_LMSW = 3;
const CR0_PE = 1;
const CR0_TS = 8;
const CR0_NW = 1 << 29;
const CR0_CD = 1 << 30;
const CR0_PG = 0x80000000;
const CR4_VMXE = 1 << 13;

const EFER_LME = 0x100;
const EFER_LMA = 0x400;
const CS_AR_L = 0x2000;

/**
 * MOV to CR0 (SDM Vol. 2A MOV CR, Vol. 3A 2.5): #GP for PG without PE, NW
 * without CD, bits 63:32 set, and clearing PG in 64-bit mode. Setting PG with
 * EFER.LME activates IA-32e mode (Vol. 3A 10.8.5: the processor sets EFER.LMA),
 * which VM entry requires the "IA-32e mode guest" control to match (26.3.1.1);
 * clearing PG deactivates it.
 */
function writeCr0(vcpu: Vcpu, valueHi: number, value: number): boolean {
  const longMode = (vmread(GUEST_CS_AR) & CS_AR_L) !== 0;
  if (valueHi !== 0 || ((value & CR0_PG) !== 0 && (value & CR0_PE) === 0) || ((value & CR0_NW) !== 0 && (value & CR0_CD) === 0)
    || (longMode && (value & CR0_PG) === 0)) {
    return queueException(vcpu, VECTOR_GP, 0);
  }
  const oldPg = vmread(CR0_READ_SHADOW) & CR0_PG;
  const newPg = value & CR0_PG;
  if (oldPg !== newPg) {
    const efer = vmread(GUEST_IA32_EFER);
    const entry = vmread(VM_ENTRY_CONTROLS);
    if (newPg !== 0 && (efer & EFER_LME) !== 0) {
      vmwrite(GUEST_IA32_EFER, 0, (efer | EFER_LMA) >>> 0);
      vmwrite(VM_ENTRY_CONTROLS, 0, (entry | ENTRY_IA32E_MODE_GUEST) >>> 0);
    } else if (newPg === 0 && (efer & EFER_LMA) !== 0) {
      vmwrite(GUEST_IA32_EFER, 0, (efer & ~EFER_LMA) >>> 0);
      vmwrite(VM_ENTRY_CONTROLS, 0, (entry & ~ENTRY_IA32E_MODE_GUEST) >>> 0);
    }
  }
  vmwrite(CR0_READ_SHADOW, 0, value >>> 0);
  vmwrite(GUEST_CR0, 0, guestCr0(vcpu.vm.platform.caps, value));
  return true;
}

/** MOV to CR4: VMX stays hidden (#GP for VMXE), as do bits IA32_VMX_CR4_FIXED1 forbids. */
function writeCr4(vcpu: Vcpu, valueHi: number, value: number): boolean {
  const allowed = vcpu.vm.platform.caps.msrLo(CAP_CR4_FIXED1) & ~CR4_VMXE;
  if (valueHi !== 0 || (value & ~allowed) !== 0) return queueException(vcpu, VECTOR_GP, 0);
  vmwrite(CR4_READ_SHADOW, 0, value >>> 0);
  vmwrite(GUEST_CR4, 0, guestCr4(vcpu.vm.platform.caps, value));
  return true;
}

export function crAccessExit(vcpu: Vcpu, exit: ExitInfo): void {
  const cr = exit.cr;
  let ok = true;
  if (cr.accessType === ACCESS_MOV_TO_CR) {
    const lo = vcpu.gprLo(cr.gpr);
    const upper = vcpu.gprHi(); // read before any other 64-bit read replaces the latch
    // Outside 64-bit mode the operand is 32 bits (SDM Vol. 2A MOV CR).
    const h = (vmread(GUEST_CS_AR) & CS_AR_L) !== 0 ? upper : 0;
    if (cr.cr === 0) ok = writeCr0(vcpu, h, lo);
    else if (cr.cr === 4) ok = writeCr4(vcpu, h, lo);
    else if (cr.cr === 8) {
      // CR8 bits 63:4 are reserved: #GP(0) (SDM Vol. 3A 10.8.6.1).
      if (h !== 0 || (lo & ~0xf) !== 0) ok = queueException(vcpu, VECTOR_GP, 0);
      else vcpu.vlapic.writeCr8(lo & 0xf); // TPR[7:4] = CR8[3:0] (SDM Vol. 3A 11.8.6)
    } else ok = false;
  } else if (cr.accessType === ACCESS_MOV_FROM_CR) {
    if (cr.cr === 8) vcpu.setGpr(cr.gpr, 0, vcpu.vlapic.cr8());
    else ok = false;
  } else if (cr.accessType === ACCESS_CLTS) {
    const shadow = vmread(CR0_READ_SHADOW);
    vmwrite(CR0_READ_SHADOW, 0, (shadow & ~CR0_TS) >>> 0);
    vmwrite(GUEST_CR0, 0, (vmread(GUEST_CR0) & ~CR0_TS) >>> 0);
  } else if (cr.accessType === ACCESS_LMSW) {
    // LMSW loads CR0[3:0] but cannot clear PE (SDM Vol. 2A LMSW).
    const shadow = vmread(CR0_READ_SHADOW);
    const next = ((shadow & ~0xe) | (cr.lmswData & 0xf) | (shadow & CR0_PE)) >>> 0;
    ok = writeCr0(vcpu, 0, next);
  }
  if (!ok) {
    stopVm(vcpu, 'unexpected control-register access', exit);
    return;
  }
  // A faulting MOV does not complete: RIP stays on it.
  if (vcpu.exceptionVector < 0) vcpu.advanceRip(exit.ripHi, exit.ripLo, exit.instLen);
}
