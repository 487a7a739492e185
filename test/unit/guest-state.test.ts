import { describe, expect, it } from 'vitest';
import { CpuInfo } from '../../arch/x86/cpu';
import { vmclear, vmptrld, vmwrite } from '../../arch/x86/intrinsics';
import type { SimMachine } from '../../arch/x86/sim-machine';
import * as F from '../../arch/x86/vmcs';
import { computeVmcsControls, ROOT_OK, VmcsControls, VmxRoot } from '../../arch/x86/vmx';
import { VmxCaps } from '../../arch/x86/vmx-caps';
import {
  cr0GuestHostMask, cr4GuestHostMask, guestVisibleCr0, setGuestDescriptorTables, setGuestInitState, setGuestLongMode64,
  setGuestProtected32, setGuestRealModeReset, setGuestSipiVector,
} from '../../hv/vm/guest-state';
import { bochsSkylakeX } from './machines';

type Fields = Map<number, [number, number]>;

interface Setup {
  m: SimMachine;
  caps: VmxCaps;
  controls: VmcsControls;
  vmcsPa: number;
  fields: Fields;
}

/** Skylake-X in VMX root operation with a current VMCS whose controls are written. */
function setup(edit?: (m: SimMachine) => void): Setup {
  const m = bochsSkylakeX();
  m.cr[0] = 0x80000031;
  m.cr[4] = 0x20;
  if (edit) edit(m);
  const cpu = new CpuInfo();
  cpu.read();
  const caps = new VmxCaps();
  caps.probe(cpu);
  expect(new VmxRoot().enable(caps)).toBe(ROOT_OK);
  const controls = computeVmcsControls(caps);
  const vmcsPa = m.pageAlloc();
  expect(vmclear(vmcsPa)).toBe(0);
  expect(vmptrld(vmcsPa)).toBe(0);
  vmwrite(F.PIN_BASED_VM_EXEC_CONTROL, 0, controls.pin);
  vmwrite(F.CPU_BASED_VM_EXEC_CONTROL, 0, controls.proc);
  vmwrite(F.SECONDARY_VM_EXEC_CONTROL, 0, controls.proc2);
  vmwrite(F.VM_EXIT_CONTROLS, 0, controls.exit);
  vmwrite(F.VM_ENTRY_CONTROLS, 0, controls.entry);
  return { m, caps, controls, vmcsPa, fields: m.vmcsStores.get(vmcsPa) as Fields };
}

const lo = (f: Fields, enc: number) => (f.get(enc) ?? [0, 0])[1];
const hiOf = (f: Fields, enc: number) => (f.get(enc) ?? [0, 0])[0];

const SEGS = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'LDTR', 'TR'];
const SEG_FIELDS: Record<string, [number, number, number, number]> = {
  ES: [F.GUEST_ES_SELECTOR, F.GUEST_ES_BASE, F.GUEST_ES_LIMIT, F.GUEST_ES_AR],
  CS: [F.GUEST_CS_SELECTOR, F.GUEST_CS_BASE, F.GUEST_CS_LIMIT, F.GUEST_CS_AR],
  SS: [F.GUEST_SS_SELECTOR, F.GUEST_SS_BASE, F.GUEST_SS_LIMIT, F.GUEST_SS_AR],
  DS: [F.GUEST_DS_SELECTOR, F.GUEST_DS_BASE, F.GUEST_DS_LIMIT, F.GUEST_DS_AR],
  FS: [F.GUEST_FS_SELECTOR, F.GUEST_FS_BASE, F.GUEST_FS_LIMIT, F.GUEST_FS_AR],
  GS: [F.GUEST_GS_SELECTOR, F.GUEST_GS_BASE, F.GUEST_GS_LIMIT, F.GUEST_GS_AR],
  LDTR: [F.GUEST_LDTR_SELECTOR, F.GUEST_LDTR_BASE, F.GUEST_LDTR_LIMIT, F.GUEST_LDTR_AR],
  TR: [F.GUEST_TR_SELECTOR, F.GUEST_TR_BASE, F.GUEST_TR_LIMIT, F.GUEST_TR_AR],
};

