// Conformance: the per-VM e820 builders (hv/vm/e820.ts) and the software
// loader's checks and placement (hv/vm/sw-loader.ts planLoad, which reads only
// the image and the e820 table, and the zero page builder) compiled by the
// native pipeline must print what Node prints. Synthetic bzImage, ELF64 and
// raw images are built here; each variant patches one header field and must
// give the LOAD_* code and placement worked out from boot.rst, the ELF gABI
// and ACRN's ve820.c (the same cases as test/unit/sw-loader.test.ts and
// e820.test.ts). Then every check runs 200 more times: the heap must not move.
import { heapUsed } from '../../arch/x86/intrinsics';
import { LOG_INFO, log } from '../../hv/log';
import { E820_ACPI, E820_RAM, E820_RESERVED } from '../../hv/mm';
import { E820Table, e820BuildPreLaunched, e820BuildServiceVm } from '../../hv/vm/e820';
import { bzBuildZeroPage } from '../../hv/vm/loader-bzimage';
import { BytesSource } from '../../hv/vm/loader-image';
import {
  KERNEL_BZIMAGE, KERNEL_ELF, KERNEL_RAW64, LINUX_ENTRY_64, LINUX_ENTRY_AUTO, LOAD_OK, bufFill, bufPut16, bufPut32,
} from '../../hv/vm/loader-plan';
import { LoadRequest, SwLoader } from '../../hv/vm/sw-loader';
import { capture, check, heapDelta, say } from './lib';

const MiB = 0x100000;

function startLine(): void {
  log.attach(capture);
  capture.reset();
  log.begin(LOG_INFO);
}

/** " base+size:type" for every entry. */
function printTable(t: E820Table): void {
  for (let i = 0; i < t.count; i++) {
    log.char(32);
    log.hex(t.base[i]);
    log.char(43);
    log.hex(t.size[i]);
    log.char(58);
    log.dec(t.type[i]);
  }
}

// ---- e820 --------------------------------------------------------------------------------

const regions = new E820Table(4);
const host = new E820Table(16);
const removed = new E820Table(8);
const out = new E820Table();
const big = new E820Table();
const bigRemoved = new E820Table();
const vmE820 = new E820Table();

function buildBoard(): void {
  host.clear();
  host.append(0x0, 0x9f000, E820_RAM);
  host.append(0x9f000, 0x1000, E820_RESERVED);
  host.append(0xe8000, 0x18000, E820_RESERVED);
  host.append(0x100000, 0x3fef0000, E820_RAM);
  host.append(0x3fff0000, 0x10000, E820_ACPI);
  host.append(0xfffc0000, 0x40000, E820_RESERVED);
}
buildBoard();
for (let i = 0; i < 100; i++) {
  big.append(i * 0x10000, 0x8000, E820_RAM);
  bigRemoved.append(i * 0x10000 + 0x2000, 0x1000, 0);
}

const E820_WANT = [
  '0 0x0+0xa0000:1 0xa0000+0x60000:2 0x100000+0xf00000:1 0x7fe00000+0xf0000:3 0x7ff00000+0x100000:4 0x80000000+0x80000000:2',
  '0 0x0+0xa0000:1 0xa0000+0x60000:2 0x100000+0x7fd00000:1 0x7fe00000+0xf0000:3 0x7ff00000+0x100000:4 0x80000000+0x80000000:2 0x100000000+0x40000000:1',
  '-3',
  '0 0x0+0x9f000:1 0x9f000+0x1000:2 0xe8000+0x4318000:2 0x4400000+0xbc00000:1 0x10000000+0x1000000:2 0x11000000+0x2eff0000:1 0x3fff0000+0x10000:3 0xfffc0000+0x40000:2',
  '-2',
  '-1',
];

/** Case i of the e820 vectors into the capture sink: the result code, then the table. */
function e820Case(i: number): number {
  let rc = 0;
  regions.clear();
  removed.clear();
  buildBoard();
  if (i === 0) {
    regions.append(0, 16 * MiB, E820_RAM);
    rc = e820BuildPreLaunched(out, regions);
  } else if (i === 1) {
    regions.append(0, 0xc0000000, E820_RAM);
    regions.append(0x100000000, 0x40000000, E820_RAM);
    rc = e820BuildPreLaunched(out, regions);
  } else if (i === 2) {
    regions.append(0x80000000, MiB, E820_RAM);
    rc = e820BuildPreLaunched(out, regions);
  } else if (i === 3) {
    removed.append(MiB, 67 * MiB, 0);
    removed.append(0x10000000, 16 * MiB, 0);
    rc = e820BuildServiceVm(out, host, removed);
  } else if (i === 4) {
    rc = e820BuildServiceVm(out, big, bigRemoved);
  } else {
    host.size[1] = 0;
    rc = e820BuildServiceVm(out, host, removed);
  }
  return rc;
}

