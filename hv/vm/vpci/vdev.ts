// A virtual PCI function (ACRN's struct pci_vdev with its pci_vdev_ops) and
// PciConfigSpace, a base for emulated functions: a 256-byte type 0 header and
// device-specific area in a Uint8Array, with a per-byte mask of writable bits.
// A write of `size` bytes changes, byte by byte, only the bits set in the
// mask: new = (old & ~mask) | (value & mask).
//
// Type 0 header (PCI Local Bus Specification 3.0, 6.1):
//   0x00 vendor id  | device id        0x04 command    | status
//   0x08 revision   | class code (prog-if 0x09, subclass 0x0A, base class 0x0B)
//   0x0C cache line | latency | header type | BIST
//   0x10-0x24 BAR0-5   0x2C subsystem vendor | subsystem   0x34 capabilities pointer
//   0x3C interrupt line | interrupt pin | min gnt | max lat
//
// BARs (6.2.5.1): bits 3:0 are read-only type bits. Memory: bit 0 = 0, bits 2:1
// = 00 (32-bit) or 10 (64-bit, the next BAR holds bits 63:32), bit 3 =
// prefetchable. I/O: bit 0 = 1, bit 1 reserved (0). The writable bits are the
// address bits at and above the size, so writing all ones and reading back
// gives ~(size - 1) with the type bits: the size is the two's complement of
// the read value with the type bits cleared. That falls out of the mask.
//
// Capabilities (6.7): status bit 4 says a list exists; 0x34 holds the offset
// of the first; each capability starts with [id, next]. MSI (6.8.1, id 5):
//   +2 message control: bit 0 enable (RW), 3:1 multiple message capable (RO),
//      6:4 multiple message enable (RW, clamped to the capable value), 7 64-bit
//      address capable (RO), 8 per-vector masking capable (0 here)
//   +4 message address 31:2 (bits 1:0 read 0)
//   64-bit: +8 message upper address, +0xC message data; 32-bit: +8 data.
//
// Offsets 0x100-0xFFF (PCI Express extended space, reachable through ECAM)
// read 0 (no extended capability: a 0 header ends the list) and drop writes.
// ACRN keeps a 4 KiB space per vdev; this keeps 256 bytes.
//
// 64-bit values are u32 halves (hv/u64.ts style): BAR addresses and sizes
// come as lo/hi numbers.

/** ACRN's pci_vdev_ops: lifecycle and config access. size is 1, 2 or 4; offset is aligned to it. */
export interface PciVdev {
  init(): void;
  deinit(): void;
  readCfg(offset: number, size: number): number;
  writeCfg(offset: number, size: number, value: number): void;
}

export const PCI_CFG_SIZE = 256;

export const PCIR_VENDOR = 0x00;
export const PCIR_DEVICE = 0x02;
export const PCIR_COMMAND = 0x04;
export const PCIR_STATUS = 0x06;
export const PCIR_REVID = 0x08;
export const PCIR_PROGIF = 0x09;
export const PCIR_SUBCLASS = 0x0a;
export const PCIR_CLASS = 0x0b;
export const PCIR_CACHELINE = 0x0c;
export const PCIR_LATENCY = 0x0d;
export const PCIR_HDRTYPE = 0x0e;
export const PCIR_BAR0 = 0x10;
export const PCIR_SUBVEND = 0x2c;
export const PCIR_SUBDEV = 0x2e;
export const PCIR_CAP_PTR = 0x34;
export const PCIR_INTLINE = 0x3c;
export const PCIR_INTPIN = 0x3d;

export const PCI_BAR_COUNT = 6;
export const PCIM_STATUS_CAPLIST = 0x0010;
export const PCIM_MFDEV = 0x80;

export const PCI_CAP_MSI = 0x05;
export const MSI_CTRL_ENABLE = 0x0001;
export const MSI_CTRL_64BIT = 0x0080;

/** Where capabilities are placed from (just past the standard header). */
export const PCI_CAP_START = 0x40;

/** BAR kinds (barKind). */
export const BAR_NONE = 0;
export const BAR_MEM32 = 1;
export const BAR_MEM64 = 2;
/** The upper half of a 64-bit BAR. */
export const BAR_MEM64_HI = 3;
export const BAR_IO = 4;

export class PciConfigSpace implements PciVdev {
  readonly cfg = new Uint8Array(PCI_CFG_SIZE);
  /** Writable bits of each byte. */
  readonly wmask = new Uint8Array(PCI_CFG_SIZE);
  readonly barKind = new Uint8Array(PCI_BAR_COUNT);
  /** Offset of the next capability to place, and of the last placed (0: none). */
  capNext = PCI_CAP_START;
  capLast = 0;
  /** Offset of the MSI capability, or 0. */
  msiOffset = 0;

  /** Default lifecycle: an empty space. Subclasses override init() to build theirs (no super calls: P5). */
  init(): void {
    this.clearConfig();
  }

  deinit(): void {
    this.clearConfig();
  }

