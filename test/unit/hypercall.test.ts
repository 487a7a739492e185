// The Service VM's hypercalls (hv/dm-hypercall): dispatch and permissions
// (#UD for other VMs, #GP(0) at CPL > 0, -ENOTTY for unknown ids and for
// missing, pre-launched or Service VM targets), every VM-management hypercall
// against every VM state (return value and resulting state, as ACRN-ABI.md
// and ACRN's hypercall.c), the general hypercalls, SET_VCPU_REGS and the
// pending register state, interrupts, the I/O request buffer, and the DM's
// lifecycle sequences. The Service VM is a fixture VM (vm-fixture.ts) with
// 4 MiB of RAM at GPA 0; it makes each hypercall through a planted VMCALL exit.
import { describe, expect, it } from 'vitest';
import {
  call, CREATE_GPA, createVm, fill, type Hc, IOREQ_PAGE_GPA, makeHc, MSI_GPA, OUT_GPA, r16, r32, r8, RAM_END, REGIONS_GPA,
  regs64, REGS_GPA, SET_REGIONS_GPA, setIoreq, type State, STATE_NUM, TWO32, vmIn, vmOf, w16, w32, w64, w8,
} from './hc-fixture';
import { PcpuTable } from '../../hv/pcpu';
import { EPT_MT_WB, EPT_R, EPT_RWX } from '../../arch/x86/ept';
import { poolPages } from '../../arch/x86/intrinsics';
import * as F from '../../arch/x86/vmcs';
import * as A from '../../hv/dm-hypercall/abi';
import { HC, hcBindVmTable, hcConfigureSlot, PENDING_NONE, PENDING_REGS, PENDING_RESET } from '../../hv/dm-hypercall/hc-state';
import { UPCALL } from '../../hv/vm/ioreq';
import { hcApplyPendingRegs, hcPendingKind } from '../../hv/dm-hypercall/hc-vcpu-regs';
import { HC_HANDLERS, HC_PERMISSION } from '../../hv/dm-hypercall/hypercall';
import { Scheduler } from '../../hv/vm/sched';
import type { Vcpu } from '../../hv/vm/vcpu';
import { VCPU_OFFLINE, VCPU_RUNNABLE } from '../../hv/vm/vcpu';
import {
  LOAD_ORDER_POST, LOAD_ORDER_PRE, VM_CREATED, VM_PAUSED, VM_POWERED_OFF, VM_RUNNING,
} from '../../hv/vm/vm';
import { SEVERITY_STANDARD_VM } from '../../hv/vm/vm-api';
import {
  addVm, fieldHi, fieldLo, load, R8, RAX, RDI, regHi, regLo, rip, RSI, runExit, setField, setReg,
} from './vm-fixture';


const UD = 6;
const GP = 13;

// ---- dispatch and permissions --------------------------------------------------------------

/** Every id of the table plus ids with other upper bits. */
const ALL_IDS: [number, number][] = [];
for (let n = 0; n < 256; n++) ALL_IDS.push([A.HC_ID_BASE + n, 0]);
ALL_IDS.push([0, 0], [0x10, 0], [0x7fffff10, 0], [0x81000010, 0], [0xffffffff, 0xffffffff], [A.HC_CREATE_VM, 1], [A.HC_GET_API_VERSION, 0x80000000]);

/** `vcpu` executes VMCALL with id idHi:idLo: the exception it gets, with RIP and RAX unchanged. */
function faultingCall(h: Hc, vcpu: Vcpu, idHi: number, idLo: number): number {
  load(h.env, vcpu);
  vcpu.exceptionVector = -1;
  setReg(h, R8, idLo, idHi, vcpu);
  setReg(h, RAX, 0x5555, 0x6666, vcpu);
  setReg(h, RDI, 1, 0, vcpu);
  setReg(h, RSI, CREATE_GPA, 0, vcpu);
  const before = rip(h.m);
  runExit(h, { reason: F.EXIT_REASON_VMCALL, instLen: 3 }, vcpu);
  expect(rip(h.m)).toBe(before);
  expect([regHi(h, RAX, vcpu), regLo(h, RAX, vcpu)]).toEqual([0x6666, 0x5555]);
  return vcpu.exceptionVector;
}

describe('who may call: #UD for every VM but the Service VM, #GP(0) at CPL > 0', () => {
  it('a pre-launched VM gets #UD for every id, RIP and RAX unchanged, no VM created', () => {
    const h = makeHc();
    const pre = addVm(h.env, { name: 'pre1' }).vm;
    for (const [id, idHi] of ALL_IDS) expect(faultingCall(h, pre.vcpus[0], idHi, id), `id ${id.toString(16)}`).toBe(UD);
    expect(h.env.vms.vms.filter((v) => v.state !== VM_POWERED_OFF).length).toBe(2);
  });

  it('a User VM (post-launched, made by CREATE_VM) gets #UD for every id', () => {
    const h = makeHc();
    const c = createVm(h, 'user');
    expect(c.rc).toBe(0);
    const user = vmOf(h, c.vmid);
    for (const [id, idHi] of ALL_IDS) expect(faultingCall(h, user.vcpus[0], idHi, id)).toBe(UD);
    expect(user.state).toBe(VM_CREATED);
  });

  it('the Service VM at CPL 1, 2 or 3 (SS.DPL) gets #GP(0) for every id, and nothing happens', () => {
    for (const dpl of [1, 2, 3]) {
      const h = makeHc();
      load(h.env, h.vcpu);
      setField(h.m, F.GUEST_SS_AR, 0, 0xc093 | (dpl << 5));
      for (const [id, idHi] of ALL_IDS) {
        expect(faultingCall(h, h.vcpu, idHi, id)).toBe(GP);
        expect(h.vcpu.exceptionError).toBe(0);
      }
      expect(h.env.vms.vms.filter((v) => v.state !== VM_POWERED_OFF).length).toBe(1);
    }
  });

  it('a pre-launched VM at CPL 3 gets #UD, not #GP (ACRN checks the VM first)', () => {
    const h = makeHc();
    const pre = addVm(h.env, { name: 'pre1' }).vm;
    load(h.env, pre.vcpus[0]);
    setField(h.m, F.GUEST_SS_AR, 0, 0xc0f3);
    expect(faultingCall(h, pre.vcpus[0], 0, A.HC_GET_API_VERSION)).toBe(UD);
  });

  it('every slot of the dispatch table is filled; only the implemented ids are permitted', () => {
    const implemented = [A.HC_GET_API_VERSION, A.HC_SERVICE_VM_OFFLINE_CPU, A.HC_SET_CALLBACK_VECTOR, A.HC_CREATE_VM, A.HC_DESTROY_VM,
      A.HC_START_VM, A.HC_PAUSE_VM, A.HC_CREATE_VCPU, A.HC_RESET_VM, A.HC_SET_VCPU_REGS, A.HC_INJECT_MSI, A.HC_SET_IRQLINE,
      A.HC_SET_IOREQ_BUFFER, A.HC_NOTIFY_REQUEST_FINISH, A.HC_VM_GPA2HPA, A.HC_VM_SET_MEMORY_REGIONS, A.HC_GET_HW_INFO, A.HC_PM_GET_CPU_STATE].map((id) => id - A.HC_ID_BASE);
    expect(HC_HANDLERS.length).toBe(256);
    for (let n = 0; n < 256; n++) {
      expect(typeof HC_HANDLERS[n]).toBe('function');
      expect(HC_PERMISSION[n], `slot ${n}`).toBe(implemented.includes(n) ? 1 : 0);
    }
  });
});

