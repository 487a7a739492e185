// VMX root operation and the VM-execution controls this hypervisor uses.
//
//  - adjustControls: a control word the CPU accepts, from the capability MSRs
//    (SDM Vol. 3D A.3-A.5; Vol. 3C 31.5.1 "Algorithms for Determining VMX
//    Capabilities", with the TRUE_* MSRs when IA32_VMX_BASIC[55] is set).
//  - checkEssentialFeatures: refuse a CPU that lacks what the hypervisor cannot
//    work without (ACRN's check_essential_vmx_caps), naming the first gap.
//  - VmxRoot: IA32_FEATURE_CONTROL, the CR0/CR4 fixed bits, the VMXON region
//    and VMXON/VMXOFF on one physical CPU (SDM Vol. 3C 24.7 "Enabling and
//    Entering VMX Operation", 24.8 "Restrictions on VMX Operation").
//  - computeVmcsControls: the pin/proc/proc2/exit/entry words every guest VMCS
//    starts from, derived once at boot.
//
// Nothing here allocates after init or throws: failures are reason codes with
// constant message tables.
import { hi, pageAlloc, pageFree, poke32, rdmsr, readCr, vmxoff, vmxon, VMX_FAIL_VALID, VMX_OK, writeCr, wrmsr } from './intrinsics';
import { FEATURE_CONTROL_LOCK, FEATURE_CONTROL_VMX_OUTSIDE_SMX, IA32_FEATURE_CONTROL } from './msr';
import {
  ENTRY_LOAD_EFER, ENTRY_LOAD_PAT, EXIT_ACK_INTERRUPT_ON_EXIT, EXIT_HOST_ADDRESS_SPACE_SIZE,
  EXIT_LOAD_EFER, EXIT_LOAD_PAT, EXIT_SAVE_EFER, EXIT_SAVE_PAT, EXIT_SAVE_PREEMPTION_TIMER, PIN_EXTERNAL_INTERRUPT_EXITING,
  PIN_NMI_EXITING, PIN_PREEMPTION_TIMER, PIN_VIRTUAL_NMIS, PROC2_ENABLE_EPT, PROC2_ENABLE_INVPCID, PROC2_ENABLE_RDTSCP,
  PROC2_ENABLE_VPID, PROC2_ENABLE_XSAVES, PROC2_UNRESTRICTED_GUEST, PROC2_WBINVD_EXITING, PROC_ACTIVATE_SECONDARY_CONTROLS,
  PROC_HLT_EXITING, PROC_USE_IO_BITMAPS, PROC_USE_MSR_BITMAPS,
} from './vmcs';
import {
  CAP_CR0_FIXED0, CAP_CR0_FIXED1, CAP_CR4_FIXED0, CAP_CR4_FIXED1, CAP_ENTRY, CAP_EPT_VPID, CAP_EXIT, CAP_PINBASED,
  CAP_PROCBASED, CAP_PROCBASED2, VMX_USABLE, VmxCaps,
} from './vmx-caps';

// ---- control adjustment -------------------------------------------------------

/**
 * Bits of the last adjustControls call that were wanted but are not allowed
 * to be 1 on this CPU (0 when everything wanted was granted).
 */
export let lastDropped = 0;

/**
 * The control word for a control-MSR slot (CAP_PINBASED, CAP_PROCBASED,
 * CAP_PROCBASED2, CAP_EXIT, CAP_ENTRY): every bit the CPU requires (allowed
 * 0-settings, MSR bits 31:0) plus the wanted ones it allows (allowed
 * 1-settings, MSR bits 63:32), as an unsigned 32-bit number:
 *
 *   result = (wanted | mustBeOne) & mayBeOne
 *
 * VmxCaps already holds the TRUE_* MSRs when IA32_VMX_BASIC[55] is set, so
 * default-1 controls such as CR3-load exiting can be cleared (SDM A.2).
 * The wanted bits that were refused are left in `lastDropped`.
 */
export function adjustControls(slot: number, wanted: number, caps: VmxCaps): number {
  const must = caps.mustBeOne(slot);
  const may = caps.mayBeOne(slot);
  lastDropped = (wanted & ~may) >>> 0;
  return ((wanted | must) & may) >>> 0;
}

