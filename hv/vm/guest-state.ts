// The VMCS guest-state area for the entry states the loaders and vCPU reset
// need, written through vmwrite on the current VMCS:
//
//   setGuestLongMode64     64-bit entry (raw 64-bit images, Linux 64-bit boot)
//   setGuestProtected32    Linux 32-bit boot protocol: flat 4 GiB, paging off
//   setGuestRealModeReset  the reset vector, SDM Vol. 3A 9.1 Table 9-1 "Reset"
//   setGuestInitState      INIT, Table 9-1 "INIT" (CR0.CD/NW and PAT kept)
//   setGuestSipiVector     a start-up IPI's CS:IP on top of the INIT state
//
// Every state passes SDM Vol. 3C 26.3 "Checks on the Guest State Area" with
// unrestricted guest on (checkEssentialFeatures requires it). GPRs are not in
// the VMCS (RSP, RIP and RFLAGS aside): ESI for the Linux 32-bit entry and EDX
// (processor signature) at reset belong in the vCPU context page
// (arch/x86/vcpu-ctx.ts, CTX_RSI / CTX_RDX), which the caller writes.
//
// The bodies are table-driven (parallel const arrays of fields and values)
// and allocate nothing. Each function returns 0 when every VMWRITE succeeded,
// else the OR of the failing VMWRITE statuses (1 VMfailInvalid: no current VMCS).
import { vmread, vmwrite } from '../../arch/x86/intrinsics';
import {
  CR0_GUEST_HOST_MASK, CR0_READ_SHADOW, CR4_GUEST_HOST_MASK, CR4_READ_SHADOW, ENTRY_IA32E_MODE_GUEST, GUEST_ACTIVITY_STATE,
  GUEST_CR0, GUEST_CR3, GUEST_CR4, GUEST_CS_AR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_SELECTOR, GUEST_DR7, GUEST_DS_AR,
  GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_SELECTOR, GUEST_ES_AR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_SELECTOR,
  GUEST_FS_AR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_SELECTOR, GUEST_GDTR_BASE, GUEST_GDTR_LIMIT, GUEST_GS_AR,
  GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_SELECTOR, GUEST_IA32_DEBUGCTL, GUEST_IA32_EFER, GUEST_IA32_PAT,
  GUEST_IA32_SYSENTER_CS, GUEST_IA32_SYSENTER_EIP, GUEST_IA32_SYSENTER_ESP, GUEST_IDTR_BASE, GUEST_IDTR_LIMIT,
  GUEST_INTERRUPTIBILITY_INFO, GUEST_LDTR_AR, GUEST_LDTR_BASE, GUEST_LDTR_LIMIT, GUEST_LDTR_SELECTOR, GUEST_PDPTE0,
  GUEST_PDPTE1, GUEST_PDPTE2, GUEST_PDPTE3, GUEST_PENDING_DBG_EXCEPTIONS, GUEST_RFLAGS, GUEST_RIP, GUEST_RSP,
  GUEST_SS_AR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_SELECTOR, GUEST_TR_AR, GUEST_TR_BASE, GUEST_TR_LIMIT,
  GUEST_TR_SELECTOR, PROC2_UNRESTRICTED_GUEST, VM_ENTRY_CONTROLS, VMCS_LINK_POINTER,
} from '../../arch/x86/vmcs';
import { CAP_CR0_FIXED0, CAP_CR4_FIXED0, CAP_PROCBASED2, VmxCaps } from '../../arch/x86/vmx-caps';
import { hiOf, loOf } from '../u64';

// ---- control-register bits (SDM Vol. 3A 2.5) -----------------------------------
export const CR0_PE = 1 << 0;
export const CR0_MP = 1 << 1;
export const CR0_ET = 1 << 4;
export const CR0_NE = 1 << 5;
export const CR0_WP = 1 << 16;
export const CR0_AM = 1 << 18;
export const CR0_NW = 1 << 29;
export const CR0_CD = 1 << 30;
export const CR0_PG = 0x80000000;
export const CR4_PAE = 1 << 5;
export const CR4_VMXE = 1 << 13;
export const EFER_LME = 1 << 8;
export const EFER_LMA = 1 << 10;

