// The vPCI (hv/vm/vpci/*.ts) against the PCI Local Bus Specification 3.0 and
// ACRN's vpci.c / vhostbridge.c. Expected values worked out by hand:
//   CONFIG_ADDRESS: enable 31, bus 23:16, device 15:11, function 10:8, register 7:2;
//     ACRN keeps val & ~0x7F000003 and reads-and-clears it on every CFC-CFF access
//   BAR sizing: write 0xFFFFFFFF, read ~(size - 1) | type bits (mem 32 0x0, mem 64
//     0x4, prefetchable +0x8, I/O 0x1); the upper dword of a 64-bit BAR holds 63:32
//   MSI: id 5, control +2 (enable 0, MMC 3:1, MME 6:4, 64-bit 7), address +4,
//     upper address +8 and data +0xC (64-bit) or data +8 (32-bit)
//   ECAM offset = bus << 20 | dev << 15 | fn << 12 | reg
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { IoEmul, type PioDevice, WIDTH_1, WIDTH_4, WIDTH_ANY } from '../../hv/vm/io-emul';
import { PciCfgMech1 } from '../../hv/vm/vpci/cfg-mech1';
import { VHostBridge } from '../../hv/vm/vpci/hostbridge';
import { PciConfigSpace } from '../../hv/vm/vpci/vdev';
import { ECAM_SIZE, VIRT_PCI_MMCFG_BASE, Vpci, pciBdf } from '../../hv/vm/vpci/vpci';

class TestDevice extends PciConfigSpace {
  override init(): void {
    this.clearConfig();
    this.setIdentity(0x1af4, 0x1110, 0x01, 0x05, 0x00, 0x00, 0x00);
    this.setWritable(0x04, 2, 0x0547);
    this.setWritable(0x3c, 1, 0xff);
    this.defineMemBar32(0, 0x1000, false);
    this.defineMemBar64(1, 0, 0x200000, true);
    this.defineIoBar(3, 32);
    this.defineMemBar64(4, 2, 0, false);
    this.addCapability(0x09, 8);
    this.addMsiCapability(true, 2);
  }
}

class SmallDevice extends PciConfigSpace {
  override init(): void {
    this.clearConfig();
    this.setIdentity(0x8086, 0x1234, 0x00, 0xff, 0x00, 0x00, 0x00);
    this.defineMemBar32(0, 16, true);
    this.addMsiCapability(false, 0);
  }
}

class ResetPort implements PioDevice {
  writes: number[] = [];
  pioRead(): number {
    return 0;
  }
  pioWrite(_port: number, _size: number, value: number): void {
    this.writes.push(value);
  }
}

function machine(): { io: IoEmul; vpci: Vpci; hb: VHostBridge; dev: TestDevice; small: SmallDevice; rst: ResetPort } {
  const io = new IoEmul();
  const vpci = new Vpci(VIRT_PCI_MMCFG_BASE);
  const hb = new VHostBridge(0xe0000001, 0);
  const dev = new TestDevice();
  const small = new SmallDevice();
  const rst = new ResetPort();
  expect(vpci.addVdev(pciBdf(0, 0, 0), hb)).toBe(true);
  expect(vpci.addVdev(pciBdf(0, 3, 2), dev)).toBe(true);
  expect(vpci.addVdev(pciBdf(1, 31, 7), small)).toBe(true);
  vpci.init();
  expect(io.registerPio(0xcf8, 1, WIDTH_4, vpci.mech1.addrPort)).toBe(true);
  expect(io.registerPio(0xcf9, 1, WIDTH_1, rst)).toBe(true);
  expect(io.registerPio(0xcfc, 4, WIDTH_ANY, vpci.mech1.dataPort)).toBe(true);
  expect(io.registerMmio(vpci.ecam.base, ECAM_SIZE, vpci.ecam)).toBe(true);
  return { io, vpci, hb, dev, small, rst };
}

function cf8(bus: number, dev: number, fn: number, reg: number): number {
  return (0x80000000 | (bus << 16) | (dev << 11) | (fn << 8) | (reg & 0xfc)) >>> 0;
}

