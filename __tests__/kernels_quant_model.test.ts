/**
 * Whole models on the quantized kernels (`loadCausalLM(..., { dtype })`) against independent float64
 * references (helpers/decoder_f64.ts) that use the dequantized weights and, for q8 / q4, the same
 * activation quantization at every linear input (per block of 32: d = amax / 127, q = round-half-even
 * of x * (1 / d) in float32, re-derived here). Prefill of every position and KV-cache decode, relative
 * error <= 1e-5 on the logits. Also: info.dtype, memory() bytes, dispose() back to baseline, and the
 * typed error for a dtype the tfjs op chain cannot run.
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backends';
import { ConfigError } from '../src/core/errors';
import { dequantize } from '../src/kernels/dequantize';
import { bf16ToF32, f32ToBf16, packWeight, QUANT_BLOCK, type PackedDtype, type WeightDtype } from '../src/kernels/quantize';
import { kernelHeapBytes, setKernelThreads } from '../src/kernels/runtime';
import type { DecoderLM } from '../src/transformer/model';
import { loadCausalLM } from '../loaders/pretrained';
import { SafetensorsFile, saveSafetensors } from '../loaders/safetensors';
import { gpt2Reference, gptNeoxReference, llamaReference, withLinearInputs, type Tensors } from './helpers/decoder_f64';
import { tinyDecoders, type TinyCheckpoint } from './helpers/tiny_decoders';

/** Largest |a - b| / max(1, |b|). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!));
    worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
  }
  return worst;
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
}

/** Activation quantize-dequantize of one vector (the kernels' rule, from its definition). */
function quantDequantAct(x: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let k0 = 0; k0 < x.length; k0 += QUANT_BLOCK) {
    const k1 = Math.min(x.length, k0 + QUANT_BLOCK);
    let amax = 0;
    for (let k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(Math.fround(x[k]!)));
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    for (let k = k0; k < k1; k++) out[k] = roundHalfEven(Math.fround(Math.fround(x[k]!) * id)) * d;
  }
  return out;
}

/**
 * The checkpoint's tensor `name` as the kernels hold it, in float64 and the checkpoint's layout: 2-D
 * matrices (all but GPT-2's learned positions) packed along their input dimension and widened back.
 */
function weightsAs(file: SafetensorsFile, dtypeOf: PackedDtype | ((name: string) => WeightDtype)): Tensors {
  return (name) => {
    const t = file.get(name);
    const data = t.data as Float32Array;
    const dtype = typeof dtypeOf === 'string' ? dtypeOf : dtypeOf(name);
    if (t.shape.length !== 2 || name.endsWith('wpe.weight') || dtype === 'fp32') return Float64Array.from(data);
    const [rows, cols] = t.shape as [number, number];
    if (/^h\.\d+\./.test(name)) {
      // GPT-2 Conv1D weights are stored (in, out): packed along the input dimension, i.e. transposed.
      const tr = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) tr[c * rows + r] = data[r * cols + c]!;
      const back = dequantize(packWeight(tr, { rows: cols, cols: rows }, dtype));
      const out = new Float64Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = back[c * rows + r]!;
      return out;
    }
    return Float64Array.from(dequantize(packWeight(data, { rows, cols }, dtype)));
  };
}

interface RefCase {
  checkpoint: TinyCheckpoint;
  reference: (get: Tensors, ids: number[]) => Float64Array;
}

const defaultFreq = (hd: number, theta: number): number[] => Array.from({ length: hd / 2 }, (_, i) => 1 / theta ** ((2 * i) / hd));
/** transformers' _compute_llama3_parameters, written out independently. */
const llama3Freq = (hd: number, theta: number, factor: number, low: number, high: number, orig: number): number[] =>
  defaultFreq(hd, theta).map((f) => {
    const wl = (2 * Math.PI) / f;
    if (wl < orig / high) return f;
    if (wl > orig / low) return f / factor;
    const s = (orig / wl - low) / (high - low);
    return (1 - s) * (f / factor) + s * f;
  });

