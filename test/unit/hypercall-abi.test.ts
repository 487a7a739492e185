// Layout of every hypercall structure (hv/dm-hypercall/abi.ts), checked three ways:
//   1. against offsets written out by hand below from the headers:
//      ACRN hypervisor/include/public/acrn_common.h (acrn_vm_creation with
//      name[16], acrn_regs, acrn_vcpu_regs, acrn_irqline_ops, acrn_msi_entry,
//      acrn_io_request, acrn_cstate_data, acrn_pstate_data),
//      ACRN hypervisor/include/public/acrn_hv_defs.h (vm_memory_region,
//      set_regions, vm_gpa2hpa, acrn_hw_info, hc_api_version, ids, MEM_*),
//      Linux include/uapi/linux/acrn.h and drivers/virt/acrn/acrn_drv.h,
//      drivers/virt/acrn/hypercall.h (the HSM's view: vm_memory_region_batch,
//      vm_memory_region_op, acrn_ioreq_buffer, ids);
//   2. against gcc's offsetof() on this machine's <linux/acrn.h> (the uapi
//      header the HSM is built with) and on the ACRN-only structures declared
//      as acrn_hv_defs.h declares them (skipped without gcc or the header);
//   3. the pure helpers: RAX encoding, relative VM ids, prot decoding.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as A from '../../hv/dm-hypercall/abi';

