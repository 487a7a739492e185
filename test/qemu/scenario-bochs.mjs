// Bochs tier for the scenario launch (issue 7): the hypervisor boots the
// scenario's pre-launched VMs and Service VM itself, from GRUB modules named
// in the scenario (guests/prelaunched.asm, a raw64 image; guests/service.asm,
// a minimal bzImage standing in for Linux).
//  - default: the built-in hybrid scenario on 2 CPUs. Both VMs greet through
//    their vuart 0; the Service VM's zero page carries its e820 table and the
//    scenario's command line. A scripted shell session lists the VMs, pauses,
//    resets (the image is loaded again: a second greeting), restarts and shuts
//    down the pre-launched VM; then the Service VM powers itself off (S5
//    through PM1a_CNT, typed into it with vm_console) and, every VM being off,
//    the system powers off. Before that, the boot demo (`dm_demo` on the
//    Service VM's command line): its device model starts post1, which drives
//    the DM's devices, then pauses, continues, resets and stops it.
//  - resets: the pre-launched VM resets through the keyboard controller and is
//    shut down, not relaunched; the Service VM, now the highest-severity VM,
//    triple-faults and the host resets through its reset control register
//    (0xCF9), as in ACRN. Bochs logs the hardware reset; its BIOS then stops
//    in the keyboard self-test of the second POST (rombios "Keyboard
//    error:21", an emulator quirk after a 0xCF9 reset), so the reset is
//    checked in Bochs's log rather than by a second boot.
//  - module: a `scenario` GRUB module (tools/scenario.mjs output) overrides
//    the default: two pre-launched VMs share the one pCPU of a 1-CPU machine.
//  - dm-lifecycle (issue 8): the test Service VM, acting as a device model,
//    runs the full lifecycle of a post-launched User VM twice through ACRN's
//    hypercalls (create, I/O request buffer, memory regions, start; pause;
//    resume as pause -> reset -> set vcpu regs -> start; reset; pause ->
//    destroy), with the User VM image (guests/user.asm) as its ramdisk; the
//    User VM's console output is checked at each start.
//  - dm-2cpu (issues 5, 8): the User VM's slot on pCPU 1, the Service VM on
//    pCPU 0: the Service VM remaps a page under the running User VM, which
//    sees the new page (the EPT flush reached pCPU 1: pcpu_list counts it),
//    then runs the lifecycle twice across the two pCPUs.
//  - dm-fuzz (issue 8): the same Service VM sends 20,000 seeded random
//    hypercalls (ids, VM ids, pointers into its RAM, across its top, at
//    hypervisor memory and MMIO, random values), then runs a User VM that
//    makes 20,000 VMCALLs with random registers (each must come back to it
//    as #UD); the hypervisor stays up with
//    its TypeScript heap where it was, every VM in a legal state, and the
//    User VM lifecycle still runs clean afterwards.
//  - dm-requests (issues 9, 7): the User VM's accesses the hypervisor does
//    not emulate go to the Service VM's device model as I/O requests: PCI
//    enumeration and a config register, ordered writes and sequence reads,
//    an echo port at each size, MMIO; its own 0xCF9 reset and S5 are the
//    DM's; pause, reset and destroy in the middle of a burst of requests lose
//    nothing and leave no slot busy.
//  - acrnctl (issue 9): the Service VM's acrnctl-like commands, typed on its
//    console, drive a User VM on the other pCPU; vm_list after each.
// corei7_skylake_x only (the VMX tier covers the second model).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runEmulator } from './harness.mjs';
import { isoWithOptions } from './iso-variant.mjs';
import { expect, ROOT, runCases } from './cases.mjs';

const MODEL = 'corei7_skylake_x';
const DEFAULT_MODULES = [['guests/prelaunched.bin', 'prelaunched'], ['guests/service.bin', 'Linux_bzImage'], ['guests/user.bin', 'uservm']];
const BOOTARGS = 'console=ttyS0,115200 earlyprintk=serial,ttyS0,115200 loglevel=7 panic=1 dm_demo';

/** Compile a scenario under test/qemu/scenarios/ to build/scenarios/<name>.bin (a path under build/). */
function compileScenario(name) {
  const image = path.join(ROOT, 'build', 'scenarios', `${name}.bin`);
  fs.mkdirSync(path.dirname(image), { recursive: true });
  execFileSync('node', [path.join(ROOT, 'tools', 'scenario.mjs'), path.join(ROOT, 'test', 'qemu', 'scenarios', `${name}.ts`), '-o', image], { stdio: 'pipe' });
  return `scenarios/${name}.bin`;
}

