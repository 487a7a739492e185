// The software loader (ACRN's vm_sw_loader / vm_load.c): puts a VM's kernel,
// ramdisk and command line into its guest memory and sets the boot vCPU's
// entry state. Three kernel types (ACRN's enum os_kernel_type):
//
//   KERNEL_RAW64    a flat image copied to the request's load GPA, entered in
//                   64-bit mode at the given entry (default: the load GPA);
//                   RSI and RDI as the request says
//   KERNEL_ELF      an ELF64 executable (loader-elf.ts), entered in 64-bit mode
//   KERNEL_BZIMAGE  Linux's boot protocol (loader-bzimage.ts): zero page with
//                   the e820 table, command line, ramdisk; 64-bit entry
//                   (RIP = load + 0x200) or 32-bit (EIP = load), RSI = zero page
//
// 64-bit entries run on identity page tables of [0, 4 GiB) that the loader
// builds in the boot area (loader-plan.ts), with a GDT there too.
//
// Order of use from VM creation (the integrator's part):
//   1. create the VM, map its RAM in the EPT, build its e820 (e820.ts:
//      e820BuildPreLaunched from its memory regions, or e820BuildServiceVm);
//   2. fill a LoadRequest (kernel type, image/ramdisk/cmdline sources,
//      addresses from the scenario; for the Service VM, which sees host
//      memory identity mapped, add the GRUB modules' ranges with addAvoid);
//   3. loader.loadKernel(req, e820, vm.guestMem, vm.ept, info): checks
//      everything first (image headers against the image, every placement
//      against the e820 RAM, every destination page against the EPT) and
//      writes nothing when it refuses; fills `info` only on success;
//   4. after setupVmcs(bsp), with the BSP's VMCS current:
//      loaderSetEntryState(caps, bsp.ctxPa, info).
// Refusals are LOAD_E_* codes with a constant message (loaderErrorMessage)
// and plan.failValue; printLoadError logs both. Nothing allocates after the
// loader is constructed.
import { EPT_W, type Ept } from '../../arch/x86/ept';
import { poke64, vmwrite } from '../../arch/x86/intrinsics';
import { CTX_RBP, CTX_RBX, CTX_RDI, CTX_RSI } from '../../arch/x86/vcpu-ctx';
import {
  GUEST_CS_SELECTOR, GUEST_DS_SELECTOR, GUEST_ES_SELECTOR, GUEST_FS_SELECTOR, GUEST_GS_SELECTOR, GUEST_RSP,
  GUEST_SS_SELECTOR,
} from '../../arch/x86/vmcs';
import type { VmxCaps } from '../../arch/x86/vmx-caps';
import { LOG_ERROR, type Logger } from '../log';
import { hiOf, loOf } from '../u64';
import type { E820Table } from './e820';
import { COPY_OK, type GuestMemory } from './guest-copy';
import { setGuestDescriptorTables, setGuestLongMode64, setGuestProtected32 } from './guest-state';
import { bzBuildZeroPage, bzPlanCmdline, bzPlanKernel, bzPlanRamdisk } from './loader-bzimage';
import { elfPlan } from './loader-elf';
import type { ImageSource } from './loader-image';
import {
  BOOT_AREA_MIN, BOOT_AREA_SIZE, BOOT_CMDLINE_MAX, BOOT_CMDLINE_OFF, BOOT_GDT_LIMIT, BOOT_GDT_OFF,
  BOOT_PD_COUNT, BOOT_PD_OFF, BOOT_PDPT_OFF, BOOT_PML4_OFF, BOOT_STACK_TOP_OFF, BOOT_ZERO_PAGE_OFF, ENTRY_32, ENTRY_64,
  ENTRY_NONE, FOUR_GIB, KERNEL_BZIMAGE, KERNEL_ELF, KERNEL_RAW64, LINUX_ENTRY_AUTO, LOAD_E_ABOVE_4G, LOAD_E_AVOID,
  LOAD_E_BAD_REQUEST, LOAD_E_BOOT_AREA_BAD, LOAD_E_BOOT_AREA_NONE, LOAD_E_BOOT_AREA_OVERLAP, LOAD_E_COPY, LOAD_E_EMPTY,
  LOAD_E_ENTRY, LOAD_E_EPT, LOAD_E_KERNEL_TYPE, LOAD_E_NO_IMAGE, LOAD_E_RAW_RAM, LOAD_E_TOO_MANY, LOAD_OK, LoadPlan,
  MAX_AVOID, PAGE_SIZE, alignDown, bufFill, bufPut64, isAddress, loaderErrorMessage,
} from './loader-plan';

