/**
 * CLI hardening: `loom info` (text, JSON, binary input without raw control bytes on the terminal),
 * negative flag values reach the flag's own check, `train --out` into a missing folder fails before
 * training, and `loom bench`'s argument errors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../src/cli/main';
import { infoCommand } from '../src/cli/cmd_info';
import { trainCommand } from '../src/cli/cmd_train';
import { generateCommand } from '../src/cli/cmd_generate';
import { benchCommand } from '../bench/cli_bench';
import { COMMANDS } from '../src/cli/commands';
import { joinNegativeValues, printable } from '../src/cli/flags';
import { buildNetworkFromJSON, saveModelToString } from '../loaders/loom_json';
import { bufferIO, ensureRegistered } from './helpers/cli_io';

jest.setTimeout(60_000);

let dir = '';
let model = '';
beforeAll(() => {
  for (const c of [infoCommand, trainCommand, generateCommand]) ensureRegistered(c);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-cli-'));
  const net = buildNetworkFromJSON(
    JSON.stringify({
      batch_size: 1, grid_rows: 1, grid_cols: 1, layers_per_cell: 2,
      layers: [
        { type: 'dense', activation: 'tanh', input_height: 2, output_height: 3 },
        { type: 'dense', activation: 'sigmoid', input_height: 3, output_height: 1 },
      ],
    }),
  );
  let s = 3;
  net.initializeWeights(() => ((s = (s * 16807) % 2147483647) / 2147483647));
  model = path.join(dir, 'net.json');
  fs.writeFileSync(model, saveModelToString(net, 'tiny'));
  net.dispose();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('loom info', () => {
  test('describes a LOOM bundle: grid, layers and parameter count (2x3+3 + 3x1+1 = 13)', async () => {
    const c = bufferIO();
    expect(await runCli(['info', model], c.io)).toBe(0);
    expect(c.stdout()).toMatch(/models: tiny/);
    expect(c.stdout()).toMatch(/grid: 1 x 1 x 2 \(2 layers\), batch size 1/);
    expect(c.stdout()).toMatch(/parameters: 13 /);
    const j = bufferIO();
    expect(await runCli(['info', model, '--json'], j.io)).toBe(0);
    expect((JSON.parse(j.stdout()) as { totalParameters: number }).totalParameters).toBe(13);
  });

  test('a binary file gives exit 1 and an error with no raw NUL or escape bytes', async () => {
    const bin = path.join(dir, 'weights.bin');
    const bytes = new Uint8Array(1 << 20);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 27; // mostly control bytes, NULs included
    bytes[0] = 0;
    fs.writeFileSync(bin, bytes);
    const c = bufferIO();
    expect(await runCli(['info', bin], c.io)).toBe(1);
    expect(c.stderr()).toMatch(/^loom info: /);
    // No C0 control character other than newline and tab.
    expect(/[\u0000-\u0008\u000b-\u001f\u007f]/.test(c.stderr() + c.stdout())).toBe(false);
    expect(c.stderr().length).toBeLessThan(2000);
  });

  test('usage errors: no file, two files', async () => {
    expect(await runCli(['info'], bufferIO().io)).toBe(2);
    expect(await runCli(['info', model, model], bufferIO().io)).toBe(2);
  });
});

describe('flag values', () => {
  test('--max-new-tokens -5 says what is wrong with -5 (not "argument is ambiguous")', async () => {
    const c = bufferIO();
    expect(await runCli(['generate', '--prompt-ids', '1,2', '--max-new-tokens', '-5'], c.io)).toBe(2);
    expect(c.stderr()).toMatch(/--max-new-tokens: expected a positive integer, got '-5'/);
    expect(c.stderr()).not.toMatch(/ambiguous/);
  });

  test('joinNegativeValues joins only negative numbers; printable escapes control characters', () => {
    expect(joinNegativeValues(['--top-k', '-1', '--seed', '3', '--x', '-.5', '--json'])).toEqual(['--top-k=-1', '--seed', '3', '--x=-.5', '--json']);
    expect(joinNegativeValues(['--a', '--b'])).toEqual(['--a', '--b']);
    expect(printable('a\u0000b\u001b[31mc\nd\te')).toBe('a\\u0000b\\u001b[31mc\nd\te');
  });

  test('train --out into a missing folder fails before training', async () => {
    const data = path.join(dir, 'xor.csv');
    fs.writeFileSync(data, '0,0,0\n0,1,1\n1,0,1\n1,1,0\n');
    const c = bufferIO();
    const t0 = Date.now();
    const code = await runCli(['train', '--model', model, '--data', data, '--out', '/nonexistent/dir/x.json', '--epochs', '100000', '--backend', 'cpu', '--quiet'], c.io);
    expect(code).toBe(2);
    expect(c.stderr()).toMatch(/--out: folder \/nonexistent\/dir does not exist/);
    expect(Date.now() - t0).toBeLessThan(10_000); // 100,000 epochs were not run first
  });
});

describe('loom bench argument errors (the run itself is a benchmark: npm run bench)', () => {
  test.each([
    [['--models', 'gpt5'], /unknown model 'gpt5', expected one of smollm2-135m-shape/],
    [['--backends', 'tpu'], /unknown backend 'tpu'/],
    [['--models', ','], /--models needs at least one name/],
    [['extra'], /unexpected argument 'extra'/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
  ])('loom bench %p is a usage error', async (args, pattern) => {
    const c = bufferIO();
    // bench lives in bench/ and joins the CLI through bin/loom.js's commands option
    expect(await runCli(['bench', ...args], c.io, { commands: [...COMMANDS, benchCommand] })).toBe(2);
    expect(c.stderr()).toMatch(pattern);
  });
});
