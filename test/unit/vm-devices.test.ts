// A VM's devices wired together (hv/vm/vm-devices.ts): the guest reaches them
// through I/O and MMIO exits planted in the simulated VMCS; a vUART's
// interrupt travels over its GSI to the vPIC (ExtINT, vector from the INTA
// cycle) or to the vIOAPIC (a message to the vLAPIC, level-triggered lines
// ended by the vLAPIC's EOI broadcast); PCI configuration through CF8/CFC;
// the console vuart prints on COM1; two VMs' COM2 vuarts connected. Expected
// values are the datasheets' (8259A, 82093AA, 16550A, PCI) and written out.
import { describe, expect, it } from 'vitest';
import type { SimMachine } from '../../arch/x86/sim-machine';
import * as F from '../../arch/x86/vmcs';
import type { AcrnVm } from '../../hv/vm/vm';
import { injectPending } from '../../hv/vm/virq';
import { LAPIC_MMIO_GPA, LAPIC_MMIO_SIZE } from '../../hv/vm/vcpu-lapic';
import type { Vcpu } from '../../hv/vm/vcpu';
import { vuartConnect } from '../../hv/vm/vuart';
import { addVm, ENTRY_RIP, type Fixture, fieldLo, load, makeFixture, RAX, RBX, regLo, runExit, setField, setGuestBytes, setReg } from './vm-fixture';

function fixture(): Fixture {
  const f = makeFixture();
  expect(f.vm.devices.init(2, true, true)).toBe(true);
  expect(f.vm.io.registerMmio(LAPIC_MMIO_GPA, LAPIC_MMIO_SIZE, f.vm.lapicMmio)).toBe(true);
  return f;
}

/** I/O exit qualification (SDM Vol. 3C Table 28-5): size - 1, direction (1 = IN), port in 31:16. */
function ioQual(port: number, size: number, isIn: boolean): number {
  return ((port << 16) | (isIn ? 8 : 0) | (size - 1)) >>> 0;
}

function outb(f: Fixture, port: number, value: number): void {
  setReg(f, RAX, value);
  runExit(f, { reason: 30, qual: ioQual(port, 1, false), instLen: 1 });
}
function inb(f: Fixture, port: number): number {
  runExit(f, { reason: 30, qual: ioQual(port, 1, true), instLen: 1 });
  return regLo(f, RAX) & 0xff;
}
function outl(f: Fixture, port: number, value: number): void {
  setReg(f, RAX, value >>> 0);
  runExit(f, { reason: 30, qual: ioQual(port, 4, false), instLen: 1 });
}
function inl(f: Fixture, port: number): number {
  runExit(f, { reason: 30, qual: ioQual(port, 4, true), instLen: 1 });
  return regLo(f, RAX);
}

/** A 32-bit MMIO write (mov [rbx], eax) to `gpa`. */
function mmioWrite(f: Fixture, gpa: number, value: number): void {
  setGuestBytes(f, ENTRY_RIP, [0x89, 0x03]);
  setField(f.m, F.GUEST_RIP, 0, ENTRY_RIP);
  setReg(f, RBX, gpa);
  setReg(f, RAX, value >>> 0);
  runExit(f, { reason: 48, qual: 0x182, gpa });
}
function mmioRead(f: Fixture, gpa: number): number {
  setGuestBytes(f, ENTRY_RIP, [0x8b, 0x03]);
  setField(f.m, F.GUEST_RIP, 0, ENTRY_RIP);
  setReg(f, RBX, gpa);
  runExit(f, { reason: 48, qual: 0x181, gpa });
  return regLo(f, RAX);
}

/** What the next entry injects, with IF = 1 and no blocking. */
function nextInjection(m: SimMachine, v: Vcpu): number {
  setField(m, F.GUEST_RFLAGS, 0, 0x202);
  setField(m, F.GUEST_INTERRUPTIBILITY_INFO, 0, 0);
  setField(m, F.VM_ENTRY_INTR_INFO, 0, 0);
  injectPending(v);
  return fieldLo(m, F.VM_ENTRY_INTR_INFO);
}

