// The hypervisor's debug shell on COM1. ACRN's prompt and command names
// (help, version, vm_list, vcpu_list, vcpu_dumpreg, vm_console, loglevel) and
// our own, marked in the help text (pcpu_list, vm_pause/start/reset/shutdown
// driving hv/vm/vm-api.ts, exit_stats, echo, poweroff). Input is polled; a
// line is edited in a fixed buffer and the command is found in a const table,
// so running a command allocates nothing.
import { SMP_FLUSHES, SMP_IDLE_WAKEUPS, SMP_KICKS, cpuApicId, heapUsed, hi, smpInfo, vmptrld, vmread } from '../arch/x86/intrinsics';
import { Uart16550 } from '../arch/x86/serial';
import {
  EXIT_REASON_COUNT, EXIT_REASON_NAMES, GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_CS_SELECTOR, GUEST_IA32_EFER, GUEST_RFLAGS,
  GUEST_RIP,
} from '../arch/x86/vmcs';
import { LOG_DEBUG, LOG_ERROR, LOG_INFO, log } from './log';
import { HC } from './dm-hypercall/hc-state';
import { pauseVm, resetVm, shutdownVm, startVm } from './vm/vm-api';
import type { PcpuTable } from './pcpu';
import type { SystemPower } from './vm/platform';
import { VCPU_STATE_NAMES } from './vm/vcpu';
import type { PcpuLoop } from './vm/vcpu-run';
import { EXIT_FLAGS, EXIT_HANDLED } from './vm/vmexit';
import { LOAD_ORDER_NAMES, VM_PAUSED, VM_POWERED_OFF, VM_STATE_NAMES } from './vm/vm';
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
  /** Machine power state: a guest's power-off that left every VM off ends the loop (vm-power.ts). */
  power: SystemPower | null = null;

  constructor(uart: Uart16550) {
    this.uart = uart;
  }

  /** The VM whose console (vuart 0) takes COM1 input after `vm_console`, or null (the shell has it). */
  consoleVm: AcrnVm | null = null;
  /** A byte the VM's vuart had no room for yet (flow control: nothing is lost), or -1. */
  heldByte = -1;

  /** Take at most one input byte; true once a command stopped the shell. */
  poll(): boolean {
    if (this.power !== null && this.power.offRequested) this.state = SHELL_POWEROFF;
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
  // The exit path allocates nothing: this figure stays put while guests run (make bench, the fuzz test).
  log.begin(LOG_INFO);
  log.str('TypeScript heap in use: ');
  log.dec(heapUsed());
  log.str(' bytes');
  log.end();
}

const PCPU_STATE_NAMES = ['offline', 'up', 'running', 'no VMX'];

/** Ours: the pCPUs: APIC ID, state, vCPUs placed, VM exits, idle wake-ups, kicks received, EPT flushes done for other pCPUs. */
function cmdPcpuList(sh: Shell): void {
  if (noVms(sh) || sh.pcpus === null) return;
  const p = sh.pcpus;
  log.line(LOG_INFO, 'PCPU  APIC_ID  STATE     VCPUS  EXITS  WAKEUPS  KICKS  FLUSHES');
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
    log.str(' ');
    log.dec(smpInfo(SMP_FLUSHES, i));
    log.end();
  }
}

/** Argument `index` (0 = the first) as a decimal number, or -1 when there is none or it is not one. */
function argNumberAt(sh: Shell, index: number): number {
  let i = sh.argStart;
  for (let k = 0; k < index; k++) {
    while (i < sh.length && sh.line[i] !== CHAR_SPACE) i++;
    while (i < sh.length && sh.line[i] === CHAR_SPACE) i++;
  }
  let v = -1;
  for (; i < sh.length; i++) {
    const c = sh.line[i];
    if (c === CHAR_SPACE) break;
    if (c < 48 || c > 57 || v > 99999) return -1;
    v = (v < 0 ? 0 : v * 10) + (c - 48);
  }
  return v;
}

function argNumber(sh: Shell): number {
  return argNumberAt(sh, 0);
}

/** The VM named by the first argument, or null after a one-line error naming the command. */
function vmArgument(sh: Shell, command: string): AcrnVm | null {
  if (noVms(sh)) return null;
  const id = argNumber(sh);
  const vm = id < 0 ? null : (sh.vms as VmTable).get(id);
  if (vm === null || vm.state === VM_POWERED_OFF) {
    log.begin(LOG_ERROR);
    log.str(command);
    log.str(': give the id of a VM that exists (see vm_list)');
    log.end();
    return null;
  }
  return vm;
}

/** Report an API refusal in words: "<command>: vm<id> is <state>; <why>". */
function refused(command: string, vm: AcrnVm, why: string): void {
  log.begin(LOG_ERROR);
  log.str(command);
  log.str(': vm');
  log.dec(vm.vmId);
  log.str(' is ');
  log.str(VM_STATE_NAMES[vm.state]);
  log.str('; ');
  log.str(why);
  log.end();
}

/** Ours: pause_vm (ACRN's guard: refused only when powered off; a running real-time VM stays running). */
function cmdVmPause(sh: Shell): void {
  const vm = vmArgument(sh, 'vm_pause');
  if (vm === null) return;
  const before = vm.state;
  if (pauseVm(vm) !== 0) refused('vm_pause', vm, 'a powered-off VM cannot be paused');
  else if (vm.state === before && before !== VM_PAUSED) refused('vm_pause', vm, 'a running real-time VM is not paused (ACRN)');
}

/** Ours: start_vm (CREATED only). */
function cmdVmStart(sh: Shell): void {
  const vm = vmArgument(sh, 'vm_start');
  if (vm !== null && startVm(vm) !== 0) refused('vm_start', vm, 'only a created VM starts (vm_reset a paused one first)');
}