/** CR0 the guest sees at each entry state. */
export const LONG64_CR0 = 0x80050033; // PG | WP | NE | ET | MP | PE
export const PROT32_CR0 = 0x00000031; // NE | ET | PE
export const RESET_CR0 = 0x60000010; // CD | NW | ET (Table 9-1)
/** IA32_PAT at power-up and reset (SDM Vol. 3A 11.12.4): WB WT UC- UC in both halves. */
export const PAT_DEFAULT_HI = 0x00070406;
export const PAT_DEFAULT_LO = 0x00070406;

/** GUEST_ACTIVITY_STATE values (SDM Vol. 3C 25.4.2). */
export const ACTIVITY_ACTIVE = 0;
export const ACTIVITY_HLT = 1;
export const ACTIVITY_SHUTDOWN = 2;
export const ACTIVITY_WAIT_FOR_SIPI = 3;

/** Segment access rights (SDM Vol. 3C 25.4.1, Table 25-2): bit 16 = unusable. */
export const AR_UNUSABLE = 0x10000;
export const AR_CODE64 = 0xa09b; // G, L, P, S, type 0xB (execute/read, accessed)
export const AR_CODE32 = 0xc09b; // G, D, P, S, type 0xB
export const AR_DATA32 = 0xc093; // G, D/B, P, S, type 0x3 (read/write, accessed)
export const AR_CODE16 = 0x009b; // P, S, type 0xB, byte granular
export const AR_DATA16 = 0x0093; // P, S, type 0x3
export const AR_LDT = 0x0082; // P, system type 2 (LDT)
export const AR_TSS_BUSY = 0x008b; // P, system type 0xB (busy 32/64-bit TSS)

// ---- CR0/CR4 guest/host masks and read shadows -------------------------------
//
// SDM Vol. 3C 25.6.6 "Guest/Host Masks and Read Shadows for CR0 and CR4": a
// bit set in the mask is owned by the host. Guest reads of an owned bit return
// the read shadow; a guest write that would change an owned bit away from its
// shadow value exits (CR access). The hypervisor owns exactly the bits that
// VMX operation pins to 1 (IA32_VMX_CR0_FIXED0 / IA32_VMX_CR4_FIXED0, 24.8):
// the real GUEST_CRn keeps them set, the guest sees its own value.
//
//   CR0: NE (and PE/PG too when unrestricted guest is off; with it on, 26.3.1.1
//        exempts PE and PG from the fixed-bit check)
//   CR4: VMXE (the guest neither sees nor can clear it)

function unrestrictedGuest(caps: VmxCaps): boolean {
  // computeVmcsControls enables it whenever the CPU allows it, and
  // checkEssentialFeatures refuses CPUs without it.
  return (caps.mayBeOne(CAP_PROCBASED2) & PROC2_UNRESTRICTED_GUEST) !== 0;
}

/** CR0 bits the host owns: the CR0_FIXED0 bits, minus PE and PG under unrestricted guest. */
export function cr0GuestHostMask(caps: VmxCaps): number {
  let pinned = caps.msrLo(CAP_CR0_FIXED0);
  if (unrestrictedGuest(caps)) pinned &= ~(CR0_PE | CR0_PG);
  return pinned >>> 0;
}

/** CR4 bits the host owns: the CR4_FIXED0 bits, VMXE at least. */
export function cr4GuestHostMask(caps: VmxCaps): number {
  return (caps.msrLo(CAP_CR4_FIXED0) | CR4_VMXE) >>> 0;
}

/** GUEST_CR0 for a CR0 the guest should see: its value with the owned (pinned) bits set. */
export function guestCr0(caps: VmxCaps, visible: number): number {
  return (visible | cr0GuestHostMask(caps)) >>> 0;
}

/** GUEST_CR4 for a CR4 the guest should see. */
export function guestCr4(caps: VmxCaps, visible: number): number {
  return (visible | cr4GuestHostMask(caps)) >>> 0;
}

/** The CR0 the guest currently sees: read shadow for owned bits, GUEST_CR0 for the rest. */
export function guestVisibleCr0(): number {
  const mask = vmread(CR0_GUEST_HOST_MASK);
  const shadow = vmread(CR0_READ_SHADOW);
  const real = vmread(GUEST_CR0);
  return ((shadow & mask) | (real & ~mask)) >>> 0;
}

// ---- tables ------------------------------------------------------------------