/** The 8259A pair in PC configuration: ICW1 11h, ICW2 base, ICW3 04h/02h, ICW4 01h; all pins masked but `unmasked`. */
function initPic(f: Fixture, unmaskedMaster: number): void {
  outb(f, 0x20, 0x11);
  outb(f, 0x21, 0x20);
  outb(f, 0x21, 0x04);
  outb(f, 0x21, 0x01);
  outb(f, 0xa0, 0x11);
  outb(f, 0xa1, 0x28);
  outb(f, 0xa1, 0x02);
  outb(f, 0xa1, 0x01);
  outb(f, 0x21, ~unmaskedMaster & 0xff);
  outb(f, 0xa1, 0xff);
}

/** COM1 with the received-data interrupt on and OUT2 set (the PC's IRQ gate). */
function enableCom1RxInterrupt(f: Fixture): void {
  outb(f, 0x3f9, 0x01); // IER: ERBFI
  outb(f, 0x3fc, 0x08); // MCR: OUT2
}

describe('a VM\'s devices in the I/O registry', () => {
  it('claim ACRN\'s fixed slots: PIC 20/A0, ELCR 4D0, COM1/COM2, CF8 (4-byte), CFC-CFF, CF9', () => {
    const f = fixture();
    for (const port of [0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x3f8, 0x3ff, 0x2f8, 0xcf8, 0xcf9, 0xcfc, 0xcff]) {
      expect(f.vm.io.findPio(port), `port ${port.toString(16)}`).toBeGreaterThanOrEqual(0);
    }
    expect(f.vm.io.findPio(0x3e8)).toBe(-1); // COM3 not given
    expect(f.vm.io.findMmio(0xfec00000, 4)).toBeGreaterThanOrEqual(0);
    expect(f.vm.io.findMmio(0xe0000000, 4)).toBeGreaterThanOrEqual(0);
  });

  it('the console vuart prints the guest\'s line on COM1 with the VM\'s name', () => {
    const f = fixture();
    for (const c of 'hi\n') outb(f, 0x3f8, c.charCodeAt(0));
    expect(f.m.output()).toContain('[test] hi\n');
  });
});

describe('interrupt routing (GSI 4 = COM1)', () => {
  it('through the vPIC: ExtINT to vCPU 0, vector base + 4 from the INTA cycle, then a non-specific EOI', () => {
    const f = fixture();
    initPic(f, 1 << 4);
    enableCom1RxInterrupt(f);
    expect(f.vm.devices.vuarts[0].rxPush(0x41)).toBe(true);
    expect(f.vcpu.pendingExtInt).toBe(true);
    expect(nextInjection(f.m, f.vcpu)).toBe(0x80000024); // vector 0x20 + 4
    outb(f, 0x20, 0x0b); // OCW3: read ISR
    expect(inb(f, 0x20)).toBe(0x10);
    expect(inb(f, 0x3f8)).toBe(0x41); // reading RBR drops the line
    outb(f, 0x20, 0x20); // non-specific EOI
    expect(inb(f, 0x20)).toBe(0);
    expect(nextInjection(f.m, f.vcpu)).toBe(0);
  });

  it('through the vIOAPIC: redirection entry 4 (vector 0x34, fixed, physical, APIC 0) delivers to the vLAPIC', () => {
    const f = fixture();
    f.vcpu.vlapic.svr = 0x1ff;
    mmioWrite(f, 0xfec00000, 0x10 + 2 * 4); // IOREGSEL: entry 4, low
    mmioWrite(f, 0xfec00010, 0x34); // edge, active high, unmasked
    mmioWrite(f, 0xfec00000, 0x11 + 2 * 4);
    mmioWrite(f, 0xfec00010, 0x00000000); // destination APIC ID 0
    enableCom1RxInterrupt(f);
    f.vm.devices.vuarts[0].rxPush(0x42);
    expect(nextInjection(f.m, f.vcpu)).toBe(0x80000034);
  });

  it('a level-triggered entry sets remote IRR; the vLAPIC\'s EOI clears it and re-delivers while the line is up', () => {
    const f = fixture();
    f.vcpu.vlapic.svr = 0x1ff;
    mmioWrite(f, 0xfec00000, 0x18);
    mmioWrite(f, 0xfec00010, 0x8035); // level (bit 15), vector 0x35
    mmioWrite(f, 0xfec00000, 0x19);
    mmioWrite(f, 0xfec00010, 0);
    enableCom1RxInterrupt(f);
    f.vm.devices.vuarts[0].rxPush(0x43);
    expect(nextInjection(f.m, f.vcpu)).toBe(0x80000035);
    mmioWrite(f, 0xfec00000, 0x18);
    expect((mmioRead(f, 0xfec00010) >>> 14) & 1).toBe(1); // remote IRR
    mmioWrite(f, LAPIC_MMIO_GPA + 0xb0, 0); // EOI: broadcast to the vIOAPIC
    expect(f.vcpu.lapicSink.levelEois).toBe(1);
    expect(nextInjection(f.m, f.vcpu)).toBe(0x80000035); // the line is still up: delivered again
    expect(inb(f, 0x3f8)).toBe(0x43);
    mmioWrite(f, LAPIC_MMIO_GPA + 0xb0, 0);
    mmioWrite(f, 0xfec00000, 0x18);
    expect((mmioRead(f, 0xfec00010) >>> 14) & 1).toBe(0);
    expect(nextInjection(f.m, f.vcpu)).toBe(0);
  });
});

