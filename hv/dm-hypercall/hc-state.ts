// What the hypercall layer keeps per VM slot and per vCPU, preallocated at
// init (one instance, HC): the VM table it serves, scratch buffers for the
// structures copied in from the Service VM (every structure is copied once
// into these and validated there: no double fetch), the slot configuration
// CREATE_VM needs, and per-slot runtime state that in ACRN lives in struct
// acrn_vm (the I/O request buffer, the DM-given name of a dynamic slot) and
// struct acrn_vcpu (registers the DM set, applied before the vCPU's next entry).
//
// Slot configuration hook (ACRN's vm_config: name, load order, severity,
// cpu_affinity), set from the scenario at boot with hcConfigureSlot():
//   - a slot with a configured name is "static": CREATE_VM with that name
//     takes it (ACRN get_vmid_by_name);
//   - a slot without one, of load order POST (the default for every slot), is
//     "dynamic": CREATE_VM with an unknown or empty name takes the lowest free
//     one above the Service VM's id (ACRN get_unused_vmid / allocate_dynamical_vmid);
//   - cpu affinity: the pCPUs the VM may use; the vCPU count is its popcount
//     (default pCPU 0: one vCPU).
// Whether a slot holds a post-launched VM: its running VM's load order when
// the slot is in use, else the configured load order.
//
// DESIGN.md allows one module-level structure (the VM table); HC is the
// hypercall layer's extension of it, bound to the table with hcBindVmTable().
// Nothing here allocates after construction.
import { MAX_VCPUS_PER_VM, LOAD_ORDER_POST, type AcrnVm, VM_POWERED_OFF } from '../vm/vm';
import { VmCreateParams, SEVERITY_STANDARD_VM } from '../vm/vm-api';
import { CONFIG_MAX_VM_NUM, type VmTable } from '../vm/vm-table';
import { HSM_DEFAULT_VECTOR, MAX_VM_NAME_LEN, REGS_SIZE } from './abi';
import { UPCALL } from '../vm/ioreq';

/** vCPU register states waiting for the vCPU's next entry (hcApplyPendingRegs). */
export const PENDING_NONE = 0;
/** The power-up state (ACRN reset_vcpu_regs: real mode at F000:FFF0), after CREATE_VM and RESET_VM. */
export const PENDING_RESET = 1;
/** A struct acrn_regs from HC_SET_VCPU_REGS, on top of the power-up state. */
export const PENDING_REGS = 2;

/** Scratch for one structure (the largest is acrn_vcpu_regs, 296 bytes). */
export const HC_SCRATCH_SIZE = 512;
/** Most regions one HC_VM_SET_MEMORY_REGIONS takes: 512 x 32 bytes fills the 16 KiB copy buffer. */
export const HC_MAX_REGIONS = 512;

/** The names dynamic slots run under (the DM's name bytes are kept in dynName). */
const HC_DYNAMIC_NAMES = ['post-vm0', 'post-vm1', 'post-vm2', 'post-vm3', 'post-vm4', 'post-vm5', 'post-vm6', 'post-vm7'];

export class HcContext {
  /** The VM table served; null until hcBindVmTable (every hypercall then answers -ENOTTY). */
  vms: VmTable | null = null;
  /** One copied-in structure. */
  readonly buf = new Uint8Array(HC_SCRATCH_SIZE);
  /** The vm_memory_region array of one HC_VM_SET_MEMORY_REGIONS. */
  readonly regions = new Uint8Array(HC_MAX_REGIONS * 32);
  readonly createParams = new VmCreateParams();

  // ---- slot configuration ------------------------------------------------------------
  readonly cfgName: string[] = [];
  readonly cfgLoadOrder = new Uint8Array(CONFIG_MAX_VM_NUM);
  readonly cfgSeverity = new Uint8Array(CONFIG_MAX_VM_NUM);
  readonly cfgAffinityLo = new Uint32Array(CONFIG_MAX_VM_NUM);
  readonly cfgAffinityHi = new Uint32Array(CONFIG_MAX_VM_NUM);

