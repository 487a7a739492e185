import { describe, expect, it } from 'vitest';
import { CpuInfo } from '../../arch/x86/cpu';
import {
  CAP_EPT_VPID, CAP_PINBASED, CAP_PROCBASED, CAP_PROCBASED2, VMX_DISABLED_BY_FIRMWARE, VMX_NO_CPUID_BIT,
  VMX_NOT_INTEL, VMX_USABLE, VmxCaps,
} from '../../arch/x86/vmx-caps';
import { bochsSkylakeX, qemuTcg } from './machines';

function probe(): VmxCaps {
  const cpu = new CpuInfo();
  cpu.read();
  const caps = new VmxCaps();
  caps.probe(cpu);
  return caps;
}

describe('VMX capability discovery (SDM Vol. 3D Appendix A)', () => {
  it('reads Bochs corei7_skylake_x: revision 0x2b, 4 KiB, WB, TRUE controls', () => {
    bochsSkylakeX();
    const caps = probe();
    expect(caps.reason).toBe(VMX_USABLE);
    expect(caps.vmcsRevision()).toBe(0x2b);
    expect(caps.vmcsRegionSize()).toBe(4096);
    expect(caps.vmcsMemoryType()).toBe(6);
    expect(caps.trueControls).toBe(true);
    // TRUE_PROCBASED (0x48e) allows clearing CR3-load/store exiting: 0x04006172, not 0x0401e172.
    expect(caps.mustBeOne(CAP_PROCBASED)).toBe(0x04006172);
    expect(caps.mayBeOne(CAP_PROCBASED)).toBe(0xf7f9fffe);
    expect(caps.mustBeOne(CAP_PINBASED)).toBe(0x16);
    expect(caps.has(CAP_PROCBASED2)).toBe(true);
    expect(caps.mayBeOne(CAP_PROCBASED2)).toBe(0x02177fff);
    expect(caps.has(CAP_EPT_VPID)).toBe(true);
  });

  it('uses the non-TRUE MSRs when IA32_VMX_BASIC[55] is clear', () => {
    const m = bochsSkylakeX();
    m.setMsr(0x480, 0x00581000, 0x2b);
    m.msrs.delete(0x48e); // reading a TRUE MSR now would #GP
    const caps = probe();
    expect(caps.trueControls).toBe(false);
    expect(caps.mustBeOne(CAP_PROCBASED)).toBe(0x0401e172);
  });

  it('skips PROCBASED_CTLS2 and EPT_VPID_CAP when secondary controls cannot be enabled', () => {
    const m = bochsSkylakeX();
    m.setMsr(0x48e, 0x77f9fffe, 0x04006172); // bit 63 (activate secondary) not allowed
    m.msrs.delete(0x48b);
    m.msrs.delete(0x48c);
    const caps = probe();
    expect(caps.reason).toBe(VMX_USABLE);
    expect(caps.has(CAP_PROCBASED2)).toBe(false);
    expect(caps.has(CAP_EPT_VPID)).toBe(false);
  });

  it('refuses when the firmware locked VMX off', () => {
    const m = bochsSkylakeX();
    m.setMsr(0x3a, 0, 0x1);
    expect(probe().reason).toBe(VMX_DISABLED_BY_FIRMWARE);
  });

  it('refuses without the CPUID VMX bit and reads no VMX MSR', () => {
    const m = bochsSkylakeX();
    m.setCpuid(1, 0, 0x50654, 0, 0x7ffefb9f, 0xbfebfbff);
    m.msrs.clear(); // any MSR read would throw #GP
    expect(probe().reason).toBe(VMX_NO_CPUID_BIT);
  });

  it('says so for a non-Intel CPU (QEMU qemu64)', () => {
    qemuTcg();
    expect(probe().reason).toBe(VMX_NOT_INTEL);
  });
});
