// Builds the harness selftest kernel (echo.asm) into a GRUB ISO; also the
// minimal-kernel floor that make bench compares the hypervisor's boot with.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const HERE = path.dirname(new URL(import.meta.url).pathname);

const GRUB_CFG = `set timeout=0
set default=0
menuentry "harness selftest" {
  multiboot2 /boot/echo.bin
  boot
}
`;

/** Assemble echo.asm and wrap it in a BIOS-bootable GRUB ISO. */
export function buildIso(workDir) {
  const root = path.join(workDir, 'iso');
  fs.mkdirSync(path.join(root, 'boot', 'grub'), { recursive: true });
  execFileSync('nasm', ['-f', 'bin', '-o', path.join(root, 'boot', 'echo.bin'),
    path.join(HERE, 'echo.asm')], { stdio: ['ignore', 'inherit', 'inherit'] });
  fs.writeFileSync(path.join(root, 'boot', 'grub', 'grub.cfg'), GRUB_CFG);
  const iso = path.join(workDir, 'echo.iso');
  try {
    execFileSync('grub-mkrescue', ['-o', iso, root], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    process.stderr.write(String(error.stderr ?? error.message));
    throw new Error('grub-mkrescue failed');
  }
  return iso;
}

