// Guest power events (hv/vm/vm-power.ts) with ACRN's semantics
// (../shared/ACRN-ABI.md "VM states and API guards"): S5 through PM1a_CNT at
// 0x404, resets through 0xCF9, the keyboard controller and triple faults,
// the highest-severity rule, post-launched VMs left to the DM, and the system
// powering off once a guest's own power-off leaves every VM off.
import { describe, expect, it } from 'vitest';
import { ExitInfo } from '../../arch/x86/vmexit-info';
import { VCPU_STOPPED } from '../../hv/vm/vcpu';
import {
  type AcrnVm, LOAD_ORDER_POST, LOAD_ORDER_PRE, LOAD_ORDER_SERVICE, POWER_NONE, POWER_OFF, POWER_RESET,
  VM_POWERED_OFF, VM_READY_TO_POWEROFF, VM_RUNNING,
} from '../../hv/vm/vm';
import {
  createVm, SEVERITY_RTVM, SEVERITY_SERVICE_VM, SEVERITY_STANDARD_VM, startVm, VmCreateParams,
} from '../../hv/vm/vm-api';
import { actOnPowerRequest, highestSeverityVm } from '../../hv/vm/vm-power';
import { type Env, makeEnv, runExit } from './vm-fixture';

function running(env: Env, name: string, loadOrder: number, severity: number): AcrnVm {
  const vm = env.vms.freeSlot() as AcrnVm;
  const p = new VmCreateParams();
  p.name = name;
  p.loadOrder = loadOrder;
  p.severity = severity;
  p.vcpus = 1;
  expect(createVm(vm, p)).toBe(0);
  expect(startVm(vm)).toBe(0);
  return vm;
}

/** The hybrid shape: a pre-launched standard VM and the Service VM. */
function hybrid(): { env: Env; pre: AcrnVm; service: AcrnVm } {
  const env = makeEnv();
  env.platform.power.vms = env.vms;
  const pre = running(env, 'pre', LOAD_ORDER_PRE, SEVERITY_STANDARD_VM);
  const service = running(env, 'service', LOAD_ORDER_SERVICE, SEVERITY_SERVICE_VM);
  return { env, pre, service };
}

const SLP_EN = 1 << 13;
const S5 = (5 << 10) | SLP_EN;

describe('S5 through the virtual PM1a_CNT (0x404)', () => {
  it('stops the vCPUs at once; the loop then pauses and shuts the VM down', () => {
    const { env, pre, service } = hybrid();
    pre.io.pioWrite(0x404, 2, S5);
    expect(pre.powerRequest).toBe(POWER_OFF);
    expect(pre.vcpus[0].state).toBe(VCPU_STOPPED);
    actOnPowerRequest(pre);
    expect(pre.state).toBe(VM_POWERED_OFF);
    expect(pre.powerRequest).toBe(POWER_NONE);
    expect(service.state).toBe(VM_RUNNING);
    expect(env.platform.power.offRequested).toBe(false);
    expect(env.m.output()).toContain('vm0 (pre): S5 through PM1a_CNT: powering off');
    expect(env.m.output()).toContain('vm0 (pre): paused -> powered off');
  });

  it('another sleep type, or SLP_TYP 5 without SLP_EN, is not a power-off', () => {
    const { pre } = hybrid();
    pre.io.pioWrite(0x404, 2, (3 << 10) | SLP_EN);
    pre.io.pioWrite(0x404, 2, 5 << 10);
    expect(pre.powerRequest).toBe(POWER_NONE);
    expect(pre.io.pioRead(0x404, 2)).toBe(5 << 10); // SLP_EN reads 0
  });

  it('the last VM to power itself off powers the system off', () => {
    const { env, pre, service } = hybrid();
    pre.io.pioWrite(0x404, 2, S5);
    actOnPowerRequest(pre);
    service.io.pioWrite(0x404, 2, S5);
    actOnPowerRequest(service);
    expect(service.state).toBe(VM_POWERED_OFF);
    expect(env.platform.power.offRequested).toBe(true);
    expect(env.m.output()).toContain('every VM is powered off: powering the system off');
  });

  it('a post-launched VM\'s PM1a_CNT and reset ports are its device model\'s; a real-time one has PM1a_CNT and reaches READY_TO_POWEROFF', () => {
    const { env } = hybrid();
    const post = running(env, 'post', LOAD_ORDER_POST, SEVERITY_STANDARD_VM);
    expect([post.io.findPio(0x404), post.io.findPio(0xcf9), post.io.findPio(0x64)]).toEqual([-1, -1, -1]);
    post.io.pioWrite(0x404, 2, S5);
    expect(post.powerRequest).toBe(POWER_NONE);
    expect(post.state).toBe(VM_RUNNING);
    const rt = running(env, 'rt', LOAD_ORDER_POST, SEVERITY_RTVM);
    rt.io.pioWrite(0x404, 2, S5);
    actOnPowerRequest(rt);
    expect(rt.state).toBe(VM_READY_TO_POWEROFF);
    expect(env.m.output()).toContain('vm3 (rt): running -> ready to power off');
  });
});

