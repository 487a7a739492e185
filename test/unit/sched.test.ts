// The per-pCPU round-robin scheduler (hv/vm/sched.ts): run-queue order, halt,
// wake, stop, the cursor when vCPUs leave the queue, and the assignment limit.
// The scheduler only looks at vCPU identity and state, so the vCPUs here are
// those of VM slots built in memory (no pages allocated, no hardware touched).
import { describe, expect, it } from 'vitest';
import type { Platform } from '../../hv/vm/platform';
import { RUNQ_CAPACITY, Scheduler } from '../../hv/vm/sched';
import { VCPU_HALTED, VCPU_INIT, VCPU_RUNNABLE, VCPU_STOPPED, type Vcpu } from '../../hv/vm/vcpu';
import { AcrnVm } from '../../hv/vm/vm';

const NO_PLATFORM = null as unknown as Platform;

/** `n` vCPUs (4 per VM slot) known to `s`; none on the run queue yet. */
function vcpus(s: Scheduler, n: number): Vcpu[] {
  const out: Vcpu[] = [];
  for (let vm = 0; out.length < n; vm++) {
    const v = new AcrnVm(vm, s, NO_PLATFORM);
    for (let i = 0; i < 4 && out.length < n; i++) out.push(v.vcpus[i]);
  }
  return out;
}

function setup(n = 3): [Scheduler, Vcpu[]] {
  const s = new Scheduler(0);
  const vs = vcpus(s, n);
  for (const v of vs) {
    expect(s.assign(v)).toBe(true);
    s.wake(v);
  }
  return [s, vs];
}

function picks(s: Scheduler, n: number): (Vcpu | null)[] {
  const out: (Vcpu | null)[] = [];
  for (let i = 0; i < n; i++) out.push(s.pick());
  return out;
}

function queue(s: Scheduler): (Vcpu | null)[] {
  return s.queue.slice(0, s.count);
}

describe('round robin', () => {
  it('picks three runnable vCPUs in turn, over and over', () => {
    const [s, [a, b, c]] = setup();
    expect(picks(s, 7)).toEqual([a, b, c, a, b, c, a]);
    for (const v of [a, b, c]) expect(v.state).toBe(VCPU_RUNNABLE);
  });

  it('picks nothing when the queue is empty', () => {
    const s = new Scheduler(0);
    expect(s.pick()).toBeNull();
  });

  it('waking a vCPU already on the queue does not add it twice', () => {
    const [s, [a, b, c]] = setup();
    s.wake(b);
    expect(queue(s)).toEqual([a, b, c]);
  });
});

describe('halt, wake, stop', () => {
  it('a halted vCPU leaves the queue; woken, it joins at the tail', () => {
    const [s, [a, b, c]] = setup();
    expect(s.pick()).toBe(a);
    s.halt(a);
    expect(a.state).toBe(VCPU_HALTED);
    expect(queue(s)).toEqual([b, c]);
    expect(picks(s, 3)).toEqual([b, c, b]);
    s.wake(a);
    expect(a.state).toBe(VCPU_RUNNABLE);
    expect(queue(s)).toEqual([b, c, a]);
    expect(picks(s, 4)).toEqual([c, a, b, c]);
  });

  it('a stopped vCPU leaves the queue for good', () => {
    const [s, [a, b, c]] = setup();
    s.stop(b);
    expect(b.state).toBe(VCPU_STOPPED);
    expect(picks(s, 4)).toEqual([a, c, a, c]);
  });

  it('halting every vCPU empties the queue', () => {
    const [s, vs] = setup();
    for (const v of vs) s.halt(v);
    expect(s.count).toBe(0);
    expect(s.pick()).toBeNull();
    s.wake(vs[2]);
    expect(picks(s, 2)).toEqual([vs[2], vs[2]]);
  });

  it('removing a vCPU that is not queued changes nothing', () => {
    const [s, [a, b, c]] = setup();
    s.halt(b);
    expect(s.pick()).toBe(a);
    s.halt(b);
    expect(queue(s)).toEqual([a, c]);
    expect(s.pick()).toBe(c);
  });
});

describe('the cursor when a vCPU leaves the queue', () => {
  it('removing one before the cursor keeps the next pick', () => {
    const [s, [a, b, c]] = setup();
    picks(s, 2); // a, b: c is next
    s.remove(a);
    expect(s.pick()).toBe(c);
    expect(s.pick()).toBe(b);
  });

  it('removing the one at the cursor moves on to its successor', () => {
    const [s, [a, b, c]] = setup();
    s.pick(); // a: b is next
    s.remove(b);
    expect(picks(s, 3)).toEqual([c, a, c]);
  });

  it('removing one after the cursor keeps the next pick', () => {
    const [s, [a, b, c]] = setup();
    s.pick(); // a: b is next
    s.remove(c);
    expect(picks(s, 3)).toEqual([b, a, b]);
  });

  it('the one just picked (halting as it runs) does not make the others skip a turn', () => {
    const [s, [a, b, c]] = setup();
    expect(picks(s, 2)).toEqual([a, b]);
    s.halt(b);
    expect(picks(s, 3)).toEqual([c, a, c]);
  });

  it('removing the last one when the cursor is past the end wraps to the head', () => {
    const [s, [a, b, c]] = setup();
    picks(s, 3); // a b c: the cursor is past the end
    s.remove(c);
    expect(picks(s, 2)).toEqual([a, b]);
  });
});

describe('assignment to the pCPU', () => {
  it('records the pCPU in the vCPU; assigning twice is one assignment', () => {
    const s = new Scheduler(2);
    const [a] = vcpus(s, 1);
    expect(a.state).toBe(0);
    expect(s.assign(a)).toBe(true);
    expect(s.assign(a)).toBe(true);
    expect(a.pcpu).toBe(2);
    expect(s.assignedCount).toBe(1);
    expect(s.count).toBe(0); // assigned, not runnable
  });

  it(`takes at most ${RUNQ_CAPACITY} vCPUs; unassigning frees a place and takes the vCPU off the queue`, () => {
    expect(RUNQ_CAPACITY).toBe(32);
    const s = new Scheduler(0);
    const vs = vcpus(s, 33);
    for (let i = 0; i < 32; i++) expect(s.assign(vs[i]), `vCPU ${i}`).toBe(true);
    expect(s.assign(vs[32])).toBe(false);
    for (let i = 0; i < 32; i++) s.wake(vs[i]);
    expect(s.count).toBe(32);
    s.unassign(vs[5]);
    expect(s.assignedCount).toBe(31);
    expect(s.count).toBe(31);
    expect(s.assigned.slice(0, 31)).not.toContain(vs[5]);
    expect(queue(s)).not.toContain(vs[5]);
    expect(s.assign(vs[32])).toBe(true);
    expect(s.assigned.slice(0, 32)).toContain(vs[32]);
  });

  it('unassigning a vCPU never assigned changes nothing', () => {
    const [s, vs] = setup(2);
    const [stranger] = vcpus(new Scheduler(1), 1);
    s.unassign(stranger);
    expect(s.assignedCount).toBe(2);
    expect(queue(s)).toEqual(vs);
  });

  it('a new vCPU is in the init state until woken', () => {
    const s = new Scheduler(0);
    const [a] = vcpus(s, 1);
    a.state = VCPU_INIT;
    s.assign(a);
    expect(a.state).toBe(VCPU_INIT);
    s.wake(a);
    expect(a.state).toBe(VCPU_RUNNABLE);
  });
});
