// Conformance: ACRN's VM state machine (hv/vm/vm-state.ts, the guards every
// lifecycle API in hv/vm/vm-api.ts asks first) compiled by the native
// pipeline must print what Node prints: every (API, state) pair for a
// standard and a real-time VM, checked against the table written out from
// ACRN-ABI.md (test/conformance/data/vm-state-vectors.ts, the vectors
// test/unit/vm-api.test.ts runs through the APIs themselves); then all of
// them again without heap growth.
import { heapUsed } from '../../arch/x86/intrinsics';
import { LOG_INFO, log } from '../../hv/log';
import { VM_STATE_NAMES } from '../../hv/vm/vm';
import { VM_API_NAMES, VM_API_REFUSED, vmApiNextState } from '../../hv/vm/vm-state';
import { REALTIME_VECTORS, STANDARD_VECTORS } from './data/vm-state-vectors';
import { capture, check, heapDelta, say } from './lib';

/** The return value and state of one vector through the table, as "rc state". */
function run(label: string, vectors: number[][], rt: boolean, print: boolean): number {
  let failures = 0;
  for (let i = 0; i < vectors.length; i++) {
    const row = vectors[i];
    const api = row[0];
    const before = row[1];
    const next = vmApiNextState(api, before, rt);
    const rc = next === VM_API_REFUSED ? -1 : 0;
    const after = next === VM_API_REFUSED ? before : next;
    if (rc !== row[2] || after !== row[3]) failures++;
    if (!print) continue;
    capture.reset();
    log.attach(capture);
    log.begin(LOG_INFO);
    log.str(VM_API_NAMES[api]);
    log.str(' in ');
    log.str(VM_STATE_NAMES[before]);
    log.str(rc === 0 ? ': 0, ' : ': -1, ');
    log.str(VM_STATE_NAMES[after]);
    log.end();
    const want = VM_API_NAMES[api] + ' in ' + VM_STATE_NAMES[before] + (row[2] === 0 ? ': 0, ' : ': -1, ') + VM_STATE_NAMES[row[3]] + '\r\n';
    check(label, i, want);
  }
  return failures;
}

say('VM state machine (ACRN-ABI.md): standard VM');
let failures = run('standard', STANDARD_VECTORS, false, true);
say('VM state machine: real-time VM');
failures += run('real-time', REALTIME_VECTORS, true, true);
log.begin(LOG_INFO);
log.str('vectors: ');
log.dec(STANDARD_VECTORS.length + REALTIME_VECTORS.length);
log.str(', failures: ');
log.dec(failures);
log.end();
const before = heapUsed();
let again = 0;
for (let k = 0; k < 100; k++) again += run('standard', STANDARD_VECTORS, false, false) + run('real-time', REALTIME_VECTORS, true, false);
heapDelta('100 more passes over every vector', before);
log.begin(LOG_INFO);
log.str('failures in the repeated passes: ');
log.dec(again);
log.end();
