import { describe, expect, it } from 'vitest';
import { CpuInfo } from '../../arch/x86/cpu';
import { peek32 } from '../../arch/x86/intrinsics';
import type { SimMachine } from '../../arch/x86/sim-machine';
import {
  adjustControls, checkEssentialFeatures, computeVmcsControls, ESSENTIAL_COUNT, ESSENTIAL_EPT, ESSENTIAL_MESSAGES,
  ESSENTIAL_OK, ESSENTIAL_SECONDARY_CONTROLS, ESSENTIAL_UNRESTRICTED_GUEST, lastDropped, ROOT_ALREADY_ON, ROOT_CR0_FIXED0,
  ROOT_CR0_FIXED1, ROOT_CR0_NE, ROOT_CR0_PE, ROOT_CR0_PG, ROOT_CR4_FIXED0, ROOT_FEATURE_CONTROL_LOCKED, ROOT_MESSAGES,
  ROOT_NO_PAGE, ROOT_NOT_ON, ROOT_OK, ROOT_REGION_SIZE, ROOT_VMX_UNUSABLE, ROOT_VMXOFF_FAILED, ROOT_VMXON_FAIL_INVALID,
  ROOT_VMXON_FAIL_VALID, VmxRoot, WANTED_ENTRY, WANTED_EXIT, WANTED_PIN, WANTED_PROC, WANTED_PROC2,
} from '../../arch/x86/vmx';
import { CAP_PINBASED, CAP_PROCBASED2, VmxCaps } from '../../arch/x86/vmx-caps';
import { bochsSkylakeX, POOL_PAGES } from './machines';

/**
 * Bochs 2.7, cpu model tigerlake (11th Gen Core i5-1135G7, family 6 model 0x8c
 * stepping 1). The IA32_VMX_* values are what this hypervisor printed when
 * booted in it (`node test/qemu/harness.mjs bochs build/hv.iso --cpu tigerlake`):
 *
 *   IA32_FEATURE_CONTROL   0x0000000000000005
 *   IA32_VMX_BASIC         0x01d8100000000004   revision 4, TRUE_* MSRs (bit 55)
 *   TRUE pin-based         must 0x00000016 may 0x0000007f
 *   TRUE proc-based        must 0x04006172 may 0xfff9fffe
 *   secondary proc         must 0x00000000 may 0x02977fff
 *   TRUE VM-exit           must 0x00036dfb may 0x107fffff
 *   TRUE VM-entry          must 0x000011fb may 0x0010ffff
 *   IA32_VMX_MISC          0x00000000600401e0
 *   CR0_FIXED0/1           0x80000021 / 0xffffffff
 *   CR4_FIXED0/1           0x00002000 / 0x00f72fff
 *   IA32_VMX_VMCS_ENUM     0x0000000000000034
 *   IA32_VMX_EPT_VPID_CAP  0x00000f0106b34141
 *
 * The boot report prints the TRUE control MSRs only; the non-TRUE ones (0x481-
 * 0x484) are Bochs's fixed default-1 words (cpu/vmx.h: the TRUE_*_HI are the
 * non-TRUE _HI) with the same allowed-1 halves.
 */
function bochsTigerlake(): SimMachine {
  const m = bochsSkylakeX();
  m.setCpuid(1, 0, 0x000806c1, 0x00010800, 0x7ffefbbf | (1 << 5), 0xbfebfbff);
  m.setMsr(0x3a, 0, 0x5);
  m.setMsr(0x480, 0x01d81000, 0x00000004);
  m.setMsr(0x481, 0x0000007f, 0x00000016);
  m.setMsr(0x482, 0xfff9fffe, 0x0401e172);
  m.setMsr(0x483, 0x107fffff, 0x00036dff);
  m.setMsr(0x484, 0x0010ffff, 0x000011ff);
  m.setMsr(0x485, 0x00000000, 0x600401e0);
  m.setMsr(0x486, 0, 0x80000021);
  m.setMsr(0x487, 0, 0xffffffff);
  m.setMsr(0x488, 0, 0x00002000);
  m.setMsr(0x489, 0, 0x00f72fff);
  m.setMsr(0x48a, 0, 0x34);
  m.setMsr(0x48b, 0x02977fff, 0x00000000);
  m.setMsr(0x48c, 0x00000f01, 0x06b34141);
  m.setMsr(0x48d, 0x0000007f, 0x00000016);
  m.setMsr(0x48e, 0xfff9fffe, 0x04006172);
  m.setMsr(0x48f, 0x107fffff, 0x00036dfb);
  m.setMsr(0x490, 0x0010ffff, 0x000011fb);
  return m;
}

