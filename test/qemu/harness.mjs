// harness.mjs - run a bootable ISO headless in QEMU or Bochs, talk to the
// guest over COM1 and turn the way the emulator stopped into a verdict.
//
// The guest reports its result by stopping the emulator (see README.md):
//   QEMU  isa-debug-exit at port 0xf4: value 0 -> exit status 1 = pass,
//         any other value v -> status (v << 1) | 1 = fail.
//   Bochs iodebug "return to debugger prompt" (port 0x8A00: 0x8A00, 0x8AE0)
//         -> the rc file's 'q' -> exit status 0 = pass; "Shutdown" written to
//         port 0x8900 -> panic -> exit status 1 = fail.
// COM1 is a TCP connection on 127.0.0.1 in both emulators: the harness listens
// on an ephemeral port first and the emulator connects to it as a client, so
// there is no port-picking or startup race.
//
// Only Node built-ins; ESM; Node >= 20.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BOCHSRC_TEMPLATE = path.join(HERE, 'bochsrc.template');

const DEFAULT_BOCHS_CPU = 'corei7_skylake_x';
const DEFAULT_QEMU_CPU = 'qemu64';
const DEFAULT_BOCHS_IPS = 50_000_000;
const QEMU_DEBUG_EXIT = 'isa-debug-exit,iobase=0xf4,iosize=0x04';

/** How long to wait after the emulator exits for the serial socket to drain. */
const SERIAL_DRAIN_MS = 1000;

/** Files the harness writes into logDir (removed at the start of a run). */
const LOG_FILES = [
  'serial.txt', 'stdout.txt', 'stderr.txt', 'command.txt', 'result.json',
  'bochsrc', 'cont.rc', 'bochs.log', 'guest.iso',
];

// ---------------------------------------------------------------------------
// Tool discovery

