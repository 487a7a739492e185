// ACRN's hypercall ABI (ACRN-ABI.md "Hypercall ABI"), byte-exact: hypercall
// ids, errno values, flag values and the offset and size of every structure
// the Service VM's HSM driver and device model pass, with helpers that decode
// and encode them in a hypervisor buffer (little endian, no DataView: B8).
//
// Sources (the layouts below were written out from these and are checked by
// test/unit/hypercall-abi.test.ts and printed by test/conformance/hypercall-abi.ts):
//   ACRN  hypervisor/include/public/acrn_hv_defs.h   ids, vm_memory_region,
//         set_regions, vm_gpa2hpa, acrn_hw_info, hc_api_version, MEM_*
//   ACRN  hypervisor/include/public/acrn_common.h    acrn_vm_creation (name[16]),
//         acrn_regs, acrn_vcpu_regs, acrn_irqline_ops, acrn_msi_entry,
//         acrn_io_request, acrn_cstate_data, acrn_pstate_data, PMCMD_*, GUEST_FLAG_*
//   Linux include/uapi/linux/acrn.h                  the same layouts as the
//         HSM ioctls see them (acrn_vm_creation has uuid[16] where ACRN has name[16])
//   Linux drivers/virt/acrn/acrn_drv.h, hypercall.h  vm_memory_region_batch/op,
//         acrn_ioreq_buffer, the ids the HSM calls
//
// Register convention (hypervisor/arch/x86/guest/vmcall.c): R8 = id,
// RDI = param1, RSI = param2, result in RAX as a 64-bit two's complement
// integer (a negative errno is 0xFFFFFFFF:(-errno >>> 0)).
//
// HC_GET_PLATFORM_INFO (0x80000003, struct hc_platform_info) is gone from ACRN
// v3.x: the DM asks HC_GET_HW_INFO, whose struct acrn_hw_info is below.

import { EPT_GPA_LIMIT } from '../../arch/x86/ept';

// ---- ids: 0x80000000 + n (acrn_hv_defs.h BASE_HC_ID(HC_ID 0x80, n)) -----------------

export const HC_ID_BASE = 0x80000000;
export const HC_GET_API_VERSION = 0x80000000;
export const HC_SERVICE_VM_OFFLINE_CPU = 0x80000001;
export const HC_SET_CALLBACK_VECTOR = 0x80000002;
export const HC_CREATE_VM = 0x80000010;
export const HC_DESTROY_VM = 0x80000011;
export const HC_START_VM = 0x80000012;
export const HC_PAUSE_VM = 0x80000013;
export const HC_CREATE_VCPU = 0x80000014;
export const HC_RESET_VM = 0x80000015;
export const HC_SET_VCPU_REGS = 0x80000016;
export const HC_INJECT_MSI = 0x80000023;
export const HC_VM_INTR_MONITOR = 0x80000024;
export const HC_SET_IRQLINE = 0x80000025;
export const HC_SET_IOREQ_BUFFER = 0x80000030;
export const HC_NOTIFY_REQUEST_FINISH = 0x80000031;
export const HC_VM_GPA2HPA = 0x80000041;
export const HC_VM_SET_MEMORY_REGIONS = 0x80000042;
export const HC_VM_WRITE_PROTECT_PAGE = 0x80000043;
export const HC_SET_PTDEV_INTR_INFO = 0x80000053;
export const HC_RESET_PTDEV_INTR_INFO = 0x80000054;
export const HC_ASSIGN_PCIDEV = 0x80000055;
export const HC_DEASSIGN_PCIDEV = 0x80000056;
export const HC_ASSIGN_MMIODEV = 0x80000057;
export const HC_DEASSIGN_MMIODEV = 0x80000058;
export const HC_ADD_VDEV = 0x80000059;
export const HC_REMOVE_VDEV = 0x8000005a;
export const HC_GET_HW_INFO = 0x80000063;
export const HC_PM_GET_CPU_STATE = 0x80000080;

/** Table index of an id (ACRN's HC_IDX: id & 0xFF). */
export function abiHcIndex(idLo: number): number {
  return idLo % 256;
}

// ---- errno (ACRN's errno.h = Linux's) and the generic failure -------------------------

export const EPERM = 1;
export const ENOMEM = 12;
export const EACCES = 13;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOTTY = 25;
/** The plain -1 most ACRN handlers return on a failed guard. */
export const HC_FAIL = -1;

