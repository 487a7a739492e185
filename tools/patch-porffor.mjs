// patch-porffor.mjs: fix porffor 0.61.13's ToInt32/ToUint32 for bitwise ops.
// Upstream uses i32.trunc_sat_f64_s (saturating) so any runtime value >= 2^31
// becomes 0x7fffffff, and `>>>` converts its result back as *signed*.
// Fix: ToInt32 = i64.trunc_sat_f64_s + i32.wrap_i64 (exact mod 2^32 for |x| < 2^63),
//      `>>>` result via f64.convert_i32_u.   Idempotent.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('porffor/package.json')), 'compiler');

const edit = (file, from, to) => {
  const p = path.join(dir, file);
  let s = fs.readFileSync(p, 'utf8');
  if (s.includes(to)) return console.log(`${file}: already patched`);
  if (!s.includes(from)) throw new Error(`${file}: pattern not found`);
  fs.writeFileSync(p, s.replace(from, to));
  console.log(`${file}: patched`);
};

edit('expression.js',
`const f64ifyBitwise = op => (_1, _2, { left, right }) => [
  ...left,
  Opcodes.i32_trunc_sat_f64_s,
  ...right,
  Opcodes.i32_trunc_sat_f64_s,
  [ op ],
  [ Opcodes.f64_convert_i32_s ]
];`,
`// [pf-patch] wrapping ToInt32 + unsigned result for >>>
const f64ifyBitwise = op => (_1, _2, { left, right }) => [
  ...left,
  Opcodes.i64_trunc_sat_f64_s, [ Opcodes.i32_wrap_i64 ],
  ...right,
  Opcodes.i64_trunc_sat_f64_s, [ Opcodes.i32_wrap_i64 ],
  [ op ],
  [ op === Opcodes.i32_shr_u ? Opcodes.f64_convert_i32_u : Opcodes.f64_convert_i32_s ]
];`);

edit('codegen.js',
`        ...toNumeric(),
        Opcodes.i32_to,
        [ Opcodes.i32_const, -1 ],`,
`        ...toNumeric(),
        ...(valtypeBinary === Valtype.i32 ? [] : [ Opcodes.i64_trunc_sat_f64_s, [ Opcodes.i32_wrap_i64 ] ]), // [pf-patch]
        [ Opcodes.i32_const, -1 ],`);

// [pf-patch] export the bump allocator's `currentPtr` global as "h" so the
// native runtime can report how many bytes the TypeScript heap uses (heap
// accounting: a code path that allocates moves it, one that does not leaves it).
edit('assemble.js',
`    unsigned(exportFuncs.length + usesMemory + usesTags);`,
`    const heapGlobal = globals['#porf#currentPtr']?.idx ?? -1; // [pf-patch]
    unsigned(exportFuncs.length + usesMemory + usesTags + (heapGlobal >= 0 ? 1 : 0));
    if (heapGlobal >= 0) { string('h'); byte(ExportDesc.global); unsigned(heapGlobal); }`);

// [pf-patch] defect P2 (tools/PORFFOR.md): a call to a host import does not set
// the callee's result type, so a function returning an import's result hands
// back whatever type the previous call left (`typeof x !== 'number'`, and
// `x === 8` is false for x = 8). Mark an import's result as a number.
edit('codegen.js',
`  out.push([ Opcodes.call, idx ]);
  if (decl._insideIndirect) return out;

  if (typedReturns) out.push(...setLastType(scope));`,
`  out.push([ Opcodes.call, idx ]);
  if (decl._insideIndirect) return out;

  if (typedReturns) out.push(...setLastType(scope));
  else if (idx === importedFuncs[name] && importedFuncs[importedFuncs[name]]?.returns?.length > 0) out.push(...setLastType(scope, TYPES.number)); // [pf-patch]`);

// [pf-patch] defect P13 (tools/PORFFOR.md): static data (string literals) goes
// into page-sized "bins". Page 0's data starts at byte 16 (pagePtr(0)), but its
// bin was filled to pageSize, so the last 16 bytes of page 0's last literal were
// also the first 16 bytes of page 1 and one overwrote the other. And a literal
// longer than a page was split over whichever bins had room, not over
// consecutive pages. Page 0's bin now starts 16 bytes in, and an allocation of
// more than a page takes fresh consecutive bins.
edit('codegen.js',
`  let startingPtr = 0;
  while (bytes > 0) {
    const alloc = Math.min(bytes, pageSize);
    bytes -= alloc;

    let bin = bins.find(x => (pageSize - x.used) >= alloc);
    if (!bin) {
      // new bin
      const page = pages.size;
      bin = {
        used: 0,
        page
      };

      const id = bins.push(bin);
      pages.set(\`#bin: \${id}\`, page);
    }

    if (!startingPtr) startingPtr = pagePtr(bin.page) + bin.used;`,
`  let startingPtr = 0;
  const whole = bytes; // [pf-patch] P13
  while (bytes > 0) {
    const alloc = Math.min(bytes, pageSize);
    bytes -= alloc;

    const fits = x => (pageSize - x.used) >= alloc;
    let bin = whole > pageSize ? null : bins.find(fits);
    while (!bin || !fits(bin)) {
      // new bin; page 0's data starts at byte 16
      const page = pages.size;
      bin = {
        used: page === 0 ? 16 : 0,
        page
      };

      const id = bins.push(bin);
      pages.set(\`#bin: \${id}\`, page);
    }

    if (!startingPtr) startingPtr = bin.page * pageSize + bin.used;`);