function bochs(name, iso, cpus, script) {
  return runEmulator({
    emulator: 'bochs', iso, cpuModel: MODEL, cpus, memMiB: 1024, timeoutS: 420,
    logDir: path.join(ROOT, 'build', 'test-logs', 'scenario', name), script,
  });
}

/** The guest lines of one VM (by name), prefix removed. */
function vmLines(serial, name) {
  const prefix = `[${name}] `;
  return serial.split(/\r?\n/).map((l) => l.replace(/^ACRN:\\>/, '')).filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
}

/** The state column of `vm_list` rows after the `index`-th listing (0-based). */
function listing(serial, index) {
  const parts = serial.split('VM_ID  VM_NAME');
  const text = parts[index + 1] ?? '';
  const rows = {};
  for (const m of text.split('ACRN:')[0].matchAll(/^(\d+) +(\S+) +(.+?)  +(\S.*?)\s*$/gm)) rows[m[2]] = { id: Number(m[1]), state: m[3].trim(), order: m[4] };
  return rows;
}

function expectNoPanic(r) {
  expect(!/PANIC|uncaught|Wasm trap/.test(r.serial), 'no panic', r);
}

/** The boot of the built-in scenario, up to both greetings. */
function expectDefaultBoot(serial, r) {
  expect(/scenario: built-in default/.test(serial), 'the built-in default scenario is read', r);
  const order = ['vm0 (prelaunched): powered off -> created', 'vm0 (prelaunched): created -> running',
    'vm1 (service): powered off -> created', 'vm1 (service): created -> running'];
  let at = 0;
  for (const line of order) {
    const next = serial.indexOf(line, at);
    expect(next >= 0, `launch in scenario order: "${line}"`, r);
    at = next;
  }
  expect(/vm0 \(prelaunched\): \d+ MiB RAM, entry 0x100000, pCPU 1/.test(serial), 'the pre-launched VM runs on pCPU 1 (its affinity) from 0x100000', r);
  expect(/prelaunched: COM2 connected to service COM2/.test(serial), 'the connected vuarts are linked', r);
  const pre = vmLines(serial, 'prelaunched');
  expect(pre[0] === 'prelaunched guest: hello from vm0 at 0x100000', `the pre-launched VM greets with its vm id and load address (${pre[0]})`, r);
  const svc = vmLines(serial, 'service');
  const hello = /^service guest: bzImage at 0x([0-9a-f]+), zero page 0x([0-9a-f]+), e820 entries (\d+), RAM (\d+) MiB$/.exec(svc[0] ?? '');
  expect(hello !== null, `the Service VM greets from its 64-bit bzImage entry (${svc[0]})`, r);
  expect(parseInt(hello[1], 16) % 0x200000 === 0 && parseInt(hello[1], 16) >= 0x1000000, 'its kernel sits at a kernel_alignment boundary at or above pref_address', r);
  expect(Number(hello[3]) >= 3 && Number(hello[4]) > 512, `its zero page carries an e820 table with the host RAM minus the hypervisor's (${hello[3]} entries, ${hello[4]} MiB)`, r);
  expect(svc[1] === `command line: ${BOOTARGS}`, 'its command line is the scenario\'s bootargs', r);
  // Bochs's one I/O APIC (24 pins): the Service VM's one vIOAPIC mirrors it, ID included
  const hw = /service: vIOAPIC 0 at 0xfec00000, ID (\d+), GSI 0-23 \(the physical I\/O APIC's\)/.exec(serial);
  expect(hw !== null && !/service: vIOAPIC 1 /.test(serial), 'the Service VM has one vIOAPIC, for the machine\'s one I/O APIC (24 pins from GSI 0)', r);
  expect(svc[2] === `service guest: vIOAPIC at 0xfec00000: id 0x${(Number(hw?.[1]) * 0x1000000).toString(16)}, version 0x170011`,
    `the Service VM reads the chip's ID and 24 pins (version 0x11) from its vIOAPIC (${svc[2]})`, r);
}

const cases = [
  ['default scenario: launch, shell lifecycle of the pre-launched VM, the Service VM powers off, the system powers off', async () => {
    const iso = isoWithOptions('scenario-default', '', DEFAULT_MODULES);
    const r = await bochs('default', iso, 2, [
      { expect: /acrnctl demo: done[^\n]*\n/, send: 'vm_list\r', timeoutS: 400 },
      { expect: /VM_ID[\s\S]*ACRN:\\>/, send: 'vm_pause 0\r', timeoutS: 60 },
      { expect: /running -> paused[\s\S]*ACRN:\\>/, send: 'vm_list\r', timeoutS: 60 },
      { expect: /VM_ID[\s\S]*ACRN:\\>/, send: 'vm_reset 0\r', timeoutS: 60 },
      { expect: /paused -> created[\s\S]*ACRN:\\>/, send: 'vm_list\r', timeoutS: 60 },
      { expect: /VM_ID[\s\S]*ACRN:\\>/, send: 'vm_start 0\r', timeoutS: 60 },
      { expect: /hello from vm0/, send: 'vm_list\r', timeoutS: 120 },
      { expect: /VM_ID[\s\S]*ACRN:\\>/, send: 'vm_pause 0\r', timeoutS: 60 },
      { expect: /running -> paused[\s\S]*ACRN:\\>/, send: 'vm_shutdown 0\r', timeoutS: 60 },
      { expect: /paused -> powered off[\s\S]*ACRN:\\>/, send: 'vm_list\r', timeoutS: 60 },
      { expect: /VM_ID[\s\S]*ACRN:\\>/, send: 'vm_console 1\r', timeoutS: 60 },
      { expect: /entering the console of vm1/, send: 'p', timeoutS: 60 },
    ]);
    expectNoPanic(r);
    expectDefaultBoot(r.serial, r);
    const states = [0, 1, 2, 3, 4].map((i) => listing(r.serial, i).prelaunched?.state);
    expect(JSON.stringify(states) === JSON.stringify(['running', 'paused', 'created', 'running', undefined]),
      `vm_list shows the pre-launched VM running, paused, created, running, then gone (${states.join(', ')})`, r);
    expect(listing(r.serial, 0).service?.state === 'running' && listing(r.serial, 0).service?.order === 'Service VM', 'vm_list shows the Service VM running', r);
    expect(listing(r.serial, 0).prelaunched?.order === 'pre-launched', 'vm_list shows the load orders', r);
    // the boot demo (`dm_demo`): the Service VM's DM starts, pauses, continues, resets and stops post1
    const demo = [...r.serial.matchAll(/vm2 \(post1\): (.+)/g)].map((m) => m[1].trim());
    const wantDemo = ['powered off -> created', 'created -> running', 'running -> paused', 'paused -> created', 'created -> running',
      'running -> paused', 'paused -> created', 'created -> running', 'running -> paused', 'paused -> powered off'];
    expect(JSON.stringify(demo) === JSON.stringify(wantDemo), `the boot demo took post1 through start, pause, continue, reset, stop (${demo.join(', ')})`, r);
    const user = vmLines(r.serial, 'post1');
    expect(user.includes('user VM: device model devices ok') && user.includes('user VM: resumed, run 1') && user.includes('user VM: hello, run 1'),
      `post1 drove the DM's devices, ran from the resume registers, then from its reset vector (${user.join(' | ')})`, r);
    expect(listing(r.serial, 0).post1 === undefined, 'after the demo post1 is gone from vm_list', r);
    expect(vmLines(r.serial, 'prelaunched').filter((l) => l.startsWith('prelaunched guest: hello')).length === 2, 'after reset and start the image was loaded again and runs from its entry', r);
    expect(/vm0 \(prelaunched\): paused -> powered off/.test(r.serial), 'vm_shutdown powers the pre-launched VM off', r);
    expect(/\[service\] powering off \(S5\)\r?\nvm1 \(service\): S5 through PM1a_CNT: powering off\r?\nvm1 \(service\): running -> paused\r?\nvm1 \(service\): paused -> powered off/.test(r.serial),
      'the Service VM\'s own S5 goes through pause -> shutdown to POWERED_OFF', r);
    expect(/every VM is powered off: powering the system off[\s\S]*Powering off\./.test(r.serial), 'with every VM off the system powers off', r);
    expect(!vmLines(r.serial, 'service').some((l) => l.startsWith('FAIL')), 'no guest reports a power request that did not stop it', r);
    expect(r.status === 'pass', 'the machine powered off (Bochs pass status)', r);
  }],
  ['default scenario: a pre-launched VM\'s reset shuts it down; the highest-severity VM\'s triple fault resets the host', async () => {
    const iso = isoWithOptions('scenario-default', '', DEFAULT_MODULES);
    const r = await bochs('resets', iso, 2, [
      { expect: /acrnctl demo: done[^\n]*\n/, send: 'vm_console 0\r', timeoutS: 400 },
      { expect: /entering the console of vm0/, send: 'k', timeoutS: 60 },
      { expect: /vm0 \(prelaunched\): paused -> powered off[\s\S]*back in the hypervisor shell[\s\S]*ACRN:\\>/, send: 'vm_console 1\r', timeoutS: 60 },
      { expect: /entering the console of vm1/, send: 't', timeoutS: 60 },
    ]);
    expectNoPanic(r);
    const first = r.serial;
    expectDefaultBoot(first, r);
    expect(/vm0 \(prelaunched\): reset through the keyboard controller\r?\nvm0 \(prelaunched\): running -> paused\r?\nvm0 \(prelaunched\): paused -> powered off/.test(first),
      'the pre-launched VM\'s reset (KBC 0xFE) pauses and shuts it down', r);
    expect(vmLines(first, 'prelaunched').filter((l) => l.startsWith('prelaunched guest: hello')).length === 1, 'it is not relaunched', r);
    expect(/vm1 \(service\): triple fault: the VM resets\r?\n {2}vcpu0 RIP 0x[0-9a-f]{16}\r?\nvm1 \(service\): the highest-severity VM reset: the host resets/.test(r.serial),
      'the Service VM\'s triple fault, it being the highest-severity VM left, resets the host', r);
    const bochsLog = fs.readFileSync(path.join(ROOT, 'build', 'test-logs', 'scenario', 'resets', 'bochs.log'), 'utf8');
    expect(/CPU reset register = 0x06\r?\n[^\n]*bx_pc_system_c::Reset\(HARDWARE\) called/.test(bochsLog),
      'the hypervisor wrote 0x06 to the reset control register and the machine took a hardware reset (Bochs log)', r);
    expect(!/the host did not reset/.test(r.serial), 'the hypervisor did not run on after the reset', r);
  }],
  ['a scenario GRUB module overrides the default: two pre-launched VMs share the pCPU of a 1-CPU machine', async () => {
    const iso = isoWithOptions('scenario-module', '', [
      [compileScenario('partitioned-1cpu'), 'scenario'], ['guests/prelaunched.bin', 'pre-a'], ['guests/prelaunched.bin', 'pre-b'],
    ]);
    const bothHello = /hello from vm0[\s\S]*hello from vm1|hello from vm1[\s\S]*hello from vm0/;
    const r = await bochs('module', iso, 1, [
      { expect: bothHello, send: 'vm_list\r', timeoutS: 300 },
      { expect: /VM_ID[\s\S]*ACRN:\\>/, send: 'vm_console 0\r', timeoutS: 60 },
      { expect: /entering the console of vm0/, send: 'p', timeoutS: 60 },
      { expect: /vm0 \(pre-a\): paused -> powered off[\s\S]*ACRN:\\>/, send: 'vm_console 1\r', timeoutS: 60 },
      { expect: /entering the console of vm1/, send: 'p', timeoutS: 60 },
    ]);
    expectNoPanic(r);
    expect(/scenario: read from GRUB module 0/.test(r.serial), 'the scenario comes from the GRUB module', r);
    expect(/scenario partitioned-1cpu: 2 VMs/.test(r.serial), 'the module\'s scenario is the one summarised', r);
    expect(/vm0 \(pre-a\): 15 MiB RAM, entry 0x100000, pCPU 0/.test(r.serial) && /vm1 \(pre-b\): 31 MiB RAM, entry 0x100000, pCPU 0/.test(r.serial),
      'both VMs on pCPU 0 with their memory (16 MiB; 32 MiB in two regions; less the 640 KiB-1 MiB hole)', r);
    const rows = listing(r.serial, 0);
    expect(rows['pre-a']?.state === 'running' && rows['pre-b']?.state === 'running', 'vm_list shows both running', r);
    expect(vmLines(r.serial, 'pre-a')[0] === 'prelaunched guest: hello from vm0 at 0x100000', 'pre-a greets as vm0', r);
    expect(vmLines(r.serial, 'pre-b')[0] === 'prelaunched guest: hello from vm1 at 0x100000', 'pre-b greets as vm1', r);
    expect(/vm1 \(pre-b\): paused -> powered off\r?\nevery VM is powered off: powering the system off/.test(r.serial), 'the second power-off leaves every VM off and powers the system off', r);
    expect(r.status === 'pass', 'the machine powered off (Bochs pass status)', r);
  }],
  ['the test Service VM runs a User VM\'s full lifecycle twice through hypercalls (issue 8)', async () => {
    const iso = isoWithOptions('scenario-dm', '', [
      [compileScenario('service-dm-1cpu'), 'scenario'], ['guests/service.bin', 'Linux_bzImage'], ['guests/user.bin', 'uservm'],
    ]);
    const r = await bochs('dm-lifecycle', iso, 1, [
      { expect: /\[service\] command line: [^\n]*\n/, send: 'vm_console 0\r', timeoutS: 300 },
      { expect: /entering the console of vm0/, send: 'l', timeoutS: 60 },
      { expect: /dm: lifecycle done|dm: FAIL/, send: '\u0000', timeoutS: 300 },
      { expect: /back in the hypervisor shell[\s\S]*ACRN:\\>/, send: 'vm_list\r', timeoutS: 60 },
      { expect: /VM_ID[\s\S]*ACRN:\\>/, send: 'poweroff\r', timeoutS: 60 },
    ]);
    expectNoPanic(r);
    const dm = vmLines(r.serial, 'service').filter((l) => l.startsWith('dm: '));
    const calls = dm.filter((l) => / = /.test(l));
    const perRun = ['create_vm', 'set_ioreq_buffer', 'set_memory_regions', 'start_vm', 'pause_vm', 'reset_vm', 'set_vcpu_regs', 'start_vm',
      'pause_vm', 'reset_vm', 'start_vm', 'pause_vm', 'destroy_vm'];
    const names = calls.map((l) => l.slice(4, l.indexOf(' = ')));
    expect(JSON.stringify(names) === JSON.stringify([...perRun, ...perRun]), `the hypercalls of two lifecycles, in order (${names.join(' ')})`, r);
    expect(calls.every((l) => l.endsWith(' = 0x0')), `every hypercall returned 0 (${calls.filter((l) => !l.endsWith(' = 0x0')).join('; ')})`, r);
    expect(!dm.some((l) => /FAIL/.test(l)) && dm[dm.length - 1] === 'dm: lifecycle done', 'the Service VM saw the User VM run after every start, and finished', r);
    const user = vmLines(r.serial, 'post1');
    const want = [1, 2].flatMap((n) => [`user VM: hello, run ${n}`, `user VM: resumed, run ${n}`, `user VM: hello, run ${n}`]);
    expect(JSON.stringify(user) === JSON.stringify(want), `the User VM's console shows each start: from the reset vector, at the registers set, after the reset (${user.join(' | ')})`, r);
    const transitions = [...r.serial.matchAll(/vm1 \(post1\): (.+)/g)].map((m) => m[1].trim());
    const perRunStates = ['powered off -> created', 'created -> running', 'running -> paused', 'paused -> created', 'created -> running',
      'running -> paused', 'paused -> created', 'created -> running', 'running -> paused', 'paused -> powered off'];
    expect(JSON.stringify(transitions) === JSON.stringify([...perRunStates, ...perRunStates]), `the User VM went through ACRN's states (${transitions.join(', ')})`, r);
    const rows = listing(r.serial, 0);
    expect(rows.service?.state === 'running' && rows.post1 === undefined, 'afterwards the Service VM runs and the User VM is gone', r);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }],
  ['2 CPUs: the Service VM changes the EPT of a User VM running on the other pCPU, then runs its lifecycle there (issues 5, 8)', async () => {
    const iso = isoWithOptions('scenario-dm-2cpu', '', [
      [compileScenario('service-dm-2cpu'), 'scenario'], ['guests/service.bin', 'Linux_bzImage'], ['guests/user.bin', 'uservm'],
    ]);
    const r = await bochs('dm-2cpu', iso, 2, [
      { expect: /\[service\] command line: [^\n]*\n/, send: 'vm_console 0\r', timeoutS: 300 },
      { expect: /entering the console of vm0/, send: 'e', timeoutS: 60 },
      { expect: /dm: destroy_vm = [^\n]*\n|dm: FAIL[^\n]*\n/, send: 'l', timeoutS: 300 },
      { expect: /dm: lifecycle done|dm: FAIL/, send: '\u0000', timeoutS: 300 },
      { expect: /back in the hypervisor shell[\s\S]*ACRN:\\>/, send: 'pcpu_list\r', timeoutS: 60 },
      { expect: /PCPU  APIC_ID[\s\S]*ACRN:\\>/, send: 'poweroff\r', timeoutS: 60 },
    ]);
    expectNoPanic(r);
    const user = vmLines(r.serial, 'post1');
    expect(user[0] === 'user VM: sees 11111111' && user[1] === 'user VM: sees 22222222', `the running User VM saw its page, then the page mapped in its place (${user.slice(0, 2).join(' | ')})`, r);
    const dm = vmLines(r.serial, 'service').filter((l) => l.startsWith('dm: '));
    expect(dm.includes('dm: the running User VM sees the remapped page'), 'the Service VM saw the User VM read the new page', r);
    expect(!dm.some((l) => /FAIL/.test(l)) && dm.filter((l) => / = /.test(l)).every((l) => l.endsWith(' = 0x0')) && dm[dm.length - 1] === 'dm: lifecycle done',
      'every hypercall returned 0 and the lifecycle ran twice across the pCPUs', r);
    const want = [1, 2].flatMap((n) => [`user VM: hello, run ${n}`, `user VM: resumed, run ${n}`, `user VM: hello, run ${n}`]);
    expect(JSON.stringify(user.slice(2)) === JSON.stringify(want), `the User VM on pCPU 1 started each time (${user.slice(2).join(' | ')})`, r);
    const p1 = /^1 +1 +running +\d+ +\d+ +\d+ +\d+ +(\d+)$/m.exec(r.serial.slice(r.serial.lastIndexOf('PCPU  APIC_ID')));
    expect(p1 !== null && Number(p1[1]) >= 1, `pCPU 1 did the EPT flushes asked of it (${p1?.[1]})`, r);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }],
  ['20,000 fuzzed hypercalls from the Service VM and 20,000 VMCALLs from a User VM: the hypervisor stays up, its heap does not grow, VM states stay legal (issue 8)', async () => {
    const iso = isoWithOptions('scenario-dm', '', [
      [compileScenario('service-dm-1cpu'), 'scenario'], ['guests/service.bin', 'Linux_bzImage'], ['guests/user.bin', 'uservm'],
    ]);
    const r = await bochs('dm-fuzz', iso, 1, [
      { expect: /\[service\] command line: [^\n]*\n/, send: 'exit_stats\r', timeoutS: 300 },
      { expect: /heap in use: \d+ bytes/, send: 'vm_console 0\r', timeoutS: 60 },
      { expect: /entering the console of vm0/, send: 'f', timeoutS: 60 },
      { expect: /fuzz: (\d+ hypercalls|FAIL)[^\n]*\n/, send: 'u', timeoutS: 400 },
      { expect: /user VM fuzzing done[\s\S]*dm: destroy_vm = [^\n]*\n|dm: FAIL[^\n]*\n/, send: '\u0000', timeoutS: 600 },
      { expect: /back in the hypervisor shell[\s\S]*ACRN:\\>/, send: 'exit_stats\r', timeoutS: 60 },
      { expect: /heap in use: \d+ bytes/, send: 'vm_list\r', timeoutS: 60 },
      { expect: /VM_ID[\s\S]*ACRN:\\>/, send: 'vm_console 0\r', timeoutS: 60 },
      { expect: /entering the console of vm0/, send: 'l', timeoutS: 60 },
      { expect: /dm: lifecycle done|dm: FAIL/, send: '\u0000', timeoutS: 300 },
      { expect: /back in the hypervisor shell[\s\S]*ACRN:\\>/, send: 'poweroff\r', timeoutS: 60 },
    ]);
    expectNoPanic(r);
    const fuzz = /fuzz: (\d+) hypercalls, (\d+) returned 0, (\d+) refused/.exec(r.serial);
    expect(fuzz !== null && Number(fuzz[1]) === 20000, `the Service VM made its 20,000 hypercalls and lived (${fuzz?.[0] ?? 'no summary'})`, r);
    expect(vmLines(r.serial, 'post1').includes('user VM: fuzz 20000 vmcalls, 20000 #UD'), 'the fuzzing User VM\'s 20,000 VMCALLs each came back to it as #UD', r);
    const heaps = [...r.serial.matchAll(/TypeScript heap in use: (\d+) bytes/g)].map((m) => Number(m[1]));
    expect(heaps.length === 2 && heaps[0] === heaps[1], `the TypeScript heap did not grow over the fuzzing (${heaps.join(' -> ')})`, r);
    const exits = [...r.serial.matchAll(/VM exits: (\d+)/g)].map((m) => Number(m[1]));
    expect(exits.length === 2 && exits[1] - exits[0] >= 40000, `every hypercall and VMCALL was a VM exit (${exits.join(' -> ')})`, r);
    const rows = Object.values(listing(r.serial, 0));
    const legal = ['powered off', 'created', 'running', 'ready to power off', 'paused'];
    expect(rows.length >= 1 && rows.every((v) => legal.includes(v.state)), `every VM is in a legal state (${rows.map((v) => v.state).join(', ')})`, r);
    expect(listing(r.serial, 0).service?.state === 'running', 'the Service VM still runs', r);
    const dm = vmLines(r.serial, 'service').filter((l) => l.startsWith('dm: '));
    expect(dm[dm.length - 1] === 'dm: lifecycle done' && !dm.some((l) => /FAIL/.test(l)) && dm.filter((l) => / = /.test(l)).every((l) => l.endsWith(' = 0x0')),
      'afterwards a User VM lifecycle still runs clean', r);
    expect(vmLines(r.serial, 'post1').filter((l) => /^user VM: (hello|resumed)/.test(l)).length === 6, 'the User VM printed at each of its six starts', r);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }],
  ['the User VM\'s devices served by the Service VM\'s device model; its own reset and S5 handled by the DM; pause, reset and destroy in a burst of requests (issues 9, 7)', async () => {
    const iso = isoWithOptions('scenario-dm', '', [
      [compileScenario('service-dm-1cpu'), 'scenario'], ['guests/service.bin', 'Linux_bzImage'], ['guests/user.bin', 'uservm'],
    ]);
    const r = await bochs('dm-requests', iso, 1, [
      { expect: /\[service\] command line: [^\n]*\n/, send: 'vm_console 0\r', timeoutS: 300 },
      { expect: /entering the console of vm0/, send: 'd', timeoutS: 60 },
      { expect: /dm: served [^\n]*\n|dm: FAIL[^\n]*\n/, send: 'w', timeoutS: 300 },
      { expect: /dm: the User VM powered itself off[^\n]*\n|dm: FAIL[^\n]*\n/, send: 'x', timeoutS: 300 },
      { expect: /dm: burst: [^\n]*\n|dm: FAIL[^\n]*\n/, send: '\u0000', timeoutS: 400 },
      { expect: /back in the hypervisor shell[\s\S]*ACRN:\\>/, send: 'vm_list\r', timeoutS: 60 },
      { expect: /VM_ID[\s\S]*ACRN:\\>/, send: 'poweroff\r', timeoutS: 60 },
    ]);
    expectNoPanic(r);
    const user = vmLines(r.serial, 'post1');
    const dm = vmLines(r.serial, 'service').filter((l) => l.startsWith('dm: '));
    expect(!dm.some((l) => /FAIL/.test(l)) && !user.some((l) => /FAIL/.test(l)), `no failure reported (${[...dm, ...user].filter((l) => /FAIL/.test(l)).join('; ')})`, r);
    // d: PCI enumeration through the DM, config write/read, 64 ordered writes, 64 sequence reads, the echo port at each size, MMIO
    expect(user.includes('user VM: pci 00:3.0 id ace08086') && user.filter((l) => l.startsWith('user VM: pci ')).length === 1,
      `the User VM enumerated bus 0 and found the DM's one function, 00:03.0 8086:ACE0 (${user.filter((l) => l.startsWith('user VM: pci')).join(' | ')})`, r);
    expect(user.includes('user VM: device model devices ok'), 'every value the User VM read came from the DM (config register, sequence, echo at 1/2/4 bytes, MMIO dword and word)', r);
    expect(dm.includes('dm: served 171 requests: 64 in order, 0 repeated, 0 lost, 64 seq reads, 34 pci, 3 mmio, 0 other, refused 0'),
      `the DM served every request, the writes in order (${dm.find((l) => l.startsWith('dm: served'))})`, r);
    // w: 0xCF9 and S5 are the DM's: pause, clear, reset, start; pause, clear, destroy
    const at = (line) => user.indexOf(line);
    expect(at('user VM: resetting through 0xCF9') >= 0 && at('user VM: hello, run 1') > at('user VM: resetting through 0xCF9')
      && at('user VM: powering off (S5)') > at('user VM: hello, run 1') && !user.some((l) => /still running/.test(l)),
      `the User VM reset itself, ran again from its reset vector, then powered itself off, never running on after either (${user.join(' | ')})`, r);
    expect(dm.includes('dm: the User VM reset itself (0xCF9): paused, requests cleared, reset, started')
      && dm.includes('dm: the User VM powered itself off (S5): paused, requests cleared, destroyed'), 'the DM got both power events as I/O requests and acted as ACRN\'s DM does', r);
    // x: a burst of writes; pause (requests cleared) -> reset; reset with one in flight; destroy with one in flight
    const burst = /dm: burst: (\d+) in order, (\d+) repeated, (\d+) lost; in flight at pause, reset, destroy: (\d+) (\d+) (\d+); slots left busy: (\d+)\ndm: bad completions refused: (\d+) of 5/.exec(dm.join('\n'));
    expect(burst !== null && Number(burst[1]) >= 900 && Number(burst[3]) === 0 && Number(burst[7]) === 0,
      `the burst lost nothing and left no slot busy (${burst?.[0]})`, r);
    expect(burst !== null && burst[4] === '1' && burst[5] === '1' && burst[6] === '1' && burst[2] === '1',
      'a request was in flight at each of pause, reset and destroy; the one served after the pause came again after the reset (at-least-once)', r);
    expect(burst !== null && burst[8] === '5', 'bad DM input (a slot not COMPLETE, vCPUs the VM lacks, garbage in the slot) was refused every time, the hypervisor unhurt', r);
    const rows = listing(r.serial, 0);
    expect(rows.service?.state === 'running' && rows.post1 === undefined, 'afterwards the Service VM runs and the User VM is gone', r);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }],
  ['acrnctl on the Service VM\'s console: list, start, pause, continue, reset, stop a User VM on the other pCPU, each state in vm_list (issue 9)', async () => {
    const iso = isoWithOptions('scenario-dm-2cpu', '', [
      [compileScenario('service-dm-2cpu'), 'scenario'], ['guests/service.bin', 'Linux_bzImage'], ['guests/user.bin', 'uservm'],
    ]);
    const ctl = (word, answer) => [
      { expect: /entering the console of vm0|back in the hypervisor shell[\s\S]*ACRN:\\>|VM_ID[\s\S]*ACRN:\\>/, send: 'vm_console 0\r', timeoutS: 120 },
      { expect: /entering the console of vm0/, send: 'a', timeoutS: 60 },
      { expect: /acrnctl> /, send: `${word}\r`, timeoutS: 60 },
      { expect: answer, send: '\u0000', timeoutS: 300 },
      { expect: /back in the hypervisor shell[\s\S]*ACRN:\\>/, send: 'vm_list\r', timeoutS: 60 },
    ];
    const r = await bochs('acrnctl', iso, 2, [
      { expect: /\[service\] command line: [^\n]*\n/, send: 'vm_list\r', timeoutS: 300 },
      ...ctl('list', /acrnctl: post1 stopped/),
      ...ctl('start', /user VM: device model devices ok|FAIL/),
      ...ctl('pause', /acrnctl: post1 paused/),
      ...ctl('continue', /user VM: resumed, run 1/),
      ...ctl('reset', /user VM: hello, run 1/),
      ...ctl('stop', /acrnctl: post1 stopped/),
      ...ctl('bogus', /acrnctl: unknown command/),
      { expect: /VM_ID[\s\S]*ACRN:\\>/, send: 'poweroff\r', timeoutS: 60 },
    ]);
    expectNoPanic(r);
    const states = [1, 2, 3, 4, 5, 6].map((i) => listing(r.serial, i).post1?.state ?? 'gone');
    expect(JSON.stringify(states) === JSON.stringify(['gone', 'running', 'paused', 'running', 'running', 'gone']),
      `vm_list after list, start, pause, continue, reset, stop: ${states.join(', ')}`, r);
    const user = vmLines(r.serial, 'post1');
    expect(user.includes('user VM: device model devices ok') && user.includes('user VM: pci 00:3.0 id ace08086'),
      'started on pCPU 1, the User VM drove the DM\'s devices (upcalls across pCPUs)', r);
    const said = vmLines(r.serial, 'service').filter((l) => l.startsWith('acrnctl: '));
    expect(JSON.stringify(said.slice(0, 7)) === JSON.stringify(['acrnctl: post1 stopped', 'acrnctl: post1 started', 'acrnctl: post1 paused',
      'acrnctl: post1 continued', 'acrnctl: post1 reset', 'acrnctl: post1 stopped', 'acrnctl: unknown command; commands: list start stop pause continue reset']),
      `acrnctl answered each command (${said.join(' | ')})`, r);
    expect(r.status === 'pass', 'poweroff ends Bochs with a pass status', r);
  }],
];

const ok = await runCases('scenario', cases, 3);
process.exit(ok ? 0 : 1);