// [constant, value written out from the headers, "struct.field"]
const OFFSETS: [number, number, string][] = [
  // hc_api_version (acrn_hv_defs.h): u32 major_version, u32 minor_version
  [A.API_VERSION_MAJOR, 0, 'hc_api_version.major_version'], [A.API_VERSION_MINOR, 4, 'hc_api_version.minor_version'],
  [A.API_VERSION_SIZE, 8, 'sizeof(hc_api_version)'],
  // acrn_hw_info (acrn_hv_defs.h): u16 cpu_num, u16 reserved[3]
  [A.HW_INFO_CPU_NUM, 0, 'acrn_hw_info.cpu_num'], [A.HW_INFO_RESERVED, 2, 'acrn_hw_info.reserved'], [A.HW_INFO_SIZE, 8, 'sizeof(acrn_hw_info)'],
  // acrn_vm_creation (acrn_common.h; uapi acrn.h with uuid for name)
  [A.VM_CREATION_VMID, 0, 'acrn_vm_creation.vmid'], [A.VM_CREATION_RESERVED0, 2, 'acrn_vm_creation.reserved0'],
  [A.VM_CREATION_VCPU_NUM, 4, 'acrn_vm_creation.vcpu_num'], [A.VM_CREATION_RESERVED1, 6, 'acrn_vm_creation.reserved1'],
  [A.VM_CREATION_NAME, 8, 'acrn_vm_creation.name'], [A.VM_CREATION_VM_FLAG, 24, 'acrn_vm_creation.vm_flag'],
  [A.VM_CREATION_IOREQ_BUF, 32, 'acrn_vm_creation.ioreq_buf'], [A.VM_CREATION_CPU_AFFINITY, 40, 'acrn_vm_creation.cpu_affinity'],
  [A.VM_CREATION_SIZE, 48, 'sizeof(acrn_vm_creation)'], [A.MAX_VM_NAME_LEN, 16, 'MAX_VM_NAME_LEN'],
  // acrn_vcpu_regs: u16 vcpu_id, u16 reserved[3], struct acrn_regs vcpu_regs
  [A.VCPU_REGS_VCPU_ID, 0, 'acrn_vcpu_regs.vcpu_id'], [A.VCPU_REGS_RESERVED, 2, 'acrn_vcpu_regs.reserved'],
  [A.VCPU_REGS_REGS, 8, 'acrn_vcpu_regs.vcpu_regs'], [A.VCPU_REGS_SIZE, 296, 'sizeof(acrn_vcpu_regs)'],
  // acrn_regs: gprs (16 x u64), gdt/idt (packed acrn_descriptor_ptr: u16 limit, u64 base, u16 reserved[3]), ...
  [A.REGS_GPRS, 0, 'acrn_regs.gprs'], [A.REGS_GDT, 128, 'acrn_regs.gdt'], [A.REGS_IDT, 144, 'acrn_regs.idt'],
  [A.DESC_PTR_LIMIT, 0, 'acrn_descriptor_ptr.limit'], [A.DESC_PTR_BASE, 2, 'acrn_descriptor_ptr.base'],
  [A.DESC_PTR_RESERVED, 10, 'acrn_descriptor_ptr.reserved'], [A.DESC_PTR_SIZE, 16, 'sizeof(acrn_descriptor_ptr)'],
  [A.REGS_RIP, 160, 'acrn_regs.rip'], [A.REGS_CS_BASE, 168, 'acrn_regs.cs_base'], [A.REGS_CR0, 176, 'acrn_regs.cr0'],
  [A.REGS_CR4, 184, 'acrn_regs.cr4'], [A.REGS_CR3, 192, 'acrn_regs.cr3'], [A.REGS_IA32_EFER, 200, 'acrn_regs.ia32_efer'],
  [A.REGS_RFLAGS, 208, 'acrn_regs.rflags'], [A.REGS_RESERVED_64, 216, 'acrn_regs.reserved_64'],
  [A.REGS_CS_AR, 248, 'acrn_regs.cs_ar'], [A.REGS_CS_LIMIT, 252, 'acrn_regs.cs_limit'], [A.REGS_RESERVED_32, 256, 'acrn_regs.reserved_32'],
  [A.REGS_CS_SEL, 268, 'acrn_regs.cs_sel'], [A.REGS_SS_SEL, 270, 'acrn_regs.ss_sel'], [A.REGS_DS_SEL, 272, 'acrn_regs.ds_sel'],
  [A.REGS_ES_SEL, 274, 'acrn_regs.es_sel'], [A.REGS_FS_SEL, 276, 'acrn_regs.fs_sel'], [A.REGS_GS_SEL, 278, 'acrn_regs.gs_sel'],
  [A.REGS_LDT_SEL, 280, 'acrn_regs.ldt_sel'], [A.REGS_TR_SEL, 282, 'acrn_regs.tr_sel'], [A.REGS_SIZE, 288, 'sizeof(acrn_regs)'],
  // acrn_msi_entry: u64 msi_addr, u64 msi_data
  [A.MSI_ENTRY_ADDR, 0, 'acrn_msi_entry.msi_addr'], [A.MSI_ENTRY_DATA, 8, 'acrn_msi_entry.msi_data'], [A.MSI_ENTRY_SIZE, 16, 'sizeof(acrn_msi_entry)'],
  // acrn_irqline_ops: u32 gsi, u32 op
  [A.IRQLINE_OPS_GSI, 0, 'acrn_irqline_ops.gsi'], [A.IRQLINE_OPS_OP, 4, 'acrn_irqline_ops.op'], [A.IRQLINE_OPS_SIZE, 8, 'sizeof(acrn_irqline_ops)'],
  // acrn_ioreq_buffer (acrn_drv.h): u64 ioreq_buf
  [A.IOREQ_BUFFER_GPA, 0, 'acrn_ioreq_buffer.ioreq_buf'], [A.IOREQ_BUFFER_SIZE, 8, 'sizeof(acrn_ioreq_buffer)'],
  // acrn_io_request: type, completion_polling, reserved0[14], reqs @64, reserved1, kernel_handled, processed; aligned(256)
  [A.IO_REQUEST_TYPE, 0, 'acrn_io_request.type'], [A.IO_REQUEST_COMPLETION_POLLING, 4, 'acrn_io_request.completion_polling'],
  [A.IO_REQUEST_RESERVED0, 8, 'acrn_io_request.reserved0'], [A.IO_REQUEST_REQS, 64, 'acrn_io_request.reqs'],
  [A.IO_REQUEST_RESERVED1, 128, 'acrn_io_request.reserved1'], [A.IO_REQUEST_KERNEL_HANDLED, 132, 'acrn_io_request.kernel_handled'],
  [A.IO_REQUEST_PROCESSED, 136, 'acrn_io_request.processed'], [A.IO_REQUEST_SIZE, 256, 'sizeof(acrn_io_request)'],
  [A.IO_REQUEST_BUFFER_SIZE, 4096, 'sizeof(acrn_io_request_buffer)'], [A.IO_REQUEST_MAX, 16, 'ACRN_IO_REQUEST_MAX'],
  [A.PIO_REQUEST_DIRECTION, 0, 'acrn_pio_request.direction'], [A.PIO_REQUEST_ADDRESS, 8, 'acrn_pio_request.address'],
  [A.PIO_REQUEST_SIZE, 16, 'acrn_pio_request.size'], [A.PIO_REQUEST_VALUE, 24, 'acrn_pio_request.value'],
  [A.MMIO_REQUEST_VALUE, 24, 'acrn_mmio_request.value'], [A.PCI_REQUEST_SIZE, 16, 'acrn_pci_request.size'],
  [A.PCI_REQUEST_VALUE, 24, 'acrn_pci_request.value'], [A.PCI_REQUEST_BUS, 28, 'acrn_pci_request.bus'],
  [A.PCI_REQUEST_DEV, 32, 'acrn_pci_request.dev'], [A.PCI_REQUEST_FUNC, 36, 'acrn_pci_request.func'], [A.PCI_REQUEST_REG, 40, 'acrn_pci_request.reg'],
  // set_regions (acrn_hv_defs.h): u16 vmid, u16 reserved0, u32 reserved1, u32 mr_num, u64 regions_gpa
  [A.SET_REGIONS_VMID, 0, 'set_regions.vmid'], [A.SET_REGIONS_RESERVED0, 2, 'set_regions.reserved0'],
  [A.SET_REGIONS_RESERVED1, 4, 'set_regions.reserved1'], [A.SET_REGIONS_MR_NUM, 8, 'set_regions.mr_num'],
  [A.SET_REGIONS_REGIONS_GPA, 16, 'set_regions.regions_gpa'], [A.SET_REGIONS_SIZE, 24, 'sizeof(set_regions)'],
  // vm_memory_region: u32 type, u32 prot, u64 gpa, u64 service_vm_gpa, u64 size
  [A.MEM_REGION_TYPE, 0, 'vm_memory_region.type'], [A.MEM_REGION_PROT, 4, 'vm_memory_region.prot'],
  [A.MEM_REGION_GPA, 8, 'vm_memory_region.gpa'], [A.MEM_REGION_SERVICE_VM_GPA, 16, 'vm_memory_region.service_vm_gpa'],
  [A.MEM_REGION_SIZE_FIELD, 24, 'vm_memory_region.size'], [A.MEM_REGION_SIZE, 32, 'sizeof(vm_memory_region)'],
  // vm_gpa2hpa: u64 gpa, u64 hpa
  [A.GPA2HPA_GPA, 0, 'vm_gpa2hpa.gpa'], [A.GPA2HPA_HPA, 8, 'vm_gpa2hpa.hpa'], [A.GPA2HPA_SIZE, 16, 'sizeof(vm_gpa2hpa)'],
  // acrn_pstate_data: 6 x u64; acrn_cstate_data: packed acrn_acpi_generic_address (12), u8 type, u32 latency, u64 power
  [A.PSTATE_CORE_FREQUENCY, 0, 'acrn_pstate_data.core_frequency'], [A.PSTATE_POWER, 8, 'acrn_pstate_data.power'],
  [A.PSTATE_TRANSITION_LATENCY, 16, 'acrn_pstate_data.transition_latency'], [A.PSTATE_BUS_MASTER_LATENCY, 24, 'acrn_pstate_data.bus_master_latency'],
  [A.PSTATE_CONTROL, 32, 'acrn_pstate_data.control'], [A.PSTATE_STATUS, 40, 'acrn_pstate_data.status'], [A.PSTATE_DATA_SIZE, 48, 'sizeof(acrn_pstate_data)'],
  [A.CSTATE_CX_REG, 0, 'acrn_cstate_data.cx_reg'], [A.CSTATE_TYPE, 12, 'acrn_cstate_data.type'], [A.CSTATE_LATENCY, 16, 'acrn_cstate_data.latency'],
  [A.CSTATE_POWER, 24, 'acrn_cstate_data.power'], [A.CSTATE_DATA_SIZE, 32, 'sizeof(acrn_cstate_data)'],
  [A.ACPI_GAS_SPACE_ID, 0, 'acrn_acpi_generic_address.space_id'], [A.ACPI_GAS_BIT_WIDTH, 1, 'acrn_acpi_generic_address.bit_width'],
  [A.ACPI_GAS_BIT_OFFSET, 2, 'acrn_acpi_generic_address.bit_offset'], [A.ACPI_GAS_ACCESS_SIZE, 3, 'acrn_acpi_generic_address.access_size'],
  [A.ACPI_GAS_ADDRESS, 4, 'acrn_acpi_generic_address.address'], [A.ACPI_GAS_SIZE, 12, 'sizeof(acrn_acpi_generic_address)'],
];

