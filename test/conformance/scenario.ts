// Conformance: the boot-time scenario reader (hv/scenario.ts) compiled by the
// native pipeline must print what Node prints. It reads the built-in default
// image (hv/scenario-default.ts, generated from scenarios/default.ts) and
// prints it, checks its fields against the default scenario worked out by
// hand, then refuses a list of corrupted images with the expected message
// each, reads 4,000 seeded random and mutated images (every one refused or
// accepted the same way on both sides: a checksum of the outcomes), and reads
// everything again to show that reading allocates nothing.
import { heapUsed } from '../../arch/x86/intrinsics';
import { LOG_INFO, log } from '../../hv/log';
import {
  BytesSource, type ByteSource, makeDefaultScenarioSource, Scenario, SCENARIO_CRC_AT, SCENARIO_MAX_BYTES, scenarioCrc32,
} from '../../hv/scenario';
import { capture, check, com1, heapDelta, say } from './lib';

/** A source that claims more bytes than an image may have. */
class OversizedSource implements ByteSource {
  length(): number {
    return SCENARIO_MAX_BYTES + 1;
  }
  byteAt(_i: number): number {
    return 0;
  }
}

// Everything is built here, at init.
const scenario = new Scenario();
const builtIn = makeDefaultScenarioSource();
const work = new Uint8Array(SCENARIO_MAX_BYTES);
const workSource = new BytesSource(work, 0);
const oversized = new OversizedSource();
const DEFAULT_SIZE = builtIn.len;

function scnCopyDefault(): void {
  for (let i = 0; i < DEFAULT_SIZE; i++) work[i] = builtIn.bytes[i] & 0xff;
  workSource.len = DEFAULT_SIZE;
}

function scnPut8(at: number, v: number): void {
  if (at >= 0 && at < work.length) work[at] = v & 0xff;
}

function scnPut16(at: number, v: number): void {
  scnPut8(at, v);
  scnPut8(at + 1, v >>> 8);
}

function scnPut32(at: number, v: number): void {
  scnPut16(at, v & 0xffff);
  scnPut16(at + 2, Math.floor(v / 65536));
}

function scnGet16(at: number): number {
  return work[at] + work[at + 1] * 256;
}

/** Recompute the CRC of work[0, len) so that later checks are reached. */
function scnSeal(len: number): void {
  scnPut32(SCENARIO_CRC_AT, scenarioCrc32(work, len, SCENARIO_CRC_AT));
}

const VM_TABLE = 0x40;
const VM_SIZE = 80;
const REGION_TABLE_AT = 0x24;
const VUART_TABLE_AT = 0x28;
const VPCI_TABLE_AT = 0x2c;

/**
 * The corrupted images: case n's mutation of the default image and the
 * message it must get. Offsets follow scenarios/FORMAT.md; the default has
 * 4 VMs (prelaunched, service, post1, post2), 3 regions, 6 vuarts, 1 vpci.
 */
const CASES = 24;
const CASE_EXPECTED = [
  'scenario: image is shorter than its 64-byte header',
  'scenario: size field does not match the image length',
  'scenario: bad magic',
  'scenario: checksum mismatch',
  'scenario: unsupported version',
  'scenario: size field does not match the image length',
  'scenario: VM count is not 1 to 8',
  'scenario: region table is misaligned or runs past the end',
  'scenario: string table is empty, runs past the end or does not start with NUL',
  'scenario: VM 2 name runs past the end',
  'scenario: VM 0 bad load order',
  'scenario: VM 1 the Service VM\'s severity is not SEVERITY_SERVICE_VM',
  'scenario: VM 0 region 0 is not 4 KiB aligned',
  'scenario: VM 0 vuart 1 target vuart does not exist',
  'scenario: VM 1 vuart 1 connected vuart is vuart 0, or targets a missing VM or its own',
  'scenario: VM 0 vpci 0 type is not hostbridge or passthrough',
  'scenario: VM 3 more vCPUs than pCPUs in its affinity',
  'scenario: VM 0 CPU affinity is empty or names a pCPU the board does not have',
  'scenario: VM 0 reserved field is not zero',
  'scenario: image is larger than 16 KiB',
  'scenario: VM 1 name is the same as an earlier VM\'s',
  'scenario: VM 2 post-launched VM has a kernel, module or bootargs (the device model loads it)',
  'scenario: VM 0 vuart 1 target vuart is not connected back to it',
  'scenario: VM 1 bootargs have a byte that is not printable ASCII',
];