const MODELS: [string, () => SimMachine, number][] = [
  ['corei7_skylake_x', bochsSkylakeX, 0x2b],
  ['tigerlake', bochsTigerlake, 0x4],
];

function probe(): VmxCaps {
  const cpu = new CpuInfo();
  cpu.read();
  const caps = new VmxCaps();
  caps.probe(cpu);
  return caps;
}

/** A machine in the state the boot code leaves: long mode, CR0 = PG|NE|ET|PE, CR4 = PAE. */
function bootedMachine(model: () => SimMachine): SimMachine {
  const m = model();
  m.cr[0] = 0x80000031;
  m.cr[4] = 0x20;
  return m;
}

describe('adjustControls (SDM 31.5.1, A.3-A.5)', () => {
  it('sets the must-be-one bits and drops the not-allowed ones', () => {
    bochsSkylakeX();
    const caps = probe();
    // pin: (wanted | 0x16) & 0x7f
    expect(adjustControls(CAP_PINBASED, 0x69, caps)).toBe(0x7f);
    expect(lastDropped).toBe(0);
    expect(adjustControls(CAP_PINBASED, 0x1 | 0x80, caps)).toBe(0x17);
    expect(lastDropped).toBe(0x80); // posted interrupts: not allowed on Bochs
    expect(adjustControls(CAP_PINBASED, 0, caps)).toBe(0x16);
    expect(lastDropped).toBe(0);
  });

  it('returns unsigned words with bit 31 set', () => {
    bochsSkylakeX();
    const caps = probe();
    const proc = computeVmcsControls(caps).proc;
    expect(proc).toBeGreaterThan(0x7fffffff);
  });

  it('gives 0 for the secondary controls when they cannot be activated', () => {
    const m = bochsSkylakeX();
    m.setMsr(0x48e, 0x77f9fffe, 0x04006172);
    m.setMsr(0x482, 0x77f9fffe, 0x0401e172);
    const caps = probe();
    expect(adjustControls(CAP_PROCBASED2, WANTED_PROC2, caps)).toBe(0);
    expect(lastDropped).toBe(WANTED_PROC2);
    const c = computeVmcsControls(caps);
    expect(c.proc2).toBe(0);
    expect(c.droppedProc).toBe(0x80000000);
    expect(c.complete()).toBe(false);
  });
});

