// The hypervisor's command line (from GRUB), read once at boot.
// Options are space-separated `key=value` or bare `key` words.
import { cmdlineByte, cmdlineLen } from '../arch/x86/intrinsics';

/** Longest command line kept (multiboot2 tags may be longer; the rest is ignored). */
export const CMDLINE_MAX = 1024;

export class Cmdline {
  readonly bytes = new Uint8Array(CMDLINE_MAX);
  size = 0;

  read(): void {
    const n = cmdlineLen();
    this.size = n < CMDLINE_MAX ? n : CMDLINE_MAX;
    for (let i = 0; i < this.size; i++) this.bytes[i] = cmdlineByte(i) & 0xff;
  }

  /**
   * Start index of the value of option `key` (`key=value`), or -1 when absent.
   * A bare `key` gives the index just past it (an empty value).
   */
  find(key: string): number {
    let i = 0;
    while (i < this.size) {
      while (i < this.size && this.bytes[i] === 32) i++;
      const start = i;
      while (i < this.size && this.bytes[i] !== 32) i++;
      const wordEnd = i;
      let k = 0;
      while (k < key.length && start + k < wordEnd && this.bytes[start + k] === key.charCodeAt(k)) k++;
      if (k === key.length) {
        if (start + k === wordEnd) return wordEnd;
        if (this.bytes[start + k] === 61 /* = */) return start + k + 1;
      }
    }
    return -1;
  }

  /** True when option `key` has exactly the value `value`. */
  is(key: string, value: string): boolean {
    const at = this.find(key);
    if (at < 0) return false;
    let k = 0;
    while (k < value.length && at + k < this.size && this.bytes[at + k] === value.charCodeAt(k)) k++;
    return k === value.length && (at + k === this.size || this.bytes[at + k] === 32);
  }
}
