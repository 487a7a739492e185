// The boot-time scenario reader (hv/scenario.ts): what the tool writes reads
// back field for field, a hostile image (truncated at every length, any byte
// changed, any field out of range, random bytes) is refused with one message
// and never throws, GRUB modules are found by tag and fall back to the
// built-in default, and the reader keeps to the porffor coding rules.
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import type { CharSink } from '../../arch/x86/serial';
import { LOG_ERROR, LOG_INFO, Logger, log } from '../../hv/log';
import {
  BytesSource, type ByteSource, loadBootScenario, makeDefaultScenarioSource, ModuleSource, Scenario, SCENARIO_CRC_AT,
  SCENARIO_ERRORS, SCENARIO_FROM_DEFAULT, SCENARIO_FROM_MODULE, SCENARIO_HEADER_SIZE, SCENARIO_MAGIC, SCENARIO_MAX_BOOTARGS,
  SCENARIO_MAX_BYTES, SCENARIO_MAX_NAME, SCENARIO_MAX_PCPUS, SCENARIO_MAX_REGIONS, SCENARIO_MAX_TAG, SCENARIO_MAX_VCPUS,
  SCENARIO_MAX_VMS, SCENARIO_MAX_VPCI, SCENARIO_MAX_VUARTS, SCENARIO_REGION_SIZE, SCENARIO_VERSION, SCENARIO_VM_SIZE,
  SCENARIO_VPCI_SIZE, SCENARIO_VUART_SIZE, SCN_E_CHECKSUM, SCN_E_HEADER_SIZE, SCN_E_MAGIC, SCN_E_SHORT, SCN_E_SIZE,
  SCN_E_STRAY_RECORDS, SCN_E_VERSION, SCN_KERNEL_BZIMAGE, SCN_KERNEL_ELF, SCN_KERNEL_RAW, SCN_NO_BDF, SCN_NO_TARGET,
  SCN_POST_LAUNCHED, SCN_PRE_LAUNCHED, SCN_SERVICE_VM, SCN_SEVERITY_RTVM, SCN_SEVERITY_SAFETY_VM, SCN_SEVERITY_SERVICE_VM,
  SCN_SEVERITY_STANDARD_VM, scenarioCrc32, scenarioModuleByTag,
} from '../../hv/scenario';
import { VUARTS_PER_VM } from '../../hv/vm/vm-devices';
import { CONFIG_MAX_VM_NUM } from '../../hv/vm/vm-table';
import { MAX_VCPUS_PER_VM } from '../../hv/vm/vm';
import * as format from '../../scenarios/compile';
import { compileScenario, encodeScenario, type NScenario, sealImage } from '../../scenarios/compile';
import defaultScenario from '../../scenarios/default';
import * as types from '../../scenarios/types';
import type { Scenario as ScenarioConfig } from '../../scenarios/types';
import { baseMachine } from './machines';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A scenario that uses every field: 8 VMs, fixed and allocated memory above 4 GiB, all kernel types, links, pass-through. */
const rich: ScenarioConfig = {
  name: 'rich one',
  board: {
    name: 'big',
    pcpus: 4,
    memory: [
      { base: 0, size: 0x9f000, type: 'usable' },
      { base: 0x100000, size: 0x7ff00000, type: 'usable' },
      { base: 0x100000000, size: 4 * GiB, type: 'usable' },
      { base: 0xfec00000, size: 0x1000, type: 'reserved' },
    ],
    reserved: [{ base: 0, size: 68 * MiB, what: 'hypervisor' }],
    pciDevices: ['00:1f.3', '02:00.0'],
  },
  vms: [
    {
      name: 'safety', loadOrder: 'PRE_LAUNCHED_VM', severity: 'SEVERITY_SAFETY_VM', cpuAffinity: 0b100,
      memory: [{ gpa: 0, size: 32 * MiB, hpa: 0x10000000 }, { gpa: 0x100000000, size: 64 * MiB, hpa: 0x120000000 }],
      kernel: { type: 'elf', module: 'zephyr', bootargs: 'a=b', ramdisk: 'zinitrd', ramdiskGpa: 0x1000000 },
      vuarts: [
        { index: 0, type: 'console', base: 0x3f8, irq: 4 },
        { index: 1, type: 'connected', base: 0x2f8, irq: 3, target: { vm: 'rt', vuart: 1 } },
        { index: 2, type: 'connected', base: 0x3e8, irq: 6, target: { vm: 'service', vuart: 3 } },
      ],
      vpci: [{ type: 'hostbridge' }, { type: 'passthrough', pbdf: '00:1f.3', vbdf: '00:05.0' }],
    },
    {
      name: 'rt', loadOrder: 'PRE_LAUNCHED_VM', severity: 'SEVERITY_RTVM', cpuAffinity: 0b1000, vcpus: 1,
      memory: [{ gpa: 0, size: 16 * MiB }],
      kernel: { type: 'raw64', module: 'rtos', loadGpa: 0x200000, entryGpa: 0x200400 },
      vuarts: [{ index: 0, type: 'console', base: 0x3f8, irq: 4 }, { index: 1, type: 'connected', base: 0x2f8, irq: 3, target: { vm: 'safety', vuart: 1 } }],
    },
    {
      name: 'service', loadOrder: 'SERVICE_VM', severity: 'SEVERITY_SERVICE_VM', cpuAffinity: 0b11,
      kernel: { type: 'bzImage', module: 'Linux_bzImage', ramdisk: 'Linux_initrd', bootargs: 'console=ttyS0 root=/dev/ram0 '.repeat(20) },
      vuarts: [{ index: 0, type: 'console', base: 0x3f8, irq: 4 }, { index: 3, type: 'connected', base: 0x2e8, irq: 7, target: { vm: 'safety', vuart: 2 } }],
    },
    ...[1, 2, 3, 4, 5].map((n) => ({
      name: `post${n}`, loadOrder: 'POST_LAUNCHED_VM' as const, severity: 'SEVERITY_STANDARD_VM' as const,
      cpuAffinity: n % 2 === 0 ? 0b11 : 0b1, vcpus: n % 2 === 0 ? 2 : 1,
      memory: [{ gpa: 0, size: n * 64 * MiB }],
      vuarts: [{ index: 0, type: 'console' as const, base: 0x3f8, irq: 4 }],
      vpci: n === 5 ? [{ type: 'passthrough' as const, pbdf: '02:00.0' }] : [],
    })),
  ],
};

function compiled(s: ScenarioConfig): { image: Uint8Array; model: NScenario } {
  const r = compileScenario(s);
  expect(r.errors).toEqual([]);
  return { image: r.image as Uint8Array, model: r.model as NScenario };
}

const dflt = compiled(defaultScenario);
const big = compiled(rich);

