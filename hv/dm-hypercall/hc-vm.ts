// The VM-management hypercalls (ACRN hypercall.c hcall_create_vm ..
// hcall_create_vcpu) on top of the VM APIs (hv/vm/vm-api.ts), each with
// ACRN's guard; param1 is the target's id relative to the Service VM (the
// dispatcher resolved it; a missing or pre-launched target never gets here):
//
//   CREATE_VM     param1 = GPA of acrn_vm_creation (48 bytes). The copy
//                 fails: -1. The slot: the one configured with name[16], or a
//                 running VM of that name, else the lowest free dynamic slot
//                 above the Service VM; none, or a non-post-launched one:
//                 -ENOTTY. The slot must be POWERED_OFF, the structure
//                 writable, vm_flag without LAPIC pass-through or a secure
//                 world (not supported), cpu_affinity a subset of the slot's:
//                 else -1, nothing written. Then createVm: vmid (relative) and
//                 vcpu_num written back; if createVm fails, vmid 0xFFFF is
//                 written back. Either way 0.
//   DESTROY_VM    PAUSED: shutdownVm's result; else -1
//   START_VM      CREATED with an I/O request buffer set: startVm's result; else -1
//   PAUSE_VM      not POWERED_OFF: pauseVm, 0; else -1
//   RESET_VM      PAUSED: resetVm's result; else -1
//   CREATE_VCPU   0 (the vCPUs come with CREATE_VM; ACRN v3 keeps the id)
//
// CREATE_VM and RESET_VM leave the BSP's power-up register state pending
// (PENDING_RESET), as ACRN's vcpu reset does; HC_SET_VCPU_REGS replaces it.
import { vmclear } from '../../arch/x86/intrinsics';
import type { PcpuTable } from '../pcpu';
import type { Scheduler } from '../vm/sched';
import type { Vcpu } from '../vm/vcpu';
import { type AcrnVm, LOAD_ORDER_POST, MAX_VCPUS_PER_VM, VM_CREATED, VM_PAUSED, VM_POWERED_OFF } from '../vm/vm';
import { createVm, pauseVm, resetVm, shutdownVm, startVm, type VmCreateParams } from '../vm/vm-api';
import { CONFIG_MAX_VM_NUM } from '../vm/vm-table';
import {
  abiAbsToRelVmid, abiRd32, abiWr16, ACRN_INVALID_VMID, ENOTTY, GUEST_FLAG_LAPIC_PASSTHROUGH, GUEST_FLAG_SECURE_WORLD_ENABLED,
  HC_FAIL, MAX_VM_NAME_LEN, VM_CREATION_CPU_AFFINITY, VM_CREATION_NAME, VM_CREATION_SIZE, VM_CREATION_VCPU_NUM,
  VM_CREATION_VM_FLAG, VM_CREATION_VMID,
} from './abi';
import { HC } from './hc-state';
import { hcCopyIn, hcCopyOut, hcGpaWritable } from './hc-util';
import { hcPendReset } from './hc-vcpu-regs';

/** No slot for the name: -ENOTTY. */
const SLOT_NONE = -1;
/** The name is a pre-launched VM's or the Service VM's: -ENOTTY. */
const SLOT_NOT_POST = -2;

/** Length of the NUL-terminated name at buf[off, off + 16). */
function hcNameLength(b: Uint8Array, off: number): number {
  for (let i = 0; i < MAX_VM_NAME_LEN; i++) if (b[off + i] === 0) return i;
  return MAX_VM_NAME_LEN;
}

function hcNameIsString(s: string, b: Uint8Array, off: number, len: number): boolean {
  if (s.length !== len) return false;
  for (let i = 0; i < len; i++) if (s.charCodeAt(i) !== b[off + i]) return false;
  return true;
}

function hcNameIsDynamic(vmId: number, b: Uint8Array, off: number, len: number): boolean {
  if (HC.dynNameLen[vmId] !== len) return false;
  const base = vmId * MAX_VM_NAME_LEN;
  for (let i = 0; i < len; i++) if (HC.dynName[base + i] !== b[off + i]) return false;
  return true;
}

