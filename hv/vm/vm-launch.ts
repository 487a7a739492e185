// Launching the scenario's pre-launched VMs and the Service VM at boot (ACRN
// vm.c launch_vms / prepare_vm: create_vm, then the memory map and images,
// then start_vm), in scenario order; the vm id is the scenario index.
//
// prepareVm, per VM:
//   1. its pCPU: the first pCPU of its affinity (every vCPU of a VM runs
//      there for now: per-vCPU placement is issue 5's);
//   2. createVm (vCPUs, EPT root, bitmaps, devices: vuarts, vPCI, power ports);
//   3. memory:
//      pre-launched: each region backed by host RAM (the region's fixed HPA,
//      or RAM carved once at first launch and kept for the VM), WB in the
//      EPT; e820 from ACRN's template (e820BuildPreLaunched);
//      Service VM: identity EPT of [0, max(4 GiB, top of the host map)) UC,
//      host RAM WB, minus what it must not reach (ACRN-ABI.md: the
//      hypervisor image, boot information and modules, the Wasm window,
//      page pool and stacks, RAM backing other VMs, the AP trampoline, MMCFG
//      (the ACPI MCFG's ECAM window), the LAPIC page and each I/O APIC's, which the
//      vLAPIC and vIOAPIC emulate); e820 =
//      the host map with those ranges reserved (e820BuildServiceVm); its
//      I/O bitmap passes through every port it does not emulate
//      (passThroughUnclaimedPorts);
//   4. the images (sw-loader.ts) from the GRUB modules the scenario names,
//      and the BSP's entry state.
// A VM that cannot be prepared is logged with the reason and left powered
// off; the others go on. On a cold reset (vcpu-reset.ts) the launcher puts
// the images back (reload), as ACRN's reset_vm does for the Service VM.
//
// Connected vuarts are linked once every VM is prepared. Post-launched VMs
// are not launched here: their slots are configured for CREATE_VM
// (hcConfigureSlot) and the Service VM's device model creates them.
import { EPT_MT_UC, EPT_MT_WB, EPT_RWX } from '../../arch/x86/ept';
import { declareGuestRam, guestRamCarve, SMP_MMCFG_BASE, SMP_MMCFG_SIZE, smpInfo, vmptrld } from '../../arch/x86/intrinsics';
import { hcConfigureSlot } from '../dm-hypercall/hc-state';
import { LOG_ERROR, LOG_INFO, log } from '../log';
import {
  E820_RAM, E820_RESERVED, RESV_GUEST_RAM, RESV_HV_IMAGE, RESV_MBI, RESV_MODULE, RESV_PAGE_POOL, RESV_STACKS,
  RESV_TRAMPOLINE, RESV_WASM_WINDOW,
} from '../mm';
import {
  ModuleSource as ScenarioModuleSource, makeDefaultScenarioSource, loadBootScenario, SCENARIO_FROM_NONE,
  SCENARIO_MAX_REGIONS, Scenario, type ScenarioVm, SCN_KERNEL_NONE, SCN_POST_LAUNCHED, SCN_PRE_LAUNCHED, SCN_SERVICE_VM,
  SCN_VUART_CONNECTED,
} from '../scenario';
import {
  e820AddHypervisorRanges, e820BuildPreLaunched, e820BuildServiceVm, e820ErrorMessage, e820FromHostMap, E820_OK,
  E820Table,
} from './e820';
import { BytesSource, ModuleSource } from './loader-image';
import { KERNEL_BZIMAGE, LOAD_OK } from './loader-plan';
import { LoadRequest, loaderSetEntryState, SwLoader } from './sw-loader';
import type { Vcpu } from './vcpu';
import { LAPIC_MMIO_GPA } from './vcpu-lapic';
import { type AcrnVm, MAX_VCPUS_PER_VM, VM_POWERED_OFF, type VmImageLoader } from './vm';
import type { Scheduler } from './sched';
import { createVm, pauseVm, shutdownVm, startVm, VmCreateParams } from './vm-api';
import { CONFIG_MAX_VM_NUM, type VmTable } from './vm-table';
import { passThroughUnclaimedPorts } from './vmcs-setup';
import { vuartConnect } from './vuart';

