// Conformance: the EPT module's pure helpers (entry encoding and decoding,
// table indices, page-size choice, permission and memory-type checks, EPTP)
// and the argument checks of the Ept class, which reach no physical memory,
// compiled by the native pipeline must print what Node prints. The expected
// values are written out from the SDM bit layout (Vol. 3C 29.3, 25.6.11):
//   leaf = address | IPAT<<6 | PS<<7 | MT<<3 | X<<2 | W<<1 | R.
// The table walks themselves touch physical memory, which the hosted build
// does not have; test/unit/ept.test.ts covers them on the SimMachine.
import {
  EPT_ERR_ALIGN, EPT_ERR_MEMTYPE, EPT_ERR_PERMS, EPT_ERR_RANGE, EPT_ERR_STATE, Ept, eptCheckRange, eptEntryAddr,
  eptEntryHi, eptEntryLo, eptEntryMemType, eptIndex, eptIsLeaf, eptLevelSize, eptMemTypeValid, eptPageSize,
  eptPermsValid, eptPointerHi, eptPointerLo,
} from '../../arch/x86/ept';
import { heapUsed } from '../../arch/x86/intrinsics';
import { LOG_INFO, log } from '../../hv/log';
import { capture, check, heapDelta, say } from './lib';

const K4 = 0x1000;
const M2 = 0x200000;
const G1 = 0x40000000;

// [hpa, perms, memType (| 8 = IPAT), large, level]: the entry as 16 hex digits.
const ENTRY_VECTORS = [
  0x40005000, 7, 6, 0, 1,
  0x80000000, 5, 0, 1, 2,
  0x100000000, 7, 6, 1, 3,
  0xfffffffff000, 3, 14, 0, 1,
  0xffffffffff000, 1, 1, 0, 1,
  0x123456789000, 4, 5, 0, 1,
  0x7fe00000, 7, 4, 1, 2,
  0xc0000000, 1, 14, 1, 3,
  0x5003000, 7, 0, 0, 4,
  0x3ffffe00000, 3, 12, 1, 2,
];
const ENTRY_WANT = [
  '0x0000000040005037',
  '0x0000000080000085',
  '0x00000001000000b7',
  '0x0000fffffffff073',
  '0x000ffffffffff009',
  '0x000012345678902c',
  '0x000000007fe000a7',
  '0x00000000c00000f1',
  '0x0000000005003007',
  '0x000003ffffe000e3',
];
// Decoded back: address, memory type, leaf at the vector's level.
const DECODE_WANT = [
  '0x40005000 6 1',
  '0x80000000 0 1',
  '0x100000000 6 1',
  '0xfffffffff000 14 1',
  '0xffffffffff000 1 1',
  '0x123456789000 5 1',
  '0x7fe00000 4 1',
  '0xc0000000 14 1',
  '0x5003000 0 0',
  '0x3ffffe00000 12 1',
];

// [gpa]: the PML4, PDPT, PD and PT indices (bits 47:39, 38:30, 29:21, 20:12).
const INDEX_VECTORS = [0x1234000, 0xfffffffff000, 0x8040201000, 0x7fc0000000, 0, 0x123456789abc, 0xffffffffffff];
const INDEX_WANT = ['0 0 9 52', '511 511 511 511', '1 1 1 1', '0 511 0 0', '0 0 0 0', '36 209 179 393', '511 511 511 511'];

// [gpa, hpa, remaining, largest]: the page size map() picks.
const SIZE_VECTORS = [
  0, 0, G1, G1,
  0, 0, G1 - K4, G1,
  G1, 0x80200000, G1, G1,
  M2, M2, 2 * M2, G1,
  M2, M2 + K4, 2 * M2, G1,
  K4, M2, M2, G1,
  0, 0, 2 * G1, M2,
  0, 0, 2 * G1, K4,
  0x3ffc0000000, 0xfffc0000000, G1, G1,
  M2, M2, M2 - K4, G1,
  0xffffffe00000, 0xfffffffe00000, M2, G1,
];
const SIZE_WANT = ['0x40000000', '0x200000', '0x200000', '0x200000', '0x1000', '0x1000', '0x200000', '0x1000', '0x40000000', '0x1000', '0x200000'];

// perms 0..8 without, then with, execute-only support: 1 = valid.
const PERMS_WANT = '0 1 0 1 0 1 0 1 0 / 0 1 0 1 1 1 0 1 0';
// memory types 0..16: 1 = valid.
const MEMTYPE_WANT = '1 1 0 0 1 1 1 0 1 1 0 0 1 1 1 0 0';

