// VMCS field encodings, VM-execution control bits and basic exit reasons
// (Intel SDM Vol. 3D Appendix B "Field Encoding in VMCS", Vol. 3C 25.6-25.8
// "VM-Execution/VM-Exit/VM-Entry Control Fields", Appendix C "VMX Basic Exit
// Reasons").
//
// A field encoding (SDM Vol. 3C 25.11.2, Table 25-21):
//
//    31      15 14  13 12 11  10 9        1  0
//   +----------+------+--+------+-----------+--+
//   | reserved |width |0 | type |   index   |A |
//   +----------+------+--+------+-----------+--+
//   width 0 16-bit, 1 64-bit, 2 32-bit, 3 natural width
//   type  0 control, 1 VM-exit information (read-only), 2 guest state, 3 host state
//   A     access type: 0 full, 1 high half of a 64-bit field (32-bit mode only)
//
// This hypervisor runs in 64-bit mode and always uses the full encoding; a
// 64-bit or natural-width value crosses the gateway as (hi, lo) halves.

// ---- 16-bit control fields (B.1.1) ------------------------------------------
export const VIRTUAL_PROCESSOR_ID = 0x0000;
export const POSTED_INTR_NOTIFICATION_VECTOR = 0x0002;
export const EPTP_INDEX = 0x0004;

// ---- 16-bit guest-state fields (B.1.2) ----------------------------------------
export const GUEST_ES_SELECTOR = 0x0800;
export const GUEST_CS_SELECTOR = 0x0802;
export const GUEST_SS_SELECTOR = 0x0804;
export const GUEST_DS_SELECTOR = 0x0806;
export const GUEST_FS_SELECTOR = 0x0808;
export const GUEST_GS_SELECTOR = 0x080a;
export const GUEST_LDTR_SELECTOR = 0x080c;
export const GUEST_TR_SELECTOR = 0x080e;
export const GUEST_INTR_STATUS = 0x0810;
export const GUEST_PML_INDEX = 0x0812;

// ---- 16-bit host-state fields (B.1.3) -----------------------------------------
export const HOST_ES_SELECTOR = 0x0c00;
export const HOST_CS_SELECTOR = 0x0c02;
export const HOST_SS_SELECTOR = 0x0c04;
export const HOST_DS_SELECTOR = 0x0c06;
export const HOST_FS_SELECTOR = 0x0c08;
export const HOST_GS_SELECTOR = 0x0c0a;
export const HOST_TR_SELECTOR = 0x0c0c;

// ---- 64-bit control fields (B.2.1) --------------------------------------------
export const IO_BITMAP_A = 0x2000;
export const IO_BITMAP_B = 0x2002;
export const MSR_BITMAP = 0x2004;
export const VM_EXIT_MSR_STORE_ADDR = 0x2006;
export const VM_EXIT_MSR_LOAD_ADDR = 0x2008;
export const VM_ENTRY_MSR_LOAD_ADDR = 0x200a;
export const EXECUTIVE_VMCS_POINTER = 0x200c;
export const PML_ADDRESS = 0x200e;
export const TSC_OFFSET = 0x2010;
export const VIRTUAL_APIC_PAGE_ADDR = 0x2012;
export const APIC_ACCESS_ADDR = 0x2014;
export const POSTED_INTR_DESC_ADDR = 0x2016;
export const VM_FUNCTION_CONTROLS = 0x2018;
export const EPT_POINTER = 0x201a;
export const EOI_EXIT_BITMAP0 = 0x201c;
export const EOI_EXIT_BITMAP1 = 0x201e;
export const EOI_EXIT_BITMAP2 = 0x2020;
export const EOI_EXIT_BITMAP3 = 0x2022;
export const EPTP_LIST_ADDR = 0x2024;
export const VMREAD_BITMAP = 0x2026;
export const VMWRITE_BITMAP = 0x2028;
export const VE_INFO_ADDR = 0x202a;
export const XSS_EXIT_BITMAP = 0x202c;
export const ENCLS_EXITING_BITMAP = 0x202e;
export const TSC_MULTIPLIER = 0x2032;

// ---- 64-bit read-only data field (B.2.2) --------------------------------------
export const GUEST_PHYSICAL_ADDRESS = 0x2400;

