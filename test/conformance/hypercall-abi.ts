// Conformance: the hypercall ABI module (hv/dm-hypercall/abi.ts) compiled by
// the native pipeline must print what Node prints. It prints the table of
// every id, structure offset and size, each compared with the value written
// out from ACRN's acrn_common.h / acrn_hv_defs.h and Linux's uapi acrn.h (the
// same values test/unit/hypercall-abi.test.ts checks with gcc's offsetof);
// then the pure helpers on vectors: RAX encoding of results, relative VM ids,
// prot to EPT permissions and memory type, little-endian decoding and the
// masked encoding of structures in a buffer (B8, B9), addresses, and the
// region shape check; and finally runs them all again to show that none of
// them allocates.
import { heapUsed } from '../../arch/x86/intrinsics';
import * as A from '../../hv/dm-hypercall/abi';
import { UPCALL } from '../../hv/vm/ioreq';
import { HC_FLAGS, HC_HANDLERS, HC_PERMISSION, HC_TABLE_SIZE, HC_TARGET } from '../../hv/dm-hypercall/hypercall';
import type { Vcpu } from '../../hv/vm/vcpu';
import type { AcrnVm } from '../../hv/vm/vm';
import { LOG_INFO, log } from '../../hv/log';
import { capture, check, heapDelta, say } from './lib';