// [constant, value, name]: ids (acrn_hv_defs.h BASE_HC_ID(0x80, n); the HSM's hypercall.h agrees), flags, errno.
const VALUES: [number, number, string][] = [
  [A.HC_GET_API_VERSION, 0x80000000, 'HC_GET_API_VERSION'], [A.HC_SERVICE_VM_OFFLINE_CPU, 0x80000001, 'HC_SERVICE_VM_OFFLINE_CPU'],
  [A.HC_SET_CALLBACK_VECTOR, 0x80000002, 'HC_SET_CALLBACK_VECTOR'], [A.HC_CREATE_VM, 0x80000010, 'HC_CREATE_VM'],
  [A.HC_DESTROY_VM, 0x80000011, 'HC_DESTROY_VM'], [A.HC_START_VM, 0x80000012, 'HC_START_VM'], [A.HC_PAUSE_VM, 0x80000013, 'HC_PAUSE_VM'],
  [A.HC_CREATE_VCPU, 0x80000014, 'HC_CREATE_VCPU'], [A.HC_RESET_VM, 0x80000015, 'HC_RESET_VM'], [A.HC_SET_VCPU_REGS, 0x80000016, 'HC_SET_VCPU_REGS'],
  [A.HC_INJECT_MSI, 0x80000023, 'HC_INJECT_MSI'], [A.HC_VM_INTR_MONITOR, 0x80000024, 'HC_VM_INTR_MONITOR'], [A.HC_SET_IRQLINE, 0x80000025, 'HC_SET_IRQLINE'],
  [A.HC_SET_IOREQ_BUFFER, 0x80000030, 'HC_SET_IOREQ_BUFFER'], [A.HC_NOTIFY_REQUEST_FINISH, 0x80000031, 'HC_NOTIFY_REQUEST_FINISH'],
  [A.HC_VM_GPA2HPA, 0x80000041, 'HC_VM_GPA2HPA'], [A.HC_VM_SET_MEMORY_REGIONS, 0x80000042, 'HC_VM_SET_MEMORY_REGIONS'],
  [A.HC_VM_WRITE_PROTECT_PAGE, 0x80000043, 'HC_VM_WRITE_PROTECT_PAGE'], [A.HC_SET_PTDEV_INTR_INFO, 0x80000053, 'HC_SET_PTDEV_INTR_INFO'],
  [A.HC_RESET_PTDEV_INTR_INFO, 0x80000054, 'HC_RESET_PTDEV_INTR_INFO'], [A.HC_ASSIGN_PCIDEV, 0x80000055, 'HC_ASSIGN_PCIDEV'],
  [A.HC_DEASSIGN_PCIDEV, 0x80000056, 'HC_DEASSIGN_PCIDEV'], [A.HC_ASSIGN_MMIODEV, 0x80000057, 'HC_ASSIGN_MMIODEV'],
  [A.HC_DEASSIGN_MMIODEV, 0x80000058, 'HC_DEASSIGN_MMIODEV'], [A.HC_ADD_VDEV, 0x80000059, 'HC_ADD_VDEV'], [A.HC_REMOVE_VDEV, 0x8000005a, 'HC_REMOVE_VDEV'],
  [A.HC_GET_HW_INFO, 0x80000063, 'HC_GET_HW_INFO'], [A.HC_PM_GET_CPU_STATE, 0x80000080, 'HC_PM_GET_CPU_STATE'],
  [A.ENOTTY, 25, 'ENOTTY'], [A.EINVAL, 22, 'EINVAL'], [A.ENOMEM, 12, 'ENOMEM'], [A.ACRN_INVALID_VMID, 0xffff, 'ACRN_INVALID_VMID'],
  [A.MR_ADD, 0, 'MR_ADD'], [A.MR_DEL, 2, 'MR_DEL'], [A.MR_MODIFY, 3, 'MR_MODIFY'],
  [A.MEM_ACCESS_READ, 1, 'MEM_ACCESS_READ'], [A.MEM_ACCESS_WRITE, 2, 'MEM_ACCESS_WRITE'], [A.MEM_ACCESS_EXEC, 4, 'MEM_ACCESS_EXEC'],
  [A.MEM_TYPE_WB, 0x40, 'MEM_TYPE_WB'], [A.MEM_TYPE_WT, 0x80, 'MEM_TYPE_WT'], [A.MEM_TYPE_UC, 0x100, 'MEM_TYPE_UC'],
  [A.MEM_TYPE_WC, 0x200, 'MEM_TYPE_WC'], [A.MEM_TYPE_WP, 0x400, 'MEM_TYPE_WP'], [A.MEM_TYPE_MASK, 0x7c0, 'MEM_TYPE_MASK'],
  [A.GSI_SET_HIGH, 0, 'GSI_SET_HIGH'], [A.GSI_SET_LOW, 1, 'GSI_SET_LOW'], [A.GSI_RAISING_PULSE, 2, 'GSI_RAISING_PULSE'], [A.GSI_FALLING_PULSE, 3, 'GSI_FALLING_PULSE'],
  [A.IOREQ_STATE_PENDING, 0, 'ACRN_IOREQ_STATE_PENDING'], [A.IOREQ_STATE_COMPLETE, 1, 'ACRN_IOREQ_STATE_COMPLETE'],
  [A.IOREQ_STATE_PROCESSING, 2, 'ACRN_IOREQ_STATE_PROCESSING'], [A.IOREQ_STATE_FREE, 3, 'ACRN_IOREQ_STATE_FREE'],
  [A.GUEST_FLAG_SECURE_WORLD_ENABLED, 1, 'GUEST_FLAG_SECURE_WORLD_ENABLED'], [A.GUEST_FLAG_LAPIC_PASSTHROUGH, 2, 'GUEST_FLAG_LAPIC_PASSTHROUGH'],
  [A.GUEST_FLAG_IO_COMPLETION_POLLING, 4, 'GUEST_FLAG_IO_COMPLETION_POLLING'], [A.GUEST_FLAG_RT, 16, 'GUEST_FLAG_RT'],
  [A.PMCMD_VMID_SHIFT, 24, 'PMCMD_VMID_SHIFT'], [A.PMCMD_TYPE_MASK, 0xff, 'PMCMD_TYPE_MASK'], [A.PMCMD_GET_CX_CNT, 2, 'ACRN_PMCMD_GET_CX_CNT'],
  [A.HSM_DEFAULT_VECTOR, 0xf3, 'HYPERVISOR_CALLBACK_HSM_VECTOR'], [A.VECTOR_DYNAMIC_START, 0x20, 'VECTOR_DYNAMIC_START'],
  [A.HV_API_MAJOR_VERSION, 1, 'HV_API_MAJOR_VERSION'], [A.HV_API_MINOR_VERSION, 0, 'HV_API_MINOR_VERSION'],
];