// [pml4]: EPTP = pml4 | 3<<3 (walk length 4) | 6 (WB).
const EPTP_VECTORS = [0x5000000, 0xbcdef12345000, 0xfffff000];
const EPTP_WANT = ['0x000000000500001e', '0x000bcdef1234501e', '0x00000000fffff01e'];

// [gpa, size]: eptCheckRange.
const RANGE_VECTORS = [0, K4, 0x800, K4, 0, 0x1800, 0, 0, 0xffffffffe000, 0x2000, 0xfffffffff000, 0x2000, -K4, K4];
const RANGE_WANT = [0, EPT_ERR_ALIGN, EPT_ERR_ALIGN, EPT_ERR_RANGE, 0, EPT_ERR_RANGE, EPT_ERR_RANGE];

function startLine(): void {
  log.attach(capture);
  capture.reset();
  log.begin(LOG_INFO);
}

function entryVector(i: number): void {
  const v = i * 5;
  const hpa = ENTRY_VECTORS[v];
  startLine();
  log.hex64(eptEntryHi(hpa), eptEntryLo(hpa, ENTRY_VECTORS[v + 1], ENTRY_VECTORS[v + 2], ENTRY_VECTORS[v + 3] !== 0));
}

function decodeVector(i: number): void {
  const v = i * 5;
  const hpa = ENTRY_VECTORS[v];
  const lo = eptEntryLo(hpa, ENTRY_VECTORS[v + 1], ENTRY_VECTORS[v + 2], ENTRY_VECTORS[v + 3] !== 0);
  const hiHalf = eptEntryHi(hpa);
  startLine();
  log.hex(eptEntryAddr(hiHalf, lo));
  log.char(32);
  log.dec(eptEntryMemType(lo));
  log.char(32);
  log.dec(eptIsLeaf(lo, ENTRY_VECTORS[v + 4]) ? 1 : 0);
}

function indexVector(i: number): void {
  startLine();
  for (let level = 4; level >= 1; level--) {
    log.dec(eptIndex(INDEX_VECTORS[i], level));
    if (level > 1) log.char(32);
  }
}

function sizeVector(i: number): void {
  const v = i * 4;
  startLine();
  log.hex(eptPageSize(SIZE_VECTORS[v], SIZE_VECTORS[v + 1], SIZE_VECTORS[v + 2], SIZE_VECTORS[v + 3]));
}

function permsTable(): void {
  startLine();
  for (let p = 0; p <= 8; p++) {
    log.dec(eptPermsValid(p, false) ? 1 : 0);
    if (p < 8) log.char(32);
  }
  log.str(' / ');
  for (let p = 0; p <= 8; p++) {
    log.dec(eptPermsValid(p, true) ? 1 : 0);
    if (p < 8) log.char(32);
  }
}

function memTypeTable(): void {
  startLine();
  for (let t = 0; t <= 16; t++) {
    log.dec(eptMemTypeValid(t) ? 1 : 0);
    if (t < 16) log.char(32);
  }
}

function eptpVector(i: number): void {
  startLine();
  log.hex64(eptPointerHi(EPTP_VECTORS[i]), eptPointerLo(EPTP_VECTORS[i]));
}

say('conformance: ept');
for (let i = 0; i < ENTRY_WANT.length; i++) {
  entryVector(i);
  check('ept entry', i, ENTRY_WANT[i]);
}
for (let i = 0; i < DECODE_WANT.length; i++) {
  decodeVector(i);
  check('ept decode', i, DECODE_WANT[i]);
}
for (let i = 0; i < INDEX_WANT.length; i++) {
  indexVector(i);
  check('ept index', i, INDEX_WANT[i]);
}
for (let i = 0; i < SIZE_WANT.length; i++) {
  sizeVector(i);
  check('ept page size', i, SIZE_WANT[i]);
}
permsTable();
check('ept perms', 0, PERMS_WANT);
memTypeTable();
check('ept memtype', 0, MEMTYPE_WANT);
for (let i = 0; i < EPTP_WANT.length; i++) {
  eptpVector(i);
  check('eptp', i, EPTP_WANT[i]);
}
{
  let ok = 0;
  for (let i = 0; i < RANGE_WANT.length; i++) if (eptCheckRange(RANGE_VECTORS[i * 2], RANGE_VECTORS[i * 2 + 1]) === RANGE_WANT[i]) ok++;
  const sizes = eptLevelSize(1) === K4 && eptLevelSize(2) === M2 && eptLevelSize(3) === G1 && eptLevelSize(4) === 0x8000000000;
  say(ok === RANGE_WANT.length && sizes ? 'ept ranges and level sizes: ok' : 'ept ranges and level sizes: MISMATCH');
}

