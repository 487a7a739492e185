// Event injection (ACRN's virq.c): exceptions, NMIs and external interrupts
// pending on a vCPU are delivered at the next VM entry through the VM-entry
// interruption-information field, one event per entry, in the order the
// SDM gives (Vol. 3A 6.9 "Priority Among Simultaneous Exceptions and
// Interrupts"): an event whose delivery a VM exit interrupted first
// (re-injection from IDT-vectoring information, SDM Vol. 3C 28.2.4 / 27.2.x),
// then exceptions, then NMIs, then external interrupts. When the guest cannot
// take an NMI or an interrupt yet, NMI-window or interrupt-window exiting is
// turned on and the event waits for that exit.
//
// External interrupts come from three places, in ACRN's order
// (acrn_handle_pending_request: ExtINT before the vLAPIC):
//   pendingIrq   the test control port's injections (guests/README.md),
//                taken without an INTA or an EOI, highest vector first;
//   the vPIC     its INTR output reached this vCPU as ExtINT (pendingExtInt):
//                the vector comes from the vPIC's INTA cycle at injection;
//   the vLAPIC   fixed interrupts in its IRR whose priority class beats the
//                PPR (vlapic.pendingVector()); on injection the vector moves
//                to the ISR (ackVector) and the guest ends it with an EOI.
import { vmread, vmwrite } from '../../arch/x86/intrinsics';
import {
  CPU_BASED_VM_EXEC_CONTROL, GUEST_INTERRUPTIBILITY_INFO, GUEST_RFLAGS, PROC_INTERRUPT_WINDOW_EXITING,
  PROC_NMI_WINDOW_EXITING, VM_ENTRY_EXCEPTION_ERROR_CODE, VM_ENTRY_INSTRUCTION_LEN, VM_ENTRY_INTR_INFO,
} from '../../arch/x86/vmcs';
import type { ExitInfo } from '../../arch/x86/vmexit-info';
import { BLOCKING_BY_MOV_SS, BLOCKING_BY_NMI, BLOCKING_BY_STI, VCPU_HALTED, type Vcpu } from './vcpu';

/** Interruption-information format (SDM Vol. 3C 25.8.3, Table 25-17). */
export const INTR_INFO_VALID = 0x80000000;
export const INTR_INFO_DELIVER_ERROR = 0x800;
export const INTR_TYPE_EXTERNAL = 0 << 8;
export const INTR_TYPE_NMI = 2 << 8;
export const INTR_TYPE_HW_EXCEPTION = 3 << 8;
export const INTR_TYPE_SW_INTERRUPT = 4 << 8;
export const INTR_TYPE_PRIV_SW_EXCEPTION = 5 << 8;
export const INTR_TYPE_SW_EXCEPTION = 6 << 8;
/** IDT-vectoring bit 12 is undefined (NMI unblocking is only in exit interruption info). */
const IDT_VECTORING_UNDEFINED_BIT = 0x1000;

export const VECTOR_DE = 0;
export const VECTOR_NMI = 2;
export const VECTOR_UD = 6;
export const VECTOR_DF = 8;
export const VECTOR_TS = 10;
export const VECTOR_NP = 11;
export const VECTOR_SS = 12;
export const VECTOR_GP = 13;
export const VECTOR_PF = 14;

const RFLAGS_IF = 0x200;

/** Exceptions that push an error code (SDM Vol. 3A Table 6-1). */
export function exceptionHasErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17 || vector === 21 || vector === 29 || vector === 30;
}

/** Contributory exceptions (SDM Vol. 3A Table 6-4) for the double-fault rule. */
function contributory(vector: number): boolean {
  return vector === 0 || (vector >= 10 && vector <= 13);
}

/** A maskable interrupt is pending: test port, vPIC ExtINT, or a vLAPIC vector above the PPR. */
function maskablePending(vcpu: Vcpu): boolean {
  const irq = vcpu.pendingIrq;
  for (let i = 0; i < 8; i++) if (irq[i] !== 0) return true;
  return vcpu.pendingExtInt || vcpu.vlapic.pendingVector() >= 0;
}

/**
 * The vCPU has an event that ends a HLT (SDM Vol. 2A HLT: "an enabled
 * interrupt (including NMI and SMI), a debug exception, the BINIT# signal,
 * the INIT# signal, or the RESET# signal"): an exception or NMI always; a
 * maskable interrupt only when `interruptsEnabled` (RFLAGS.IF).
 */
export function hasPendingEvent(vcpu: Vcpu, interruptsEnabled: boolean): boolean {
  if (vcpu.exceptionVector >= 0 || vcpu.pendingNmi > 0) return true;
  return interruptsEnabled && maskablePending(vcpu);
}