describe('the Service VM: unknown ids and missing targets answer -ENOTTY', () => {
  it('every id outside the implemented set, and ids with other upper bits, answer -ENOTTY (RIP advanced)', () => {
    const h = makeHc();
    const known = new Set([A.HC_GET_API_VERSION, A.HC_SERVICE_VM_OFFLINE_CPU, A.HC_SET_CALLBACK_VECTOR, A.HC_CREATE_VM, A.HC_DESTROY_VM,
      A.HC_START_VM, A.HC_PAUSE_VM, A.HC_CREATE_VCPU, A.HC_RESET_VM, A.HC_SET_VCPU_REGS, A.HC_INJECT_MSI, A.HC_SET_IRQLINE,
      A.HC_SET_IOREQ_BUFFER, A.HC_NOTIFY_REQUEST_FINISH, A.HC_VM_GPA2HPA, A.HC_VM_SET_MEMORY_REGIONS, A.HC_GET_HW_INFO, A.HC_PM_GET_CPU_STATE]);
    for (const [id, idHi] of ALL_IDS) {
      if (idHi === 0 && known.has(id)) continue;
      expect(call(h, id, 1, OUT_GPA, idHi), `id ${idHi.toString(16)}:${id.toString(16)}`).toBe(-A.ENOTTY);
    }
    // the ids ACRN has that are not implemented yet
    for (const id of [A.HC_VM_INTR_MONITOR, A.HC_VM_WRITE_PROTECT_PAGE, A.HC_ASSIGN_PCIDEV, A.HC_ADD_VDEV]) {
      expect(call(h, id, 1, 0)).toBe(-A.ENOTTY);
    }
    expect(h.env.vms.vms.filter((v) => v.state !== VM_POWERED_OFF).length).toBe(1);
  });

  it('before the VM table is bound every hypercall answers -ENOTTY', () => {
    const h = makeHc();
    hcBindVmTable(null);
    expect(call(h, A.HC_GET_API_VERSION, OUT_GPA)).toBe(-A.ENOTTY);
    expect(call(h, A.HC_CREATE_VM, CREATE_GPA)).toBe(-A.ENOTTY);
  });

  const PER_VM = [A.HC_DESTROY_VM, A.HC_START_VM, A.HC_PAUSE_VM, A.HC_CREATE_VCPU, A.HC_RESET_VM, A.HC_SET_VCPU_REGS, A.HC_INJECT_MSI,
    A.HC_SET_IRQLINE, A.HC_SET_IOREQ_BUFFER, A.HC_NOTIFY_REQUEST_FINISH, A.HC_VM_GPA2HPA];

  it('a relative id past the table, the Service VM itself (0), or a pre-launched VM: -ENOTTY, nothing changes', () => {
    const h = makeHc();
    const pre = addVm(h.env, { name: 'pre1' }).vm; // slot 1, relative id 1: pre-launched
    expect(pre.loadOrder).toBe(LOAD_ORDER_PRE);
    for (const id of PER_VM) {
      for (const rel of [0, 1, 8, 0xffff, 0x12340000 + 1]) expect(call(h, id, rel, REGS_GPA), `${id.toString(16)} rel ${rel}`).toBe(-A.ENOTTY);
    }
    expect(pre.state).toBe(VM_RUNNING);
    expect(h.svc.state).toBe(VM_RUNNING);
    // relative id 7 is an empty post-launched slot: it exists, the guards answer
    expect(call(h, A.HC_DESTROY_VM, 7)).toBe(-1);
    expect(call(h, A.HC_CREATE_VCPU, 7)).toBe(0);
    // PM_GET_CPU_STATE takes its id from bits 31:24, VM_SET_MEMORY_REGIONS from its structure
    expect(call(h, A.HC_PM_GET_CPU_STATE, (1 << 24) | A.PMCMD_GET_CX_CNT, OUT_GPA)).toBe(-A.ENOTTY);
    expect(call(h, A.HC_PM_GET_CPU_STATE, A.PMCMD_GET_CX_CNT, OUT_GPA)).toBe(-A.ENOTTY);
    fill(h, SET_REGIONS_GPA, 24);
    w16(h, SET_REGIONS_GPA, 1);
    w32(h, SET_REGIONS_GPA + 8, 1);
    expect(call(h, A.HC_VM_SET_MEMORY_REGIONS, SET_REGIONS_GPA)).toBe(-A.ENOTTY);
  });

  it('VM ids are relative to the Service VM: with the Service VM in slot 1, slot 2 is relative id 1', () => {
    const h = makeHc({ preFirst: true });
    expect(h.svc.vmId).toBe(1);
    const c = createVm(h, 'uos');
    expect([c.rc, c.vmid]).toEqual([0, 1]);
    expect(h.env.vms.vms[2].state).toBe(VM_CREATED);
    expect(h.env.vms.vms[2].name).toBe('post-vm2');
    expect(call(h, A.HC_PAUSE_VM, 1)).toBe(0);
    expect(h.env.vms.vms[2].state).toBe(VM_PAUSED);
    // 0xFFFF is slot 0: the pre-launched VM
    expect(call(h, A.HC_PAUSE_VM, 0xffff)).toBe(-A.ENOTTY);
    expect(h.env.vms.vms[0].state).toBe(VM_RUNNING);
    expect(call(h, A.HC_DESTROY_VM, 1)).toBe(0);
  });
});

// ---- every VM hypercall against every state ------------------------------------------------

type Op = 'destroy' | 'start' | 'start-no-ioreq' | 'pause' | 'reset' | 'create-vcpu' | 'set-regs' | 'irqline' | 'msi' | 'ioreq'
  | 'regions' | 'gpa2hpa' | 'pm-cx-cnt' | 'create';

