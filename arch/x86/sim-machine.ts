// SimMachine: the simulated twin of the native intrinsics, for tests on Node.
// It models what the hypervisor's TypeScript can observe: I/O ports (COM1 is a
// 16550 whose output is captured and whose input is scripted), MSRs, control
// registers, CPUID, a TSC, sparse physical memory with the same ownership rule
// as native/physaccess.c, the boot information (memory map, command line,
// reserved ranges), the page pool and a VMCS store.
//
// Hardware faults become thrown SimFault errors, so a test sees a #GP from an
// unknown MSR or a panic from an unowned physical access.
import type { HwBackend } from './intrinsics';

export class SimFault extends Error {}

/** The simulated machine stopped through testExit (code in .code). */
export class SimExit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`machine stopped with exit code ${code}`);
    this.code = code;
  }
}

export interface PortDevice {
  read(port: number, width: number): number;
  write(port: number, width: number, value: number): void;
}

const PAGE = 4096;
const COM1 = 0x3f8;
/** Empty-input LSR polls before the simulator decides the program waits forever. */
const INPUT_STARVATION_LIMIT = 200000;

export interface MemoryMapEntry {
  base: number;
  length: number;
  type: number;
}
export interface ReservedRange {
  base: number;
  size: number;
  kind: number;
}

export class SimMachine implements HwBackend {
  /** Every byte written to COM1's THR. */
  serialOut: number[] = [];
  /** Also called with each COM1 output byte, if set. */
  serialSink: ((c: number) => void) | null = null;
  /** Bytes the next COM1 reads return, in order. */
  serialIn: number[] = [];
  /** Writes to ports nobody claimed: [port, width, value]. */
  strayWrites: number[][] = [];
  readonly ports = new Map<number, PortDevice>();
  readonly msrs = new Map<number, [number, number]>();
  readonly cr = [0x80000033, 0, 0, 0x100000, 0x620]; // CR0 PG|NE|ET|MP|PE, CR4 PAE|OSFXSR|OSXMMEXCPT, as boot.asm leaves them
  readonly cpuidTable = new Map<string, [number, number, number, number]>();
  readonly vmcs = new Map<number, [number, number]>();
  memoryMap: MemoryMapEntry[] = [];
  reserved: ReservedRange[] = [];
  cmdline = '';
  exitCode: number | null = null;
  heapBytes = 0;
  tsc = 0;
  /** Cycles the TSC advances per read. */
  tscStep = 1000;

  private latchedHi = 0;
  private cpuidRegs = [0, 0, 0, 0];
  private readonly memory = new Map<number, Uint8Array>();
  private readonly regions: { base: number; size: number; readOnly: boolean }[] = [];
  private poolBase = 0;
  private poolPageCount = 0;
  private readonly poolUsed = new Set<number>();
  private starvedPolls = 0;
  /** COM1 LCR: with DLAB (bit 7) set the data port is the divisor latch, not THR. */
  private com1Lcr = 0;

