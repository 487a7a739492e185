import { describe, expect, it } from 'vitest';
import * as vmcs from '../../arch/x86/vmcs';
import {
  EXIT_REASON_COUNT, EXIT_REASON_NAMES, exitReasonName, fieldWidth, FIELD_WIDTH_16, FIELD_WIDTH_32, FIELD_WIDTH_64,
  FIELD_WIDTH_NATURAL, isReadOnly,
} from '../../arch/x86/vmcs';

const all = vmcs as unknown as Record<string, unknown>;

/** Exported numeric constants that are VMCS field encodings (not control bits, exit reasons or error numbers). */
const NOT_FIELDS = /^(PIN_|PROC_|PROC2_|EXIT_(?!QUALIFICATION)|ENTRY_|FIELD_WIDTH_|VMXERR_)/;
const fields = Object.entries(all).filter(([n, v]) => typeof v === 'number' && !NOT_FIELDS.test(n)) as [string, number][];

describe('VMCS field encodings (SDM Vol. 3D Appendix B)', () => {
  it('match the SDM numbers', () => {
    const SDM: [string, number][] = [
      ['VIRTUAL_PROCESSOR_ID', 0x0000], ['GUEST_ES_SELECTOR', 0x0800], ['GUEST_CS_SELECTOR', 0x0802], ['GUEST_TR_SELECTOR', 0x080e],
      ['HOST_ES_SELECTOR', 0x0c00], ['HOST_TR_SELECTOR', 0x0c0c],
      ['IO_BITMAP_A', 0x2000], ['IO_BITMAP_B', 0x2002], ['MSR_BITMAP', 0x2004], ['VM_EXIT_MSR_STORE_ADDR', 0x2006],
      ['VM_EXIT_MSR_LOAD_ADDR', 0x2008], ['VM_ENTRY_MSR_LOAD_ADDR', 0x200a], ['TSC_OFFSET', 0x2010],
      ['VIRTUAL_APIC_PAGE_ADDR', 0x2012], ['APIC_ACCESS_ADDR', 0x2014], ['EPT_POINTER', 0x201a],
      ['GUEST_PHYSICAL_ADDRESS', 0x2400],
      ['VMCS_LINK_POINTER', 0x2800], ['GUEST_IA32_DEBUGCTL', 0x2802], ['GUEST_IA32_PAT', 0x2804], ['GUEST_IA32_EFER', 0x2806],
      ['GUEST_IA32_PERF_GLOBAL_CTRL', 0x2808], ['GUEST_PDPTE0', 0x280a], ['GUEST_PDPTE3', 0x2810],
      ['HOST_IA32_PAT', 0x2c00], ['HOST_IA32_EFER', 0x2c02],
      ['PIN_BASED_VM_EXEC_CONTROL', 0x4000], ['CPU_BASED_VM_EXEC_CONTROL', 0x4002], ['EXCEPTION_BITMAP', 0x4004],
      ['PAGE_FAULT_ERROR_CODE_MASK', 0x4006], ['PAGE_FAULT_ERROR_CODE_MATCH', 0x4008], ['CR3_TARGET_COUNT', 0x400a],
      ['VM_EXIT_CONTROLS', 0x400c], ['VM_EXIT_MSR_STORE_COUNT', 0x400e], ['VM_EXIT_MSR_LOAD_COUNT', 0x4010],
      ['VM_ENTRY_CONTROLS', 0x4012], ['VM_ENTRY_MSR_LOAD_COUNT', 0x4014], ['VM_ENTRY_INTR_INFO', 0x4016],
      ['VM_ENTRY_EXCEPTION_ERROR_CODE', 0x4018], ['VM_ENTRY_INSTRUCTION_LEN', 0x401a], ['TPR_THRESHOLD', 0x401c],
      ['SECONDARY_VM_EXEC_CONTROL', 0x401e], ['PLE_GAP', 0x4020], ['PLE_WINDOW', 0x4022],
      ['VM_INSTRUCTION_ERROR', 0x4400], ['VM_EXIT_REASON', 0x4402], ['VM_EXIT_INTR_INFO', 0x4404],
      ['VM_EXIT_INTR_ERROR_CODE', 0x4406], ['IDT_VECTORING_INFO', 0x4408], ['IDT_VECTORING_ERROR_CODE', 0x440a],
      ['VM_EXIT_INSTRUCTION_LEN', 0x440c], ['VM_EXIT_INSTRUCTION_INFO', 0x440e],
      ['GUEST_ES_LIMIT', 0x4800], ['GUEST_TR_LIMIT', 0x480e], ['GUEST_GDTR_LIMIT', 0x4810], ['GUEST_IDTR_LIMIT', 0x4812],
      ['GUEST_ES_AR', 0x4814], ['GUEST_CS_AR', 0x4816], ['GUEST_LDTR_AR', 0x4820], ['GUEST_TR_AR', 0x4822],
      ['GUEST_INTERRUPTIBILITY_INFO', 0x4824], ['GUEST_ACTIVITY_STATE', 0x4826], ['GUEST_SMBASE', 0x4828],
      ['GUEST_IA32_SYSENTER_CS', 0x482a], ['VMX_PREEMPTION_TIMER_VALUE', 0x482e], ['HOST_IA32_SYSENTER_CS', 0x4c00],
      ['CR0_GUEST_HOST_MASK', 0x6000], ['CR4_GUEST_HOST_MASK', 0x6002], ['CR0_READ_SHADOW', 0x6004], ['CR4_READ_SHADOW', 0x6006],
      ['CR3_TARGET_VALUE0', 0x6008], ['CR3_TARGET_VALUE3', 0x600e],
      ['EXIT_QUALIFICATION', 0x6400], ['GUEST_LINEAR_ADDRESS', 0x640a],
      ['GUEST_CR0', 0x6800], ['GUEST_CR3', 0x6802], ['GUEST_CR4', 0x6804], ['GUEST_ES_BASE', 0x6806], ['GUEST_TR_BASE', 0x6814],
      ['GUEST_GDTR_BASE', 0x6816], ['GUEST_IDTR_BASE', 0x6818], ['GUEST_DR7', 0x681a], ['GUEST_RSP', 0x681c], ['GUEST_RIP', 0x681e],
      ['GUEST_RFLAGS', 0x6820], ['GUEST_PENDING_DBG_EXCEPTIONS', 0x6822], ['GUEST_IA32_SYSENTER_ESP', 0x6824],
      ['GUEST_IA32_SYSENTER_EIP', 0x6826],
      ['HOST_CR0', 0x6c00], ['HOST_CR3', 0x6c02], ['HOST_CR4', 0x6c04], ['HOST_FS_BASE', 0x6c06], ['HOST_GS_BASE', 0x6c08],
      ['HOST_TR_BASE', 0x6c0a], ['HOST_GDTR_BASE', 0x6c0c], ['HOST_IDTR_BASE', 0x6c0e], ['HOST_IA32_SYSENTER_ESP', 0x6c10],
      ['HOST_IA32_SYSENTER_EIP', 0x6c12], ['HOST_RSP', 0x6c14], ['HOST_RIP', 0x6c16],
    ];
    for (const [name, enc] of SDM) expect([name, all[name]]).toEqual([name, enc]);
  });

  it('are well-formed full-access encodings, each used once', () => {
    expect(fields.length).toBeGreaterThan(150);
    const seen = new Map<number, string>();
    for (const [name, enc] of fields) {
      expect([name, enc & ~0x6fff]).toEqual([name, 0]); // bits 31:15 and 12 reserved
      expect([name, enc & 1]).toEqual([name, 0]); // full access type
      expect([name, seen.get(enc)]).toEqual([name, undefined]);
      seen.set(enc, name);
    }
  });

  it('have the width and type their names say', () => {
    for (const [name, enc] of fields) {
      if (/_SELECTOR$|^VIRTUAL_PROCESSOR_ID$/.test(name)) expect([name, fieldWidth(enc)]).toEqual([name, FIELD_WIDTH_16]);
      if (/^GUEST_.*_(LIMIT|AR)$/.test(name)) expect([name, fieldWidth(enc)]).toEqual([name, FIELD_WIDTH_32]);
      if (/_BASE$|^(GUEST|HOST)_CR[034]$|^(GUEST|HOST)_R(IP|SP)$/.test(name)) expect([name, fieldWidth(enc)]).toEqual([name, FIELD_WIDTH_NATURAL]);
      if (/^GUEST_/.test(name) && !/^GUEST_(PHYSICAL|LINEAR)_ADDRESS$/.test(name)) expect([name, (enc >>> 10) & 3]).toEqual([name, 2]);
      if (/^HOST_/.test(name)) expect([name, (enc >>> 10) & 3]).toEqual([name, 3]);
    }
  });
});

