// HC_SET_VCPU_REGS (ACRN hypercall.c hcall_set_vcpu_regs, vcpu.c set_vcpu_regs)
// and the pending register state it leaves for the vCPU's next entry.
//
//   target POWERED_OFF or RUNNING, or param2 = 0            -1
//   the 296-byte acrn_vcpu_regs cannot be copied            -1
//   vcpu_id >= MAX_VCPUS_PER_VM, or that vCPU is offline     -1
//   CR0/CR4 invalid (ACRN is_valid_cr0_cr4), or CR0/CR4/EFER
//   a state VM entry refuses (SDM Vol. 3C 26.3.1.1)          -1
//   else: the struct acrn_regs is kept as the vCPU's pending state, 0.
//
// Design: the hypercall runs on the Service VM's pCPU while the target's
// VMCS may still be active on another pCPU (the last one its vCPU ran on), so
// it never VMPTRLDs the target's VMCS. It copies the registers into a
// per-vCPU buffer (HC.pendingRegs) and marks the vCPU; the run loop calls
// hcApplyPendingRegs(vcpu) with the vCPU's own VMCS current, before
// applyStartupSignals and injection, on the pCPU that runs it. CREATE_VM
// and RESET_VM leave PENDING_RESET for the BSP (the power-up state).
//
// Applying PENDING_REGS, as ACRN's set_vcpu_regs + init_vmcs: the whole
// guest state is first set to the power-up state (setGuestRealModeReset, so
// every field VM entry checks has a value), then
//   GPRs from gprs (RSP into GUEST_RSP), RIP, EFER (IA-32e mode guest entry
//   control = EFER.LMA), RFLAGS (2 if 0, else with CF PF AF ZF SF OF and the
//   reserved bits cleared and bit 1 set), CR0/CR4 through the guest/host
//   masks and read shadows, CR3;
//   CS/SS/DS/ES/FS/GS: the selectors given, base 0, limit and access rights
//   flat data (0xFFFFFFFF/0xC093 with CR0.PE, else 0xFFFF/0x0093); CS then
//   takes cs_ar, cs_base and cs_limit;
//   GDTR and IDTR base and limit; LDTR and TR: the selectors given, base 0,
//   limit 0xFFFF, access rights 0x82 (LDT) and 0x8B (busy TSS).
import { cpuid, poke64, vmread, vmwrite } from '../../arch/x86/intrinsics';
import { gprOffset } from '../../arch/x86/vcpu-ctx';
import {
  CR0_READ_SHADOW, CR4_READ_SHADOW, ENTRY_IA32E_MODE_GUEST, GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_CS_AR, GUEST_CS_BASE,
  GUEST_CS_LIMIT, GUEST_CS_SELECTOR, GUEST_DS_AR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_SELECTOR, GUEST_ES_AR,
  GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_SELECTOR, GUEST_FS_AR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_SELECTOR,
  GUEST_GDTR_BASE, GUEST_GDTR_LIMIT, GUEST_GS_AR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_SELECTOR, GUEST_IA32_EFER,
  GUEST_IDTR_BASE, GUEST_IDTR_LIMIT, GUEST_LDTR_AR, GUEST_LDTR_BASE, GUEST_LDTR_LIMIT, GUEST_LDTR_SELECTOR,
  GUEST_RFLAGS, GUEST_RIP, GUEST_RSP, GUEST_SS_AR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_SELECTOR, GUEST_TR_AR,
  GUEST_TR_BASE, GUEST_TR_LIMIT, GUEST_TR_SELECTOR, VM_ENTRY_CONTROLS,
} from '../../arch/x86/vmcs';
import { CAP_CR4_FIXED1, type VmxCaps } from '../../arch/x86/vmx-caps';
import { guestCr0, guestCr4, setGuestRealModeReset } from '../vm/guest-state';
import { VCPU_OFFLINE, type Vcpu } from '../vm/vcpu';
import { type AcrnVm, MAX_VCPUS_PER_VM, VM_POWERED_OFF, VM_RUNNING } from '../vm/vm';
import { CONFIG_MAX_VM_NUM } from '../vm/vm-table';
import {
  abiAddr, abiGprOffset, abiRd16, abiRd32, DESC_PTR_BASE, DESC_PTR_LIMIT, HC_FAIL, REGS_CR0, REGS_CR3, REGS_CR4,
  REGS_CS_AR, REGS_CS_BASE, REGS_CS_LIMIT, REGS_CS_SEL, REGS_GDT, REGS_IA32_EFER, REGS_IDT, REGS_LDT_SEL, REGS_RFLAGS,
  REGS_RIP, REGS_SIZE, REGS_TR_SEL, VCPU_REGS_REGS, VCPU_REGS_SIZE, VCPU_REGS_VCPU_ID,
} from './abi';
import { HC, PENDING_NONE, PENDING_REGS, PENDING_RESET } from './hc-state';
import { hcCopyIn } from './hc-util';