/** Slot id for the name at buf[off] (length len), or SLOT_NONE / SLOT_NOT_POST (ACRN get_vmid_by_name, then get_unused_vmid). */
function hcCreateSlot(svc: AcrnVm, b: Uint8Array, off: number, len: number): number {
  const vms = HC.vms;
  if (vms === null) return SLOT_NONE;
  if (len > 0) {
    for (let i = 0; i < CONFIG_MAX_VM_NUM; i++) {
      const vm = vms.vms[i];
      let match = HC.cfgName[i].length > 0 && hcNameIsString(HC.cfgName[i], b, off, len);
      if (!match && HC.cfgName[i].length === 0 && vm.state !== VM_POWERED_OFF) {
        match = vm.loadOrder === LOAD_ORDER_POST ? hcNameIsDynamic(i, b, off, len) : hcNameIsString(vm.name, b, off, len);
      }
      // A post-launched slot below the Service VM would get a relative id that wraps (a scenario error).
      if (match) return vm !== svc && i > svc.vmId && HC.isPostSlot(vm) ? i : SLOT_NOT_POST;
    }
  }
  for (let i = svc.vmId + 1; i < CONFIG_MAX_VM_NUM; i++) {
    const vm = vms.vms[i];
    if (vm.state === VM_POWERED_OFF && HC.cfgName[i].length === 0 && HC.cfgLoadOrder[i] === LOAD_ORDER_POST) return i;
  }
  return SLOT_NONE;
}

/**
 * createVm and resetVm (setupVmcs) VMCLEAR and VMPTRLD the target's VMCSs on
 * this pCPU, so they are active here, and record the last one as loaded in
 * the target's scheduler. When the target runs on another pCPU, VMCLEAR them
 * here again (a VMCS active on one processor must not be loaded on another,
 * SDM Vol. 3C 25.1; as smp.ts handOffVcpus does at boot) and make that pCPU
 * load its VMCS before its next entry. The caller's own VMCS is loaded back
 * by hcDispatch.
 */
function hcForgetLoadedVmcs(caller: Vcpu, vm: AcrnVm): void {
  for (let i = 0; i < vm.vcpuCount; i++) {
    const v = vm.vcpus[i];
    if (v.sched === caller.sched) continue;
    if (v.vmcsPa !== 0) vmclear(v.vmcsPa);
    v.sched.loadedVmcs = 0;
  }
}

/**
 * vCPU i on the i-th pCPU of the affinity (ACRN's cpu_affinity), in
 * p.vcpuSched. False when one is not online (nothing is created). Without a
 * pCPU table (one pCPU; unit tests) every vCPU goes to `slotSched`, the
 * scheduler the slot has.
 */
function hcPlaceVcpus(p: VmCreateParams, affLo: number, affHi: number, pcpus: PcpuTable | null, slotSched: Scheduler): boolean {
  let n = 0;
  for (let i = 0; i < MAX_VCPUS_PER_VM; i++) p.vcpuSched[i] = null;
  for (let c = 0; c < 64 && n < MAX_VCPUS_PER_VM; c++) {
    const bit = c < 32 ? (affLo >>> c) & 1 : (affHi >>> (c - 32)) & 1;
    if (bit === 0) continue;
    const sched = pcpus === null ? slotSched : pcpus.schedulerOf(c);
    if (sched === null) return false;
    p.vcpuSched[n] = sched;
    n++;
  }
  return n > 0;
}

/** Set bits of a u32. */
function hcPopcount(v: number): number {
  let n = 0;
  let x = v >>> 0;
  while (x !== 0) {
    n += x & 1;
    x = x >>> 1;
  }
  return n;
}

