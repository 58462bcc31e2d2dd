/**
 * Every architecture and RoPE scaling branch against an implementation outside this code: the
 * plain PyTorch forward of scripts/torch_reference.py, written from the Hugging Face modeling
 * files' equations, run on tiny seeded checkpoints it wrote (fixtures/torch_reference/<case>/,
 * provenance and regeneration command in its README.md). torch is not needed to run this test.
 *
 * Tolerance: the reference runs in float64 on the same float32 weights; this library runs in
 * float32. Over 2 layers of width 16 the float32 rounding gives logit errors of at most 1.1e-6 of
 * the row's largest |logit| (measured over every compared row of every case), so the bound
 * |ours - torch| <= 1e-5 * max|logit of that row| leaves a 9x margin for float32 noise while any
 * equation error (a wrong RoPE frequency, mask, bias, gelu variant or residual form moves logits
 * by 1e-3 of their scale or more) fails. The reference rejects seeds whose greedy steps win by
 * less than 1e-3 of the logit spread, so the greedy tokens must match exactly.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { generate, loadCausalLM, parseHFConfig, useBackend, type DecoderLM } from '../src/index';

const DIR = path.join(__dirname, 'fixtures', 'torch_reference');
/** Relative to the largest |logit| of the row compared. */
const RTOL_OF_ROW_SCALE = 1e-5;

interface Reference {
  case: string;
  what: string;
  ids: number[];
  /** (T, V) every position of `ids`, no cache. */
  logits: number[][];
  decode: { prompt: number[]; tokens: number[]; step_logits: number[][] };
  batch: { ids: number[][]; attention_mask: number[][]; logits: number[][][]; tokens: number[][]; step_logits: number[][][] };
  vocab_size: number;
}

const CASES = ['llama', 'llama_linear', 'llama_dynamic', 'llama3', 'mistral', 'qwen2', 'gpt2', 'gpt_neox', 'gpt_neox_sequential'];

function reference(name: string): Reference {
  return JSON.parse(fs.readFileSync(path.join(DIR, name, 'reference.json'), 'utf8')) as Reference;
}

/** Largest |ours - torch| over a row, as a fraction of the row's largest |logit|. */
function rowError(actual: ArrayLike<number>, expected: readonly number[]): number {
  if (actual.length !== expected.length) throw new Error(`row length ${actual.length}, expected ${expected.length}`);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    if (!Number.isFinite(a)) return Infinity;
    scale = Math.max(scale, Math.abs(expected[i]!));
    err = Math.max(err, Math.abs(a - expected[i]!));
  }
  return err / scale;
}

function expectRow(actual: ArrayLike<number>, expected: readonly number[], what: string): void {
  const e = rowError(actual, expected);
  if (!(e <= RTOL_OF_ROW_SCALE)) throw new Error(`${what}: max |ours - torch| is ${e.toExponential(2)} of the row's scale, allowed ${RTOL_OF_ROW_SCALE}`);
}

async function take(t: tf.Tensor): Promise<Float32Array> {
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

beforeAll(async () => {
  await useBackend('cpu');
});

describe.each(CASES)('torch reference: %s', (name) => {
  const ref = reference(name);
  const v = ref.vocab_size;
  let model: DecoderLM;
  let baseline: number;

  beforeAll(async () => {
    baseline = tf.memory().numTensors;
    model = await loadCausalLM(path.join(DIR, name));
  });
  afterAll(() => {
    model.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  test(`every position of one sequence (${ref.what})`, async () => {
    const before = tf.memory().numTensors;
    const out = await take(model.forward([ref.ids], { allPositions: true })); // (1, T, V)
    ref.logits.forEach((row, t) => expectRow(out.subarray(t * v, (t + 1) * v), row, `position ${t}`));
    expect(tf.memory().numTensors).toBe(before);
  });

  test('KV-cache prefill + decode steps, and greedy tokens', async () => {
    const before = tf.memory().numTensors;
    const { prompt, tokens, step_logits: steps } = ref.decode;
    const cache = model.createCache(1, prompt.length + tokens.length);
    try {
      expectRow(await take(model.forward([prompt], { cache })), steps[0]!, 'prefill last position');
      for (let i = 1; i < steps.length; i++) {
        expectRow(await take(model.forward([[tokens[i - 1]!]], { cache })), steps[i]!, `decode step ${i}`);
      }
    } finally {
      cache.dispose();
    }
    const r = await generate(model, null, prompt, { maxNewTokens: tokens.length, stopTokenIds: [] });
    expect(r.tokenIds).toEqual(tokens);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('left-padded batch: every real position, then cached greedy steps', async () => {
    const before = tf.memory().numTensors;
    const { ids, attention_mask: mask0, logits, tokens, step_logits: steps } = ref.batch;
    const t = ids[0]!.length;
    const all = await take(model.forward(ids, { attentionMask: mask0, allPositions: true })); // (B, T, V)
    let compared = 0;
    ids.forEach((_, b) => {
      for (let s = 0; s < t; s++) {
        if (mask0[b]![s] === 0) continue; // padding rows are garbage by definition
        expectRow(all.subarray((b * t + s) * v, (b * t + s + 1) * v), logits[b]![s]!, `row ${b} position ${s}`);
        compared++;
      }
    });
    expect(compared).toBeGreaterThan(t);
    const cache = model.createCache(ids.length, t + tokens.length);
    try {
      let mask = mask0.map((m) => [...m]);
      let step = await take(model.forward(ids, { cache, attentionMask: mask })); // (B, V)
      for (let i = 0; i < tokens.length; i++) {
        ids.forEach((_, b) => {
          const row = step.subarray(b * v, (b + 1) * v);
          expectRow(row, steps[i]![b]!, `batch step ${i} row ${b}`);
          expect(argmax(row)).toBe(tokens[i]![b]);
        });
        if (i === tokens.length - 1) break;
        mask = mask.map((m) => [...m, 1]);
        step = await take(model.forward(tokens[i]!.map((tok) => [tok]), { cache, attentionMask: mask }));
      }
    } finally {
      cache.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

describe('dynamic NTK config, as transformers reads it', () => {
  test('trained length = max_position_embeddings (rope_scaling.original_max_position_embeddings is not read); context = factor x that', () => {
    const config = JSON.parse(fs.readFileSync(path.join(DIR, 'llama_dynamic', 'config.json'), 'utf8')) as Record<string, unknown>;
    const c = parseHFConfig({ ...config, rope_scaling: { type: 'dynamic', factor: 2, original_max_position_embeddings: 4 } });
    expect(c.rope?.scaling).toEqual({ type: 'dynamic', factor: 2, originalMaxPositions: 8 });
    expect(c.maxPositions).toBe(16);
  });
});