describe('computeVmcsControls: the ACRN-like guest control set', () => {
  // Worked by hand from the MSRs above (TRUE_* in use on both models):
  //  pin   (0x69 | 0x16) & 0x7f                                  = 0x7f
  //  proc  (0x92000080 | 0x04006172) & may   (no CR3 exiting)    = 0x960061f2
  //  proc2 (EPT|VPID|UG|WBINVD|RDTSCP|INVPCID|XSAVES = 0x1010ea) = 0x1010ea
  //  exit  (0x7c8200 | 0x36dfb) & may                            = 0x7feffb
  //  entry (0xc000 | 0x11fb) & may                               = 0xd1fb
  for (const [name, model] of MODELS) {
    it(`derives the controls for ${name}`, () => {
      model();
      const caps = probe();
      expect(caps.trueControls).toBe(true);
      expect(WANTED_PIN).toBe(0x69);
      expect(WANTED_PROC).toBe(0x92000080);
      expect(WANTED_PROC2).toBe(0xea);
      expect(WANTED_EXIT).toBe(0x7c8200);
      expect(WANTED_ENTRY).toBe(0xc000);
      const c = computeVmcsControls(caps);
      expect(c.pin).toBe(0x7f);
      expect(c.proc).toBe(0x960061f2);
      expect(c.proc2).toBe(0x1010ea);
      expect(c.exit).toBe(0x7feffb);
      expect(c.entry).toBe(0xd1fb);
      expect(c.complete()).toBe(true);
      // CR3-load/store exiting (15, 16) are default-1 but clear with the TRUE MSRs.
      expect(c.proc & 0x18000).toBe(0);
      // IA-32e mode guest (entry 9) is guest state, not set here.
      expect(c.entry & 0x200).toBe(0);
    });
  }

  it('keeps the default-1 bits the non-TRUE MSRs require (IA32_VMX_BASIC[55] clear)', () => {
    const m = bochsSkylakeX();
    m.setMsr(0x480, 0x00581000, 0x2b);
    const caps = probe();
    expect(caps.trueControls).toBe(false);
    const c = computeVmcsControls(caps);
    expect(c.proc).toBe(0x9601e1f2); // CR3-load and CR3-store exiting forced on
    expect(c.exit).toBe(0x7fefff); // save debug controls forced on
    expect(c.entry).toBe(0xd1ff); // load debug controls forced on
    expect(c.complete()).toBe(true);
  });

  it('enables INVPCID and XSAVES only when allowed, without reporting them dropped', () => {
    const m = bochsSkylakeX();
    m.setMsr(0x48b, 0x02177fff & ~((1 << 12) | (1 << 20)), 0);
    const c = computeVmcsControls(probe());
    expect(c.proc2).toBe(0xea);
    expect(c.droppedProc2).toBe(0);
    expect(c.complete()).toBe(true);
  });

  it('reports a wanted control the CPU lacks', () => {
    const m = bochsSkylakeX();
    m.setMsr(0x48d, 0x3f, 0x16); // no preemption timer
    m.setMsr(0x48f, 0x003fffff, 0x36dfb); // no save preemption timer
    const c = computeVmcsControls(probe());
    expect(c.pin).toBe(0x3f);
    expect(c.droppedPin).toBe(0x40);
    expect(c.droppedExit).toBe(0x400000);
    expect(c.complete()).toBe(false);
  });
});