// ---- essential features ------------------------------------------------------

/** Which half of a capability MSR a feature bit lives in. */
const HALF_HI = 0;
const HALF_LO = 1;

export const ESSENTIAL_OK = 0;
export const ESSENTIAL_SECONDARY_CONTROLS = 1;
export const ESSENTIAL_EPT = 2;
export const ESSENTIAL_EPT_WALK4 = 3;
export const ESSENTIAL_EPT_WB = 4;
export const ESSENTIAL_INVEPT = 5;
export const ESSENTIAL_INVEPT_SINGLE = 6;
export const ESSENTIAL_INVEPT_ALL = 7;
export const ESSENTIAL_VPID = 8;
export const ESSENTIAL_INVVPID = 9;
export const ESSENTIAL_INVVPID_SINGLE = 10;
export const ESSENTIAL_INVVPID_ALL = 11;
export const ESSENTIAL_UNRESTRICTED_GUEST = 12;
export const ESSENTIAL_MSR_BITMAPS = 13;
export const ESSENTIAL_IO_BITMAPS = 14;
export const ESSENTIAL_PREEMPTION_TIMER = 15;
export const ESSENTIAL_VIRTUAL_NMIS = 16;
export const ESSENTIAL_NMI_EXITING = 17;
export const ESSENTIAL_HOST_ADDRESS_SPACE = 18;
export const ESSENTIAL_IA32E_GUEST = 19;
export const ESSENTIAL_ENTRY_LOAD_EFER = 20;
export const ESSENTIAL_EXIT_LOAD_EFER = 21;
export const ESSENTIAL_COUNT = 22;

// Checked in this order (code = index + 1): the secondary controls first,
// because IA32_VMX_PROCBASED_CTLS2 and IA32_VMX_EPT_VPID_CAP exist only when
// they (and EPT or VPID) can be enabled (SDM A.3.3, A.10).
const ESSENTIAL_SLOT = [
  CAP_PROCBASED, CAP_PROCBASED2, CAP_EPT_VPID, CAP_EPT_VPID, CAP_EPT_VPID, CAP_EPT_VPID, CAP_EPT_VPID,
  CAP_PROCBASED2, CAP_EPT_VPID, CAP_EPT_VPID, CAP_EPT_VPID, CAP_PROCBASED2, CAP_PROCBASED, CAP_PROCBASED,
  CAP_PINBASED, CAP_PINBASED, CAP_PINBASED, CAP_EXIT, CAP_ENTRY, CAP_ENTRY, CAP_EXIT,
];
/** Control MSRs: the allowed 1-settings (hi); IA32_VMX_EPT_VPID_CAP: the half holding the bit. */
const ESSENTIAL_HALF = [
  HALF_HI, HALF_HI, HALF_LO, HALF_LO, HALF_LO, HALF_LO, HALF_LO,
  HALF_HI, HALF_HI, HALF_HI, HALF_HI, HALF_HI, HALF_HI, HALF_HI,
  HALF_HI, HALF_HI, HALF_HI, HALF_HI, HALF_HI, HALF_HI, HALF_HI,
];
/** Bit number within that half (EPT_VPID_CAP bit 32 is hi bit 0, 41 hi bit 9, 42 hi bit 10). */
const ESSENTIAL_BIT = [
  31, 1, 6, 14, 20, 25, 26,
  5, 0, 9, 10, 7, 28, 25,
  6, 5, 3, 9, 9, 15, 21,
];