describe('PCI configuration', () => {
  it('CF8/CFC finds the 8086:5AF0 host bridge at 00:00.0 and all ones at 00:01.0', () => {
    const f = fixture();
    outl(f, 0xcf8, 0x80000000);
    expect(inl(f, 0xcfc)).toBe(0x5af08086);
    outl(f, 0xcf8, 0x80000800);
    expect(inl(f, 0xcfc)).toBe(0xffffffff);
  });

  it('ECAM at 0xE0000000 reads the same function', () => {
    const f = fixture();
    expect(mmioRead(f, 0xe0000000)).toBe(0x5af08086);
  });
});

describe('two VMs\' COM2 connected', () => {
  it('a byte written to one VM\'s COM2 arrives in the other\'s receive FIFO', () => {
    const f = fixture();
    const b = addVm(f, { name: 'peer' }).vm as AcrnVm;
    expect(b.devices.init(2, true, true)).toBe(true);
    vuartConnect(f.vm.devices.vuarts[1], b.devices.vuarts[1]);
    load(f, f.vcpu);
    outb(f, 0x2f8, 0x5a);
    expect(b.devices.vuarts[1].readReg(5) & 1).toBe(1); // LSR.DR
    expect(b.devices.vuarts[1].readReg(0)).toBe(0x5a);
  });
});

describe('the shell\'s vm_console (ACRN: input to the VM\'s vuart 0, Ctrl+Space returns)', () => {
  it('sends typed bytes to the VM\'s COM1 receive FIFO, holds them while it is full, and returns on NUL', async () => {
    const { Shell } = await import('../../hv/shell');
    const { COM1_BASE, Uart16550 } = await import('../../arch/x86/serial');
    const f = fixture();
    const sh = new Shell(new Uart16550(COM1_BASE));
    sh.vms = f.vms;
    f.m.type('vm_console 0\r');
    for (let i = 0; i < 14; i++) sh.poll();
    expect(sh.consoleVm).toBe(f.vm);
    expect(f.m.output()).toContain('---- entering the console of vm0 (test); Ctrl+Space returns to the shell ----');
    const u = f.vm.devices.vuarts[0];
    u.writeReg(2, 0x07); // FCR: FIFOs on (16550A mode), both cleared
    const text = 'abcdefghijklmnopqrst'; // 20 bytes: the 16-byte FIFO fills, the rest wait
    f.m.type(text);
    for (let i = 0; i < 20; i++) sh.poll();
    expect(u.rxSpace()).toBe(0);
    expect(sh.heldByte).toBe('q'.charCodeAt(0));
    let got = '';
    for (let round = 0; round < 8; round++) {
      while (u.readReg(5) & 1) got += String.fromCharCode(u.readReg(0)); // LSR.DR: read RBR
      for (let i = 0; i < 4; i++) sh.poll();
    }
    expect(got).toBe(text);
    f.m.type('\0');
    sh.poll();
    expect(sh.consoleVm).toBe(null);
    expect(f.m.output()).toContain('---- back in the hypervisor shell ----');
  });

  it('refuses a VM that does not exist', async () => {
    const { Shell } = await import('../../hv/shell');
    const { COM1_BASE, Uart16550 } = await import('../../arch/x86/serial');
    const f = fixture();
    const sh = new Shell(new Uart16550(COM1_BASE));
    sh.vms = f.vms;
    f.m.type('vm_console 7\r');
    for (let i = 0; i < 14; i++) sh.poll();
    expect(sh.consoleVm).toBe(null);
    expect(f.m.output()).toContain('vm_console: give the id of a VM that exists (see vm_list)');
  });
});