describe('hypercall ABI constants, written out from the headers', () => {
  for (const [value, want, name] of OFFSETS) {
    it(`${name} is ${want}`, () => expect(value).toBe(want));
  }
  for (const [value, want, name] of VALUES) {
    it(`${name} is 0x${want.toString(16)}`, () => expect(value).toBe(want));
  }

  it('the 16 GPR slots of acrn_regs are 8 bytes apart, rax first (acrn_gp_regs order)', () => {
    for (let i = 0; i < 16; i++) expect(A.abiGprOffset(i)).toBe(i * 8);
  });
});

// ---- the compiler's view -------------------------------------------------------------------

const UAPI = '/usr/include/linux/acrn.h';
function gccAvailable(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return fs.existsSync(UAPI);
  } catch {
    return false;
  }
}

// The ACRN-only structures, declared as acrn_hv_defs.h / acrn_common.h / acrn_drv.h declare them.
const ACRN_ONLY = `
#include <stdint.h>
struct hc_api_version { uint32_t major_version; uint32_t minor_version; } __attribute__((aligned(8)));
struct acrn_hw_info { uint16_t cpu_num; uint16_t reserved[3]; } __attribute__((aligned(8)));
struct vm_memory_region { uint32_t type; uint32_t prot; uint64_t gpa; uint64_t service_vm_gpa; uint64_t size; } __attribute__((aligned(8)));
struct set_regions { uint16_t vmid; uint16_t reserved0; uint32_t reserved1; uint32_t mr_num; uint64_t regions_gpa; } __attribute__((aligned(8)));
struct vm_gpa2hpa { uint64_t gpa; uint64_t hpa; } __attribute__((aligned(8)));
struct acrn_irqline_ops { uint32_t gsi; uint32_t op; };
struct acrn_ioreq_buffer { uint64_t ioreq_buf; };
struct vm_memory_region_batch { uint16_t vmid; uint16_t reserved[3]; uint32_t regions_num; uint64_t regions_gpa; };
`;