function runOp(h: Hc, op: Op, rel: number, rt: boolean): number {
  // (rt picks the name CREATE_VM uses)
  switch (op) {
    case 'destroy': return call(h, A.HC_DESTROY_VM, rel);
    case 'start':
      setIoreq(h, rel); // -1 except when CREATED
      return call(h, A.HC_START_VM, rel);
    case 'start-no-ioreq':
      vmOf(h, rel).ioreqBufferSet = false;
      return call(h, A.HC_START_VM, rel);
    case 'pause': return call(h, A.HC_PAUSE_VM, rel);
    case 'reset': return call(h, A.HC_RESET_VM, rel);
    case 'create-vcpu': return call(h, A.HC_CREATE_VCPU, rel);
    case 'set-regs':
      regs64(h);
      return call(h, A.HC_SET_VCPU_REGS, rel, REGS_GPA);
    case 'irqline': return call(h, A.HC_SET_IRQLINE, rel, 4, 0, 0, A.GSI_SET_HIGH);
    case 'msi':
      w64(h, MSI_GPA, 0xfee00000);
      w64(h, MSI_GPA + 8, 0x30);
      return call(h, A.HC_INJECT_MSI, rel, MSI_GPA);
    case 'ioreq': return setIoreq(h, rel);
    case 'regions':
      fill(h, SET_REGIONS_GPA, 24);
      w16(h, SET_REGIONS_GPA, rel);
      w32(h, SET_REGIONS_GPA + 8, 1);
      w64(h, SET_REGIONS_GPA + 16, REGIONS_GPA);
      fill(h, REGIONS_GPA, 32);
      w32(h, REGIONS_GPA + A.MEM_REGION_PROT, A.MEM_ACCESS_RWX | A.MEM_TYPE_WB);
      w64(h, REGIONS_GPA + A.MEM_REGION_GPA, 0x100000);
      w64(h, REGIONS_GPA + A.MEM_REGION_SERVICE_VM_GPA, 0x380000);
      w64(h, REGIONS_GPA + A.MEM_REGION_SIZE_FIELD, 0x10000);
      return call(h, A.HC_VM_SET_MEMORY_REGIONS, SET_REGIONS_GPA);
    case 'gpa2hpa':
      w64(h, OUT_GPA, 0xfee00000);
      return call(h, A.HC_VM_GPA2HPA, rel, OUT_GPA);
    case 'pm-cx-cnt':
      w8(h, OUT_GPA, 0x77);
      return call(h, A.HC_PM_GET_CPU_STATE, (rel << 24) | A.PMCMD_GET_CX_CNT, OUT_GPA);
    case 'create': return createVm(h, rt ? 'rtvm' : 'std').rc;
  }
}

// [op, state, standard VM: [rc, state after], real-time VM: [rc, state after]] (ACRN-ABI.md, hypercall.c)
const S = (s: State): number => STATE_NUM[s];
const TABLE: [Op, State, [number, number], [number, number]][] = [
  ['destroy', 'off', [-1, S('off')], [-1, S('off')]], ['destroy', 'created', [-1, S('created')], [-1, S('created')]],
  ['destroy', 'running', [-1, S('running')], [-1, S('running')]], ['destroy', 'paused', [0, S('off')], [0, S('off')]],
  ['destroy', 'ready', [-1, S('ready')], [-1, S('ready')]],
  ['start', 'off', [-1, S('off')], [-1, S('off')]], ['start', 'created', [0, S('running')], [0, S('running')]],
  ['start', 'running', [-1, S('running')], [-1, S('running')]], ['start', 'paused', [-1, S('paused')], [-1, S('paused')]],
  ['start', 'ready', [-1, S('ready')], [-1, S('ready')]],
  ['start-no-ioreq', 'created', [-1, S('created')], [-1, S('created')]],
  ['pause', 'off', [-1, S('off')], [-1, S('off')]], ['pause', 'created', [0, S('paused')], [0, S('paused')]],
  ['pause', 'running', [0, S('paused')], [0, S('running')]], ['pause', 'paused', [0, S('paused')], [0, S('paused')]],
  ['pause', 'ready', [0, S('paused')], [0, S('paused')]],
  ['reset', 'off', [-1, S('off')], [-1, S('off')]], ['reset', 'created', [-1, S('created')], [-1, S('created')]],
  ['reset', 'running', [-1, S('running')], [-1, S('running')]], ['reset', 'paused', [0, S('created')], [0, S('created')]],
  ['reset', 'ready', [-1, S('ready')], [-1, S('ready')]],
  ['create-vcpu', 'off', [0, S('off')], [0, S('off')]], ['create-vcpu', 'created', [0, S('created')], [0, S('created')]],
  ['create-vcpu', 'running', [0, S('running')], [0, S('running')]], ['create-vcpu', 'paused', [0, S('paused')], [0, S('paused')]],
  ['create-vcpu', 'ready', [0, S('ready')], [0, S('ready')]],
  ['set-regs', 'off', [-1, S('off')], [-1, S('off')]], ['set-regs', 'created', [0, S('created')], [0, S('created')]],
  ['set-regs', 'running', [-1, S('running')], [-1, S('running')]], ['set-regs', 'paused', [0, S('paused')], [0, S('paused')]],
  ['set-regs', 'ready', [0, S('ready')], [0, S('ready')]],
  ['irqline', 'off', [-1, S('off')], [-1, S('off')]], ['irqline', 'created', [0, S('created')], [-1, S('created')]],
  ['irqline', 'running', [0, S('running')], [-1, S('running')]], ['irqline', 'paused', [0, S('paused')], [-1, S('paused')]],
  ['irqline', 'ready', [0, S('ready')], [-1, S('ready')]],
  ['msi', 'off', [-1, S('off')], [-1, S('off')]], ['msi', 'created', [0, S('created')], [-1, S('created')]],
  ['msi', 'running', [0, S('running')], [-1, S('running')]], ['msi', 'paused', [0, S('paused')], [-1, S('paused')]],
  ['msi', 'ready', [0, S('ready')], [-1, S('ready')]],
  ['ioreq', 'off', [-1, S('off')], [-1, S('off')]], ['ioreq', 'created', [0, S('created')], [0, S('created')]],
  ['ioreq', 'running', [-1, S('running')], [-1, S('running')]], ['ioreq', 'paused', [-1, S('paused')], [-1, S('paused')]],
  ['ioreq', 'ready', [-1, S('ready')], [-1, S('ready')]],
  ['regions', 'off', [-1, S('off')], [-1, S('off')]], ['regions', 'created', [0, S('created')], [0, S('created')]],
  ['regions', 'running', [0, S('running')], [-1, S('running')]], ['regions', 'paused', [0, S('paused')], [0, S('paused')]],
  ['regions', 'ready', [0, S('ready')], [0, S('ready')]],
  ['gpa2hpa', 'off', [-1, S('off')], [-1, S('off')]], ['gpa2hpa', 'created', [-1, S('created')], [-1, S('created')]],
  ['pm-cx-cnt', 'off', [-1, S('off')], [-1, S('off')]], ['pm-cx-cnt', 'created', [0, S('created')], [0, S('created')]],
  ['pm-cx-cnt', 'running', [-1, S('running')], [-1, S('running')]], ['pm-cx-cnt', 'paused', [0, S('paused')], [0, S('paused')]],
  ['pm-cx-cnt', 'ready', [-1, S('ready')], [-1, S('ready')]],
  ['create', 'off', [0, S('created')], [0, S('created')]], ['create', 'created', [-1, S('created')], [-1, S('created')]],
  ['create', 'running', [-1, S('running')], [-1, S('running')]], ['create', 'paused', [-1, S('paused')], [-1, S('paused')]],
  ['create', 'ready', [-1, S('ready')], [-1, S('ready')]],
];