/** Message per ESSENTIAL_* code (index 0 = no feature missing). */
export const ESSENTIAL_MESSAGES = [
  '',
  'VMX: missing essential feature: activate secondary controls (primary processor-based control bit 31)',
  'VMX: missing essential feature: EPT (secondary control bit 1)',
  'VMX: missing essential feature: EPT page-walk length 4 (IA32_VMX_EPT_VPID_CAP bit 6)',
  'VMX: missing essential feature: write-back EPT paging structures (IA32_VMX_EPT_VPID_CAP bit 14)',
  'VMX: missing essential feature: INVEPT (IA32_VMX_EPT_VPID_CAP bit 20)',
  'VMX: missing essential feature: single-context INVEPT (IA32_VMX_EPT_VPID_CAP bit 25)',
  'VMX: missing essential feature: all-context INVEPT (IA32_VMX_EPT_VPID_CAP bit 26)',
  'VMX: missing essential feature: VPID (secondary control bit 5)',
  'VMX: missing essential feature: INVVPID (IA32_VMX_EPT_VPID_CAP bit 32)',
  'VMX: missing essential feature: single-context INVVPID (IA32_VMX_EPT_VPID_CAP bit 41)',
  'VMX: missing essential feature: all-context INVVPID (IA32_VMX_EPT_VPID_CAP bit 42)',
  'VMX: missing essential feature: unrestricted guest (secondary control bit 7)',
  'VMX: missing essential feature: MSR bitmaps (primary processor-based control bit 28)',
  'VMX: missing essential feature: I/O bitmaps (primary processor-based control bit 25)',
  'VMX: missing essential feature: VMX-preemption timer (pin-based control bit 6)',
  'VMX: missing essential feature: virtual NMIs (pin-based control bit 5)',
  'VMX: missing essential feature: NMI exiting (pin-based control bit 3)',
  'VMX: missing essential feature: host address-space size (VM-exit control bit 9)',
  'VMX: missing essential feature: IA-32e mode guest (VM-entry control bit 9)',
  'VMX: missing essential feature: load IA32_EFER on VM entry (VM-entry control bit 15)',
  'VMX: missing essential feature: load IA32_EFER on VM exit (VM-exit control bit 21)',
];

/**
 * 0 when the CPU has every feature this hypervisor cannot do without, else the
 * ESSENTIAL_* code of the first one missing (message: ESSENTIAL_MESSAGES[code]).
 * @pre caps.probe() returned VMX_USABLE (otherwise the slots are 0 and the
 *      first check fails).
 */
export function checkEssentialFeatures(caps: VmxCaps): number {
  for (let i = 0; i < ESSENTIAL_SLOT.length; i++) {
    const slot = ESSENTIAL_SLOT[i];
    const half = ESSENTIAL_HALF[i] === HALF_HI ? caps.msrHi(slot) : caps.msrLo(slot);
    if (!caps.has(slot) || ((half >>> ESSENTIAL_BIT[i]) & 1) === 0) return i + 1;
  }
  return ESSENTIAL_OK;
}

// ---- VMX root operation ------------------------------------------------------

export const CR0_PE = 1 << 0;
export const CR0_NE = 1 << 5;
export const CR0_PG = 0x80000000;
export const CR4_VMXE = 1 << 13;

export const ROOT_OK = 0;
export const ROOT_VMX_UNUSABLE = 1;
export const ROOT_ALREADY_ON = 2;
export const ROOT_FEATURE_CONTROL_LOCKED = 3;
export const ROOT_CR0_PE = 4;
export const ROOT_CR0_NE = 5;
export const ROOT_CR0_PG = 6;
export const ROOT_CR0_FIXED1 = 7;
export const ROOT_CR0_FIXED0 = 8;
export const ROOT_CR4_FIXED0 = 9;
export const ROOT_REGION_SIZE = 10;
export const ROOT_NO_PAGE = 11;
export const ROOT_VMXON_FAIL_INVALID = 12;
export const ROOT_VMXON_FAIL_VALID = 13;
export const ROOT_NOT_ON = 14;
export const ROOT_VMXOFF_FAILED = 15;

/** Message per ROOT_* code. */
export const ROOT_MESSAGES = [
  '',
  'VMX: cannot enter VMX operation: VMX is not usable on this CPU',
  'VMX: this CPU is already in VMX root operation',
  'VMX: IA32_FEATURE_CONTROL is locked with VMX outside SMX (bit 2) disabled',
  'VMX: CR0.PE (bit 0) is 0 but IA32_VMX_CR0_FIXED0 requires it in VMX operation (SDM 24.8)',
  'VMX: CR0.NE (bit 5) is 0 but IA32_VMX_CR0_FIXED0 requires it in VMX operation (SDM 24.8)',
  'VMX: CR0.PG (bit 31) is 0 but IA32_VMX_CR0_FIXED0 requires it in VMX operation (SDM 24.8)',
  'VMX: CR0 lacks a bit IA32_VMX_CR0_FIXED0 requires in VMX operation (SDM 24.8)',
  'VMX: CR0 has a bit set that IA32_VMX_CR0_FIXED1 forbids in VMX operation (SDM 24.8)',
  'VMX: CR4 has a bit set that IA32_VMX_CR4_FIXED1 forbids in VMX operation (SDM 24.8)',
  'VMX: the VMXON region (IA32_VMX_BASIC[44:32]) is larger than a 4 KiB page',
  'VMX: no free page in the pool for the VMXON region',
  'VMX: VMXON failed (VMfailInvalid: region or revision rejected)',
  'VMX: VMXON failed (VMfailValid: already in VMX root operation)',
  'VMX: this CPU is not in VMX root operation',
  'VMX: VMXOFF failed',
];