/** GDT descriptors (SDM Vol. 3A 3.4.5): flat 4 GiB, base 0, limit 0xFFFFF pages. */
const GDT_CODE64_HI = 0x00af9b00; // G, L, P, S, type 0xB (execute/read, accessed)
const GDT_CODE32_HI = 0x00cf9b00; // G, D, P, S, type 0xB
const GDT_DATA_HI = 0x00cf9300; // G, B, P, S, type 0x3 (read/write, accessed)
const GDT_FLAT_LO = 0x0000ffff;
/** Linux's __BOOT_CS and __BOOT_DS (boot.rst, 32-bit and 64-bit boot protocols). */
export const LINUX_BOOT_CS = 0x10;
export const LINUX_BOOT_DS = 0x18;
/** Page-table entry bits (SDM Vol. 3A 4.5): present, writable, page size. */
const PTE_P_RW = 0x3;
const PDE_2M = 0x83;
const TWO_MIB = 0x200000;
const ONE_GIB = 0x40000000;

/** What to load: the integrator fills one per VM from the scenario. */
export class LoadRequest {
  /** KERNEL_RAW64, KERNEL_ELF or KERNEL_BZIMAGE. */
  kernelType = 0;
  image: ImageSource | null = null;
  /** bzImage only; null or empty: no ramdisk. */
  ramdisk: ImageSource | null = null;
  /** bzImage only: the command line, without its NUL (it ends at the first NUL if it has one). */
  cmdline: ImageSource | null = null;
  /** raw64: where the image goes (required); bzImage: 0 lets the loader choose; elf: unused. */
  loadGpa = 0;
  /** raw64: the entry point, 0 = loadGpa. */
  entryGpa = 0;
  /** bzImage: where the ramdisk goes, 0 lets the loader choose. */
  ramdiskGpa = 0;
  /** Where the loader's page tables, GDT, zero page and command line go; 0 lets it choose. */
  bootAreaGpa = 0;
  /** raw64/elf: RSI, RDI and RSP at entry (RSP 0: the top of the boot area's 16 KiB stack). */
  rsi = 0;
  rdi = 0;
  rsp = 0;
  /** bzImage: LINUX_ENTRY_AUTO (64-bit when the kernel has it), LINUX_ENTRY_64 or LINUX_ENTRY_32. */
  linuxEntry = LINUX_ENTRY_AUTO;
  /** Guest-physical ranges nothing may be placed in (up to MAX_AVOID). */
  avoidCount = 0;
  readonly avoidBase = new Float64Array(MAX_AVOID);
  readonly avoidSize = new Float64Array(MAX_AVOID);

  reset(): void {
    this.kernelType = 0;
    this.image = null;
    this.ramdisk = null;
    this.cmdline = null;
    this.loadGpa = 0;
    this.entryGpa = 0;
    this.ramdiskGpa = 0;
    this.bootAreaGpa = 0;
    this.rsi = 0;
    this.rdi = 0;
    this.rsp = 0;
    this.linuxEntry = LINUX_ENTRY_AUTO;
    this.avoidCount = 0;
  }

