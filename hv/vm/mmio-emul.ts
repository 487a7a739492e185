// MMIO emulation behind EPT violations (ACRN's ept_violation_vmexit_handler +
// decode_instruction + emulate_instruction): a guest access to a
// guest-physical address its EPT leaves unmapped exits here, and
//
//   1. an instruction fetch from such an address stops the VM;
//   2. the instruction is fetched from guest RIP through the guest's own
//      page tables (the exit's instruction length is undefined for EPT
//      violations, SDM Vol. 3C 28.2.5), at most 15 bytes, the second page
//      only when the decoder needs it;
//   3. decoded (instr-decode.ts) in the CPU mode of CS (L, D/B) and EFER.LMA;
//   4. carried out (instr-emul.ts) against the device that claims the
//      address in the VM's I/O registry; nobody's address is "unmapped MMIO":
//      for pre-launched VMs and the Service VM reads give all ones and writes
//      are dropped (ACRN's emulate_io for those load orders); post-launched
//      VMs' unclaimed accesses go to the device model as I/O requests
//      (ioreq.ts): a write is carried out now with its value captured for
//      the request; a read waits, the instruction decoded into the vCPU's
//      own decoder (ACRN's per-vCPU inst_ctxt), and is carried out with the
//      DM's value when the request is finished (completeRead);
//   5. RIP advances past the instruction, or stays on a REP string
//      instruction whose count is not yet 0 (it re-executes, one element per
//      exit, as ACRN does).
//
// Who is at fault decides the outcome (DESIGN.md): a guest paging fault met
// while fetching or while reaching the non-device side of MOVS is the
// guest's, and becomes a #PF (CR2 and error code from the walker), a
// non-canonical address a #GP(0) (#SS(0) for SS); an instruction the emulator
// cannot handle, or bytes that are not in the VM's memory, stop that VM with
// a report. Nothing here allocates: one set of buffers, bound per exit (only
// one pCPU runs TypeScript at a time).
import { poke64, vmread } from '../../arch/x86/intrinsics';
import { CTX_CR2 } from '../../arch/x86/vcpu-ctx';
import { GUEST_CS_AR, GUEST_CS_BASE } from '../../arch/x86/vmcs';
import { ExitInfo } from '../../arch/x86/vmexit-info';
import { LOG_ERROR, log } from '../log';
import { COPY_FAULT, COPY_OK, type GuestMemory } from './guest-copy';
import {
  ACC_FETCH, ACC_USER, ACC_WRITE, type GuestWalker, PagingState, WALK_FAULT, WALK_NONCANONICAL, WALK_UNSUPPORTED,
} from './guest-walk';
import { DECODE_ERR_TRUNCATED, DECODE_OK, InstrDecoder, MAX_INSTR_LEN, OP_NAMES, SEG_SS } from './instr-decode';
import {
  EMUL_DONE, EMUL_ERR_GUEST_MEM, EMUL_ERR_NONCANONICAL, EMUL_REPEAT, InstrEmulator, type MmioAccess,
} from './instr-emul';
import type { MmioDevice } from './io-emul';
import { VcpuRegisters } from './vcpu-regs';
import { queueException, VECTOR_GP, VECTOR_PF, VECTOR_SS } from './virq';
import type { Vcpu } from './vcpu';
import { LOAD_ORDER_POST, type AcrnVm } from './vm';
import { stopVm } from './vm-stop';
import { reportGpa } from './exits/fatal-exits';
import { IOREQ_DIR_READ, IOREQ_DIR_WRITE, IOREQ_NONE, ioreqSend, ioreqServed } from './ioreq';
import { IOREQ_TYPE_MMIO } from '../dm-hypercall/abi';

const TWO_POW_32 = 4294967296;
const PAGE = 4096;
const CS_AR_L = 1 << 13;
const CS_AR_DB = 1 << 14;
const EFER_LMA = 0x400;

/** MmioPort's device side: a device (or unmapped MMIO), or the device model's request. */
const PORT_DEVICE = 0;
/** A write for the device model: its value is captured; a read is not possible. */
const PORT_CAPTURE = 1;
/** The device model's answer to a read: reads give the supplied value; a write is not possible. */
const PORT_SUPPLY = 2;

