/**
 * The wasm-kernel decoder against the tfjs op chain (the reference, `kernels: false`) on the same
 * weights, for every architecture: logits within 1e-5 relative (prefill of every position, left-padded
 * batches, KV-cache decode), equal greedy tokens, 1 and 2 threads identical, tf.memory() and the kernel
 * heap back to baseline after dispose, typed out-of-memory errors.
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backends';
import { OutOfMemoryError } from '../src/core/errors';
import { KernelHeap } from '../src/kernels/heap';
import { kernelHeapBytes, kernelRuntime, setKernelThreads } from '../src/kernels/runtime';
import { uploadKernelWeights } from '../src/transformer/kernel_weights';
import type { DecoderLM } from '../src/transformer/model';
import type { DecoderWeights } from '../src/transformer/weights';
import { loadCausalLM } from '../loaders/pretrained';
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

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

const load = (c: TinyCheckpoint, kernels: boolean): Promise<DecoderLM> => loadCausalLM({ config: c.config, weights: c.weights }, { kernels });

/** Logits of `forward` as a host array (tensor disposed). */
function run(model: DecoderLM, ids: number[][], options: Parameters<DecoderLM['forward']>[1] = {}): Float32Array {
  const t = model.forward(ids, options);
  const d = t.dataSync() as Float32Array;
  t.dispose();
  return d;
}

/** Prompt [2][7], row 1 left-padded by 3. */
const IDS = [[3, 17, 5, 40, 9, 22, 1], [0, 0, 0, 8, 31, 2, 14]];
const MASK = [[1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1]];
const TOL = 1e-5;

/** Greedy decode of 6 steps through the cache; returns tokens and every step's logits. */
function greedy(model: DecoderLM, vocab: number): { tokens: number[][]; steps: Float32Array[] } {
  const cache = model.createCache(2, 16);
  const mask = MASK.map((r) => [...r]);
  let logits = run(model, IDS, { cache, attentionMask: mask });
  const tokens: number[][] = [[], []];
  const steps = [logits];
  for (let s = 0; s < 6; s++) {
    const next = [0, 1].map((b) => argmax(logits.subarray(b * vocab, (b + 1) * vocab)));
    next.forEach((id, b) => tokens[b]!.push(id));
    mask.forEach((r) => r.push(1));
    logits = run(model, next.map((id) => [id]), { cache, attentionMask: mask });
    steps.push(logits);
  }
  cache.dispose();
  return { tokens, steps };
}

describe.each(['cpu', 'wasm'] as const)('kernel decoder on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend, { threads: 1 });
  });
  afterAll(async () => {
    await setKernelThreads(1);
  });

  test.each(tinyDecoders().map((c) => [c.name, c] as const))('%s: kernels equal the tfjs op chain', async (_name, c) => {
    const tensors0 = tf.memory().numTensors;
    const heap0 = kernelHeapBytes();
    const ref = await load(c, false);
    const ker = await load(c, true);
    expect(ref.kernelsActive).toBe(false);
    expect(ker.kernelsActive).toBe(true);
    expect(tf.getBackend()).toBe(backend); // the load ran on cpu and switched back
    expect(ker.info.dtype).toBe('fp32');
    expect(ker.memory().tfjsBytes).toBe(0);
    expect(ker.memory().kernelBytes).toBeGreaterThanOrEqual(ref.weightBytes);
    const V = ref.info.vocabSize;
    const T = IDS[0]!.length;

    // prefill, every position, unpadded row
    const one = [IDS[0]!];
    expect(relErr(run(ker, one, { allPositions: true }), run(ref, one, { allPositions: true }))).toBeLessThan(TOL);
    // left-padded batch: every real position of both rows
    const a = run(ker, IDS, { attentionMask: MASK, allPositions: true });
    const b = run(ref, IDS, { attentionMask: MASK, allPositions: true });
    for (let i = 0; i < 2; i++) {
      for (let t = 0; t < T; t++) {
        if (MASK[i]![t] === 0) continue;
        const at = (i * T + t) * V;
        expect(relErr(a.subarray(at, at + V), b.subarray(at, at + V))).toBeLessThan(TOL);
      }
    }
    // KV-cache decode: same greedy tokens, logits of each step within tolerance
    const gk = greedy(ker, V);
    const gr = greedy(ref, V);
    expect(gk.tokens).toEqual(gr.tokens);
    gk.steps.forEach((s, i) => expect(relErr(s, gr.steps[i]!)).toBeLessThan(TOL));

    // 2 threads: the same bytes
    await setKernelThreads(2);
    const two = greedy(ker, V);
    expect(two.tokens).toEqual(gk.tokens);
    two.steps.forEach((s, i) => expect(s).toEqual(gk.steps[i]));
    await setKernelThreads(1);

    ref.dispose();
    ker.dispose();
    expect(tf.memory().numTensors).toBe(tensors0);
    expect(kernelHeapBytes()).toBe(heap0);
  });

  test('a model or cache that does not fit is a typed OutOfMemoryError naming the bytes; nothing stays allocated', async () => {
    const c = tinyDecoders()[0]!;
    const ref = await load(c, false);
    const before = tf.memory().numTensors;
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
    const small = new KernelHeap(memory, 0, 4096);
    const weights = (ref as unknown as { weights: DecoderWeights }).weights;
    expect(() => uploadKernelWeights(small, kernelRuntime().exports, weights, 'fp32')).toThrow(OutOfMemoryError);
    expect(() => uploadKernelWeights(small, kernelRuntime().exports, weights, 'fp32')).toThrow(/the model weights needs \d+ bytes/);
    expect(small.allocatedBytes).toBe(0);
    expect(tf.memory().numTensors).toBe(before); // the tfjs weights were not touched
    ref.dispose();

    const ker = await load(c, true);
    const heap0 = kernelHeapBytes();
    expect(() => ker.createCache(4_000_000, 64)).toThrow(OutOfMemoryError);
    expect(kernelHeapBytes()).toBe(heap0);
    ker.dispose();
  });
});
