// The hypervisor's debug shell on COM1. ACRN's prompt and command names; this
// first cut has `help` and `version` plus two commands of our own, `echo` and
// `poweroff`. Input is polled; a line is edited in a fixed buffer and the
// command is found in a const table, so running a command allocates nothing.
import { SMP_IDLE_WAKEUPS, SMP_KICKS, cpuApicId, smpInfo } from '../arch/x86/intrinsics';
import { Uart16550 } from '../arch/x86/serial';
import { EXIT_REASON_COUNT, EXIT_REASON_NAMES } from '../arch/x86/vmcs';
import { LOG_ERROR, LOG_INFO, log } from './log';
import type { PcpuTable } from './pcpu';
import { VCPU_STATE_NAMES } from './vm/vcpu';
import type { PcpuLoop } from './vm/vcpu-run';
import { EXIT_FLAGS, EXIT_HANDLED } from './vm/vmexit';
import { LOAD_ORDER_NAMES, VM_POWERED_OFF, VM_STATE_NAMES } from './vm/vm';
import type { VmTable } from './vm/vm-table';
import type { AcrnVm } from './vm/vm';
import { HV_NAME, HV_VERSION } from './version';

export const SHELL_PROMPT = 'ACRN:\\>';
export const SHELL_LINE_MAX = 128;

const CHAR_BACKSPACE = 8;
const CHAR_DELETE = 127;
const CHAR_CR = 13;
const CHAR_LF = 10;
const CHAR_SPACE = 32;
/** Ctrl+Space (NUL): leaves a VM console, as ACRN's shell. */
const CHAR_ESCAPE = 0;

/** Why the shell stopped running (`run` returns it). */
export const SHELL_RUNNING = 0;
export const SHELL_POWEROFF = 1;

export class Shell {
  readonly uart: Uart16550;
  readonly line = new Uint8Array(SHELL_LINE_MAX);
  length = 0;
  /** Index in `line` where the current command's arguments start. */
  argStart = 0;
  state = SHELL_RUNNING;
  /** The VMs and the run loop, once VMX is up (null before). */
  vms: VmTable | null = null;
  loop: PcpuLoop | null = null;
  /** Every pCPU's loop (hv/pcpu.ts), once VMX is up. */
  pcpus: PcpuTable | null = null;

  constructor(uart: Uart16550) {
    this.uart = uart;
  }

  /** The VM whose console (vuart 0) takes COM1 input after `vm_console`, or null (the shell has it). */
  consoleVm: AcrnVm | null = null;
  /** A byte the VM's vuart had no room for yet (flow control: nothing is lost), or -1. */
  heldByte = -1;

  /** Take at most one input byte; true once a command stopped the shell. */
  poll(): boolean {
    const vm = this.consoleVm;
    if (vm !== null) {
      this.pollConsole(vm);
      return this.state !== SHELL_RUNNING;
    }
    const c = this.uart.getc();
    if (c >= 0) this.input(c);
    return this.state !== SHELL_RUNNING;
  }

  /**
   * Input goes to the VM's vuart 0 (its receive FIFO; held while the FIFO is
   * full) until Ctrl+Space (a NUL byte, ACRN's escape) returns to the shell.
   * A VM that stopped existing returns it too.
   */
  pollConsole(vm: AcrnVm): void {
    if (vm.state === VM_POWERED_OFF || vm.devices.vuartCount === 0) {
      this.leaveConsole();
      return;
    }
    const uart = vm.devices.vuarts[0];
    if (this.heldByte >= 0) {
      if (!uart.rxPush(this.heldByte)) return;
      this.heldByte = -1;
    }
    const c = this.uart.getc();
    if (c < 0) return;
    if (c === CHAR_ESCAPE) {
      this.leaveConsole();
      return;
    }
    if (!uart.rxPush(c)) this.heldByte = c;
  }

  leaveConsole(): void {
    this.consoleVm = null;
    this.heldByte = -1;
    log.line(LOG_INFO, '');
    log.line(LOG_INFO, '---- back in the hypervisor shell ----');
    this.prompt();
  }

  prompt(): void {
    log.begin(LOG_INFO);
    log.str(SHELL_PROMPT);
    // no end(): the prompt stays on the input line
  }

  /** Feed one input byte: edit the line, echo it, run it on Enter. */
  input(c: number): void {
    if (c === CHAR_CR || c === CHAR_LF) {
      log.char(CHAR_LF);
      this.execute();
      this.length = 0;
      if (this.state === SHELL_RUNNING && this.consoleVm === null) this.prompt();
      return;
    }
    if (c === CHAR_BACKSPACE || c === CHAR_DELETE) {
      if (this.length > 0) {
        this.length--;
        log.char(CHAR_BACKSPACE);
        log.char(CHAR_SPACE);
        log.char(CHAR_BACKSPACE);
      }
      return;
    }
    if (c < 32 || c > 126) return;
    const at = this.length;
    if (at === SHELL_LINE_MAX) return; // full: further characters are dropped
    // porffor defect P1 (tools/PORFFOR.md): never index a this-array with a this-field in a store.
    this.line[at] = c;
    this.length = at + 1;
    log.char(c);
  }

