// The small exit handlers: HLT, VMCALL, the VMX instructions and MONITOR/MWAIT
// (#UD, as ACRN does), INVD/WBINVD, XSETBV, the interrupt and NMI windows, the
// preemption timer, external interrupts and exception/NMI exits.
import { poke64, vmread, xsaveSize } from '../../../arch/x86/intrinsics';
import { HOST_SPURIOUS_VECTOR } from '../../../arch/x86/lapic';
import { CTX_XCR0 } from '../../../arch/x86/vcpu-ctx';
import { GUEST_SS_AR } from '../../../arch/x86/vmcs';
import type { ExitInfo } from '../../../arch/x86/vmexit-info';
import { hcDispatch } from '../../dm-hypercall/hypercall';
import { LOG_WARN, log } from '../../log';
import type { Vcpu } from '../vcpu';
import { XCR0_GUEST_FEATURES } from '../vcpuid';
import { clearWindow, hasPendingEvent, INTR_INFO_VALID, queueException, VECTOR_GP, VECTOR_UD } from '../virq';

const RFLAGS_IF = 0x200;
const RAX = 0;
const RCX = 1;
const RDX = 2;

/**
 * HLT: skip it, then leave the run queue until an event that ends a HLT is
 * pending; with RFLAGS.IF = 0 only an NMI (or INIT) does (SDM Vol. 2A HLT).
 */
export function hltExit(vcpu: Vcpu, exit: ExitInfo): void {
  vcpu.advanceRip(exit.ripHi, exit.ripLo, exit.instLen);
  const interruptsEnabled = (exit.rflags & RFLAGS_IF) !== 0;
  vcpu.haltedWithIf = interruptsEnabled;
  if (!hasPendingEvent(vcpu, interruptsEnabled)) vcpu.sched.halt(vcpu);
}

/** INVD and WBINVD: no cache state to keep coherent for a guest with EPT-mapped RAM; skip. */
export function cacheExit(vcpu: Vcpu, exit: ExitInfo): void {
  vcpu.advanceRip(exit.ripHi, exit.ripLo, exit.instLen);
}

/** VMX instructions, MONITOR and MWAIT in a guest: #UD (VMX is hidden; CPUID hides MONITOR). */
export function undefinedOpcodeExit(vcpu: Vcpu, _exit: ExitInfo): void {
  queueException(vcpu, VECTOR_UD, 0);
}

/**
 * VMCALL (ACRN-ABI.md; ACRN vmcall.c vmcall_vmexit_handler, in its order):
 * a VM other than the Service VM gets #UD; the Service VM at CPL > 0 gets
 * #GP(0) (the CPL is SS.DPL, SDM Vol. 3C 25.4.1); neither advances RIP nor
 * touches RAX. Otherwise RIP moves past the VMCALL and the hypercall layer
 * (hv/dm-hypercall/hypercall.ts) runs R8/RDI/RSI and answers in RAX
 * (-ENOTTY, 25, for an unknown id).
 */
export const ENOTTY = 25;
const SS_AR_DPL_SHIFT = 5;
export function vmcallExit(vcpu: Vcpu, exit: ExitInfo): void {
  if (!vcpu.vm.isServiceVm()) {
    queueException(vcpu, VECTOR_UD, 0);
    return;
  }
  if (((vmread(GUEST_SS_AR) >>> SS_AR_DPL_SHIFT) & 3) !== 0) {
    queueException(vcpu, VECTOR_GP, 0);
    return;
  }
  vcpu.advanceRip(exit.ripHi, exit.ripLo, exit.instLen);
  hcDispatch(vcpu);
}


/**
 * XSETBV (SDM Vol. 2D XSETBV; exits unconditionally): ECX must be 0 and XCR0
 * valid (bit 0 set, AVX needs SSE, only features the host supports and the
 * per-vCPU XSAVE page can hold), else #GP(0). The value goes to the vCPU
 * context; the exit stub loads it before entry.
 */
export function xsetbvExit(vcpu: Vcpu, exit: ExitInfo): void {
  const index = vcpu.gprLo(RCX);
  const value = vcpu.gprLo(RAX);
  const valueHi = vcpu.gprLo(RDX);
  // Only features the guest's CPUID leaf 0DH reports (the host's, masked to XCR0_GUEST_FEATURES).
  const table = vcpu.vm.vcpuid;
  const at = table.find(0xd, 0);
  const allowed = (at >= 0 ? table.eax[at] & XCR0_GUEST_FEATURES : 0) | 3; // x87 and SSE always exist in 64-bit CPUs
  const valid = index === 0 && valueHi === 0 && (value & 1) !== 0 && (value & ~allowed) === 0
    && !((value & 4) !== 0 && (value & 2) === 0) && xsaveSize() <= 4096;
  if (!valid) {
    queueException(vcpu, VECTOR_GP, 0);
    return;
  }
  poke64(vcpu.ctxPa + CTX_XCR0, 0, value);
  vcpu.advanceRip(exit.ripHi, exit.ripLo, exit.instLen);
}

/** The guest can take an interrupt now: the injection happens on this entry. */
export function interruptWindowExit(vcpu: Vcpu, _exit: ExitInfo): void {
  clearWindow(vcpu, false);
}

export function nmiWindowExit(vcpu: Vcpu, _exit: ExitInfo): void {
  clearWindow(vcpu, true);
}

/** The slice is over: the run loop moves on to the next runnable vCPU. */
export function preemptionTimerExit(vcpu: Vcpu, _exit: ExitInfo): void {
  vcpu.sched.yieldRequested = true;
}

/**
 * A host interrupt arrived while the guest ran (acknowledged on exit: the
 * vector is in the exit interruption information). The hypervisor takes no
 * device interrupts yet; the host timer that may fire is re-armed by the run loop.
 */
export function externalInterruptExit(vcpu: Vcpu, exit: ExitInfo): void {
  const p = vcpu.vm.platform;
  p.hostInterrupts++;
  p.lastHostVector = exit.intrInfo & 0xff;
  if (p.lastHostVector !== HOST_SPURIOUS_VECTOR) p.lapic.eoi();
}

/** Exceptions are not intercepted (exception bitmap 0): only host NMIs arrive here. */
export function exceptionOrNmiExit(vcpu: Vcpu, exit: ExitInfo): void {
  if ((exit.intrInfo & INTR_INFO_VALID) !== 0 && ((exit.intrInfo >>> 8) & 7) === 2) {
    vcpu.vm.platform.hostNmis++;
    return;
  }
  log.begin(LOG_WARN);
  log.str('unexpected exception exit, interruption info ');
  log.hex(exit.intrInfo >>> 0, 8);
  log.end();
}