/** A config read the way Linux's pci_conf1_read does it: CF8 then CFC + (reg & 3). */
function rd(io: IoEmul, bus: number, dev: number, fn: number, reg: number, size: number): number {
  io.pioWrite(0xcf8, 4, cf8(bus, dev, fn, reg));
  return io.pioRead(0xcfc + (reg & 3), size);
}

function wr(io: IoEmul, bus: number, dev: number, fn: number, reg: number, size: number, value: number): void {
  io.pioWrite(0xcf8, 4, cf8(bus, dev, fn, reg));
  io.pioWrite(0xcfc + (reg & 3), size, value);
}

describe('config mechanism #1', () => {
  it('CF8 latches dword writes with bits 30:24 and 1:0 cleared', () => {
    const { io, vpci } = machine();
    io.pioWrite(0xcf8, 4, 0xffffffff);
    expect(io.pioRead(0xcf8, 4)).toBe(0x80fffffc);
    io.pioWrite(0xcf8, 4, 0x12345678);
    expect(io.pioRead(0xcf8, 4)).toBe(0x00345678);
    expect(vpci.mech1.latch).toBe(0x00345678);
  });

  it('byte and word accesses at CF8-CFB are not the CF8 slot: a byte at CF9 reaches the reset port', () => {
    const { io, vpci, rst } = machine();
    io.pioWrite(0xcf8, 4, 0x80001800);
    io.pioWrite(0xcf9, 1, 0x06);
    expect(rst.writes).toEqual([0x06]);
    io.pioWrite(0xcf8, 1, 0x00);
    io.pioWrite(0xcf8, 2, 0x0000);
    io.pioWrite(0xcfa, 1, 0x00);
    expect(io.pioRead(0xcf8, 1)).toBe(0xff);
    expect(io.pioRead(0xcf8, 2)).toBe(0xffff);
    expect(io.pioRead(0xcfb, 1)).toBe(0xff);
    expect(vpci.mech1.latch).toBe(0x80001800);
    // reached directly with another width, the slot behaves as ACRN's handler
    const m: PciCfgMech1 = vpci.mech1;
    m.addrPort.pioWrite(0xcf8, 2, 0);
    expect(m.addrPort.pioRead(0xcf8, 1)).toBe(0xff);
    expect(m.addrPort.pioRead(0xcf8, 4)).toBe(0x80001800);
  });

  it('CFC-CFF: each offset and size reaches reg + (port - CFC); unaligned ones read all ones', () => {
    const { io } = machine();
    // 00:00.0 dword 0 = 5AF0_8086, dword 8 = 0600_000B, dword C = 0080_0000
    const at = (port: number, size: number, reg = 0): number => {
      io.pioWrite(0xcf8, 4, cf8(0, 0, 0, reg));
      return io.pioRead(port, size);
    };
    expect([at(0xcfc, 4), at(0xcfc, 2), at(0xcfe, 2), at(0xcfc, 1), at(0xcfd, 1), at(0xcfe, 1), at(0xcff, 1)])
      .toEqual([0x5af08086, 0x8086, 0x5af0, 0x86, 0x80, 0xf0, 0x5a]);
    expect([at(0xcfc, 4, 8), at(0xcff, 1, 8), at(0xcfe, 1, 0xc), at(0xcfc, 4, 0x34)])
      .toEqual([0x0600000b, 0x06, 0x80, 0xe0]);
    expect([at(0xcfd, 2), at(0xcff, 2), at(0xcfe, 4), at(0xcfd, 4)]).toEqual([0xffff, 0xffff, 0xffffffff, 0xffffffff]);
  });

  it('every CFC-CFF access clears the latch (ACRN atomic_readandclear32)', () => {
    const { io, dev } = machine();
    io.pioWrite(0xcf8, 4, cf8(0, 0, 0, 0));
    expect(io.pioRead(0xcfc, 4)).toBe(0x5af08086);
    expect(io.pioRead(0xcf8, 4)).toBe(0);
    expect(io.pioRead(0xcfc, 4)).toBe(0xffffffff);
    // a write clears it too, and the next write is dropped
    io.pioWrite(0xcf8, 4, cf8(0, 3, 2, 0x3c));
    io.pioWrite(0xcfc, 1, 0x0b);
    io.pioWrite(0xcfc, 1, 0x0c);
    expect(io.pioRead(0xcf8, 4)).toBe(0);
    expect(dev.cfg[0x3c]).toBe(0x0b);
    // an invalid access clears it as well
    io.pioWrite(0xcf8, 4, cf8(0, 0, 0, 0));
    expect(io.pioRead(0xcfd, 2)).toBe(0xffff);
    expect(io.pioRead(0xcf8, 4)).toBe(0);
    // enable bit clear: all ones, and cleared
    io.pioWrite(0xcf8, 4, 0x00000000);
    expect(io.pioRead(0xcfc, 4)).toBe(0xffffffff);
    io.pioWrite(0xcf8, 4, 0x00001800);
    io.pioWrite(0xcfc, 2, 0x1234);
    expect(io.pioRead(0xcf8, 4)).toBe(0);
  });

  it('absent functions read all ones (vendor 0xFFFF) and drop writes', () => {
    const { io, vpci } = machine();
    expect(rd(io, 0, 1, 0, 0, 2)).toBe(0xffff);
    expect(rd(io, 0, 1, 0, 0, 4)).toBe(0xffffffff);
    expect(rd(io, 0, 0, 1, 0, 4)).toBe(0xffffffff);
    expect(rd(io, 2, 0, 0, 0, 1)).toBe(0xff);
    expect(rd(io, 0, 3, 2, 0, 4)).toBe(0x11101af4);
    wr(io, 0, 1, 0, 0x04, 2, 0x0007);
    expect(vpci.droppedWrites).toBe(1);
  });
});

