// Test devices for the hypervisor's own guests (not ACRN devices):
//  - port 0xE9, the debug console (the Bochs/QEMU "port E9" convention): each
//    byte a guest writes goes to COM1, a line at a time, prefixed with the VM;
//  - port 0xEA, test control: OUT asks for an event to be injected, IN reads a
//    counter. guests/README.md is the guest side of this contract.
import { exitFloor, heapUsed, rdtsc } from '../../arch/x86/intrinsics';
import { LOG_INFO, log } from '../log';
import type { PioDevice } from './io-emul';
import type { AcrnVm } from './vm';
import { requestIrq, requestNmi } from './virq';

export const DEBUG_CONSOLE_PORT = 0xe9;
export const TEST_CONTROL_PORT = 0xea;
const LINE_MAX = 120;

/** TSC ticks per millisecond assumed until the TSC is calibrated (issue: vLAPIC/timers). */
export const TSC_PER_MS_DEFAULT = 1000000;

export class DebugConsole implements PioDevice {
  readonly vm: AcrnVm;
  readonly line = new Uint8Array(LINE_MAX);
  used = 0;
  /** Lines printed, for tests and statistics. */
  lines = 0;

  constructor(vm: AcrnVm) {
    this.vm = vm;
  }

  reset(): void {
    this.used = 0;
    this.lines = 0;
  }

  pioRead(_port: number, _size: number): number {
    return 0xe9; // Bochs answers 0xE9 so a guest can detect the port
  }

  pioWrite(_port: number, _size: number, value: number): void {
    const c = value & 0xff;
    if (c === 10) {
      this.flush();
      return;
    }
    if (c === 13) return;
    const at = this.used;
    if (at === LINE_MAX) this.flush();
    const i = this.used;
    this.line[i] = c < 32 || c > 126 ? 63 : c;
    this.used = i + 1;
  }

  flush(): void {
    log.begin(LOG_INFO);
    log.char(91);
    log.str(this.vm.name);
    log.str('] ');
    for (let i = 0; i < this.used; i++) log.char(this.line[i]);
    log.end();
    this.used = 0;
    this.lines++;
  }
}

export const TEST_CMD_IRQ = 1;
export const TEST_CMD_NMI = 2;
export const TEST_CMD_DELAYED_IRQ = 3;
export const TEST_CMD_HEAP_MARK = 4;
export const TEST_CMD_HEAP_REPORT = 5;
export const TEST_CMD_EXIT_FLOOR = 6;
export const TEST_DELAYED_VECTOR = 0x41;

export class TestControl implements PioDevice {
  readonly vm: AcrnVm;
  counter = 0;
  tscPerMs = TSC_PER_MS_DEFAULT;
  /** Heap use and this VM's exit count when the guest marked them (TEST_CMD_HEAP_MARK). */
  heapMark = 0;
  exitsMark = 0;

  constructor(vm: AcrnVm) {
    this.vm = vm;
  }

  reset(): void {
    this.counter = 0;
  }

  pioRead(_port: number, _size: number): number {
    const v = this.counter;
    this.counter = (v + 1) >>> 0;
    return v;
  }

  pioWrite(_port: number, _size: number, value: number): void {
    const vcpu = this.vm.vcpus[0];
    const cmd = value & 0xff;
    const arg = (value >>> 8) & 0xffffff;
    if (cmd === TEST_CMD_IRQ) {
      if (arg >= 0x20 && arg <= 0xff) requestIrq(vcpu, arg);
    } else if (cmd === TEST_CMD_NMI) {
      requestNmi(vcpu);
    } else if (cmd === TEST_CMD_DELAYED_IRQ) {
      vcpu.timerVector = TEST_DELAYED_VECTOR;
      vcpu.timerDeadline = rdtsc() + arg * this.tscPerMs;
    } else if (cmd === TEST_CMD_HEAP_MARK) {
      this.heapMark = heapUsed();
      this.exitsMark = vcpu.exits;
    } else if (cmd === TEST_CMD_HEAP_REPORT) {
      // The TypeScript heap must not grow on the exit path (DESIGN.md).
      log.begin(LOG_INFO);
      log.str('heap growth over ');
      log.dec(vcpu.exits - this.exitsMark);
      log.str(' VM exits: ');
      log.dec(heapUsed() - this.heapMark);
      log.str(' bytes');
      log.end();
    } else if (cmd === TEST_CMD_EXIT_FLOOR) {
      exitFloor(arg & 1);
    }
  }
}
