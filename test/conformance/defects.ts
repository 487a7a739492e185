// Conformance: one minimal repro per porffor 0.61.13 / wabt 1.0.32 defect that
// the product's coding rules (or a pipeline patch) avoid. tools/PORFFOR.md
// lists them with their ids; this file is the executable half of that list.
//
// Every section prints what the product depends on, and it passes today:
//  - for a patched defect (P2, B4, W-a, W-b, W-c) it prints the patched
//    behaviour, so an upgrade that loses the patch makes the native output
//    differ from Node's;
//  - for a defect a coding rule avoids, it runs only the rule's form and
//    prints its result. The broken form behaves differently natively and under
//    Node, so it is never run: the comment gives the exact expression and what
//    the native build does with it.
// A porffor or wabt upgrade must pass this file; when a defect is fixed
// upstream, its rule may go (update tools/PORFFOR.md), this file stays.
//
// Not reproducible here: B13/B14 (porffor's C backend, not used), B15 (import
// field names: tools/porfc.mjs), B16 (console.log colours: programs print only
// through hv/log.ts).
import { heapUsed, inb, inl } from '../../arch/x86/intrinsics';
import { LOG_INFO, log } from '../../hv/log';
import { hiOf, join, loOf } from '../../hv/u64';
import { P13_LONG_LITERAL } from './data/p13-long-literal';
import { capture, check, com1, heapDelta, say } from './lib';

// ---- reporting ----------------------------------------------------------------

function expectNum(label: string, got: number, want: number): void {
  log.attach(com1);
  log.begin(LOG_INFO);
  log.str(label);
  if (got === want) {
    log.str(': ok');
  } else {
    log.str(': MISMATCH got ');
    log.dec(got);
    log.str(' want ');
    log.dec(want);
  }
  log.end();
}

function expectTrue(label: string, cond: boolean): void {
  expectNum(label, cond ? 1 : 0, 1);
}

/** Route a number through memory so the compiler cannot fold the expression it feeds. */
const BOX = new Float64Array(1);
function opaque(x: number): number {
  BOX[0] = x;
  return BOX[0];
}

// ---- P1: element store whose target is a property and whose index reads one ----------
//
// BROKEN natively (porffor keeps the target's type in its "last type" local,
// and evaluating the index overwrites it; the store then goes down the generic
// property path of a number and is silently dropped):
//   this.slots[this.head] = v;        // slots[head] unchanged
//   this.slots[this.head++] = v;      // head advances, slots unchanged
//   this.slots[this.head]++;  this.slots[this.head] += v;
//   this.bytes[this.head] = v;        // typed arrays too
//   o.a[o.n] = v;  o.a[other.k] = v;  o.a[TABLE[0]] = v;  o.a[f()] = v;
// Reads (`x = this.slots[this.head]`) and stores into a plain identifier
// (`a[this.head] = v`) work. RULE: an index of a store into `X.f[...]` is a
// local, a constant or arithmetic on them: `const at = this.head; this.slots[at] = v;`.

class P1Ring {
  readonly slots = [0, 0, 0, 0];
  readonly bytes = new Uint8Array(4);
  head = 1;
  putAtHead(v: number): void {
    const at = this.head;
    this.slots[at] = v;
    this.bytes[at] = v & 0xff;
  }
  append(v: number): void {
    const at = this.head;
    this.slots[at] = v;
    this.head = at + 1;
  }
  readAtHead(): number {
    return this.slots[this.head];
  }
}

function p1(): void {
  say('P1 X.f[index reading a property] = v: store through a local index');
  const r = new P1Ring();
  r.putAtHead(0x1c7);
  expectNum('P1 array element stored', r.slots[1], 0x1c7);
  expectNum('P1 typed-array element stored', r.bytes[1], 0xc7);
  expectNum('P1 reading with a this-field index', r.readAtHead(), 0x1c7);
  r.append(5);
  r.append(6);
  expectNum('P1 append through a local', r.slots[1] + r.slots[2] * 10, 65);
  expectNum('P1 append advanced head', r.head, 3);
  const o = { a: [0, 0, 0], n: 2 };
  const n = o.n;
  o.a[n] = 9;
  expectNum('P1 o.a[local] for a plain object', o.a[2], 9);
  const alias = o.a;
  alias[o.n] = 8;
  expectNum('P1 alias[o.n] (target is an identifier)', o.a[2], 8);
}