const PROBES: [string, number][] = [
  ['sizeof(struct hc_api_version)', A.API_VERSION_SIZE], ['offsetof(struct hc_api_version, minor_version)', A.API_VERSION_MINOR],
  ['sizeof(struct acrn_hw_info)', A.HW_INFO_SIZE],
  ['sizeof(struct vm_memory_region)', A.MEM_REGION_SIZE], ['offsetof(struct vm_memory_region, prot)', A.MEM_REGION_PROT],
  ['offsetof(struct vm_memory_region, gpa)', A.MEM_REGION_GPA], ['offsetof(struct vm_memory_region, service_vm_gpa)', A.MEM_REGION_SERVICE_VM_GPA],
  ['offsetof(struct vm_memory_region, size)', A.MEM_REGION_SIZE_FIELD],
  ['sizeof(struct set_regions)', A.SET_REGIONS_SIZE], ['offsetof(struct set_regions, mr_num)', A.SET_REGIONS_MR_NUM],
  ['offsetof(struct set_regions, regions_gpa)', A.SET_REGIONS_REGIONS_GPA],
  ['sizeof(struct vm_memory_region_batch)', A.SET_REGIONS_SIZE], ['offsetof(struct vm_memory_region_batch, regions_num)', A.SET_REGIONS_MR_NUM],
  ['offsetof(struct vm_memory_region_batch, regions_gpa)', A.SET_REGIONS_REGIONS_GPA],
  ['sizeof(struct vm_gpa2hpa)', A.GPA2HPA_SIZE], ['offsetof(struct vm_gpa2hpa, hpa)', A.GPA2HPA_HPA],
  ['sizeof(struct acrn_irqline_ops)', A.IRQLINE_OPS_SIZE], ['offsetof(struct acrn_irqline_ops, op)', A.IRQLINE_OPS_OP],
  ['sizeof(struct acrn_ioreq_buffer)', A.IOREQ_BUFFER_SIZE],
  // uapi <linux/acrn.h>
  ['sizeof(struct acrn_vm_creation)', A.VM_CREATION_SIZE], ['offsetof(struct acrn_vm_creation, vcpu_num)', A.VM_CREATION_VCPU_NUM],
  ['offsetof(struct acrn_vm_creation, uuid)', A.VM_CREATION_NAME], ['offsetof(struct acrn_vm_creation, vm_flag)', A.VM_CREATION_VM_FLAG],
  ['offsetof(struct acrn_vm_creation, ioreq_buf)', A.VM_CREATION_IOREQ_BUF], ['offsetof(struct acrn_vm_creation, cpu_affinity)', A.VM_CREATION_CPU_AFFINITY],
  ['sizeof(struct acrn_vcpu_regs)', A.VCPU_REGS_SIZE], ['offsetof(struct acrn_vcpu_regs, vcpu_regs)', A.VCPU_REGS_REGS],
  ['sizeof(struct acrn_regs)', A.REGS_SIZE], ['offsetof(struct acrn_regs, gdt)', A.REGS_GDT], ['offsetof(struct acrn_regs, idt)', A.REGS_IDT],
  ['offsetof(struct acrn_regs, rip)', A.REGS_RIP], ['offsetof(struct acrn_regs, cs_base)', A.REGS_CS_BASE], ['offsetof(struct acrn_regs, cr0)', A.REGS_CR0],
  ['offsetof(struct acrn_regs, cr4)', A.REGS_CR4], ['offsetof(struct acrn_regs, cr3)', A.REGS_CR3], ['offsetof(struct acrn_regs, ia32_efer)', A.REGS_IA32_EFER],
  ['offsetof(struct acrn_regs, rflags)', A.REGS_RFLAGS], ['offsetof(struct acrn_regs, reserved_64)', A.REGS_RESERVED_64],
  ['offsetof(struct acrn_regs, cs_ar)', A.REGS_CS_AR], ['offsetof(struct acrn_regs, cs_limit)', A.REGS_CS_LIMIT],
  ['offsetof(struct acrn_regs, reserved_32)', A.REGS_RESERVED_32], ['offsetof(struct acrn_regs, cs_sel)', A.REGS_CS_SEL],
  ['offsetof(struct acrn_regs, ss_sel)', A.REGS_SS_SEL], ['offsetof(struct acrn_regs, ds_sel)', A.REGS_DS_SEL],
  ['offsetof(struct acrn_regs, es_sel)', A.REGS_ES_SEL], ['offsetof(struct acrn_regs, fs_sel)', A.REGS_FS_SEL],
  ['offsetof(struct acrn_regs, gs_sel)', A.REGS_GS_SEL], ['offsetof(struct acrn_regs, ldt_sel)', A.REGS_LDT_SEL],
  ['offsetof(struct acrn_regs, tr_sel)', A.REGS_TR_SEL],
  ['offsetof(struct acrn_regs, gprs.r15)', A.abiGprOffset(15)], ['offsetof(struct acrn_regs, gprs.rsp)', A.abiGprOffset(4)],
  ['sizeof(struct acrn_descriptor_ptr)', A.DESC_PTR_SIZE], ['offsetof(struct acrn_descriptor_ptr, base)', A.DESC_PTR_BASE],
  ['sizeof(struct acrn_msi_entry)', A.MSI_ENTRY_SIZE], ['offsetof(struct acrn_msi_entry, msi_data)', A.MSI_ENTRY_DATA],
  ['sizeof(struct acrn_io_request)', A.IO_REQUEST_SIZE], ['offsetof(struct acrn_io_request, reqs)', A.IO_REQUEST_REQS],
  ['offsetof(struct acrn_io_request, kernel_handled)', A.IO_REQUEST_KERNEL_HANDLED], ['offsetof(struct acrn_io_request, processed)', A.IO_REQUEST_PROCESSED],
  ['sizeof(struct acrn_io_request_buffer)', A.IO_REQUEST_BUFFER_SIZE],
  ['offsetof(struct acrn_pio_request, address)', A.PIO_REQUEST_ADDRESS], ['offsetof(struct acrn_pio_request, value)', A.PIO_REQUEST_VALUE],
  ['offsetof(struct acrn_mmio_request, value)', A.MMIO_REQUEST_VALUE], ['offsetof(struct acrn_pci_request, size)', A.PCI_REQUEST_SIZE],
  ['offsetof(struct acrn_pci_request, reg)', A.PCI_REQUEST_REG],
  ['sizeof(struct acrn_pstate_data)', A.PSTATE_DATA_SIZE], ['sizeof(struct acrn_cstate_data)', A.CSTATE_DATA_SIZE],
  ['offsetof(struct acrn_cstate_data, type)', A.CSTATE_TYPE], ['offsetof(struct acrn_cstate_data, latency)', A.CSTATE_LATENCY],
  ['offsetof(struct acrn_cstate_data, power)', A.CSTATE_POWER], ['sizeof(struct acrn_acpi_generic_address)', A.ACPI_GAS_SIZE],
  ['ACRN_IOREQ_STATE_FREE', A.IOREQ_STATE_FREE], ['ACRN_MEM_TYPE_WB', A.MEM_TYPE_WB], ['ACRN_MEM_TYPE_MASK', A.MEM_TYPE_MASK],
  ['ACRN_PMCMD_GET_CX_CNT', A.PMCMD_GET_CX_CNT], ['PMCMD_TYPE_MASK', A.PMCMD_TYPE_MASK],
];

