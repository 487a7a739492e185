// The typed scenario: what the hypervisor runs, VM by VM, and the facts about
// the board it runs on that the scenario tool (tools/scenario.mjs) checks it
// against. A scenario is a TypeScript module whose default export is a
// `Scenario` (scenarios/default.ts) or the same shape as JSON; the tool
// validates it and compiles it into the binary image of scenarios/FORMAT.md,
// which the hypervisor reads at boot (hv/scenario.ts). Nothing here runs in
// the hypervisor.
//
// Names and numbers follow ACRN's struct acrn_vm_config
// (hypervisor/include/arch/x86/asm/vm_config.h, acrn-hypervisor v3.x):
//   load_order   PRE_LAUNCHED_VM 0, SERVICE_VM 1 (SOS_VM in older releases),
//                POST_LAUNCHED_VM 2                      (enum acrn_vm_load_order)
//   severity     SEVERITY_SAFETY_VM 0x40 > SEVERITY_RTVM 0x30 >
//                SEVERITY_SERVICE_VM 0x20 (SEVERITY_SOS) > SEVERITY_STANDARD_VM 0x10
//                                                         (enum acrn_vm_severity)
//   kernel_type  KERNEL_BZIMAGE 1, KERNEL_RAWIMAGE 2, KERNEL_ELF 3 (enum os_kernel_type)
//   cpu_affinity a bit mask of the pCPUs the VM's vCPUs may run on
//   kernel_mod_tag / ramdisk_mod_tag  the multiboot module tags (MAX_MOD_TAG_LEN 32)
//   vuart[]      console (vuart 0) or connected to <vm id, vuart id> (struct target_vuart)

/** ACRN's load orders (enum acrn_vm_load_order). */
export type LoadOrder = 'PRE_LAUNCHED_VM' | 'SERVICE_VM' | 'POST_LAUNCHED_VM';
export const LOAD_ORDERS: Record<LoadOrder, number> = { PRE_LAUNCHED_VM: 0, SERVICE_VM: 1, POST_LAUNCHED_VM: 2 };

/** ACRN's severities (enum acrn_vm_severity): a higher value is more critical. */
export type Severity = 'SEVERITY_SAFETY_VM' | 'SEVERITY_RTVM' | 'SEVERITY_SERVICE_VM' | 'SEVERITY_STANDARD_VM';
export const SEVERITIES: Record<Severity, number> = {
  SEVERITY_SAFETY_VM: 0x40,
  SEVERITY_RTVM: 0x30,
  SEVERITY_SERVICE_VM: 0x20,
  SEVERITY_STANDARD_VM: 0x10,
};

/**
 * How the kernel image is loaded (ACRN's enum os_kernel_type):
 *   bzImage  Linux boot protocol, zero page with e820, command line, ramdisk (KERNEL_BZIMAGE 1)
 *   raw64    a flat image copied to loadGpa and entered at entryGpa in 64-bit mode (KERNEL_RAWIMAGE 2)
 *   elf      an ELF64 executable: its program headers and entry point (KERNEL_ELF 3)
 */
export type KernelType = 'bzImage' | 'raw64' | 'elf';
export const KERNEL_TYPES: Record<KernelType, number> = { bzImage: 1, raw64: 2, elf: 3 };

/** One range of guest-physical memory backed by host RAM. */
export interface MemoryRegion {
  /** Guest-physical start (4 KiB aligned). */
  gpa: number;
  /** Bytes (a non-zero multiple of 4 KiB). */
  size: number;
  /**
   * Host-physical start, pre-launched VMs only: fixed when given, else the
   * hypervisor allocates the backing RAM at boot.
   */
  hpa?: number;
}

export interface Kernel {
  type: KernelType;
  /** Tag of the GRUB module holding the image: the first word of its module string. */
  module: string;
  /** Kernel command line (printable ASCII, at most 1023 characters). */
  bootargs?: string;
  /** Tag of the GRUB module holding the ramdisk; absent: none. */
  ramdisk?: string;
  /** Where the image goes (raw64: required; others: 0 lets the loader decide). */
  loadGpa?: number;
  /** Entry point (raw64: defaults to loadGpa; others: 0 lets the loader decide). */
  entryGpa?: number;
  /** Where the ramdisk goes (0: the loader decides). */
  ramdiskGpa?: number;
}

