// The VM's CPUID table (hv/vm/vcpuid.ts), built from the simulated host's CPUID
// (the Bochs corei7_skylake_x values of machines.ts plus the leaves set here).
// Expected values follow SDM Vol. 2A CPUID (leaf layouts, the rule for inputs
// above the maximum leaf) and ACRN's hypervisor leaves (0x40000000 "ACRNACRNACRN",
// 0x40000001 EAX bit 0 = Service VM, 0x40000010 EAX = TSC kHz).
import { describe, expect, it } from 'vitest';
import type { SimMachine } from '../../arch/x86/sim-machine';
import { VCPUID_MAX_ENTRIES, Vcpuid } from '../../hv/vm/vcpuid';
import { bochsSkylakeX } from './machines';

/** Skylake-X leaves beyond those machines.ts sets (values shaped like the real ones, distinct per subleaf). */
function host(edit?: (m: SimMachine) => void): SimMachine {
  const m = bochsSkylakeX();
  for (let s = 0; s < 8; s++) m.setCpuid(4, s, s < 4 ? 0x1c004121 + s * 0x20 : 0, 0x01c0003f + s, 0x3f + s, s);
  m.setCpuid(7, 0, 0, 0xd39ffffb, 0x00000818, 0xbc000400);
  m.setCpuid(7, 1, 0, 0, 0, 0x11);
  m.setCpuid(0xa, 0, 0x07300404, 0, 0, 0x603);
  m.setCpuid(0xb, 0, 1, 2, 0x100, 0x55);
  m.setCpuid(0xb, 1, 5, 20, 0x201, 0x55);
  m.setCpuid(0xb, 2, 0, 0, 2, 0x55);
  m.setCpuid(0x16, 0, 0xbb8, 0xfa0, 0x64, 0);
  if (edit) edit(m);
  return m;
}

function table(serviceVm = false, tscKhz = 2100000, edit?: (m: SimMachine) => void): Vcpuid {
  host(edit);
  const t = new Vcpuid();
  t.build(serviceVm, tscKhz);
  return t;
}

function q(t: Vcpuid, leaf: number, sub = 0, vcpu = 0): number[] {
  t.lookup(leaf, sub, vcpu);
  return [t.outEax, t.outEbx, t.outEcx, t.outEdx];
}

const HIGHEST_BASIC_16H = [0xbb8, 0xfa0, 0x64, 0];

describe('basic leaves', () => {
  it('leaf 0: the host maximum (16H) and the vendor string', () => {
    expect(q(table(), 0)).toEqual([0x16, 0x756e6547, 0x6c65746e, 0x49656e69]);
  });

  it('leaf 0: the maximum is capped at 1FH', () => {
    const t = table(false, 1, (m) => m.setVendor('GenuineIntel', 0x23));
    expect(q(t, 0)[0]).toBe(0x1f);
    expect(t.maxBasic).toBe(0x1f);
    expect(t.find(0x20, 0)).toBe(-1);
  });

  it('leaf 1: VMX 5, SMX 6, MONITOR 3, PDCM 15 and MCE 7 / MCA 14 hidden; x2APIC 21, TSC-deadline 24 and bit 31 set', () => {
    const [eax, ebx, ecx, edx] = q(table(), 1);
    expect(eax).toBe(0x00050654);
    expect(ebx).toBe(0x00010800);
    expect(ecx).toBe(0xfffe7b97); // 7FFEFBBF & ~00008068 | 81200000 (OSXSAVE as the host has it)
    expect(edx).toBe(0xbfebbb7f); // BFEBFBFF & ~00004080
  });

  it('leaf 1 EBX[31:24] is the initial APIC ID of the asking vCPU; the rest of EBX is the host\'s', () => {
    const t = table();
    expect(q(t, 1, 0, 0)[1]).toBe(0x00010800);
    expect(q(t, 1, 0, 3)[1]).toBe(0x03010800);
    expect(q(t, 1, 0, 0xff)[1]).toBe(0xff010800);
  });

  it('leaf 0AH (architectural PMU) is all zeros whatever the host has', () => {
    expect(q(table(), 0xa)).toEqual([0, 0, 0, 0]);
  });

  it('leaves without subleaves ignore ECX', () => {
    const t = table();
    expect(q(t, 1, 5)).toEqual(q(t, 1, 0));
    expect(q(t, 0x16, 3)).toEqual(HIGHEST_BASIC_16H);
  });
});

describe('leaves with subleaves', () => {
  it('leaf 4: each kept subleaf answers its own values; past the kept ones, zeros', () => {
    const t = table();
    expect(q(t, 4, 0)).toEqual([0x1c004121, 0x01c0003f, 0x3f, 0]);
    expect(q(t, 4, 2)).toEqual([0x1c004161, 0x01c00041, 0x41, 2]);
    expect(q(t, 4, 7)).toEqual([0, 0x01c00046, 0x46, 7]);
    expect(q(t, 4, 8)).toEqual([0, 0, 0, 0]);
  });

  it('leaf 7: subleaves 0 and 1; subleaf 2 is zeros', () => {
    const t = table();
    expect(q(t, 7, 0)).toEqual([0, 0xd39ffffb, 0x00000818, 0xbc000400]);
    expect(q(t, 7, 1)).toEqual([0, 0, 0, 0x11]);
    expect(q(t, 7, 2)).toEqual([0, 0, 0, 0]);
  });

  it('leaf 0BH: EDX is the x2APIC ID of the asking vCPU', () => {
    const t = table();
    expect(q(t, 0xb, 0, 2)).toEqual([1, 2, 0x100, 2]);
    expect(q(t, 0xb, 1, 3)).toEqual([5, 20, 0x201, 3]);
  });
});

