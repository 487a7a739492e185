// The scenario tool (scenarios/compile.ts through tools/scenario.mjs): every
// error class gives one line naming the VM and the field, a bad scenario
// writes nothing and exits 1, and the built-in default (hv/scenario-default.ts)
// is what the tool makes of scenarios/default.ts today.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCENARIO_DEFAULT_HEX, SCENARIO_DEFAULT_SIZE } from '../../hv/scenario-default';
import { compileScenario, crc32, emitDefaultModule, parseBdf, parseNumber, type CompileOptions } from '../../scenarios/compile';
import defaultScenario from '../../scenarios/default';
import type { Board, Scenario, VmConfig } from '../../scenarios/types';

const root = path.resolve(__dirname, '../..');
const MiB = 1024 * 1024;

/** A fresh copy of the default scenario to break. */
function base(): Scenario {
  return structuredClone(defaultScenario);
}

function vm(s: Scenario, name: string): VmConfig {
  const found = s.vms.find((v) => v.name === name);
  if (found === undefined) throw new Error(`no VM ${name}`);
  return found;
}

function errorsOf(s: unknown, options: CompileOptions = {}): string[] {
  const r = compileScenario(s, options);
  expect(r.image === null).toBe(r.errors.length > 0);
  for (const e of r.errors) expect(e).not.toMatch(/\n/);
  return r.errors;
}

/** The scenario is refused, and one of its error lines matches `re`. */
function expectError(s: unknown, re: RegExp, options: CompileOptions = {}): void {
  const errors = errorsOf(s, options);
  expect(errors.some((e) => re.test(e)), `no error matching ${re} in:\n${errors.join('\n')}`).toBe(true);
}

/** A second pre-launched VM, before the Service VM. */
function addPre(s: Scenario, extra: Partial<VmConfig>): VmConfig {
  const pre: VmConfig = {
    name: 'pre2', loadOrder: 'PRE_LAUNCHED_VM', severity: 'SEVERITY_STANDARD_VM', cpuAffinity: 0b10, vcpus: 1,
    memory: [{ gpa: 0, size: 4 * MiB }], kernel: { type: 'raw64', module: 'prelaunched' }, ...extra,
  };
  s.vms.splice(1, 0, pre);
  return pre;
}

