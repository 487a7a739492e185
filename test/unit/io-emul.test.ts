// The per-VM I/O emulation registry (hv/vm/io-emul.ts): port ranges with their
// access widths, unclaimed accesses (read all ones, writes dropped, counted), and
// MMIO regions kept sorted and found by binary search. Pure TypeScript: no machine.
import { describe, expect, it } from 'vitest';
import {
  IoEmul, MAX_MMIO_REGIONS, MAX_PIO_RANGES, PIO_FIXED_SLOTS, PIO_SLOT_PCI_CFGADDR, PIO_SLOT_PIC_PRIMARY, type MmioDevice, type PioDevice, WIDTH_1, WIDTH_2, WIDTH_4, WIDTH_ANY,
} from '../../hv/vm/io-emul';

class Port implements PioDevice {
  readonly log: number[][] = [];
  constructor(readonly answer = 0x12345678) {}
  pioRead(port: number, size: number): number {
    this.log.push([0, port, size]);
    return this.answer;
  }
  pioWrite(port: number, size: number, value: number): void {
    this.log.push([1, port, size, value]);
  }
}

class Mmio implements MmioDevice {
  constructor(readonly id: number) {}
  mmioValueHi = 0;
  mmioRead(): number { return this.id; }
  mmioWrite(): void {}
}

describe('port ranges', () => {
  it('refuses a range that overlaps one already claimed, in any way', () => {
    const io = new IoEmul();
    expect(io.registerPio(0x60, 4, WIDTH_ANY, new Port())).toBe(true); // 60-63
    expect(io.registerPio(0x62, 2, WIDTH_ANY, new Port())).toBe(false); // inside
    expect(io.registerPio(0x5d, 4, WIDTH_ANY, new Port())).toBe(false); // 5D-60: last port overlaps
    expect(io.registerPio(0x63, 1, WIDTH_ANY, new Port())).toBe(false); // the last port
    expect(io.registerPio(0x50, 0x20, WIDTH_ANY, new Port())).toBe(false); // covers it
    expect(io.registerPio(0x5c, 4, WIDTH_ANY, new Port())).toBe(true); // 5C-5F: adjacent below
    expect(io.registerPio(0x64, 1, WIDTH_ANY, new Port())).toBe(true); // adjacent above
    expect(io.pioRanges).toBe(3);
  });

  it('stays inside the 64 Ki port space and refuses empty ranges', () => {
    const io = new IoEmul();
    expect(io.registerPio(0xffff, 2, WIDTH_ANY, new Port())).toBe(false);
    expect(io.registerPio(0x100, 0, WIDTH_ANY, new Port())).toBe(false);
    expect(io.registerPio(-1, 2, WIDTH_ANY, new Port())).toBe(false);
    expect(io.registerPio(0xffff, 1, WIDTH_ANY, new Port())).toBe(true);
    expect(io.registerPio(0, 1, WIDTH_ANY, new Port())).toBe(true);
    expect(io.findPio(0xffff)).toBe(PIO_FIXED_SLOTS); // the first free slot after ACRN's fixed ones
    expect(io.findPio(0)).toBe(PIO_FIXED_SLOTS + 1);
  });

  it(`holds ${MAX_PIO_RANGES} ranges: ${PIO_FIXED_SLOTS} fixed slots (ACRN's EMUL_PIO_IDX) and the rest for registerPio`, () => {
    expect(MAX_PIO_RANGES).toBe(32);
    const io = new IoEmul();
    const free = MAX_PIO_RANGES - PIO_FIXED_SLOTS;
    for (let i = 0; i < free; i++) expect(io.registerPio(0x100 + i * 8, 8, WIDTH_ANY, new Port())).toBe(true);
    expect(io.registerPio(0x1000, 1, WIDTH_ANY, new Port())).toBe(false);
    expect(io.findPio(0x100 + (free - 1) * 8 + 7)).toBe(MAX_PIO_RANGES - 1);
    // The fixed slots stay available to their devices.
    expect(io.registerPioSlot(PIO_SLOT_PIC_PRIMARY, 0x20, 2, WIDTH_1, new Port())).toBe(true);
    expect(io.registerPioSlot(PIO_SLOT_PIC_PRIMARY, 0xa0, 2, WIDTH_1, new Port())).toBe(false); // taken
    expect(io.registerPioSlot(PIO_SLOT_PCI_CFGADDR, 0xcf8, 1, WIDTH_4, new Port())).toBe(true);
    expect(io.findPio(0x21)).toBe(PIO_SLOT_PIC_PRIMARY);
    expect(io.findPio(0xcf8)).toBe(PIO_SLOT_PCI_CFGADDR);
    expect(io.pioRanges).toBe(free + 2);
    io.unregisterPioSlot(PIO_SLOT_PIC_PRIMARY);
    expect(io.findPio(0x21)).toBe(-1);
    expect(io.pioRanges).toBe(free + 1);
  });

  it('passes the port and size to the device and masks what it returns to the size', () => {
    const io = new IoEmul();
    const dev = new Port(0xdeadbeef);
    io.registerPio(0x3f8, 8, WIDTH_ANY, dev);
    expect(io.pioRead(0x3f9, 1)).toBe(0xef);
    expect(io.pioRead(0x3fa, 2)).toBe(0xbeef);
    expect(io.pioRead(0x3fc, 4) >>> 0).toBe(0xdeadbeef);
    io.pioWrite(0x3ff, 1, 0x41);
    expect(dev.log).toEqual([[0, 0x3f9, 1], [0, 0x3fa, 2], [0, 0x3fc, 4], [1, 0x3ff, 1, 0x41]]);
  });

  // Regression test for a bug found in review (io-emul.ts pioRead): `device value & ones` is a signed int32, so a dword
  // with bit 31 set comes back negative (0xdeadbeef reads as -559038737) while an
  // unclaimed dword reads as the unsigned 0xffffffff. The IN handler masks it
  // again (>>> 0), so guests are not affected today; any caller that compares or
  // stores the value as a u32 is. Expected 0xdeadbeef; actual -559038737.
  it('a dword read is returned as an unsigned 32-bit value, like the all-ones of an unclaimed port', () => {
    const io = new IoEmul();
    io.registerPio(0x3f8, 8, WIDTH_ANY, new Port(0xdeadbeef));
    expect(io.pioRead(0x3fc, 4)).toBe(0xdeadbeef);
    io.registerPio(0x100, 1, WIDTH_ANY, new Port(0xffffffff));
    expect(io.pioRead(0x100, 4)).toBe(io.pioRead(0x200, 4));
  });
});

