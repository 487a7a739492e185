// ExitInfo.decode: one VM exit into plain records. Every expected value is
// worked out from the SDM layouts (Vol. 3C 28.2.1 Tables 28-1..28-7 for the exit
// qualification, Table 28-8 for the INS/OUTS instruction information, 25.9.2 /
// Table 25-17 for the interruption and IDT-vectoring information) and written
// out here; the exit is planted in the simulated VMCS as the CPU would record it.
import { beforeEach, describe, expect, it } from 'vitest';
import { ExitInfo } from '../../arch/x86/vmexit-info';
import { type Fixture, makeFixture, plantExit, type ExitSpec } from './vm-fixture';

let f: Fixture;
let e: ExitInfo;

function decode(s: ExitSpec): ExitInfo {
  plantExit(f.m, s);
  e.decode();
  return e;
}

beforeEach(() => {
  f = makeFixture();
  e = new ExitInfo();
});

describe('common fields (28.2.1 exit reason, 25.4 guest state)', () => {
  it('takes the basic reason from bits 15:0 and RIP as halves, with length, RFLAGS and interruptibility', () => {
    // CPUID (basic reason 10) at the canonical high address FFFFFFFF_80001000.
    decode({ reason: 10, instLen: 2, rip: 0x80001000, ripHi: 0xffffffff, rflags: 0x246, interruptibility: 1 });
    expect(e.reason).toBe(10);
    expect(e.entryFailure).toBe(false);
    expect(e.instLen).toBe(2);
    expect(e.ripLo).toBe(0x80001000);
    expect(e.ripHi).toBe(0xffffffff);
    expect(e.rflags).toBe(0x246);
    expect(e.interruptibility).toBe(1); // blocking by STI (Table 25-3 bit 0)
  });

  it('ignores the other bits of the exit-reason field (bit 27 enclave mode, bit 29 from VMX root)', () => {
    decode({ reason: 30, reasonExtra: (1 << 27) | (1 << 29) });
    expect(e.reason).toBe(30);
    expect(e.entryFailure).toBe(false);
  });

  it('reports a VM-entry failure from bit 31 (28.2.1: invalid guest state 33, MSR loading 34, machine check 41)', () => {
    for (const reason of [33, 34, 41]) {
      decode({ reason, entryFailure: true });
      expect(e.reason).toBe(reason);
      expect(e.entryFailure).toBe(true);
    }
    decode({ reason: 12 });
    expect(e.entryFailure).toBe(false);
  });

  it('reads the full 64-bit exit qualification as halves', () => {
    decode({ reason: 28, qual: 0x89abcdef, qualHi: 0x01234567 });
    expect(e.qualLo).toBe(0x89abcdef);
    expect(e.qualHi).toBe(0x01234567);
  });
});

