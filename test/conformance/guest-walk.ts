// Conformance: the guest page walker (hv/vm/guest-walk.ts) compiled by the
// native pipeline must print what Node prints. The hosted build has no
// physical memory, so the guest's paging structures live in this program's
// own typed arrays behind the GuestPhysMemory interface (ten 4 KiB pages at
// fixed GPAs; one GPA "not mapped by the EPT", one page whose A/D updates the
// "EPT" refuses). Every vector walks one linear address in one paging mode
// with control bits and an access type, and prints the status with the GPA
// and page size, or the #PF error code. The expected lines are written out
// here from the SDM Vol. 3A chapter 4 layouts (see the table comments); then
// the accessed/dirty updates of a few walks on fresh tables; then every vector
// 2,000 more times, which must not grow the heap. The copies
// (hv/vm/guest-copy.ts) need physical memory: test/unit/guest-copy.test.ts.
import { heapUsed } from '../../arch/x86/intrinsics';
import { LOG_INFO, log } from '../../hv/log';
import { type GuestPhysMemory, GuestWalker, PagingState, WALK_FAULT, WALK_OK } from '../../hv/vm/guest-walk';
import { capture, check, com1, heapDelta, say } from './lib';

const PAGES = 10;
/** The fake guest-physical pages: page k sits at GPA PAGE_GPA[k]. */
const PAGE_GPA = [0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000, 0x7000, 0x8000, 0xa000, 0xb000];
/** Page whose A/D updates fail (an EPT read-only page). 0x9000 is in no page: unmapped. */
const READ_ONLY_GPA = 0xa000;

class ConfMem implements GuestPhysMemory {
  entryHi = 0;
  /** setEntryBits calls that wrote. */
  writes = 0;
  readonly pages: Uint32Array[] = [];

  constructor() {
    for (let k = 0; k < PAGES; k++) this.pages.push(new Uint32Array(1024));
  }

  private slot(gpa: number): number {
    const base = gpa - (gpa % 4096);
    for (let k = 0; k < PAGES; k++) if (PAGE_GPA[k] === base) return k;
    return -1;
  }

  clear(): void {
    for (let k = 0; k < PAGES; k++) {
      const page = this.pages[k];
      for (let w = 0; w < 1024; w++) page[w] = 0;
    }
    this.writes = 0;
  }

  /** Store an 8-byte entry (hi:lo) at `gpa`. */
  put(gpa: number, hiHalf: number, loHalf: number): void {
    const k = this.slot(gpa);
    if (k < 0) return;
    const page = this.pages[k];
    const w = (gpa % 4096) / 4;
    page[w] = loHalf >>> 0;
    page[w + 1] = hiHalf >>> 0;
  }

  /** Store a 4-byte entry at `gpa`. */
  put32(gpa: number, value: number): void {
    const k = this.slot(gpa);
    if (k < 0) return;
    const page = this.pages[k];
    const w = (gpa % 4096) / 4;
    page[w] = value >>> 0;
  }

  lowWord(gpa: number): number {
    const k = this.slot(gpa);
    return k < 0 ? 0 : this.pages[k][(gpa % 4096) / 4];
  }

  readEntry(gpa: number, size: number): number {
    this.entryHi = 0;
    const k = this.slot(gpa);
    if (k < 0) return -1;
    const page = this.pages[k];
    const w = (gpa % 4096) / 4;
    if (size === 8) this.entryHi = page[w + 1];
    return page[w];
  }

  setEntryBits(gpa: number, bits: number): boolean {
    const k = this.slot(gpa);
    if (k < 0 || gpa - (gpa % 4096) === READ_ONLY_GPA) return false;
    const page = this.pages[k];
    const w = (gpa % 4096) / 4;
    page[w] = (page[w] | bits) >>> 0;
    this.writes++;
    return true;
  }
}

// Entry bits (SDM Vol. 3A Tables 4-4..4-19).
const P = 1;
const RW = 2;
const US = 4;
const PRW = P | RW;
const PRWU = P | RW | US;
const PS = 0x80;
const XD_HI = 0x80000000; // bit 63

