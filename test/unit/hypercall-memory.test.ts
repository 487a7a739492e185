// User VM memory through the hypercalls (hv/dm-hypercall/hc-memory.ts):
// VM_SET_MEMORY_REGIONS (ADD with protections and memory types, DEL for any
// other type) and VM_GPA2HPA; malformed parameters (misaligned, out-of-range
// and overlapping GPAs, huge counts, regions touching hypervisor or other-VM
// memory, pointers crossing the end of guest RAM), none of which may throw or
// change anything; and a seeded fuzz of random ids, parameters and pointers
// that must leave the hypervisor, the Service VM and every VM state legal and
// give every pool page back.
import { describe, expect, it } from 'vitest';
import { EPT_MT_WB, EPT_PAGE_2M, EPT_R, EPT_RWX } from '../../arch/x86/ept';
import { poolPages } from '../../arch/x86/intrinsics';
import * as A from '../../hv/dm-hypercall/abi';
import { hcConfigureSlot } from '../../hv/dm-hypercall/hc-state';
import { type AcrnVm, LOAD_ORDER_POST, VM_POWERED_OFF, VM_RUNNING } from '../../hv/vm/vm';
import { powerOffRtVm, SEVERITY_RTVM } from '../../hv/vm/vm-api';
import { POOL_BASE } from './machines';
import { addVm } from './vm-fixture';
import { call, CREATE_GPA, type Hc, IOREQ_PTR_GPA, makeHc as makeServiceVm, OUT_GPA, r32, RAM_END, TWO32, w32, w64, w8 } from './hc-fixture';

function r64(h: Hc, gpa: number): number {
  return r32(h, gpa) + r32(h, gpa + 4) * TWO32;
}

/** The Service VM (hc-fixture.ts) with `pages` pool pages (0: the machine's default pool). */
function makeHc(pages = 0): Hc {
  return makeServiceVm({ poolPages: pages });
}

const HDR_GPA = 0x205000;
const REGIONS_GPA = 0x206000;
/** Service VM memory given to the User VM in these tests. */
const SRC = 0x280000;

/** A post-launched VM in slot `slot` (relative id = slot), CREATED; `rt` makes it real-time. */
function user(h: Hc, rt = false, slot = 1): AcrnVm {
  if (rt) expect(hcConfigureSlot(slot, 'rt', LOAD_ORDER_POST, SEVERITY_RTVM, 1, 0)).toBe(true);
  for (let i = 0; i < 48; i++) w8(h, CREATE_GPA + i, 0);
  if (rt) for (let i = 0; i < 2; i++) w8(h, CREATE_GPA + 8 + i, 'rt'.charCodeAt(i));
  expect(call(h, A.HC_CREATE_VM, CREATE_GPA)).toBe(0);
  expect(r32(h, CREATE_GPA) & 0xffff).toBe(slot);
  return h.env.vms.vms[slot];
}

function start(h: Hc, rel: number): void {
  w64(h, IOREQ_PTR_GPA, 0x300000);
  expect(call(h, A.HC_SET_IOREQ_BUFFER, rel, IOREQ_PTR_GPA)).toBe(0);
  expect(call(h, A.HC_START_VM, rel)).toBe(0);
}

type Region = { type?: number; prot?: number; gpa: number; src?: number; size: number };

/** set_regions at HDR_GPA for `rel` and the regions at REGIONS_GPA; VM_SET_MEMORY_REGIONS. */
function regions(h: Hc, rel: number, list: Region[], count = list.length, regionsGpa = REGIONS_GPA): number {
  for (let i = 0; i < 24; i++) w8(h, HDR_GPA + i, 0);
  w32(h, HDR_GPA + A.SET_REGIONS_VMID, rel);
  w32(h, HDR_GPA + A.SET_REGIONS_MR_NUM, count);
  w64(h, HDR_GPA + A.SET_REGIONS_REGIONS_GPA, regionsGpa);
  list.forEach((r, i) => {
    const o = regionsGpa + i * 32;
    w32(h, o + A.MEM_REGION_TYPE, r.type ?? A.MR_ADD);
    w32(h, o + A.MEM_REGION_PROT, r.prot ?? (A.MEM_ACCESS_RWX | A.MEM_TYPE_WB));
    w64(h, o + A.MEM_REGION_GPA, r.gpa);
    w64(h, o + A.MEM_REGION_SERVICE_VM_GPA, r.src ?? 0);
    w64(h, o + A.MEM_REGION_SIZE_FIELD, r.size);
  });
  return call(h, A.HC_VM_SET_MEMORY_REGIONS, HDR_GPA);
}

