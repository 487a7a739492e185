// make bench: figures, printed, never asserted. Each ratio is against a floor
// measured in the same run.
//   - build time: a full rebuild of the ISO from TypeScript (and each stage);
//   - ELF text/data/BSS sizes;
//   - wall time from QEMU start to the hypervisor's banner, median of 5, and the
//     same for a minimal multiboot2 kernel through the same GRUB (the floor);
//   - TypeScript heap in use after boot;
//   - in Bochs, guest-measured cycles per CPUID and VMCALL exit through the
//     TypeScript path, against a hand-written assembly handler for the same
//     exits (boot/vmexit.asm floor, hv.exit_floor=1), and the heap growth over
//     100,000 VM exits;
//   - in Bochs, the test Service VM (guests/service.asm): a null hypercall
//     against the floor's VMCALL, one User VM lifecycle, and 100,000 fuzzed
//     hypercalls with the heap growth over them.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runEmulator } from '../test/qemu/harness.mjs';
import { buildIso } from '../test/qemu/selftest/echo-iso.mjs';
import { isoWithOptions } from '../test/qemu/iso-variant.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
process.chdir(root);
const figure = (name, value, note = '') => console.log(`${name.padEnd(44)} ${String(value).padStart(14)}  ${note}`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log('=== make bench ===');
// Build: remove every product artifact, then time each stage of a full build.
for (const f of ['hv.js', 'hv.wasm', 'prog.c', 'prog.o', 'hv.elf', 'hv.iso']) fs.rmSync(path.join('build', f), { force: true });
fs.rmSync('build/native', { recursive: true, force: true });
const stages = [['esbuild bundle', 'build/hv.js'], ['porffor -> Wasm', 'build/hv.wasm'], ['wasm2c -> C', 'build/prog.c'],
  ['gcc + nasm + ld', 'build/hv.elf'], ['grub-mkrescue', 'build/hv.iso']];
let total = 0;
for (const [name, target] of stages) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('make', ['-s', target], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`build of ${target} failed`);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  total += ms;
  figure(`build: ${name}`, `${(ms / 1000).toFixed(2)} s`);
}
figure('build: total from TypeScript to ISO', `${(total / 1000).toFixed(2)} s`);
const t0 = process.hrtime.bigint();
spawnSync('make', ['-s', 'build/hv.iso'], { stdio: 'ignore' });
figure('build: incremental, nothing changed', `${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2)} s`);

const size = execFileSync('size', ['build/hv.elf'], { encoding: 'utf8' }).trim().split('\n')[1].trim().split(/\s+/);
figure('ELF text', `${size[0]} B`);
figure('ELF data', `${size[1]} B`);
figure('ELF bss', `${size[2]} B`, '(page tables, stacks, pool bitmap)');
figure('generated C (wasm2c)', `${fs.statSync('build/prog.c').size} B`);