// ---- 64-bit guest-state fields (B.2.3) ----------------------------------------
export const VMCS_LINK_POINTER = 0x2800;
export const GUEST_IA32_DEBUGCTL = 0x2802;
export const GUEST_IA32_PAT = 0x2804;
export const GUEST_IA32_EFER = 0x2806;
export const GUEST_IA32_PERF_GLOBAL_CTRL = 0x2808;
export const GUEST_PDPTE0 = 0x280a;
export const GUEST_PDPTE1 = 0x280c;
export const GUEST_PDPTE2 = 0x280e;
export const GUEST_PDPTE3 = 0x2810;
export const GUEST_IA32_BNDCFGS = 0x2812;

// ---- 64-bit host-state fields (B.2.4) -----------------------------------------
export const HOST_IA32_PAT = 0x2c00;
export const HOST_IA32_EFER = 0x2c02;
export const HOST_IA32_PERF_GLOBAL_CTRL = 0x2c04;

// ---- 32-bit control fields (B.3.1) --------------------------------------------
export const PIN_BASED_VM_EXEC_CONTROL = 0x4000;
export const CPU_BASED_VM_EXEC_CONTROL = 0x4002;
export const EXCEPTION_BITMAP = 0x4004;
export const PAGE_FAULT_ERROR_CODE_MASK = 0x4006;
export const PAGE_FAULT_ERROR_CODE_MATCH = 0x4008;
export const CR3_TARGET_COUNT = 0x400a;
export const VM_EXIT_CONTROLS = 0x400c;
export const VM_EXIT_MSR_STORE_COUNT = 0x400e;
export const VM_EXIT_MSR_LOAD_COUNT = 0x4010;
export const VM_ENTRY_CONTROLS = 0x4012;
export const VM_ENTRY_MSR_LOAD_COUNT = 0x4014;
export const VM_ENTRY_INTR_INFO = 0x4016;
export const VM_ENTRY_EXCEPTION_ERROR_CODE = 0x4018;
export const VM_ENTRY_INSTRUCTION_LEN = 0x401a;
export const TPR_THRESHOLD = 0x401c;
export const SECONDARY_VM_EXEC_CONTROL = 0x401e;
export const PLE_GAP = 0x4020;
export const PLE_WINDOW = 0x4022;

// ---- 32-bit read-only data fields (B.3.2) -------------------------------------
export const VM_INSTRUCTION_ERROR = 0x4400;
export const VM_EXIT_REASON = 0x4402;
export const VM_EXIT_INTR_INFO = 0x4404;
export const VM_EXIT_INTR_ERROR_CODE = 0x4406;
export const IDT_VECTORING_INFO = 0x4408;
export const IDT_VECTORING_ERROR_CODE = 0x440a;
export const VM_EXIT_INSTRUCTION_LEN = 0x440c;
export const VM_EXIT_INSTRUCTION_INFO = 0x440e;

// ---- 32-bit guest-state fields (B.3.3) ----------------------------------------
export const GUEST_ES_LIMIT = 0x4800;
export const GUEST_CS_LIMIT = 0x4802;
export const GUEST_SS_LIMIT = 0x4804;
export const GUEST_DS_LIMIT = 0x4806;
export const GUEST_FS_LIMIT = 0x4808;
export const GUEST_GS_LIMIT = 0x480a;
export const GUEST_LDTR_LIMIT = 0x480c;
export const GUEST_TR_LIMIT = 0x480e;
export const GUEST_GDTR_LIMIT = 0x4810;
export const GUEST_IDTR_LIMIT = 0x4812;
export const GUEST_ES_AR = 0x4814;
export const GUEST_CS_AR = 0x4816;
export const GUEST_SS_AR = 0x4818;
export const GUEST_DS_AR = 0x481a;
export const GUEST_FS_AR = 0x481c;
export const GUEST_GS_AR = 0x481e;
export const GUEST_LDTR_AR = 0x4820;
export const GUEST_TR_AR = 0x4822;
export const GUEST_INTERRUPTIBILITY_INFO = 0x4824;
export const GUEST_ACTIVITY_STATE = 0x4826;
export const GUEST_SMBASE = 0x4828;
export const GUEST_IA32_SYSENTER_CS = 0x482a;
export const VMX_PREEMPTION_TIMER_VALUE = 0x482e;

