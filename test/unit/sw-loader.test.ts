// The software loader on synthetic images (hv/vm/sw-loader.ts and its
// loader-*.ts parts): raw 64-bit images, ELF64 executables and bzImage-like
// headers, loaded into a VM on the simulated machine (guest RAM behind the
// VM's EPT), and every refusal, which must write no guest memory, no VMCS
// field and leave the VM's LoadInfo as it was. The real Debian kernel is
// in sw-loader-linux.test.ts.
import { buildSync } from 'esbuild';
import { describe, expect, it, vi } from 'vitest';
import { EPT_MT_WB, EPT_R, EPT_RWX, EPT_X } from '../../arch/x86/ept';
import type { CharSink } from '../../arch/x86/serial';
import type { SimMachine } from '../../arch/x86/sim-machine';
import * as F from '../../arch/x86/vmcs';
import { LOG_INFO, Logger } from '../../hv/log';
import { E820_RAM, E820_RESERVED } from '../../hv/mm';
import { E820Table, e820BuildPreLaunched } from '../../hv/vm/e820';
import { LOAD_ORDER_PRE } from '../../hv/vm/vm';
import { allocateBitmaps, setupVmcs } from '../../hv/vm/vmcs-setup';
import { BytesSource, ModuleSource, imgU16, imgU32 } from '../../hv/vm/loader-image';
import {
  BOOT_AREA_SIZE, ENTRY_32, ENTRY_64, KERNEL_BZIMAGE, KERNEL_ELF, KERNEL_RAW64, LINUX_ENTRY_32, LINUX_ENTRY_64,
  LOAD_ERRORS, LOAD_E_ABOVE_4G, LOAD_E_AVOID, LOAD_E_BAD_REQUEST, LOAD_E_BOOT_AREA_BAD, LOAD_E_BOOT_AREA_NONE,
  LOAD_E_BOOT_AREA_OVERLAP, LOAD_E_BZ_ALIGN, LOAD_E_BZ_BOOT_FLAG, LOAD_E_BZ_CMDLINE, LOAD_E_BZ_CMDLINE_BUF,
  LOAD_E_BZ_HEADER_LEN, LOAD_E_BZ_KERNEL_RAM, LOAD_E_BZ_LOAD_ADDR, LOAD_E_BZ_MAGIC, LOAD_E_BZ_NO_64,
  LOAD_E_BZ_NOT_BZIMAGE, LOAD_E_BZ_RAMDISK, LOAD_E_BZ_RAMDISK_ADDR, LOAD_E_BZ_SETUP_SECTS, LOAD_E_BZ_SHORT,
  LOAD_E_BZ_SYSSIZE, LOAD_E_BZ_VERSION, LOAD_E_ELF_CLASS, LOAD_E_ELF_ENTRY, LOAD_E_ELF_HEADER_SIZE,
  LOAD_E_ELF_MACHINE, LOAD_E_ELF_MAGIC, LOAD_E_ELF_PH_COUNT, LOAD_E_ELF_PH_TABLE, LOAD_E_ELF_SEG_ADDR,
  LOAD_E_ELF_SEG_FILE, LOAD_E_ELF_SEG_OVERLAP, LOAD_E_ELF_SEG_RAM, LOAD_E_ELF_SEG_SIZE, LOAD_E_ELF_SHORT,
  LOAD_E_ELF_TYPE, LOAD_E_ELF_VERSION, LOAD_E_EMPTY, LOAD_E_ENTRY, LOAD_E_EPT, LOAD_E_KERNEL_TYPE, LOAD_E_NO_IMAGE,
  LOAD_E_RAW_RAM, LOAD_E_TOO_MANY, LOAD_OK, MAX_AVOID, loaderErrorMessage,
} from '../../hv/vm/loader-plan';
import { LoadInfo, LoadRequest, SwLoader, loaderCmdlineChars, loaderSetEntryState } from '../../hv/vm/sw-loader';
import { type Env, fieldHi, fieldLo, load, makeEnv, regHi, regLo, RBP, RBX, RDI, RSI } from './vm-fixture';

const MiB = 0x100000;
const TEXT = new TextEncoder();

// ---- a VM with `ramSize` bytes of RAM at GPA 0 (EPT mapping `eptSize` of it) ------------------

interface LoaderVm {
  env: Env;
  m: SimMachine;
  vm: ReturnType<Env['vms']['freeSlot']> & object;
  ram: number;
  e820: E820Table;
  loader: SwLoader;
  info: LoadInfo;
  req: LoadRequest;
}

