// The one hardware gateway. Every instruction the hypervisor needs is one
// function here with two bodies: the native import (a Wasm import implemented
// in arch/x86/native/intrinsics.c) and a simulated one (a SimMachine, see
// sim-machine.ts) that vitest and the Node side of the conformance suite use.
// No other module declares a native call.
//
// Representation rules (DESIGN.md):
//  - every value crosses as a JS number (an f64); integers below 2^53 are exact;
//  - a 64-bit value crosses as hi/lo u32 halves: a 64-bit read returns the low
//    half and latches the high half, which hi() returns (hv/u64.ts helpers);
//  - physical addresses are plain numbers (x86-64 physical addresses < 2^52).

/** esbuild --define: true in the native build, false under Node. */
declare const __NATIVE__: boolean;

declare function __outb(port: number, value: number): void;
declare function __inb(port: number): number;
declare function __outw(port: number, value: number): void;
declare function __inw(port: number): number;
declare function __outl(port: number, value: number): void;
declare function __inl(port: number): number;
declare function __hi(): number;
declare function __rdmsr(msr: number): number;
declare function __wrmsr(msr: number, hi: number, lo: number): void;
declare function __read_cr(n: number): number;
declare function __write_cr(n: number, value: number): void;
declare function __cpuid(leaf: number, subleaf: number): number;
declare function __cpuid_reg(reg: number): number;
declare function __rdtsc(): number;
declare function __peek8(pa: number): number;
declare function __peek16(pa: number): number;
declare function __peek32(pa: number): number;
declare function __peek64(pa: number): number;
declare function __poke8(pa: number, value: number): void;
declare function __poke16(pa: number, value: number): void;
declare function __poke32(pa: number, value: number): void;
declare function __poke64(pa: number, hi: number, lo: number): void;
declare function __atomic_or32(pa: number, bits: number): void;
declare function __hlt(): void;
declare function __pause(): void;
declare function __exit(code: number): void;
declare function __heap_used(): number;
declare function __mmap_count(): number;
declare function __mmap_field(index: number, field: number): number;
declare function __cmdline_len(): number;
declare function __cmdline_byte(index: number): number;
declare function __resv_count(): number;
declare function __resv_field(index: number, field: number): number;
declare function __page_alloc(): number;
declare function __page_free(pa: number): void;
declare function __pool_pages(which: number): number;
declare function __vmread(field: number): number;
declare function __vmwrite(field: number, hi: number, lo: number): number;
declare function __selftest_fault(kind: number): void;
declare function __vmxon(pa: number): number;
declare function __vmxoff(): number;
declare function __vmclear(pa: number): number;
declare function __vmptrld(pa: number): number;
declare function __invept(type: number, eptpHi: number, eptpLo: number): number;
declare function __invvpid(type: number, vpid: number): number;
declare function __vmcs_host_setup(): number;
declare function __vcpu_run(ctxPa: number, launch: number): number;
declare function __xsave_size(): number;
declare function __module_count(): number;
declare function __module_field(index: number, field: number): number;
declare function __module_byte(index: number, offset: number): number;
declare function __vcpu_forget(ctxPa: number): void;
declare function __guest_ram_carve(size: number): number;
declare function __exit_floor(on: number): void;
declare function __smp_info(which: number, index: number): number;
declare function __smp_op(op: number, a: number, b: number, c: number): number;