/** Whether an ExtINT from the vPIC is waiting for its INTA. */
function picPending(vcpu: Vcpu): boolean {
  return vcpu.pendingExtInt && vcpu.vm.devices.vpic.pendingVector() >= 0;
}

/** The next external interrupt to inject (the vPIC's counts as 0x100: its vector comes at INTA); -1 if none. */
function nextInterrupt(vcpu: Vcpu): number {
  return interruptAfter(vcpu, highestPendingIrq(vcpu));
}

/** nextInterrupt when the test port's highest pending vector (`ext`, or -1) is already known. */
function interruptAfter(vcpu: Vcpu, ext: number): number {
  if (ext >= 0) return ext;
  if (picPending(vcpu)) return 0x100;
  return vcpu.vlapic.pendingVector();
}

/**
 * Make a halted vCPU runnable again if the event ends its HLT: an NMI (or
 * exception) always, a maskable interrupt only if the guest halted with
 * RFLAGS.IF = 1 (Vcpu.haltedWithIf, recorded by the HLT exit).
 */
export function wakeIfHalted(vcpu: Vcpu, maskable: boolean): void {
  if (vcpu.state !== VCPU_HALTED) return;
  if (maskable && !vcpu.haltedWithIf) return;
  if (maskable && !maskablePending(vcpu)) return; // e.g. a vector the TPR holds back
  vcpu.sched.wake(vcpu);
}

/** External interrupt `vector` (0x10-0xFF) becomes pending. */
export function requestIrq(vcpu: Vcpu, vector: number): void {
  const word = vector >>> 5;
  const bits = vcpu.pendingIrq[word] | (1 << (vector & 31));
  vcpu.pendingIrq[word] = bits >>> 0;
  wakeIfHalted(vcpu, true);
}

export function requestNmi(vcpu: Vcpu): void {
  vcpu.pendingNmi++;
  wakeIfHalted(vcpu, false);
}

/**
 * Queue a hardware exception. A second exception while one is pending folds by
 * SDM Vol. 3A Table 6-5: contributory + contributory, or #PF + (#PF or
 * contributory), becomes #DF(0); anything after #DF is a triple fault, which
 * stops the VM (the caller sees false).
 */
export function queueException(vcpu: Vcpu, vector: number, errorCode: number): boolean {
  const prior = vcpu.exceptionVector;
  if (prior >= 0) {
    // A contributory exception or #PF while delivering #DF is a shutdown (SDM Vol. 3A 6.15, Interrupt 8).
    if (prior === VECTOR_DF) {
      if (contributory(vector) || vector === VECTOR_PF) return false;
      return true; // a benign one is handled after the #DF (serially)
    }
    const fold = (contributory(prior) && contributory(vector)) || (prior === VECTOR_PF && (vector === VECTOR_PF || contributory(vector)));
    if (fold) {
      vcpu.exceptionVector = VECTOR_DF;
      vcpu.exceptionError = 0;
      vcpu.exceptionHasError = true;
      return true;
    }
  }
  vcpu.exceptionVector = vector;
  vcpu.exceptionHasError = exceptionHasErrorCode(vector);
  vcpu.exceptionError = errorCode >>> 0;
  return true;
}

/** Highest pending external interrupt vector, or -1. */
export function highestPendingIrq(vcpu: Vcpu): number {
  const irq = vcpu.pendingIrq;
  for (let w = 7; w >= 0; w--) {
    const bits = irq[w];
    if (bits !== 0) return w * 32 + 31 - Math.clz32(bits);
  }
  return -1;
}

function setWindowControl(vcpu: Vcpu, bit: number, on: boolean): void {
  const now = vcpu.procControls;
  const next = on ? (now | bit) >>> 0 : (now & ~bit) >>> 0;
  if (next !== now) {
    vcpu.procControls = next;
    vmwrite(CPU_BASED_VM_EXEC_CONTROL, 0, next);
  }
}

/** The interrupt-window or NMI-window exit happened: stop asking for it. */
export function clearWindow(vcpu: Vcpu, nmi: boolean): void {
  setWindowControl(vcpu, nmi ? PROC_NMI_WINDOW_EXITING : PROC_INTERRUPT_WINDOW_EXITING, false);
}

/**
 * An event went in on this entry: ask for an exit as soon as the guest can
 * take the next pending NMI or interrupt (ACRN keeps the windows armed while
 * anything is pending).
 */