  /** Poll COM1 until a command stops the shell. */
  run(): number {
    this.prompt();
    while (this.state === SHELL_RUNNING) {
      const c = this.uart.getc();
      if (c >= 0) this.input(c);
    }
    return this.state;
  }

  /** Whether the word at [start, end) equals `word`. */
  wordIs(start: number, end: number, word: string): boolean {
    if (end - start !== word.length) return false;
    for (let i = 0; i < word.length; i++) if (this.line[start + i] !== word.charCodeAt(i)) return false;
    return true;
  }

  execute(): void {
    let start = 0;
    while (start < this.length && this.line[start] === CHAR_SPACE) start++;
    let end = start;
    while (end < this.length && this.line[end] !== CHAR_SPACE) end++;
    if (start === end) return;
    this.argStart = end;
    while (this.argStart < this.length && this.line[this.argStart] === CHAR_SPACE) this.argStart++;
    for (let i = 0; i < COMMAND_NAMES.length; i++) {
      if (this.wordIs(start, end, COMMAND_NAMES[i])) {
        COMMAND_HANDLERS[i](this);
        return;
      }
    }
    log.begin(LOG_ERROR);
    log.str('unknown command "');
    for (let i = start; i < end; i++) log.char(this.line[i]);
    log.str('"; type help');
    log.end();
  }
}

function cmdHelp(_sh: Shell): void {
  for (let i = 0; i < COMMAND_NAMES.length; i++) {
    log.begin(LOG_INFO);
    log.str('  ');
    log.str(COMMAND_NAMES[i]);
    log.spaces(12 - COMMAND_NAMES[i].length);
    log.str(COMMAND_HELP[i]);
    log.end();
  }
}

function cmdVersion(_sh: Shell): void {
  log.begin(LOG_INFO);
  log.str(HV_NAME);
  log.str(' ');
  log.str(HV_VERSION);
  log.end();
}

function cmdEcho(sh: Shell): void {
  log.begin(LOG_INFO);
  for (let i = sh.argStart; i < sh.length; i++) log.char(sh.line[i]);
  log.end();
}

function cmdPoweroff(sh: Shell): void {
  sh.state = SHELL_POWEROFF;
}

function noVms(sh: Shell): boolean {
  if (sh.vms !== null) return false;
  log.line(LOG_ERROR, 'no VMs: VMX is not running');
  return true;
}

/** ACRN's vm_list: id, name, state, load order of every VM that is not powered off. */
function cmdVmList(sh: Shell): void {
  if (noVms(sh)) return;
  log.line(LOG_INFO, 'VM_ID  VM_NAME           VM_STATE            LOAD_ORDER');
  const t = sh.vms as VmTable;
  for (let i = 0; i < t.vms.length; i++) {
    const vm = t.vms[i];
    if (vm.state === VM_POWERED_OFF) continue;
    log.begin(LOG_INFO);
    log.dec(vm.vmId);
    log.spaces(vm.vmId < 10 ? 6 : 5);
    log.str(vm.name);
    log.spaces(18 - vm.name.length);
    log.str(VM_STATE_NAMES[vm.state]);
    log.spaces(20 - VM_STATE_NAMES[vm.state].length);
    log.str(LOAD_ORDER_NAMES[vm.loadOrder]);
    log.end();
  }
}

/** ACRN's vcpu_list: VM, vCPU, pCPU, state, exits. */
function cmdVcpuList(sh: Shell): void {
  if (noVms(sh)) return;
  log.line(LOG_INFO, 'VM_ID  VCPU_ID  PCPU_ID  VCPU_STATE  EXITS');
  const t = sh.vms as VmTable;
  for (let i = 0; i < t.vms.length; i++) {
    const vm = t.vms[i];
    for (let k = 0; k < vm.vcpuCount; k++) {
      const v = vm.vcpus[k];
      log.begin(LOG_INFO);
      log.dec(vm.vmId);
      log.spaces(6);
      log.dec(v.id);
      log.spaces(8);
      log.dec(v.pcpu);
      log.spaces(8);
      log.str(VCPU_STATE_NAMES[v.state]);
      log.spaces(12 - VCPU_STATE_NAMES[v.state].length);
      log.dec(v.exits);
      log.end();
    }
  }
}

