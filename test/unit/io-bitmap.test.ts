// I/O bitmaps (hv/vm/vmcs-setup.ts, SDM Vol. 3C 25.6.4): bitmap A covers ports
// 0000-7FFF, B 8000-FFFF, one bit per port, 1 = the access exits. A VM's
// bitmaps trap every port; the Service VM's pass every port through except
// the ones its I/O registry emulates and the hypervisor's console UART.
import { describe, expect, it } from 'vitest';
import { type PioDevice, PIO_SLOT_PCI_CFGADDR, PIO_SLOT_PIC_PRIMARY, WIDTH_1, WIDTH_4 } from '../../hv/vm/io-emul';
import { passThroughUnclaimedPorts } from '../../hv/vm/vmcs-setup';
import { type Fixture, makeFixture } from './vm-fixture';

class NullPort implements PioDevice {
  pioRead(): number { return 0; }
  pioWrite(): void {}
}

/** Whether `port` exits, read from the bitmap pages in simulated memory. */
function exits(f: Fixture, port: number): boolean {
  const page = port < 0x8000 ? f.vm.ioBitmapA : f.vm.ioBitmapB;
  const bit = port & 0x7fff;
  return ((f.m.readByte(page + (bit >>> 3)) >>> (bit & 7)) & 1) === 1;
}

describe('I/O bitmaps', () => {
  it('trap every port by default', () => {
    const f = makeFixture();
    for (const port of [0, 0x20, 0x3f8, 0x7fff, 0x8000, 0xcf8, 0xffff]) expect(exits(f, port), `port ${port}`).toBe(true);
  });

  it('for the Service VM pass through every port but the emulated ones and COM1 (0x3F8-0x3FF)', () => {
    const f = makeFixture({ serviceVm: true });
    expect(f.vm.io.registerPioSlot(PIO_SLOT_PIC_PRIMARY, 0x20, 2, WIDTH_1, new NullPort())).toBe(true);
    expect(f.vm.io.registerPioSlot(PIO_SLOT_PCI_CFGADDR, 0xcf8, 1, WIDTH_4, new NullPort())).toBe(true);
    expect(f.vm.io.registerPio(0x9000, 4, WIDTH_1, new NullPort())).toBe(true);
    passThroughUnclaimedPorts(f.vm);
    for (const port of [0x20, 0x21, 0xcf8, 0x3f8, 0x3ff, 0x9000, 0x9003]) expect(exits(f, port), `port ${port.toString(16)}`).toBe(true);
    for (const port of [0, 0x1f, 0x22, 0x2f8, 0x3f7, 0x400, 0xcf9, 0xcfc, 0x7fff, 0x8000, 0x8fff, 0x9004, 0xffff]) {
      expect(exits(f, port), `port ${port.toString(16)}`).toBe(false);
    }
  });
});