// [name, value in abi.ts, value from the headers]
const NAMES = [
  'HC_GET_API_VERSION', 'HC_SERVICE_VM_OFFLINE_CPU', 'HC_SET_CALLBACK_VECTOR', 'HC_CREATE_VM', 'HC_DESTROY_VM', 'HC_START_VM',
  'HC_PAUSE_VM', 'HC_CREATE_VCPU', 'HC_RESET_VM', 'HC_SET_VCPU_REGS', 'HC_INJECT_MSI', 'HC_VM_INTR_MONITOR', 'HC_SET_IRQLINE',
  'HC_SET_IOREQ_BUFFER', 'HC_NOTIFY_REQUEST_FINISH', 'HC_VM_GPA2HPA', 'HC_VM_SET_MEMORY_REGIONS', 'HC_GET_HW_INFO',
  'HC_PM_GET_CPU_STATE',
  'hc_api_version.minor_version', 'sizeof(hc_api_version)', 'acrn_hw_info.cpu_num', 'sizeof(acrn_hw_info)',
  'acrn_vm_creation.vmid', 'acrn_vm_creation.vcpu_num', 'acrn_vm_creation.name', 'acrn_vm_creation.vm_flag',
  'acrn_vm_creation.ioreq_buf', 'acrn_vm_creation.cpu_affinity', 'sizeof(acrn_vm_creation)',
  'acrn_vcpu_regs.vcpu_id', 'acrn_vcpu_regs.vcpu_regs', 'sizeof(acrn_vcpu_regs)',
  'acrn_regs.gprs', 'acrn_regs.gdt', 'acrn_regs.idt', 'acrn_descriptor_ptr.base', 'acrn_regs.rip', 'acrn_regs.cs_base',
  'acrn_regs.cr0', 'acrn_regs.cr4', 'acrn_regs.cr3', 'acrn_regs.ia32_efer', 'acrn_regs.rflags', 'acrn_regs.reserved_64',
  'acrn_regs.cs_ar', 'acrn_regs.cs_limit', 'acrn_regs.reserved_32', 'acrn_regs.cs_sel', 'acrn_regs.ss_sel', 'acrn_regs.ds_sel',
  'acrn_regs.es_sel', 'acrn_regs.fs_sel', 'acrn_regs.gs_sel', 'acrn_regs.ldt_sel', 'acrn_regs.tr_sel', 'sizeof(acrn_regs)',
  'acrn_msi_entry.msi_data', 'sizeof(acrn_msi_entry)', 'acrn_irqline_ops.op', 'sizeof(acrn_irqline_ops)',
  'sizeof(acrn_ioreq_buffer)', 'acrn_io_request.reqs', 'acrn_io_request.kernel_handled', 'acrn_io_request.processed',
  'sizeof(acrn_io_request)', 'set_regions.vmid', 'set_regions.mr_num', 'set_regions.regions_gpa', 'sizeof(set_regions)',
  'vm_memory_region.type', 'vm_memory_region.prot', 'vm_memory_region.gpa', 'vm_memory_region.service_vm_gpa',
  'vm_memory_region.size', 'sizeof(vm_memory_region)', 'vm_gpa2hpa.hpa', 'sizeof(vm_gpa2hpa)',
  'sizeof(acrn_pstate_data)', 'acrn_cstate_data.type', 'acrn_cstate_data.latency', 'acrn_cstate_data.power', 'sizeof(acrn_cstate_data)',
  'ENOTTY', 'EINVAL', 'ACRN_INVALID_VMID', 'MEM_TYPE_WB', 'MEM_TYPE_MASK', 'GUEST_FLAG_RT', 'HSM_DEFAULT_VECTOR',
];
const VALUES = [
  A.HC_GET_API_VERSION, A.HC_SERVICE_VM_OFFLINE_CPU, A.HC_SET_CALLBACK_VECTOR, A.HC_CREATE_VM, A.HC_DESTROY_VM, A.HC_START_VM,
  A.HC_PAUSE_VM, A.HC_CREATE_VCPU, A.HC_RESET_VM, A.HC_SET_VCPU_REGS, A.HC_INJECT_MSI, A.HC_VM_INTR_MONITOR, A.HC_SET_IRQLINE,
  A.HC_SET_IOREQ_BUFFER, A.HC_NOTIFY_REQUEST_FINISH, A.HC_VM_GPA2HPA, A.HC_VM_SET_MEMORY_REGIONS, A.HC_GET_HW_INFO,
  A.HC_PM_GET_CPU_STATE,
  A.API_VERSION_MINOR, A.API_VERSION_SIZE, A.HW_INFO_CPU_NUM, A.HW_INFO_SIZE,
  A.VM_CREATION_VMID, A.VM_CREATION_VCPU_NUM, A.VM_CREATION_NAME, A.VM_CREATION_VM_FLAG,
  A.VM_CREATION_IOREQ_BUF, A.VM_CREATION_CPU_AFFINITY, A.VM_CREATION_SIZE,
  A.VCPU_REGS_VCPU_ID, A.VCPU_REGS_REGS, A.VCPU_REGS_SIZE,
  A.REGS_GPRS, A.REGS_GDT, A.REGS_IDT, A.DESC_PTR_BASE, A.REGS_RIP, A.REGS_CS_BASE,
  A.REGS_CR0, A.REGS_CR4, A.REGS_CR3, A.REGS_IA32_EFER, A.REGS_RFLAGS, A.REGS_RESERVED_64,
  A.REGS_CS_AR, A.REGS_CS_LIMIT, A.REGS_RESERVED_32, A.REGS_CS_SEL, A.REGS_SS_SEL, A.REGS_DS_SEL,
  A.REGS_ES_SEL, A.REGS_FS_SEL, A.REGS_GS_SEL, A.REGS_LDT_SEL, A.REGS_TR_SEL, A.REGS_SIZE,
  A.MSI_ENTRY_DATA, A.MSI_ENTRY_SIZE, A.IRQLINE_OPS_OP, A.IRQLINE_OPS_SIZE,
  A.IOREQ_BUFFER_SIZE, A.IO_REQUEST_REQS, A.IO_REQUEST_KERNEL_HANDLED, A.IO_REQUEST_PROCESSED,
  A.IO_REQUEST_SIZE, A.SET_REGIONS_VMID, A.SET_REGIONS_MR_NUM, A.SET_REGIONS_REGIONS_GPA, A.SET_REGIONS_SIZE,
  A.MEM_REGION_TYPE, A.MEM_REGION_PROT, A.MEM_REGION_GPA, A.MEM_REGION_SERVICE_VM_GPA,
  A.MEM_REGION_SIZE_FIELD, A.MEM_REGION_SIZE, A.GPA2HPA_HPA, A.GPA2HPA_SIZE,
  A.PSTATE_DATA_SIZE, A.CSTATE_TYPE, A.CSTATE_LATENCY, A.CSTATE_POWER, A.CSTATE_DATA_SIZE,
  A.ENOTTY, A.EINVAL, A.ACRN_INVALID_VMID, A.MEM_TYPE_WB, A.MEM_TYPE_MASK, A.GUEST_FLAG_RT, A.HSM_DEFAULT_VECTOR,
];
// Written out from the headers (see the file comment).
const WANT = [
  0x80000000, 0x80000001, 0x80000002, 0x80000010, 0x80000011, 0x80000012,
  0x80000013, 0x80000014, 0x80000015, 0x80000016, 0x80000023, 0x80000024, 0x80000025,
  0x80000030, 0x80000031, 0x80000041, 0x80000042, 0x80000063,
  0x80000080,
  4, 8, 0, 8,
  0, 4, 8, 24,
  32, 40, 48,
  0, 8, 296,
  0, 128, 144, 2, 160, 168,
  176, 184, 192, 200, 208, 216,
  248, 252, 256, 268, 270, 272,
  274, 276, 278, 280, 282, 288,
  8, 16, 4, 8,
  8, 64, 132, 136,
  256, 0, 8, 16, 24,
  0, 4, 8, 16,
  24, 32, 8, 16,
  48, 12, 16, 24, 32,
  25, 22, 0xffff, 0x40, 0x7c0, 0x10, 0xf3,
];

