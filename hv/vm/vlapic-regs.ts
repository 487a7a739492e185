// Local APIC register layout for the vLAPIC (hv/vm/vlapic.ts): MMIO offsets,
// x2APIC MSR numbers, bit fields and reset values, from the Intel SDM Vol. 3A
// chapter 11 ("Advanced Programmable Interrupt Controller"; chapter 10 in
// older editions) and ACRN's hypervisor/include/arch/x86/asm/apicreg.h.

/** Result of a register or MSR access. */
export const VLAPIC_OK = 0;
/** The access was legal but had no effect (write to a read-only xAPIC register, xAPIC MMIO in x2APIC mode). */
export const VLAPIC_IGNORED = 1;
/** xAPIC MMIO access to a reserved or misaligned offset: ESR bit 7 was logged, the access dropped. */
export const VLAPIC_ILLEGAL = 2;
/** x2APIC/APIC-base/TSC-deadline MSR access that faults: the caller injects #GP(0). */
export const VLAPIC_GP = 3;

/** APIC mode from IA32_APIC_BASE[11:10] (SDM 11.12.5, Figure 11-27). */
export const VLAPIC_MODE_DISABLED = 0;
export const VLAPIC_MODE_XAPIC = 1;
export const VLAPIC_MODE_X2APIC = 2;

/*
 * xAPIC MMIO offsets (SDM Table 11-1). Every register is 32 bits wide on a
 * 16-byte boundary; the x2APIC MSR is 0x800 + offset / 16 (SDM Table 11-6).
 */
export const APIC_OFF_ID = 0x020;
export const APIC_OFF_VER = 0x030;
export const APIC_OFF_TPR = 0x080;
export const APIC_OFF_APR = 0x090;
export const APIC_OFF_PPR = 0x0a0;
export const APIC_OFF_EOI = 0x0b0;
export const APIC_OFF_RRD = 0x0c0;
export const APIC_OFF_LDR = 0x0d0;
export const APIC_OFF_DFR = 0x0e0;
export const APIC_OFF_SVR = 0x0f0;
export const APIC_OFF_ISR0 = 0x100;
export const APIC_OFF_TMR0 = 0x180;
export const APIC_OFF_IRR0 = 0x200;
export const APIC_OFF_ESR = 0x280;
export const APIC_OFF_LVT_CMCI = 0x2f0;
export const APIC_OFF_ICR_LO = 0x300;
export const APIC_OFF_ICR_HI = 0x310;
export const APIC_OFF_LVT_TIMER = 0x320;
export const APIC_OFF_LVT_THERMAL = 0x330;
export const APIC_OFF_LVT_PERF = 0x340;
export const APIC_OFF_LVT_LINT0 = 0x350;
export const APIC_OFF_LVT_LINT1 = 0x360;
export const APIC_OFF_LVT_ERROR = 0x370;
export const APIC_OFF_TIMER_ICR = 0x380;
export const APIC_OFF_TIMER_CCR = 0x390;
export const APIC_OFF_TIMER_DCR = 0x3e0;
export const APIC_OFF_SELF_IPI = 0x3f0;

/** MSRs the vLAPIC owns. */
export const MSR_IA32_APIC_BASE = 0x1b;
export const MSR_IA32_TSC_DEADLINE = 0x6e0;
export const MSR_X2APIC_FIRST = 0x800;
/** 0x800-0xBFF is the architectural x2APIC range; only 0x800-0x83F are defined. */
export const MSR_X2APIC_LAST = 0xbff;
export const MSR_X2APIC_ICR = 0x830;
export const MSR_X2APIC_SELF_IPI = 0x83f;

/**
 * Version register (SDM 11.4.8): bits 7:0 version (0x1X = integrated APIC),
 * bits 23:16 max LVT entry (entries - 1), bit 24 EOI-broadcast suppression.
 * ACRN: VLAPIC_VERSION 16 | VLAPIC_MAXLVT_INDEX (APIC_LVT_CMCI = 6) << 16, no
 * suppression (so SVR bit 12 is reserved here).
 */
