// Bochs tier for the VMX core: test guests (guests/) run as VMs on the boot
// CPU. Each ISO carries the hypervisor and guest modules; a scripted shell
// session reads the per-reason exit counters and powers off.
//  - core: long64 (the exerciser), prot32 and real16 entry states, three VMs
//    sharing the pCPU; every exit reason a guest can cause must have fired.
//  - isolation: two spinners share the pCPU and both make progress while a
//    triple-faulting VM and a VM executing outside its EPT are stopped with a
//    report; the hypervisor and the spinners go on.
//  - mmio: every MMIO instruction form the emulator supports, run against
//    RAM and the test MMIO device with the results compared (guests/mmio.asm);
//    then an instruction it cannot emulate stops that VM, and the hypervisor
//    goes on.
//  - lapic: a VM with two vCPUs (guests/lapic.asm): the BSP starts the AP with
//    INIT-SIPI-SIPI, IPIs both ways and "all excluding self", the one-shot,
//    periodic and TSC-deadline timers of the virtual LAPIC, x2APIC mode, a
//    second INIT resetting the AP's APIC, CLI; HLT staying halted.
//  - devices (corei7_skylake_x only, for time): two VMs with linked COM2s
//    (guests/devices.asm): the vPCI host bridge through CF8/CFC and ECAM,
//    COM2's interrupt through the vPIC and through the vIOAPIC, 4 KiB each way
//    over the link, random device I/O without TypeScript heap growth.
// Each runs on corei7_skylake_x (VMCS revision 0x2b) and tigerlake (4).
import path from 'node:path';
import { runEmulator } from './harness.mjs';
import { isoWithOptions } from './iso-variant.mjs';
import { CaseFailure, expect, ROOT, runCases } from './cases.mjs';
import { devices, EPTFAULT, LAPIC, LONG64, matchInOrder, MMIO, PROT32, REAL16, SPINNER, TRIPLE, VMXINSN } from '../../guests/expected.mjs';

const MODELS = ['corei7_skylake_x', 'tigerlake'];

/** Exit reasons the test guests cause (SDM Appendix C numbers). The others in
 * the handled set come from hypervisor bugs (entry failures, EPT
 * misconfiguration) or host events (NMIs); VMFUNC raises #UD in the guest
 * without an exit while "enable VM functions" is off. */
const GUEST_CAUSED = {
  core: [1, 7, 8, 10, 12, 13, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30, 31, 32, 36, 39, 50, 53, 54, 55],
  isolation: [2, 48, 52],
  mmio: [30, 48],
};

/** Lines of one VM (by name), prefix removed. */
function vmLines(serial, name) {
  const prefix = `[${name}] `;
  // A guest line may follow the shell's prompt on the same line.
  return serial.split(/\r?\n/).map((l) => l.replace(/^ACRN:\\>/, '')).filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
}

function expectGuest(serial, name, expected) {
  const m = matchInOrder(vmLines(serial, name), expected);
  if (!m.ok) {
    throw new CaseFailure(`${name}: ${m.failed.length ? `failures: ${m.failed.join(' | ')}` : `missing "${expected[m.next]}"`}\n${serial.slice(-2500)}`);
  }
}

/** Parse `exit_stats` output: reason -> count. */
function exitCounts(serial) {
  const counts = new Map();
  const at = serial.lastIndexOf('VM exits:');
  for (const m of serial.slice(at).matchAll(/^ {2}(handled|other) +(\d+) +[^:]+: (\d+)/gm)) counts.set(Number(m[2]), Number(m[3]));
  return counts;
}

function expectReasons(serial, reasons) {
  const counts = exitCounts(serial);
  const missing = reasons.filter((r) => !(counts.get(r) > 0));
  if (missing.length) throw new CaseFailure(`exit reasons that never fired: ${missing.join(', ')}\n${serial.slice(serial.lastIndexOf('VM exits:'))}`);
}

function bochs(model, name, iso, script) {
  return runEmulator({
    emulator: 'bochs', iso, cpuModel: model, timeoutS: 400,
    logDir: path.join(ROOT, 'build', 'test-logs', 'vmx', `${model}-${name}`), script,
  });
}

function coreCase(model) {
  return [`${model}: long64, prot32, real16 and vmxinsn guests exercise every handler`, async () => {
    const iso = isoWithOptions('vmx-core', '', [
      ['guests/long64.bin', 'guest=long64'], ['guests/prot32.bin', 'guest=prot32'], ['guests/real16.bin', 'guest=real16'],
      ['guests/vmxinsn.bin', 'guest=long64 name=vmxinsn'],
    ]);
    const r = await bochs(model, 'core', iso, [
      // long64 finishes last: it runs longest and ends with a 20 ms HLT wait
      { expect: /\[long64\] DONE long64[\s\S]*\[vmxinsn\] DONE|\[vmxinsn\] DONE[\s\S]*\[long64\] DONE long64/, send: 'exit_stats\r', timeoutS: 300 },
      { expect: /handled 55 XSETBV: \d+/, send: 'vm_list\r', timeoutS: 30 },
      { expect: /2 +real16 +running/, send: 'poweroff\r', timeoutS: 30 },
    ]);
    expectGuest(r.serial, 'long64', LONG64);
    expectGuest(r.serial, 'prot32', PROT32);
    expectGuest(r.serial, 'real16', REAL16);
    expectGuest(r.serial, 'vmxinsn', VMXINSN);
    expectReasons(r.serial, GUEST_CAUSED.core);
    expect(!/stopped:/.test(r.serial), 'no VM was stopped', r);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }];
}

