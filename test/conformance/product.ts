// Conformance: the product modules' unit-test vectors, compiled by the native
// pipeline, must print what Node prints (and each must match its expected
// value). Also checks that running them allocates nothing.
import { heapUsed } from '../../arch/x86/intrinsics';
import { Uart16550 } from '../../arch/x86/serial';
import { Cmdline } from '../../hv/cmdline';
import { LOG_INFO, log } from '../../hv/log';
import { Shell } from '../../hv/shell';
import { add64, field64, hiOf, join, loOf } from '../../hv/u64';
import { LOG_VECTORS } from '../vectors/log-vectors';
import { SHELL_VECTORS } from '../vectors/shell-vectors';
import { ADD_VECTORS, FIELD_VECTORS } from '../vectors/u64-vectors';
import { capture, check, heapDelta, say } from './lib';

function formatVector(i: number): void {
  const v = LOG_VECTORS[i];
  log.attach(capture);
  capture.reset();
  log.begin(LOG_INFO);
  if (v[0] === 0) log.dec(v[1]);
  else if (v[0] === 1) log.hex(v[1]);
  else if (v[0] === 2) log.hex(v[1], 8);
  else if (v[0] === 3) log.hex64(v[1], v[2]);
  else log.ascii4(v[1]);
}

say('conformance: product vectors');
for (let i = 0; i < LOG_VECTORS.length; i++) {
  formatVector(i);
  check('log', i, LOG_VECTORS[i][3]);
}

const halves = new Uint32Array(1);
for (let i = 0; i < FIELD_VECTORS.length; i++) {
  const v = FIELD_VECTORS[i];
  log.attach(capture);
  capture.reset();
  log.begin(LOG_INFO);
  log.hex(field64(v[0], v[1], v[2], v[3]));
  check('field64', i, '0x' + v[4].toString(16));
}
for (let i = 0; i < ADD_VECTORS.length; i++) {
  const v = ADD_VECTORS[i];
  const lo = add64(v[0], v[1], v[2], v[3], halves, 0);
  log.attach(capture);
  capture.reset();
  log.begin(LOG_INFO);
  log.hex64(halves[0], lo);
  const want = new Uint32Array(2);
  want[0] = v[4];
  want[1] = v[5];
  let text = '0x';
  for (let k = 0; k < 2; k++) {
    const h = want[k].toString(16);
    for (let p = h.length; p < 8; p++) text += '0';
    text += h;
  }
  check('add64', i, text);
}
{
  const values = [0, 1, 0xffffffff, 0x100000000, 0x1fffffffffffff, 0xfee00000, 0x123456789abc];
  let ok = 0;
  for (let i = 0; i < values.length; i++) if (join(hiOf(values[i]), loOf(values[i])) === values[i]) ok++;
  say(ok === values.length ? 'hiOf/loOf/join round trip: ok' : 'hiOf/loOf/join round trip: MISMATCH');
}

// Cmdline reads the command line given to the program (argv[1] natively,
// CONFORMANCE_CMDLINE under Node): "hv.elf hv.selftest=ud quiet loglevel=4"
{
  const c = new Cmdline();
  c.read();
  const answers = [c.is('hv.selftest', 'ud'), !c.is('hv.selftest', 'u'), c.is('loglevel', '4'), c.find('quiet') > 0, c.find('quie') < 0, c.find('absent') < 0];
  let ok = 0;
  for (let i = 0; i < answers.length; i++) if (answers[i]) ok++;
  say(ok === answers.length ? 'cmdline: ok' : 'cmdline: MISMATCH');
}

// The shell: feed each vector's bytes, compare the echo and the output.
const shell = new Shell(new Uart16550(0x3f8));
for (let i = 0; i < SHELL_VECTORS.length; i++) {
  const input = SHELL_VECTORS[i][0];
  log.attach(capture);
  capture.reset();
  log.begin(LOG_INFO);
  for (let k = 0; k < input.length; k++) {
    shell.input(input.charCodeAt(k));
  }
  check('shell', i, SHELL_VECTORS[i][1]);
}

// Nothing on these paths may allocate: run them again and watch the heap.
{
  const before = heapUsed();
  for (let r = 0; r < 200; r++) {
    for (let i = 0; i < LOG_VECTORS.length; i++) formatVector(i);
    for (let i = 0; i < FIELD_VECTORS.length; i++) field64(FIELD_VECTORS[i][0], FIELD_VECTORS[i][1], FIELD_VECTORS[i][2], FIELD_VECTORS[i][3]);
    for (let i = 0; i < ADD_VECTORS.length; i++) add64(ADD_VECTORS[i][0], ADD_VECTORS[i][1], ADD_VECTORS[i][2], ADD_VECTORS[i][3], halves, 0);
    for (let i = 0; i < SHELL_VECTORS.length; i++) {
      const input = SHELL_VECTORS[i][0];
      capture.reset();
      log.attach(capture);
      for (let k = 0; k < input.length; k++) shell.input(input.charCodeAt(k));
    }
  }
  heapDelta('logger, u64 and shell paths (200 rounds)', before);
}
say('conformance: product vectors done');