describe('width masks (bit size-1: WIDTH_1 = 1, WIDTH_2 = 2, WIDTH_4 = 8)', () => {
  it('the mask values', () => {
    expect([WIDTH_1, WIDTH_2, WIDTH_4, WIDTH_ANY]).toEqual([1, 2, 8, 11]);
  });

  it('a byte-only device: word and dword accesses read all ones, writes dropped, device untouched', () => {
    const io = new IoEmul();
    const dev = new Port(0x5a);
    io.registerPio(0x70, 2, WIDTH_1, dev);
    expect(io.pioRead(0x70, 2)).toBe(0xffff);
    expect(io.pioRead(0x71, 4)).toBe(0xffffffff);
    io.pioWrite(0x70, 2, 0x1234);
    io.pioWrite(0x70, 4, 0x1234);
    expect(dev.log).toEqual([]);
    expect(io.badWidth).toBe(4);
    expect(io.pioRead(0x70, 1)).toBe(0x5a);
    expect(io.unclaimedReads + io.unclaimedWrites).toBe(0);
  });

  it('a word/dword device refuses bytes', () => {
    const io = new IoEmul();
    const dev = new Port(0xabcd);
    io.registerPio(0xcfc, 4, WIDTH_2 | WIDTH_4, dev);
    expect(io.pioRead(0xcfc, 1)).toBe(0xff);
    io.pioWrite(0xcfd, 1, 1);
    expect(io.pioRead(0xcfe, 2)).toBe(0xabcd);
    expect(io.pioRead(0xcfc, 4)).toBe(0xabcd);
    expect(io.badWidth).toBe(2);
    expect(dev.log).toEqual([[0, 0xcfe, 2], [0, 0xcfc, 4]]);
  });
});

describe('unclaimed accesses', () => {
  it('read all ones in the access size, drop writes, and are counted; clear() forgets everything', () => {
    const io = new IoEmul();
    const dev = new Port();
    io.registerPio(0x60, 1, WIDTH_ANY, dev);
    expect(io.pioRead(0x61, 1)).toBe(0xff);
    expect(io.pioRead(0x61, 2)).toBe(0xffff);
    expect(io.pioRead(0x5f, 4)).toBe(0xffffffff);
    io.pioWrite(0x80, 1, 0);
    expect(io.unclaimedReads).toBe(3);
    expect(io.unclaimedWrites).toBe(1);
    expect(dev.log).toEqual([]);
    io.clear();
    expect([io.pioRanges, io.mmioRegions, io.unclaimedReads, io.unclaimedWrites, io.badWidth]).toEqual([0, 0, 0, 0, 0]);
    expect(io.pioRead(0x60, 1)).toBe(0xff);
    expect(io.registerPio(0x60, 1, WIDTH_ANY, dev)).toBe(true);
  });
});