/** Ours: reset_vm (PAUSED only): vCPUs and devices to power-up state, back to CREATED. */
function cmdVmReset(sh: Shell): void {
  const vm = vmArgument(sh, 'vm_reset');
  if (vm !== null && resetVm(vm) !== 0) refused('vm_reset', vm, 'only a paused VM is reset (vm_pause it first)');
}

/** Ours: shutdown_vm (PAUSED only): everything the VM owns is given back. */
function cmdVmShutdown(sh: Shell): void {
  const vm = vmArgument(sh, 'vm_shutdown');
  if (vm === null) return;
  const id = vm.vmId;
  if (shutdownVm(vm) !== 0) refused('vm_shutdown', vm, 'only a paused VM is shut down (vm_pause it first)');
  else HC.clearSlot(id);
}

/** ACRN's loglevel [n]: show, or set, the console log level (1 error .. 4 debug). */
function cmdLoglevel(sh: Shell): void {
  const n = argNumber(sh);
  if (sh.length > sh.argStart && !(n >= LOG_ERROR && n <= LOG_DEBUG)) {
    log.line(LOG_ERROR, 'loglevel: give a level from 1 (errors only) to 4 (debug)');
    return;
  }
  const level = n >= LOG_ERROR ? n : log.level;
  log.level = LOG_DEBUG; // the answer itself always shows
  log.begin(LOG_INFO);
  log.str('log level ');
  log.dec(level);
  log.end();
  log.level = level;
}

/** ACRN's vcpu_dumpreg <vm> <vcpu>: the general registers, RIP, RSP, RFLAGS and control registers. */
function cmdVcpuDumpreg(sh: Shell): void {
  const vm = vmArgument(sh, 'vcpu_dumpreg');
  if (vm === null) return;
  const k = argNumberAt(sh, 1);
  if (!(k >= 0 && k < vm.vcpuCount)) {
    log.line(LOG_ERROR, 'vcpu_dumpreg: give a vCPU id the VM has (see vcpu_list)');
    return;
  }
  const v = vm.vcpus[k];
  const here = sh.loop === null ? null : sh.loop.sched;
  if (here === null || v.sched !== here) {
    log.line(LOG_ERROR, 'vcpu_dumpreg: only vCPUs on the shell\'s pCPU can be read (their VMCS may be active on another pCPU)');
    return;
  }
  for (let r = 0; r < 16; r++) {
    log.begin(LOG_INFO);
    log.str(GPR_NAMES[r]);
    log.char(32);
    const lo = v.gprLo(r);
    log.hex64(v.gprHi(), lo);
    log.end();
  }
  // The VMCS fields: load the vCPU's VMCS for the reads, then the one that was current.
  const previous = here.loadedVmcs;
  if (previous !== v.vmcsPa) vmptrld(v.vmcsPa);
  for (let f = 0; f < DUMP_FIELDS.length; f++) {
    log.begin(LOG_INFO);
    log.str(DUMP_NAMES[f]);
    log.char(32);
    const lo = vmread(DUMP_FIELDS[f]) >>> 0;
    log.hex64(hi() >>> 0, lo);
    log.end();
  }
  if (previous !== v.vmcsPa && previous !== 0) vmptrld(previous);
}

const GPR_NAMES = ['RAX', 'RCX', 'RDX', 'RBX', 'RSP', 'RBP', 'RSI', 'RDI', 'R8 ', 'R9 ', 'R10', 'R11', 'R12', 'R13', 'R14', 'R15'];
const DUMP_FIELDS = [GUEST_RIP, GUEST_RFLAGS, GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_IA32_EFER, GUEST_CS_SELECTOR];
const DUMP_NAMES = ['RIP', 'RFLAGS', 'CR0', 'CR3', 'CR4', 'EFER', 'CS'];

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
const COMMAND_NAMES = [
  'help', 'version', 'vm_list', 'vcpu_list', 'vcpu_dumpreg', 'pcpu_list', 'vm_console', 'loglevel',
  'vm_pause', 'vm_start', 'vm_reset', 'vm_shutdown', 'exit_stats', 'echo', 'poweroff',
];
const COMMAND_HELP = [
  'list the commands',
  'show the hypervisor version',
  'list the VMs: id, name, state, load order',
  'list the vCPUs: VM, vCPU, pCPU, state, exits',
  'vcpu_dumpreg <vm_id> <vcpu_id>: the vCPU\'s registers',
  'list the pCPUs: APIC ID, state, vCPUs, exits, idle wake-ups, kicks, EPT flushes (not an ACRN command)',
  'vm_console <vm_id>: type into that VM\'s console (vuart 0); Ctrl+Space returns',
  'loglevel [1-4]: show or set the console log level',
  'vm_pause <vm_id>: pause the VM (not an ACRN command)',
  'vm_start <vm_id>: start a created VM (not an ACRN command)',
  'vm_reset <vm_id>: reset a paused VM to created (not an ACRN command)',
  'vm_shutdown <vm_id>: power a paused VM off (not an ACRN command)',
  'VM-exit counters by reason and the TypeScript heap in use (not an ACRN command)',
  'print the rest of the line (not an ACRN command)',
  'power the machine off (not an ACRN command)',
];
const COMMAND_HANDLERS = [
  cmdHelp, cmdVersion, cmdVmList, cmdVcpuList, cmdVcpuDumpreg, cmdPcpuList, cmdVmConsole, cmdLoglevel,
  cmdVmPause, cmdVmStart, cmdVmReset, cmdVmShutdown, cmdExitStats, cmdEcho, cmdPoweroff,
];
