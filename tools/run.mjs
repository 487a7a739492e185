// make run: boot the hypervisor with the default scenario's VMs, the serial
// console on this terminal. Uses QEMU+KVM when this host offers nested VMX,
// else Bochs (which emulates VMX). Keys go to the hypervisor's COM1; Ctrl-]
// quits.
//
// The ISO carries the GRUB modules the built-in scenario names (scenarios/
// default.ts): `prelaunched` (guests/prelaunched.asm) and `Linux_bzImage`,
// by default guests/service.asm, a minimal bzImage standing in for Linux,
// and `uservm`, its ramdisk: the User VM image its device model launches
// (guests/user.asm); KERNEL=<bzImage> [INITRD=<initrd>] (make run KERNEL=...)
// boots that kernel as the Service VM instead, SCENARIO=<image.bin>
// (tools/scenario.mjs -o) overrides the scenario.
import fs from 'node:fs';
import path from 'node:path';
import { bochsAvailable, kvmNestedVmxAvailable, runEmulator } from '../test/qemu/harness.mjs';
import { isoWithOptions } from '../test/qemu/iso-variant.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
/** A file the user names, copied under build/run-modules/ (the ISO builder takes paths under build/). */
function stage(file, name) {
  const dir = path.join(root, 'build', 'run-modules');
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.resolve(file), path.join(dir, name));
  return `run-modules/${name}`;
}
const modules = [];
if (process.env.SCENARIO) modules.push([stage(process.env.SCENARIO, 'scenario.bin'), 'scenario']);
modules.push(['guests/prelaunched.bin', 'prelaunched']);
modules.push([process.env.KERNEL ? stage(process.env.KERNEL, 'bzImage') : 'guests/service.bin', 'Linux_bzImage']);
// The Service VM's ramdisk: the test Service VM's User VM image, or INITRD= for a real kernel.
modules.push([process.env.INITRD ? stage(process.env.INITRD, 'initrd') : 'guests/user.bin', 'uservm']);
const iso = process.argv[2] || isoWithOptions('run', '', modules);
const CTRL_RIGHT_BRACKET = 0x1d;
const kvm = kvmNestedVmxAvailable();
if (!kvm && !bochsAvailable()) {
  console.error('make run: no VMX-capable emulator: this host has no nested VMX for KVM, and Bochs is not installed (make deps)');
  process.exit(1);
}
const how = kvm ? 'QEMU+KVM with nested VMX (-cpu host)' : 'Bochs (emulated VMX, corei7_skylake_x); no nested VMX on this host';
process.stderr.write(`make run: booting ${iso} in ${how}. Ctrl-] quits.\n`);

let quit = () => process.exit(0);
const result = await runEmulator({
  emulator: kvm ? 'qemu' : 'bochs',
  iso,
  cpuModel: kvm ? 'host' : 'corei7_skylake_x',
  extraArgs: kvm ? ['-accel', 'kvm'] : [],
  memMiB: 1024,
  cpus: 2, // the default scenario places its VMs on pCPUs 0 and 1
  timeoutS: 7 * 24 * 3600,
  logDir: 'build/run',
  onSerial: (text) => process.stdout.write(text),
  onConnect: (write) => {
    if (!process.stdin.isTTY) {
      process.stdin.on('data', (b) => write(b));
      return;
    }
    process.stdin.setRawMode(true);
    process.stdin.on('data', (b) => {
      if (b.includes(CTRL_RIGHT_BRACKET)) quit();
      else write(b);
    });
    quit = () => {
      process.stdin.setRawMode(false);
      process.stderr.write('\nmake run: quit\n');
      process.exit(0);
    };
  },
});
if (process.stdin.isTTY) process.stdin.setRawMode(false);
process.stderr.write(`\nmake run: the machine stopped (${result.status}: ${result.reason})\n`);
process.exit(0);