function isolationCase(model) {
  return [`${model}: two VMs share the pCPU while a triple fault and an EPT violation stop only their VMs`, async () => {
    const iso = isoWithOptions('vmx-isolation', '', [
      ['guests/spinner.bin', 'guest=long64 name=spin-a'], ['guests/triple.bin', 'guest=long64 name=triple'],
      ['guests/eptfault.bin', 'guest=long64 name=eptfault'], ['guests/spinner.bin', 'guest=long64 name=spin-b'],
    ]);
    const r = await bochs(model, 'isolation', iso, [
      { expect: /\[spin-a\] DONE spinner[\s\S]*\[spin-b\] DONE spinner|\[spin-b\] DONE spinner[\s\S]*\[spin-a\] DONE spinner/, send: 'exit_stats\r', timeoutS: 300 },
      { expect: /handled 55 XSETBV: \d+/, send: 'vm_list\r', timeoutS: 30 },
      { expect: /3 +spin-b +running/, send: 'poweroff\r', timeoutS: 30 },
    ]);
    expectGuest(r.serial, 'spin-a', SPINNER);
    expectGuest(r.serial, 'spin-b', SPINNER);
    expectGuest(r.serial, 'triple', TRIPLE);
    expectGuest(r.serial, 'eptfault', EPTFAULT);
    expect(/vm1 \(triple\) stopped: triple fault/.test(r.serial), 'the triple-faulting VM is stopped with a report', r);
    expect(/vm2 \(eptfault\) stopped: instruction fetch from unmapped guest-physical memory/.test(r.serial), 'the VM executing outside its EPT is stopped', r);
    expect(/guest-physical address 0x0000000080000000[a-z ]* fetch/.test(r.serial), 'the report names the guest-physical address', r);
    expect(/1 +triple +paused/.test(r.serial) && /2 +eptfault +paused/.test(r.serial), 'vm_list shows both stopped VMs paused', r);
    // Interleaving: spin-b ticks before spin-a finishes (time slicing).
    const a = vmLines(r.serial, 'spin-a').length, lines = r.serial.split(/\r?\n/);
    const firstB = lines.findIndex((l) => l.startsWith('[spin-b] tick'));
    const lastA = lines.findLastIndex((l) => l.startsWith('[spin-a] tick'));
    expect(a > 0 && firstB >= 0 && firstB < lastA, 'the two spinners interleave (preemption-timer slices)', r);
    expectReasons(r.serial, GUEST_CAUSED.isolation);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }];
}

/** MMIO emulation: guests/mmio.asm compares each form on RAM and on the test device. */
function mmioCase(model) {
  return [`${model}: a guest's MMIO with every supported instruction form matches the CPU; an unsupported one stops only that VM`, async () => {
    const iso = isoWithOptions('vmx-mmio', '', [['guests/mmio.bin', 'guest=long64 name=mmio arg=0']]);
    const r = await bochs(model, 'mmio', iso, [
      { expect: /vm0 \(mmio\) stopped:/, send: 'exit_stats\r', timeoutS: 300 },
      { expect: /handled 55 XSETBV: \d+/, send: 'vm_list\r', timeoutS: 30 },
      { expect: /0 +mmio +paused/, send: 'poweroff\r', timeoutS: 30 },
    ]);
    expectGuest(r.serial, 'mmio', MMIO);
    expect(/vm0 \(mmio\) stopped: cannot emulate the instruction that accessed MMIO/.test(r.serial), 'the unsupported instruction stops the VM with a report', r);
    expect(/guest-physical address 0x000000003fe00000/.test(r.serial), 'the report names the device address', r);
    expect(/instruction bytes 01 03\b/.test(r.serial), 'the report shows the instruction (add [rbx], eax)', r);
    expect(!vmLines(r.serial, 'mmio').includes('FAIL still running'), 'the guest does not run past the unsupported instruction', r);
    expectReasons(r.serial, GUEST_CAUSED.mmio);
    expect(r.status === 'pass', 'the hypervisor still runs its shell and powers off', r);
  }];
}