  /** Keep [base, base + size) clear; false when the list is full. */
  addAvoid(base: number, size: number): boolean {
    const at = this.avoidCount;
    if (at >= MAX_AVOID) return false;
    this.avoidBase[at] = base;
    this.avoidSize[at] = size;
    this.avoidCount = at + 1;
    return true;
  }
}

/** The VM's loader information (ACRN's vm_sw_info): what was loaded where, and the entry state. */
export class LoadInfo {
  loaded = false;
  kernelType = 0;
  entryMode = ENTRY_NONE;
  entry = 0;
  /** Kernel footprint: lowest loaded GPA and the end of what it needs (bzImage: up to init_size). */
  kernelLoad = 0;
  kernelEnd = 0;
  ramdiskLoad = 0;
  ramdiskSize = 0;
  bootargsLoad = 0;
  /** Characters of the command line (a NUL follows them). */
  bootargsSize = 0;
  zeroPage = 0;
  bootArea = 0;
  cr3 = 0;
  gdtBase = 0;
  gdtLimit = 0;
  rsp = 0;
  rsi = 0;
  rdi = 0;

  clear(): void {
    this.loaded = false;
    this.kernelType = 0;
    this.entryMode = ENTRY_NONE;
    this.entry = 0;
    this.kernelLoad = 0;
    this.kernelEnd = 0;
    this.ramdiskLoad = 0;
    this.ramdiskSize = 0;
    this.bootargsLoad = 0;
    this.bootargsSize = 0;
    this.zeroPage = 0;
    this.bootArea = 0;
    this.cr3 = 0;
    this.gdtBase = 0;
    this.gdtLimit = 0;
    this.rsp = 0;
    this.rsi = 0;
    this.rdi = 0;
  }
}

/** Plans and performs loads; one per hypervisor (loads run one at a time). */
export class SwLoader {
  readonly plan = new LoadPlan();
  /** The last LOAD_* result. */
  lastError = LOAD_OK;
  /** One guest page on its way in (page tables, GDT, zero page, command line). */
  private readonly page = new Uint8Array(PAGE_SIZE);

  /**
   * Check a request against its image and the VM's e820 table and work out
   * every placement into `plan`, touching no guest memory and no VM state.
   * LOAD_OK or a LOAD_E_* code (plan.failValue says what was at fault).
   */
  planLoad(req: LoadRequest, e820: E820Table): number {
    const rc = this.planAll(req, e820);
    this.lastError = rc;
    return rc;
  }

  /**
   * planLoad, then check that every page it will write is mapped writable in
   * `ept`, then write guest memory through `mem` and fill `info`. On any
   * refusal nothing is written and `info` is left as it was.
   */
  loadKernel(req: LoadRequest, e820: E820Table, mem: GuestMemory, ept: Ept, info: LoadInfo): number {
    let rc = this.planAll(req, e820);
    if (rc === LOAD_OK) rc = this.checkWritable(ept, req);
    if (rc === LOAD_OK) rc = this.write(req, e820, mem);
    if (rc === LOAD_OK) this.commit(info);
    this.lastError = rc;
    return rc;
  }

  /** Log one line: `<what>: loader: <message> (<failValue>)`. */
  printLoadError(out: Logger, what: string, code: number): void {
    out.begin(LOG_ERROR);
    out.str(what);
    out.str(': loader: ');
    out.str(loaderErrorMessage(code));
    if (this.plan.failValue !== 0) {
      out.str(' (');
      out.hex(this.plan.failValue);
      out.str(')');
    }
    out.end();
  }

  // ---- planning ---------------------------------------------------------------------------