// ---- 32-bit host-state field (B.3.4) ------------------------------------------
export const HOST_IA32_SYSENTER_CS = 0x4c00;

// ---- natural-width control fields (B.4.1) -------------------------------------
export const CR0_GUEST_HOST_MASK = 0x6000;
export const CR4_GUEST_HOST_MASK = 0x6002;
export const CR0_READ_SHADOW = 0x6004;
export const CR4_READ_SHADOW = 0x6006;
export const CR3_TARGET_VALUE0 = 0x6008;
export const CR3_TARGET_VALUE1 = 0x600a;
export const CR3_TARGET_VALUE2 = 0x600c;
export const CR3_TARGET_VALUE3 = 0x600e;

// ---- natural-width read-only data fields (B.4.2) ------------------------------
export const EXIT_QUALIFICATION = 0x6400;
export const IO_RCX = 0x6402;
export const IO_RSI = 0x6404;
export const IO_RDI = 0x6406;
export const IO_RIP = 0x6408;
export const GUEST_LINEAR_ADDRESS = 0x640a;

// ---- natural-width guest-state fields (B.4.3) ---------------------------------
export const GUEST_CR0 = 0x6800;
export const GUEST_CR3 = 0x6802;
export const GUEST_CR4 = 0x6804;
export const GUEST_ES_BASE = 0x6806;
export const GUEST_CS_BASE = 0x6808;
export const GUEST_SS_BASE = 0x680a;
export const GUEST_DS_BASE = 0x680c;
export const GUEST_FS_BASE = 0x680e;
export const GUEST_GS_BASE = 0x6810;
export const GUEST_LDTR_BASE = 0x6812;
export const GUEST_TR_BASE = 0x6814;
export const GUEST_GDTR_BASE = 0x6816;
export const GUEST_IDTR_BASE = 0x6818;
export const GUEST_DR7 = 0x681a;
export const GUEST_RSP = 0x681c;
export const GUEST_RIP = 0x681e;
export const GUEST_RFLAGS = 0x6820;
export const GUEST_PENDING_DBG_EXCEPTIONS = 0x6822;
export const GUEST_IA32_SYSENTER_ESP = 0x6824;
export const GUEST_IA32_SYSENTER_EIP = 0x6826;

// ---- natural-width host-state fields (B.4.4) ----------------------------------
export const HOST_CR0 = 0x6c00;
export const HOST_CR3 = 0x6c02;
export const HOST_CR4 = 0x6c04;
export const HOST_FS_BASE = 0x6c06;
export const HOST_GS_BASE = 0x6c08;
export const HOST_TR_BASE = 0x6c0a;
export const HOST_GDTR_BASE = 0x6c0c;
export const HOST_IDTR_BASE = 0x6c0e;
export const HOST_IA32_SYSENTER_ESP = 0x6c10;
export const HOST_IA32_SYSENTER_EIP = 0x6c12;
export const HOST_RSP = 0x6c14;
export const HOST_RIP = 0x6c16;

// ---- field encoding helpers ---------------------------------------------------
export const FIELD_WIDTH_16 = 0;
export const FIELD_WIDTH_64 = 1;
export const FIELD_WIDTH_32 = 2;
export const FIELD_WIDTH_NATURAL = 3;

/** Bits 14:13 of an encoding: 0 16-bit, 1 64-bit, 2 32-bit, 3 natural width. */
export function fieldWidth(encoding: number): number {
  return (encoding >>> 13) & 3;
}

/** Bits 11:10 == 1: a VM-exit information field, which VMWRITE refuses (without VMCS shadowing writes to them). */
export function isReadOnly(encoding: number): boolean {
  return ((encoding >>> 10) & 3) === 1;
}

// ---- pin-based VM-execution controls (SDM Vol. 3C 25.6.1, Table 25-5) ---------
export const PIN_EXTERNAL_INTERRUPT_EXITING = 1 << 0;
export const PIN_NMI_EXITING = 1 << 3;
export const PIN_VIRTUAL_NMIS = 1 << 5;
export const PIN_PREEMPTION_TIMER = 1 << 6;
export const PIN_POSTED_INTERRUPTS = 1 << 7;