// ---- P2: a function returning a host import's result ---------------------------------
//
// Without the patch in tools/patch-porffor.mjs ([pf-patch] P2), a call to an
// import leaves the previous call's result type in place, so
//   function lsr() { return inb(0x3fd); }   const x = lsr();
// hands back 0x60 tagged with the type of whatever was called before (here a
// string): `typeof x` is not 'number' and `x === 0x60` is false.

function p2Name(): string {
  return 'COM1 line status';
}
function p2Lsr(): number {
  return inb(0x3fd);
}
function p2Config(): number {
  return inl(0xcfc);
}

function p2(): void {
  say('P2 import results are numbers (guards the patch)');
  const name = p2Name();
  const lsr = p2Lsr();
  expectTrue('P2 typeof after a string-returning call', typeof lsr === 'number');
  expectTrue('P2 === compares the value', lsr === 0x60);
  expectTrue('P2 bit test', (lsr & 0x20) !== 0);
  expectNum('P2 the string is intact', name.length, 16);
  const cfg = p2Config();
  expectTrue('P2 typeof of a 32-bit import result', typeof cfg === 'number');
  expectTrue('P2 0xffffffff compares', cfg === 0xffffffff);
  expectTrue('P2 typeof heapUsed()', typeof heapUsed() === 'number');
}

// ---- P3: a top-level function and a class method with the same name -----------------
//
// BROKEN natively: with `function lo(n) { return n + 1000; }` and
// `class C { lo(n) { return n + 5; } }` anywhere in the bundle, the call
// `lo(1)` runs the method: 6 natively, 1001 under Node. If the method reads
// `this`, the call throws a TypeError (uncaught: the native program crashes).
// Method calls (`c.lo(1)`) are right. RULE: no top-level function shares its
// name with any class method (test/unit/porffor-rules.test.ts checks the bundle).

function p3LowHalf(n: number): number {
  return n + 1000;
}
class P3Caps {
  bias = 5;
  capLow(n: number): number {
    return n + this.bias;
  }
}

function p3(): void {
  say('P3 function and method names are distinct');
  expectNum('P3 function', p3LowHalf(1), 1001);
  expectNum('P3 method', new P3Caps().capLow(1), 6);
}

// ---- P4: class hierarchies deeper than one `extends` --------------------------------
//
// BROKEN (porffor, V8 and native alike): with
//   class A {}  class B extends A {}  class C extends B {}
// `new C()` recurses until the stack overflows (V8: RangeError: Maximum call
// stack size exceeded; native: SIGSEGV), with or without constructors or
// fields; so does `c.f()` when B's f calls `super.f()`. One level works.
// RULE: at most one `extends` level (base + leaf); share more through
// composition or free functions.

class P4Device {
  readonly gsi: number;
  resets = 0;
  constructor(gsi: number) {
    this.gsi = gsi;
  }
  reset(): void {
    this.resets++;
  }
}
class P4Uart extends P4Device {
  readonly base: number;
  constructor(base: number, gsi: number) {
    super(gsi);
    this.base = base;
  }
}

function p4(): void {
  say('P4 one level of extends');
  const u = new P4Uart(0x3f8, 4);
  u.reset();
  expectNum('P4 base field through super()', u.gsi, 4);
  expectNum('P4 own field', u.base, 0x3f8);
  expectNum('P4 inherited method', u.resets, 1);
  expectTrue('P4 instanceof base', u instanceof P4Device);
}

// ---- P5: super.method() ------------------------------------------------------------
//
// BROKEN natively: `super.m()` runs the base method without `this`:
//   class A { x = 4; total() { return this.x + 5; } }
//   class B extends A { total() { return super.total() + 20; } }
// `new B().total()` is 20 natively (29 under Node): `this.x + 5` in the base
// body reads nothing. `super(...)` in a constructor works. RULE: no
// `super.m()`; the base class exposes the body under its own name
// (`baseTotal()`) and the override calls `this.baseTotal()`.

class P5Base {
  x = 4;
  total(): number {
    return this.baseTotal();
  }
  baseTotal(): number {
    return this.x + 5;
  }
}
class P5Leaf extends P5Base {
  override total(): number {
    return this.baseTotal() + 20;
  }
}

function p5(): void {
  say('P5 no super.method(): the base body under its own name');
  const b: P5Base = new P5Leaf();
  expectNum('P5 override reaches the base body', b.total(), 29);
}