describe('PCI configuration space', () => {
  it('BAR sizing: 32-bit memory', () => {
    const { io, dev } = machine();
    expect(rd(io, 0, 3, 2, 0x10, 4)).toBe(0x00000000);
    wr(io, 0, 3, 2, 0x10, 4, 0xffffffff);
    const sized = rd(io, 0, 3, 2, 0x10, 4);
    expect(sized).toBe(0xfffff000);
    expect((~(sized & 0xfffffff0) + 1) >>> 0).toBe(0x1000);
    wr(io, 0, 3, 2, 0x10, 4, 0xfeb01234);
    expect(rd(io, 0, 3, 2, 0x10, 4)).toBe(0xfeb01000);
    expect(dev.barAddressLo(0)).toBe(0xfeb01000);
    expect(dev.barAddressHi(0)).toBe(0);
    // byte writes follow the same mask
    wr(io, 0, 3, 2, 0x13, 1, 0xc0);
    expect(rd(io, 0, 3, 2, 0x10, 4)).toBe(0xc0b01000);
  });

  it('BAR sizing: 64-bit memory, prefetchable, 2 MiB, over two BARs', () => {
    const { io, dev } = machine();
    expect(rd(io, 0, 3, 2, 0x14, 4)).toBe(0x0000000c);
    wr(io, 0, 3, 2, 0x14, 4, 0xffffffff);
    wr(io, 0, 3, 2, 0x18, 4, 0xffffffff);
    expect([rd(io, 0, 3, 2, 0x14, 4), rd(io, 0, 3, 2, 0x18, 4)]).toEqual([0xffe0000c, 0xffffffff]);
    wr(io, 0, 3, 2, 0x14, 4, 0xc0000000);
    wr(io, 0, 3, 2, 0x18, 4, 0x00000004);
    expect([dev.barAddressLo(1), dev.barAddressHi(1)]).toEqual([0xc0000000, 4]);
    expect(rd(io, 0, 3, 2, 0x14, 4)).toBe(0xc000000c);
  });

  it('BAR sizing: 64-bit memory of 8 GiB: the low dword keeps only the type bits', () => {
    const { io } = machine();
    wr(io, 0, 3, 2, 0x20, 4, 0xffffffff);
    wr(io, 0, 3, 2, 0x24, 4, 0xffffffff);
    expect([rd(io, 0, 3, 2, 0x20, 4), rd(io, 0, 3, 2, 0x24, 4)]).toEqual([0x00000004, 0xfffffffe]);
  });

  it('BAR sizing: I/O, 32 ports', () => {
    const { io, dev } = machine();
    expect(rd(io, 0, 3, 2, 0x1c, 4)).toBe(0x00000001);
    wr(io, 0, 3, 2, 0x1c, 4, 0xffffffff);
    expect(rd(io, 0, 3, 2, 0x1c, 4)).toBe(0xffffffe1);
    wr(io, 0, 3, 2, 0x1c, 4, 0xc03f);
    expect(rd(io, 0, 3, 2, 0x1c, 4)).toBe(0x0000c021);
    expect(dev.barAddressLo(3)).toBe(0xc020);
  });

  it('unimplemented BARs read 0 after all ones; bad BAR definitions are refused', () => {
    const { io, small } = machine();
    wr(io, 1, 31, 7, 0x14, 4, 0xffffffff);
    expect(rd(io, 1, 31, 7, 0x14, 4)).toBe(0);
    wr(io, 1, 31, 7, 0x10, 4, 0xffffffff);
    expect(rd(io, 1, 31, 7, 0x10, 4)).toBe(0xfffffff8); // 16 bytes, prefetchable
    expect(small.defineMemBar32(0, 0x1000, false)).toBe(false); // taken
    expect(small.defineMemBar32(1, 0x1800, false)).toBe(false); // not a power of two
    expect(small.defineMemBar32(1, 8, false)).toBe(false); // below 16
    expect(small.defineIoBar(1, 512)).toBe(false); // above 256
    expect(small.defineMemBar64(5, 0, 0x1000, false)).toBe(false); // no room for the upper half
    expect(small.defineMemBar64(1, 1, 1, false)).toBe(false);
    expect(small.defineIoBar(6, 4)).toBe(false);
    expect(small.defineMemBar64(1, 0, 0x1000, false)).toBe(true);
    expect(small.defineIoBar(2, 4)).toBe(false); // upper half of the 64-bit BAR
  });

  it('read-only header: IDs, class and header type ignore writes; command takes its mask', () => {
    const { io } = machine();
    wr(io, 0, 3, 2, 0x00, 4, 0);
    wr(io, 0, 3, 2, 0x08, 4, 0);
    wr(io, 0, 3, 2, 0x04, 2, 0xffff);
    expect([rd(io, 0, 3, 2, 0x00, 4), rd(io, 0, 3, 2, 0x08, 4), rd(io, 0, 3, 2, 0x04, 2)])
      .toEqual([0x11101af4, 0x05000001, 0x0547]);
  });

  it('capability list: status bit 4, pointer at 0x34, walk to the end', () => {
    const { io } = machine();
    expect(rd(io, 0, 3, 2, 0x06, 2) & 0x10).toBe(0x10);
    const walk: number[] = [];
    let ptr = rd(io, 0, 3, 2, 0x34, 1);
    while (ptr !== 0 && walk.length < 20) {
      walk.push(ptr, rd(io, 0, 3, 2, ptr, 1));
      ptr = rd(io, 0, 3, 2, ptr + 1, 1);
    }
    expect(walk).toEqual([0x40, 0x09, 0x48, 0x05]);
    wr(io, 0, 3, 2, 0x40, 2, 0xffff); // id and next are read-only
    expect(rd(io, 0, 3, 2, 0x40, 2)).toBe(0x4809);
    expect(rd(io, 1, 31, 7, 0x34, 1)).toBe(0x40);
    expect(rd(io, 0, 0, 0, 0x06, 2)).toBe(0x0000); // ACRN's host bridge: no list bit
  });

  it('MSI, 64-bit, 4 vectors capable: control, address, data, enable', () => {
    const { io, dev } = machine();
    const msi = 0x48;
    expect(rd(io, 0, 3, 2, msi + 2, 2)).toBe(0x0084); // 64-bit, MMC = 2
    expect(dev.msiEnabled()).toBe(false);
    wr(io, 0, 3, 2, msi + 4, 4, 0xfee01003);
    wr(io, 0, 3, 2, msi + 8, 4, 0x00000001);
    wr(io, 0, 3, 2, msi + 12, 2, 0x4041);
    wr(io, 0, 3, 2, msi + 2, 2, 0x0021); // enable, MME = 2
    expect(rd(io, 0, 3, 2, msi + 2, 2)).toBe(0x00a5);
    expect([dev.msiEnabled(), dev.msiAddressLo(), dev.msiAddressHi(), dev.msiData(), dev.msiVectors()])
      .toEqual([true, 0xfee01000, 1, 0x4041, 4]);
    expect(rd(io, 0, 3, 2, msi + 4, 4)).toBe(0xfee01000);
    wr(io, 0, 3, 2, msi + 2, 2, 0xffff); // MME 7 > MMC 2: kept at 2
    expect(rd(io, 0, 3, 2, msi + 2, 2)).toBe(0x00a5);
    wr(io, 0, 3, 2, msi + 2, 1, 0x00);
    expect([dev.msiEnabled(), dev.msiVectors()]).toEqual([false, 1]);
  });

  it('MSI, 32-bit, 1 vector: data at +8, no upper address', () => {
    const { io, small } = machine();
    const msi = 0x40;
    expect(rd(io, 1, 31, 7, msi, 2)).toBe(0x0005);
    wr(io, 1, 31, 7, msi + 4, 4, 0xfee00000);
    wr(io, 1, 31, 7, msi + 8, 2, 0x0031);
    wr(io, 1, 31, 7, msi + 2, 2, 0x0071);
    expect(rd(io, 1, 31, 7, msi + 2, 2)).toBe(0x0001);
    expect([small.msiEnabled(), small.msiAddressLo(), small.msiAddressHi(), small.msiData(), small.msiVectors()])
      .toEqual([true, 0xfee00000, 0, 0x31, 1]);
  });

  it('init() after guest writes restores the initial space (VM reset)', () => {
    const { io, vpci, dev } = machine();
    wr(io, 0, 3, 2, 0x10, 4, 0xffffffff);
    wr(io, 0, 3, 2, 0x4a, 2, 0x0001);
    io.pioWrite(0xcf8, 4, 0x80000000);
    vpci.reset();
    expect([vpci.mech1.latch, dev.barAddressLo(0), dev.msiEnabled()]).toEqual([0, 0, false]);
  });
});

