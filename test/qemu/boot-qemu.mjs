// QEMU tier (software emulation: no VMX). Boots the ISO and checks the boot
// report, the memory map, the VMX-absent line and the panic paths.
import path from 'node:path';
import { runEmulator } from './harness.mjs';
import { isoWithOptions } from './iso-variant.mjs';
import { expect, expectInOrder, HV_ISO, ROOT, runCases } from './cases.mjs';

const EXIT_NO_VMX = 2, EXIT_PANIC = 1, EXIT_BAD_BOOT = 3;
const logs = (name) => path.join(ROOT, 'build', 'test-logs', 'qemu', name);

/** The status the guest wrote to isa-debug-exit (QEMU exits with (code << 1) | 1). */
function guestCode(r) {
  return typeof r.exitCode === 'number' && (r.exitCode & 1) === 1 ? r.exitCode >> 1 : -1;
}

function boot(name, iso, opts = {}) {
  return runEmulator({ emulator: 'qemu', iso, timeoutS: 60, logDir: logs(name), ...opts });
}

const cases = [
  ['boot report without VMX', async () => {
    const r = await boot('default', HV_ISO);
    expectInOrder(r.serial, [
      /^ACRN-TS hypervisor \d+\.\d+\.\d+ - /,
      /CPU: \w+, family 0x[0-9a-f]+ model 0x[0-9a-f]+ stepping \d+\r\n/,
      'CPU brand: QEMU Virtual CPU',
      'Command line: (empty)',
      /Memory map \(e820, \d+ entries\):/,
      /\[0x0000000000000000-0x000000000009fbff\] usable +639 KiB/,
      /\[0x0000000000100000-0x[0-9a-f]{16}\] usable /,
      /Usable RAM: \d+ KiB/,
      'Hypervisor-owned memory (never mapped into a guest):',
      /hypervisor image, \d+ KiB/,
      'TypeScript Wasm window, 48 MiB',
      'page pool, 16 MiB',
      'Page pool: 4096 of 4096 pages free',
      'VMX: CPUID.1:ECX.VMX = 0',
      /\r\nVMX not available: CPUID\.1:ECX\.VMX\[bit 5\] is 0/,
      'System halted.',
    ]);
    expect((r.serial.match(/VMX not available/g) || []).length === 1, 'exactly one VMX-not-available line', r);
    expect(guestCode(r) === EXIT_NO_VMX, 'stops with the no-VMX exit status', r);
  }],
  ['-smp 2 without VMX: the MADT lists 2 CPUs, the AP comes up, the hypervisor stops cleanly', async () => {
    const r = await boot('smp2', HV_ISO, { cpus: 2 });
    expectInOrder(r.serial, [/TSC: \d+ kHz \(calibrated against PIT channel 2\)/, /CPUs: 2 \(ACPI MADT\), APIC IDs 0 1/,
      'VMX not available', /SMP: 2 of 2 CPUs online/, 'System halted.']);
    expect(guestCode(r) === EXIT_NO_VMX, 'exit status 2 (no VMX), no hang', r);
  }],
  ['RAM above 4 GiB is in the map and the hypervisor still boots', async () => {
    const r = await boot('ram-5g', HV_ISO, { memMiB: 5120 });
    expectInOrder(r.serial, [/\[0x0000000100000000-0x[0-9a-f]{16}\] usable +\d+ MiB/, 'VMX not available']);
    expect(guestCode(r) === EXIT_NO_VMX, 'boots to the VMX check', r);
  }],
  ['too little RAM is refused with a message', async () => {
    const r = await boot('ram-small', HV_ISO, { memMiB: 40 });
    expectInOrder(r.serial, [/FATAL: too little RAM: no free \d+ MiB range for the TypeScript Wasm window/, 'System halted.']);
    expect(guestCode(r) === EXIT_BAD_BOOT, 'stops with the bad-boot exit status', r);
  }],
  ['#UD in the hypervisor prints a PANIC line', async () => {
    const r = await boot('panic-ud', isoWithOptions('selftest-ud', 'hv.selftest=ud'));
    expectInOrder(r.serial, ['Command line: hv.selftest=ud', 'selftest: faulting on purpose: ud',
      /PANIC: vector 6 \(#UD\), error code 0x0, RIP 0x[0-9a-f]+, CR2 0x[0-9a-f]+/]);
    expect(guestCode(r) === EXIT_PANIC, 'stops with the panic exit status', r);
  }],
  ['a page fault prints vector 14 with CR2', async () => {
    const r = await boot('panic-pf', isoWithOptions('selftest-pf', 'hv.selftest=pf'));
    expectInOrder(r.serial, [/PANIC: vector 14 \(#PF\), error code 0x0, RIP 0x[0-9a-f]+, CR2 0x[0-9a-f]+/]);
    const cr2 = /CR2 0x([0-9a-f]+)/.exec(r.serial);
    expect(cr2 && BigInt('0x' + cr2[1]) >= 0x100000000n, 'CR2 is the faulting address above the identity map', r);
    expect(guestCode(r) === EXIT_PANIC, 'stops with the panic exit status', r);
  }],
  ['a stack overflow hits the guard page, not memory below the stack', async () => {
    const r = await boot('panic-stack', isoWithOptions('selftest-stack', 'hv.selftest=stack'));
    expectInOrder(r.serial, [/PANIC: vector (14 \(#PF\)|8 \(#DF\)), error code 0x[0-9a-f]+, RIP/]);
    expect(guestCode(r) === EXIT_PANIC, 'stops with the panic exit status', r);
  }],
  ['a physical access to memory the hypervisor does not own panics with the address', async () => {
    const r = await boot('panic-peek', isoWithOptions('selftest-peek', 'hv.selftest=peek'));
    expectInOrder(r.serial, [/PANIC: phys_read: 0x[0-9a-f]+ \(4 bytes\) is not hypervisor-owned memory/]);
    expect(guestCode(r) === EXIT_PANIC, 'stops with the panic exit status', r);
  }],
];

const ok = await runCases('qemu', cases, 2);
process.exit(ok ? 0 : 1);