/**
 * VMX root operation of one physical CPU. enable() leaves CR0 untouched (PE,
 * PG and NE are the boot code's business) but sets CR4.VMXE and any other
 * bit IA32_VMX_CR4_FIXED0 requires; disable() restores the CR4 bits it set.
 */
export class VmxRoot {
  /** Physical address of the VMXON region while in VMX operation, else 0. */
  regionPa = 0;
  /** CR4 bits enable() set (restored by disable()). */
  private cr4Added = 0;

  isOn(): boolean {
    return this.regionPa !== 0;
  }

  /** Enter VMX root operation; returns ROOT_OK or a ROOT_* code (message: ROOT_MESSAGES). */
  enable(caps: VmxCaps): number {
    if (caps.reason !== VMX_USABLE) return ROOT_VMX_UNUSABLE;
    if (this.regionPa !== 0) return ROOT_ALREADY_ON;

    // 24.8: CR0 must have every IA32_VMX_CR0_FIXED0 bit and no bit outside
    // IA32_VMX_CR0_FIXED1. This is checked, not fixed: PE/PG/NE are owned by
    // the boot code, and changing them here would pull the floor away.
    const cr0 = readCr(0) >>> 0;
    const cr0Missing = (caps.msrLo(CAP_CR0_FIXED0) & ~cr0) >>> 0;
    if ((cr0Missing & CR0_PE) !== 0) return ROOT_CR0_PE;
    if ((cr0Missing & CR0_NE) !== 0) return ROOT_CR0_NE;
    if ((cr0Missing & CR0_PG) !== 0) return ROOT_CR0_PG;
    if (cr0Missing !== 0) return ROOT_CR0_FIXED1;
    if ((cr0 & ~caps.msrLo(CAP_CR0_FIXED1)) !== 0) return ROOT_CR0_FIXED0;
    // CR4: VMXE and any other fixed-1 bit are set here; a set fixed-0 bit refuses.
    const cr4 = readCr(4) >>> 0;
    const cr4New = (cr4 | caps.msrLo(CAP_CR4_FIXED0) | CR4_VMXE) >>> 0;
    if ((cr4New & ~caps.msrLo(CAP_CR4_FIXED1)) !== 0) return ROOT_CR4_FIXED0;
    if (caps.vmcsRegionSize() > 4096) return ROOT_REGION_SIZE;

    // 24.7: VMXON needs IA32_FEATURE_CONTROL locked with VMX outside SMX.
    const fcLo = rdmsr(IA32_FEATURE_CONTROL);
    const fcHi = hi();
    if ((fcLo & FEATURE_CONTROL_LOCK) === 0) {
      wrmsr(IA32_FEATURE_CONTROL, fcHi, (fcLo | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX) >>> 0);
    } else if ((fcLo & FEATURE_CONTROL_VMX_OUTSIDE_SMX) === 0) {
      return ROOT_FEATURE_CONTROL_LOCKED;
    }

    // 25.11.5: the VMXON region starts with the VMCS revision identifier (bit 31 clear).
    const region = pageAlloc();
    if (region === 0) return ROOT_NO_PAGE;
    poke32(region, caps.vmcsRevision());
    if (cr4New !== cr4) writeCr(4, cr4New);
    const rc = vmxon(region);
    if (rc !== VMX_OK) {
      if (cr4New !== cr4) writeCr(4, cr4);
      pageFree(region);
      return rc === VMX_FAIL_VALID ? ROOT_VMXON_FAIL_VALID : ROOT_VMXON_FAIL_INVALID;
    }
    this.cr4Added = (cr4New & ~cr4) >>> 0;
    this.regionPa = region;
    return ROOT_OK;
  }

