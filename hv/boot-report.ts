// What the hypervisor prints at boot, in this order: banner, CPU, command line,
// memory map, VMX capabilities (issue "Boot TypeScript on bare metal").
import { CpuInfo } from '../arch/x86/cpu';
import {
  CAP_BASIC, CAP_CR0_FIXED0, CAP_CR0_FIXED1, CAP_CR4_FIXED0, CAP_CR4_FIXED1, CAP_ENTRY, CAP_EPT_VPID, CAP_EXIT,
  CAP_FEATURE_CONTROL, CAP_MISC, CAP_PINBASED, CAP_PROCBASED, CAP_PROCBASED2, CAP_VMCS_ENUM, VMX_UNUSABLE_REASONS,
  VMX_USABLE, VmxCaps,
} from '../arch/x86/vmx-caps';
import { Cmdline } from './cmdline';
import { LOG_INFO, log } from './log';
import {
  e820TypeName, hostMapBase, hostMapCount, hostMapLength, hostMapType, hostRamBytes, poolFreePages, poolTotalPages,
  reservedBase, reservedCount, reservedKind, reservedSize, resvKindName,
} from './mm';
import { HV_DESCRIPTION, HV_NAME, HV_VERSION } from './version';

export function printBanner(): void {
  log.begin(LOG_INFO);
  log.str(HV_NAME);
  log.str(' hypervisor ');
  log.str(HV_VERSION);
  log.str(' - ');
  log.str(HV_DESCRIPTION);
  log.end();
}

export function printCpu(cpu: CpuInfo): void {
  log.begin(LOG_INFO);
  log.str('CPU: ');
  for (let i = 0; i < 3; i++) log.ascii4(cpu.vendor[i]);
  log.str(', family ');
  log.hex(cpu.family);
  log.str(' model ');
  log.hex(cpu.model);
  log.str(' stepping ');
  log.dec(cpu.stepping);
  log.end();
  log.begin(LOG_INFO);
  log.str('CPU brand: ');
  if (cpu.brand[0] === 0) log.str('(not reported)');
  else for (let i = 0; i < 12; i++) log.ascii4(cpu.brand[i]);
  log.end();
}

export function printCmdline(cmdline: Cmdline): void {
  log.begin(LOG_INFO);
  log.str('Command line: ');
  if (cmdline.size === 0) log.str('(empty)');
  for (let i = 0; i < cmdline.size; i++) log.char(cmdline.bytes[i]);
  log.end();
}

/** A byte count as KiB or MiB, for people. */
function printSize(bytes: number): void {
  if (bytes >= 1048576 && bytes % 1048576 === 0) {
    log.dec(bytes / 1048576);
    log.str(' MiB');
  } else {
    log.dec(Math.floor(bytes / 1024));
    log.str(' KiB');
  }
}

/** One `[first-last]` row of 16-digit hex addresses. */
function printRange(base: number, length: number): void {
  log.str('  [');
  log.hex(base, 16);
  log.char(45);
  log.hex(base + length - 1, 16);
  log.str('] ');
}

export function printMemoryMap(): void {
  const n = hostMapCount();
  log.begin(LOG_INFO);
  log.str('Memory map (e820, ');
  log.dec(n);
  log.str(' entries):');
  log.end();
  for (let i = 0; i < n; i++) {
    log.begin(LOG_INFO);
    printRange(hostMapBase(i), hostMapLength(i));
    const name = e820TypeName(hostMapType(i));
    log.str(name);
    log.spaces(11 - name.length);
    printSize(hostMapLength(i));
    log.end();
  }
  log.begin(LOG_INFO);
  log.str('Usable RAM: ');
  printSize(hostRamBytes());
  log.end();
  log.line(LOG_INFO, 'Hypervisor-owned memory (never mapped into a guest):');
  const r = reservedCount();
  for (let i = 0; i < r; i++) {
    log.begin(LOG_INFO);
    printRange(reservedBase(i), reservedSize(i));
    log.str(resvKindName(reservedKind(i)));
    log.str(', ');
    printSize(reservedSize(i));
    log.end();
  }
  log.begin(LOG_INFO);
  log.str('Page pool: ');
  log.dec(poolFreePages());
  log.str(' of ');
  log.dec(poolTotalPages());
  log.str(' pages free');
  log.end();
}

function printMsr(name: string, caps: VmxCaps, slot: number): void {
  log.begin(LOG_INFO);
  log.str('  ');
  log.str(name);
  log.spaces(26 - name.length);
  log.hex64(caps.msrHi(slot), caps.msrLo(slot));
  log.end();
}

/** A control MSR as its must-be-one (allowed 0-settings) and may-be-one masks. */
function printControls(name: string, caps: VmxCaps, slot: number): void {
  log.begin(LOG_INFO);
  log.str('  ');
  log.str(name);
  log.spaces(26 - name.length);
  log.str('must be 1: ');
  log.hex(caps.mustBeOne(slot), 8);
  log.str('  may be 1: ');
  log.hex(caps.mayBeOne(slot), 8);
  log.end();
}

/** The VMX capability report, or the one `VMX not available: <reason>` line. */
export function printVmx(cpu: CpuInfo, caps: VmxCaps): void {
  log.begin(LOG_INFO);
  log.str('VMX: CPUID.1:ECX.VMX = ');
  log.dec(cpu.hasVmx() ? 1 : 0);
  log.end();
  if (caps.reason !== VMX_USABLE) {
    if (caps.has(CAP_FEATURE_CONTROL)) printMsr('IA32_FEATURE_CONTROL', caps, CAP_FEATURE_CONTROL);
    log.begin(LOG_INFO);
    log.str('VMX not available: ');
    log.str(VMX_UNUSABLE_REASONS[caps.reason]);
    log.end();
    return;
  }
  printMsr('IA32_FEATURE_CONTROL', caps, CAP_FEATURE_CONTROL);
  printMsr('IA32_VMX_BASIC', caps, CAP_BASIC);
  log.begin(LOG_INFO);
  log.str('  VMCS revision ');
  log.hex(caps.vmcsRevision());
  log.str(', region ');
  log.dec(caps.vmcsRegionSize());
  log.str(' bytes, memory type ');
  log.dec(caps.vmcsMemoryType());
  log.str(caps.trueControls ? ', TRUE_* control MSRs in use' : ', no TRUE_* control MSRs');
  log.end();
  printControls('pin-based controls', caps, CAP_PINBASED);
  printControls('proc-based controls', caps, CAP_PROCBASED);
  if (caps.has(CAP_PROCBASED2)) printControls('secondary proc controls', caps, CAP_PROCBASED2);
  printControls('VM-exit controls', caps, CAP_EXIT);
  printControls('VM-entry controls', caps, CAP_ENTRY);
  printMsr('IA32_VMX_MISC', caps, CAP_MISC);
  printMsr('IA32_VMX_CR0_FIXED0', caps, CAP_CR0_FIXED0);
  printMsr('IA32_VMX_CR0_FIXED1', caps, CAP_CR0_FIXED1);
  printMsr('IA32_VMX_CR4_FIXED0', caps, CAP_CR4_FIXED0);
  printMsr('IA32_VMX_CR4_FIXED1', caps, CAP_CR4_FIXED1);
  printMsr('IA32_VMX_VMCS_ENUM', caps, CAP_VMCS_ENUM);
  if (caps.has(CAP_EPT_VPID)) printMsr('IA32_VMX_EPT_VPID_CAP', caps, CAP_EPT_VPID);
  log.line(LOG_INFO, 'VMX: available');
}