/**
 * The guest's tables. 4-level (CR3 0x1000):
 *   PML4 0x1000: [0] -> 0x2000, [1] PS (reserved), [2] -> 0x9000 (unmapped), [511] -> 0x2000
 *   PDPT 0x2000: [0] -> 0x3000, [1] 1 GiB at 0xf_c0000000, [2] 1 GiB with bit 13 (reserved),
 *                [3] -> 0x3000 read-only, [4] not present, [5] -> 0x3000 supervisor,
 *                [6] -> 0x3000 XD, [7] -> PD 0xa000 (A/D update refused)
 *   PD   0x3000: [0] -> 0x4000, [1] 2 MiB at 0x1_23400000, [2] 2 MiB with bit 20 (reserved), [3] not present
 *   PD   0xa000: [0] -> 0x4000 (A clear)
 *   PT   0x4000: [0] 0xabc_def01000, [1] 0x50000 user read-only, [2] 0x60000 supervisor,
 *                [3] 0x70000 XD, [4] not present, [5] 0x80000 with bit 51 (reserved with M = 46),
 *                [6] 0x90000 with bits 62:52 set (ignored), [7] 0xa0000 with A and D set
 * 32-bit (CR3 0x5000):
 *   PD 0x5000: [0] -> 0x6000, [1] 4 MiB at 0x12_00400000 (PSE-36) or, without CR4.PSE, a
 *              page table at 0x424000 (unmapped), [2] 4 MiB with bit 21 (reserved),
 *              [3] -> 0x6000 read-only, [4] not present
 *   PT 0x6000: [0] 0x1234000, [1] 0x5678000 supervisor, [2] not present
 * PAE (PDPTE registers [0] -> 0x7000, [1] not present, [2] bit 1 set, [3] bit 63 set):
 *   PD 0x7000: [0] -> 0x8000, [1] 2 MiB at 0x3_00600000, [2] -> 0x8000 with XD
 *   PT 0x8000: [0] 0x12_34567000, [1] bit 52 set (reserved), [2] not present
 */
function buildTables(mem: ConfMem): void {
  mem.clear();
  mem.put(0x1000, 0, 0x2000 | PRWU);
  mem.put(0x1008, 0, 0x2000 | PRWU | PS);
  mem.put(0x1010, 0, 0x9000 | PRWU);
  mem.put(0x1000 + 511 * 8, 0, 0x2000 | PRWU);
  mem.put(0x2000, 0, 0x3000 | PRWU);
  mem.put(0x2008, 0xf, 0xc0000000 | PS | PRWU);
  mem.put(0x2010, 0, 0x40000000 | 0x2000 | PS | PRWU);
  mem.put(0x2018, 0, 0x3000 | P | US);
  mem.put(0x2028, 0, 0x3000 | PRW);
  mem.put(0x2030, XD_HI, 0x3000 | PRWU);
  mem.put(0x2038, 0, 0xa000 | PRWU);
  mem.put(0x3000, 0, 0x4000 | PRWU);
  mem.put(0x3008, 1, 0x23400000 | PS | PRWU);
  mem.put(0x3010, 0, 0x00600000 | 0x100000 | PS | PRWU);
  mem.put(0xa000, 0, 0x4000 | PRWU);
  mem.put(0x4000, 0xabc, 0xdef01000 | PRWU);
  mem.put(0x4008, 0, 0x50000 | P | US);
  mem.put(0x4010, 0, 0x60000 | PRW);
  mem.put(0x4018, XD_HI, 0x70000 | PRWU);
  mem.put(0x4028, 0x80000, 0x80000 | PRWU);
  mem.put(0x4030, 0x7ff00000, 0x90000 | PRWU);
  mem.put(0x4038, 0, 0xa0000 | PRWU | 0x60);
  mem.put32(0x5000, 0x6000 | PRWU);
  mem.put32(0x5004, 0x00400000 | (0x12 << 13) | PS | PRWU);
  mem.put32(0x5008, 0x00800000 | 0x200000 | PS | PRWU);
  mem.put32(0x500c, 0x6000 | P | US);
  mem.put32(0x6000, 0x1234000 | PRWU);
  mem.put32(0x6004, 0x5678000 | PRW);
  mem.put(0x7000, 0, 0x8000 | PRWU);
  mem.put(0x7008, 3, 0x00600000 | PS | PRWU);
  mem.put(0x7010, XD_HI, 0x8000 | PRWU);
  mem.put(0x8000, 0x12, 0x34567000 | PRWU);
  mem.put(0x8008, 0x100000, 0x9000 | PRWU);
}

const mem = new ConfMem();
const walker = new GuestWalker(mem);
walker.maxPhysAddr = 46;
const ps = new PagingState();

