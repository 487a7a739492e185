// The shell's VM commands (hv/shell.ts): vm_pause/vm_start/vm_reset/
// vm_shutdown drive the lifecycle APIs and report refusals in words;
// vcpu_dumpreg prints a vCPU's registers; loglevel shows and sets the level.
// Input is typed into the simulated COM1, output read back from it.
import { describe, expect, it } from 'vitest';
import { COM1_BASE, Uart16550 } from '../../arch/x86/serial';
import * as F from '../../arch/x86/vmcs';
import { LOG_INFO, log } from '../../hv/log';
import { Shell } from '../../hv/shell';
import { PcpuLoop } from '../../hv/vm/vcpu-run';
import { VM_CREATED, VM_PAUSED, VM_POWERED_OFF, VM_RUNNING } from '../../hv/vm/vm';
import { type Fixture, makeFixture, RBX, setField, setReg } from './vm-fixture';

function shell(f: Fixture): Shell {
  const sh = new Shell(new Uart16550(COM1_BASE));
  sh.vms = f.vms;
  sh.loop = new PcpuLoop(f.sched, 0);
  return sh;
}

/** Type a command line and let the shell take every byte. */
function run(f: Fixture, sh: Shell, line: string): string {
  const before = f.m.output().length;
  f.m.type(line + '\r');
  for (let i = 0; i <= line.length; i++) sh.poll();
  return f.m.output().slice(before);
}

describe('shell VM lifecycle commands (ours)', () => {
  it('pause, reset, start, pause and shutdown a VM, with the ACRN transitions logged', () => {
    const f = makeFixture();
    const sh = shell(f);
    expect(f.vm.state).toBe(VM_RUNNING);
    expect(run(f, sh, 'vm_pause 0')).toContain('vm0 (test): running -> paused');
    expect(f.vm.state).toBe(VM_PAUSED);
    expect(run(f, sh, 'vm_reset 0')).toContain('vm0 (test): paused -> created');
    expect(f.vm.state).toBe(VM_CREATED);
    expect(run(f, sh, 'vm_start 0')).toContain('vm0 (test): created -> running');
    expect(f.vm.state).toBe(VM_RUNNING);
    run(f, sh, 'vm_pause 0');
    expect(run(f, sh, 'vm_shutdown 0')).toContain('vm0 (test): paused -> powered off');
    expect(f.vm.state).toBe(VM_POWERED_OFF);
  });

  it('refusals are one line in words; the state does not change', () => {
    const f = makeFixture();
    const sh = shell(f);
    expect(run(f, sh, 'vm_shutdown 0')).toContain('error: vm_shutdown: vm0 is running; only a paused VM is shut down (vm_pause it first)');
    expect(run(f, sh, 'vm_reset 0')).toContain('error: vm_reset: vm0 is running; only a paused VM is reset (vm_pause it first)');
    expect(run(f, sh, 'vm_start 0')).toContain('error: vm_start: vm0 is running; only a created VM starts');
    expect(run(f, sh, 'vm_pause 9')).toContain('error: vm_pause: give the id of a VM that exists (see vm_list)');
    expect(run(f, sh, 'vm_pause x')).toContain('error: vm_pause: give the id of a VM that exists (see vm_list)');
    expect(f.vm.state).toBe(VM_RUNNING);
  });
});

describe('vcpu_dumpreg and loglevel', () => {
  it('vcpu_dumpreg prints the GPRs from the context page and RIP/CR0 from the vCPU\'s VMCS', () => {
    const f = makeFixture();
    const sh = shell(f);
    setReg(f, RBX, 0x89abcdef, 0x01234567);
    setField(f.m, F.GUEST_RIP, 0, 0x100042);
    const out = run(f, sh, 'vcpu_dumpreg 0 0');
    expect(out).toContain('RBX 0x0123456789abcdef');
    expect(out).toContain('RIP 0x0000000000100042');
    expect(out).toMatch(/CR0 0x00000000800[0-9a-f]{5}/);
    expect(run(f, sh, 'vcpu_dumpreg 0 3')).toContain('error: vcpu_dumpreg: give a vCPU id the VM has (see vcpu_list)');
  });

  it('loglevel shows the level, sets 1-4 and refuses anything else', () => {
    const f = makeFixture();
    const sh = shell(f);
    expect(run(f, sh, 'loglevel')).toContain('log level 3');
    expect(run(f, sh, 'loglevel 4')).toContain('log level 4');
    expect(log.level).toBe(4);
    expect(run(f, sh, 'loglevel 7')).toContain('error: loglevel: give a level from 1 (errors only) to 4 (debug)');
    log.level = LOG_INFO;
  });
});