describe('guest resets (0xCF9, keyboard controller, triple fault)', () => {
  it('a pre-launched VM that is not the highest-severity one is shut down, not relaunched', () => {
    const { env, pre, service } = hybrid();
    pre.io.pioWrite(0xcf9, 1, 0x06);
    expect(pre.powerRequest).toBe(POWER_RESET);
    actOnPowerRequest(pre);
    expect(pre.state).toBe(VM_POWERED_OFF);
    expect(service.state).toBe(VM_RUNNING);
    expect(env.m.strayWrites.filter(([port]) => port === 0xcf9)).toEqual([]);
    expect(env.platform.power.offRequested).toBe(false); // a reset is not a power-off of the last VM
  });

  it('0xCF9 without RST_CPU (bit 2) only latches bits 3:1', () => {
    const { pre } = hybrid();
    pre.io.pioWrite(0xcf9, 1, 0x0a);
    expect(pre.powerRequest).toBe(POWER_NONE);
    expect(pre.io.pioRead(0xcf9, 1)).toBe(0x0a);
  });

  it('the highest-severity VM still on resets the host (0xCF9 <- 0x06, then 0x64 <- 0xFE)', () => {
    const { env, pre, service } = hybrid();
    expect(highestSeverityVm(env.vms)).toBe(service);
    service.io.pioWrite(0x64, 1, 0xfe);
    expect(service.powerRequest).toBe(POWER_RESET);
    actOnPowerRequest(service);
    expect(env.m.strayWrites.filter(([port]) => port === 0xcf9 || port === 0x64)).toEqual([[0xcf9, 1, 0x02], [0xcf9, 1, 0x06], [0x64, 1, 0xfe]]);
    expect(env.m.output()).toContain('the highest-severity VM reset: the host resets');
    expect(pre.state).toBe(VM_RUNNING);
  });

  it('ties go to the lowest vm id, and powered-off VMs do not count', () => {
    const { env, pre, service } = hybrid();
    const other = running(env, 'other', LOAD_ORDER_PRE, SEVERITY_SERVICE_VM);
    expect(highestSeverityVm(env.vms)).toBe(service);
    service.io.pioWrite(0x404, 2, S5);
    actOnPowerRequest(service);
    expect(highestSeverityVm(env.vms)).toBe(other);
    expect(pre.state).toBe(VM_RUNNING);
  });

  it('the keyboard controller: only command 0xFE resets; non-Service VMs read all ones', () => {
    const { pre, service } = hybrid();
    pre.io.pioWrite(0x64, 1, 0xd1);
    expect(pre.powerRequest).toBe(POWER_NONE);
    expect(pre.io.pioRead(0x64, 1)).toBe(0xff);
    expect(service.io.pioRead(0x64, 1)).toBe(0xff); // the (simulated) physical status port
  });

  it('a triple fault of a scenario VM is a reset; the request is acted on once', () => {
    const { env, pre } = hybrid();
    const f = { m: env.m, exit: new ExitInfo(), vcpu: pre.vcpus[0] };
    runExit(f, { reason: 2, rip: 0x100020 });
    expect(pre.powerRequest).toBe(POWER_RESET);
    expect(env.m.output()).toContain('vm0 (pre): triple fault: the VM resets');
    pre.io.pioWrite(0x404, 2, S5); // a second event before the loop acted: ignored
    expect(pre.powerRequest).toBe(POWER_RESET);
    actOnPowerRequest(pre);
    expect(pre.state).toBe(VM_POWERED_OFF);
    actOnPowerRequest(pre);
    expect(pre.state).toBe(VM_POWERED_OFF);
  });
});