describe('the Service VM\'s vIOAPICs: one per I/O APIC of the MADT (ACRN vioapic_init)', () => {
  /** A Service VM's devices on a machine whose MADT lists two I/O APICs (IDs 8 and 9, GSIs 0-23 and 24-55). */
  function serviceVm(): Fixture {
    const f = makeFixture({}, (m) => {
      m.ioapics = [{ id: 8, addr: 0xfec00000, gsiBase: 0, pins: 24 }, { id: 9, addr: 0xfec01000, gsiBase: 24, pins: 32 }];
    });
    expect(f.vm.devices.init(1, false, false)).toBe(true); // no ECAM: the Service VM
    expect(f.vm.io.registerMmio(LAPIC_MMIO_GPA, LAPIC_MMIO_SIZE, f.vm.lapicMmio)).toBe(true);
    f.vcpu.vlapic.writeReg(0xf0, 0x1ff, 0); // SVR: the APIC software-enabled
    return f;
  }
  /** IOREGSEL = reg, then IOWIN (82093AA 3.1) at the chip's base. */
  const ioapicReg = (f: Fixture, base: number, reg: number): number => {
    const d = f.vm.io.mmioDevice(f.vm.io.findMmio(base, 4)); // whoever the registry gives the address to
    d.mmioWrite(base, 4, 0, reg);
    return d.mmioRead(base + 0x10, 4) >>> 0;
  };

  it('each has the MADT\'s address, ID and GSI base and the chip\'s pins; GSIs route by range; EOI reaches every one', () => {
    const f = serviceVm();
    const d = f.vm.devices;
    expect([d.vioapicCount, d.gsiCount()]).toEqual([2, 56]);
    expect(f.vm.io.mmioDevice(f.vm.io.findMmio(0xfec01000, 4))).toBe(d.vioapics[1]);
    expect(f.vm.io.mmioDevice(f.vm.io.findMmio(0xfec00000, 4))).toBe(d.vioapics[0]);
    expect([ioapicReg(f, 0xfec00000, 1), ioapicReg(f, 0xfec01000, 1)]).toEqual([(23 << 16) | 0x11, (31 << 16) | 0x11]);
    expect([ioapicReg(f, 0xfec00000, 0), ioapicReg(f, 0xfec01000, 0)]).toEqual([8 << 24, 9 << 24]);
    // GSI 30 = the second chip's pin 6: level-triggered, vector 0x45, physical destination 0
    const second = d.vioapics[1];
    second.writeReg(0x10 + 6 * 2 + 1, 0);
    second.writeReg(0x10 + 6 * 2, 0x8000 | 0x45);
    d.router.drive(30, true);
    expect([second.lines[6], d.vioapics[0].lines[6]]).toEqual([1, 0]);
    expect((f.vcpu.vlapic.irr[0x45 >>> 5] >>> (0x45 & 31)) & 1).toBe(1);
    expect(second.redirLo[6] & 0x4000).toBe(0x4000); // remote IRR
    d.router.drive(30, false);
    f.vcpu.lapicSink.eoiLevel(0x45); // the vLAPIC's EOI broadcast
    expect(second.redirLo[6] & 0x4000).toBe(0);
    d.router.drive(56, true); // past the last pin: nobody's
    expect(second.ignoredPins + d.vioapics[0].ignoredPins).toBe(0);
  });

  it('other VMs, and a machine whose MADT lists none, have one vIOAPIC of 48 pins at 0xFEC00000', () => {
    const f = fixture();
    expect([f.vm.devices.vioapicCount, f.vm.devices.vioapic.base, f.vm.devices.vioapic.pins, f.vm.devices.gsiCount()]).toEqual([1, 0xfec00000, 48, 48]);
    const g = makeFixture({}, (m) => {
      m.ioapics = [];
    });
    expect(g.vm.devices.init(1, false, false)).toBe(true);
    expect([g.vm.devices.vioapicCount, g.vm.devices.vioapic.base, g.vm.devices.vioapic.pins]).toEqual([1, 0xfec00000, 48]);
  });
});