/**
 * The parts of SDM Vol. 3C 26.3.1 "Checks on the Guest State Area" (and the
 * control checks of 26.2.1.3 that involve guest state) that these entry
 * states exercise. Returns the violated rules.
 */
function checkGuestState(f: Fields, caps: VmxCaps): string[] {
  const bad: string[] = [];
  const proc2 = lo(f, F.SECONDARY_VM_EXEC_CONTROL);
  const entry = lo(f, F.VM_ENTRY_CONTROLS);
  const ug = (lo(f, F.CPU_BASED_VM_EXEC_CONTROL) & 0x80000000) !== 0 && (proc2 & F.PROC2_UNRESTRICTED_GUEST) !== 0;
  const ia32e = (entry & F.ENTRY_IA32E_MODE_GUEST) !== 0;
  const cr0 = lo(f, F.GUEST_CR0);
  const cr4 = lo(f, F.GUEST_CR4);
  const efer = lo(f, F.GUEST_IA32_EFER);
  // 26.3.1.1 control registers
  let fixed0 = caps.msrLo(7); // CAP_CR0_FIXED0
  if (ug) fixed0 &= ~0x80000001;
  if ((cr0 & fixed0) !== fixed0) bad.push('CR0 lacks a fixed-1 bit');
  if ((cr0 & ~caps.msrLo(8) & ~0x60000000) !== 0) bad.push('CR0 has a fixed-0 bit');
  if ((cr0 & 0x80000000) !== 0 && (cr0 & 1) === 0) bad.push('CR0.PG without CR0.PE');
  if (hiOf(f, F.GUEST_CR0) !== 0 || hiOf(f, F.GUEST_CR4) !== 0) bad.push('CR0/CR4 bits 63:32 set');
  if ((cr4 & caps.msrLo(9)) !== caps.msrLo(9)) bad.push('CR4 lacks a fixed-1 bit');
  if ((cr4 & ~caps.msrLo(10)) !== 0) bad.push('CR4 has a fixed-0 bit');
  if (ia32e && ((cr0 & 0x80000000) === 0 || (cr4 & 0x20) === 0)) bad.push('IA-32e mode guest without CR0.PG and CR4.PAE');
  if (!ia32e && (cr4 & 0x20000) !== 0) bad.push('CR4.PCIDE outside IA-32e mode');
  if (hiOf(f, F.GUEST_DR7) !== 0) bad.push('DR7 bits 63:32 set');
  if ((entry & F.ENTRY_LOAD_PAT) !== 0) {
    const pat = [lo(f, F.GUEST_IA32_PAT), hiOf(f, F.GUEST_IA32_PAT)];
    for (const half of pat) for (let b = 0; b < 4; b++) if (![0, 1, 4, 5, 6, 7].includes((half >>> (b * 8)) & 0xff)) bad.push('PAT entry invalid');
  }
  if ((entry & F.ENTRY_LOAD_EFER) !== 0) {
    if ((efer & ~0xd01) !== 0 || hiOf(f, F.GUEST_IA32_EFER) !== 0) bad.push('EFER reserved bits');
    if (((efer >>> 10) & 1) !== (ia32e ? 1 : 0)) bad.push('EFER.LMA differs from IA-32e mode guest');
    if ((cr0 & 0x80000000) !== 0 && ((efer >>> 10) & 1) !== ((efer >>> 8) & 1)) bad.push('EFER.LME differs from LMA with paging on');
  } else bad.push('load IA32_EFER is off');
  // 26.3.1.2 segment registers (RFLAGS.VM is 0 in every state here)
  const seg = (name: string) => SEG_FIELDS[name].map((enc) => lo(f, enc));
  const unusable = (ar: number) => (ar & 0x10000) !== 0;
  const gOk = (limit: number, ar: number) => {
    const g = (ar >>> 15) & 1;
    if ((limit & 0xfff) !== 0xfff && g === 1) return false;
    if ((limit >>> 20) !== 0 && g === 0) return false;
    return true;
  };
  for (const name of SEGS) {
    const [sel, , limit, ar] = seg(name);
    if (hiOf(f, SEG_FIELDS[name][1]) !== 0 && name !== 'FS' && name !== 'GS' && name !== 'LDTR' && name !== 'TR') bad.push(`${name} base 63:32`);
    if (unusable(ar)) continue;
    if ((ar & 0xfffe0f00) !== 0) bad.push(`${name} AR reserved bits`);
    if (((ar >>> 7) & 1) !== 1) bad.push(`${name} not present`);
    if (!gOk(limit, ar)) bad.push(`${name} G and limit disagree`);
    if (name === 'TR' || name === 'LDTR') {
      if ((sel & 4) !== 0) bad.push(`${name} TI set`);
      if ((ar & 0x10) !== 0) bad.push(`${name} S set`);
    } else if ((ar & 0x10) === 0) bad.push(`${name} S clear`);
  }
  const [csSel, , , csAr] = seg('CS');
  const [ssSel, , , ssAr] = seg('SS');
  const csType = csAr & 0xf;
  if (![9, 11, 13, 15].includes(csType) && !(ug && csType === 3)) bad.push('CS type');
  if ((csType === 9 || csType === 11) && ((csAr >>> 5) & 3) !== ((ssAr >>> 5) & 3)) bad.push('CS.DPL != SS.DPL');
  if (ia32e && ((csAr >>> 13) & 1) === 1 && ((csAr >>> 14) & 1) === 1) bad.push('CS.L and CS.D both set');
  if (!ug && (ssSel & 3) !== (csSel & 3)) bad.push('SS.RPL != CS.RPL');
  if (!unusable(ssAr) && ![3, 7].includes(ssAr & 0xf)) bad.push('SS type');
  if ((cr0 & 1) === 0 && ((ssAr >>> 5) & 3) !== 0) bad.push('SS.DPL != 0 in real mode');
  for (const name of ['DS', 'ES', 'FS', 'GS']) {
    const ar = seg(name)[3];
    if (unusable(ar)) continue;
    if ((ar & 1) === 0) bad.push(`${name} not accessed`);
    if ((ar & 8) !== 0 && (ar & 2) === 0) bad.push(`${name} unreadable code`);
  }
  const trAr = seg('TR')[3];
  if (unusable(trAr)) bad.push('TR unusable');
  if (ia32e ? (trAr & 0xf) !== 11 : ![3, 11].includes(trAr & 0xf)) bad.push('TR type');
  const ldtrAr = seg('LDTR')[3];
  if (!unusable(ldtrAr) && (ldtrAr & 0xf) !== 2) bad.push('LDTR type');
  // 26.3.1.3 descriptor-table registers
  if (lo(f, F.GUEST_GDTR_LIMIT) > 0xffff || lo(f, F.GUEST_IDTR_LIMIT) > 0xffff) bad.push('GDTR/IDTR limit');
  // 26.3.1.4 RIP and RFLAGS
  const csL = ia32e && ((csAr >>> 13) & 1) === 1;
  if (!csL && hiOf(f, F.GUEST_RIP) !== 0) bad.push('RIP 63:32 outside 64-bit mode');
  const rflags = lo(f, F.GUEST_RFLAGS);
  if ((rflags & 2) === 0 || (rflags & 0xffc08028) !== 0 || hiOf(f, F.GUEST_RFLAGS) !== 0) bad.push('RFLAGS reserved bits');
  if ((rflags & 0x20000) !== 0 && (ia32e || (cr0 & 1) === 0)) bad.push('RFLAGS.VM');
  // 26.3.1.5 non-register state
  if (lo(f, F.GUEST_ACTIVITY_STATE) > 3) bad.push('activity state');
  if (lo(f, F.GUEST_INTERRUPTIBILITY_INFO) !== 0) bad.push('interruptibility not 0');
  if (lo(f, F.GUEST_PENDING_DBG_EXCEPTIONS) !== 0) bad.push('pending debug exceptions');
  if (lo(f, F.VMCS_LINK_POINTER) !== 0xffffffff || hiOf(f, F.VMCS_LINK_POINTER) !== 0xffffffff) bad.push('VMCS link pointer');
  // unrestricted guest is what lets PE or PG be 0 (26.2.1.1: it needs EPT too)
  if (((cr0 & 1) === 0 || (cr0 & 0x80000000) === 0) && !ug) bad.push('PE/PG 0 without unrestricted guest');
  if (ug && (proc2 & F.PROC2_ENABLE_EPT) === 0) bad.push('unrestricted guest without EPT');
  return bad;
}

