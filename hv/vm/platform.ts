// What the hypervisor learned about the machine at boot and every VM needs:
// the VMX capabilities and the VMCS control words derived from them, and the
// machine's power state.
import { HostLapic } from '../../arch/x86/lapic';
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

  constructor(caps: VmxCaps, controls: VmcsControls) {
    this.caps = caps;
    this.controls = controls;
  }
}
