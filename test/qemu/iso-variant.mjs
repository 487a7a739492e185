// ISO variants for tests: the same hv.elf with extra hypervisor options on
// GRUB's multiboot2 line (e.g. hv.selftest=ud). Built next to build/hv.iso.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/**
 * Path of an ISO whose GRUB entry passes `options` to the hypervisor and loads
 * `modules` ([file under build/, module string]) after it, in order.
 */
export function isoWithOptions(name, options, modules = []) {
  const dir = path.join(root, 'build', 'test-iso', name);
  const iso = path.join(root, 'build', 'test-iso', `${name}.iso`);
  const elf = path.join(root, 'build', 'hv.elf');
  const inputs = [elf, ...modules.map(([file]) => path.join(root, 'build', file))];
  const newest = Math.max(...inputs.map((f) => fs.statSync(f).mtimeMs));
  const key = JSON.stringify([options, modules]);
  const keyFile = `${iso}.key`;
  if (fs.existsSync(iso) && fs.statSync(iso).mtimeMs > newest && fs.existsSync(keyFile) && fs.readFileSync(keyFile, 'utf8') === key) return iso;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'boot', 'grub'), { recursive: true });
  fs.copyFileSync(elf, path.join(dir, 'boot', 'hv.elf'));
  const lines = modules.map(([file, text], i) => {
    const target = `/boot/m${i}-${path.basename(file)}`;
    fs.copyFileSync(path.join(root, 'build', file), path.join(dir, target));
    return `  module2 ${target} ${text}`;
  });
  const cfg = fs.readFileSync(path.join(root, 'iso', 'grub.cfg'), 'utf8')
    .replace(/^(\s*multiboot2 \/boot\/hv\.elf)(.*)$/m, `$1$2 ${options}${lines.length ? '\n' + lines.join('\n') : ''}`);
  if (!cfg.includes(options)) throw new Error('iso-variant: no multiboot2 line in iso/grub.cfg');
  fs.writeFileSync(path.join(dir, 'boot', 'grub', 'grub.cfg'), cfg);
  execFileSync('grub-mkrescue', ['-o', iso, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.writeFileSync(keyFile, key);
  return iso;
}