describe('every VM hypercall against every VM state (return value, resulting state)', () => {
  for (const [op, state, std, rtv] of TABLE) {
    for (const rt of [false, true]) {
      if (state === 'ready' && !rt) continue; // READY_TO_POWEROFF: real-time VMs only
      const [rc, after] = rt ? rtv : std;
      it(`${rt ? 'real-time' : 'standard'} VM ${state}: ${op} answers ${rc}, leaves ${after}`, () => {
        const h = makeHc();
        const { vm, rel } = vmIn(h, state, rt);
        expect(runOp(h, op, rel, rt)).toBe(rc);
        expect(vm.state).toBe(after);
        expect(h.svc.state).toBe(VM_RUNNING);
      });
    }
  }
});

// ---- CREATE_VM -----------------------------------------------------------------------------

describe('CREATE_VM', () => {
  it('a dynamic slot: the lowest free one above the Service VM, its relative id and vCPU count written back', () => {
    const h = makeHc();
    const a = createVm(h, 'first');
    const b = createVm(h, '');
    expect([a.rc, a.vmid, a.vcpus, b.rc, b.vmid, b.vcpus]).toEqual([0, 1, 1, 0, 2, 1]);
    expect(vmOf(h, 1).loadOrder).toBe(LOAD_ORDER_POST);
    expect(vmOf(h, 1).name).toBe('post-vm1');
    expect(r16(h, CREATE_GPA + A.VM_CREATION_RESERVED0)).toBe(0); // the rest of the structure comes back as it was
  });

  it('a configured slot by name; cpu_affinity 0 takes the slot\'s pCPUs, a subset fewer, others are refused', () => {
    const h = makeHc();
    expect(hcConfigureSlot(3, 'big', LOAD_ORDER_POST, SEVERITY_STANDARD_VM, 0x7, 0)).toBe(true);
    const a = createVm(h, 'big');
    expect([a.rc, a.vmid, a.vcpus]).toEqual([0, 3, 3]);
    expect(vmOf(h, 3).name).toBe('big');
    expect(call(h, A.HC_PAUSE_VM, 3)).toBe(0);
    expect(call(h, A.HC_DESTROY_VM, 3)).toBe(0);
    const b = createVm(h, 'big', 0x5);
    expect([b.rc, b.vmid, b.vcpus]).toEqual([0, 3, 2]);
    call(h, A.HC_PAUSE_VM, 3);
    call(h, A.HC_DESTROY_VM, 3);
    const c = createVm(h, 'big', 0x9); // pCPU 3 is not the slot's
    expect([c.rc, c.vmid]).toEqual([-1, 0x5a5a]);
    expect(vmOf(h, 3).state).toBe(VM_POWERED_OFF);
    // a dynamic create never takes the configured slot
    expect(createVm(h, 'x').vmid).toBe(1);
    expect(createVm(h, 'y').vmid).toBe(2);
    expect(createVm(h, 'z').vmid).toBe(4);
  });

  it('with a pCPU table: vCPU i on the i-th pCPU of the affinity, VMCLEARed here when it runs elsewhere; an offline pCPU refuses', () => {
    const h = makeHc();
    const table = new PcpuTable(3, 0);
    table.state[1] = 1; // pCPU 2 stays offline
    h.env.vms.pcpus = table;
    h.vcpu.sched = table.scheds[0];
    h.svc.scheduler = table.scheds[0];
    expect(hcConfigureSlot(3, 'wide', LOAD_ORDER_POST, SEVERITY_STANDARD_VM, 0x7, 0)).toBe(true);
    const cleared: number[] = [];
    const clear = h.m.vmclear.bind(h.m);
    h.m.vmclear = (pa: number) => {
      cleared.push(pa);
      return clear(pa);
    };
    const a = createVm(h, 'wide', 0x3);
    expect([a.rc, a.vmid, a.vcpus]).toEqual([0, 3, 2]);
    const vm = vmOf(h, 3);
    expect([vm.vcpus[0].sched.pcpu, vm.vcpus[1].sched.pcpu, vm.scheduler.pcpu]).toEqual([0, 1, 0]);
    expect(cleared[cleared.length - 1]).toBe(vm.vcpus[1].vmcsPa); // active here after setup: cleared for pCPU 1
    expect(table.scheds[1].loadedVmcs).toBe(0);
    expect(call(h, A.HC_PAUSE_VM, 3)).toBe(0);
    const vmcs0 = vm.vcpus[0].vmcsPa;
    const vmcs1 = vm.vcpus[1].vmcsPa;
    cleared.length = 0;
    h.m.cpusOnline[1] = true; // the simulated pCPU 1 takes IPIs
    expect(call(h, A.HC_DESTROY_VM, 3)).toBe(0);
    expect(table.scheds[1].assignedCount).toBe(0);
    // vCPU 0's VMCS (this pCPU's) is cleared and freed; vCPU 1's may be active on pCPU 1: handed to it, kicked
    expect(cleared).toEqual([vmcs0]);
    expect([table.scheds[1].retiredCount, table.scheds[1].retired[0]]).toEqual([1, vmcs1]);
    expect(h.m.kicks).toContain(1); // pCPU 1 kicked to reclaim it
    const pool = poolPages(0);
    h.m.currentCpu = 1; // pCPU 1's loop, at its next turn
    table.scheds[1].reclaim();
    h.m.currentCpu = 0;
    expect([cleared, table.scheds[1].retiredCount, poolPages(0)]).toEqual([[vmcs0, vmcs1], 0, pool + 1]);
    const b = createVm(h, 'wide', 0x5); // pCPU 2 is not online
    expect([b.rc, b.vmid]).toEqual([-1, 0x5a5a]);
    expect(vmOf(h, 3).state).toBe(VM_POWERED_OFF);
  });

  it('names: a second CREATE_VM with a running VM\'s name is -1 and writes nothing; Service VM / pre-launched names -ENOTTY', () => {
    const h = makeHc();
    const a = createVm(h, 'dup');
    expect([a.rc, a.vmid]).toEqual([0, 1]);
    const b = createVm(h, 'dup');
    expect([b.rc, b.vmid]).toEqual([-1, 0x5a5a]);
    expect(createVm(h, 'sos').rc).toBe(-A.ENOTTY);
    addVm(h.env, { name: 'pre2' });
    expect(createVm(h, 'pre2').rc).toBe(-A.ENOTTY);
    expect(hcConfigureSlot(5, 'prex', LOAD_ORDER_PRE, SEVERITY_STANDARD_VM, 1, 0)).toBe(true);
    expect(createVm(h, 'prex').rc).toBe(-A.ENOTTY);
    expect(vmOf(h, 5).state).toBe(VM_POWERED_OFF);
    // a 16-byte name without NUL matches a 16-character configured name
    expect(hcConfigureSlot(6, 'abcdefghijklmnop', LOAD_ORDER_POST, SEVERITY_STANDARD_VM, 1, 0)).toBe(true);
    expect(createVm(h, 'abcdefghijklmnop').vmid).toBe(6);
  });

  it('no free slot: -ENOTTY; createVm failing (too many vCPUs, pool exhausted): 0 with vmid 0xFFFF, slot stays off', () => {
    const h = makeHc({ poolPages: 256 });
    expect(hcConfigureSlot(1, 'five', LOAD_ORDER_POST, SEVERITY_STANDARD_VM, 0x1f, 0)).toBe(true);
    const a = createVm(h, 'five');
    expect([a.rc, a.vmid]).toEqual([0, 0xffff]);
    expect(vmOf(h, 1).state).toBe(VM_POWERED_OFF);
    const hog: number[] = [];
    while (poolPages(0) > 3) hog.push(h.m.pageAlloc());
    const before = poolPages(0);
    const b = createVm(h, 'starved');
    expect([b.rc, b.vmid]).toEqual([0, 0xffff]);
    expect(poolPages(0)).toBe(before);
    for (const pa of hog) h.m.pageFree(pa);
    for (let i = 0; i < 6; i++) expect(createVm(h, `vm${i}`).rc).toBe(0);
    expect(createVm(h, 'more').rc).toBe(-A.ENOTTY);
  });

  it('the structure unreadable (past RAM, across its end, above 2^52) or not writable: -1, no VM', () => {
    const h = makeHc();
    for (const gpa of [RAM_END, RAM_END - 8, 0x7fffffff000]) expect(call(h, A.HC_CREATE_VM, gpa)).toBe(-1);
    expect(call(h, A.HC_CREATE_VM, 0, 0, 0, 0x100000)).toBe(-1);
    expect(call(h, A.HC_CREATE_VM, 0, 0, 0, 0xffffffff)).toBe(-1);
    fill(h, 0x3ff000, 48);
    expect(h.svc.ept.modify(0x3ff000, 0x1000, EPT_R, EPT_MT_WB)).toBe(0);
    expect(call(h, A.HC_CREATE_VM, 0x3ff000)).toBe(-1);
    expect(h.env.vms.vms.filter((v) => v.state !== VM_POWERED_OFF).length).toBe(1);
  });

  it('vm_flag with LAPIC pass-through or a secure world is refused (-1); RT and polling are kept', () => {
    const h = makeHc();
    expect(createVm(h, 'a', 0, A.GUEST_FLAG_LAPIC_PASSTHROUGH | A.GUEST_FLAG_RT).rc).toBe(-1);
    expect(createVm(h, 'b', 0, A.GUEST_FLAG_SECURE_WORLD_ENABLED).rc).toBe(-1);
    const c = createVm(h, 'c', 0, A.GUEST_FLAG_RT | A.GUEST_FLAG_IO_COMPLETION_POLLING);
    expect(c.rc).toBe(0);
    expect(HC.vmFlagLo[1]).toBe(A.GUEST_FLAG_RT | A.GUEST_FLAG_IO_COMPLETION_POLLING);
  });

  it('CREATE_VM leaves the power-up state pending for the BSP; the caller\'s VMCS is current afterwards', () => {
    const h = makeHc();
    createVm(h, 'x');
    const vm = vmOf(h, 1);
    expect(hcPendingKind(vm.vcpus[0])).toBe(PENDING_RESET);
    load(h.env, vm.vcpus[0]);
    expect(hcApplyPendingRegs(vm.vcpus[0])).toBe(true);
    expect(fieldLo(h.m, F.GUEST_RIP)).toBe(0xfff0);
    expect(fieldLo(h.m, F.GUEST_CS_BASE)).toBe(0xffff0000);
    expect(fieldLo(h.m, F.GUEST_CS_SELECTOR)).toBe(0xf000);
    expect(hcPendingKind(vm.vcpus[0])).toBe(PENDING_NONE);
  });

  it('a User VM placed on another pCPU: CREATE_VM and RESET_VM leave its VMCSs VMCLEARed here, and that pCPU reloads', () => {
    const h = makeHc();
    const other = new Scheduler(1);
    h.env.vms.vms[1].scheduler = other;
    const ops: [string, number][] = [];
    const m = h.m;
    const clear = m.vmclear.bind(m);
    const ptrld = m.vmptrld.bind(m);
    m.vmclear = (pa: number) => {
      ops.push(['clear', pa]);
      return clear(pa);
    };
    m.vmptrld = (pa: number) => {
      ops.push(['load', pa]);
      return ptrld(pa);
    };
    const lastOp = (pa: number) => ops.filter(([, p]) => p === pa).map(([o]) => o).pop();
    expect(createVm(h, 'far', 0).rc).toBe(0);
    const vm = vmOf(h, 1);
    expect(lastOp(vm.vcpus[0].vmcsPa)).toBe('clear');
    expect(other.loadedVmcs).toBe(0);
    expect(call(h, A.HC_PAUSE_VM, 1)).toBe(0);
    other.loadedVmcs = vm.vcpus[0].vmcsPa;
    expect(call(h, A.HC_RESET_VM, 1)).toBe(0);
    expect(lastOp(vm.vcpus[0].vmcsPa)).toBe('clear');
    expect(other.loadedVmcs).toBe(0);
    expect(lastOp(h.vcpu.vmcsPa)).toBe('load');
  });

  it('1,000 create / destroy cycles through the hypercalls give every pool page back', () => {
    const h = makeHc();
    const before = poolPages(0);
    for (let i = 0; i < 1000; i++) {
      const c = createVm(h, 'cycle');
      expect(c.rc).toBe(0);
      expect(setIoreq(h, c.vmid)).toBe(0);
      expect(call(h, A.HC_START_VM, c.vmid)).toBe(0);
      expect(call(h, A.HC_PAUSE_VM, c.vmid)).toBe(0);
      expect(call(h, A.HC_DESTROY_VM, c.vmid)).toBe(0);
    }
    expect(poolPages(0)).toBe(before);
  });
});

