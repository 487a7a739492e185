// Helpers every hypercall handler uses: copies between the Service VM's memory
// and the hypercall scratch buffers (through the Service VM's EPT, every length
// checked: guest-copy.ts), the target VM of a relative id, and the check that
// a host-physical range is memory the Service VM may hand to a User VM.
import { EPT_W } from '../../arch/x86/ept';
import { resvCount, resvField } from '../../arch/x86/intrinsics';
import { RESV_GUEST_RAM } from '../mm';
import { COPY_OK } from '../vm/guest-copy';
import { type AcrnVm, VM_POWERED_OFF } from '../vm/vm';
import { CONFIG_MAX_VM_NUM } from '../vm/vm-table';
import { abiAddr, abiRelToAbsVmid } from './abi';
import { HC } from './hc-state';

const PAGE = 4096;

/** Copy `len` bytes at the Service VM GPA hi:lo into dst[0, len). False when any byte is not readable guest memory. */
export function hcCopyIn(vm: AcrnVm, gpaHi: number, gpaLo: number, dst: Uint8Array, len: number): boolean {
  const gpa = abiAddr(gpaHi, gpaLo);
  if (gpa < 0) return false;
  return vm.guestMem.copyFromGpa(gpa, dst, 0, len) === COPY_OK;
}

/** Copy src[0, len) to the Service VM GPA hi:lo. False when any byte is not writable guest memory. */
export function hcCopyOut(vm: AcrnVm, gpaHi: number, gpaLo: number, src: Uint8Array, len: number): boolean {
  const gpa = abiAddr(gpaHi, gpaLo);
  if (gpa < 0) return false;
  return vm.guestMem.copyToGpa(gpa, src, 0, len) === COPY_OK;
}

/** Every page of [gpa, gpa + len) is mapped writable in the VM's EPT (so a later copy back cannot fail half way). */
export function hcGpaWritable(vm: AcrnVm, gpaHi: number, gpaLo: number, len: number): boolean {
  const gpa = abiAddr(gpaHi, gpaLo);
  if (gpa < 0 || len <= 0) return false;
  const end = gpa + len;
  let at = gpa - (gpa % PAGE);
  while (at < end) {
    if (vm.ept.translate(at) < 0 || (vm.ept.lastPerms & EPT_W) === 0) return false;
    at += PAGE;
  }
  return true;
}

/**
 * The target of a VM id relative to the Service VM `svc` (ACRN
 * rel_vmid_2_vmid): the slot (svc + rel) mod 2^16 when it exists and holds,
 * or is configured for, a post-launched VM; null otherwise (the hypercall
 * answers -ENOTTY). ACRN refuses pre-launched targets; the Service VM itself
 * (relative id 0) is refused here too, so the DM cannot pause or reset the
 * VM it runs in.
 */
export function hcTargetVm(svc: AcrnVm, rel: number): AcrnVm | null {
  const vms = HC.vms;
  if (vms === null) return null;
  const abs = abiRelToAbsVmid(svc.vmId, rel);
  if (abs >= CONFIG_MAX_VM_NUM) return null;
  const vm = vms.vms[abs];
  if (vm === svc || !HC.isPostSlot(vm)) return null;
  return vm;
}

function hcOverlaps(aBase: number, aSize: number, bBase: number, bSize: number): boolean {
  return aBase < bBase + bSize && bBase < aBase + aSize;
}

/**
 * True when the host-physical range [hpa, hpa + len) may be shared by the
 * Service VM `svc` with a User VM: it touches no range the hypervisor keeps
 * for itself (hv/mm.ts RESV_*: image, Wasm window, stacks, page pool, boot
 * modules, trampoline, first MiB), and no RAM of another VM the hypervisor
 * backs itself (RESV_GUEST_RAM, and every VM slot's ramHpa/ramSize), except
 * the Service VM's own RAM. The Service VM's EPT already leaves all of these
 * out; this is the second line.
 */
export function hcHpaAllowed(svc: AcrnVm, hpa: number, len: number): boolean {
  const ownBase = svc.ramHpa;
  const ownSize = svc.ramSize;
  const n = resvCount();
  for (let i = 0; i < n; i++) {
    const base = resvField(i, 0);
    const size = resvField(i, 1);
    if (size <= 0 || !hcOverlaps(hpa, len, base, size)) continue;
    const inOwnRam = ownSize > 0 && hpa >= ownBase && hpa + len <= ownBase + ownSize;
    if (resvField(i, 2) === RESV_GUEST_RAM && inOwnRam) continue;
    return false;
  }
  const vms = HC.vms;
  if (vms === null) return false;
  for (let i = 0; i < CONFIG_MAX_VM_NUM; i++) {
    const vm = vms.vms[i];
    if (vm === svc || vm.state === VM_POWERED_OFF || vm.ramSize <= 0) continue;
    if (hcOverlaps(hpa, len, vm.ramHpa, vm.ramSize)) return false;
  }
  return true;
}