function runTool(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(root, 'tools/scenario.mjs'), ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('scenario tool: the default scenario', () => {
  it('validates and compiles to an image with a good checksum', () => {
    const r = compileScenario(base());
    expect(r.errors).toEqual([]);
    const image = r.image as Uint8Array;
    expect(image.length % 8).toBe(0);
    expect(String.fromCharCode(...image.subarray(0, 4))).toBe('ACSC');
    const stored = image[12] | (image[13] << 8) | (image[14] << 16) | (image[15] << 24);
    expect(stored >>> 0).toBe(crc32(image, image.length, 12));
    expect(r.model?.vms.map((v) => [v.name, v.loadOrder, v.severity])).toEqual([
      ['prelaunched', 0, 0x10], ['service', 1, 0x20], ['post1', 2, 0x10], ['post2', 2, 0x10],
    ]);
  });

  it('hv/scenario-default.ts is the image of scenarios/default.ts (regenerate: node tools/scenario.mjs scenarios/default.ts --emit-ts hv/scenario-default.ts)', () => {
    const image = compileScenario(base()).image as Uint8Array;
    expect(SCENARIO_DEFAULT_SIZE).toBe(image.length);
    expect(SCENARIO_DEFAULT_HEX.join('')).toBe(Buffer.from(image).toString('hex'));
    expect(fs.readFileSync(path.join(root, 'hv/scenario-default.ts'), 'utf8')).toBe(emitDefaultModule(image, 'scenarios/default.ts'));
  });

  it('CRC-32 is zlib\'s', () => {
    expect(crc32(new TextEncoder().encode('123456789'), 9)).toBe(0xcbf43926);
  });

  it('numbers and BDFs', () => {
    expect(parseNumber('0x100000')).toBe(0x100000);
    expect(parseNumber('16M')).toBe(16 * MiB);
    expect(parseNumber('4 KiB')).toBe(4096);
    expect(parseNumber('1G')).toBe(1024 * MiB);
    expect(parseNumber(-1)).toBeNaN();
    expect(parseNumber('0x')).toBeNaN();
    expect(parseNumber(1.5)).toBeNaN();
    expect(parseBdf('00:1f.3')).toBe((0x1f << 3) | 3);
    expect(parseBdf('ff:1f.7')).toBe(0xffff);
    expect(parseBdf('00:20.0')).toBe(-1);
    expect(parseBdf('0:1.8')).toBe(-1);
  });
});

describe('scenario tool: error classes', () => {
  it('overlapping memory within one VM', () => {
    const s = base();
    vm(s, 'prelaunched').memory = [{ gpa: 0, size: 16 * MiB }, { gpa: 8 * MiB, size: 16 * MiB }];
    expectError(s, /^VM "prelaunched" \(vm 0\): memory\[1\]: GPA \[0x800000-0x17fffff\] overlaps memory\[0\] \[0x0-0xffffff\]$/);
  });

  it('overlapping fixed host memory within one VM', () => {
    const s = base();
    vm(s, 'prelaunched').memory = [{ gpa: 0, size: 16 * MiB, hpa: 0x10000000 }, { gpa: 0x100000000, size: 16 * MiB, hpa: 0x10800000 }];
    expectError(s, /^VM "prelaunched" \(vm 0\): memory\[1\]: HPA \[0x10800000-0x117fffff\] overlaps memory\[0\]'s/);
  });

  it('overlapping memory between VMs', () => {
    const s = base();
    vm(s, 'prelaunched').memory = [{ gpa: 0, size: 16 * MiB, hpa: 0x10000000 }];
    addPre(s, { memory: [{ gpa: 0, size: 4 * MiB, hpa: 0x10f00000 }] });
    expectError(s, /^VM "pre2" \(vm 1\): memory\[0\]\.hpa: \[0x10f00000-0x112fffff\] overlaps VM "prelaunched" \(vm 0\) memory\[0\] \[0x10000000-0x10ffffff\]$/);
  });

  it('memory outside the host map, in the hypervisor\'s reservations, in the e820 template\'s holes, or too much of it', () => {
    let s = base();
    vm(s, 'prelaunched').memory = [{ gpa: 0, size: 16 * MiB, hpa: 0x80000000 }];
    expectError(s, /^VM "prelaunched" \(vm 0\): memory\[0\]\.hpa: \[0x80000000-0x80ffffff\] is outside the host memory map/);
    s = base();
    vm(s, 'prelaunched').memory = [{ gpa: 0, size: 16 * MiB, hpa: 0x3ff00000 }];
    expectError(s, /memory\[0\]\.hpa: \[0x3ff00000-0x40efffff\] is outside the host memory map/);
    s = base();
    vm(s, 'prelaunched').memory = [{ gpa: 0, size: 16 * MiB, hpa: 0x2000000 }];
    expectError(s, /memory\[0\]\.hpa: \[0x2000000-0x2ffffff\] overlaps hypervisor image, Wasm window and page pool/);
    s = base();
    vm(s, 'prelaunched').memory = [{ gpa: 0, size: 16 * MiB }, { gpa: 0x80000000, size: 16 * MiB }];
    expectError(s, /^VM "prelaunched" \(vm 0\): memory\[1\]: GPA \[0x80000000-0x80ffffff\] overlaps the pre-launched e820 template/);
    s = base();
    vm(s, 'post2').memory = [{ gpa: 0, size: 1024 * MiB }];
    expectError(s, /^scenario: memory: the VMs ask for 1104 MiB, more than the 955 MiB of host RAM/);
  });

  it('badly formed memory regions', () => {
    const cases: [VmConfig['memory'], RegExp][] = [
      [[{ gpa: 0, size: 0 }], /memory\[0\]: size is zero/],
      [[{ gpa: 0x800, size: 4096 }], /memory\[0\]: gpa, size and hpa must be multiples of 4 KiB/],
      [[{ gpa: 2 ** 52, size: 4096 }], /memory\[0\]: \[0x10000000000000-0x10000000000fff\] reaches past 2\^52/],
      [[{ gpa: -4096, size: 4096 }], /memory\[0\]: gpa, size and hpa must be non-negative integers/],
      [[], /memory: a pre-launched VM needs at least one region/],
      [Array.from({ length: 9 }, (_, i) => ({ gpa: i * 4096, size: 4096 })), /memory: 9 regions, more than 8/],
    ];
    for (const [memory, re] of cases) {
      const s = base();
      vm(s, 'prelaunched').memory = memory;
      expectError(s, re);
    }
    let s = base();
    vm(s, 'service').memory = [{ gpa: 0, size: 4096 }];
    expectError(s, /^VM "service" \(vm 1\): memory: the Service VM gets the host memory map/);
    s = base();
    vm(s, 'post1').memory = [{ gpa: 0, size: 4096, hpa: 0x10000000 }];
    expectError(s, /^VM "post1" \(vm 2\): memory\[0\]\.hpa: a fixed host address is for pre-launched VMs only/);
  });

  it('unknown kernel type, and other kernel problems', () => {
    let s = base();
    (vm(s, 'service').kernel as { type: string }).type = 'zImage';
    expectError(s, /^VM "service" \(vm 1\): kernel\.type: unknown kernel type "zImage" \(bzImage, raw64 or elf\)$/);
    s = base();
    delete vm(s, 'service').kernel;
    expectError(s, /^VM "service" \(vm 1\): kernel: missing/);
    s = base();
    vm(s, 'post1').kernel = { type: 'bzImage', module: 'Linux_bzImage' };
    expectError(s, /^VM "post1" \(vm 2\): kernel: a post-launched VM is loaded by the device model/);
    s = base();
    vm(s, 'prelaunched').kernel = { type: 'raw64', module: 'has space' };
    expectError(s, /kernel\.module: "has space" is not a module tag/);
    s = base();
    vm(s, 'prelaunched').kernel = { type: 'raw64', module: 'm'.repeat(32) };
    expectError(s, /kernel\.module: "m{32}" is not a module tag of 1-31/);
    s = base();
    vm(s, 'service').kernel = { type: 'bzImage', module: 'Linux_bzImage', bootargs: 'x'.repeat(1024) };
    expectError(s, /kernel\.bootargs: 1024 characters, more than 1023/);
    s = base();
    vm(s, 'service').kernel = { type: 'bzImage', module: 'Linux_bzImage', bootargs: 'tab\there' };
    expectError(s, /kernel\.bootargs: not a string of printable ASCII/);
    s = base();
    vm(s, 'prelaunched').kernel = { type: 'raw64', module: 'prelaunched', loadGpa: 0x2000000 };
    expectError(s, /^VM "prelaunched" \(vm 0\): kernel\.loadGpa: 0x2000000 is outside the VM's memory$/);
  });

  it('more vCPUs than pCPUs, or an affinity naming a pCPU that does not exist', () => {
    let s = base();
    vm(s, 'post2').vcpus = 3;
    expectError(s, /^VM "post2" \(vm 3\): vcpus: more vCPUs \(3\) than pCPUs \(the board has 2\)$/);
    s = base();
    vm(s, 'post1').vcpus = 2;
    expectError(s, /^VM "post1" \(vm 2\): vcpus: more vCPUs \(2\) than pCPUs in cpuAffinity 0x1 \(1\)$/);
    s = base();
    vm(s, 'post1').cpuAffinity = 0b100001;
    expectError(s, /^VM "post1" \(vm 2\): cpuAffinity: 0x21 names pCPU 5, which does not exist \(the board has 2 pCPUs\)$/);
    s = base();
    vm(s, 'post1').cpuAffinity = 0;
    expectError(s, /cpuAffinity: 0 is not a non-empty pCPU bit mask/);
    s = base();
    (s.board as Board).pcpus = 8;
    vm(s, 'post1').cpuAffinity = 0xff;
    vm(s, 'post1').vcpus = 5;
    expectError(s, /^VM "post1" \(vm 2\): vcpus: 5 is not 1-4 \(MAX_VCPUS_PER_VM\)$/);
  });

  it('a missing module, from --modules or the board\'s list', () => {
    expectError(base(), /^VM "service" \(vm 1\): kernel\.module: no module "Linux_bzImage" in the module list \(prelaunched, scenario\)$/,
      { modules: ['prelaunched', 'scenario'] });
    const s = base();
    vm(s, 'service').kernel = { type: 'bzImage', module: 'Linux_bzImage', ramdisk: 'initrd' };
    expectError(s, /^VM "service" \(vm 1\): kernel\.ramdisk: no module "initrd" in the module list/);
    // Without any module list, module names are not checked.
    const open = base();
    delete (open.board as Board).modules;
    vm(open, 'service').kernel = { type: 'bzImage', module: 'anything' };
    expect(errorsOf(open)).toEqual([]);
  });

  it('duplicate VM names, bad names', () => {
    let s = base();
    vm(s, 'post2').name = 'post1';
    expectError(s, /^VM "post1" \(vm 3\): name: duplicate VM name, also vm 2's$/);
    s = base();
    vm(s, 'post2').name = 'a-name-too-long-x';
    expectError(s, /^VM "a-name-too-long-x" \(vm 3\): name: "a-name-too-long-x" is not 1-15 characters/);
    s = base();
    vm(s, 'post2').name = 'has space';
    expectError(s, /name: "has space" is not 1-15 characters of \[A-Za-z0-9_.-\]/);
  });

  it('more than CONFIG_MAX_VM_NUM (8) VMs', () => {
    const s = base();
    for (let i = 3; i <= 7; i++) s.vms.push({ ...structuredClone(vm(s, 'post1')), name: `post${i}` });
    expect(s.vms.length).toBe(9);
    expect(errorsOf(s)).toEqual(['scenario: vms: 9 VMs, more than CONFIG_MAX_VM_NUM (8)']);
    s.vms.pop();
    expect(errorsOf(s)).toEqual([]);
  });

  it('vuart connections to a VM or vuart that does not exist, to itself, or not symmetric', () => {
    let s = base();
    vm(s, 'prelaunched').vuarts = [{ index: 1, type: 'connected', base: 0x2f8, irq: 3, target: { vm: 'nobody', vuart: 1 } }];
    expectError(s, /^VM "prelaunched" \(vm 0\): vuarts\[0\]\.target: VM "nobody" does not exist$/);
    s = base();
    vm(s, 'prelaunched').vuarts = [{ index: 1, type: 'connected', base: 0x2f8, irq: 3, target: { vm: 'service', vuart: 2 } }];
    expectError(s, /^VM "prelaunched" \(vm 0\): vuarts\[0\]\.target: VM "service" has no vuart 2$/);
    s = base();
    vm(s, 'prelaunched').vuarts = [{ index: 1, type: 'connected', base: 0x2f8, irq: 3, target: { vm: 'prelaunched', vuart: 1 } }];
    expectError(s, /vuarts\[0\]\.target: a vuart cannot be connected to its own VM$/);
    s = base();
    vm(s, 'service').vuarts = [{ index: 0, type: 'console', base: 0x3f8, irq: 4 }, { index: 1, type: 'connected', base: 0x2f8, irq: 3, target: { vm: 'post1', vuart: 0 } }];
    expectError(s, /^VM "prelaunched" \(vm 0\): vuarts\[1\]\.target: VM "service" vuart 1 is not connected back to vuart 1 of this VM$/);
    s = base();
    vm(s, 'post1').vuarts = [{ index: 1, type: 'connected', base: 0x2f8, irq: 3, target: { vm: 'service', vuart: 1 } }];
    expectError(s, /^VM "post1" \(vm 2\): vuarts\[0\]\.target: VM "service" vuart 1 is not connected back to vuart 1 of this VM$/);
  });

  it('badly formed vuarts', () => {
    const cases: [VmConfig['vuarts'], RegExp][] = [
      [[{ index: 4, type: 'console', base: 0x3f8, irq: 4 }], /vuarts\[0\]\.index: 4 is not 0-3/],
      [[{ index: 0, type: 'console', base: 0x3f8, irq: 4 }, { index: 0, type: 'console', base: 0x2f8, irq: 3 }], /vuarts\[1\]\.index: vuart 0 is configured twice/],
      [[{ index: 1, type: 'console', base: 0x3f8, irq: 4 }], /vuarts\[0\]\.type: the console is vuart 0/],
      [[{ index: 0, type: 'connected', base: 0x3f8, irq: 4, target: { vm: 'service', vuart: 1 } }], /vuarts\[0\]\.type: vuart 0 is the console/],
      [[{ index: 0, type: 'console', base: 0x3f8, irq: 2 }], /vuarts\[0\]\.irq: 2 is not an interrupt line 1 or 3-47/],
      [[{ index: 0, type: 'console', base: 0x10000, irq: 4 }], /vuarts\[0\]\.base: 65536 is not an I\/O port base/],
      [[{ index: 0, type: 'console', base: 0x3f8, irq: 4 }, { index: 1, type: 'connected', base: 0x3fc, irq: 3, target: { vm: 'service', vuart: 1 } }],
        /vuarts\[1\]\.base: ports \[0x3fc-0x403\] overlap vuart 0's \[0x3f8-0x3ff\]/],
      [[{ index: 0, type: 'serial', base: 0x3f8, irq: 4 } as never], /vuarts\[0\]\.type: "serial" is not console or connected/],
      [Array.from({ length: 5 }, (_, i) => ({ index: i, type: 'console' as const, base: 0x100 + i * 8, irq: 4 })), /vuarts: 5 vuarts, more than 4/],
    ];
    for (const [vuarts, re] of cases) {
      const s = base();
      vm(s, 'post1').vuarts = vuarts;
      expectError(s, re);
    }
  });

  it('load order and severity combinations (ACRN\'s rules)', () => {
    let s = base();
    vm(s, 'post1').loadOrder = 'SERVICE_VM';
    vm(s, 'post1').severity = 'SEVERITY_SERVICE_VM';
    delete vm(s, 'post1').memory;
    vm(s, 'post1').kernel = { type: 'bzImage', module: 'Linux_bzImage' };
    expectError(s, /^VM "post1" \(vm 2\): loadOrder: a second Service VM \(vm 1 is one\); at most one$/);
    s = base();
    vm(s, 'service').severity = 'SEVERITY_STANDARD_VM';
    expectError(s, /^VM "service" \(vm 1\): severity: the Service VM's severity is SEVERITY_SERVICE_VM$/);
    s = base();
    vm(s, 'prelaunched').severity = 'SEVERITY_SERVICE_VM';
    expectError(s, /^VM "prelaunched" \(vm 0\): severity: SEVERITY_SERVICE_VM is the Service VM's alone$/);
    s = base();
    vm(s, 'post1').severity = 'SEVERITY_SAFETY_VM';
    expectError(s, /^VM "post1" \(vm 2\): severity: a post-launched VM cannot be SEVERITY_SAFETY_VM$/);
    s = base();
    s.vms.reverse();
    expectError(s, /^VM "prelaunched" \(vm 3\): loadOrder: a pre-launched VM must come before the Service VM \(vm 2\)$/);
    expectError(s, /^VM "post2" \(vm 0\): loadOrder: a post-launched VM must come after the Service VM \(vm 2\)$/);
    s = base();
    s.vms.splice(1, 1);
    expectError(s, /^VM "post1" \(vm 1\): loadOrder: a post-launched VM needs a Service VM/);
    s = base();
    (vm(s, 'post1') as { loadOrder: string }).loadOrder = 'LATE_VM';
    expectError(s, /^VM "post1" \(vm 2\): loadOrder: bad load order "LATE_VM"/);
    s = base();
    (vm(s, 'post1') as { severity: string }).severity = 'SEVERITY_SOS';
    expectError(s, /^VM "post1" \(vm 2\): severity: bad severity "SEVERITY_SOS"/);
    s = base();
    vm(s, 'prelaunched').severity = 'SEVERITY_SAFETY_VM';
    addPre(s, { severity: 'SEVERITY_SAFETY_VM' });
    expectError(s, /^VM "pre2" \(vm 1\): severity: a second SEVERITY_SAFETY_VM \(vm 0 is one\); at most one$/);
  });

  it('RTVM rules: pCPUs not shared, not pCPU 0, one pre-launched RTVM, not with post-launched RTVMs', () => {
    const rtBoard = (s: Scenario) => { (s.board as Board).pcpus = 4; };
    let s = base();
    rtBoard(s);
    vm(s, 'prelaunched').severity = 'SEVERITY_RTVM';
    expectError(s, /^VM "prelaunched" \(vm 0\): cpuAffinity: pCPU 1 of this RTVM is shared with vm 3$/);
    s = base();
    rtBoard(s);
    vm(s, 'post1').severity = 'SEVERITY_RTVM';
    expectError(s, /^VM "post1" \(vm 2\): cpuAffinity: pCPU 0 cannot belong to an RTVM$/);
    s = base();
    rtBoard(s);
    vm(s, 'post2').cpuAffinity = 0b1;
    vm(s, 'post2').vcpus = 1;
    vm(s, 'prelaunched').severity = 'SEVERITY_RTVM';
    addPre(s, { severity: 'SEVERITY_RTVM', cpuAffinity: 0b100 });
    expectError(s, /^VM "pre2" \(vm 1\): severity: a second pre-launched RTVM \(vm 0 is one\); at most one$/);
    s = base();
    rtBoard(s);
    vm(s, 'post2').cpuAffinity = 0b1000;
    vm(s, 'post2').vcpus = 1;
    vm(s, 'post2').severity = 'SEVERITY_RTVM';
    vm(s, 'prelaunched').severity = 'SEVERITY_RTVM';
    expectError(s, /^VM "post2" \(vm 3\): severity: post-launched RTVMs cannot coexist with a pre-launched RTVM \(vm 0\)$/);
    vm(s, 'prelaunched').severity = 'SEVERITY_STANDARD_VM';
    expect(errorsOf(s)).toEqual([]);
  });

  it('vPCI devices', () => {
    let s = base();
    vm(s, 'service').vpci = [{ type: 'hostbridge' }];
    expectError(s, /^VM "service" \(vm 1\): vpci\[0\]\.type: the emulated host bridge is for pre-launched VMs/);
    s = base();
    vm(s, 'service').vpci = [{ type: 'passthrough', pbdf: '00:1f.3' }];
    expectError(s, /^VM "service" \(vm 1\): vpci\[0\]\.type: the Service VM owns every device/);
    s = base();
    vm(s, 'prelaunched').vpci = [{ type: 'hostbridge' }, { type: 'passthrough', pbdf: '00:1f.3', vbdf: '00:00.0' }];
    expectError(s, /^VM "prelaunched" \(vm 0\): vpci\[1\]\.vbdf: 00:00\.0 is also vpci\[0\]'s$/);
    s = base();
    vm(s, 'prelaunched').vpci = [{ type: 'passthrough', pbdf: '00:1f.3' }];
    vm(s, 'post1').vpci = [{ type: 'passthrough', pbdf: '00:1f.3' }];
    expectError(s, /^VM "post1" \(vm 2\): vpci\[0\]\.pbdf: 00:1f\.3 is already passed through to vm 0$/);
    s = base();
    vm(s, 'prelaunched').vpci = [{ type: 'passthrough', pbdf: '0:1f' }];
    expectError(s, /vpci\[0\]\.pbdf: "0:1f" is not a BDF "bb:dd\.f"/);
    s = base();
    (s.board as Board).pciDevices = ['00:02.0'];
    vm(s, 'prelaunched').vpci = [{ type: 'passthrough', pbdf: '00:1f.3' }];
    expectError(s, /vpci\[0\]\.pbdf: 00:1f\.3 is not a PCI device of the board/);
    s = base();
    vm(s, 'prelaunched').vpci = [{ type: 'nic' } as never];
    expectError(s, /vpci\[0\]\.type: "nic" is not hostbridge or passthrough/);
  });

  it('the board', () => {
    const s = base();
    delete s.board;
    expectError(s, /^board: none given/);
    expectError(base(), /^board: pcpus: 0 is not 1-64$/, { board: { ...structuredClone(defaultScenario.board), pcpus: 0 } });
    expectError(base(), /^board: memory\[0\]: type "ram" is not one of usable/, {
      board: { name: 'b', pcpus: 2, memory: [{ base: 0, size: 4096, type: 'ram' }] },
    });
    expectError(base(), /^board: memory: not a non-empty list/, { board: { name: 'b', pcpus: 2, memory: [] } });
    expectError('nonsense', /^scenario: not an object/);
    expectError({ name: 'x', board: defaultScenario.board, vms: [] }, /^scenario: vms: not a non-empty list of VMs$/);
  });

  it('reports every problem, one line each', () => {
    const s = base();
    vm(s, 'post1').vcpus = 9;
    vm(s, 'post2').name = 'post1';
    (vm(s, 'service').kernel as { type: string }).type = 'exe';
    const errors = errorsOf(s);
    expect(errors).toEqual([
      'VM "service" (vm 1): kernel.type: unknown kernel type "exe" (bzImage, raw64 or elf)',
      'VM "post1" (vm 2): vcpus: 9 is not 1-4 (MAX_VCPUS_PER_VM)',
      'VM "post1" (vm 3): name: duplicate VM name, also vm 2\'s',
    ]);
  });
});

describe('tools/scenario.mjs', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scenario-tool-'));

  it('compiles the default scenario to the same bytes as compileScenario', () => {
    const out = path.join(tmp, 'sub', 'scenario.bin');
    const r = runTool(['scenarios/default.ts', '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^scenario hybrid: 4 VMs \(prelaunched, service, post1, post2\), 680 bytes -> /);
    expect(new Uint8Array(fs.readFileSync(out))).toEqual(compileScenario(base()).image);
  });

  it('--emit-ts reproduces hv/scenario-default.ts byte for byte', () => {
    const out = path.join(tmp, 'scenario-default.ts');
    expect(runTool(['scenarios/default.ts', '--emit-ts', out]).status).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(path.join(root, 'hv/scenario-default.ts'), 'utf8'));
  });

  it('refuses a bad scenario: one line per error, exit status 1, nothing written', () => {
    const s = base();
    vm(s, 'prelaunched').memory = [{ gpa: 0, size: 16 * MiB }, { gpa: 0, size: 4096 }];
    vm(s, 'post1').name = 'post2';
    const input = path.join(tmp, 'bad.json');
    fs.writeFileSync(input, JSON.stringify(s));
    const out = path.join(tmp, 'bad.bin');
    const r = runTool([input, '-o', out, '--modules', 'prelaunched']);
    expect(r.status).toBe(1);
    expect(fs.existsSync(out)).toBe(false);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `${input}: VM "prelaunched" (vm 0): memory[1]: GPA [0x0-0xfff] overlaps memory[0] [0x0-0xffffff]`,
      `${input}: VM "post2" (vm 3): name: duplicate VM name, also vm 2's`,
      `${input}: VM "service" (vm 1): kernel.module: no module "Linux_bzImage" in the module list (prelaunched)`,
      `${input}: VM "service" (vm 1): kernel.ramdisk: no module "uservm" in the module list (prelaunched)`,
      `${input}: 4 errors, nothing written`,
    ]);
  });

  it('reads JSON with numbers as strings, and a separate board file', () => {
    const s = JSON.parse(JSON.stringify(base()));
    delete s.board;
    s.vms[0].memory = [{ gpa: '0', size: '16M' }];
    s.vms[0].kernel.loadGpa = '0x100000';
    const input = path.join(tmp, 'good.json');
    fs.writeFileSync(input, JSON.stringify(s));
    const board = path.join(tmp, 'board.json');
    const b = JSON.parse(JSON.stringify(defaultScenario.board));
    b.memory[3].size = '0x3fef0000';
    fs.writeFileSync(board, JSON.stringify(b));
    const out = path.join(tmp, 'good.bin');
    const r = runTool([input, '--board', board, '-o', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(new Uint8Array(fs.readFileSync(out))).toEqual(compileScenario(base()).image);
    // The same board with one pCPU: the scenario no longer fits.
    b.pcpus = 1;
    fs.writeFileSync(board, JSON.stringify(b));
    const r1 = runTool([input, '--board', board, '-o', path.join(tmp, 'one.bin')]);
    expect(r1.status).toBe(1);
    expect(r1.stderr).toMatch(/VM "prelaunched" \(vm 0\): cpuAffinity: 0x2 names pCPU 1, which does not exist \(the board has 1 pCPUs\)/);
    expect(fs.existsSync(path.join(tmp, 'one.bin'))).toBe(false);
  });

  it('usage errors and unreadable input', () => {
    expect(runTool([]).status).toBe(2);
    expect(runTool(['scenarios/default.ts', '--frobnicate']).status).toBe(2);
    const broken = path.join(tmp, 'broken.json');
    fs.writeFileSync(broken, '{ "name": ');
    const r = runTool([broken, '-o', path.join(tmp, 'broken.bin')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/broken\.json: cannot read: /);
  });
});