  private planAll(req: LoadRequest, e820: E820Table): number {
    const plan = this.plan;
    plan.reset();
    plan.kernelType = req.kernelType;
    if (!isAddress(req.loadGpa) || !isAddress(req.entryGpa) || !isAddress(req.ramdiskGpa) || !isAddress(req.bootAreaGpa)
      || !isAddress(req.rsi) || !isAddress(req.rdi) || !isAddress(req.rsp)) return LOAD_E_BAD_REQUEST;
    if (req.avoidCount > MAX_AVOID) return LOAD_E_TOO_MANY;
    for (let i = 0; i < req.avoidCount; i++) {
      const b = req.avoidBase[i];
      const s = req.avoidSize[i];
      if (!isAddress(b) || !isAddress(s)) return LOAD_E_BAD_REQUEST;
      if (s > 0 && !plan.addBusy(b, b + s)) return LOAD_E_TOO_MANY;
    }
    const src = req.image;
    if (src === null) return LOAD_E_NO_IMAGE;
    const kind = req.kernelType;
    if (kind !== KERNEL_RAW64 && kind !== KERNEL_ELF && kind !== KERNEL_BZIMAGE) {
      plan.failValue = kind;
      return LOAD_E_KERNEL_TYPE;
    }
    if (src.length() === 0) return LOAD_E_EMPTY;
    let rc = LOAD_OK;
    if (kind === KERNEL_RAW64) rc = this.planRaw(req, src, e820);
    else if (kind === KERNEL_ELF) rc = elfPlan(src, e820, plan);
    else rc = bzPlanKernel(src, e820, plan, req.linuxEntry, req.loadGpa);
    if (rc !== LOAD_OK) return rc;

    rc = this.placeBootArea(req, e820);
    if (rc !== LOAD_OK) return rc;
    const area = plan.bootArea;
    plan.gdtBase = area + BOOT_GDT_OFF;
    plan.rsp = area + BOOT_STACK_TOP_OFF;
    if (plan.entryMode === ENTRY_64) plan.cr3 = area + BOOT_PML4_OFF;
    if (kind !== KERNEL_BZIMAGE) {
      plan.entryMode = ENTRY_64;
      plan.cr3 = area + BOOT_PML4_OFF;
      if (req.rsp !== 0) plan.rsp = req.rsp;
      plan.rsi = req.rsi;
      plan.rdi = req.rdi;
      return LOAD_OK;
    }

    // Linux: zero page, command line, ramdisk.
    plan.zeroPage = area + BOOT_ZERO_PAGE_OFF;
    plan.rsi = plan.zeroPage;
    rc = bzPlanCmdline(plan, loaderCmdlineChars(req.cmdline), area + BOOT_CMDLINE_OFF);
    if (rc !== LOAD_OK) return rc;
    const rd = req.ramdisk;
    return bzPlanRamdisk(e820, plan, rd === null ? 0 : rd.length(), req.ramdiskGpa);
  }

  private planRaw(req: LoadRequest, src: ImageSource, e820: E820Table): number {
    const plan = this.plan;
    const len = src.length();
    const load = req.loadGpa;
    plan.failValue = load;
    if (!e820.isRam(load, len)) return LOAD_E_RAW_RAM;
    if (load + len > FOUR_GIB) return LOAD_E_ABOVE_4G;
    if (plan.busyOverlap(load, load + len) >= 0) return LOAD_E_AVOID;
    const entry = req.entryGpa !== 0 ? req.entryGpa : load;
    if (entry < load || entry >= load + len) {
      plan.failValue = entry;
      return LOAD_E_ENTRY;
    }
    plan.failValue = 0;
    plan.addSegment(0, len, load, len);
    plan.addBusy(load, load + len);
    plan.kernelLoad = load;
    plan.kernelEnd = load + len;
    plan.entry = entry;
    return LOAD_OK;
  }

