// The platform CPUID entries of a VM (ACRN's vcpuid.c): built once when the
// VM is created from the host's CPUID, with what the guest must not see
// removed and ACRN's identity added; a CPUID exit only looks entries up.
//
// Hidden: VMX and SMX (the hypervisor owns them), MONITOR/MWAIT (exits inject
// #UD), x2APIC and TSC-deadline (not emulated yet), MCA/MCE and the PMU (no
// MSR emulation for them), PDCM. Added: CPUID.1:ECX[31] (a hypervisor is
// present), the initial APIC ID of each vCPU, and the ACRN leaves 0x40000000
// ("ACRNACRNACRN", max 0x40000010), 0x40000001 (bit 0: the Service VM) and
// 0x40000010 (TSC frequency in kHz).
import { cpuid, cpuidReg } from '../../arch/x86/intrinsics';

export const VCPUID_MAX_ENTRIES = 96;
/** XCR0 features a guest may enable: x87, SSE, AVX (bits 0-2). */
export const XCR0_GUEST_FEATURES = 0x7;

/** CPUID signature "ACRN" as a register value, and ACRN's maximum hypervisor leaf. */
export const ACRN_SIGNATURE = 0x4e524341;
export const HV_LEAF_BASE = 0x40000000;
export const HV_LEAF_FEATURES = 0x40000001;
export const HV_LEAF_TIMING = 0x40000010;
export const HV_LEAF_MAX = 0x40000010;

const LEAF1_ECX_HIDE = (1 << 3) | (1 << 5) | (1 << 6) | (1 << 15); // MONITOR VMX SMX PDCM
/** The vLAPIC emulates x2APIC and the TSC-deadline timer mode (vlapic.ts), whatever the host has. */
const LEAF1_ECX_SHOW = (1 << 21) | (1 << 24); // x2APIC TSC-deadline
const LEAF1_ECX_HYPERVISOR = 0x80000000;
const LEAF1_EDX_HIDE = (1 << 7) | (1 << 14); // MCE MCA
/** Leaves with subleaves, and how many subleaves the table keeps. */
const SUBLEAF_LEAVES = [4, 7, 0xb, 0xd, 0xf, 0x10, 0x14, 0x18, 0x1f];
const SUBLEAF_COUNTS = [8, 2, 3, 8, 2, 4, 2, 2, 3];

export class Vcpuid {
  readonly leaf = new Uint32Array(VCPUID_MAX_ENTRIES);
  readonly subleaf = new Uint32Array(VCPUID_MAX_ENTRIES);
  /** 1 when the leaf's output depends on the subleaf (ECX). */
  readonly indexed = new Uint8Array(VCPUID_MAX_ENTRIES);
  readonly eax = new Uint32Array(VCPUID_MAX_ENTRIES);
  readonly ebx = new Uint32Array(VCPUID_MAX_ENTRIES);
  readonly ecx = new Uint32Array(VCPUID_MAX_ENTRIES);
  readonly edx = new Uint32Array(VCPUID_MAX_ENTRIES);
  entries = 0;
  maxBasic = 0;
  maxExtended = 0;
  /** Output registers of the last lookup. */
  outEax = 0;
  outEbx = 0;
  outEcx = 0;
  outEdx = 0;

  private add(leaf: number, sub: number, indexed: number, a: number, b: number, c: number, d: number): void {
    const i = this.entries;
    if (i === VCPUID_MAX_ENTRIES) return;
    this.leaf[i] = leaf >>> 0;
    this.subleaf[i] = sub >>> 0;
    this.indexed[i] = indexed;
    this.eax[i] = a >>> 0;
    this.ebx[i] = b >>> 0;
    this.ecx[i] = c >>> 0;
    this.edx[i] = d >>> 0;
    this.entries = i + 1;
  }

  private addHost(leaf: number, sub: number, indexed: number): void {
    const a = cpuid(leaf, sub);
    this.add(leaf, sub, indexed, a, cpuidReg(1), cpuidReg(2), cpuidReg(3));
  }

  private subleafCount(leaf: number): number {
    for (let i = 0; i < SUBLEAF_LEAVES.length; i++) if (SUBLEAF_LEAVES[i] === leaf) return SUBLEAF_COUNTS[i];
    return 0;
  }

