// The board the default scenario is checked against: the machine `make run`
// and the emulator tiers boot (QEMU or Bochs, 2 pCPUs, 1 GiB of RAM, memory
// map as SeaBIOS/Bochs BIOS report it). `--board <file.json>` replaces it.
import type { Board } from './types';

const MiB = 1024 * 1024;

export const defaultBoard: Board = {
  name: 'emulator-2cpu-1g',
  pcpus: 2,
  memory: [
    { base: 0x0, size: 0x9f000, type: 'usable' },
    { base: 0x9f000, size: 0x1000, type: 'reserved' },
    { base: 0xe8000, size: 0x18000, type: 'reserved' },
    { base: 0x100000, size: 0x3fef0000, type: 'usable' },
    { base: 0x3fff0000, size: 0x10000, type: 'acpi' },
    { base: 0xfffc0000, size: 0x40000, type: 'reserved' },
  ],
  reserved: [
    { base: 0x0, size: 1 * MiB, what: 'first MiB (BIOS data, AP trampoline)' },
    // The image at 1 MiB, then (with the default WASM_WINDOW_MB=48 and POOL_MB=16)
    // the Wasm window and the page pool carved right after it (README).
    { base: 1 * MiB, size: 67 * MiB, what: 'hypervisor image, Wasm window and page pool' },
  ],
  modules: ['Linux_bzImage', 'prelaunched', 'uservm', 'scenario'],
};
