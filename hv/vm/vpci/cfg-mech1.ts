// PCI configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2;
// ACRN hypervisor/dm/vpci/vpci.c, vpci_pio_cfgaddr_* / vpci_pio_cfgdata_*).
//
// CONFIG_ADDRESS at 0xCF8, 32 bits:
//   31 enable | 30:24 reserved | 23:16 bus | 15:11 device | 10:8 function | 7:2 register | 1:0 = 0
// CONFIG_DATA at 0xCFC-0xCFF: a 1-, 2- or 4-byte access at 0xCFC + k reaches
// register (CONFIG_ADDRESS[7:2] << 2) + k of the addressed function.
//
// The address port is a one-port slot that handles 4-byte accesses only, as
// ACRN registers it: a dword OUT latches the value with bits 30:24 and 1:0
// cleared (val & ~0x7F000003), a dword IN returns the latch. Byte and word
// accesses to 0xCF8-0xCFB are not its business: register this adapter for
// port 0xCF8 alone with WIDTH_4 (io-emul.ts), so a byte OUT to 0xCF9 reaches
// the reset-control device registered there, and anything else unclaimed reads
// all ones. If it is reached with another width anyway, it reads all ones and
// ignores writes, as ACRN's handler does.
//
// The data ports do what ACRN's handlers do, exactly:
//   1. every access (read or write, any size, enable bit set or not) atomically
//      reads and CLEARS the latched address (atomic_readandclear32), so each
//      data access needs a fresh CF8 write: a second IN from 0xCFC without
//      one reads all ones;
//   2. with the enable bit clear: reads give all ones, writes are dropped;
//   3. offset = reg + (port - 0xCFC) must be aligned to the size and the size
//      1, 2 or 4 (pci_is_valid_access), else all ones / dropped (e.g. a word at
//      0xCFD or 0xCFF, a dword at 0xCFE);
//   4. otherwise the access goes to the target (bus:dev.fn, offset, size).
// Reads are returned masked to the access size (0xFF, 0xFFFF, 0xFFFFFFFF for
// all ones).

import type { PioDevice } from '../io-emul';

export const PCI_CONFIG_ADDR = 0xcf8;
export const PCI_CONFIG_DATA = 0xcfc;
export const CF8_ENABLE = 0x80000000;
/** Bits kept on a CF8 write: enable, bus, device, function, register 7:2. */
export const CF8_WRITABLE = 0x80fffffc;

/** Who answers configuration accesses (the vPCI): bdf = bus << 8 | dev << 3 | fn. */
export interface PciCfgTarget {
  /** The function exists (a vdev answers it). */
  hasFunction(bdf: number): boolean;
  cfgRead(bdf: number, offset: number, size: number): number;
  cfgWrite(bdf: number, offset: number, size: number, value: number): void;
}

/** All ones of an access size. */
export function pciOnes(size: number): number {
  return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
}

/** pci_is_valid_access: size 1, 2 or 4 and offset aligned to it. */
export function pciValidAccess(offset: number, size: number): boolean {
  return (size === 1 || size === 2 || size === 4) && (offset & (size - 1)) === 0;
}

export class PciCfgMech1 {
  readonly target: PciCfgTarget;
  /** The latched CONFIG_ADDRESS. */
  latch = 0;
  /**
   * Post-launched VMs: an access to a function the target does not have is
   * the device model's. It is recorded here (forwarded, fwd*) instead of
   * answered; the I/O exit turns it into a PCICFG request (io-exit.ts).
   */
  forward = false;
  forwarded = false;
  fwdBdf = 0;
  fwdOffset = 0;
  fwdValue = 0;
  /** Register this for port 0xCF8, count 1, WIDTH_4. */
  readonly addrPort: PciCfgAddrPort;
  /** Register this for ports 0xCFC-0xCFF, WIDTH_ANY. */
  readonly dataPort: PciCfgDataPort;

  constructor(target: PciCfgTarget) {
    this.target = target;
    this.addrPort = new PciCfgAddrPort(this);
    this.dataPort = new PciCfgDataPort(this);
  }

  reset(): void {
    this.latch = 0;
    this.forwarded = false;
  }

  /** Record an access for the device model; true when it is one (see `forward`). */
  private forwardAbsent(bdf: number, offset: number, value: number): boolean {
    if (!this.forward || this.target.hasFunction(bdf)) return false;
    this.forwarded = true;
    this.fwdBdf = bdf;
    this.fwdOffset = offset;
    this.fwdValue = value >>> 0;
    return true;
  }

  readAddr(port: number, size: number): number {
    if (port === PCI_CONFIG_ADDR && size === 4) return this.latch;
    return pciOnes(size);
  }

  writeAddr(port: number, size: number, value: number): void {
    if (port === PCI_CONFIG_ADDR && size === 4) this.latch = (value & CF8_WRITABLE) >>> 0;
  }

  /** Read-and-clear the latch; -1 when disabled or the access is invalid, else the offset. */
  takeOffset(port: number, size: number): number {
    const addr = this.latch;
    this.latch = 0;
    if ((addr & CF8_ENABLE) === 0) return -1;
    const offset = (addr & 0xfc) + (port - PCI_CONFIG_DATA);
    return pciValidAccess(offset, size) ? offset : -1;
  }

  readData(port: number, size: number): number {
    const addr = this.latch;
    const offset = this.takeOffset(port, size);
    if (offset < 0) return pciOnes(size);
    const bdf = (addr >>> 8) & 0xffff;
    if (this.forwardAbsent(bdf, offset, 0)) return 0;
    return (this.target.cfgRead(bdf, offset, size) & pciOnes(size)) >>> 0;
  }

  writeData(port: number, size: number, value: number): void {
    const addr = this.latch;
    const offset = this.takeOffset(port, size);
    if (offset < 0) return;
    const bdf = (addr >>> 8) & 0xffff;
    if (this.forwardAbsent(bdf, offset, (value & pciOnes(size)) >>> 0)) return;
    this.target.cfgWrite(bdf, offset, size, (value & pciOnes(size)) >>> 0);
  }
}

/** Port 0xCF8 (see the header: one port, 4-byte accesses). */
export class PciCfgAddrPort implements PioDevice {
  readonly mech: PciCfgMech1;

  constructor(mech: PciCfgMech1) {
    this.mech = mech;
  }

  pioRead(port: number, size: number): number {
    return this.mech.readAddr(port, size);
  }

  pioWrite(port: number, size: number, value: number): void {
    this.mech.writeAddr(port, size, value);
  }
}

/** Ports 0xCFC-0xCFF. */
export class PciCfgDataPort implements PioDevice {
  readonly mech: PciCfgMech1;

  constructor(mech: PciCfgMech1) {
    this.mech = mech;
  }

  pioRead(port: number, size: number): number {
    return this.mech.readData(port, size);
  }

  pioWrite(port: number, size: number, value: number): void {
    this.mech.writeData(port, size, value);
  }
}