/** RAX halves of a handler's int32 result (two's complement, sign-extended to 64 bits). */
export function abiRaxHi(rc: number): number {
  return rc < 0 ? 0xffffffff : 0;
}
export function abiRaxLo(rc: number): number {
  return rc < 0 ? rc + 4294967296 : rc;
}

// ---- VM ids relative to the Service VM (ACRN's rel_vmid_2_vmid / vmid_2_rel_vmid) ------
//
// The DM names VMs by id relative to the Service VM: absolute = (service + rel)
// mod 2^16 and rel = (absolute - service) mod 2^16, both uint16 as in ACRN
// (vm.h). Relative id 0 is the Service VM itself.

export const ACRN_INVALID_VMID = 0xffff;

export function abiRelToAbsVmid(serviceVmId: number, rel: number): number {
  return (serviceVmId + (rel % 65536)) % 65536;
}
export function abiAbsToRelVmid(serviceVmId: number, abs: number): number {
  return (abs - serviceVmId + 65536) % 65536;
}

// ---- API version (HC_GET_API_VERSION, struct hc_api_version, 8 bytes) ----------------

export const HV_API_MAJOR_VERSION = 1;
export const HV_API_MINOR_VERSION = 0;
export const API_VERSION_SIZE = 8;
export const API_VERSION_MAJOR = 0; // u32
export const API_VERSION_MINOR = 4; // u32

// ---- struct acrn_hw_info (HC_GET_HW_INFO, 8 bytes) --------------------------------------

export const HW_INFO_SIZE = 8;
export const HW_INFO_CPU_NUM = 0; // u16
export const HW_INFO_RESERVED = 2; // u16[3]

// ---- struct acrn_vm_creation (HC_CREATE_VM, 48 bytes) ------------------------------------

export const VM_CREATION_SIZE = 48;
export const VM_CREATION_VMID = 0; // u16, out (0xFFFF: failure)
export const VM_CREATION_RESERVED0 = 2; // u16
export const VM_CREATION_VCPU_NUM = 4; // u16, out
export const VM_CREATION_RESERVED1 = 6; // u16
export const VM_CREATION_NAME = 8; // u8[16] (Linux: uuid[16])
export const VM_CREATION_VM_FLAG = 24; // u64
export const VM_CREATION_IOREQ_BUF = 32; // u64 (used by the HSM, not the hypervisor)
export const VM_CREATION_CPU_AFFINITY = 40; // u64
export const MAX_VM_NAME_LEN = 16;

/** Guest flags (acrn_common.h GUEST_FLAG_*). */
export const GUEST_FLAG_SECURE_WORLD_ENABLED = 1 << 0;
export const GUEST_FLAG_LAPIC_PASSTHROUGH = 1 << 1;
export const GUEST_FLAG_IO_COMPLETION_POLLING = 1 << 2;
export const GUEST_FLAG_HIDE_MTRR = 1 << 3;
export const GUEST_FLAG_RT = 1 << 4;
export const GUEST_FLAG_NVMX_ENABLED = 1 << 5;
export const GUEST_FLAG_SECURITY_VM = 1 << 6;
export const GUEST_FLAG_VCAT_ENABLED = 1 << 7;
export const GUEST_FLAG_STATIC_VM = 1 << 8;
export const GUEST_FLAG_TEE = 1 << 9;
export const GUEST_FLAG_REE = 1 << 10;
export const GUEST_FLAG_PMU_PASSTHROUGH = 1 << 11;

// ---- struct acrn_vcpu_regs (HC_SET_VCPU_REGS, 296 bytes) and struct acrn_regs (288) -------

export const VCPU_REGS_SIZE = 296;
export const VCPU_REGS_VCPU_ID = 0; // u16
export const VCPU_REGS_RESERVED = 2; // u16[3]
export const VCPU_REGS_REGS = 8; // struct acrn_regs

