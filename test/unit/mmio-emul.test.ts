// MMIO emulation behind EPT violations (hv/vm/mmio-emul.ts): EPT-violation
// exits planted in the simulated VMCS as the CPU records them (SDM Vol. 3C
// 28.2.1 Table 28-7: bit 0 read, bit 1 write, bit 2 fetch, bit 7 linear
// address valid, bit 8 access to the final translation), with the guest's
// instruction bytes in its RAM. Instruction encodings were assembled with nasm;
// expected register, device and RFLAGS values follow the SDM's instruction
// pages and are written out here. Devices and registers are read back from the
// simulated machine, not through the code under test.
import { describe, expect, it } from 'vitest';
import type { SimMachine } from '../../arch/x86/sim-machine';
import * as F from '../../arch/x86/vmcs';
import { CTX_CR2 } from '../../arch/x86/vcpu-ctx';
import { TEST_MMIO_GPA, TEST_MMIO_SIZE, TestMmioDevice } from '../../hv/vm/test-mmio';
import { injectPending } from '../../hv/vm/virq';
import { LOAD_ORDER_POST, VM_PAUSED, VM_RUNNING } from '../../hv/vm/vm';
import {
  ENTRY_RIP, type Fixture, fieldHi, fieldLo, makeFixture, RAX, RBX, RCX, RDI, RSI, regHi, regLo, rip, runExit, setField,
  setGuestBytes, setReg,
} from './vm-fixture';

const READ = 0x181; // data read, linear address valid, final translation
const WRITE = 0x182;
const FETCH = 0x184;
const UNCLAIMED = TEST_MMIO_GPA + TEST_MMIO_SIZE; // nobody's page

function fixture(state: 'long64' | 'prot32' = 'long64'): Fixture & { dev: TestMmioDevice } {
  const f = makeFixture({ state });
  const dev = new TestMmioDevice();
  expect(f.vm.io.registerMmio(TEST_MMIO_GPA, TEST_MMIO_SIZE, dev)).toBe(true);
  return { ...f, dev };
}

/** Put `bytes` at guest RIP `at` (guest RAM is identity-mapped) and make it GUEST_RIP. */
function code(f: Fixture, bytes: number[], at = ENTRY_RIP): void {
  setGuestBytes(f, at, bytes);
  setField(f.m, F.GUEST_RIP, 0, at);
}

function ept(f: Fixture, qual: number, gpa: number, rflags = 2): void {
  runExit(f, { reason: 48, qual, gpa, linearLo: gpa, rflags });
}

function devBytes(dev: TestMmioDevice, gpa: number, n: number): number[] {
  return Array.from(dev.bytes.slice(gpa - TEST_MMIO_GPA, gpa - TEST_MMIO_GPA + n));
}

/** What the next VM entry injects: [interruption info, error code]. */
function nextInjection(f: { m: SimMachine; vcpu: Fixture['vcpu'] }): [number, number] {
  setField(f.m, F.VM_ENTRY_INTR_INFO, 0, 0);
  setField(f.m, F.VM_ENTRY_EXCEPTION_ERROR_CODE, 0, 0x5a5a);
  injectPending(f.vcpu);
  return [fieldLo(f.m, F.VM_ENTRY_INTR_INFO), fieldLo(f.m, F.VM_ENTRY_EXCEPTION_ERROR_CODE)];
}