for (let i = 0; i < E820_WANT.length; i++) {
  const rc = e820Case(i);
  startLine();
  log.dec(rc);
  printTable(out);
  check('e820', i, E820_WANT[i]);
}

// ---- images -----------------------------------------------------------------------------------

const BZ_SETUP = 2560;
const BZ_PM = 0x1000;
const bzBase = new Uint8Array(BZ_SETUP + BZ_PM);
const elfBase = new Uint8Array(0x1100);
const rawBase = new Uint8Array(0x100);
const work = new Uint8Array(8192);
const cmdBytes = new Uint8Array(13);
const ramdiskBytes = new Uint8Array(0x2345);
const zp = new Uint8Array(4096);

function buildImages(): void {
  const b = bzBase;
  b[0x1f1] = 4;
  bufPut32(b, 0x1f4, BZ_PM / 16);
  bufPut16(b, 0x1fe, 0xaa55);
  b[0x200] = 0xeb;
  b[0x201] = 0x6a;
  bufPut32(b, 0x202, 0x53726448);
  bufPut16(b, 0x206, 0x020f);
  b[0x211] = 0x81;
  bufPut32(b, 0x22c, 0x7fffffff);
  bufPut32(b, 0x230, 0x200000);
  b[0x234] = 1;
  bufPut16(b, 0x236, 0x7f);
  bufPut32(b, 0x238, 2047);
  bufPut32(b, 0x258, 0x1000000);
  bufPut32(b, 0x260, 0x100000);
  for (let i = 0; i < BZ_PM; i++) b[BZ_SETUP + i] = (i * 13 + 5) & 0xff;

  const e = elfBase;
  e[0] = 0x7f;
  e[1] = 0x45;
  e[2] = 0x4c;
  e[3] = 0x46;
  e[4] = 2;
  e[5] = 1;
  e[6] = 1;
  bufPut16(e, 0x10, 2);
  bufPut16(e, 0x12, 62);
  bufPut32(e, 0x14, 1);
  bufPut32(e, 0x18, 0x200010);
  bufPut32(e, 0x20, 0x40);
  bufPut16(e, 0x34, 64);
  bufPut16(e, 0x36, 56);
  bufPut16(e, 0x38, 1);
  bufPut32(e, 0x40, 1);
  bufPut32(e, 0x44, 5);
  bufPut32(e, 0x48, 0x1000);
  bufPut32(e, 0x50, 0x200000);
  bufPut32(e, 0x58, 0x200000);
  bufPut32(e, 0x60, 0x100);
  bufPut32(e, 0x68, 0x2000);
  for (let i = 0; i < 0x100; i++) e[0x1000 + i] = i & 0xff;

  for (let i = 0; i < rawBase.length; i++) rawBase[i] = (i * 7) & 0xff;
  const text = 'console=ttyS0';
  for (let i = 0; i < text.length; i++) cmdBytes[i] = text.charCodeAt(i) & 0xff;
  for (let i = 0; i < ramdiskBytes.length; i++) ramdiskBytes[i] = (i * 3) & 0xff;
}
buildImages();
{
  const r = new E820Table(1);
  r.append(0, 64 * MiB, E820_RAM);
  e820BuildPreLaunched(vmE820, r);
}