// ---- primary processor-based controls (25.6.2, Table 25-6) --------------------
export const PROC_INTERRUPT_WINDOW_EXITING = 1 << 2;
export const PROC_USE_TSC_OFFSETTING = 1 << 3;
export const PROC_HLT_EXITING = 1 << 7;
export const PROC_INVLPG_EXITING = 1 << 9;
export const PROC_MWAIT_EXITING = 1 << 10;
export const PROC_RDPMC_EXITING = 1 << 11;
export const PROC_RDTSC_EXITING = 1 << 12;
export const PROC_CR3_LOAD_EXITING = 1 << 15;
export const PROC_CR3_STORE_EXITING = 1 << 16;
export const PROC_ACTIVATE_TERTIARY = 1 << 17;
export const PROC_CR8_LOAD_EXITING = 1 << 19;
export const PROC_CR8_STORE_EXITING = 1 << 20;
export const PROC_USE_TPR_SHADOW = 1 << 21;
export const PROC_NMI_WINDOW_EXITING = 1 << 22;
export const PROC_MOV_DR_EXITING = 1 << 23;
export const PROC_UNCONDITIONAL_IO_EXITING = 1 << 24;
export const PROC_USE_IO_BITMAPS = 1 << 25;
export const PROC_MONITOR_TRAP_FLAG = 1 << 27;
export const PROC_USE_MSR_BITMAPS = 1 << 28;
export const PROC_MONITOR_EXITING = 1 << 29;
export const PROC_PAUSE_EXITING = 1 << 30;
/** 1 << 31 is negative as an int32; kept unsigned so comparisons read naturally. */
export const PROC_ACTIVATE_SECONDARY_CONTROLS = 0x80000000;

// ---- secondary processor-based controls (25.6.2, Table 25-7) ------------------
export const PROC2_VIRTUALIZE_APIC_ACCESSES = 1 << 0;
export const PROC2_ENABLE_EPT = 1 << 1;
export const PROC2_DESCRIPTOR_TABLE_EXITING = 1 << 2;
export const PROC2_ENABLE_RDTSCP = 1 << 3;
export const PROC2_VIRTUALIZE_X2APIC_MODE = 1 << 4;
export const PROC2_ENABLE_VPID = 1 << 5;
export const PROC2_WBINVD_EXITING = 1 << 6;
export const PROC2_UNRESTRICTED_GUEST = 1 << 7;
export const PROC2_APIC_REGISTER_VIRTUALIZATION = 1 << 8;
export const PROC2_VIRTUAL_INTERRUPT_DELIVERY = 1 << 9;
export const PROC2_PAUSE_LOOP_EXITING = 1 << 10;
export const PROC2_RDRAND_EXITING = 1 << 11;
export const PROC2_ENABLE_INVPCID = 1 << 12;
export const PROC2_ENABLE_VM_FUNCTIONS = 1 << 13;
export const PROC2_VMCS_SHADOWING = 1 << 14;
export const PROC2_ENCLS_EXITING = 1 << 15;
export const PROC2_RDSEED_EXITING = 1 << 16;
export const PROC2_ENABLE_PML = 1 << 17;
export const PROC2_EPT_VIOLATION_VE = 1 << 18;
export const PROC2_CONCEAL_VMX_FROM_PT = 1 << 19;
export const PROC2_ENABLE_XSAVES = 1 << 20;
export const PROC2_MODE_BASED_EPT_EXEC = 1 << 22;
export const PROC2_USE_TSC_SCALING = 1 << 25;

// ---- VM-exit controls (25.7.1, Table 25-13) -----------------------------------
export const EXIT_SAVE_DEBUG_CONTROLS = 1 << 2;
export const EXIT_HOST_ADDRESS_SPACE_SIZE = 1 << 9;
export const EXIT_LOAD_PERF_GLOBAL_CTRL = 1 << 12;
export const EXIT_ACK_INTERRUPT_ON_EXIT = 1 << 15;
export const EXIT_SAVE_PAT = 1 << 18;
export const EXIT_LOAD_PAT = 1 << 19;
export const EXIT_SAVE_EFER = 1 << 20;
export const EXIT_LOAD_EFER = 1 << 21;
export const EXIT_SAVE_PREEMPTION_TIMER = 1 << 22;
export const EXIT_CLEAR_BNDCFGS = 1 << 23;