// ---- P6: Error subclasses lose their message ------------------------------------------
//
// BROKEN natively: `class HvError extends Error { constructor(m) { super(m); } }`:
// `new HvError('bad').message` is undefined ('bad' under Node); instanceof
// works. RULE: an Error subclass assigns `this.message = m` after super(m)
// (or the code throws numbers or preallocated plain Errors).

class P6HvError extends Error {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.message = message;
    this.code = code;
  }
}

function p6(): void {
  say('P6 Error subclasses set their message');
  try {
    throw new P6HvError('bad vm id', -22);
  } catch (e) {
    expectTrue('P6 instanceof the subclass', e instanceof P6HvError);
    expectTrue('P6 instanceof Error', e instanceof Error);
    expectTrue('P6 message', (e as P6HvError).message === 'bad vm id');
    expectNum('P6 own field', (e as P6HvError).code, -22);
  }
}

// ---- P7: TypeError and RangeError are not `instanceof Error` ----------------------------
//
// BROKEN natively: `new TypeError('t') instanceof Error` is false (true under
// Node), and so is every error porffor's runtime throws (a property of null,
// calling undefined: TypeErrors). `e instanceof TypeError` and `e.message`
// work. RULE: a catch-all handler tests `typeof e === 'object' && e !== null`
// (or the specific class) before reading `.message`, never only `instanceof Error`.

function p7(): void {
  say('P7 caught built-in errors: test the object, not instanceof Error');
  try {
    throw new TypeError('not a function');
  } catch (e) {
    expectTrue('P7 typeof object', typeof e === 'object' && e !== null);
    expectTrue('P7 instanceof TypeError', e instanceof TypeError);
    expectTrue('P7 message', (e as Error).message === 'not a function');
  }
  try {
    throw new RangeError('out of range');
  } catch (e) {
    expectTrue('P7 RangeError message', typeof e === 'object' && (e as Error).message === 'out of range');
  }
  try {
    const absent = [null][0] as unknown as { x: number };
    absent.x = 1;
  } catch (e) {
    // The message text differs (porffor: "Cannot set property of null").
    expectTrue('P7 runtime error is a TypeError object', typeof e === 'object' && e instanceof TypeError);
  }
}

// ---- P8: Map.prototype.entries is missing ---------------------------------------------
//
// BROKEN (porffor, V8 and native alike): `for (const e of m.entries())` throws
// TypeError "undefined is not a function". keys(), values() and iterating the
// map itself work. RULE: `for (const [k, v] of m)`. (Iterating a Map
// allocates natively, B12: init time only.)

function p8(): void {
  say('P8 iterate the map itself, not entries()');
  const m = new Map<number, number>();
  m.set(0x3f8, 4);
  m.set(0x2f8, 3);
  let weighted = 0;
  let position = 1;
  for (const [port, gsi] of m) {
    weighted += position * (port + gsi);
    position++;
  }
  expectNum('P8 for..of over the map, in insertion order', weighted, 1 * (0x3f8 + 4) + 2 * (0x2f8 + 3));
}

// ---- P9: `continue` inside a switch -----------------------------------------------------
//
// BROKEN (porffor, V8 and native alike): in
//   for (...) { switch (x) { case 0: a++; continue; default: b++; } after++; }
// the `continue` does nothing: control falls into the next case and the rest
// of the loop body runs (10 iterations give b = 10, after = 10 instead of 5, 5).
// `break` in a case and `return` work. RULE: no `continue` inside a switch;
// use if/else, or break out of the switch and test after it.

function p9(): void {
  say('P9 no continue inside a switch');
  let evens = 0;
  let odds = 0;
  let after = 0;
  for (let i = 0; i < 10; i++) {
    let skip = false;
    switch (i & 1) {
      case 0:
        evens++;
        skip = true;
        break;
      default:
        odds++;
    }
    if (skip) continue;
    after++;
  }
  expectNum('P9 case with skip flag', evens * 100 + odds * 10 + after, 555);
}

// ---- P10: out-of-bounds element access ---------------------------------------------------
//
// BROKEN natively: indexes are not checked. `u8[10]` of a Uint8Array(4) reads
// whatever lies there (0 or a neighbour's bytes; undefined under Node),
// `u8[10] = 5` writes it (corrupting the slot or the next allocation; ignored
// under Node), `arr[-1]` is not undefined, `arr[5] = 9` on a 3-element array
// does not grow it (length stays 3). RULE: check every index against the
// length (or a constant bound) before reading or writing; size arrays at init.

const P10_TABLE = new Uint8Array(4);

