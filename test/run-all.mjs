// make test: every tier in order, each printing its own "N passed, N failed"
// line; ends with one summary line over all tiers. Exit status 1 on any failure.
//   1 typecheck (tsc --strict)   2 unit (vitest on the SimMachine)
//   3 native (the C memory layer, hosted)   4 conformance (Node vs native)
//   5 harness (the emulator harness's own selftest)
//   6 qemu (software emulation, no VMX)   7 bochs (VMX; two CPU models)
//   8 vmx (the VMX core running the test guests in Bochs; two CPU models)
//   9 smp (pCPU bring-up in Bochs: 2 CPUs in VMX root, VMs placed per pCPU)
// TIERS=unit,qemu make test   runs a subset.
import { spawn } from 'node:child_process';

const TIERS = [
  ['typecheck', 'node_modules/.bin/tsc', ['-p', 'tsconfig.json', '--noEmit']],
  ['unit', 'node_modules/.bin/vitest', ['run', '--reporter=default']],
  ['native', 'bash', ['test/native/run.sh']],
  ['conformance', 'node', ['test/conformance/run.mjs']],
  ['harness', 'node', ['test/qemu/selftest/selftest.mjs']],
  ['qemu', 'node', ['test/qemu/boot-qemu.mjs']],
  ['bochs', 'node', ['test/qemu/boot-bochs.mjs']],
  ['vmx', 'node', ['test/qemu/vmx-bochs.mjs']],
  ['smp', 'node', ['test/qemu/smp-bochs.mjs']],
  ['scenario', 'node', ['test/qemu/scenario-bochs.mjs']],
];
const only = process.env.TIERS ? new Set(process.env.TIERS.split(',')) : null;

function runTier(name, cmd, args) {
  return new Promise((resolve) => {
    const started = Date.now();
    let text = '';
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    const take = (chunk) => {
      const s = chunk.toString();
      text += s;
      process.stdout.write(s);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('close', (code) => resolve({ name, code, text, seconds: (Date.now() - started) / 1000 }));
  });
}

/** Count a tier's tests from its own summary line. */
function count(tier) {
  const clean = tier.text.replace(/\x1b\[[0-9;]*m/g, '');
  if (tier.name === 'typecheck') return tier.code === 0 ? [1, 0] : [0, 1];
  if (tier.name === 'unit') {
    const line = clean.split('\n').find((l) => /^\s*Tests\s/.test(l)) || '';
    const passed = Number((/(\d+) passed/.exec(line) || [])[1] || 0);
    const failed = Number((/(\d+) failed/.exec(line) || [])[1] || 0);
    return tier.code === 0 || failed ? [passed, failed] : [passed, failed + 1];
  }
  let passed = 0, failed = 0;
  for (const m of clean.matchAll(/^[\w() -]+: (\d+) passed, (\d+) failed/gm)) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  }
  // A tier that exits non-zero without a failing count still fails.
  if (tier.code !== 0 && failed === 0) failed = 1;
  if (passed + failed === 0) failed = 1;
  return [passed, failed];
}

let passed = 0, failed = 0;
const rows = [];
for (const [name, cmd, args] of TIERS) {
  if (only && !only.has(name)) continue;
  console.log(`\n=== tier: ${name} ===`);
  const tier = await runTier(name, cmd, args);
  const [p, f] = count(tier);
  passed += p;
  failed += f;
  rows.push(`  ${name.padEnd(12)} ${String(p).padStart(4)} passed ${String(f).padStart(3)} failed  ${tier.seconds.toFixed(1)} s`);
}
console.log('\n=== summary ===');
for (const r of rows) console.log(r);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