describe('inputs above the maximum leaves (SDM: the highest basic leaf answers)', () => {
  it('basic leaves above 16H, and extended ones above 80000008H, give leaf 16H', () => {
    const t = table();
    for (const leaf of [0x17, 0x1f, 0x3fffffff, 0x50000000, 0x80000009, 0xffffffff]) {
      expect(q(t, leaf), leaf.toString(16)).toEqual(HIGHEST_BASIC_16H);
    }
  });

  it('extended leaves up to the maximum come from the host', () => {
    const t = table();
    expect(q(t, 0x80000000)[0]).toBe(0x80000008);
    expect(q(t, 0x80000001)).toEqual([0, 0, 0x121, 0x2c100800]);
    // brand string: "Intel(R) Core(TM) i9-7900X CPU @ 3.30GHz", 16 bytes per leaf
    const brand = [0x80000002, 0x80000003, 0x80000004]
      .flatMap((l) => q(t, l))
      .map((w) => String.fromCharCode(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24))
      .join('').replace(/\0+$/, '');
    expect(brand).toBe('Intel(R) Core(TM) i9-7900X CPU @ 3.30GHz');
  });

  it('extended leaves above 80000008H are not kept even when the host has them', () => {
    const t = table(false, 1, (m) => {
      m.setCpuid(0x80000000, 0, 0x80000020, 0, 0, 0);
      m.setCpuid(0x80000020, 0, 1, 2, 3, 4);
    });
    expect(t.maxExtended).toBe(0x80000008);
    expect(q(t, 0x80000020)).toEqual(HIGHEST_BASIC_16H);
  });

  // Regression test for a bug found in review (vcpuid.ts build): leaf 0 EAX is patched to the capped maximum, but
  // 80000000H EAX keeps the host's maximum extended leaf, so a guest is told of
  // leaves (here up to 80000020H) that then answer with leaf 16H's values.
  // Expected 0x80000008; actual 0x80000020.
  it('80000000H EAX reports the capped maximum extended leaf', () => {
    const t = table(false, 1, (m) => m.setCpuid(0x80000000, 0, 0x80000020, 0, 0, 0));
    expect(q(t, 0x80000000)[0]).toBe(0x80000008);
  });
});

describe('the ACRN hypervisor leaves', () => {
  it('40000000H: maximum 40000010H and the signature "ACRNACRNACRN"', () => {
    expect(q(table(), 0x40000000)).toEqual([0x40000010, 0x4e524341, 0x4e524341, 0x4e524341]);
  });

  it('40000001H EAX bit 0 marks the Service VM only', () => {
    expect(q(table(false), 0x40000001)).toEqual([0, 0, 0, 0]);
    expect(q(table(true), 0x40000001)).toEqual([1, 0, 0, 0]);
  });

  it('40000010H EAX is the TSC frequency in kHz', () => {
    expect(q(table(false, 3300000), 0x40000010)).toEqual([3300000, 0, 0, 0]);
  });

  it('other leaves of the hypervisor range are zeros', () => {
    const t = table();
    for (const leaf of [0x40000002, 0x4000000f, 0x40000011, 0x400000ff]) expect(q(t, leaf)).toEqual([0, 0, 0, 0]);
  });
});

describe('capacity', () => {
  it(`a host with every basic leaf up to 1FH fits in ${VCPUID_MAX_ENTRIES} entries, the ACRN leaves included`, () => {
    const t = table(true, 1000, (m) => m.setVendor('GenuineIntel', 0x1f));
    // 32 basic leaves, of which 4 7 B D F 10 14 18 1F keep 8 2 3 8 2 4 2 2 3 subleaves: 23 + 34;
    // 9 extended leaves; 3 ACRN leaves.
    expect(t.entries).toBe(69);
    expect(t.entries).toBeLessThanOrEqual(VCPUID_MAX_ENTRIES);
    expect(q(t, 0x40000010)[0]).toBe(1000);
    expect(q(t, 0x40000001)[0]).toBe(1);
  });

  it('building again starts over', () => {
    host();
    const t = new Vcpuid();
    t.build(true, 5);
    const n = t.entries;
    t.build(false, 6);
    expect(t.entries).toBe(n);
    expect(q(t, 0x40000001)[0]).toBe(0);
    expect(q(t, 0x40000010)[0]).toBe(6);
  });
});

describe('XSAVE features (leaf 0DH)', () => {
  // Regression test for a bug found in review (vcpuid.ts build): leaf 0DH is passed through from the host, but XSETBV
  // (misc-exits.ts) only lets a guest enable x87 | SSE | AVX (XCR0 bits 0-2). On a
  // Skylake-X host (EAX = E7H: also opmask, ZMM_Hi256, Hi16_ZMM) a guest that
  // enables what CPUID.(EAX=0DH,ECX=0):EAX reports - Linux does - gets #GP(0).
  // Expected EAX & ~7 = 0; actual 0xE0.
  it('CPUID.(EAX=0DH,ECX=0):EAX reports only the XCR0 bits XSETBV accepts', () => {
    const t = table(false, 1, (m) => m.setCpuid(0xd, 0, 0xe7, 0xa88, 0xa88, 0));
    const [eax, , , edx] = q(t, 0xd, 0);
    expect(eax & ~7).toBe(0);
    expect(edx).toBe(0);
  });
});