export function hcCreateVm(caller: Vcpu, _t: AcrnVm, p1Hi: number, p1Lo: number, _p2Hi: number, _p2Lo: number): number {
  const svc = caller.vm;
  const b = HC.buf;
  if (!hcCopyIn(svc, p1Hi, p1Lo, b, VM_CREATION_SIZE)) return HC_FAIL;
  const nameLen = hcNameLength(b, VM_CREATION_NAME);
  const slot = hcCreateSlot(svc, b, VM_CREATION_NAME, nameLen);
  if (slot < 0) return -ENOTTY;
  const vms = HC.vms;
  if (vms === null) return -ENOTTY;
  const vm = vms.vms[slot];
  if (vm.state !== VM_POWERED_OFF) return HC_FAIL;
  if (!hcGpaWritable(svc, p1Hi, p1Lo, VM_CREATION_SIZE)) return HC_FAIL;
  const flagLo = abiRd32(b, VM_CREATION_VM_FLAG);
  const flagHi = abiRd32(b, VM_CREATION_VM_FLAG + 4);
  if ((flagLo & (GUEST_FLAG_LAPIC_PASSTHROUGH | GUEST_FLAG_SECURE_WORLD_ENABLED)) !== 0) return HC_FAIL;
  const cfgLo = HC.cfgAffinityLo[slot];
  const cfgHi = HC.cfgAffinityHi[slot];
  let affLo = abiRd32(b, VM_CREATION_CPU_AFFINITY);
  let affHi = abiRd32(b, VM_CREATION_CPU_AFFINITY + 4);
  if ((affLo & ~cfgLo) !== 0 || (affHi & ~cfgHi) !== 0) return HC_FAIL;
  if (affLo === 0 && affHi === 0) {
    affLo = cfgLo;
    affHi = cfgHi;
  }
  const p = HC.createParams;
  p.name = HC.runName(slot);
  p.loadOrder = LOAD_ORDER_POST;
  p.severity = HC.cfgSeverity[slot];
  p.vcpus = hcPopcount(affLo) + hcPopcount(affHi);
  p.vuarts = 1;
  if (!hcPlaceVcpus(p, affLo, affHi, vms.pcpus, vm.scheduler)) return HC_FAIL;
  vm.scheduler = p.vcpuSched[0] as Scheduler;
  const created = createVm(vm, p) === 0;
  hcForgetLoadedVmcs(caller, vm);
  if (created) {
    HC.clearSlot(slot);
    HC.vmFlagLo[slot] = flagLo;
    HC.vmFlagHi[slot] = flagHi;
    if (HC.cfgName[slot].length === 0) {
      const base = slot * MAX_VM_NAME_LEN;
      for (let i = 0; i < nameLen; i++) {
        const at = base + i;
        HC.dynName[at] = b[VM_CREATION_NAME + i] & 0xff;
      }
      HC.dynNameLen[slot] = nameLen;
    }
    hcPendReset(slot);
    abiWr16(b, VM_CREATION_VMID, abiAbsToRelVmid(svc.vmId, slot));
    abiWr16(b, VM_CREATION_VCPU_NUM, vm.vcpuCount);
  } else {
    abiWr16(b, VM_CREATION_VMID, ACRN_INVALID_VMID);
  }
  if (!hcCopyOut(svc, p1Hi, p1Lo, b, VM_CREATION_SIZE)) {
    // Cannot happen (checked writable above); never leave a VM the DM does not know about.
    if (vm.state !== VM_POWERED_OFF) {
      pauseVm(vm);
      shutdownVm(vm);
      HC.clearSlot(slot);
    }
    return HC_FAIL;
  }
  return 0;
}

export function hcDestroyVm(_c: Vcpu, vm: AcrnVm, _p1Hi: number, _p1Lo: number, _p2Hi: number, _p2Lo: number): number {
  if (vm.state !== VM_PAUSED) return HC_FAIL;
  const rc = shutdownVm(vm);
  if (rc === 0) HC.clearSlot(vm.vmId);
  return rc;
}

export function hcStartVm(_c: Vcpu, vm: AcrnVm, _p1Hi: number, _p1Lo: number, _p2Hi: number, _p2Lo: number): number {
  if (vm.state !== VM_CREATED || !vm.ioreqBufferSet) return HC_FAIL;
  return startVm(vm);
}

export function hcPauseVm(_c: Vcpu, vm: AcrnVm, _p1Hi: number, _p1Lo: number, _p2Hi: number, _p2Lo: number): number {
  if (vm.state === VM_POWERED_OFF) return HC_FAIL;
  pauseVm(vm);
  return 0;
}

export function hcResetVm(caller: Vcpu, vm: AcrnVm, _p1Hi: number, _p1Lo: number, _p2Hi: number, _p2Lo: number): number {
  if (vm.state !== VM_PAUSED) return HC_FAIL;
  const rc = resetVm(vm);
  hcForgetLoadedVmcs(caller, vm);
  if (rc !== 0) return rc;
  hcPendReset(vm.vmId);
  return 0;
}

export function hcCreateVcpu(_c: Vcpu, _vm: AcrnVm, _p1Hi: number, _p1Lo: number, _p2Hi: number, _p2Lo: number): number {
  return 0;
}
