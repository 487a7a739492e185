// A virtual CPU: its VMCS, its context page (GPRs, CR2, switched MSRs, XSAVE
// area; arch/x86/vcpu-ctx.ts), its scheduling state and its pending events.
// Built at init with the VM table; creating a VM only resets it.
import { hi, pageAlloc, pageFree, peek64, poke64, thisCpu, vcpuForget, vmclear, vmread, vmwrite } from '../../arch/x86/intrinsics';
import { CTX_XCR0, CTX_XSAVE_PA, gprOffset } from '../../arch/x86/vcpu-ctx';
import { GUEST_INTERRUPTIBILITY_INFO, GUEST_RIP, GUEST_RSP } from '../../arch/x86/vmcs';
import { TWO_POW_32 } from '../u64';
import type { Scheduler } from './sched';
import type { AcrnVm } from './vm';
import { Vlapic } from './vlapic';
import { VcpuLapicSink } from './vcpu-lapic';
import { IoRequest } from './ioreq';

/** Scheduling states. */
export const VCPU_OFFLINE = 0; // no resources (VM not created)
export const VCPU_INIT = 1; // created, not yet started; or waiting for a SIPI after an INIT
export const VCPU_RUNNABLE = 2; // on its pCPU's run queue
export const VCPU_HALTED = 3; // HLT: off the run queue until it has an event
export const VCPU_STOPPED = 4; // its VM was stopped (fatal guest state or paused)
export const VCPU_WAIT_IO = 5; // an I/O request is with the device model (ioreq.ts): off the run queue until it is finished

/** GPR index of RSP (instruction-encoding order). */
const GPR_RSP = 4;

export const VCPU_STATE_NAMES = ['offline', 'init', 'runnable', 'halted', 'stopped', 'io-wait'];

/** Interruptibility-state bits (SDM Vol. 3C 25.4.2 Table 25-3). */
export const BLOCKING_BY_STI = 1;
export const BLOCKING_BY_MOV_SS = 2;
export const BLOCKING_BY_NMI = 8;

export class Vcpu {
  readonly vm: AcrnVm;
  readonly id: number;
  pcpu = 0;
  /**
   * The pCPU whose host state (HOST_GS_BASE, TR, GDTR, IDTR, RSP... SDM Vol.
   * 3C 25.5) the VMCS holds: setupVmcs writes the current pCPU's; the run loop
   * rewrites it before the vCPU's first entry on another pCPU.
   */
  hostPcpu = -1;
  /** The scheduler of the pCPU this vCPU is placed on (its VM's affinity; createVm sets it). */
  sched: Scheduler;
  state = VCPU_OFFLINE;
  vmcsPa = 0;
  /** Context page; the XSAVE page follows it (both from the pool, contiguous not required: see allocate). */
  ctxPa = 0;
  launched = false;
  /** Primary processor-based controls as last written (the window bits toggle at run time). */
  procControls = 0;

  /** An event a VM exit interrupted, to re-inject at the next entry (virq.ts). */
  reinjectInfo = 0;
  reinjectError = 0;
  reinjectLength = 0;
  /** Pending external interrupt vectors, a 256-bit set (virq.ts). */
  readonly pendingIrq = new Uint32Array(8);
  pendingNmi = 0;
  /** Pending exception (-1 none), its error code and whether it has one. */
  exceptionVector = -1;
  exceptionError = 0;
  exceptionHasError = false;
  /** A delayed external interrupt (test control port): vector and TSC deadline, 0 = none. */
  timerVector = 0;
  timerDeadline = 0;

  /** Emulated MSRs: IA32_MTRR_DEF_TYPE and the 11 fixed-range MTRRs as halves. */
  mtrrDefType = 0;
  readonly mtrrFixed = new Uint32Array(22);
  /** The vCPU's local APIC (vlapic.ts) and what it calls back (vcpu-lapic.ts). */
  readonly lapicSink: VcpuLapicSink;
  readonly vlapic: Vlapic;
  /** Its I/O request to the device model (ioreq.ts), and the MMIO instruction behind it. */
  readonly ioreq = new IoRequest();
  /** INIT received: off the run queue until a SIPI (vcpu-lapic.ts). */
  pendingInit = false;
  /** resetVm asked for a cold reset; the pCPU that runs the vCPU applies it before the next entry (vcpu-reset.ts). */
  coldResetPending = false;
  waitingForSipi = false;
  /** A SIPI to carry out before the next entry, or -1. */
  pendingSipiVector = -1;
  /** The vPIC's INTR reached this vCPU (ExtINT): take the vector from the vPIC at injection. */
  pendingExtInt = false;
  /** RFLAGS.IF when it last executed HLT: whether a maskable interrupt ends the HLT. */
  haltedWithIf = true;
  exits = 0;
  /** GUEST_RIP as it was at the last exit (for reports). */
  lastRipLo = 0;
  lastRipHi = 0;

  constructor(vm: AcrnVm, id: number) {
    this.vm = vm;
    this.id = id;
    this.sched = vm.scheduler;
    this.lapicSink = new VcpuLapicSink(this);
    // The LAPIC timer counts at the TSC rate (1 TSC tick per bus tick), as ACRN's vlapic timer.
    this.vlapic = new Vlapic(id, this.lapicSink, vm.lapicBus, 1);
  }