async function bootToBanner(iso, banner) {
  const times = [];
  let serial = '';
  for (let i = 0; i < 5; i++) {
    let t = null;
    const start = Date.now();
    const r = await runEmulator({
      emulator: 'qemu', iso, timeoutS: 60, logDir: fs.mkdtempSync(path.join(os.tmpdir(), 'hv-bench-')),
      script: [{ expect: banner, send: 'pass\r' }],
      onSerial: () => {},
    });
    const at = r.serial.indexOf(typeof banner === 'string' ? banner : '');
    t = r.firstLineMs ?? Date.now() - start;
    if (at < 0 && typeof banner === 'string') throw new Error(`bench: no banner from ${iso}: ${r.reason}`);
    times.push(t);
    serial = r.serial;
  }
  return { ms: median(times), serial };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hv-bench-floor-'));
const floor = await bootToBanner(buildIso(work), 'ECHO READY');
const hv = await bootToBanner('build/hv.iso', 'ACRN-TS hypervisor');
figure('QEMU start -> minimal kernel first byte (floor)', `${floor.ms} ms`, 'median of 5');
figure('QEMU start -> hypervisor banner', `${hv.ms} ms`, `median of 5, ${(hv.ms / floor.ms).toFixed(2)}x the floor`);
const heap = /TypeScript heap in use after boot: (\d+) bytes/.exec(hv.serial);
figure('TypeScript heap in use after boot', heap ? `${heap[1]} B` : 'not reported');
fs.rmSync(work, { recursive: true, force: true });

// ---- VM exits in Bochs --------------------------------------------------------
spawnSync('make', ['-s', 'guests'], { stdio: 'ignore' });
async function benchGuest(options) {
  const iso = isoWithOptions(`bench${options ? '-floor' : ''}`, options, [['guests/bench.bin', 'guest=long64 name=bench']]);
  const r = await runEmulator({
    emulator: 'bochs', iso, timeoutS: 600, logDir: fs.mkdtempSync(path.join(os.tmpdir(), 'hv-bench-bochs-')),
    script: [{ expect: /\[bench\] DONE bench/, send: 'poweroff\r', timeoutS: 600 }],
  });
  const out = {};
  for (const m of r.serial.matchAll(/\[bench\] bench (\S+) (\d+)/g)) out[m[1]] = Number(m[2]);
  return out;
}
const ts = await benchGuest('');
const floorRun = await benchGuest('hv.exit_floor=1');
const perExit = (run, name) => (run[name] ?? NaN) - (run.nop ?? 0);
figure('Bochs: loop without exits (nop)', `${ts.nop} TSC/iter`);
for (const name of ['cpuid', 'vmcall']) {
  const full = perExit(ts, name), asm = perExit(floorRun, name);
  figure(`Bochs: ${name} exit, TypeScript path`, `${full} TSC`, name === 'vmcall' ? '(non-Service VM: includes #UD delivery)' : '');
  figure(`Bochs: ${name} exit, assembly floor`, `${asm} TSC`, `TypeScript path = ${(full / asm).toFixed(1)}x the floor`);
}
figure('Bochs: I/O exit (IN, test control port)', `${perExit(ts, 'io-in')} TSC`);
figure('Bochs: MMIO exit (MOV load from the test device)', `${perExit(ts, 'mmio-load')} TSC`, `${(perExit(ts, 'mmio-load') / perExit(ts, 'io-in')).toFixed(1)}x the I/O exit`);
{
  const iso = isoWithOptions('vmx-exitloop', '', [['guests/exitloop.bin', 'guest=long64 name=exitloop']]);
  const r = await runEmulator({
    emulator: 'bochs', iso, timeoutS: 900, logDir: fs.mkdtempSync(path.join(os.tmpdir(), 'hv-bench-bochs-')),
    script: [{ expect: /\[exitloop\] DONE exitloop/, send: 'poweroff\r', timeoutS: 900 }],
  });
  const m = /heap growth over (\d+) VM exits: (-?\d+) bytes/.exec(r.serial);
  figure('TypeScript heap growth over VM exits', m ? `${m[2]} B` : 'not reported', m ? `over ${m[1]} exits` : r.reason);
}

// ---- hypercalls (issue 8): the test Service VM of test/qemu/scenarios/service-dm-1cpu.ts ----
{
  fs.mkdirSync('build/scenarios', { recursive: true });
  execFileSync('node', ['tools/scenario.mjs', 'test/qemu/scenarios/service-dm-1cpu.ts', '-o', 'build/scenarios/service-dm-1cpu.bin'], { stdio: 'pipe' });
  const modules = [['scenarios/service-dm-1cpu.bin', 'scenario'], ['guests/service.bin', 'Linux_bzImage'], ['guests/user.bin', 'uservm']];
  const serviceVm = (options, command, until, timeoutS) => runEmulator({
    emulator: 'bochs', iso: isoWithOptions(`bench-dm${options ? '-floor' : ''}`, options, modules), cpus: 1, memMiB: 1024, timeoutS,
    logDir: fs.mkdtempSync(path.join(os.tmpdir(), 'hv-bench-bochs-')),
    script: [
      { expect: /\[service\] command line: [^\n]*\n/, send: 'exit_stats\r', timeoutS: 300 },
      { expect: /heap in use: \d+ bytes/, send: 'vm_console 0\r', timeoutS: 60 },
      { expect: /entering the console of vm0/, send: command, timeoutS: 60 },
      { expect: until, send: '\u0000', timeoutS },
      { expect: /back in the hypervisor shell[\s\S]*ACRN:\\>/, send: 'exit_stats\r', timeoutS: 60 },
      { expect: /heap in use: \d+ bytes[\s\S]*ACRN:\\>/, send: 'poweroff\r', timeoutS: 60 },
    ],
  });
  const heapGrowth = (serial) => {
    const h = [...serial.matchAll(/TypeScript heap in use: (\d+) bytes/g)].map((m) => Number(m[1]));
    return h.length === 2 ? h[1] - h[0] : NaN;
  };
  const full = await serviceVm('', 'b', /bench done|dm: FAIL/, 900);
  const floor = await serviceVm('hv.exit_floor=1', 'n', /bench hypercall \d+/, 300);
  const nullTs = Number(/bench hypercall (\d+)/.exec(full.serial)?.[1] ?? NaN);
  const nullAsm = Number(/bench hypercall (\d+)/.exec(floor.serial)?.[1] ?? NaN);
  figure('Bochs: null hypercall (GET_API_VERSION)', `${nullTs} TSC`, `= ${(nullTs / nullAsm).toFixed(1)}x the assembly floor's VMCALL (${nullAsm} TSC)`);
  const cycle = /bench lifecycle (\d+)/.exec(full.serial)?.[1];
  figure('Bochs: User VM lifecycle', cycle ? `${cycle} TSC` : 'not reported',
    'create, ioreq, regions, start, pause, reset, start, pause, destroy (both starts wait until the User VM runs)');
  const dmRead = Number(/bench dm read (\d+)/.exec(full.serial)?.[1] ?? NaN);
  figure('Bochs: DM-served port read (issue 9)', Number.isFinite(dmRead) ? `${dmRead} TSC` : 'not reported',
    `User VM IN -> I/O request -> upcall -> DM -> NOTIFY_REQUEST_FINISH -> resume; = ${(dmRead / nullTs).toFixed(1)}x the null hypercall`);
  figure('TypeScript heap growth over the hypercall bench', `${heapGrowth(full.serial)} B`);
  const fuzz = await serviceVm('', 'F', /fuzz: \d+ hypercalls[^\n]*\n|FAIL/, 1800);
  const f = /fuzz: (\d+) hypercalls, (\d+) returned 0, (\d+) refused/.exec(fuzz.serial);
  figure('fuzzed hypercalls from the Service VM', f ? f[1] : 'not reported', f ? `${f[2]} returned 0, ${f[3]} refused; ${fuzz.status}` : fuzz.reason);
  figure('TypeScript heap growth over the fuzzing', `${heapGrowth(fuzz.serial)} B`);
}