function requestWindowsForRest(vcpu: Vcpu): void {
  if (vcpu.pendingNmi > 0) setWindowControl(vcpu, PROC_NMI_WINDOW_EXITING, true);
  if (nextInterrupt(vcpu) >= 0) setWindowControl(vcpu, PROC_INTERRUPT_WINDOW_EXITING, true);
}

/**
 * Remember the event an exit interrupted (IDT-vectoring information, SDM Vol.
 * 3C 28.2.4), to re-inject it at the vCPU's next entry.
 */
export function noteInterruptedEvent(vcpu: Vcpu, exit: ExitInfo): void {
  vcpu.reinjectInfo = exit.idtVectoring;
  vcpu.reinjectError = exit.idtVectoringError;
  vcpu.reinjectLength = exit.instLen;
}

/**
 * Before VM entry: write at most one event into the VM-entry interruption
 * field and ask for the windows the rest need.
 */
export function injectPending(vcpu: Vcpu): void {
  if ((vcpu.reinjectInfo & INTR_INFO_VALID) !== 0) {
    // SDM Vol. 3C 27.2.3 / ACRN: re-inject the event the exit interrupted first.
    const info = (vcpu.reinjectInfo & ~IDT_VECTORING_UNDEFINED_BIT) >>> 0;
    vmwrite(VM_ENTRY_INTR_INFO, 0, info);
    if ((info & INTR_INFO_DELIVER_ERROR) !== 0) vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, 0, vcpu.reinjectError);
    const type = info & 0x700;
    if (type === INTR_TYPE_SW_INTERRUPT || type === INTR_TYPE_PRIV_SW_EXCEPTION || type === INTR_TYPE_SW_EXCEPTION) {
      vmwrite(VM_ENTRY_INSTRUCTION_LEN, 0, vcpu.reinjectLength);
    }
    vcpu.reinjectInfo = 0;
    requestWindowsForRest(vcpu);
    return;
  }
  if (vcpu.exceptionVector >= 0) {
    const vector = vcpu.exceptionVector;
    let info = (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector) >>> 0;
    if (vcpu.exceptionHasError) {
      info = (info | INTR_INFO_DELIVER_ERROR) >>> 0;
      vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, 0, vcpu.exceptionError);
    }
    vmwrite(VM_ENTRY_INTR_INFO, 0, info);
    vcpu.exceptionVector = -1;
    requestWindowsForRest(vcpu);
    return;
  }
  const nmi = vcpu.pendingNmi > 0;
  const extVector = highestPendingIrq(vcpu);
  const vector = interruptAfter(vcpu, extVector);
  if (!nmi && vector < 0) return;
  const blocking = vmread(GUEST_INTERRUPTIBILITY_INFO);
  if (nmi) {
    if ((blocking & (BLOCKING_BY_NMI | BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) === 0) {
      vmwrite(VM_ENTRY_INTR_INFO, 0, (INTR_INFO_VALID | INTR_TYPE_NMI | VECTOR_NMI) >>> 0);
      vcpu.pendingNmi--;
      setWindowControl(vcpu, PROC_NMI_WINDOW_EXITING, vcpu.pendingNmi > 0);
      if (vector >= 0) setWindowControl(vcpu, PROC_INTERRUPT_WINDOW_EXITING, true);
      return;
    }
    setWindowControl(vcpu, PROC_NMI_WINDOW_EXITING, true);
  }
  if (vector >= 0) {
    const rflags = vmread(GUEST_RFLAGS);
    if ((rflags & RFLAGS_IF) !== 0 && (blocking & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) === 0) {
      let injected = vector;
      if (extVector >= 0) {
        const word = vector >>> 5;
        vcpu.pendingIrq[word] = (vcpu.pendingIrq[word] & ~(1 << (vector & 31))) >>> 0;
      } else if (vector === 0x100) {
        // The INTA cycle (8259A): the vPIC hands out its vector now; INTR drops and rises again if more is pending.
        vcpu.pendingExtInt = false;
        injected = vcpu.vm.devices.vpic.intAck();
      } else {
        vcpu.vlapic.ackVector(vector); // IRR -> ISR (SDM Vol. 3A 11.8.4)
      }
      vmwrite(VM_ENTRY_INTR_INFO, 0, (INTR_INFO_VALID | INTR_TYPE_EXTERNAL | (injected & 0xff)) >>> 0);
      setWindowControl(vcpu, PROC_INTERRUPT_WINDOW_EXITING, nextInterrupt(vcpu) >= 0);
      return;
    }
    setWindowControl(vcpu, PROC_INTERRUPT_WINDOW_EXITING, true);
  }
}