  /** The boot area: the request's, checked, or the lowest fit at or above BOOT_AREA_MIN below 4 GiB. */
  private placeBootArea(req: LoadRequest, e820: E820Table): number {
    const plan = this.plan;
    let area = req.bootAreaGpa;
    if (area !== 0) {
      plan.failValue = area;
      if (area % PAGE_SIZE !== 0 || area + BOOT_AREA_SIZE > FOUR_GIB || !e820.isRam(area, BOOT_AREA_SIZE)) return LOAD_E_BOOT_AREA_BAD;
      if (plan.busyOverlap(area, area + BOOT_AREA_SIZE) >= 0) return LOAD_E_BOOT_AREA_OVERLAP;
      plan.failValue = 0;
    } else {
      area = plan.findLowest(e820, BOOT_AREA_SIZE, PAGE_SIZE, BOOT_AREA_MIN, FOUR_GIB);
      if (area < 0) return LOAD_E_BOOT_AREA_NONE;
    }
    plan.bootArea = area;
    plan.addBusy(area, area + BOOT_AREA_SIZE);
    return LOAD_OK;
  }

  // ---- writing ----------------------------------------------------------------------------

  /** Every page the write step touches must be mapped writable. */
  private checkWritable(ept: Ept, req: LoadRequest): number {
    const plan = this.plan;
    for (let i = 0; i < plan.segCount; i++) {
      if (!loaderEptWritable(ept, plan.segGpa[i], plan.segMem[i])) return this.eptFail(plan.segGpa[i]);
    }
    if (!loaderEptWritable(ept, plan.bootArea, BOOT_AREA_SIZE)) return this.eptFail(plan.bootArea);
    if (plan.ramdiskSize > 0 && !loaderEptWritable(ept, plan.ramdiskGpa, plan.ramdiskSize)) return this.eptFail(plan.ramdiskGpa);
    return req.image === null ? LOAD_E_NO_IMAGE : LOAD_OK;
  }

  private eptFail(gpa: number): number {
    this.plan.failValue = gpa;
    return LOAD_E_EPT;
  }

  private write(req: LoadRequest, e820: E820Table, mem: GuestMemory): number {
    const plan = this.plan;
    const src = req.image;
    if (src === null) return LOAD_E_NO_IMAGE;
    for (let i = 0; i < plan.segCount; i++) {
      const gpa = plan.segGpa[i];
      const file = plan.segFile[i];
      if (file > 0 && src.copyToGuest(mem, gpa, plan.segOffset[i], file) !== COPY_OK) return this.copyFail(gpa);
      if (!this.zeroGuest(mem, gpa + file, plan.segMem[i] - file)) return this.copyFail(gpa + file);
    }
    const area = plan.bootArea;
    if (plan.entryMode === ENTRY_64) {
      if (!this.writePageTables(mem, area)) return this.copyFail(area);
    }
    this.buildGdt(plan.kernelType === KERNEL_BZIMAGE, plan.entryMode === ENTRY_64);
    if (mem.copyToGpa(plan.gdtBase, this.page, 0, PAGE_SIZE) !== COPY_OK) return this.copyFail(plan.gdtBase);
    if (plan.kernelType !== KERNEL_BZIMAGE) return LOAD_OK;

    bzBuildZeroPage(this.page, src, plan, e820);
    if (mem.copyToGpa(plan.zeroPage, this.page, 0, PAGE_SIZE) !== COPY_OK) return this.copyFail(plan.zeroPage);
    // The command line and its NUL (the rest of the page zeroed).
    bufFill(this.page, 0);
    const cmd = req.cmdline;
    const buf = this.page;
    for (let i = 0; i < plan.cmdlineLen; i++) buf[i] = cmd === null ? 0 : cmd.byteAt(i) & 0xff;
    if (mem.copyToGpa(plan.cmdlineGpa, this.page, 0, PAGE_SIZE) !== COPY_OK) return this.copyFail(plan.cmdlineGpa);
    const rd = req.ramdisk;
    if (rd !== null && plan.ramdiskSize > 0) {
      if (rd.copyToGuest(mem, plan.ramdiskGpa, 0, plan.ramdiskSize) !== COPY_OK) return this.copyFail(plan.ramdiskGpa);
    }
    return LOAD_OK;
  }