/** A Logger whose output is kept as text. */
class TextSink implements CharSink {
  text = '';
  putc(c: number): void {
    this.text += String.fromCharCode(c);
  }
}

function errorText(sc: Scenario): string {
  const sink = new TextSink();
  const out = new Logger();
  out.attach(sink);
  sc.printError(out, LOG_INFO);
  return sink.text.trimEnd();
}

/** Read `bytes` (or its first `len`); 'accepted' or the one-line message. Never throws. */
function readText(bytes: Uint8Array, len = bytes.length): string {
  const sc = new Scenario();
  return sc.read(new BytesSource(bytes, len)) ? 'accepted' : errorText(sc);
}

/** What is wrong with an image the reader accepted ('' when it is sound). */
function soundness(sc: Scenario): string {
  if (!sc.valid || sc.vmCount < 1 || sc.vmCount > SCENARIO_MAX_VMS) return `valid ${sc.valid}, ${sc.vmCount} VMs`;
  let services = 0;
  for (let i = 0; i < sc.vmCount; i++) {
    const vm = sc.vms[i];
    const where = `vm ${i}`;
    if (vm.nameLen < 1 || vm.nameLen > SCENARIO_MAX_NAME || vm.nameOff + vm.nameLen >= sc.size) return `${where} name`;
    if (vm.bootargsOff + vm.bootargsLen >= sc.size || vm.bootargsLen > SCENARIO_MAX_BOOTARGS) return `${where} bootargs`;
    if (vm.loadOrder > 2) return `${where} load order`;
    if (vm.loadOrder === SCN_SERVICE_VM) services++;
    if (vm.vcpuCount < 1 || vm.vcpuCount > SCENARIO_MAX_VCPUS) return `${where} vcpus`;
    const last = vm.pcpuOfVcpu(vm.vcpuCount - 1);
    if (last < 0 || last >= sc.pcpuCount) return `${where} affinity`;
    if (vm.regionCount > SCENARIO_MAX_REGIONS) return `${where} regions`;
    for (let k = 0; k < vm.regionCount; k++) {
      if (vm.regionSize(k) <= 0 || vm.regionGpa(k) % 4096 !== 0 || vm.regionSize(k) % 4096 !== 0) return `${where} region ${k}`;
      for (let j = 0; j < k; j++) {
        if (vm.regionGpa(k) < vm.regionGpa(j) + vm.regionSize(j) && vm.regionGpa(j) < vm.regionGpa(k) + vm.regionSize(k)) return `${where} region ${k} overlap`;
      }
    }
    for (let k = 0; k < vm.vuartCount; k++) {
      if (vm.vuartTargetVm(k) === SCN_NO_TARGET) continue;
      if (vm.vuartTargetVm(k) >= sc.vmCount) return `${where} vuart ${k} target`;
      const peer = sc.vms[vm.vuartTargetVm(k)];
      const slot = peer.vuartSlot(vm.vuartTargetVuart(k));
      if (slot < 0 || peer.vuartTargetVm(slot) !== i) return `${where} vuart ${k} link`;
    }
  }
  if (services > 1) return 'two Service VMs';
  const sink = new TextSink();
  const out = new Logger();
  out.attach(sink);
  sc.printSummary(out, LOG_INFO);
  return /^scenario .*: \d VMs/.test(sink.text) ? '' : 'summary';
}

function expectSound(sc: Scenario): void {
  expect(soundness(sc)).toBe('');
}

/** The reader's records hold exactly what the tool encoded. */
function expectSameAsModel(sc: Scenario, model: NScenario): void {
  expect(sc.valid).toBe(true);
  expect(sc.vmCount).toBe(model.vms.length);
  expect(sc.pcpuCount).toBe(model.pcpus);
  expect(sc.stringIs(sc.nameOff, sc.nameLen, model.name)).toBe(true);
  model.vms.forEach((m, i) => {
    const vm = sc.vms[i];
    expect(sc.vmNameIs(i, m.name)).toBe(true);
    expect(sc.findVm(m.name)).toBe(i);
    expect([vm.loadOrder, vm.severity, vm.kernelType, vm.vcpuCount]).toEqual([m.loadOrder, m.severity, m.kernelType, m.vcpus]);
    expect(vm.affinityHi * 2 ** 32 + vm.affinityLo).toBe(m.affinity);
    expect(sc.stringIs(vm.kernelModOff, vm.kernelModLen, m.kernelModule)).toBe(true);
    expect(sc.stringIs(vm.ramdiskModOff, vm.ramdiskModLen, m.ramdisk)).toBe(true);
    expect(sc.stringIs(vm.bootargsOff, vm.bootargsLen, m.bootargs)).toBe(true);
    expect([vm.kernelLoadGpa, vm.kernelEntryGpa, vm.ramdiskLoadGpa]).toEqual([m.loadGpa, m.entryGpa, m.ramdiskGpa]);
    expect(vm.regionCount).toBe(m.regions.length);
    m.regions.forEach((r, k) => {
      expect([vm.regionGpa(k), vm.regionSize(k), vm.regionHpaFixed(k), vm.regionHpa(k)]).toEqual([r.gpa, r.size, r.fixed, r.fixed ? r.hpa : 0]);
    });
    expect(vm.vuartCount).toBe(m.vuarts.length);
    m.vuarts.forEach((u, k) => {
      expect([vm.vuartIndex(k), vm.vuartType(k), vm.vuartBase(k), vm.vuartIrq(k), vm.vuartTargetVm(k), vm.vuartTargetVuart(k)])
        .toEqual([u.index, u.type, u.base, u.irq, u.targetVm, u.targetVuart]);
      expect(vm.vuartSlot(u.index)).toBe(k);
    });
    expect(vm.vpciCount).toBe(m.vpci.length);
    m.vpci.forEach((d, k) => expect([vm.vpciType(k), vm.vpciVbdf(k), vm.vpciPbdf(k)]).toEqual([d.type, d.vbdf, d.pbdf]));
  });
}

