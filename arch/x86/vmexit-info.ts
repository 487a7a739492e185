// Decoding a VM exit, once, into plain records (DESIGN.md style rule 2): the
// exit handlers read these and never the VMCS. One ExitInfo lives per pCPU and
// is refilled on every exit, so decoding allocates nothing.
// SDM Vol. 3C 28.2 "Recording VM-Exit Information", Tables 28-1 ... 28-7.
import { hi, vmread } from './intrinsics';
import {
  EXIT_QUALIFICATION, GUEST_INTERRUPTIBILITY_INFO, GUEST_LINEAR_ADDRESS, GUEST_PHYSICAL_ADDRESS, GUEST_RFLAGS,
  GUEST_RIP, IDT_VECTORING_ERROR_CODE, IDT_VECTORING_INFO, VM_EXIT_INSTRUCTION_INFO, VM_EXIT_INSTRUCTION_LEN,
  VM_EXIT_INTR_ERROR_CODE, VM_EXIT_INTR_INFO, VM_EXIT_REASON,
} from './vmcs';
import {
  EXIT_REASON_CR_ACCESS, EXIT_REASON_EPT_MISCONFIG, EXIT_REASON_EPT_VIOLATION, EXIT_REASON_EXCEPTION_NMI,
  EXIT_REASON_EXTERNAL_INTERRUPT, EXIT_REASON_IO_INSTRUCTION,
} from './vmcs';

/** I/O instruction exit (Table 28-5). */
export class IoExit {
  port = 0;
  /** Access size in bytes: 1, 2 or 4. */
  size = 1;
  isIn = false;
  isString = false;
  rep = false;
  /** String forms: address size in bytes (2, 4, 8) and segment register (0 ES .. 5 GS). */
  addrSize = 8;
  segment = 3;
}

/** MOV to/from CR, CLTS, LMSW exit (Table 28-3). */
export class CrExit {
  cr = 0;
  /** 0 MOV to CR, 1 MOV from CR, 2 CLTS, 3 LMSW. */
  accessType = 0;
  /** General-purpose register index (0 RAX .. 15 R15). */
  gpr = 0;
  /** LMSW source data (bits 31:16 of the qualification). */
  lmswData = 0;
}

/** EPT violation exit (Table 28-7). */
export class EptExit {
  read = false;
  write = false;
  fetch = false;
  /** The entry allowed read / write / execute (bits 3-5). */
  allowedMask = 0;
  linearValid = false;
  /** Guest-physical address (below 2^52, exact as a number). */
  gpa = 0;
  /** Guest linear address as halves (canonical high addresses exceed 2^53). */
  linearLo = 0;
  linearHi = 0;
}

export class ExitInfo {
  /** Basic exit reason, bits 15:0 of the exit-reason field. */
  reason = 0;
  /** Bit 31: VM-entry failure. */
  entryFailure = false;
  qualLo = 0;
  qualHi = 0;
  instLen = 0;
  instInfo = 0;
  ripLo = 0;
  ripHi = 0;
  rflags = 0;
  interruptibility = 0;
  /** VM-exit interruption information and error code (exceptions, NMIs, external interrupts). */
  intrInfo = 0;
  intrError = 0;
  /** IDT-vectoring information: an event whose delivery the exit interrupted (28.2.4). */
  idtVectoring = 0;
  idtVectoringError = 0;
  readonly io = new IoExit();
  readonly cr = new CrExit();
  readonly ept = new EptExit();

  /**
   * Only the guest's RIP and RFLAGS, for work done outside an exit (a device
   * model's finished MMIO read, hv/vm/mmio-emul.ts); the rest is zeroed.
   */
  loadGuestRip(): void {
    this.reason = 0;
    this.entryFailure = false;
    this.qualLo = 0;
    this.qualHi = 0;
    this.instLen = 0;
    this.ripLo = vmread(GUEST_RIP) >>> 0;
    this.ripHi = hi() >>> 0;
    this.rflags = vmread(GUEST_RFLAGS) >>> 0;
    this.idtVectoring = 0;
    this.idtVectoringError = 0;
  }