/** The CR value the guest sees through the mask and read shadow (25.6.6). */
function visible(f: Fields, real: number, mask: number, shadow: number): number {
  return ((lo(f, shadow) & lo(f, mask)) | (lo(f, real) & ~lo(f, mask))) >>> 0;
}

/** Every field the entry states write, with nothing else. */
const STATE_FIELDS = [
  ...Object.values(SEG_FIELDS).flat(),
  F.VMCS_LINK_POINTER, F.GUEST_RFLAGS, F.GUEST_DR7, F.GUEST_IA32_DEBUGCTL, F.GUEST_INTERRUPTIBILITY_INFO,
  F.GUEST_ACTIVITY_STATE, F.GUEST_PENDING_DBG_EXCEPTIONS, F.GUEST_IA32_SYSENTER_CS, F.GUEST_IA32_SYSENTER_ESP,
  F.GUEST_IA32_SYSENTER_EIP, F.GUEST_GDTR_BASE, F.GUEST_GDTR_LIMIT, F.GUEST_IDTR_BASE, F.GUEST_IDTR_LIMIT,
  F.GUEST_PDPTE0, F.GUEST_PDPTE1, F.GUEST_PDPTE2, F.GUEST_PDPTE3,
  F.CR0_GUEST_HOST_MASK, F.CR0_READ_SHADOW, F.GUEST_CR0, F.CR4_GUEST_HOST_MASK, F.CR4_READ_SHADOW, F.GUEST_CR4,
  F.GUEST_CR3, F.GUEST_IA32_EFER, F.GUEST_IA32_PAT, F.GUEST_RIP, F.GUEST_RSP, F.VM_ENTRY_CONTROLS,
];

