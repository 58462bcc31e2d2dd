/**
 * Quantized checkpoints (loaders/quantized_checkpoint.ts): a folder saved with packed q8 / q4 blocks
 * (and bf16 as BF16 tensors) plus a quantization_config reloads in its dtypes without being asked, and
 * gives the logits of the original checkpoint loaded with the same dtypes (q4 / bf16 bit for bit, q8
 * within 1e-6: its scales may move by one float32 ulp when re-packed); files shrink accordingly;
 * malformed records are typed errors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { useBackend } from '../src/backends';
import { ConfigError, SafetensorsError } from '../src/core/errors';
import type { DtypeOptions } from '../src/kernels/dtype_plan';
import { kernelHeapBytes } from '../src/kernels/runtime';
import { loadCausalLM } from '../loaders/pretrained';
import { saveQuantizedCheckpoint } from '../loaders/quantized_checkpoint';
import { tinyDecoders, type TinyCheckpoint } from './helpers/tiny_decoders';

const IDS = [3, 17, 5, 40, 9, 22, 1];
let root: string;

function folder(c: TinyCheckpoint, name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c.config));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), c.weights);
  return dir;
}

async function logits(dir: string, options: Parameters<typeof loadCausalLM>[1] = {}): Promise<{ data: Float32Array; dtype: string | undefined }> {
  const model = await loadCausalLM(dir, { kernels: true, ...options });
  const t = model.forward([IDS], { allPositions: true });
  const data = t.dataSync() as Float32Array;
  t.dispose();
  const dtype = model.info.dtype;
  model.dispose();
  return { data, dtype };
}

beforeAll(async () => {
  await useBackend('cpu', { threads: 1 });
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-qckpt-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const byName = (prefix: string): TinyCheckpoint => tinyDecoders().find((c) => c.name.startsWith(prefix))!;

describe.each([
  ['qwen2', { dtype: 'q4' }],
  ['gpt2', { dtype: 'q4' }], // Conv1D weights (stored transposed), tied head
  ['qwen2', { dtype: 'q8' }],
  ['gpt_neox', { dtype: 'bf16' }],
  ['qwen2', { dtype: 'q4', moduleDtypes: { lm_head: 'q8', embed: 'bf16' } }],
] as [string, DtypeOptions][])('%s saved as %j', (arch, options) => {
  test('reloads in its dtypes with the logits of the original in those dtypes; the file shrinks', async () => {
    const tag = `${arch}-${JSON.stringify(options).replace(/[^a-z0-9]/gi, '')}`;
    const src = folder(byName(arch), `src-${tag}`);
    const out = path.join(root, `out-${tag}`);
    const heap0 = kernelHeapBytes();
    const qc = saveQuantizedCheckpoint(src, out, options);
    expect(qc.dtype).toBe(options.dtype);
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { quantization_config: unknown };
    expect(saved.quantization_config).toEqual(qc);

    const reloaded = await logits(out);
    const direct = await logits(src, options);
    expect(reloaded.dtype).toBe(options.dtype);
    if (options.dtype === 'q8') {
      let worst = 0;
      for (let i = 0; i < direct.data.length; i++) worst = Math.max(worst, Math.abs(reloaded.data[i]! - direct.data[i]!) / Math.max(1, Math.abs(direct.data[i]!)));
      expect(worst).toBeLessThan(1e-6);
    } else {
      expect(reloaded.data).toEqual(direct.data);
    }
    const ratio = fs.statSync(path.join(out, 'model.safetensors')).size / fs.statSync(path.join(src, 'model.safetensors')).size;
    // Matrices shrink to 1/2, 36/128, 20/128; in these tiny models fp32 norms, biases and the header weigh in too.
    expect(ratio).toBeLessThan(options.dtype === 'bf16' ? 0.55 : options.dtype === 'q8' ? 0.45 : 0.4);
    expect(kernelHeapBytes()).toBe(heap0);
  });
});

describe('quantized checkpoints: options and errors', () => {
  test('explicit dtype fp32 widens the packed weights (the fallback for the tfjs op chain); a packed dtype there is a ConfigError', async () => {
    const src = folder(byName('qwen2'), 'src-fallback');
    const out = path.join(root, 'out-fallback');
    saveQuantizedCheckpoint(src, out, { dtype: 'q4' });
    await expect(loadCausalLM(out, { kernels: false })).rejects.toThrow(/dtype 'q4' cannot run on backend 'cpu'/);
    const model = await loadCausalLM(out, { kernels: false, dtype: 'fp32' });
    expect(model.info.dtype).toBe('fp32');
    const t = model.forward([IDS]);
    expect(Array.from(t.dataSync() as Float32Array).every(Number.isFinite)).toBe(true);
    t.dispose();
    model.dispose();
  });

  test('a malformed quantization_config is a ConfigError; missing packed parts a SafetensorsError', async () => {
    const src = folder(byName('qwen2'), 'src-bad');
    const out = path.join(root, 'out-bad');
    saveQuantizedCheckpoint(src, out, { dtype: 'q8' });
    const cfgPath = path.join(out, 'config.json');
    const good = JSON.parse(fs.readFileSync(cfgPath, 'utf8')) as Record<string, { quant_method?: string; tensors: Record<string, unknown> }>;
    fs.writeFileSync(cfgPath, JSON.stringify({ ...good, quantization_config: { ...good.quantization_config, quant_method: 'gptq' } }));
    await expect(loadCausalLM(out, { kernels: true })).rejects.toThrow(ConfigError);
    await expect(loadCausalLM(out, { kernels: true })).rejects.toThrow(/quant_method "gptq" is not supported/);
    const tensors = { ...good.quantization_config!.tensors, 'model.layers.0.mlp.up_proj.weight': { dtype: 'q8', shape: [40, 25], transposed: false } };
    fs.writeFileSync(cfgPath, JSON.stringify({ ...good, quantization_config: { ...good.quantization_config, tensors } }));
    await expect(loadCausalLM(out, { kernels: true })).rejects.toThrow(SafetensorsError);
    expect(() => saveQuantizedCheckpoint(out, path.join(root, 'again'), { dtype: 'q4' })).toThrow(/already has a quantization_config/);
  });
});