export const REGS_SIZE = 288;
export const REGS_GPRS = 0; // struct acrn_gp_regs: 16 x u64, rax rcx rdx rbx rsp rbp rsi rdi r8..r15
export const REGS_GDT = 128; // struct acrn_descriptor_ptr (packed, 16)
export const REGS_IDT = 144;
export const DESC_PTR_SIZE = 16;
export const DESC_PTR_LIMIT = 0; // u16
export const DESC_PTR_BASE = 2; // u64 (packed)
export const DESC_PTR_RESERVED = 10; // u16[3]
export const REGS_RIP = 160;
export const REGS_CS_BASE = 168;
export const REGS_CR0 = 176;
export const REGS_CR4 = 184;
export const REGS_CR3 = 192;
export const REGS_IA32_EFER = 200;
export const REGS_RFLAGS = 208;
export const REGS_RESERVED_64 = 216; // u64[4]
export const REGS_CS_AR = 248; // u32
export const REGS_CS_LIMIT = 252; // u32
export const REGS_RESERVED_32 = 256; // u32[3]
export const REGS_CS_SEL = 268; // u16 each, in this order:
export const REGS_SS_SEL = 270;
export const REGS_DS_SEL = 272;
export const REGS_ES_SEL = 274;
export const REGS_FS_SEL = 276;
export const REGS_GS_SEL = 278;
export const REGS_LDT_SEL = 280;
export const REGS_TR_SEL = 282;

/** Byte offset of GPR `index` (0 RAX .. 15 R15) in struct acrn_regs. */
export function abiGprOffset(index: number): number {
  return REGS_GPRS + index * 8;
}

// ---- struct acrn_msi_entry (HC_INJECT_MSI, 16 bytes) -------------------------------------

export const MSI_ENTRY_SIZE = 16;
export const MSI_ENTRY_ADDR = 0; // u64
export const MSI_ENTRY_DATA = 8; // u64

// ---- struct acrn_irqline_ops (HC_SET_IRQLINE, 8 bytes, passed by value in RSI) ------------

export const IRQLINE_OPS_SIZE = 8;
export const IRQLINE_OPS_GSI = 0; // u32: RSI bits 31:0
export const IRQLINE_OPS_OP = 4; // u32: RSI bits 63:32
export const GSI_SET_HIGH = 0;
export const GSI_SET_LOW = 1;
export const GSI_RAISING_PULSE = 2;
export const GSI_FALLING_PULSE = 3;

// ---- HC_SET_IOREQ_BUFFER: param2 = GPA of struct acrn_ioreq_buffer { u64 ioreq_buf } -------

export const IOREQ_BUFFER_SIZE = 8;
export const IOREQ_BUFFER_GPA = 0; // u64

/** struct acrn_io_request (256 bytes) and the 4 KiB buffer of 16 (acrn_common.h, uapi acrn.h). */
export const IO_REQUEST_SIZE = 256;
export const IO_REQUEST_MAX = 16;
export const IO_REQUEST_BUFFER_SIZE = 4096;
export const IO_REQUEST_TYPE = 0; // u32
export const IO_REQUEST_COMPLETION_POLLING = 4; // u32
export const IO_REQUEST_RESERVED0 = 8; // u32[14]
export const IO_REQUEST_REQS = 64; // union, 64 bytes
export const IO_REQUEST_RESERVED1 = 128; // u32
export const IO_REQUEST_KERNEL_HANDLED = 132; // i32
export const IO_REQUEST_PROCESSED = 136; // u32
export const IOREQ_STATE_PENDING = 0;
export const IOREQ_STATE_COMPLETE = 1;
export const IOREQ_STATE_PROCESSING = 2;
export const IOREQ_STATE_FREE = 3;
export const IOREQ_TYPE_PORTIO = 0;
export const IOREQ_TYPE_MMIO = 1;
export const IOREQ_TYPE_PCICFG = 2;
export const IOREQ_TYPE_WP = 3;
/** Request bodies at IO_REQUEST_REQS: pio {direction u32 @0, reserved @4, address u64 @8, size u64 @16, value u32 @24}. */
export const PIO_REQUEST_DIRECTION = 0;
export const PIO_REQUEST_ADDRESS = 8;
export const PIO_REQUEST_SIZE = 16;
export const PIO_REQUEST_VALUE = 24;
/** mmio {direction u32 @0, reserved @4, address u64 @8, size u64 @16, value u64 @24}. */
export const MMIO_REQUEST_VALUE = 24;
/** pci {direction u32 @0, reserved u32[3] @4, size i64 @16, value i32 @24, bus @28, dev @32, func @36, reg @40}. */
export const PCI_REQUEST_SIZE = 16;
export const PCI_REQUEST_VALUE = 24;
export const PCI_REQUEST_BUS = 28;
export const PCI_REQUEST_DEV = 32;
export const PCI_REQUEST_FUNC = 36;
export const PCI_REQUEST_REG = 40;

