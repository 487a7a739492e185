// Bochs tier for pCPU bring-up (issue 5): every pCPU in VMX root operation.
//  - two-pcpus: a 2-CPU machine reports 2 CPUs from the MADT and a
//    calibrated TSC frequency; both CPUs enter VMX root operation; two VMs
//    placed with pcpu=0 and pcpu=1 both finish while the boot CPU keeps the
//    shell; vm_list, vcpu_list, pcpu_list and exit_stats answer, the per-VM
//    exit counts add up to the total, and poweroff ends the run;
//  - same-pcpu: the same two VMs both on pCPU 0 of a 2-CPU machine;
//  - offline-pcpu: pcpu=5 on a 2-CPU machine is refused with a clear error,
//    the other VM runs;
//  - vmcalls: two VMs on two pCPUs make 2000 VMCALLs each concurrently; the
//    VMCALL count, the per-reason counts and the per-vCPU counts add up;
//  - one-cpu: a 1-CPU machine boots and runs a VM exactly as before;
//  - vm-across-pcpus: one VM with its BSP on pCPU 0 and its AP on pCPU 1
//    (guests/lapic.asm): INIT-SIPI-SIPI, IPIs both ways, timers and an INIT
//    reset all cross pCPUs (remote wakes kick the other pCPU).
// corei7_skylake_x only (the VMX tier covers the second model).
import path from 'node:path';
import { runEmulator } from './harness.mjs';
import { isoWithOptions } from './iso-variant.mjs';
import { CaseFailure, expect, ROOT, runCases } from './cases.mjs';
import { LAPIC, matchInOrder } from '../../guests/expected.mjs';

const MODEL = 'corei7_skylake_x';
/** exitloop rounds (x 7 exits each): short, but enough to overlap on two pCPUs. */
const ROUNDS = 600;

function vmLines(serial, name) {
  const prefix = `[${name}] `;
  return serial.split(/\r?\n/).map((l) => l.replace(/^ACRN:\\>/, '')).filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
}

function bochs(name, iso, cpus, script) {
  return runEmulator({
    emulator: 'bochs', iso, cpuModel: MODEL, cpus, timeoutS: 420,
    logDir: path.join(ROOT, 'build', 'test-logs', 'smp', name), script,
  });
}

const bothDone = /\[loop-a\] DONE exitloop[\s\S]*\[loop-b\] DONE exitloop|\[loop-b\] DONE exitloop[\s\S]*\[loop-a\] DONE exitloop/;

/** The `exit_stats` total and the per-VM exit counts of `vcpu_list`. */
function checkExitCounts(serial, r) {
  const at = serial.lastIndexOf('VM exits:');
  const total = Number(/VM exits: (\d+)/.exec(serial.slice(at))[1]);
  let sum = 0;
  for (const m of serial.slice(at).matchAll(/^ {2}(?:handled|other) +\d+ +[^:]+: (\d+)/gm)) sum += Number(m[1]);
  expect(total > 2 * 7 * ROUNDS, `exit_stats counts both VMs' exits (total ${total})`, r);
  expect(sum === total, `the per-reason counts add up to the total (${sum} vs ${total})`, r);
  const list = serial.slice(serial.lastIndexOf('VM_ID  VCPU_ID'));
  const perVm = [...list.matchAll(/^(\d+) +0 +(\d+) +\S+ +(\d+)/gm)].map((m) => ({ vm: Number(m[1]), pcpu: Number(m[2]), exits: Number(m[3]) }));
  expect(perVm.length === 2, 'vcpu_list shows both vCPUs', r);
  expect(perVm.every((v) => v.exits > 7 * ROUNDS), 'each vCPU made its exits', r);
  return perVm;
}

function expectBoot(serial, cpus, r) {
  const tsc = /TSC: (\d+) kHz \(calibrated against PIT channel 2\)/.exec(serial);
  expect(tsc !== null && Number(tsc[1]) > 1000, 'the boot report shows a calibrated TSC frequency', r);
  expect(new RegExp(`CPUs: ${cpus} \\(ACPI MADT\\), APIC IDs? 0${cpus > 1 ? ' 1' : ''}\\r?\\n`).test(serial), `the boot report shows ${cpus} CPU(s) and their APIC IDs`, r);
  for (let c = 0; c < cpus; c++) expect(new RegExp(`VMX root operation on CPU ${c}\\b`).test(serial), `CPU ${c} is in VMX root operation`, r);
  expect(!/PANIC|uncaught/.test(serial), 'no panic', r);
}