/** The device side of one emulated access, and the guest-memory side of MOVS. */
class MmioPort implements MmioAccess {
  vm: AcrnVm | null = null;
  device: MmioDevice | null = null;
  mode = PORT_DEVICE;
  /** PORT_CAPTURE: the write (size, value); PORT_SUPPLY: the value. A read or write the mode cannot do sets `refused`. */
  captured = false;
  capturedSize = 0;
  capturedHi = 0;
  capturedLo = 0;
  suppliedHi = 0;
  suppliedLo = 0;
  refused = false;
  gpa = 0;
  valueHi = 0;
  mmioIsDest = false;
  /** The guest-memory side of MOVS: paging registers, memory, CPL-3 flag. */
  ps: PagingState | null = null;
  mem: GuestMemory | null = null;
  user = 0;
  /** The last readGuest/writeGuest failure (a negative COPY_* code), 0 if none. */
  guestStatus = 0;

  /** One access: the device side (`mode`: PORT_*) and the guest-memory side (paging state, memory, CPL-3 flag). */
  bind(vm: AcrnVm, gpa: number, device: MmioDevice | null, isWrite: boolean, mode: number, ps: PagingState, mem: GuestMemory, user: number): void {
    this.vm = vm;
    this.gpa = gpa;
    this.device = device;
    this.mmioIsDest = isWrite;
    this.guestStatus = 0;
    this.valueHi = 0;
    this.mode = mode;
    this.captured = false;
    this.refused = false;
    this.ps = ps;
    this.mem = mem;
    this.user = user;
  }

  read(size: number): number {
    if (this.mode === PORT_SUPPLY) {
      this.valueHi = size === 8 ? this.suppliedHi : 0;
      const mask = size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
      return (this.suppliedLo & mask) >>> 0;
    }
    if (this.mode === PORT_CAPTURE) {
      this.refused = true;
      this.valueHi = 0;
      return 0;
    }
    const device = this.device;
    if (device !== null) {
      const lo = device.mmioRead(this.gpa, size);
      this.valueHi = size === 8 ? device.mmioValueHi >>> 0 : 0;
      return lo >>> 0;
    }
    if (this.vm !== null) this.vm.io.unclaimedReads++;
    this.valueHi = size === 8 ? 0xffffffff : 0;
    return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  }

  write(size: number, hiHalf: number, loHalf: number): void {
    if (this.mode !== PORT_DEVICE) {
      if (this.mode === PORT_SUPPLY || this.captured) this.refused = true;
      this.captured = true;
      this.capturedSize = size;
      this.capturedHi = size === 8 ? hiHalf >>> 0 : 0;
      this.capturedLo = loHalf >>> 0;
      return;
    }
    const device = this.device;
    if (device !== null) device.mmioWrite(this.gpa, size, hiHalf >>> 0, loHalf >>> 0);
    else if (this.vm !== null) this.vm.io.unclaimedWrites++;
  }

  readGuest(linHi: number, linLo: number, size: number): number {
    const mem = this.mem as GuestMemory;
    const r = mem.readGva(this.ps as PagingState, linHi, linLo, size, this.user);
    if (r < 0) {
      this.guestStatus = r;
      return -1;
    }
    this.valueHi = size === 8 ? mem.valueHi >>> 0 : 0;
    return r;
  }

  writeGuest(linHi: number, linLo: number, size: number, hiHalf: number, loHalf: number): boolean {
    const mem = this.mem as GuestMemory;
    const r = mem.writeGva(this.ps as PagingState, linHi, linLo, size, hiHalf, loHalf, this.user | ACC_WRITE);
    if (r < 0) {
      this.guestStatus = r;
      return false;
    }
    return true;
  }
}

/** Outcome counters (the shell's exit_stats can show them). */
export class MmioStats {
  emulated = 0;
  /** Requests sent to the device model. */
  toDeviceModel = 0;
  unclaimed = 0;
  pageFaults = 0;
  stopped = 0;
}