  /** Read the fields every exit needs, then those of this reason. */
  decode(): void {
    const raw = vmread(VM_EXIT_REASON);
    this.reason = raw & 0xffff;
    this.entryFailure = (raw & 0x80000000) !== 0;
    this.qualLo = vmread(EXIT_QUALIFICATION) >>> 0;
    this.qualHi = hi() >>> 0;
    this.instLen = vmread(VM_EXIT_INSTRUCTION_LEN);
    this.ripLo = vmread(GUEST_RIP) >>> 0;
    this.ripHi = hi() >>> 0;
    this.rflags = vmread(GUEST_RFLAGS) >>> 0;
    this.interruptibility = vmread(GUEST_INTERRUPTIBILITY_INFO);
    this.idtVectoring = vmread(IDT_VECTORING_INFO) >>> 0;
    this.idtVectoringError = (this.idtVectoring & 0x800) !== 0 ? vmread(IDT_VECTORING_ERROR_CODE) : 0;
    const reason = this.reason;
    if (reason === EXIT_REASON_EXCEPTION_NMI || reason === EXIT_REASON_EXTERNAL_INTERRUPT) {
      this.intrInfo = vmread(VM_EXIT_INTR_INFO) >>> 0;
      this.intrError = (this.intrInfo & 0x800) !== 0 ? vmread(VM_EXIT_INTR_ERROR_CODE) : 0;
    } else if (reason === EXIT_REASON_IO_INSTRUCTION) {
      this.decodeIo();
    } else if (reason === EXIT_REASON_CR_ACCESS) {
      this.decodeCr();
    } else if (reason === EXIT_REASON_EPT_VIOLATION || reason === EXIT_REASON_EPT_MISCONFIG) {
      this.decodeEpt();
    }
  }

  /**
   * Table 28-5: bits 2:0 size - 1, bit 3 direction (1 = IN), bit 4 string,
   * bit 5 REP, bits 31:16 port. For INS/OUTS, the VM-exit instruction-information
   * field (Table 28-9, when IA32_VMX_BASIC[54]) gives address size (bits 9:7)
   * and segment (bits 17:15).
   */
  decodeIo(): void {
    const q = this.qualLo;
    const io = this.io;
    io.size = (q & 7) + 1;
    io.isIn = (q & 8) !== 0;
    io.isString = (q & 0x10) !== 0;
    io.rep = (q & 0x20) !== 0;
    io.port = (q >>> 16) & 0xffff;
    if (io.isString) {
      this.instInfo = vmread(VM_EXIT_INSTRUCTION_INFO) >>> 0;
      const a = (this.instInfo >>> 7) & 7;
      io.addrSize = a === 0 ? 2 : a === 1 ? 4 : 8;
      io.segment = (this.instInfo >>> 15) & 7;
    }
  }

  /** Table 28-3: bits 3:0 CR number, 5:4 access type, 11:8 GPR, 31:16 LMSW source. */
  decodeCr(): void {
    const q = this.qualLo;
    const cr = this.cr;
    cr.cr = q & 0xf;
    cr.accessType = (q >>> 4) & 3;
    cr.gpr = (q >>> 8) & 0xf;
    cr.lmswData = (q >>> 16) & 0xffff;
  }

  /** Table 28-7: bits 0-2 access (R/W/X), 3-5 what the entry allowed, 7 linear valid. */
  decodeEpt(): void {
    const q = this.qualLo;
    const e = this.ept;
    e.read = (q & 1) !== 0;
    e.write = (q & 2) !== 0;
    e.fetch = (q & 4) !== 0;
    e.allowedMask = (q >>> 3) & 7;
    e.linearValid = (q & 0x80) !== 0;
    const lo = vmread(GUEST_PHYSICAL_ADDRESS) >>> 0;
    e.gpa = (hi() >>> 0) * 4294967296 + lo;
    if (e.linearValid) {
      e.linearLo = vmread(GUEST_LINEAR_ADDRESS) >>> 0;
      e.linearHi = hi() >>> 0;
    } else {
      e.linearLo = 0;
      e.linearHi = 0;
    }
  }
}
