// w2c-volatile.mjs prog.c: work around wabt 1.0.32 defect W-d (tools/PORFFOR.md):
// wasm2c lowers `try` to setjmp/longjmp without marking the function's locals
// volatile, so at -O1/-O2 a local changed inside a try reads its old value
// after a throw (upstream WebAssembly/wabt#2469, fixed after 1.0.32). Mark the
// locals and parameters of every function that contains a try volatile, as
// the upstream fix does.
// W-d: wabt 1.0.32's wasm2c keeps Wasm locals in plain C locals across the
// setjmp of a try block (upstream WebAssembly/wabt#2469, fixed by #2479 in a
// later wabt); a local changed inside a try reads back stale after a throw.
// Mark the locals and parameters of every function that contains a try volatile.
// usage: node w2c-volatile.mjs prog.c   (edits in place; idempotent)
import fs from 'node:fs';
const file = process.argv[2];
const lines = fs.readFileSync(file, 'utf8').split('\n');
let start = -1, fixed = 0;
for (let i = 0; i < lines.length; i++) {
  if (start < 0 && /^[A-Za-z].*\) \{$/.test(lines[i])) start = i;
  else if (start >= 0 && lines[i] === '}') {
    if (lines.slice(start, i).some((l) => l.includes('wasm_rt_try('))) {
      lines[start] = lines[start].replace(/([(,] ?)(u32|u64|f32|f64) w2c_p/g, '$1$2 volatile w2c_p');
      for (let k = start + 1; k < i; k++) lines[k] = lines[k].replace(/^  (u32|u64|f32|f64|v128) (w2c_l\d)/, '  volatile $1 $2');
      fixed++;
    }
    start = -1;
  }
}
fs.writeFileSync(file, lines.join('\n'));
console.error(`w2c-volatile: ${fixed} function(s) with try blocks`);