describe('scenario reader: round trip through the tool', () => {
  it('the default scenario', () => {
    const sc = new Scenario();
    expect(sc.read(new BytesSource(dflt.image, dflt.image.length))).toBe(true);
    expectSameAsModel(sc, dflt.model);
    expectSound(sc);
    expect(sc.vms[0].loadOrder).toBe(SCN_PRE_LAUNCHED);
    expect(sc.vms[0].kernelType).toBe(SCN_KERNEL_RAW);
    expect(sc.vms[1].kernelType).toBe(SCN_KERNEL_BZIMAGE);
    expect(sc.vms[2].loadOrder).toBe(SCN_POST_LAUNCHED);
    expect(sc.vms[3].pcpuOfVcpu(0)).toBe(0);
    expect(sc.vms[3].pcpuOfVcpu(1)).toBe(1);
    expect(sc.vms[3].pcpuOfVcpu(2)).toBe(-1);
    expect(sc.findVm('nobody')).toBe(-1);
    expect(sc.vmNameIs(9, 'x')).toBe(false);
  });

  it('the built-in copy (hv/scenario-default.ts) reads as the default scenario', () => {
    const src = makeDefaultScenarioSource();
    expect(Array.from(src.bytes)).toEqual(Array.from(dflt.image));
    const sc = new Scenario();
    expect(sc.read(src)).toBe(true);
    expectSameAsModel(sc, dflt.model);
  });

  it('a scenario using every field', () => {
    const sc = new Scenario();
    expect(sc.read(new BytesSource(big.image, big.image.length))).toBe(true);
    expectSameAsModel(sc, big.model);
    expectSound(sc);
    const safety = sc.vms[0];
    expect(safety.severity).toBe(SCN_SEVERITY_SAFETY_VM);
    expect(safety.kernelType).toBe(SCN_KERNEL_ELF);
    expect(safety.regionHpa(1)).toBe(0x120000000);
    expect(safety.regionGpa(1)).toBe(0x100000000);
    expect(sc.vms[1].severity).toBe(SCN_SEVERITY_RTVM);
    expect(sc.vms[2].severity).toBe(SCN_SEVERITY_SERVICE_VM);
    expect(sc.vms[7].severity).toBe(SCN_SEVERITY_STANDARD_VM);
    expect(sc.vms[2].bootargsLen).toBe(580);
    expect(sc.vms[7].vpciPbdf(0)).toBe(0x200);
    expect(safety.vpciPbdf(0)).toBe(SCN_NO_BDF);
    const sink = new TextSink();
    const out = new Logger();
    out.attach(sink);
    sc.printSummary(out, LOG_INFO);
    expect(sink.text).toContain('scenario rich one: 8 VMs');
    expect(sink.text).toContain('  vm0 safety: pre-launched, severity 0x40, 1 vCPU(s) on 0x0000000000000004, kernel elf "zephyr" load 0x0 entry 0x0, ramdisk "zinitrd" at 0x1000000, bootargs "a=b"');
    expect(sink.text).toContain('    region 1: gpa 0x100000000 size 0x4000000 hpa 0x120000000');
    expect(sink.text).toContain('    vuart 2: port 0x3e8 irq 6 connected to vm2 vuart 3');
    expect(sink.text).toContain('    vpci 00:05.0 pass-through of 00:1f.3');
    expect(sink.text).toContain('    vpci 00:00.0 host bridge');
  });

  it('reading again replaces everything; a refused read leaves nothing valid', () => {
    const sc = new Scenario();
    expect(sc.read(new BytesSource(big.image, big.image.length))).toBe(true);
    expect(sc.read(new BytesSource(dflt.image, 10))).toBe(false);
    expect([sc.valid, sc.vmCount]).toEqual([false, 0]);
    expect(sc.findVm('safety')).toBe(-1);
    expect(sc.read(new BytesSource(dflt.image, dflt.image.length))).toBe(true);
    expectSameAsModel(sc, dflt.model);
    expect(sc.vms[4].regionCount).toBe(0);
  });
});

// ---- corrupted images ------------------------------------------------------------------

/** Edit a copy of an image, reseal its checksum, and read it. */
class Edit {
  readonly b: Uint8Array;
  constructor(image: Uint8Array) {
    this.b = image.slice();
  }
  r16(at: number): number {
    return this.b[at] | (this.b[at + 1] << 8);
  }
  r32(at: number): number {
    return (this.r16(at) + this.r16(at + 2) * 65536);
  }
  w8(at: number, v: number): this {
    this.b[at] = v & 0xff;
    return this;
  }
  w16(at: number, v: number): this {
    return this.w8(at, v).w8(at + 1, v >>> 8);
  }
  w32(at: number, v: number): this {
    return this.w16(at, v & 0xffff).w16(at + 2, Math.floor(v / 65536));
  }
  vm(i: number): number {
    return this.r32(0x20) + i * SCENARIO_VM_SIZE;
  }
  region(k: number): number {
    return this.r32(0x24) + k * SCENARIO_REGION_SIZE;
  }
  vuart(k: number): number {
    return this.r32(0x28) + k * SCENARIO_VUART_SIZE;
  }
  vpci(k: number): number {
    return this.r32(0x2c) + k * SCENARIO_VPCI_SIZE;
  }
  /** Copy the string reference at `from` to `to`. */
  ref(to: number, from: number): this {
    return this.w32(to, this.r32(from));
  }
  read(): string {
    sealImage(this.b);
    return readText(this.b);
  }
}

const D = (): Edit => new Edit(dflt.image);
const R = (): Edit => new Edit(big.image);