/** Expected [hi, lo] of every field for a state. Segments as [sel, base, limit, ar] rows in SEGS order. */
function expected(segs: number[][], rest: [number, number, number][]): Map<number, [number, number]> {
  const e = new Map<number, [number, number]>();
  SEGS.forEach((name, i) => SEG_FIELDS[name].forEach((enc, j) => e.set(enc, [0, segs[i][j]])));
  const common: [number, number, number][] = [
    [F.VMCS_LINK_POINTER, 0xffffffff, 0xffffffff], [F.GUEST_RFLAGS, 0, 2], [F.GUEST_DR7, 0, 0x400],
    [F.GUEST_IA32_DEBUGCTL, 0, 0], [F.GUEST_INTERRUPTIBILITY_INFO, 0, 0], [F.GUEST_ACTIVITY_STATE, 0, 0],
    [F.GUEST_PENDING_DBG_EXCEPTIONS, 0, 0], [F.GUEST_IA32_SYSENTER_CS, 0, 0], [F.GUEST_IA32_SYSENTER_ESP, 0, 0],
    [F.GUEST_IA32_SYSENTER_EIP, 0, 0], [F.GUEST_GDTR_BASE, 0, 0], [F.GUEST_GDTR_LIMIT, 0, 0xffff],
    [F.GUEST_IDTR_BASE, 0, 0], [F.GUEST_IDTR_LIMIT, 0, 0xffff],
    [F.GUEST_PDPTE0, 0, 0], [F.GUEST_PDPTE1, 0, 0], [F.GUEST_PDPTE2, 0, 0], [F.GUEST_PDPTE3, 0, 0],
  ];
  for (const [enc, h, l] of [...common, ...rest]) e.set(enc, [h, l]);
  return e;
}

function expectFields(f: Fields, want: Map<number, [number, number]>): void {
  for (const [enc, v] of want) expect([enc.toString(16), f.get(enc)]).toEqual([enc.toString(16), v]);
}

const FLAT = 0xffffffff;

