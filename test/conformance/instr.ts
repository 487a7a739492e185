// Conformance: the MMIO instruction decoder and emulator (hv/vm/instr-*.ts),
// compiled by the native pipeline, must print what Node prints. Every vector
// of test/vectors/instr-vectors.ts is decoded and emulated (each line "instr
// <i>: ok", or the mismatching fields), then 100,000 seeded random byte
// sequences are decoded (and emulated when they decode) and a checksum of all
// results printed, so both sides must agree on every one. Running the vectors
// and the random sequences again must not grow the heap.
import { heapUsed } from '../../arch/x86/intrinsics';
import { LOG_INFO, log } from '../../hv/log';
import { INSTR_VECTORS, InstrFuzz, InstrVectorRunner } from '../vectors/instr-vectors';
import { capture, check, com1, heapDelta, say } from './lib';

const runner = new InstrVectorRunner();
const fuzz = new InstrFuzz();
const RANDOM_SEQUENCES = 100000;

say('conformance: instruction decoder and emulator');
for (let i = 0; i < INSTR_VECTORS.length; i++) {
  log.attach(capture);
  capture.reset();
  log.begin(LOG_INFO);
  if (runner.checkVector(INSTR_VECTORS[i], log) === 0) log.str('ok');
  check('instr', i, 'ok');
}

fuzz.runMany(RANDOM_SEQUENCES);
log.attach(com1);
log.begin(LOG_INFO);
log.str('random sequences: ');
log.dec(RANDOM_SEQUENCES);
log.str(' decoded ');
log.dec(fuzz.decoded);
log.str(' emulated ');
log.dec(fuzz.emulated);
log.str(' by status');
for (let s = 0; s < 6; s++) {
  log.char(32);
  log.dec(fuzz.statusCounts[s]);
}
log.str(' checksum ');
log.hex(fuzz.sum, 8);
log.end();
say(fuzz.broken === 0 ? 'random sequence invariants: ok' : 'random sequence invariants: MISMATCH');

// Nothing on these paths may allocate: run everything again and watch the heap.
{
  const before = heapUsed();
  for (let r = 0; r < 3; r++) {
    for (let i = 0; i < INSTR_VECTORS.length; i++) {
      log.attach(capture);
      capture.reset();
      runner.checkVector(INSTR_VECTORS[i], log);
    }
  }
  heapDelta('instruction vectors (3 rounds)', before);
}
{
  const before = heapUsed();
  fuzz.runMany(RANDOM_SEQUENCES);
  heapDelta('100000 random sequences', before);
}
say('conformance: instruction decoder and emulator done');