  // ---- configuration -----------------------------------------------------------
  setMsr(msr: number, hiHalf: number, loHalf: number): this {
    this.msrs.set(msr, [hiHalf >>> 0, loHalf >>> 0]);
    return this;
  }
  setCpuid(leaf: number, subleaf: number, eax: number, ebx: number, ecx: number, edx: number): this {
    this.cpuidTable.set(`${leaf >>> 0}:${subleaf >>> 0}`, [eax >>> 0, ebx >>> 0, ecx >>> 0, edx >>> 0]);
    return this;
  }
  /** CPUID vendor leaf 0 from a 12-character vendor string. */
  setVendor(vendor: string, maxLeaf: number): this {
    const word = (s: string) => s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24);
    return this.setCpuid(0, 0, maxLeaf, word(vendor.slice(0, 4)), word(vendor.slice(8, 12)), word(vendor.slice(4, 8)));
  }
  /** Page pool of `pages` 4 KiB pages at `base`. */
  setPool(base: number, pages: number): this {
    this.poolBase = base;
    this.poolPageCount = pages;
    this.poolUsed.clear();
    return this;
  }
  /** Memory the hypervisor may touch besides pool pages (devices, guest RAM, modules). */
  declareRegion(base: number, size: number, readOnly = false): this {
    this.regions.push({ base, size, readOnly });
    return this;
  }
  attachPort(first: number, count: number, device: PortDevice): this {
    for (let p = first; p < first + count; p++) this.ports.set(p, device);
    return this;
  }
  type(text: string): this {
    for (let i = 0; i < text.length; i++) this.serialIn.push(text.charCodeAt(i));
    return this;
  }
  /** COM1 output as text, "\r\n" folded to "\n". */
  output(): string {
    return String.fromCharCode(...this.serialOut).replace(/\r\n/g, '\n');
  }

  // ---- ports -----------------------------------------------------------------
  private portRead(port: number, width: number): number {
    const dev = this.ports.get(port);
    if (dev) return dev.read(port, width);
    if (port === COM1 + 5) return this.com1Lsr();
    if (port === COM1 && this.serialIn.length > 0) return this.serialIn.shift() as number;
    if (port >= COM1 && port < COM1 + 8) return 0;
    return width === 1 ? 0xff : width === 2 ? 0xffff : 0xffffffff;
  }
  private portWrite(port: number, width: number, value: number): void {
    const dev = this.ports.get(port);
    if (dev) dev.write(port, width, value);
    else if (port === COM1 + 3) this.com1Lcr = value & 0xff;
    else if (port === COM1 && (this.com1Lcr & 0x80) === 0) {
      this.serialOut.push(value & 0xff);
      if (this.serialSink) this.serialSink(value & 0xff);
    }
    else if (!(port > COM1 && port < COM1 + 8)) this.strayWrites.push([port, width, value]);
  }
  private com1Lsr(): number {
    if (this.serialIn.length > 0) {
      this.starvedPolls = 0;
      return 0x61;
    }
    if (++this.starvedPolls > INPUT_STARVATION_LIMIT) {
      throw new SimFault('SimMachine: the program polls COM1 for input that never comes');
    }
    return 0x60;
  }
  outb(port: number, value: number): void { this.portWrite(port, 1, value & 0xff); }
  inb(port: number): number { return this.portRead(port, 1) & 0xff; }
  outw(port: number, value: number): void { this.portWrite(port, 2, value & 0xffff); }
  inw(port: number): number { return this.portRead(port, 2) & 0xffff; }
  outl(port: number, value: number): void { this.portWrite(port, 4, value >>> 0); }
  inl(port: number): number { return this.portRead(port, 4) >>> 0; }

  // ---- registers -------------------------------------------------------------
  hi(): number { return this.latchedHi; }
  rdmsr(msr: number): number {
    const v = this.msrs.get(msr >>> 0);
    if (!v) throw new SimFault(`#GP: rdmsr of absent MSR 0x${(msr >>> 0).toString(16)}`);
    this.latchedHi = v[0];
    return v[1];
  }
  wrmsr(msr: number, hiHalf: number, loHalf: number): void { this.msrs.set(msr >>> 0, [hiHalf >>> 0, loHalf >>> 0]); }
  readCr(n: number): number {
    if (n !== 0 && n !== 2 && n !== 3 && n !== 4) throw new SimFault(`#UD: no CR${n}`);
    return this.cr[n];
  }
  writeCr(n: number, value: number): void {
    if (n !== 0 && n !== 3 && n !== 4) throw new SimFault(`#UD: no CR${n}`);
    this.cr[n] = value;
  }
  cpuid(leaf: number, subleaf: number): number {
    const regs = this.cpuidTable.get(`${leaf >>> 0}:${subleaf >>> 0}`) ?? this.cpuidTable.get(`${leaf >>> 0}:0`);
    this.cpuidRegs = regs ? [...regs] : [0, 0, 0, 0];
    return this.cpuidRegs[0];
  }
  cpuidReg(reg: number): number { return this.cpuidRegs[reg & 3]; }
  rdtsc(): number {
    this.tsc += this.tscStep;
    return this.tsc;
  }

  // ---- physical memory ---------------------------------------------------------
  private owned(pa: number, write: boolean): boolean {
    const page = Math.floor(pa / PAGE);
    if (this.poolUsed.has(page)) return true;
    for (const r of this.regions) if (pa >= r.base && pa < r.base + r.size) return !(write && r.readOnly);
    return false;
  }
  physPageOk(pa: number, write: boolean): boolean {
    const base = Math.floor(pa / PAGE) * PAGE;
    return this.owned(base, write) && this.owned(base + PAGE - 1, write);
  }
  private check(pa: number, width: number, write: boolean): void {
    if (!this.owned(pa, write) || !this.owned(pa + width - 1, write)) {
      throw new SimFault(`phys_${write ? 'write' : 'read'}: 0x${pa.toString(16)} (${width} bytes) is not hypervisor-owned memory`);
    }
  }
  private byteAt(pa: number): Uint8Array {
    const page = Math.floor(pa / PAGE);
    let bytes = this.memory.get(page);
    if (!bytes) {
      bytes = new Uint8Array(PAGE);
      this.memory.set(page, bytes);
    }
    return bytes;
  }
  readByte(pa: number): number { return this.byteAt(pa)[pa % PAGE]; }
  writeByte(pa: number, value: number): void { this.byteAt(pa)[pa % PAGE] = value & 0xff; }
  peek(pa: number, width: number): number {
    this.check(pa, width, false);
    let lo = 0;
    for (let i = Math.min(width, 4) - 1; i >= 0; i--) lo = lo * 256 + this.readByte(pa + i);
    let hiHalf = 0;
    for (let i = width - 1; i >= 4; i--) hiHalf = hiHalf * 256 + this.readByte(pa + i);
    this.latchedHi = hiHalf;
    return lo;
  }
  poke(pa: number, width: number, hiHalf: number, loHalf: number): void {
    this.check(pa, width, true);
    for (let i = 0; i < width; i++) {
      const half = i < 4 ? loHalf >>> 0 : hiHalf >>> 0;
      this.writeByte(pa + i, (half >>> ((i % 4) * 8)) & 0xff);
    }
  }
  /** Every LOCK OR done, as [pa, bits] (tests check which entries got A/D updates). */
  readonly atomicOrs: number[][] = [];
  atomicOr32(pa: number, bits: number): void {
    if (pa % 4 !== 0) throw new SimFault(`atomic_or32: 0x${pa.toString(16)} is not 4-byte aligned`);
    this.check(pa, 4, true);
    this.atomicOrs.push([pa, bits >>> 0]);
    for (let i = 0; i < 4; i++) this.writeByte(pa + i, this.readByte(pa + i) | ((bits >>> (i * 8)) & 0xff));
  }

  // ---- control -----------------------------------------------------------------
  hlt(): void {}
  exit(code: number): void {
    this.exitCode = code;
  }
  heapUsed(): number { return this.heapBytes; }

  // ---- boot information ------------------------------------------------------------
  mmapCount(): number { return this.memoryMap.length; }
  mmapField(index: number, field: number): number {
    const e = this.memoryMap[index];
    if (!e) return 0;
    return field === 0 ? e.base : field === 1 ? e.length : e.type;
  }
  cmdlineLen(): number { return this.cmdline.length; }
  cmdlineByte(index: number): number { return index < this.cmdline.length ? this.cmdline.charCodeAt(index) & 0xff : 0; }
  resvCount(): number { return this.reserved.length; }
  resvField(index: number, field: number): number {
    const r = this.reserved[index];
    if (!r) return 0;
    return field === 0 ? r.base : field === 1 ? r.size : r.kind;
  }

  // ---- page pool ---------------------------------------------------------------------
  pageAlloc(): number {
    const first = Math.floor(this.poolBase / PAGE);
    for (let i = 0; i < this.poolPageCount; i++) {
      if (!this.poolUsed.has(first + i)) {
        this.poolUsed.add(first + i);
        this.memory.set(first + i, new Uint8Array(PAGE));
        return (first + i) * PAGE;
      }
    }
    return 0;
  }
  pageFree(pa: number): void {
    const page = pa / PAGE;
    if (pa % PAGE !== 0 || !this.poolUsed.has(page)) throw new SimFault(`palloc_free: 0x${pa.toString(16)} is not an allocated pool page`);
    this.poolUsed.delete(page);
  }
  poolPages(which: number): number {
    return which === 0 ? this.poolPageCount - this.poolUsed.size : this.poolPageCount;
  }

  // ---- VMX ---------------------------------------------------------------------------
  /** Physical address of the VMXON region while in VMX operation, else 0. */
  vmxonRegion = 0;
  /** Current VMCS (VMPTRLD), 0 when none. */
  currentVmcs = 0;
  /** Field stores per VMCS physical address. */
  readonly vmcsStores = new Map<number, Map<number, [number, number]>>();
  /** INVEPT/INVVPID executions: [instruction, type, operand]. */
  readonly invalidations: [string, number, number][] = [];
  /**
   * What the simulated guest does when a vCPU runs: set the exit fields of the
   * current VMCS (and the context page) as a real VM exit would.
   */
  guest: ((machine: SimMachine, ctxPa: number, launch: number) => void) | null = null;

  private currentFields(): Map<number, [number, number]> | null {
    if (this.currentVmcs === 0) return null;
    let fields = this.vmcsStores.get(this.currentVmcs);
    if (!fields) {
      fields = this.vmcs;
      this.vmcsStores.set(this.currentVmcs, fields);
    }
    return fields;
  }
  vmread(field: number): number {
    const v = this.currentFields()?.get(field) ?? [0, 0];
    this.latchedHi = v[0];
    return v[1];
  }
  vmwrite(field: number, hiHalf: number, loHalf: number): number {
    const fields = this.currentFields();
    if (!fields) return 1;
    fields.set(field, [hiHalf >>> 0, loHalf >>> 0]);
    return 0;
  }
  /** Set a VMCS field of the current VMCS directly (a simulated exit's information). */
  setVmcs(field: number, value: number): void {
    const fields = this.currentFields();
    if (!fields) throw new SimFault('no current VMCS');
    fields.set(field, [Math.floor(value / 4294967296) >>> 0, value >>> 0]);
  }
  vmxon(pa: number): number {
    if (this.vmxonRegion !== 0) return 2;
    if (pa % PAGE !== 0 || (this.cr[4] & 0x2000) === 0) return 1;
    this.vmxonRegion = pa;
    return 0;
  }
  vmxoff(): number {
    if (this.vmxonRegion === 0) return 1;
    this.vmxonRegion = 0;
    return 0;
  }
  vmclear(pa: number): number {
    if (this.vmxonRegion === 0 || pa % PAGE !== 0) return 1;
    if (this.currentVmcs === pa) this.currentVmcs = 0;
    if (!this.vmcsStores.has(pa)) this.vmcsStores.set(pa, new Map());
    return 0;
  }
  vmptrld(pa: number): number {
    if (this.vmxonRegion === 0 || pa % PAGE !== 0) return 1;
    this.currentVmcs = pa;
    if (!this.vmcsStores.has(pa)) this.vmcsStores.set(pa, new Map());
    return 0;
  }
  invept(type: number, eptpHi: number, eptpLo: number): number {
    this.invalidations.push(['invept', type, eptpHi * 4294967296 + eptpLo]);
    return 0;
  }
  invvpid(type: number, vpid: number): number {
    this.invalidations.push(['invvpid', type, vpid]);
    return 0;
  }
  vmcsHostSetup(): number {
    return this.currentVmcs === 0 ? 1 : 0;
  }
  vcpuRun(ctxPa: number, launch: number): number {
    if (this.currentVmcs === 0) return 1;
    if (!this.guest) throw new SimFault('SimMachine: a vCPU ran but no simulated guest is set');
    this.guest(this, ctxPa, launch);
    return 0;
  }
  xsaveSize(): number {
    return 1088;
  }
  vcpuForget(_ctxPa: number): void {}
  exitFloorOn = 0;
  exitFloor(on: number): void {
    this.exitFloorOn = on;
  }
  // ---- pCPUs ------------------------------------------------------------------------
  /** APIC IDs of the enumerated CPUs (index 0 = boot CPU). */
  cpuApicIds: number[] = [0];
  /** CPUs that come online on startCpus (indexes; the boot CPU always is). */
  cpusThatStart: number[] = [];
  cpusOnline: boolean[] = [true];
  currentCpu = 0;
  tscKhzValue = 2000000;
  /** kickCpu calls: [cpu, ...]. */
  kicks: number[] = [];
  idleCalls: number[] = [];
  /** eptFlushCpus calls: [mask, eptpHi, eptpLo]. */
  eptFlushes: number[][] = [];
  /** CPUs that never answer an EPT flush (bit mask). */
  eptFlushDeaf = 0;
  smpInfo(which: number, index: number): number {
    switch (which) {
      case 0: return this.cpuApicIds.length;
      case 1: return index < this.cpuApicIds.length ? this.cpuApicIds[index] : 0;
      case 2: return this.cpusOnline[index] === true ? 1 : 0;
      case 3: return this.currentCpu;
      case 4: return this.tscKhzValue;
      case 9: return this.mmcfgBase;
      case 10: return this.mmcfgSize;
      case 11: return this.ioapics.length;
      case 12: return index < this.ioapics.length ? this.ioapics[index].addr : 0;
      case 13: return index < this.ioapics.length ? this.ioapics[index].gsiBase : 0;
      case 14: return index < this.ioapics.length ? this.ioapics[index].id : 0;
      case 15: return index < this.ioapics.length ? this.ioapics[index].pins : 0;
      default: return 0;
    }
  }
  startCpus(): number {
    for (const c of this.cpusThatStart) if (c < this.cpuApicIds.length) this.cpusOnline[c] = true;
    return this.cpusOnline.filter((x) => x).length;
  }
  cpuIdle(deadlineTsc: number): number {
    this.idleCalls.push(deadlineTsc);
    if (this.tsc < deadlineTsc) this.tsc = deadlineTsc;
    return 0;
  }
  kickCpu(cpu: number): number {
    if (cpu === this.currentCpu || this.cpusOnline[cpu] !== true) return 0;
    this.kicks.push(cpu);
    return 1;
  }
  /** The I/O APICs of the MADT (smpInfo SMP_IOAPIC_*): one 24-pin chip at 0xFEC00000 by default. */
  ioapics: Array<{ id: number; addr: number; gsiBase: number; pins: number }> = [{ id: 0, addr: 0xfec00000, gsiBase: 0, pins: 24 }];
  /** The MCFG ECAM window smpInfo(SMP_MMCFG_BASE / _SIZE) reports (0: no MCFG). */
  mmcfgBase = 0;
  mmcfgSize = 0;
  /** Ranges declareGuestRam() was given. */
  readonly guestRamDeclared: Array<[number, number]> = [];
  declareGuestRam(base: number, size: number): number {
    this.guestRamDeclared.push([base, size]);
    this.declareRegion(base, size);
    return 0;
  }
  eptFlushCpus(mask: number, eptpHi: number, eptpLo: number): number {
    this.eptFlushes.push([mask, eptpHi, eptpLo]);
    let deaf = 0;
    for (let c = 0; c < this.cpusOnline.length; c++) {
      if (c !== this.currentCpu && this.cpusOnline[c] === true && (mask & (1 << c)) !== 0) deaf |= mask & this.eptFlushDeaf & (1 << c);
    }
    return deaf;
  }

  /** Next address guestRamCarve hands out (2 MiB aligned, above the pool). */
  guestRamNext = 0x10000000;
  guestRamCarve(size: number): number {
    const base = this.guestRamNext;
    const bytes = Math.ceil(size / 4096) * 4096;
    this.guestRamNext = Math.ceil((base + bytes) / 0x200000) * 0x200000;
    this.declareRegion(base, bytes);
    this.reserved.push({ base, size: bytes, kind: 9 });
    return base;
  }

  // ---- boot modules -------------------------------------------------------------------
  /** GRUB modules: physical range (declared read-only) and module string. */
  modules: { start: number; end: number; text: string }[] = [];
  /** Add a module holding `bytes` at physical `start`. */
  addModule(start: number, bytes: Uint8Array, text: string): this {
    for (let i = 0; i < bytes.length; i++) this.writeByte(start + i, bytes[i]);
    this.declareRegion(start, bytes.length, true);
    this.modules.push({ start, end: start + bytes.length, text });
    return this;
  }
  moduleCount(): number { return this.modules.length; }
  moduleField(index: number, field: number): number {
    const m = this.modules[index];
    if (!m) return 0;
    return field === 0 ? m.start : field === 1 ? m.end : m.text.length;
  }
  moduleByte(index: number, offset: number): number {
    const m = this.modules[index];
    return m && offset < m.text.length ? m.text.charCodeAt(offset) & 0xff : 0;
  }
  selftestFault(kind: number): void {
    throw new SimFault(`selftest fault ${kind}`);
  }
}