/** Everything one MMIO exit needs, built once. */
export class MmioEmulation {
  readonly paging = new PagingState();
  /** The decoder of the vCPU being served (Vcpu.ioreq.decoder: a device-model read is finished later with it). */
  private decoder: InstrDecoder = new InstrDecoder();
  readonly emulator = new InstrEmulator();
  readonly regs = new VcpuRegisters();
  readonly port = new MmioPort();
  readonly fetchBytes = new Uint8Array(MAX_INSTR_LEN);
  readonly stats = new MmioStats();
  fetched = 0;
  /** Linear address of the first fetched byte. */
  private fetchLinLo = 0;
  private fetchLinHi = 0;
  /** The VM being served: its walker and guest memory (AcrnVm builds them at init). */
  private walker: GuestWalker | null = null;
  private mem: GuestMemory | null = null;

  /** Serve one EPT violation on an address the VM's EPT does not map. */
  handle(vcpu: Vcpu, exit: ExitInfo): void {
    const vm = vcpu.vm;
    const e = exit.ept;
    if (e.fetch) {
      this.stop(vcpu, exit, 'instruction fetch from unmapped guest-physical memory', false);
      return;
    }
    this.walker = vm.walker;
    this.mem = vm.guestMem;
    this.decoder = vcpu.ioreq.decoder;
    const ps = this.paging;
    ps.load();
    const user = ps.cpl === 3 ? ACC_USER : 0;
    const csAr = vmread(GUEST_CS_AR);
    const mode64 = (ps.efer & EFER_LMA) !== 0 && (csAr & CS_AR_L) !== 0;
    const csD = (csAr & CS_AR_DB) !== 0;
    const mode = mode64 ? 64 : csD ? 32 : 16;
    if (!this.fetch(vcpu, exit, mode64, user)) return;
    const dec = this.decoder;
    dec.decode(this.fetchBytes, this.fetched, mode, csD);
    if (dec.status === DECODE_ERR_TRUNCATED && this.fetched < MAX_INSTR_LEN) {
      if (!this.fetchRest(vcpu, exit, mode64, user)) return;
      dec.decode(this.fetchBytes, this.fetched, mode, csD);
    }
    if (dec.status !== DECODE_OK) {
      this.stop(vcpu, exit, 'cannot emulate the instruction that accessed MMIO', true);
      return;
    }
    const gpa = e.gpa;
    let slot = vm.io.findMmio(gpa, dec.memSize);
    // A post-launched VM's ECAM access to a function its vPCI lacks is its DM's (ACRN: the DM emulates its PCI devices).
    const ecam = vm.devices.vpci.ecam;
    if (slot >= 0 && vm.loadOrder === LOAD_ORDER_POST && vm.io.mmioDevice(slot) === ecam && !vm.devices.vpci.hasFunction(ecam.bdfOf(gpa))) slot = -1;
    if (slot < 0 && vm.loadOrder === LOAD_ORDER_POST) {
      if (!ioreqServed(vm) || vcpu.ioreq.state !== IOREQ_NONE) {
        this.stop(vcpu, exit, 'MMIO access for the device model, but no device model serves this VM', true);
        return;
      }
      this.forDeviceModel(vcpu, exit, gpa, e.write, ps, user);
      return;
    }
    const port = this.port;
    port.bind(vm, gpa, slot < 0 ? null : vm.io.mmioDevice(slot), e.write, PORT_DEVICE, ps, vm.guestMem, user);
    if (slot < 0) this.stats.unclaimed++;
    vm.io.currentVcpu = vcpu.id;
    this.run(vcpu, exit, true);
  }

  /**
   * Carry out the bound instruction against the bound port: RIP moves past
   * it, or stays for a REP string instruction not done; failures as
   * emulationFailed (`atExit`: the fetched bytes are this instruction's).
   */
  private run(vcpu: Vcpu, exit: ExitInfo, atExit: boolean): void {
    const regs = this.regs;
    regs.bind(vcpu, exit);
    const rc = this.emulator.emulate(regs, this.decoder, this.port);
    if (this.port.refused) {
      this.stop(vcpu, exit, 'an instruction that reads and writes device-model MMIO is not supported', atExit);
    } else if (rc === EMUL_DONE) {
      this.stats.emulated++;
      vcpu.advanceRip(exit.ripHi, exit.ripLo, this.decoder.instLen);
    } else if (rc === EMUL_REPEAT) {
      this.stats.emulated++;
    } else {
      this.emulationFailed(vcpu, exit, rc, atExit);
    }
  }

