// A scenario for the Bochs tier (test/qemu/scenario-bochs.mjs), passed as the
// `scenario` GRUB module to override the built-in default: ACRN's partitioned
// shape (no Service VM) on one pCPU, two pre-launched VMs sharing it, each
// with its console; the second with 32 MiB in two regions.
import { defaultBoard } from '../../../scenarios/board-default';
import type { Scenario } from '../../../scenarios/types';

const MiB = 1024 * 1024;

const scenario: Scenario = {
  name: 'partitioned-1cpu',
  board: { ...defaultBoard, name: 'emulator-1cpu-1g', pcpus: 1, modules: ['pre-a', 'pre-b', 'scenario'] },
  vms: [
    {
      name: 'pre-a',
      loadOrder: 'PRE_LAUNCHED_VM',
      severity: 'SEVERITY_STANDARD_VM',
      cpuAffinity: 0b1,
      vcpus: 1,
      memory: [{ gpa: 0, size: 16 * MiB }],
      kernel: { type: 'raw64', module: 'pre-a', bootargs: '', loadGpa: 0x100000, entryGpa: 0x100000 },
      vuarts: [{ index: 0, type: 'console', base: 0x3f8, irq: 4 }],
      vpci: [{ type: 'hostbridge' }],
    },
    {
      name: 'pre-b',
      loadOrder: 'PRE_LAUNCHED_VM',
      severity: 'SEVERITY_STANDARD_VM',
      cpuAffinity: 0b1,
      vcpus: 1,
      memory: [{ gpa: 0, size: 16 * MiB }, { gpa: 16 * MiB, size: 16 * MiB }],
      kernel: { type: 'raw64', module: 'pre-b', bootargs: '', loadGpa: 0x100000, entryGpa: 0x100000 },
      vuarts: [{ index: 0, type: 'console', base: 0x3f8, irq: 4 }],
    },
  ],
};

export default scenario;
