// A scenario for the Bochs tier (test/qemu/scenario-bochs.mjs): as
// service-dm-1cpu.ts, on a 2-CPU machine with the User VM's slot on pCPU 1,
// so that the Service VM on pCPU 0 changes the EPT of a VM running elsewhere.
import { defaultBoard } from '../../../scenarios/board-default';
import type { Scenario } from '../../../scenarios/types';

const MiB = 1024 * 1024;

const scenario: Scenario = {
  name: 'service-dm-2cpu',
  board: { ...defaultBoard, name: 'emulator-2cpu-1g', pcpus: 2, modules: ['Linux_bzImage', 'uservm', 'scenario'] },
  vms: [
    {
      name: 'service',
      loadOrder: 'SERVICE_VM',
      severity: 'SEVERITY_SERVICE_VM',
      cpuAffinity: 0b1,
      vcpus: 1,
      kernel: { type: 'bzImage', module: 'Linux_bzImage', ramdisk: 'uservm', bootargs: 'console=ttyS0' },
      vuarts: [{ index: 0, type: 'console', base: 0x3f8, irq: 4 }],
    },
    {
      name: 'post1',
      loadOrder: 'POST_LAUNCHED_VM',
      severity: 'SEVERITY_STANDARD_VM',
      cpuAffinity: 0b10,
      vcpus: 1,
      memory: [{ gpa: 0, size: 64 * MiB }],
      vuarts: [{ index: 0, type: 'console', base: 0x3f8, irq: 4 }],
    },
  ],
};

export default scenario;