/** The tiny checkpoints (helpers/tiny_decoders.ts) whose architecture has a float64 reference, with its settings. */
function referenceCases(): RefCase[] {
  const all = tinyDecoders();
  const by = (prefix: string, i = 0): TinyCheckpoint => all.filter((c) => c.name.startsWith(prefix))[i]!;
  const llama = { d: 24, layers: 2, vocab: 48, inner: 40, eps: 1e-6, oBias: false };
  const neox = { d: 32, heads: 4, layers: 2, vocab: 50, inner: 64, eps: 1e-5, rotaryPct: 0.5, base: 100 };
  return [
    { checkpoint: by('llama'), reference: (g, ids) => llamaReference(g, { ...llama, heads: 4, kvHeads: 2, headDim: 8, invFreq: llama3Freq(8, 50, 8, 1, 4, 16), qkvBias: false, tied: true }, ids) },
    { checkpoint: by('qwen2'), reference: (g, ids) => llamaReference(g, { ...llama, heads: 4, kvHeads: 1, headDim: 6, invFreq: defaultFreq(6, 50), qkvBias: true, tied: false }, ids) },
    { checkpoint: by('mistral'), reference: (g, ids) => llamaReference(g, { ...llama, heads: 2, kvHeads: 2, headDim: 12, invFreq: defaultFreq(12, 50), qkvBias: false, tied: false, slidingWindow: 3 }, ids) },
    { checkpoint: by('gpt2'), reference: (g, ids) => gpt2Reference(g, { d: 32, heads: 4, layers: 2, vocab: 50, eps: 1e-5, inner: 64 }, ids, '') },
    { checkpoint: by('gpt_neox', 0), reference: (g, ids) => gptNeoxReference(g, { ...neox, parallel: true }, ids) },
    { checkpoint: by('gpt_neox', 1), reference: (g, ids) => gptNeoxReference(g, { ...neox, parallel: false }, ids) },
  ];
}

const IDS = [3, 17, 5, 40, 9, 22, 1];
const TOL = 1e-5;

function logitsOf(model: DecoderLM, ids: number[][], options: Parameters<DecoderLM['forward']>[1] = {}): Float32Array {
  const t = model.forward(ids, options);
  const d = t.dataSync() as Float32Array;
  t.dispose();
  return d;
}

/** bf16 checkpoint: every float weight rounded to bf16, so bf16 storage is exact. */
function roundedToBf16(c: TinyCheckpoint): TinyCheckpoint {
  const file = new SafetensorsFile(c.weights);
  const tensors = Object.fromEntries(file.names.map((n) => {
    const t = file.get(n);
    return [n, { shape: [...t.shape], data: Float32Array.from(t.data, (v) => bf16ToF32(f32ToBf16(v))) }];
  }));
  return { ...c, weights: saveSafetensors(tensors) };
}

beforeAll(async () => {
  await useBackend('cpu', { threads: 1 });
});

describe.each(['q8', 'q4', 'bf16'] as const)('%s model on the kernels', (dtype) => {
  test.each(referenceCases().map((r) => [r.checkpoint.name, r] as const))('%s: logits equal the float64 reference (prefill and KV decode)', async (_name, r) => {
    const tensors0 = tf.memory().numTensors;
    const heap0 = kernelHeapBytes();
    const c = dtype === 'bf16' ? roundedToBf16(r.checkpoint) : r.checkpoint;
    const file = new SafetensorsFile(c.weights);
    const get = dtype === 'bf16' ? (n: string) => Float64Array.from(file.get(n).data) : weightsAs(file, dtype);
    const ref = dtype === 'bf16' ? r.reference(get, IDS) : withLinearInputs(quantDequantAct, () => r.reference(get, IDS));
    const model = await loadCausalLM({ config: c.config, weights: c.weights }, { kernels: true, dtype });
    expect(model.info.dtype).toBe(dtype);
    const V = model.info.vocabSize;

    expect(relErr(logitsOf(model, [IDS], { allPositions: true }), ref)).toBeLessThan(TOL);
    // KV cache: a prefill of 3 tokens, then one token a step.
    const cache = model.createCache(1, 16);
    const steps = [logitsOf(model, [IDS.slice(0, 3)], { cache })];
    for (let t = 3; t < IDS.length; t++) steps.push(logitsOf(model, [[IDS[t]!]], { cache }));
    cache.dispose();
    steps.forEach((s, i) => expect(relErr(s, ref.subarray((i + 2) * V, (i + 3) * V))).toBeLessThan(TOL));

    model.dispose();
    expect(tf.memory().numTensors).toBe(tensors0);
    expect(kernelHeapBytes()).toBe(heap0);
  });
});

