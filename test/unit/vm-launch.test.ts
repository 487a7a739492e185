// The boot launch (hv/vm/vm-launch.ts) on the simulated machine: a scenario
// compiled by the scenario tool, passed as the `scenario` GRUB module, with a
// pre-launched VM and a Service VM whose raw images are other modules. Checks
// ACRN-ABI.md's memory rules: the pre-launched VM's RAM behind its EPT with
// ACRN's e820 template; the Service VM's identity EPT (UC, RAM WB) without
// the hypervisor's memory, the boot modules, the other VM's RAM, the LAPIC
// and IOAPIC pages and MMCFG, and its e820 table to match; the images and
// entry state; refusals that leave a VM powered off with a reason.
import { describe, expect, it } from 'vitest';
import { EPT_MT_UC, EPT_MT_WB } from '../../arch/x86/ept';
import { GUEST_RIP } from '../../arch/x86/vmcs';
import type { SimMachine } from '../../arch/x86/sim-machine';
import { compileScenario } from '../../scenarios/compile';
import type { Scenario } from '../../scenarios/types';
import { E820_RAM, E820_RESERVED } from '../../hv/mm';
import { VM_POWERED_OFF, VM_RUNNING } from '../../hv/vm/vm';
import { VmLauncher } from '../../hv/vm/vm-launch';
import { PcpuTable } from '../../hv/pcpu';
import { fieldLo, makeEnv } from './vm-fixture';

const MiB = 1024 * 1024;
const SERVICE_LOAD = 0x8000000;
const MMCFG = 0xb0000000;

function scenario(serviceModule = 'svc', preLoad = 0x100000): Scenario {
  return {
    name: 'launch-test',
    board: {
      name: 'sim', pcpus: 1,
      memory: [
        { base: 0, size: 0x9fc00, type: 'usable' }, { base: 0x100000, size: 0x1fee0000, type: 'usable' },
        { base: 0x1ffe0000, size: 0x20000, type: 'acpi' },
      ],
      reserved: [],
      modules: ['scenario', 'pre', 'svc', 'nosuch'],
    },
    vms: [
      {
        name: 'pre', loadOrder: 'PRE_LAUNCHED_VM', severity: 'SEVERITY_STANDARD_VM', cpuAffinity: 1, vcpus: 1,
        memory: [{ gpa: 0, size: 4 * MiB }],
        kernel: { type: 'raw64', module: 'pre', bootargs: '', loadGpa: preLoad, entryGpa: preLoad },
        vuarts: [{ index: 0, type: 'console', base: 0x3f8, irq: 4 }],
      },
      {
        name: 'service', loadOrder: 'SERVICE_VM', severity: 'SEVERITY_SERVICE_VM', cpuAffinity: 1, vcpus: 1,
        kernel: { type: 'raw64', module: serviceModule, bootargs: '', loadGpa: SERVICE_LOAD, entryGpa: SERVICE_LOAD + 0x10 },
        vuarts: [{ index: 0, type: 'console', base: 0x3f8, irq: 4 }],
      },
    ],
  };
}

const IMAGE_PRE = Uint8Array.from({ length: 64 }, (_, i) => 0x90 ^ i);
const IMAGE_SVC = Uint8Array.from({ length: 96 }, (_, i) => (i * 7) & 0xff);

function boot(s: Scenario, mmcfg = true, pcpus = 0) {
  const compiled = compileScenario(s, {});
  expect(compiled.errors).toEqual([]);
  const image = compiled.image as Uint8Array;
  const env = makeEnv((m: SimMachine) => {
    m.addModule(0x7000000, image, 'scenario');
    m.addModule(0x7010000, IMAGE_PRE, 'pre');
    m.addModule(0x7020000, IMAGE_SVC, 'svc');
    m.reserved.push({ base: 0x7000000, size: 0x30000, kind: 3 }); // the boot modules, as kmain records them
    m.setPool(0x5000000, 1024);
    m.ioapics = [{ id: 0, addr: 0xfec00000, gsiBase: 0, pins: 24 }, { id: 1, addr: 0xfec20000, gsiBase: 24, pins: 24 }];
    if (mmcfg) {
      m.mmcfgBase = MMCFG;
      m.mmcfgSize = 16 * MiB;
    }
  });
  env.platform.power.vms = env.vms;
  if (pcpus > 0) {
    const table = new PcpuTable(pcpus, 0);
    for (let i = 1; i < pcpus; i++) table.state[i] = 1; // online
    env.vms.pcpus = table;
  }
  const launcher = new VmLauncher(env.vms);
  expect(launcher.readScenario()).toBe(true);
  return { env, launcher, started: launcher.launchVms() };
}

