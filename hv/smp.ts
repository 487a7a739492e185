// Every pCPU in VMX root operation (issue 5, ACRN's start_pcpus/init_pcpu_post):
//  - the boot CPU builds one Scheduler/PcpuLoop/VmxRoot per pCPU (pcpu.ts),
//    reports the TSC frequency and the MADT's processors, and starts the APs
//    (startCpus: INIT-SIPI-SIPI, arch/x86/native/ap_start.c);
//  - each AP waits for the TypeScript lock, then enters hvApEntry(cpu): VMXON
//    with its own VMXON region, the host LAPIC timer, the host state of the
//    VMCSs of the vCPUs placed on it, then its own scheduler loop, idling with
//    the lock released (cpuIdle) when nothing is runnable. The boot CPU keeps
//    the shell.
// A VMCS is active on one CPU at a time (SDM Vol. 3C 24.11.1): the boot CPU
// sets up every test VM's VMCS, VMCLEARs those placed on other pCPUs
// (handOffVcpus), and each AP VMPTRLDs them and rewrites their host-state
// area (GS base, TR) before its first VM entry.
//
// hvApEntry is called from C and finds the pCPU table through the one
// module-level context below (set once by the boot CPU before startCpus).
import {
  cpuApicId, cpuIdle, rdtsc, startCpus, thisCpu, tscKhz, vmclear, vmcsHostSetup, vmptrld, VMX_OK,
} from '../arch/x86/intrinsics';
import { ROOT_MESSAGES, ROOT_OK } from '../arch/x86/vmx';
import type { VmxCaps } from '../arch/x86/vmx-caps';
import { LOG_ERROR, LOG_INFO, log } from './log';
import type { PcpuTable } from './pcpu';
import type { Vcpu } from './vm/vcpu';
import type { Platform } from './vm/platform';
import type { LoopPoller } from './vm/vcpu-run';
import { HOST_TICK_COUNT } from './vmx-start';

/** TSC ticks an idle boot CPU waits before polling the shell again: 2 ms. */
export const BSP_IDLE_US = 2000;
/** An idle AP wakes at least this often (its vCPU timers bound it further): 100 ms. */
export const AP_IDLE_US = 100000;
/** PcpuTable.state: up and in its scheduler loop in VMX root operation. */
export const PCPU_RUNNING = 2;
/** PcpuTable.state: up, but VMXON failed there; nothing is placed on it. */
export const PCPU_NO_VMX = 3;

class SmpContext {
  pcpus: PcpuTable | null = null;
  caps: VmxCaps | null = null;
  platform: Platform | null = null;
  /** Set at poweroff: the APs' loops return. */
  stopping = false;
}
const smp = new SmpContext();

/** The APs' poller: no shell; stops when the hypervisor does. */
class ApPoller implements LoopPoller {
  poll(): boolean {
    return smp.stopping;
  }
}
const apPoller = new ApPoller();

/** TSC ticks in `us` microseconds at the calibrated frequency (1 GHz if unknown). */
export function tscTicks(us: number, khz: number): number {
  return Math.floor(((khz > 0 ? khz : 1000000) * us) / 1000);
}

/** Boot report: the calibrated TSC frequency and the processors of the MADT. */
export function printSmp(count: number): void {
  const khz = tscKhz();
  log.begin(LOG_INFO);
  log.str('TSC: ');
  if (khz > 0) {
    log.dec(khz);
    log.str(' kHz (calibrated against PIT channel 2)');
  } else {
    log.str('not calibrated (PIT channel 2 did not count)');
  }
  log.end();
  log.begin(LOG_INFO);
  log.str('CPUs: ');
  log.dec(count);
  log.str(count === 1 ? ' (ACPI MADT), APIC ID' : ' (ACPI MADT), APIC IDs');
  for (let i = 0; i < count; i++) {
    log.str(' ');
    log.dec(cpuApicId(i));
  }
  log.end();
}

/**
 * Boot CPU: start the APs (they block on the TypeScript lock until this CPU
 * first idles or enters a guest) and report which came up. `caps`/`platform`
 * null: VMX is not usable, the APs only come up and are reported.
 */
export function bringUpCpus(pcpus: PcpuTable, caps: VmxCaps | null, platform: Platform | null): number {
  smp.pcpus = pcpus;
  smp.caps = caps;
  smp.platform = platform;
  if (caps !== null) pcpus.state[0] = PCPU_RUNNING;
  if (pcpus.count === 1) return 1;
  startCpus();
  const up = pcpus.refreshOnline();
  log.begin(LOG_INFO);
  log.str('SMP: ');
  log.dec(up);
  log.str(' of ');
  log.dec(pcpus.count);
  log.str(' CPUs online');
  log.end();
  return up;
}