// ---- HC_VM_SET_MEMORY_REGIONS: struct set_regions (24) of struct vm_memory_region (32) ------
//   (Linux: vm_memory_region_batch {vmid u16, reserved u16[3], regions_num u32, regions_gpa u64}
//    and vm_memory_region_op {type, attr, user_vm_pa, service_vm_pa, size}: same bytes.)

export const SET_REGIONS_SIZE = 24;
export const SET_REGIONS_VMID = 0; // u16, relative
export const SET_REGIONS_RESERVED0 = 2; // u16
export const SET_REGIONS_RESERVED1 = 4; // u32
export const SET_REGIONS_MR_NUM = 8; // u32
export const SET_REGIONS_REGIONS_GPA = 16; // u64

export const MEM_REGION_SIZE = 32;
export const MEM_REGION_TYPE = 0; // u32
export const MEM_REGION_PROT = 4; // u32
export const MEM_REGION_GPA = 8; // u64, in the User VM
export const MEM_REGION_SERVICE_VM_GPA = 16; // u64
export const MEM_REGION_SIZE_FIELD = 24; // u64

export const MR_ADD = 0;
export const MR_DEL = 2;
export const MR_MODIFY = 3;

export const MEM_ACCESS_READ = 0x1;
export const MEM_ACCESS_WRITE = 0x2;
export const MEM_ACCESS_EXEC = 0x4;
export const MEM_ACCESS_RWX = 0x7;
export const MEM_ACCESS_RIGHT_MASK = 0x7;
export const MEM_TYPE_WB = 0x40;
export const MEM_TYPE_WT = 0x80;
export const MEM_TYPE_UC = 0x100;
export const MEM_TYPE_WC = 0x200;
export const MEM_TYPE_WP = 0x400;
export const MEM_TYPE_MASK = 0x7c0;

/** EPT R/W/X bits (ept.ts EPT_R 1, EPT_W 2, EPT_X 4) of a region's prot: the same three bits. */
export function abiProtToEptPerms(prot: number): number {
  return prot % 8;
}

/**
 * EPT memory type (SDM Vol. 3C 29.3.7: UC 0, WC 1, WT 4, WP 5, WB 6) of a
 * region's prot, in ACRN's order (hypercall.c add_vm_memory_region): WB,
 * else WT, else WC, else WP, else UC.
 */
export function abiProtToEptMemType(prot: number): number {
  const p = prot >>> 0;
  if ((p & MEM_TYPE_WB) !== 0) return 6;
  if ((p & MEM_TYPE_WT) !== 0) return 4;
  if ((p & MEM_TYPE_WC) !== 0) return 1;
  if ((p & MEM_TYPE_WP) !== 0) return 5;
  return 0;
}

/**
 * The shape checks of one vm_memory_region from its decoded fields (pure; the
 * conformance program runs it natively): gpa and size 4 KiB aligned, size not
 * 0, [gpa, gpa + size) below 2^48 (the EPT's reach, ept.ts EPT_GPA_LIMIT);
 * for MR_ADD also service_vm_gpa aligned with its range below 2^48. 0 or -EINVAL.
 * Addresses and size as hi:lo halves.
 */
export function abiRegionShape(type: number, gpaHi: number, gpaLo: number, svcHi: number, svcLo: number, sizeHi: number, sizeLo: number): number {
  const gpa = abiAddr(gpaHi, gpaLo);
  const size = abiAddr(sizeHi, sizeLo);
  if (gpa < 0 || size <= 0 || gpa % 4096 !== 0 || size % 4096 !== 0 || gpa + size > EPT_GPA_LIMIT) return -EINVAL;
  if (type !== MR_ADD) return 0;
  const src = abiAddr(svcHi, svcLo);
  if (src < 0 || src % 4096 !== 0 || src + size > EPT_GPA_LIMIT) return -EINVAL;
  return 0;
}

// ---- struct vm_gpa2hpa (HC_VM_GPA2HPA, 16 bytes) ---------------------------------------------

export const GPA2HPA_SIZE = 16;
export const GPA2HPA_GPA = 0; // u64, in
export const GPA2HPA_HPA = 8; // u64, out

