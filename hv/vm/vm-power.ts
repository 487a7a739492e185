// Guest power events (ACRN-ABI.md "VM states and API guards"; ACRN
// vm_reset.c, pm.c, vmexit.c triple_fault_shutdown_vm):
//
//   S5 through the virtual PM1a_CNT at 0x404 (SLP_TYP 5 in bits 12:10 with
//   SLP_EN, bit 13)                     -> the VM goes through pause -> shutdown
//   reset: 0xCF9 (RST_CPU), the keyboard controller's 0xFE command on 0x64,
//   or a triple fault                   -> the highest-severity VM still on
//                                          resets the host; a post-launched
//                                          VM's reset is the DM's; any other
//                                          VM is paused and shut down
//
// A post-launched VM's reset ports and (unless it is real-time) PM1a_CNT are
// not registered at all: they reach its device model as I/O requests
// (ioreq.ts), and a triple fault goes to the DM as an S5 write to PM1a_CNT.
//
// The device handlers run inside a VM exit of the VM's own vCPU: they stop
// its vCPUs and leave `vm.powerRequest`; the pCPU loop acts on it after the
// exit is done (actOnPowerRequest), as ACRN's shutdown_vm_from_idle does on
// the VM's pCPU. When a guest's own power-off leaves every VM powered off,
// the system powers off (ACRN is_ready_for_system_shutdown).
//
// Test VMs (test-vms.ts) keep the fixture behaviour for a triple fault: the
// VM stops with a report and stays paused, so tests can read it.
import { inb, outb, pause, rdtsc } from '../../arch/x86/intrinsics';
import { LOG_ERROR, LOG_INFO, LOG_WARN, log } from '../log';
import { isRtVm, pauseVm, powerOffRtVm, shutdownVm } from './vm-api';
import { IOREQ_DIR_WRITE, IOREQ_NONE, ioreqSend, ioreqServed } from './ioreq';
import { IOREQ_TYPE_PORTIO } from '../dm-hypercall/abi';
import type { PioDevice } from './io-emul';
import type { VmTable } from './vm-table';
import type { Vcpu } from './vcpu';
import {
  type AcrnVm, LOAD_ORDER_POST, POWER_NONE, POWER_OFF, POWER_RESET, VM_PAUSED, VM_POWERED_OFF, VM_READY_TO_POWEROFF,
} from './vm';

/** ACRN's VIRTUAL_PM1A_CNT_ADDR. */
export const PM1A_CNT_PORT = 0x404;
/** PM1_CNT: SLP_TYP bits 12:10, SLP_EN bit 13 (ACPI 6.5 4.8.3.2.1). */
const SLP_EN = 0x2000;
const SLP_TYP_SHIFT = 10;
const SLP_TYP_S5 = 5;
/** The keyboard controller's command port and its "pulse reset line" command. */
export const KBC_COMMAND_PORT = 0x64;
const KBC_CMD_RESET = 0xfe;
/** Reset control register (0xCF9) bits: SYS_RST (1), RST_CPU (2). */
const HOST_RESET_PORT = 0xcf9;

function logEvent(vm: AcrnVm, what: string): void {
  log.begin(LOG_INFO);
  log.str('vm');
  log.dec(vm.vmId);
  log.str(' (');
  log.str(vm.name);
  log.str('): ');
  log.str(what);
  log.end();
}

/** Record a power event from inside one of the VM's exits and take its vCPUs off the run queues. */
export function requestPower(vm: AcrnVm, kind: number, what: string): void {
  if (vm.state === VM_POWERED_OFF || vm.powerRequest !== POWER_NONE) return;
  logEvent(vm, what);
  vm.powerRequest = kind;
  for (let i = 0; i < vm.vcpuCount; i++) vm.vcpus[i].sched.stop(vm.vcpus[i]);
}

/**
 * The highest-severity VM that is not powered off; ties go to the lowest vm
 * id (ACRN get_highest_severity_vm(true)).
 */
export function highestSeverityVm(vms: VmTable): AcrnVm | null {
  let best: AcrnVm | null = null;
  for (let i = 0; i < vms.vms.length; i++) {
    const vm = vms.vms[i];
    if (vm.state === VM_POWERED_OFF) continue;
    if (best === null || vm.severity > best.severity) best = vm;
  }
  return best;
}

/** Spin for `ms` milliseconds of TSC (at least a few thousand pauses when the TSC is uncalibrated). */
function spinMs(tscKhz: number, ms: number): void {
  const until = rdtsc() + (tscKhz > 0 ? tscKhz * ms : 1000000);
  while (rdtsc() < until) pause();
}

/**
 * Reset the machine (ACRN reset_host): the reset control register (SYS_RST
 * then RST_CPU, a hard reset); if the machine is still running 100 ms later,
 * the keyboard controller's reset line. (A reset takes effect a little after
 * the write: a KBC command sent at once reached the BIOS after the reset.)
 */
