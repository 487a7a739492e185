// AcrnVm: one virtual machine, as ACRN's struct acrn_vm: identity (id, name,
// load order, severity, state), vCPUs and devices, the EPT, loader
// information, e820 table, I/O emulation registry, CPUID entries, the I/O
// request buffer, exit counters and bitmaps. The state machine and its APIs
// are vm-state.ts and vm-api.ts.
import { EXIT_REASON_COUNT } from '../../arch/x86/vmcs';
import { E820Table } from './e820';
import { LoadInfo } from './sw-loader';
import { Ept } from '../../arch/x86/ept';
import { DebugConsole, TestControl } from './debug-port';
import { EptGuestPhysMemory, GuestMemory } from './guest-copy';
import { GuestWalker } from './guest-walk';
import { IoEmul } from './io-emul';
import type { Platform } from './platform';
import type { Scheduler } from './sched';
import { Vcpu } from './vcpu';
import { Vcpuid } from './vcpuid';
import { LapicMmio, VmLapicBus } from './vcpu-lapic';
import { VmDevices } from './vm-devices';
import type { Vlapic } from './vlapic';

/** ACRN's VM states (ACRN-ABI.md). */
export const VM_POWERED_OFF = 0;
export const VM_CREATED = 1;
export const VM_RUNNING = 2;
export const VM_READY_TO_POWEROFF = 3;
export const VM_PAUSED = 4;
export const VM_STATE_NAMES = ['powered off', 'created', 'running', 'ready to power off', 'paused'];

/** Load orders (ACRN-ABI.md: VM configuration). */
export const LOAD_ORDER_PRE = 0;
export const LOAD_ORDER_SERVICE = 1;
export const LOAD_ORDER_POST = 2;
export const LOAD_ORDER_NAMES = ['pre-launched', 'Service VM', 'post-launched'];

export const MAX_VCPUS_PER_VM = 4;

/**
 * Puts a hypervisor-launched VM's images back and sets its BSP's entry state
 * (ACRN's prepare_os_image), on a cold reset, with the BSP's VMCS current on
 * the pCPU that runs it (vcpu-reset.ts). The launcher (vm-launch.ts) is one.
 */
export interface VmImageLoader {
  reload(vm: AcrnVm, bsp: Vcpu): boolean;
}

/** Guest power events waiting for the VM's pCPU loop (vm-power.ts). */
export const POWER_NONE = 0;
export const POWER_OFF = 1;
export const POWER_RESET = 2;

export class AcrnVm {
  readonly vmId: number;
  name = '';
  loadOrder = LOAD_ORDER_PRE;
  /** ACRN's severity (vm-api.ts SEVERITY_*). */
  severity = 0x10;
  state = VM_POWERED_OFF;
  /** IPIs between this VM's vLAPICs; must exist before the vCPUs (they take it). */
  readonly lapicBus = new VmLapicBus(this);
  readonly vcpus: Vcpu[] = [];
  /** vcpus[i].vlapic, for destination lookups. */
  readonly vlapics: Vlapic[] = [];
  /** The xAPIC page at 0xFEE00000, registered in `io` by whoever builds the VM. */
  readonly lapicMmio = new LapicMmio(this);
  vcpuCount = 0;
  readonly ept = new Ept();
  readonly io: IoEmul;
  /** vPIC, vIOAPIC, vUARTs, vPCI (vm-devices.ts). */
  readonly devices: VmDevices;
  /** The guest's page walker and guest-memory copies, through this VM's EPT. */
  readonly walker: GuestWalker;
  readonly guestMem: GuestMemory;
  readonly vcpuid = new Vcpuid();
  /** VM exits of this VM by basic exit reason. */
  readonly exitCounts = new Float64Array(EXIT_REASON_COUNT);
  /** I/O bitmaps A (ports 0-7FFF) and B, and the MSR bitmap: pool pages. */
  ioBitmapA = 0;
  ioBitmapB = 0;
  msrBitmap = 0;
  /** Host RAM backing guest RAM at GPA 0 (hypervisor-backed VMs). */
  ramHpa = 0;
  ramSize = 0;
  /** The VM's e820 table (ACRN vm->e820_entries), built by the launcher. */
  readonly e820 = new E820Table();
  /** What the software loader put where (ACRN's vm_sw_info). */
  readonly loadInfo = new LoadInfo();
  /** Reloads the images on a cold reset; null for VMs the DM loads (post-launched) and test VMs. */
  imageLoader: VmImageLoader | null = null;
  /**
   * The I/O request buffer the Service VM's DM registered for this VM
   * (HC_SET_IOREQ_BUFFER; ACRN vm->sw.io_shared_page): a 4 KiB page of 16
   * struct acrn_io_request slots, one per vCPU, at ioreqBufferGpa in the
   * Service VM (host-physical ioreqBufferHpa), and the Service VM that
   * serves it (its BSP takes the upcall; ioreq.ts).
   */
  ioreqBufferSet = false;
  ioreqBufferGpa = 0;
  ioreqBufferHpa = 0;
  ioreqServiceVm: AcrnVm | null = null;
  /** A guest power event (POWER_*) the VM's pCPU loop has yet to act on. */
  powerRequest = POWER_NONE;
  /** Built from a `guest=` test module (test-vms.ts), not from the scenario. */
  testVm = false;
  /** Why the VM was stopped (a constant string), '' while it runs. */
  stopReason = '';
  readonly debugConsole: DebugConsole;
  readonly testControl: TestControl;
  /** The scheduler of its BSP's pCPU (each vCPU has its own: Vcpu.sched). */
  scheduler: Scheduler;
  readonly platform: Platform;

  constructor(vmId: number, scheduler: Scheduler, platform: Platform) {
    this.vmId = vmId;
    this.io = new IoEmul(vmId);
    this.scheduler = scheduler;
    this.platform = platform;
    for (let i = 0; i < MAX_VCPUS_PER_VM; i++) {
      const v = new Vcpu(this, i);
      this.vcpus.push(v);
      this.vlapics.push(v.vlapic);
    }
    this.debugConsole = new DebugConsole(this);
    this.testControl = new TestControl(this);
    this.devices = new VmDevices(this);
    this.walker = new GuestWalker(new EptGuestPhysMemory(this.ept));
    this.guestMem = new GuestMemory(this.ept, this.walker);
  }

  /**
   * Tell the page walker what the guest's CPUID says (after vcpuid.build):
   * MAXPHYADDR (80000008H EAX[7:0]; entry address bits above it are reserved,
   * SDM Vol. 3A 4.4.2/4.5.4) and 1-GByte pages (80000001H EDX[26]).
   */
  configureWalker(): void {
    const ext = this.vcpuid.find(0x80000008, 0);
    this.walker.maxPhysAddr = ext >= 0 && (this.vcpuid.eax[ext] & 0xff) !== 0 ? this.vcpuid.eax[ext] & 0xff : 36;
    const feat = this.vcpuid.find(0x80000001, 0);
    this.walker.gbPages = feat >= 0 && (this.vcpuid.edx[feat] & (1 << 26)) !== 0;
  }

  isServiceVm(): boolean {
    return this.loadOrder === LOAD_ORDER_SERVICE;
  }

  isPoweredOff(): boolean {
    return this.state === VM_POWERED_OFF;
  }

  /** VPID of a vCPU: unique and non-zero (SDM Vol. 3C 26.2.1.1: VPID 0 is the host's). */
  vpidOf(vcpuId: number): number {
    return this.vmId * MAX_VCPUS_PER_VM + vcpuId + 1;
  }
}