describe('checkEssentialFeatures (ACRN check_essential_vmx_caps)', () => {
  for (const [name, model] of MODELS) {
    it(`accepts ${name}`, () => {
      model();
      expect(checkEssentialFeatures(probe())).toBe(ESSENTIAL_OK);
    });
  }

  // [code, MSRs to edit (non-TRUE and TRUE twin), 'hi' | 'lo', bit within the half, message fragment]
  const FEATURES: [number, number[], 'hi' | 'lo', number, string][] = [
    [1, [0x482, 0x48e], 'hi', 31, 'activate secondary controls'],
    [2, [0x48b], 'hi', 1, 'EPT (secondary control bit 1)'],
    [3, [0x48c], 'lo', 6, 'page-walk length 4'],
    [4, [0x48c], 'lo', 14, 'write-back'],
    [5, [0x48c], 'lo', 20, 'INVEPT (IA32_VMX_EPT_VPID_CAP bit 20)'],
    [6, [0x48c], 'lo', 25, 'single-context INVEPT'],
    [7, [0x48c], 'lo', 26, 'all-context INVEPT'],
    [8, [0x48b], 'hi', 5, 'VPID (secondary control bit 5)'],
    [9, [0x48c], 'hi', 0, 'INVVPID (IA32_VMX_EPT_VPID_CAP bit 32)'],
    [10, [0x48c], 'hi', 9, 'single-context INVVPID'],
    [11, [0x48c], 'hi', 10, 'all-context INVVPID'],
    [12, [0x48b], 'hi', 7, 'unrestricted guest (secondary control bit 7)'],
    [13, [0x482, 0x48e], 'hi', 28, 'MSR bitmaps'],
    [14, [0x482, 0x48e], 'hi', 25, 'I/O bitmaps'],
    [15, [0x481, 0x48d], 'hi', 6, 'VMX-preemption timer'],
    [16, [0x481, 0x48d], 'hi', 5, 'virtual NMIs'],
    [17, [0x481, 0x48d], 'hi', 3, 'NMI exiting'],
    [18, [0x483, 0x48f], 'hi', 9, 'host address-space size'],
    [19, [0x484, 0x490], 'hi', 9, 'IA-32e mode guest'],
    [20, [0x484, 0x490], 'hi', 15, 'load IA32_EFER on VM entry'],
    [21, [0x483, 0x48f], 'hi', 21, 'load IA32_EFER on VM exit'],
  ];

  it('has one message per code', () => {
    expect(ESSENTIAL_MESSAGES.length).toBe(ESSENTIAL_COUNT);
    expect(FEATURES.length).toBe(ESSENTIAL_COUNT - 1);
    for (let i = 1; i < ESSENTIAL_COUNT; i++) expect(ESSENTIAL_MESSAGES[i]).toMatch(/^VMX: missing essential feature: .+\(.+bit \d+\)$/);
  });

  for (const [name, model] of MODELS) {
    for (const [code, msrs, half, bit, fragment] of FEATURES) {
      it(`${name}: refuses without ${fragment}`, () => {
        const m = model();
        for (const msr of msrs) {
          const v = m.msrs.get(msr) as [number, number];
          if (half === 'hi') m.setMsr(msr, v[0] & ~(1 << bit), v[1]);
          else m.setMsr(msr, v[0], v[1] & ~(1 << bit));
        }
        const got = checkEssentialFeatures(probe());
        expect(got).toBe(code);
        expect(ESSENTIAL_MESSAGES[got]).toContain(fragment);
      });
    }
  }

  it('names the unrestricted-guest gap as in the brief', () => {
    expect(ESSENTIAL_MESSAGES[ESSENTIAL_UNRESTRICTED_GUEST]).toBe('VMX: missing essential feature: unrestricted guest (secondary control bit 7)');
  });

  it('reports the secondary controls, not EPT, when PROCBASED_CTLS2 could not be read', () => {
    const m = bochsSkylakeX();
    m.setMsr(0x48e, 0x77f9fffe, 0x04006172);
    m.msrs.delete(0x48b);
    m.msrs.delete(0x48c);
    expect(checkEssentialFeatures(probe())).toBe(ESSENTIAL_SECONDARY_CONTROLS);
  });

  it('reports EPT when neither EPT nor VPID can be enabled (no EPT_VPID_CAP read)', () => {
    const m = bochsSkylakeX();
    m.setMsr(0x48b, 0x02177fff & ~0x22, 0);
    m.msrs.delete(0x48c);
    expect(checkEssentialFeatures(probe())).toBe(ESSENTIAL_EPT);
  });
});

