/** `loom bench` is added by bin/loom.js through runCli's `commands` option (src/cli does not import bench/). */
import * as fs from 'fs';
import * as path from 'path';
import { benchCommand } from '../bench/cli_bench';
import { COMMANDS } from '../src/cli/commands';
import { helpText, runCli } from '../src/cli/main';
import { bufferIO } from './helpers/cli_io';

const commands = [...COMMANDS, benchCommand];

test('loom bench --help prints its usage (exit 0); an unknown flag is exit 2; help lists it', async () => {
  const c = bufferIO();
  expect(await runCli(['bench', '--help'], c.io, { commands })).toBe(0);
  expect(c.stdout()).toBe(benchCommand.usage + '\n');
  const bad = bufferIO();
  expect(await runCli(['bench', '--no-such-flag'], bad.io, { commands })).toBe(2);
  expect(helpText(commands)).toMatch(/^ {2}bench +\S/m);
  expect(COMMANDS.some((x) => x.name === 'bench')).toBe(false);
});

test('bin/loom.js registers the bench command', () => {
  const bin = fs.readFileSync(path.join(__dirname, '..', 'bin', 'loom.js'), 'utf8');
  expect(bin).toContain("require('../dist/bench/cli_bench.js')");
  expect(bin).toContain('commands: [...COMMANDS, benchCommand]');
});
