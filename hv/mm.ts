// The host memory map as the boot loader reported it, and the host memory the
// hypervisor keeps for itself (image, Wasm window, stacks, page pool, boot
// modules), which no guest, the Service VM included, may ever see.
import { mmapCount, mmapField, poolPages, resvCount, resvField } from '../arch/x86/intrinsics';

export const MMAP_BASE = 0;
export const MMAP_LENGTH = 1;
export const MMAP_TYPE = 2;

/** Multiboot2 memory map types, which are the e820 types (ACPI "Address Range Types"). */
export const E820_RAM = 1;
export const E820_RESERVED = 2;
export const E820_ACPI = 3;
export const E820_NVS = 4;
export const E820_UNUSABLE = 5;

export const E820_TYPE_NAMES = ['unknown', 'usable', 'reserved', 'ACPI data', 'ACPI NVS', 'bad memory'];

export function e820TypeName(type: number): string {
  return type >= 1 && type <= 5 ? E820_TYPE_NAMES[type] : E820_TYPE_NAMES[0];
}

/** Kinds of hypervisor-reserved ranges (native/memmap.h MEMMAP_*; 0 is never valid). */
export const RESV_HV_IMAGE = 1;
export const RESV_MBI = 2;
export const RESV_MODULE = 3;
export const RESV_LOW_1M = 4;
export const RESV_WASM_WINDOW = 5;
export const RESV_PAGE_POOL = 6;
export const RESV_STACKS = 7;
export const RESV_TRAMPOLINE = 8;
export const RESV_GUEST_RAM = 9;

export const RESV_KIND_NAMES = [
  'unknown', 'hypervisor image', 'boot information', 'boot module', 'first MiB (BIOS, trampoline)',
  'TypeScript Wasm window', 'page pool', 'stacks', 'AP trampoline', 'RAM of a hypervisor-backed VM',
];

export function resvKindName(kind: number): string {
  return kind >= 1 && kind < RESV_KIND_NAMES.length ? RESV_KIND_NAMES[kind] : RESV_KIND_NAMES[0];
}

export function hostMapCount(): number {
  return mmapCount();
}
export function hostMapBase(i: number): number {
  return mmapField(i, MMAP_BASE);
}
export function hostMapLength(i: number): number {
  return mmapField(i, MMAP_LENGTH);
}
export function hostMapType(i: number): number {
  return mmapField(i, MMAP_TYPE);
}

/** Total bytes of usable RAM in the host map. */
export function hostRamBytes(): number {
  let total = 0;
  const n = mmapCount();
  for (let i = 0; i < n; i++) if (hostMapType(i) === E820_RAM) total += hostMapLength(i);
  return total;
}

export function reservedCount(): number {
  return resvCount();
}
export function reservedBase(i: number): number {
  return resvField(i, 0);
}
export function reservedSize(i: number): number {
  return resvField(i, 1);
}
export function reservedKind(i: number): number {
  return resvField(i, 2);
}

export function poolFreePages(): number {
  return poolPages(0);
}
export function poolTotalPages(): number {
  return poolPages(1);
}
