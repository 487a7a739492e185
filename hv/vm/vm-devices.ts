// The virtual devices every VM owns (ACRN's acrn_vm: vpic, vioapic, vuart[],
// vpci), wired to each other and to the vCPUs, and registered in the VM's
// I/O emulation registry in ACRN's fixed port slots:
//
//   vPIC     0x20-0x21, 0xA0-0xA1, ELCR 0x4D0-0x4D1   output: ExtINT to vCPU 0
//            through its vLAPIC's LINT0 (virtual wire; an APIC that is off
//            passes it straight on, SDM Vol. 3A 11.4.3)
//   vIOAPIC  0xFEC00000 (48 pins), delivery through the VM's vLAPICs; the
//            vLAPICs' EOI of a level-triggered vector comes back as eoi()
//            to every vIOAPIC. The Service VM has one per physical I/O APIC
//            instead (ACRN vioapic_init): the MADT's address, ID and GSI
//            base, the chip's number of pins
//   vUART    COM1-COM4 at 0x3F8/0x2F8/0x3E8/0x2E8 on GSI 4/3/6/7; vuart 0 is
//            the VM's console on the physical COM1 (lines prefixed with the
//            VM's name), others may be connected to another VM's vuart
//   vPCI     CF8 (a 4-byte-only slot) and CFC-CFF; ECAM at 0xE0000000 for
//            non-Service VMs; the 8086:5AF0 host bridge at 00:00.0 for
//            pre-launched VMs
//
// Interrupt routing (ACRN's vgsi): GSI n drives pin n - base of the vIOAPIC
// whose GSI range holds it and, for n < 16, vPIC pin n, except that GSI 2 is
// PIC pin 0 (the PIT's IRQ 0 on the IOAPIC's pin 2) and GSI 0 reaches no PIC
// pin (pin 2 is the cascade).
//
// Everything is built with the VM slot at init; init() registers and resets,
// reset() returns the devices to power-on state, deinit() disconnects and
// forgets them (VM create, reset, shutdown). Nothing here allocates after
// construction.
import { LOG_INFO, log } from '../log';
import type { DebugConsole } from './debug-port';
import {
  PIO_SLOT_CF9, PIO_SLOT_KB, PIO_SLOT_PM1A, PIO_SLOT_PCI_CFGADDR, PIO_SLOT_PCI_CFGDATA, PIO_SLOT_PIC_ELCR, PIO_SLOT_PIC_PRIMARY,
  PIO_SLOT_PIC_SECONDARY, PIO_SLOT_UART0, type PioDevice, WIDTH_1, WIDTH_4, WIDTH_ANY,
} from './io-emul';
import { VIOAPIC_BASE, VIOAPIC_PINS_DEFAULT, VIOAPIC_SIZE, Vioapic, type VioapicSink } from './vioapic';
import { vlapicDeliverMessage } from './vlapic-dest';
import { VHostBridge } from './vpci/hostbridge';
import { ECAM_SIZE, pciBdf, VIRT_PCI_MMCFG_BASE, Vpci } from './vpci/vpci';
import { Vpic, type VpicSink } from './vpic';
import { COM_BASES, COM_IRQS, Vuart, type VuartBackend, type VuartSink } from './vuart';
import { type AcrnVm, POWER_RESET } from './vm';
import { KBC_COMMAND_PORT, KbcResetPort, PM1A_CNT_PORT, Pm1aControl, requestPower } from './vm-power';

