/**
 * The decoder-only transformer every supported architecture runs on: pre-norm blocks with fused
 * q/k/v, RoPE or learned positions, grouped KV heads, gated (SwiGLU) or plain MLP, sequential or
 * parallel residual, a KV cache, batches with left padding. The math is src/ops; this file wires it.
 * Ref: transformers LlamaForCausalLM, GPT2LMHeadModel, GPTNeoXForCausalLM (forward semantics).
 */
import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../core/errors';
import { geluErf, geluTanh, silu } from '../ops/activations';
import { appendKeyValues, groupedAttention, type KeyValues } from '../ops/grouped_attention';
import { layerNorm } from '../ops/layer_norm';
import { linear } from '../ops/linear';
import { applyRope } from '../ops/rope';
import { rmsNorm } from '../ops/rms_norm';
import type { ModelConfig, HiddenAct } from './config';
import type { CausalLM, CausalLMInfo, ForwardOptions, KVCache } from './types';
import { DecoderKVCache } from './kv_cache';
import { attentionMaskData, checkStep, tokenPositions, type StepShape } from './positions';
import { ropeTables } from './rope';
import { allTensors, type BlockWeights, type DecoderWeights, type NormWeights } from './weights';
import { KernelDecoder, type KernelDecoderOptions } from './kernel_decoder';

/** The MLP activation `act` (transformers' ACT2FN names). */
function activate(x: tf.Tensor2D, act: HiddenAct): tf.Tensor2D {
  switch (act) {
    case 'silu':
      return silu(x);
    case 'relu':
      return tf.relu(x);
    case 'gelu':
      return geluErf(x);
    default:
      // gelu_new / gelu_fast / gelu_pytorch_tanh: the tanh approximation.
      return geluTanh(x);
  }
}

/** The block norm of `kind` with weights `w`: (N, D) -> (N, D). */
function norm(x: tf.Tensor2D, w: NormWeights, kind: 'rms' | 'layer', eps: number): tf.Tensor2D {
  return kind === 'rms' ? rmsNorm(x, w.gamma, eps) : layerNorm(x, w.gamma, w.beta ?? null, eps);
}

/** One forward step's tensors shared by every block (all owned by the step's tidy). */
interface StepTensors {
  readonly shape: StepShape;
  /** (B, T, 1, rotaryDim / 2) each; null without RoPE. */
  readonly rope: { readonly cos: tf.Tensor4D; readonly sin: tf.Tensor4D } | null;
  /** Additive (B, 1, T, S); null when every key is visible. */
  readonly mask: tf.Tensor4D | null;
}

/** A loaded decoder-only causal LM. Built by the architecture files from a {@link DecoderWeights}. */
export class DecoderLM implements CausalLM {
  private infoNow: CausalLMInfo;
  private disposed = false;
  /** The wasm-kernel engine once {@link useKernels} moved the weights there; null: the tfjs op chain. */
  private kernel: KernelDecoder | null = null;

  constructor(
    readonly config: ModelConfig,
    private readonly weights: DecoderWeights,
    /** Parameters in the checkpoint tensors that were used. */
    readonly parameterCount: number,
  ) {
    const { modelType, vocabSize, maxPositions, eosTokenIds, bosTokenId, padTokenId, generationDefaults } = config;
    this.infoNow = {
      modelType, vocabSize, maxPositions, eosTokenIds, dtype: 'fp32',
      ...(bosTokenId !== undefined ? { bosTokenId } : {}),
      ...(padTokenId !== undefined ? { padTokenId } : {}),
      ...(generationDefaults !== undefined ? { generationDefaults } : {}),
    };
  }

  get info(): CausalLMInfo {
    return this.infoNow;
  }

  /**
   * Moves the weights into the wasm kernels' memory (each tf tensor is freed once copied) and runs
   * `forward` / `createCache` there from now on (src/transformer/kernel_decoder.ts). No-op when on already.
   * @throws OutOfMemoryError when the weights do not fit the kernel heap (the model stays on tfjs).
   */
  useKernels(options: KernelDecoderOptions = {}): void {
    if (this.kernel || this.disposed) return;
    this.kernel = new KernelDecoder(this.config, this.weights, options);
    this.infoNow = { ...this.infoNow, dtype: this.kernel.dtype };
  }

  /** True when forward runs on the wasm kernels. */
  get kernelsActive(): boolean {
    return this.kernel !== null;
  }

  /**
   * Bytes this model holds: `tfjsBytes` in live tfjs weight tensors (0 once on the kernels),
   * `kernelBytes` in the kernel module's heap (weights + activation scratch; KV caches not included).
   */
  memory(): { tfjsBytes: number; kernelBytes: number } {
    const tfjsBytes = allTensors(this.weights).reduce((n, t) => n + (t.isDisposed ? 0 : t.size * 4), 0);
    return { tfjsBytes, kernelBytes: this.kernel?.kernelBytes ?? 0 };
  }

