/**
 * The CLI's dtype flags: `loom info --model DIR --dtype q4` reports the packed weight bytes (checked
 * against the Q8_0 / Q4_0 / bf16 layouts computed here from the tensor shapes), `loom generate
 * --dtype q8` loads the quantized model (same tokens as the library call with dtype q8), `loom
 * quantize` writes a checkpoint that `loom generate` then runs in its dtypes, and bad values are
 * usage errors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { useBackend } from '../src/backends';
import { UsageError } from '../src/cli/command';
import { generateCommand } from '../src/cli/cmd_generate';
import { infoCommand } from '../src/cli/cmd_info';
import { quantizeCommand } from '../src/cli/cmd_quantize';
import { generate } from '../src/generation';
import { loadCausalLM } from '../loaders/pretrained';
import { SafetensorsFile } from '../loaders/safetensors';
import { bufferIO } from './helpers/cli_io';
import { tinyDecoders } from './helpers/tiny_decoders';

let dir: string;
const ckpt = tinyDecoders().find((c) => c.name.startsWith('qwen2'))!;

beforeAll(async () => {
  await useBackend('cpu', { threads: 1 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-quant-cli-'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(ckpt.config));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), ckpt.weights);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('loom info --dtype', () => {
  test.each([
    ['bf16', (r: number, c: number) => r * c * 2],
    ['q8', (r: number, c: number) => r * c + r * Math.ceil(c / 32) * 4],
    ['q4', (r: number, c: number) => r * Math.ceil(c / 32) * (16 + 4)],
  ] as const)('%s: matrices in their packed layout, vectors in float32', async (dtype, matrixBytes) => {
    const file = new SafetensorsFile(ckpt.weights);
    let expected = 0;
    for (const n of file.names) {
      const s = file.entry(n).shape;
      expected += s.length === 2 ? matrixBytes(s[0]!, s[1]!) : s.reduce((a, b) => a * b, 1) * 4;
    }
    const io = bufferIO();
    expect(await infoCommand.run(['--model', dir, '--dtype', dtype, '--json'], io.io)).toBe(0);
    const info = JSON.parse(io.stdout()) as { dtype: string; dtypeWeightBytes: number; weightBytes: number };
    expect(info.dtype).toBe(dtype);
    expect(info.dtypeWeightBytes).toBe(expected);
    expect(info.dtypeWeightBytes).toBeLessThan(info.weightBytes);
  });

  test('a bad --dtype is a usage error', async () => {
    await expect(infoCommand.run(['--model', dir, '--dtype', 'int4'], bufferIO().io)).rejects.toThrow(UsageError);
    await expect(generateCommand.run(['--model', dir, '--prompt-ids', '1,2', '--dtype', 'q5', '--json'], bufferIO().io)).rejects.toThrow(/--dtype: expected one of fp32, bf16, q8, q4, got 'q5'/);
  });
});

describe('loom generate --dtype', () => {
  test('q8: the same greedy tokens as generate() on the q8 model', async () => {
    const io = bufferIO();
    expect(await generateCommand.run(['--model', dir, '--prompt-ids', '3,17,5', '--max-new-tokens', '5', '--greedy', '--json', '--dtype', 'q8', '--backend', 'cpu'], io.io)).toBe(0);
    const got = JSON.parse(io.stdout()) as { ids: number[] };
    const model = await loadCausalLM(dir, { dtype: 'q8' });
    expect(model.info.dtype).toBe('q8');
    const ref = await generate(model, null, [3, 17, 5], { maxNewTokens: 5, greedy: true });
    model.dispose();
    expect(got.ids).toEqual(ref.tokenIds);
    expect(got.ids.length).toBe(5);
  });
});

describe('loom quantize', () => {
  test('writes a q4 copy (lm_head q8) that generate runs with the tokens of the library call in those dtypes', async () => {
    const out = path.join(dir, 'q4');
    const io = bufferIO();
    expect(await quantizeCommand.run(['--model', dir, '--out', out, '--dtype', 'q4', '--module', 'lm_head=q8'], io.io)).toBe(0);
    expect(io.stdout()).toMatch(/: q4 \{"lm_head":"q8"\}, model.safetensors \d+ -> \d+ bytes/);
    const gen = bufferIO();
    expect(await generateCommand.run(['--model', out, '--prompt-ids', '3,17,5', '--max-new-tokens', '5', '--greedy', '--json', '--backend', 'cpu'], gen.io)).toBe(0);
    const model = await loadCausalLM(dir, { dtype: 'q4', moduleDtypes: { lm_head: 'q8' } });
    const ref = await generate(model, null, [3, 17, 5], { maxNewTokens: 5, greedy: true });
    model.dispose();
    expect((JSON.parse(gen.stdout()) as { ids: number[] }).ids).toEqual(ref.tokenIds);
  });

  test('bad flags are usage errors', async () => {
    await expect(quantizeCommand.run(['--model', dir, '--out', path.join(dir, 'x'), '--dtype', 'q4', '--module', 'head=q8'], bufferIO().io)).rejects.toThrow(/names no module/);
    await expect(quantizeCommand.run(['--model', dir, '--out', path.join(dir, 'x'), '--dtype', 'q4', '--module', 'mlp=q3'], bufferIO().io)).rejects.toThrow(UsageError);
    await expect(quantizeCommand.run(['--model', dir, '--out', path.join(dir, 'x')], bufferIO().io)).rejects.toThrow(/--dtype is required/);
  });
});