export const VLAPIC_VERSION = 0x00060010;

/** LVT indices (ACRN's APIC_LVT_*): the order of `Vlapic.lvt`. */
export const LVT_TIMER = 0;
export const LVT_THERMAL = 1;
export const LVT_PERF = 2;
export const LVT_LINT0 = 3;
export const LVT_LINT1 = 4;
export const LVT_ERROR = 5;
export const LVT_CMCI = 6;
export const LVT_COUNT = 7;

/*
 * LVT entry (SDM Figure 11-8):
 *   31        19 18 17 16 15 14 13 12 11 10  8 7      0
 *   [reserved  ][mode][M][TM][RI][PO][DS][ ][ DM ][vector]
 * mode: timer only (00 one-shot, 01 periodic, 10 TSC-deadline); M mask;
 * TM trigger, RI remote IRR, PO polarity: LINT0/1 only; DS delivery status
 * (read-only); DM delivery mode: not in the timer and error entries.
 */
export const LVT_VECTOR = 0xff;
export const LVT_DM_SHIFT = 8;
export const LVT_DELIVERY_STATUS = 0x1000;
export const LVT_MASKED = 0x10000;
export const LVT_TIMER_MODE_SHIFT = 17;
export const TIMER_ONESHOT = 0;
export const TIMER_PERIODIC = 1;
export const TIMER_TSC_DEADLINE = 2;

/** LVT delivery modes (bits 10:8); the ICR uses the same numbers plus lowest priority. */
export const DM_FIXED = 0;
export const DM_LOWEST = 1;
export const DM_SMI = 2;
export const DM_NMI = 4;
export const DM_INIT = 5;
export const DM_STARTUP = 6;
export const DM_EXTINT = 7;

/** Bits software can change in each LVT entry, by LVT index (RO and reserved bits excluded). */
export const LVT_WRITABLE = [0x700ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff, 0x107ff];
/** Bits defined in each LVT entry, by LVT index: a WRMSR setting any other bit is a #GP (SDM 11.12.1.3). */
export const LVT_DEFINED = [0x710ff, 0x117ff, 0x117ff, 0x1f7ff, 0x1f7ff, 0x110ff, 0x117ff];

/** Error Status Register bits (SDM 11.5.3, Figure 11-9). */
export const ESR_SEND_ILLEGAL_VECTOR = 0x20;
export const ESR_RECEIVE_ILLEGAL_VECTOR = 0x40;
export const ESR_ILLEGAL_REGISTER = 0x80;

/** Spurious-interrupt vector register (SDM 11.9, Figure 11-23). */
export const SVR_VECTOR = 0xff;
export const SVR_ENABLE = 0x100;
/** Vector, enable and focus-checking bits; bit 12 (EOI suppression) is reserved: VLAPIC_VERSION bit 24 is 0. */
export const SVR_WRITABLE = 0x3ff;

/** Destination format register (SDM 11.6.2.2): model in bits 31:28, the rest reads as ones. */
export const DFR_MODEL_FLAT = 0xf0000000;
export const DFR_MODEL_CLUSTER = 0;
export const DFR_RESERVED_ONES = 0x0fffffff;
/** xAPIC LDR: logical APIC ID in bits 31:24. */
export const LDR_XAPIC_ID = 0xff000000;

/*
 * Interrupt command register (SDM 11.6.1, Figure 11-12):
 *   63      56 ... 19 18  15 14 13 12 11 10  8 7      0
 *   [dest xAPIC]   [shrt][TM][L][ ][DS][DM][ mode ][vector]
 * x2APIC: destination is bits 63:32 (the whole high half); DS is reserved.
 */
export const ICR_LO_WRITABLE = 0x000ccfff;
export const ICR_HI_XAPIC_DEST = 0xff000000;
export const ICR_DELIVERY_STATUS = 0x1000;