function p10Read(index: number): number {
  if (index < 0 || index >= P10_TABLE.length) return -1;
  return P10_TABLE[index];
}

function p10(): void {
  say('P10 bounds-checked indexing');
  P10_TABLE[3] = 0x33;
  expectNum('P10 in range', p10Read(3), 0x33);
  expectNum('P10 past the end', p10Read(4), -1);
  expectNum('P10 negative', p10Read(-1), -1);
}

// ---- P11: string += of a conditional in a loop ------------------------------------------------
//
// BROKEN (porffor, V8 and native alike): inside a loop, when the condition
// reads an element or a property,
//   for (let i = 0; i < 6; i++) s += i === offs[0] ? '#' : base[i];
// leaves only the last piece in s ('f' instead of 'ab#def'); so does
// `s = s + (cond ? a : b)`. The same statements outside a loop, or with a
// condition on locals only, work. RULE: no string building after init
// (DESIGN.md); at init, put the piece in a const local first.

function p11(): void {
  say('P11 string pieces through a local');
  const base = 'abcdef';
  const marks = [2];
  let s = '';
  for (let i = 0; i < base.length; i++) {
    const piece = i === marks[0] ? '#' : base[i];
    s += piece;
  }
  expectTrue('P11 built string', s === 'ab#def');
}

// ---- P15: a parameter named console is the global console -------------------------------------
//
// BROKEN (native only): class W { c: Sink; constructor(console: Sink) { this.c = console; } }
// stores the global `console` (the parameter is not read), so a later
// this.c.put(5) throws "TypeError: undefined is not a function"; Node stores
// the parameter. RULE: no parameter or local named `console` (and no
// property of that name, where the pattern starts). Found as the VM's debug
// console reached through the vuart console back end.

class P15Sink {
  count = 0;
  put(v: number): void {
    this.count += v;
  }
}
class P15Backend {
  readonly debugConsole: P15Sink;
  constructor(debugConsole: P15Sink) {
    this.debugConsole = debugConsole;
  }
  tx(v: number): void {
    this.debugConsole.put(v);
  }
}

function p15(): void {
  say('P15 a parameter named debugConsole, not console');
  const sink = new P15Sink();
  const b = new P15Backend(sink);
  b.tx(5);
  b.tx(7);
  expectNum('P15 bytes through the back end', sink.count, 12);
}

// ---- P16: string += String.fromCharCode(...) in a loop inside a method --------------------------
//
// BROKEN (native only): in a method,
//   for (let k = 0; k < 4; k++) s += String.fromCharCode(img[off + k]);
// leaves only the last character in s ('D' for 'ABCD'; the product's first
// case trapped with an out-of-bounds access instead); the same loop in a
// top-level function works. RULE: convert into a const local, then append
// it (as P11); the rules test rejects `+= String.fromCharCode(`.

class P16Name {
  readonly image = new Uint8Array(16);
  off = 3;
  len = 4;
  name(): string {
    const img = this.image;
    let s = '';
    for (let k = 0; k < this.len; k++) {
      const c = img[this.off + k];
      const piece = String.fromCharCode(c);
      s += piece;
    }
    return s;
  }
}

function p16(): void {
  say('P16 characters appended through a local in a method');
  const n = new P16Name();
  for (let i = 0; i < 8; i++) n.image[3 + i] = (65 + i) & 0xff;
  expectTrue('P16 built string', n.name() === 'ABCD');
}

// ---- B1-B3: TypeScript syntax and imports ---------------------------------------------------
//
// porffor mis-compiles return type annotations (B1), `p!.a` and `as const`
// (B2) and has no imports (B3) when fed .ts directly. The pipeline never does:
// esbuild strips the types and bundles first (tools/build-host.sh, Makefile).

interface B2Point {
  a: number;
}
const B2_MODE = { E: 1 } as const;

function b1Typed(p: B2Point | null): number {
  return p!.a + B2_MODE.E;
}

function b1b3(): void {
  say('B1-B3 TypeScript reaches porffor through esbuild');
  expectNum('B1 return annotation, B2 non-null assertion and as const', b1Typed({ a: 4 }), 5);
}