const CR0_PE = 0x1;
const CR0_NW = 0x20000000;
const CR0_CD = 0x40000000;
const CR0_PG = 0x80000000;
/** CR0 bits 6-15, 17 and 19-28 are reserved (SDM Vol. 3A 2.5). */
const CR0_RESERVED = 0x1ffaffc0;
const CR4_PAE = 0x20;
const CR4_VMXE = 0x2000;
/** EFER bits a guest may hold: SCE (0), LME (8), LMA (10), NXE (11). */
const EFER_VALID = 0xd01;
const EFER_LME = 0x100;
const EFER_LMA = 0x400;
/** RFLAGS bits that exist (bit 1 always 1) minus CF PF AF ZF SF OF, which ACRN clears (~0x8D5). */
const RFLAGS_KEPT = 0x3f7702;
const RFLAGS_FIXED = 0x2;
const AR_FLAT_DATA = 0xc093;
const AR_REAL_DATA = 0x0093;
const AR_LDTR = 0x0082;
const AR_TR = 0x008b;

/** CS SS DS ES FS GS in struct acrn_regs order (the selectors at cs_sel..gs_sel). */
const HC_SEG_SELECTOR = [GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR, GUEST_ES_SELECTOR, GUEST_FS_SELECTOR, GUEST_GS_SELECTOR];
const HC_SEG_BASE = [GUEST_CS_BASE, GUEST_SS_BASE, GUEST_DS_BASE, GUEST_ES_BASE, GUEST_FS_BASE, GUEST_GS_BASE];
const HC_SEG_LIMIT = [GUEST_CS_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_ES_LIMIT, GUEST_FS_LIMIT, GUEST_GS_LIMIT];
const HC_SEG_AR = [GUEST_CS_AR, GUEST_SS_AR, GUEST_DS_AR, GUEST_ES_AR, GUEST_FS_AR, GUEST_GS_AR];

/**
 * CR0, CR4, CR3 and EFER of a struct acrn_regs at b[base] are a state the
 * vCPU can be entered with: ACRN's is_valid_cr0_cr4 (no reserved CR0 bit, PG
 * only with PE, NW only with CD, CR4 only bits IA32_VMX_CR4_FIXED1 allows,
 * VMXE not) plus the VM-entry checks of SDM Vol. 3C 26.3.1.1 on EFER (known
 * bits only; LMA needs LME, PG and PAE; with PG, LMA = LME) and CR3 below 2^52.
 */
export function hcRegsValid(caps: VmxCaps, b: Uint8Array, base: number): boolean {
  const cr0 = abiRd32(b, base + REGS_CR0);
  const cr4 = abiRd32(b, base + REGS_CR4);
  const efer = abiRd32(b, base + REGS_IA32_EFER);
  if (abiRd32(b, base + REGS_CR0 + 4) !== 0 || abiRd32(b, base + REGS_CR4 + 4) !== 0 || abiRd32(b, base + REGS_IA32_EFER + 4) !== 0) return false;
  if ((cr0 & CR0_RESERVED) !== 0) return false;
  const pe = (cr0 & CR0_PE) !== 0;
  const pg = cr0 >= CR0_PG;
  if (pg && !pe) return false;
  if ((cr0 & CR0_NW) !== 0 && (cr0 & CR0_CD) === 0) return false;
  const allowed = caps.msrLo(CAP_CR4_FIXED1) & ~CR4_VMXE;
  if ((cr4 & ~allowed) !== 0) return false;
  if ((efer & ~EFER_VALID) !== 0) return false;
  const lme = (efer & EFER_LME) !== 0;
  const lma = (efer & EFER_LMA) !== 0;
  if (lma && !(lme && pg && (cr4 & CR4_PAE) !== 0)) return false;
  if (pg && lme !== lma) return false;
  return abiAddr(abiRd32(b, base + REGS_CR3 + 4), abiRd32(b, base + REGS_CR3)) >= 0;
}