  createCache(batchSize: number, maxLength: number): KVCache {
    if (this.disposed) throw new ShapeError('createCache: model used after dispose()');
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new ShapeError(`createCache: batchSize ${batchSize} must be a positive integer`);
    if (!Number.isSafeInteger(maxLength) || maxLength < 1) throw new ShapeError(`createCache: maxLength ${maxLength} must be a positive integer`);
    if (this.kernel) return this.kernel.createCache(batchSize, maxLength);
    if (maxLength > this.config.maxPositions) {
      throw new ShapeError(`createCache: maxLength ${maxLength} exceeds the model's ${this.config.maxPositions} positions`);
    }
    return new DecoderKVCache(batchSize, maxLength, this.config.numLayers);
  }

  /** Bytes of the weight tensors (float32). */
  get weightBytes(): number {
    return allTensors(this.weights).reduce((n, t) => n + t.size * 4, 0);
  }

  /**
   * Logits for the new tokens `ids` (B rows of T), extending `options.cache` when given:
   * positions, mask, embeddings, blocks, head.
   * @returns (B, V), or (B, T, V) with `allPositions`
   * @throws ShapeError for ragged or out-of-range ids, a foreign or full cache, or a bad mask.
   */
  forward(ids: number[][], options: ForwardOptions = {}): tf.Tensor {
    if (this.disposed) throw new ShapeError('forward: model used after dispose()');
    if (this.kernel) return this.kernel.forward(ids, options); // validates the same way (kernel_decoder.ts)
    const shape = this.checkStep(ids, options);
    const cache = options.cache as DecoderKVCache | undefined;
    const positions = tokenPositions(shape, options.attentionMask);
    const maskData = attentionMaskData(shape, options.attentionMask, this.config.slidingWindow);
    const kept: KeyValues[] = [];
    let logits: tf.Tensor;
    try {
      logits = tf.tidy(() => {
        const step: StepTensors = { shape, rope: this.ropeTensors(shape, positions), mask: maskData ? tf.tensor4d(maskData, [shape.batch, 1, shape.newTokens, shape.past + shape.newTokens]) : null };
        let x = this.embed(ids, positions); // (N, D), N = B*T
        for (const [l, blk] of this.weights.blocks.entries()) {
          const past = cache ? this.pastKeyValues(cache, l) : null;
          x = this.block(x, blk, step, past, cache ? (kv) => kept.push({ keys: tf.keep(kv.keys), values: tf.keep(kv.values) }) : null);
        }
        return this.head(x, shape, options.allPositions === true);
      });
    } catch (e) {
      for (const kv of kept) tf.dispose([kv.keys, kv.values]); // kept K/V of the layers that ran before the failure
      throw e;
    }
    if (cache) {
      for (const [l, kv] of kept.entries()) cache.store(l, kv.keys, kv.values);
      cache.advance(shape.newTokens);
    }
    return logits;
  }

  /** Validates one step's ids, cache and mask. @returns its geometry. @throws ShapeError */
  private checkStep(ids: number[][], options: ForwardOptions): StepShape {
    const cache = options.cache;
    if (cache !== undefined && !(cache instanceof DecoderKVCache)) throw new ShapeError('forward: cache was not created by this model');
    return checkStep(this.config, ids, cache, options.attentionMask);
  }

  /** RoPE cos/sin (B, T, 1, rotaryDim/2) for `positions`, or null without RoPE. */
  private ropeTensors(shape: StepShape, positions: Int32Array): StepTensors['rope'] {
    const rope = this.config.rope;
    if (!rope) return null;
    // dynamic NTK scaling follows the longest real position (HF: max(position_ids) + 1), not padding
    let maxPos = 0;
    for (const pos of positions) maxPos = Math.max(maxPos, pos);
    const tables = ropeTables(rope, positions, maxPos + 1);
    const dims: [number, number, number, number] = [shape.batch, shape.newTokens, 1, rope.rotaryDim / 2];
    return { cos: tf.tensor4d(tables.cos, dims), sin: tf.tensor4d(tables.sin, dims) };
  }

  /** Token embeddings (plus learned positions): (N, D). */
  private embed(ids: number[][], positions: Int32Array): tf.Tensor2D {
    const w = this.weights;
    const idT = tf.tensor1d(Int32Array.from(ids.flat()), 'int32'); // (N)
    let x: tf.Tensor2D = w.embed
      ? tf.gather(w.embed, idT) // (N, D)
      : tf.transpose(tf.gather(w.lmHead, idT, 1)); // (D, N) -> (N, D)
    if (w.positions) x = tf.add(x, tf.gather(w.positions, tf.tensor1d(positions, 'int32')));
    return x;
  }

  /** Cached keys/values of `layer`, or null before the first step. */
  private pastKeyValues(cache: DecoderKVCache, layer: number): KeyValues | null {
    const keys = cache.keys(layer);
    const values = cache.values(layer);
    return keys && values ? { keys, values } : null;
  }