  /**
   * Allocate the VMCS, context and XSAVE pages. The context page and the XSAVE
   * page must be adjacent (ctx + 4096): allocate until two consecutive pages
   * come out of the pool, giving back the others.
   * @returns false when the pool is exhausted (nothing is kept).
   */
  allocate(): boolean {
    const vmcs = pageAlloc();
    if (vmcs === 0) return false;
    let ctx = pageAlloc();
    let next = ctx === 0 ? 0 : pageAlloc();
    let tries = 0;
    while (ctx !== 0 && next !== 0 && next !== ctx + 4096 && tries < 8) {
      pageFree(ctx);
      ctx = next;
      next = pageAlloc();
      tries++;
    }
    if (ctx === 0 || next === 0 || next !== ctx + 4096) {
      if (next !== 0) pageFree(next);
      if (ctx !== 0) pageFree(ctx);
      pageFree(vmcs);
      return false;
    }
    this.vmcsPa = vmcs;
    this.ctxPa = ctx;
    poke64(ctx + CTX_XSAVE_PA, 0, ctx + 4096);
    poke64(ctx + CTX_XCR0, 0, 1); // x87 only, the reset value (SDM Vol. 1 13.3)
    this.launched = false;
    this.clearEvents();
    this.exits = 0;
    this.mtrrDefType = 0;
    this.mtrrFixed.fill(0);
    // Power-up state (SDM Vol. 3A 11.4.7.1): IA32_APIC_BASE FEE00000, enabled, BSP flag on vCPU 0.
    this.vlapic.reset(this.id, this.id === 0);
    this.pendingInit = false;
    this.waitingForSipi = false;
    this.pendingSipiVector = -1;
    this.pendingExtInt = false;
    return true;
  }

  /**
   * Give every page back to the pool. The VMCS may still be active on the
   * vCPU's pCPU, which may write its cached state back to the region at any
   * time until a VMCLEAR there (SDM Vol. 3C 25.11.1, 25.11.3): on this pCPU
   * it is cleared now; on another (its VM shut down from elsewhere) it goes
   * to that pCPU's scheduler, which clears and frees it (Scheduler.retire).
   */
  release(): void {
    if (this.ctxPa !== 0) {
      vcpuForget(this.ctxPa);
      pageFree(this.ctxPa + 4096);
      pageFree(this.ctxPa);
      this.ctxPa = 0;
    }
    if (this.vmcsPa !== 0) {
      const s = this.sched;
      if (s.pcpu === thisCpu() || !s.retire(this.vmcsPa)) {
        vmclear(this.vmcsPa);
        pageFree(this.vmcsPa);
      }
      if (s.loadedVmcs === this.vmcsPa) s.loadedVmcs = 0;
      this.vmcsPa = 0;
    }
    this.state = VCPU_OFFLINE;
  }

  clearEvents(): void {
    this.pendingIrq.fill(0);
    this.pendingNmi = 0;
    this.exceptionVector = -1;
    this.exceptionError = 0;
    this.exceptionHasError = false;
    this.timerVector = 0;
    this.timerDeadline = 0;
    this.reinjectInfo = 0;
  }

  // ---- guest registers (context page) ---------------------------------------------
  /**
   * Low 32 bits of GPR `index` (0 RAX .. 15 R15); gprHi() then gives the high
   * half. RSP (4) lives in the VMCS (the context page's slot is unused).
   */
  gprLo(index: number): number {
    if (index === GPR_RSP) return vmread(GUEST_RSP) >>> 0;
    return peek64(this.ctxPa + gprOffset(index)) >>> 0;
  }
  gprHi(): number {
    return hi() >>> 0;
  }
  setGpr(index: number, hiHalf: number, loHalf: number): void {
    if (index === GPR_RSP) vmwrite(GUEST_RSP, hiHalf >>> 0, loHalf >>> 0);
    else poke64(this.ctxPa + gprOffset(index), hiHalf >>> 0, loHalf >>> 0);
  }
  /**
   * Write the low `size` bytes of a GPR as an instruction of that operand size
   * would: 4 bytes zero-extend into the upper half (64-bit mode rule, SDM Vol. 1
   * 3.4.1.1), 1 and 2 bytes leave the other bits alone.
   */
  setGprSized(index: number, size: number, value: number): void {
    if (size >= 4) {
      this.setGpr(index, 0, value >>> 0);
      return;
    }
    const lo = this.gprLo(index);
    const upper = this.gprHi();
    const mask = size === 1 ? 0xff : 0xffff;
    this.setGpr(index, upper, ((lo & ~mask) | (value & mask)) >>> 0);
  }

  /** GUEST_RIP += length (the exit's instruction), clearing STI/MOV-SS blocking. */
  advanceRip(ripHi: number, ripLo: number, length: number): void {
    let lo = ripLo + length;
    let hiHalf = ripHi;
    if (lo >= TWO_POW_32) {
      lo -= TWO_POW_32;
      hiHalf = (hiHalf + 1) >>> 0;
    }
    vmwrite(GUEST_RIP, hiHalf, lo);
    const intr = vmread(GUEST_INTERRUPTIBILITY_INFO);
    if ((intr & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) !== 0) {
      vmwrite(GUEST_INTERRUPTIBILITY_INFO, 0, intr & ~(BLOCKING_BY_STI | BLOCKING_BY_MOV_SS));
    }
  }
}