function resetHost(tscKhz: number): void {
  log.line(LOG_WARN, 'resetting the host');
  outb(HOST_RESET_PORT, 0x02);
  outb(HOST_RESET_PORT, 0x06);
  spinMs(tscKhz, 100);
  outb(KBC_COMMAND_PORT, KBC_CMD_RESET);
  spinMs(tscKhz, 100);
  log.line(LOG_ERROR, 'the host did not reset');
}

/** Pause (when not yet) and shut down; log a refusal. */
function powerDown(vm: AcrnVm): boolean {
  if (vm.state !== VM_PAUSED && pauseVm(vm) !== 0) return false;
  if (vm.state !== VM_PAUSED || shutdownVm(vm) !== 0) {
    logEvent(vm, 'could not be shut down');
    return false;
  }
  return true;
}

/** The pCPU loop, after the exit that raised it: act on the VM's power request. */
export function actOnPowerRequest(vm: AcrnVm): void {
  const kind = vm.powerRequest;
  vm.powerRequest = POWER_NONE;
  const power = vm.platform.power;
  if (kind === POWER_NONE || vm.state === VM_POWERED_OFF) return;
  if (kind === POWER_RESET) {
    power.resets++;
    const vms = power.vms;
    if (vms !== null && highestSeverityVm(vms) === vm) {
      logEvent(vm, 'the highest-severity VM reset: the host resets');
      resetHost(vm.platform.tscKhz);
      return;
    }
  } else {
    power.powerOffs++;
  }
  if (vm.loadOrder === LOAD_ORDER_POST) {
    // Its reset ports and PM1a_CNT are the DM's (I/O requests; a triple fault
    // is sent as S5, tripleFaultReset): only a real-time VM's S5 and events
    // of a VM without a DM get here.
    if (kind === POWER_OFF && isRtVm(vm)) powerOffRtVm(vm);
    else {
      pauseVm(vm);
      logEvent(vm, 'left paused: no device model serves its power events');
    }
    return;
  }
  if (kind === POWER_OFF && isRtVm(vm) && vm.state !== VM_READY_TO_POWEROFF) powerOffRtVm(vm);
  if (!powerDown(vm)) return;
  const vms = power.vms;
  if (vms === null) return;
  for (let i = 0; i < vms.vms.length; i++) if (vms.vms[i].state !== VM_POWERED_OFF) return;
  log.line(LOG_INFO, 'every VM is powered off: powering the system off');
  power.offRequested = true;
}

/** PM1a_CNT (ACRN's virtual PM1a control block at 0x404): S5 powers the VM off. */
export class Pm1aControl implements PioDevice {
  readonly vm: AcrnVm;
  value = 0;
  constructor(vm: AcrnVm) {
    this.vm = vm;
  }
  pioRead(_port: number, _size: number): number {
    return this.value;
  }
  pioWrite(_port: number, _size: number, value: number): void {
    this.value = value & 0xffff & ~SLP_EN; // SLP_EN is write-only (reads 0)
    if ((value & SLP_EN) !== 0 && ((value >>> SLP_TYP_SHIFT) & 7) === SLP_TYP_S5) {
      requestPower(this.vm, POWER_OFF, 'S5 through PM1a_CNT: powering off');
    }
  }
}

/**
 * The keyboard controller's command/status port 0x64 (ACRN vm_reset.c
 * handle_kb_read/handle_kb_write): the Service VM reads the physical status
 * (a byte), others all ones; command 0xFE resets the VM; other commands are
 * dropped.
 */
export class KbcResetPort implements PioDevice {
  readonly vm: AcrnVm;
  constructor(vm: AcrnVm) {
    this.vm = vm;
  }
  pioRead(port: number, size: number): number {
    if (this.vm.isServiceVm() && size === 1) return inb(port);
    return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  }
  pioWrite(_port: number, size: number, value: number): void {
    if (size === 1 && (value & 0xff) === KBC_CMD_RESET) requestPower(this.vm, POWER_RESET, 'reset through the keyboard controller');
  }
}

/** A triple fault (SDM Vol. 3C 27.2: exit reason 2) of `vcpu` at RIP hi:lo: a reset (test VMs stop instead). */
export function tripleFaultReset(vcpu: Vcpu, ripHi: number, ripLo: number): void {
  const vm = vcpu.vm;
  if (vm.powerRequest !== POWER_NONE) return;
  if (vm.loadOrder === LOAD_ORDER_POST && ioreqServed(vm) && vcpu.ioreq.state === IOREQ_NONE) {
    // ACRN triple_fault_shutdown_vm: the device model emulates PM1a for
    // post-launched VMs; it gets an S5 write to PM1a_CNT.
    logEvent(vm, 'triple fault: S5 sent to its device model');
    vcpu.ioreq.fill(IOREQ_TYPE_PORTIO, IOREQ_DIR_WRITE, PM1A_CNT_PORT, 2, 0, (SLP_TYP_S5 << SLP_TYP_SHIFT) | SLP_EN);
    ioreqSend(vm, vcpu.id);
  } else requestPower(vm, POWER_RESET, 'triple fault: the VM resets');
  log.begin(LOG_INFO);
  log.str('  vcpu');
  log.dec(vcpu.id);
  log.str(' RIP ');
  log.hex64(ripHi, ripLo);
  log.end();
}
