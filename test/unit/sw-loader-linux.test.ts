// The software loader on a real kernel: Debian's linux-image bzImage, fetched
// into build/cache/linux by tools/fetch-test-kernel.sh (`make test` runs it).
// Without it this file is skipped with a message. The kernel is loaded from a
// GRUB module (the native path: ModuleSource reads it with peek) into a VM on
// the simulated machine, and the zero page, command line, ramdisk fields, e820
// table, kernel bytes and entry state are checked against the image's own
// header (Documentation/arch/x86/boot.rst). Truncated and corrupted copies of
// it, and VMs too small for it, are refused without writing anything.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { EPT_MT_WB, EPT_RWX } from '../../arch/x86/ept';
import type { SimMachine } from '../../arch/x86/sim-machine';
import * as F from '../../arch/x86/vmcs';
import { E820_RAM } from '../../hv/mm';
import { E820Table, e820BuildPreLaunched } from '../../hv/vm/e820';
import { BytesSource, ModuleSource } from '../../hv/vm/loader-image';
import {
  ENTRY_32, ENTRY_64, KERNEL_BZIMAGE, LINUX_ENTRY_32, LOAD_ERRORS, LOAD_E_BZ_BOOT_FLAG, LOAD_E_BZ_CMDLINE,
  LOAD_E_BZ_KERNEL_RAM, LOAD_E_BZ_MAGIC, LOAD_E_BZ_RAMDISK, LOAD_E_BZ_SETUP_SECTS, LOAD_E_BZ_SHORT, LOAD_E_BZ_SYSSIZE,
  LOAD_E_BZ_VERSION, LOAD_OK,
} from '../../hv/vm/loader-plan';
import { LoadInfo, LoadRequest, SwLoader, loaderSetEntryState } from '../../hv/vm/sw-loader';
import { LOAD_ORDER_PRE } from '../../hv/vm/vm';
import { allocateBitmaps, setupVmcs } from '../../hv/vm/vmcs-setup';
import { type Env, fieldLo, load, makeEnv, regLo, RBX, RDI, RSI } from './vm-fixture';

const CACHE = path.resolve(__dirname, '../../build/cache/linux');
const KERNEL_PATH = path.join(CACHE, 'vmlinuz');
const HAVE_KERNEL = fs.existsSync(KERNEL_PATH) && fs.existsSync(path.join(CACHE, 'VERSION'));
const PACKAGE = HAVE_KERNEL ? fs.readFileSync(path.join(CACHE, 'VERSION'), 'latin1').trim() : 'none';
if (!HAVE_KERNEL) {
  console.warn(`sw-loader-linux: skipped: no kernel in ${CACHE} (run: sh tools/fetch-test-kernel.sh)`);
}

const MiB = 0x100000;
const CMDLINE = 'console=ttyS0,115200 earlyprintk=serial,ttyS0,115200 loglevel=7 panic=1';

interface Vm {
  env: Env;
  m: SimMachine;
  vm: NonNullable<ReturnType<Env['vms']['freeSlot']>>;
  ram: number;
  e820: E820Table;
  loader: SwLoader;
  info: LoadInfo;
  req: LoadRequest;
}

function makeVm(ramSize: number): Vm {
  const env = makeEnv();
  const { m, platform, sched, vms } = env;
  const vm = vms.freeSlot();
  if (vm === null) throw new Error('no VM slot');
  vm.name = 'linux';
  vm.loadOrder = LOAD_ORDER_PRE;
  vm.vcpuid.build(false, platform.tscKhz);
  vm.configureWalker();
  const ram = m.guestRamCarve(ramSize);
  vm.ramHpa = ram;
  vm.ramSize = ramSize;
  expect(vm.ept.init()).toBe(true);
  expect(vm.ept.map(0, ram, ramSize, EPT_RWX, EPT_MT_WB)).toBe(0);
  expect(allocateBitmaps(vm)).toBe(true);
  const v = vm.vcpus[0];
  expect(v.allocate()).toBe(true);
  expect(sched.assign(v)).toBe(true);
  expect(setupVmcs(v)).toBe(0);
  vm.vcpuCount = 1;
  load(env, v);
  const regions = new E820Table(1);
  regions.append(0, ramSize, E820_RAM);
  const e820 = new E820Table();
  expect(e820BuildPreLaunched(e820, regions)).toBe(0);
  return { env, m, vm, ram, e820, loader: new SwLoader(), info: new LoadInfo(), req: new LoadRequest() };
}