function findOnPath(name) {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

const bochsBinary = () => process.env.BOCHS ?? 'bochs';
const qemuBinary = () => process.env.QEMU ?? 'qemu-system-x86_64';

/** True when a `bochs` executable (or $BOCHS) is on PATH. */
export function bochsAvailable() {
  return findOnPath(bochsBinary()) !== null;
}

/** True when a `qemu-system-x86_64` executable (or $QEMU) is on PATH. */
export function qemuAvailable() {
  return findOnPath(qemuBinary()) !== null;
}

/**
 * True when QEMU could run this hypervisor under KVM: /dev/kvm is usable,
 * kvm_intel has nested virtualisation on, and the host CPU has VMX.
 */
export function kvmNestedVmxAvailable() {
  try {
    fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
    const nested = fs.readFileSync('/sys/module/kvm_intel/parameters/nested', 'utf8').trim();
    if (nested !== 'Y' && nested !== '1') return false;
    const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
    return /^flags\s*:.*\bvmx\b/m.test(cpuinfo);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Process groups: every emulator runs in its own group and is killed as a
// group with SIGKILL (the Bochs term plugin ignores SIGTERM). Groups still
// alive when the parent is interrupted or exits are killed too.

const liveGroups = new Map();   // pid (= pgid) -> promise settled when the leader is reaped
const FATAL_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const REAP_GRACE_MS = 1000;

function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone.
  }
}

function killAllGroups() {
  for (const pid of liveGroups.keys()) killGroup(pid);
}

async function onFatalSignal(signal) {
  untrackGroupHandlers();
  const reaped = [...liveGroups.values()];
  killAllGroups();
  liveGroups.clear();
  // Let Node reap the killed emulators so no zombie outlives this process.
  await Promise.race([Promise.all(reaped), new Promise((r) => setTimeout(r, REAP_GRACE_MS))]);
  // Re-raise so the default action (or the program's own handler) runs.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function trackGroup(pid, reaped) {
  if (liveGroups.size === 0) {
    for (const s of FATAL_SIGNALS) process.on(s, onFatalSignal);
    process.on('exit', killAllGroups);
  }
  liveGroups.set(pid, reaped);
}

function untrackGroup(pid) {
  killGroup(pid);
  if (liveGroups.delete(pid) && liveGroups.size === 0) untrackGroupHandlers();
}

function untrackGroupHandlers() {
  for (const s of FATAL_SIGNALS) process.off(s, onFatalSignal);
  process.off('exit', killAllGroups);
}

// ---------------------------------------------------------------------------
// Serial conversation

/**
 * Holds everything the guest sent on COM1 and walks the script: each step
 * waits until the output after the previous step's match matches `expect`,
 * then writes `send` to the guest.
 *
 * Output can arrive a few bytes at a time (Bochs sends one TCP segment per
 * character), so matching is batched: at most one scan per MATCH_BATCH_MS,
 * and a string pattern is only searched in text it has not seen yet.
 */
const MATCH_BATCH_MS = 5;

class Conversation {
  constructor(steps, onStepTimeout) {
    this.steps = steps.map((step, index) => normalizeStep(step, index));
    this.onStepTimeout = onStepTimeout;
    this.text = '';        // latin1: one char per byte
    this.cursor = 0;       // where the current step starts looking
    this.scanned = 0;      // text already searched for the current string step
    this.index = 0;        // current step
    this.socket = null;
    this.pending = [];     // bytes to send before the socket is connected
    this.stepTimer = null;
    this.batchTimer = null;
    this.stopped = false;
  }

  get done() {
    return this.index >= this.steps.length;
  }

  start() {
    this.armStepTimer();
    this.advance();
  }

  attach(socket) {
    this.socket = socket;
    for (const bytes of this.pending) socket.write(bytes);
    this.pending = [];
  }

  feed(chunk) {
    this.text += chunk.toString('latin1');
    if (this.batchTimer === null && !this.stopped) {
      this.batchTimer = setTimeout(() => {
        this.batchTimer = null;
        this.advance();
      }, MATCH_BATCH_MS);
    }
  }

  /** Match what has arrived so far, then stop all timers. */
  finish() {
    this.advance();
    this.stop();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.stepTimer);
    clearTimeout(this.batchTimer);
    this.batchTimer = null;
  }

  advance() {
    while (!this.stopped && !this.done) {
      const step = this.steps[this.index];
      let from = this.cursor;
      if (typeof step.expect === 'string' && step.expect.length > 0) {
        from = Math.max(from, this.scanned - step.expect.length + 1);
        this.scanned = this.text.length;
      }
      const end = matchEnd(step.expect, this.text, from);
      if (end < 0) return;
      this.cursor = end;
      this.scanned = end;
      if (step.send !== undefined) this.write(Buffer.from(step.send, 'latin1'));
      this.index += 1;
      this.armStepTimer();
    }
  }

  write(bytes) {
    if (bytes.length === 0) return;
    if (this.socket && !this.socket.destroyed) this.socket.write(bytes);
    else if (!this.socket) this.pending.push(bytes);
  }

  armStepTimer() {
    clearTimeout(this.stepTimer);
    this.stepTimer = null;
    if (this.stopped || this.done) return;
    const { timeoutS } = this.steps[this.index];
    if (timeoutS === undefined) return;
    const index = this.index;
    this.stepTimer = setTimeout(() => {
      this.advance();       // a match may be waiting in the current batch
      if (!this.stopped && this.index === index) this.onStepTimeout(index);
    }, timeoutS * 1000);
  }
}

function normalizeStep(step, index) {
  if (step === null || typeof step !== 'object') {
    throw new TypeError(`script[${index}]: expected an object`);
  }
  const { expect, send, timeoutS } = step;
  let pattern;
  if (typeof expect === 'string') {
    pattern = expect;
  } else if (expect instanceof RegExp) {
    // Matching is anchored by the cursor, not by lastIndex: drop g and y.
    pattern = new RegExp(expect.source, expect.flags.replace(/[gy]/g, ''));
  } else {
    throw new TypeError(`script[${index}].expect: expected a RegExp or a string`);
  }
  if (send !== undefined && typeof send !== 'string') {
    throw new TypeError(`script[${index}].send: expected a string`);
  }
  if (timeoutS !== undefined && !(typeof timeoutS === 'number' && timeoutS > 0)) {
    throw new TypeError(`script[${index}].timeoutS: expected a positive number`);
  }
  return { expect: pattern, send, timeoutS };
}

/** End offset (in text) of the first match at or after `from`, or -1. */
function matchEnd(pattern, text, from) {
  const rest = text.slice(from);
  if (typeof pattern === 'string') {
    const at = rest.indexOf(pattern);
    return at < 0 ? -1 : from + at + pattern.length;
  }
  const m = pattern.exec(rest);
  return m ? from + m.index + m[0].length : -1;
}

