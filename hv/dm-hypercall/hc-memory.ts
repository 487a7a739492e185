// User VM memory (ACRN hypercall.c hcall_set_vm_memory_regions, hcall_gpa_to_hpa).
//
// HC_VM_SET_MEMORY_REGIONS, param1 = Service VM GPA of struct set_regions:
//   the 24-byte header cannot be copied                          -1
//   its vmid (relative) is missing, pre-launched or the Service VM -ENOTTY
//   target POWERED_OFF, or RUNNING and real-time (ACRN: severity
//   does not pass and running)                                   -1
//   mr_num 0                                                     -1 (as ACRN: nothing done)
//   mr_num above HC_MAX_REGIONS (512: 16 KiB of regions)          -EINVAL
//   the mr_num x 32-byte array cannot be copied                  -1
//   any region invalid (below)                                   -EINVAL, nothing changed
//   the EPT runs out of pool pages                               -ENOMEM (earlier regions stay)
//   else every region, in order: 0
// The whole array is copied into a hypervisor buffer once, every region is
// validated from that copy, and only then applied (ACRN applies region by
// region and keeps those before an invalid one).
//
// A region is valid when gpa and size are 4 KiB aligned, size is not 0, and
// [gpa, gpa + size) lies below 2^48 (the EPT's reach), and, for MR_ADD:
//   - service_vm_gpa is 4 KiB aligned and every page of [service_vm_gpa,
//     + size) is mapped in the Service VM's EPT with at least the R/W/X the
//     region asks for (ACRN ept_is_valid_mr on the Service VM);
//   - each host range behind it passes hcHpaAllowed: never hypervisor memory,
//     the pool, or RAM of another hypervisor-backed VM, only Service VM memory;
//   - prot & 7 is a valid EPT permission (not 0, W needs R, X-only only when
//     the CPU allows it);
//   - [gpa, gpa + size) does not cover an MMIO range the target's devices
//     emulate (vIOAPIC, LAPIC page, ECAM), nor another MR_ADD of the batch.
// Any type other than MR_ADD is a delete (ACRN: MR_DEL, and MR_MODIFY is the
// caller's delete then add); deleting unmapped space is fine.
// MR_ADD maps with R/W/X = prot & 7 and the memory type of prot (WB, else WT,
// else WC, else WP, else UC), following the Service VM's host pages (each
// host-contiguous run is one Ept.map, so large pages are used where the host
// allows), replacing whatever the target had there.
//
// HC_VM_GPA2HPA, param2 = Service VM GPA of struct vm_gpa2hpa:
//   target POWERED_OFF, or the 16 bytes cannot be copied          -1
//   gpa not mapped in the target's EPT                           -1
//   else hpa written back: 0 (-1 if that copy fails)
import { EPT_ERR_NOMEM, eptPermsValid } from '../../arch/x86/ept';
import { hiOf, loOf } from '../u64';
import type { Vcpu } from '../vm/vcpu';
import { type AcrnVm, VM_POWERED_OFF, VM_RUNNING } from '../vm/vm';
import { SEVERITY_SERVICE_VM } from '../vm/vm-api';
import {
  abiAddr, abiProtToEptMemType, abiRegionShape, abiProtToEptPerms, abiRd16, abiRd32, abiWr64, EINVAL, ENOMEM, ENOTTY, GPA2HPA_GPA,
  GPA2HPA_HPA, GPA2HPA_SIZE, HC_FAIL, MEM_REGION_GPA, MEM_REGION_PROT, MEM_REGION_SERVICE_VM_GPA, MEM_REGION_SIZE,
  MEM_REGION_SIZE_FIELD, MEM_REGION_TYPE, MR_ADD, SET_REGIONS_MR_NUM, SET_REGIONS_REGIONS_GPA, SET_REGIONS_SIZE,
  SET_REGIONS_VMID,
} from './abi';
import { HC, HC_MAX_REGIONS } from './hc-state';
import { hcCopyIn, hcCopyOut, hcHpaAllowed, hcTargetVm } from './hc-util';