// ---- B4: ToInt32 / ToUint32 ----------------------------------------------------------------
//
// Unpatched porffor saturates instead of wrapping: `0xC0000080 | 0` is
// 2147483647 and `-1 >>> 0` is -1. tools/patch-porffor.mjs fixes both
// (i64.trunc_sat_f64_s + i32.wrap_i64; `>>>` converts unsigned), which this
// section guards. REMAINING EDGE (not run: it differs from Node):
// `Infinity | 0` and `2 ** 64 | 0` are -1 natively (0 under Node), and
// `2 ** 63 >>> 0` is 4294967295 (0): the patched conversion is exact for
// finite |x| < 2^63. RULE: bit operations only on finite integers below 2^53.

function b4(): void {
  say('B4 ToInt32 wraps (guards the patch)');
  const x = opaque(0xc0000080);
  expectNum('B4 x | 0', x | 0, -1073741696);
  expectNum('B4 x >>> 0', x >>> 0, 3221225600);
  expectNum('B4 -1 >>> 0', opaque(-1) >>> 0, 4294967295);
  expectNum('B4 ~x', ~x, 1073741695);
  expectNum('B4 (2^32 + 5) | 0', opaque(0x100000005) | 0, 5);
  expectNum('B4 (x & 0xffff0000) >>> 0', (x & 0xffff0000) >>> 0, 0xc0000000);
  expectNum('B4 NaN | 0', opaque(NaN) | 0, 0);
}

// ---- B5: closures capturing locals ---------------------------------------------------------
//
// BROKEN natively: `function mk(n) { return () => n + 1; } mk(5)()` is 1 (6
// under Node): porffor closures cannot see their enclosing function's locals
// or parameters; loop closures all see the final value; an arrow's `this` in a
// method is undefined. RULE: no closures over locals; a device raises its
// interrupt line through an injected sink object (`sink.setLine(gsi, level)`).

interface IrqSink {
  setLine(gsi: number, level: number): void;
}
class B5Pic implements IrqSink {
  readonly lines = new Uint8Array(16);
  setLine(gsi: number, level: number): void {
    if (gsi >= 0 && gsi < 16) this.lines[gsi] = level & 1;
  }
}
class B5Device {
  readonly sink: IrqSink;
  readonly gsi: number;
  constructor(sink: IrqSink, gsi: number) {
    this.sink = sink;
    this.gsi = gsi;
  }
  raise(): void {
    this.sink.setLine(this.gsi, 1);
  }
}

function b5(): void {
  say('B5 no closures over locals: an injected sink object');
  const pic = new B5Pic();
  const dev = new B5Device(pic, 4);
  dev.raise();
  expectNum('B5 line raised through the sink', pic.lines[4], 1);
  expectNum('B5 other lines untouched', pic.lines[3], 0);
}

// ---- B6: BigInt ----------------------------------------------------------------------------
//
// BROKEN: `1n << 40n` is 256 natively, `typeof 5n` is 'object',
// BigInt.asUintN is missing. RULE: no BigInt; 64-bit values are hi/lo u32
// halves (hv/u64.ts).

function b6(): void {
  say('B6 no BigInt: hi/lo halves');
  const v = 2 ** 40;
  expectNum('B6 hiOf(2^40)', hiOf(v), 0x100);
  expectNum('B6 loOf(2^40)', loOf(v), 0);
  expectNum('B6 join', join(0x100, 0), v);
  log.attach(capture);
  capture.reset();
  log.begin(LOG_INFO);
  log.hex64(hiOf(v), loOf(v));
  check('B6 hex64 of 2^40', 0, '0x0000010000000000');
}

// ---- B7: finally ---------------------------------------------------------------------------
//
// BROKEN (porffor, V8 and native alike): a finally block is skipped when an
// exception propagates or on return:
//   let f = 0; try { try { throw 1; } finally { f = 1; } } catch (e) {}   // f is 0
//   function g() { try { return 1; } finally { cleanup(); } }            // no cleanup
// RULE: no finally; clean up at the end of the try and in a catch that rethrows.

class B7Lock {
  held = 0;
  releases = 0;
}
const B7_LOCK = new B7Lock();

function b7Locked(fail: boolean): number {
  const lock = B7_LOCK;
  lock.held = 1;
  try {
    if (fail) throw -5;
    lock.held = 0;
    lock.releases++;
    return 0;
  } catch (e) {
    lock.held = 0;
    lock.releases++;
    throw e;
  }
}

function b7(): void {
  say('B7 no finally: cleanup on both paths');
  expectNum('B7 success path', b7Locked(false), 0);
  let thrown = 0;
  try {
    b7Locked(true);
  } catch (e) {
    thrown = e as number;
  }
  expectNum('B7 the error still reaches the caller', thrown, -5);
  expectNum('B7 released after the throw', B7_LOCK.held, 0);
  expectNum('B7 released on both paths', B7_LOCK.releases, 2);
}