/** [hpa, perms, memType, pageSize] of `gpa` in `vm`'s EPT. */
function look(vm: AcrnVm, gpa: number): [number, number, number, number] {
  const hpa = vm.ept.translate(gpa);
  return [hpa, vm.ept.lastPerms, vm.ept.lastMemType, vm.ept.lastPageSize];
}

// ---- VM_SET_MEMORY_REGIONS -----------------------------------------------------------------

describe('VM_SET_MEMORY_REGIONS', () => {
  it('ADD maps Service VM memory at the User VM GPA with the protections and memory type asked', () => {
    const h = makeHc();
    const vm = user(h);
    expect(regions(h, 1, [
      { gpa: 0, src: SRC, size: 0x4000 },
      { gpa: 0x10000, src: SRC + 0x4000, size: 0x1000, prot: A.MEM_ACCESS_READ | A.MEM_TYPE_UC },
      { gpa: 0x11000, src: SRC + 0x5000, size: 0x1000, prot: A.MEM_ACCESS_READ | A.MEM_ACCESS_EXEC | A.MEM_TYPE_WT | A.MEM_TYPE_WC },
      { gpa: 0x12000, src: SRC + 0x6000, size: 0x1000, prot: A.MEM_ACCESS_READ | A.MEM_ACCESS_WRITE | A.MEM_TYPE_WC | A.MEM_TYPE_WP },
      { gpa: 0x13000, src: SRC + 0x7000, size: 0x1000, prot: A.MEM_ACCESS_READ | A.MEM_TYPE_WP },
      { gpa: 0x14000, src: SRC + 0x8000, size: 0x1000, prot: A.MEM_ACCESS_READ },
    ])).toBe(0);
    expect(look(vm, 0x3fff)).toEqual([h.ram + SRC + 0x3fff, 7, 6, 0x1000]);
    expect(look(vm, 0x10000)).toEqual([h.ram + SRC + 0x4000, 1, 0, 0x1000]);
    expect(look(vm, 0x11000)).toEqual([h.ram + SRC + 0x5000, 5, 4, 0x1000]);
    expect(look(vm, 0x12000)).toEqual([h.ram + SRC + 0x6000, 3, 1, 0x1000]);
    expect(look(vm, 0x13000)).toEqual([h.ram + SRC + 0x7000, 1, 5, 0x1000]);
    expect(look(vm, 0x14000)).toEqual([h.ram + SRC + 0x8000, 1, 0, 0x1000]);
    expect(vm.ept.translate(0x4000)).toBe(-1);
  });

  it('a 2 MiB-aligned region backed by a 2 MiB host page is mapped with a 2 MiB page', () => {
    const h = makeHc();
    const vm = user(h);
    expect(regions(h, 1, [{ gpa: 0x40000000, src: 0x200000, size: 0x200000 }])).toBe(0);
    expect(look(vm, 0x40000000 + 0x1234)).toEqual([h.ram + 0x201234, 7, 6, EPT_PAGE_2M]);
  });

  it('any type but ADD deletes (DEL, MODIFY, others); deleting unmapped space is fine; a batch runs in order', () => {
    const h = makeHc();
    const vm = user(h);
    expect(regions(h, 1, [{ gpa: 0, src: SRC, size: 0x8000 }])).toBe(0);
    expect(regions(h, 1, [{ type: A.MR_DEL, gpa: 0x1000, size: 0x1000 }, { type: A.MR_MODIFY, gpa: 0x3000, size: 0x1000 },
      { type: 7, gpa: 0x5000, size: 0x1000 }, { type: A.MR_DEL, gpa: 0x100000, size: 0x10000 }])).toBe(0);
    expect([0, 0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000].map((g) => vm.ept.translate(g) >= 0)).toEqual([true, false, true, false, true, false, true]);
    // MODIFY as the DM does it: delete then add, in one batch
    expect(regions(h, 1, [{ type: A.MR_DEL, gpa: 0, size: 0x2000 }, { gpa: 0, src: SRC + 0x10000, size: 0x2000, prot: A.MEM_ACCESS_READ | A.MEM_TYPE_UC }])).toBe(0);
    expect(look(vm, 0x1000)).toEqual([h.ram + SRC + 0x11000, 1, 0, 0x1000]);
  });

  it('counts: 0 is -1; more than 512 (one 16 KiB array) is -EINVAL; 512 work', () => {
    const h = makeHc(256);
    const vm = user(h);
    expect(regions(h, 1, [], 0)).toBe(-1);
    for (const n of [513, 0x10000, 0x7fffffff, 0xffffffff]) expect(regions(h, 1, [{ gpa: 0, src: SRC, size: 0x1000 }], n)).toBe(-A.EINVAL);
    expect(vm.ept.translate(0)).toBe(-1);
    const many: Region[] = [];
    for (let i = 0; i < 512; i++) many.push({ gpa: i * 0x1000, src: SRC + (i % 64) * 0x1000, size: 0x1000 });
    expect(regions(h, 1, many, 512, 0x300000)).toBe(0);
    expect(vm.ept.translate(511 * 0x1000)).toBe(h.ram + SRC + 63 * 0x1000);
  });

  it('malformed regions are -EINVAL and nothing of the batch is applied', () => {
    const h = makeHc();
    const vm = user(h);
    const good: Region = { gpa: 0x800000, src: SRC, size: 0x1000 };
    const bad: [string, Region][] = [
      ['gpa misaligned', { gpa: 0x1800, src: SRC, size: 0x1000 }],
      ['source misaligned', { gpa: 0x2000, src: SRC + 0x10, size: 0x1000 }],
      ['size misaligned', { gpa: 0x2000, src: SRC, size: 0x1001 }],
      ['size 0', { gpa: 0x2000, src: SRC, size: 0 }],
      ['DEL size 0', { type: A.MR_DEL, gpa: 0x2000, size: 0 }],
      ['DEL misaligned', { type: A.MR_DEL, gpa: 0x2010, size: 0x1000 }],
      ['gpa + size past 2^48', { gpa: 2 ** 48 - 0x1000, src: SRC, size: 0x2000 }],
      ['gpa above 2^52', { gpa: 2 ** 60, src: SRC, size: 0x1000 }],
      ['size above 2^52', { gpa: 0, src: SRC, size: 2 ** 63 }],
      ['source past the end of Service VM RAM', { gpa: 0x2000, src: RAM_END, size: 0x1000 }],
      ['source crossing the end of Service VM RAM', { gpa: 0x2000, src: RAM_END - 0x1000, size: 0x2000 }],
      ['source above 2^52', { gpa: 0x2000, src: 2 ** 53, size: 0x1000 }],
      ['no access', { gpa: 0x2000, src: SRC, size: 0x1000, prot: A.MEM_TYPE_WB }],
      ['write-only', { gpa: 0x2000, src: SRC, size: 0x1000, prot: A.MEM_ACCESS_WRITE }],
      ['write+exec without read', { gpa: 0x2000, src: SRC, size: 0x1000, prot: A.MEM_ACCESS_WRITE | A.MEM_ACCESS_EXEC }],
      ['exec-only (not allowed by this EPT)', { gpa: 0x2000, src: SRC, size: 0x1000, prot: A.MEM_ACCESS_EXEC }],
      ['over the LAPIC page', { gpa: 0xfee00000, src: SRC, size: 0x1000 }],
      ['over the vIOAPIC', { gpa: 0xfebff000, src: SRC, size: 0x2000 }],
      ['over the ECAM window', { gpa: 0xdfe00000, src: 0x200000, size: 0x400000 }],
    ];
    for (const [what, r] of bad) {
      expect(regions(h, 1, [good, r]), what).toBe(-A.EINVAL);
      expect(regions(h, 1, [r, good]), what).toBe(-A.EINVAL);
      expect(vm.ept.translate(0x800000), what).toBe(-1);
    }
    // overlapping ADDs in one batch (target ranges; the same source twice is fine)
    expect(regions(h, 1, [{ gpa: 0, src: SRC, size: 0x3000 }, { gpa: 0x2000, src: SRC + 0x8000, size: 0x1000 }])).toBe(-A.EINVAL);
    expect(regions(h, 1, [{ gpa: 0x2000, src: SRC, size: 0x1000 }, { gpa: 0, src: SRC, size: 0x4000 }])).toBe(-A.EINVAL);
    expect(vm.ept.translate(0)).toBe(-1);
    expect(regions(h, 1, [{ gpa: 0, src: SRC, size: 0x1000 }, { gpa: 0x1000, src: SRC, size: 0x1000 }])).toBe(0);
    expect(vm.ept.translate(0x1000)).toBe(h.ram + SRC);
  });

  it('a page the Service VM may only read cannot be given writable; readable it can', () => {
    const h = makeHc();
    const vm = user(h);
    expect(h.svc.ept.modify(SRC, 0x1000, EPT_R, EPT_MT_WB)).toBe(0);
    expect(regions(h, 1, [{ gpa: 0, src: SRC, size: 0x2000 }])).toBe(-A.EINVAL);
    expect(regions(h, 1, [{ gpa: 0, src: SRC, size: 0x2000, prot: A.MEM_ACCESS_READ | A.MEM_TYPE_WB }])).toBe(0);
    expect(look(vm, 0x1000)).toEqual([h.ram + SRC + 0x1000, 1, 6, 0x1000]);
  });

  it('never hypervisor memory, the pool, boot data or another VM\'s RAM, even when the Service VM\'s EPT maps it', () => {
    const h = makeHc();
    const vm = user(h);
    const pre = addVm(h.env, { name: 'pre2' });
    // A (wrongly) wide Service VM EPT: hypervisor image, Wasm window, pool, first MiB, another VM's RAM.
    const leaks: [string, number][] = [['hypervisor image', 0x100000], ['Wasm window', 0x2000000], ['page pool', POOL_BASE],
      ['first MiB', 0x0], ['pre-launched VM RAM', pre.ram]];
    leaks.forEach(([, hpa], i) => expect(h.svc.ept.map(0x1000000 + i * 0x100000, hpa, 0x2000, EPT_RWX, EPT_MT_WB)).toBe(0));
    leaks.forEach(([what], i) => {
      expect(regions(h, 1, [{ gpa: 0x10000, src: 0x1000000 + i * 0x100000, size: 0x2000 }]), what).toBe(-A.EINVAL);
      expect(regions(h, 1, [{ gpa: 0x10000, src: 0x1000000 + i * 0x100000 + 0x1000, size: 0x1000 }]), what).toBe(-A.EINVAL);
    });
    expect(vm.ept.translate(0x10000)).toBe(-1);
    // the Service VM's own RAM is fine
    expect(regions(h, 1, [{ gpa: 0x10000, src: 0, size: RAM_END }])).toBe(0);
  });

  it('targets: POWERED_OFF -1, a running real-time VM -1, READY_TO_POWEROFF 0; missing / Service VM / pre-launched -ENOTTY', () => {
    const h = makeHc();
    expect(regions(h, 1, [{ gpa: 0, src: SRC, size: 0x1000 }])).toBe(-1); // slot 1 is off
    const rt = user(h, true);
    start(h, 1);
    expect(regions(h, 1, [{ gpa: 0, src: SRC, size: 0x1000 }])).toBe(-1);
    expect(powerOffRtVm(rt)).toBe(0);
    expect(regions(h, 1, [{ gpa: 0, src: SRC, size: 0x1000 }])).toBe(0);
    const std = user(h, false, 2);
    start(h, 2);
    expect(regions(h, 2, [{ gpa: 0, src: SRC, size: 0x1000 }])).toBe(0); // a running standard VM may be changed
    expect(std.state).toBe(VM_RUNNING);
    for (const rel of [0, 8, 0xffff]) expect(regions(h, rel, [{ gpa: 0, src: SRC, size: 0x1000 }])).toBe(-A.ENOTTY);
    const pre = addVm(h.env, { name: 'pre3' }).vm;
    expect(regions(h, pre.vmId, [{ gpa: 0, src: SRC, size: 0x1000 }])).toBe(-A.ENOTTY);
    expect(h.svc.ept.translate(0)).toBe(h.ram); // the Service VM's own EPT untouched
  });

  it('pointers: the header or the array unreadable (past RAM, across its end, above 2^52): -1', () => {
    const h = makeHc();
    const vm = user(h);
    expect(call(h, A.HC_VM_SET_MEMORY_REGIONS, RAM_END - 8)).toBe(-1);
    expect(call(h, A.HC_VM_SET_MEMORY_REGIONS, RAM_END)).toBe(-1);
    expect(call(h, A.HC_VM_SET_MEMORY_REGIONS, 0, 0, 0, 0xfffff000)).toBe(-1);
    expect(regions(h, 1, [{ gpa: 0, src: SRC, size: 0x1000 }], 1, RAM_END - 16)).toBe(-1);
    expect(regions(h, 1, [], 2, RAM_END - 32)).toBe(-1);
    w64(h, HDR_GPA + A.SET_REGIONS_REGIONS_GPA, 2 ** 52);
    expect(call(h, A.HC_VM_SET_MEMORY_REGIONS, HDR_GPA)).toBe(-1);
    expect(vm.ept.translate(0)).toBe(-1);
  });

  it('running out of pool pages is -ENOMEM; the hypervisor goes on and the pages come back with the VM', () => {
    const h = makeHc();
    const before = poolPages(0);
    const vm = user(h);
    const hog: number[] = [];
    while (poolPages(0) > 0) hog.push(h.m.pageAlloc());
    expect(regions(h, 1, [{ gpa: 0x80000000, src: SRC, size: 0x1000 }])).toBe(-A.ENOMEM);
    for (const pa of hog) h.m.pageFree(pa);
    expect(regions(h, 1, [{ gpa: 0x80000000, src: SRC, size: 0x1000 }])).toBe(0);
    expect(call(h, A.HC_PAUSE_VM, 1)).toBe(0);
    expect(call(h, A.HC_DESTROY_VM, 1)).toBe(0);
    expect(vm.state).toBe(VM_POWERED_OFF);
    expect(poolPages(0)).toBe(before);
  });

  it('the shape check, on its own (what the conformance program runs)', () => {
    expect(A.abiRegionShape(A.MR_ADD, 0, 0x1000, 0, 0x2000, 0, 0x1000)).toBe(0);
    expect(A.abiRegionShape(A.MR_DEL, 0, 0x1000, 0xffffffff, 0xffffffff, 0, 0x1000)).toBe(0); // DEL ignores the source
    expect(A.abiRegionShape(A.MR_ADD, 0, 0x1000, 0xffffffff, 0xffffffff, 0, 0x1000)).toBe(-A.EINVAL);
    expect(A.abiRegionShape(A.MR_ADD, 0x10000, 0, 0, 0, 0, 0x1000)).toBe(-A.EINVAL);
  });
});