const STATE_LONG64 = 0;
const STATE_PROT32 = 1;
const STATE_RESET = 2;
const STATE_INIT = 3;

/** Segment registers in VMCS order: ES CS SS DS FS GS LDTR TR. */
const SEG_SELECTOR = [GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR, GUEST_FS_SELECTOR, GUEST_GS_SELECTOR, GUEST_LDTR_SELECTOR, GUEST_TR_SELECTOR];
const SEG_BASE = [GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE, GUEST_DS_BASE, GUEST_FS_BASE, GUEST_GS_BASE, GUEST_LDTR_BASE, GUEST_TR_BASE];
const SEG_LIMIT = [GUEST_ES_LIMIT, GUEST_CS_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_FS_LIMIT, GUEST_GS_LIMIT, GUEST_LDTR_LIMIT, GUEST_TR_LIMIT];
const SEG_AR = [GUEST_ES_AR, GUEST_CS_AR, GUEST_SS_AR, GUEST_DS_AR, GUEST_FS_AR, GUEST_GS_AR, GUEST_LDTR_AR, GUEST_TR_AR];
const SEG_COUNT = 8;

// Per state, 8 rows of [selector, base, limit, access rights] (bases < 4 GiB).
const SEGMENTS = [
  // STATE_LONG64: flat 64-bit code 0x08, data 0x10; LDTR unusable; TR a busy
  // 64-bit TSS (26.3.1.2: TR type must be 11 in IA-32e mode and cannot be unusable).
  0x10, 0, 0xffffffff, AR_DATA32,
  0x08, 0, 0xffffffff, AR_CODE64,
  0x10, 0, 0xffffffff, AR_DATA32,
  0x10, 0, 0xffffffff, AR_DATA32,
  0x10, 0, 0xffffffff, AR_DATA32,
  0x10, 0, 0xffffffff, AR_DATA32,
  0, 0, 0, AR_UNUSABLE,
  0, 0, 0xff, AR_TSS_BUSY,
  // STATE_PROT32: Linux boot protocol, __BOOT_CS 0x10 and __BOOT_DS 0x18, flat 4 GiB.
  0x18, 0, 0xffffffff, AR_DATA32,
  0x10, 0, 0xffffffff, AR_CODE32,
  0x18, 0, 0xffffffff, AR_DATA32,
  0x18, 0, 0xffffffff, AR_DATA32,
  0x18, 0, 0xffffffff, AR_DATA32,
  0x18, 0, 0xffffffff, AR_DATA32,
  0, 0, 0, AR_UNUSABLE,
  0, 0, 0xff, AR_TSS_BUSY,
  // STATE_RESET (Table 9-1): CS F000 base FFFF0000 limit FFFF; data, LDTR and
  // TR selector 0 base 0 limit FFFF, present; LDTR a usable LDT, TR a busy TSS.
  0, 0, 0xffff, AR_DATA16,
  0xf000, 0xffff0000, 0xffff, AR_CODE16,
  0, 0, 0xffff, AR_DATA16,
  0, 0, 0xffff, AR_DATA16,
  0, 0, 0xffff, AR_DATA16,
  0, 0, 0xffff, AR_DATA16,
  0, 0, 0xffff, AR_LDT,
  0, 0, 0xffff, AR_TSS_BUSY,
];

/** Per state: CR4 as the guest sees it, EFER, IA-32e mode guest, whether PAT is written (CR0 comes from the caller). */
const STATE_CR4 = [CR4_PAE, 0, 0, 0];
const STATE_EFER = [EFER_LME | EFER_LMA, 0, 0, 0];
const STATE_IA32E = [1, 0, 0, 0];
/** Table 9-1 / 11.12.4: INIT leaves IA32_PAT alone. */
const STATE_WRITES_PAT = [1, 1, 1, 0];
/** Which block of SEGMENTS each state uses (INIT has the reset segments). */
const STATE_SEGMENTS = [STATE_LONG64, STATE_PROT32, STATE_RESET, STATE_RESET];