// ---- B8: DataView -------------------------------------------------------------------------
//
// BROKEN: after `dv.setUint32(0, 0x81020304, true)`, `dv.getUint32(0, false)`
// is -129 and `dv.getInt32(0, true)` is 2164392708 (signs swapped; Node:
// 67305985 and -2130574588). RULE: no DataView; decode ABI structs with
// peek32 (guest memory) or from bytes with an explicit `>>> 0`.

function b8(): void {
  say('B8 no DataView: assemble from bytes');
  const b = new Uint8Array(4);
  b[0] = 0x04;
  b[1] = 0x03;
  b[2] = 0x02;
  b[3] = 0x81;
  const le = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  const be = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  const signed = b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24);
  expectNum('B8 little-endian u32', le, 0x81020304);
  expectNum('B8 big-endian u32', be, 0x04030281);
  expectNum('B8 little-endian i32', signed, -2130574588);
}

// ---- B9: integer typed-array stores saturate -------------------------------------------------
//
// BROKEN natively: a store converts with a saturating truncation, then narrows:
//   u8[i] = -1            -> 0           (255 under Node)
//   u16[i] = -2           -> 0           (65534)
//   u32[i] = 2 ** 32 + 5  -> 4294967295  (5)
//   u32[i] = -1           -> 0           (4294967295)
//   u32[i] = x | 0, x & m, x ^ m, ~x, x << n with bit 31 set -> 0 (a negative result)
//   i32[i] = 0xC0000080   -> 2147483647  (-1073741696)
// (In-range values and over-range positives in u8/u16, which narrow, agree.)
// RULE: mask every value before the store, into the element type's range:
// `& 0xff`, `& 0xffff`, `>>> 0` for Uint32Array (never `| 0` or a bare `&`),
// `| 0` for Int32Array.

function b9(): void {
  say('B9 mask before typed-array stores');
  const u8 = new Uint8Array(2);
  const u16 = new Uint16Array(2);
  const u32 = new Uint32Array(4);
  const i32 = new Int32Array(2);
  const x = opaque(0xc0000080);
  u8[0] = opaque(-1) & 0xff;
  u16[0] = opaque(-2) & 0xffff;
  u32[0] = opaque(2 ** 32 + 5) >>> 0;
  u32[1] = opaque(-1) >>> 0;
  u32[2] = (x & 0xfffff000) >>> 0;
  u32[3] = ~opaque(0) >>> 0;
  i32[0] = x | 0;
  expectNum('B9 u8 & 0xff', u8[0], 255);
  expectNum('B9 u16 & 0xffff', u16[0], 65534);
  expectNum('B9 u32 (2^32+5) >>> 0', u32[0], 5);
  expectNum('B9 u32 -1 >>> 0', u32[1], 0xffffffff);
  expectNum('B9 u32 (x & mask) >>> 0', u32[2], 0xc0000000);
  expectNum('B9 u32 ~0 >>> 0', u32[3], 0xffffffff);
  expectNum('B9 i32 x | 0', i32[0], -1073741696);
}

// ---- B10/B11: fixed 16 KiB slots ----------------------------------------------------------------
//
// BROKEN natively: every array, Map and typed array lives in one 16 KiB slot.
// An array or Map holds at most 1820 elements (4-byte length + 9 bytes per
// element); the 1821st push or set overwrites the next allocation
// (`xs.push` x 1821, then a neighbour `[9]` reads 0). A typed array holds at
// most 16384 bytes; `new Uint8Array(16385)` overlaps the next allocation and
// larger ones crash. RULE: no array or Map past 1,000 elements and no typed
// array past 16 KiB (DESIGN.md); big tables live in physical pages (peek/poke).
// The repros below stay at the limits and check the neighbour.

