// Test VMs from GRUB modules (guests/README.md): a module whose string starts
// with `guest=<kind>` becomes a VM with 4 MiB of hypervisor-backed RAM at GPA 0
// and one vCPU, started in the entry state of its kind:
//   long64  64-bit mode at 0x100000, identity paging of [0, 1 GiB) built here
//   prot32  protected mode without paging at 0x100000 (Linux 32-bit boot style)
//   real16  real mode from the reset vector; the 64 KiB image sits at 0xF0000
//           and is aliased at 0xFFFF0000
// Every test VM has the test MMIO device (test-mmio.ts) at 0x3FE00000 and the
// xAPIC page of its vLAPICs at 0xFEE00000; the rest of its guest-physical
// space is unmapped MMIO (reads all ones). Module option `vcpus=<1..4>` gives
// it more vCPUs: vCPU 0 starts as above, the others wait for INIT-SIPI-SIPI
// from it through their vLAPICs (vcpu-lapic.ts).
// Module option `link=<vm name>` connects its COM2 (vuart 1) to that VM's COM2.
// Module option `pcpu=<n>` (default 0) places its vCPUs on pCPU n, which must
// be online; `ap_pcpu=<n>` places vCPUs 1.. on pCPU n instead (a VM across
// pCPUs: cross-pCPU IPIs, INIT-SIPI-SIPI and kicks). Module option `name=<vm name>` names the VM; `arg=<decimal>` is passed to
// long64 guests in RSI (RDI holds the VM id).
// These stand in for the scenario's pre-launched VMs until the scenario and
// the software loader exist.
import {
  cpuid, guestRamCarve, moduleByte, moduleCount, moduleField, peek8, peek32, poke32, poke64, vmwrite,
} from '../../arch/x86/intrinsics';
import { CTX_RDI, CTX_RDX, CTX_RSI } from '../../arch/x86/vcpu-ctx';
import { GUEST_RSP } from '../../arch/x86/vmcs';
import { EPT_MT_WB, EPT_RWX } from '../../arch/x86/ept';
import { LOG_ERROR, LOG_INFO, log } from '../log';
import { setGuestLongMode64, setGuestProtected32, setGuestRealModeReset } from './guest-state';
import { DEBUG_CONSOLE_PORT, TEST_CONTROL_PORT } from './debug-port';
import { WIDTH_ANY } from './io-emul';
import { TEST_MMIO_GPA, TEST_MMIO_SIZE, TestMmioDevice } from './test-mmio';
import { vuartConnect } from './vuart';
import { LAPIC_MMIO_GPA, LAPIC_MMIO_SIZE } from './vcpu-lapic';
import { VCPU_INIT } from './vcpu';
import { allocateBitmaps, setupVmcs } from './vmcs-setup';
import type { VmTable } from './vm-table';
import type { Scheduler } from './sched';
import { LOAD_ORDER_PRE, MAX_VCPUS_PER_VM, VM_RUNNING, type AcrnVm } from './vm';

export const TEST_VM_RAM = 4 * 1024 * 1024;
/** vuart 0 (COM1, the console) and vuart 1 (COM2, for `link=`). */
const TEST_VM_VUARTS = 2;
const IMAGE_GPA = 0x100000;
const IMAGE_MAX = 0x100000;
const REAL_IMAGE_GPA = 0xf0000;
const REAL_IMAGE_SIZE = 0x10000;
const RESET_ALIAS_GPA = 0xffff0000;
const PML4_GPA = 0x1000;
const PDPT_GPA = 0x2000;
const PD_GPA = 0x3000;
const STACK_TOP = 0x80000;

export const KIND_LONG64 = 0;
export const KIND_PROT32 = 1;
export const KIND_REAL16 = 2;
const KIND_NAMES = ['long64', 'prot32', 'real16'];

/** The module string of module i (init time: builds a string). */
function moduleString(i: number): string {
  let s = '';
  const n = moduleField(i, 2);
  for (let k = 0; k < n; k++) {
    const piece = String.fromCharCode(moduleByte(i, k)); // P16 (tools/PORFFOR.md): never `s += String.fromCharCode(...)`
    s += piece;
  }
  return s;
}

/** Value of `key=` in a module string, or ''. */
function option(text: string, key: string): string {
  const words = text.split(' ');
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w.length > key.length && w.charCodeAt(key.length) === 61 && w.slice(0, key.length) === key) return w.slice(key.length + 1);
  }
  return '';
}

function copyImage(moduleIndex: number, hpa: number, max: number): number {
  const start = moduleField(moduleIndex, 0);
  const size = moduleField(moduleIndex, 1) - start;
  const n = size < max ? size : max;
  let off = 0;
  for (; off + 4 <= n; off += 4) poke32(hpa + off, peek32(start + off));
  for (; off < n; off++) {
    const word = off & ~3;
    const shift = (off - word) * 8;
    poke32(hpa + word, (peek32(hpa + word) & ~(0xff << shift)) | (peek8(start + off) << shift));
  }
  return n;
}