export function hcSetVcpuRegs(caller: Vcpu, vm: AcrnVm, _p1Hi: number, _p1Lo: number, p2Hi: number, p2Lo: number): number {
  if (vm.state === VM_POWERED_OFF || vm.state === VM_RUNNING || (p2Hi === 0 && p2Lo === 0)) return HC_FAIL;
  const b = HC.buf;
  if (!hcCopyIn(caller.vm, p2Hi, p2Lo, b, VCPU_REGS_SIZE)) return HC_FAIL;
  const vcpuId = abiRd16(b, VCPU_REGS_VCPU_ID);
  if (vcpuId >= MAX_VCPUS_PER_VM) return HC_FAIL;
  if (vm.vcpus[vcpuId].state === VCPU_OFFLINE) return HC_FAIL;
  if (!hcRegsValid(vm.platform.caps, b, VCPU_REGS_REGS)) return HC_FAIL;
  const slot = vm.vmId * MAX_VCPUS_PER_VM + vcpuId;
  const dst = HC.pendingRegs;
  const first = slot * REGS_SIZE;
  for (let i = 0; i < REGS_SIZE; i++) {
    const at = first + i;
    dst[at] = b[VCPU_REGS_REGS + i] & 0xff;
  }
  HC.pendingKind[slot] = PENDING_REGS;
  return 0;
}

/** The kind of register state pending for `vcpu` (PENDING_*). */
export function hcPendingKind(vcpu: Vcpu): number {
  const id = vcpu.vm.vmId;
  if (!(id >= 0 && id < CONFIG_MAX_VM_NUM) || !(vcpu.id >= 0 && vcpu.id < MAX_VCPUS_PER_VM)) return PENDING_NONE;
  return HC.pendingKind[id * MAX_VCPUS_PER_VM + vcpu.id];
}

/** Drop what is pending for `vcpu` (e.g. its VM went away by another path). */
export function hcDropPendingRegs(vcpu: Vcpu): void {
  const id = vcpu.vm.vmId;
  if (!(id >= 0 && id < CONFIG_MAX_VM_NUM) || !(vcpu.id >= 0 && vcpu.id < MAX_VCPUS_PER_VM)) return;
  const at = id * MAX_VCPUS_PER_VM + vcpu.id;
  HC.pendingKind[at] = PENDING_NONE;
}

/** u64 at pendingRegs[off] as a number below 2^53 is not guaranteed: write it as halves. */
function hcWriteField64(field: number, b: Uint8Array, off: number): number {
  return vmwrite(field, abiRd32(b, off + 4), abiRd32(b, off));
}

/**
 * Write the register state pending for `vcpu` into its VMCS and context.
 * @pre the vCPU's VMCS is the current one (the run loop, after VMPTRLD).
 * @returns true when nothing was pending or every write succeeded; false when
 *          a VMWRITE failed (the caller stops the VM, as for a failed SIPI).
 */