function b10(): void {
  say('B10/B11 arrays, Maps and typed arrays at their limits');
  const xs: number[] = [];
  const ys = [9];
  for (let i = 0; i < 1820; i++) xs.push(i);
  expectNum('B10 1820 pushes', xs.length + xs[1819], 1820 + 1819);
  expectNum('B10 neighbour array intact', ys[0], 9);
  const m = new Map<number, number>();
  const zs = [7];
  for (let i = 0; i < 1820; i++) m.set(i, i);
  expectNum('B10 Map of 1820', m.size + (m.get(1819) as number), 1820 + 1819);
  expectNum('B10 neighbour of the Map intact', zs[0], 7);
  const big = new Uint8Array(16384);
  const after = new Uint8Array(4);
  after[0] = 7;
  big.fill(0xaa);
  expectNum('B11 Uint8Array(16384) filled', big[16383], 0xaa);
  expectNum('B11 neighbour typed array intact', after[0], 7);
  const f = new Float64Array(2048);
  const after2 = new Uint8Array(4);
  after2[0] = 8;
  for (let i = 0; i < f.length; i++) f[i] = -1;
  expectNum('B11 Float64Array(2048) filled', f[2047], -1);
  expectNum('B11 neighbour of the Float64Array intact', after2[0], 8);
}

// ---- B12: no garbage collector ------------------------------------------------------------------
//
// Natively every allocation is permanent: `new P(x)` for a one-field class
// takes 49152 bytes, `[]` and `{}` 16384, `new Uint8Array(16)` 16396,
// `new Map()` 32776, `'a' + n` about 520, `new Error(m)` 8, `u8.subarray()` 12,
// one `for (const [k, v] of map)` 1280 and one `map.keys()` loop 16384.
// (Under Node heapUsed() is always 0, so those figures are not printed here.)
// RULE: allocate at init only. The exit and error paths reuse preallocated
// objects and throw numbers or preallocated Errors; this section checks that
// those forms allocate nothing.

class B12Exit {
  reason = 0;
  qual = 0;
}
const B12_RECORD = new B12Exit();
const B12_ERROR = new Error('exit handler failed');

function b12Fail(code: number): number {
  if (code === 1) throw B12_ERROR;
  if (code === 2) throw -22;
  return 0;
}

function b12(): void {
  say('B12 reuse preallocated objects');
  let before = heapUsed();
  let sum = 0;
  for (let i = 0; i < 500; i++) {
    const e = B12_RECORD;
    e.reason = i & 63;
    e.qual = i * 3;
    sum += e.reason + e.qual;
  }
  heapDelta('B12 reused exit record (500 exits)', before);
  before = heapUsed();
  let caught = 0;
  for (let i = 0; i < 200; i++) {
    try {
      b12Fail((i % 3) as number);
    } catch (e) {
      caught++;
    }
  }
  heapDelta('B12 throwing numbers and a preallocated Error (200 calls)', before);
  expectNum('B12 caught', caught, 133);
  expectTrue('B12 checksum', sum > 0);
}

// ---- W-a: wasm2c cannot translate SIMD ------------------------------------------------------
//
// wabt 1.0.32's wasm2c aborts on v128 ops; porffor uses them only in
// __Porffor_strcmp (32 bytes at a time). tools/desimd.mjs rewrites that to
// four i64 compares. Guard: compare strings of 32 bytes and more, built at run
// time (so the pointers differ), differing at several offsets.

function wa(): void {
  say('W-a string compare without SIMD (guards desimd.mjs)');
  const base = 'exit-reason-table-entry-0123456789abcdef-0123456789abcdef-WXYZ!!';
  let copy = '';
  for (let i = 0; i < base.length; i++) copy += base[i];
  expectNum('W-a length', copy.length, 64);
  expectTrue('W-a equal 64-byte strings', copy === base);
  const offsets = [0, 7, 8, 31, 32, 40, 63];
  for (let k = 0; k < offsets.length; k++) {
    let other = '';
    for (let i = 0; i < base.length; i++) {
      const piece = i === offsets[k] ? '#' : base[i]; // P11: never `other += cond ? a : b`
      other += piece;
    }
    expectTrue('W-a differs at an offset', other !== base);
  }
  expectTrue('W-a prefix is not equal', base.substring(0, 33) !== base);
}

// ---- W-b: exception payload order -------------------------------------------------------------
//
// wabt 1.0.32 packs and unpacks porffor's (f64 value, i32 type) exception
// payload in reverse, truncating thrown numbers: `throw 3.5` is caught as 3,
// `throw -7` as 0. tools/w2cfix.sh swaps them back. Guard:

function wbThrow(v: number): number {
  if (v === v) throw v;
  return 0;
}

function wb(): void {
  say('W-b thrown numbers arrive exact (guards w2cfix.sh)');
  const values = [3.5, -7, -0.25, 0xc0000080, 2 ** 53 - 1, -1];
  for (let i = 0; i < values.length; i++) {
    let got = 0;
    try {
      wbThrow(values[i]);
    } catch (e) {
      got = e as number;
    }
    expectTrue('W-b value', got === values[i]);
  }
}