/** What a simulated machine implements; one method per intrinsic. */
export interface HwBackend {
  outb(port: number, value: number): void;
  inb(port: number): number;
  outw(port: number, value: number): void;
  inw(port: number): number;
  outl(port: number, value: number): void;
  inl(port: number): number;
  hi(): number;
  rdmsr(msr: number): number;
  wrmsr(msr: number, hi: number, lo: number): void;
  readCr(n: number): number;
  writeCr(n: number, value: number): void;
  cpuid(leaf: number, subleaf: number): number;
  cpuidReg(reg: number): number;
  rdtsc(): number;
  peek(pa: number, width: number): number;
  poke(pa: number, width: number, hi: number, lo: number): void;
  atomicOr32(pa: number, bits: number): void;
  hlt(): void;
  exit(code: number): void;
  heapUsed(): number;
  mmapCount(): number;
  mmapField(index: number, field: number): number;
  cmdlineLen(): number;
  cmdlineByte(index: number): number;
  resvCount(): number;
  resvField(index: number, field: number): number;
  pageAlloc(): number;
  pageFree(pa: number): void;
  poolPages(which: number): number;
  vmread(field: number): number;
  vmwrite(field: number, hi: number, lo: number): number;
  selftestFault(kind: number): void;
  vmxon(pa: number): number;
  vmxoff(): number;
  vmclear(pa: number): number;
  vmptrld(pa: number): number;
  invept(type: number, eptpHi: number, eptpLo: number): number;
  invvpid(type: number, vpid: number): number;
  vmcsHostSetup(): number;
  vcpuRun(ctxPa: number, launch: number): number;
  xsaveSize(): number;
  moduleCount(): number;
  moduleField(index: number, field: number): number;
  moduleByte(index: number, offset: number): number;
  vcpuForget(ctxPa: number): void;
  guestRamCarve(size: number): number;
  exitFloor(on: number): void;
  smpInfo(which: number, index: number): number;
  startCpus(): number;
  cpuIdle(deadlineTsc: number): number;
  kickCpu(cpu: number): number;
  eptFlushCpus(mask: number, eptpHi: number, eptpLo: number): number;
  declareGuestRam(base: number, size: number): number;
  physPageOk(pa: number, write: boolean): boolean;
}

const NATIVE: boolean = __NATIVE__;
let sim: HwBackend | null = null;

/** Attach the simulated machine every intrinsic uses under Node. */
export function attachSimMachine(machine: HwBackend): void {
  sim = machine;
}

function simulated(): HwBackend {
  if (sim === null) throw new Error('intrinsics: no SimMachine attached');
  return sim;
}

// ---- port I/O ---------------------------------------------------------------
export function outb(port: number, value: number): void { if (NATIVE) __outb(port, value); else simulated().outb(port, value); }
export function inb(port: number): number { return NATIVE ? __inb(port) : simulated().inb(port); }
export function outw(port: number, value: number): void { if (NATIVE) __outw(port, value); else simulated().outw(port, value); }
export function inw(port: number): number { return NATIVE ? __inw(port) : simulated().inw(port); }
export function outl(port: number, value: number): void { if (NATIVE) __outl(port, value); else simulated().outl(port, value); }
export function inl(port: number): number { return NATIVE ? __inl(port) : simulated().inl(port); }

// ---- 64-bit results ---------------------------------------------------------
/** High 32 bits of the last 64-bit read (rdmsr, peek64, vmread). */
export function hi(): number { return NATIVE ? __hi() : simulated().hi(); }

// ---- MSRs, control registers, CPUID, TSC ------------------------------------
/** RDMSR: returns bits 31:0, latches bits 63:32 for hi(). */
export function rdmsr(msr: number): number { return NATIVE ? __rdmsr(msr) : simulated().rdmsr(msr); }
export function wrmsr(msr: number, hiHalf: number, loHalf: number): void { if (NATIVE) __wrmsr(msr, hiHalf, loHalf); else simulated().wrmsr(msr, hiHalf, loHalf); }
/** MOV from CR0/CR2/CR3/CR4 (values fit in 53 bits). */
export function readCr(n: number): number { return NATIVE ? __read_cr(n) : simulated().readCr(n); }
export function writeCr(n: number, value: number): void { if (NATIVE) __write_cr(n, value); else simulated().writeCr(n, value); }
/** CPUID: returns EAX; cpuidReg(1|2|3) returns EBX/ECX/EDX of the same execution. */
export function cpuid(leaf: number, subleaf: number): number { return NATIVE ? __cpuid(leaf, subleaf) : simulated().cpuid(leaf, subleaf); }
export function cpuidReg(reg: number): number { return NATIVE ? __cpuid_reg(reg) : simulated().cpuidReg(reg); }
export function rdtsc(): number { return NATIVE ? __rdtsc() : simulated().rdtsc(); }