// ---- the DM's lifecycle sequences ----------------------------------------------------------

describe('the DM\'s lifecycle sequences (ACRN-ABI.md)', () => {
  it('create, ioreq, regions, regs, start; pause; resume = pause, reset, set regs, start; reset; stop = pause, destroy', () => {
    const h = makeHc();
    const { vm, rel } = vmIn(h, 'created');
    expect(setIoreq(h, rel)).toBe(0);
    expect(runOp(h, 'regions', rel, false)).toBe(0);
    regs64(h);
    expect(call(h, A.HC_SET_VCPU_REGS, rel, REGS_GPA)).toBe(0);
    expect(call(h, A.HC_START_VM, rel)).toBe(0);
    expect([vm.state, vm.vcpus[0].state]).toEqual([VM_RUNNING, VCPU_RUNNABLE]);
    expect(call(h, A.HC_PAUSE_VM, rel)).toBe(0); // pause
    expect(vm.state).toBe(VM_PAUSED);
    expect(call(h, A.HC_PAUSE_VM, rel)).toBe(0); // resume
    expect(call(h, A.HC_RESET_VM, rel)).toBe(0);
    expect(hcPendingKind(vm.vcpus[0])).toBe(PENDING_RESET);
    expect(call(h, A.HC_SET_VCPU_REGS, rel, REGS_GPA)).toBe(0);
    expect(hcPendingKind(vm.vcpus[0])).toBe(PENDING_REGS);
    expect(call(h, A.HC_START_VM, rel)).toBe(0); // the I/O request buffer survives the reset
    expect(vm.state).toBe(VM_RUNNING);
    expect(call(h, A.HC_PAUSE_VM, rel)).toBe(0); // reset
    expect(call(h, A.HC_RESET_VM, rel)).toBe(0);
    expect(vm.state).toBe(VM_CREATED);
    expect(call(h, A.HC_PAUSE_VM, rel)).toBe(0); // stop
    expect(call(h, A.HC_DESTROY_VM, rel)).toBe(0);
    expect(vm.state).toBe(VM_POWERED_OFF);
    expect([vm.vcpus[0].state, vm.ioreqBufferSet, hcPendingKind(vm.vcpus[0])]).toEqual([VCPU_OFFLINE, false, PENDING_NONE]);
    expect(h.m.currentVmcs).toBe(h.vcpu.vmcsPa);
  });
});

