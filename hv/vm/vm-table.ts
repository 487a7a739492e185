// The VM table: every VM slot is built at init (its vCPUs, devices, tables),
// so creating a VM later allocates nothing on the TypeScript heap; the vm id
// is the index. This is the one module-level structure of the VM layer.
import type { PcpuTable } from '../pcpu';
import type { Platform } from './platform';
import type { Scheduler } from './sched';
import { AcrnVm, VM_POWERED_OFF } from './vm';

export const CONFIG_MAX_VM_NUM = 8;

export class VmTable {
  readonly vms: AcrnVm[] = [];
  /** The pCPUs VMs can be placed on (hv/pcpu.ts); null: everything on the scheduler given here. */
  pcpus: PcpuTable | null = null;

  constructor(scheduler: Scheduler, platform: Platform) {
    for (let i = 0; i < CONFIG_MAX_VM_NUM; i++) this.vms.push(new AcrnVm(i, scheduler, platform));
  }

  /** The lowest powered-off slot, or null. */
  freeSlot(): AcrnVm | null {
    for (let i = 0; i < CONFIG_MAX_VM_NUM; i++) if (this.vms[i].state === VM_POWERED_OFF) return this.vms[i];
    return null;
  }

  get(vmId: number): AcrnVm | null {
    return vmId >= 0 && vmId < CONFIG_MAX_VM_NUM ? this.vms[vmId] : null;
  }

  /** The VM (not powered off) named `name`, or null. */
  findByName(name: string): AcrnVm | null {
    for (let i = 0; i < CONFIG_MAX_VM_NUM; i++) {
      const vm = this.vms[i];
      if (vm.state !== VM_POWERED_OFF && vm.name === name) return vm;
    }
    return null;
  }
}
