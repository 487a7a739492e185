// A scenario for the Bochs tier (test/qemu/scenario-bochs.mjs): the test
// Service VM (guests/service.asm) with the User VM image (guests/user.asm) as
// its ramdisk, and one post-launched slot it creates through hypercalls, on
// a 1-CPU machine.
import { defaultBoard } from '../../../scenarios/board-default';
import type { Scenario } from '../../../scenarios/types';

const MiB = 1024 * 1024;

const scenario: Scenario = {
  name: 'service-dm-1cpu',
  board: { ...defaultBoard, name: 'emulator-1cpu-1g', pcpus: 1, modules: ['Linux_bzImage', 'uservm', 'scenario'] },
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
      cpuAffinity: 0b1,
      vcpus: 1,
      memory: [{ gpa: 0, size: 64 * MiB }],
      vuarts: [{ index: 0, type: 'console', base: 0x3f8, irq: 4 }],
    },
  ],
};

export default scenario;