describe('scenario reader: every field out of range is refused with its message', () => {
  const cases: [string, () => string, string][] = [
    ['magic', () => D().w8(3, 0x44).read(), 'scenario: bad magic'],
    ['version', () => D().w16(4, 0).read(), 'scenario: unsupported version'],
    ['header size', () => D().w16(6, 48).read(), 'scenario: header size is not 64'],
    ['VM count 0', () => D().w16(0x10, 0).read(), 'scenario: VM count is not 1 to 8'],
    ['VM count 9', () => D().w16(0x10, 9).read(), 'scenario: VM count is not 1 to 8'],
    ['VM record size', () => D().w16(0x12, 64).read(), 'scenario: record sizes do not match version 1'],
    ['vpci record size', () => D().w16(0x1e, 16).read(), 'scenario: record sizes do not match version 1'],
    ['region count', () => D().w16(0x14, 65).read(), 'scenario: region, vuart or vpci count is too large'],
    ['vuart count', () => D().w16(0x18, 33).read(), 'scenario: region, vuart or vpci count is too large'],
    ['VM table misaligned', () => D().w32(0x20, 0x42).read(), 'scenario: VM table is misaligned or runs past the end'],
    ['VM table in the header', () => D().w32(0x20, 0x20).read(), 'scenario: VM table is misaligned or runs past the end'],
    ['VM table past the end', () => D().w32(0x20, 0xffffffc0).read(), 'scenario: VM table is misaligned or runs past the end'],
    ['region table', () => D().w32(0x24, 0x7ffffff0).read(), 'scenario: region table is misaligned or runs past the end'],
    ['vuart table', () => D().w32(0x28, dflt.image.length - 8).read(), 'scenario: vuart table is misaligned or runs past the end'],
    ['vpci table', () => D().w32(0x2c, 2).read(), 'scenario: vpci table is misaligned or runs past the end'],
    ['string table size 0', () => D().w32(0x34, 0).read(), 'scenario: string table is empty, runs past the end or does not start with NUL'],
    ['string table past the end', () => D().w32(0x34, 0x10000).read(), 'scenario: string table is empty, runs past the end or does not start with NUL'],
    ['string table without leading NUL', (e = D()) => e.w8(e.r32(0x30), 0x41).read(), 'scenario: string table is empty, runs past the end or does not start with NUL'],
    ['pCPUs 0', () => D().w16(0x38, 0).read(), 'scenario: board pCPU count is not 1 to 64'],
    ['pCPUs 65', () => D().w16(0x38, 65).read(), 'scenario: board pCPU count is not 1 to 64'],
    ['header reserved', () => D().w16(0x3a, 1).read(), 'scenario: reserved header field is not zero'],
    ['scenario name past the end', (e = D()) => e.w16(0x3c, e.r32(0x34)).read(), 'scenario: name runs past the end'],
    ['scenario name not NUL-terminated', () => D().w16(0x3e, 5).read(), 'scenario: name is not NUL-terminated'],
    ['VM name past the end', (e = D()) => e.w16(e.vm(2), 0xfff0).read(), 'scenario: VM 2 name runs past the end'],
    ['VM name not printable', (e = D()) => e.w8(e.r32(0x30) + e.r16(e.vm(3)), 0x7f).read(), 'scenario: VM 3 name has a byte that is not printable ASCII'],
    ['kernel module not printable', (e = D()) => e.w8(e.r32(0x30) + e.r16(e.vm(1) + 0x10) + 2, 0x19).read(),
      'scenario: VM 1 kernel module tag has a byte that is not printable ASCII'],
    ['ramdisk tag past the end', (e = D()) => e.w16(e.vm(1) + 0x16, 0x2000).read(), 'scenario: VM 1 ramdisk module tag runs past the end'],
    ['bootargs not NUL-terminated', (e = D()) => e.w16(e.vm(1) + 0x1a, 4).read(), 'scenario: VM 1 bootargs are not NUL-terminated'],
    ['kernel module past the end', (e = D()) => e.w16(e.vm(1) + 0x10, 0x3000).read(), 'scenario: VM 1 kernel module tag runs past the end'],
    ['kernel module not NUL-terminated', (e = D()) => e.w16(e.vm(1) + 0x12, 5).read(), 'scenario: VM 1 kernel module tag is not NUL-terminated'],
    ['ramdisk tag not NUL-terminated', (e = D()) => e.ref(e.vm(1) + 0x14, e.vm(1) + 0x10).w16(e.vm(1) + 0x16, 5).read(),
      'scenario: VM 1 ramdisk module tag is not NUL-terminated'],
    ['ramdisk tag not printable', (e = D()) => e.ref(e.vm(1) + 0x14, e.vm(1) + 0x18).w8(e.r32(0x30) + e.r16(e.vm(1) + 0x18) + 3, 9).read(),
      'scenario: VM 1 ramdisk module tag has a byte that is not printable ASCII'],
    ['bootargs past the end', (e = D()) => e.w16(e.vm(1) + 0x18, 0x3000).read(), 'scenario: VM 1 bootargs run past the end'],
    ['bootargs not printable', (e = D()) => e.w8(e.r32(0x30) + e.r16(e.vm(1) + 0x18) + 3, 9).read(), 'scenario: VM 1 bootargs have a byte that is not printable ASCII'],
    ['bootargs longer than 1023', () => readText(encodeScenario({ ...dflt.model, vms: dflt.model.vms.map((v, i) => (i === 1 ? { ...v, bootargs: 'x'.repeat(1024) } : v)) })),
      'scenario: VM 1 bootargs are longer than 1023 characters'],
    ['VM name of 16 characters', () => readText(encodeScenario({ ...dflt.model, vms: dflt.model.vms.map((v, i) => (i === 3 ? { ...v, name: 'p'.repeat(16) } : v)) })),
      'scenario: VM 3 name is empty or longer than 15 characters'],
    ['VM name empty', (e = D()) => e.w32(e.vm(0), 0).read(), 'scenario: VM 0 name is empty or longer than 15 characters'],
    ['VM name too long', (e = D()) => e.ref(e.vm(0), e.vm(1) + 0x18).read(), 'scenario: VM 0 name is empty or longer than 15 characters'],
    ['duplicate VM name', (e = D()) => e.ref(e.vm(1), e.vm(0)).read(), 'scenario: VM 1 name is the same as an earlier VM\'s'],
    ['load order', (e = D()) => e.w8(e.vm(0) + 4, 3).read(), 'scenario: VM 0 bad load order'],
    ['severity', (e = D()) => e.w8(e.vm(0) + 5, 0x11).read(), 'scenario: VM 0 bad severity'],
    ['Service VM severity', (e = D()) => e.w8(e.vm(1) + 5, 0x30).read(), 'scenario: VM 1 the Service VM\'s severity is not SEVERITY_SERVICE_VM'],
    ['SERVICE severity elsewhere', (e = D()) => e.w8(e.vm(0) + 5, 0x20).read(), 'scenario: VM 0 SEVERITY_SERVICE_VM is the Service VM\'s alone'],
    ['post-launched safety VM', (e = D()) => e.w8(e.vm(2) + 5, 0x40).read(), 'scenario: VM 2 a post-launched VM cannot be SEVERITY_SAFETY_VM'],
    ['second Service VM', (e = D()) => e.w8(e.vm(2) + 4, 1).w8(e.vm(2) + 5, 0x20).w8(e.vm(2) + 6, 1).ref(e.vm(2) + 0x10, e.vm(1) + 0x10).read(),
      'scenario: VM 2 is a second Service VM'],
    ['pre-launched after the Service VM', (e = D()) => e.w8(e.vm(2) + 4, 0).w8(e.vm(2) + 6, 2).ref(e.vm(2) + 0x10, e.vm(0) + 0x10).read(),
      'scenario: VM 2 pre-launched VM after the Service VM or a post-launched VM'],
    ['post-launched before the Service VM', (e = D()) => e.w8(e.vm(0) + 4, 2).w8(e.vm(0) + 6, 0).w32(e.vm(0) + 0x10, 0).read(),
      'scenario: VM 0 post-launched VM before the Service VM, or without one'],
    ['kernel type 4', (e = D()) => e.w8(e.vm(1) + 6, 4).read(), 'scenario: VM 1 kernel type is not bzImage, raw64 or elf'],
    ['kernel type 0', (e = D()) => e.w8(e.vm(0) + 6, 0).read(), 'scenario: VM 0 kernel type is not bzImage, raw64 or elf'],
    ['post-launched kernel', (e = D()) => e.w8(e.vm(3) + 6, 1).read(), 'scenario: VM 3 post-launched VM has a kernel, module or bootargs (the device model loads it)'],
    ['post-launched module', (e = D()) => e.ref(e.vm(3) + 0x10, e.vm(1) + 0x10).read(), 'scenario: VM 3 post-launched VM has a kernel, module or bootargs (the device model loads it)'],
    ['no module tag', (e = D()) => e.w32(e.vm(1) + 0x10, 0).read(), 'scenario: VM 1 module tag is empty or longer than 31 characters'],
    ['module tag too long', (e = D()) => e.ref(e.vm(1) + 0x10, e.vm(1) + 0x18).read(), 'scenario: VM 1 module tag is empty or longer than 31 characters'],
    ['ramdisk tag too long', (e = D()) => e.ref(e.vm(1) + 0x14, e.vm(1) + 0x18).read(), 'scenario: VM 1 module tag is empty or longer than 31 characters'],
    ['vCPUs 0', (e = D()) => e.w8(e.vm(0) + 7, 0).read(), 'scenario: VM 0 vCPU count is not 1 to 4'],
    ['vCPUs 5', (e = D()) => e.w8(e.vm(0) + 7, 5).read(), 'scenario: VM 0 vCPU count is not 1 to 4'],
    ['empty affinity', (e = D()) => e.w32(e.vm(0) + 8, 0).read(), 'scenario: VM 0 CPU affinity is empty or names a pCPU the board does not have'],
    ['affinity pCPU 32', (e = D()) => e.w32(e.vm(0) + 12, 1).read(), 'scenario: VM 0 CPU affinity is empty or names a pCPU the board does not have'],
    ['vCPUs beyond the affinity', (e = D()) => e.w8(e.vm(0) + 7, 2).read(), 'scenario: VM 0 more vCPUs than pCPUs in its affinity'],
    ['kernel address', (e = D()) => e.w32(e.vm(0) + 0x2c, 0x100000).read(), 'scenario: VM 0 kernel, entry or ramdisk address is beyond 2^52'],
    ['ramdisk address', (e = D()) => e.w32(e.vm(0) + 0x3c, 0xffffffff).read(), 'scenario: VM 0 kernel, entry or ramdisk address is beyond 2^52'],
    ['guest flags', (e = D()) => e.w8(e.vm(0) + 0x40, 1).read(), 'scenario: VM 0 reserved field is not zero'],
    ['VM reserved', (e = D()) => e.w8(e.vm(3) + 0x4f, 1).read(), 'scenario: VM 3 reserved field is not zero'],
    ['region list out of place', (e = D()) => e.w16(e.vm(0) + 0x1c, 1).read(), 'scenario: VM 0 region list is out of place or longer than 8'],
    ['region list too long', (e = D()) => e.w16(e.vm(0) + 0x1e, 9).read(), 'scenario: VM 0 region list is out of place or longer than 8'],
    ['pre-launched without memory', (e = D()) => e.w16(e.vm(0) + 0x1e, 0).read(), 'scenario: VM 0 pre-launched VM has no memory'],
    ['Service VM with memory', (e = D()) => e.w16(e.vm(1) + 0x1e, 1).read(), 'scenario: VM 1 Service VM has memory regions (it gets the host map)'],
    ['region beyond 2^52', (e = D()) => e.w32(e.region(0) + 4, 0x100000).read(), 'scenario: VM 0 region 0 reaches beyond 2^52'],
    ['region end beyond 2^52', (e = D()) => e.w32(e.region(0) + 4, 0xfffff).w32(e.region(0), 0xfffff000).read(), 'scenario: VM 0 region 0 reaches beyond 2^52'],
    ['region size hi', (e = D()) => e.w32(e.region(1) + 12, 0x100000).read(), 'scenario: VM 2 region 0 reaches beyond 2^52'],
    ['region misaligned', (e = D()) => e.w32(e.region(0), 0x800).read(), 'scenario: VM 0 region 0 is not 4 KiB aligned'],
    ['region size zero', (e = D()) => e.w32(e.region(0) + 8, 0).read(), 'scenario: VM 0 region 0 size is zero'],
    ['region flags', (e = D()) => e.w32(e.region(0) + 0x18, 2).read(), 'scenario: VM 0 region 0 flags or reserved field are not valid'],
    ['allocated region with an HPA', (e = D()) => e.w32(e.region(0) + 0x10, 0x1000).read(), 'scenario: VM 0 region 0 flags or reserved field are not valid'],
    ['region reserved', (e = D()) => e.w32(e.region(0) + 0x1c, 1).read(), 'scenario: VM 0 region 0 flags or reserved field are not valid'],
    ['fixed region of a post-launched VM', (e = D()) => e.w32(e.region(1) + 0x18, 1).read(),
      'scenario: VM 2 region 0 has a fixed host address but the VM is not pre-launched'],
    ['regions overlap', (e = R()) => e.w32(e.region(1) + 4, 0).read(), 'scenario: VM 0 region 1 overlaps an earlier region of the same VM'],
    ['fixed regions overlap', (e = R()) => e.w32(e.region(1) + 0x14, 0).w32(e.region(1) + 0x10, 0x11000000).read(),
      'scenario: VM 0 region 1 host range overlaps another fixed region'],
    ['fixed regions of two VMs overlap', (e = R()) => e.w32(e.region(2) + 0x18, 1).w32(e.region(2) + 0x10, 0x10800000).read(),
      'scenario: VM 1 region 0 host range overlaps another fixed region'],
    ['vuart list out of place', (e = D()) => e.w16(e.vm(0) + 0x20, 1).read(), 'scenario: VM 0 vuart list is out of place or longer than 4'],
    ['vuart list too long', (e = D()) => e.w16(e.vm(3) + 0x22, 5).read(), 'scenario: VM 3 vuart list is out of place or longer than 4'],
    ['vuart index', (e = D()) => e.w8(e.vuart(1), 4).read(), 'scenario: VM 0 vuart 1 index is not 0 to 3'],
    ['vuart index twice', (e = D()) => e.w8(e.vuart(1), 0).read(), 'scenario: VM 0 vuart 1 index is used twice'],
    ['vuart type', (e = D()) => e.w8(e.vuart(0) + 1, 2).read(), 'scenario: VM 0 vuart 0 type is not console or connected'],
    ['console not vuart 0', (e = D()) => e.w8(e.vuart(0), 3).read(), 'scenario: VM 0 vuart 0 console is not vuart 0 or has a target'],
    ['console with a target', (e = D()) => e.w8(e.vuart(0) + 5, 1).read(), 'scenario: VM 0 vuart 0 console is not vuart 0 or has a target'],
    ['connected vuart 0', (e = D()) => e.w8(e.vuart(0) + 1, 1).w8(e.vuart(0) + 5, 1).w8(e.vuart(0) + 6, 0).read(),
      'scenario: VM 0 vuart 0 connected vuart is vuart 0, or targets a missing VM or its own'],
    ['target VM missing', (e = D()) => e.w8(e.vuart(1) + 5, 4).read(), 'scenario: VM 0 vuart 1 connected vuart is vuart 0, or targets a missing VM or its own'],
    ['target VM itself', (e = D()) => e.w8(e.vuart(1) + 5, 0).read(), 'scenario: VM 0 vuart 1 connected vuart is vuart 0, or targets a missing VM or its own'],
    ['base port 0', (e = D()) => e.w16(e.vuart(0) + 2, 0).read(), 'scenario: VM 0 vuart 0 base port is not 0x1 to 0xfff8'],
    ['base port 0xfff9', (e = D()) => e.w16(e.vuart(0) + 2, 0xfff9).read(), 'scenario: VM 0 vuart 0 base port is not 0x1 to 0xfff8'],
    ['IRQ 2', (e = D()) => e.w8(e.vuart(0) + 4, 2).read(), 'scenario: VM 0 vuart 0 IRQ is not 1 or 3 to 47'],
    ['IRQ 48', (e = D()) => e.w8(e.vuart(0) + 4, 48).read(), 'scenario: VM 0 vuart 0 IRQ is not 1 or 3 to 47'],
    ['ports overlap', (e = D()) => e.w16(e.vuart(1) + 2, 0x3fc).read(), 'scenario: VM 0 vuart 1 ports overlap another vuart\'s'],
    ['vuart reserved', (e = D()) => e.w8(e.vuart(5) + 7, 1).read(), 'scenario: VM 3 vuart 0 reserved field is not zero'],
    ['target vuart missing', (e = D()) => e.w8(e.vuart(1) + 6, 3).read(), 'scenario: VM 0 vuart 1 target vuart does not exist'],
    ['link not symmetric', (e = D()) => e.w8(e.vuart(3) + 6, 2).read(), 'scenario: VM 0 vuart 1 target vuart is not connected back to it'],
    ['link to a console', (e = R()) => e.w8(e.vuart(1) + 6, 0).read(), 'scenario: VM 0 vuart 1 target vuart is not connected back to it'],
    ['vpci list too long', (e = D()) => e.w16(e.vm(0) + 0x26, 9).read(), 'scenario: VM 0 vpci list is out of place or longer than 8'],
    ['vpci list out of place', (e = D()) => e.w16(e.vm(2) + 0x24, 0).read(), 'scenario: VM 2 vpci list is out of place or longer than 8'],
    ['vpci type', (e = D()) => e.w8(e.vpci(0), 0).read(), 'scenario: VM 0 vpci 0 type is not hostbridge or passthrough'],
    ['host bridge in the Service VM', (e = D()) => e.w16(e.vm(0) + 0x26, 0).w16(e.vm(1) + 0x24, 0).w16(e.vm(1) + 0x26, 1).read(),
      'scenario: VM 1 vpci 0 host bridge in a VM that is not pre-launched'],
    ['host bridge with a pbdf', (e = D()) => e.w16(e.vpci(0) + 4, 0x10).read(), 'scenario: VM 0 vpci 0 physical BDF is missing, or given for the host bridge'],
    ['pass-through without a pbdf', (e = D()) => e.w8(e.vpci(0), 2).read(), 'scenario: VM 0 vpci 0 physical BDF is missing, or given for the host bridge'],
    ['pass-through in the Service VM', (e = D()) => e.w8(e.vpci(0), 2).w16(e.vpci(0) + 4, 0xfb)
      .w16(e.vm(0) + 0x26, 0).w16(e.vm(1) + 0x24, 0).w16(e.vm(1) + 0x26, 1).read(), 'scenario: VM 1 vpci 0 pass-through device in the Service VM'],
    ['vbdf twice', (e = R()) => e.w16(e.vpci(1) + 2, 0).read(), 'scenario: VM 0 vpci 1 virtual BDF is used twice'],
    ['pbdf twice', (e = R()) => e.w16(e.vpci(2) + 4, e.r16(e.vpci(1) + 4)).read(), 'scenario: VM 7 vpci 0 physical BDF is passed through twice'],
    ['vpci reserved', (e = D()) => e.w8(e.vpci(0) + 1, 1).read(), 'scenario: VM 0 vpci 0 reserved field is not zero'],
    ['stray records', () => D().w16(0x14, 4).read(), 'scenario: region, vuart or vpci records belong to no VM'],
  ];
  for (const [name, run, expected] of cases) it(name, () => expect(run()).toBe(expected));

  it('every message has a code, and every message is reached (here, or by the hostile-image tests)', () => {
    expect(SCENARIO_ERRORS.length).toBe(SCN_E_STRAY_RECORDS + 1);
    const used = new Set(cases.map((c) => c[2].replace(/^scenario: (VM \d+ )?((region|vuart|vpci) \d+ )?/, '')));
    const elsewhere = ['image is shorter than its 64-byte header', 'image is larger than 16 KiB', 'size field does not match the image length', 'checksum mismatch'];
    expect(SCENARIO_ERRORS.slice(1).filter((m) => !used.has(m) && !elsewhere.includes(m))).toEqual([]);
  });
});