const PAGE = 0x1000;
const FOUR_GIB = 0x100000000;
/** Host ranges the Service VM never sees (hv/mm.ts RESV_* kinds; the first MiB stays: BIOS data, EBDA, RSDP). */
const SERVICE_VM_REMOVED_KINDS =
  (1 << RESV_HV_IMAGE) | (1 << RESV_MBI) | (1 << RESV_MODULE) | (1 << RESV_WASM_WINDOW) | (1 << RESV_PAGE_POOL) |
  (1 << RESV_STACKS) | (1 << RESV_TRAMPOLINE) | (1 << RESV_GUEST_RAM);

export class VmLauncher implements VmImageLoader {
  readonly vms: VmTable;
  readonly scenario = new Scenario();
  /** Where the scenario came from (SCENARIO_FROM_*). */
  source = SCENARIO_FROM_NONE;
  readonly loader = new SwLoader();
  readonly req = new LoadRequest();
  readonly params = new VmCreateParams();
  private readonly image = new ModuleSource();
  private readonly ramdisk = new ModuleSource();
  private readonly cmdline: BytesSource;
  private readonly host = new E820Table();
  private readonly removed = new E820Table();
  private readonly regions = new E820Table(SCENARIO_MAX_REGIONS);
  /** Host RAM carved for region k of VM slot i (index i * SCENARIO_MAX_REGIONS + k); 0: not yet. */
  private readonly carved = new Float64Array(CONFIG_MAX_VM_NUM * SCENARIO_MAX_REGIONS);
  /** The Service VM's RAM is declared to the native access check (once per boot). */
  private serviceRamDeclared = false;
  /** VMs this launcher started (for tests and the log). */
  launched = 0;

  constructor(vms: VmTable) {
    this.vms = vms;
    this.cmdline = new BytesSource(this.scenario.image, 0, 0);
  }

  /** Read the scenario: the `scenario` GRUB module, else the built-in default. False when neither reads. */
  readScenario(): boolean {
    this.source = loadBootScenario(this.scenario, new ScenarioModuleSource(), makeDefaultScenarioSource());
    return this.source !== SCENARIO_FROM_NONE;
  }

  /** The name of scenario VM i (boot time: builds a string). */
  vmName(i: number): string {
    const v = this.scenario.vms[i];
    const image = this.scenario.image;
    const off = v.nameOff;
    const len = v.nameLen;
    let s = '';
    for (let k = 0; k < len; k++) {
      // P16 (tools/PORFFOR.md): `s += String.fromCharCode(image[i])` in a method loses pieces (or traps); locals first.
      const c = image[off + k];
      const piece = String.fromCharCode(c);
      s += piece;
    }
    return s;
  }

  /**
   * ACRN launch_vms: configure every slot for CREATE_VM, then prepare and
   * start the pre-launched VMs and the Service VM in scenario order, then
   * link their connected vuarts. Returns how many started.
   */
  launchVms(): number {
    const scn = this.scenario;
    if (!scn.valid) return 0;
    for (let i = 0; i < scn.vmCount && i < CONFIG_MAX_VM_NUM; i++) {
      const v = scn.vms[i];
      hcConfigureSlot(i, this.vmName(i), v.loadOrder, v.severity, v.affinityLo, v.affinityHi);
    }
    for (let i = 0; i < scn.vmCount && i < CONFIG_MAX_VM_NUM; i++) {
      const v = scn.vms[i];
      if (v.loadOrder === SCN_POST_LAUNCHED) continue;
      const vm = this.vms.vms[i];
      if (!this.prepareVm(vm, v)) continue;
      if (startVm(vm) === 0) this.launched++;
    }
    this.linkVuarts();
    return this.launched;
  }

  private fail(vm: AcrnVm, name: string, why: string): boolean {
    log.begin(LOG_ERROR);
    log.str('vm');
    log.dec(vm.vmId);
    log.str(' (');
    log.str(name);
    log.str('): not launched: ');
    log.str(why);
    log.end();
    return false;
  }

