// The boot-time scenario reader. The scenario (which VMs exist and how each is
// built) reaches the hypervisor as a binary image (scenarios/FORMAT.md),
// compiled and validated at build time by tools/scenario.mjs: either a GRUB
// module tagged `scenario`, or the default built into hv/scenario-default.ts.
// The image is untrusted all the same: read() checks the magic, version, size
// and CRC-32, every table, count, index and string against the image's
// bounds, and the invariants the hypervisor relies on (regions page aligned
// and disjoint, one Service VM, vuart links that exist and point back...),
// then fills preallocated records. A bad image is refused with one message
// (`scenario: bad magic`, `scenario: VM 2 name runs past the end`); the caller
// falls back to the built-in default.
//
// Nothing here allocates after construction: strings stay in the image, as
// (offset, length) pairs into `image`, compared with stringIs() and printed
// with printString(). The image is copied into `image` first, so a GRUB
// module is read once, byte by byte, through the intrinsics.
import { moduleByte, moduleCount, moduleField, peek8 } from '../arch/x86/intrinsics';
import { LOG_ERROR, LOG_INFO, type Logger, log } from './log';
import { SCENARIO_DEFAULT_HEX, SCENARIO_DEFAULT_SIZE } from './scenario-default';

// ---- format constants (scenarios/FORMAT.md; scenarios/compile.ts writes them) ----

export const SCENARIO_MAGIC = 0x43534341; // "ACSC" little-endian
export const SCENARIO_VERSION = 1;
export const SCENARIO_HEADER_SIZE = 64;
export const SCENARIO_VM_SIZE = 80;
export const SCENARIO_REGION_SIZE = 32;
export const SCENARIO_VUART_SIZE = 8;
export const SCENARIO_VPCI_SIZE = 8;
/** The largest image (the copy is one typed array, at porffor's 16 KiB limit). */
export const SCENARIO_MAX_BYTES = 16384;
export const SCENARIO_CRC_AT = 0x0c;
/** The GRUB module tag (first word of the module string) of an override image. */
export const SCENARIO_MODULE_TAG = 'scenario';

/** CONFIG_MAX_VM_NUM (hv/vm/vm-table.ts). */
export const SCENARIO_MAX_VMS = 8;
/** MAX_VCPUS_PER_VM (hv/vm/vm.ts). */
export const SCENARIO_MAX_VCPUS = 4;
/** VUARTS_PER_VM (hv/vm/vm-devices.ts). */
export const SCENARIO_MAX_VUARTS = 4;
export const SCENARIO_MAX_REGIONS = 8;
export const SCENARIO_MAX_VPCI = 8;
export const SCENARIO_MAX_PCPUS = 64;
export const SCENARIO_MAX_NAME = 15;
export const SCENARIO_MAX_TAG = 31;
export const SCENARIO_MAX_BOOTARGS = 1023;

/** ACRN's enum acrn_vm_load_order. */
export const SCN_PRE_LAUNCHED = 0;
export const SCN_SERVICE_VM = 1;
export const SCN_POST_LAUNCHED = 2;
/** ACRN's enum acrn_vm_severity. */
export const SCN_SEVERITY_SAFETY_VM = 0x40;
export const SCN_SEVERITY_RTVM = 0x30;
export const SCN_SEVERITY_SERVICE_VM = 0x20;
export const SCN_SEVERITY_STANDARD_VM = 0x10;
/** ACRN's enum os_kernel_type; 0: none (post-launched VMs). */
export const SCN_KERNEL_NONE = 0;
export const SCN_KERNEL_BZIMAGE = 1;
export const SCN_KERNEL_RAW = 2;
export const SCN_KERNEL_ELF = 3;
export const SCN_REGION_HPA_FIXED = 1;
export const SCN_VUART_CONSOLE = 0;
export const SCN_VUART_CONNECTED = 1;
export const SCN_VPCI_HOSTBRIDGE = 1;
export const SCN_VPCI_PASSTHROUGH = 2;
export const SCN_NO_BDF = 0xffff;
export const SCN_NO_TARGET = 0xff;

export const SCN_LOAD_ORDER_NAMES = ['pre-launched', 'Service VM', 'post-launched'];
export const SCN_KERNEL_NAMES = ['none', 'bzImage', 'raw64', 'elf'];

const TWO32 = 4294967296;
/** hi halves of addresses stay below 2^20 (addresses below 2^52). */
const ADDR_HI_LIMIT = 0x100000;

// ---- errors: one constant message each; printError() adds the VM and item ----

export const SCN_OK = 0;
export const SCN_E_SHORT = 1;
export const SCN_E_TOO_BIG = 2;
export const SCN_E_MAGIC = 3;
export const SCN_E_VERSION = 4;
export const SCN_E_HEADER_SIZE = 5;
export const SCN_E_SIZE = 6;
export const SCN_E_CHECKSUM = 7;
export const SCN_E_VM_COUNT = 8;
export const SCN_E_RECORD_SIZE = 9;
export const SCN_E_COUNTS = 10;
export const SCN_E_VM_TABLE = 11;
export const SCN_E_REGION_TABLE = 12;
export const SCN_E_VUART_TABLE = 13;
export const SCN_E_VPCI_TABLE = 14;
export const SCN_E_STRING_TABLE = 15;
export const SCN_E_PCPUS = 16;
export const SCN_E_HEADER_RESERVED = 17;
/** String errors come in threes: runs past the end, not NUL-terminated, not printable. */
export const SCN_E_SCENARIO_NAME = 18;
export const SCN_E_NAME = 21;
export const SCN_E_KERNEL_MODULE = 24;
export const SCN_E_RAMDISK_MODULE = 27;
export const SCN_E_BOOTARGS = 30;
export const SCN_E_NAME_LENGTH = 33;
export const SCN_E_NAME_DUPLICATE = 34;
export const SCN_E_LOAD_ORDER = 35;
export const SCN_E_SEVERITY = 36;
export const SCN_E_SERVICE_SEVERITY = 37;
export const SCN_E_SEVERITY_SERVICE_ONLY = 38;
export const SCN_E_POST_SAFETY = 39;
export const SCN_E_SECOND_SERVICE = 40;
export const SCN_E_PRE_ORDER = 41;
export const SCN_E_POST_ORDER = 42;
export const SCN_E_KERNEL_TYPE = 43;
export const SCN_E_POST_KERNEL = 44;
export const SCN_E_MODULE_TAG = 45;
export const SCN_E_BOOTARGS_LENGTH = 46;
export const SCN_E_VCPUS = 47;
export const SCN_E_AFFINITY = 48;
export const SCN_E_VCPUS_AFFINITY = 49;
export const SCN_E_ADDRESS = 50;
export const SCN_E_VM_RESERVED = 51;
export const SCN_E_REGION_LIST = 52;
export const SCN_E_PRE_NO_MEMORY = 53;
export const SCN_E_SERVICE_MEMORY = 54;
export const SCN_E_REGION_RANGE = 55;
export const SCN_E_REGION_ALIGN = 56;
export const SCN_E_REGION_SIZE = 57;
export const SCN_E_REGION_FLAGS = 58;
export const SCN_E_REGION_HPA = 59;
export const SCN_E_REGION_OVERLAP = 60;
export const SCN_E_REGION_HPA_OVERLAP = 61;
export const SCN_E_VUART_LIST = 62;
export const SCN_E_VUART_INDEX = 63;
export const SCN_E_VUART_DUPLICATE = 64;
export const SCN_E_VUART_TYPE = 65;
export const SCN_E_VUART_CONSOLE = 66;
export const SCN_E_VUART_TARGET_VM = 67;
export const SCN_E_VUART_BASE = 68;
export const SCN_E_VUART_IRQ = 69;
export const SCN_E_VUART_PORTS = 70;
export const SCN_E_VUART_RESERVED = 71;
export const SCN_E_VUART_TARGET_MISSING = 72;
export const SCN_E_VUART_ASYMMETRIC = 73;
export const SCN_E_VPCI_LIST = 74;
export const SCN_E_VPCI_TYPE = 75;
export const SCN_E_VPCI_HOSTBRIDGE = 76;
export const SCN_E_VPCI_PBDF = 77;
export const SCN_E_VPCI_SERVICE = 78;
export const SCN_E_VPCI_VBDF_DUPLICATE = 79;
export const SCN_E_VPCI_PBDF_DUPLICATE = 80;
export const SCN_E_VPCI_RESERVED = 81;
export const SCN_E_STRAY_RECORDS = 82;