/** A legacy 16550 vUART at `base` on `irq`. vuart 0 is the VM's console. */
export interface ConsoleVuart {
  index: number;
  type: 'console';
  base: number;
  irq: number;
}

/** A vUART connected to vuart `target.vuart` of VM `target.vm`, which must point back. */
export interface ConnectedVuart {
  index: number;
  type: 'connected';
  base: number;
  irq: number;
  target: { vm: string; vuart: number };
}

export type Vuart = ConsoleVuart | ConnectedVuart;

/** The emulated 8086:5AF0 host bridge (pre-launched VMs; default vbdf 00:00.0). */
export interface HostBridgeDevice {
  type: 'hostbridge';
  vbdf?: string;
}

/** A physical PCI function passed through (data only for now): "bb:dd.f". */
export interface PassthroughDevice {
  type: 'passthrough';
  pbdf: string;
  /** Virtual BDF in the guest; defaults to pbdf. */
  vbdf?: string;
}

export type VpciDevice = HostBridgeDevice | PassthroughDevice;

export interface VmConfig {
  /** 1-15 characters of [A-Za-z0-9_.-] (CREATE_VM matches it against name[16]). */
  name: string;
  loadOrder: LoadOrder;
  severity: Severity;
  /** Bit n set: the VM's vCPUs may run on pCPU n. */
  cpuAffinity: number;
  /** vCPUs (default: the number of pCPUs in cpuAffinity); vCPU i runs on the i-th pCPU of the mask. */
  vcpus?: number;
  /** Pre-launched: at least one region; Service VM: none (it gets the host map); post-launched: sizes for the DM. */
  memory?: MemoryRegion[];
  /** Pre-launched VMs and the Service VM; post-launched VMs are loaded by the device model. */
  kernel?: Kernel;
  vuarts?: Vuart[];
  vpci?: VpciDevice[];
}

/** e820 types: usable 1, reserved 2, acpi 3 (reclaimable), nvs 4, unusable 5. */
export type HostRangeType = 'usable' | 'reserved' | 'acpi' | 'nvs' | 'unusable';

export interface HostRange {
  base: number;
  size: number;
  type: HostRangeType;
}

/** Platform facts the tool checks the scenario against. */
export interface Board {
  name: string;
  /** pCPUs (logical processors) the hypervisor brings up. */
  pcpus: number;
  /** The host e820 memory map. */
  memory: HostRange[];
  /** Usable RAM the hypervisor keeps for itself (image, Wasm window, pool); no fixed HPA may overlap it. */
  reserved?: { base: number; size: number; what: string }[];
  /** GRUB module tags the boot medium provides; when given, every module a VM names must be here. */
  modules?: string[];
  /** PCI functions present ("bb:dd.f"); when given, every pass-through pbdf must be here. */
  pciDevices?: string[];
}

export interface Scenario {
  /** A short name, kept in the image. */
  name: string;
  /** The board; `--board` on the tool's command line replaces it. */
  board?: Board;
  vms: VmConfig[];
}

/** Limits (ACRN's names where it has them). */
export const CONFIG_MAX_VM_NUM = 8;
/** This hypervisor's MAX_VCPUS_PER_VM (hv/vm/vm.ts); ACRN's is MAX_PCPU_NUM. */
export const MAX_VCPUS_PER_VM = 4;
/** COM1-COM4 per VM (hv/vm/vm-devices.ts VUARTS_PER_VM); ACRN's MAX_VUART_NUM_PER_VM is 8. */
export const MAX_VUARTS_PER_VM = 4;
export const MAX_REGIONS_PER_VM = 8;
export const MAX_VPCI_PER_VM = 8;
/** ACRN's MAX_MOD_TAG_LEN 32, with the NUL. */
export const MAX_MODULE_TAG_LEN = 31;
/** CREATE_VM's name[16], with the NUL. */
export const MAX_VM_NAME_LEN = 15;
/** acrn-dm's bootargs limit. */
export const MAX_BOOTARGS_LEN = 1023;
export const MAX_PCPUS = 64;