// Fields every entry state sets to the same value (Table 9-1 and 26.3):
// interrupts and debug state clear, active, no VMCS shadowing (link pointer
// all ones), GDTR/IDTR base 0 limit FFFF.
const COMMON_FIELD = [
  VMCS_LINK_POINTER, GUEST_RFLAGS, GUEST_DR7, GUEST_IA32_DEBUGCTL, GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE,
  GUEST_PENDING_DBG_EXCEPTIONS, GUEST_IA32_SYSENTER_CS, GUEST_IA32_SYSENTER_ESP, GUEST_IA32_SYSENTER_EIP,
  GUEST_GDTR_BASE, GUEST_GDTR_LIMIT, GUEST_IDTR_BASE, GUEST_IDTR_LIMIT,
  GUEST_PDPTE0, GUEST_PDPTE1, GUEST_PDPTE2, GUEST_PDPTE3,
];
const COMMON_HI = [
  0xffffffff, 0, 0, 0, 0, 0,
  0, 0, 0, 0,
  0, 0, 0, 0,
  0, 0, 0, 0,
];
const COMMON_LO = [
  0xffffffff, 0x2, 0x400, 0, 0, ACTIVITY_ACTIVE,
  0, 0, 0, 0,
  0, 0xffff, 0, 0xffff,
  0, 0, 0, 0,
];

/** OR of the statuses of the VMWRITEs of one block of segment rows. */
function writeSegments(block: number): number {
  let rc = 0;
  const first = block * SEG_COUNT * 4;
  for (let i = 0; i < SEG_COUNT; i++) {
    const row = first + i * 4;
    rc |= vmwrite(SEG_SELECTOR[i], 0, SEGMENTS[row]);
    rc |= vmwrite(SEG_BASE[i], 0, SEGMENTS[row + 1]);
    rc |= vmwrite(SEG_LIMIT[i], 0, SEGMENTS[row + 2]);
    rc |= vmwrite(SEG_AR[i], 0, SEGMENTS[row + 3]);
  }
  return rc;
}

/**
 * Write the whole guest-state area for `state`, with `cr0` as the CR0 the
 * guest sees and the given RIP, CR3 and RSP (below 2^53).
 * @pre a current VMCS whose VM_ENTRY_CONTROLS already holds VmcsControls.entry
 *      (this sets or clears IA-32e mode guest in it).
 */
function writeEntryState(caps: VmxCaps, state: number, cr0: number, rip: number, cr3: number, rsp: number): number {
  let rc = 0;
  for (let i = 0; i < COMMON_FIELD.length; i++) rc |= vmwrite(COMMON_FIELD[i], COMMON_HI[i], COMMON_LO[i]);
  rc |= writeSegments(STATE_SEGMENTS[state]);

  const cr0Mask = cr0GuestHostMask(caps);
  rc |= vmwrite(CR0_GUEST_HOST_MASK, 0, cr0Mask);
  rc |= vmwrite(CR0_READ_SHADOW, 0, cr0 >>> 0);
  rc |= vmwrite(GUEST_CR0, 0, guestCr0(caps, cr0));
  const cr4 = STATE_CR4[state];
  rc |= vmwrite(CR4_GUEST_HOST_MASK, 0, cr4GuestHostMask(caps));
  rc |= vmwrite(CR4_READ_SHADOW, 0, cr4);
  rc |= vmwrite(GUEST_CR4, 0, guestCr4(caps, cr4));
  rc |= vmwrite(GUEST_CR3, hiOf(cr3), loOf(cr3));
  rc |= vmwrite(GUEST_IA32_EFER, 0, STATE_EFER[state]);
  if (STATE_WRITES_PAT[state] !== 0) rc |= vmwrite(GUEST_IA32_PAT, PAT_DEFAULT_HI, PAT_DEFAULT_LO);
  rc |= vmwrite(GUEST_RIP, hiOf(rip), loOf(rip));
  rc |= vmwrite(GUEST_RSP, hiOf(rsp), loOf(rsp));

  // 26.2.1.3 / 26.3.1.1: IA-32e mode guest must match EFER.LMA (load IA32_EFER is on).
  const entry = vmread(VM_ENTRY_CONTROLS);
  const entryNew = STATE_IA32E[state] !== 0 ? entry | ENTRY_IA32E_MODE_GUEST : entry & ~ENTRY_IA32E_MODE_GUEST;
  rc |= vmwrite(VM_ENTRY_CONTROLS, 0, entryNew >>> 0);
  return rc;
}

// ---- entry states ------------------------------------------------------------