function table(): void {
  say('hypercall ABI: name value (want)');
  let bad = 0;
  for (let i = 0; i < NAMES.length; i++) {
    log.begin(LOG_INFO);
    log.str(NAMES[i]);
    log.char(32);
    log.hex(VALUES[i]);
    if (VALUES[i] !== WANT[i]) {
      log.str(' MISMATCH want ');
      log.hex(WANT[i]);
      bad++;
    }
    log.end();
  }
  log.begin(LOG_INFO);
  log.str('layout entries: ');
  log.dec(NAMES.length);
  log.str(bad === 0 ? ': ok' : ' MISMATCH');
  log.end();
}

function startLine(): void {
  log.attach(capture);
  capture.reset();
  log.begin(LOG_INFO);
}

// [rc]: RAX hi lo.
const RAX_VECTORS = [0, 1, 0x7fffffff, -1, -12, -22, -25];
const RAX_WANT = ['0x0 0x0', '0x0 0x1', '0x0 0x7fffffff', '0xffffffff 0xffffffff', '0xffffffff 0xfffffff4', '0xffffffff 0xffffffea', '0xffffffff 0xffffffe7'];

// [service, rel]: absolute id, and back.
const VMID_VECTORS = [0, 1, 2, 1, 2, 0xffff, 1, 0x10000, 7, 3, 0, 0];
const VMID_WANT = ['1 1', '3 1', '1 65535', '1 0', '10 3', '0 0'];

// [prot]: perms memType.
const PROT_VECTORS = [0x47, 0x147, 0x81, 0x285, 0x603, 0x401, 0x100, 0, 0xffffffff, 0x7c7];
const PROT_WANT = ['7 6', '7 6', '1 4', '5 4', '3 1', '1 5', '0 0', '0 0', '7 6', '7 6'];

// [type, gpa, src, size] (values below 2^53): abiRegionShape.
const P52 = 4503599627370496;
const SHAPE_VECTORS = [
  A.MR_ADD, 0x1000, 0x2000, 0x1000,
  A.MR_ADD, 0x1800, 0x2000, 0x1000,
  A.MR_ADD, 0x1000, 0x2010, 0x1000,
  A.MR_ADD, 0x1000, 0x2000, 0,
  A.MR_DEL, 0x1000, 0x123, 0x1000,
  A.MR_DEL, 0x1000, 0, 0x1001,
  A.MR_ADD, 0xffffffff000, 0, 0x2000,
  A.MR_ADD, 0xfffffffff000, 0, 0x1000,
  A.MR_ADD, 0xfffffffff000, 0, 0x2000,
  A.MR_ADD, 0, P52, 0x1000,
  A.MR_MODIFY, P52, 0, 0x1000,
  7, 0x40000000, 0, 0x40000000,
];
const SHAPE_WANT = '0 -22 -22 -22 0 -22 0 0 -22 -22 -22 0';

function hiHalf(v: number): number {
  return Math.floor(v / 4294967296);
}
function loHalf(v: number): number {
  return v % 4294967296;
}

const buf = new Uint8Array(32);