describe('VmxRoot: entering and leaving VMX root operation (SDM 24.7, 24.8)', () => {
  it('has one message per reason', () => {
    expect(ROOT_MESSAGES.length).toBe(ROOT_VMXOFF_FAILED + 1);
    for (let i = 1; i < ROOT_MESSAGES.length; i++) expect(ROOT_MESSAGES[i]).toMatch(/^VMX: /);
  });

  for (const [name, model, revision] of MODELS) {
    it(`${name}: locks feature control, sets CR4.VMXE, writes revision ${revision} and runs VMXON`, () => {
      const m = bootedMachine(model);
      const caps = probe();
      m.setMsr(0x3a, 0x1, 0x0); // unlocked by the firmware; hi bits must survive
      const root = new VmxRoot();
      expect(root.enable(caps)).toBe(ROOT_OK);
      expect(m.msrs.get(0x3a)).toEqual([0x1, 0x5]);
      expect(m.cr[4]).toBe(0x2020);
      expect(m.cr[0]).toBe(0x80000031);
      expect(root.isOn()).toBe(true);
      expect(m.vmxonRegion).toBe(root.regionPa);
      expect(root.regionPa % 4096).toBe(0);
      expect(peek32(root.regionPa)).toBe(revision);
      expect(m.poolPages(0)).toBe(POOL_PAGES - 1);

      expect(root.disable()).toBe(ROOT_OK);
      expect(m.vmxonRegion).toBe(0);
      expect(m.cr[4]).toBe(0x20);
      expect(m.poolPages(0)).toBe(POOL_PAGES);
      expect(root.isOn()).toBe(false);
      expect(root.disable()).toBe(ROOT_NOT_ON);
    });
  }

  it('leaves a locked IA32_FEATURE_CONTROL with VMX outside SMX alone', () => {
    const m = bootedMachine(bochsSkylakeX);
    const caps = probe();
    let writes = 0;
    const wrmsr = m.wrmsr.bind(m);
    m.wrmsr = (msr, h, l) => {
      writes++;
      wrmsr(msr, h, l);
    };
    expect(new VmxRoot().enable(caps)).toBe(ROOT_OK);
    expect(writes).toBe(0);
  });

  it('refuses when IA32_FEATURE_CONTROL is locked with VMX outside SMX off, with no side effect', () => {
    const m = bootedMachine(bochsSkylakeX);
    const caps = probe();
    m.setMsr(0x3a, 0, 0x1); // locked at enable time
    expect(new VmxRoot().enable(caps)).toBe(ROOT_FEATURE_CONTROL_LOCKED);
    expect(m.cr[4]).toBe(0x20);
    expect(m.poolPages(0)).toBe(POOL_PAGES);
    expect(m.vmxonRegion).toBe(0);
  });

  it('refuses a CPU whose VMX is unusable', () => {
    const m = bootedMachine(bochsSkylakeX);
    m.setMsr(0x3a, 0, 0x1);
    const caps = probe();
    expect(new VmxRoot().enable(caps)).toBe(ROOT_VMX_UNUSABLE);
  });

  // [what, cr0, cr4, MSR edits, expected reason]
  const REFUSALS: [string, number, number, [number, number][], number][] = [
    ['CR0.PE clear', 0x80000030, 0x20, [], ROOT_CR0_PE],
    ['CR0.NE clear (the SimMachine reset value 0x80000011)', 0x80000011, 0x20, [], ROOT_CR0_NE],
    ['CR0.PG clear', 0x00000031, 0x20, [], ROOT_CR0_PG],
    ['CR0.WP clear with a CR0_FIXED0 that requires it', 0x80000031, 0x20, [[0x486, 0x80010021]], ROOT_CR0_FIXED1],
    ['CR0.CD set with a CR0_FIXED1 that forbids it', 0xc0000031, 0x20, [[0x487, 0xbfffffff]], ROOT_CR0_FIXED0],
    ['CR4.LA57 (bit 12) set, outside CR4_FIXED1 0x003727ff', 0x80000031, 0x1020, [], ROOT_CR4_FIXED0],
    ['a VMXON region larger than a page', 0x80000031, 0x20, [], ROOT_REGION_SIZE],
  ];
  for (const [what, cr0, cr4, edits, reason] of REFUSALS) {
    it(`refuses ${what}, before touching feature control, CR4 or the pool`, () => {
      const m = bochsSkylakeX();
      m.setMsr(0x3a, 0, 0); // unlocked: a refusal must not lock it
      for (const [msr, lo] of edits) m.setMsr(msr, 0, lo);
      if (reason === ROOT_REGION_SIZE) m.setMsr(0x480, 0x00d81800, 0x2b); // 6144 bytes
      m.cr[0] = cr0;
      m.cr[4] = cr4;
      const caps = probe();
      expect(new VmxRoot().enable(caps)).toBe(reason);
      expect(m.msrs.get(0x3a)).toEqual([0, 0]);
      expect(m.cr[4]).toBe(cr4);
      expect(m.cr[0]).toBe(cr0);
      expect(m.poolPages(0)).toBe(POOL_PAGES);
      expect(m.vmxonRegion).toBe(0);
    });
  }

  it('sets every CR4_FIXED0 bit, not only VMXE, and clears only those on disable', () => {
    const m = bootedMachine(bochsSkylakeX);
    m.setMsr(0x488, 0, 0x2000 | 0x400); // also OSXMMEXCPT (bit 10)
    m.cr[4] = 0x20 | 0x200;
    const caps = probe();
    const root = new VmxRoot();
    expect(root.enable(caps)).toBe(ROOT_OK);
    expect(m.cr[4]).toBe(0x2620);
    expect(root.disable()).toBe(ROOT_OK);
    expect(m.cr[4]).toBe(0x220);
  });

  it('keeps CR4.VMXE on disable when it was already set', () => {
    const m = bootedMachine(bochsSkylakeX);
    m.cr[4] = 0x2020;
    const root = new VmxRoot();
    expect(root.enable(probe())).toBe(ROOT_OK);
    expect(root.disable()).toBe(ROOT_OK);
    expect(m.cr[4]).toBe(0x2020);
  });

  it('refuses a second enable on the same CPU (own state and VMfailValid)', () => {
    const m = bootedMachine(bochsSkylakeX);
    const caps = probe();
    const root = new VmxRoot();
    expect(root.enable(caps)).toBe(ROOT_OK);
    expect(root.enable(caps)).toBe(ROOT_ALREADY_ON);
    // A second VmxRoot on the same CPU reaches VMXON, which fails with VMfailValid.
    const other = new VmxRoot();
    expect(other.enable(caps)).toBe(ROOT_VMXON_FAIL_VALID);
    expect(other.isOn()).toBe(false);
    expect(m.poolPages(0)).toBe(POOL_PAGES - 1);
    expect(m.cr[4] & 0x2000).toBe(0x2000); // the first one's VMXE stays
  });

  it('undoes CR4 and frees the region when VMXON fails with VMfailInvalid', () => {
    const m = bootedMachine(bochsSkylakeX);
    const caps = probe();
    let seenCr4 = 0;
    let seenRevision = 0;
    m.vmxon = (pa: number) => {
      seenCr4 = m.cr[4];
      seenRevision = peek32(pa);
      return 1;
    };
    const root = new VmxRoot();
    expect(root.enable(caps)).toBe(ROOT_VMXON_FAIL_INVALID);
    expect(seenCr4).toBe(0x2020);
    expect(seenRevision).toBe(0x2b);
    expect(m.cr[4]).toBe(0x20);
    expect(m.poolPages(0)).toBe(POOL_PAGES);
    expect(root.isOn()).toBe(false);
  });

  it('refuses when the pool has no page for the VMXON region', () => {
    const m = bootedMachine(bochsSkylakeX);
    m.setPool(0x5000000, 0);
    expect(new VmxRoot().enable(probe())).toBe(ROOT_NO_PAGE);
    expect(m.cr[4]).toBe(0x20);
  });

  it('reports a failed VMXOFF and stays on', () => {
    const m = bootedMachine(bochsSkylakeX);
    const root = new VmxRoot();
    expect(root.enable(probe())).toBe(ROOT_OK);
    m.vmxoff = () => 1;
    expect(root.disable()).toBe(ROOT_VMXOFF_FAILED);
    expect(root.isOn()).toBe(true);
  });
});