describe('launching the scenario at boot', () => {
  it('starts the pre-launched VM and the Service VM in scenario order, with their images and entry', () => {
    const { env, started } = boot(scenario());
    expect(started).toBe(2);
    const [pre, svc] = env.vms.vms;
    expect([pre.name, pre.state, svc.name, svc.state]).toEqual(['pre', VM_RUNNING, 'service', VM_RUNNING]);
    const out = env.m.output();
    expect(out.indexOf('vm0 (pre): created -> running')).toBeLessThan(out.indexOf('vm1 (service): powered off -> created'));
    // Images where the scenario says, read back through the VMs' EPTs.
    const bytes = (vm: typeof pre, gpa: number, n: number) => Array.from({ length: n }, (_, i) => env.m.readByte(vm.ept.translate(gpa + i)));
    expect(bytes(pre, 0x100000, 64)).toEqual([...IMAGE_PRE]);
    expect(bytes(svc, SERVICE_LOAD, 96)).toEqual([...IMAGE_SVC]);
    expect(fieldLo(env.m, GUEST_RIP, svc.vcpus[0])).toBe(SERVICE_LOAD + 0x10);
    expect(svc.vcpus[0].gprLo(7)).toBe(1); // RDI = its vm id
  });

  it('the pre-launched VM: its RAM behind its EPT (WB), ACRN\'s e820 template', () => {
    const { env } = boot(scenario());
    const pre = env.vms.vms[0];
    expect(pre.ept.translate(0)).toBe(pre.ramHpa);
    expect(pre.ept.lastMemType & 7).toBe(EPT_MT_WB);
    expect(pre.ept.translate(4 * MiB)).toBe(-1);
    const e = pre.e820;
    const rows = Array.from({ length: e.count }, (_, i) => [e.base[i], e.size[i], e.type[i]]);
    expect(rows.slice(0, 3)).toEqual([[0, 0xa0000, E820_RAM], [0xa0000, 0x60000, E820_RESERVED], [0x100000, 3 * MiB, E820_RAM]]);
  });

  it('the Service VM: identity EPT, RAM WB, MMIO UC, and nothing it must not reach', () => {
    const { env } = boot(scenario());
    const [pre, svc] = env.vms.vms;
    const ept = svc.ept;
    const at = (gpa: number) => [ept.translate(gpa), ept.lastMemType & 7];
    expect(at(0x10000000 - 0x1000)).toEqual([0x10000000 - 0x1000, EPT_MT_WB]); // RAM, but below the carved RAM
    expect(at(0xe0000000)).toEqual([0xe0000000, EPT_MT_UC]); // the PCI hole
    expect(at(0x1ffe0000)).toEqual([0x1ffe0000, EPT_MT_UC]); // ACPI data: not RAM
    for (const [gpa, what] of [
      [0x100000, 'hypervisor image'], [0x2000000, 'Wasm window'], [0x5000000, 'page pool'], [0x7010000, 'a boot module'],
      [pre.ramHpa, 'the pre-launched VM\'s RAM'], [0xfee00000, 'LAPIC'], [0xfec00000, 'IOAPIC 0'], [0xfec20000, 'IOAPIC 1'], [MMCFG, 'MMCFG'], [MMCFG + 16 * MiB - 1, 'MMCFG end'],
    ] as [number, string][]) {
      expect([what, ept.translate(gpa)]).toEqual([what, -1]);
    }
    expect(ept.translate(MMCFG + 16 * MiB)).toBe(MMCFG + 16 * MiB);
    expect([svc.devices.vioapicCount, svc.devices.vioapics[1].base, svc.devices.gsiCount()]).toEqual([2, 0xfec20000, 48]); // one per I/O APIC
    // Its e820: the host map with those ranges reserved; its RAM declared to the access check.
    const e = svc.e820;
    const ramAt = (a: number) => {
      for (let i = 0; i < e.count; i++) if (a >= e.base[i] && a < e.base[i] + e.size[i]) return e.type[i];
      return 0;
    };
    expect([ramAt(0x8000000), ramAt(0x100000), ramAt(pre.ramHpa), ramAt(0x7010000)]).toEqual([E820_RAM, E820_RESERVED, E820_RESERVED, E820_RESERVED]);
    expect(env.m.guestRamDeclared.length).toBeGreaterThan(0);
  });

  it('a pre-launched region at a fixed host address: declared for the loader, and out of the Service VM\'s reach', () => {
    const fixed = scenario();
    fixed.vms[0] = { ...fixed.vms[0], memory: [{ gpa: 0, size: 4 * MiB, hpa: 0x9000000 }] };
    const { env, started } = boot(fixed);
    expect(started).toBe(2);
    const [pre, svc] = env.vms.vms;
    expect(pre.ept.translate(0x100000)).toBe(0x9100000);
    expect(env.m.readByte(0x9100000)).toBe(IMAGE_PRE[0]);
    expect(env.m.guestRamDeclared[0]).toEqual([0x9000000, 4 * MiB]);
    expect([svc.ept.translate(0x9000000), svc.ept.translate(0x93ff000), svc.ept.translate(0x9400000)]).toEqual([-1, -1, 0x9400000]);
  });

  it('without an MCFG nothing else is taken out', () => {
    const { env } = boot(scenario(), false);
    expect(env.vms.vms[1].ept.translate(MMCFG)).toBe(MMCFG);
  });

  it('each vCPU on its pCPU of the affinity (the i-th set bit); an offline one refuses the VM', () => {
    const two = scenario();
    two.board = { ...(two.board as NonNullable<Scenario['board']>), pcpus: 4 };
    two.vms[0] = { ...two.vms[0], cpuAffinity: 0b1010, vcpus: 2 };
    const { env, started } = boot(two, true, 4);
    expect(started).toBe(2);
    const pre = env.vms.vms[0];
    expect([pre.vcpus[0].sched.pcpu, pre.vcpus[1].sched.pcpu, pre.vcpus[0].pcpu, pre.vcpus[1].pcpu]).toEqual([1, 3, 1, 3]);
    expect(env.vms.pcpus?.scheds[3].assigned.slice(0, 1)).toEqual([pre.vcpus[1]]);
    expect(pre.ept.cpuMask).toBe(0b1010); // its EPT changes are flushed on both
    expect(env.m.output()).toContain('vm0 (pre): 3 MiB RAM, entry 0x100000, pCPUs 1 3');
    const offline = boot(two, true, 2); // pCPU 3 does not exist
    expect(offline.env.vms.vms[0].state).toBe(VM_POWERED_OFF);
    expect(offline.env.m.output()).toContain('vm0 (pre): not launched: a pCPU of its affinity is not online');
  });

  it('a VM that cannot be launched is left powered off with a reason; the others run', () => {
    const missing = boot(scenario('nosuch'));
    expect(missing.started).toBe(1);
    expect(missing.env.vms.vms[1].state).toBe(VM_POWERED_OFF);
    expect(missing.env.m.output()).toContain('service: no GRUB module tagged "nosuch" for its kernel');
    expect(missing.env.m.output()).toContain('vm1 (service): not launched: its images could not be loaded');
    // The pre-launched image would run past the end of its 4 MiB of RAM: the loader refuses, the Service VM still starts.
    const outside = boot(scenario('svc', 0x3fffe0));
    expect(outside.started).toBe(1);
    expect([outside.env.vms.vms[0].state, outside.env.vms.vms[1].state]).toEqual([VM_POWERED_OFF, VM_RUNNING]);
    expect(outside.env.m.output()).toContain('vm0 (pre): not launched: its images could not be loaded');
    expect(outside.env.m.output()).toContain('vm0 (pre): paused -> powered off');
  });
});