describe('fieldWidth and isReadOnly', () => {
  it('decode bits 14:13 and 11:10', () => {
    expect(fieldWidth(vmcs.GUEST_CS_SELECTOR)).toBe(FIELD_WIDTH_16);
    expect(fieldWidth(vmcs.EPT_POINTER)).toBe(FIELD_WIDTH_64);
    expect(fieldWidth(vmcs.VMCS_LINK_POINTER)).toBe(FIELD_WIDTH_64);
    expect(fieldWidth(vmcs.SECONDARY_VM_EXEC_CONTROL)).toBe(FIELD_WIDTH_32);
    expect(fieldWidth(vmcs.VM_EXIT_REASON)).toBe(FIELD_WIDTH_32);
    expect(fieldWidth(vmcs.GUEST_RIP)).toBe(FIELD_WIDTH_NATURAL);
    expect(fieldWidth(vmcs.HOST_RIP)).toBe(FIELD_WIDTH_NATURAL);
    expect(fieldWidth(vmcs.EPT_POINTER | 1)).toBe(FIELD_WIDTH_64); // high-access form
  });

  it('mark exactly the VM-exit information fields read-only', () => {
    const readOnly = fields.filter(([, enc]) => isReadOnly(enc)).map(([n]) => n).sort();
    expect(readOnly).toEqual([
      'EXIT_QUALIFICATION', 'GUEST_LINEAR_ADDRESS', 'GUEST_PHYSICAL_ADDRESS', 'IDT_VECTORING_ERROR_CODE',
      'IDT_VECTORING_INFO', 'IO_RCX', 'IO_RDI', 'IO_RIP', 'IO_RSI', 'VM_EXIT_INSTRUCTION_INFO', 'VM_EXIT_INSTRUCTION_LEN',
      'VM_EXIT_INTR_ERROR_CODE', 'VM_EXIT_INTR_INFO', 'VM_EXIT_REASON', 'VM_INSTRUCTION_ERROR',
    ]);
    expect(isReadOnly(vmcs.GUEST_RIP)).toBe(false);
    expect(isReadOnly(vmcs.EPT_POINTER)).toBe(false);
  });
});