// The Ept class up to its first physical access: no pool here (the hosted
// build has none, nor does Node's machine), so init fails and every call ends
// in an argument or state check.
const ept = new Ept();
function classChecks(): number {
  let ok = 0;
  if (!ept.init()) ok++;
  if (ept.eptpHi() === 0 && ept.eptpLo() === 0) ok++;
  if (ept.map(0x800, 0, K4, 7, 6) === EPT_ERR_ALIGN) ok++;
  if (ept.map(0, 0x10, K4, 7, 6) === EPT_ERR_ALIGN) ok++;
  if (ept.map(0, 0xffffffffff000, 2 * K4, 7, 6) === EPT_ERR_RANGE) ok++;
  if (ept.map(0, 0, K4, 2, 6) === EPT_ERR_PERMS) ok++;
  if (ept.map(0, 0, K4, 6, 6) === EPT_ERR_PERMS) ok++;
  if (ept.map(0, 0, K4, 7, 7) === EPT_ERR_MEMTYPE) ok++;
  if (ept.map(0, 0, K4, 7, 6) === EPT_ERR_STATE) ok++;
  if (ept.unmap(0, K4) === EPT_ERR_STATE) ok++;
  if (ept.unmap(0, 0) === EPT_ERR_RANGE) ok++;
  if (ept.modify(0, K4, 1, 0) === EPT_ERR_STATE) ok++;
  if (ept.modify(0, K4, 4, 0) === EPT_ERR_PERMS) ok++;
  if (ept.translate(0x1000) === -1 && ept.lastPerms === 0 && ept.lastPageSize === 0) ok++;
  ept.destroy();
  if (ept.tablePages === 0) ok++;
  return ok;
}
say(classChecks() === 15 ? 'ept class argument and state checks: ok' : 'ept class argument and state checks: MISMATCH');

// None of this may allocate: 10,000 more rounds, and the heap must not move.
{
  const before = heapUsed();
  let sum = 0;
  for (let r = 0; r < 10000; r++) {
    const i = r % ENTRY_WANT.length;
    const v = i * 5;
    const lo = eptEntryLo(ENTRY_VECTORS[v], ENTRY_VECTORS[v + 1], ENTRY_VECTORS[v + 2], ENTRY_VECTORS[v + 3] !== 0);
    const hiHalf = eptEntryHi(ENTRY_VECTORS[v]);
    sum += eptEntryAddr(hiHalf, lo) === ENTRY_VECTORS[v] ? 1 : 0;
    sum += eptEntryMemType(lo) === ENTRY_VECTORS[v + 2] ? 1 : 0;
    sum += eptIndex(INDEX_VECTORS[r % INDEX_VECTORS.length], 1 + (r % 4)) >= 0 ? 1 : 0;
    const s = (r % SIZE_WANT.length) * 4;
    sum += eptPageSize(SIZE_VECTORS[s], SIZE_VECTORS[s + 1], SIZE_VECTORS[s + 2], SIZE_VECTORS[s + 3]) >= K4 ? 1 : 0;
    sum += eptPermsValid(r % 9, (r & 1) === 0) ? 1 : 0;
    sum += eptMemTypeValid(r % 17) ? 1 : 0;
    sum += eptPointerLo(EPTP_VECTORS[r % 3]) > 0 ? 1 : 0;
    sum += eptCheckRange(RANGE_VECTORS[(r % 7) * 2], RANGE_VECTORS[(r % 7) * 2 + 1]) <= 0 ? 1 : 0;
    if (r % 100 === 0) sum += classChecks() === 15 ? 1 : 0;
  }
  heapDelta('ept helpers (10,000 rounds)', before);
  // Per round: 6 checks that always hold (address and memory type round
  // trips, index, page size, EPTP, range), the perms and memory-type
  // verdicts, and every 100th round the class checks.
  let want = 10000 * 6 + 100;
  for (let r = 0; r < 10000; r++) {
    if (eptPermsValid(r % 9, (r & 1) === 0)) want++;
    if (eptMemTypeValid(r % 17)) want++;
  }
  say(sum === want ? 'ept round trips: ok' : 'ept round trips: MISMATCH');
}
say('conformance: ept done');