  /** A VM that failed after createVm: give everything back (CREATED -> PAUSED -> POWERED_OFF). */
  private undo(vm: AcrnVm, why: string): boolean {
    this.fail(vm, vm.name, why);
    pauseVm(vm);
    shutdownVm(vm);
    return false;
  }

  /** ACRN prepare_vm: create the VM, give it memory, load its images. The VM is CREATED on success. */
  prepareVm(vm: AcrnVm, v: ScenarioVm): boolean {
    const name = this.vmName(v.index);
    if (vm.state !== VM_POWERED_OFF) return this.fail(vm, name, 'its slot is in use');
    // vCPU i runs on the i-th pCPU of the affinity (ACRN's cpu_affinity: one pCPU per vCPU).
    const p = this.params;
    const pcpus = this.vms.pcpus;
    for (let i = 0; i < MAX_VCPUS_PER_VM; i++) {
      if (i >= v.vcpuCount) {
        p.vcpuSched[i] = null;
        continue;
      }
      const at = v.pcpuOfVcpu(i);
      const sched = pcpus === null ? (at === 0 ? vm.scheduler : null) : pcpus.schedulerOf(at);
      if (sched === null) return this.fail(vm, name, 'a pCPU of its affinity is not online');
      p.vcpuSched[i] = sched;
    }
    vm.scheduler = p.vcpuSched[0] as Scheduler;
    p.name = name;
    p.loadOrder = v.loadOrder;
    p.severity = v.severity;
    p.vcpus = v.vcpuCount;
    let vuarts = 1;
    for (let k = 0; k < v.vuartCount; k++) if (v.vuartIndex(k) + 1 > vuarts) vuarts = v.vuartIndex(k) + 1;
    p.vuarts = vuarts;
    if (createVm(vm, p) !== 0) return this.fail(vm, name, 'createVm refused (page pool exhausted?)');
    const memory = v.loadOrder === SCN_SERVICE_VM ? this.serviceVmMemory(vm) : this.preLaunchedMemory(vm, v);
    if (memory !== '') return this.undo(vm, memory);
    if (v.loadOrder === SCN_SERVICE_VM) passThroughUnclaimedPorts(vm);
    if (v.kernelType === SCN_KERNEL_NONE) return this.undo(vm, 'the scenario gives it no kernel');
    vm.imageLoader = this;
    if (!this.reload(vm, vm.vcpus[0])) return this.undo(vm, 'its images could not be loaded');
    // createVm left the last vCPU's VMCS current and reload() the BSP's; the pCPUs load their own (handOffVcpus).
    for (let i = 0; i < vm.vcpuCount; i++) vm.vcpus[i].sched.loadedVmcs = 0;
    log.begin(LOG_INFO);
    log.str('vm');
    log.dec(vm.vmId);
    log.str(' (');
    log.str(name);
    log.str('): ');
    log.dec(Math.floor(vm.e820.ramBytes() / (1024 * 1024)));
    log.str(' MiB RAM, entry ');
    log.hex(vm.loadInfo.entry);
    log.str(v.vcpuCount > 1 ? ', pCPUs ' : ', pCPU ');
    for (let i = 0; i < v.vcpuCount; i++) {
      if (i > 0) log.char(32);
      log.dec(v.pcpuOfVcpu(i));
    }
    log.end();
    return true;
  }

  /** Back each region with host RAM and map it WB; the e820 from ACRN's template. '' or why not. */
  private preLaunchedMemory(vm: AcrnVm, v: ScenarioVm): string {
    const regions = this.regions;
    regions.clear();
    for (let k = 0; k < v.regionCount; k++) {
      const gpa = v.regionGpa(k);
      const size = v.regionSize(k);
      const at = vm.vmId * SCENARIO_MAX_REGIONS + k;
      let hpa = this.carved[at];
      if (hpa === 0 && v.regionHpaFixed(k)) {
        // Host RAM the scenario names: the hypervisor may copy into it only once declared
        // (refused when it touches hypervisor memory or another VM's).
        hpa = v.regionHpa(k);
        if (declareGuestRam(hpa, size) !== 0) return 'a fixed-HPA region overlaps memory the hypervisor keeps or another VM\'s';
        this.carved[at] = hpa;
      } else if (hpa === 0) {
        hpa = guestRamCarve(size);
        if (hpa === 0) return 'no host RAM left for its memory';
        this.carved[at] = hpa;
      }
      if (k === 0) {
        vm.ramHpa = hpa;
        vm.ramSize = size;
      }
      if (vm.ept.map(gpa, hpa, size, EPT_RWX, EPT_MT_WB) !== 0) return 'mapping its memory in the EPT failed';
      if (!regions.append(gpa, size, E820_RAM)) return 'a memory region is out of range';
    }
    const rc = e820BuildPreLaunched(vm.e820, regions);
    return rc === E820_OK ? '' : e820ErrorMessage(rc);
  }