describe('control bits (SDM Vol. 3C 25.6-25.8)', () => {
  it('sit where the SDM tables put them', () => {
    const BITS: [number, number][] = [
      [vmcs.PIN_EXTERNAL_INTERRUPT_EXITING, 0], [vmcs.PIN_NMI_EXITING, 3], [vmcs.PIN_VIRTUAL_NMIS, 5], [vmcs.PIN_PREEMPTION_TIMER, 6],
      [vmcs.PROC_INTERRUPT_WINDOW_EXITING, 2], [vmcs.PROC_USE_TSC_OFFSETTING, 3], [vmcs.PROC_HLT_EXITING, 7],
      [vmcs.PROC_INVLPG_EXITING, 9], [vmcs.PROC_MWAIT_EXITING, 10], [vmcs.PROC_RDPMC_EXITING, 11], [vmcs.PROC_RDTSC_EXITING, 12],
      [vmcs.PROC_CR3_LOAD_EXITING, 15], [vmcs.PROC_CR3_STORE_EXITING, 16], [vmcs.PROC_CR8_LOAD_EXITING, 19],
      [vmcs.PROC_CR8_STORE_EXITING, 20], [vmcs.PROC_USE_TPR_SHADOW, 21], [vmcs.PROC_NMI_WINDOW_EXITING, 22],
      [vmcs.PROC_MOV_DR_EXITING, 23], [vmcs.PROC_UNCONDITIONAL_IO_EXITING, 24], [vmcs.PROC_USE_IO_BITMAPS, 25],
      [vmcs.PROC_MONITOR_TRAP_FLAG, 27], [vmcs.PROC_USE_MSR_BITMAPS, 28], [vmcs.PROC_MONITOR_EXITING, 29],
      [vmcs.PROC_PAUSE_EXITING, 30], [vmcs.PROC_ACTIVATE_SECONDARY_CONTROLS, 31],
      [vmcs.PROC2_VIRTUALIZE_APIC_ACCESSES, 0], [vmcs.PROC2_ENABLE_EPT, 1], [vmcs.PROC2_DESCRIPTOR_TABLE_EXITING, 2],
      [vmcs.PROC2_ENABLE_RDTSCP, 3], [vmcs.PROC2_VIRTUALIZE_X2APIC_MODE, 4], [vmcs.PROC2_ENABLE_VPID, 5],
      [vmcs.PROC2_WBINVD_EXITING, 6], [vmcs.PROC2_UNRESTRICTED_GUEST, 7], [vmcs.PROC2_ENABLE_INVPCID, 12],
      [vmcs.PROC2_ENABLE_XSAVES, 20],
      [vmcs.EXIT_SAVE_DEBUG_CONTROLS, 2], [vmcs.EXIT_HOST_ADDRESS_SPACE_SIZE, 9], [vmcs.EXIT_LOAD_PERF_GLOBAL_CTRL, 12],
      [vmcs.EXIT_ACK_INTERRUPT_ON_EXIT, 15], [vmcs.EXIT_SAVE_PAT, 18], [vmcs.EXIT_LOAD_PAT, 19], [vmcs.EXIT_SAVE_EFER, 20],
      [vmcs.EXIT_LOAD_EFER, 21], [vmcs.EXIT_SAVE_PREEMPTION_TIMER, 22],
      [vmcs.ENTRY_LOAD_DEBUG_CONTROLS, 2], [vmcs.ENTRY_IA32E_MODE_GUEST, 9], [vmcs.ENTRY_LOAD_PAT, 14], [vmcs.ENTRY_LOAD_EFER, 15],
    ];
    for (const [mask, bit] of BITS) expect(mask >>> 0).toBe(2 ** bit);
  });
});