export const SCENARIO_ERRORS = [
  'no error',
  'image is shorter than its 64-byte header',
  'image is larger than 16 KiB',
  'bad magic',
  'unsupported version',
  'header size is not 64',
  'size field does not match the image length',
  'checksum mismatch',
  'VM count is not 1 to 8',
  'record sizes do not match version 1',
  'region, vuart or vpci count is too large',
  'VM table is misaligned or runs past the end',
  'region table is misaligned or runs past the end',
  'vuart table is misaligned or runs past the end',
  'vpci table is misaligned or runs past the end',
  'string table is empty, runs past the end or does not start with NUL',
  'board pCPU count is not 1 to 64',
  'reserved header field is not zero',
  'name runs past the end',
  'name is not NUL-terminated',
  'name has a byte that is not printable ASCII',
  'name runs past the end',
  'name is not NUL-terminated',
  'name has a byte that is not printable ASCII',
  'kernel module tag runs past the end',
  'kernel module tag is not NUL-terminated',
  'kernel module tag has a byte that is not printable ASCII',
  'ramdisk module tag runs past the end',
  'ramdisk module tag is not NUL-terminated',
  'ramdisk module tag has a byte that is not printable ASCII',
  'bootargs run past the end',
  'bootargs are not NUL-terminated',
  'bootargs have a byte that is not printable ASCII',
  'name is empty or longer than 15 characters',
  'name is the same as an earlier VM\'s',
  'bad load order',
  'bad severity',
  'the Service VM\'s severity is not SEVERITY_SERVICE_VM',
  'SEVERITY_SERVICE_VM is the Service VM\'s alone',
  'a post-launched VM cannot be SEVERITY_SAFETY_VM',
  'is a second Service VM',
  'pre-launched VM after the Service VM or a post-launched VM',
  'post-launched VM before the Service VM, or without one',
  'kernel type is not bzImage, raw64 or elf',
  'post-launched VM has a kernel, module or bootargs (the device model loads it)',
  'module tag is empty or longer than 31 characters',
  'bootargs are longer than 1023 characters',
  'vCPU count is not 1 to 4',
  'CPU affinity is empty or names a pCPU the board does not have',
  'more vCPUs than pCPUs in its affinity',
  'kernel, entry or ramdisk address is beyond 2^52',
  'reserved field is not zero',
  'region list is out of place or longer than 8',
  'pre-launched VM has no memory',
  'Service VM has memory regions (it gets the host map)',
  'reaches beyond 2^52',
  'is not 4 KiB aligned',
  'size is zero',
  'flags or reserved field are not valid',
  'has a fixed host address but the VM is not pre-launched',
  'overlaps an earlier region of the same VM',
  'host range overlaps another fixed region',
  'vuart list is out of place or longer than 4',
  'index is not 0 to 3',
  'index is used twice',
  'type is not console or connected',
  'console is not vuart 0 or has a target',
  'connected vuart is vuart 0, or targets a missing VM or its own',
  'base port is not 0x1 to 0xfff8',
  'IRQ is not 1 or 3 to 47',
  'ports overlap another vuart\'s',
  'reserved field is not zero',
  'target vuart does not exist',
  'target vuart is not connected back to it',
  'vpci list is out of place or longer than 8',
  'type is not hostbridge or passthrough',
  'host bridge in a VM that is not pre-launched',
  'physical BDF is missing, or given for the host bridge',
  'pass-through device in the Service VM',
  'virtual BDF is used twice',
  'physical BDF is passed through twice',
  'reserved field is not zero',
  'region, vuart or vpci records belong to no VM',
];

const ITEM_NONE = 0;
const ITEM_REGION = 1;
const ITEM_VUART = 2;
const ITEM_VPCI = 3;
const ITEM_NAMES = ['', 'region', 'vuart', 'vpci'];

// ---- byte sources ------------------------------------------------------------------

/** Where an image comes from: a GRUB module natively, a Uint8Array in tests. */
export interface ByteSource {
  length(): number;
  byteAt(i: number): number;
}

/** Bytes [0, len) of a Uint8Array. */
export class BytesSource implements ByteSource {
  bytes: Uint8Array;
  len: number;
  constructor(bytes: Uint8Array, len: number) {
    this.bytes = bytes;
    this.len = len >= 0 && len <= bytes.length ? len : bytes.length;
  }
  length(): number {
    return this.len;
  }
  byteAt(i: number): number {
    return i >= 0 && i < this.len ? this.bytes[i] : 0;
  }
}

/** A GRUB module's contents, read with peek8 (its range is declared read-only at boot). */
export class ModuleSource implements ByteSource {
  start = 0;
  size = 0;
  /** Point at module `index`; false when there is no such module. */
  select(index: number): boolean {
    this.start = 0;
    this.size = 0;
    if (index < 0 || index >= moduleCount()) return false;
    const start = moduleField(index, 0);
    const end = moduleField(index, 1);
    if (!(end >= start)) return false;
    this.start = start;
    this.size = end - start;
    return true;
  }
  length(): number {
    return this.size;
  }
  byteAt(i: number): number {
    return i >= 0 && i < this.size ? peek8(this.start + i) & 0xff : 0;
  }
}