describe('CR0/CR4 guest/host masks (SDM 25.6.6)', () => {
  it('own CR0.NE and CR4.VMXE with unrestricted guest', () => {
    const { caps } = setup();
    expect(cr0GuestHostMask(caps)).toBe(0x20);
    expect(cr4GuestHostMask(caps)).toBe(0x2000);
  });

  it('also own CR0.PE and CR0.PG without unrestricted guest', () => {
    const { caps } = setup((m) => m.setMsr(0x48b, 0x02177fff & ~0x80, 0));
    expect(cr0GuestHostMask(caps)).toBe(0x80000021);
  });

  it('own every CR4_FIXED0 bit', () => {
    const { caps } = setup((m) => m.setMsr(0x488, 0, 0x2040));
    expect(cr4GuestHostMask(caps)).toBe(0x2040);
  });
});

describe('guest entry states (SDM 26.3, Table 9-1)', () => {
  it('64-bit long mode', () => {
    const { fields: f, caps, controls } = setup();
    expect(setGuestLongMode64(caps, 0x1_0000_2000, 0x7000, 0x9_0000)).toBe(0);
    const data = [0x10, 0, FLAT, 0xc093];
    const want = expected(
      [data, [0x08, 0, FLAT, 0xa09b], data, data, data, data, [0, 0, 0, 0x10000], [0, 0, 0xff, 0x8b]],
      [
        [F.GUEST_CR0, 0, 0x80050033], [F.CR0_READ_SHADOW, 0, 0x80050033], [F.CR0_GUEST_HOST_MASK, 0, 0x20],
        [F.GUEST_CR4, 0, 0x2020], [F.CR4_READ_SHADOW, 0, 0x20], [F.CR4_GUEST_HOST_MASK, 0, 0x2000],
        [F.GUEST_CR3, 0, 0x7000], [F.GUEST_IA32_EFER, 0, 0x500], [F.GUEST_IA32_PAT, 0x00070406, 0x00070406],
        [F.GUEST_RIP, 1, 0x2000], [F.GUEST_RSP, 0, 0x90000], [F.VM_ENTRY_CONTROLS, 0, controls.entry | 0x200],
      ],
    );
    expect(new Set(f.keys())).toEqual(new Set([...STATE_FIELDS, F.PIN_BASED_VM_EXEC_CONTROL, F.CPU_BASED_VM_EXEC_CONTROL, F.SECONDARY_VM_EXEC_CONTROL, F.VM_EXIT_CONTROLS]));
    expectFields(f, want);
    expect(checkGuestState(f, caps)).toEqual([]);
    // the rules that matter most here
    expect((lo(f, F.GUEST_CS_AR) >>> 13) & 1).toBe(1); // CS.L
    expect(lo(f, F.VM_ENTRY_CONTROLS) & F.ENTRY_IA32E_MODE_GUEST).toBe(F.ENTRY_IA32E_MODE_GUEST);
    expect(lo(f, F.GUEST_TR_AR) & 0xf).toBe(11);
    expect(lo(f, F.GUEST_LDTR_AR) & 0x10000).toBe(0x10000);
    expect(visible(f, F.GUEST_CR0, F.CR0_GUEST_HOST_MASK, F.CR0_READ_SHADOW)).toBe(0x80050033);
    expect(visible(f, F.GUEST_CR4, F.CR4_GUEST_HOST_MASK, F.CR4_READ_SHADOW)).toBe(0x20);
  });

  it('Linux 32-bit boot protocol', () => {
    const { fields: f, caps, controls } = setup();
    vmwrite(F.VM_ENTRY_CONTROLS, 0, controls.entry | 0x200); // left over from a 64-bit state
    expect(setGuestProtected32(caps, 0x100000)).toBe(0);
    const data = [0x18, 0, FLAT, 0xc093];
    const want = expected(
      [data, [0x10, 0, FLAT, 0xc09b], data, data, data, data, [0, 0, 0, 0x10000], [0, 0, 0xff, 0x8b]],
      [
        [F.GUEST_CR0, 0, 0x31], [F.CR0_READ_SHADOW, 0, 0x31], [F.CR0_GUEST_HOST_MASK, 0, 0x20],
        [F.GUEST_CR4, 0, 0x2000], [F.CR4_READ_SHADOW, 0, 0], [F.CR4_GUEST_HOST_MASK, 0, 0x2000],
        [F.GUEST_CR3, 0, 0], [F.GUEST_IA32_EFER, 0, 0], [F.GUEST_IA32_PAT, 0x00070406, 0x00070406],
        [F.GUEST_RIP, 0, 0x100000], [F.GUEST_RSP, 0, 0], [F.VM_ENTRY_CONTROLS, 0, controls.entry],
      ],
    );
    expectFields(f, want);
    expect(checkGuestState(f, caps)).toEqual([]);
    expect(lo(f, F.GUEST_RFLAGS) & 0x200).toBe(0); // interrupts off
  });

  it('real-mode reset vector', () => {
    const { fields: f, caps, controls } = setup();
    setGuestLongMode64(caps, 0x1000, 0x7000, 0);
    expect(setGuestRealModeReset(caps)).toBe(0);
    const data = [0, 0, 0xffff, 0x93];
    const want = expected(
      [data, [0xf000, 0xffff0000, 0xffff, 0x9b], data, data, data, data, [0, 0, 0xffff, 0x82], [0, 0, 0xffff, 0x8b]],
      [
        [F.GUEST_CR0, 0, 0x60000030], [F.CR0_READ_SHADOW, 0, 0x60000010], [F.CR0_GUEST_HOST_MASK, 0, 0x20],
        [F.GUEST_CR4, 0, 0x2000], [F.CR4_READ_SHADOW, 0, 0], [F.CR4_GUEST_HOST_MASK, 0, 0x2000],
        [F.GUEST_CR3, 0, 0], [F.GUEST_IA32_EFER, 0, 0], [F.GUEST_IA32_PAT, 0x00070406, 0x00070406],
        [F.GUEST_RIP, 0, 0xfff0], [F.GUEST_RSP, 0, 0], [F.VM_ENTRY_CONTROLS, 0, controls.entry],
      ],
    );
    expectFields(f, want);
    expect(checkGuestState(f, caps)).toEqual([]);
    expect(visible(f, F.GUEST_CR0, F.CR0_GUEST_HOST_MASK, F.CR0_READ_SHADOW)).toBe(0x60000010);
    expect(guestVisibleCr0()).toBe(0x60000010);
  });

  it('INIT keeps CR0.CD/NW and PAT, resets the rest like reset', () => {
    const { fields: f, caps, controls } = setup();
    setGuestLongMode64(caps, 0x1000, 0x7000, 0);
    vmwrite(F.GUEST_IA32_PAT, 0x00000006, 0x00000006); // the guest made everything WB
    expect(setGuestInitState(caps)).toBe(0);
    expect(lo(f, F.GUEST_CR0)).toBe(0x30); // ET, and NE for VMX
    expect(lo(f, F.CR0_READ_SHADOW)).toBe(0x10); // CD and NW were 0
    expect(f.get(F.GUEST_IA32_PAT)).toEqual([6, 6]);
    expect(lo(f, F.GUEST_RIP)).toBe(0xfff0);
    expect(lo(f, F.GUEST_CS_BASE)).toBe(0xffff0000);
    expect(lo(f, F.GUEST_IA32_EFER)).toBe(0);
    expect(lo(f, F.VM_ENTRY_CONTROLS)).toBe(controls.entry);
    expect(checkGuestState(f, caps)).toEqual([]);

    // a guest running with caches off (CD|NW) keeps them through INIT
    vmwrite(F.GUEST_CR0, 0, 0xe0000031);
    vmwrite(F.CR0_READ_SHADOW, 0, 0xe0000031);
    expect(setGuestInitState(caps)).toBe(0);
    expect(lo(f, F.GUEST_CR0)).toBe(0x60000030);
    expect(lo(f, F.CR0_READ_SHADOW)).toBe(0x60000010);
    expect(checkGuestState(f, caps)).toEqual([]);
  });

  it('start-up IPI vector on top of INIT', () => {
    const { fields: f, caps } = setup();
    setGuestInitState(caps);
    vmwrite(F.GUEST_ACTIVITY_STATE, 0, 3); // wait-for-SIPI
    expect(setGuestSipiVector(0x9f)).toBe(0);
    expect(lo(f, F.GUEST_CS_SELECTOR)).toBe(0x9f00);
    expect(lo(f, F.GUEST_CS_BASE)).toBe(0x9f000);
    expect(lo(f, F.GUEST_RIP)).toBe(0);
    expect(lo(f, F.GUEST_ACTIVITY_STATE)).toBe(0);
    expect(checkGuestState(f, caps)).toEqual([]);
  });

  it('descriptor tables a loader built', () => {
    const { fields: f, caps } = setup();
    setGuestProtected32(caps, 0x100000);
    expect(setGuestDescriptorTables(0x1000, 0x1f, 0, 0)).toBe(0);
    expect(f.get(F.GUEST_GDTR_BASE)).toEqual([0, 0x1000]);
    expect(lo(f, F.GUEST_GDTR_LIMIT)).toBe(0x1f);
    expect(lo(f, F.GUEST_IDTR_LIMIT)).toBe(0);
    expect(checkGuestState(f, caps)).toEqual([]);
  });

  it('report VMfailInvalid with no current VMCS', () => {
    const { caps, vmcsPa } = setup();
    expect(vmclear(vmcsPa)).toBe(0); // no current VMCS now
    expect(setGuestLongMode64(caps, 0x1000, 0x7000, 0)).toBe(1);
    expect(setGuestRealModeReset(caps)).toBe(1);
  });

  it('the checker itself catches the rules it claims to check', () => {
    const { fields: f, caps } = setup();
    setGuestLongMode64(caps, 0x1000, 0x7000, 0);
    vmwrite(F.GUEST_TR_AR, 0, 0x89); // available, not busy, TSS
    expect(checkGuestState(f, caps)).toEqual(['TR type']);
    vmwrite(F.GUEST_TR_AR, 0, 0x8b);
    vmwrite(F.VMCS_LINK_POINTER, 0, 0);
    expect(checkGuestState(f, caps)).toEqual(['VMCS link pointer']);
    vmwrite(F.VMCS_LINK_POINTER, 0xffffffff, 0xffffffff);
    vmwrite(F.GUEST_CR4, 0, 0x20); // VMXE clear
    expect(checkGuestState(f, caps)).toEqual(['CR4 lacks a fixed-1 bit']);
    vmwrite(F.GUEST_CR4, 0, 0x2020);
    vmwrite(F.GUEST_CS_AR, 0, 0xe09b); // L and D both set
    expect(checkGuestState(f, caps)).toEqual(['CS.L and CS.D both set']);
    vmwrite(F.GUEST_CS_AR, 0, 0xa09b);
    vmwrite(F.VM_ENTRY_CONTROLS, 0, lo(f, F.VM_ENTRY_CONTROLS) & ~0x200); // EFER.LMA without IA-32e mode
    expect(checkGuestState(f, caps)).toEqual(['EFER.LMA differs from IA-32e mode guest']);
    vmwrite(F.VM_ENTRY_CONTROLS, 0, lo(f, F.VM_ENTRY_CONTROLS) | 0x200);
    vmwrite(F.GUEST_CR0, 0, 0x80050013); // NE clear
    expect(checkGuestState(f, caps)).toEqual(['CR0 lacks a fixed-1 bit']);
    vmwrite(F.GUEST_CR0, 0, 0x80050033);
    vmwrite(F.GUEST_LDTR_AR, 0, 0x82);
    vmwrite(F.GUEST_LDTR_LIMIT, 0, 0x7);
    expect(checkGuestState(f, caps)).toEqual([]);
    vmwrite(F.GUEST_LDTR_AR, 0, 0x8b);
    expect(checkGuestState(f, caps)).toEqual(['LDTR type']);
  });

  it('real mode needs unrestricted guest (the checker refuses it without)', () => {
    const { fields: f, caps } = setup();
    setGuestRealModeReset(caps);
    vmwrite(F.SECONDARY_VM_EXEC_CONTROL, 0, lo(f, F.SECONDARY_VM_EXEC_CONTROL) & ~F.PROC2_UNRESTRICTED_GUEST);
    expect(checkGuestState(f, caps)).toContain('PE/PG 0 without unrestricted guest');
  });
});