// ---- SET_VCPU_REGS and the pending state ----------------------------------------------------

describe('SET_VCPU_REGS', () => {
  it('a 64-bit state is kept and written at the vCPU\'s next entry, exactly (ACRN set_vcpu_regs)', () => {
    const h = makeHc();
    const { vm, rel } = vmIn(h, 'created');
    regs64(h);
    expect(call(h, A.HC_SET_VCPU_REGS, rel, REGS_GPA)).toBe(0);
    const v = vm.vcpus[0];
    expect(hcPendingKind(v)).toBe(PENDING_REGS);
    // the guest's copy may change now: the hypervisor's copy is what counts
    fill(h, REGS_GPA, A.VCPU_REGS_SIZE, 0xee);
    load(h.env, v);
    expect(hcApplyPendingRegs(v)).toBe(true);
    const m = h.m;
    expect([fieldHi(m, F.GUEST_RIP), fieldLo(m, F.GUEST_RIP)]).toEqual([0, 0x100200]);
    expect(fieldLo(m, F.GUEST_RSP)).toBe(0x1000 * 5 + 4);
    expect(fieldLo(m, F.GUEST_RFLAGS)).toBe(0x202);
    expect(fieldLo(m, F.CR0_READ_SHADOW)).toBe(0x80050033);
    expect((fieldLo(m, F.GUEST_CR0) & 0x80050033) >>> 0).toBe(0x80050033);
    expect(fieldLo(m, F.CR4_READ_SHADOW)).toBe(0x20);
    expect(fieldLo(m, F.GUEST_CR3)).toBe(0x7000);
    expect(fieldLo(m, F.GUEST_IA32_EFER)).toBe(0x500);
    expect(fieldLo(m, F.VM_ENTRY_CONTROLS) & F.ENTRY_IA32E_MODE_GUEST).toBe(F.ENTRY_IA32E_MODE_GUEST);
    expect([fieldLo(m, F.GUEST_CS_SELECTOR), fieldLo(m, F.GUEST_CS_AR), fieldLo(m, F.GUEST_CS_LIMIT), fieldLo(m, F.GUEST_CS_BASE)]).toEqual([0x10, 0xa09b, 0xffffffff, 0]);
    for (const [sel, ar, lim] of [[F.GUEST_SS_SELECTOR, F.GUEST_SS_AR, F.GUEST_SS_LIMIT], [F.GUEST_DS_SELECTOR, F.GUEST_DS_AR, F.GUEST_DS_LIMIT],
      [F.GUEST_ES_SELECTOR, F.GUEST_ES_AR, F.GUEST_ES_LIMIT], [F.GUEST_FS_SELECTOR, F.GUEST_FS_AR, F.GUEST_FS_LIMIT], [F.GUEST_GS_SELECTOR, F.GUEST_GS_AR, F.GUEST_GS_LIMIT]]) {
      expect([fieldLo(m, sel), fieldLo(m, ar), fieldLo(m, lim)]).toEqual([0x18, 0xc093, 0xffffffff]);
    }
    expect([fieldLo(m, F.GUEST_LDTR_SELECTOR), fieldLo(m, F.GUEST_LDTR_AR), fieldLo(m, F.GUEST_LDTR_LIMIT)]).toEqual([0x28, 0x82, 0xffff]);
    expect([fieldLo(m, F.GUEST_TR_SELECTOR), fieldLo(m, F.GUEST_TR_AR), fieldLo(m, F.GUEST_TR_LIMIT)]).toEqual([0x30, 0x8b, 0xffff]);
    expect([fieldLo(m, F.GUEST_GDTR_BASE), fieldLo(m, F.GUEST_GDTR_LIMIT), fieldLo(m, F.GUEST_IDTR_BASE), fieldLo(m, F.GUEST_IDTR_LIMIT)]).toEqual([0x5000, 0x27, 0x6000, 0xfff]);
    const f = { m, vcpu: v };
    expect([regHi(f, RAX), regLo(f, RAX)]).toEqual([0, 0x1000]);
    const rsi = 0x12345678 * 4096 + 0x9abc;
    expect([regHi(f, RSI), regLo(f, RSI)]).toEqual([Math.floor(rsi / TWO32), rsi % TWO32]);
    expect(regLo(f, 15)).toBe(0x1000 * 16 + 15);
    expect(hcPendingKind(v)).toBe(PENDING_NONE);
    expect(hcApplyPendingRegs(v)).toBe(true); // nothing pending: nothing written
    expect(fieldLo(m, F.GUEST_RIP)).toBe(0x100200);
  });

  it('a real-mode state: flat 64 KiB data segments with access rights 0x93; RFLAGS 0 becomes 2', () => {
    const h = makeHc();
    const { vm, rel } = vmIn(h, 'paused');
    regs64(h);
    const r = REGS_GPA + A.VCPU_REGS_REGS;
    w64(h, r + A.REGS_CR0, 0x30);
    w64(h, r + A.REGS_CR4, 0);
    w64(h, r + A.REGS_IA32_EFER, 0);
    w64(h, r + A.REGS_RFLAGS, 0);
    w32(h, r + A.REGS_CS_AR, 0x9b);
    w32(h, r + A.REGS_CS_LIMIT, 0xffff);
    w64(h, r + A.REGS_CS_BASE, 0xf0000);
    expect(call(h, A.HC_SET_VCPU_REGS, rel, REGS_GPA)).toBe(0);
    load(h.env, vm.vcpus[0]);
    expect(hcApplyPendingRegs(vm.vcpus[0])).toBe(true);
    expect([fieldLo(h.m, F.GUEST_DS_LIMIT), fieldLo(h.m, F.GUEST_DS_AR), fieldLo(h.m, F.GUEST_CS_BASE), fieldLo(h.m, F.GUEST_RFLAGS)]).toEqual([0xffff, 0x93, 0xf0000, 2]);
    expect(fieldLo(h.m, F.VM_ENTRY_CONTROLS) & F.ENTRY_IA32E_MODE_GUEST).toBe(0);
  });

  it('refused (-1, nothing pending): bad vcpu_id, an offline vCPU, invalid CR0/CR4/EFER, param2 0, an unreadable pointer', () => {
    const h = makeHc();
    const { vm, rel } = vmIn(h, 'created');
    const r = REGS_GPA + A.VCPU_REGS_REGS;
    const bad: [string, () => void][] = [
      ['vcpu_id 4', () => w16(h, REGS_GPA, 4)], ['vcpu_id 0xffff', () => w16(h, REGS_GPA, 0xffff)], ['vcpu 1 offline', () => w16(h, REGS_GPA, 1)],
      ['CR0 PG without PE', () => w64(h, r + A.REGS_CR0, 0x80000030)], ['CR0 reserved bit 6', () => w64(h, r + A.REGS_CR0, 0x80050073)],
      ['CR0 bits 63:32', () => w64(h, r + A.REGS_CR0, 0x100000000 + 0x80050033)], ['CR0 NW without CD', () => w64(h, r + A.REGS_CR0, 0xa0050033)],
      ['CR4 VMXE', () => w64(h, r + A.REGS_CR4, 0x2020)], ['CR4 bit 31', () => w64(h, r + A.REGS_CR4, 0x80000020)],
      ['EFER reserved bit', () => w64(h, r + A.REGS_IA32_EFER, 0x502)], ['EFER LMA without LME', () => w64(h, r + A.REGS_IA32_EFER, 0x400)],
      ['PG and LME without LMA', () => w64(h, r + A.REGS_IA32_EFER, 0x100)], ['LMA without PAE', () => w64(h, r + A.REGS_CR4, 0)],
      ['CR3 above 2^52', () => w64(h, r + A.REGS_CR3, 2 ** 52)],
    ];
    for (const [what, spoil] of bad) {
      regs64(h);
      spoil();
      expect(call(h, A.HC_SET_VCPU_REGS, rel, REGS_GPA), what).toBe(-1);
    }
    regs64(h);
    expect(call(h, A.HC_SET_VCPU_REGS, rel, 0)).toBe(-1);
    expect(call(h, A.HC_SET_VCPU_REGS, rel, RAM_END - 100)).toBe(-1);
    expect(call(h, A.HC_SET_VCPU_REGS, rel, 0, 0, 0, 0x200000)).toBe(-1);
    expect(hcPendingKind(vm.vcpus[0])).toBe(PENDING_RESET);
    expect(hcPendingKind(vm.vcpus[1])).toBe(PENDING_NONE);
  });

  it('RESET_VM replaces pending registers with the power-up state; a VMWRITE failure is reported', () => {
    const h = makeHc();
    const { vm, rel } = vmIn(h, 'paused');
    regs64(h);
    expect(call(h, A.HC_SET_VCPU_REGS, rel, REGS_GPA)).toBe(0);
    expect(call(h, A.HC_RESET_VM, rel)).toBe(0);
    expect(hcPendingKind(vm.vcpus[0])).toBe(PENDING_RESET);
    h.m.currentVmcs = 0; // no current VMCS: the writes fail
    expect(hcApplyPendingRegs(vm.vcpus[0])).toBe(false);
  });
});