export function hcApplyPendingRegs(vcpu: Vcpu): boolean {
  const kind = hcPendingKind(vcpu);
  if (kind === PENDING_NONE) return true;
  const slot = vcpu.vm.vmId * MAX_VCPUS_PER_VM + vcpu.id;
  HC.pendingKind[slot] = PENDING_NONE;
  const caps = vcpu.vm.platform.caps;
  let rc = setGuestRealModeReset(caps);
  const ctx = vcpu.ctxPa;
  if (kind === PENDING_RESET) {
    for (let i = 0; i < 16; i++) if (i !== 4) poke64(ctx + gprOffset(i), 0, 0);
    poke64(ctx + gprOffset(2), 0, cpuid(1, 0) >>> 0); // EDX: the processor signature (SDM Vol. 3A 9.1.4)
    return rc === 0;
  }
  const b = HC.pendingRegs;
  const base = slot * REGS_SIZE;
  for (let i = 0; i < 16; i++) {
    const off = base + abiGprOffset(i);
    if (i === 4) rc |= hcWriteField64(GUEST_RSP, b, off);
    else poke64(ctx + gprOffset(i), abiRd32(b, off + 4), abiRd32(b, off));
  }
  const cr0 = abiRd32(b, base + REGS_CR0);
  const cr4 = abiRd32(b, base + REGS_CR4);
  const protectedMode = (cr0 & CR0_PE) !== 0;
  for (let s = 0; s < 6; s++) {
    rc |= vmwrite(HC_SEG_SELECTOR[s], 0, abiRd16(b, base + REGS_CS_SEL + s * 2));
    rc |= vmwrite(HC_SEG_BASE[s], 0, 0);
    rc |= vmwrite(HC_SEG_LIMIT[s], 0, protectedMode ? 0xffffffff : 0xffff);
    rc |= vmwrite(HC_SEG_AR[s], 0, protectedMode ? AR_FLAT_DATA : AR_REAL_DATA);
  }
  rc |= vmwrite(GUEST_CS_AR, 0, abiRd32(b, base + REGS_CS_AR));
  rc |= hcWriteField64(GUEST_CS_BASE, b, base + REGS_CS_BASE);
  rc |= vmwrite(GUEST_CS_LIMIT, 0, abiRd32(b, base + REGS_CS_LIMIT));
  rc |= vmwrite(GUEST_LDTR_SELECTOR, 0, abiRd16(b, base + REGS_LDT_SEL));
  rc |= vmwrite(GUEST_LDTR_BASE, 0, 0);
  rc |= vmwrite(GUEST_LDTR_LIMIT, 0, 0xffff);
  rc |= vmwrite(GUEST_LDTR_AR, 0, AR_LDTR);
  rc |= vmwrite(GUEST_TR_SELECTOR, 0, abiRd16(b, base + REGS_TR_SEL));
  rc |= vmwrite(GUEST_TR_BASE, 0, 0);
  rc |= vmwrite(GUEST_TR_LIMIT, 0, 0xffff);
  rc |= vmwrite(GUEST_TR_AR, 0, AR_TR);
  rc |= hcWriteField64(GUEST_GDTR_BASE, b, base + REGS_GDT + DESC_PTR_BASE);
  rc |= vmwrite(GUEST_GDTR_LIMIT, 0, abiRd16(b, base + REGS_GDT + DESC_PTR_LIMIT));
  rc |= hcWriteField64(GUEST_IDTR_BASE, b, base + REGS_IDT + DESC_PTR_BASE);
  rc |= vmwrite(GUEST_IDTR_LIMIT, 0, abiRd16(b, base + REGS_IDT + DESC_PTR_LIMIT));
  rc |= vmwrite(CR0_READ_SHADOW, 0, cr0);
  rc |= vmwrite(GUEST_CR0, 0, guestCr0(caps, cr0));
  rc |= vmwrite(CR4_READ_SHADOW, 0, cr4);
  rc |= vmwrite(GUEST_CR4, 0, guestCr4(caps, cr4));
  rc |= hcWriteField64(GUEST_CR3, b, base + REGS_CR3);
  const efer = abiRd32(b, base + REGS_IA32_EFER);
  rc |= vmwrite(GUEST_IA32_EFER, 0, efer);
  const entry = vmread(VM_ENTRY_CONTROLS);
  rc |= vmwrite(VM_ENTRY_CONTROLS, 0, ((efer & EFER_LMA) !== 0 ? entry | ENTRY_IA32E_MODE_GUEST : entry & ~ENTRY_IA32E_MODE_GUEST) >>> 0);
  rc |= hcWriteField64(GUEST_RIP, b, base + REGS_RIP);
  const flagsLo = abiRd32(b, base + REGS_RFLAGS);
  const flagsHi = abiRd32(b, base + REGS_RFLAGS + 4);
  rc |= vmwrite(GUEST_RFLAGS, 0, flagsLo === 0 && flagsHi === 0 ? RFLAGS_FIXED : (flagsLo & RFLAGS_KEPT) | RFLAGS_FIXED);
  return rc === 0;
}

/** Mark the BSP of the VM in `vmId` for the power-up state (CREATE_VM, RESET_VM). */
export function hcPendReset(vmId: number): void {
  if (!(vmId >= 0 && vmId < CONFIG_MAX_VM_NUM)) return;
  const first = vmId * MAX_VCPUS_PER_VM;
  for (let i = 0; i < MAX_VCPUS_PER_VM; i++) {
    const at = first + i;
    HC.pendingKind[at] = i === 0 ? PENDING_RESET : PENDING_NONE;
  }
}