describe('scenario reader: hostile images are refused without throwing', () => {
  it('truncated at every length', () => {
    for (const image of [dflt.image, big.image]) {
      const sc = new Scenario();
      for (let len = 0; len < image.length; len++) {
        expect(sc.read(new BytesSource(image, len))).toBe(false);
        expect(sc.errorCode).toBe(len < SCENARIO_HEADER_SIZE ? SCN_E_SHORT : SCN_E_SIZE);
        expect([sc.valid, sc.vmCount]).toEqual([false, 0]);
      }
      expect(sc.read(new BytesSource(image, image.length))).toBe(true);
    }
  });

  it('truncated images with a matching size field and checksum', () => {
    const sc = new Scenario();
    for (let len = SCENARIO_HEADER_SIZE; len < big.image.length; len++) {
      const e = new Edit(big.image.subarray(0, len));
      e.w32(8, len);
      sealImage(e.b);
      // Only the zero padding after the string table can go.
      const stringsEnd = e.r32(0x30) + e.r32(0x34);
      expect(sc.read(new BytesSource(e.b, len))).toBe(len >= stringsEnd);
      if (len < stringsEnd) expect(errorText(sc)).toMatch(/^scenario: /);
    }
  });

  it('any byte changed: refused by the checksum, or (resealed) refused or still sound', () => {
    for (const image of [dflt.image, big.image]) {
      const sc = new Scenario();
      const problems: string[] = [];
      let accepted = 0;
      for (let at = 0; at < image.length; at++) {
        const orig = image[at];
        for (const v of [0x00, 0xff, orig ^ 0x01, orig ^ 0x80, (orig + 1) & 0xff, 0x7f]) {
          if (v === orig) continue;
          const b = image.slice();
          b[at] = v;
          if (sc.read(new BytesSource(b, b.length))) problems.push(`byte ${at} = ${v} accepted without resealing`);
          else if (![SCN_E_MAGIC, SCN_E_VERSION, SCN_E_HEADER_SIZE, SCN_E_SIZE, SCN_E_CHECKSUM].includes(sc.errorCode)) {
            problems.push(`byte ${at} = ${v}: ${errorText(sc)}`);
          }
          if (at >= SCENARIO_CRC_AT && at < SCENARIO_CRC_AT + 4) continue;
          sealImage(b);
          if (sc.read(new BytesSource(b, b.length))) {
            accepted++;
            const why = soundness(sc);
            if (why !== '') problems.push(`byte ${at} = ${v} resealed: accepted but ${why}`);
          } else if (!/^scenario: [^\n]+$/.test(errorText(sc))) problems.push(`byte ${at} = ${v} resealed: ${errorText(sc)}`);
        }
      }
      expect(problems).toEqual([]);
      // Changes to names, bootargs, addresses, ports... can leave an image that is still well formed.
      expect(accepted).toBeGreaterThan(0);
    }
  }, 60000);

  it('10,000 seeded random images (random bytes; a valid header and checksum; the rich image with record bytes changed)', () => {
    let seed = 0x1badb002;
    const rand = (): number => {
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0);
    };
    const sc = new Scenario();
    const buf = new Uint8Array(4096);
    let accepted = 0;
    const problems: string[] = [];
    const codes = new Set<number>();
    for (let n = 0; n < 10000; n++) {
      let len = rand() % buf.length;
      for (let i = 0; i < len; i++) buf[i] = rand() & 0xff;
      if (n % 3 === 2) {
        // The rich image with a few record bytes set to small or random values, resealed.
        buf.set(big.image);
        len = big.image.length;
        const strings = big.image[0x30] | (big.image[0x31] << 8);
        for (let c = 1 + (rand() % 6); c > 0; c--) buf[SCENARIO_HEADER_SIZE + (rand() % (strings - SCENARIO_HEADER_SIZE))] = rand() % 2 ? rand() % 4 : rand() & 0xff;
        sealImage(buf.subarray(0, len));
      } else if (n % 3 === 1 && len >= SCENARIO_HEADER_SIZE) {
        const e = new Edit(buf.subarray(0, len));
        e.w32(0, SCENARIO_MAGIC).w16(4, SCENARIO_VERSION).w16(6, SCENARIO_HEADER_SIZE).w32(8, len).w16(0x10, 1 + (rand() % 8));
        e.w16(0x12, SCENARIO_VM_SIZE).w16(0x16, SCENARIO_REGION_SIZE).w16(0x1a, SCENARIO_VUART_SIZE).w16(0x1e, SCENARIO_VPCI_SIZE);
        e.w16(0x14, rand() % 16).w16(0x18, rand() % 16).w16(0x1c, rand() % 16);
        for (const at of [0x20, 0x24, 0x28, 0x2c, 0x30]) e.w32(at, 64 + 4 * (rand() % 64));
        e.w32(0x34, rand() % 512).w16(0x38, 1 + (rand() % 64)).w16(0x3a, 0).w32(0x3c, 0);
        if (e.r32(0x30) < len) e.w8(e.r32(0x30), 0);
        sealImage(e.b);
        buf.set(e.b);
      }
      let ok = false;
      try {
        ok = sc.read(new BytesSource(buf, len));
      } catch (e) {
        problems.push(`image ${n}: threw ${String(e)}`);
      }
      if (ok) {
        accepted++;
        const why = soundness(sc);
        if (why !== '') problems.push(`image ${n}: accepted but ${why}`);
      } else codes.add(sc.errorCode);
    }
    expect(problems).toEqual([]);
    // The sealed ones get past the header checks into the tables and records.
    expect(codes.size).toBeGreaterThan(25);
    expect(accepted).toBeGreaterThan(0);
  });

  it('an image larger than 16 KiB, and a source with a strange length', () => {
    const sc = new Scenario();
    const huge = new Uint8Array(SCENARIO_MAX_BYTES + 1);
    huge.set(dflt.image);
    expect(sc.read(new BytesSource(huge, huge.length))).toBe(false);
    expect(errorText(sc)).toBe('scenario: image is larger than 16 KiB');
    const weird: ByteSource = { length: () => NaN, byteAt: () => 0 };
    expect(sc.read(weird)).toBe(false);
    expect(errorText(sc)).toBe('scenario: image is shorter than its 64-byte header');
    const bytesBeyond: ByteSource = { length: () => dflt.image.length, byteAt: (i) => (i < dflt.image.length ? dflt.image[i] : 0x1ff) };
    expect(sc.read(bytesBeyond)).toBe(true);
  });
});