function describeExpect(pattern) {
  return typeof pattern === 'string' ? JSON.stringify(pattern) : String(pattern);
}

// ---------------------------------------------------------------------------
// Emulator command lines

function qemuCommand(o, port) {
  const args = [
    '-display', 'none',
    '-no-reboot',
    '-monitor', 'none',
    '-parallel', 'none',
    '-nic', 'none',
    '-m', String(o.memMiB),
    '-smp', String(o.cpus),
    '-cpu', o.cpuModel ?? DEFAULT_QEMU_CPU,
    '-device', QEMU_DEBUG_EXIT,
    '-chardev', `socket,id=com1,host=127.0.0.1,port=${port},server=off,nodelay=on`,
    '-serial', 'chardev:com1',
    '-boot', 'd',
    '-cdrom', 'guest.iso',
    ...o.extraArgs,
  ];
  return { file: qemuBinary(), args, env: process.env };
}

function bochsCommand(o, port) {
  const values = {
    MEM_MIB: o.memMiB,
    CPU_MODEL: o.cpuModel ?? DEFAULT_BOCHS_CPU,
    CPUS: o.cpus,
    IPS: o.ips,
    ISO: 'guest.iso',
    COM1_DEV: `127.0.0.1:${port}`,
    LOG: 'bochs.log',
  };
  const template = fs.readFileSync(BOCHSRC_TEMPLATE, 'utf8');
  const rc = template.split('\n').map((line) => (line.startsWith('#') ? line
    : line.replace(/@([A-Z0-9_]+)@/g, (whole, name) => {
      if (!(name in values)) throw new Error(`bochsrc.template: unknown placeholder ${whole}`);
      return String(values[name]);
    }))).join('\n');
  fs.writeFileSync(path.join(o.logDir, 'bochsrc'), rc);
  // Debian's Bochs is a debugger build: it stops at the debugger prompt before
  // the first instruction. 'c' runs the guest; when the guest returns to the
  // prompt (iodebug 0x8AE0), 'q' quits with exit status 0.
  fs.writeFileSync(path.join(o.logDir, 'cont.rc'), 'c\nq\n');
  const args = ['-q', '-f', 'bochsrc', '-rc', 'cont.rc'];
  return { file: bochsBinary(), args, env: { ...process.env, TERM: 'xterm' } };
}

/**
 * Run the emulator under `setpriv --pdeathsig KILL` when util-linux has it:
 * the kernel then kills the emulator if this Node process dies in a way no
 * handler sees (SIGKILL, crash). Both /usr/bin/bochs (a wrapper script) and
 * setpriv exec their successor, so the setting reaches the emulator.
 */
function withParentDeathSignal(cmd) {
  const setpriv = findOnPath('setpriv');
  if (!setpriv) return cmd;
  return { ...cmd, file: setpriv, args: ['--pdeathsig', 'KILL', '--', cmd.file, ...cmd.args] };
}

