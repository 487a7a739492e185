// The per-VM I/O emulation registry (ACRN's io_emul.c): port ranges in ACRN's
// fixed per-VM slots (emul_pio[] indexed by PIC_PRIMARY_PIO_IDX ... in ACRN;
// PIO_SLOT_* here), then free slots for other emulated ports, and MMIO regions
// on a list sorted by base. Devices register at VM creation (init time);
// lookups on the exit path allocate nothing.
//
// An access nobody claims reads all ones and drops writes (ACRN's behaviour for
// pre-launched VMs; the Service VM never exits for ports it owns, and
// post-launched VMs' unclaimed accesses will go to the device model).
// An access of a width a device does not accept is logged and ignored.

import { LOG_WARN, log } from '../log';

/** A port-I/O device. `size` is 1, 2 or 4. */
export interface PioDevice {
  pioRead(port: number, size: number): number;
  pioWrite(port: number, size: number, value: number): void;
}

/**
 * An MMIO device. `size` is 1, 2, 4 or 8; 8-byte values as halves: a read
 * returns bits 31:0 and leaves bits 63:32 in mmioValueHi (0 for smaller reads).
 */
export interface MmioDevice {
  mmioRead(gpa: number, size: number): number;
  mmioValueHi: number;
  mmioWrite(gpa: number, size: number, hiHalf: number, loHalf: number): void;
}

/** ACRN's fixed port slots (EMUL_PIO_IDX): each device kind has its own. */
export const PIO_SLOT_PIC_PRIMARY = 0; // 0x20-0x21
export const PIO_SLOT_PIC_SECONDARY = 1; // 0xA0-0xA1
export const PIO_SLOT_PIC_ELCR = 2; // 0x4D0-0x4D1
export const PIO_SLOT_PCI_CFGADDR = 3; // 0xCF8, 4-byte accesses only
export const PIO_SLOT_PCI_CFGDATA = 4; // 0xCFC-0xCFF
export const PIO_SLOT_UART0 = 5; // vuart 0..3: slots 5..8
export const PIO_SLOT_PM1A = 9;
export const PIO_SLOT_RTC = 10; // 0x70-0x71
export const PIO_SLOT_KB = 11; // 0x60, 0x64
export const PIO_SLOT_CF9 = 12; // the reset control register
/** Slots below this are the fixed ones; registerPio() takes the free slots above. */
export const PIO_FIXED_SLOTS = 13;
export const MAX_PIO_RANGES = 32;
export const MAX_MMIO_REGIONS = 16;

/** Width masks: bit (size - 1) set when the device accepts accesses of that size. */
export const WIDTH_1 = 1;
export const WIDTH_2 = 2;
export const WIDTH_4 = 8;
export const WIDTH_ANY = WIDTH_1 | WIDTH_2 | WIDTH_4;

export class IoEmul {
  readonly portFirst = new Uint32Array(MAX_PIO_RANGES);
  /** Ports in the slot's range; 0 = the slot is free. */
  readonly portCount = new Uint32Array(MAX_PIO_RANGES);
  readonly portWidths = new Uint8Array(MAX_PIO_RANGES);
  readonly portDevices: (PioDevice | null)[] = [];
  /** Slots in use. */
  pioRanges = 0;

  /** MMIO regions sorted by base. */
  readonly mmioBase = new Float64Array(MAX_MMIO_REGIONS);
  readonly mmioSize = new Float64Array(MAX_MMIO_REGIONS);
  readonly mmioDevices: (MmioDevice | null)[] = [];
  mmioRegions = 0;

  /** Accesses nobody claimed, and accesses of a width the device refuses. */
  unclaimedReads = 0;
  unclaimedWrites = 0;
  badWidth = 0;
  /** The vCPU (index in its VM) whose access is being emulated (per-vCPU devices: the LAPIC page). */
  currentVcpu = 0;
  /** The owning VM's id, for reports. */
  readonly vmId: number;

  constructor(vmId = 0) {
    this.vmId = vmId;
    for (let i = 0; i < MAX_PIO_RANGES; i++) this.portDevices.push(null);
    for (let i = 0; i < MAX_MMIO_REGIONS; i++) this.mmioDevices.push(null);
  }

  /** Forget every registration (VM shutdown). */
  clear(): void {
    for (let i = 0; i < MAX_PIO_RANGES; i++) {
      this.portDevices[i] = null;
      this.portCount[i] = 0;
    }
    for (let i = 0; i < MAX_MMIO_REGIONS; i++) this.mmioDevices[i] = null;
    this.pioRanges = 0;
    this.mmioRegions = 0;
    this.unclaimedReads = 0;
    this.unclaimedWrites = 0;
    this.badWidth = 0;
  }

