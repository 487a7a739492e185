// expected.mjs - the console lines each test guest must print, in order.
//
// Lines are compared after the hypervisor's VM-name prefix has been removed.
// Each entry is a string (exact line) or a RegExp. Other lines may appear in
// between (e.g. from other VMs), but no line of a guest may match FAIL_LINE.
// Guest sources and the checks behind each line: guests/*.asm, guests/README.md.

/** Any failure report from any guest ("FAIL <name> <detail>", "FAIL unexpected vector ..."). */
export const FAIL_LINE = /^FAIL\b/;

/** long64.asm check names, in the order they run. io-rep-outs prints "rep-outs ok" itself. */
export const LONG64_CHECKS = [
  'cpuid-hv', 'cpuid-sig', 'cpuid-priv',
  'cr0-shadow', 'cr4-vmxe', 'cr4-osxsave', 'xsetbv',
  'msr-efer', 'msr-pat', 'msr-mtrr', 'msr-apicbase', 'msr-unknown',
  'io-byte', 'io-word', 'io-dword', 'io-rep-ins', 'io-rep-outs',
  'vmcall', 'wbinvd',
  'int-window', 'nmi-window', 'hlt-wake',
];

export const LONG64 = [
  ...LONG64_CHECKS.map((n) => (n === 'io-rep-outs' ? 'rep-outs ok' : `ok ${n}`)),
  `DONE long64 ${LONG64_CHECKS.length}/${LONG64_CHECKS.length}`,
];

/** prot32.asm: entered with ESI = 0 (no zero page). */
export const PROT32 = [
  'prot32 up esi=00000000',
  'ok cpuid-hv',
  'ok cr0-mode',
  'ok io-in',
  'rep-outs ok',
  'DONE prot32 4/4',
];

export const REAL16 = [
  'real16 up',
  'ok reset-edx',
  'ok cpuid-sig',
  'ok io-in',
  'DONE real16 3/3',
];

/** spinner.asm for the VM whose entry RDI (VM id) is `vmid`. */
export function spinner(vmid) {
  return [1, 2, 3, 4, 5].map((i) => `tick ${vmid} ${i}`).concat(['DONE spinner']);
}

/** spinner.asm when the VM id is not known in advance. */
export const SPINNER = [
  /^tick \d+ 1$/, /^tick \d+ 2$/, /^tick \d+ 3$/, /^tick \d+ 4$/, /^tick \d+ 5$/,
  'DONE spinner',
];

/** triple.asm: this line, then nothing from this VM; the hypervisor reports the triple fault. */
export const TRIPLE = ['triple-fault now'];

/** eptfault.asm: this line, then the hypervisor's report of the instruction fetch from unmapped memory; never "FAIL still running". */
export const EPTFAULT = ['ept-violation now'];

/**
 * mmio.asm groups, in the order they run: each runs its instruction forms
 * against RAM and against the test MMIO device (0x3FE00000) and compares.
 */
export const MMIO_GROUPS = [
  'device-init', 'device-edges',
  'mov-load', 'mov-store', 'mov-imm', 'mov-moffs', 'addressing', 'prefixes',
  'movzx', 'movsx', 'movsxd',
  'and', 'or', 'xor', 'sub', 'cmp', 'test', 'lock', 'bt',
  'stos', 'rep-stos', 'movs', 'rep-movs',
  'straddle', 'fetch-straddle', 'unmapped',
];

/** mmio.asm with arg=0: the groups, DONE, then the unsupported instruction that must stop the VM. */
export const MMIO = [
  ...MMIO_GROUPS.map((n) => `ok ${n}`),
  `DONE mmio ${MMIO_GROUPS.length}/${MMIO_GROUPS.length}`,
  'unsupported-add now',
];

/** vmxinsn.asm: each VMX instruction, then MONITOR and MWAIT, is one #UD at its own RIP. */
const VMXINSN_CHECKS = [
  'vmxon', 'vmclear', 'vmptrld', 'vmptrst', 'vmread', 'vmwrite', 'vmlaunch', 'vmresume',
  'vmxoff', 'invept', 'invvpid', 'vmfunc', 'monitor', 'mwait',
];

export const VMXINSN = [
  ...VMXINSN_CHECKS.map((n) => `ok ud-${n}`),
  `DONE vmxinsn ${VMXINSN_CHECKS.length}/${VMXINSN_CHECKS.length}`,
];

/** bench.asm: guest-visible TSC ticks per iteration (2000 each); the figures vary. */
export const BENCH = [
  /^bench cpuid \d+$/, /^bench vmcall \d+$/, /^bench io-in \d+$/, /^bench nop \d+$/,
  'DONE bench',
];

/** Per guest: module-string kind, image name, expected lines. */
export const GUESTS = {
  long64:   { kind: 'long64', image: 'long64.bin',   lines: LONG64 },
  prot32:   { kind: 'prot32', image: 'prot32.bin',   lines: PROT32 },
  real16:   { kind: 'real16', image: 'real16.bin',   lines: REAL16 },
  spinner:  { kind: 'long64', image: 'spinner.bin',  lines: SPINNER },
  triple:   { kind: 'long64', image: 'triple.bin',   lines: TRIPLE },
  eptfault: { kind: 'long64', image: 'eptfault.bin', lines: EPTFAULT },
  mmio:     { kind: 'long64', image: 'mmio.bin',     lines: MMIO },
};

/**
 * Match `expected` in order against `lines` (one VM's lines, prefix removed).
 * Returns { ok, next, failed }: `next` is the index of the first expected entry
 * not found (expected.length when all were), `failed` the lines matching FAIL_LINE.
 */
export function matchInOrder(lines, expected) {
  let next = 0;
  const failed = [];
  for (const line of lines) {
    if (FAIL_LINE.test(line)) failed.push(line);
    if (next < expected.length) {
      const e = expected[next];
      if (typeof e === 'string' ? line === e : e.test(line)) next += 1;
    }
  }
  return { ok: next === expected.length && failed.length === 0, next, failed };
}