function hcField64(b: Uint8Array, off: number): number {
  return abiAddr(abiRd32(b, off + 4), abiRd32(b, off));
}

/** Shape check of region `i` of HC.regions. */
function hcRegionShapeAt(i: number): number {
  const b = HC.regions;
  const o = i * MEM_REGION_SIZE;
  return abiRegionShape(abiRd32(b, o + MEM_REGION_TYPE), abiRd32(b, o + MEM_REGION_GPA + 4), abiRd32(b, o + MEM_REGION_GPA),
    abiRd32(b, o + MEM_REGION_SERVICE_VM_GPA + 4), abiRd32(b, o + MEM_REGION_SERVICE_VM_GPA),
    abiRd32(b, o + MEM_REGION_SIZE_FIELD + 4), abiRd32(b, o + MEM_REGION_SIZE_FIELD));
}

function hcOverlap(aBase: number, aSize: number, bBase: number, bSize: number): boolean {
  return aBase < bBase + bSize && bBase < aBase + aSize;
}

/**
 * Walk the Service VM's EPT over [src, src + size): every page mapped with
 * at least `perms`, and every host-contiguous run allowed (hcHpaAllowed).
 * With `target` non-null, map each run into it at gpa (perms, memType).
 * Returns 0, -EINVAL (validation) or -ENOMEM (mapping).
 */
function hcWalkSource(svc: AcrnVm, src: number, size: number, perms: number, target: AcrnVm | null, gpa: number, memType: number): number {
  const ept = svc.ept;
  let at = src;
  let left = size;
  let runHpa = -1;
  let runOff = 0;
  let runLen = 0;
  while (left > 0) {
    const hpa = ept.translate(at);
    if (hpa < 0 || (ept.lastPerms & perms) !== perms) return -EINVAL;
    const ps = ept.lastPageSize;
    let n = ps - (at % ps);
    if (n > left) n = left;
    if (runLen > 0 && hpa === runHpa + runLen) runLen += n;
    else {
      if (runLen > 0) {
        const rc = hcRun(svc, runHpa, runLen, target, gpa + runOff, perms, memType);
        if (rc !== 0) return rc;
      }
      runHpa = hpa;
      runOff = at - src;
      runLen = n;
    }
    at += n;
    left -= n;
  }
  return runLen > 0 ? hcRun(svc, runHpa, runLen, target, gpa + runOff, perms, memType) : 0;
}

/** One host-contiguous run: check it, and map it when `target` is given. */
function hcRun(svc: AcrnVm, hpa: number, len: number, target: AcrnVm | null, gpa: number, perms: number, memType: number): number {
  if (!hcHpaAllowed(svc, hpa, len)) return -EINVAL;
  if (target === null) return 0;
  const rc = target.ept.map(gpa, hpa, len, perms, memType);
  if (rc === 0) return 0;
  return rc === EPT_ERR_NOMEM ? -ENOMEM : -EINVAL;
}

/** Full check of region `i` of HC.regions (the first `i` regions already passed). */
function hcCheckRegion(svc: AcrnVm, vm: AcrnVm, i: number): number {
  const shape = hcRegionShapeAt(i);
  if (shape !== 0) return shape;
  const b = HC.regions;
  const o = i * MEM_REGION_SIZE;
  if (abiRd32(b, o + MEM_REGION_TYPE) !== MR_ADD) return 0;
  const gpa = hcField64(b, o + MEM_REGION_GPA);
  const size = hcField64(b, o + MEM_REGION_SIZE_FIELD);
  const perms = abiProtToEptPerms(abiRd32(b, o + MEM_REGION_PROT));
  if (!eptPermsValid(perms, vm.ept.allowExecuteOnly)) return -EINVAL;
  const io = vm.io;
  for (let k = 0; k < io.mmioRegions; k++) if (hcOverlap(gpa, size, io.mmioBase[k], io.mmioSize[k])) return -EINVAL;
  for (let j = 0; j < i; j++) {
    const p = j * MEM_REGION_SIZE;
    if (abiRd32(b, p + MEM_REGION_TYPE) !== MR_ADD) continue;
    if (hcOverlap(gpa, size, hcField64(b, p + MEM_REGION_GPA), hcField64(b, p + MEM_REGION_SIZE_FIELD))) return -EINVAL;
  }
  return hcWalkSource(svc, hcField64(b, o + MEM_REGION_SERVICE_VM_GPA), size, perms, null, 0, 0);
}