function run(t: Vm): number {
  return t.loader.loadKernel(t.req, t.e820, t.vm.guestMem, t.vm.ept, t.info);
}
function u8(t: Vm, gpa: number): number {
  return t.m.readByte(t.ram + gpa);
}
function u16(t: Vm, gpa: number): number {
  return u8(t, gpa) | (u8(t, gpa + 1) << 8);
}
function u32(t: Vm, gpa: number): number {
  return (u16(t, gpa) | (u16(t, gpa + 2) << 16)) >>> 0;
}
function u64(t: Vm, gpa: number): number {
  return u32(t, gpa + 4) * 4294967296 + u32(t, gpa);
}
function cString(t: Vm, gpa: number): string {
  let s = '';
  for (let i = 0; i < 8192; i++) {
    const c = u8(t, gpa + i);
    if (c === 0) return s;
    s += String.fromCharCode(c);
  }
  return s;
}
/** Bytes of guest memory at `gpa` that differ from `want`. */
function mismatches(t: Vm, gpa: number, want: Uint8Array): number {
  let bad = 0;
  for (let i = 0; i < want.length; i++) if (t.m.readByte(t.ram + gpa + i) !== want[i]) bad++;
  return bad;
}
function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 12)) & 0xff;
  return b;
}

function expectRefused(t: Vm, code: number): void {
  const pokes = vi.spyOn(t.m, 'poke');
  const writes = vi.spyOn(t.m, 'vmwrite');
  expect(LOAD_ERRORS[run(t)]).toBe(LOAD_ERRORS[code]);
  expect(pokes).not.toHaveBeenCalled();
  expect(writes).not.toHaveBeenCalled();
  expect(t.info.loaded).toBe(false);
  pokes.mockRestore();
  writes.mockRestore();
}