// Access flags (#PF error-code positions) and control bits.
const W = 2;
const U = 4;
const F = 16;
const I = 0x100;
const WP = 0x10000; // CR0.WP
const PSE = 0x10; // CR4.PSE
const LA57 = 0x1000; // CR4.LA57
const SMEP = 0x100000; // CR4.SMEP
const SMAP = 0x200000; // CR4.SMAP
const NXE = 0x800; // EFER.NXE
const AC = 0x40000; // RFLAGS.AC

/** Set up `ps` for mode 0 (paging off), 1 (32-bit), 2 (PAE) or 3 (4-level), plus extra control bits. */
function setMode(mode: number, cr0x: number, cr4x: number, eferx: number, rflags: number): void {
  ps.cr0 = (0x11 | cr0x | (mode === 0 ? 0 : 0x80000000)) >>> 0;
  ps.cr4 = (mode >= 2 ? 0x20 : 0) | cr4x;
  ps.efer = (mode === 3 ? 0x500 : 0) | eferx;
  ps.rflags = rflags;
  ps.cr3Hi = 0;
  ps.cr3Lo = mode === 1 ? 0x5000 : 0x1000;
  ps.pdpteLo[0] = 0x7000 | P;
  ps.pdpteHi[0] = 0;
  ps.pdpteLo[1] = 0;
  ps.pdpteHi[1] = 0;
  ps.pdpteLo[2] = 0x7000 | P | RW;
  ps.pdpteHi[2] = 0;
  ps.pdpteLo[3] = 0x7000 | P;
  ps.pdpteHi[3] = XD_HI >>> 0;
}

// [mode, linHi, linLo, access, cr0 extra, cr4 extra, efer extra, rflags]
const VECTORS = [
  0, 0x5, 0x89abcdef, W | U | F, 0, 0, 0, 0,
  // 4-level
  3, 0, 0x123, 0, 0, 0, 0, 0,
  3, 0, 0x1000, U | W, 0, 0, 0, 0,
  3, 0, 0x1000, W, 0, 0, 0, 0,
  3, 0, 0x1000, W, WP, 0, 0, 0,
  3, 0, 0x2000, U, 0, 0, 0, 0,
  3, 0, 0x2000, 0, 0, 0, 0, 0,
  3, 0, 0x3000, F, 0, 0, 0, 0,
  3, 0, 0x3000, F | U, 0, 0, NXE, 0,
  3, 0, 0x3000, U, 0, 0, NXE, 0,
  3, 0, 0x4000, W, 0, 0, 0, 0,
  3, 0, 0x5000, 0, 0, 0, 0, 0,
  3, 0, 0x6000, 0, 0, 0, 0, 0,
  3, 0, 0x7000, W, 0, 0, 0, 0,
  3, 0, 0x201234, 0, 0, 0, 0, 0,
  3, 0, 0x400000, 0, 0, 0, 0, 0,
  3, 0, 0x600000, U | W, 0, 0, 0, 0,
  3, 0, 0x40005678, 0, 0, 0, 0, 0,
  3, 0, 0x80000000, 0, 0, 0, 0, 0,
  3, 0, 0xc0000000, U | W, 0, 0, 0, 0,
  3, 0, 0xc0000000, W, 0, 0, 0, 0,
  3, 1, 0x00000000, 0, 0, 0, 0, 0,
  3, 1, 0x40000000, U, 0, 0, 0, 0,
  3, 1, 0x80000000, F, 0, 0, NXE, 0,
  3, 1, 0x80000000, F, 0, 0, 0, 0,
  3, 1, 0xc0000000, 0, 0, 0, 0, 0,
  3, 0x80, 0, 0, 0, 0, 0, 0,
  3, 0x100, 0, 0, 0, 0, 0, 0,
  3, 0xffffff80, 0, 0, 0, 0, 0, 0,
  3, 0x8000, 0, 0, 0, 0, 0, 0,
  3, 0xffff7fff, 0xfffff000, 0, 0, 0, 0, 0,
  3, 0, 0, 0, 0, LA57, 0, 0,
  3, 0, 0, F, 0, SMEP, 0, 0,
  3, 0, 0x2000, F, 0, SMEP, 0, 0,
  3, 0, 0, 0, 0, SMAP, 0, 0,
  3, 0, 0, 0, 0, SMAP, 0, AC,
  3, 0, 0, I, 0, SMAP, 0, AC,
  3, 0, 0x1000, W, WP, SMAP, 0, AC,
  3, 0, 0x4000, F, 0, SMEP, 0, 0,
  // 32-bit
  1, 0, 0xabc, 0, 0, 0, 0, 0,
  1, 0, 0x401234, 0, 0, 0, 0, 0,
  1, 0, 0x401234, 0, 0, PSE, 0, 0,
  1, 0, 0x800000, 0, 0, PSE, 0, 0,
  1, 0, 0xc00000, U | W, 0, 0, 0, 0,
  1, 0, 0xc00000, W, WP, 0, 0, 0,
  1, 0, 0x1000000, F, 0, SMEP, 0, 0,
  1, 0, 0x1000000, F, 0, 0, NXE, 0,
  1, 0, 0x1000, U, 0, 0, 0, 0,
  1, 0, 0x2000, 0, 0, 0, 0, 0,
  1, 0x1234, 0xabc, 0, 0, 0, 0, 0,
  // PAE
  2, 0, 0xdef, 0, 0, 0, 0, 0,
  2, 0, 0x201234, 0, 0, 0, 0, 0,
  2, 0, 0x400000, 0, 0, 0, 0, 0,
  2, 0, 0x400000, F, 0, 0, NXE, 0,
  2, 0, 0x400000, 0, 0, 0, NXE, 0,
  2, 0, 0x1000, 0, 0, 0, 0, 0,
  2, 0, 0x2000, 0, 0, 0, 0, 0,
  2, 0, 0x2000, F, 0, 0, NXE, 0,
  2, 0, 0x40000000, 0, 0, 0, 0, 0,
  2, 0, 0x40000000, W | U, 0, 0, 0, 0,
  2, 0, 0x80000000, 0, 0, 0, 0, 0,
  2, 0, 0xc0000000, 0, 0, 0, 0, 0,
];
const FIELDS = 8;