describe('scenario reader: GRUB modules and the boot fallback', () => {
  /** Capture what `log` prints. */
  function capture(): TextSink {
    const sink = new TextSink();
    log.attach(sink);
    return sink;
  }

  it('finds modules by tag (the first word of the module string)', () => {
    const m = baseMachine();
    m.addModule(0x6000000, new Uint8Array([1, 2, 3]), 'prelaunchedX');
    m.addModule(0x6001000, new Uint8Array([4, 5, 6]), 'prelaunched guest=long64');
    m.addModule(0x6002000, dflt.image, 'scenario');
    expect(scenarioModuleByTag('prelaunched')).toBe(1);
    expect(scenarioModuleByTag('scenario')).toBe(2);
    expect(scenarioModuleByTag('scen')).toBe(-1);
    const sc = new Scenario();
    expect(sc.read(makeDefaultScenarioSource())).toBe(true);
    expect(sc.findModule(sc.vms[0].kernelModOff, sc.vms[0].kernelModLen)).toBe(1);
    expect(sc.findModule(sc.vms[1].kernelModOff, sc.vms[1].kernelModLen)).toBe(-1);
    const src = new ModuleSource();
    expect(src.select(1)).toBe(true);
    expect([src.length(), src.byteAt(0), src.byteAt(2), src.byteAt(3), src.byteAt(-1)]).toEqual([3, 4, 6, 0, 0]);
    expect(src.select(7)).toBe(false);
    expect(src.length()).toBe(0);
  });

  it('a good `scenario` module overrides the built-in default', () => {
    const m = baseMachine();
    m.addModule(0x6000000, big.image, 'scenario');
    const out = capture();
    const sc = new Scenario();
    expect(loadBootScenario(sc, new ModuleSource(), makeDefaultScenarioSource())).toBe(SCENARIO_FROM_MODULE);
    expectSameAsModel(sc, big.model);
    expect(out.text).toMatch(/^scenario: read from GRUB module 0\nscenario rich one: 8 VMs/);
  });

  it('a bad module is refused with its message, then the built-in default is used', () => {
    const m = baseMachine();
    const bad = dflt.image.slice();
    bad[0] = 0;
    m.addModule(0x6000000, new Uint8Array([9]), 'other');
    m.addModule(0x6001000, bad, 'scenario from=test');
    const out = capture();
    const sc = new Scenario();
    expect(loadBootScenario(sc, new ModuleSource(), makeDefaultScenarioSource())).toBe(SCENARIO_FROM_DEFAULT);
    expectSameAsModel(sc, dflt.model);
    expect(out.text.split('\n').slice(0, 4)).toEqual([
      'error: scenario: bad magic',
      'error: scenario: the GRUB module is refused; using the built-in default',
      'scenario: built-in default',
      'scenario hybrid: 4 VMs, 680 bytes, board with 2 pCPUs',
    ]);
  });

  it('without a module, the built-in default', () => {
    baseMachine();
    const out = capture();
    const sc = new Scenario();
    expect(loadBootScenario(sc, new ModuleSource(), makeDefaultScenarioSource())).toBe(SCENARIO_FROM_DEFAULT);
    expect(out.text.startsWith('scenario: built-in default\n')).toBe(true);
    expect(errorText(sc)).toBe('scenario: no error');
  });

  it('printError names the VM and the item', () => {
    const sc = new Scenario();
    const e = D();
    e.w16(e.region(0) + 8, 0x123);
    sealImage(e.b);
    expect(sc.read(new BytesSource(e.b, e.b.length))).toBe(false);
    const sink = new TextSink();
    const out = new Logger();
    out.attach(sink);
    sc.printError(out, LOG_ERROR);
    expect(sink.text).toBe('error: scenario: VM 0 region 0 is not 4 KiB aligned\n');
  });
});