  private copyFail(gpa: number): number {
    this.plan.failValue = gpa;
    return LOAD_E_COPY;
  }

  /** Write `count` zero bytes at `gpa`. */
  private zeroGuest(mem: GuestMemory, gpa: number, count: number): boolean {
    if (count <= 0) return true;
    bufFill(this.page, 0);
    let done = 0;
    while (done < count) {
      let n = count - done;
      if (n > PAGE_SIZE) n = PAGE_SIZE;
      if (mem.copyToGpa(gpa + done, this.page, 0, n) !== COPY_OK) return false;
      done += n;
    }
    return true;
  }

  /** Identity map of [0, 4 GiB) with 2 MiB pages (SDM Vol. 3A 4.5): PML4, PDPT, 4 PDs. */
  private writePageTables(mem: GuestMemory, area: number): boolean {
    const buf = this.page;
    bufFill(buf, 0);
    bufPut64(buf, 0, area + BOOT_PDPT_OFF + PTE_P_RW);
    if (mem.copyToGpa(area + BOOT_PML4_OFF, buf, 0, PAGE_SIZE) !== COPY_OK) return false;
    bufFill(buf, 0);
    for (let i = 0; i < BOOT_PD_COUNT; i++) bufPut64(buf, i * 8, area + BOOT_PD_OFF + i * PAGE_SIZE + PTE_P_RW);
    if (mem.copyToGpa(area + BOOT_PDPT_OFF, buf, 0, PAGE_SIZE) !== COPY_OK) return false;
    for (let d = 0; d < BOOT_PD_COUNT; d++) {
      for (let j = 0; j < 512; j++) bufPut64(buf, j * 8, d * ONE_GIB + j * TWO_MIB + PDE_2M);
      if (mem.copyToGpa(area + BOOT_PD_OFF + d * PAGE_SIZE, buf, 0, PAGE_SIZE) !== COPY_OK) return false;
    }
    return true;
  }

  /**
   * The GDT page: Linux gets __BOOT_CS (0x10, 64-bit code for the 64-bit
   * entry, 32-bit code for the 32-bit one) and __BOOT_DS (0x18); raw and
   * ELF images get 0x08 64-bit code and 0x10/0x18 data, the selectors
   * setGuestLongMode64 loads.
   */
  private buildGdt(linux: boolean, long: boolean): void {
    const buf = this.page;
    bufFill(buf, 0);
    if (linux) {
      loaderPutDescriptor(buf, LINUX_BOOT_CS, long ? GDT_CODE64_HI : GDT_CODE32_HI);
      loaderPutDescriptor(buf, LINUX_BOOT_DS, GDT_DATA_HI);
    } else {
      loaderPutDescriptor(buf, 0x08, GDT_CODE64_HI);
      loaderPutDescriptor(buf, 0x10, GDT_DATA_HI);
      loaderPutDescriptor(buf, 0x18, GDT_DATA_HI);
    }
  }

  private commit(info: LoadInfo): void {
    const plan = this.plan;
    info.loaded = true;
    info.kernelType = plan.kernelType;
    info.entryMode = plan.entryMode;
    info.entry = plan.entry;
    info.kernelLoad = plan.kernelLoad;
    info.kernelEnd = plan.kernelEnd;
    info.ramdiskLoad = plan.ramdiskGpa;
    info.ramdiskSize = plan.ramdiskSize;
    info.bootargsLoad = plan.cmdlineGpa;
    info.bootargsSize = plan.cmdlineLen;
    info.zeroPage = plan.zeroPage;
    info.bootArea = plan.bootArea;
    info.cr3 = plan.entryMode === ENTRY_64 ? plan.cr3 : 0;
    info.gdtBase = plan.gdtBase;
    info.gdtLimit = BOOT_GDT_LIMIT;
    info.rsp = plan.rsp;
    info.rsi = plan.rsi;
    info.rdi = plan.rdi;
  }
}

