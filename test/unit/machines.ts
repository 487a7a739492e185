// Simulated machines for unit tests: the CPUID and VMX capability MSR values
// of the emulators the integration tiers use (Bochs values from
// shared/reference/bochs-vmx-poc/README.md), and a boot memory map.
import { attachSimMachine } from '../../arch/x86/intrinsics';
import { SimMachine } from '../../arch/x86/sim-machine';

export const POOL_BASE = 0x5000000;
export const POOL_PAGES = 64;

/** A machine with 512 MiB of RAM, a small pool and the usual reserved ranges. */
export function baseMachine(): SimMachine {
  const m = new SimMachine();
  m.memoryMap = [
    { base: 0, length: 0x9fc00, type: 1 },
    { base: 0x9fc00, length: 0x400, type: 2 },
    { base: 0xf0000, length: 0x10000, type: 2 },
    { base: 0x100000, length: 0x1fee0000, type: 1 },
    { base: 0x1ffe0000, length: 0x20000, type: 3 },
    { base: 0xfffc0000, length: 0x40000, type: 2 },
  ];
  m.reserved = [
    { base: 0, size: 0x100000, kind: 4 },
    { base: 0x100000, size: 0x200000, kind: 1 },
    { base: 0x2000000, size: 48 << 20, kind: 5 },
    { base: POOL_BASE, size: POOL_PAGES * 4096, kind: 6 },
  ];
  m.setPool(POOL_BASE, POOL_PAGES);
  m.declareRegion(0xfee00000, 0x1000); // the local APIC, declared as a device by kmain
  m.cmdline = '/boot/hv.elf';
  attachSimMachine(m);
  return m;
}

function brand(m: SimMachine, text: string): void {
  const padded = text.padEnd(48, '\0');
  for (let leaf = 0; leaf < 3; leaf++) {
    const w: number[] = [];
    for (let r = 0; r < 4; r++) {
      let v = 0;
      for (let b = 3; b >= 0; b--) v = v * 256 + padded.charCodeAt(leaf * 16 + r * 4 + b);
      w.push(v);
    }
    m.setCpuid(0x80000002 + leaf, 0, w[0], w[1], w[2], w[3]);
  }
}

/** Bochs 2.7, cpu model corei7_skylake_x: VMX with EPT, VPID, unrestricted guest. */
export function bochsSkylakeX(): SimMachine {
  const m = baseMachine();
  m.setVendor('GenuineIntel', 0x16);
  m.setCpuid(1, 0, 0x00050654, 0x00010800, 0x7ffefbbf | (1 << 5), 0xbfebfbff);
  m.setCpuid(0x80000000, 0, 0x80000008, 0, 0, 0);
  m.setCpuid(0x80000001, 0, 0, 0, 0x121, 0x2c100800);
  brand(m, 'Intel(R) Core(TM) i9-7900X CPU @ 3.30GHz');
  m.setMsr(0x3a, 0, 0x5);
  m.setMsr(0x480, 0x00d81000, 0x0000002b);
  m.setMsr(0x481, 0x0000007f, 0x00000016);
  m.setMsr(0x482, 0xf7f9fffe, 0x0401e172);
  m.setMsr(0x483, 0x007fffff, 0x00036dff);
  m.setMsr(0x484, 0x0000ffff, 0x000011ff);
  m.setMsr(0x485, 0x00000000, 0x600401e0);
  m.setMsr(0x486, 0, 0x80000021);
  m.setMsr(0x487, 0, 0xffffffff);
  m.setMsr(0x488, 0, 0x00002000);
  m.setMsr(0x489, 0, 0x003727ff);
  m.setMsr(0x48a, 0, 0x34);
  m.setMsr(0x48b, 0x02177fff, 0x00000000);
  m.setMsr(0x48c, 0x00000f01, 0x06334141);
  m.setMsr(0x48d, 0x0000007f, 0x00000016);
  m.setMsr(0x48e, 0xf7f9fffe, 0x04006172);
  m.setMsr(0x48f, 0x007fffff, 0x00036dfb);
  m.setMsr(0x490, 0x0000ffff, 0x000011fb);
  return m;
}

/** QEMU's software emulation with -cpu qemu64: an AMD-flavoured CPU without VMX. */
export function qemuTcg(): SimMachine {
  const m = baseMachine();
  m.setVendor('AuthenticAMD', 0xd);
  m.setCpuid(1, 0, 0x000663, 0x00000800, 0x80002001, 0x078bfbfd);
  m.setCpuid(0x80000000, 0, 0x8000000a, 0, 0, 0);
  m.setCpuid(0x80000001, 0, 0x663, 0, 0x1, 0x20100800);
  brand(m, 'QEMU Virtual CPU version 2.5+');
  return m;
}
