// Static checks for the porffor coding rules that a compiler defect makes
// mandatory (tools/PORFFOR.md). Node cannot see these defects at run time, so
// the bundled hypervisor source is checked for the patterns that trigger them.
import fs from 'node:fs';
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';

const bundle = buildSync({
  entryPoints: ['hv/main.ts'], bundle: true, format: 'esm', write: false, target: 'es2022',
  define: { __NATIVE__: 'true' }, logLevel: 'silent',
}).outputFiles[0].text;

describe('porffor coding rules in the native bundle', () => {
  it('P3: no top-level function shares its name with a class method', () => {
    const functions = new Set([...bundle.matchAll(/^(?:async )?function (\w+)\(/gm)].map((m) => m[1]));
    const methods = new Set([...bundle.matchAll(/^ {2}(?:static )?(\w+)\([^)]*\) \{/gm)].map((m) => m[1]));
    const clashes = [...functions].filter((f) => methods.has(f) && f !== 'constructor');
    expect(clashes).toEqual([]);
  });

  it('P1: no store into obj.field[index] where the index reads a property, an element or a call', () => {
    const re = /[\w$]+(?:\.[\w$]+|\[[^\]\n]*\])*\.[\w$]+\[([^\]\n]*)\]\s*(?:[-+*\/%&|^]|<<|>>>?)?=(?!=)|[\w$]+(?:\.[\w$]+)*\.[\w$]+\[([^\]\n]*)\](?:\+\+|--)/g;
    const stores = [...bundle.matchAll(re)].filter((m) => /[.[(]/.test(m[1] ?? m[2])).map((m) => m[0]);
    expect(stores).toEqual([]);
  });

  it('P4/P5/P8: at most one extends level, no super.method(), no Map.entries()', () => {
    const parents = new Map([...bundle.matchAll(/^var (\w+) = class(?: extends (\w+))?|^class (\w+)(?: extends (\w+))?/gm)].map((m) => [m[1] ?? m[3], m[2] ?? m[4]]));
    const deep = [...parents].filter(([, p]) => p !== undefined && parents.get(p) !== undefined).map(([c]) => c);
    expect(deep).toEqual([]);
    expect(bundle).not.toMatch(/\bsuper\.\w+\(/);
    expect(bundle).not.toMatch(/\.entries\(\)/);
  });

  it('no finally (B7) and no BigInt literals (B6)', () => {
    expect(bundle).not.toMatch(/\bfinally\b/);
    expect(bundle).not.toMatch(/\b\d+n\b/);
  });

  it('P15: no parameter, local or property named console (a parameter reads as the global console)', () => {
    const found = [...bundle.matchAll(/(?:this|\w)\.console\b|^\s+(?:readonly )?console[:=;]|[(,]\s*console\s*[,)=]|(?:let|const|var)\s+console\b/gm)];
    expect(found.map((m) => m[0])).toEqual([]);
  });

  it('P16: never `+= String.fromCharCode(...)`: the piece goes through a local', () => {
    expect([...bundle.matchAll(/\+=\s*String\.fromCharCode\(/g)].map((m) => m[0])).toEqual([]);
  });

  it('P14: no intrinsic is named like a Function method (__x_call, __x_apply, __x_bind)', () => {
    const names = Object.keys(JSON.parse(fs.readFileSync('tools/intrinsics.json', 'utf8'))).filter((n) => n.startsWith('__'));
    expect(names.length).toBeGreaterThan(40);
    expect(names.filter((n) => /_(call|apply|bind)$/.test(n))).toEqual([]);
  });
});
