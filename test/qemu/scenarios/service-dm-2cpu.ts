// A scenario for the Bochs tier (test/qemu/scenario-bochs.mjs): as
// service-dm-1cpu.ts, on a 2-CPU machine with the User VM's slot on pCPU 1,
// so that the Service VM on pCPU 0 changes the EPT of a VM running elsewhere.
import type { Board, Scenario } from '../../../scenarios/types';
import oneCpu from './service-dm-1cpu';

const [service, post1] = oneCpu.vms;

const scenario: Scenario = {
  name: 'service-dm-2cpu',
  board: { ...(oneCpu.board as Board), name: 'emulator-2cpu-1g', pcpus: 2 },
  vms: [service, { ...post1, cpuAffinity: 0b10 }],
};

export default scenario;