  /** The Service VM's identity EPT and e820 (see the top of the file). '' or why not. */
  private serviceVmMemory(vm: AcrnVm): string {
    const host = this.host;
    const removed = this.removed;
    let rc = e820FromHostMap(host);
    removed.clear();
    if (rc === E820_OK) rc = e820AddHypervisorRanges(removed, SERVICE_VM_REMOVED_KINDS);
    if (rc !== E820_OK) return e820ErrorMessage(rc);
    if (!removed.append(LAPIC_MMIO_GPA, PAGE, E820_RESERVED)) return 'too many ranges to take out of its memory';
    // Its vIOAPICs' pages: one per physical I/O APIC (vm-devices.ts, created with the VM).
    const d = vm.devices;
    for (let i = 0; i < d.vioapicCount; i++) {
      if (!removed.append(d.vioapics[i].base, PAGE, E820_RESERVED)) return 'too many ranges to take out of its memory';
    }
    // Pre-launched VMs' RAM at fixed host addresses (carved RAM is RESV_GUEST_RAM, above).
    const scn = this.scenario;
    for (let i = 0; i < scn.vmCount; i++) {
      const other = scn.vms[i];
      if (other.loadOrder !== SCN_PRE_LAUNCHED) continue;
      for (let k = 0; k < other.regionCount; k++) {
        if (other.regionHpaFixed(k) && !removed.append(other.regionHpa(k), other.regionSize(k), E820_RESERVED)) {
          return 'too many ranges to take out of its memory';
        }
      }
    }
    // MMCFG (the ACPI MCFG's ECAM window): PCI configuration stays the hypervisor's (ACRN-ABI.md).
    const mmcfgSize = smpInfo(SMP_MMCFG_SIZE, 0);
    if (mmcfgSize > 0 && !removed.append(smpInfo(SMP_MMCFG_BASE, 0), mmcfgSize, E820_RESERVED)) {
      return 'the MMCFG window is out of range';
    }
    rc = e820BuildServiceVm(vm.e820, host, removed);
    if (rc !== E820_OK) return e820ErrorMessage(rc);
    let top = FOUR_GIB;
    for (let i = 0; i < host.count; i++) if (host.base[i] + host.size[i] > top) top = host.base[i] + host.size[i];
    top = Math.ceil(top / 0x40000000) * 0x40000000;
    const ept = vm.ept;
    if (ept.map(0, 0, top, EPT_RWX, EPT_MT_UC) !== 0) return 'the identity EPT could not be built';
    for (let i = 0; i < host.count; i++) {
      if (host.type[i] !== E820_RAM) continue;
      const base = Math.ceil(host.base[i] / PAGE) * PAGE;
      const end = Math.floor((host.base[i] + host.size[i]) / PAGE) * PAGE;
      if (end > base && ept.modify(base, end - base, EPT_RWX, EPT_MT_WB) !== 0) return 'RAM could not be made write-back in its EPT';
    }
    for (let i = 0; i < removed.count; i++) {
      const base = Math.floor(removed.base[i] / PAGE) * PAGE;
      const end = Math.ceil((removed.base[i] + removed.size[i]) / PAGE) * PAGE;
      if (ept.unmap(base, end - base) !== 0) return 'hypervisor memory could not be taken out of its EPT';
    }
    // The loader and the hypercalls copy into its RAM, which the hypervisor does not own: declare it.
    const e820 = vm.e820;
    for (let i = 0; !this.serviceRamDeclared && i < e820.count; i++) {
      if (e820.type[i] === E820_RAM && declareGuestRam(e820.base[i], e820.size[i]) !== 0) {
        return 'its RAM overlaps memory the hypervisor keeps (declareGuestRam refused)';
      }
    }
    this.serviceRamDeclared = true;
    return '';
  }