describe.skipIf(!gccAvailable())('hypercall ABI against gcc and <linux/acrn.h>', () => {
  it('every offset and size the compiler computes matches abi.ts', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-abi-'));
    const src = path.join(dir, 'probe.c');
    const lines = PROBES.map(([expr]) => `  printf("%lu\\n", (unsigned long)(${expr}));`).join('\n');
    fs.writeFileSync(src, `#include <stdio.h>\n#include <stddef.h>\n#include <linux/acrn.h>\n${ACRN_ONLY}\nint main(void) {\n${lines}\n  return 0;\n}\n`);
    execFileSync('gcc', ['-o', path.join(dir, 'probe'), src]);
    const out = execFileSync(path.join(dir, 'probe')).toString().trim().split('\n').map(Number);
    const got = PROBES.map(([expr], i) => [expr, out[i]]);
    expect(got).toEqual(PROBES.map(([expr, want]) => [expr, want]));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('pure helpers', () => {
  it('RAX carries an int32 result sign-extended to 64 bits', () => {
    const cases: [number, number, number][] = [[0, 0, 0], [1, 0, 1], [-1, 0xffffffff, 0xffffffff], [-25, 0xffffffff, 0xffffffe7], [-22, 0xffffffff, 0xffffffea]];
    for (const [rc, hi, lo] of cases) expect([A.abiRaxHi(rc), A.abiRaxLo(rc)]).toEqual([hi, lo]);
  });

  it('relative VM ids wrap as uint16 (ACRN rel_vmid_2_vmid / vmid_2_rel_vmid)', () => {
    expect(A.abiRelToAbsVmid(0, 1)).toBe(1);
    expect(A.abiRelToAbsVmid(2, 1)).toBe(3);
    expect(A.abiRelToAbsVmid(2, 0xffff)).toBe(1);
    expect(A.abiRelToAbsVmid(1, 0x10000)).toBe(1);
    expect(A.abiAbsToRelVmid(2, 5)).toBe(3);
    expect(A.abiAbsToRelVmid(2, 1)).toBe(0xffff);
    for (let s = 0; s < 8; s++) for (let a = 0; a < 8; a++) expect(A.abiRelToAbsVmid(s, A.abiAbsToRelVmid(s, a))).toBe(a);
  });

  it('prot decodes to EPT permissions and memory type in ACRN order (WB > WT > WC > WP > UC)', () => {
    expect(A.abiProtToEptPerms(A.MEM_ACCESS_RWX | A.MEM_TYPE_WB)).toBe(7);
    expect(A.abiProtToEptPerms(A.MEM_ACCESS_READ | A.MEM_TYPE_UC)).toBe(1);
    expect(A.abiProtToEptMemType(A.MEM_TYPE_WB | A.MEM_TYPE_UC)).toBe(6);
    expect(A.abiProtToEptMemType(A.MEM_TYPE_WT | A.MEM_TYPE_WC)).toBe(4);
    expect(A.abiProtToEptMemType(A.MEM_TYPE_WC | A.MEM_TYPE_WP)).toBe(1);
    expect(A.abiProtToEptMemType(A.MEM_TYPE_WP)).toBe(5);
    expect(A.abiProtToEptMemType(A.MEM_TYPE_UC)).toBe(0);
    expect(A.abiProtToEptMemType(0)).toBe(0);
    expect(A.abiProtToEptMemType(0xffffffff)).toBe(6);
  });

  it('decoding and encoding in a buffer: little endian, unsigned, masked', () => {
    const b = new Uint8Array(16);
    A.abiWr64(b, 0, 0x89abcdef, 0x01234567);
    expect([...b.slice(0, 8)]).toEqual([0x67, 0x45, 0x23, 0x01, 0xef, 0xcd, 0xab, 0x89]);
    expect(A.abiRd32(b, 4)).toBe(0x89abcdef);
    expect(A.abiRd16(b, 6)).toBe(0x89ab);
    A.abiWr16(b, 8, 0x1ffff);
    expect(A.abiRd16(b, 8)).toBe(0xffff);
    A.abiWr32(b, 10, -1);
    expect(A.abiRd32(b, 10)).toBe(0xffffffff);
    A.abiZero(b, 0, 16);
    expect([...b]).toEqual(new Array(16).fill(0));
  });

  it('addresses at or above 2^52 are out of range', () => {
    expect(A.abiAddr(0, 0x1000)).toBe(0x1000);
    expect(A.abiAddr(0xfffff, 0xfffff000)).toBe(0xffffffffff000);
    expect(A.abiAddr(0x100000, 0)).toBe(-1);
    expect(A.abiAddr(0xffffffff, 0)).toBe(-1);
  });
});