/** Apply case n to `work` and return the source to read. */
function scnMutate(n: number): ByteSource {
  scnCopyDefault();
  const vm0 = VM_TABLE;
  const vm1 = VM_TABLE + VM_SIZE;
  const vm2 = VM_TABLE + 2 * VM_SIZE;
  const vm3 = VM_TABLE + 3 * VM_SIZE;
  const regions = scnGet16(REGION_TABLE_AT);
  const vuarts = scnGet16(VUART_TABLE_AT);
  const vpcis = scnGet16(VPCI_TABLE_AT);
  const strings = scnGet16(0x30);
  const strSize = scnGet16(0x34);
  if (n === 0) workSource.len = 10;
  else if (n === 1) workSource.len = DEFAULT_SIZE - 1;
  else if (n === 2) scnPut8(0, 0x42);
  else if (n === 3) scnPut8(strings + strSize - 2, 0x21);
  else if (n === 4) scnPut16(4, 2);
  else if (n === 5) scnPut32(8, DEFAULT_SIZE + 8);
  else if (n === 6) scnPut16(0x10, 9);
  else if (n === 7) scnPut32(REGION_TABLE_AT, DEFAULT_SIZE);
  else if (n === 8) scnPut32(0x30, DEFAULT_SIZE - 4);
  else if (n === 9) scnPut16(vm2, strSize);
  else if (n === 10) scnPut8(vm0 + 4, 7);
  else if (n === 11) scnPut8(vm1 + 5, 0x10);
  else if (n === 12) scnPut32(regions + 8, 0x1234);
  else if (n === 13) scnPut8(vuarts + 8 + 6, 3);
  else if (n === 14) scnPut8(vuarts + 3 * 8 + 5, 1);
  else if (n === 15) scnPut8(vpcis, 9);
  else if (n === 16) scnPut8(vm3 + 7, 3);
  else if (n === 17) scnPut32(vm0 + 8, 0x22);
  else if (n === 18) scnPut8(vm0 + 0x44, 1);
  else if (n === 20) {
    scnPut16(vm1, scnGet16(vm0));
    scnPut16(vm1 + 2, scnGet16(vm0 + 2));
  } else if (n === 21) {
    scnPut16(vm2 + 0x18, scnGet16(vm1 + 0x18));
    scnPut16(vm2 + 0x1a, scnGet16(vm1 + 0x1a));
  } else if (n === 22) scnPut8(vuarts + 3 * 8 + 6, 2);
  else if (n === 23) scnPut8(scnGet16(0x30) + scnGet16(vm1 + 0x18) + 3, 9);
  if (n === 19) return oversized;
  if (n >= 4) scnSeal(workSource.len);
  return workSource;
}

function scnRunCases(print: boolean): number {
  let refused = 0;
  for (let n = 0; n < CASES; n++) {
    const src = scnMutate(n);
    const ok = scenario.read(src);
    if (!ok) refused++;
    if (print) {
      log.attach(capture);
      capture.reset();
      if (ok) log.line(LOG_INFO, 'accepted');
      else scenario.printError(log, LOG_INFO);
      check('corrupted image', n, CASE_EXPECTED[n] + '\r\n');
    }
  }
  return refused;
}

// ---- the default image's fields, against scenarios/default.ts -------------------

function scnFieldsStart(): void {
  log.attach(capture);
  capture.reset();
  log.begin(LOG_INFO);
}

function scnCheckDefault(): void {
  const ok = scenario.read(builtIn);
  scnFieldsStart();
  log.str(ok ? 'read' : 'refused');
  log.char(32);
  log.dec(scenario.vmCount);
  log.char(32);
  log.dec(scenario.pcpuCount);
  log.char(32);
  scenario.printString(log, scenario.nameOff, scenario.nameLen);
  log.end();
  check('default image', 0, 'read 4 2 hybrid\r\n');
  const expected = [
    'prelaunched 0 0x10 2 1 0x2 1 0x0 0x1000000 0 2 1 raw64 prelaunched 0x100000 0x100000',
    'service 1 0x20 1 1 0x1 0 0x0 0x0 0 2 0 bzImage Linux_bzImage 0x0 0x0',
    'post1 2 0x10 0 1 0x1 1 0x0 0x4000000 0 1 0 none  0x0 0x0',
    'post2 2 0x10 0 2 0x3 1 0x0 0x8000000 0 1 0 none  0x0 0x0',
  ];
  const kernelNames = ['none', 'bzImage', 'raw64', 'elf'];
  for (let i = 0; i < scenario.vmCount && i < expected.length; i++) {
    const vm = scenario.vms[i];
    scnFieldsStart();
    scenario.printString(log, vm.nameOff, vm.nameLen);
    log.char(32);
    log.dec(vm.loadOrder);
    log.char(32);
    log.hex(vm.severity);
    log.char(32);
    log.dec(vm.kernelType);
    log.char(32);
    log.dec(vm.vcpuCount);
    log.char(32);
    log.hex(vm.affinityLo);
    log.char(32);
    log.dec(vm.regionCount);
    log.char(32);
    log.hex(vm.regionGpa(0));
    log.char(32);
    log.hex(vm.regionSize(0));
    log.char(32);
    log.dec(vm.regionHpaFixed(0) ? 1 : 0);
    log.char(32);
    log.dec(vm.vuartCount);
    log.char(32);
    log.dec(vm.vpciCount);
    log.char(32);
    log.str(kernelNames[vm.kernelType]);
    log.char(32);
    scenario.printString(log, vm.kernelModOff, vm.kernelModLen);
    log.char(32);
    log.hex(vm.kernelLoadGpa);
    log.char(32);
    log.hex(vm.kernelEntryGpa);
    log.end();
    check('default vm', i, expected[i] + '\r\n');
  }
  // Links, names and helpers.
  const pre = scenario.vms[0];
  const svc = scenario.vms[1];
  scnFieldsStart();
  log.dec(pre.vuartTargetVm(1));
  log.char(32);
  log.dec(pre.vuartTargetVuart(1));
  log.char(32);
  log.dec(svc.vuartTargetVm(1));
  log.char(32);
  log.hex(svc.vuartBase(1));
  log.char(32);
  log.dec(svc.vuartIrq(1));
  log.char(32);
  log.dec(scenario.findVm('post2'));
  log.char(32);
  log.dec(scenario.findVm('post'));
  log.char(32);
  log.dec(scenario.vmNameIs(1, 'service') ? 1 : 0);
  log.char(32);
  log.dec(pre.pcpuOfVcpu(0));
  log.char(32);
  log.dec(scenario.vms[3].pcpuOfVcpu(1));
  log.char(32);
  log.hex(pre.vpciVbdf(0));
  log.char(32);
  log.hex(pre.vpciPbdf(0));
  log.char(32);
  log.dec(scenario.stringIs(svc.bootargsOff, 14, 'console=ttyS0,') ? 1 : 0);
  log.char(32);
  log.dec(scenario.findModule(pre.kernelModOff, pre.kernelModLen));
  log.end();
  check('default links', 0, '1 1 0 0x2f8 3 3 -1 1 1 1 0x0 0xffff 1 -1\r\n');
}