  /**
   * Load the images of `vm` (a VM of this scenario) and set the BSP's entry
   * state. @pre the BSP's VMCS is set up; it is made current here.
   */
  reload(vm: AcrnVm, bsp: Vcpu): boolean {
    const v = this.scenario.vms[vm.vmId];
    const scn = this.scenario;
    const req = this.req;
    req.reset();
    req.kernelType = v.kernelType;
    const kernelModule = scn.findModule(v.kernelModOff, v.kernelModLen);
    if (kernelModule < 0 || !this.image.openModule(kernelModule)) return this.missingModule(vm, v.kernelModOff, v.kernelModLen, 'kernel');
    req.image = this.image;
    if (v.ramdiskModLen > 0) {
      const rd = scn.findModule(v.ramdiskModOff, v.ramdiskModLen);
      if (rd < 0 || !this.ramdisk.openModule(rd)) return this.missingModule(vm, v.ramdiskModOff, v.ramdiskModLen, 'ramdisk');
      req.ramdisk = this.ramdisk;
      req.ramdiskGpa = v.ramdiskLoadGpa;
    }
    if (v.kernelType === KERNEL_BZIMAGE) {
      this.cmdline.setBytes(scn.image, v.bootargsOff, v.bootargsLen);
      req.cmdline = this.cmdline;
    } else {
      req.rdi = vm.vmId; // raw64 / ELF guests learn their vm id in RDI
    }
    req.loadGpa = v.kernelLoadGpa;
    req.entryGpa = v.kernelEntryGpa;
    const rc = this.loader.loadKernel(req, vm.e820, vm.guestMem, vm.ept, vm.loadInfo);
    if (rc !== LOAD_OK) {
      this.loader.printLoadError(log, vm.name, rc);
      return false;
    }
    if (vmptrld(bsp.vmcsPa) !== 0) return false;
    bsp.sched.loadedVmcs = bsp.vmcsPa;
    return loaderSetEntryState(vm.platform.caps, bsp.ctxPa, vm.loadInfo) === 0;
  }

  /** "<vm>: no GRUB module tagged "<tag>" for its <what>"; false. */
  private missingModule(vm: AcrnVm, tagOff: number, tagLen: number, what: string): boolean {
    log.begin(LOG_ERROR);
    log.str(vm.name);
    log.str(': no GRUB module tagged "');
    this.scenario.printString(log, tagOff, tagLen);
    log.str('" for its ');
    log.str(what);
    log.end();
    return false;
  }

  /** Link every connected vuart pair whose two VMs were launched (each pair once). */
  private linkVuarts(): void {
    const scn = this.scenario;
    for (let i = 0; i < scn.vmCount && i < CONFIG_MAX_VM_NUM; i++) {
      const v = scn.vms[i];
      const vm = this.vms.vms[i];
      for (let k = 0; k < v.vuartCount; k++) {
        if (v.vuartType(k) !== SCN_VUART_CONNECTED) continue;
        const peerId = v.vuartTargetVm(k);
        if (!(peerId > i && peerId < CONFIG_MAX_VM_NUM)) continue; // each pair from its lower id
        const peer = this.vms.vms[peerId];
        const here = v.vuartIndex(k);
        const there = v.vuartTargetVuart(k);
        if (vm.state === VM_POWERED_OFF || peer.state === VM_POWERED_OFF) continue;
        if (here >= vm.devices.vuartCount || there >= peer.devices.vuartCount) continue;
        vuartConnect(vm.devices.vuarts[here], peer.devices.vuarts[there]);
        log.begin(LOG_INFO);
        log.str(vm.name);
        log.str(': COM');
        log.dec(here + 1);
        log.str(' connected to ');
        log.str(peer.name);
        log.str(' COM');
        log.dec(there + 1);
        log.end();
      }
    }
  }
}