describe('per-module dtypes', () => {
  /** The module a checkpoint tensor belongs to (HF names of the llama family). */
  const moduleOf = (name: string): 'embed' | 'lm_head' | 'attention' | 'mlp' =>
    name.includes('embed_tokens') ? 'embed' : name.startsWith('lm_head') ? 'lm_head' : name.includes('self_attn') ? 'attention' : 'mlp';

  test.each([
    ['qwen2', { dtype: 'q4', moduleDtypes: { lm_head: 'q8', embed: 'bf16' } }],
    ['llama', { dtype: 'q4', moduleDtypes: { lm_head: 'q8' } }], // tied: the shared table is q8
    ['mistral', { dtype: 'fp32', moduleDtypes: { mlp: 'q4', attention: 'q8' } }],
  ] as const)('%s %j equals the float64 reference with each module in its dtype', async (prefix, options) => {
    const r = referenceCases().find((x) => x.checkpoint.name.startsWith(prefix))!;
    const c = r.checkpoint;
    const tied = c.config.tie_word_embeddings === true;
    const overrides: Partial<Record<string, WeightDtype>> = options.moduleDtypes;
    const dtypeOf = (name: string): WeightDtype => {
      const m = tied && moduleOf(name) === 'embed' ? 'lm_head' : moduleOf(name);
      return overrides[m] ?? options.dtype;
    };
    const file = new SafetensorsFile(c.weights);
    // Only the inputs of int8 / int4 matrices are quantized.
    const quantized = new WeakSet<Float64Array>();
    const dequantized = weightsAs(file, dtypeOf);
    const get: Tensors = (name) => {
      const w = dequantized(name);
      if (dtypeOf(name) === 'q8' || dtypeOf(name) === 'q4') quantized.add(w);
      return w;
    };
    const ref = withLinearInputs((x, w) => (quantized.has(w) ? quantDequantAct(x) : x), () => r.reference(get, IDS));
    const heap0 = kernelHeapBytes();
    const model = await loadCausalLM({ config: c.config, weights: c.weights }, { kernels: true, ...options });
    expect(model.info.dtype).toBe(options.dtype);
    expect(relErr(logitsOf(model, [IDS], { allPositions: true }), ref)).toBeLessThan(TOL);
    model.dispose();
    expect(kernelHeapBytes()).toBe(heap0);
  });
});

describe('threads', () => {
  afterAll(async () => {
    await setKernelThreads(1);
  });
  test.each(['q8', 'q4', 'bf16'] as const)('%s: 2 threads give the same bytes as 1 (prefill and decode)', async (dtype) => {
    const c = referenceCases()[1]!.checkpoint;
    const model = await loadCausalLM({ config: c.config, weights: c.weights }, { kernels: true, dtype });
    const run = (): Float32Array[] => {
      const cache = model.createCache(1, 16);
      const out = [logitsOf(model, [IDS.slice(0, 5)], { cache }), logitsOf(model, [[IDS[5]!]], { cache })];
      cache.dispose();
      return out;
    };
    await setKernelThreads(1);
    const one = run();
    await setKernelThreads(2);
    const two = run();
    model.dispose();
    expect(two).toEqual(one);
  });
});

describe('dtype bookkeeping', () => {
  test('memory() reports the packed bytes: bf16 ~ 1/2, q8 ~ 1.125/4, q4 ~ 0.625/4 of fp32', async () => {
    const c = tinyDecoders().find((x) => x.name.startsWith('gpt_neox'))!;
    const bytes: Record<string, number> = {};
    for (const dtype of ['fp32', 'bf16', 'q8', 'q4'] as const) {
      const m = await loadCausalLM({ config: c.config, weights: c.weights }, { kernels: true, dtype });
      expect(m.info.dtype).toBe(dtype);
      expect(m.memory().tfjsBytes).toBe(0);
      bytes[dtype] = m.memory().kernelBytes;
      m.dispose();
    }
    // Norms, biases and scratch stay fp32, so the ratios sit a little above the matrices' own.
    const ratio = (d: string): number => bytes[d]! / bytes.fp32!;
    expect(ratio('bf16')).toBeGreaterThan(0.5);
    expect(ratio('bf16')).toBeLessThan(0.75);
    expect(ratio('q8')).toBeLessThan(ratio('bf16'));
    expect(ratio('q4')).toBeLessThan(ratio('q8'));
  });

  test('a quantized dtype without the kernels is a typed ConfigError naming the backend and the dtype; bad names too', async () => {
    const c = tinyDecoders()[0]!;
    const src = { config: c.config, weights: c.weights };
    const tensors0 = tf.memory().numTensors;
    const heap0 = kernelHeapBytes();
    await expect(loadCausalLM(src, { kernels: false, dtype: 'q4' })).rejects.toThrow(ConfigError);
    await expect(loadCausalLM(src, { kernels: false, dtype: 'q4' })).rejects.toThrow(/dtype 'q4' cannot run on backend 'cpu'/);
    await expect(loadCausalLM(src, { kernels: false, moduleDtypes: { lm_head: 'q8' } })).rejects.toThrow(/dtype 'q8' cannot run on backend 'cpu'/);
    await expect(loadCausalLM(src, { dtype: 'int4' as never })).rejects.toThrow(/"int4" is not a weight dtype/);
    // tiny llama ties its head: differing embed / lm_head dtypes are refused, nothing stays allocated
    await expect(loadCausalLM(src, { kernels: true, moduleDtypes: { embed: 'q8', lm_head: 'q4' } })).rejects.toThrow(/must be equal/);
    expect(tf.memory().numTensors).toBe(tensors0);
    expect(kernelHeapBytes()).toBe(heap0);
  });
});
