import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backends';
import { loadCausalLM } from '../loaders/pretrained';
import { SafetensorsError, ShapeError } from '../src/core/errors';
import { saveSafetensors, SafetensorsFile } from '../loaders/safetensors';
import { GOLDEN } from './helpers/fixtures';

const GOLD = GOLDEN;
const ref = JSON.parse(fs.readFileSync(path.join(GOLD, 'llama_tiny.json'), 'utf8')) as {
  prompt_tokens: number[];
  hf_reference: { logits_all_positions: number[][]; logits_last_position: number[]; greedy_next_tokens_8: number[] };
};
const configText = fs.readFileSync(path.join(GOLD, 'llama_tiny.config.json'), 'utf8');
const weightBytes = new Uint8Array(fs.readFileSync(path.join(GOLD, 'llama_tiny.safetensors')));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

describe.each(['cpu', 'wasm'] as const)('llama_tiny on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test('logits of every position match hf_reference within 1e-4; load/forward/dispose leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const model = await loadCausalLM({ config: configText, weights: weightBytes });
    expect(model.config.modelType).toBe('llama');
    const logits = model.forward([ref.prompt_tokens], { allPositions: true });
    expect(logits.shape).toEqual([1, 5, 256]);
    expect(maxAbsDiff(logits.dataSync(), ref.hf_reference.logits_all_positions.flat())).toBeLessThan(1e-4);
    logits.dispose();
    const last = model.forward([ref.prompt_tokens]);
    expect(last.shape).toEqual([1, 256]);
    expect(maxAbsDiff(last.dataSync(), ref.hf_reference.logits_last_position)).toBeLessThan(1e-4);
    last.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('greedy with the KV cache gives greedy_next_tokens_8', async () => {
    const before = tf.memory().numTensors;
    const model = await loadCausalLM({ config: configText, weights: weightBytes });
    const cache = model.createCache(1, 32);
    let logits = model.forward([ref.prompt_tokens], { cache });
    const out: number[] = [];
    for (let i = 0; i < 8; i++) {
      const next = argmax(logits.dataSync());
      logits.dispose();
      out.push(next);
      logits = model.forward([[next]], { cache });
    }
    logits.dispose();
    expect(out).toEqual(ref.hf_reference.greedy_next_tokens_8);
    expect(cache.length).toBe(5 + 8);
    cache.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('KV-cache decoding equals full recomputation for 32 steps (1e-4)', async () => {
    const model = await loadCausalLM({ config: configText, weights: weightBytes });
    const cache = model.createCache(1, 64);
    const seq = [...ref.prompt_tokens];
    let cached = model.forward([seq], { cache });
    let worst = 0;
    for (let step = 0; step < 32; step++) {
      const full = model.forward([seq]);
      worst = Math.max(worst, maxAbsDiff(cached.dataSync(), full.dataSync()));
      // Feed a pseudo-random token so the sequence is not a fixed point.
      const next = (argmax(full.dataSync()) + step * 37) % 256;
      full.dispose();
      cached.dispose();
      seq.push(next);
      cached = model.forward([[next]], { cache });
    }
    cached.dispose();
    expect(worst).toBeLessThan(1e-4);
    cache.dispose();
    model.dispose();
  });

  test('left-padded batch gives the same greedy tokens and logits as each prompt alone', async () => {
    const model = await loadCausalLM({ config: configText, weights: weightBytes });
    const prompts = [ref.prompt_tokens, [7, 3], [200, 9, 11, 60]];
    const steps = 6;
    const alone = prompts.map((p) => {
      const cache = model.createCache(1, 32);
      let logits = model.forward([p], { cache });
      const toks: number[] = [];
      const firstLogits = Array.from(logits.dataSync());
      for (let i = 0; i < steps; i++) {
        const next = argmax(logits.dataSync());
        logits.dispose();
        toks.push(next);
        logits = model.forward([[next]], { cache });
      }
      logits.dispose();
      cache.dispose();
      return { toks, firstLogits };
    });
    const width = Math.max(...prompts.map((p) => p.length));
    const ids = prompts.map((p) => [...new Array<number>(width - p.length).fill(0), ...p]);
    const mask = prompts.map((p) => [...new Array<number>(width - p.length).fill(0), ...new Array<number>(p.length).fill(1)]);
    const cache = model.createCache(prompts.length, 32);
    let logits = model.forward(ids, { cache, attentionMask: mask });
    const rows = logits.arraySync() as number[][];
    rows.forEach((r, i) => expect(maxAbsDiff(r, alone[i]!.firstLogits)).toBeLessThan(1e-4));
    const toks: number[][] = prompts.map(() => []);
    for (let s = 0; s < steps; s++) {
      const cur = logits.arraySync() as number[][];
      logits.dispose();
      const next = cur.map((r) => argmax(r));
      next.forEach((n, i) => toks[i]!.push(n));
      mask.forEach((m) => m.push(1));
      logits = model.forward(next.map((n) => [n]), { cache, attentionMask: mask });
    }
    logits.dispose();
    expect(toks).toEqual(alone.map((a) => a.toks));
    cache.dispose();
    model.dispose();
  });
});

describe('llama checkpoint errors', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });
  const file = new SafetensorsFile(weightBytes);
  const tensors = (): Map<string, { shape: number[]; data: Float32Array }> => {
    const m = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const n of file.names) {
      const t = file.get(n);
      m.set(n, { shape: [...t.shape], data: t.data as Float32Array });
    }
    return m;
  };

  test('missing tensor: SafetensorsError naming it, and nothing left allocated', async () => {
    const before = tf.memory().numTensors;
    const m = tensors();
    m.delete('model.layers.1.mlp.up_proj.weight');
    await expect(loadCausalLM({ config: configText, weights: saveSafetensors(m) })).rejects.toThrow(SafetensorsError);
    await expect(loadCausalLM({ config: configText, weights: saveSafetensors(m) })).rejects.toThrow(/'model.layers.1.mlp.up_proj.weight' is missing/);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('shape mismatch with config.json: ShapeError naming the tensor', async () => {
    const cfg = { ...JSON.parse(configText), intermediate_size: 96 };
    await expect(loadCausalLM({ config: cfg, weights: weightBytes })).rejects.toThrow(ShapeError);
    await expect(loadCausalLM({ config: cfg, weights: weightBytes })).rejects.toThrow(/gate_proj.weight' has shape \[128, 64\], config.json implies \[96, 64\]/);
  });

  test('F16 and BF16 storage load and stay close to the F32 logits', async () => {
    const m = tensors();
    const f16 = new Map([...m].map(([k, v]) => [k, { ...v, dtype: 'F16' as const }]));
    const bf16 = new Map([...m].map(([k, v]) => [k, { ...v, dtype: 'BF16' as const }]));
    const base = await loadCausalLM({ config: configText, weights: weightBytes });
    const a = base.forward([ref.prompt_tokens]);
    for (const [w, tol] of [[f16, 0.05], [bf16, 0.5]] as const) {
      const model = await loadCausalLM({ config: configText, weights: saveSafetensors(w) });
      const b = model.forward([ref.prompt_tokens]);
      expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(tol);
      b.dispose();
      model.dispose();
    }
    a.dispose();
    base.dispose();
  });
});
