// Bochs tier (Bochs emulates VMX): the same ISO reports VMX present with its
// capability MSRs, and the shell on COM1 takes scripted serial input, echoes
// it and powers the machine off, which ends Bochs with a pass status.
// Runs on two CPU models: corei7_skylake_x (VMCS revision 0x2b) and tigerlake (4).
import path from 'node:path';
import { runEmulator } from './harness.mjs';
import { expect, expectInOrder, HV_ISO, ROOT, runCases } from './cases.mjs';

const MODELS = [['corei7_skylake_x', 0x2b], ['tigerlake', 0x4]];

function bootReportCase(model, revision) {
  return [`${model}: VMX capability report and serial shell`, async () => {
    const r = await runEmulator({
      emulator: 'bochs', iso: HV_ISO, cpuModel: model, timeoutS: 180,
      logDir: path.join(ROOT, 'build', 'test-logs', 'bochs', model),
      script: [
        { expect: 'ACRN:\\>', send: 'echo serial input reaches the hypervisor\r', timeoutS: 120 },
        { expect: /\r\nserial input reaches the hypervisor\r\n/, send: 'version\r', timeoutS: 30 },
        { expect: /ACRN-TS \d+\.\d+\.\d+\r\n/, send: 'poweroff\r', timeoutS: 30 },
      ],
    });
    expectInOrder(r.serial, [
      /^ACRN-TS hypervisor \d+\.\d+\.\d+ - /,
      'CPU: GenuineIntel',
      /Memory map \(e820, \d+ entries\):/,
      'VMX: CPUID.1:ECX.VMX = 1',
      /IA32_FEATURE_CONTROL +0x[0-9a-f]{16}/,
      /IA32_VMX_BASIC +0x[0-9a-f]{16}/,
      `VMCS revision 0x${revision.toString(16)}, region 4096 bytes, memory type 6, TRUE_* control MSRs in use`,
      /pin-based controls +must be 1: 0x[0-9a-f]{8}  may be 1: 0x[0-9a-f]{8}/,
      /proc-based controls +must be 1: 0x[0-9a-f]{8}  may be 1: 0x[0-9a-f]{8}/,
      /secondary proc controls +must be 1: 0x[0-9a-f]{8}  may be 1: 0x[0-9a-f]{8}/,
      /VM-exit controls +must be 1/,
      /VM-entry controls +must be 1/,
      /IA32_VMX_EPT_VPID_CAP +0x[0-9a-f]{16}/,
      'VMX: available',
      'ACRN:\\>echo serial input reaches the hypervisor',
      'ACRN:\\>version',
      'ACRN:\\>poweroff',
      'Powering off.',
    ]);
    expect(!/VMX not available/.test(r.serial), 'VMX is reported present', r);
    expect(r.status === 'pass', 'the poweroff command ends Bochs with a pass status', r);
  }];
}

const ok = await runCases('bochs', MODELS.map(([m, rev]) => bootReportCase(m, rev)), 2);
process.exit(ok ? 0 : 1);