describe.skipIf(!HAVE_KERNEL)(`Linux boot protocol on Debian's kernel (${PACKAGE})`, () => {
  // The describe body runs even when skipped: a blank stand-in keeps it from throwing.
  const image = HAVE_KERNEL ? new Uint8Array(fs.readFileSync(KERNEL_PATH)) : new Uint8Array(4096);
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const sects = image[0x1f1] === 0 ? 4 : image[0x1f1];
  const setupSize = (sects + 1) * 512;
  const version = dv.getUint16(0x206, true);
  const headerEnd = 0x202 + image[0x201];
  const pref = dv.getUint32(0x258, true);
  const initSize = dv.getUint32(0x260, true);
  const xlf = dv.getUint16(0x236, true);

  it('is a 64-bit bzImage this loader accepts', () => {
    expect(dv.getUint16(0x1fe, true)).toBe(0xaa55);
    expect(dv.getUint32(0x202, true)).toBe(0x53726448);
    expect(version).toBeGreaterThanOrEqual(0x020c);
    expect(xlf & 1).toBe(1);
    expect(image[0x234]).toBe(1);
  });

  it('64-bit entry from a GRUB module: kernel bytes, zero page, command line, ramdisk, e820, entry state', () => {
    const t = makeVm(128 * MiB);
    const ramdisk = pattern(MiB + 0x345);
    t.m.addModule(0x20000000, image, 'Linux_bzImage');
    t.m.addModule(0x21000000, ramdisk, 'initrd');
    const kernel = new ModuleSource();
    const rd = new ModuleSource();
    expect(kernel.openModule(0)).toBe(true);
    expect(rd.openModule(1)).toBe(true);
    t.req.kernelType = KERNEL_BZIMAGE;
    t.req.image = kernel;
    t.req.ramdisk = rd;
    t.req.cmdline = new BytesSource(new TextEncoder().encode(CMDLINE));
    expect(run(t)).toBe(LOAD_OK);

    const zp = t.info.zeroPage;
    const rdAt = Math.floor((128 * MiB - ramdisk.length) / 4096) * 4096;
    expect(t.info).toMatchObject({ loaded: true, kernelType: KERNEL_BZIMAGE, entryMode: ENTRY_64, kernelLoad: pref, entry: pref + 0x200,
      kernelEnd: pref + initSize, zeroPage: 0x8000, bootargsLoad: 0x9000, bootargsSize: CMDLINE.length, ramdiskLoad: rdAt,
      ramdiskSize: ramdisk.length, cr3: 0x1000, rsi: 0x8000 });

    // The protected-mode kernel, byte for byte, at the load address.
    expect(mismatches(t, pref, image.subarray(setupSize))).toBe(0);

    // The setup header copied into boot_params at 0x1F1, except the fields the loader writes.
    const written = new Set<number>();
    for (const [off, n] of [[0x1fa, 2], [0x210, 1], [0x211, 1], [0x214, 4], [0x218, 4], [0x21c, 4], [0x224, 2], [0x228, 4], [0x23c, 4], [0x250, 8]]) {
      for (let k = 0; k < n; k++) written.add(off + k);
    }
    let copied = 0;
    for (let off = 0x1f1; off < headerEnd; off++) {
      if (written.has(off)) continue;
      expect(u8(t, zp + off)).toBe(image[off]);
      copied++;
    }
    expect(copied).toBe(headerEnd - 0x1f1 - written.size);
    expect(copied).toBeGreaterThan(80);
    expect(u16(t, zp + 0x206)).toBe(version);
    expect(u32(t, zp + 0x202)).toBe(0x53726448);
    expect(u16(t, zp + 0x1fa)).toBe(0xffff);
    expect(u8(t, zp + 0x210)).toBe(0xff);
    expect(u8(t, zp + 0x211)).toBe(image[0x211] & 1);
    expect(u32(t, zp + 0x214)).toBe(pref);
    expect(u32(t, zp + 0x218)).toBe(rdAt);
    expect(u32(t, zp + 0x21c)).toBe(ramdisk.length);
    expect(u32(t, zp + 0x228)).toBe(0x9000);
    expect(cString(t, u32(t, zp + 0x228))).toBe(CMDLINE);
    expect(mismatches(t, rdAt, ramdisk)).toBe(0);
    // Nothing past the header end before the e820 table.
    for (let off = headerEnd; off < 0x2d0; off++) expect(u8(t, zp + off)).toBe(0);

    // The e820 table as built for the VM.
    expect(t.e820.count).toBe(6);
    expect(u8(t, zp + 0x1e8)).toBe(6);
    const want = [
      [0, 0xa0000, 1], [0xa0000, 0x60000, 2], [MiB, 127 * MiB, 1], [0x7fe00000, 0xf0000, 3], [0x7ff00000, MiB, 4], [0x80000000, 0x80000000, 2],
    ];
    for (let i = 0; i < want.length; i++) {
      const at = zp + 0x2d0 + i * 20;
      expect([u64(t, at), u64(t, at + 8), u32(t, at + 16)]).toEqual(want[i]);
    }

    // The identity map covers init_size from the load address, the zero page and the command line.
    expect(u64(t, 0x1000) & ~0xfff).toBe(0x2000);
    const pd = 0x3000;
    for (const gpa of [pref, pref + initSize - 1, zp, 0x9000]) {
      const pde = u64(t, pd + Math.floor(gpa / 0x200000) * 8);
      expect(pde).toBe(Math.floor(gpa / 0x200000) * 0x200000 + 0x83);
    }

    // Entry state (boot.rst "64-bit Boot Protocol").
    const f = { m: t.m, vcpu: t.vm.vcpus[0] };
    expect(loaderSetEntryState(t.env.caps, f.vcpu.ctxPa, t.info)).toBe(0);
    expect(fieldLo(t.m, F.GUEST_RIP)).toBe(pref + 0x200);
    expect(fieldLo(t.m, F.GUEST_CR3)).toBe(0x1000);
    expect(fieldLo(t.m, F.CR0_READ_SHADOW)).toBe(0x80050033);
    expect((fieldLo(t.m, F.GUEST_CR0) & 0x80000001) >>> 0).toBe(0x80000001);
    expect(fieldLo(t.m, F.CR4_READ_SHADOW)).toBe(0x20);
    expect(fieldLo(t.m, F.GUEST_CR4) & 0x20).toBe(0x20);
    expect(fieldLo(t.m, F.GUEST_IA32_EFER)).toBe(0x500);
    expect(fieldLo(t.m, F.GUEST_CS_SELECTOR)).toBe(0x10);
    expect(fieldLo(t.m, F.GUEST_SS_SELECTOR)).toBe(0x18);
    expect(fieldLo(t.m, F.GUEST_RFLAGS) & 0x200).toBe(0); // interrupts off
    expect([regLo(f, RSI), regLo(f, RDI), regLo(f, RBX)]).toEqual([0x8000, 0, 0]);
  }, 120000);

  it('32-bit entry: EIP = load address, protected mode without paging, ESI = zero page', () => {
    const t = makeVm(128 * MiB);
    t.req.kernelType = KERNEL_BZIMAGE;
    t.req.image = new BytesSource(image);
    t.req.linuxEntry = LINUX_ENTRY_32;
    expect(run(t)).toBe(LOAD_OK);
    expect(t.info).toMatchObject({ entryMode: ENTRY_32, entry: pref, cr3: 0, bootargsSize: 0, ramdiskSize: 0 });
    expect(u32(t, 0x8000 + 0x218)).toBe(0);
    expect(u8(t, u32(t, 0x8000 + 0x228))).toBe(0);
    const f = { m: t.m, vcpu: t.vm.vcpus[0] };
    expect(loaderSetEntryState(t.env.caps, f.vcpu.ctxPa, t.info)).toBe(0);
    expect(fieldLo(t.m, F.GUEST_RIP)).toBe(pref);
    expect(fieldLo(t.m, F.CR0_READ_SHADOW)).toBe(0x31);
    expect(fieldLo(t.m, F.GUEST_IA32_EFER)).toBe(0);
    expect(fieldLo(t.m, F.GUEST_CS_SELECTOR)).toBe(0x10);
    expect(regLo(f, RSI)).toBe(0x8000);
  }, 120000);

  it('truncated, corrupted, too big for the VM: refused, nothing written', () => {
    const t = makeVm(128 * MiB);
    t.req.kernelType = KERNEL_BZIMAGE;
    const sysBytes = dv.getUint32(0x1f4, true) * 16;
    const patched = (off: number, value: number) => {
      const copy = image.slice();
      copy[off] = value;
      return copy;
    };
    const cases: [number, Uint8Array][] = [
      [LOAD_E_BZ_SHORT, image.subarray(0, 512)],
      [LOAD_E_BZ_SETUP_SECTS, image.subarray(0, setupSize - 1)],
      [LOAD_E_BZ_SYSSIZE, image.subarray(0, setupSize + sysBytes - 1)],
      [LOAD_E_BZ_SYSSIZE, image.subarray(0, setupSize + 4096)],
      [LOAD_E_BZ_MAGIC, patched(0x203, 0x65)],
      [LOAD_E_BZ_BOOT_FLAG, patched(0x1fe, 0)],
      [LOAD_E_BZ_VERSION, patched(0x206, 0x05)],
    ];
    for (const [code, bytes] of cases) {
      t.req.image = new BytesSource(bytes);
      expectRefused(t, code);
    }
    t.req.image = new BytesSource(image);
    t.req.cmdline = new BytesSource(new Uint8Array(dv.getUint32(0x238, true) + 1).fill(0x61));
    expectRefused(t, LOAD_E_BZ_CMDLINE);
    t.req.cmdline = null;
    t.req.ramdisk = new BytesSource(new Uint8Array(64 * MiB)); // 128 MiB less the kernel's ~80 MiB footprint
    expectRefused(t, LOAD_E_BZ_RAMDISK);
    // init_size from pref_address does not fit in 64 MiB.
    const small = makeVm(64 * MiB);
    small.req.kernelType = KERNEL_BZIMAGE;
    small.req.image = new BytesSource(image);
    expectRefused(small, LOAD_E_BZ_KERNEL_RAM);
  }, 120000);
});
