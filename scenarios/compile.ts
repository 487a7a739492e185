// The scenario tool's core: validate a scenario (scenarios/types.ts, from a
// TypeScript module or JSON, so every field is checked as untrusted data)
// against its board and module list, then encode the binary image of
// scenarios/FORMAT.md. Pure functions, no Node APIs: tools/scenario.mjs is the
// command line around them and the unit tests call them directly.
//
// Every error is one line naming the VM and the field. The rules are ACRN's
// where ACRN has one:
//   - hypervisor/include/arch/x86/asm/vm_config.h: the severities, load orders,
//     kernel types, MAX_MOD_TAG_LEN, CONFIG_SERVICE_VM = SEVERITY_SERVICE_VM;
//   - misc/hv_prebuild/vm_cfg_checks.c (sanitize_vm_config): a non-empty
//     affinity inside the platform's pCPUs; the Service VM has
//     SEVERITY_SERVICE_VM (v2.x); a post-launched VM is neither
//     SEVERITY_SAFETY_VM nor SEVERITY_SERVICE_VM; a connected vuart targets
//     another, existing VM;
//   - misc/config_tools/schema/checks/vm_types.xsd: at most one Service VM;
//     pre-launched VMs have lower VM ids than the Service VM, post-launched
//     VMs higher; at most one pre-launched RTVM; pre- and post-launched RTVMs
//     do not coexist;
//   - cpu_assignment.xsd: every pCPU in an affinity exists on the board; an
//     RTVM's pCPUs are not shared with another VM; pCPU 0 is not an RTVM's;
//   - vm_memory.xsd: the VMs' memory fits in the host's;
//   - vuart_config.xsd: a VM's vuart is not connected to itself.
// Ours: memory regions are page aligned and do not overlap (within a VM, and
// fixed host ranges between VMs), a fixed HPA lies in usable host RAM outside
// the hypervisor's reservations, a pre-launched VM's RAM avoids the holes of
// its e820 template (ACRN-ABI.md), connections are symmetric, modules exist.
import {
  CONFIG_MAX_VM_NUM, KERNEL_TYPES, LOAD_ORDERS, MAX_BOOTARGS_LEN, MAX_MODULE_TAG_LEN, MAX_PCPUS, MAX_REGIONS_PER_VM,
  MAX_VCPUS_PER_VM, MAX_VM_NAME_LEN, MAX_VPCI_PER_VM, MAX_VUARTS_PER_VM, SEVERITIES,
  type HostRangeType, type KernelType, type LoadOrder, type Severity,
} from './types';

// ---- the binary format (scenarios/FORMAT.md) ---------------------------------------

export const SCN_MAGIC = [0x41, 0x43, 0x53, 0x43]; // "ACSC"
export const SCN_VERSION = 1;
export const SCN_HEADER_SIZE = 64;
export const SCN_VM_SIZE = 80;
export const SCN_REGION_SIZE = 32;
export const SCN_VUART_SIZE = 8;
export const SCN_VPCI_SIZE = 8;
export const SCN_MAX_BYTES = 16384;
export const SCN_CRC_AT = 0x0c;
export const REGION_HPA_FIXED = 1;
export const VUART_CONSOLE = 0;
export const VUART_CONNECTED = 1;
export const VPCI_HOSTBRIDGE = 1;
export const VPCI_PASSTHROUGH = 2;
export const NO_BDF = 0xffff;
export const NO_TARGET = 0xff;

const PAGE = 0x1000;
const TWO32 = 0x100000000;
/** Physical addresses stay below 2^52 (the architectural MAXPHYADDR limit). */
export const ADDR_LIMIT = 2 ** 52;
/** The pre-launched e820 template's holes (ACRN-ABI.md): ACPI tables at 0x7FE00000-0x7FFFFFFF, PCI hole 2-4 GiB. */
export const PRE_GPA_HOLE_START = 0x7fe00000;
export const PRE_GPA_HOLE_END = 0x100000000;
const HOST_RANGE_TYPES: HostRangeType[] = ['usable', 'reserved', 'acpi', 'nvs', 'unusable'];