function shellQuote(word) {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------
// Verdicts

const BOCHS_SHUTDOWN_PANIC = /Shutdown port: shutdown requested/;
// Printed by the iodebug device when the guest writes 0x8AE0 to port 0x8A00.
const BOCHS_IODEBUG_RETURN = /request return to dbg prompt received/;
// QEMU reports its own errors as "qemu-system-x86_64: <message>" and then
// exits with status 1, the same status as isa-debug-exit with value 0.
const QEMU_ERROR_LINE = /^qemu-system-[^:\s]*: (?!warning:)/;

function qemuVerdict(exitCode, signal, logDir, connected) {
  if (!connected && !signal) {
    return { pass: false, reason: `QEMU stopped before connecting COM1 (exit status ${exitCode})${stderrTail(logDir)}` };
  }
  const error = readLines(path.join(logDir, 'stderr.txt')).find((l) => QEMU_ERROR_LINE.test(l));
  if (exitCode === 1 && !error) return { pass: true, reason: 'guest wrote 0 to isa-debug-exit' };
  if (error) return { pass: false, reason: `QEMU error (exit status ${exitCode ?? signal}): ${error.trim()}` };
  if (exitCode !== null && exitCode > 1 && (exitCode & 1) === 1) {
    return { pass: false, reason: `guest wrote ${exitCode >> 1} to isa-debug-exit` };
  }
  if (exitCode === 0) {
    return { pass: false, reason: 'QEMU exited with status 0 (guest reset or powered off; not isa-debug-exit)' };
  }
  if (signal) return { pass: false, reason: `QEMU killed by ${signal}` };
  return { pass: false, reason: `QEMU exited with status ${exitCode}${stderrTail(logDir)}` };
}

function bochsVerdict(exitCode, signal, logDir, connected) {
  // Panics before the log file is open (e.g. bochsrc errors) go to stderr.
  const messages = ['bochs.log', 'stderr.txt', 'stdout.txt']
    .flatMap((name) => readLines(path.join(logDir, name)));
  const panics = messages.filter((l) => l.includes('>>PANIC<<'));
  const foreign = panics.find((l) => !BOCHS_SHUTDOWN_PANIC.test(l));
  if (foreign) return { pass: false, reason: `Bochs panic: ${foreign.trim()}`, bochsPanic: foreign.trim() };
  if (panics.length > 0) return { pass: false, reason: 'guest wrote "Shutdown" to port 0x8900' };
  if (!connected && !signal) {
    return { pass: false, reason: `Bochs stopped before connecting COM1 (exit status ${exitCode})${stderrTail(logDir)}` };
  }
  if (exitCode === 0) {
    if (messages.some((l) => BOCHS_IODEBUG_RETURN.test(l))) {
      return { pass: true, reason: 'guest returned to the debugger via iodebug 0x8AE0' };
    }
    return { pass: false, reason: 'Bochs exited with status 0 without an iodebug 0x8AE0 request' };
  }
  if (signal) return { pass: false, reason: `Bochs killed by ${signal}` };
  return { pass: false, reason: `Bochs exited with status ${exitCode}${stderrTail(logDir)}` };
}

function readText(file) {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return '';
  }
}

function readLines(file) {
  return readText(file).split('\n');
}

/** ": <last non-empty line of stderr.txt>", or "" when there is none. */
function stderrTail(logDir) {
  const last = readLines(path.join(logDir, 'stderr.txt')).map((l) => l.trim()).filter(Boolean).pop();
  return last ? `: ${last}` : '';
}

// ---------------------------------------------------------------------------
// runEmulator

function listenLoopback() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.maxConnections = 1;
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve(server));
  });
}

function normalizeOptions(opts) {
  const o = {
    cpus: 1,
    memMiB: 512,
    timeoutS: 120,
    script: [],
    extraArgs: [],
    ips: DEFAULT_BOCHS_IPS,
    // An option given as undefined takes its default.
    ...Object.fromEntries(Object.entries(opts ?? {}).filter(([, v]) => v !== undefined)),
  };
  if (o.emulator !== 'qemu' && o.emulator !== 'bochs') {
    throw new TypeError(`emulator: expected 'qemu' or 'bochs', got ${JSON.stringify(o.emulator)}`);
  }
  if (typeof o.iso !== 'string' || !fs.existsSync(o.iso)) {
    throw new Error(`iso: file not found: ${o.iso}`);
  }
  for (const key of ['cpus', 'memMiB', 'ips']) {
    if (!(Number.isInteger(o[key]) && o[key] > 0)) {
      throw new TypeError(`${key}: expected a positive integer, got ${o[key]}`);
    }
  }
  if (!(typeof o.timeoutS === 'number' && o.timeoutS > 0)) {
    throw new TypeError(`timeoutS: expected a positive number, got ${o.timeoutS}`);
  }
  if (!Array.isArray(o.script)) throw new TypeError('script: expected an array');
  if (!Array.isArray(o.extraArgs)) throw new TypeError('extraArgs: expected an array');
  if (o.extraArgs.length > 0 && o.emulator !== 'qemu') {
    throw new TypeError('extraArgs: only supported for qemu');
  }
  o.iso = fs.realpathSync(o.iso);
  const binary = o.emulator === 'qemu' ? qemuBinary() : bochsBinary();
  if (!findOnPath(binary)) {
    throw new Error(`${o.emulator}: ${binary} not found (install it or set $${o.emulator.toUpperCase()})`);
  }
  o.logDir = path.resolve(o.logDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `hv-${o.emulator}-`)));
  return o;
}