// ---- physical memory (checked natively: see native/physaccess.c) ------------
export function peek8(pa: number): number { return NATIVE ? __peek8(pa) : simulated().peek(pa, 1); }
export function peek16(pa: number): number { return NATIVE ? __peek16(pa) : simulated().peek(pa, 2); }
export function peek32(pa: number): number { return NATIVE ? __peek32(pa) : simulated().peek(pa, 4); }
/** 64-bit read: returns bits 31:0, latches bits 63:32 for hi(). */
export function peek64(pa: number): number { return NATIVE ? __peek64(pa) : simulated().peek(pa, 8); }
export function poke8(pa: number, value: number): void { if (NATIVE) __poke8(pa, value); else simulated().poke(pa, 1, 0, value); }
export function poke16(pa: number, value: number): void { if (NATIVE) __poke16(pa, value); else simulated().poke(pa, 2, 0, value); }
export function poke32(pa: number, value: number): void { if (NATIVE) __poke32(pa, value); else simulated().poke(pa, 4, 0, value); }
export function poke64(pa: number, hiHalf: number, loHalf: number): void { if (NATIVE) __poke64(pa, hiHalf, loHalf); else simulated().poke(pa, 8, hiHalf, loHalf); }
/**
 * LOCK OR of `bits` into the aligned dword at `pa` (one atomic read-modify-write,
 * as the CPU sets accessed/dirty flags in a guest's paging-structure entry
 * that its other vCPUs may be writing at the same time).
 */
export function atomicOr32(pa: number, bits: number): void { if (NATIVE) __atomic_or32(pa, bits); else simulated().atomicOr32(pa, bits); }

// ---- CPU control ------------------------------------------------------------
export function hlt(): void { if (NATIVE) __hlt(); else simulated().hlt(); }
export function pause(): void { if (NATIVE) __pause(); }
/**
 * Stop the machine with a test status (0 = pass): drains COM1, then signals
 * QEMU's isa-debug-exit and Bochs's iodebug/shutdown ports, then halts.
 * Never returns natively.
 */
export function testExit(code: number): void { if (NATIVE) __exit(code); else simulated().exit(code); }
/** Bytes the TypeScript heap (porffor's bump allocator) has handed out. */
export function heapUsed(): number { return NATIVE ? __heap_used() : simulated().heapUsed(); }

// ---- boot information -------------------------------------------------------
/** Host memory map entries from multiboot2 (field 0 base, 1 length, 2 type). */
export function mmapCount(): number { return NATIVE ? __mmap_count() : simulated().mmapCount(); }
export function mmapField(index: number, field: number): number { return NATIVE ? __mmap_field(index, field) : simulated().mmapField(index, field); }
export function cmdlineLen(): number { return NATIVE ? __cmdline_len() : simulated().cmdlineLen(); }
export function cmdlineByte(index: number): number { return NATIVE ? __cmdline_byte(index) : simulated().cmdlineByte(index); }
/** Host memory no guest may ever see (field 0 base, 1 size, 2 kind). */
export function resvCount(): number { return NATIVE ? __resv_count() : simulated().resvCount(); }
export function resvField(index: number, field: number): number { return NATIVE ? __resv_field(index, field) : simulated().resvField(index, field); }

/**
 * GRUB modules (guest images, scenario): field 0 start, 1 end (physical,
 * readable with peek: declared read-only), 2 length of the module string;
 * moduleByte(i, k) is byte k of module i's string.
 */
export function moduleCount(): number { return NATIVE ? __module_count() : simulated().moduleCount(); }
export function moduleField(index: number, field: number): number { return NATIVE ? __module_field(index, field) : simulated().moduleField(index, field); }
export function moduleByte(index: number, offset: number): number { return NATIVE ? __module_byte(index, offset) : simulated().moduleByte(index, offset); }

// ---- page pool ----------------------------------------------------------------
/** A zeroed 4 KiB page from the pool, or 0 when the pool is exhausted. */
export function pageAlloc(): number { return NATIVE ? __page_alloc() : simulated().pageAlloc(); }
export function pageFree(pa: number): void { if (NATIVE) __page_free(pa); else simulated().pageFree(pa); }
/**
 * Reserve `size` bytes of host RAM (2 MiB aligned) for a VM the hypervisor
 * backs itself (pre-launched, test): recorded as guest RAM, reachable with
 * peek/poke, never given to another VM. Boot time only; 0 when none is free.
 */
export function guestRamCarve(size: number): number { return NATIVE ? __guest_ram_carve(size) : simulated().guestRamCarve(size); }
/** which 0: free pages, 1: total pages. */
export function poolPages(which: number): number { return NATIVE ? __pool_pages(which) : simulated().poolPages(which); }

