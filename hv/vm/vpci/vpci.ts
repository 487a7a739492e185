// The per-VM virtual PCI segment (ACRN hypervisor/dm/vpci/vpci.c): a fixed
// table of virtual functions by BDF, reached through configuration mechanism
// #1 (cfg-mech1.ts) and through ECAM (an MMIO window).
//
// BDF = bus << 8 | device << 3 | function (ACRN's union pci_bdf).
// ECAM (PCI Express Base Specification, "Enhanced Configuration Access
// Mechanism"): offset from the window base = bus << 20 | dev << 15 | fn << 12 | reg,
// 256 MiB for buses 0-255. Non-Service VMs get the window at 0xE0000000
// (ACRN's VIRT_PCI_MMCFG_BASE); the Service VM gets the physical MMCFG base.
//
// Routing, as ACRN's vpci_read_cfg / vpci_write_cfg (for pre-launched VMs and
// the Service VM; post-launched VMs' misses go to the device model, later):
//   - size 1, 2 or 4 and offset aligned to it (pci_is_valid_access), else the
//     read is all ones and the write dropped; ECAM 8-byte accesses are
//     invalid: ACRN returns a u32 ~0 in the 64-bit value, so lo = 0xFFFFFFFF
//     and hi = 0, and drops the write;
//   - a function not in the table reads all ones (vendor id 0xFFFF: "no
//     function here" to any PCI scan); writes to it are dropped and counted;
//   - otherwise the vdev's readCfg / writeCfg.
import type { MmioDevice } from '../io-emul';
import { PciCfgMech1, type PciCfgTarget, pciOnes, pciValidAccess } from './cfg-mech1';
import type { PciVdev } from './vdev';

/** Functions one VM's vPCI holds (ACRN's CONFIG_MAX_PCI_DEV_NUM is larger; enough for our scenarios). */
export const VPCI_MAX_VDEVS = 16;
export const ECAM_SIZE = 0x10000000;
export const VIRT_PCI_MMCFG_BASE = 0xe0000000;

/** bus:dev.fn as ACRN's union pci_bdf. */
export function pciBdf(bus: number, dev: number, fn: number): number {
  return ((bus & 0xff) << 8) | ((dev & 0x1f) << 3) | (fn & 7);
}

export class Vpci implements PciCfgTarget {
  readonly bdfs = new Int32Array(VPCI_MAX_VDEVS);
  readonly vdevs: (PciVdev | null)[] = [];
  count = 0;
  /** Config mechanism #1 ports (register addrPort at 0xCF8 WIDTH_4, dataPort at 0xCFC x4). */
  readonly mech1: PciCfgMech1;
  /** The ECAM window (register at ecam.base, ECAM_SIZE bytes). */
  readonly ecam: VpciEcam;
  /** Writes that found no function (ACRN logs them). */
  droppedWrites = 0;

  constructor(ecamBase: number) {
    for (let i = 0; i < VPCI_MAX_VDEVS; i++) {
      this.bdfs[i] = -1;
      this.vdevs.push(null);
    }
    this.mech1 = new PciCfgMech1(this);
    this.ecam = new VpciEcam(this, ecamBase);
  }

  /** Add a function at `bdf` (init time). False when the table is full or the BDF taken. */
  addVdev(bdf: number, vdev: PciVdev): boolean {
    const n = this.count;
    if (n === VPCI_MAX_VDEVS || bdf < 0 || bdf > 0xffff || this.find(bdf) >= 0) return false;
    this.bdfs[n] = bdf | 0;
    this.vdevs[n] = vdev;
    this.count = n + 1;
    return true;
  }

  /** Forget every function (VM shutdown, after deinit: the next create adds its own). */
  clearVdevs(): void {
    for (let i = 0; i < VPCI_MAX_VDEVS; i++) {
      this.bdfs[i] = -1;
      this.vdevs[i] = null;
    }
    this.count = 0;
  }

  /** Slot of the function at `bdf`, or -1. */
  find(bdf: number): number {
    const n = this.count;
    for (let i = 0; i < n; i++) if (this.bdfs[i] === bdf) return i;
    return -1;
  }

  /** The function at `bdf`, or null. */
  vdevAt(bdf: number): PciVdev | null {
    const slot = this.find(bdf);
    return slot < 0 ? null : this.vdevs[slot];
  }

  /** VM creation: every function's init (ACRN vpci_init_vdevs). */
  init(): void {
    this.mech1.reset();
    this.droppedWrites = 0;
    const n = this.count;
    for (let i = 0; i < n; i++) (this.vdevs[i] as PciVdev).init();
  }

  /** VM reset: functions back to their initial state, latch cleared. */
  reset(): void {
    this.deinit();
    this.init();
  }

  /** VM shutdown: every function's deinit (the table itself stays: it is the VM's configuration). */
  deinit(): void {
    const n = this.count;
    for (let i = 0; i < n; i++) (this.vdevs[i] as PciVdev).deinit();
    this.mech1.reset();
  }

  hasFunction(bdf: number): boolean {
    return this.find(bdf) >= 0;
  }

  cfgRead(bdf: number, offset: number, size: number): number {
    if (!pciValidAccess(offset, size)) return pciOnes(size);
    const slot = this.find(bdf);
    if (slot < 0) return pciOnes(size);
    return ((this.vdevs[slot] as PciVdev).readCfg(offset, size) & pciOnes(size)) >>> 0;
  }

  cfgWrite(bdf: number, offset: number, size: number, value: number): void {
    if (!pciValidAccess(offset, size)) return;
    const slot = this.find(bdf);
    if (slot < 0) {
      this.droppedWrites++;
      return;
    }
    (this.vdevs[slot] as PciVdev).writeCfg(offset, size, (value & pciOnes(size)) >>> 0);
  }
}

/** The ECAM window as an MMIO device (ACRN vpci_mmio_cfg_access). */
export class VpciEcam implements MmioDevice {
  readonly vpci: Vpci;
  readonly base: number;
  mmioValueHi = 0;

  constructor(vpci: Vpci, base: number) {
    this.vpci = vpci;
    this.base = base;
  }

  /** BDF of an address in the window (bits 27:12 of the offset). */
  bdfOf(gpa: number): number {
    return Math.floor((gpa - this.base) / 4096) & 0xffff;
  }

  /** Register number 11:0 of an address in the window. */
  regOf(gpa: number): number {
    return (gpa - this.base) & 0xfff;
  }

  mmioRead(gpa: number, size: number): number {
    this.mmioValueHi = 0;
    if (size === 8) return 0xffffffff;
    return this.vpci.cfgRead(this.bdfOf(gpa), this.regOf(gpa), size);
  }

  mmioWrite(gpa: number, size: number, _hiHalf: number, loHalf: number): void {
    if (size === 8) return;
    this.vpci.cfgWrite(this.bdfOf(gpa), this.regOf(gpa), size, loHalf);
  }
}
