// The conformance tier: every program in this folder runs twice, under Node
// (with a SimMachine) and as a hosted executable built by the product's native
// pipeline (tools/build-host.sh), and the two outputs must be identical byte
// for byte. An output that reports a MISMATCH against its expected vectors, or
// any heap growth, fails too, even when both sides agree.
//
// usage: node test/conformance/run.mjs [program.ts ...]
// Ends with "conformance: N passed, N failed"; exit status 1 on failure.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '../..');
const out = path.join(root, 'build', 'conformance');
const CMDLINE = 'hv.elf hv.selftest=ud quiet loglevel=4';
const NOT_PROGRAMS = new Set(['lib.ts', 'node-setup.ts']);

const programs = process.argv.length > 2
  ? process.argv.slice(2).map((p) => path.resolve(p))
  : fs.readdirSync(here).filter((f) => f.endsWith('.ts') && !NOT_PROGRAMS.has(f)).sort().map((f) => path.join(here, f));

async function nodeOutput(program, dir) {
  const bundle = path.join(dir, 'node.mjs');
  await run(path.join(root, 'node_modules/.bin/esbuild'), [program, '--bundle', '--format=esm', '--platform=node',
    '--define:__NATIVE__=false', `--inject:${path.join(here, 'node-setup.ts')}`, `--outfile=${bundle}`, '--log-level=error']);
  const { stdout } = await run(process.execPath, [bundle], { env: { ...process.env, CONFORMANCE_CMDLINE: CMDLINE }, maxBuffer: 1 << 26, encoding: 'latin1' });
  return stdout;
}

async function nativeOutput(program, dir) {
  await run('sh', [path.join(root, 'tools/build-host.sh'), program, dir], { maxBuffer: 1 << 26 });
  const { stdout } = await run(path.join(dir, 'prog'), [CMDLINE], { maxBuffer: 1 << 26, encoding: 'latin1', timeout: 120000 });
  return stdout;
}

function firstDifference(a, b) {
  const la = a.split('\n'), lb = b.split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return `line ${i + 1}:\n    node:   ${JSON.stringify(la[i] ?? '<end>')}\n    native: ${JSON.stringify(lb[i] ?? '<end>')}`;
  }
  return 'outputs differ';
}

async function check(program) {
  const name = path.basename(program, '.ts');
  const dir = path.join(out, name);
  fs.mkdirSync(dir, { recursive: true });
  let node, native;
  try {
    [node, native] = await Promise.all([nodeOutput(program, dir), nativeOutput(program, dir)]);
  } catch (e) {
    return { name, ok: false, why: `did not build or run: ${(e.stderr || e.message || '').toString().trim().split('\n').slice(-5).join('\n    ')}` };
  }
  fs.writeFileSync(path.join(dir, 'node.out'), node, 'latin1');
  fs.writeFileSync(path.join(dir, 'native.out'), native, 'latin1');
  if (node.length === 0) return { name, ok: false, why: 'printed nothing' };
  if (node !== native) return { name, ok: false, why: firstDifference(node, native) };
  const bad = node.split('\n').filter((l) => /MISMATCH/.test(l) || /^heap growth in .*: (?!0\r?$)/.test(l));
  if (bad.length) return { name, ok: false, why: `both sides agree, but:\n    ${bad.slice(0, 5).join('\n    ')}` };
  const cases = node.split('\n').filter((l) => /: ok\r?$/.test(l)).length;
  return { name, ok: true, why: `${cases} checks, ${node.length} bytes identical` };
}

let passed = 0, failed = 0;
const queue = [...programs];
const workers = Array.from({ length: Math.max(1, Math.min(os.cpus().length, 2)) }, async () => {
  while (queue.length) {
    const r = await check(queue.shift());
    if (r.ok) passed++; else failed++;
    console.log(`${r.ok ? 'PASS' : 'FAIL'}  conformance ${r.name}: ${r.why}`);
  }
});
await Promise.all(workers);
console.log(`conformance: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