describe('I/O instruction qualification (Table 28-5) and INS/OUTS instruction information (Table 28-8)', () => {
  // Table 28-5: bits 2:0 size-1 (0 byte, 1 word, 3 dword), bit 3 direction (1 IN),
  // bit 4 string, bit 5 REP, bit 6 operand encoding (1 immediate), bits 31:16 port.
  const cases: [string, number, number, { port: number; size: number; isIn: boolean; isString: boolean; rep: boolean }][] = [
    ['in al, dx (port 3F8)', 0x03f80008, 0, { port: 0x3f8, size: 1, isIn: true, isString: false, rep: false }],
    ['out 80h, ax (immediate)', 0x00800041, 0, { port: 0x80, size: 2, isIn: false, isString: false, rep: false }],
    ['in eax, dx (port CFC)', 0x0cfc000b, 0, { port: 0xcfc, size: 4, isIn: true, isString: false, rep: false }],
    ['out dx, eax (port FFFF)', 0xffff0003, 0, { port: 0xffff, size: 4, isIn: false, isString: false, rep: false }],
    ['rep insw (port 1F0)', 0x01f00039, 0x80, { port: 0x1f0, size: 2, isIn: true, isString: true, rep: true }],
    ['rep outsb (port E9)', 0x00e90030, 0x20100, { port: 0xe9, size: 1, isIn: false, isString: true, rep: true }],
    ['outsd (port 0)', 0x00000013, 0x18000, { port: 0, size: 4, isIn: false, isString: true, rep: false }],
  ];
  for (const [name, qual, instInfo, want] of cases) {
    it(name, () => {
      decode({ reason: 30, qual, instInfo });
      expect(e.io.port).toBe(want.port);
      expect(e.io.size).toBe(want.size);
      expect(e.io.isIn).toBe(want.isIn);
      expect(e.io.isString).toBe(want.isString);
      expect(e.io.rep).toBe(want.rep);
    });
  }

  it('gives address size from bits 9:7 (0 16-bit, 1 32-bit, 2 64-bit) and the segment from bits 17:15', () => {
    decode({ reason: 30, qual: 0x01f00039, instInfo: 0x80 }); // a32, ES
    expect(e.io.addrSize).toBe(4);
    expect(e.io.segment).toBe(0);
    decode({ reason: 30, qual: 0x00e90030, instInfo: (2 << 7) | (4 << 15) }); // a64, FS override
    expect(e.io.addrSize).toBe(8);
    expect(e.io.segment).toBe(4);
    decode({ reason: 30, qual: 0x00000013, instInfo: (0 << 7) | (3 << 15) }); // a16, DS
    expect(e.io.addrSize).toBe(2);
    expect(e.io.segment).toBe(3);
    decode({ reason: 30, qual: 0x00000013, instInfo: (1 << 7) | (5 << 15) }); // a32, GS
    expect(e.io.addrSize).toBe(4);
    expect(e.io.segment).toBe(5);
    expect(e.instInfo).toBe(0x28080);
  });
});

describe('control-register access qualification (Table 28-3)', () => {
  // bits 3:0 CR, 5:4 access type (0 MOV to, 1 MOV from, 2 CLTS, 3 LMSW),
  // bit 6 LMSW operand type, bits 11:8 GPR, bits 31:16 LMSW source data.
  const cases: [string, number, { cr: number; accessType: number; gpr: number; lmswData: number }][] = [
    ['mov cr0, rax', 0x00000000, { cr: 0, accessType: 0, gpr: 0, lmswData: 0 }],
    ['mov cr4, r13', 0x00000d04, { cr: 4, accessType: 0, gpr: 13, lmswData: 0 }],
    ['mov cr3, rsp', 0x00000403, { cr: 3, accessType: 0, gpr: 4, lmswData: 0 }],
    ['mov r9, cr8', 0x00000918, { cr: 8, accessType: 1, gpr: 9, lmswData: 0 }],
    ['mov r15, cr3', 0x00000f13, { cr: 3, accessType: 1, gpr: 15, lmswData: 0 }],
    ['clts', 0x00000020, { cr: 0, accessType: 2, gpr: 0, lmswData: 0 }],
    ['lmsw ax (register)', 0x80010030, { cr: 0, accessType: 3, gpr: 0, lmswData: 0x8001 }],
    ['lmsw [mem] (memory operand, bit 6)', 0xfff10070, { cr: 0, accessType: 3, gpr: 0, lmswData: 0xfff1 }],
  ];
  for (const [name, qual, want] of cases) {
    it(name, () => {
      decode({ reason: 28, qual });
      expect(e.cr.cr).toBe(want.cr);
      expect(e.cr.accessType).toBe(want.accessType);
      expect(e.cr.gpr).toBe(want.gpr);
      expect(e.cr.lmswData).toBe(want.lmswData);
    });
  }
});

