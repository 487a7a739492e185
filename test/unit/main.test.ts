import { describe, expect, it } from 'vitest';
import { EXIT_NO_VMX, EXIT_POWEROFF, hvMain } from '../../hv/main';
import { bochsSkylakeX, qemuTcg } from './machines';

/** Index of each needle in order; fails if any is missing or out of order. */
function expectInOrder(text: string, needles: (string | RegExp)[]): void {
  let at = 0;
  for (const n of needles) {
    const rest = text.slice(at);
    const m = typeof n === 'string' ? rest.indexOf(n) : rest.search(n);
    expect(m, `"${n}" after offset ${at} in:\n${text}`).toBeGreaterThanOrEqual(0);
    at += m + 1;
  }
}

describe('hvMain boot report', () => {
  it('on a VMX machine prints banner, CPU, command line, memory map, VMX report, then runs the shell', () => {
    const m = bochsSkylakeX();
    m.cmdline = '/boot/hv.elf loglevel=3';
    m.type('version\recho hello there\rbogus\rvm_list\rpoweroff\r');
    expect(hvMain()).toBe(EXIT_POWEROFF);
    expect(m.exitCode).toBe(EXIT_POWEROFF);
    const out = m.output();
    expectInOrder(out, [
      /^ACRN-TS hypervisor \d+\.\d+\.\d+/,
      'CPU: GenuineIntel, family 0x6 model 0x55 stepping 4',
      'CPU brand: Intel(R) Core(TM) i9-7900X CPU @ 3.30GHz',
      'Command line: /boot/hv.elf loglevel=3',
      'Memory map (e820, 6 entries):',
      '  [0x0000000000000000-0x000000000009fbff] usable     639 KiB',
      '  [0x0000000000100000-0x000000001ffdffff] usable     523136 KiB',
      '  [0x000000001ffe0000-0x000000001fffffff] ACPI data  128 KiB',
      'Hypervisor-owned memory (never mapped into a guest):',
      'TypeScript Wasm window, 48 MiB',
      'Page pool: 64 of 64 pages free',
      'VMX: CPUID.1:ECX.VMX = 1',
      '  IA32_FEATURE_CONTROL      0x0000000000000005',
      '  IA32_VMX_BASIC            0x00d810000000002b',
      '  VMCS revision 0x2b, region 4096 bytes, memory type 6, TRUE_* control MSRs in use',
      '  proc-based controls       must be 1: 0x04006172  may be 1: 0xf7f9fffe',
      '  secondary proc controls   must be 1: 0x00000000  may be 1: 0x02177fff',
      '  IA32_VMX_EPT_VPID_CAP     0x00000f0106334141',
      'VMX: available',
      'VMX root operation on CPU 0; controls pin 0x0000007f proc 0x960061f2 proc2 0x001010ea exit 0x007feffb entry 0x0000d1fb',
      'ACRN:\\>version',
      'ACRN-TS 0.1.0',
      'ACRN:\\>echo hello there\nhello there',
      'error: unknown command "bogus"; type help',
      'ACRN:\\>vm_list\nVM_ID  VM_NAME           VM_STATE            LOAD_ORDER\nACRN:',
      'Powering off.',
    ]);
  });

  it('without VMX prints the one clear line and stops with EXIT_NO_VMX instead of hanging', () => {
    const m = qemuTcg();
    expect(hvMain()).toBe(EXIT_NO_VMX);
    const out = m.output();
    expect(out).toContain('CPU: AuthenticAMD');
    expect(out).toMatch(/\nVMX not available: CPUID\.1:ECX\.VMX\[bit 5\] is 0/);
    expect(out.match(/VMX not available/g)).toHaveLength(1);
    expect(out).toContain('System halted.');
    expect(out).not.toContain('ACRN:\\>');
    expect(m.exitCode).toBe(EXIT_NO_VMX);
  });

  it('names the firmware lock as the reason when IA32_FEATURE_CONTROL forbids VMX', () => {
    const m = bochsSkylakeX();
    m.setMsr(0x3a, 0, 1);
    expect(hvMain()).toBe(EXIT_NO_VMX);
    expect(m.output()).toContain('IA32_FEATURE_CONTROL      0x0000000000000001');
    expect(m.output()).toContain('VMX not available: IA32_FEATURE_CONTROL is locked');
  });

  it('runs a requested selftest fault after the memory map', () => {
    const m = bochsSkylakeX();
    m.cmdline = 'hv.selftest=pf';
    expect(() => hvMain()).toThrow('selftest fault 1');
    expect(m.output()).toContain('warning: selftest: faulting on purpose: pf');
  });
});