  /** Leave VMX operation: VMXOFF, give back the region, clear the CR4 bits enable() set. */
  disable(): number {
    if (this.regionPa === 0) return ROOT_NOT_ON;
    if (vmxoff() !== VMX_OK) return ROOT_VMXOFF_FAILED;
    pageFree(this.regionPa);
    this.regionPa = 0;
    if (this.cr4Added !== 0) writeCr(4, (readCr(4) & ~this.cr4Added) >>> 0);
    this.cr4Added = 0;
    return ROOT_OK;
  }
}

// ---- the controls every guest VMCS starts from -------------------------------

/** Pin-based: external interrupts and NMIs exit; virtual NMIs; the preemption timer for scheduling. */
export const WANTED_PIN = PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER;
/**
 * Primary processor-based: HLT exits, I/O and MSR bitmaps, secondary controls.
 * CR3-load/store exiting are deliberately absent (EPT; TRUE MSRs let them be 0);
 * interrupt-window and NMI-window exiting are toggled at run time.
 */
export const WANTED_PROC = (PROC_HLT_EXITING | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS | PROC_ACTIVATE_SECONDARY_CONTROLS) >>> 0;
/** Secondary: EPT, VPID, unrestricted guest, WBINVD exiting, RDTSCP. */
export const WANTED_PROC2 = PROC2_ENABLE_EPT | PROC2_ENABLE_VPID | PROC2_UNRESTRICTED_GUEST | PROC2_WBINVD_EXITING | PROC2_ENABLE_RDTSCP;
/** Secondary controls enabled only when the CPU allows them (not reported as dropped). */
export const OPTIONAL_PROC2 = PROC2_ENABLE_INVPCID | PROC2_ENABLE_XSAVES;
/** VM-exit: 64-bit host, acknowledge the interrupt, swap PAT and EFER, keep the preemption timer. */
export const WANTED_EXIT = EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_ACK_INTERRUPT_ON_EXIT | EXIT_SAVE_PAT | EXIT_LOAD_PAT
  | EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PREEMPTION_TIMER;
/** VM-entry: load guest PAT and EFER. IA-32e mode guest is part of the guest state (guest-state.ts). */
export const WANTED_ENTRY = ENTRY_LOAD_PAT | ENTRY_LOAD_EFER;

/** The adjusted control words, and what each adjustment had to drop. */
export class VmcsControls {
  pin = 0;
  proc = 0;
  proc2 = 0;
  exit = 0;
  entry = 0;
  droppedPin = 0;
  droppedProc = 0;
  droppedProc2 = 0;
  droppedExit = 0;
  droppedEntry = 0;

  /** Fill every field from the capability MSRs (each word through adjustControls). */
  compute(caps: VmxCaps): void {
    this.pin = adjustControls(CAP_PINBASED, WANTED_PIN, caps);
    this.droppedPin = lastDropped;
    this.proc = adjustControls(CAP_PROCBASED, WANTED_PROC, caps);
    this.droppedProc = lastDropped;
    const optional = OPTIONAL_PROC2 & caps.mayBeOne(CAP_PROCBASED2);
    this.proc2 = adjustControls(CAP_PROCBASED2, WANTED_PROC2 | optional, caps);
    this.droppedProc2 = lastDropped;
    // Secondary controls only count while the primary control activates them.
    if ((this.proc & PROC_ACTIVATE_SECONDARY_CONTROLS) === 0) this.proc2 = 0;
    this.exit = adjustControls(CAP_EXIT, WANTED_EXIT, caps);
    this.droppedExit = lastDropped;
    this.entry = adjustControls(CAP_ENTRY, WANTED_ENTRY, caps);
    this.droppedEntry = lastDropped;
  }

  /** Every wanted bit was granted. */
  complete(): boolean {
    return (this.droppedPin | this.droppedProc | this.droppedProc2 | this.droppedExit | this.droppedEntry) === 0;
  }
}

/** Compute the guest control words once at boot (allocates the one VmcsControls). */
export function computeVmcsControls(caps: VmxCaps): VmcsControls {
  const controls = new VmcsControls();
  controls.compute(caps);
  return controls;
}