/**
 * 64-bit mode at `entryRip` with paging on through `cr3` (4-level, PAE) and
 * stack `rsp`: CR0 0x80050033, CR4 PAE (VMXE hidden), EFER LME|LMA with
 * IA-32e mode guest, flat CS 0x08 (L=1) and data 0x10, interrupts off.
 * GDTR/IDTR are base 0 limit FFFF until the guest loads its own (the loader
 * may point them at tables it built: setGuestDescriptorTables).
 */
export function setGuestLongMode64(caps: VmxCaps, entryRip: number, cr3: number, rsp: number): number {
  return writeEntryState(caps, STATE_LONG64, LONG64_CR0, entryRip, cr3, rsp);
}

/**
 * The Linux 32-bit boot protocol entry (ACRN-ABI.md): protected mode, paging
 * off (unrestricted guest allows PE=1 PG=0), CS __BOOT_CS 0x10 and DS/ES/SS
 * (and FS/GS) __BOOT_DS 0x18, all flat 4 GiB, EFER 0, interrupts off.
 * ESI = the zero page is a GPR: the caller writes it to the vCPU context
 * (CTX_RSI). Linux reloads its segment registers from the GDT, so the loader
 * should also point GDTR at a GDT with those two descriptors (setGuestDescriptorTables).
 */
export function setGuestProtected32(caps: VmxCaps, entryEip: number): number {
  return writeEntryState(caps, STATE_PROT32, PROT32_CR0, entryEip >>> 0, 0, 0);
}

/**
 * Power-up/reset state (SDM Vol. 3A 9.1.1, Table 9-1): real mode at
 * F000:FFF0 (CS base FFFF0000), CR0 60000010 as the guest sees it (GUEST_CR0
 * also has NE, which IA32_VMX_CR0_FIXED0 pins; it is hidden by the mask and
 * read shadow), CR3 = CR4 = EFER = 0, DR7 400, RFLAGS 2, PAT default.
 * EDX = the processor signature is a GPR: the caller writes CTX_RDX.
 */
export function setGuestRealModeReset(caps: VmxCaps): number {
  return writeEntryState(caps, STATE_RESET, RESET_CR0, 0xfff0, 0, 0);
}

/**
 * INIT (Table 9-1, INIT column): as reset, except that CR0.CD and CR0.NW keep
 * the values the guest had (note 2 of the table) and IA32_PAT is unchanged.
 * EFER is cleared (INIT leaves long mode). GPRs other than EDX are the caller's.
 * @pre the current VMCS holds the vCPU's state from before the INIT.
 */
export function setGuestInitState(caps: VmxCaps): number {
  const cr0 = (guestVisibleCr0() & (CR0_CD | CR0_NW)) | CR0_ET;
  return writeEntryState(caps, STATE_INIT, cr0 >>> 0, 0xfff0, 0, 0);
}

/**
 * A start-up IPI with `vector` (SDM Vol. 3A 9.4 "Multiple-Processor (MP) Initialization"):
 * execution starts in real mode at vector:0000, that is CS selector vector << 8,
 * base vector << 12, IP 0. Applied on top of the INIT state.
 */
export function setGuestSipiVector(vector: number): number {
  const v = vector & 0xff;
  let rc = vmwrite(GUEST_CS_SELECTOR, 0, v << 8);
  rc |= vmwrite(GUEST_CS_BASE, 0, v << 12);
  rc |= vmwrite(GUEST_RIP, 0, 0);
  rc |= vmwrite(GUEST_ACTIVITY_STATE, 0, ACTIVITY_ACTIVE);
  return rc;
}

/** Point GDTR and IDTR at tables a loader built in guest memory (bases below 2^53). */
export function setGuestDescriptorTables(gdtBase: number, gdtLimit: number, idtBase: number, idtLimit: number): number {
  let rc = vmwrite(GUEST_GDTR_BASE, hiOf(gdtBase), loOf(gdtBase));
  rc |= vmwrite(GUEST_GDTR_LIMIT, 0, gdtLimit & 0xffff);
  rc |= vmwrite(GUEST_IDTR_BASE, hiOf(idtBase), loOf(idtBase));
  rc |= vmwrite(GUEST_IDTR_LIMIT, 0, idtLimit & 0xffff);
  return rc;
}