function makeVm(ramSize = 64 * MiB, eptSize = ramSize, eptPerms = EPT_RWX): LoaderVm {
  const env = makeEnv();
  const { m, platform, sched, vms } = env;
  const vm = vms.freeSlot();
  if (vm === null) throw new Error('no VM slot');
  vm.name = 'loader';
  vm.loadOrder = LOAD_ORDER_PRE;
  vm.vcpuid.build(false, platform.tscKhz);
  vm.configureWalker();
  const ram = m.guestRamCarve(ramSize);
  vm.ramHpa = ram;
  vm.ramSize = ramSize;
  expect(vm.ept.init()).toBe(true);
  expect(vm.ept.map(0, ram, eptSize, eptPerms, EPT_MT_WB)).toBe(0);
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

function run(t: LoaderVm): number {
  return t.loader.loadKernel(t.req, t.e820, t.vm.guestMem, t.vm.ept, t.info);
}

function u8(t: LoaderVm, gpa: number): number {
  return t.m.readByte(t.ram + gpa);
}
function u16(t: LoaderVm, gpa: number): number {
  return u8(t, gpa) | (u8(t, gpa + 1) << 8);
}
function u32(t: LoaderVm, gpa: number): number {
  return (u16(t, gpa) | (u16(t, gpa + 2) << 16)) >>> 0;
}
function u64(t: LoaderVm, gpa: number): number {
  return u32(t, gpa + 4) * 4294967296 + u32(t, gpa);
}
function bytesAt(t: LoaderVm, gpa: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = u8(t, gpa + i);
  return out;
}
function cString(t: LoaderVm, gpa: number): string {
  let s = '';
  for (let i = 0; i < 8192; i++) {
    const c = u8(t, gpa + i);
    if (c === 0) return s;
    s += String.fromCharCode(c);
  }
  return s;
}

/** Run a load that must be refused with `code`: nothing written, no VMCS field, LoadInfo untouched. */
function expectRefused(t: LoaderVm, code: number): void {
  const pokes = vi.spyOn(t.m, 'poke');
  const writes = vi.spyOn(t.m, 'vmwrite');
  const before = JSON.stringify(t.info);
  expect(LOAD_ERRORS[run(t)]).toBe(LOAD_ERRORS[code]);
  expect(t.loader.lastError).toBe(code);
  expect(pokes).not.toHaveBeenCalled();
  expect(writes).not.toHaveBeenCalled();
  expect(JSON.stringify(t.info)).toBe(before);
  pokes.mockRestore();
  writes.mockRestore();
}

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

// ---- synthetic images ---------------------------------------------------------------------

interface Seg {
  type?: number;
  flags?: number;
  offset?: number;
  vaddr?: number;
  vaddrHi?: number;
  paddr: number;
  paddrHi?: number;
  filesz?: number;
  memsz?: number;
  data?: Uint8Array;
}
interface ElfOpts {
  entry?: number;
  entryHi?: number;
  segs?: Seg[];
  edit?: (b: Uint8Array, dv: DataView) => void;
}

/** An ELF64 executable: header, program headers from 0x40, segment data from 0x1000 on. */
function elfImage(o: ElfOpts = {}): Uint8Array {
  const segs = o.segs ?? [{ paddr: 0x200000, data: pattern(0x1800), flags: 5 }];
  let dataAt = 0x1000;
  const placed = segs.map((s) => {
    const off = s.offset ?? dataAt;
    const file = s.filesz ?? (s.data ? s.data.length : 0);
    if (s.offset === undefined) dataAt += Math.ceil(Math.max(file, 1) / 0x1000) * 0x1000;
    return { ...s, off, file };
  });
  const size = Math.max(dataAt, ...placed.map((p) => (p.data ? p.off + p.data.length : 0)));
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(0x10, 2, true);
  dv.setUint16(0x12, 62, true);
  dv.setUint32(0x14, 1, true);
  dv.setUint32(0x18, o.entry ?? 0x200010, true);
  dv.setUint32(0x1c, o.entryHi ?? 0, true);
  dv.setUint32(0x20, 0x40, true);
  dv.setUint16(0x34, 64, true);
  dv.setUint16(0x36, 56, true);
  dv.setUint16(0x38, placed.length, true);
  placed.forEach((p, i) => {
    const ph = 0x40 + i * 56;
    dv.setUint32(ph, p.type ?? 1, true);
    dv.setUint32(ph + 4, p.flags ?? 5, true);
    dv.setUint32(ph + 8, p.off, true);
    dv.setUint32(ph + 0x10, p.vaddr ?? p.paddr, true);
    dv.setUint32(ph + 0x14, p.vaddrHi ?? 0, true);
    dv.setUint32(ph + 0x18, p.paddr, true);
    dv.setUint32(ph + 0x1c, p.paddrHi ?? 0, true);
    dv.setUint32(ph + 0x20, p.file, true);
    dv.setUint32(ph + 0x28, p.memsz ?? p.file, true);
    dv.setUint32(ph + 0x30, 0x1000, true);
    if (p.data) b.set(p.data, p.off);
  });
  if (o.edit) o.edit(b, dv);
  return b;
}

interface BzOpts {
  setupSects?: number;
  version?: number;
  jump?: number;
  hdrLen?: number;
  loadflags?: number;
  xlf?: number;
  pref?: number;
  prefHi?: number;
  initSize?: number;
  align?: number;
  reloc?: number;
  cmdlineSize?: number;
  initrdMax?: number;
  pmSize?: number;
  syssize?: number;
  bootFlag?: number;
  magic?: number;
  length?: number;
}

/** A bzImage-like file: the setup header of boot.rst, a patterned protected-mode part. */
function bzImage(o: BzOpts = {}): Uint8Array {
  const sects = o.setupSects ?? 4;
  const setup = ((sects === 0 ? 4 : sects) + 1) * 512;
  const pm = o.pmSize ?? 0x3000;
  const full = new Uint8Array(setup + pm);
  const dv = new DataView(full.buffer);
  full[0x1f1] = sects;
  dv.setUint32(0x1f4, o.syssize ?? Math.floor(pm / 16), true);
  dv.setUint16(0x1fe, o.bootFlag ?? 0xaa55, true);
  full[0x200] = o.jump ?? 0xeb;
  full[0x201] = o.hdrLen ?? 0x6a;
  dv.setUint32(0x202, o.magic ?? 0x53726448, true);
  dv.setUint16(0x206, o.version ?? 0x020f, true);
  dv.setUint16(0x20e, 0x1234, true); // kernel_version: copied into the zero page as is
  full[0x211] = o.loadflags ?? 0x81;
  dv.setUint32(0x214, 0x100000, true);
  dv.setUint32(0x22c, o.initrdMax ?? 0x7fffffff, true);
  dv.setUint32(0x230, o.align ?? 0x200000, true);
  full[0x234] = o.reloc ?? 1;
  full[0x235] = 21;
  dv.setUint16(0x236, o.xlf ?? 0x7f, true);
  dv.setUint32(0x238, o.cmdlineSize ?? 2047, true);
  dv.setUint32(0x258, o.pref ?? 0x1000000, true);
  dv.setUint32(0x25c, o.prefHi ?? 0, true);
  dv.setUint32(0x260, o.initSize ?? 0x100000, true);
  full.set(pattern(pm, 5), setup);
  return o.length === undefined ? full : full.slice(0, o.length);
}

function src(bytes: Uint8Array): BytesSource {
  return new BytesSource(bytes);
}

// ---- image sources ----------------------------------------------------------------------------

describe('image sources', () => {
  it('BytesSource: a window of a Uint8Array, 0 past the end', () => {
    const b = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const s = new BytesSource(b, 2, 3);
    expect(s.length()).toBe(3);
    expect([s.byteAt(0), s.byteAt(2), s.byteAt(3), s.byteAt(-1)]).toEqual([3, 5, 0, 0]);
    expect(imgU16(s, 0)).toBe(0x0403);
    expect(imgU32(s, 0)).toBe(0x00050403);
    expect(s.setBytes(b, 4, 5)).toBe(false);
    expect(s.length()).toBe(0);
    expect(s.setBytes(b, 1, -1)).toBe(true);
    expect(s.length()).toBe(5);
  });

  it('ModuleSource: a GRUB module read with peek, copied through a bounce page', () => {
    const t = makeVm(8 * MiB);
    const bytes = pattern(10000, 3);
    t.m.addModule(0x7000001, bytes, 'raw'); // an unaligned start takes the byte path
    t.m.addModule(0x7100000, bytes, 'raw2');
    const ms = new ModuleSource();
    expect(ms.openModule(5)).toBe(false);
    expect(ms.length()).toBe(0);
    expect(ms.openModule(0)).toBe(true);
    expect(ms.physStart()).toBe(0x7000001);
    expect(ms.length()).toBe(10000);
    expect(ms.byteAt(9999)).toBe(bytes[9999]);
    expect(ms.byteAt(10000)).toBe(0);
    expect(ms.copyToGuest(t.vm.guestMem, 0x200003, 0, 10000)).toBe(0);
    expect(bytesAt(t, 0x200003, 10000)).toEqual(bytes);
    expect(ms.openModule(1)).toBe(true);
    expect(ms.copyToGuest(t.vm.guestMem, 0x300000, 100, 9000)).toBe(0);
    expect(bytesAt(t, 0x300000, 9000)).toEqual(bytes.slice(100, 9100));
    expect(ms.copyToGuest(t.vm.guestMem, 0x300000, 100, 9901)).toBeLessThan(0);
    expect(ms.copyToGuest(t.vm.guestMem, 9 * MiB, 0, 10)).toBeLessThan(0); // not mapped
  });
});

// ---- raw images --------------------------------------------------------------------------------

describe('raw 64-bit images', () => {
  it('copied to the load GPA, identity paging built, 64-bit entry state with RSI/RDI', () => {
    const t = makeVm(8 * MiB);
    const image = pattern(0x2345);
    t.req.kernelType = KERNEL_RAW64;
    t.req.image = src(image);
    t.req.loadGpa = 0x100000;
    t.req.rsi = 0x1234;
    t.req.rdi = 7;
    expect(run(t)).toBe(LOAD_OK);
    expect(bytesAt(t, 0x100000, image.length)).toEqual(image);
    const i = t.info;
    expect(i).toMatchObject({ loaded: true, kernelType: KERNEL_RAW64, entryMode: ENTRY_64, entry: 0x100000, kernelLoad: 0x100000,
      kernelEnd: 0x102345, bootArea: 0x1000, cr3: 0x1000, gdtBase: 0x7000, gdtLimit: 0x1f, rsp: 0xe000, rsi: 0x1234, rdi: 7, zeroPage: 0 });
    // Page tables: PML4[0] -> PDPT, PDPT[0..3] -> PDs, PD entries 2 MiB identity (P|RW|PS).
    expect(u64(t, 0x1000)).toBe(0x2000 + 3);
    expect(u64(t, 0x1008)).toBe(0);
    for (let k = 0; k < 4; k++) expect(u64(t, 0x2000 + k * 8)).toBe(0x3000 + k * 0x1000 + 3);
    expect(u64(t, 0x2020)).toBe(0);
    expect(u64(t, 0x3000)).toBe(0x83);
    expect(u64(t, 0x3008)).toBe(0x200083);
    expect(u64(t, 0x6000 + 511 * 8)).toBe(0xffe00083);
    // GDT: 0x08 code64, 0x10 and 0x18 data.
    expect(u64(t, 0x7000)).toBe(0);
    expect(u64(t, 0x7008)).toBe(0x00af9b000000ffff);
    expect(u64(t, 0x7010)).toBe(0x00cf93000000ffff);
    expect(u64(t, 0x7018)).toBe(0x00cf93000000ffff);

    const f = { m: t.m, vcpu: t.vm.vcpus[0] };
    expect(loaderSetEntryState(t.env.caps, f.vcpu.ctxPa, t.info)).toBe(0);
    expect(fieldLo(t.m, F.GUEST_RIP)).toBe(0x100000);
    expect(fieldLo(t.m, F.GUEST_CR3)).toBe(0x1000);
    expect(fieldLo(t.m, F.GUEST_RSP)).toBe(0xe000);
    expect(fieldLo(t.m, F.CR0_READ_SHADOW)).toBe(0x80050033);
    expect(fieldLo(t.m, F.CR4_READ_SHADOW)).toBe(0x20);
    expect(fieldLo(t.m, F.GUEST_IA32_EFER)).toBe(0x500);
    expect(fieldLo(t.m, F.VM_ENTRY_CONTROLS) & F.ENTRY_IA32E_MODE_GUEST).not.toBe(0);
    expect(fieldLo(t.m, F.GUEST_CS_SELECTOR)).toBe(0x08);
    expect(fieldLo(t.m, F.GUEST_DS_SELECTOR)).toBe(0x10);
    expect(fieldLo(t.m, F.GUEST_GDTR_BASE)).toBe(0x7000);
    expect(fieldLo(t.m, F.GUEST_GDTR_LIMIT)).toBe(0x1f);
    expect([regLo(f, RSI), regHi(f, RSI), regLo(f, RDI), regLo(f, RBX), regLo(f, RBP)]).toEqual([0x1234, 0, 7, 0, 0]);
  });

  it('a given entry and stack; the boot area moves past an image at low memory', () => {
    const t = makeVm(8 * MiB);
    t.req.kernelType = KERNEL_RAW64;
    t.req.image = src(pattern(0x3000));
    t.req.loadGpa = 0x1000;
    t.req.entryGpa = 0x1800;
    t.req.rsp = 0x90000;
    expect(run(t)).toBe(LOAD_OK);
    expect(t.info).toMatchObject({ entry: 0x1800, bootArea: 0x4000, cr3: 0x4000, rsp: 0x90000 });
    expect(loaderSetEntryState(t.env.caps, t.vm.vcpus[0].ctxPa, t.info)).toBe(0);
    expect(fieldLo(t.m, F.GUEST_RSP)).toBe(0x90000);
    expect(fieldHi(t.m, F.GUEST_RIP)).toBe(0);
  });

  it('refusals write nothing', () => {
    const t = makeVm(8 * MiB);
    const r = t.req;
    expectRefused(t, LOAD_E_NO_IMAGE);
    r.image = src(pattern(0x100));
    expectRefused(t, LOAD_E_KERNEL_TYPE);
    r.kernelType = KERNEL_RAW64;
    r.image = src(new Uint8Array(0));
    expectRefused(t, LOAD_E_EMPTY);
    r.image = src(pattern(0x100));
    r.loadGpa = 8 * MiB - 0x80; // runs off the end of RAM
    expectRefused(t, LOAD_E_RAW_RAM);
    r.loadGpa = 0xa0000; // the BIOS hole of the template
    expectRefused(t, LOAD_E_RAW_RAM);
    r.loadGpa = 0x100000;
    r.entryGpa = 0x100100;
    expectRefused(t, LOAD_E_ENTRY);
    r.entryGpa = 0xfffff;
    expectRefused(t, LOAD_E_ENTRY);
    r.entryGpa = 0;
    r.bootAreaGpa = 0xf4000; // reaches the image at 0x100000 but starts in the BIOS hole
    expectRefused(t, LOAD_E_BOOT_AREA_BAD);
    r.bootAreaGpa = 0x100000;
    expectRefused(t, LOAD_E_BOOT_AREA_OVERLAP);
    r.bootAreaGpa = 0x1800;
    expectRefused(t, LOAD_E_BOOT_AREA_BAD);
    r.bootAreaGpa = 0x98000; // runs into the BIOS hole
    expectRefused(t, LOAD_E_BOOT_AREA_BAD);
    r.bootAreaGpa = 0;
    r.loadGpa = -0x1000;
    expectRefused(t, LOAD_E_BAD_REQUEST);
    r.loadGpa = 1048576.5;
    expectRefused(t, LOAD_E_BAD_REQUEST);
    r.loadGpa = 0x100000;
    r.rsi = -1;
    expectRefused(t, LOAD_E_BAD_REQUEST);
    r.rsi = 0;
    expect(r.addAvoid(0x100080, 0x10)).toBe(true);
    expectRefused(t, LOAD_E_AVOID);
    for (let i = 1; i < MAX_AVOID; i++) expect(r.addAvoid(0x400000 + i * 0x1000, 0x1000)).toBe(true);
    expect(r.addAvoid(0x500000, 1)).toBe(false);
    r.avoidCount = MAX_AVOID + 1;
    expectRefused(t, LOAD_E_TOO_MANY);
    r.avoidCount = 0;
    expect(run(t)).toBe(LOAD_OK);
  });

  it('no room for the boot area', () => {
    const t = makeVm(8 * MiB);
    t.e820.clear();
    t.e820.append(0x100000, 0x10000, E820_RAM);
    t.req.kernelType = KERNEL_RAW64;
    t.req.image = src(pattern(0x8000));
    t.req.loadGpa = 0x100000;
    expectRefused(t, LOAD_E_BOOT_AREA_NONE);
  });

  it('a 64-bit image above 4 GiB is refused (the identity map covers 4 GiB)', () => {
    const t = makeVm(8 * MiB);
    t.e820.append(0x100000000, 0x100000, E820_RAM);
    t.req.kernelType = KERNEL_RAW64;
    t.req.image = src(pattern(0x100));
    t.req.loadGpa = 0x100000000;
    expectRefused(t, LOAD_E_ABOVE_4G);
  });

  it('destinations the EPT does not map writable: refused before writing', () => {
    const t = makeVm(8 * MiB, 4 * MiB); // the e820 says 8 MiB, the EPT maps 4
    t.req.kernelType = KERNEL_RAW64;
    t.req.image = src(pattern(0x1000));
    t.req.loadGpa = 5 * MiB;
    expectRefused(t, LOAD_E_EPT);
    expect(t.loader.plan.failValue).toBe(5 * MiB);
    const ro = makeVm(8 * MiB, 8 * MiB, EPT_R | EPT_X);
    ro.req.kernelType = KERNEL_RAW64;
    ro.req.image = src(pattern(0x1000));
    ro.req.loadGpa = 2 * MiB;
    expectRefused(ro, LOAD_E_EPT);
  });
});

// ---- ELF ------------------------------------------------------------------------------------------

describe('ELF64 images', () => {
  it('PT_LOAD segments copied to p_paddr, the rest of p_memsz zeroed, entry e_entry', () => {
    const t = makeVm(8 * MiB);
    for (let i = 0; i < 0x3000; i++) t.m.writeByte(t.ram + 0x300000 + i, 0xaa);
    const text = pattern(0x1800, 2);
    const data = pattern(0x20, 9);
    t.req.kernelType = KERNEL_ELF;
    t.req.image = src(elfImage({
      entry: 0x200100,
      segs: [
        { type: 6, paddr: 0x700000, data: pattern(8) }, // PT_PHDR: ignored
        { paddr: 0x200000, data: text, flags: 5 },
        { paddr: 0x300000, data, memsz: 0x2000, flags: 6 },
        { paddr: 0x400000, memsz: 0, flags: 6 }, // empty: ignored
      ],
    }));
    t.req.rdi = 3;
    expect(run(t)).toBe(LOAD_OK);
    expect(bytesAt(t, 0x200000, text.length)).toEqual(text);
    expect(bytesAt(t, 0x300000, 0x20)).toEqual(data);
    expect(bytesAt(t, 0x300020, 0x2000 - 0x20).every((b) => b === 0)).toBe(true);
    expect(u8(t, 0x302000)).toBe(0xaa);
    expect(u8(t, 0x700000)).toBe(0);
    expect(t.info).toMatchObject({ kernelType: KERNEL_ELF, entryMode: ENTRY_64, entry: 0x200100, kernelLoad: 0x200000, kernelEnd: 0x302000, rdi: 3 });
    expect(loaderSetEntryState(t.env.caps, t.vm.vcpus[0].ctxPa, t.info)).toBe(0);
    expect(fieldLo(t.m, F.GUEST_RIP)).toBe(0x200100);
  });

  it('an image linked at a high virtual address is entered at the physical address of e_entry', () => {
    const t = makeVm(8 * MiB);
    t.req.kernelType = KERNEL_ELF;
    t.req.image = src(elfImage({
      entry: 0x80200040,
      entryHi: 0xffffffff,
      segs: [{ paddr: 0x200000, vaddr: 0x80200000, vaddrHi: 0xffffffff, data: pattern(0x100), flags: 5 }],
    }));
    expect(run(t)).toBe(LOAD_OK);
    expect(t.info.entry).toBe(0x200040);
  });

  it('every header field is checked: refusals write nothing', () => {
    const t = makeVm(8 * MiB);
    t.req.kernelType = KERNEL_ELF;
    const cases: [number, Uint8Array][] = [
      [LOAD_E_ELF_SHORT, elfImage().slice(0, 63)],
      [LOAD_E_ELF_MAGIC, elfImage({ edit: (b) => (b[1] = 0x45 + 1) })],
      [LOAD_E_ELF_CLASS, elfImage({ edit: (b) => (b[4] = 1) })],
      [LOAD_E_ELF_CLASS, elfImage({ edit: (b) => (b[5] = 2) })],
      [LOAD_E_ELF_CLASS, elfImage({ edit: (b) => (b[6] = 0) })],
      [LOAD_E_ELF_TYPE, elfImage({ edit: (_b, dv) => dv.setUint16(0x10, 3, true) })],
      [LOAD_E_ELF_MACHINE, elfImage({ edit: (_b, dv) => dv.setUint16(0x12, 3, true) })],
      [LOAD_E_ELF_VERSION, elfImage({ edit: (_b, dv) => dv.setUint32(0x14, 2, true) })],
      [LOAD_E_ELF_HEADER_SIZE, elfImage({ edit: (_b, dv) => dv.setUint16(0x34, 52, true) })],
      [LOAD_E_ELF_HEADER_SIZE, elfImage({ edit: (_b, dv) => dv.setUint16(0x36, 32, true) })],
      [LOAD_E_ELF_PH_TABLE, elfImage({ edit: (b, dv) => dv.setUint32(0x20, b.length - 0x20, true) })],
      [LOAD_E_ELF_PH_TABLE, elfImage({ edit: (_b, dv) => dv.setUint32(0x24, 1, true) })],
      [LOAD_E_ELF_PH_TABLE, elfImage({ edit: (_b, dv) => dv.setUint16(0x38, 0xffff, true) })],
      [LOAD_E_ELF_PH_COUNT, elfImage({ segs: [{ type: 4, paddr: 0x200000, data: pattern(16) }] })],
      [LOAD_E_ELF_PH_COUNT, elfImage({ segs: Array.from({ length: 17 }, (_v, i) => ({ paddr: 0x200000 + i * 0x1000, data: pattern(16) })) })],
      [LOAD_E_ELF_SEG_SIZE, elfImage({ segs: [{ paddr: 0x200000, data: pattern(0x100), memsz: 0x80 }] })],
      [LOAD_E_ELF_SEG_FILE, elfImage({ segs: [{ paddr: 0x200000, data: pattern(0x100), memsz: 0x10000 }], edit: (b, dv) => dv.setUint32(0x40 + 0x20, b.length, true) })],
      [LOAD_E_ELF_SEG_ADDR, elfImage({ segs: [{ paddr: 0x200000, paddrHi: 0x100000, data: pattern(0x100) }] })],
      [LOAD_E_ELF_SEG_ADDR, elfImage({ segs: [{ paddr: 0x200000, data: pattern(0x100) }], edit: (_b, dv) => dv.setUint32(0x40 + 0x2c, 0x200000, true) })],
      [LOAD_E_ELF_SEG_RAM, elfImage({ segs: [{ paddr: 0x7ff000, data: pattern(0x2000) }] })],
      [LOAD_E_ELF_SEG_RAM, elfImage({ segs: [{ paddr: 0xa0000, data: pattern(0x100) }] })],
      [LOAD_E_ELF_SEG_OVERLAP, elfImage({ segs: [{ paddr: 0x200000, data: pattern(0x2000) }, { paddr: 0x201000, data: pattern(0x100) }] })],
      [LOAD_E_ELF_ENTRY, elfImage({ entry: 0x300000 })],
      [LOAD_E_ELF_ENTRY, elfImage({ entry: 0x200010, segs: [{ paddr: 0x200000, data: pattern(0x100), flags: 6 }] })],
      [LOAD_E_ELF_ENTRY, elfImage({ entry: 0x200010, entryHi: 1 })],
    ];
    for (const [code, image] of cases) {
      t.req.image = src(image);
      expectRefused(t, code);
    }
  });

  it('segments that overlap the boot area, an avoided range, or lie above 4 GiB', () => {
    const t = makeVm(8 * MiB);
    t.req.kernelType = KERNEL_ELF;
    t.req.image = src(elfImage({ entry: 0x8010, segs: [{ paddr: 0x8000, data: pattern(0x100) }] }));
    t.req.bootAreaGpa = 0x2000;
    expectRefused(t, LOAD_E_BOOT_AREA_OVERLAP);
    t.req.bootAreaGpa = 0;
    t.req.addAvoid(0x8080, 0x1000);
    expectRefused(t, LOAD_E_AVOID);
    t.req.avoidCount = 0;
    expect(run(t)).toBe(LOAD_OK);
    expect(t.info.bootArea).toBe(0x9000); // the lowest fit after the segment
    const hi = makeVm(8 * MiB);
    hi.e820.append(0x100000000, 0x100000, E820_RAM);
    hi.req.kernelType = KERNEL_ELF;
    hi.req.image = src(elfImage({ segs: [{ paddr: 0, paddrHi: 1, data: pattern(0x100) }] }));
    expectRefused(hi, LOAD_E_ABOVE_4G);
  });
});

// ---- bzImage ------------------------------------------------------------------------------------

describe('Linux boot protocol (synthetic bzImage)', () => {
  function linux(t: LoaderVm, image: Uint8Array, cmdline = 'console=ttyS0 root=/dev/ram0', ramdisk?: Uint8Array): void {
    t.req.kernelType = KERNEL_BZIMAGE;
    t.req.image = src(image);
    t.req.cmdline = src(TEXT.encode(cmdline));
    t.req.ramdisk = ramdisk ? src(ramdisk) : null;
  }

  it('64-bit entry: kernel at pref_address, zero page, command line, ramdisk, e820, entry state', () => {
    const t = makeVm(64 * MiB);
    const image = bzImage();
    const ramdisk = pattern(0x5123, 4);
    linux(t, image, 'console=ttyS0 root=/dev/ram0', ramdisk);
    expect(run(t)).toBe(LOAD_OK);
    const zp = 0x1000 + 0x7000;
    const rdAt = 64 * MiB - 0x6000; // highest page-aligned fit below the end of RAM
    expect(t.info).toMatchObject({ kernelType: KERNEL_BZIMAGE, entryMode: ENTRY_64, entry: 0x1000200, kernelLoad: 0x1000000,
      kernelEnd: 0x1100000, zeroPage: zp, bootargsLoad: 0x9000, bootargsSize: 28, ramdiskLoad: rdAt, ramdiskSize: 0x5123, rsi: zp, rdi: 0 });
    // The protected-mode code at the load address.
    expect(bytesAt(t, 0x1000000, 0x3000)).toEqual(image.slice(2560));
    // The setup header copied (0x1F1 .. 0x26C), then the loader's fields.
    expect(u8(t, zp + 0x1f1)).toBe(4);
    expect(u16(t, zp + 0x1fe)).toBe(0xaa55);
    expect(u32(t, zp + 0x202)).toBe(0x53726448);
    expect(u16(t, zp + 0x206)).toBe(0x020f);
    expect(u16(t, zp + 0x20e)).toBe(0x1234);
    expect(u32(t, zp + 0x260)).toBe(0x100000);
    expect(u32(t, zp + 0x26c)).toBe(0); // past the header end: zero
    expect(u16(t, zp + 0x1fa)).toBe(0xffff);
    expect(u8(t, zp + 0x210)).toBe(0xff);
    expect(u8(t, zp + 0x211)).toBe(0x01); // LOADED_HIGH kept, CAN_USE_HEAP cleared
    expect(u32(t, zp + 0x214)).toBe(0x1000000);
    expect(u32(t, zp + 0x218)).toBe(rdAt);
    expect(u32(t, zp + 0x21c)).toBe(0x5123);
    expect(u32(t, zp + 0x228)).toBe(0x9000);
    expect(cString(t, 0x9000)).toBe('console=ttyS0 root=/dev/ram0');
    expect(bytesAt(t, rdAt, ramdisk.length)).toEqual(ramdisk);
    // e820: the VM's table, 20-byte entries at 0x2D0.
    expect(u8(t, zp + 0x1e8)).toBe(t.e820.count);
    for (let i = 0; i < t.e820.count; i++) {
      const at = zp + 0x2d0 + i * 20;
      expect([u64(t, at), u64(t, at + 8), u32(t, at + 16)]).toEqual([t.e820.base[i], t.e820.size[i], t.e820.type[i]]);
    }
    expect(u64(t, zp + 0x2d0 + t.e820.count * 20)).toBe(0);
    // GDT: __BOOT_CS 64-bit code, __BOOT_DS data.
    expect(u64(t, 0x7008)).toBe(0);
    expect(u64(t, 0x7010)).toBe(0x00af9b000000ffff);
    expect(u64(t, 0x7018)).toBe(0x00cf93000000ffff);
    // Entry state.
    const f = { m: t.m, vcpu: t.vm.vcpus[0] };
    expect(loaderSetEntryState(t.env.caps, f.vcpu.ctxPa, t.info)).toBe(0);
    expect(fieldLo(t.m, F.GUEST_RIP)).toBe(0x1000200);
    expect(fieldLo(t.m, F.GUEST_CR3)).toBe(0x1000);
    expect(fieldLo(t.m, F.CR0_READ_SHADOW)).toBe(0x80050033);
    expect(fieldLo(t.m, F.GUEST_IA32_EFER)).toBe(0x500);
    expect(fieldLo(t.m, F.GUEST_CS_SELECTOR)).toBe(0x10);
    for (const sel of [F.GUEST_DS_SELECTOR, F.GUEST_ES_SELECTOR, F.GUEST_SS_SELECTOR]) expect(fieldLo(t.m, sel)).toBe(0x18);
    expect([regLo(f, RSI), regLo(f, RDI), regLo(f, RBX), regLo(f, RBP)]).toEqual([zp, 0, 0, 0]);
  });

  it('32-bit entry: EIP = load address, paging off, ESI = zero page, __BOOT_CS 32-bit code', () => {
    const t = makeVm(64 * MiB);
    linux(t, bzImage());
    t.req.linuxEntry = LINUX_ENTRY_32;
    expect(run(t)).toBe(LOAD_OK);
    expect(t.info).toMatchObject({ entryMode: ENTRY_32, entry: 0x1000000, cr3: 0, ramdiskLoad: 0, ramdiskSize: 0 });
    expect(u64(t, 0x1000)).toBe(0); // no page tables written
    expect(u64(t, 0x7010)).toBe(0x00cf9b000000ffff);
    expect(u32(t, 0x8000 + 0x218)).toBe(0);
    const f = { m: t.m, vcpu: t.vm.vcpus[0] };
    expect(loaderSetEntryState(t.env.caps, f.vcpu.ctxPa, t.info)).toBe(0);
    expect(fieldLo(t.m, F.GUEST_RIP)).toBe(0x1000000);
    expect(fieldLo(t.m, F.CR0_READ_SHADOW)).toBe(0x31);
    expect(fieldLo(t.m, F.GUEST_IA32_EFER)).toBe(0);
    expect(fieldLo(t.m, F.VM_ENTRY_CONTROLS) & F.ENTRY_IA32E_MODE_GUEST).toBe(0);
    expect(fieldLo(t.m, F.GUEST_CS_SELECTOR)).toBe(0x10);
    expect(fieldLo(t.m, F.GUEST_DS_SELECTOR)).toBe(0x18);
    expect(regLo(f, RSI)).toBe(0x8000);
  });

  it('protocol 2.10 (no xloadflags): the 32-bit entry; the 64-bit one is refused', () => {
    const t = makeVm(64 * MiB);
    linux(t, bzImage({ version: 0x020a }));
    expect(run(t)).toBe(LOAD_OK);
    expect(t.info.entryMode).toBe(ENTRY_32);
    const u = makeVm(64 * MiB);
    linux(u, bzImage({ xlf: 0 }));
    u.req.linuxEntry = LINUX_ENTRY_64;
    expectRefused(u, LOAD_E_BZ_NO_64);
  });

  it('protocol 2.06: no pref_address or init_size: at 1 MiB, or kernel_alignment above it when relocatable', () => {
    const t = makeVm(16 * MiB);
    linux(t, bzImage({ version: 0x0206, hdrLen: 0x3a, xlf: 0, reloc: 0 }));
    expect(run(t)).toBe(LOAD_OK);
    expect(t.info).toMatchObject({ kernelLoad: 0x100000, entry: 0x100000, kernelEnd: 0x103000 });
    linux(t, bzImage({ version: 0x0206, hdrLen: 0x3a, xlf: 0 }));
    expect(run(t)).toBe(LOAD_OK);
    expect(t.info).toMatchObject({ kernelLoad: 0x200000, entry: 0x200000, kernelEnd: 0x203000 });
    linux(t, bzImage({ version: 0x0209, hdrLen: 0x39, xlf: 0 }));
    expectRefused(t, LOAD_E_BZ_HEADER_LEN); // ends before cmdline_size
  });

  it('a relocatable kernel skips a hole at pref_address; a non-relocatable one is refused', () => {
    const t = makeVm(64 * MiB);
    t.e820.clear();
    t.e820.append(0, 0xa0000, E820_RAM);
    t.e820.append(MiB, 11 * MiB, E820_RAM);
    t.e820.append(12 * MiB, 9 * MiB, E820_RESERVED);
    t.e820.append(21 * MiB, 43 * MiB, E820_RAM);
    linux(t, bzImage());
    expect(run(t)).toBe(LOAD_OK);
    expect(t.info.kernelLoad).toBe(22 * MiB); // 2 MiB aligned, at or above pref_address
    linux(t, bzImage({ reloc: 0 }));
    expectRefused(t, LOAD_E_BZ_KERNEL_RAM);
  });

  it('a given load address: relocatable anywhere aligned above 1 MiB; not relocatable only at pref_address', () => {
    const t = makeVm(64 * MiB);
    linux(t, bzImage());
    t.req.loadGpa = 32 * MiB;
    expect(run(t)).toBe(LOAD_OK);
    expect(t.info).toMatchObject({ kernelLoad: 32 * MiB, entry: 32 * MiB + 0x200, kernelEnd: 33 * MiB });
    // Below pref_address the decompressor still runs at pref_address: the footprint reaches it.
    t.req.loadGpa = 4 * MiB;
    expect(run(t)).toBe(LOAD_OK);
    expect(t.info).toMatchObject({ kernelLoad: 4 * MiB, kernelEnd: 17 * MiB });
    t.req.loadGpa = 0x80000;
    expectRefused(t, LOAD_E_BZ_LOAD_ADDR);
    linux(t, bzImage({ reloc: 0 }));
    t.req.loadGpa = 32 * MiB;
    expectRefused(t, LOAD_E_BZ_LOAD_ADDR);
    t.req.loadGpa = 16 * MiB;
    expect(run(t)).toBe(LOAD_OK);
  });

  it('the command line: up to cmdline_size; an embedded NUL ends it; empty is ""', () => {
    const t = makeVm(64 * MiB);
    linux(t, bzImage({ cmdlineSize: 10 }), '0123456789');
    expect(run(t)).toBe(LOAD_OK);
    expect(cString(t, 0x9000)).toBe('0123456789');
    linux(t, bzImage({ cmdlineSize: 10 }), '0123456789A');
    expectRefused(t, LOAD_E_BZ_CMDLINE);
    linux(t, bzImage({ cmdlineSize: 10 }), 'abc\0defghijklmnop');
    expect(run(t)).toBe(LOAD_OK);
    expect(cString(t, 0x9000)).toBe('abc');
    expect(t.info.bootargsSize).toBe(3);
    linux(t, bzImage(), '');
    expect(run(t)).toBe(LOAD_OK);
    expect(u8(t, 0x9000)).toBe(0);
    expect(u32(t, 0x8000 + 0x228)).toBe(0x9000);
    linux(t, bzImage({ cmdlineSize: 8192 }), 'x'.repeat(4095));
    expect(run(t)).toBe(LOAD_OK);
    expect(cString(t, 0x9000)).toHaveLength(4095);
    linux(t, bzImage({ cmdlineSize: 8192 }), 'x'.repeat(4096));
    expectRefused(t, LOAD_E_BZ_CMDLINE_BUF);
    t.req.cmdline = null;
    expect(run(t)).toBe(LOAD_OK);
    expect(loaderCmdlineChars(null)).toBe(0);
  });

  it('the ramdisk: below initrd_addr_max, page aligned, clear of the kernel; a given address is checked', () => {
    const t = makeVm(64 * MiB);
    linux(t, bzImage({ initrdMax: 0x1ffffff }), 'x', pattern(0x3000));
    expect(run(t)).toBe(LOAD_OK);
    expect(t.info.ramdiskLoad).toBe(0x2000000 - 0x3000);
    // Only room below the kernel: the ramdisk goes under it.
    linux(t, bzImage({ initrdMax: 0x10fffff }), 'x', pattern(0x3000));
    expect(run(t)).toBe(LOAD_OK);
    expect(t.info.ramdiskLoad).toBe(0x1000000 - 0x3000);
    linux(t, bzImage(), 'x', pattern(63 * MiB));
    expectRefused(t, LOAD_E_BZ_RAMDISK);
    linux(t, bzImage(), 'x', pattern(0x3000));
    t.req.ramdiskGpa = 0x2000000;
    expect(run(t)).toBe(LOAD_OK);
    expect(t.info.ramdiskLoad).toBe(0x2000000);
    for (const bad of [0x2000800, 0x1000000, 64 * MiB - 0x2000, 0x9000]) {
      t.req.ramdiskGpa = bad;
      expectRefused(t, LOAD_E_BZ_RAMDISK_ADDR);
    }
    linux(t, bzImage({ initrdMax: 0x1ffffff }), 'x', pattern(0x3000));
    t.req.ramdiskGpa = 0x2000000 - 0x2000;
    expectRefused(t, LOAD_E_BZ_RAMDISK_ADDR);
  });

  it('truncated or corrupted images and kernels too big for the VM are refused, writing nothing', () => {
    const t = makeVm(64 * MiB);
    const cases: [number, Uint8Array][] = [
      [LOAD_E_BZ_SHORT, bzImage().slice(0, 1023)],
      [LOAD_E_BZ_BOOT_FLAG, bzImage({ bootFlag: 0x55aa })],
      [LOAD_E_BZ_MAGIC, bzImage({ magic: 0x53726449 })],
      [LOAD_E_BZ_VERSION, bzImage({ version: 0x0205 })],
      [LOAD_E_BZ_HEADER_LEN, bzImage({ jump: 0xe9 })],
      [LOAD_E_BZ_HEADER_LEN, bzImage({ hdrLen: 0x50 })], // ends before init_size for 2.15
      [LOAD_E_BZ_HEADER_LEN, bzImage({ hdrLen: 0x80 })], // negative jump
      [LOAD_E_BZ_SETUP_SECTS, bzImage({ setupSects: 60, length: 0x3000 })],
      [LOAD_E_BZ_NOT_BZIMAGE, bzImage({ loadflags: 0x80 })],
      [LOAD_E_BZ_SYSSIZE, bzImage().slice(0, 2560 + 0x2ff0)], // truncated by 16 bytes
      [LOAD_E_BZ_SYSSIZE, bzImage().slice(0, 2560)],
      [LOAD_E_BZ_SYSSIZE, bzImage({ syssize: 0 })],
      [LOAD_E_BZ_ALIGN, bzImage({ align: 0x300000 })],
      [LOAD_E_BZ_ALIGN, bzImage({ align: 0x800 })],
      [LOAD_E_BZ_KERNEL_RAM, bzImage({ initSize: 49 * MiB })],
      [LOAD_E_BZ_KERNEL_RAM, bzImage({ pmSize: 0x3000, initSize: 0x10000000 })],
    ];
    for (const [code, image] of cases) {
      linux(t, image, 'console=ttyS0', pattern(0x1000));
      expectRefused(t, code);
    }
    // The longest header a jump byte can give (0x202 + 0x7F = 0x1F1 + 144) is accepted and copied whole.
    const longest = bzImage({ hdrLen: 0x7f });
    longest[0x280] = 0x5a;
    linux(t, longest);
    expect(run(t)).toBe(LOAD_OK);
    expect(u8(t, 0x8000 + 0x280)).toBe(0x5a);
    expect(u8(t, 0x8000 + 0x281)).toBe(0);
    // setup_sects 0 means 4.
    linux(t, bzImage({ setupSects: 0 }));
    expect(run(t)).toBe(LOAD_OK);
    expect(bytesAt(t, 0x1000000, 16)).toEqual(bzImage().slice(2560, 2576));
  });

  it('the largest kernel that fits, and one byte more', () => {
    const t = makeVm(64 * MiB);
    linux(t, bzImage({ initSize: 48 * MiB }), '');
    expect(run(t)).toBe(LOAD_OK);
    expect(t.info.kernelEnd).toBe(64 * MiB);
    linux(t, bzImage({ initSize: 48 * MiB + 1 }), '');
    expectRefused(t, LOAD_E_BZ_KERNEL_RAM);
    expect(t.loader.plan.failValue).toBe(48 * MiB + 1);
  });

  it('the kernel and ramdisk from GRUB modules', () => {
    const t = makeVm(64 * MiB);
    const image = bzImage({ pmSize: 0x6000 });
    const rd = pattern(0x2100, 6);
    t.m.addModule(0x8000000, image, 'Linux_bzImage');
    t.m.addModule(0x8100000, rd, 'initrd');
    const kernel = new ModuleSource();
    const ramdisk = new ModuleSource();
    expect(kernel.openModule(0) && ramdisk.openModule(1)).toBe(true);
    t.req.kernelType = KERNEL_BZIMAGE;
    t.req.image = kernel;
    t.req.ramdisk = ramdisk;
    expect(run(t)).toBe(LOAD_OK);
    expect(bytesAt(t, 0x1000000, 0x6000)).toEqual(image.slice(2560));
    expect(bytesAt(t, t.info.ramdiskLoad, rd.length)).toEqual(rd);
  });
});

// ---- planning alone, messages, the porffor rules ------------------------------------------------

describe('planning, messages and coding rules', () => {
  it('planLoad checks without touching guest memory or the EPT', () => {
    const t = makeVm(64 * MiB);
    t.req.kernelType = KERNEL_BZIMAGE;
    t.req.image = src(bzImage());
    const peeks = vi.spyOn(t.m, 'peek');
    const pokes = vi.spyOn(t.m, 'poke');
    expect(t.loader.planLoad(t.req, t.e820)).toBe(LOAD_OK);
    expect(peeks).not.toHaveBeenCalled();
    expect(pokes).not.toHaveBeenCalled();
    expect(t.loader.plan).toMatchObject({ kernelLoad: 0x1000000, entry: 0x1000200, protocol: 0x020f, setupSize: 2560, headerEnd: 0x26c,
      xloadFlags: 0x7f, initSize: 0x100000, kernelAlign: 0x200000, relocatable: true, prefAddress: 0x1000000, cmdlineMax: 2047,
      initrdMax: 0x7fffffff, bootArea: 0x1000, zeroPage: 0x8000, cmdlineGpa: 0x9000 });
    expect(t.info.loaded).toBe(false);
  });

  it('every code has a message; printLoadError says what and where', () => {
    for (let c = 1; c < LOAD_ERRORS.length; c++) expect(loaderErrorMessage(c).length).toBeGreaterThan(10);
    expect(loaderErrorMessage(LOAD_OK)).toBe('ok');
    expect(loaderErrorMessage(999)).toMatch(/unknown/);
    const t = makeVm(64 * MiB);
    t.req.kernelType = KERNEL_BZIMAGE;
    t.req.image = src(bzImage({ initSize: 80 * MiB }));
    const code = run(t);
    let text = '';
    const sink: CharSink = { putc: (c: number) => { text += String.fromCharCode(c); } };
    const out = new Logger();
    out.attach(sink);
    out.level = LOG_INFO;
    t.loader.printLoadError(out, 'vm1 (service)', code);
    expect(text).toBe('error: vm1 (service): loader: bzImage: the kernel does not fit in guest RAM below 4 GiB (init_size 0x260 from its load address) (0x5000000)\n');
  });

  it('the boot area is 52 KiB', () => {
    expect(BOOT_AREA_SIZE).toBe(52 * 1024);
  });

  it('P1/P3 hold in a native bundle that includes the loader', () => {
    const bundle = buildSync({
      stdin: {
        contents: "import './hv/main'; export * from './hv/vm/sw-loader'; export * from './hv/vm/e820'; export * from './hv/vm/loader-image'; export * from './hv/vm/loader-bzimage'; export * from './hv/vm/loader-elf';",
        resolveDir: process.cwd(), loader: 'ts',
      },
      bundle: true, format: 'esm', write: false, target: 'es2022', define: { __NATIVE__: 'true' }, logLevel: 'silent',
    }).outputFiles[0].text;
    expect(bundle).toMatch(/loaderSetEntryState/);
    const functions = new Set([...bundle.matchAll(/^(?:async )?function (\w+)\(/gm)].map((m) => m[1]));
    const methods = new Set([...bundle.matchAll(/^ {2}(?:static )?(\w+)\([^)]*\) \{/gm)].map((m) => m[1]));
    expect([...functions].filter((f) => methods.has(f) && f !== 'constructor')).toEqual([]);
    const re = /[\w$]+(?:\.[\w$]+|\[[^\]\n]*\])*\.[\w$]+\[([^\]\n]*)\]\s*(?:[-+*\/%&|^]|<<|>>>?)?=(?!=)|[\w$]+(?:\.[\w$]+)*\.[\w$]+\[([^\]\n]*)\](?:\+\+|--)/g;
    expect([...bundle.matchAll(re)].filter((m) => /[.[(]/.test(m[1] ?? m[2])).map((m) => m[0])).toEqual([]);
    expect(bundle).not.toMatch(/\bfinally\b/);
  });
});
