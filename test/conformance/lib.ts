// Shared by the conformance programs: a console on COM1 (stdout in both the
// Node and the hosted native build) and a capture sink to compare formatted
// output with expected text without building strings.
import { heapUsed } from '../../arch/x86/intrinsics';
import { Uart16550, type CharSink } from '../../arch/x86/serial';
import { LOG_INFO, log } from '../../hv/log';

export const com1 = new Uart16550(0x3f8);
com1.init();

export class CaptureSink implements CharSink {
  readonly bytes = new Uint8Array(512);
  length = 0;
  putc(c: number): void {
    if (c === 10) this.push(13);
    this.push(c);
  }
  push(c: number): void {
    // porffor defect P1 (tools/PORFFOR.md): `this.a[this.i] = v` loses the store; index from a local.
    const at = this.length;
    if (at < this.bytes.length) {
      this.bytes[at] = c & 0xff;
      this.length = at + 1;
    }
  }
  equals(text: string): boolean {
    if (text.length !== this.length) return false;
    for (let i = 0; i < text.length; i++) if (this.bytes[i] !== text.charCodeAt(i)) return false;
    return true;
  }
  reset(): void {
    this.length = 0;
  }
}

export const capture = new CaptureSink();

/** Print a line on COM1. */
export function say(text: string): void {
  log.attach(com1);
  log.line(LOG_INFO, text);
}

/** Print `label: ok`, or the captured text and the expected one. */
export function check(label: string, index: number, expected: string): boolean {
  log.attach(com1);
  log.begin(LOG_INFO);
  log.str(label);
  log.char(32);
  log.dec(index);
  const ok = capture.equals(expected);
  if (ok) {
    log.str(': ok');
  } else {
    log.str(': MISMATCH got "');
    for (let i = 0; i < capture.length; i++) log.char(capture.bytes[i] < 32 ? 63 : capture.bytes[i]);
    log.str('" want "');
    log.str(expected);
    log.char(34);
  }
  log.end();
  return ok;
}

/** Print the heap growth since `before`; 0 is the only right answer. */
export function heapDelta(label: string, before: number): void {
  log.attach(com1);
  log.begin(LOG_INFO);
  log.str('heap growth in ');
  log.str(label);
  log.str(': ');
  log.dec(heapUsed() - before);
  log.end();
}