/**
 * Boot CPU, after the VMs are built and before it first leaves TypeScript:
 * VMCLEAR the VMCS of every vCPU placed on another pCPU (it was set up, and
 * so made active, here), and forget which VMCS each pCPU has loaded.
 */
export function handOffVcpus(pcpus: PcpuTable): void {
  for (let n = 1; n < pcpus.count; n++) {
    const s = pcpus.scheds[n];
    for (let i = 0; i < s.assignedCount; i++) vmclear((s.assigned[i] as Vcpu).vmcsPa);
  }
  for (let n = 0; n < pcpus.count; n++) pcpus.scheds[n].loadedVmcs = 0;
}

/**
 * Boot CPU: let the APs take the lock and reach their loops (idling 1 ms at
 * a time, at most `maxMs`), so their reports precede the shell's prompt.
 * Returns how many are running.
 */
export function waitForCpus(pcpus: PcpuTable, khz: number, maxMs: number): number {
  for (let t = 0; t < maxMs; t++) {
    let pending = 0;
    for (let i = 1; i < pcpus.count; i++) if (pcpus.state[i] === 1) pending++;
    if (pending === 0) break;
    cpuIdle(rdtsc() + tscTicks(1000, khz));
  }
  let running = 1;
  for (let i = 1; i < pcpus.count; i++) if (pcpus.state[i] === PCPU_RUNNING) running++;
  return running;
}

/** AP: make each VMCS placed here current once and write its host state on this CPU. */
function adoptVcpus(pcpus: PcpuTable, cpu: number): number {
  const s = pcpus.scheds[cpu];
  let bad = 0;
  for (let i = 0; i < s.assignedCount; i++) {
    const v = s.assigned[i] as Vcpu;
    if (vmptrld(v.vmcsPa) !== VMX_OK || vmcsHostSetup() !== 0) bad++;
    else {
      s.loadedVmcs = v.vmcsPa;
      v.hostPcpu = cpu;
    }
  }
  return bad;
}

/** Stop the APs' loops (poweroff). */
export function stopCpus(): void {
  smp.stopping = true;
}

/**
 * The AP entry (exported by hv/main.ts; called by arch/x86/native/ap_start.c's
 * ap_main with the TypeScript lock held). Returns only if this pCPU cannot
 * run vCPUs or the hypervisor stops.
 */
export function hvApEntry(cpu: number): void {
  try {
    apMain(cpu);
  } catch (e) {
    // Name the broken invariant before ap_main turns it into a panic (as hvEntry does on the boot CPU).
    log.begin(LOG_ERROR);
    log.str('CPU ');
    log.dec(cpu);
    log.str(': uncaught TypeScript exception: ');
    if (typeof e === 'object' && e instanceof Error) log.str(e.message);
    else log.str(String(e)); // P7: a TypeError is not instanceof Error
    log.end();
    throw e;
  }
}

function apMain(cpu: number): void {
  const pcpus = smp.pcpus;
  if (pcpus === null || cpu < 1 || cpu >= pcpus.count || thisCpu() !== cpu) return;
  const caps = smp.caps;
  const platform = smp.platform;
  if (caps === null || platform === null) return;
  const root = pcpus.roots[cpu];
  const rc = root.enable(caps);
  if (rc !== ROOT_OK) {
    pcpus.state[cpu] = PCPU_NO_VMX;
    log.begin(LOG_ERROR);
    log.str('CPU ');
    log.dec(cpu);
    log.str(': ');
    log.str(ROOT_MESSAGES[rc]);
    log.end();
    return;
  }
  log.begin(LOG_INFO);
  log.str('VMX root operation on CPU ');
  log.dec(cpu);
  log.str(' (APIC ID ');
  log.dec(cpuApicId(cpu));
  log.str(')');
  log.end();
  platform.lapic.startTimer(HOST_TICK_COUNT);
  const bad = adoptVcpus(pcpus, cpu);
  if (bad !== 0) {
    log.begin(LOG_ERROR);
    log.str('CPU ');
    log.dec(cpu);
    log.str(': loading the VMCS of ');
    log.dec(bad);
    log.str(' vCPU(s) failed');
    log.end();
  }
  pcpus.state[cpu] = PCPU_RUNNING;
  const loop = pcpus.loops[cpu];
  loop.idleTsc = tscTicks(AP_IDLE_US, platform.tscKhz);
  loop.run(apPoller);
  platform.lapic.stopTimer();
}