describe('MMIO reads and writes through the emulator', () => {
  it('mov eax, [disp32] (8B 04 25 disp32) reads the device; RIP advances by 7; RAX bits 63:32 are cleared', () => {
    const f = fixture();
    f.dev.bytes.set([0x78, 0x56, 0x34, 0x12], 0x10);
    setReg(f, RAX, 0xffffffff, 0xffffffff);
    code(f, [0x8b, 0x04, 0x25, 0x10, 0x00, 0xe0, 0x3f]);
    ept(f, READ, TEST_MMIO_GPA + 0x10);
    expect([regHi(f, RAX), regLo(f, RAX)]).toEqual([0, 0x12345678]);
    expect(rip(f.m)).toBe(ENTRY_RIP + 7);
    expect(f.vm.state).toBe(VM_RUNNING);
    expect(f.dev.reads).toBe(1);
  });

  it('mov [rbx], rcx (48 89 0B) writes 8 bytes little-endian', () => {
    const f = fixture();
    setReg(f, RBX, TEST_MMIO_GPA + 0x100);
    setReg(f, RCX, 0x55667788, 0x11223344);
    code(f, [0x48, 0x89, 0x0b]);
    ept(f, WRITE, TEST_MMIO_GPA + 0x100);
    expect(devBytes(f.dev, TEST_MMIO_GPA + 0x100, 8)).toEqual([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
    expect(rip(f.m)).toBe(ENTRY_RIP + 3);
  });

  it('or dword [rbx], 0x80 (81 0B imm32) is a read-modify-write with SF set and CF, OF, ZF cleared (SDM OR)', () => {
    const f = fixture();
    setReg(f, RBX, TEST_MMIO_GPA);
    f.dev.bytes.set([0x01, 0x00, 0x00, 0x80], 0);
    code(f, [0x81, 0x0b, 0x80, 0x00, 0x00, 0x00]);
    ept(f, WRITE, TEST_MMIO_GPA, 0x2 | 0x1 | 0x800 | 0x40); // CF, OF, ZF set before
    expect(devBytes(f.dev, TEST_MMIO_GPA, 4)).toEqual([0x81, 0x00, 0x00, 0x80]);
    const flags = fieldLo(f.m, F.GUEST_RFLAGS);
    expect(flags & 0x8c1).toBe(0x80); // SF=1, OF=CF=ZF=0
    expect(flags & 0x4).toBe(0x4); // PF: 0x81 has two bits set -> even parity
  });

  it('a 16-bit RIP-relative read (66 8B 05 rel32) in 64-bit mode merges into AX', () => {
    const f = fixture();
    // rel32 = target - next RIP: next RIP = ENTRY_RIP + 7
    const rel = TEST_MMIO_GPA + 0x20 - (ENTRY_RIP + 7);
    code(f, [0x66, 0x8b, 0x05, rel & 0xff, (rel >>> 8) & 0xff, (rel >>> 16) & 0xff, (rel >>> 24) & 0xff]);
    f.dev.bytes.set([0xcd, 0xab], 0x20);
    setReg(f, RAX, 0x11112222, 0x33334444);
    ept(f, READ, TEST_MMIO_GPA + 0x20);
    expect([regHi(f, RAX), regLo(f, RAX)]).toEqual([0x33334444, 0x1111abcd]);
  });
});

describe('unmapped MMIO (nobody claims the address)', () => {
  it('reads all ones for a pre-launched VM and counts the access', () => {
    const f = fixture();
    setReg(f, RBX, UNCLAIMED);
    setReg(f, RAX, 0, 0x12345678);
    code(f, [0x48, 0x8b, 0x03]); // mov rax, [rbx]
    ept(f, READ, UNCLAIMED);
    expect([regHi(f, RAX), regLo(f, RAX)]).toEqual([0xffffffff, 0xffffffff]);
    expect(f.vm.io.unclaimedReads).toBe(1);
    expect(rip(f.m)).toBe(ENTRY_RIP + 3);
  });

  it('drops writes and goes on', () => {
    const f = fixture();
    setReg(f, RBX, UNCLAIMED);
    code(f, [0xc6, 0x03, 0x5a]); // mov byte [rbx], 0x5a
    ept(f, WRITE, UNCLAIMED);
    expect(f.vm.io.unclaimedWrites).toBe(1);
    expect(f.vm.state).toBe(VM_RUNNING);
    expect(rip(f.m)).toBe(ENTRY_RIP + 3);
  });

  it('an access straddling the end of the device region is not the device\'s: all ones', () => {
    const f = fixture();
    setReg(f, RBX, UNCLAIMED - 2);
    code(f, [0x8b, 0x03]); // mov eax, [rbx]
    ept(f, READ, UNCLAIMED - 2);
    expect(regLo(f, RAX)).toBe(0xffffffff);
    expect(f.dev.reads).toBe(0);
  });

  it('a post-launched VM\'s unclaimed access without a device model (no I/O request buffer) stops it', () => {
    const f = fixture();
    f.vm.loadOrder = LOAD_ORDER_POST;
    setReg(f, RBX, UNCLAIMED);
    code(f, [0x8b, 0x03]);
    ept(f, READ, UNCLAIMED);
    expect(f.vm.state).toBe(VM_PAUSED);
    expect(f.m.output()).toContain('stopped: MMIO access for the device model, but no device model serves this VM');
  });
});

describe('string instructions, one element per exit', () => {
  it('rep stosd (F3 AB) with ECX=3 writes one element per exit, keeps RIP until the count is 0', () => {
    const f = fixture();
    setReg(f, RAX, 0xa1b2c3d4);
    setReg(f, RCX, 3);
    setReg(f, RDI, TEST_MMIO_GPA + 0x40);
    code(f, [0xf3, 0xab]);
    for (let i = 0; i < 3; i++) {
      expect(rip(f.m)).toBe(ENTRY_RIP);
      ept(f, WRITE, TEST_MMIO_GPA + 0x40 + i * 4);
      expect(regLo(f, RCX)).toBe(2 - i);
      expect(regLo(f, RDI)).toBe(TEST_MMIO_GPA + 0x44 + i * 4);
    }
    expect(rip(f.m)).toBe(ENTRY_RIP + 2);
    expect(devBytes(f.dev, TEST_MMIO_GPA + 0x40, 12)).toEqual([0xd4, 0xc3, 0xb2, 0xa1, 0xd4, 0xc3, 0xb2, 0xa1, 0xd4, 0xc3, 0xb2, 0xa1]);
  });

  it('movsd (A5) from the device into guest RAM, with DF=1 stepping down', () => {
    const f = fixture();
    f.dev.bytes.set([1, 2, 3, 4], 0x80);
    setReg(f, RSI, TEST_MMIO_GPA + 0x80);
    setReg(f, RDI, 0x200000);
    code(f, [0xa5]);
    ept(f, READ, TEST_MMIO_GPA + 0x80, 0x402);
    expect([f.m.readByte(f.ram + 0x200000), f.m.readByte(f.ram + 0x200003)]).toEqual([1, 4]);
    expect(regLo(f, RSI)).toBe(TEST_MMIO_GPA + 0x7c);
    expect(regLo(f, RDI)).toBe(0x200000 - 4);
    expect(rip(f.m)).toBe(ENTRY_RIP + 1);
  });

  it('movsd into a guest page its page tables do not map injects #PF (W, not present) with CR2, RIP unchanged', () => {
    const f = fixture();
    setReg(f, RSI, TEST_MMIO_GPA);
    setReg(f, RDI, 0x40000000); // PDPT entry 1: not present (the identity map covers [0, 1 GiB))
    code(f, [0xa5]);
    ept(f, READ, TEST_MMIO_GPA);
    // #PF: type 3 hardware exception, vector 14, error code delivered (Table 25-17); error = W (bit 1).
    expect(nextInjection(f)).toEqual([0x80000b0e, 0x2]);
    expect(f.m.peek(f.vcpu.ctxPa + CTX_CR2, 8)).toBe(0x40000000);
    expect(rip(f.m)).toBe(ENTRY_RIP);
    expect(regLo(f, RSI)).toBe(TEST_MMIO_GPA); // nothing was done
  });
});

describe('instruction fetch for emulation', () => {
  it('an instruction straddling a page boundary is fetched from both pages', () => {
    const f = fixture();
    code(f, [0x8b, 0x04, 0x25, 0x10, 0x00, 0xe0, 0x3f], 0x100ffd);
    f.dev.bytes.set([9, 8, 7, 6], 0x10);
    ept(f, READ, TEST_MMIO_GPA + 0x10);
    expect(regLo(f, RAX)).toBe(0x06070809);
    expect(rip(f.m)).toBe(0x100ffd + 7);
  });

  it('RIP in guest-physical memory the EPT does not map stops the VM', () => {
    const f = fixture();
    setField(f.m, F.GUEST_RIP, 0, 0x500000); // mapped by the guest's paging, not by the EPT (4 MiB of RAM)
    ept(f, READ, TEST_MMIO_GPA);
    expect(f.vm.state).toBe(VM_PAUSED);
    expect(f.m.output()).toContain('stopped: instruction fetch from unmapped guest-physical memory');
  });

  it('an EPT violation on an instruction fetch stops the VM and reports the GPA', () => {
    const f = fixture();
    ept(f, FETCH, 0x100000000);
    expect(f.vm.state).toBe(VM_PAUSED);
    expect(f.m.output()).toContain('stopped: instruction fetch from unmapped guest-physical memory\n');
    expect(f.m.output()).toContain('guest-physical address 0x0000000100000000 fetch\n');
  });

  it('an instruction the emulator does not handle stops the VM and shows its bytes', () => {
    const f = fixture();
    setReg(f, RBX, TEST_MMIO_GPA);
    code(f, [0x01, 0x03, 0x90, 0x90]); // add [rbx], eax
    ept(f, WRITE, TEST_MMIO_GPA);
    expect(f.vm.state).toBe(VM_PAUSED);
    const out = f.m.output();
    expect(out).toContain('stopped: cannot emulate the instruction that accessed MMIO');
    expect(out).toContain('instruction bytes 01 03 90 90');
    expect(f.dev.writes).toBe(0);
  });

  it('protected mode without paging: CS base + EIP, 32-bit operands by default', () => {
    const f = fixture('prot32');
    setReg(f, RBX, TEST_MMIO_GPA + 4);
    f.dev.bytes.set([0xef, 0xbe, 0xad, 0xde], 4);
    code(f, [0x8b, 0x03]); // mov eax, [ebx]
    ept(f, READ, TEST_MMIO_GPA + 4);
    expect(regLo(f, RAX)).toBe(0xdeadbeef);
    expect(rip(f.m)).toBe(ENTRY_RIP + 2);
    expect(fieldHi(f.m, F.GUEST_RIP)).toBe(0);
  });
});

describe('the walker follows the guest CPUID', () => {
  it('1-GByte pages from 80000001H EDX[26] (set in the Bochs Skylake-X table: 0x2c100800); MAXPHYADDR 36 when 80000008H gives none (SDM Vol. 3A 4.1.4)', () => {
    const f = fixture();
    expect(f.vm.walker.gbPages).toBe(true);
    expect(f.vm.walker.maxPhysAddr).toBe(36);
  });
});