  /** All zeros, nothing writable, no BARs, no capabilities. */
  clearConfig(): void {
    for (let i = 0; i < PCI_CFG_SIZE; i++) {
      this.cfg[i] = 0;
      this.wmask[i] = 0;
    }
    for (let i = 0; i < PCI_BAR_COUNT; i++) this.barKind[i] = BAR_NONE;
    this.capNext = PCI_CAP_START;
    this.capLast = 0;
    this.msiOffset = 0;
  }

  readCfg(offset: number, size: number): number {
    if (offset < 0 || offset + size > PCI_CFG_SIZE) return 0;
    return this.cfgGet(offset, size);
  }

  writeCfg(offset: number, size: number, value: number): void {
    if (offset < 0 || offset + size > PCI_CFG_SIZE) return;
    for (let i = 0; i < size; i++) {
      const at = offset + i;
      const m = this.wmask[at];
      const b = (value >>> (8 * i)) & 0xff;
      this.cfg[at] = ((this.cfg[at] & ~m) | (b & m)) & 0xff;
    }
    const msi = this.msiOffset;
    if (msi !== 0 && offset <= msi + 3 && offset + size > msi + 2) this.clampMsiVectors();
  }

  /**
   * Multiple message enable above multiple message capable is a programming
   * error (6.8.1.3: software must not); keep the capable value, as QEMU does.
   */
  clampMsiVectors(): void {
    const ctrl = this.cfgGet(this.msiOffset + 2, 2);
    const capable = (ctrl >>> 1) & 7;
    if (((ctrl >>> 4) & 7) > capable) this.cfgSet(this.msiOffset + 2, 2, (ctrl & ~0x70) | (capable << 4));
  }

  // ---- raw access for the device model itself (ignores the mask) ----

  /** Little-endian value of `size` bytes at `offset` (no bounds check: callers pass constants). */
  cfgGet(offset: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.cfg[offset + i];
    return v;
  }

