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

/**
 * lapic.asm with `vcpus=2`: the BSP's and the AP's virtual local APICs
 * (registers, INIT-SIPI-SIPI, IPIs both ways and "all excluding self", the
 * three timer modes, x2APIC, INIT resetting the AP's APIC, HLT with IF = 0
 * staying halted). The timer lines carry measured figures.
 */
export const LAPIC_CHECKS = [
  'lapic-regs', 'ap-start', 'ipi-ap-to-bsp', 'ipi-bsp-to-ap',
  'timer-periodic', 'timer-hlt-wake', 'timer-tsc-deadline', 'x2apic', 'ap-init-reset',
  'ap-cli-hlt',
];

export const LAPIC = [
  'ok lapic-regs',
  'ap up: vcpu1 in protected mode', // printed by the AP itself
  'ok ap-start',
  'ok ipi-ap-to-bsp',
  'ok ipi-bsp-to-ap',
  /^ok timer-periodic fired=10 ticks=\d+ period=2000000 periods=\d+\.\d\d ccr=\d+$/,
  'ok timer-hlt-wake',
  /^ok timer-tsc-deadline late=\d+$/,
  'ok x2apic',
  'ok ap-init-reset',
  'ok ap-cli-hlt',
  `DONE lapic ${LAPIC_CHECKS.length}/${LAPIC_CHECKS.length}`,
];

/**
 * devices.asm, run as two VMs with linked COM2s (`name=dev-a arg=0
 * link=dev-b` and `name=dev-b arg=1`): the vPCI host bridge, COM2's interrupt
 * through the vPIC and through the vIOAPIC, a 4 KiB exchange each way, random
 * device I/O between a heap mark and report (role 0: 10,000 writes per device,
 * role 1: 2,000). The info lines carry figures.
 */
export const DEVICES_CHECKS = ['pci-hostbridge', 'pic-uart-irq', 'ioapic-uart-irq', 'uart-block', 'random-io'];

/** devices.asm lines of the VM with `arg=<role>` (0 or 1). */
export function devices(role) {
  return [
    'ok pci-hostbridge',
    'ok pic-uart-irq',
    'ok ioapic-uart-irq',
    /^info uart-block naps=\d+$/,
    'ok uart-block',
    new RegExp(`^info random-io writes=${role === 0 ? 50000 : 10000} irqs=\\d+$`),
    'ok random-io',
    `DONE devices ${DEVICES_CHECKS.length}/${DEVICES_CHECKS.length}`,
  ];
}

/** devices.asm of either role. */
export const DEVICES = [
  ...devices(0).slice(0, 5),
  /^info random-io writes=(50000|10000) irqs=\d+$/,
  ...devices(0).slice(6),
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
  lapic:    { kind: 'long64', image: 'lapic.bin',    lines: LAPIC },
  devices:  { kind: 'long64', image: 'devices.bin',  lines: DEVICES },
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