// ---- VMX --------------------------------------------------------------------
/** VMREAD: returns bits 31:0, latches bits 63:32 for hi(). */
export function vmread(field: number): number { return NATIVE ? __vmread(field) : simulated().vmread(field); }
/** VMWRITE: returns 0, or 1 (VMfailInvalid) / 2 (VMfailValid). */
export function vmwrite(field: number, hiHalf: number, loHalf: number): number { return NATIVE ? __vmwrite(field, hiHalf, loHalf) : simulated().vmwrite(field, hiHalf, loHalf); }

// VMX instructions return their RFLAGS outcome (SDM Vol. 3C 31.2): 0 success,
// 1 VMfailInvalid (CF), 2 VMfailValid (ZF; the reason is in VM_INSTRUCTION_ERROR).
export const VMX_OK = 0;
export const VMX_FAIL_INVALID = 1;
export const VMX_FAIL_VALID = 2;
export function vmxon(pa: number): number { return NATIVE ? __vmxon(pa) : simulated().vmxon(pa); }
export function vmxoff(): number { return NATIVE ? __vmxoff() : simulated().vmxoff(); }
export function vmclear(pa: number): number { return NATIVE ? __vmclear(pa) : simulated().vmclear(pa); }
export function vmptrld(pa: number): number { return NATIVE ? __vmptrld(pa) : simulated().vmptrld(pa); }
/** INVEPT type 1 (single context, EPTP given) or 2 (all contexts). */
export function invept(type: number, eptpHi: number, eptpLo: number): number { return NATIVE ? __invept(type, eptpHi, eptpLo) : simulated().invept(type, eptpHi, eptpLo); }
/** INVVPID type 1 (single context) or 2 (all contexts). */
export function invvpid(type: number, vpid: number): number { return NATIVE ? __invvpid(type, vpid) : simulated().invvpid(type, vpid); }
/** Write every host-state field of the current VMCS (selectors, bases, CRs, RIP = the exit stub). */
export function vmcsHostSetup(): number { return NATIVE ? __vmcs_host_setup() : simulated().vmcsHostSetup(); }
/**
 * Enter the guest of the current VMCS with the context page at ctxPa
 * (launch 1: VMLAUNCH, 0: VMRESUME) and come back at its next VM exit.
 * Releases the TypeScript lock while the guest runs. Returns VMX_OK after a
 * VM exit (read the exit fields), or the VMfail status when entry failed.
 */
export function vcpuRun(ctxPa: number, launch: number): number { return NATIVE ? __vcpu_run(ctxPa, launch) : simulated().vcpuRun(ctxPa, launch); }
/** Forget a vCPU context page before it is freed (its MSRs may be live on a pCPU). */
export function vcpuForget(ctxPa: number): void { if (NATIVE) __vcpu_forget(ctxPa); else simulated().vcpuForget(ctxPa); }
/** Bytes of the XSAVE area for the features this hypervisor lets guests use (CPUID.0DH). */
export function xsaveSize(): number { return NATIVE ? __xsave_size() : simulated().xsaveSize(); }

// ---- pCPUs (arch/x86/native/ap_start.c, smp_ipi.c) ------------------------------
// smpInfo `which`: see the SMP_* constants.
export const SMP_CPU_COUNT = 0;
export const SMP_APIC_ID = 1;
export const SMP_ONLINE = 2;
export const SMP_THIS_CPU = 3;
export const SMP_TSC_KHZ = 4;
export const SMP_IDLE_WAKEUPS = 5;
export const SMP_KICKS = 6;
export const SMP_FLUSHES = 7;
/** The ACPI MCFG's first ECAM window (base, size; 0 without an MCFG): not SMP, but __smp_info has the slot. */
export const SMP_MMCFG_BASE = 9;
export const SMP_MMCFG_SIZE = 10;
/** The ACPI MADT's I/O APICs (index = MADT order): how many, address, GSI base, ID, redirection entries (read from the chip). */
export const SMP_IOAPIC_COUNT = 11;
export const SMP_IOAPIC_ADDR = 12;
export const SMP_IOAPIC_GSI_BASE = 13;
export const SMP_IOAPIC_ID = 14;
export const SMP_IOAPIC_PINS = 15;
// __smp_op operations (one import for six, the last two not about SMP: Wasm import fields are scarce,
// tools/PORFFOR.md B15); each has its own wrapper below.
const SMP_OP_START = 0;
const SMP_OP_IDLE = 1;
const SMP_OP_KICK = 2;
const SMP_OP_EPT_FLUSH = 3;
const SMP_OP_DECLARE_GUEST_RAM = 4;
const SMP_OP_PAGE_OK = 5;
/** IPI vector kickCpu sends (EOI only, native IDT gate; an exit reason 1 in a guest). */
export const KICK_VECTOR = 0xf0;
/** IPI vector of eptFlushCpus (INVEPT in the native handler). */
export const FLUSH_VECTOR = 0xf1;
export function smpInfo(which: number, index: number): number { return NATIVE ? __smp_info(which, index) : simulated().smpInfo(which, index); }
/** TSC frequency in kHz, calibrated at boot against PIT channel 2 (0 if that failed). */
export function tscKhz(): number { return smpInfo(SMP_TSC_KHZ, 0); }
/** Index of the executing pCPU (0 = boot CPU). */
export function thisCpu(): number { return smpInfo(SMP_THIS_CPU, 0); }
/** Processors enumerated from the ACPI MADT (boot CPU included; 1 without a MADT). */
export function cpuCount(): number { return smpInfo(SMP_CPU_COUNT, 0); }
export function cpuApicId(cpu: number): number { return smpInfo(SMP_APIC_ID, cpu); }
export function cpuOnline(cpu: number): boolean { return smpInfo(SMP_ONLINE, cpu) !== 0; }
/**
 * Boot CPU only, once: INIT-SIPI-SIPI every enumerated AP; each then waits for
 * the TypeScript lock and calls hvApEntry(cpu). Returns the CPUs online.
 */
