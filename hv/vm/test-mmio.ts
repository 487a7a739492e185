// The test MMIO device of test VMs (guests/README.md): 8 KiB of byte-
// addressable, little-endian scratch registers at GPA 0x3FE00000, left out of
// the EPT so that every access exits and goes through the instruction
// emulator (mmio-emul.ts). A read returns what was last written there (0 after
// reset); any size 1, 2, 4, 8 at any alignment inside the region. The guest
// (guests/mmio.asm) runs each instruction form against it and against RAM and
// compares. The page after it (0x3FE02000) is claimed by nobody: unmapped
// MMIO, which reads all ones.
import type { MmioDevice } from './io-emul';

export const TEST_MMIO_GPA = 0x3fe00000;
export const TEST_MMIO_SIZE = 0x2000;

export class TestMmioDevice implements MmioDevice {
  readonly bytes = new Uint8Array(TEST_MMIO_SIZE);
  mmioValueHi = 0;
  /** Accesses served (the guest cannot see these; the shell and tests can). */
  reads = 0;
  writes = 0;

  reset(): void {
    this.bytes.fill(0);
    this.mmioValueHi = 0;
    this.reads = 0;
    this.writes = 0;
  }

  /** Little-endian value of `count` (<= 4) bytes at region offset `at` (bounds checked by the caller). */
  private load(at: number, count: number): number {
    let v = 0;
    for (let i = count - 1; i >= 0; i--) v = v * 256 + this.bytes[at + i];
    return v;
  }

  private store(at: number, count: number, value: number): void {
    let v = value >>> 0;
    for (let i = 0; i < count; i++) {
      const p = at + i;
      this.bytes[p] = v & 0xff;
      v = v >>> 8;
    }
  }

  /** Region offset of [gpa, gpa + size), or -1 when any byte is outside. */
  private offsetOf(gpa: number, size: number): number {
    const at = gpa - TEST_MMIO_GPA;
    return at >= 0 && at + size <= TEST_MMIO_SIZE ? at : -1;
  }

  mmioRead(gpa: number, size: number): number {
    const at = this.offsetOf(gpa, size);
    this.reads++;
    if (at < 0) {
      this.mmioValueHi = 0;
      return 0;
    }
    this.mmioValueHi = size === 8 ? this.load(at + 4, 4) : 0;
    return this.load(at, size < 4 ? size : 4);
  }

  mmioWrite(gpa: number, size: number, hiHalf: number, loHalf: number): void {
    const at = this.offsetOf(gpa, size);
    this.writes++;
    if (at < 0) return;
    this.store(at, size < 4 ? size : 4, loHalf);
    if (size === 8) this.store(at + 4, 4, hiHalf);
  }
}