// Variants: [kind, patch offset (-1 none), patch size, value, image length (-1 full), linux entry].
const KIND_BZ = 0;
const KIND_ELF = 1;
const KIND_RAW = 2;
const VARIANTS = [
  KIND_BZ, -1, 0, 0, -1, LINUX_ENTRY_AUTO,
  KIND_BZ, -1, 0, 0, 1000, LINUX_ENTRY_AUTO,
  KIND_BZ, 0x1fe, 2, 0, -1, LINUX_ENTRY_AUTO,
  KIND_BZ, 0x203, 1, 0x65, -1, LINUX_ENTRY_AUTO,
  KIND_BZ, 0x206, 2, 0x0205, -1, LINUX_ENTRY_AUTO,
  KIND_BZ, 0x200, 1, 0xe9, -1, LINUX_ENTRY_AUTO,
  KIND_BZ, 0x201, 1, 0x50, -1, LINUX_ENTRY_AUTO,
  KIND_BZ, 0x1f1, 1, 60, -1, LINUX_ENTRY_AUTO,
  KIND_BZ, 0x211, 1, 0x80, -1, LINUX_ENTRY_AUTO,
  KIND_BZ, 0x1f4, 4, 0x101, -1, LINUX_ENTRY_AUTO,
  KIND_BZ, -1, 0, 0, BZ_SETUP + 0xff0, LINUX_ENTRY_AUTO,
  KIND_BZ, 0x236, 2, 0, -1, LINUX_ENTRY_64,
  KIND_BZ, 0x230, 4, 0x300000, -1, LINUX_ENTRY_AUTO,
  KIND_BZ, 0x260, 4, 0x4000000, -1, LINUX_ENTRY_AUTO,
  KIND_BZ, 0x238, 4, 5, -1, LINUX_ENTRY_AUTO,
  KIND_BZ, 0x22c, 4, 0x100fff, -1, LINUX_ENTRY_AUTO,
  KIND_BZ, 0x206, 2, 0x020a, -1, LINUX_ENTRY_AUTO,
  KIND_BZ, 0x258, 4, 0x2000000, -1, LINUX_ENTRY_AUTO,
  KIND_ELF, -1, 0, 0, -1, 0,
  KIND_ELF, -1, 0, 0, 63, 0,
  KIND_ELF, 0x01, 1, 0x46, -1, 0,
  KIND_ELF, 0x04, 1, 1, -1, 0,
  KIND_ELF, 0x10, 2, 3, -1, 0,
  KIND_ELF, 0x12, 2, 3, -1, 0,
  KIND_ELF, 0x14, 4, 2, -1, 0,
  KIND_ELF, 0x36, 2, 32, -1, 0,
  KIND_ELF, 0x24, 4, 1, -1, 0,
  KIND_ELF, 0x40, 4, 4, -1, 0,
  KIND_ELF, 0x60, 4, 0x3000, -1, 0,
  KIND_ELF, 0x60, 4, 0x1000, 0x1100, 0,
  KIND_ELF, 0x58, 4, 0x3fff000, -1, 0,
  KIND_ELF, 0x18, 4, 0x300000, -1, 0,
  KIND_ELF, 0x44, 4, 6, -1, 0,
  KIND_ELF, 0x5c, 4, 0x100000, -1, 0,
  KIND_RAW, -1, 0, 0x100000, -1, 0,
  KIND_RAW, -1, 0, 0xa0000, -1, 0,
  KIND_RAW, -1, 0, 0x100000, -1, 0x100100,
];
const VARIANT_WANT = [
  '0 load=0x1000000 entry=0x1000200 end=0x1100000 mode=1 area=0x1000 zp=0x8000 cmd=0x9000/13 rd=0x3ffd000+0x2345',
  '25 fail=0x3e8',
  '26 fail=0x0',
  '27 fail=0x0',
  '28 fail=0x205',
  '29 fail=0x26c',
  '29 fail=0x252',
  '30 fail=0x7a00',
  '31 fail=0x0',
  '32 fail=0x1010',
  '32 fail=0x1000',
  '33 fail=0x0',
  '34 fail=0x300000',
  '36 fail=0x4000000',
  '37 fail=0xd',
  '39 fail=0x2345',
  '0 load=0x1000000 entry=0x1000000 end=0x1100000 mode=2 area=0x1000 zp=0x8000 cmd=0x9000/13 rd=0x3ffd000+0x2345',
  '0 load=0x2000000 entry=0x2000200 end=0x2100000 mode=1 area=0x1000 zp=0x8000 cmd=0x9000/13 rd=0x3ffd000+0x2345',
  '0 load=0x200000 entry=0x200010 end=0x202000 mode=1 area=0x1000 zp=0x0 cmd=0x0/0 rd=0x0+0x0',
  '7 fail=0x0',
  '8 fail=0x0',
  '9 fail=0x0',
  '10 fail=0x3',
  '11 fail=0x3',
  '12 fail=0x0',
  '13 fail=0x0',
  '14 fail=0x40',
  '15 fail=0x0',
  '17 fail=0x0',
  '16 fail=0x0',
  '19 fail=0x3fff000',
  '21 fail=0x300000',
  '21 fail=0x200010',
  '18 fail=0x0',
  '0 load=0x100000 entry=0x100000 end=0x100100 mode=1 area=0x1000 zp=0x0 cmd=0x0/0 rd=0x0+0x0',
  '4 fail=0xa0000',
  '5 fail=0x100100',
];

/** The LOAD_* code each VARIANT_WANT line starts with. */
const VARIANT_CODE: number[] = [];
for (let v = 0; v < VARIANT_WANT.length; v++) {
  const w = VARIANT_WANT[v];
  const c0 = w.charCodeAt(0) - 48;
  const c1 = w.charCodeAt(1);
  VARIANT_CODE.push(c1 === 32 ? c0 : c0 * 10 + (c1 - 48));
}
const E820_CODE = [0, 0, -3, 0, -2, -1];

const loader = new SwLoader();
const req = new LoadRequest();
const image = new BytesSource(work, 0, 0);
const cmdline = new BytesSource(cmdBytes);
const ramdisk = new BytesSource(ramdiskBytes);