  // ---- per-slot state ----------------------------------------------------------------
  /** A dynamic slot's name as the DM gave it (bytes, length). */
  readonly dynName = new Uint8Array(CONFIG_MAX_VM_NUM * MAX_VM_NAME_LEN);
  readonly dynNameLen = new Uint8Array(CONFIG_MAX_VM_NUM);
  /** acrn_vm_creation.vm_flag of the VM in the slot. */
  readonly vmFlagLo = new Uint32Array(CONFIG_MAX_VM_NUM);
  readonly vmFlagHi = new Uint32Array(CONFIG_MAX_VM_NUM);

  // ---- per-vCPU pending registers (index vmId * MAX_VCPUS_PER_VM + vcpuId) ----------------
  readonly pendingKind = new Uint8Array(CONFIG_MAX_VM_NUM * MAX_VCPUS_PER_VM);
  readonly pendingRegs = new Uint8Array(CONFIG_MAX_VM_NUM * MAX_VCPUS_PER_VM * REGS_SIZE);

  constructor() {
    for (let i = 0; i < CONFIG_MAX_VM_NUM; i++) this.cfgName.push('');
    this.resetAll();
  }

  /** Default configuration and empty state for every slot. */
  resetAll(): void {
    UPCALL.vector = HSM_DEFAULT_VECTOR;
    for (let i = 0; i < CONFIG_MAX_VM_NUM; i++) {
      this.cfgName[i] = '';
      this.cfgLoadOrder[i] = LOAD_ORDER_POST;
      this.cfgSeverity[i] = SEVERITY_STANDARD_VM;
      this.cfgAffinityLo[i] = 1;
      this.cfgAffinityHi[i] = 0;
      this.clearSlot(i);
    }
  }

  /** Forget a slot's runtime state (its VM was created or destroyed through the hypercalls). */
  clearSlot(vmId: number): void {
    if (!(vmId >= 0 && vmId < CONFIG_MAX_VM_NUM)) return;
    this.dynNameLen[vmId] = 0;
    this.vmFlagLo[vmId] = 0;
    this.vmFlagHi[vmId] = 0;
    for (let v = 0; v < MAX_VCPUS_PER_VM; v++) {
      const at = vmId * MAX_VCPUS_PER_VM + v;
      this.pendingKind[at] = PENDING_NONE;
    }
  }

  /** The name a VM created in `vmId` runs under: its configured name, else the slot's dynamic name. */
  runName(vmId: number): string {
    const n = this.cfgName[vmId];
    return n.length > 0 ? n : HC_DYNAMIC_NAMES[vmId];
  }

  /** The slot holds, or is configured for, a post-launched VM. */
  isPostSlot(vm: AcrnVm): boolean {
    if (vm.state !== VM_POWERED_OFF) return vm.loadOrder === LOAD_ORDER_POST;
    return this.cfgLoadOrder[vm.vmId] === LOAD_ORDER_POST;
  }
}

export const HC = new HcContext();

/** Serve `vms` from now on, with default slot configuration and no state. */
export function hcBindVmTable(vms: VmTable | null): void {
  HC.vms = vms;
  HC.resetAll();
}

/**
 * The scenario's configuration of slot `vmId` (ACRN vm_config): `name` ('' for
 * a dynamic slot, at most 16 bytes), load order (LOAD_ORDER_*), severity
 * (SEVERITY_*) and the pCPU affinity bitmap as halves. False when out of range.
 */
export function hcConfigureSlot(vmId: number, name: string, loadOrder: number, severity: number, affinityLo: number, affinityHi: number): boolean {
  if (!(vmId >= 0 && vmId < CONFIG_MAX_VM_NUM) || name.length > MAX_VM_NAME_LEN) return false;
  if ((affinityLo >>> 0) === 0 && (affinityHi >>> 0) === 0) return false;
  HC.cfgName[vmId] = name;
  HC.cfgLoadOrder[vmId] = loadOrder & 0xff;
  HC.cfgSeverity[vmId] = severity & 0xff;
  HC.cfgAffinityLo[vmId] = affinityLo >>> 0;
  HC.cfgAffinityHi[vmId] = affinityHi >>> 0;
  return true;
}
