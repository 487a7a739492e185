// The vCPU context page layout is shared by C, nasm and TypeScript: every
// offset in arch/x86/vcpu-ctx.ts must equal the one in native/vcpu_ctx.h and
// in boot/vmexit.asm.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as ts from '../../arch/x86/vcpu-ctx';

function defines(file: string, pattern: RegExp): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of fs.readFileSync(file, 'utf8').matchAll(pattern)) out.set(m[1], Number(m[2]));
  return out;
}

describe('vCPU context layout', () => {
  const c = defines('arch/x86/native/vcpu_ctx.h', /^#define (CTX_\w+) (0x[0-9a-f]+|\d+)/gm);
  const asm = defines('boot/vmexit.asm', /^%define (CTX_\w+)\s+(0x[0-9a-f]+|\d+)/gm);

  it('TypeScript matches the C header, name for name', () => {
    const tsNames = Object.keys(ts).filter((k) => k.startsWith('CTX_'));
    expect(tsNames.sort()).toEqual([...c.keys()].sort());
    for (const name of tsNames) expect((ts as Record<string, unknown>)[name], name).toBe(c.get(name));
  });

  it('the exit stub uses the same offsets', () => {
    expect(asm.size).toBeGreaterThan(15);
    for (const [name, value] of asm) expect(value, name).toBe(c.get(name));
  });

  it('GPRs follow the instruction-encoding order (rax rcx rdx rbx rsp rbp rsi rdi r8..r15)', () => {
    expect(ts.gprOffset(0)).toBe(ts.CTX_RAX);
    expect(ts.gprOffset(3)).toBe(ts.CTX_RBX);
    expect(ts.gprOffset(7)).toBe(ts.CTX_RDI);
    expect(ts.gprOffset(15)).toBe(ts.CTX_R15);
  });
});
