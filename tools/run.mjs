// make run: boot the ISO with the serial console on this terminal. Uses
// QEMU+KVM when this host offers nested VMX, else Bochs (which emulates VMX).
// Keys go to the hypervisor's COM1; Ctrl-] quits.
import { bochsAvailable, kvmNestedVmxAvailable, runEmulator } from '../test/qemu/harness.mjs';

const iso = process.argv[2] || 'build/hv.iso';
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
