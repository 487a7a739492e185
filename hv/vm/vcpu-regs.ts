// The instruction emulator's view of a vCPU's registers (RegisterFile in
// instr-emul.ts) during one VM exit: GPRs through Vcpu (the context page; RSP
// from the VMCS), RIP and RFLAGS as the exit recorded them, and
// segment bases from the VMCS (SEG_ES..SEG_GS are the order of the GUEST_*_BASE
// encodings, SDM Vol. 3C Appendix B.4.3). One instance, bound per exit.
import { hi, vmread, vmwrite } from '../../arch/x86/intrinsics';
import { GUEST_ES_BASE, GUEST_RFLAGS } from '../../arch/x86/vmcs';
import type { ExitInfo } from '../../arch/x86/vmexit-info';
import type { RegisterFile } from './instr-emul';
import type { Vcpu } from './vcpu';

export class VcpuRegisters implements RegisterFile {
  private vcpu: Vcpu | null = null;
  private ripLoValue = 0;
  private ripHiValue = 0;
  private flags = 0;
  private latchHi = 0;

  /** Use `vcpu`'s registers, with RIP and RFLAGS as `exit` read them. */
  bind(vcpu: Vcpu, exit: ExitInfo): void {
    this.vcpu = vcpu;
    this.ripLoValue = exit.ripLo;
    this.ripHiValue = exit.ripHi;
    this.flags = exit.rflags;
  }

  regLo(index: number): number {
    const vcpu = this.vcpu;
    if (vcpu === null || index < 0 || index > 15) {
      this.latchHi = 0;
      return 0;
    }
    const lo = vcpu.gprLo(index);
    this.latchHi = vcpu.gprHi();
    return lo;
  }

  regHi(index: number): number {
    this.regLo(index);
    return this.latchHi;
  }

  setReg(index: number, hiHalf: number, loHalf: number): void {
    const vcpu = this.vcpu;
    if (vcpu === null || index < 0 || index > 15) return;
    vcpu.setGpr(index, hiHalf, loHalf);
  }

  ripLo(): number {
    return this.ripLoValue;
  }

  ripHi(): number {
    return this.ripHiValue;
  }

  rflags(): number {
    return this.flags;
  }

  setRflags(value: number): void {
    this.flags = value >>> 0;
    vmwrite(GUEST_RFLAGS, 0, this.flags);
  }

  segBaseLo(seg: number): number {
    if (seg < 0 || seg > 5) return 0;
    return vmread(GUEST_ES_BASE + seg * 2) >>> 0;
  }

  segBaseHi(seg: number): number {
    if (seg < 0 || seg > 5) return 0;
    vmread(GUEST_ES_BASE + seg * 2);
    return hi() >>> 0;
  }
}
