// ISO variants for tests: the same hv.elf with extra hypervisor options on
// GRUB's multiboot2 line (e.g. hv.selftest=ud). Built next to build/hv.iso.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** Path of an ISO whose GRUB entry passes `options` to the hypervisor. */
export function isoWithOptions(name, options) {
  const dir = path.join(root, 'build', 'test-iso', name);
  const iso = path.join(root, 'build', 'test-iso', `${name}.iso`);
  const elf = path.join(root, 'build', 'hv.elf');
  if (fs.existsSync(iso) && fs.statSync(iso).mtimeMs > fs.statSync(elf).mtimeMs) return iso;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'boot', 'grub'), { recursive: true });
  fs.copyFileSync(elf, path.join(dir, 'boot', 'hv.elf'));
  const cfg = fs.readFileSync(path.join(root, 'iso', 'grub.cfg'), 'utf8')
    .replace(/^(\s*multiboot2 \/boot\/hv\.elf)(.*)$/m, `$1$2 ${options}`);
  if (!cfg.includes(options)) throw new Error('iso-variant: no multiboot2 line in iso/grub.cfg');
  fs.writeFileSync(path.join(dir, 'boot', 'grub', 'grub.cfg'), cfg);
  execFileSync('grub-mkrescue', ['-o', iso, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  return iso;
}