// ---- seeded random and mutated images -------------------------------------------

class ScnFuzz {
  seed = 0x5ce7a110;
  sum = 0;
  accepted = 0;
  refused = 0;

  scnRandom(): number {
    let x = this.seed;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    this.seed = x;
    return x;
  }

  scnRecord(ok: boolean): void {
    if (ok) this.accepted++;
    else this.refused++;
    const outcome = ok ? 0 : scenario.errorCode * 256 + (scenario.errorVm + 1) * 16 + scenario.errorKind + 1;
    this.sum = (this.sum * 33 + outcome) % 4294967291;
  }

  /** Random bytes of a random length; half of them with a valid magic, size and CRC. */
  scnRandomImage(sealed: boolean): void {
    const len = this.scnRandom() % 1024;
    for (let i = 0; i < len; i++) work[i] = this.scnRandom() & 0xff;
    workSource.len = len;
    if (sealed && len >= 64) {
      scnPut32(0, 0x43534341);
      scnPut16(4, 1);
      scnPut16(6, 64);
      scnPut32(8, len);
      scnPut16(0x10, 1 + (this.scnRandom() % 8));
      scnSeal(len);
    }
    this.scnRecord(scenario.read(workSource));
  }

  /** The default image with 1 to 4 random bytes changed, resealed. */
  scnMutatedImage(): void {
    scnCopyDefault();
    const changes = 1 + (this.scnRandom() % 4);
    for (let c = 0; c < changes; c++) {
      const at = this.scnRandom() % DEFAULT_SIZE;
      work[at] = this.scnRandom() & 0xff;
    }
    scnSeal(DEFAULT_SIZE);
    this.scnRecord(scenario.read(workSource));
  }

  scnRunMany(count: number): void {
    for (let i = 0; i < count; i++) {
      this.scnRandomImage((i & 1) !== 0);
      this.scnMutatedImage();
    }
  }
}

const fuzz = new ScnFuzz();
const FUZZ_ROUNDS = 2000;

say('conformance: scenario');
scenario.read(builtIn);
log.attach(com1);
scenario.printSummary(log, LOG_INFO);
scnCheckDefault();
const refused = scnRunCases(true);
say(refused === CASES ? 'every corrupted image refused: ok' : 'every corrupted image refused: MISMATCH');
fuzz.scnRunMany(FUZZ_ROUNDS);
log.attach(com1);
log.begin(LOG_INFO);
log.str('random and mutated images: ');
log.dec(fuzz.accepted + fuzz.refused);
log.str(' read, ');
log.dec(fuzz.accepted);
log.str(' accepted, ');
log.dec(fuzz.refused);
log.str(' refused, outcome checksum ');
log.hex(fuzz.sum, 8);
log.end();
say(scenario.read(builtIn) && scenario.vmCount === 4 ? 'default reads again after the fuzz: ok' : 'default reads again after the fuzz: MISMATCH');
{
  const before = heapUsed();
  for (let round = 0; round < 20; round++) {
    scenario.read(builtIn);
    scenario.findVm('post1');
    scnRunCases(false);
  }
  heapDelta('scenario reads', before);
}
{
  const before = heapUsed();
  fuzz.scnRunMany(200);
  heapDelta('400 random scenario images', before);
}
say('conformance: scenario done');