/** Identity map [0, 1 GiB) with 2 MiB pages at PML4_GPA (SDM Vol. 3A 4.5). */
function buildIdentityPaging(ram: number): void {
  poke64(ram + PML4_GPA, 0, PDPT_GPA | 3);
  poke64(ram + PDPT_GPA, 0, PD_GPA | 3);
  for (let i = 0; i < 512; i++) poke64(ram + PD_GPA + i * 8, 0, ((i * 0x200000) | 0x83) >>> 0);
}

function failed(vm: AcrnVm, why: string): boolean {
  log.begin(LOG_ERROR);
  log.str('test VM ');
  log.str(vm.name);
  log.str(': ');
  log.str(why);
  log.end();
  return false;
}

function buildTestVm(vm: AcrnVm, moduleIndex: number, kind: number, name: string, argument: number, vcpus: number, apSched: Scheduler): boolean {
  vm.name = name;
  vm.loadOrder = LOAD_ORDER_PRE;
  vm.testVm = true;
  vm.vcpuid.build(false, vm.platform.tscKhz);
  vm.configureWalker();
  const ram = guestRamCarve(TEST_VM_RAM);
  if (ram === 0) return failed(vm, 'no host RAM left for its memory');
  vm.ramHpa = ram;
  vm.ramSize = TEST_VM_RAM;
  if (!vm.ept.init()) return failed(vm, 'page pool exhausted (EPT)');
  if (vm.ept.map(0, ram, TEST_VM_RAM, EPT_RWX, EPT_MT_WB) !== 0) return failed(vm, 'EPT map failed');
  if (kind === KIND_REAL16 && vm.ept.map(RESET_ALIAS_GPA, ram + REAL_IMAGE_GPA, REAL_IMAGE_SIZE, EPT_RWX, EPT_MT_WB) !== 0) {
    return failed(vm, 'EPT map of the reset alias failed');
  }
  if (!allocateBitmaps(vm)) return failed(vm, 'page pool exhausted (bitmaps)');
  vm.io.registerPio(DEBUG_CONSOLE_PORT, 1, WIDTH_ANY, vm.debugConsole);
  vm.io.registerPio(TEST_CONTROL_PORT, 1, WIDTH_ANY, vm.testControl);
  // The test MMIO device (built here, at boot: test VMs are never created later).
  if (!vm.io.registerMmio(TEST_MMIO_GPA, TEST_MMIO_SIZE, new TestMmioDevice())) return failed(vm, 'MMIO registry full');
  if (!vm.io.registerMmio(LAPIC_MMIO_GPA, LAPIC_MMIO_SIZE, vm.lapicMmio)) return failed(vm, 'MMIO registry full');
  // A pre-launched VM's devices (vm-devices.ts): vPIC, vIOAPIC, COM1 (console) and COM2, vPCI with the host bridge and ECAM.
  if (!vm.devices.init(TEST_VM_VUARTS, true, true)) return failed(vm, 'device registration failed');
  const vcpu = vm.vcpus[0];
  if (!vcpu.allocate()) return failed(vm, 'page pool exhausted (vCPU)');
  vm.vcpuCount = 1;
  vcpu.sched = vm.scheduler;
  if (!vcpu.sched.assign(vcpu)) return failed(vm, 'run queue full');
  if (setupVmcs(vcpu) !== 0) return failed(vm, 'VMCS setup failed');
  const caps = vm.platform.caps;
  let rc = 0;
  if (kind === KIND_REAL16) {
    copyImage(moduleIndex, ram + REAL_IMAGE_GPA, REAL_IMAGE_SIZE);
    rc = setGuestRealModeReset(caps);
    poke64(vcpu.ctxPa + CTX_RDX, 0, cpuid(1, 0) >>> 0); // EDX = processor signature (Table 9-1)
  } else {
    copyImage(moduleIndex, ram + IMAGE_GPA, IMAGE_MAX);
    if (kind === KIND_LONG64) {
      buildIdentityPaging(ram);
      rc = setGuestLongMode64(caps, IMAGE_GPA, PML4_GPA, STACK_TOP);
    } else {
      rc = setGuestProtected32(caps, IMAGE_GPA);
      rc |= vmwrite(GUEST_RSP, 0, STACK_TOP);
      poke64(vcpu.ctxPa + CTX_RSI, 0, 0);
    }
  }
  poke64(vcpu.ctxPa + CTX_RDI, 0, vm.vmId);
  if (kind === KIND_LONG64) poke64(vcpu.ctxPa + CTX_RSI, 0, argument);
  if (rc !== 0) return failed(vm, 'writing the guest state failed');
  // Application processors: allocated and placed, waiting for a SIPI (SDM Vol. 3A 9.4.1).
  for (let i = 1; i < vcpus; i++) {
    const ap = vm.vcpus[i];
    if (!ap.allocate()) return failed(vm, 'page pool exhausted (vCPU)');
    vm.vcpuCount = i + 1;
    ap.sched = apSched;
    if (!ap.sched.assign(ap)) return failed(vm, 'run queue full');
    if (setupVmcs(ap) !== 0) return failed(vm, 'VMCS setup failed');
    ap.state = VCPU_INIT;
    ap.waitingForSipi = true;
  }
  vm.state = VM_RUNNING;
  vcpu.sched.wake(vcpu);
  return true;
}

