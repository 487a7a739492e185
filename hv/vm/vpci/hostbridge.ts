// The virtual host bridge at 00:00.0 for pre-launched VMs (ACRN
// hypervisor/dm/vpci/vhostbridge.c): Intel 8086:5AF0, the Celeron N3350 /
// Pentium N4200 / Atom E3900 (Apollo Lake) host bridge, revision 0x0B.
//
// Registers init() sets, the values of ACRN's init_vhostbridge:
//   0x00 vendor 0x8086, device 0x5AF0, 0x08 revision 0x0B
//   0x0B/0x0A/0x09 class 06 (bridge) / 00 (host) / 00
//   0x0E header type 0x80: type 0 layout with the multi-function bit, as ACRN
//        (PCIM_HDRTYPE_NORMAL | PCIM_MFDEV), so a scan probes functions 1-7
//   0x34 capabilities pointer 0xE0 (status bit 4 stays 0, as in ACRN, so
//        walkers that check it see no list), 0x3C interrupt line 0xE0
//   0x48 MCHBAR 0xFED10001   0x50 GGC 0x000002C1    0x54 DEVEN 0x00000033
//   0x58 PAVPC 0x7FF00007    0xA8 TOUUD 0x00000002_80000000
//   0xB0 BDSM 0x7C000001     0xB4 BGSM 0x7B800001   0xB8 TSEGMB 0x7B000001
//   0xBC TOLUD 0x80000001    0xE0 CAPID0 0x010C0009 0xF4 0x011C0F00
//   0x60 PCIEXBAR 0xE0000001 (the virtual ECAM base with its enable bit; a
//        Service VM's bridge would carry the physical PCIEXBAR: pass it in)
//
// Writes: ACRN stores every write except to the BARs (0x10-0x27) in the
// virtual space, IDs included. Here the read-only header fields stay
// read-only (IDs, revision, class, header type, status, capability pointer,
// BARs, subsystem IDs); command, cache line size, latency timer, interrupt
// line and the device-specific area 0x40-0xFF take writes as in ACRN. The
// status register is read-only (ACRN would store a write-1-to-clear as a 1).
import {
  PCIM_MFDEV, PCIR_CACHELINE, PCIR_CAP_PTR, PCIR_COMMAND, PCIR_INTLINE, PCIR_LATENCY, PciConfigSpace,
} from './vdev';

export const HOSTBRIDGE_VENDOR = 0x8086;
export const HOSTBRIDGE_DEVICE = 0x5af0;
export const HOSTBRIDGE_REVISION = 0x0b;
export const PCIC_BRIDGE = 0x06;
export const PCIS_BRIDGE_HOST = 0x00;
export const PCIEXBAR_OFFSET = 0x60;

/** [offset, dword] pairs of ACRN's init_vhostbridge (PCIEXBAR set separately). */
const HOSTBRIDGE_DWORDS = [
  0x48, 0xfed10001, 0x50, 0x000002c1, 0x54, 0x00000033, 0x58, 0x7ff00007,
  0xa8, 0x80000000, 0xac, 0x00000002, 0xb0, 0x7c000001, 0xb4, 0x7b800001,
  0xb8, 0x7b000001, 0xbc, 0x80000001, 0xe0, 0x010c0009, 0xf4, 0x011c0f00,
];

export class VHostBridge extends PciConfigSpace {
  readonly pciexbarLo: number;
  readonly pciexbarHi: number;

  /** pciexbarLo/Hi: PCIEXBAR at 0x60 (pre-launched VMs: 0xE0000001, 0). */
  constructor(pciexbarLo: number, pciexbarHi: number) {
    super();
    this.pciexbarLo = pciexbarLo;
    this.pciexbarHi = pciexbarHi;
  }

  override init(): void {
    this.clearConfig();
    this.setIdentity(HOSTBRIDGE_VENDOR, HOSTBRIDGE_DEVICE, HOSTBRIDGE_REVISION, PCIC_BRIDGE, PCIS_BRIDGE_HOST, 0,
      PCIM_MFDEV);
    this.cfgSet(PCIR_CAP_PTR, 1, 0xe0);
    this.cfgSet(PCIR_INTLINE, 1, 0xe0);
    for (let i = 0; i < HOSTBRIDGE_DWORDS.length; i += 2) this.cfgSet(HOSTBRIDGE_DWORDS[i], 4, HOSTBRIDGE_DWORDS[i + 1]);
    this.cfgSet(PCIEXBAR_OFFSET, 4, this.pciexbarLo);
    this.cfgSet(PCIEXBAR_OFFSET + 4, 4, this.pciexbarHi);
    this.setWritable(PCIR_COMMAND, 2, 0xffff);
    this.setWritable(PCIR_CACHELINE, 1, 0xff);
    this.setWritable(PCIR_LATENCY, 1, 0xff);
    this.setWritable(PCIR_INTLINE, 1, 0xff);
    for (let off = 0x40; off < 0x100; off += 4) this.setWritable(off, 4, 0xffffffff);
  }
}