/** Plan variant v: LOAD_* code (loader.plan holds the result). */
function planVariant(v: number): number {
  const at = v * 6;
  const kind = VARIANTS[at];
  const off = VARIANTS[at + 1];
  const size = VARIANTS[at + 2];
  const value = VARIANTS[at + 3];
  const len = VARIANTS[at + 4];
  const extra = VARIANTS[at + 5];
  const base = kind === KIND_BZ ? bzBase : kind === KIND_ELF ? elfBase : rawBase;
  bufFill(work, 0);
  for (let i = 0; i < base.length; i++) work[i] = base[i];
  if (size === 1) work[off] = value & 0xff;
  else if (size === 2) bufPut16(work, off, value);
  else if (size === 4) bufPut32(work, off, value);
  image.setBytes(work, 0, len < 0 ? base.length : len);
  req.reset();
  req.image = image;
  if (kind === KIND_BZ) {
    req.kernelType = KERNEL_BZIMAGE;
    req.cmdline = cmdline;
    req.ramdisk = ramdisk;
    req.linuxEntry = extra;
    if (off === 0x258) work[0x234] = 0; // the non-relocatable variant
  } else if (kind === KIND_ELF) {
    req.kernelType = KERNEL_ELF;
  } else {
    req.kernelType = KERNEL_RAW64;
    req.loadGpa = value;
    req.entryGpa = extra;
  }
  return loader.planLoad(req, vmE820);
}

function printPlan(rc: number): void {
  const p = loader.plan;
  log.dec(rc);
  if (rc !== LOAD_OK) {
    log.str(' fail=');
    log.hex(p.failValue);
    return;
  }
  log.str(' load=');
  log.hex(p.kernelLoad);
  log.str(' entry=');
  log.hex(p.entry);
  log.str(' end=');
  log.hex(p.kernelEnd);
  log.str(' mode=');
  log.dec(p.entryMode);
  log.str(' area=');
  log.hex(p.bootArea);
  log.str(' zp=');
  log.hex(p.zeroPage);
  log.str(' cmd=');
  log.hex(p.cmdlineGpa);
  log.char(47);
  log.dec(p.cmdlineLen);
  log.str(' rd=');
  log.hex(p.ramdiskGpa);
  log.char(43);
  log.hex(p.ramdiskSize);
}

for (let v = 0; v < VARIANT_WANT.length; v++) {
  const rc = planVariant(v);
  startLine();
  printPlan(rc);
  check('loader plan', v, VARIANT_WANT[v]);
}

// The zero page of the accepted bzImage.
function zpU32(at: number): number {
  return zp[at] + zp[at + 1] * 0x100 + zp[at + 2] * 0x10000 + zp[at + 3] * 0x1000000;
}
function zeroPageLine(): void {
  planVariant(0);
  bzBuildZeroPage(zp, image, loader.plan, vmE820);
  startLine();
  log.hex(zp[0x210]);
  log.char(32);
  log.hex(zp[0x211]);
  log.char(32);
  log.hex(zp[0x1fa] + zp[0x1fb] * 0x100);
  log.char(32);
  log.hex(zpU32(0x214));
  log.char(32);
  log.hex(zpU32(0x218));
  log.char(32);
  log.hex(zpU32(0x21c));
  log.char(32);
  log.hex(zpU32(0x228));
  log.char(32);
  log.hex(zpU32(0x202));
  log.char(32);
  log.dec(zp[0x1e8]);
  log.char(32);
  log.hex(zpU32(0x2d0 + 2 * 20));
  log.char(43);
  log.hex(zpU32(0x2d0 + 2 * 20 + 8));
  log.char(58);
  log.dec(zpU32(0x2d0 + 2 * 20 + 16));
  log.char(32);
  log.hex(zpU32(0x26c));
}
zeroPageLine();
check('zero page', 0, '0xff 0x1 0xffff 0x1000000 0x3ffd000 0x2345 0x9000 0x53726448 6 0x100000+0x3f00000:1 0x0');

// Nothing above may allocate: every check again, 200 times.
{
  const before = heapUsed();
  let good = 0;
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < E820_WANT.length; i++) if (e820Case(i) === E820_CODE[i]) good++;
    for (let v = 0; v < VARIANT_WANT.length; v++) if (planVariant(v) === VARIANT_CODE[v]) good++;
    bzBuildZeroPage(zp, image, loader.plan, vmE820);
  }
  heapDelta('e820 builders and loader checks (200 rounds)', before);
  say(good === 200 * (E820_WANT.length + VARIANT_WANT.length) ? 'loader rounds: ok' : 'loader rounds: MISMATCH');
}
say('conformance: loader done');
