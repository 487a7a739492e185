// CPUID facts about the host CPU (Intel SDM Vol. 2A, CPUID).
import { cpuid, cpuidReg } from './intrinsics';

export const CPUID_EBX = 1;
export const CPUID_ECX = 2;
export const CPUID_EDX = 3;

/** CPUID.1:ECX bits. */
export const CPUID1_ECX_VMX = 1 << 5;
export const CPUID1_ECX_XSAVE = 1 << 26;
export const CPUID1_ECX_HYPERVISOR = 1 << 31;
/** CPUID.80000001H:EDX bits. */
export const CPUID_EXT_EDX_NX = 1 << 20;
export const CPUID_EXT_EDX_PAGE1GB = 1 << 26;
export const CPUID_EXT_EDX_LM = 1 << 29;

/** The host CPU's identification, read once at boot. */
export class CpuInfo {
  maxLeaf = 0;
  maxExtLeaf = 0;
  /** Vendor string registers in print order: EBX, EDX, ECX. */
  readonly vendor = new Uint32Array(3);
  /** Brand string: leaves 0x80000002..4, EAX..EDX each; zero if absent. */
  readonly brand = new Uint32Array(12);
  family = 0;
  model = 0;
  stepping = 0;
  leaf1Ecx = 0;
  leaf1Edx = 0;
  extEdx = 0;

  read(): void {
    this.maxLeaf = cpuid(0, 0);
    this.vendor[0] = cpuidReg(CPUID_EBX);
    this.vendor[1] = cpuidReg(CPUID_EDX);
    this.vendor[2] = cpuidReg(CPUID_ECX);
    if (this.maxLeaf >= 1) {
      const eax = cpuid(1, 0);
      this.leaf1Ecx = cpuidReg(CPUID_ECX);
      this.leaf1Edx = cpuidReg(CPUID_EDX);
      // SDM Vol. 2A Figure 3-6: display family/model include the extended fields.
      const baseFamily = (eax >>> 8) & 0xf;
      const baseModel = (eax >>> 4) & 0xf;
      this.family = baseFamily === 0xf ? baseFamily + ((eax >>> 20) & 0xff) : baseFamily;
      this.model = baseFamily === 0x6 || baseFamily === 0xf ? (((eax >>> 16) & 0xf) << 4) + baseModel : baseModel;
      this.stepping = eax & 0xf;
    }
    this.maxExtLeaf = cpuid(0x80000000, 0) >>> 0;
    if (this.maxExtLeaf >= 0x80000001) {
      cpuid(0x80000001, 0);
      this.extEdx = cpuidReg(CPUID_EDX) >>> 0;
    }
    if (this.maxExtLeaf >= 0x80000004) {
      for (let leaf = 0; leaf < 3; leaf++) {
        this.brand[leaf * 4] = cpuid(0x80000002 + leaf, 0) >>> 0;
        this.brand[leaf * 4 + 1] = cpuidReg(CPUID_EBX) >>> 0;
        this.brand[leaf * 4 + 2] = cpuidReg(CPUID_ECX) >>> 0;
        this.brand[leaf * 4 + 3] = cpuidReg(CPUID_EDX) >>> 0;
      }
    }
  }

  hasVmx(): boolean {
    return (this.leaf1Ecx & CPUID1_ECX_VMX) !== 0;
  }

  isGenuineIntel(): boolean {
    // "Genu" "ineI" "ntel"
    return this.vendor[0] === 0x756e6547 && this.vendor[1] === 0x49656e69 && this.vendor[2] === 0x6c65746e;
  }
}