// ---- VM-entry controls (25.8.1, Table 25-15) ----------------------------------
export const ENTRY_LOAD_DEBUG_CONTROLS = 1 << 2;
export const ENTRY_IA32E_MODE_GUEST = 1 << 9;
export const ENTRY_TO_SMM = 1 << 10;
export const ENTRY_DEACTIVATE_DUAL_MONITOR = 1 << 11;
export const ENTRY_LOAD_PERF_GLOBAL_CTRL = 1 << 13;
export const ENTRY_LOAD_PAT = 1 << 14;
export const ENTRY_LOAD_EFER = 1 << 15;
export const ENTRY_LOAD_BNDCFGS = 1 << 16;

// ---- basic exit reasons (Appendix C, Table C-1); VM_EXIT_REASON bits 15:0 ------
export const EXIT_REASON_EXCEPTION_NMI = 0;
export const EXIT_REASON_EXTERNAL_INTERRUPT = 1;
export const EXIT_REASON_TRIPLE_FAULT = 2;
export const EXIT_REASON_INIT_SIGNAL = 3;
export const EXIT_REASON_SIPI = 4;
export const EXIT_REASON_IO_SMI = 5;
export const EXIT_REASON_OTHER_SMI = 6;
export const EXIT_REASON_INTERRUPT_WINDOW = 7;
export const EXIT_REASON_NMI_WINDOW = 8;
export const EXIT_REASON_TASK_SWITCH = 9;
export const EXIT_REASON_CPUID = 10;
export const EXIT_REASON_GETSEC = 11;
export const EXIT_REASON_HLT = 12;
export const EXIT_REASON_INVD = 13;
export const EXIT_REASON_INVLPG = 14;
export const EXIT_REASON_RDPMC = 15;
export const EXIT_REASON_RDTSC = 16;
export const EXIT_REASON_RSM = 17;
export const EXIT_REASON_VMCALL = 18;
export const EXIT_REASON_VMCLEAR = 19;
export const EXIT_REASON_VMLAUNCH = 20;
export const EXIT_REASON_VMPTRLD = 21;
export const EXIT_REASON_VMPTRST = 22;
export const EXIT_REASON_VMREAD = 23;
export const EXIT_REASON_VMRESUME = 24;
export const EXIT_REASON_VMWRITE = 25;
export const EXIT_REASON_VMXOFF = 26;
export const EXIT_REASON_VMXON = 27;
export const EXIT_REASON_CR_ACCESS = 28;
export const EXIT_REASON_DR_ACCESS = 29;
export const EXIT_REASON_IO_INSTRUCTION = 30;
export const EXIT_REASON_RDMSR = 31;
export const EXIT_REASON_WRMSR = 32;
export const EXIT_REASON_ENTRY_FAILURE_GUEST_STATE = 33;
export const EXIT_REASON_ENTRY_FAILURE_MSR_LOADING = 34;
export const EXIT_REASON_MWAIT = 36;
export const EXIT_REASON_MONITOR_TRAP_FLAG = 37;
export const EXIT_REASON_MONITOR = 39;
export const EXIT_REASON_PAUSE = 40;
export const EXIT_REASON_ENTRY_FAILURE_MACHINE_CHECK = 41;
export const EXIT_REASON_TPR_BELOW_THRESHOLD = 43;
export const EXIT_REASON_APIC_ACCESS = 44;
export const EXIT_REASON_VIRTUALIZED_EOI = 45;
export const EXIT_REASON_GDTR_IDTR_ACCESS = 46;
export const EXIT_REASON_LDTR_TR_ACCESS = 47;
export const EXIT_REASON_EPT_VIOLATION = 48;
export const EXIT_REASON_EPT_MISCONFIG = 49;
export const EXIT_REASON_INVEPT = 50;
export const EXIT_REASON_RDTSCP = 51;
export const EXIT_REASON_PREEMPTION_TIMER = 52;
export const EXIT_REASON_INVVPID = 53;
export const EXIT_REASON_WBINVD = 54;
export const EXIT_REASON_XSETBV = 55;
export const EXIT_REASON_APIC_WRITE = 56;
export const EXIT_REASON_RDRAND = 57;
export const EXIT_REASON_INVPCID = 58;
export const EXIT_REASON_VMFUNC = 59;
export const EXIT_REASON_ENCLS = 60;
export const EXIT_REASON_RDSEED = 61;
export const EXIT_REASON_PML_FULL = 62;
export const EXIT_REASON_XSAVES = 63;
export const EXIT_REASON_XRSTORS = 64;
export const EXIT_REASON_PCONFIG = 65;
export const EXIT_REASON_SPP_EVENT = 66;
export const EXIT_REASON_UMWAIT = 67;
export const EXIT_REASON_TPAUSE = 68;
export const EXIT_REASON_LOADIWKEY = 69;
/** One past the last basic exit reason named here (dispatch tables have this many slots). */
export const EXIT_REASON_COUNT = 70;