// ---- general hypercalls --------------------------------------------------------------------

describe('GET_API_VERSION, GET_HW_INFO, SET_CALLBACK_VECTOR, SERVICE_VM_OFFLINE_CPU, PM_GET_CPU_STATE', () => {
  it('GET_API_VERSION writes {1, 0}; a pointer that is not writable RAM: -EINVAL', () => {
    const h = makeHc();
    fill(h, OUT_GPA, 8, 0xff);
    expect(call(h, A.HC_GET_API_VERSION, OUT_GPA)).toBe(0);
    expect([r32(h, OUT_GPA), r32(h, OUT_GPA + 4)]).toEqual([1, 0]);
    for (const gpa of [RAM_END, RAM_END - 4, 2 ** 40]) expect(call(h, A.HC_GET_API_VERSION, gpa)).toBe(-A.EINVAL);
    expect(call(h, A.HC_GET_API_VERSION, 0, 0, 0, 0x100000)).toBe(-A.EINVAL);
    expect(h.svc.ept.modify(0x3ff000, 0x1000, EPT_R, EPT_MT_WB)).toBe(0);
    expect(call(h, A.HC_GET_API_VERSION, 0x3ff000)).toBe(-A.EINVAL);
  });

  it('GET_HW_INFO writes cpu_num and zeroes the rest', () => {
    const h = makeHc();
    fill(h, OUT_GPA, 8, 0xff);
    expect(call(h, A.HC_GET_HW_INFO, OUT_GPA)).toBe(0);
    expect([r16(h, OUT_GPA), r16(h, OUT_GPA + 2), r32(h, OUT_GPA + 4)]).toEqual([1, 0, 0]);
    expect(call(h, A.HC_GET_HW_INFO, RAM_END - 2)).toBe(-A.EINVAL);
  });

  it('SET_CALLBACK_VECTOR takes 0x20..0xFF, else -EINVAL and the vector stays', () => {
    const h = makeHc();
    expect(UPCALL.vector).toBe(0xf3);
    expect(call(h, A.HC_SET_CALLBACK_VECTOR, 0x20)).toBe(0);
    expect(call(h, A.HC_SET_CALLBACK_VECTOR, 0xff)).toBe(0);
    expect(UPCALL.vector).toBe(0xff);
    for (const v of [0, 0x1f, 0x100, 0xffffffff]) expect(call(h, A.HC_SET_CALLBACK_VECTOR, v)).toBe(-A.EINVAL);
    expect(call(h, A.HC_SET_CALLBACK_VECTOR, 0x30, 0, 0, 1)).toBe(-A.EINVAL);
    expect(UPCALL.vector).toBe(0xff);
  });

  it('SERVICE_VM_OFFLINE_CPU: the BSP and (unsupported) an AP are refused with -1, an unknown LAPIC id is 0', () => {
    const h = makeHc({ svcVcpus: 2 });
    expect(call(h, A.HC_SERVICE_VM_OFFLINE_CPU, 0)).toBe(-1);
    expect(call(h, A.HC_SERVICE_VM_OFFLINE_CPU, 1)).toBe(-1);
    expect(call(h, A.HC_SERVICE_VM_OFFLINE_CPU, 7)).toBe(0);
    expect(h.svc.vcpus[1].state).not.toBe(VCPU_OFFLINE);
  });

  it('PM_GET_CPU_STATE: CX_CNT writes 0; PX_CNT, PX_DATA, CX_DATA and unknown types are -1; a bad pointer -EINVAL', () => {
    const h = makeHc();
    vmIn(h, 'created');
    w8(h, OUT_GPA, 0x77);
    expect(call(h, A.HC_PM_GET_CPU_STATE, (1 << 24) | A.PMCMD_GET_CX_CNT, OUT_GPA)).toBe(0);
    expect(r8(h, OUT_GPA)).toBe(0);
    for (const t of [A.PMCMD_GET_PX_CNT, A.PMCMD_GET_PX_DATA, A.PMCMD_GET_CX_DATA, 4, 0xff]) {
      expect(call(h, A.HC_PM_GET_CPU_STATE, (1 << 24) | (1 << 8) | t, OUT_GPA)).toBe(-1);
    }
    expect(call(h, A.HC_PM_GET_CPU_STATE, (1 << 24) | A.PMCMD_GET_CX_CNT, RAM_END)).toBe(-A.EINVAL);
    expect(call(h, A.HC_PM_GET_CPU_STATE, (9 << 24) | A.PMCMD_GET_CX_CNT, OUT_GPA)).toBe(-A.ENOTTY);
  });
});