describe('host bridge 8086:5AF0', () => {
  it('IDs, class 06/00/00, header type 0x80 and the registers ACRN sets', () => {
    const { io } = machine();
    const regs = [0x00, 0x04, 0x08, 0x0c, 0x34, 0x3c, 0x48, 0x50, 0x54, 0x58, 0x60, 0x64, 0xa8, 0xac, 0xb0, 0xb4, 0xb8,
      0xbc, 0xe0, 0xf4];
    expect(regs.map((r) => rd(io, 0, 0, 0, r, 4))).toEqual([
      0x5af08086, 0x00000000, 0x0600000b, 0x00800000, 0x000000e0, 0x000000e0, 0xfed10001, 0x000002c1, 0x00000033,
      0x7ff00007, 0xe0000001, 0x00000000, 0x80000000, 0x00000002, 0x7c000001, 0x7b800001, 0x7b000001, 0x80000001,
      0x010c0009, 0x011c0f00,
    ]);
  });

  it('writes: IDs and BARs ignored, command and device-specific registers kept', () => {
    const { io } = machine();
    wr(io, 0, 0, 0, 0x00, 4, 0x12345678);
    wr(io, 0, 0, 0, 0x10, 4, 0xffffffff);
    wr(io, 0, 0, 0, 0x04, 2, 0x0006);
    wr(io, 0, 0, 0, 0xdc, 4, 0xcafef00d);
    wr(io, 0, 0, 0, 0x06, 2, 0xffff);
    expect([rd(io, 0, 0, 0, 0x00, 4), rd(io, 0, 0, 0, 0x10, 4), rd(io, 0, 0, 0, 0x04, 4), rd(io, 0, 0, 0, 0xdc, 4)])
      .toEqual([0x5af08086, 0, 0x00000006, 0xcafef00d]);
  });

  it('a Service VM bridge carries the PCIEXBAR it is given', () => {
    const hb = new VHostBridge(0xc0000001, 0x1);
    hb.init();
    expect([hb.readCfg(0x60, 4), hb.readCfg(0x64, 4)]).toEqual([0xc0000001, 1]);
  });
});