  /**
   * Unclaimed MMIO of a post-launched VM: an MMIO request to its device
   * model. A write is carried out now with the value captured (RIP moves on
   * or, for a REP string store, stays); a read only records the access: the
   * instruction, already in the vCPU's decoder, runs with the DM's value in
   * completeRead. An instruction that would read and write such MMIO is
   * not supported (the VM stops).
   */
  private forDeviceModel(vcpu: Vcpu, exit: ExitInfo, gpa: number, isWrite: boolean, ps: PagingState, user: number): void {
    const dec = this.decoder;
    const r = vcpu.ioreq;
    r.fill(IOREQ_TYPE_MMIO, IOREQ_DIR_READ, gpa, dec.memSize, 0, 0);
    if (isWrite) {
      const port = this.port;
      port.bind(vcpu.vm, gpa, null, true, PORT_CAPTURE, ps, vcpu.vm.guestMem, user);
      const regs = this.regs;
      regs.bind(vcpu, exit);
      const rc = this.emulator.emulate(regs, dec, port);
      if (rc === EMUL_DONE || rc === EMUL_REPEAT) {
        if (port.refused || !port.captured) {
          this.stop(vcpu, exit, 'an instruction that reads and writes device-model MMIO is not supported', true);
          return;
        }
        if (rc === EMUL_DONE) vcpu.advanceRip(exit.ripHi, exit.ripLo, dec.instLen);
        r.fill(IOREQ_TYPE_MMIO, IOREQ_DIR_WRITE, gpa, port.capturedSize, port.capturedHi, port.capturedLo);
      } else {
        this.emulationFailed(vcpu, exit, rc, true);
        return;
      }
    }
    this.stats.toDeviceModel++;
    ioreqSend(vcpu.vm, vcpu.id);
  }

  /**
   * The device model finished `vcpu`'s MMIO read with hi:lo: carry out the
   * instruction decoded at the exit (Vcpu.ioreq.decoder) with that value.
   * @pre the vCPU's VMCS is current (its pCPU, before the next entry).
   */
  completeRead(vcpu: Vcpu, valueHi: number, valueLo: number): void {
    const vm = vcpu.vm;
    this.decoder = vcpu.ioreq.decoder;
    this.walker = vm.walker;
    this.mem = vm.guestMem;
    const ps = this.paging;
    ps.load();
    const exit = COMPLETION_EXIT;
    exit.loadGuestRip();
    const port = this.port;
    port.bind(vm, vcpu.ioreq.address, null, false, PORT_SUPPLY, ps, vm.guestMem, ps.cpl === 3 ? ACC_USER : 0);
    port.suppliedHi = valueHi >>> 0;
    port.suppliedLo = valueLo >>> 0;
    this.run(vcpu, exit, false);
  }

  /** `atExit`: the fetched bytes are this instruction's (not so when a DM read completes later). */
  private emulationFailed(vcpu: Vcpu, exit: ExitInfo, rc: number, atExit: boolean): void {
    if (rc === EMUL_ERR_NONCANONICAL) {
      this.raise(vcpu, exit, this.decoder.segment === SEG_SS ? VECTOR_SS : VECTOR_GP, 0);
    } else if (rc === EMUL_ERR_GUEST_MEM) {
      this.guestMemoryFailed(vcpu, exit, this.port.guestStatus, 'the non-MMIO side of a string instruction is not in guest memory');
    } else {
      this.stop(vcpu, exit, 'cannot emulate the instruction that accessed MMIO', atExit);
    }
  }

  /** Instruction bytes from the linear RIP to the end of its page (at most 15). */
  private fetch(vcpu: Vcpu, exit: ExitInfo, mode64: boolean, user: number): boolean {
    let linLo = exit.ripLo;
    let linHi = exit.ripHi;
    if (!mode64) {
      // Outside 64-bit mode: CS base + EIP, wrapping at 4 GiB (SDM Vol. 3A 3.4).
      const sum = (vmread(GUEST_CS_BASE) >>> 0) + linLo;
      linLo = sum >= TWO_POW_32 ? sum - TWO_POW_32 : sum;
      linHi = 0;
    }
    this.fetchLinLo = linLo;
    this.fetchLinHi = linHi;
    const toPageEnd = PAGE - (linLo % PAGE);
    const n = toPageEnd < MAX_INSTR_LEN ? toPageEnd : MAX_INSTR_LEN;
    this.fetched = 0;
    const rc = (this.mem as GuestMemory).copyFromGva(this.paging, linHi, linLo, this.fetchBytes, 0, n, ACC_FETCH | user);
    if (rc !== COPY_OK) {
      this.guestMemoryFailed(vcpu, exit, rc, 'instruction fetch from unmapped guest-physical memory');
      return false;
    }
    this.fetched = n;
    return true;
  }