/** Destination shorthand (ICR bits 19:18). */
export const SHORTHAND_NONE = 0;
export const SHORTHAND_SELF = 1;
export const SHORTHAND_ALL_INCLUDING_SELF = 2;
export const SHORTHAND_ALL_EXCLUDING_SELF = 3;

/** Destination mode (ICR bit 11, I/O APIC RTE bit 11, MSI address bit 2). */
export const DEST_PHYSICAL = 0;
export const DEST_LOGICAL = 1;

/** Timer divide configuration register: bits 0, 1 and 3 (SDM 11.5.4, Figure 11-10). */
export const DCR_WRITABLE = 0xb;

/** IA32_APIC_BASE (SDM 11.4.4, Figure 11-5). */
export const APIC_BASE_DEFAULT = 0xfee00000;
export const APIC_BASE_BSP = 0x100;
export const APIC_BASE_EXTD = 0x400;
export const APIC_BASE_ENABLE = 0x800;
/** Bits 0-7 and 9 are reserved. */
export const APIC_BASE_RESERVED_LO = 0x2ff;

/** x2APIC MSR access kinds for MSRs 0x800-0x83F (SDM Table 11-6). */
export const X2_RESERVED = 0;
export const X2_READ_ONLY = 1;
export const X2_WRITE_ONLY = 2;
export const X2_READ_WRITE = 3;

/** Access kind of x2APIC MSR 0x800 + i, i < 64; every other MSR in 0x800-0xBFF is reserved. */
export const X2APIC_ACCESS = [
  0, 0, 1, 1, 0, 0, 0, 0, 3, 0, 1, 2, 0, 1, 0, 3, // 800-80F: ID VER . TPR . PPR EOI . LDR . SVR
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, // 810-81F: ISR0-7 TMR0-7
  1, 1, 1, 1, 1, 1, 1, 1, 3, 0, 0, 0, 0, 0, 0, 3, // 820-82F: IRR0-7 ESR . CMCI
  3, 0, 3, 3, 3, 3, 3, 3, 3, 1, 0, 0, 0, 0, 3, 2, // 830-83F: ICR . LVT x6 TMICT TMCCT . TDCR SELF_IPI
];

/** xAPIC MMIO access kinds for the 64 register slots 0x000-0x3F0 (SDM Table 11-1); SELF IPI is x2APIC only. */
export const XAPIC_ACCESS = [
  0, 0, 3, 1, 0, 0, 0, 0, 3, 1, 1, 2, 1, 3, 3, 3, // 000-0F0: ID VER TPR APR PPR EOI RRD LDR DFR SVR
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, // 100-1F0: ISR0-7 TMR0-7
  1, 1, 1, 1, 1, 1, 1, 1, 3, 0, 0, 0, 0, 0, 0, 3, // 200-2F0: IRR0-7 ESR . CMCI
  3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 0, 0, 0, 0, 3, 0, // 300-3F0: ICR_LO ICR_HI LVT x6 TMICT TMCCT . TDCR .
];

/** Timer divisor for a DCR value: bits 3,1,0 = 000 -> 2, 001 -> 4, ... 110 -> 128, 111 -> 1. */
export function vlapicDivisor(dcr: number): number {
  const code = (dcr & 3) | ((dcr & 8) >>> 1);
  return code === 7 ? 1 : 2 << code;
}

/**
 * A caller-supplied number as an unsigned 32-bit value: integers are taken
 * modulo 2^32, fractions dropped; NaN, infinities and magnitudes of 2^53 and
 * more give 0 (bit operations are only exact below 2^53, PORFFOR.md B4).
 */
export function vlapicU32(value: number): number {
  if (!(value >= -9007199254740991 && value <= 9007199254740991)) return 0;
  const whole = Math.floor(value);
  return whole - Math.floor(whole / 4294967296) * 4294967296;
}