function helpers(print: boolean): void {
  for (let i = 0; i < RAX_VECTORS.length; i++) {
    startLine();
    log.hex(A.abiRaxHi(RAX_VECTORS[i]));
    log.char(32);
    log.hex(A.abiRaxLo(RAX_VECTORS[i]));
    if (print) check('rax', i, RAX_WANT[i]);
  }
  for (let i = 0; i < VMID_WANT.length; i++) {
    const svc = VMID_VECTORS[i * 2];
    const abs = A.abiRelToAbsVmid(svc, VMID_VECTORS[i * 2 + 1]);
    startLine();
    log.dec(abs);
    log.char(32);
    log.dec(A.abiAbsToRelVmid(svc, abs));
    if (print) check('vmid', i, VMID_WANT[i]);
  }
  for (let i = 0; i < PROT_VECTORS.length; i++) {
    startLine();
    log.dec(A.abiProtToEptPerms(PROT_VECTORS[i]));
    log.char(32);
    log.dec(A.abiProtToEptMemType(PROT_VECTORS[i]));
    if (print) check('prot', i, PROT_WANT[i]);
  }
  // Encoding: every store masked (B9: an unmasked store saturates natively), decoding unsigned (B8).
  A.abiZero(buf, 0, 32);
  A.abiWr16(buf, 0, 0x1abcd);
  A.abiWr32(buf, 2, -1);
  A.abiWr64(buf, 6, 0x89abcdef, 0xfedcba98);
  A.abiWr8(buf, 14, 0x1ff);
  A.abiWr32(buf, 16, 0x80000001);
  startLine();
  log.hex(A.abiRd16(buf, 0));
  log.char(32);
  log.hex(A.abiRd32(buf, 2));
  log.char(32);
  log.hex(A.abiRd32(buf, 6));
  log.char(32);
  log.hex(A.abiRd32(buf, 10));
  log.char(32);
  log.hex(A.abiRd8(buf, 14));
  log.char(32);
  log.hex(A.abiRd32(buf, 16));
  log.char(32);
  log.dec(A.abiRd32(buf, 16) >= 0x80000000 ? 1 : 0);
  if (print) check('bytes', 0, '0xabcd 0xffffffff 0xfedcba98 0x89abcdef 0xff 0x80000001 1');
  startLine();
  log.dec(A.abiAddr(0, 0x1000));
  log.char(32);
  log.dec(A.abiAddr(0xfffff, 0xfffff000));
  log.char(32);
  log.dec(A.abiAddr(0x100000, 0));
  log.char(32);
  log.dec(A.abiAddr(0xffffffff, 0xffffffff));
  if (print) check('addr', 0, '4096 4503599627366400 -1 -1');
  startLine();
  for (let i = 0; i < SHAPE_VECTORS.length / 4; i++) {
    const v = i * 4;
    if (i > 0) log.char(32);
    const gpa = SHAPE_VECTORS[v + 1];
    const src = SHAPE_VECTORS[v + 2];
    const size = SHAPE_VECTORS[v + 3];
    const rc = A.abiRegionShape(SHAPE_VECTORS[v], hiHalf(gpa), loHalf(gpa), hiHalf(src), loHalf(src), hiHalf(size), loHalf(size));
    if (rc < 0) log.char(45);
    log.dec(rc < 0 ? -rc : rc);
  }
  if (print) check('shape', 0, SHAPE_WANT);
}

/**
 * The dispatch table (hypercall.ts, built at init with every handler, so the
 * whole hypercall layer goes through the native pipeline): per permitted slot
 * "index:target/flags".
 */
const DISPATCH_WANT = '0:1/0 1:1/0 2:1/0 16:3/1 17:2/0 18:2/0 19:2/0 20:2/0 21:2/1 22:2/0 35:2/0 37:2/0 48:2/0 49:2/0 65:2/0 66:3/0 99:1/0 128:3/0';

function dispatchTable(): void {
  startLine();
  let first = true;
  for (let n = 0; n < HC_TABLE_SIZE; n++) {
    if (HC_PERMISSION[n] === 0) continue;
    if (!first) log.char(32);
    first = false;
    log.dec(n);
    log.char(58);
    log.dec(HC_TARGET[n]);
    log.char(47);
    log.dec(HC_FLAGS[n]);
  }
  check('dispatch', 0, DISPATCH_WANT);
}

// Handlers that touch neither the caller nor the target, called through the
// table as the dispatcher calls them (an indirect call with six arguments).
const NO_VCPU = {} as Vcpu;
const NO_VM = {} as AcrnVm;
const CALL_VECTORS = [2, 0, 0x40, 2, 0, 0x1f, 2, 0, 0x100, 2, 1, 0x40, 2, 0, 0xff, 0x14, 0, 0, 0x24, 0, 0, 0xff, 0, 0];
const CALL_WANT = '0 -22 -22 -22 0 0 -25 -25 vector 0xff';

function indirectCalls(): void {
  startLine();
  for (let i = 0; i < CALL_VECTORS.length / 3; i++) {
    const v = i * 3;
    if (i > 0) log.char(32);
    log.dec(HC_HANDLERS[CALL_VECTORS[v]](NO_VCPU, NO_VM, CALL_VECTORS[v + 1], CALL_VECTORS[v + 2], 0, 0));
  }
  log.str(' vector ');
  log.hex(UPCALL.vector);
  check('handlers', 0, CALL_WANT);
}

log.attach(capture);
table();
dispatchTable();
indirectCalls();
helpers(true);
const before = heapUsed();
for (let round = 0; round < 200; round++) helpers(false);
heapDelta('the ABI helpers', before);
say('hypercall-abi: done');