// ---- VM_GPA2HPA ----------------------------------------------------------------------------

describe('VM_GPA2HPA', () => {
  it('answers the host address of a mapped User VM GPA; unmapped, off, huge GPAs and bad pointers are -1', () => {
    const h = makeHc();
    user(h);
    expect(regions(h, 1, [{ gpa: 0x100000, src: SRC, size: 0x2000 }])).toBe(0);
    w64(h, OUT_GPA, 0x101234);
    w64(h, OUT_GPA + 8, 0);
    expect(call(h, A.HC_VM_GPA2HPA, 1, OUT_GPA)).toBe(0);
    expect([r64(h, OUT_GPA), r64(h, OUT_GPA + 8)]).toEqual([0x101234, h.ram + SRC + 0x1234]);
    for (const gpa of [0x200000, 0xfee00000, 2 ** 52, 2 ** 62]) {
      w64(h, OUT_GPA, gpa);
      w64(h, OUT_GPA + 8, 7);
      expect(call(h, A.HC_VM_GPA2HPA, 1, OUT_GPA)).toBe(-1);
      expect(r64(h, OUT_GPA + 8)).toBe(7);
    }
    expect(call(h, A.HC_VM_GPA2HPA, 1, RAM_END - 8)).toBe(-1);
    expect(call(h, A.HC_VM_GPA2HPA, 2, OUT_GPA)).toBe(-1); // slot 2 is off
    w64(h, 0x3ff000, 0x100000);
    expect(h.svc.ept.modify(0x3ff000, 0x1000, EPT_R, EPT_MT_WB)).toBe(0);
    expect(call(h, A.HC_VM_GPA2HPA, 1, 0x3ff000)).toBe(-1); // cannot write the answer back
  });
});