/** How many GRUB modules ask for a test VM (`guest=`). */
export function testModuleCount(): number {
  let n = 0;
  for (let i = 0; i < moduleCount(); i++) if (option(moduleString(i), 'guest') !== '') n++;
  return n;
}

/** Create and start one test VM per `guest=` module. Returns how many started. */
export function launchTestVms(table: VmTable): number {
  let started = 0;
  const n = moduleCount();
  for (let i = 0; i < n; i++) {
    const text = moduleString(i);
    const kindName = option(text, 'guest');
    if (kindName === '') continue;
    let kind = -1;
    for (let k = 0; k < KIND_NAMES.length; k++) if (KIND_NAMES[k] === kindName) kind = k;
    const vm = table.freeSlot();
    if (vm === null) {
      log.line(LOG_ERROR, 'test VMs: no free VM slot');
      break;
    }
    const given = option(text, 'name');
    const name = given !== '' ? given : kindName;
    if (kind < 0) {
      log.begin(LOG_ERROR);
      log.str('module ');
      log.dec(i);
      log.str(': unknown guest kind "');
      log.str(kindName);
      log.str('" (long64, prot32 or real16)');
      log.end();
      continue;
    }
    const arg = option(text, 'arg');
    const argument = arg === '' ? 0 : parseInt(arg, 10) >>> 0;
    const count = option(text, 'vcpus');
    const vcpus = count === '' ? 1 : parseInt(count, 10);
    if (!(vcpus >= 1 && vcpus <= MAX_VCPUS_PER_VM)) {
      log.begin(LOG_ERROR);
      log.str('module ');
      log.dec(i);
      log.str(': vcpus=');
      log.str(count);
      log.str(' is not 1 to ');
      log.dec(MAX_VCPUS_PER_VM);
      log.end();
      continue;
    }
    const where = option(text, 'pcpu');
    const pcpu = where === '' ? 0 : parseInt(where, 10);
    if (table.pcpus !== null) {
      const sched = table.pcpus.schedulerOf(pcpu);
      if (sched === null) {
        log.begin(LOG_ERROR);
        log.str('module ');
        log.dec(i);
        log.str(': pcpu=');
        log.str(where);
        log.str(' is not an online pCPU (');
        log.dec(table.pcpus.count);
        log.str(' enumerated); VM not created');
        log.end();
        continue;
      }
      vm.scheduler = sched;
    } else if (pcpu !== 0) {
      log.begin(LOG_ERROR);
      log.str('module ');
      log.dec(i);
      log.str(': pcpu=');
      log.str(where);
      log.str(' but only pCPU 0 runs vCPUs; VM not created');
      log.end();
      continue;
    }
    const apWhere = option(text, 'ap_pcpu');
    const apSched = apWhere === '' || table.pcpus === null ? vm.scheduler : table.pcpus.schedulerOf(parseInt(apWhere, 10));
    if (apSched === null) {
      log.begin(LOG_ERROR);
      log.str('module ');
      log.dec(i);
      log.str(': ap_pcpu=');
      log.str(apWhere);
      log.str(' is not an online pCPU; VM not created');
      log.end();
      continue;
    }
    if (!buildTestVm(vm, i, kind, name, argument, vcpus, apSched)) continue;
    log.begin(LOG_INFO);
    log.str('vm');
    log.dec(vm.vmId);
    log.str(' (');
    log.str(name);
    log.str('): ');
    log.str(KIND_NAMES[kind]);
    log.str(' test VM started');
    if (pcpu !== 0) {
      log.str(' on pCPU ');
      log.dec(pcpu);
    }
    log.end();
    started++;
  }
  connectLinks(table);
  return started;
}

/** Connect the COM2 vuarts that `link=` options name, once every test VM exists. */
function connectLinks(table: VmTable): void {
  const n = moduleCount();
  for (let i = 0; i < n; i++) {
    const text = moduleString(i);
    const peerName = option(text, 'link');
    if (peerName === '' || option(text, 'guest') === '') continue;
    const given = option(text, 'name');
    const self = table.findByName(given !== '' ? given : option(text, 'guest'));
    const peer = table.findByName(peerName);
    if (self === null || peer === null || self === peer || self.devices.vuartCount < 2 || peer.devices.vuartCount < 2) {
      log.begin(LOG_ERROR);
      log.str('module ');
      log.dec(i);
      log.str(': link=');
      log.str(peerName);
      log.str(' names no other running test VM; COM2 left unconnected');
      log.end();
      continue;
    }
    vuartConnect(self.devices.vuarts[1], peer.devices.vuarts[1]);
    log.begin(LOG_INFO);
    log.str(self.name);
    log.str(': COM2 connected to ');
    log.str(peer.name);
    log.end();
  }
}