/** CRC-32 (IEEE 802.3, as zlib: reflected, polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF). */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of bytes[0, length) with the 4 bytes at `skipAt` read as zero (-1: none). */
export function crc32(bytes: Uint8Array, length: number, skipAt = -1): number {
  let crc = 0xffffffff;
  for (let i = 0; i < length; i++) {
    const b = skipAt >= 0 && i >= skipAt && i < skipAt + 4 ? 0 : bytes[i];
    crc = CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Recompute and store the image's checksum (for tools and tests that edit an image). */
export function sealImage(bytes: Uint8Array): void {
  const total = bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (bytes[11] << 24);
  const crc = crc32(bytes, Math.min(total >>> 0, bytes.length), SCN_CRC_AT);
  for (let i = 0; i < 4; i++) bytes[SCN_CRC_AT + i] = (crc >>> (8 * i)) & 0xff;
}

// ---- the normalized model the encoder takes --------------------------------------

export interface NRegion { gpa: number; size: number; hpa: number; fixed: boolean }
export interface NVuart { index: number; type: number; base: number; irq: number; targetVm: number; targetVuart: number }
export interface NVpci { type: number; vbdf: number; pbdf: number }
export interface NVm {
  name: string;
  loadOrder: number;
  severity: number;
  kernelType: number;
  vcpus: number;
  affinity: number;
  kernelModule: string;
  ramdisk: string;
  bootargs: string;
  loadGpa: number;
  entryGpa: number;
  ramdiskGpa: number;
  regions: NRegion[];
  vuarts: NVuart[];
  vpci: NVpci[];
}
export interface NScenario { name: string; pcpus: number; vms: NVm[] }

export interface CompileResult {
  errors: string[];
  image: Uint8Array | null;
  model: NScenario | null;
}

// ---- small validators ------------------------------------------------------------

const hex = (v: number): string => `0x${v.toString(16)}`;
const range = (base: number, size: number): string => `[${hex(base)}-${hex(base + size - 1)}]`;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A number from a scenario or board: a non-negative integer below 2^53, or a
 * string "0x..." / decimal with an optional K, M or G (binary) suffix. NaN when bad.
 */
export function parseNumber(v: unknown): number {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : NaN;
  if (typeof v !== 'string') return NaN;
  const m = /^\s*(0x[0-9a-f]+|\d+)\s*([kmg]i?b?)?\s*$/i.exec(v);
  if (m === null) return NaN;
  const base = m[1].toLowerCase().startsWith('0x') ? parseInt(m[1].slice(2), 16) : parseInt(m[1], 10);
  const unit = m[2] === undefined ? 1 : 1024 ** (1 + 'kmg'.indexOf(m[2][0].toLowerCase()));
  const n = base * unit;
  return Number.isSafeInteger(n) ? n : NaN;
}

/** "bb:dd.f" (hex) -> bus << 8 | dev << 3 | fn, or -1. */
export function parseBdf(v: unknown): number {
  if (typeof v !== 'string') return -1;
  const m = /^([0-9a-f]{1,2}):([0-9a-f]{1,2})\.([0-7])$/i.exec(v.trim());
  if (m === null) return -1;
  const bus = parseInt(m[1], 16), dev = parseInt(m[2], 16), fn = parseInt(m[3], 16);
  return dev > 31 ? -1 : (bus << 8) | (dev << 3) | fn;
}

export function formatBdf(bdf: number): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${h(bdf >> 8, 2)}:${h((bdf >> 3) & 31, 2)}.${bdf & 7}`;
}

const printable = (s: string): boolean => /^[\x20-\x7e]*$/.test(s);
const isTag = (s: string): boolean => /^[\x21-\x7e]+$/.test(s);

/** Bits set in a mask below 2^53, ascending. */
function maskBits(mask: number): number[] {
  const bits: number[] = [];
  let v = mask;
  for (let bit = 0; v > 0; bit++) {
    if (v % 2 === 1) bits.push(bit);
    v = Math.floor(v / 2);
  }
  return bits;
}

const overlaps = (a: number, as: number, b: number, bs: number): boolean => a < b + bs && b < a + as;

// ---- the board -------------------------------------------------------------------

interface NBoard {
  name: string;
  pcpus: number;
  usable: { base: number; size: number }[];
  reserved: { base: number; size: number; what: string }[];
  modules: string[] | null;
  pciDevices: number[] | null;
}

function checkBoard(b: unknown, errors: string[]): NBoard | null {
  if (!isObject(b)) {
    errors.push('board: none given (give `board` in the scenario or pass --board <file>)');
    return null;
  }
  const out: NBoard = { name: '', pcpus: 0, usable: [], reserved: [], modules: null, pciDevices: null };
  if (typeof b.name !== 'string' || b.name.length === 0 || b.name.length > 63 || !printable(b.name)) {
    errors.push('board: name: not 1-63 printable characters');
  } else out.name = b.name;
  const pcpus = parseNumber(b.pcpus);
  if (!(pcpus >= 1 && pcpus <= MAX_PCPUS)) errors.push(`board: pcpus: ${String(b.pcpus)} is not 1-${MAX_PCPUS}`);
  else out.pcpus = pcpus;
  if (!Array.isArray(b.memory) || b.memory.length === 0) {
    errors.push('board: memory: not a non-empty list of {base, size, type} ranges');
  } else {
    b.memory.forEach((r: unknown, i: number) => {
      const base = isObject(r) ? parseNumber(r.base) : NaN;
      const size = isObject(r) ? parseNumber(r.size) : NaN;
      const type = isObject(r) ? r.type : undefined;
      if (Number.isNaN(base) || Number.isNaN(size) || size === 0 || base + size > ADDR_LIMIT) {
        errors.push(`board: memory[${i}]: base and size must be numbers, size non-zero, below 2^52`);
      } else if (!HOST_RANGE_TYPES.includes(type as HostRangeType)) {
        errors.push(`board: memory[${i}]: type ${JSON.stringify(type)} is not one of ${HOST_RANGE_TYPES.join(', ')}`);
      } else if (type === 'usable') {
        out.usable.push({ base, size });
      }
    });
    out.usable.sort((x, y) => x.base - y.base);
    // Merge touching or overlapping usable ranges.
    const merged: { base: number; size: number }[] = [];
    for (const r of out.usable) {
      const last = merged[merged.length - 1];
      if (last !== undefined && r.base <= last.base + last.size) {
        last.size = Math.max(last.base + last.size, r.base + r.size) - last.base;
      } else merged.push({ ...r });
    }
    out.usable = merged;
  }
  if (b.reserved !== undefined) {
    if (!Array.isArray(b.reserved)) errors.push('board: reserved: not a list of {base, size, what}');
    else {
      b.reserved.forEach((r: unknown, i: number) => {
        const base = isObject(r) ? parseNumber(r.base) : NaN;
        const size = isObject(r) ? parseNumber(r.size) : NaN;
        if (Number.isNaN(base) || Number.isNaN(size) || size === 0) errors.push(`board: reserved[${i}]: base and size must be numbers, size non-zero`);
        else out.reserved.push({ base, size, what: isObject(r) && typeof r.what === 'string' ? r.what : 'reserved' });
      });
    }
  }
  if (b.modules !== undefined) {
    if (!Array.isArray(b.modules) || !b.modules.every((m) => typeof m === 'string')) errors.push('board: modules: not a list of module tags');
    else out.modules = b.modules as string[];
  }
  if (b.pciDevices !== undefined) {
    if (!Array.isArray(b.pciDevices)) errors.push('board: pciDevices: not a list of "bb:dd.f"');
    else {
      out.pciDevices = [];
      b.pciDevices.forEach((d: unknown, i: number) => {
        const bdf = parseBdf(d);
        if (bdf < 0) errors.push(`board: pciDevices[${i}]: ${JSON.stringify(d)} is not a BDF "bb:dd.f"`);
        else out.pciDevices?.push(bdf);
      });
    }
  }
  return out;
}

// ---- one VM ----------------------------------------------------------------------

interface VmDraft {
  n: NVm;
  where: string;
  /** vuart targets by name, resolved once every VM is known. */
  targets: ({ vm: string; vuart: number } | null)[];
  vuartWhere: string[];
  regionWhere: string[];
}

function checkVm(v: unknown, i: number, board: NBoard | null, errors: string[]): VmDraft {
  const n: NVm = {
    name: '', loadOrder: -1, severity: 0, kernelType: 0, vcpus: 0, affinity: 0, kernelModule: '', ramdisk: '', bootargs: '',
    loadGpa: 0, entryGpa: 0, ramdiskGpa: 0, regions: [], vuarts: [], vpci: [],
  };
  const rawName = isObject(v) && typeof v.name === 'string' ? v.name : '';
  const where = `VM "${rawName}" (vm ${i})`;
  const draft: VmDraft = { n, where, targets: [], vuartWhere: [], regionWhere: [] };
  const err = (field: string, text: string) => errors.push(`${where}: ${field}: ${text}`);
  if (!isObject(v)) {
    errors.push(`vms[${i}]: not an object`);
    return draft;
  }
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(rawName)) err('name', `${JSON.stringify(v.name)} is not 1-${MAX_VM_NAME_LEN} characters of [A-Za-z0-9_.-]`);
  n.name = rawName;

  if (typeof v.loadOrder === 'string' && v.loadOrder in LOAD_ORDERS) n.loadOrder = LOAD_ORDERS[v.loadOrder as LoadOrder];
  else err('loadOrder', `bad load order ${JSON.stringify(v.loadOrder)} (PRE_LAUNCHED_VM, SERVICE_VM or POST_LAUNCHED_VM)`);
  if (typeof v.severity === 'string' && v.severity in SEVERITIES) n.severity = SEVERITIES[v.severity as Severity];
  else err('severity', `bad severity ${JSON.stringify(v.severity)} (${Object.keys(SEVERITIES).join(', ')})`);

  // pCPUs and vCPUs.
  const affinity = parseNumber(v.cpuAffinity);
  const pcpus = board?.pcpus ?? 0;
  let affinityBits: number[] = [];
  if (Number.isNaN(affinity) || affinity === 0) {
    err('cpuAffinity', `${JSON.stringify(v.cpuAffinity)} is not a non-empty pCPU bit mask`);
  } else {
    n.affinity = affinity;
    affinityBits = maskBits(affinity);
    const missing = affinityBits.find((bit) => bit >= pcpus);
    if (board !== null && missing !== undefined) {
      err('cpuAffinity', `${hex(affinity)} names pCPU ${missing}, which does not exist (the board has ${pcpus} pCPUs)`);
    }
  }
  const vcpus = v.vcpus === undefined ? affinityBits.length : parseNumber(v.vcpus);
  if (!(vcpus >= 1 && vcpus <= MAX_VCPUS_PER_VM)) {
    err('vcpus', `${String(v.vcpus)} is not 1-${MAX_VCPUS_PER_VM} (MAX_VCPUS_PER_VM)`);
  } else {
    n.vcpus = vcpus;
    if (board !== null && vcpus > pcpus) err('vcpus', `more vCPUs (${vcpus}) than pCPUs (the board has ${pcpus})`);
    else if (affinityBits.length > 0 && vcpus > affinityBits.length) {
      err('vcpus', `more vCPUs (${vcpus}) than pCPUs in cpuAffinity ${hex(n.affinity)} (${affinityBits.length})`);
    }
  }

  // Memory.
  if (v.memory !== undefined && !Array.isArray(v.memory)) err('memory', 'not a list of {gpa, size, hpa?} regions');
  const memory = Array.isArray(v.memory) ? v.memory : [];
  if (memory.length > MAX_REGIONS_PER_VM) err('memory', `${memory.length} regions, more than ${MAX_REGIONS_PER_VM}`);
  if (n.loadOrder === LOAD_ORDERS.PRE_LAUNCHED_VM && memory.length === 0) err('memory', 'a pre-launched VM needs at least one region');
  if (n.loadOrder === LOAD_ORDERS.SERVICE_VM && memory.length > 0) {
    err('memory', 'the Service VM gets the host memory map minus the hypervisor and the pre-launched VMs; give it no regions');
  }
  memory.slice(0, MAX_REGIONS_PER_VM).forEach((r: unknown, k: number) => {
    const f = `memory[${k}]`;
    if (!isObject(r)) return err(f, 'not an object {gpa, size, hpa?}');
    const gpa = parseNumber(r.gpa), size = parseNumber(r.size);
    const fixed = r.hpa !== undefined;
    const hpa = fixed ? parseNumber(r.hpa) : 0;
    if (Number.isNaN(gpa) || Number.isNaN(size) || Number.isNaN(hpa)) return err(f, 'gpa, size and hpa must be non-negative integers');
    if (size === 0) return err(f, 'size is zero');
    if (gpa % PAGE !== 0 || size % PAGE !== 0 || hpa % PAGE !== 0) return err(f, 'gpa, size and hpa must be multiples of 4 KiB');
    if (gpa + size > ADDR_LIMIT || hpa + size > ADDR_LIMIT) return err(f, `${range(fixed ? hpa : gpa, size)} reaches past 2^52`);
    if (fixed && n.loadOrder !== LOAD_ORDERS.PRE_LAUNCHED_VM) return err(`${f}.hpa`, 'a fixed host address is for pre-launched VMs only');
    if (n.loadOrder === LOAD_ORDERS.PRE_LAUNCHED_VM && overlaps(gpa, size, PRE_GPA_HOLE_START, PRE_GPA_HOLE_END - PRE_GPA_HOLE_START)) {
      return err(f, `GPA ${range(gpa, size)} overlaps the pre-launched e820 template's ACPI area and PCI hole ${range(PRE_GPA_HOLE_START, PRE_GPA_HOLE_END - PRE_GPA_HOLE_START)}`);
    }
    n.regions.forEach((o, j) => {
      if (overlaps(gpa, size, o.gpa, o.size)) err(f, `GPA ${range(gpa, size)} overlaps memory[${j}] ${range(o.gpa, o.size)}`);
      else if (fixed && o.fixed && overlaps(hpa, size, o.hpa, o.size)) err(f, `HPA ${range(hpa, size)} overlaps memory[${j}]'s ${range(o.hpa, o.size)}`);
    });
    if (fixed && board !== null) {
      if (!board.usable.some((u) => hpa >= u.base && hpa + size <= u.base + u.size)) {
        err(`${f}.hpa`, `${range(hpa, size)} is outside the host memory map (no usable RAM range holds it)`);
      }
      const res = board.reserved.find((x) => overlaps(hpa, size, x.base, x.size));
      if (res !== undefined) err(`${f}.hpa`, `${range(hpa, size)} overlaps ${res.what} ${range(res.base, res.size)}`);
    }
    n.regions.push({ gpa, size, hpa, fixed });
    draft.regionWhere.push(f);
  });

  // Kernel.
  if (n.loadOrder === LOAD_ORDERS.POST_LAUNCHED_VM) {
    if (v.kernel !== undefined) err('kernel', 'a post-launched VM is loaded by the device model; leave kernel out');
  } else if (n.loadOrder >= 0) {
    const k = v.kernel;
    if (!isObject(k)) err('kernel', 'missing: pre-launched VMs and the Service VM need {type, module, ...}');
    else {
      if (typeof k.type === 'string' && k.type in KERNEL_TYPES) n.kernelType = KERNEL_TYPES[k.type as KernelType];
      else err('kernel.type', `unknown kernel type ${JSON.stringify(k.type)} (bzImage, raw64 or elf)`);
      if (typeof k.module !== 'string' || !isTag(k.module) || k.module.length > MAX_MODULE_TAG_LEN) {
        err('kernel.module', `${JSON.stringify(k.module)} is not a module tag of 1-${MAX_MODULE_TAG_LEN} printable characters without spaces`);
      } else n.kernelModule = k.module;
      if (k.ramdisk !== undefined) {
        if (typeof k.ramdisk !== 'string' || !isTag(k.ramdisk) || k.ramdisk.length > MAX_MODULE_TAG_LEN) {
          err('kernel.ramdisk', `${JSON.stringify(k.ramdisk)} is not a module tag of 1-${MAX_MODULE_TAG_LEN} printable characters without spaces`);
        } else n.ramdisk = k.ramdisk;
      }
      if (k.bootargs !== undefined) {
        if (typeof k.bootargs !== 'string' || !printable(k.bootargs)) err('kernel.bootargs', 'not a string of printable ASCII');
        else if (k.bootargs.length > MAX_BOOTARGS_LEN) err('kernel.bootargs', `${k.bootargs.length} characters, more than ${MAX_BOOTARGS_LEN}`);
        else n.bootargs = k.bootargs;
      }
      const addr = (key: 'loadGpa' | 'entryGpa' | 'ramdiskGpa', dflt: number): number => {
        if (k[key] === undefined) return dflt;
        const a = parseNumber(k[key]);
        if (Number.isNaN(a) || a >= ADDR_LIMIT) {
          err(`kernel.${key}`, `${JSON.stringify(k[key])} is not an address below 2^52`);
          return 0;
        }
        if (a !== 0 && n.loadOrder === LOAD_ORDERS.PRE_LAUNCHED_VM && !n.regions.some((r) => a >= r.gpa && a < r.gpa + r.size)) {
          err(`kernel.${key}`, `${hex(a)} is outside the VM's memory`);
        }
        return a;
      };
      n.loadGpa = addr('loadGpa', k.type === 'raw64' ? 0x100000 : 0);
      n.entryGpa = addr('entryGpa', k.type === 'raw64' ? n.loadGpa : 0);
      n.ramdiskGpa = addr('ramdiskGpa', 0);
    }
  }

  // vUARTs.
  if (v.vuarts !== undefined && !Array.isArray(v.vuarts)) err('vuarts', 'not a list of vuarts');
  const vuarts = Array.isArray(v.vuarts) ? v.vuarts : [];
  if (vuarts.length > MAX_VUARTS_PER_VM) err('vuarts', `${vuarts.length} vuarts, more than ${MAX_VUARTS_PER_VM}`);
  vuarts.slice(0, MAX_VUARTS_PER_VM).forEach((u: unknown, k: number) => {
    const f = `vuarts[${k}]`;
    if (!isObject(u)) return err(f, 'not an object {index, type, base, irq, target?}');
    const index = parseNumber(u.index), base = parseNumber(u.base), irq = parseNumber(u.irq);
    if (!(index >= 0 && index < MAX_VUARTS_PER_VM)) return err(`${f}.index`, `${String(u.index)} is not 0-${MAX_VUARTS_PER_VM - 1}`);
    if (n.vuarts.some((o) => o.index === index)) return err(`${f}.index`, `vuart ${index} is configured twice`);
    if (!(base >= 1 && base <= 0xfff8)) return err(`${f}.base`, `${String(u.base)} is not an I/O port base 0x1-0xfff8`);
    if (!(irq >= 1 && irq <= 47) || irq === 2) return err(`${f}.irq`, `${String(u.irq)} is not an interrupt line 1 or 3-47`);
    const clash = n.vuarts.find((o) => overlaps(base, 8, o.base, 8));
    if (clash !== undefined) return err(`${f}.base`, `ports ${range(base, 8)} overlap vuart ${clash.index}'s ${range(clash.base, 8)}`);
    let type: number;
    let target: { vm: string; vuart: number } | null = null;
    if (u.type === 'console') {
      if (index !== 0) return err(`${f}.type`, 'the console is vuart 0 (vuart 1 and up connect VMs)');
      if (u.target !== undefined) return err(`${f}.target`, 'a console vuart has no target');
      type = VUART_CONSOLE;
    } else if (u.type === 'connected') {
      if (index === 0) return err(`${f}.type`, 'vuart 0 is the console; connect vuart 1 and up');
      const t = u.target;
      if (!isObject(t) || typeof t.vm !== 'string' || Number.isNaN(parseNumber(t.vuart))) {
        return err(`${f}.target`, 'not {vm: <name>, vuart: <index>}');
      }
      target = { vm: t.vm, vuart: parseNumber(t.vuart) };
      type = VUART_CONNECTED;
    } else return err(`${f}.type`, `${JSON.stringify(u.type)} is not console or connected`);
    n.vuarts.push({ index, type, base, irq, targetVm: NO_TARGET, targetVuart: NO_TARGET });
    draft.targets.push(target);
    draft.vuartWhere.push(f);
  });

  // vPCI.
  if (v.vpci !== undefined && !Array.isArray(v.vpci)) err('vpci', 'not a list of devices');
  const vpci = Array.isArray(v.vpci) ? v.vpci : [];
  if (vpci.length > MAX_VPCI_PER_VM) err('vpci', `${vpci.length} devices, more than ${MAX_VPCI_PER_VM}`);
  vpci.slice(0, MAX_VPCI_PER_VM).forEach((d: unknown, k: number) => {
    const f = `vpci[${k}]`;
    if (!isObject(d)) return err(f, 'not an object {type, ...}');
    let dev: NVpci;
    if (d.type === 'hostbridge') {
      if (n.loadOrder !== LOAD_ORDERS.PRE_LAUNCHED_VM) {
        return err(`${f}.type`, 'the emulated host bridge is for pre-launched VMs (the Service VM sees the physical one, the device model gives post-launched VMs theirs)');
      }
      const vbdf = d.vbdf === undefined ? 0 : parseBdf(d.vbdf);
      if (vbdf < 0) return err(`${f}.vbdf`, `${JSON.stringify(d.vbdf)} is not a BDF "bb:dd.f"`);
      dev = { type: VPCI_HOSTBRIDGE, vbdf, pbdf: NO_BDF };
    } else if (d.type === 'passthrough') {
      if (n.loadOrder === LOAD_ORDERS.SERVICE_VM) return err(`${f}.type`, 'the Service VM owns every device not passed through to another VM');
      const pbdf = parseBdf(d.pbdf);
      if (pbdf < 0 || pbdf === NO_BDF) return err(`${f}.pbdf`, `${JSON.stringify(d.pbdf)} is not a BDF "bb:dd.f"`);
      const vbdf = d.vbdf === undefined ? pbdf : parseBdf(d.vbdf);
      if (vbdf < 0) return err(`${f}.vbdf`, `${JSON.stringify(d.vbdf)} is not a BDF "bb:dd.f"`);
      if (board !== null && board.pciDevices !== null && !board.pciDevices.includes(pbdf)) {
        return err(`${f}.pbdf`, `${formatBdf(pbdf)} is not a PCI device of the board`);
      }
      dev = { type: VPCI_PASSTHROUGH, vbdf, pbdf };
    } else return err(`${f}.type`, `${JSON.stringify(d.type)} is not hostbridge or passthrough`);
    const twin = n.vpci.findIndex((o) => o.vbdf === dev.vbdf);
    if (twin >= 0) return err(`${f}.vbdf`, `${formatBdf(dev.vbdf)} is also vpci[${twin}]'s`);
    n.vpci.push(dev);
  });
  return draft;
}