  /** The rest of a 15-byte window from the next page (the instruction straddles it). */
  private fetchRest(vcpu: Vcpu, exit: ExitInfo, mode64: boolean, user: number): boolean {
    const have = this.fetched;
    let lo = this.fetchLinLo + have;
    let h = this.fetchLinHi;
    if (lo >= TWO_POW_32) {
      lo -= TWO_POW_32;
      h = mode64 ? (h + 1) >>> 0 : 0;
    }
    const rc = (this.mem as GuestMemory).copyFromGva(this.paging, h, lo, this.fetchBytes, have, MAX_INSTR_LEN - have, ACC_FETCH | user);
    if (rc !== COPY_OK) {
      this.guestMemoryFailed(vcpu, exit, rc, 'instruction fetch from unmapped guest-physical memory');
      return false;
    }
    this.fetched = MAX_INSTR_LEN;
    return true;
  }

  /** A guest-memory access failed: the guest's #PF or #GP, or stop the VM. */
  private guestMemoryFailed(vcpu: Vcpu, exit: ExitInfo, rc: number, unmappedWhy: string): void {
    const mem = this.mem as GuestMemory;
    if (rc === COPY_FAULT && mem.faultStatus === WALK_FAULT) {
      poke64(vcpu.ctxPa + CTX_CR2, mem.faultLinHi >>> 0, mem.faultLinLo >>> 0);
      this.stats.pageFaults++;
      this.raise(vcpu, exit, VECTOR_PF, (this.walker as GuestWalker).faultError);
    } else if (rc === COPY_FAULT && mem.faultStatus === WALK_NONCANONICAL) {
      this.raise(vcpu, exit, VECTOR_GP, 0);
    } else if (rc === COPY_FAULT && mem.faultStatus === WALK_UNSUPPORTED) {
      this.stop(vcpu, exit, 'the guest enabled 5-level paging, which this hypervisor does not support', false);
    } else {
      this.stop(vcpu, exit, unmappedWhy, false);
    }
  }

  private raise(vcpu: Vcpu, exit: ExitInfo, vector: number, error: number): void {
    if (!queueException(vcpu, vector, error)) this.stop(vcpu, exit, 'triple fault (an exception while delivering #DF)', false);
  }

  /** Stop the VM with the exit, the GPA and (when decoded) the instruction bytes. */
  private stop(vcpu: Vcpu, exit: ExitInfo, why: string, showInstruction: boolean): void {
    this.stats.stopped++;
    stopVm(vcpu, why, exit);
    reportGpa(exit);
    if (!showInstruction) return;
    log.begin(LOG_ERROR);
    log.str('  instruction bytes');
    const dec = this.decoder;
    const shown = dec.status === DECODE_OK ? dec.instLen : this.fetched;
    for (let i = 0; i < shown; i++) {
      log.char(32);
      log.hexDigits(this.fetchBytes[i], 2);
    }
    if (dec.status === DECODE_OK) {
      log.str(' (');
      log.str(OP_NAMES[dec.op]);
      log.str(')');
    } else {
      log.str(' (decoder status ');
      log.dec(dec.status);
      log.str(')');
    }
    log.end();
  }
}

/** The guest's RIP and RFLAGS when a device-model read is completed (no exit: read from the VMCS). */
const COMPLETION_EXIT = new ExitInfo();

/** The one instance (hypervisor TypeScript runs on one pCPU at a time). */
export const MMIO_EMULATION = new MmioEmulation();

/** EPT-violation exit handler (SDM Vol. 3C 29.3.3.2). */
export function eptViolationExit(vcpu: Vcpu, exit: ExitInfo): void {
  MMIO_EMULATION.handle(vcpu, exit);
}