// ---- a seeded fuzz ---------------------------------------------------------------------------

/** xorshift32: the same calls every run. */
class Rng {
  s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return this.next() % n;
  }
}

const IDS = [A.HC_GET_API_VERSION, A.HC_SERVICE_VM_OFFLINE_CPU, A.HC_SET_CALLBACK_VECTOR, A.HC_CREATE_VM, A.HC_DESTROY_VM, A.HC_START_VM,
  A.HC_PAUSE_VM, A.HC_CREATE_VCPU, A.HC_RESET_VM, A.HC_SET_VCPU_REGS, A.HC_INJECT_MSI, A.HC_VM_INTR_MONITOR, A.HC_SET_IRQLINE,
  A.HC_SET_IOREQ_BUFFER, A.HC_NOTIFY_REQUEST_FINISH, A.HC_VM_GPA2HPA, A.HC_VM_SET_MEMORY_REGIONS, A.HC_GET_HW_INFO, A.HC_PM_GET_CPU_STATE];

describe('a seeded fuzz of ids, parameters and pointers', () => {
  it('5,000 calls: no throw, legal results and VM states, the Service VM runs on, every pool page comes back', () => {
    const h = makeHc(512);
    const rng = new Rng(0x5eed1);
    const before = poolPages(0);
    const results = new Map<number, number>();
    /** A parameter: a small relative id, a GPA inside / near / past RAM, or any 64-bit value. */
    const param = (): [number, number] => {
      const k = rng.below(6);
      if (k === 0) return [0, rng.below(10)];
      if (k === 1) return [0, 0x200000 + rng.below(0x4000)];
      if (k === 2) return [0, RAM_END - rng.below(64)];
      if (k === 3) return [0, rng.below(RAM_END)];
      if (k === 4) return [0, (rng.below(4) << 24) | rng.below(4)];
      return [rng.next(), rng.next()];
    };
    for (let i = 0; i < 5000; i++) {
      // scribble over the structures the calls will read
      const at = 0x200000 + rng.below(0x8000);
      for (let k = 0; k < 64; k++) w8(h, at + k, rng.below(4) === 0 ? 0 : rng.below(256));
      if (rng.below(4) === 0) w32(h, 0x205000 + 16, 0x206000); // plausible region arrays
      if (rng.below(4) === 0) w32(h, 0x205000 + 8, rng.below(8));
      const r = rng.below(10);
      const idLo = r < 8 ? IDS[rng.below(IDS.length)] : r === 8 ? A.HC_ID_BASE + rng.below(256) : rng.next();
      const idHi = rng.below(50) === 0 ? rng.next() : 0;
      const [p1Hi, p1Lo] = param();
      const [p2Hi, p2Lo] = param();
      const rc = call(h, idLo, p1Lo, p2Lo, idHi, p1Hi, p2Hi);
      results.set(rc, (results.get(rc) ?? 0) + 1);
      expect([0, -1, -A.EINVAL, -A.ENOTTY, -A.ENOMEM]).toContain(rc);
      expect(h.svc.state).toBe(VM_RUNNING);
      for (const vm of h.env.vms.vms) expect([0, 1, 2, 3, 4]).toContain(vm.state);
    }
    expect(results.get(0)).toBeGreaterThan(100);
    // tear every User VM down through the hypercalls
    for (let rel = 1; rel < 8; rel++) {
      call(h, A.HC_PAUSE_VM, rel);
      call(h, A.HC_DESTROY_VM, rel);
      expect(h.env.vms.vms[rel].state).toBe(VM_POWERED_OFF);
    }
    expect(poolPages(0)).toBe(before);
  });
});
