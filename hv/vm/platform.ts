// What the hypervisor learned about the machine at boot and every VM needs:
// the VMX capabilities and the VMCS control words derived from them, and the
// machine's power state.
import { HostLapic } from '../../arch/x86/lapic';
import { SMP_IOAPIC_ADDR, SMP_IOAPIC_COUNT, SMP_IOAPIC_GSI_BASE, SMP_IOAPIC_ID, SMP_IOAPIC_PINS, smpInfo } from '../../arch/x86/intrinsics';
import { VmcsControls } from '../../arch/x86/vmx';
import { VmxCaps } from '../../arch/x86/vmx-caps';
import type { VmTable } from './vm-table';

/** Machine-wide power state the VMs' events can change. */
export class SystemPower {
  /** The VM table, to tell when every VM is off (set at boot). */
  vms: VmTable | null = null;
  /** Every VM is off after a guest's own power-off: the boot CPU's loop powers the machine off. */
  offRequested = false;
  /** Events acted on (for tests and the shell). */
  powerOffs = 0;
  resets = 0;
}

/** I/O APICs kept (= MAX_VIOAPICS, vm-devices.ts; ACPI_MAX_IOAPICS, acpi.h). */
export const MAX_IOAPICS = 8;

/** The machine's I/O APICs, from the ACPI MADT (native acpi.c), in MADT order. */
export class PlatformIoapics {
  count = 0;
  readonly id = new Uint32Array(MAX_IOAPICS);
  readonly addr = new Float64Array(MAX_IOAPICS);
  readonly gsiBase = new Uint32Array(MAX_IOAPICS);
  /** Redirection entries, from each chip's version register. */
  readonly pins = new Uint32Array(MAX_IOAPICS);

  /** Read them (smpInfo SMP_IOAPIC_*). */
  read(): void {
    let n = smpInfo(SMP_IOAPIC_COUNT, 0);
    if (!(n >= 0)) n = 0;
    if (n > MAX_IOAPICS) n = MAX_IOAPICS;
    this.count = n;
    for (let i = 0; i < n; i++) {
      this.addr[i] = smpInfo(SMP_IOAPIC_ADDR, i);
      this.gsiBase[i] = smpInfo(SMP_IOAPIC_GSI_BASE, i);
      this.id[i] = smpInfo(SMP_IOAPIC_ID, i);
      this.pins[i] = smpInfo(SMP_IOAPIC_PINS, i);
    }
  }
}

export class Platform {
  readonly caps: VmxCaps;
  readonly controls: VmcsControls;
  /** TSC frequency in kHz (CPUID 0x40000010); 0 until calibrated. */
  tscKhz = 0;
  /** TSC ticks per VMX-preemption-timer tick: 2^IA32_VMX_MISC[4:0]. */
  preemptionShift = 0;
  /** Host interrupts and NMIs that arrived while a guest ran. */
  hostInterrupts = 0;
  lastHostVector = 0;
  hostNmis = 0;
  readonly lapic = new HostLapic();
  /** Machine power state that guest power events change (vm-power.ts). */
  readonly power = new SystemPower();
  /** The I/O APICs the Service VM's vIOAPICs mirror (read at its creation). */
  readonly ioapics = new PlatformIoapics();

  constructor(caps: VmxCaps, controls: VmcsControls) {
    this.caps = caps;
    this.controls = controls;
  }
}