// "0 <gpa> <page size>" on success, "1 err <#PF error code>" on a fault, else the status.
// Error codes: P 1, W 2, U 4, RSVD 8, I/D 16 (SDM Vol. 3A 4.7).
const WANT = [
  '0 0x89abcdef 0x1000', // paging off: bits 31:0
  '0 0xabcdef01123 0x1000', // PT[0]
  '1 err 0x7', // user write, read-only: P|W|U
  '0 0x50000 0x1000', // supervisor write, WP=0
  '1 err 0x3', // WP=1: P|W
  '1 err 0x5', // user read of a supervisor page: P|U
  '0 0x60000 0x1000',
  '1 err 0x9', // XD without NXE: reserved, no I/D
  '1 err 0x15', // user fetch from XD page: P|U|I/D
  '0 0x70000 0x1000', // reading an XD page is fine
  '1 err 0x2', // not present, write
  '1 err 0x9', // bit 51 with MAXPHYADDR 46
  '0 0x90000 0x1000', // bits 62:52 ignored
  '0 0xa0000 0x1000',
  '0 0x123401234 0x200000', // 2 MiB
  '1 err 0x9', // 2 MiB bit 20
  '1 err 0x6', // PDE not present, user write
  '0 0xfc0005678 0x40000000', // 1 GiB
  '1 err 0x9', // 1 GiB bit 13
  '1 err 0x7', // read-only PDPTE, user write
  '0 0xabcdef01000 0x1000', // read-only PDPTE, supervisor write, WP=0
  '1 err 0x0', // PDPTE not present
  '1 err 0x5', // supervisor PDPTE, user read
  '1 err 0x11', // XD PDPTE, supervisor fetch, NXE: P|I/D
  '1 err 0x9', // the same without NXE: reserved
  '2', // A update refused in page 0xa000
  '1 err 0x9', // PML4E PS
  '2', // PDPT at an unmapped GPA
  '0 0xabcdef01000 0x1000', // PML4E 511 (upper canonical half)
  '4', // non-canonical
  '4',
  '3', // LA57
  '1 err 0x11', // SMEP: supervisor fetch from a user page
  '0 0x60000 0x1000', // SMEP: supervisor page
  '1 err 0x1', // SMAP, AC=0
  '0 0xabcdef01000 0x1000', // SMAP, AC=1, explicit
  '1 err 0x1', // SMAP, AC=1, implicit
  '1 err 0x3', // SMAP, AC=1, read-only user page, WP=1
  '1 err 0x10', // not present fetch with SMEP: I/D
  // 32-bit
  '0 0x1234abc 0x1000',
  '2', // PS ignored without CR4.PSE: page table at 0x424000, unmapped
  '0 0x1200401234 0x400000', // 4 MiB, PSE-36 bits 39:32 = 0x12
  '1 err 0x9', // bit 21
  '1 err 0x7',
  '1 err 0x3',
  '1 err 0x10', // not present fetch, SMEP: I/D
  '1 err 0x0', // not present fetch, NXE only: no I/D in 32-bit paging
  '1 err 0x5',
  '1 err 0x0',
  '0 0x1234abc 0x1000', // bits 63:32 ignored
  // PAE
  '0 0x1234567def 0x1000',
  '0 0x300601234 0x200000',
  '1 err 0x9', // XD without NXE
  '1 err 0x11', // XD fetch with NXE: P|I/D
  '0 0x1234567000 0x1000',
  '1 err 0x9', // PTE bit 52
  '1 err 0x0',
  '1 err 0x10', // not present fetch with NXE: I/D
  '1 err 0x0', // PDPTE not present
  '1 err 0x6',
  '1 err 0x9', // PDPTE bit 1
  '1 err 0x9', // PDPTE bit 63
];