/** The built-in default image (hv/scenario-default.ts), decoded once at init. */
export function makeDefaultScenarioSource(): BytesSource {
  const bytes = new Uint8Array(SCENARIO_DEFAULT_SIZE);
  let at = 0;
  for (let r = 0; r < SCENARIO_DEFAULT_HEX.length; r++) {
    const row = SCENARIO_DEFAULT_HEX[r];
    for (let k = 0; k + 1 < row.length && at < SCENARIO_DEFAULT_SIZE; k += 2) {
      bytes[at] = ((scenarioHexDigit(row.charCodeAt(k)) << 4) | scenarioHexDigit(row.charCodeAt(k + 1))) & 0xff;
      at++;
    }
  }
  return new BytesSource(bytes, at);
}

function scenarioHexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return 0;
}

/** Index of the GRUB module whose tag (first word of its string) is `tag`, or -1. */
export function scenarioModuleByTag(tag: string): number {
  const n = moduleCount();
  for (let i = 0; i < n; i++) {
    const len = moduleField(i, 2);
    let k = 0;
    while (k < tag.length && k < len && moduleByte(i, k) === tag.charCodeAt(k)) k++;
    if (k === tag.length && (k === len || moduleByte(i, k) === 32)) return i;
  }
  return -1;
}

/** CRC-32 (IEEE 802.3, zlib's) table, built once. */
const CRC_TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? (0xedb88320 ^ (c >>> 1)) >>> 0 : c >>> 1;
  CRC_TABLE[n] = c >>> 0;
}