/** Virtual LAPICs of a two-vCPU VM: guests/lapic.asm checks them from inside; only the BSP prints. */
function lapicCase(model) {
  return [`${model}: two vCPUs' virtual LAPICs: INIT-SIPI-SIPI, IPIs both ways, periodic/one-shot/TSC-deadline timers, x2APIC, INIT reset, CLI; HLT`, async () => {
    const iso = isoWithOptions('vmx-lapic', '', [['guests/lapic.bin', 'guest=long64 name=lapic vcpus=2']]);
    const r = await bochs(model, 'lapic', iso, [
      // DONE, or a guest exception (which halts the guest), or the VM stopped: stop waiting.
      { expect: /\[lapic\] (DONE lapic|FAIL unexpected)|vm\d+ \(lapic\) stopped:/, send: 'vm_list\r', timeoutS: 90 },
      { expect: /0 +lapic +\w+/, send: 'poweroff\r', timeoutS: 30 },
    ]);
    expectGuest(r.serial, 'lapic', LAPIC);
    expect(/lapic: vcpu1 started by SIPI at 0x08000/.test(r.serial), 'the hypervisor reports vcpu1 started by the SIPI at 0x08000', r);
    expect(!/stopped:/.test(r.serial), 'no VM was stopped', r);
    expect(/0 +lapic +running/.test(r.serial), 'vm_list shows the VM running', r);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }];
}

/** Two VMs with linked COM2s: guests/devices.asm checks the VM's devices from inside, talking to its peer. */
function devicesCase(model) {
  return [`${model}: two linked VMs: vPCI host bridge, COM2 interrupts through the vPIC and the vIOAPIC, 4 KiB each way, random device I/O without heap growth`, async () => {
    const iso = isoWithOptions('vmx-devices', '', [
      ['guests/devices.bin', 'guest=long64 name=dev-a arg=0 link=dev-b'],
      ['guests/devices.bin', 'guest=long64 name=dev-b arg=1'],
    ]);
    const end = (vm) => `(?=[\\s\\S]*\\[${vm}\\] (?:DONE devices|FAIL unexpected))`;
    const r = await bochs(model, 'devices', iso, [
      // Both VMs done, or halted on an exception, or one stopped: stop waiting.
      { expect: new RegExp(`${end('dev-a')}${end('dev-b')}[\\s\\S]*|vm\\d+ \\(dev-[ab]\\) stopped:`), send: 'vm_list\r', timeoutS: 300 },
      { expect: /1 +dev-b +\w+/, send: 'poweroff\r', timeoutS: 30 },
    ]);
    expect(/dev-a: COM2 connected to dev-b/.test(r.serial), 'the hypervisor connects dev-a\'s COM2 to dev-b\'s', r);
    expectGuest(r.serial, 'dev-a', devices(0));
    expectGuest(r.serial, 'dev-b', devices(1));
    // One heap line per VM (random-io: 50,000 writes from dev-a, 10,000 from dev-b); neither may show growth.
    const heap = [...r.serial.matchAll(/heap growth over (\d+) VM exits: (-?\d+) bytes/g)];
    expect(heap.length === 2, `both VMs report the heap growth (got ${heap.length} lines)`, r);
    const exits = heap.map((m) => Number(m[1])).sort((x, y) => x - y);
    expect(exits[0] >= 10000 && exits[1] >= 50000, `the reports cover at least 10,000 and 50,000 exits (got ${exits.join(', ')})`, r);
    expect(heap.every((m) => m[2] === '0'), `heap growth is 0 bytes (got ${heap.map((m) => m[2]).join(', ')})`, r);
    expect(!/stopped:/.test(r.serial), 'no VM was stopped', r);
    expect(/0 +dev-a +running/.test(r.serial) && /1 +dev-b +running/.test(r.serial), 'vm_list shows both VMs running', r);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }];
}

/** 175,000 exits of six kinds, MMIO emulation among them: the TypeScript heap must not grow (DESIGN.md). */
function heapCase(model) {
  return [`${model}: the TypeScript heap does not grow over 175,000 VM exits, MMIO emulation among them`, async () => {
    const iso = isoWithOptions('vmx-exitloop', '', [['guests/exitloop.bin', 'guest=long64 name=exitloop']]);
    const r = await bochs(model, 'exitloop', iso, [
      { expect: /\[exitloop\] DONE exitloop/, send: 'poweroff\r', timeoutS: 600 },
    ]);
    const m = /heap growth over (\d+) VM exits: (-?\d+) bytes/.exec(r.serial);
    expect(m !== null, 'the hypervisor reports the heap growth', r);
    expect(Number(m[1]) >= 175000, `at least 175,000 exits were counted (got ${m[1]})`, r);
    expect(m[2] === '0', `heap growth is 0 bytes (got ${m[2]})`, r);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }];
}

const cases = [];
for (const m of MODELS) cases.push(coreCase(m), isolationCase(m), mmioCase(m), lapicCase(m));
cases.push(heapCase(MODELS[0]), devicesCase(MODELS[0]));
const ok = await runCases('vmx', cases, 2);
process.exit(ok ? 0 : 1);