describe('ECAM', () => {
  it('decodes bus << 20 | dev << 15 | fn << 12 | reg', () => {
    const { io, vpci } = machine();
    const ecam = (bus: number, dev: number, fn: number, reg: number): number =>
      VIRT_PCI_MMCFG_BASE + bus * 0x100000 + dev * 0x8000 + fn * 0x1000 + reg;
    expect(ecam(1, 31, 7, 0)).toBe(0xe01ff000);
    const read = (gpa: number, size: number): number => {
      const slot = io.findMmio(gpa, size);
      expect(slot).toBeGreaterThanOrEqual(0);
      return io.mmioDevice(slot).mmioRead(gpa, size);
    };
    expect(read(ecam(0, 0, 0, 0), 4)).toBe(0x5af08086);
    expect(read(ecam(0, 3, 2, 2), 2)).toBe(0x1110);
    expect(read(ecam(1, 31, 7, 0), 4)).toBe(0x12348086);
    expect(read(ecam(1, 31, 7, 0xb), 1)).toBe(0xff);
    expect(read(ecam(0, 3, 2, 0x100), 4)).toBe(0); // extended space: no capability
    expect(read(ecam(0, 4, 0, 0), 4)).toBe(0xffffffff);
    expect(read(ecam(255, 31, 7, 0xffc), 4)).toBe(0xffffffff);
    expect(read(ecam(0, 0, 0, 1), 2)).toBe(0xffff); // unaligned
    expect(read(ecam(0, 0, 0, 0), 8)).toBe(0xffffffff); // 8 bytes: ACRN's u32 ~0
    expect(vpci.ecam.mmioValueHi).toBe(0);
    vpci.ecam.mmioWrite(ecam(0, 3, 2, 0x10), 4, 0, 0xffffffff);
    expect(read(ecam(0, 3, 2, 0x10), 4)).toBe(0xfffff000);
    vpci.ecam.mmioWrite(ecam(0, 3, 2, 0x10), 8, 0, 0);
    expect(read(ecam(0, 3, 2, 0x10), 4)).toBe(0xfffff000);
    expect(vpci.ecam.bdfOf(ecam(1, 31, 7, 0x44))).toBe(pciBdf(1, 31, 7));
  });
});