function runVector(i: number): number {
  const v = i * FIELDS;
  setMode(VECTORS[v], VECTORS[v + 4], VECTORS[v + 5], VECTORS[v + 6], VECTORS[v + 7]);
  return walker.walk(ps, VECTORS[v + 1], VECTORS[v + 2], VECTORS[v + 3]);
}

function printResult(st: number): void {
  log.dec(st);
  if (st === WALK_OK) {
    log.char(32);
    log.hex(walker.gpa);
    log.char(32);
    log.hex(walker.pageSize);
  } else if (st === WALK_FAULT) {
    log.str(' err ');
    log.hex(walker.faultError);
  }
}

say('conformance: guest page walker');
buildTables(mem);
say(VECTORS.length === WANT.length * FIELDS ? 'walk vector table: ok' : 'walk vector table: MISMATCH');
for (let i = 0; i < WANT.length; i++) {
  const st = runVector(i);
  log.attach(capture);
  capture.reset();
  log.begin(LOG_INFO);
  printResult(st);
  check('walk', i, WANT[i]);
}

// Accessed/dirty flags on fresh tables: [mode, lin, access, cr4 extra] and the
// entries' low dwords afterwards. A = 0x20, D = 0x40 (SDM Vol. 3A 4.8).
const AD_WALKS = [3, 0, W, 0, 3, 0x1000, 0, 0, 3, 0x7000, W, 0, 3, 0x1000, U | W, 0, 1, 0x400000, W, PSE, 2, 0, W, 0];
const AD_ENTRIES = [0x1000, 0x2000, 0x3000, 0x4000, 0x4008, 0x4038, 0x5004, 0x7000, 0x8000];
// PML4[0], PDPT[0], PD[0] get A; PT[0] A|D (write); PT[1] A (read); PT[7] had both;
// the faulting user write changes nothing; 32-bit 4 MiB PDE A|D; PAE PDE A, PTE A|D.
const AD_WANT = '8 0x2027 0x3027 0x4027 0xdef01067 0x50025 0xa0067 0x4240e7 0x8027 0x34567067';
buildTables(mem);
for (let k = 0; k < AD_WALKS.length; k += 4) {
  setMode(AD_WALKS[k], 0, AD_WALKS[k + 3], 0, 0);
  walker.walk(ps, 0, AD_WALKS[k + 1], AD_WALKS[k + 2]);
}
log.attach(capture);
capture.reset();
log.begin(LOG_INFO);
log.dec(mem.writes);
for (let k = 0; k < AD_ENTRIES.length; k++) {
  log.char(32);
  log.hex(mem.lowWord(AD_ENTRIES[k]));
}
check('accessed/dirty', 0, AD_WANT);

// The walk loop allocates nothing: every vector 2,000 more times.
{
  const ROUNDS = 2000;
  buildTables(mem);
  const before = heapUsed();
  let sum = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < WANT.length; i++) {
      const st = runVector(i);
      sum = (sum * 31 + st * 7 + (st === WALK_OK ? walker.gpa % 65521 : walker.faultError)) % 1000000007;
    }
  }
  heapDelta('walk loop (2,000 rounds of every vector)', before);
  log.attach(com1);
  log.begin(LOG_INFO);
  log.str('walk loop checksum ');
  log.dec(sum);
  log.str(' A/D writes ');
  log.dec(mem.writes);
  log.end();
}
say('conformance: guest page walker done');