/** Ours: VM-exit counters by reason, summed over the VMs; handled reasons marked. */
function cmdExitStats(sh: Shell): void {
  if (noVms(sh)) return;
  const t = sh.vms as VmTable;
  log.begin(LOG_INFO);
  log.str('VM exits: ');
  log.dec(sh.pcpus !== null ? sh.pcpus.totalExits() : sh.loop === null ? 0 : sh.loop.exits);
  log.end();
  for (let r = 0; r < EXIT_REASON_COUNT; r++) {
    let total = 0;
    for (let i = 0; i < t.vms.length; i++) total += t.vms[i].exitCounts[r];
    const handled = (EXIT_FLAGS[r] & EXIT_HANDLED) !== 0;
    if (total === 0 && !handled) continue;
    log.begin(LOG_INFO);
    log.str(handled ? '  handled ' : '  other   ');
    log.dec(r);
    log.spaces(r < 10 ? 2 : 1);
    log.str(EXIT_REASON_NAMES[r]);
    log.str(': ');
    log.dec(total);
    log.end();
  }
}

const PCPU_STATE_NAMES = ['offline', 'up', 'running', 'no VMX'];

/** Ours: the pCPUs: APIC ID, state, vCPUs placed, VM exits, idle wake-ups, kicks received. */
function cmdPcpuList(sh: Shell): void {
  if (noVms(sh) || sh.pcpus === null) return;
  const p = sh.pcpus;
  log.line(LOG_INFO, 'PCPU  APIC_ID  STATE     VCPUS  EXITS  WAKEUPS  KICKS');
  for (let i = 0; i < p.count; i++) {
    const st = p.state[i] < PCPU_STATE_NAMES.length ? PCPU_STATE_NAMES[p.state[i]] : '?';
    log.begin(LOG_INFO);
    log.dec(i);
    log.spaces(5);
    log.dec(cpuApicId(i));
    log.spaces(8);
    log.str(st);
    log.spaces(10 - st.length);
    log.dec(p.scheds[i].assignedCount);
    log.spaces(6);
    log.dec(p.loops[i].exits);
    log.str(' ');
    log.dec(smpInfo(SMP_IDLE_WAKEUPS, i));
    log.str(' ');
    log.dec(smpInfo(SMP_KICKS, i));
    log.end();
  }
}

/** The first argument as a decimal number, or -1 when there is none or it is not one. */
function argNumber(sh: Shell): number {
  let v = -1;
  for (let i = sh.argStart; i < sh.length; i++) {
    const c = sh.line[i];
    if (c === CHAR_SPACE) break;
    if (c < 48 || c > 57 || v > 99999) return -1;
    v = (v < 0 ? 0 : v * 10) + (c - 48);
  }
  return v;
}

/** ACRN's vm_console <vm_id>: COM1 input goes to that VM's vuart 0 until Ctrl+Space. */
function cmdVmConsole(sh: Shell): void {
  if (noVms(sh)) return;
  const id = argNumber(sh);
  const vm = id < 0 ? null : (sh.vms as VmTable).get(id);
  if (vm === null || vm.state === VM_POWERED_OFF) {
    log.line(LOG_ERROR, 'vm_console: give the id of a VM that exists (see vm_list)');
    return;
  }
  if (vm.devices.vuartCount === 0) {
    log.line(LOG_ERROR, 'vm_console: that VM has no console vuart');
    return;
  }
  log.begin(LOG_INFO);
  log.str('---- entering the console of vm');
  log.dec(vm.vmId);
  log.str(' (');
  log.str(vm.name);
  log.str('); Ctrl+Space returns to the shell ----');
  log.end();
  sh.consoleVm = vm;
  sh.heldByte = -1;
}

/** The command table: names, help text and handlers, index-aligned. */
const COMMAND_NAMES = ['help', 'version', 'vm_list', 'vcpu_list', 'pcpu_list', 'vm_console', 'exit_stats', 'echo', 'poweroff'];
const COMMAND_HELP = [
  'list the commands',
  'show the hypervisor version',
  'list the VMs: id, name, state, load order',
  'list the vCPUs: VM, vCPU, pCPU, state, exits',
  'list the pCPUs: APIC ID, state, vCPUs, exits, idle wake-ups, kicks (not an ACRN command)',
  'vm_console <vm_id>: type into that VM\'s console (vuart 0); Ctrl+Space returns',
  'VM-exit counters by reason (not an ACRN command)',
  'print the rest of the line (not an ACRN command)',
  'power the machine off (not an ACRN command)',
];
const COMMAND_HANDLERS = [cmdHelp, cmdVersion, cmdVmList, cmdVcpuList, cmdPcpuList, cmdVmConsole, cmdExitStats, cmdEcho, cmdPoweroff];