// ---- W-c: catch does not restore the call-depth counter ----------------------------------------
//
// A caught throw skips the depth decrements of the frames it unwinds; with
// wasm2c's default WASM_RT_USE_STACK_DEPTH_COUNT=1 the program traps "call
// stack exhausted" after a few hundred caught throws. The build sets it to 0
// (tools/build-host.sh, Makefile). Guard: 1000 throws from three frames deep.

function wcDeep(n: number): number {
  if (n === 0) throw 1;
  return wcDeep(n - 1) + 1;
}

function wc(): void {
  say('W-c many caught throws (guards WASM_RT_USE_STACK_DEPTH_COUNT=0)');
  let caught = 0;
  for (let i = 0; i < 1000; i++) {
    try {
      wcDeep(3);
    } catch (e) {
      caught += e as number;
    }
  }
  expectNum('W-c caught', caught, 1000);
}

// ---- W-d: locals changed inside a try are stale after a throw ----------------------------------
//
// BROKEN natively with gcc -O1/-O2 (right at -O0): wabt 1.0.32's wasm2c
// implements try with setjmp and keeps Wasm locals in plain C locals, which C
// leaves indeterminate after longjmp when changed since the setjmp (upstream
// WebAssembly/wabt#2469, fixed by #2479 after 1.0.32):
//   let n = 0; try { n = 5; mayThrow(); n = 6; } catch (e) { use(n); }   // n reads 0
// RULE: state changed inside a try and read after a throw lives in an object
// field, a typed array or a module-level variable, never in a local or a
// parameter.

class WdState {
  step = 0;
}
const WD_STATE = new WdState();
let wdModuleStep = 0;

function wdFail(): number {
  throw 1;
}

function wd(): void {
  say('W-d state read after a throw lives outside locals');
  const s = WD_STATE;
  s.step = 0;
  wdModuleStep = 0;
  try {
    s.step = 5;
    wdModuleStep = 5;
    wdFail();
    s.step = 6;
    wdModuleStep = 6;
  } catch (e) {
    expectNum('W-d object field in the catch', s.step, 5);
    expectNum('W-d module-level variable in the catch', wdModuleStep, 5);
  }
  expectNum('W-d object field after the catch', s.step, 5);
}

// ---- P13: static data at page boundaries (patched) ---------------------------------------------
//
// Unpatched porffor filled page 0's literal bin to the full page although
// page 0's data starts at byte 16, so the tail of the literal placed last in
// page 0 shared 16 bytes with page 1's first literal; and it split a literal
// longer than a page over any bins with room, not consecutive pages. Both
// lose a literal's bytes natively. tools/patch-porffor.mjs fixes both. This
// section runs the long-literal path; whether unpatched porffor corrupts it
// depends on how full the earlier bins are, and in this bundle it happens not
// to, so it guards the patched path rather than reproducing the defect. The
// page-0 half is reproduced by test/conformance/instr.ts (vector 318 fails
// unpatched).

function p13Sum(text: string): number {
  let sum = 0;
  for (let i = 0; i < text.length; i++) sum = (sum * 31 + text.charCodeAt(i) * (i + 1)) % 1000000007;
  return sum;
}

function p13(): void {
  say('P13 a literal longer than a static-data page');
  const text = P13_LONG_LITERAL;
  expectNum('P13 length', text.length, 20000);
  expectNum('P13 last character', text.charCodeAt(19999), P13_LONG_LITERAL.charCodeAt(text.length - 1));
  say('P13 checksum printed for Node and native to agree on:');
  log.attach(com1);
  log.begin(LOG_INFO);
  log.str('P13 checksum ');
  log.dec(p13Sum(text));
  log.end();
}

// -----------------------------------------------------------------------------------------------

const REPROS = [p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p15, p16, b1b3, b4, b5, b6, b7, b8, b9, b10, b12, p13, wa, wb, wc, wd];

say('conformance: porffor and wasm2c defects');
for (let i = 0; i < REPROS.length; i++) {
  try {
    REPROS[i]();
  } catch (e) {
    log.attach(com1);
    log.begin(LOG_INFO);
    log.str('repro ');
    log.dec(i);
    log.str(' threw: MISMATCH');
    log.end();
  }
}
say('conformance: porffor and wasm2c defects done');