export const VUARTS_PER_VM = 4;
/** vIOAPICs a VM can have (the Service VM: one per physical I/O APIC; = ACPI_MAX_IOAPICS in acpi.h). */
export const MAX_VIOAPICS = 8;
/** PIC pin of GSI 0-15 (-1: none). */
const GSI_TO_PIC_PIN = [-1, 1, 0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/** Raises GSIs on both interrupt controllers. */
export class GsiRouter {
  readonly devices: VmDevices;
  constructor(devices: VmDevices) {
    this.devices = devices;
  }

  /** Drive GSI `gsi` to `level` (level-triggered sources, and edges as a rise then a fall). */
  drive(gsi: number, level: boolean): void {
    const d = this.devices;
    const at = d.vioapicOf(gsi);
    if (at >= 0) d.vioapics[at].setIrq(gsi - d.vioapics[at].gsiBase, level);
    if (gsi >= 0 && gsi < 16) {
      const pin = GSI_TO_PIC_PIN[gsi];
      if (pin >= 0) d.vpic.setIrq(pin, level);
    }
  }
}

/** vPIC INTR output: ExtINT to vCPU 0 through LINT0 of its vLAPIC. */
class PicOutput implements VpicSink {
  readonly vm: AcrnVm;
  constructor(vm: AcrnVm) {
    this.vm = vm;
  }
  intr(asserted: boolean): void {
    const bsp = this.vm.vcpus[0];
    if (asserted) bsp.vlapic.lint(0, true);
    else bsp.pendingExtInt = false; // the request went away before INTA
  }
}

/** vIOAPIC messages to the VM's vLAPICs. */
class IoapicOutput implements VioapicSink {
  readonly vm: AcrnVm;
  constructor(vm: AcrnVm) {
    this.vm = vm;
  }
  deliver(destMode: number, dest: number, deliveryMode: number, vector: number, levelTriggered: boolean): void {
    vlapicDeliverMessage(this.vm.vlapics, this.vm.vcpuCount, destMode, dest, false, deliveryMode, vector, levelTriggered);
  }
}

/** A vuart's interrupt line on its GSI. */
class VuartIrq implements VuartSink {
  readonly router: GsiRouter;
  readonly gsi: number;
  constructor(router: GsiRouter, gsi: number) {
    this.router = router;
    this.gsi = gsi;
  }
  irq(level: boolean): void {
    this.router.drive(this.gsi, level);
  }
}

/** vuart 0's transmit side: the VM's console line on COM1 (DebugConsole prefixes it). */
class ConsoleBackend implements VuartBackend {
  readonly debugConsole: DebugConsole;
  constructor(debugConsole: DebugConsole) {
    this.debugConsole = debugConsole;
  }
  txReady(): boolean {
    return true;
  }
  tx(byte: number): void {
    this.debugConsole.pioWrite(0, 1, byte);
  }
}

/**
 * The reset control register at 0xCF9 (byte port): writing bit 2 (RST_CPU)
 * resets the VM (ACRN vm_reset.c handle_reset_reg_write; vm-power.ts).
 */
class ResetControl implements PioDevice {
  readonly vm: AcrnVm;
  value = 0;
  requests = 0;
  constructor(vm: AcrnVm) {
    this.vm = vm;
  }
  pioRead(_port: number, _size: number): number {
    return this.value;
  }
  pioWrite(_port: number, _size: number, value: number): void {
    this.value = value & 0x0e; // bits 3:1 (FULL_RST, RST_CPU, SYS_RST) are kept
    if ((value & 4) === 0) return;
    this.requests++;
    requestPower(this.vm, POWER_RESET, 'reset through 0xCF9');
  }
}

export class VmDevices {
  readonly vm: AcrnVm;
  readonly router: GsiRouter;
  readonly vpic: Vpic;
  /** vIOAPICs 0 .. vioapicCount - 1 are in use; `vioapic` is the first (the only one outside the Service VM). */
  readonly vioapics: Vioapic[] = [];
  vioapicCount = 1;
  readonly vioapic: Vioapic;
  readonly vuarts: Vuart[] = [];
  readonly vpci: Vpci;
  readonly hostBridge: VHostBridge;
  readonly resetControl: ResetControl;
  readonly pm1a: Pm1aControl;
  readonly kbc: KbcResetPort;
  private readonly consoleBackend: ConsoleBackend;
  /** vuarts registered by init() (vuart 0 .. count - 1). */
  vuartCount = 0;

  constructor(vm: AcrnVm) {
    this.vm = vm;
    this.router = new GsiRouter(this);
    this.vpic = new Vpic(new PicOutput(vm));
    const ioapicOut = new IoapicOutput(vm);
    for (let i = 0; i < MAX_VIOAPICS; i++) this.vioapics.push(new Vioapic(VIOAPIC_PINS_DEFAULT, VIOAPIC_BASE, ioapicOut));
    this.vioapic = this.vioapics[0];
    for (let i = 0; i < VUARTS_PER_VM; i++) this.vuarts.push(new Vuart(COM_BASES[i], new VuartIrq(this.router, COM_IRQS[i]), true));
    this.vpci = new Vpci(VIRT_PCI_MMCFG_BASE);
    this.hostBridge = new VHostBridge(0xe0000001, 0);
    this.resetControl = new ResetControl(vm);
    this.pm1a = new Pm1aControl(vm);
    this.kbc = new KbcResetPort(vm);
    this.consoleBackend = new ConsoleBackend(vm.debugConsole);
  }

  /**
   * VM create: reset the devices and claim their ports and MMIO in the VM's
   * registry. `vuarts` (1-4) vuarts are given; `hostBridge` for pre-launched
   * VMs; `ecam` for non-Service VMs; `deviceModel` for post-launched VMs
   * (`rtVm`: real-time). False when the registry refused a claim (a
   * hypervisor bug: slots are fixed).
   */
  init(vuarts: number, hostBridge: boolean, ecam: boolean, deviceModel = false, rtVm = false): boolean {
    const io = this.vm.io;
    this.vpic.reset();
    let ok = this.initVioapics(!ecam);
    ok = io.registerPioSlot(PIO_SLOT_PIC_PRIMARY, 0x20, 2, WIDTH_ANY, this.vpic) && ok;
    ok = io.registerPioSlot(PIO_SLOT_PIC_SECONDARY, 0xa0, 2, WIDTH_ANY, this.vpic) && ok;
    ok = io.registerPioSlot(PIO_SLOT_PIC_ELCR, 0x4d0, 2, WIDTH_ANY, this.vpic) && ok;
    const n = vuarts < 0 ? 0 : vuarts > VUARTS_PER_VM ? VUARTS_PER_VM : vuarts;
    for (let i = 0; i < n; i++) {
      const u = this.vuarts[i];
      u.init();
      ok = io.registerPioSlot(PIO_SLOT_UART0 + i, COM_BASES[i], 8, WIDTH_ANY, u.pio) && ok;
    }
    this.vuartCount = n;
    if (n > 0) this.vuarts[0].backend = this.consoleBackend;
    if (hostBridge) ok = this.vpci.addVdev(pciBdf(0, 0, 0), this.hostBridge) && ok;
    this.vpci.init();
    ok = io.registerPioSlot(PIO_SLOT_PCI_CFGADDR, 0xcf8, 1, WIDTH_4, this.vpci.mech1.addrPort) && ok;
    ok = io.registerPioSlot(PIO_SLOT_PCI_CFGDATA, 0xcfc, 4, WIDTH_ANY, this.vpci.mech1.dataPort) && ok;
    // A post-launched VM's reset ports and (unless real-time) PM1a_CNT are its
    // device model's (ACRN register_reset_port_handler, init_guest_pm): they
    // reach the DM as I/O requests, as do PCI functions its vPCI lacks.
    this.vpci.mech1.forward = deviceModel;
    if (!deviceModel) {
      ok = io.registerPioSlot(PIO_SLOT_CF9, 0xcf9, 1, WIDTH_1, this.resetControl) && ok;
      ok = io.registerPioSlot(PIO_SLOT_KB, KBC_COMMAND_PORT, 1, WIDTH_ANY, this.kbc) && ok;
    }
    if (!deviceModel || rtVm) ok = io.registerPioSlot(PIO_SLOT_PM1A, PM1A_CNT_PORT, 2, WIDTH_ANY, this.pm1a) && ok;
    if (ecam) ok = io.registerMmio(VIRT_PCI_MMCFG_BASE, ECAM_SIZE, this.vpci.ecam) && ok;
    return ok;
  }

  /**
   * The vIOAPICs, registered as MMIO: for the Service VM (`serviceVm`) one per
   * I/O APIC of the MADT (address, ID, GSI base, and the chip's pins), as
   * ACRN's vioapic_init; for the others, or a machine whose MADT lists none,
   * one of 48 pins at 0xFEC00000 from GSI 0.
   */
  private initVioapics(serviceVm: boolean): boolean {
    const hw = this.vm.platform.ioapics;
    if (serviceVm) hw.read();
    let n = serviceVm ? hw.count : 0;
    if (n === 0) {
      n = 1;
      this.vioapics[0].configure(VIOAPIC_PINS_DEFAULT, VIOAPIC_BASE, 0, 0);
    } else {
      for (let i = 0; i < n; i++) {
        const v = this.vioapics[i];
        v.configure(hw.pins[i], hw.addr[i], hw.gsiBase[i], hw.id[i]);
        log.begin(LOG_INFO);
        log.str(this.vm.name);
        log.str(': vIOAPIC ');
        log.dec(i);
        log.str(' at ');
        log.hex(v.base, 8);
        log.str(', ID ');
        log.dec(v.resetId);
        log.str(', GSI ');
        log.dec(v.gsiBase);
        log.str('-');
        log.dec(v.gsiBase + v.pins - 1);
        log.str(' (the physical I/O APIC\'s)');
        log.end();
      }
    }
    this.vioapicCount = n;
    let ok = true;
    for (let i = 0; i < n; i++) ok = this.vm.io.registerMmio(this.vioapics[i].base, VIOAPIC_SIZE, this.vioapics[i]) && ok;
    return ok;
  }

  /** The vIOAPIC whose GSI range holds `gsi`, or -1 (ACRN get_gsi_to_ioapic_index). */
  vioapicOf(gsi: number): number {
    for (let i = 0; i < this.vioapicCount; i++) {
      const v = this.vioapics[i];
      if (gsi >= v.gsiBase && gsi < v.gsiBase + v.pins) return i;
    }
    return -1;
  }

  /** One past the highest GSI a vIOAPIC has (ACRN get_vm_gsicount). */
  gsiCount(): number {
    let top = 0;
    for (let i = 0; i < this.vioapicCount; i++) {
      const end = this.vioapics[i].gsiBase + this.vioapics[i].pins;
      if (end > top) top = end;
    }
    return top;
  }

  /** A vLAPIC's EOI of a level-triggered vector, broadcast to every vIOAPIC (ACRN vioapic_broadcast_eoi). */
  vioapicEoi(vector: number): void {
    for (let i = 0; i < this.vioapicCount; i++) this.vioapics[i].eoi(vector);
  }

  /** VM reset: power-on state for every device; registrations and vuart links stay. */
  reset(): void {
    this.vpic.reset();
    for (let i = 0; i < this.vioapicCount; i++) this.vioapics[i].reset();
    for (let i = 0; i < this.vuartCount; i++) this.vuarts[i].reset();
    this.vpci.reset();
    this.resetControl.value = 0;
    this.pm1a.value = 0;
  }

  /** VM shutdown: disconnect and forget (the registry itself is cleared by the caller). */
  deinit(): void {
    for (let i = 0; i < this.vuartCount; i++) this.vuarts[i].deinit();
    this.vuartCount = 0;
    this.vpci.deinit();
    this.vpci.clearVdevs();
  }

  /** Move bytes the vuarts' back ends can take now (called from the run loop). */
  pump(): void {
    for (let i = 0; i < this.vuartCount; i++) this.vuarts[i].pump();
  }
}