describe('EPT violation qualification (Table 28-7), guest-physical and guest-linear address', () => {
  it('a data write to a read-only page, with a valid linear address above 2^53', () => {
    // bit 1 write, bit 3 readable, bit 7 linear address valid, bit 8 translation of it.
    decode({ reason: 48, qual: 0x18a, gpa: 0x123456789a, linearHi: 0xffffffff, linearLo: 0x80001234 });
    expect(e.ept.read).toBe(false);
    expect(e.ept.write).toBe(true);
    expect(e.ept.fetch).toBe(false);
    expect(e.ept.allowedMask).toBe(1);
    expect(e.ept.linearValid).toBe(true);
    expect(e.ept.gpa).toBe(0x123456789a);
    expect(e.ept.linearHi).toBe(0xffffffff);
    expect(e.ept.linearLo).toBe(0x80001234);
  });

  it('a read of a page that allows write+execute', () => {
    decode({ reason: 48, qual: 0x1 | (6 << 3) | 0x80, gpa: 0x80000000, linearLo: 0x80000000 });
    expect([e.ept.read, e.ept.write, e.ept.fetch]).toEqual([true, false, false]);
    expect(e.ept.allowedMask).toBe(6);
    expect(e.ept.gpa).toBe(0x80000000);
  });

  it('an instruction fetch without a valid linear address leaves the linear halves 0', () => {
    decode({ reason: 48, qual: 0x4 | 0x100 /* bit 8 meaningless without bit 7 */, gpa: 0xfffff000, linearHi: 0x1234, linearLo: 0x5678 });
    expect([e.ept.read, e.ept.write, e.ept.fetch]).toEqual([false, false, true]);
    expect(e.ept.allowedMask).toBe(0);
    expect(e.ept.linearValid).toBe(false);
    expect(e.ept.linearLo).toBe(0);
    expect(e.ept.linearHi).toBe(0);
    expect(e.ept.gpa).toBe(0xfffff000);
  });

  it('EPT misconfiguration (reason 49) records the guest-physical address too', () => {
    decode({ reason: 49, gpa: 0xf_ffff_f000 });
    expect(e.ept.gpa).toBe(0xf_ffff_f000);
  });
});

describe('interruption information (Table 25-17: vector 7:0, type 10:8, error 11, NMI unblocking 12, valid 31)', () => {
  it('a hardware exception with an error code: #PF (type 3, vector 14)', () => {
    decode({ reason: 0, intrInfo: 0x80000b0e, intrError: 0x6 });
    expect(e.intrInfo).toBe(0x80000b0e);
    expect(e.intrError).toBe(6);
  });

  it('an NMI (type 2, vector 2) has no error code even if the field holds one', () => {
    decode({ reason: 0, intrInfo: 0x80000202, intrError: 0xdead });
    expect(e.intrInfo).toBe(0x80000202);
    expect(e.intrError).toBe(0);
  });

  it('an external interrupt (reason 1, type 0) with the acknowledged vector', () => {
    decode({ reason: 1, intrInfo: 0x800000ef });
    expect(e.intrInfo).toBe(0x800000ef);
    expect(e.intrInfo & 0xff).toBe(0xef);
    expect(e.intrError).toBe(0);
  });

  it('a #GP with error code 0 and NMI unblocking (bit 12)', () => {
    decode({ reason: 0, intrInfo: 0x80001b0d, intrError: 0 });
    expect(e.intrInfo).toBe(0x80001b0d);
    expect(e.intrError).toBe(0);
  });
});

describe('IDT-vectoring information (28.2.4) for every exit', () => {
  it('an exit during delivery of a #PF records the event and its error code', () => {
    decode({ reason: 48, qual: 0x2, gpa: 0x1000, idtVectoring: 0x80000b0e, idtError: 0x10 });
    expect(e.idtVectoring).toBe(0x80000b0e);
    expect(e.idtVectoringError).toBe(0x10);
  });

  it('a software interrupt INT 80h (type 4) has no error code; the instruction length is kept', () => {
    decode({ reason: 48, qual: 0x1, idtVectoring: 0x80000480, idtError: 0x55, instLen: 2 });
    expect(e.idtVectoring).toBe(0x80000480);
    expect(e.idtVectoringError).toBe(0);
    expect(e.instLen).toBe(2);
  });

  it('is 0 when the exit did not interrupt an event', () => {
    decode({ reason: 48, qual: 0x1, idtVectoring: 0x80000030 });
    expect(e.idtVectoring).toBe(0x80000030);
    decode({ reason: 10 });
    expect(e.idtVectoring).toBe(0);
    expect(e.idtVectoringError).toBe(0);
  });
});