function session(cpus) {
  return [
    { expect: bothDone, send: 'vm_list\r', timeoutS: 360 },
    { expect: /1 +loop-b +running/, send: 'vcpu_list\r', timeoutS: 30 },
    { expect: /VM_ID  VCPU_ID[\s\S]*\n1 +0 +\d+ +\S+ +\d+/, send: 'pcpu_list\r', timeoutS: 30 },
    { expect: new RegExp(`PCPU  APIC_ID[\\s\\S]*\\n${cpus - 1} +\\d+ +\\S+`), send: 'exit_stats\r', timeoutS: 30 },
    { expect: /handled 55 XSETBV: \d+/, send: 'poweroff\r', timeoutS: 30 },
  ];
}

function loops(pcpuA, pcpuB) {
  return [
    ['guests/exitloop.bin', `guest=long64 name=loop-a arg=${ROUNDS} pcpu=${pcpuA}`],
    ['guests/exitloop.bin', `guest=long64 name=loop-b arg=${ROUNDS} pcpu=${pcpuB}`],
  ];
}

function expectLoopsDone(serial, r) {
  for (const n of ['loop-a', 'loop-b']) {
    const lines = vmLines(serial, n);
    expect(lines.includes('DONE exitloop'), `${n} finished`, r);
    const heap = lines.find((l) => /heap growth/.test(l)) ?? /heap growth over \d+ VM exits: -?\d+ bytes/.exec(serial)?.[0];
    expect(heap === undefined || / 0 bytes/.test(heap), `${n}: no heap growth (${heap})`, r);
  }
}

