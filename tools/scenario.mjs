#!/usr/bin/env node
// The scenario tool: validate a scenario and compile it into the binary image
// the hypervisor reads at boot (scenarios/FORMAT.md).
//
// usage: node tools/scenario.mjs <scenario.ts|.mjs|.json> [-o <image.bin>]
//          [--board <board.json|.ts>] [--modules <tag,tag,...>] [--emit-ts <file.ts>]
//
//   -o          write the image (e.g. build/scenario.bin, a GRUB module tagged `scenario`)
//   --board     the board to check against, replacing the scenario's own `board`
//   --modules   the GRUB module tags the boot medium provides (else the board's
//               `modules` list; with neither, module names are not checked)
//   --emit-ts   write the image as a TypeScript module (hv/scenario-default.ts)
//
// A TypeScript scenario is bundled with esbuild and its default export used
// (scenarios/default.ts); JSON has the same shape, numbers may be strings
// such as "0x100000" or "16M". Every problem is one line on stderr naming the
// VM and the field; then the exit status is 1 and nothing is written.
import fs from 'node:fs';
import path from 'node:path';
import { buildSync } from 'esbuild';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '..');

/** Import a TypeScript or JavaScript module (bundled, so its imports come along). */
async function importModule(file) {
  const out = buildSync({
    entryPoints: [file], bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent', target: 'es2022',
  });
  const text = out.outputFiles[0].text;
  return import(`data:text/javascript;base64,${Buffer.from(text).toString('base64')}`);
}

/** A scenario or board file: JSON, or a module whose default export (or `named`) is the object. */
async function loadData(file, named) {
  if (file.endsWith('.json')) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const mod = await importModule(path.resolve(file));
  return mod.default ?? mod[named];
}

function usage(message) {
  if (message) process.stderr.write(`scenario: ${message}\n`);
  process.stderr.write('usage: node tools/scenario.mjs <scenario.ts|.json> [-o image.bin] [--board board.json] [--modules a,b,c] [--emit-ts file.ts]\n');
  process.exit(2);
}

export async function main(argv) {
  let input = null, output = null, boardFile = null, modules, emitTs = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '-o' || a === '--output') output = value();
    else if (a === '--board') boardFile = value();
    else if (a === '--modules') modules = value().split(',').map((m) => m.trim()).filter((m) => m !== '');
    else if (a === '--emit-ts') emitTs = value();
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else if (input === null) input = a;
    else usage(`more than one scenario: ${input}, ${a}`);
  }
  if (input === null) usage('no scenario given');

  const { compileScenario, emitDefaultModule } = await importModule(path.join(root, 'scenarios/compile.ts'));
  let scenario, board;
  try {
    scenario = await loadData(input, 'scenario');
    if (boardFile !== null) board = await loadData(boardFile, 'board');
  } catch (e) {
    const first = (e.errors?.[0]?.text ?? e.message ?? String(e)).split('\n')[0];
    process.stderr.write(`${boardFile !== null && scenario !== undefined ? boardFile : input}: cannot read: ${first}\n`);
    return 1;
  }
  const result = compileScenario(scenario, { board, modules });
  if (result.errors.length > 0) {
    for (const line of result.errors) process.stderr.write(`${input}: ${line}\n`);
    process.stderr.write(`${input}: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}, nothing written\n`);
    return 1;
  }
  const image = result.image;
  if (output !== null) {
    fs.mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
    fs.writeFileSync(output, image);
  }
  if (emitTs !== null) {
    const source = path.relative(root, path.resolve(input)) || input;
    fs.writeFileSync(emitTs, emitDefaultModule(image, source));
  }
  const vms = result.model.vms.map((vm) => vm.name).join(', ');
  process.stdout.write(`scenario ${result.model.name}: ${result.model.vms.length} VMs (${vms}), ${image.length} bytes`
    + `${output !== null ? ` -> ${output}` : ''}${emitTs !== null ? ` -> ${emitTs}` : ''}\n`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  process.exitCode = await main(process.argv.slice(2));
}