export function startCpus(): number { return NATIVE ? __smp_op(SMP_OP_START, 0, 0, 0) : simulated().startCpus(); }
/**
 * Nothing to run: release the TypeScript lock and HLT (interrupts on) until
 * kicked or the TSC reaches deadlineTsc (checked at each wake-up, e.g. the
 * host LAPIC timer tick), then take the lock again. Returns 1 if kicked.
 */
export function cpuIdle(deadlineTsc: number): number { return NATIVE ? __smp_op(SMP_OP_IDLE, deadlineTsc, 0, 0) : simulated().cpuIdle(deadlineTsc); }
/** Make another online pCPU re-evaluate its vCPUs (KICK_VECTOR IPI). 1 if sent. */
export function kickCpu(cpu: number): number { return NATIVE ? __smp_op(SMP_OP_KICK, cpu, 0, 0) : simulated().kickCpu(cpu); }
/**
 * INVEPT single-context for the EPTP on every other online pCPU in `mask`
 * (bit n = pCPU n), waiting for each to answer. Returns the mask that never did.
 */
export function eptFlushCpus(mask: number, eptpHi: number, eptpLo: number): number { return NATIVE ? __smp_op(SMP_OP_EPT_FLUSH, mask, eptpHi, eptpLo) : simulated().eptFlushCpus(mask, eptpHi, eptpLo); }

/**
 * Let the hypervisor copy to and from host RAM [base, base + size) (the
 * Service VM's RAM, which it does not own), clipped to what the boot page
 * tables map. 0, or -1 when the range touches hypervisor memory or is already
 * declared (native physaccess.c phys_try_declare_guest).
 */
export function declareGuestRam(base: number, size: number): number { return NATIVE ? __smp_op(SMP_OP_DECLARE_GUEST_RAM, base, size, 0) : simulated().declareGuestRam(base, size); }

/**
 * True when the hypervisor may read (write: and write) the whole 4 KiB page
 * holding `pa` (native physaccess.c phys_page_ok): guest copies check each
 * host page first, so that a guest pointing at memory the hypervisor does
 * not own (MMIO in the Service VM's identity map) is refused, not a panic.
 */
export function physPageOk(pa: number, write: boolean): boolean { return NATIVE ? __smp_op(SMP_OP_PAGE_OK, pa, write ? 1 : 0, 0) !== 0 : simulated().physPageOk(pa, write); }

// ---- test hooks ---------------------------------------------------------------
/** make bench: CPUID and VMCALL exits handled by the assembly floor (1) or the full path (0). */
export function exitFloor(on: number): void { if (NATIVE) __exit_floor(on); else simulated().exitFloor(on); }
/** Deliberately fault (0 #UD, 1 #PF, 2 stack overflow, 3 unowned peek) to test the panic path. */
export function selftestFault(kind: number): void { if (NATIVE) __selftest_fault(kind); else simulated().selftestFault(kind); }