const cases = [
  ['2 CPUs: both in VMX root operation, one VM on each pCPU, the shell on the boot CPU', async () => {
    const iso = isoWithOptions('smp-two', '', loops(0, 1));
    const r = await bochs('two-pcpus', iso, 2, session(2));
    expectBoot(r.serial, 2, r);
    expect(/SMP: 2 of 2 CPUs online/.test(r.serial), 'both CPUs online', r);
    expect(/vm1 \(loop-b\): long64 test VM started on pCPU 1/.test(r.serial), 'loop-b is placed on pCPU 1', r);
    expectLoopsDone(r.serial, r);
    const perVm = checkExitCounts(r.serial, r);
    expect(perVm.find((v) => v.vm === 0).pcpu === 0 && perVm.find((v) => v.vm === 1).pcpu === 1, 'vcpu_list shows vm0 on pCPU 0, vm1 on pCPU 1', r);
    const p1 = /^1 +1 +running +1 +(\d+)/m.exec(r.serial);
    expect(p1 !== null && Number(p1[1]) > 7 * ROUNDS, 'pcpu_list: pCPU 1 runs one vCPU and handled its exits', r);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }],
  ['2 CPUs: the same two VMs both on pCPU 0', async () => {
    const iso = isoWithOptions('smp-same', '', loops(0, 0));
    const r = await bochs('same-pcpu', iso, 2, session(2));
    expectBoot(r.serial, 2, r);
    expectLoopsDone(r.serial, r);
    const perVm = checkExitCounts(r.serial, r);
    expect(perVm.every((v) => v.pcpu === 0), 'both vCPUs on pCPU 0', r);
    expect(/^1 +1 +running +0 +0 /m.test(r.serial), 'pcpu_list: pCPU 1 runs nothing', r);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }],
  ['2 CPUs: a VM placed on a pCPU that is not online is refused, the other runs', async () => {
    const iso = isoWithOptions('smp-offline', '', [
      ['guests/spinner.bin', 'guest=long64 name=nowhere pcpu=5'],
      ['guests/exitloop.bin', `guest=long64 name=loop-b arg=${ROUNDS} pcpu=1`],
    ]);
    const r = await bochs('offline-pcpu', iso, 2, [
      { expect: /\[loop-b\] DONE exitloop/, send: 'vm_list\r', timeoutS: 360 },
      { expect: /0 +loop-b +running/, send: 'poweroff\r', timeoutS: 30 },
    ]);
    expect(/module 0: pcpu=5 is not an online pCPU \(2 enumerated\); VM not created/.test(r.serial), 'pcpu=5 is refused with a clear error', r);
    expect(!/nowhere/.test(r.serial.slice(r.serial.indexOf('VM_ID'))), 'no VM named nowhere exists', r);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }],
  ['2 CPUs: two VMs make VMCALLs concurrently on two pCPUs; the counters add up', async () => {
    // guests/bench.asm: 2000 each of CPUID, VMCALL (#UD for non-Service VMs), IN and an MMIO load.
    const iso = isoWithOptions('smp-vmcall', '', [
      ['guests/bench.bin', 'guest=long64 name=call-a pcpu=0'],
      ['guests/bench.bin', 'guest=long64 name=call-b pcpu=1'],
    ]);
    const bothBench = /\[call-a\] DONE bench[\s\S]*\[call-b\] DONE bench|\[call-b\] DONE bench[\s\S]*\[call-a\] DONE bench/;
    const r = await bochs('vmcalls', iso, 2, [
      { expect: bothBench, send: 'exit_stats\r', timeoutS: 360 },
      { expect: /handled 55 XSETBV: \d+/, send: 'vcpu_list\r', timeoutS: 30 },
      { expect: /VM_ID  VCPU_ID[\s\S]*\n1 +0 +1 +\S+ +\d+/, send: 'poweroff\r', timeoutS: 30 },
    ]);
    expectBoot(r.serial, 2, r);
    for (const n of ['call-a', 'call-b']) expect(!vmLines(r.serial, n).some((l) => /^FAIL/.test(l)), `${n}: every VMCALL was a #UD exactly once`, r);
    const stats = r.serial.slice(r.serial.lastIndexOf('VM exits:'));
    const vmcalls = /handled 18 VMCALL: (\d+)/.exec(stats);
    expect(vmcalls !== null && Number(vmcalls[1]) === 2 * 2000, `exit_stats counts 2 x 2000 VMCALLs (${vmcalls?.[1]})`, r);
    const total = Number(/VM exits: (\d+)/.exec(stats)[1]);
    let sum = 0;
    for (const m of stats.matchAll(/^ {2}(?:handled|other) +\d+ +[^:]+: (\d+)/gm)) sum += Number(m[1]);
    expect(sum === total, `the per-reason counts add up to the total (${sum} vs ${total})`, r);
    const list = r.serial.slice(r.serial.lastIndexOf('VM_ID  VCPU_ID'));
    const perVm = [...list.matchAll(/^(\d+) +0 +(\d+) +\S+ +(\d+)/gm)].map((m) => Number(m[3]));
    expect(perVm.length === 2 && perVm[0] + perVm[1] === total, `the per-vCPU exit counts add up to the total (${perVm.join(' + ')} vs ${total})`, r);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }],
  ['2 CPUs: one VM across both pCPUs: its BSP starts its AP on the other pCPU, IPIs both ways, timers, INIT reset', async () => {
    const iso = isoWithOptions('smp-lapic', '', [['guests/lapic.bin', 'guest=long64 name=lapic vcpus=2 ap_pcpu=1']]);
    const r = await bochs('vm-across-pcpus', iso, 2, [
      { expect: /\[lapic\] (DONE lapic|FAIL unexpected)|vm\d+ \(lapic\) stopped:/, send: 'vcpu_list\r', timeoutS: 300 },
      { expect: /VM_ID  VCPU_ID[\s\S]*\n0 +1 +\d+ +\S+ +\d+/, send: 'poweroff\r', timeoutS: 30 },
    ]);
    expectBoot(r.serial, 2, r);
    const m = matchInOrder(vmLines(r.serial, 'lapic'), LAPIC);
    expect(m.ok, `the guest's LAPIC checks pass with its vCPUs on two pCPUs (${m.failed.join(' | ') || `missing "${LAPIC[m.next]}"`})`, r);
    const list = r.serial.slice(r.serial.lastIndexOf('VM_ID  VCPU_ID'));
    expect(/^0 +0 +0 +\S+ +\d+/m.test(list) && /^0 +1 +1 +\S+ +\d+/m.test(list), 'vcpu_list shows vCPU 0 on pCPU 0 and vCPU 1 on pCPU 1', r);
    expect(!/stopped:/.test(r.serial), 'no VM was stopped', r);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }],
  ['1 CPU: boots and runs a VM as before', async () => {
    const iso = isoWithOptions('smp-one', '', [['guests/exitloop.bin', `guest=long64 name=loop-a arg=${ROUNDS}`]]);
    const r = await bochs('one-cpu', iso, 1, [
      { expect: /\[loop-a\] DONE exitloop/, send: 'pcpu_list\r', timeoutS: 360 },
      { expect: /PCPU  APIC_ID[\s\S]*\n0 +0 +running +1 /, send: 'poweroff\r', timeoutS: 30 },
    ]);
    expectBoot(r.serial, 1, r);
    expect(!/SMP:/.test(r.serial), 'no AP start-up on one CPU', r);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }],
];

const ok = await runCases('smp', cases, 4);
process.exit(ok ? 0 : 1);