/**
 * Boot `iso` in QEMU or Bochs, hold the serial conversation in `script`, and
 * report how the guest stopped the emulator.
 *
 * @param {object} opts
 * @param {'qemu'|'bochs'} opts.emulator
 * @param {string} opts.iso           bootable ISO (El Torito, e.g. grub-mkrescue)
 * @param {string} [opts.cpuModel]    bochs: cpu model (default corei7_skylake_x); qemu: -cpu (default qemu64)
 * @param {number} [opts.cpus=1]      bochs cpu count / qemu -smp
 * @param {number} [opts.memMiB=512]
 * @param {number} [opts.timeoutS=120] wall-clock limit; then the process group gets SIGKILL
 * @param {Array<{expect: RegExp|string, send?: string, timeoutS?: number}>} [opts.script]
 * @param {string} [opts.logDir]      keeps serial.txt, stdout.txt, stderr.txt, command.txt,
 *                                    result.json (+ bochsrc, cont.rc, bochs.log); default: a new temp dir
 * @param {string[]} [opts.extraArgs] extra QEMU arguments
 * @param {number} [opts.ips=50e6]    Bochs instructions per emulated second
 * @param {(chunk: string) => void} [opts.onSerial] called with each piece of serial output
 * @param {(write: (bytes: Buffer) => void) => void} [opts.onConnect] called once COM1 is
 *   connected, with a function that sends bytes to the guest (interactive use: make run)
 * @returns {Promise<{status: 'pass'|'fail'|'timeout'|'script-timeout', exitCode: number|null,
 *   signal: string|null, serial: string, wallMs: number, firstLineMs: number|null,
 *   failedStep?: number, reason: string, bochsPanic?: string, logDir: string,
 *   pid: number|null}>}  pid is also the process group id (the group is gone on return)
 */
