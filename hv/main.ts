// The hypervisor's TypeScript entry: kmain (native) calls it once on the boot
// CPU after long mode, the memory map, the Wasm window and the page pool are set up.
import { hcBindVmTable } from './dm-hypercall/hc-state';
import { CpuInfo } from '../arch/x86/cpu';
import { cpuCount, exitFloor, heapUsed, selftestFault, testExit, tscKhz } from '../arch/x86/intrinsics';
import { COM1_BASE, Uart16550 } from '../arch/x86/serial';
import { CAP_MISC, VMX_USABLE, VmxCaps } from '../arch/x86/vmx-caps';
import { printBanner, printCmdline, printCpu, printMemoryMap, printVmx } from './boot-report';
import { Cmdline } from './cmdline';
import { LOG_ERROR, LOG_INFO, LOG_WARN, log } from './log';
import { Shell } from './shell';
import { PcpuTable } from './pcpu';
import { BSP_IDLE_US, bringUpCpus, handOffVcpus, printSmp, stopCpus, tscTicks, waitForCpus } from './smp';
import { launchTestVms, testModuleCount } from './vm/test-vms';
import { VmLauncher } from './vm/vm-launch';
import { VmTable } from './vm/vm-table';
import { startVmx } from './vmx-start';

/** The AP entry, called from C (arch/x86/native/ap_start.c): see hv/smp.ts. */
export { hvApEntry } from './smp';

/** Exit status given to the emulator (QEMU isa-debug-exit, Bochs) when the hypervisor stops. */
export const EXIT_POWEROFF = 0;
export const EXIT_PANIC = 1;
export const EXIT_NO_VMX = 2;

/** `hv.selftest=<name>` deliberately faults, to test the panic path end to end. */
const SELFTEST_NAMES = ['ud', 'pf', 'stack', 'peek'];

function runSelftest(cmdline: Cmdline): void {
  for (let i = 0; i < SELFTEST_NAMES.length; i++) {
    if (cmdline.is('hv.selftest', SELFTEST_NAMES[i])) {
      log.begin(LOG_WARN);
      log.str('selftest: faulting on purpose: ');
      log.str(SELFTEST_NAMES[i]);
      log.end();
      selftestFault(i);
    }
  }
}

function stopMachine(uart: Uart16550, code: number): number {
  uart.drain();
  testExit(code);
  return code;
}

/**
 * The VMs of the boot: test VMs when GRUB modules ask for them (guest=,
 * guests/README.md), else the scenario's pre-launched VMs and Service VM
 * (vm-launch.ts; the `scenario` module or the built-in default).
 */
function launchBootVms(vms: VmTable): void {
  if (testModuleCount() > 0) {
    log.line(LOG_INFO, 'test VMs from guest= modules: the scenario is not launched');
    launchTestVms(vms);
    return;
  }
  const launcher = new VmLauncher(vms);
  if (!launcher.readScenario()) {
    log.line(LOG_ERROR, 'no scenario: no VM is launched');
    return;
  }
  launcher.launchVms();
}

/** Boot report, VMX probe, then the shell. Returns the exit status. */
export function hvMain(): number {
  const uart = new Uart16550(COM1_BASE);
  uart.init();
  log.attach(uart);
  printBanner();
  const cpu = new CpuInfo();
  cpu.read();
  printCpu(cpu);
  printSmp(cpuCount());
  const cmdline = new Cmdline();
  cmdline.read();
  printCmdline(cmdline);
  printMemoryMap();
  runSelftest(cmdline);
  const caps = new VmxCaps();
  caps.probe(cpu);
  printVmx(cpu, caps);
  // Every pCPU's scheduler, run loop and VMX root, built before any AP starts (hv/smp.ts).
  const pcpus = new PcpuTable(cpuCount(), caps.msrLo(CAP_MISC) & 0x1f);
  log.begin(LOG_INFO);
  log.str('TypeScript heap in use after boot: ');
  log.dec(heapUsed());
  log.str(' bytes');
  log.end();
  if (caps.reason !== VMX_USABLE) {
    bringUpCpus(pcpus, null, null);
    log.line(LOG_INFO, 'System halted.');
    return stopMachine(uart, EXIT_NO_VMX);
  }
  const platform = startVmx(caps, pcpus.roots[0]);
  if (platform === null) {
    bringUpCpus(pcpus, null, null);
    log.line(LOG_INFO, 'System halted.');
    return stopMachine(uart, EXIT_NO_VMX);
  }
  // make bench: `hv.exit_floor=1` handles CPUID/VMCALL exits in the assembly floor.
  if (cmdline.is('hv.exit_floor', '1')) exitFloor(1);
  platform.tscKhz = tscKhz(); // CPUID 0x40000010 EAX (vcpuid.ts)
  const vms = new VmTable(pcpus.scheds[0], platform);
  hcBindVmTable(vms); // the Service VM's hypercalls reach these slots
  vms.pcpus = pcpus;
  platform.power.vms = vms;
  bringUpCpus(pcpus, caps, platform);
  launchBootVms(vms);
  handOffVcpus(pcpus);
  waitForCpus(pcpus, platform.tscKhz, 200);
  const loop = pcpus.loops[0];
  loop.idleTsc = tscTicks(BSP_IDLE_US, platform.tscKhz);
  const shell = new Shell(uart);
  shell.vms = vms;
  shell.loop = loop;
  shell.pcpus = pcpus;
  shell.power = platform.power;
  shell.prompt();
  loop.run(shell);
  stopCpus();
  platform.lapic.stopTimer();
  log.line(LOG_INFO, 'Powering off.');
  return stopMachine(uart, EXIT_POWEROFF);
}

/**
 * The native entry: an exception nothing caught is a broken invariant; name it
 * before kmain turns it into a panic.
 */
function hvEntry(): void {
  try {
    hvMain();
  } catch (e) {
    log.begin(LOG_ERROR);
    log.str('uncaught TypeScript exception: ');
    if (e instanceof Error) log.str(e.message);
    else log.str(String(e));
    log.end();
    throw e;
  }
}

declare const __NATIVE__: boolean;
if (__NATIVE__) hvEntry();