/** CRC-32 of bytes[0, length) with the 4 bytes at `skipAt` read as zero (-1: none). */
export function scenarioCrc32(bytes: Uint8Array, length: number, skipAt: number): number {
  let crc = 0xffffffff;
  const n = length < bytes.length ? length : bytes.length;
  for (let i = 0; i < n; i++) {
    const b = skipAt >= 0 && i >= skipAt && i < skipAt + 4 ? 0 : bytes[i];
    crc = (CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8)) >>> 0;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

// ---- the records -------------------------------------------------------------------

// Each VM keeps its lists in three typed arrays, a fixed number of fields per
// item (porffor gives every typed array a 16 KiB slot, so fewer is better).
const REGION_GPA = 0;
const REGION_SIZE = 1;
const REGION_HPA = 2;
const REGION_FLAGS = 3;
const REGION_FIELDS = 4;
const VUART_INDEX = 0;
const VUART_TYPE = 1;
const VUART_BASE = 2;
const VUART_IRQ = 3;
const VUART_TARGET_VM = 4;
const VUART_TARGET_VUART = 5;
const VUART_FIELDS = 6;
const VPCI_TYPE = 0;
const VPCI_VBDF = 1;
const VPCI_PBDF = 2;
const VPCI_FIELDS = 3;

/**
 * One VM of the scenario (ACRN's struct acrn_vm_config). Strings are
 * (offset, length) into Scenario.image; addresses are numbers below 2^52
 * (hv/u64.ts hiOf/loOf split them); list items are read with the accessors.
 */
export class ScenarioVm {
  readonly index: number;
  nameOff = 0;
  nameLen = 0;
  /** SCN_PRE_LAUNCHED, SCN_SERVICE_VM or SCN_POST_LAUNCHED. */
  loadOrder = 0;
  /** SCN_SEVERITY_*. */
  severity = 0;
  /** SCN_KERNEL_*. */
  kernelType = 0;
  vcpuCount = 0;
  /** cpu_affinity, a u64 bit mask as halves. */
  affinityLo = 0;
  affinityHi = 0;
  kernelModOff = 0;
  kernelModLen = 0;
  ramdiskModOff = 0;
  ramdiskModLen = 0;
  bootargsOff = 0;
  bootargsLen = 0;
  /** 0: the loader decides. */
  kernelLoadGpa = 0;
  kernelEntryGpa = 0;
  ramdiskLoadGpa = 0;
  regionCount = 0;
  vuartCount = 0;
  vpciCount = 0;
  /** Per region: GPA, size, HPA, flags. */
  readonly regions = new Float64Array(SCENARIO_MAX_REGIONS * REGION_FIELDS);
  /** Per vuart: index, type, base port, IRQ, target VM, target vuart. */
  readonly vuarts = new Uint16Array(SCENARIO_MAX_VUARTS * VUART_FIELDS);
  /** Per device: type, virtual BDF, physical BDF. */
  readonly vpci = new Uint16Array(SCENARIO_MAX_VPCI * VPCI_FIELDS);

  constructor(index: number) {
    this.index = index;
  }

  /** Guest-physical start of region k (0 when k is out of range). */
  regionGpa(k: number): number {
    return k >= 0 && k < this.regionCount ? this.regions[k * REGION_FIELDS + REGION_GPA] : 0;
  }
  regionSize(k: number): number {
    return k >= 0 && k < this.regionCount ? this.regions[k * REGION_FIELDS + REGION_SIZE] : 0;
  }
  /** Host-physical start of region k when fixed, else 0 (the hypervisor allocates it). */
  regionHpa(k: number): number {
    return k >= 0 && k < this.regionCount ? this.regions[k * REGION_FIELDS + REGION_HPA] : 0;
  }
  regionHpaFixed(k: number): boolean {
    return k >= 0 && k < this.regionCount && this.regions[k * REGION_FIELDS + REGION_FLAGS] === SCN_REGION_HPA_FIXED;
  }
  /** vuart k's index in the VM (0 is the console), or -1 when k is out of range. */
  vuartIndex(k: number): number {
    return this.vuartField(k, VUART_INDEX, -1);
  }
  /** SCN_VUART_CONSOLE or SCN_VUART_CONNECTED. */
  vuartType(k: number): number {
    return this.vuartField(k, VUART_TYPE, -1);
  }
  vuartBase(k: number): number {
    return this.vuartField(k, VUART_BASE, 0);
  }
  vuartIrq(k: number): number {
    return this.vuartField(k, VUART_IRQ, 0);
  }
  /** A connected vuart's peer: VM index and vuart index (SCN_NO_TARGET for a console). */
  vuartTargetVm(k: number): number {
    return this.vuartField(k, VUART_TARGET_VM, SCN_NO_TARGET);
  }
  vuartTargetVuart(k: number): number {
    return this.vuartField(k, VUART_TARGET_VUART, SCN_NO_TARGET);
  }
  /** SCN_VPCI_HOSTBRIDGE or SCN_VPCI_PASSTHROUGH. */
  vpciType(k: number): number {
    return k >= 0 && k < this.vpciCount ? this.vpci[k * VPCI_FIELDS + VPCI_TYPE] : 0;
  }
  vpciVbdf(k: number): number {
    return k >= 0 && k < this.vpciCount ? this.vpci[k * VPCI_FIELDS + VPCI_VBDF] : SCN_NO_BDF;
  }
  /** Physical BDF of a pass-through device; SCN_NO_BDF for the host bridge. */
  vpciPbdf(k: number): number {
    return k >= 0 && k < this.vpciCount ? this.vpci[k * VPCI_FIELDS + VPCI_PBDF] : SCN_NO_BDF;
  }
  /** The position in this VM's list of the vuart with index `index`, or -1. */
  vuartSlot(index: number): number {
    for (let k = 0; k < this.vuartCount; k++) if (this.vuarts[k * VUART_FIELDS + VUART_INDEX] === index) return k;
    return -1;
  }
  /** True when pCPU `pcpu` is in the affinity mask. */
  onPcpu(pcpu: number): boolean {
    if (pcpu >= 0 && pcpu < 32) return ((this.affinityLo >>> pcpu) & 1) !== 0;
    if (pcpu >= 32 && pcpu < 64) return ((this.affinityHi >>> (pcpu - 32)) & 1) !== 0;
    return false;
  }
  /** The pCPU vCPU `vcpu` runs on: the vcpu-th set bit of the affinity (ACRN), or -1. */
  pcpuOfVcpu(vcpu: number): number {
    let seen = 0;
    for (let p = 0; p < 64; p++) {
      if (this.onPcpu(p)) {
        if (seen === vcpu) return p;
        seen++;
      }
    }
    return -1;
  }

  private vuartField(k: number, field: number, none: number): number {
    return k >= 0 && k < this.vuartCount ? this.vuarts[k * VUART_FIELDS + field] : none;
  }
  setRegion(k: number, gpa: number, size: number, hpa: number, flags: number): void {
    const at = k * REGION_FIELDS;
    if (k < 0 || k >= SCENARIO_MAX_REGIONS) return;
    this.regions[at + REGION_GPA] = gpa;
    this.regions[at + REGION_SIZE] = size;
    this.regions[at + REGION_HPA] = hpa;
    this.regions[at + REGION_FLAGS] = flags;
    this.regionCount = k + 1;
  }
  setVuart(k: number, index: number, type: number, base: number, irq: number, targetVm: number, targetVuart: number): void {
    const at = k * VUART_FIELDS;
    if (k < 0 || k >= SCENARIO_MAX_VUARTS) return;
    this.vuarts[at + VUART_INDEX] = index & 0xffff;
    this.vuarts[at + VUART_TYPE] = type & 0xffff;
    this.vuarts[at + VUART_BASE] = base & 0xffff;
    this.vuarts[at + VUART_IRQ] = irq & 0xffff;
    this.vuarts[at + VUART_TARGET_VM] = targetVm & 0xffff;
    this.vuarts[at + VUART_TARGET_VUART] = targetVuart & 0xffff;
    this.vuartCount = k + 1;
  }
  setVpci(k: number, type: number, vbdf: number, pbdf: number): void {
    const at = k * VPCI_FIELDS;
    if (k < 0 || k >= SCENARIO_MAX_VPCI) return;
    this.vpci[at + VPCI_TYPE] = type & 0xffff;
    this.vpci[at + VPCI_VBDF] = vbdf & 0xffff;
    this.vpci[at + VPCI_PBDF] = pbdf & 0xffff;
    this.vpciCount = k + 1;
  }
  clear(): void {
    this.nameOff = 0;
    this.nameLen = 0;
    this.loadOrder = 0;
    this.severity = 0;
    this.kernelType = 0;
    this.vcpuCount = 0;
    this.affinityLo = 0;
    this.affinityHi = 0;
    this.kernelModOff = 0;
    this.kernelModLen = 0;
    this.ramdiskModOff = 0;
    this.ramdiskModLen = 0;
    this.bootargsOff = 0;
    this.bootargsLen = 0;
    this.kernelLoadGpa = 0;
    this.kernelEntryGpa = 0;
    this.ramdiskLoadGpa = 0;
    this.regionCount = 0;
    this.vuartCount = 0;
    this.vpciCount = 0;
  }
}

// ---- the reader ----------------------------------------------------------------------

export class Scenario {
  /** The image, copied from its source; strings point into it. */
  readonly image = new Uint8Array(SCENARIO_MAX_BYTES);
  size = 0;
  /** True after a successful read(); the records below are then complete. */
  valid = false;
  vmCount = 0;
  /** The board's pCPU count the scenario was checked against. */
  pcpuCount = 0;
  nameOff = 0;
  nameLen = 0;
  readonly vms: ScenarioVm[] = [];
  /** Why the last read() failed: SCN_E_* (SCENARIO_ERRORS), and the VM / item it concerns (-1: none). */
  errorCode = SCN_OK;
  errorVm = -1;
  errorKind = ITEM_NONE;
  errorItem = -1;
  // Table geometry of the image being read.
  private vmTable = 0;
  private regionTable = 0;
  private regionTotal = 0;
  private vuartTable = 0;
  private vuartTotal = 0;
  private vpciTable = 0;
  private vpciTotal = 0;
  private strTable = 0;
  private strSize = 0;

  constructor() {
    for (let i = 0; i < SCENARIO_MAX_VMS; i++) this.vms.push(new ScenarioVm(i));
  }

  /** Read and check an image. False (and valid = false, vmCount = 0) when it is refused; see errorCode. */
  read(src: ByteSource): boolean {
    this.valid = false;
    this.vmCount = 0;
    this.size = 0;
    this.pcpuCount = 0;
    this.nameOff = 0;
    this.nameLen = 0;
    this.errorCode = SCN_OK;
    this.errorVm = -1;
    this.errorKind = ITEM_NONE;
    this.errorItem = -1;
    for (let i = 0; i < SCENARIO_MAX_VMS; i++) this.vms[i].clear();
    const n = src.length();
    if (!(n >= SCENARIO_HEADER_SIZE)) return this.fail(SCN_E_SHORT);
    if (n > SCENARIO_MAX_BYTES) return this.fail(SCN_E_TOO_BIG);
    const size = Math.floor(n);
    for (let i = 0; i < size; i++) this.image[i] = src.byteAt(i) & 0xff;
    this.size = size;
    if (!this.readHeader()) return false;
    const count = this.rd16(0x10);
    let regions = 0;
    let vuarts = 0;
    let vpcis = 0;
    let serviceSeen = false;
    let postSeen = false;
    for (let i = 0; i < count; i++) {
      const vm = this.vms[i];
      this.vmCount = i + 1;
      if (!this.readVm(vm, this.vmTable + i * SCENARIO_VM_SIZE)) return false;
      // Load orders: pre-launched VMs, then at most one Service VM, then post-launched VMs.
      if (vm.loadOrder === SCN_SERVICE_VM && serviceSeen) return this.failVm(SCN_E_SECOND_SERVICE, i);
      if (vm.loadOrder === SCN_PRE_LAUNCHED && (serviceSeen || postSeen)) return this.failVm(SCN_E_PRE_ORDER, i);
      if (vm.loadOrder === SCN_POST_LAUNCHED && !serviceSeen) return this.failVm(SCN_E_POST_ORDER, i);
      if (vm.loadOrder === SCN_SERVICE_VM) serviceSeen = true;
      if (vm.loadOrder === SCN_POST_LAUNCHED) postSeen = true;
      const at = this.vmTable + i * SCENARIO_VM_SIZE;
      if (!this.readRegions(vm, this.rd16(at + 0x1c), this.rd16(at + 0x1e), regions)) return false;
      regions += vm.regionCount;
      if (!this.readVuarts(vm, this.rd16(at + 0x20), this.rd16(at + 0x22), vuarts, count)) return false;
      vuarts += vm.vuartCount;
      if (!this.readVpci(vm, this.rd16(at + 0x24), this.rd16(at + 0x26), vpcis)) return false;
      vpcis += vm.vpciCount;
    }
    if (regions !== this.regionTotal || vuarts !== this.vuartTotal || vpcis !== this.vpciTotal) return this.fail(SCN_E_STRAY_RECORDS);
    if (!this.checkLinks()) return false;
    this.valid = true;
    return true;
  }

  // ---- strings -------------------------------------------------------------------

  /** True when image[off, off + len) holds exactly `text`. */
  stringIs(off: number, len: number, text: string): boolean {
    if (len !== text.length || off < 0 || off + len > this.size) return false;
    for (let k = 0; k < len; k++) if (this.image[off + k] !== text.charCodeAt(k)) return false;
    return true;
  }

  vmNameIs(vmIndex: number, text: string): boolean {
    if (vmIndex < 0 || vmIndex >= this.vmCount) return false;
    const vm = this.vms[vmIndex];
    return this.stringIs(vm.nameOff, vm.nameLen, text);
  }

  /** Index of the VM named `text`, or -1. */
  findVm(text: string): number {
    for (let i = 0; i < this.vmCount; i++) if (this.vmNameIs(i, text)) return i;
    return -1;
  }

  /** Print image[off, off + len) through `out` (no string is built). */
  printString(out: Logger, off: number, len: number): void {
    for (let k = 0; k < len && off + k < this.size; k++) out.char(this.image[off + k]);
  }

  /** Index of the GRUB module whose tag (first word) is image[off, off + len), or -1. */
  findModule(off: number, len: number): number {
    if (len <= 0 || off < 0 || off + len > this.size) return -1;
    const n = moduleCount();
    for (let i = 0; i < n; i++) {
      const mlen = moduleField(i, 2);
      let k = 0;
      while (k < len && k < mlen && moduleByte(i, k) === this.image[off + k]) k++;
      if (k === len && (k === mlen || moduleByte(i, k) === 32)) return i;
    }
    return -1;
  }

  // ---- reporting -------------------------------------------------------------------

  /** One line: `scenario: [VM n [region|vuart|vpci k] ]<message>` at `level`. */
  printError(out: Logger, level: number): void {
    out.begin(level);
    out.str('scenario: ');
    if (this.errorVm >= 0) {
      out.str('VM ');
      out.dec(this.errorVm);
      out.char(32);
      if (this.errorKind !== ITEM_NONE && this.errorKind < ITEM_NAMES.length) {
        out.str(ITEM_NAMES[this.errorKind]);
        out.char(32);
        out.dec(this.errorItem);
        out.char(32);
      }
    }
    const code = this.errorCode;
    out.str(code >= 0 && code < SCENARIO_ERRORS.length ? SCENARIO_ERRORS[code] : 'unknown error');
    out.end();
  }

  /** The scenario, one line per VM and per device (boot log, shell, conformance). */
  printSummary(out: Logger, level: number): void {
    out.begin(level);
    out.str('scenario ');
    this.printString(out, this.nameOff, this.nameLen);
    out.str(': ');
    out.dec(this.vmCount);
    out.str(' VMs, ');
    out.dec(this.size);
    out.str(' bytes, board with ');
    out.dec(this.pcpuCount);
    out.str(' pCPUs');
    out.end();
    for (let i = 0; i < this.vmCount; i++) this.printVm(out, level, this.vms[i]);
  }

  private printVm(out: Logger, level: number, vm: ScenarioVm): void {
    out.begin(level);
    out.str('  vm');
    out.dec(vm.index);
    out.char(32);
    this.printString(out, vm.nameOff, vm.nameLen);
    out.str(': ');
    out.str(SCN_LOAD_ORDER_NAMES[vm.loadOrder]);
    out.str(', severity ');
    out.hex(vm.severity);
    out.str(', ');
    out.dec(vm.vcpuCount);
    out.str(' vCPU(s) on ');
    out.hex64(vm.affinityHi, vm.affinityLo);
    out.str(', kernel ');
    out.str(SCN_KERNEL_NAMES[vm.kernelType]);
    if (vm.kernelType !== SCN_KERNEL_NONE) {
      out.str(' "');
      this.printString(out, vm.kernelModOff, vm.kernelModLen);
      out.str('" load ');
      out.hex(vm.kernelLoadGpa);
      out.str(' entry ');
      out.hex(vm.kernelEntryGpa);
      if (vm.ramdiskModLen > 0) {
        out.str(', ramdisk "');
        this.printString(out, vm.ramdiskModOff, vm.ramdiskModLen);
        out.str('" at ');
        out.hex(vm.ramdiskLoadGpa);
      }
      out.str(', bootargs "');
      this.printString(out, vm.bootargsOff, vm.bootargsLen);
      out.char(34);
    }
    out.end();
    for (let k = 0; k < vm.regionCount; k++) {
      out.begin(level);
      out.str('    region ');
      out.dec(k);
      out.str(': gpa ');
      out.hex(vm.regionGpa(k));
      out.str(' size ');
      out.hex(vm.regionSize(k));
      if (vm.regionHpaFixed(k)) {
        out.str(' hpa ');
        out.hex(vm.regionHpa(k));
      } else out.str(' hpa allocated');
      out.end();
    }
    for (let k = 0; k < vm.vuartCount; k++) {
      out.begin(level);
      out.str('    vuart ');
      out.dec(vm.vuartIndex(k));
      out.str(': port ');
      out.hex(vm.vuartBase(k));
      out.str(' irq ');
      out.dec(vm.vuartIrq(k));
      if (vm.vuartType(k) === SCN_VUART_CONSOLE) out.str(' console');
      else {
        out.str(' connected to vm');
        out.dec(vm.vuartTargetVm(k));
        out.str(' vuart ');
        out.dec(vm.vuartTargetVuart(k));
      }
      out.end();
    }
    for (let k = 0; k < vm.vpciCount; k++) {
      out.begin(level);
      out.str('    vpci ');
      this.printBdf(out, vm.vpciVbdf(k));
      if (vm.vpciType(k) === SCN_VPCI_HOSTBRIDGE) out.str(' host bridge');
      else {
        out.str(' pass-through of ');
        this.printBdf(out, vm.vpciPbdf(k));
      }
      out.end();
    }
  }

  private printBdf(out: Logger, bdf: number): void {
    out.hexDigits(bdf >>> 8, 2);
    out.char(58);
    out.hexDigits((bdf >>> 3) & 31, 2);
    out.char(46);
    out.dec(bdf & 7);
  }

  // ---- parsing -------------------------------------------------------------------

  private rd8(off: number): number {
    return off >= 0 && off < this.size ? this.image[off] : 0;
  }
  private rd16(off: number): number {
    return this.rd8(off) + this.rd8(off + 1) * 256;
  }
  private rd32(off: number): number {
    return this.rd16(off) + this.rd16(off + 2) * 65536;
  }

  private fail(code: number): boolean {
    this.errorCode = code;
    this.valid = false;
    this.vmCount = 0;
    return false;
  }
  private failVm(code: number, vm: number): boolean {
    this.errorVm = vm;
    return this.fail(code);
  }
  private failItem(code: number, vm: number, kind: number, item: number): boolean {
    this.errorVm = vm;
    this.errorKind = kind;
    this.errorItem = item;
    return this.fail(code);
  }

  /** A table of `count` records of `size` bytes at `off`: 4-byte aligned, after the header, inside the image. */
  private tableFits(off: number, count: number, size: number): boolean {
    return off % 4 === 0 && off >= SCENARIO_HEADER_SIZE && off + count * size <= this.size;
  }

  private readHeader(): boolean {
    if (this.rd32(0) !== SCENARIO_MAGIC) return this.fail(SCN_E_MAGIC);
    if (this.rd16(0x04) !== SCENARIO_VERSION) return this.fail(SCN_E_VERSION);
    if (this.rd16(0x06) !== SCENARIO_HEADER_SIZE) return this.fail(SCN_E_HEADER_SIZE);
    if (this.rd32(0x08) !== this.size) return this.fail(SCN_E_SIZE);
    if (scenarioCrc32(this.image, this.size, SCENARIO_CRC_AT) !== this.rd32(SCENARIO_CRC_AT)) return this.fail(SCN_E_CHECKSUM);
    const count = this.rd16(0x10);
    if (count < 1 || count > SCENARIO_MAX_VMS) return this.fail(SCN_E_VM_COUNT);
    if (this.rd16(0x12) !== SCENARIO_VM_SIZE || this.rd16(0x16) !== SCENARIO_REGION_SIZE
      || this.rd16(0x1a) !== SCENARIO_VUART_SIZE || this.rd16(0x1e) !== SCENARIO_VPCI_SIZE) return this.fail(SCN_E_RECORD_SIZE);
    this.regionTotal = this.rd16(0x14);
    this.vuartTotal = this.rd16(0x18);
    this.vpciTotal = this.rd16(0x1c);
    if (this.regionTotal > SCENARIO_MAX_VMS * SCENARIO_MAX_REGIONS || this.vuartTotal > SCENARIO_MAX_VMS * SCENARIO_MAX_VUARTS
      || this.vpciTotal > SCENARIO_MAX_VMS * SCENARIO_MAX_VPCI) return this.fail(SCN_E_COUNTS);
    this.vmTable = this.rd32(0x20);
    this.regionTable = this.rd32(0x24);
    this.vuartTable = this.rd32(0x28);
    this.vpciTable = this.rd32(0x2c);
    this.strTable = this.rd32(0x30);
    this.strSize = this.rd32(0x34);
    if (!this.tableFits(this.vmTable, count, SCENARIO_VM_SIZE)) return this.fail(SCN_E_VM_TABLE);
    if (!this.tableFits(this.regionTable, this.regionTotal, SCENARIO_REGION_SIZE)) return this.fail(SCN_E_REGION_TABLE);
    if (!this.tableFits(this.vuartTable, this.vuartTotal, SCENARIO_VUART_SIZE)) return this.fail(SCN_E_VUART_TABLE);
    if (!this.tableFits(this.vpciTable, this.vpciTotal, SCENARIO_VPCI_SIZE)) return this.fail(SCN_E_VPCI_TABLE);
    if (this.strSize < 1 || this.strTable < SCENARIO_HEADER_SIZE || this.strTable + this.strSize > this.size
      || this.rd8(this.strTable) !== 0) return this.fail(SCN_E_STRING_TABLE);
    const pcpus = this.rd16(0x38);
    if (pcpus < 1 || pcpus > SCENARIO_MAX_PCPUS) return this.fail(SCN_E_PCPUS);
    this.pcpuCount = pcpus;
    if (this.rd16(0x3a) !== 0) return this.fail(SCN_E_HEADER_RESERVED);
    const bad = this.checkString(0x3c, SCN_E_SCENARIO_NAME);
    if (bad !== SCN_OK) return this.fail(bad);
    this.nameOff = this.strTable + this.rd16(0x3c);
    this.nameLen = this.rd16(0x3e);
    return true;
  }

  /**
   * The string whose (offset, length) is at `refAt`: inside the string table,
   * NUL-terminated, printable ASCII. SCN_OK, or `base` + 0/1/2.
   */
  private checkString(refAt: number, base: number): number {
    const off = this.rd16(refAt);
    const len = this.rd16(refAt + 2);
    if (off + len >= this.strSize) return base;
    const at = this.strTable + off;
    if (this.rd8(at + len) !== 0) return base + 1;
    for (let k = 0; k < len; k++) {
      const c = this.rd8(at + k);
      if (c < 0x20 || c > 0x7e) return base + 2;
    }
    return SCN_OK;
  }

  private readVm(vm: ScenarioVm, at: number): boolean {
    const i = vm.index;
    let bad = this.checkString(at, SCN_E_NAME);
    if (bad === SCN_OK) bad = this.checkString(at + 0x10, SCN_E_KERNEL_MODULE);
    if (bad === SCN_OK) bad = this.checkString(at + 0x14, SCN_E_RAMDISK_MODULE);
    if (bad === SCN_OK) bad = this.checkString(at + 0x18, SCN_E_BOOTARGS);
    if (bad !== SCN_OK) return this.failVm(bad, i);
    vm.nameOff = this.strTable + this.rd16(at);
    vm.nameLen = this.rd16(at + 2);
    vm.kernelModOff = this.strTable + this.rd16(at + 0x10);
    vm.kernelModLen = this.rd16(at + 0x12);
    vm.ramdiskModOff = this.strTable + this.rd16(at + 0x14);
    vm.ramdiskModLen = this.rd16(at + 0x16);
    vm.bootargsOff = this.strTable + this.rd16(at + 0x18);
    vm.bootargsLen = this.rd16(at + 0x1a);
    if (vm.nameLen < 1 || vm.nameLen > SCENARIO_MAX_NAME) return this.failVm(SCN_E_NAME_LENGTH, i);
    for (let j = 0; j < i; j++) {
      const other = this.vms[j];
      if (other.nameLen === vm.nameLen) {
        let k = 0;
        while (k < vm.nameLen && this.image[other.nameOff + k] === this.image[vm.nameOff + k]) k++;
        if (k === vm.nameLen) return this.failVm(SCN_E_NAME_DUPLICATE, i);
      }
    }
    vm.loadOrder = this.rd8(at + 0x04);
    vm.severity = this.rd8(at + 0x05);
    vm.kernelType = this.rd8(at + 0x06);
    vm.vcpuCount = this.rd8(at + 0x07);
    if (vm.loadOrder > SCN_POST_LAUNCHED) return this.failVm(SCN_E_LOAD_ORDER, i);
    const sev = vm.severity;
    if (sev !== SCN_SEVERITY_SAFETY_VM && sev !== SCN_SEVERITY_RTVM && sev !== SCN_SEVERITY_SERVICE_VM
      && sev !== SCN_SEVERITY_STANDARD_VM) return this.failVm(SCN_E_SEVERITY, i);
    if (vm.loadOrder === SCN_SERVICE_VM && sev !== SCN_SEVERITY_SERVICE_VM) return this.failVm(SCN_E_SERVICE_SEVERITY, i);
    if (vm.loadOrder !== SCN_SERVICE_VM && sev === SCN_SEVERITY_SERVICE_VM) return this.failVm(SCN_E_SEVERITY_SERVICE_ONLY, i);
    if (vm.loadOrder === SCN_POST_LAUNCHED && sev === SCN_SEVERITY_SAFETY_VM) return this.failVm(SCN_E_POST_SAFETY, i);
    if (vm.loadOrder === SCN_POST_LAUNCHED) {
      if (vm.kernelType !== SCN_KERNEL_NONE || vm.kernelModLen !== 0 || vm.ramdiskModLen !== 0 || vm.bootargsLen !== 0) {
        return this.failVm(SCN_E_POST_KERNEL, i);
      }
    } else {
      if (vm.kernelType < SCN_KERNEL_BZIMAGE || vm.kernelType > SCN_KERNEL_ELF) return this.failVm(SCN_E_KERNEL_TYPE, i);
      if (vm.kernelModLen < 1 || vm.kernelModLen > SCENARIO_MAX_TAG) return this.failVm(SCN_E_MODULE_TAG, i);
    }
    if (vm.ramdiskModLen > SCENARIO_MAX_TAG) return this.failVm(SCN_E_MODULE_TAG, i);
    if (vm.bootargsLen > SCENARIO_MAX_BOOTARGS) return this.failVm(SCN_E_BOOTARGS_LENGTH, i);
    if (vm.vcpuCount < 1 || vm.vcpuCount > SCENARIO_MAX_VCPUS) return this.failVm(SCN_E_VCPUS, i);
    vm.affinityLo = this.rd32(at + 0x08);
    vm.affinityHi = this.rd32(at + 0x0c);
    let pcpus = 0;
    let beyond = false;
    for (let p = 0; p < 64; p++) {
      if (vm.onPcpu(p)) {
        pcpus++;
        if (p >= this.pcpuCount) beyond = true;
      }
    }
    if (pcpus === 0 || beyond) return this.failVm(SCN_E_AFFINITY, i);
    if (vm.vcpuCount > pcpus) return this.failVm(SCN_E_VCPUS_AFFINITY, i);
    const loadHi = this.rd32(at + 0x2c);
    const entryHi = this.rd32(at + 0x34);
    const ramdiskHi = this.rd32(at + 0x3c);
    if (loadHi >= ADDR_HI_LIMIT || entryHi >= ADDR_HI_LIMIT || ramdiskHi >= ADDR_HI_LIMIT) return this.failVm(SCN_E_ADDRESS, i);
    vm.kernelLoadGpa = loadHi * TWO32 + this.rd32(at + 0x28);
    vm.kernelEntryGpa = entryHi * TWO32 + this.rd32(at + 0x30);
    vm.ramdiskLoadGpa = ramdiskHi * TWO32 + this.rd32(at + 0x38);
    for (let k = 0x40; k < SCENARIO_VM_SIZE; k++) if (this.rd8(at + k) !== 0) return this.failVm(SCN_E_VM_RESERVED, i);
    return true;
  }

  private readRegions(vm: ScenarioVm, first: number, count: number, expectFirst: number): boolean {
    const i = vm.index;
    if (first !== expectFirst || count > SCENARIO_MAX_REGIONS || first + count > this.regionTotal) return this.failVm(SCN_E_REGION_LIST, i);
    if (vm.loadOrder === SCN_PRE_LAUNCHED && count === 0) return this.failVm(SCN_E_PRE_NO_MEMORY, i);
    if (vm.loadOrder === SCN_SERVICE_VM && count !== 0) return this.failVm(SCN_E_SERVICE_MEMORY, i);
    for (let k = 0; k < count; k++) {
      const at = this.regionTable + (first + k) * SCENARIO_REGION_SIZE;
      const gpaLo = this.rd32(at);
      const gpaHi = this.rd32(at + 0x04);
      const sizeLo = this.rd32(at + 0x08);
      const sizeHi = this.rd32(at + 0x0c);
      const hpaLo = this.rd32(at + 0x10);
      const hpaHi = this.rd32(at + 0x14);
      const flags = this.rd32(at + 0x18);
      if (gpaHi >= ADDR_HI_LIMIT || sizeHi >= ADDR_HI_LIMIT || hpaHi >= ADDR_HI_LIMIT) return this.failItem(SCN_E_REGION_RANGE, i, ITEM_REGION, k);
      const gpa = gpaHi * TWO32 + gpaLo;
      const size = sizeHi * TWO32 + sizeLo;
      const hpa = hpaHi * TWO32 + hpaLo;
      if (gpa + size > ADDR_HI_LIMIT * TWO32 || hpa + size > ADDR_HI_LIMIT * TWO32) return this.failItem(SCN_E_REGION_RANGE, i, ITEM_REGION, k);
      if (gpa % 4096 !== 0 || size % 4096 !== 0 || hpa % 4096 !== 0) return this.failItem(SCN_E_REGION_ALIGN, i, ITEM_REGION, k);
      if (size === 0) return this.failItem(SCN_E_REGION_SIZE, i, ITEM_REGION, k);
      const fixed = flags === SCN_REGION_HPA_FIXED;
      if ((flags !== 0 && !fixed) || this.rd32(at + 0x1c) !== 0 || (!fixed && hpa !== 0)) {
        return this.failItem(SCN_E_REGION_FLAGS, i, ITEM_REGION, k);
      }
      if (fixed && vm.loadOrder !== SCN_PRE_LAUNCHED) return this.failItem(SCN_E_REGION_HPA, i, ITEM_REGION, k);
      for (let j = 0; j < k; j++) {
        if (gpa < vm.regionGpa(j) + vm.regionSize(j) && vm.regionGpa(j) < gpa + size) return this.failItem(SCN_E_REGION_OVERLAP, i, ITEM_REGION, k);
      }
      if (fixed && this.fixedHpaOverlaps(vm, hpa, size)) return this.failItem(SCN_E_REGION_HPA_OVERLAP, i, ITEM_REGION, k);
      vm.setRegion(k, gpa, size, hpa, flags);
    }
    return true;
  }

  /** True when [hpa, hpa + size) overlaps a fixed region read so far (this VM's included). */
  private fixedHpaOverlaps(vm: ScenarioVm, hpa: number, size: number): boolean {
    for (let j = 0; j <= vm.index; j++) {
      const other = this.vms[j];
      for (let k = 0; k < other.regionCount; k++) {
        if (other.regionHpaFixed(k) && hpa < other.regionHpa(k) + other.regionSize(k) && other.regionHpa(k) < hpa + size) return true;
      }
    }
    return false;
  }

  private readVuarts(vm: ScenarioVm, first: number, count: number, expectFirst: number, vmCount: number): boolean {
    const i = vm.index;
    if (first !== expectFirst || count > SCENARIO_MAX_VUARTS || first + count > this.vuartTotal) return this.failVm(SCN_E_VUART_LIST, i);
    for (let k = 0; k < count; k++) {
      const at = this.vuartTable + (first + k) * SCENARIO_VUART_SIZE;
      const index = this.rd8(at);
      const type = this.rd8(at + 1);
      const base = this.rd16(at + 2);
      const irq = this.rd8(at + 4);
      const targetVm = this.rd8(at + 5);
      const targetVuart = this.rd8(at + 6);
      if (index >= SCENARIO_MAX_VUARTS) return this.failItem(SCN_E_VUART_INDEX, i, ITEM_VUART, k);
      if (vm.vuartSlot(index) >= 0) return this.failItem(SCN_E_VUART_DUPLICATE, i, ITEM_VUART, k);
      if (type === SCN_VUART_CONSOLE) {
        if (index !== 0 || targetVm !== SCN_NO_TARGET || targetVuart !== SCN_NO_TARGET) return this.failItem(SCN_E_VUART_CONSOLE, i, ITEM_VUART, k);
      } else if (type === SCN_VUART_CONNECTED) {
        if (index === 0 || targetVm >= vmCount || targetVm === i) return this.failItem(SCN_E_VUART_TARGET_VM, i, ITEM_VUART, k);
      } else return this.failItem(SCN_E_VUART_TYPE, i, ITEM_VUART, k);
      if (base < 1 || base > 0xfff8) return this.failItem(SCN_E_VUART_BASE, i, ITEM_VUART, k);
      if (irq < 1 || irq > 47 || irq === 2) return this.failItem(SCN_E_VUART_IRQ, i, ITEM_VUART, k);
      for (let j = 0; j < k; j++) {
        if (base < vm.vuartBase(j) + 8 && vm.vuartBase(j) < base + 8) return this.failItem(SCN_E_VUART_PORTS, i, ITEM_VUART, k);
      }
      if (this.rd8(at + 7) !== 0) return this.failItem(SCN_E_VUART_RESERVED, i, ITEM_VUART, k);
      vm.setVuart(k, index, type, base, irq, targetVm, targetVuart);
    }
    return true;
  }

  private readVpci(vm: ScenarioVm, first: number, count: number, expectFirst: number): boolean {
    const i = vm.index;
    if (first !== expectFirst || count > SCENARIO_MAX_VPCI || first + count > this.vpciTotal) return this.failVm(SCN_E_VPCI_LIST, i);
    for (let k = 0; k < count; k++) {
      const at = this.vpciTable + (first + k) * SCENARIO_VPCI_SIZE;
      const type = this.rd8(at);
      const vbdf = this.rd16(at + 2);
      const pbdf = this.rd16(at + 4);
      if (type === SCN_VPCI_HOSTBRIDGE) {
        if (vm.loadOrder !== SCN_PRE_LAUNCHED) return this.failItem(SCN_E_VPCI_HOSTBRIDGE, i, ITEM_VPCI, k);
        if (pbdf !== SCN_NO_BDF) return this.failItem(SCN_E_VPCI_PBDF, i, ITEM_VPCI, k);
      } else if (type === SCN_VPCI_PASSTHROUGH) {
        if (vm.loadOrder === SCN_SERVICE_VM) return this.failItem(SCN_E_VPCI_SERVICE, i, ITEM_VPCI, k);
        if (pbdf === SCN_NO_BDF) return this.failItem(SCN_E_VPCI_PBDF, i, ITEM_VPCI, k);
        for (let j = 0; j <= i; j++) {
          const other = this.vms[j];
          for (let d = 0; d < other.vpciCount; d++) {
            if (other.vpciType(d) === SCN_VPCI_PASSTHROUGH && other.vpciPbdf(d) === pbdf) return this.failItem(SCN_E_VPCI_PBDF_DUPLICATE, i, ITEM_VPCI, k);
          }
        }
      } else return this.failItem(SCN_E_VPCI_TYPE, i, ITEM_VPCI, k);
      for (let j = 0; j < k; j++) if (vm.vpciVbdf(j) === vbdf) return this.failItem(SCN_E_VPCI_VBDF_DUPLICATE, i, ITEM_VPCI, k);
      if (this.rd8(at + 1) !== 0 || this.rd16(at + 6) !== 0) return this.failItem(SCN_E_VPCI_RESERVED, i, ITEM_VPCI, k);
      vm.setVpci(k, type, vbdf, pbdf);
    }
    return true;
  }

  /** Every connected vuart's peer exists and is connected back to it. */
  private checkLinks(): boolean {
    for (let i = 0; i < this.vmCount; i++) {
      const vm = this.vms[i];
      for (let k = 0; k < vm.vuartCount; k++) {
        if (vm.vuartType(k) !== SCN_VUART_CONNECTED) continue;
        const peer = this.vms[vm.vuartTargetVm(k)];
        const slot = peer.vuartSlot(vm.vuartTargetVuart(k));
        if (slot < 0) return this.failItem(SCN_E_VUART_TARGET_MISSING, i, ITEM_VUART, k);
        if (peer.vuartType(slot) !== SCN_VUART_CONNECTED || peer.vuartTargetVm(slot) !== i || peer.vuartTargetVuart(slot) !== vm.vuartIndex(k)) {
          return this.failItem(SCN_E_VUART_ASYMMETRIC, i, ITEM_VUART, k);
        }
      }
    }
    return true;
  }
}

// ---- boot ------------------------------------------------------------------------------

export const SCENARIO_FROM_NONE = -1;
export const SCENARIO_FROM_DEFAULT = 0;
export const SCENARIO_FROM_MODULE = 1;

/**
 * The boot path: the GRUB module tagged `scenario` when there is one and it
 * reads well, else the built-in default. Logs which one and why; returns
 * SCENARIO_FROM_MODULE, SCENARIO_FROM_DEFAULT or (the default itself refused:
 * a build defect) SCENARIO_FROM_NONE.
 */
export function loadBootScenario(scenario: Scenario, module: ModuleSource, builtIn: BytesSource): number {
  const index = scenarioModuleByTag(SCENARIO_MODULE_TAG);
  if (index >= 0 && module.select(index)) {
    if (scenario.read(module)) {
      log.begin(LOG_INFO);
      log.str('scenario: read from GRUB module ');
      log.dec(index);
      log.end();
      scenario.printSummary(log, LOG_INFO);
      return SCENARIO_FROM_MODULE;
    }
    scenario.printError(log, LOG_ERROR);
    log.line(LOG_ERROR, 'scenario: the GRUB module is refused; using the built-in default');
  }
  if (scenario.read(builtIn)) {
    log.line(LOG_INFO, 'scenario: built-in default');
    scenario.printSummary(log, LOG_INFO);
    return SCENARIO_FROM_DEFAULT;
  }
  scenario.printError(log, LOG_ERROR);
  return SCENARIO_FROM_NONE;
}