  /**
   * One pre-norm block: x + attn(norm1(x)), then + mlp(norm2(.)) (GPT-NeoX: both from x).
   * @param x (N, D)
   * @param keep receives this layer's full K/V (B, hkv, S, hd) for the cache, or null without one
   * @returns (N, D)
   */
  private block(x: tf.Tensor2D, blk: BlockWeights, step: StepTensors, past: KeyValues | null, keep: ((kv: KeyValues) => void) | null): tf.Tensor2D {
    const { kind, eps } = this.config.norm;
    const a = this.attention(norm(x, blk.norm1, kind, eps), blk, step, past, keep); // (N, D)
    if (this.config.parallelResidual) return tf.add(tf.add(x, a), this.mlp(norm(x, blk.norm2, kind, eps), blk));
    const h: tf.Tensor2D = tf.add(x, a); // (N, D)
    return tf.add(h, this.mlp(norm(h, blk.norm2, kind, eps), blk));
  }

  /** Self-attention of normed `h` (N, D) over the cached and new positions: (N, D). */
  private attention(h: tf.Tensor2D, blk: BlockWeights, step: StepTensors, past: KeyValues | null, keep: ((kv: KeyValues) => void) | null): tf.Tensor2D {
    const { numHeads: hq, numKVHeads: hkv, headDim: hd, rope } = this.config;
    const { batch: b, newTokens: t } = step.shape;
    const qkv = linear(h, blk.qkv, blk.qkvBias); // (N, (hq + 2 hkv) hd)
    const [qf, kf, vf] = tf.split(qkv, [hq * hd, hkv * hd, hkv * hd], 1);
    let q = tf.reshape(qf!, [b, t, hq, hd]) as tf.Tensor4D; // (B, T, hq, hd)
    let k = tf.reshape(kf!, [b, t, hkv, hd]) as tf.Tensor4D; // (B, T, hkv, hd)
    const v = tf.reshape(vf!, [b, t, hkv, hd]) as tf.Tensor4D; // (B, T, hkv, hd)
    if (step.rope && rope) {
      q = applyRope(q, step.rope.cos, step.rope.sin, rope.rotaryDim);
      k = applyRope(k, step.rope.cos, step.rope.sin, rope.rotaryDim);
    }
    const fresh: KeyValues = {
      keys: tf.transpose(k, [0, 2, 1, 3]), // (B, hkv, T, hd)
      values: tf.transpose(v, [0, 2, 1, 3]), // (B, hkv, T, hd)
    };
    const kv = appendKeyValues(past, fresh); // (B, hkv, S, hd) each
    keep?.(kv);
    const qh = tf.transpose(q, [0, 2, 1, 3]) as tf.Tensor4D; // (B, hq, T, hd)
    const att = tf.reshape(groupedAttention(qh, kv.keys, kv.values, step.mask, 1 / Math.sqrt(hd)), [b * t, hq * hd]) as tf.Tensor2D; // (N, hq hd)
    return linear(att, blk.out, blk.outBias); // (N, D)
  }

  /** The MLP of normed `h` (N, D): down(act(gate) * up) when gated, else down(act(up)). (N, D). */
  private mlp(h: tf.Tensor2D, blk: BlockWeights): tf.Tensor2D {
    const u = linear(h, blk.up, blk.upBias); // (N, 2M) gated, (N, M) plain
    let hidden: tf.Tensor2D;
    if (this.weights.gatedMlp) {
      const [gate, up] = tf.split(u, 2, 1); // (N, M) each
      hidden = tf.mul(activate(gate as tf.Tensor2D, this.config.hiddenAct), up as tf.Tensor2D);
    } else {
      hidden = activate(u, this.config.hiddenAct);
    }
    return linear(hidden, blk.down, blk.downBias); // (N, D)
  }

  /** Final norm and LM head: (B, V) for the last position, or (B, T, V) for all. */
  private head(x: tf.Tensor2D, shape: StepShape, allPositions: boolean): tf.Tensor {
    const { batch: b, newTokens: t } = shape;
    const d = this.config.hiddenSize;
    const { kind, eps } = this.config.norm;
    const last = allPositions ? x : (tf.reshape(tf.slice(tf.reshape(x, [b, t, d]), [0, t - 1, 0], [b, 1, d]), [b, d]) as tf.Tensor2D); // (B, D)
    const out = tf.matMul(norm(last, this.weights.finalNorm, kind, eps), this.weights.lmHead); // (B or N, V)
    return allPositions ? tf.reshape(out, [b, t, this.config.vocabSize]) : out; // (B, T, V) or (B, V)
  }

  dispose(): void {
    if (this.disposed) return;
    for (const t of allTensors(this.weights)) t.dispose();
    this.kernel?.dispose();
    this.kernel = null;
    this.disposed = true;
  }
}
