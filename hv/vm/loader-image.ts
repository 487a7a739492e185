// Where the software loader reads images from (kernel, ramdisk, command
// line): an ImageSource. Natively a GRUB multiboot2 module, read through the
// intrinsics (moduleField gives its physical range; peek reads it); in tests
// and for strings kept in the scenario image, bytes in a Uint8Array.
//
// The loader validates through length() and byteAt() (headers only), then
// copies in bulk with copyToGuest, which writes guest-physical memory
// through the VM's EPT (GuestMemory.copyToGpa). Nothing here allocates after
// construction: a ModuleSource owns one 4 KiB bounce buffer.
import { moduleCount, moduleField, peek8, peek32 } from '../../arch/x86/intrinsics';
import { COPY_BAD_LENGTH, COPY_OK, type GuestMemory } from './guest-copy';

export interface ImageSource {
  /** Bytes in the image. */
  length(): number;
  /** Byte at `offset` (0 .. 255); 0 when `offset` is outside [0, length()). */
  byteAt(offset: number): number;
  /**
   * Copy image bytes [offset, offset + count) to guest-physical `gpa` through
   * `mem` (the VM's EPT). COPY_OK or a negative COPY_* (guest-copy.ts).
   */
  copyToGuest(mem: GuestMemory, gpa: number, offset: number, count: number): number;
}

/** True when [offset, offset + count) is an integer range inside an image of `size` bytes. */
export function imageRangeValid(size: number, offset: number, count: number): boolean {
  if (!(offset >= 0 && count >= 0) || offset % 1 !== 0 || count % 1 !== 0) return false;
  return offset + count <= size;
}

/** Bytes [start, start + count) of a Uint8Array. */
export class BytesSource implements ImageSource {
  private bytes: Uint8Array;
  private start = 0;
  private count = 0;

  constructor(bytes: Uint8Array, start = 0, count = -1) {
    this.bytes = bytes;
    this.setBytes(bytes, start, count);
  }

  /** Point at other bytes (count -1: to the end). False, and empty, when the range is outside `bytes`. */
  setBytes(bytes: Uint8Array, start: number, count: number): boolean {
    const n = count < 0 ? bytes.length - start : count;
    this.bytes = bytes;
    if (!imageRangeValid(bytes.length, start, n)) {
      this.start = 0;
      this.count = 0;
      return false;
    }
    this.start = start;
    this.count = n;
    return true;
  }

  length(): number {
    return this.count;
  }

  byteAt(offset: number): number {
    if (!(offset >= 0 && offset < this.count)) return 0;
    const at = this.start + offset;
    return this.bytes[at];
  }

  copyToGuest(mem: GuestMemory, gpa: number, offset: number, count: number): number {
    if (!imageRangeValid(this.count, offset, count)) return COPY_BAD_LENGTH;
    return mem.copyToGpa(gpa, this.bytes, this.start + offset, count);
  }
}

const BOUNCE_SIZE = 4096;

/** A GRUB module (its physical range), or any range of host-physical memory. */
export class ModuleSource implements ImageSource {
  private startPa = 0;
  private size = 0;
  /** Module bytes on their way to guest memory. */
  private readonly bounce = new Uint8Array(BOUNCE_SIZE);

  /** Read module `index` (moduleField 0 start, 1 end). False, and empty, when there is no such module. */
  openModule(index: number): boolean {
    if (!(index >= 0 && index < moduleCount())) return this.openRange(0, 0);
    const start = moduleField(index, 0);
    const end = moduleField(index, 1);
    if (!(end >= start)) return this.openRange(0, 0);
    return this.openRange(start, end - start);
  }

  /** Read `size` bytes of host-physical memory at `startPa`. */
  openRange(startPa: number, size: number): boolean {
    const ok = startPa >= 0 && size >= 0 && startPa % 1 === 0 && size % 1 === 0;
    this.startPa = ok ? startPa : 0;
    this.size = ok ? size : 0;
    return ok && size > 0;
  }

  /** Host-physical start of the bytes (the Service VM sees host memory identity mapped: keep loads off it). */
  physStart(): number {
    return this.startPa;
  }

  length(): number {
    return this.size;
  }

  byteAt(offset: number): number {
    if (!(offset >= 0 && offset < this.size)) return 0;
    return peek8(this.startPa + offset) & 0xff;
  }

  copyToGuest(mem: GuestMemory, gpa: number, offset: number, count: number): number {
    if (!imageRangeValid(this.size, offset, count)) return COPY_BAD_LENGTH;
    const buf = this.bounce;
    let done = 0;
    while (done < count) {
      let n = count - done;
      if (n > BOUNCE_SIZE) n = BOUNCE_SIZE;
      const pa = this.startPa + offset + done;
      let i = 0;
      if (pa % 4 === 0) {
        for (; i + 4 <= n; i += 4) {
          const v = peek32(pa + i);
          buf[i] = v & 0xff;
          buf[i + 1] = (v >>> 8) & 0xff;
          buf[i + 2] = (v >>> 16) & 0xff;
          buf[i + 3] = (v >>> 24) & 0xff;
        }
      }
      for (; i < n; i++) buf[i] = peek8(pa + i) & 0xff;
      const rc = mem.copyToGpa(gpa + done, buf, 0, n);
      if (rc !== COPY_OK) return rc;
      done += n;
    }
    return COPY_OK;
  }
}

// ---- little-endian reads (0 past the end) -------------------------------------------------

export function imgU8(src: ImageSource, offset: number): number {
  return src.byteAt(offset);
}

export function imgU16(src: ImageSource, offset: number): number {
  return src.byteAt(offset) + src.byteAt(offset + 1) * 0x100;
}

export function imgU32(src: ImageSource, offset: number): number {
  return src.byteAt(offset) + src.byteAt(offset + 1) * 0x100 + src.byteAt(offset + 2) * 0x10000 + src.byteAt(offset + 3) * 0x1000000;
}
