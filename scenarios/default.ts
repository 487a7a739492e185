// The default scenario, built into the hypervisor (hv/scenario-default.ts is
// generated from it) and used when no `scenario` GRUB module overrides it.
// The shape of ACRN's hybrid scenario: a pre-launched VM, the Service VM, and
// slots for post-launched User VMs that the Service VM's device model creates
// (CREATE_VM matches a slot by name, else takes a free post-launched one).
//
//   vm0 prelaunched  PRE_LAUNCHED_VM, standard severity (ACRN's CONFIG_PRE_STD_VM),
//                    pCPU 1, 16 MiB at GPA 0 backed by RAM the hypervisor
//                    allocates; a raw 64-bit guest from guests/ in the GRUB
//                    module tagged `prelaunched`; console on COM1, COM2
//                    connected to the Service VM's COM2; the emulated host bridge
//   vm1 service      SERVICE_VM, pCPU 0, the host memory map minus the hypervisor
//                    and the pre-launched VM; Linux (bzImage) in `Linux_bzImage`,
//                    its ramdisk in `uservm` (the test Service VM's: the User VM
//                    image it launches, guests/user.asm)
//   vm2 post1        POST_LAUNCHED_VM slot, 1 vCPU on pCPU 0, 64 MiB
//   vm3 post2        POST_LAUNCHED_VM slot, 2 vCPUs on pCPUs 0 and 1, 128 MiB
//
// Regenerate the built-in copy after a change:
//   node tools/scenario.mjs scenarios/default.ts --emit-ts hv/scenario-default.ts
import { defaultBoard } from './board-default';
import type { Scenario } from './types';

const MiB = 1024 * 1024;

const scenario: Scenario = {
  name: 'hybrid',
  board: defaultBoard,
  vms: [
    {
      name: 'prelaunched',
      loadOrder: 'PRE_LAUNCHED_VM',
      severity: 'SEVERITY_STANDARD_VM',
      cpuAffinity: 0b10,
      vcpus: 1,
      memory: [{ gpa: 0, size: 16 * MiB }],
      kernel: { type: 'raw64', module: 'prelaunched', bootargs: '', loadGpa: 0x100000, entryGpa: 0x100000 },
      vuarts: [
        { index: 0, type: 'console', base: 0x3f8, irq: 4 },
        { index: 1, type: 'connected', base: 0x2f8, irq: 3, target: { vm: 'service', vuart: 1 } },
      ],
      vpci: [{ type: 'hostbridge' }],
    },
    {
      name: 'service',
      loadOrder: 'SERVICE_VM',
      severity: 'SEVERITY_SERVICE_VM',
      cpuAffinity: 0b01,
      vcpus: 1,
      kernel: {
        type: 'bzImage',
        module: 'Linux_bzImage',
        ramdisk: 'uservm',
        // dm_demo: the test Service VM shows its acrnctl commands at boot (Linux ignores it)
        bootargs: 'console=ttyS0,115200 earlyprintk=serial,ttyS0,115200 loglevel=7 panic=1 dm_demo',
      },
      vuarts: [
        { index: 0, type: 'console', base: 0x3f8, irq: 4 },
        { index: 1, type: 'connected', base: 0x2f8, irq: 3, target: { vm: 'prelaunched', vuart: 1 } },
      ],
    },
    {
      name: 'post1',
      loadOrder: 'POST_LAUNCHED_VM',
      severity: 'SEVERITY_STANDARD_VM',
      cpuAffinity: 0b01,
      vcpus: 1,
      memory: [{ gpa: 0, size: 64 * MiB }],
      vuarts: [{ index: 0, type: 'console', base: 0x3f8, irq: 4 }],
    },
    {
      name: 'post2',
      loadOrder: 'POST_LAUNCHED_VM',
      severity: 'SEVERITY_STANDARD_VM',
      cpuAffinity: 0b11,
      vcpus: 2,
      memory: [{ gpa: 0, size: 128 * MiB }],
      vuarts: [{ index: 0, type: 'console', base: 0x3f8, irq: 4 }],
    },
  ],
};

export default scenario;
