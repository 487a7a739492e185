#!/usr/bin/env node
// selftest.mjs - prove that harness.mjs drives both emulators correctly.
//
// Builds echo.asm into a GRUB multiboot2 ISO in a temporary directory, then
// for each available emulator (QEMU, Bochs) checks:
//   pass           "hello\r" is echoed, "pass\r" -> status pass
//   fail           "fail\r" -> status fail (guest-requested, no foreign panic)
//   script-timeout a step that never matches -> status script-timeout
//   timeout        nothing is sent, timeoutS=15 -> status timeout
// and that no emulator process survives any run.
//
// usage: node test/qemu/selftest/selftest.mjs [--keep] [--only qemu|bochs]
// exit status: 0 when every case passed, 1 otherwise.
// Needs: nasm, grub-mkrescue (grub-pc-bin, xorriso, mtools), qemu-system-x86_64
// and/or bochs (+ bochsbios, vgabios, bochs-term).

import { buildIso } from './echo-iso.mjs';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bochsAvailable, qemuAvailable, runEmulator } from '../harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));



/** True if any process of the group `pgid` is still alive. */
function groupAlive(pgid) {
  if (!pgid) return false;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

const CASES = [
  {
    name: 'pass',
    timeoutS: 120,
    script: [
      { expect: 'ECHO READY\r\n', send: 'hello\r', timeoutS: 60 },
      { expect: /hello\r\n/, send: 'pass\r', timeoutS: 30 },
      { expect: 'ECHO PASS', timeoutS: 30 },
    ],
    check: (r) => [
      [r.status === 'pass', `status ${r.status}, want pass`],
      [r.serial.startsWith('ECHO READY\r\nhello\r\npass\r\nECHO PASS\r\n'),
        `serial ${JSON.stringify(r.serial)}`],
    ],
  },
  {
    name: 'fail',
    timeoutS: 120,
    script: [
      { expect: 'ECHO READY', send: 'fail\r', timeoutS: 60 },
      { expect: 'ECHO FAIL', timeoutS: 30 },
    ],
    check: (r) => [
      [r.status === 'fail', `status ${r.status}, want fail`],
      [r.failedStep === undefined, `failedStep ${r.failedStep}`],
      [r.bochsPanic === undefined, `unexpected panic ${r.bochsPanic}`],
      [/isa-debug-exit|Shutdown/.test(r.reason), `reason "${r.reason}" is not guest-requested`],
    ],
  },
  {
    name: 'script-timeout',
    timeoutS: 120,
    script: [
      { expect: 'ECHO READY', send: 'x\r', timeoutS: 60 },
      { expect: 'never printed', timeoutS: 3 },
    ],
    check: (r) => [
      [r.status === 'script-timeout', `status ${r.status}, want script-timeout`],
      [r.failedStep === 1, `failedStep ${r.failedStep}, want 1`],
    ],
  },
  {
    name: 'timeout',
    timeoutS: 15,
    script: [],
    check: (r) => [
      [r.status === 'timeout', `status ${r.status}, want timeout`],
      [r.serial.startsWith('ECHO READY'), `serial ${JSON.stringify(r.serial)}`],
      [r.wallMs >= 15000 && r.wallMs < 20000, `wall ${r.wallMs} ms, want about 15000`],
    ],
  },
];

const seconds = (ms) => (ms === null || ms === undefined ? '-' : `${(ms / 1000).toFixed(2)}s`);

async function runCase(emulator, kase, iso, workDir) {
  const logDir = path.join(workDir, `${emulator}-${kase.name}`);
  const r = await runEmulator({ emulator, iso, timeoutS: kase.timeoutS, script: kase.script, logDir });
  const problems = kase.check(r).filter(([ok]) => !ok).map(([, why]) => why);
  if (groupAlive(r.pid)) problems.push(`process group ${r.pid} survived the run`);
  return { emulator, name: kase.name, r, problems };
}

function report({ emulator, name, r, problems }) {
  const verdict = problems.length === 0 ? 'PASS' : 'FAIL';
  const line = `${verdict}  ${emulator.padEnd(5)}  ${name.padEnd(14)}  status=${r.status.padEnd(14)}`
    + `  wall=${seconds(r.wallMs).padStart(7)}  first-serial=${seconds(r.firstLineMs).padStart(6)}`
    + `  exit=${r.exitCode ?? r.signal}`;
  process.stdout.write(`${line}\n`);
  for (const p of problems) process.stdout.write(`      ${p}\n      reason: ${r.reason}\n      logs: ${r.logDir}\n`);
  return problems.length === 0;
}

async function main() {
  const { values } = parseArgs({
    options: { keep: { type: 'boolean' }, only: { type: 'string' } },
  });
  const emulators = [];
  for (const [name, available] of [['qemu', qemuAvailable()], ['bochs', bochsAvailable()]]) {
    if (values.only && values.only !== name) continue;
    if (available) emulators.push(name);
    else process.stdout.write(`SKIP  ${name.padEnd(5)}  not installed\n`);
  }

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'harness-selftest-'));
  let passed = 0;
  let failed = 0;
  try {
    const iso = buildIso(workDir);
    const tally = (ok) => { if (ok) passed += 1; else failed += 1; };
    // Cases with a verdict run one at a time so the wall times mean something;
    // the timeout cases of both emulators run side by side (which also shows
    // that concurrent runs do not interfere).
    for (const emulator of emulators) {
      for (const kase of CASES.filter((c) => c.name !== 'timeout')) {
        tally(report(await runCase(emulator, kase, iso, workDir)));
      }
    }
    const timeoutCase = CASES.find((c) => c.name === 'timeout');
    const parallel = await Promise.all(emulators.map((e) => runCase(e, timeoutCase, iso, workDir)));
    for (const outcome of parallel) tally(report(outcome));
  } finally {
    if (failed === 0 && !values.keep) fs.rmSync(workDir, { recursive: true, force: true });
    else process.stdout.write(`work directory kept: ${workDir}\n`);
  }
  if (emulators.length === 0) failed += 1;
  process.stdout.write(`harness-selftest: ${passed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (error) => {
  process.stderr.write(`harness-selftest: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