/** Characters of a command line: up to its first NUL, at most BOOT_CMDLINE_MAX + 1 looked at. */
export function loaderCmdlineChars(cmd: ImageSource | null): number {
  if (cmd === null) return 0;
  let n = cmd.length();
  if (n > BOOT_CMDLINE_MAX + 1) n = BOOT_CMDLINE_MAX + 1;
  for (let i = 0; i < n; i++) if (cmd.byteAt(i) === 0) return i;
  return cmd.length();
}

/** True when every page of [gpa, gpa + size) is mapped with W in `ept`. */
export function loaderEptWritable(ept: Ept, gpa: number, size: number): boolean {
  if (size <= 0) return true;
  const end = gpa + size;
  let at = alignDown(gpa, PAGE_SIZE);
  while (at < end) {
    const hpa = ept.translate(at);
    if (hpa < 0 || (ept.lastPerms & EPT_W) === 0) return false;
    let step = ept.lastPageSize;
    if (!(step >= PAGE_SIZE)) step = PAGE_SIZE;
    at = alignDown(at, step) + step;
  }
  return true;
}

/** A flat descriptor (base 0, limit 0xFFFFF, G) with the given high dword at `selector`. */
function loaderPutDescriptor(buf: Uint8Array, selector: number, hiDword: number): void {
  bufPut64(buf, selector, hiDword * 4294967296 + GDT_FLAT_LO);
}

/**
 * The boot vCPU's entry state from a load (SDM Vol. 3C 26.3 via guest-state.ts):
 *   64-bit: long mode at info.entry, CR3 = the loader's PML4, RSP; Linux also
 *           gets CS = __BOOT_CS 0x10 and DS/ES/SS/FS/GS = __BOOT_DS 0x18;
 *   32-bit: Linux's protected mode without paging at info.entry;
 * GDTR = the loader's GDT; RSI, RDI as loaded (Linux: RSI = the zero page,
 * RDI = 0), RBX = RBP = 0 (boot.rst). Returns 0 or the OR of VMWRITE statuses.
 * @pre the boot vCPU's VMCS is current and set up (setupVmcs); info.loaded.
 */
export function loaderSetEntryState(caps: VmxCaps, ctxPa: number, info: LoadInfo): number {
  let rc = 0;
  if (info.entryMode === ENTRY_64) {
    rc = setGuestLongMode64(caps, info.entry, info.cr3, info.rsp);
    if (info.kernelType === KERNEL_BZIMAGE) {
      rc |= vmwrite(GUEST_CS_SELECTOR, 0, LINUX_BOOT_CS);
      rc |= vmwrite(GUEST_DS_SELECTOR, 0, LINUX_BOOT_DS);
      rc |= vmwrite(GUEST_ES_SELECTOR, 0, LINUX_BOOT_DS);
      rc |= vmwrite(GUEST_SS_SELECTOR, 0, LINUX_BOOT_DS);
      rc |= vmwrite(GUEST_FS_SELECTOR, 0, LINUX_BOOT_DS);
      rc |= vmwrite(GUEST_GS_SELECTOR, 0, LINUX_BOOT_DS);
    }
  } else if (info.entryMode === ENTRY_32) {
    rc = setGuestProtected32(caps, info.entry);
    rc |= vmwrite(GUEST_RSP, 0, info.rsp >>> 0);
  } else {
    return 1;
  }
  rc |= setGuestDescriptorTables(info.gdtBase, info.gdtLimit, 0, 0xffff);
  poke64(ctxPa + CTX_RSI, hiOf(info.rsi), loOf(info.rsi));
  poke64(ctxPa + CTX_RDI, hiOf(info.rdi), loOf(info.rdi));
  poke64(ctxPa + CTX_RBX, 0, 0);
  poke64(ctxPa + CTX_RBP, 0, 0);
  return rc;
}