// ---- interrupts ----------------------------------------------------------------------------

describe('SET_IRQLINE and INJECT_MSI', () => {
  it('the four operations drive the GSI on both controllers in ACRN\'s order', () => {
    const h = makeHc();
    const { vm, rel } = vmIn(h, 'running');
    const drives: [number, boolean][] = [];
    const router = vm.devices.router;
    const real = router.drive.bind(router);
    router.drive = (gsi: number, level: boolean) => {
      drives.push([gsi, level]);
      real(gsi, level);
    };
    expect(call(h, A.HC_SET_IRQLINE, rel, 5, 0, 0, A.GSI_SET_HIGH)).toBe(0);
    expect([vm.devices.vioapic.lines[5], vm.devices.vpic.lineLevel(5)]).toEqual([1, true]);
    expect(call(h, A.HC_SET_IRQLINE, rel, 5, 0, 0, A.GSI_SET_LOW)).toBe(0);
    expect([vm.devices.vioapic.lines[5], vm.devices.vpic.lineLevel(5)]).toEqual([0, false]);
    expect(call(h, A.HC_SET_IRQLINE, rel, 2, 0, 0, A.GSI_RAISING_PULSE)).toBe(0);
    expect(call(h, A.HC_SET_IRQLINE, rel, 40, 0, 0, A.GSI_FALLING_PULSE)).toBe(0);
    expect(vm.devices.vioapic.lines[40]).toBe(1);
    expect(drives).toEqual([[5, true], [5, false], [2, true], [2, false], [40, false], [40, true]]);
    // GSI past the vIOAPIC's 48 pins: -1; an op that is not one of the four: -EINVAL
    expect(call(h, A.HC_SET_IRQLINE, rel, 48, 0, 0, A.GSI_SET_HIGH)).toBe(-1);
    expect(call(h, A.HC_SET_IRQLINE, rel, 0xffffffff, 0, 0, A.GSI_SET_HIGH)).toBe(-1);
    expect(call(h, A.HC_SET_IRQLINE, rel, 5, 0, 0, 4)).toBe(-A.EINVAL);
    expect(call(h, A.HC_SET_IRQLINE, rel, 5, 0, 0, 0xffffffff)).toBe(-A.EINVAL);
    expect(drives.length).toBe(6);
  });

  it('INJECT_MSI delivers a fixed interrupt to the destination vCPU; malformed messages are -EINVAL, bad pointers -1', () => {
    const h = makeHc();
    const { vm, rel } = vmIn(h, 'running');
    w64(h, MSI_GPA, 0xfee00000);
    w64(h, MSI_GPA + 8, 0x45);
    vm.vcpus[0].vlapic.svr = 0x1ff; // software-enabled (SDM Vol. 3A 11.4.7.2)
    expect(call(h, A.HC_INJECT_MSI, rel, MSI_GPA)).toBe(0);
    expect((vm.vcpus[0].vlapic.irr[2] >>> 5) & 1).toBe(1);
    for (const [addr, data] of [[0xfed00000, 0x45], [0x1fee00000, 0x45], [0xfee00000, 0x05], [0xfee00000, 0x245], [0xfee00000, 0x645]]) {
      w64(h, MSI_GPA, addr);
      w64(h, MSI_GPA + 8, data);
      expect(call(h, A.HC_INJECT_MSI, rel, MSI_GPA), `addr ${addr.toString(16)} data ${data.toString(16)}`).toBe(-A.EINVAL);
    }
    expect(call(h, A.HC_INJECT_MSI, rel, RAM_END - 8)).toBe(-1);
    expect(call(h, A.HC_INJECT_MSI, rel, 0, 0, 0, 0x100000)).toBe(-1);
  });
});

// ---- SET_IOREQ_BUFFER ----------------------------------------------------------------------

describe('SET_IOREQ_BUFFER', () => {
  it('registers a page of Service VM memory, its 16 slots set FREE', () => {
    const h = makeHc();
    const { vm, rel } = vmIn(h, 'created');
    fill(h, IOREQ_PAGE_GPA, 4096, 0xaa);
    expect(setIoreq(h, rel)).toBe(0);
    expect([vm.ioreqBufferSet, vm.ioreqBufferGpa, vm.ioreqBufferHpa]).toEqual([true, IOREQ_PAGE_GPA, h.ram + IOREQ_PAGE_GPA]);
    for (let i = 0; i < 16; i++) expect(r32(h, IOREQ_PAGE_GPA + i * 256 + A.IO_REQUEST_PROCESSED)).toBe(A.IOREQ_STATE_FREE);
    expect(r32(h, IOREQ_PAGE_GPA)).toBe(0xaaaaaaaa);
  });

  it('refuses misaligned, unmapped, read-only and hypervisor pages (registration dropped), keeps it on an unreadable pointer', () => {
    const h = makeHc();
    const { vm, rel } = vmIn(h, 'created');
    expect(setIoreq(h, rel)).toBe(0);
    expect(call(h, A.HC_SET_IOREQ_BUFFER, rel, RAM_END - 4)).toBe(-1); // the u64 crosses the end of RAM
    expect(vm.ioreqBufferSet).toBe(true);
    expect(h.svc.ept.map(0x600000, 0x100000, 0x1000, EPT_RWX, EPT_MT_WB)).toBe(0); // the hypervisor image
    expect(h.svc.ept.map(0x601000, 0x5000000, 0x1000, EPT_RWX, EPT_MT_WB)).toBe(0); // the page pool
    expect(h.svc.ept.modify(0x3ff000, 0x1000, EPT_R, EPT_MT_WB)).toBe(0);
    for (const page of [IOREQ_PAGE_GPA + 8, IOREQ_PAGE_GPA + 0x800, RAM_END, 0x3ff000, 0x600000, 0x601000, 2 ** 52, 2 ** 60]) {
      expect(setIoreq(h, rel), '0x' + page.toString(16)).toBe(0);
      expect(setIoreq(h, rel, page), '0x' + page.toString(16)).toBe(-1);
      expect(vm.ioreqBufferSet).toBe(false);
    }
    expect(call(h, A.HC_START_VM, rel)).toBe(-1);
  });
});