// ---- HC_PM_GET_CPU_STATE: param1 = command, param2 = GPA of the answer -----------------------

export const PMCMD_VMID_SHIFT = 24; // bits 31:24: relative VM id
export const PMCMD_VCPUID_SHIFT = 16; // bits 23:16
export const PMCMD_STATE_NUM_SHIFT = 8; // bits 15:8
export const PMCMD_TYPE_MASK = 0xff; // bits 7:0
export const PMCMD_GET_PX_CNT = 0;
export const PMCMD_GET_PX_DATA = 1;
export const PMCMD_GET_CX_CNT = 2;
export const PMCMD_GET_CX_DATA = 3;
/** struct acrn_pstate_data: 6 x u64. */
export const PSTATE_DATA_SIZE = 48;
export const PSTATE_CORE_FREQUENCY = 0;
export const PSTATE_POWER = 8;
export const PSTATE_TRANSITION_LATENCY = 16;
export const PSTATE_BUS_MASTER_LATENCY = 24;
export const PSTATE_CONTROL = 32;
export const PSTATE_STATUS = 40;
/** struct acrn_cstate_data: cx_reg (acrn_acpi_generic_address, packed 12) @0, type u8 @12, latency u32 @16, power u64 @24. */
export const CSTATE_DATA_SIZE = 32;
export const CSTATE_CX_REG = 0;
export const CSTATE_TYPE = 12;
export const CSTATE_LATENCY = 16;
export const CSTATE_POWER = 24;
export const ACPI_GAS_SIZE = 12;
export const ACPI_GAS_SPACE_ID = 0;
export const ACPI_GAS_BIT_WIDTH = 1;
export const ACPI_GAS_BIT_OFFSET = 2;
export const ACPI_GAS_ACCESS_SIZE = 3;
export const ACPI_GAS_ADDRESS = 4;
/** The answer of PMCMD_GET_PX_CNT / PMCMD_GET_CX_CNT: one u8. */
export const PM_COUNT_SIZE = 1;

// ---- interrupt vectors (ACRN irq.h) -------------------------------------------------------

/** HYPERVISOR_CALLBACK_HSM_VECTOR: the upcall vector until HC_SET_CALLBACK_VECTOR changes it. */
export const HSM_DEFAULT_VECTOR = 0xf3;
/** HC_SET_CALLBACK_VECTOR accepts VECTOR_DYNAMIC_START..NR_MAX_VECTOR. */
export const VECTOR_DYNAMIC_START = 0x20;
export const NR_MAX_VECTOR = 0xff;

// ---- decoding and encoding in a hypervisor buffer ----------------------------------------

export function abiRd8(b: Uint8Array, off: number): number {
  return b[off];
}
export function abiRd16(b: Uint8Array, off: number): number {
  return b[off] + b[off + 1] * 0x100;
}
/** An unsigned u32 (no bitwise operator, so never negative). */
export function abiRd32(b: Uint8Array, off: number): number {
  return b[off] + b[off + 1] * 0x100 + b[off + 2] * 0x10000 + b[off + 3] * 0x1000000;
}
export function abiWr8(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
}
export function abiWr16(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
}
export function abiWr32(b: Uint8Array, off: number, v: number): void {
  const u = v >>> 0;
  b[off] = u & 0xff;
  b[off + 1] = (u >>> 8) & 0xff;
  b[off + 2] = (u >>> 16) & 0xff;
  b[off + 3] = (u >>> 24) & 0xff;
}
/** A u64 as hi:lo halves. */
export function abiWr64(b: Uint8Array, off: number, hiHalf: number, loHalf: number): void {
  abiWr32(b, off, loHalf);
  abiWr32(b, off + 4, hiHalf);
}
export function abiZero(b: Uint8Array, off: number, len: number): void {
  for (let i = 0; i < len; i++) {
    const at = off + i;
    b[at] = 0;
  }
}

/** Guest-physical addresses stay below 2^52: a high half at or above 2^20 is out of range. */
export const ABI_ADDR_HI_LIMIT = 0x100000;

/** hi:lo as one number, or -1 when it is 2^52 or more (no such guest-physical address). */
export function abiAddr(hiHalf: number, loHalf: number): number {
  if (!(hiHalf >= 0 && hiHalf < ABI_ADDR_HI_LIMIT)) return -1;
  return hiHalf * 4294967296 + loHalf;
}