describe('basic exit reasons (SDM Appendix C)', () => {
  it('name every slot 0..69, reserved where the SDM defines none', () => {
    expect(EXIT_REASON_COUNT).toBe(70);
    expect(EXIT_REASON_NAMES.length).toBe(EXIT_REASON_COUNT);
    for (let i = 0; i < EXIT_REASON_COUNT; i++) expect(EXIT_REASON_NAMES[i].length).toBeGreaterThan(2);
    const reserved = EXIT_REASON_NAMES.map((n, i) => (n === 'reserved' ? i : -1)).filter((i) => i >= 0);
    expect(reserved).toEqual([35, 38, 42]);
  });

  it('agree with the EXIT_REASON_* constants', () => {
    const reasons = Object.entries(all).filter(([n, v]) => /^EXIT_REASON_/.test(n) && typeof v === 'number'
      && !/_(COUNT|BIT|MASK)$/.test(n)) as [string, number][];
    expect(reasons.length).toBe(67);
    const values = new Set<number>();
    for (const [name, v] of reasons) {
      expect([name, v < EXIT_REASON_COUNT && EXIT_REASON_NAMES[v] !== 'reserved']).toEqual([name, true]);
      values.add(v);
    }
    expect(values.size).toBe(67);
    expect(vmcs.EXIT_REASON_CPUID).toBe(10);
    expect(vmcs.EXIT_REASON_HLT).toBe(12);
    expect(vmcs.EXIT_REASON_VMCALL).toBe(18);
    expect(vmcs.EXIT_REASON_CR_ACCESS).toBe(28);
    expect(vmcs.EXIT_REASON_IO_INSTRUCTION).toBe(30);
    expect(vmcs.EXIT_REASON_ENTRY_FAILURE_GUEST_STATE).toBe(33);
    expect(vmcs.EXIT_REASON_EPT_VIOLATION).toBe(48);
    expect(vmcs.EXIT_REASON_EPT_MISCONFIG).toBe(49);
    expect(vmcs.EXIT_REASON_PREEMPTION_TIMER).toBe(52);
    expect(vmcs.EXIT_REASON_XSETBV).toBe(55);
    expect(vmcs.EXIT_REASON_LOADIWKEY).toBe(69);
  });

  it('exitReasonName uses bits 15:0 and stays in bounds', () => {
    expect(exitReasonName(0x80000021)).toBe('VM-entry failure: invalid guest state');
    expect(exitReasonName(30)).toBe('I/O instruction');
    expect(exitReasonName(70)).toBe('unknown');
    expect(exitReasonName(0xffff)).toBe('unknown');
  });
});
