// Wiring of the vLAPIC core (vlapic.ts) into vCPUs and VMs, as ACRN's
// vlapic.c does around its register core:
//
//   VcpuLapicSink  what a vLAPIC asks of its vCPU: NMI, ExtINT (the vPIC's
//                  output), INIT, SIPI, wake-up, and the EOI broadcast of
//                  level-triggered vectors to the VM's vIOAPIC;
//   VmLapicBus     IPIs from an ICR to the VM's vLAPICs (vlapic-dest.ts);
//   LapicMmio      the xAPIC page at 0xFEE00000 (IA32_APIC_BASE default,
//                  SDM Vol. 3A 11.4.1), left out of the EPT so accesses exit
//                  and reach the vLAPIC of the vCPU that made them through
//                  the MMIO emulator (mmio-emul.ts). Registers are 32 bits
//                  wide on 16-byte boundaries (11.4.1 "All 32-bit registers
//                  should be accessed using 128-bit aligned 32-bit loads or
//                  stores"); a narrower or unaligned access is counted in
//                  the registry's badWidth and ignored, reads give 0.
//
// INIT and SIPI take effect on the target's next turn on its pCPU, with its
// VMCS loaded (applyStartupSignals, called by the run loop before entry): an
// INIT puts the vCPU in wait-for-SIPI (off the run queue, state VCPU_INIT);
// the first SIPI afterwards starts it in real mode at vector << 12 (SDM Vol.
// 3A 8.4.4.1, 10.6.1 "Start-Up IPI"); SIPIs at other times are ignored.
import { cpuid, poke64, rdtsc } from '../../arch/x86/intrinsics';
import { gprOffset } from '../../arch/x86/vcpu-ctx';
import { LOG_INFO, log } from '../log';
import { setGuestInitState, setGuestSipiVector } from './guest-state';
import type { MmioDevice } from './io-emul';
import { requestNmi, wakeIfHalted } from './virq';
import { IOREQ_NONE, ioreqRelease } from './ioreq';
import { VCPU_HALTED, VCPU_INIT, VCPU_RUNNABLE, VCPU_STOPPED, type Vcpu } from './vcpu';
import type { AcrnVm } from './vm';
import { vlapicDeliverIpi } from './vlapic-dest';
import type { Vlapic, VlapicBus, VlapicSink } from './vlapic';

export const LAPIC_MMIO_GPA = 0xfee00000;
export const LAPIC_MMIO_SIZE = 0x1000;

export class VcpuLapicSink implements VlapicSink {
  readonly vcpu: Vcpu;
  /** Level-triggered EOIs broadcast to the vIOAPIC. */
  levelEois = 0;

  constructor(vcpu: Vcpu) {
    this.vcpu = vcpu;
  }

  eoiLevel(vector: number): void {
    this.levelEois++;
    this.vcpu.vm.devices.vioapicEoi(vector);
  }

  nmi(): void {
    requestNmi(this.vcpu);
  }

  /** ExtINT: the vPIC supplies the vector at injection (virq.ts). */
  extInt(): void {
    const v = this.vcpu;
    v.pendingExtInt = true;
    wakeIfHalted(v, true);
  }

  initSignal(): void {
    const v = this.vcpu;
    if (v.state === VCPU_STOPPED) return;
    v.pendingInit = true;
    v.pendingSipiVector = -1;
    // INIT resets the local APIC to its power-up state but for the APIC ID (SDM Vol. 3A 11.4.7.3; ACRN reset_vcpu(INIT_RESET)).
    v.vlapic.initReset();
    // Off the run queue until the SIPI; a running vCPU stops at its next exit.
    if (v.state === VCPU_RUNNABLE || v.state === VCPU_HALTED) v.sched.remove(v);
    // An I/O request in flight is abandoned: the instruction never completes.
    if (v.ioreq.state !== IOREQ_NONE) ioreqRelease(v.vm, v.id);
    v.state = VCPU_INIT;
    v.waitingForSipi = true;
  }

  sipi(vector: number): void {
    const v = this.vcpu;
    if (!v.waitingForSipi || v.state !== VCPU_INIT) return;
    v.waitingForSipi = false;
    v.pendingSipiVector = vector & 0xff;
    v.sched.wake(v);
  }

  /** A new IRR bit: it ends a HLT only if the guest halted with IF = 1 and the vector beats the PPR. */
  kick(): void {
    wakeIfHalted(this.vcpu, true);
  }
}

export class VmLapicBus implements VlapicBus {
  readonly vm: AcrnVm;
  ipis = 0;

  constructor(vm: AcrnVm) {
    this.vm = vm;
  }

  deliver(sender: Vlapic, mode: number, vector: number, _level: number, _trigger: number, shorthand: number,
    destMode: number, dest: number): void {
    this.ipis++;
    vlapicDeliverIpi(this.vm.vlapics, this.vm.vcpuCount, sender, mode, vector, shorthand, destMode, dest);
  }
}

/** The xAPIC register page of the VM's vCPUs (each vCPU sees its own). */
export class LapicMmio implements MmioDevice {
  readonly vm: AcrnVm;
  mmioValueHi = 0;

  constructor(vm: AcrnVm) {
    this.vm = vm;
  }

  private vlapic(): Vlapic {
    const id = this.vm.io.currentVcpu;
    return this.vm.vlapics[id >= 0 && id < this.vm.vcpuCount ? id : 0];
  }

  mmioRead(gpa: number, size: number): number {
    this.mmioValueHi = 0;
    const offset = gpa - LAPIC_MMIO_GPA;
    if (size !== 4 || (offset & 3) !== 0) {
      this.vm.io.refuseWidth(gpa, size, false);
      return 0;
    }
    return this.vlapic().readReg(offset, rdtsc()) >>> 0;
  }

  mmioWrite(gpa: number, size: number, _hiHalf: number, loHalf: number): void {
    const offset = gpa - LAPIC_MMIO_GPA;
    if (size !== 4 || (offset & 3) !== 0) {
      this.vm.io.refuseWidth(gpa, size, false);
      return;
    }
    this.vlapic().writeReg(offset, loHalf >>> 0, rdtsc());
  }
}

/**
 * Before `vcpu` enters (its VMCS loaded): carry out a pending SIPI, starting
 * the vCPU in real mode at vector << 12 with the INIT register state (SDM Vol.
 * 3A Table 9-1: GPRs 0, EDX = processor signature). False when the guest
 * state could not be written (the caller stops the VM).
 */
export function applyStartupSignals(vcpu: Vcpu): boolean {
  if (vcpu.pendingSipiVector < 0) return true;
  const vector = vcpu.pendingSipiVector;
  vcpu.pendingSipiVector = -1;
  vcpu.pendingInit = false;
  vcpu.clearEvents();
  for (let i = 0; i < 16; i++) if (i !== 4) poke64(vcpu.ctxPa + gprOffset(i), 0, 0);
  poke64(vcpu.ctxPa + gprOffset(2), 0, cpuid(1, 0) >>> 0);
  const rc = setGuestInitState(vcpu.vm.platform.caps) | setGuestSipiVector(vector);
  log.begin(LOG_INFO);
  log.str(vcpu.vm.name);
  log.str(': vcpu');
  log.dec(vcpu.id);
  log.str(' started by SIPI at 0x');
  log.hexDigits(vector * 4096, 5);
  log.end();
  return rc === 0;
}