// ---- the whole scenario ----------------------------------------------------------

export interface CompileOptions {
  /** Replaces the scenario's own board (--board). */
  board?: unknown;
  /** Module tags the boot medium provides (--modules); else the board's list, if any. */
  modules?: string[];
}

/** Validate `input` and encode it. `errors` is empty exactly when `image` is not null. */
export function compileScenario(input: unknown, options: CompileOptions = {}): CompileResult {
  const errors: string[] = [];
  const fail = (): CompileResult => ({ errors, image: null, model: null });
  if (!isObject(input)) {
    errors.push('scenario: not an object {name, board?, vms}');
    return fail();
  }
  const name = typeof input.name === 'string' ? input.name : '';
  if (!/^[\x20-\x7e]{1,31}$/.test(name)) errors.push('scenario: name: not 1-31 printable characters');
  const board = checkBoard(options.board !== undefined ? options.board : input.board, errors);
  if (!Array.isArray(input.vms) || input.vms.length === 0) {
    errors.push('scenario: vms: not a non-empty list of VMs');
    return fail();
  }
  if (input.vms.length > CONFIG_MAX_VM_NUM) {
    errors.push(`scenario: vms: ${input.vms.length} VMs, more than CONFIG_MAX_VM_NUM (${CONFIG_MAX_VM_NUM})`);
    return fail();
  }
  const drafts = input.vms.map((v, i) => checkVm(v, i, board, errors));
  const vms = drafts.map((d) => d.n);

  // Names.
  vms.forEach((vm, i) => {
    const first = vms.findIndex((o) => o.name === vm.name);
    if (vm.name !== '' && first < i) errors.push(`${drafts[i].where}: name: duplicate VM name, also vm ${first}'s`);
  });

  // Load orders and severities.
  const PRE = LOAD_ORDERS.PRE_LAUNCHED_VM, SERVICE = LOAD_ORDERS.SERVICE_VM, POST = LOAD_ORDERS.POST_LAUNCHED_VM;
  const services = vms.map((vm, i) => (vm.loadOrder === SERVICE ? i : -1)).filter((i) => i >= 0);
  services.slice(1).forEach((i) => errors.push(`${drafts[i].where}: loadOrder: a second Service VM (vm ${services[0]} is one); at most one`));
  const sos = services.length > 0 ? services[0] : -1;
  vms.forEach((vm, i) => {
    const w = drafts[i].where;
    if (sos >= 0 && vm.loadOrder === PRE && i > sos) errors.push(`${w}: loadOrder: a pre-launched VM must come before the Service VM (vm ${sos})`);
    if (sos >= 0 && vm.loadOrder === POST && i < sos) errors.push(`${w}: loadOrder: a post-launched VM must come after the Service VM (vm ${sos})`);
    if (sos < 0 && vm.loadOrder === POST) errors.push(`${w}: loadOrder: a post-launched VM needs a Service VM (its device model launches it)`);
    if (vm.loadOrder === SERVICE && vm.severity !== 0 && vm.severity !== SEVERITIES.SEVERITY_SERVICE_VM) {
      errors.push(`${w}: severity: the Service VM's severity is SEVERITY_SERVICE_VM`);
    }
    if (vm.loadOrder >= 0 && vm.loadOrder !== SERVICE && vm.severity === SEVERITIES.SEVERITY_SERVICE_VM) {
      errors.push(`${w}: severity: SEVERITY_SERVICE_VM is the Service VM's alone`);
    }
    if (vm.loadOrder === POST && vm.severity === SEVERITIES.SEVERITY_SAFETY_VM) {
      errors.push(`${w}: severity: a post-launched VM cannot be SEVERITY_SAFETY_VM`);
    }
  });
  const safety = vms.map((vm, i) => (vm.severity === SEVERITIES.SEVERITY_SAFETY_VM ? i : -1)).filter((i) => i >= 0);
  safety.slice(1).forEach((i) => errors.push(`${drafts[i].where}: severity: a second SEVERITY_SAFETY_VM (vm ${safety[0]} is one); at most one`));
  const rt = vms.map((vm, i) => (vm.severity === SEVERITIES.SEVERITY_RTVM ? i : -1)).filter((i) => i >= 0);
  const preRt = rt.filter((i) => vms[i].loadOrder === PRE);
  preRt.slice(1).forEach((i) => errors.push(`${drafts[i].where}: severity: a second pre-launched RTVM (vm ${preRt[0]} is one); at most one`));
  const postRt = rt.filter((i) => vms[i].loadOrder === POST);
  if (preRt.length > 0 && postRt.length > 0) {
    errors.push(`${drafts[postRt[0]].where}: severity: post-launched RTVMs cannot coexist with a pre-launched RTVM (vm ${preRt[0]})`);
  }
  rt.forEach((i) => {
    const bits = maskBits(vms[i].affinity);
    if (bits.includes(0)) errors.push(`${drafts[i].where}: cpuAffinity: pCPU 0 cannot belong to an RTVM`);
    vms.forEach((o, j) => {
      const shared = j !== i ? bits.find((b) => maskBits(o.affinity).includes(b)) : undefined;
      if (shared !== undefined) errors.push(`${drafts[i].where}: cpuAffinity: pCPU ${shared} of this RTVM is shared with vm ${j}`);
    });
  });

  // Fixed host memory between VMs, and the total.
  vms.forEach((vm, i) => vm.regions.forEach((r, k) => {
    if (!r.fixed) return;
    for (let j = 0; j < i; j++) {
      const k2 = vms[j].regions.findIndex((o) => o.fixed && overlaps(r.hpa, r.size, o.hpa, o.size));
      if (k2 >= 0) {
        const o = vms[j].regions[k2];
        errors.push(`${drafts[i].where}: ${drafts[i].regionWhere[k]}.hpa: ${range(r.hpa, r.size)} overlaps ${drafts[j].where} memory[${k2}] ${range(o.hpa, o.size)}`);
      }
    }
  }));
  if (board !== null && board.usable.length > 0) {
    let host = 0;
    for (const u of board.usable) {
      host += u.size;
      for (const x of board.reserved) {
        const lo = Math.max(u.base, x.base), hi = Math.min(u.base + u.size, x.base + x.size);
        if (hi > lo) host -= hi - lo;
      }
    }
    const asked = vms.reduce((sum, vm) => sum + vm.regions.reduce((s, r) => s + r.size, 0), 0);
    if (asked > host) {
      errors.push(`scenario: memory: the VMs ask for ${asked / 1048576} MiB, more than the ${Math.floor(host / 1048576)} MiB of host RAM outside the hypervisor's reservations`);
    }
  }

  // vuart connections: the target exists, is not this VM, and points back.
  vms.forEach((vm, i) => vm.vuarts.forEach((u, k) => {
    const t = drafts[i].targets[k];
    if (t === null) return;
    const f = `${drafts[i].where}: ${drafts[i].vuartWhere[k]}.target`;
    const j = vms.findIndex((o) => o.name === t.vm);
    if (j < 0) return errors.push(`${f}: VM "${t.vm}" does not exist`);
    if (j === i) return errors.push(`${f}: a vuart cannot be connected to its own VM`);
    const peer = vms[j].vuarts.findIndex((o) => o.index === t.vuart);
    if (peer < 0) return errors.push(`${f}: VM "${t.vm}" has no vuart ${t.vuart}`);
    const back = drafts[j].targets[peer];
    if (back === null || back.vm !== vm.name || back.vuart !== u.index) {
      return errors.push(`${f}: VM "${t.vm}" vuart ${t.vuart} is not connected back to vuart ${u.index} of this VM`);
    }
    u.targetVm = j;
    u.targetVuart = t.vuart;
  }));

  // Pass-through devices belong to one VM.
  vms.forEach((vm, i) => vm.vpci.forEach((d, k) => {
    if (d.type !== VPCI_PASSTHROUGH) return;
    for (let j = 0; j <= i; j++) {
      const twin = vms[j].vpci.findIndex((o, k2) => (j < i || k2 < k) && o.type === VPCI_PASSTHROUGH && o.pbdf === d.pbdf);
      if (twin >= 0) {
        errors.push(`${drafts[i].where}: vpci[${k}].pbdf: ${formatBdf(d.pbdf)} is already passed through to vm ${j}`);
        return;
      }
    }
  }));

  // Modules.
  const modules = options.modules ?? board?.modules ?? null;
  if (modules !== null) {
    vms.forEach((vm, i) => {
      if (vm.kernelModule !== '' && !modules.includes(vm.kernelModule)) {
        errors.push(`${drafts[i].where}: kernel.module: no module "${vm.kernelModule}" in the module list (${modules.join(', ') || 'empty'})`);
      }
      if (vm.ramdisk !== '' && !modules.includes(vm.ramdisk)) {
        errors.push(`${drafts[i].where}: kernel.ramdisk: no module "${vm.ramdisk}" in the module list (${modules.join(', ') || 'empty'})`);
      }
    });
  }

  if (errors.length > 0 || board === null) return fail();
  const model: NScenario = { name, pcpus: board.pcpus, vms };
  return { errors, image: encodeScenario(model), model };
}