export async function runEmulator(opts) {
  const o = normalizeOptions(opts);
  fs.mkdirSync(o.logDir, { recursive: true });
  for (const name of LOG_FILES) fs.rmSync(path.join(o.logDir, name), { force: true });
  // The emulators run in logDir and see the ISO as guest.iso, so paths with
  // commas or spaces cannot break their option parsers.
  try {
    fs.symlinkSync(o.iso, path.join(o.logDir, 'guest.iso'));
  } catch {
    fs.copyFileSync(o.iso, path.join(o.logDir, 'guest.iso'));
  }

  const server = await listenLoopback();
  const serialFd = fs.openSync(path.join(o.logDir, 'serial.txt'), 'w');
  const stdoutFd = fs.openSync(path.join(o.logDir, 'stdout.txt'), 'w');
  const stderrFd = fs.openSync(path.join(o.logDir, 'stderr.txt'), 'w');

  let child = null;
  let socket = null;
  let startNs = 0n;
  let firstByteNs = null;
  let timedOut = false;
  let scriptTimeoutStep = null;
  let globalTimer = null;
  const sinceStartMs = (ns) => Number((ns - startNs) / 1_000_000n);

  const conversation = new Conversation(o.script, (index) => {
    scriptTimeoutStep = index;
    if (child?.pid) killGroup(child.pid);
  });

  try {
    const { port } = server.address();
    const bare = o.emulator === 'qemu' ? qemuCommand(o, port) : bochsCommand(o, port);
    fs.writeFileSync(path.join(o.logDir, 'command.txt'),
      `cd ${shellQuote(o.logDir)} && ${[bare.file, ...bare.args].map(shellQuote).join(' ')}\n`);
    const cmd = withParentDeathSignal(bare);

    const socketClosed = new Promise((resolve) => {
      server.once('connection', (s) => {
        server.close();              // one client only; the connection stays open
        socket = s;
        s.on('data', (chunk) => {
          firstByteNs ??= process.hrtime.bigint();
          fs.writeSync(serialFd, chunk);
          conversation.feed(chunk);
          o.onSerial?.(chunk.toString('latin1'));
        });
        s.on('error', () => {});     // EPIPE/ECONNRESET when the emulator dies
        s.on('close', resolve);
        conversation.attach(s);
        o.onConnect?.((bytes) => conversation.write(bytes));
      });
    });

    startNs = process.hrtime.bigint();
    child = spawn(cmd.file, cmd.args, {
      cwd: o.logDir,
      env: cmd.env,
      stdio: ['ignore', stdoutFd, stderrFd],
      detached: true,                // own process group, killed as a whole
    });
    const exited = new Promise((resolve) => {
      child.once('error', (error) => resolve({ error, exitCode: null, signal: null }));
      child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    });
    if (child.pid) trackGroup(child.pid, exited);
    globalTimer = setTimeout(() => {
      timedOut = true;
      if (child.pid) killGroup(child.pid);
    }, o.timeoutS * 1000);
    conversation.start();

    const { error, exitCode, signal } = await exited;
    const endNs = process.hrtime.bigint();
    clearTimeout(globalTimer);
    if (child.pid) untrackGroup(child.pid);   // SIGKILL any leftover in the group
    if (socket) {
      // The emulator is gone, so the peer side is closed; collect what is in flight.
      await Promise.race([socketClosed, new Promise((r) => setTimeout(r, SERIAL_DRAIN_MS))]);
    }
    conversation.finish();

    const result = {
      status: 'fail',
      exitCode,
      signal: signal ?? null,
      serial: conversation.text,
      wallMs: sinceStartMs(endNs),
      firstLineMs: firstByteNs === null ? null : sinceStartMs(firstByteNs),
      reason: '',
      logDir: o.logDir,
      pid: child.pid ?? null,
    };
    if (error) {
      result.reason = `cannot start ${bare.file}: ${error.message}`;
    } else if (timedOut) {
      result.status = 'timeout';
      result.reason = `no verdict within ${o.timeoutS} s; killed`;
      if (!conversation.done) result.failedStep = conversation.index;
    } else if (scriptTimeoutStep !== null) {
      const step = conversation.steps[scriptTimeoutStep];
      result.status = 'script-timeout';
      result.failedStep = scriptTimeoutStep;
      result.reason = `script step ${scriptTimeoutStep}: ${describeExpect(step.expect)} not seen within ${step.timeoutS} s; killed`;
    } else {
      const verdict = o.emulator === 'qemu'
        ? qemuVerdict(exitCode, signal, o.logDir, socket !== null)
        : bochsVerdict(exitCode, signal, o.logDir, socket !== null);
      result.reason = verdict.reason;
      if (verdict.bochsPanic) result.bochsPanic = verdict.bochsPanic;
      if (!conversation.done) {
        const step = conversation.steps[conversation.index];
        result.failedStep = conversation.index;
        result.reason = `script step ${conversation.index}: ${describeExpect(step.expect)} not seen before the emulator stopped (${verdict.reason})`;
      } else if (verdict.pass) {
        result.status = 'pass';
      }
    }
    const { serial, ...summary } = result;
    fs.writeFileSync(path.join(o.logDir, 'result.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return result;
  } finally {
    clearTimeout(globalTimer);
    conversation.stop();
    if (child?.pid) untrackGroup(child.pid);
    socket?.destroy();
    server.close();
    for (const fd of [serialFd, stdoutFd, stderrFd]) fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------
// Command line: node test/qemu/harness.mjs <qemu|bochs> <iso> [options]

async function main(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      cpu: { type: 'string' },
      cpus: { type: 'string' },
      mem: { type: 'string' },
      timeout: { type: 'string' },
      'log-dir': { type: 'string' },
      expect: { type: 'string', multiple: true },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length !== 2) {
    process.stderr.write(
      'usage: node harness.mjs <qemu|bochs> <iso> [--cpu MODEL] [--cpus N] [--mem MiB]\n'
      + '                        [--timeout S] [--log-dir DIR] [--expect REGEX]... [-q]\n'
      + 'Streams COM1 to stdout; exit status 0 = pass, 1 = fail, 2 = timeout.\n');
    return values.help ? 0 : 64;
  }
  const num = (v) => (v === undefined ? undefined : Number(v));
  const result = await runEmulator({
    emulator: positionals[0],
    iso: positionals[1],
    cpuModel: values.cpu,
    cpus: num(values.cpus),
    memMiB: num(values.mem),
    timeoutS: num(values.timeout),
    logDir: values['log-dir'],
    script: (values.expect ?? []).map((re) => ({ expect: new RegExp(re) })),
    onSerial: values.quiet ? undefined : (text) => process.stdout.write(text),
  });
  process.stdout.write(`\n${result.status}: ${result.reason} (${(result.wallMs / 1000).toFixed(2)} s; logs in ${result.logDir})\n`);
  if (result.status === 'pass') return 0;
  return result.status === 'fail' ? 1 : 2;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 70;
  });
}
