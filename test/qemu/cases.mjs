// A tiny runner for the emulator tiers: named async cases, run in order (or two
// at a time), each PASS/FAIL with the reason, then "<tier>: N passed, N failed".
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const HV_ISO = path.join(ROOT, 'build', 'hv.iso');

export class CaseFailure extends Error {}

/** Throw unless `text` contains every needle, in order. */
export function expectInOrder(text, needles) {
  let at = 0;
  for (const n of needles) {
    const rest = text.slice(at);
    const m = typeof n === 'string' ? rest.indexOf(n) : rest.search(n);
    if (m < 0) throw new CaseFailure(`expected ${n} after offset ${at}; serial tail:\n${text.slice(-1500)}`);
    at += m + 1;
  }
}

export function expect(cond, what, result) {
  if (!cond) throw new CaseFailure(`${what}${result ? ` (status ${result.status}, exit ${result.exitCode}, ${result.reason}); serial tail:\n${(result.serial || '').slice(-1500)}` : ''}`);
}

export async function runCases(tier, cases, parallel = 1) {
  let passed = 0, failed = 0;
  // CASES=word[,word] (a developer's shortcut) runs only the cases whose name holds one of the words.
  const only = (process.env.CASES ?? '').split(',').filter((w) => w.length > 0);
  const queue = cases.filter(([name]) => only.length === 0 || only.some((w) => name.includes(w)));
  if (queue.length < cases.length) console.log(`${tier}: ${queue.length} of ${cases.length} cases (CASES=${only.join(',')})`);
  const worker = async () => {
    while (queue.length) {
      const [name, fn] = queue.shift();
      const t0 = Date.now();
      try {
        await fn();
        passed++;
        console.log(`PASS  ${tier} ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      } catch (e) {
        failed++;
        console.log(`FAIL  ${tier} ${name}: ${e instanceof CaseFailure ? e.message : e.stack}`);
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  console.log(`${tier}: ${passed} passed, ${failed} failed`);
  return failed === 0;
}
