// The leveled logger. It writes constant strings and numbers straight to its
// sink, digit by digit, and never builds a string (no `+`, templates or
// toString), so logging allocates nothing and is safe on the VM-exit path.
//
//   log.begin(LOG_INFO); log.str('vm '); log.dec(id); log.str(' started'); log.end();
//   log.line(LOG_WARN, 'constant message');
import type { CharSink } from '../arch/x86/serial';

export const LOG_ERROR = 1;
export const LOG_WARN = 2;
export const LOG_INFO = 3;
export const LOG_DEBUG = 4;

const HEX_DIGITS = '0123456789abcdef';

export class Logger {
  private sink: CharSink | null = null;
  /** Lines at or below this level are printed. */
  level = LOG_INFO;
  /** Whether the line being written passes the level filter. */
  private on = false;
  private readonly digits = new Uint8Array(24);

  attach(sink: CharSink): void {
    this.sink = sink;
  }

  /** Start a line at `level`; the prefix marks warnings, errors and debug lines. */
  begin(level: number): void {
    this.on = this.sink !== null && level <= this.level;
    if (level === LOG_ERROR) this.str('error: ');
    else if (level === LOG_WARN) this.str('warning: ');
    else if (level === LOG_DEBUG) this.str('debug: ');
  }

  end(): void {
    this.char(10);
    this.on = false;
  }

  line(level: number, text: string): void {
    this.begin(level);
    this.str(text);
    this.end();
  }

  char(c: number): void {
    if (this.on) (this.sink as CharSink).putc(c);
  }

  str(text: string): void {
    if (!this.on) return;
    for (let i = 0; i < text.length; i++) (this.sink as CharSink).putc(text.charCodeAt(i));
  }

  /** Print `n` spaces (for tables). */
  spaces(n: number): void {
    for (let i = 0; i < n; i++) this.char(32);
  }

  /** Decimal integer (|value| < 2^53). */
  dec(value: number): void {
    if (!this.on) return;
    let v = value;
    if (v < 0) {
      this.char(45);
      v = -v;
    }
    v = Math.floor(v);
    let n = 0;
    do {
      this.digits[n++] = 48 + (v % 10);
      v = Math.floor(v / 10);
    } while (v > 0);
    while (n > 0) this.char(this.digits[--n]);
  }

  /** 0x-prefixed hex of a non-negative integer below 2^53, at least `width` digits. */
  hex(value: number, width = 1): void {
    if (!this.on) return;
    this.str('0x');
    this.hexDigits(value, width);
  }

  /** 0x-prefixed 16-digit hex of hi:lo. */
  hex64(hiHalf: number, loHalf: number): void {
    if (!this.on) return;
    this.str('0x');
    this.hexDigits(hiHalf, 8);
    this.hexDigits(loHalf, 8);
  }

  /** Up to 4 ASCII characters packed little-endian in a u32 (CPUID strings); NULs skipped. */
  ascii4(packed: number): void {
    for (let i = 0; i < 4; i++) {
      const c = (packed >>> (i * 8)) & 0xff;
      if (c !== 0) this.char(c);
    }
  }

  /** Hex digits of a non-negative integer below 2^53, at least `width`, no prefix. */
  hexDigits(value: number, width: number): void {
    let v = Math.floor(value < 0 ? -value : value);
    let n = 0;
    do {
      this.digits[n++] = HEX_DIGITS.charCodeAt(v % 16);
      v = Math.floor(v / 16);
    } while (v > 0 && n < 24);
    while (n < width && n < 24) this.digits[n++] = 48;
    while (n > 0) this.char(this.digits[--n]);
  }
}

/** The hypervisor's logger; main.ts attaches the console to it at boot. */
export const log = new Logger();