  /** Build the table (init time). `serviceVm` sets 0x40000001 bit 0; tscKhz fills 0x40000010. */
  build(serviceVm: boolean, tscKhz: number): void {
    this.entries = 0;
    const hostMax = cpuid(0, 0);
    this.maxBasic = hostMax < 0x1f ? hostMax : 0x1f;
    for (let leaf = 0; leaf <= this.maxBasic; leaf++) {
      if (leaf === 0xa) {
        this.add(leaf, 0, 0, 0, 0, 0, 0); // no PMU
        continue;
      }
      const subs = this.subleafCount(leaf);
      if (subs === 0) this.addHost(leaf, 0, 0);
      else for (let s = 0; s < subs; s++) this.addHost(leaf, s, 1);
    }
    this.maxExtended = cpuid(0x80000000, 0) >>> 0;
    if (this.maxExtended > 0x80000008) this.maxExtended = 0x80000008;
    for (let leaf = 0x80000000; leaf <= this.maxExtended; leaf++) this.addHost(leaf, 0, 0);
    // leaf 0 and 80000000H: the guest's maxima
    this.patch(0, 0, 0, this.maxBasic, -1, -1, -1);
    if (this.maxExtended >= 0x80000000) this.patch(0x80000000, 0, 0, this.maxExtended, -1, -1, -1);
    // leaf 0DH subleaf 0: only the XCR0 features XSETBV lets a guest enable
    // (x87, SSE, AVX; misc-exits.ts), and their area size.
    const xsave = this.find(0xd, 0);
    if (xsave >= 0) {
      this.eax[xsave] = (this.eax[xsave] & XCR0_GUEST_FEATURES) >>> 0;
      this.edx[xsave] = 0;
      this.ecx[xsave] = (this.eax[xsave] & 4) !== 0 ? 832 : 576; // legacy 512 + header 64 (+ AVX 256)
    }
    // leaf 1: hide, and announce the hypervisor
    const at = this.find(1, 0);
    if (at >= 0) {
      this.ecx[at] = ((this.ecx[at] & ~LEAF1_ECX_HIDE) | LEAF1_ECX_SHOW | LEAF1_ECX_HYPERVISOR) >>> 0;
      this.edx[at] = (this.edx[at] & ~LEAF1_EDX_HIDE) >>> 0;
    }
    this.add(HV_LEAF_BASE, 0, 0, HV_LEAF_MAX, ACRN_SIGNATURE, ACRN_SIGNATURE, ACRN_SIGNATURE);
    this.add(HV_LEAF_FEATURES, 0, 0, serviceVm ? 1 : 0, 0, 0, 0);
    this.add(HV_LEAF_TIMING, 0, 0, tscKhz, 0, 0, 0);
  }

  private patch(leaf: number, sub: number, _unused: number, a: number, b: number, c: number, d: number): void {
    const i = this.find(leaf, sub);
    if (i < 0) return;
    if (a >= 0) this.eax[i] = a >>> 0;
    if (b >= 0) this.ebx[i] = b >>> 0;
    if (c >= 0) this.ecx[i] = c >>> 0;
    if (d >= 0) this.edx[i] = d >>> 0;
  }

  /** Entry index for leaf/subleaf (subleaf ignored for leaves without subleaves), or -1. */
  find(leaf: number, sub: number): number {
    const n = this.entries;
    for (let i = 0; i < n; i++) {
      if (this.leaf[i] === leaf && (this.indexed[i] === 0 || this.subleaf[i] === sub)) return i;
    }
    return -1;
  }

  /**
   * CPUID as the guest's vCPU `vcpuId` sees it, into out*. Leaves above the
   * maxima return the highest basic leaf's values (SDM Vol. 2A CPUID: "If a
   * value entered for CPUID.EAX is higher than the maximum input value...");
   * unknown hypervisor leaves and absent subleaves return zeros.
   */
  lookup(leaf: number, sub: number, vcpuId: number): void {
    let l = leaf >>> 0;
    const isHv = l >= HV_LEAF_BASE && l < 0x40000100;
    if (!isHv && ((l > this.maxBasic && l < 0x80000000) || l > this.maxExtended)) l = this.maxBasic;
    const i = this.find(l, sub >>> 0);
    if (i < 0) {
      this.outEax = 0;
      this.outEbx = 0;
      this.outEcx = 0;
      this.outEdx = 0;
      return;
    }
    this.outEax = this.eax[i];
    this.outEbx = this.ebx[i];
    this.outEcx = this.ecx[i];
    this.outEdx = this.edx[i];
    if (l === 1) {
      // EBX[31:24] initial APIC ID (SDM Vol. 2A CPUID leaf 1).
      this.outEbx = ((this.outEbx & 0x00ffffff) | ((vcpuId & 0xff) << 24)) >>> 0;
    } else if (l === 0xb || l === 0x1f) {
      this.outEdx = vcpuId >>> 0; // x2APIC ID of this vCPU
    }
  }
}