describe('MMIO regions', () => {
  it('are kept sorted by base whatever the registration order', () => {
    const io = new IoEmul();
    const regions: [number, number][] = [[0x3000, 0x1000], [0x1000, 0x1000], [0xfec00000, 0x1000], [0x2000, 0x800], [0xfed00000, 0x400]];
    regions.forEach(([b, s], i) => expect(io.registerMmio(b, s, new Mmio(i))).toBe(true));
    expect(Array.from(io.mmioBase.slice(0, 5))).toEqual([0x1000, 0x2000, 0x3000, 0xfec00000, 0xfed00000]);
    expect(Array.from(io.mmioSize.slice(0, 5))).toEqual([0x1000, 0x800, 0x1000, 0x1000, 0x400]);
    expect([0, 1, 2, 3, 4].map((s) => (io.mmioDevice(s) as Mmio).id)).toEqual([1, 3, 0, 2, 4]);
  });

  it('refuse overlaps and empty regions; adjacent regions are fine', () => {
    const io = new IoEmul();
    expect(io.registerMmio(0x2000, 0x800, new Mmio(0))).toBe(true);
    expect(io.registerMmio(0x2400, 0x100, new Mmio(1))).toBe(false);
    expect(io.registerMmio(0x1fff, 2, new Mmio(1))).toBe(false);
    expect(io.registerMmio(0x27ff, 0x10, new Mmio(1))).toBe(false);
    expect(io.registerMmio(0x1000, 0x10000, new Mmio(1))).toBe(false);
    expect(io.registerMmio(0x2800, 0x800, new Mmio(1))).toBe(true);
    expect(io.registerMmio(0x1800, 0x800, new Mmio(2))).toBe(true);
    expect(io.registerMmio(0x4000, 0, new Mmio(3))).toBe(false);
    expect(io.mmioRegions).toBe(3);
  });

  it('find a region at its edges and refuse accesses that straddle its end, a gap or a neighbour', () => {
    const io = new IoEmul();
    io.registerMmio(0x1000, 0x1000, new Mmio(0));
    io.registerMmio(0x2000, 0x1000, new Mmio(1)); // adjacent
    io.registerMmio(0x5000, 0x100, new Mmio(2));
    expect(io.findMmio(0x1000, 4)).toBe(0);
    expect(io.findMmio(0x1fff, 1)).toBe(0);
    expect(io.findMmio(0x1ffc, 4)).toBe(0);
    expect(io.findMmio(0x1ff8, 8)).toBe(0);
    expect(io.findMmio(0x1ffe, 4)).toBe(-1); // straddles into the neighbour
    expect(io.findMmio(0x2000, 8)).toBe(1);
    expect(io.findMmio(0x2ffe, 4)).toBe(-1); // straddles into the gap
    expect(io.findMmio(0x3000, 1)).toBe(-1);
    expect(io.findMmio(0x4fff, 1)).toBe(-1);
    expect(io.findMmio(0x4ffc, 8)).toBe(-1); // starts before, ends inside
    expect(io.findMmio(0x50fc, 4)).toBe(2);
    expect(io.findMmio(0x5100, 1)).toBe(-1);
    expect(io.findMmio(0xfff, 1)).toBe(-1);
    expect(io.findMmio(0, 1)).toBe(-1);
  });

  it(`binary search over ${MAX_MMIO_REGIONS} regions, registered in reverse, finds every one; one more is refused`, () => {
    expect(MAX_MMIO_REGIONS).toBe(16);
    const io = new IoEmul();
    for (let i = 15; i >= 0; i--) expect(io.registerMmio(0xfe_0000_0000 + i * 0x10000, 0x1000, new Mmio(i))).toBe(true);
    expect(io.registerMmio(0x1000, 0x1000, new Mmio(99))).toBe(false);
    for (let i = 0; i < 16; i++) {
      const base = 0xfe_0000_0000 + i * 0x10000;
      expect((io.mmioDevice(io.findMmio(base, 4)) as Mmio).id).toBe(i);
      expect((io.mmioDevice(io.findMmio(base + 0xff8, 8)) as Mmio).id).toBe(i);
      expect(io.findMmio(base + 0x1000, 1)).toBe(-1);
      expect(io.findMmio(base - 1, 1)).toBe(-1);
    }
  });

  it('finds nothing when nothing is registered', () => {
    expect(new IoEmul().findMmio(0xfee00000, 4)).toBe(-1);
  });
});