  cfgSet(offset: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) {
      const at = offset + i;
      this.cfg[at] = (value >>> (8 * i)) & 0xff;
    }
  }

  /** Make `size` bytes at `offset` writable where `mask` has ones. */
  setWritable(offset: number, size: number, mask: number): void {
    for (let i = 0; i < size; i++) {
      const at = offset + i;
      this.wmask[at] = (mask >>> (8 * i)) & 0xff;
    }
  }

  /** IDs, class code and header type (multi-function bit included in headerType). */
  setIdentity(vendor: number, device: number, revision: number, baseClass: number, subclass: number,
    progIf: number, headerType: number): void {
    this.cfgSet(PCIR_VENDOR, 2, vendor);
    this.cfgSet(PCIR_DEVICE, 2, device);
    this.cfgSet(PCIR_REVID, 1, revision);
    this.cfgSet(PCIR_PROGIF, 1, progIf);
    this.cfgSet(PCIR_SUBCLASS, 1, subclass);
    this.cfgSet(PCIR_CLASS, 1, baseClass);
    this.cfgSet(PCIR_HDRTYPE, 1, headerType);
  }

  // ---- BARs ----

  /**
   * A 32-bit memory BAR of `size` bytes (a power of two, 16 up to 2 GiB).
   * False when the index or size is invalid or the slot is taken.
   */
  defineMemBar32(index: number, size: number, prefetchable: boolean): boolean {
    if (index < 0 || index >= PCI_BAR_COUNT || this.barKind[index] !== BAR_NONE) return false;
    if (!isPowerOfTwo(size) || size < 16 || size > 0x80000000) return false;
    const off = PCIR_BAR0 + index * 4;
    this.cfgSet(off, 4, prefetchable ? 0x8 : 0);
    this.setWritable(off, 4, (0x100000000 - size) >>> 0);
    this.barKind[index] = BAR_MEM32;
    return true;
  }

  /**
   * A 64-bit memory BAR at `index` and `index + 1` of sizeHi:sizeLo bytes (a
   * power of two of at least 16). False when invalid or taken.
   */
  defineMemBar64(index: number, sizeHi: number, sizeLo: number, prefetchable: boolean): boolean {
    if (index < 0 || index + 1 >= PCI_BAR_COUNT) return false;
    if (this.barKind[index] !== BAR_NONE || this.barKind[index + 1] !== BAR_NONE) return false;
    let maskLo = 0;
    let maskHi = 0;
    if (sizeHi === 0) {
      if (!isPowerOfTwo(sizeLo) || sizeLo < 16) return false;
      maskLo = (0x100000000 - sizeLo) >>> 0;
      maskHi = 0xffffffff;
    } else {
      if (sizeLo !== 0 || !isPowerOfTwo(sizeHi) || sizeHi > 0x80000000) return false;
      maskLo = 0;
      maskHi = (0x100000000 - sizeHi) >>> 0;
    }
    const off = PCIR_BAR0 + index * 4;
    this.cfgSet(off, 4, prefetchable ? 0xc : 0x4);
    this.setWritable(off, 4, maskLo & 0xfffffff0);
    this.cfgSet(off + 4, 4, 0);
    this.setWritable(off + 4, 4, maskHi);
    this.barKind[index] = BAR_MEM64;
    this.barKind[index + 1] = BAR_MEM64_HI;
    return true;
  }

  /** An I/O BAR of `size` ports (a power of two, 4 up to 256: the spec's limit). */
  defineIoBar(index: number, size: number): boolean {
    if (index < 0 || index >= PCI_BAR_COUNT || this.barKind[index] !== BAR_NONE) return false;
    if (!isPowerOfTwo(size) || size < 4 || size > 256) return false;
    const off = PCIR_BAR0 + index * 4;
    this.cfgSet(off, 4, 0x1);
    this.setWritable(off, 4, (0x100000000 - size) >>> 0);
    this.barKind[index] = BAR_IO;
    return true;
  }

  /** Bits 31:0 of the address a BAR holds (type bits cleared); 0 for no BAR. */
  barAddressLo(index: number): number {
    if (index < 0 || index >= PCI_BAR_COUNT) return 0;
    const kind = this.barKind[index];
    const raw = this.cfgGet(PCIR_BAR0 + index * 4, 4);
    if (kind === BAR_IO) return (raw & 0xfffffffc) >>> 0;
    if (kind === BAR_MEM32 || kind === BAR_MEM64) return (raw & 0xfffffff0) >>> 0;
    return 0;
  }

  /** Bits 63:32 of a 64-bit BAR's address (0 otherwise). */
  barAddressHi(index: number): number {
    if (index < 0 || index + 1 >= PCI_BAR_COUNT || this.barKind[index] !== BAR_MEM64) return 0;
    return this.cfgGet(PCIR_BAR0 + index * 4 + 4, 4);
  }

  // ---- capabilities ----

  /**
   * Place a capability of `length` bytes with `id`; link it at the end of the
   * list, set status bit 4 and the pointer at 0x34. Returns its offset, or 0
   * when it does not fit. The [id, next] bytes are read-only.
   */
  addCapability(id: number, length: number): number {
    const at = this.capNext;
    if (length < 2 || at + length > PCI_CFG_SIZE) return 0;
    this.cfgSet(at, 1, id);
    this.cfgSet(at + 1, 1, 0);
    if (this.capLast === 0) this.cfgSet(PCIR_CAP_PTR, 1, at);
    else this.cfgSet(this.capLast + 1, 1, at);
    this.cfgSet(PCIR_STATUS, 2, this.cfgGet(PCIR_STATUS, 2) | PCIM_STATUS_CAPLIST);
    this.capLast = at;
    this.capNext = (at + length + 3) & ~3;
    return at;
  }

  /**
   * An MSI capability: 64-bit address capable or not, 2^log2Vectors vectors
   * capable (0-5), no per-vector masking. Returns its offset or 0.
   */
  addMsiCapability(is64: boolean, log2Vectors: number): number {
    if (this.msiOffset !== 0 || log2Vectors < 0 || log2Vectors > 5) return 0;
    const at = this.addCapability(PCI_CAP_MSI, is64 ? 14 : 10);
    if (at === 0) return 0;
    this.cfgSet(at + 2, 2, (is64 ? MSI_CTRL_64BIT : 0) | (log2Vectors << 1));
    this.setWritable(at + 2, 2, 0x0071);
    this.setWritable(at + 4, 4, 0xfffffffc);
    if (is64) {
      this.setWritable(at + 8, 4, 0xffffffff);
      this.setWritable(at + 12, 2, 0xffff);
    } else {
      this.setWritable(at + 8, 2, 0xffff);
    }
    this.msiOffset = at;
    return at;
  }

  msiControl(): number {
    return this.msiOffset === 0 ? 0 : this.cfgGet(this.msiOffset + 2, 2);
  }

  msiEnabled(): boolean {
    return (this.msiControl() & MSI_CTRL_ENABLE) !== 0;
  }

  /** Vectors the guest enabled: 2^(message control 6:4). */
  msiVectors(): number {
    return 1 << ((this.msiControl() >>> 4) & 7);
  }

  msiAddressLo(): number {
    return this.msiOffset === 0 ? 0 : this.cfgGet(this.msiOffset + 4, 4);
  }

  msiAddressHi(): number {
    if (this.msiOffset === 0 || (this.msiControl() & MSI_CTRL_64BIT) === 0) return 0;
    return this.cfgGet(this.msiOffset + 8, 4);
  }

  msiData(): number {
    if (this.msiOffset === 0) return 0;
    return this.cfgGet(this.msiOffset + ((this.msiControl() & MSI_CTRL_64BIT) !== 0 ? 12 : 8), 2);
  }
}

/** True when n is a positive power of two below 2^32. */
export function isPowerOfTwo(n: number): boolean {
  return n >= 1 && n <= 0x80000000 && Math.floor(n) === n && ((n & (n - 1)) >>> 0) === 0;
}