describe('scenario reader: agreement with the tool and the hypervisor', () => {
  it('format constants match scenarios/compile.ts, limits match scenarios/types.ts and hv/vm', () => {
    expect(SCENARIO_MAGIC).toBe(format.SCN_MAGIC.reduce((v, b, i) => v + b * 256 ** i, 0));
    expect([SCENARIO_VERSION, SCENARIO_HEADER_SIZE, SCENARIO_VM_SIZE, SCENARIO_REGION_SIZE, SCENARIO_VUART_SIZE, SCENARIO_VPCI_SIZE, SCENARIO_MAX_BYTES, SCENARIO_CRC_AT])
      .toEqual([format.SCN_VERSION, format.SCN_HEADER_SIZE, format.SCN_VM_SIZE, format.SCN_REGION_SIZE, format.SCN_VUART_SIZE, format.SCN_VPCI_SIZE, format.SCN_MAX_BYTES, format.SCN_CRC_AT]);
    expect([SCENARIO_MAX_VMS, SCENARIO_MAX_VCPUS, SCENARIO_MAX_VUARTS, SCENARIO_MAX_REGIONS, SCENARIO_MAX_VPCI, SCENARIO_MAX_PCPUS, SCENARIO_MAX_NAME, SCENARIO_MAX_TAG, SCENARIO_MAX_BOOTARGS])
      .toEqual([types.CONFIG_MAX_VM_NUM, types.MAX_VCPUS_PER_VM, types.MAX_VUARTS_PER_VM, types.MAX_REGIONS_PER_VM, types.MAX_VPCI_PER_VM, types.MAX_PCPUS,
        types.MAX_VM_NAME_LEN, types.MAX_MODULE_TAG_LEN, types.MAX_BOOTARGS_LEN]);
    expect([SCENARIO_MAX_VMS, SCENARIO_MAX_VCPUS, SCENARIO_MAX_VUARTS]).toEqual([CONFIG_MAX_VM_NUM, MAX_VCPUS_PER_VM, VUARTS_PER_VM]);
    expect([SCN_SEVERITY_SAFETY_VM, SCN_SEVERITY_RTVM, SCN_SEVERITY_SERVICE_VM, SCN_SEVERITY_STANDARD_VM])
      .toEqual([types.SEVERITIES.SEVERITY_SAFETY_VM, types.SEVERITIES.SEVERITY_RTVM, types.SEVERITIES.SEVERITY_SERVICE_VM, types.SEVERITIES.SEVERITY_STANDARD_VM]);
    expect([SCN_PRE_LAUNCHED, SCN_SERVICE_VM, SCN_POST_LAUNCHED]).toEqual([0, 1, 2]);
    expect([SCN_KERNEL_BZIMAGE, SCN_KERNEL_RAW, SCN_KERNEL_ELF]).toEqual([types.KERNEL_TYPES.bzImage, types.KERNEL_TYPES.raw64, types.KERNEL_TYPES.elf]);
    const bytes = new TextEncoder().encode('The quick brown fox');
    expect(scenarioCrc32(bytes, bytes.length, -1)).toBe(format.crc32(bytes, bytes.length));
    expect(scenarioCrc32(dflt.image, dflt.image.length, SCENARIO_CRC_AT)).toBe(format.crc32(dflt.image, dflt.image.length, SCENARIO_CRC_AT));
    expect(SCN_E_CHECKSUM).toBeGreaterThan(0);
    expect(SCN_E_STRAY_RECORDS).toBe(SCENARIO_ERRORS.length - 1);
  });

  it('porffor rules hold for hv/scenario.ts in the hypervisor bundle (P1, P3, P4/P5/P8, B6, B7)', () => {
    const bundle = buildSync({
      stdin: { contents: "import './hv/main';\nimport * as s from './hv/scenario';\nexport { s };\n", resolveDir: process.cwd(), loader: 'ts' },
      bundle: true, format: 'esm', write: false, target: 'es2022', define: { __NATIVE__: 'true' }, logLevel: 'silent',
    }).outputFiles[0].text;
    expect(bundle).toMatch(/Scenario = class|class Scenario /);
    const functions = new Set([...bundle.matchAll(/^(?:async )?function (\w+)\(/gm)].map((m) => m[1]));
    const methods = new Set([...bundle.matchAll(/^ {2}(?:static )?(\w+)\([^)]*\) \{/gm)].map((m) => m[1]));
    expect([...functions].filter((f) => methods.has(f) && f !== 'constructor')).toEqual([]);
    const re = /[\w$]+(?:\.[\w$]+|\[[^\]\n]*\])*\.[\w$]+\[([^\]\n]*)\]\s*(?:[-+*\/%&|^]|<<|>>>?)?=(?!=)|[\w$]+(?:\.[\w$]+)*\.[\w$]+\[([^\]\n]*)\](?:\+\+|--)/g;
    expect([...bundle.matchAll(re)].filter((m) => /[.[(]/.test(m[1] ?? m[2])).map((m) => m[0])).toEqual([]);
    expect(bundle).not.toMatch(/\bsuper\.\w+\(/);
    expect(bundle).not.toMatch(/\.entries\(\)/);
    expect(bundle).not.toMatch(/\bfinally\b/);
    expect(bundle).not.toMatch(/\b\d+n\b/);
  });
});