  /**
   * Claim ports [first, first + count) in `slot` (PIO_SLOT_*). False when the
   * slot is taken, out of range, or the ports overlap another slot's.
   */
  registerPioSlot(slot: number, first: number, count: number, widths: number, device: PioDevice): boolean {
    if (slot < 0 || slot >= MAX_PIO_RANGES || this.portCount[slot] !== 0) return false;
    if (count <= 0 || first < 0 || first + count > 0x10000) return false;
    for (let i = 0; i < MAX_PIO_RANGES; i++) {
      const n = this.portCount[i];
      if (n !== 0 && first < this.portFirst[i] + n && this.portFirst[i] < first + count) return false;
    }
    this.portFirst[slot] = first;
    this.portCount[slot] = count;
    this.portWidths[slot] = widths & 0xff;
    this.portDevices[slot] = device;
    this.pioRanges++;
    return true;
  }

  /** Claim ports [first, first + count) in the first free slot after the fixed ones. */
  registerPio(first: number, count: number, widths: number, device: PioDevice): boolean {
    for (let slot = PIO_FIXED_SLOTS; slot < MAX_PIO_RANGES; slot++) {
      if (this.portCount[slot] === 0) return this.registerPioSlot(slot, first, count, widths, device);
    }
    return false;
  }

  /** Give a slot back (device deinit). */
  unregisterPioSlot(slot: number): void {
    if (slot < 0 || slot >= MAX_PIO_RANGES || this.portCount[slot] === 0) return;
    this.portCount[slot] = 0;
    this.portDevices[slot] = null;
    this.pioRanges--;
  }

  /** Slot index of the range holding `port`, or -1. */
  findPio(port: number): number {
    for (let i = 0; i < MAX_PIO_RANGES; i++) {
      const n = this.portCount[i];
      if (n !== 0 && port >= this.portFirst[i] && port < this.portFirst[i] + n) return i;
    }
    return -1;
  }

  /**
   * An access of a width the device does not take: ignored, logged the first
   * time for this VM (a guest could repeat it without end), counted always.
   */
  refuseWidth(address: number, size: number, isPort: boolean): void {
    if (this.badWidth === 0) {
      log.begin(LOG_WARN);
      log.str('vm');
      log.dec(this.vmId);
      log.str(isPort ? ': a ' : ': an MMIO ');
      log.dec(size);
      log.str(isPort ? '-byte access to port ' : '-byte access at ');
      log.hex(address, isPort ? 4 : 8);
      log.str(' is not a width its device takes: ignored (later ones are only counted)');
      log.end();
    }
    this.badWidth++;
  }

  /** Emulate an IN: the value read (all ones when unclaimed or refused). */
  pioRead(port: number, size: number): number {
    const ones = size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
    const slot = this.findPio(port);
    if (slot < 0) {
      this.unclaimedReads++;
      return ones;
    }
    if ((this.portWidths[slot] & (1 << (size - 1))) === 0) {
      this.refuseWidth(port, size, true);
      return ones;
    }
    return ((this.portDevices[slot] as PioDevice).pioRead(port, size) & ones) >>> 0;
  }

  /** Emulate an OUT (dropped when unclaimed or refused). */
  pioWrite(port: number, size: number, value: number): void {
    const slot = this.findPio(port);
    if (slot < 0) {
      this.unclaimedWrites++;
      return;
    }
    if ((this.portWidths[slot] & (1 << (size - 1))) === 0) {
      this.refuseWidth(port, size, true);
      return;
    }
    (this.portDevices[slot] as PioDevice).pioWrite(port, size, value);
  }

  /** Claim [base, base + size); kept sorted by base. False when full or overlapping. */
  registerMmio(base: number, size: number, device: MmioDevice): boolean {
    const n = this.mmioRegions;
    if (n === MAX_MMIO_REGIONS || size <= 0) return false;
    let at = n;
    for (let i = 0; i < n; i++) {
      if (base < this.mmioBase[i] + this.mmioSize[i] && this.mmioBase[i] < base + size) return false;
      if (at === n && base < this.mmioBase[i]) at = i;
    }
    for (let i = n; i > at; i--) {
      this.mmioBase[i] = this.mmioBase[i - 1];
      this.mmioSize[i] = this.mmioSize[i - 1];
      this.mmioDevices[i] = this.mmioDevices[i - 1];
    }
    this.mmioBase[at] = base;
    this.mmioSize[at] = size;
    this.mmioDevices[at] = device;
    this.mmioRegions = n + 1;
    return true;
  }

  /** Slot of the region holding [gpa, gpa + size), or -1 (binary search). */
  findMmio(gpa: number, size: number): number {
    let lo = 0;
    let hiIndex = this.mmioRegions - 1;
    while (lo <= hiIndex) {
      const mid = (lo + hiIndex) >>> 1;
      const base = this.mmioBase[mid];
      if (gpa < base) hiIndex = mid - 1;
      else if (gpa >= base + this.mmioSize[mid]) lo = mid + 1;
      else return gpa + size <= base + this.mmioSize[mid] ? mid : -1;
    }
    return -1;
  }

  mmioDevice(slot: number): MmioDevice {
    return this.mmioDevices[slot] as MmioDevice;
  }
}