// ---- encoding --------------------------------------------------------------------

class Writer {
  readonly bytes: Uint8Array;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }
  u8(at: number, v: number): void {
    this.bytes[at] = v & 0xff;
  }
  u16(at: number, v: number): void {
    this.u8(at, v);
    this.u8(at + 1, v >>> 8);
  }
  u32(at: number, v: number): void {
    for (let i = 0; i < 4; i++) this.u8(at + i, Math.floor(v / 256 ** i));
  }
  u64(at: number, v: number): void {
    this.u32(at, v % TWO32);
    this.u32(at + 4, Math.floor(v / TWO32));
  }
}

const align8 = (n: number): number => (n + 7) & ~7;

/** Encode a validated model (compileScenario's); throws if the image would pass 16 KiB. */
export function encodeScenario(s: NScenario): Uint8Array {
  // The string table: a NUL at offset 0 (the empty string), then each distinct string and its NUL.
  const strings = new Map<string, number>([['', 0]]);
  let strSize = 1;
  const intern = (text: string): void => {
    if (!strings.has(text)) {
      strings.set(text, strSize);
      strSize += text.length + 1;
    }
  };
  intern(s.name);
  for (const vm of s.vms) [vm.name, vm.kernelModule, vm.ramdisk, vm.bootargs].forEach(intern);

  const regions = s.vms.reduce((n, vm) => n + vm.regions.length, 0);
  const vuarts = s.vms.reduce((n, vm) => n + vm.vuarts.length, 0);
  const vpcis = s.vms.reduce((n, vm) => n + vm.vpci.length, 0);
  const vmOff = SCN_HEADER_SIZE;
  const regionOff = align8(vmOff + s.vms.length * SCN_VM_SIZE);
  const vuartOff = align8(regionOff + regions * SCN_REGION_SIZE);
  const vpciOff = align8(vuartOff + vuarts * SCN_VUART_SIZE);
  const strOff = align8(vpciOff + vpcis * SCN_VPCI_SIZE);
  const total = align8(strOff + strSize);
  if (total > SCN_MAX_BYTES) throw new Error(`scenario: the image would be ${total} bytes, more than ${SCN_MAX_BYTES}`);

  const w = new Writer(total);
  SCN_MAGIC.forEach((b, i) => w.u8(i, b));
  w.u16(0x04, SCN_VERSION);
  w.u16(0x06, SCN_HEADER_SIZE);
  w.u32(0x08, total);
  w.u16(0x10, s.vms.length);
  w.u16(0x12, SCN_VM_SIZE);
  w.u16(0x14, regions);
  w.u16(0x16, SCN_REGION_SIZE);
  w.u16(0x18, vuarts);
  w.u16(0x1a, SCN_VUART_SIZE);
  w.u16(0x1c, vpcis);
  w.u16(0x1e, SCN_VPCI_SIZE);
  w.u32(0x20, vmOff);
  w.u32(0x24, regionOff);
  w.u32(0x28, vuartOff);
  w.u32(0x2c, vpciOff);
  w.u32(0x30, strOff);
  w.u32(0x34, strSize);
  w.u16(0x38, s.pcpus);
  const str = (at: number, text: string): void => {
    w.u16(at, strings.get(text) ?? 0);
    w.u16(at + 2, text.length);
  };
  str(0x3c, s.name);

  let r = 0, u = 0, d = 0;
  s.vms.forEach((vm, i) => {
    const at = vmOff + i * SCN_VM_SIZE;
    str(at, vm.name);
    w.u8(at + 0x04, vm.loadOrder);
    w.u8(at + 0x05, vm.severity);
    w.u8(at + 0x06, vm.kernelType);
    w.u8(at + 0x07, vm.vcpus);
    w.u64(at + 0x08, vm.affinity);
    str(at + 0x10, vm.kernelModule);
    str(at + 0x14, vm.ramdisk);
    str(at + 0x18, vm.bootargs);
    w.u16(at + 0x1c, r);
    w.u16(at + 0x1e, vm.regions.length);
    w.u16(at + 0x20, u);
    w.u16(at + 0x22, vm.vuarts.length);
    w.u16(at + 0x24, d);
    w.u16(at + 0x26, vm.vpci.length);
    w.u64(at + 0x28, vm.loadGpa);
    w.u64(at + 0x30, vm.entryGpa);
    w.u64(at + 0x38, vm.ramdiskGpa);
    for (const reg of vm.regions) {
      const ra = regionOff + r++ * SCN_REGION_SIZE;
      w.u64(ra, reg.gpa);
      w.u64(ra + 0x08, reg.size);
      w.u64(ra + 0x10, reg.fixed ? reg.hpa : 0);
      w.u32(ra + 0x18, reg.fixed ? REGION_HPA_FIXED : 0);
    }
    for (const vu of vm.vuarts) {
      const ua = vuartOff + u++ * SCN_VUART_SIZE;
      w.u8(ua, vu.index);
      w.u8(ua + 1, vu.type);
      w.u16(ua + 2, vu.base);
      w.u8(ua + 4, vu.irq);
      w.u8(ua + 5, vu.targetVm);
      w.u8(ua + 6, vu.targetVuart);
    }
    for (const dev of vm.vpci) {
      const da = vpciOff + d++ * SCN_VPCI_SIZE;
      w.u8(da, dev.type);
      w.u16(da + 2, dev.vbdf);
      w.u16(da + 4, dev.pbdf);
    }
  });
  for (const [text, off] of strings) {
    for (let i = 0; i < text.length; i++) w.u8(strOff + off + i, text.charCodeAt(i));
  }
  sealImage(w.bytes);
  return w.bytes;
}

// ---- the built-in default as a TypeScript module ---------------------------------

/** hv/scenario-default.ts for `image`, compiled from `source`. */
export function emitDefaultModule(image: Uint8Array, source: string): string {
  const rows: string[] = [];
  for (let i = 0; i < image.length; i += 32) {
    rows.push(`  '${Array.from(image.subarray(i, i + 32), (b) => b.toString(16).padStart(2, '0')).join('')}',`);
  }
  return [
    '// GENERATED by tools/scenario.mjs from ' + source + ': do not edit.',
    '// The built-in default scenario image (scenarios/FORMAT.md), used when no',
    '// `scenario` GRUB module overrides it. Regenerate after changing the scenario:',
    '//   node tools/scenario.mjs ' + source + ' --emit-ts hv/scenario-default.ts',
    '// (test/unit/scenario-tool.test.ts fails while this file is stale.)',
    '',
    `export const SCENARIO_DEFAULT_SIZE = ${image.length};`,
    '/** The image, 32 bytes per row as hex. */',
    'export const SCENARIO_DEFAULT_HEX = [',
    ...rows,
    '];',
    '',
  ].join('\n');
}