/** VM_EXIT_REASON bit 31: the exit happened during VM entry (an entry failure). */
export const EXIT_REASON_ENTRY_FAILURE_BIT = 0x80000000;
/** VM_EXIT_REASON bits 15:0: the basic exit reason. */
export const EXIT_REASON_BASIC_MASK = 0xffff;

/** Names of the basic exit reasons, index = reason; every slot filled. */
export const EXIT_REASON_NAMES = [
  'exception or NMI', // 0
  'external interrupt',
  'triple fault',
  'INIT signal',
  'start-up IPI',
  'I/O SMI', // 5
  'other SMI',
  'interrupt window',
  'NMI window',
  'task switch',
  'CPUID', // 10
  'GETSEC',
  'HLT',
  'INVD',
  'INVLPG',
  'RDPMC', // 15
  'RDTSC',
  'RSM',
  'VMCALL',
  'VMCLEAR',
  'VMLAUNCH', // 20
  'VMPTRLD',
  'VMPTRST',
  'VMREAD',
  'VMRESUME',
  'VMWRITE', // 25
  'VMXOFF',
  'VMXON',
  'control-register access',
  'MOV DR',
  'I/O instruction', // 30
  'RDMSR',
  'WRMSR',
  'VM-entry failure: invalid guest state',
  'VM-entry failure: MSR loading',
  'reserved', // 35
  'MWAIT',
  'monitor trap flag',
  'reserved',
  'MONITOR',
  'PAUSE', // 40
  'VM-entry failure: machine-check event',
  'reserved',
  'TPR below threshold',
  'APIC access',
  'virtualized EOI', // 45
  'GDTR or IDTR access',
  'LDTR or TR access',
  'EPT violation',
  'EPT misconfiguration',
  'INVEPT', // 50
  'RDTSCP',
  'VMX-preemption timer expired',
  'INVVPID',
  'WBINVD or WBNOINVD',
  'XSETBV', // 55
  'APIC write',
  'RDRAND',
  'INVPCID',
  'VMFUNC',
  'ENCLS', // 60
  'RDSEED',
  'page-modification log full',
  'XSAVES',
  'XRSTORS',
  'PCONFIG', // 65
  'SPP-related event',
  'UMWAIT',
  'TPAUSE',
  'LOADIWKEY',
];

/** Name of a basic exit reason (bits 15:0 of VM_EXIT_REASON), 'unknown' past the table. */
export function exitReasonName(reason: number): string {
  const basic = reason & EXIT_REASON_BASIC_MASK;
  return basic < EXIT_REASON_COUNT ? EXIT_REASON_NAMES[basic] : 'unknown';
}

// ---- VM-instruction error numbers (SDM Vol. 3C 31.4, Table 31-1), the ones we name ----
export const VMXERR_VMCALL_IN_ROOT = 1;
export const VMXERR_VMCLEAR_INVALID_ADDRESS = 2;
export const VMXERR_VMCLEAR_VMXON_POINTER = 3;
export const VMXERR_VMLAUNCH_NONCLEAR_VMCS = 4;
export const VMXERR_VMRESUME_NONLAUNCHED_VMCS = 5;
export const VMXERR_ENTRY_INVALID_CONTROL_FIELDS = 7;
export const VMXERR_ENTRY_INVALID_HOST_STATE = 8;
export const VMXERR_VMPTRLD_INVALID_ADDRESS = 9;
export const VMXERR_VMPTRLD_VMXON_POINTER = 10;
export const VMXERR_VMPTRLD_BAD_REVISION = 11;
export const VMXERR_UNSUPPORTED_VMCS_COMPONENT = 12;
export const VMXERR_VMWRITE_READ_ONLY = 13;
export const VMXERR_VMXON_IN_ROOT = 15;
export const VMXERR_INVALID_EPTP_OR_VPID = 28;
