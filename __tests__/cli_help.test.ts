/** `loom --help` lists every command; each command documents its flags; unknown commands exit 2. */
import * as fs from 'fs';
import * as path from 'path';
import { COMMANDS } from '../src/cli/commands';
import { helpText, runCli } from '../src/cli/main';
import { bufferIO } from './helpers/cli_io';

test('every src/cli/cmd_*.ts command is registered and listed by loom --help', async () => {
  const files = fs.readdirSync(path.join(__dirname, '..', 'src', 'cli')).filter((f) => /^cmd_.*\.ts$/.test(f));
  const names = files.map((f) => f.slice(4, -3));
  expect(COMMANDS.map((c) => c.name).sort()).toEqual(expect.arrayContaining(names.sort()));
  const c = bufferIO();
  expect(await runCli(['--help'], c.io)).toBe(0);
  for (const cmd of COMMANDS) expect(c.stdout()).toMatch(new RegExp(`^  ${cmd.name} +\\S`, 'm'));
  expect(c.stdout()).toBe(helpText() + '\n');
});

test.each(COMMANDS.map((c) => c.name))('loom %s --help prints its usage (exit 0); an unknown flag is exit 2', async (name) => {
  let c = bufferIO();
  expect(await runCli([name, '--help'], c.io)).toBe(0);
  expect(c.stdout()).toMatch(new RegExp(`usage: loom ${name}`));
  c = bufferIO();
  expect(await runCli([name, '--no-such-flag'], c.io)).toBe(2);
  expect(c.stderr()).toMatch(new RegExp(`^loom ${name}: `));
});

test('unknown command and no command: exit 2', async () => {
  let c = bufferIO();
  expect(await runCli(['frobnicate'], c.io)).toBe(2);
  expect(c.stderr()).toMatch(/unknown command 'frobnicate'/);
  c = bufferIO();
  expect(await runCli([], c.io)).toBe(2);
});