describe('vpci table', () => {
  it('holds up to 16 functions, one per BDF', () => {
    const vpci = new Vpci(VIRT_PCI_MMCFG_BASE);
    const d = new PciConfigSpace();
    expect(vpci.addVdev(pciBdf(0, 1, 0), d)).toBe(true);
    expect(vpci.addVdev(pciBdf(0, 1, 0), d)).toBe(false);
    for (let i = 1; i < 16; i++) expect(vpci.addVdev(pciBdf(0, 2, 0) + i, d)).toBe(true);
    expect(vpci.addVdev(pciBdf(0, 9, 0), d)).toBe(false);
    expect(vpci.vdevAt(pciBdf(0, 1, 0))).toBe(d);
    expect(vpci.vdevAt(pciBdf(0, 9, 0))).toBe(null);
  });
});

describe('vpci seeded random port accesses', () => {
  it('10,000 accesses never throw and keep the invariants', () => {
    const { io, vpci, hb, dev } = machine();
    let seed = 0x1234567;
    const next = (): number => {
      seed ^= seed << 13;
      seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      seed >>>= 0;
      return seed;
    };
    const ports = [0xcf8, 0xcf9, 0xcfa, 0xcfb, 0xcfc, 0xcfd, 0xcfe, 0xcff];
    let broken = 0;
    for (let i = 0; i < 10000; i++) {
      const r = next();
      const port = ports[r & 7];
      const size = [1, 2, 4][(r >>> 3) % 3];
      const kind = (r >>> 6) % 4;
      if (kind === 0) io.pioWrite(0xcf8, 4, (0x80000000 | (next() & 0x0001fffc)) >>> 0);
      else if (kind === 1) {
        const v = io.pioRead(port, size);
        if (v < 0 || v > (size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff) || Math.floor(v) !== v) broken++;
      } else if (kind === 2 && port !== 0xcf9) io.pioWrite(port, size, next());
      else {
        const gpa = VIRT_PCI_MMCFG_BASE + (next() & 0x001fffff);
        const v = vpci.ecam.mmioRead(gpa, size);
        if (v < 0 || v > 0xffffffff) broken++;
      }
      if ((vpci.mech1.latch & 0x7f000003) !== 0) broken++;
      if (hb.readCfg(0, 4) !== 0x5af08086 || dev.readCfg(0, 4) !== 0x11101af4) broken++;
      if ((dev.readCfg(0x10, 4) & 0xf) !== 0 || (dev.readCfg(0x1c, 4) & 0x3) !== 1) broken++;
      if (dev.readCfg(0x34, 1) !== 0x40 || dev.readCfg(0x41, 1) !== 0x48) broken++;
    }
    expect(broken).toBe(0);
  });
});