/** Apply validated region `i`. */
function hcApplyRegion(svc: AcrnVm, vm: AcrnVm, i: number): number {
  const b = HC.regions;
  const o = i * MEM_REGION_SIZE;
  const gpa = hcField64(b, o + MEM_REGION_GPA);
  const size = hcField64(b, o + MEM_REGION_SIZE_FIELD);
  if (abiRd32(b, o + MEM_REGION_TYPE) !== MR_ADD) {
    const rc = vm.ept.unmap(gpa, size);
    if (rc === 0) return 0;
    return rc === EPT_ERR_NOMEM ? -ENOMEM : -EINVAL;
  }
  const prot = abiRd32(b, o + MEM_REGION_PROT);
  return hcWalkSource(svc, hcField64(b, o + MEM_REGION_SERVICE_VM_GPA), size, abiProtToEptPerms(prot), vm, gpa, abiProtToEptMemType(prot));
}

export function hcSetMemoryRegions(caller: Vcpu, _t: AcrnVm, p1Hi: number, p1Lo: number, _p2Hi: number, _p2Lo: number): number {
  const svc = caller.vm;
  const h = HC.buf;
  if (!hcCopyIn(svc, p1Hi, p1Lo, h, SET_REGIONS_SIZE)) return HC_FAIL;
  const vm = hcTargetVm(svc, abiRd16(h, SET_REGIONS_VMID));
  if (vm === null) return -ENOTTY;
  if (vm.state === VM_POWERED_OFF || (vm.state === VM_RUNNING && vm.severity > SEVERITY_SERVICE_VM)) return HC_FAIL;
  const count = abiRd32(h, SET_REGIONS_MR_NUM);
  if (count === 0) return HC_FAIL;
  if (count > HC_MAX_REGIONS) return -EINVAL;
  if (!hcCopyIn(svc, abiRd32(h, SET_REGIONS_REGIONS_GPA + 4), abiRd32(h, SET_REGIONS_REGIONS_GPA), HC.regions, count * MEM_REGION_SIZE)) return HC_FAIL;
  for (let i = 0; i < count; i++) {
    const rc = hcCheckRegion(svc, vm, i);
    if (rc !== 0) return rc;
  }
  for (let i = 0; i < count; i++) {
    const rc = hcApplyRegion(svc, vm, i);
    if (rc !== 0) return rc;
  }
  return 0;
}

export function hcGpa2Hpa(caller: Vcpu, vm: AcrnVm, _p1Hi: number, _p1Lo: number, p2Hi: number, p2Lo: number): number {
  if (vm.state === VM_POWERED_OFF) return HC_FAIL;
  const b = HC.buf;
  if (!hcCopyIn(caller.vm, p2Hi, p2Lo, b, GPA2HPA_SIZE)) return HC_FAIL;
  const gpa = hcField64(b, GPA2HPA_GPA);
  const hpa = gpa < 0 ? -1 : vm.ept.translate(gpa);
  if (hpa < 0) return HC_FAIL;
  abiWr64(b, GPA2HPA_HPA, hiOf(hpa), loOf(hpa));
  return hcCopyOut(caller.vm, p2Hi, p2Lo, b, GPA2HPA_SIZE) ? 0 : HC_FAIL;
}