describe('vpci porffor rules', () => {
  const bundle = buildSync({
    stdin: {
      contents: "export * from './hv/vm/vpci/vpci'; export * from './hv/vm/vpci/cfg-mech1'; export * from './hv/vm/vpci/vdev'; export * from './hv/vm/vpci/hostbridge';",
      resolveDir: process.cwd(), loader: 'ts',
    },
    bundle: true, format: 'esm', write: false, target: 'es2022', logLevel: 'silent',
  }).outputFiles[0].text;

  it('P1: no store into obj.field[index] where the index reads a property, an element or a call', () => {
    const re = /[\w$]+(?:\.[\w$]+|\[[^\]\n]*\])*\.[\w$]+\[([^\]\n]*)\]\s*(?:[-+*\/%&|^]|<<|>>>?)?=(?!=)|[\w$]+(?:\.[\w$]+)*\.[\w$]+\[([^\]\n]*)\](?:\+\+|--)/g;
    expect([...bundle.matchAll(re)].filter((m) => /[.[(]/.test(m[1] ?? m[2])).map((m) => m[0])).toEqual([]);
  });

  it('P3: no top-level function shares its name with a class method, with the hypervisor bundle too', () => {
    const main = buildSync({
      entryPoints: ['hv/main.ts'], bundle: true, format: 'esm', write: false, target: 'es2022',
      define: { __NATIVE__: 'true' }, logLevel: 'silent',
    }).outputFiles[0].text;
    const both = main + '\n' + bundle;
    const functions = new Set([...both.matchAll(/^(?:async )?function (\w+)\(/gm)].map((m) => m[1]));
    const methods = new Set([...both.matchAll(/^ {2}(?:static )?(\w+)\([^)]*\) \{/gm)].map((m) => m[1]));
    const mine = new Set([...bundle.matchAll(/^(?:async )?function (\w+)\(|^ {2}(?:static )?(\w+)\([^)]*\) \{/gm)].map((m) => m[1] ?? m[2]));
    expect([...functions].filter((f) => methods.has(f) && f !== 'constructor' && mine.has(f))).toEqual([]);
  });

  it('P4/P5: one extends level, no super.method(); no finally, BigInt, closures, switch or console', () => {
    expect(bundle).not.toMatch(/\bsuper\.\w+\(/);
    expect(bundle).not.toMatch(/\bfinally\b|\b\d+n\b|=>|console\.|\bswitch\b/);
  });
});
