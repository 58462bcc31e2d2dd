/**
 * The decoder-only transformer every supported architecture runs on: pre-norm blocks with fused
 * q/k/v, RoPE or learned positions, grouped KV heads, gated (SwiGLU) or plain MLP, sequential or
 * parallel residual, a KV cache, batches with left padding.
 * Ref: transformers LlamaForCausalLM, GPT2LMHeadModel, GPTNeoXForCausalLM (forward semantics).
 */
import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../core/errors';
import type { ModelConfig, HiddenAct } from './config';
import type { CausalLM, CausalLMInfo, ForwardOptions, KVCache } from './types';
import { DecoderKVCache } from './kv_cache';
import { applyRope, ropeTables } from './rope';
import { groupedAttention, MASKED } from './attention';
import { allTensors, type DecoderWeights, type NormWeights } from './weights';
import { KernelDecoder, type KernelDecoderOptions } from './kernel_decoder';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

function activate(x: tf.Tensor2D, act: HiddenAct): tf.Tensor2D {
  switch (act) {
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    case 'relu':
      return tf.relu(x);
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    default: {
      // gelu_new / gelu_fast / gelu_pytorch_tanh: the tanh approximation.
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI);
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
    }
  }
}

function norm(x: tf.Tensor2D, w: NormWeights, kind: 'rms' | 'layer', eps: number): tf.Tensor2D {
  if (kind === 'rms') {
    const ms = tf.mean(tf.square(x), -1, true); // (N, 1)
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w.gamma) as tf.Tensor2D;
  }
  const { mean, variance } = tf.moments(x, -1, true); // (N, 1) each
  const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return w.beta ? tf.add(tf.mul(y, w.gamma), w.beta) : tf.mul(y, w.gamma);
}

function dense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D | undefined): tf.Tensor2D {
  const y = tf.matMul(x, w) as tf.Tensor2D;
  return b ? (tf.add(y, b) as tf.Tensor2D) : y;
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

  forward(ids: number[][], options: ForwardOptions = {}): tf.Tensor {
    if (this.disposed) throw new ShapeError('forward: model used after dispose()');
    if (this.kernel) return this.kernel.forward(ids, options);
    const cfg = this.config;
    const b = ids.length;
    const t = ids[0]?.length ?? 0;
    if (b === 0 || t === 0) throw new ShapeError(`forward: ids must be a non-empty [batch][tokens] array, got [${b}][${t}]`);
    for (const [i, row] of ids.entries()) {
      if (row.length !== t) throw new ShapeError(`forward: ids row ${i} has ${row.length} tokens, expected ${t} (rows must be equal; left-pad)`);
      for (const id of row) {
        if (!Number.isInteger(id) || id < 0 || id >= cfg.vocabSize) throw new ShapeError(`forward: token id ${id} in row ${i} is outside [0, ${cfg.vocabSize})`);
      }
    }
    const cache = options.cache;
    if (cache !== undefined && !(cache instanceof DecoderKVCache)) throw new ShapeError('forward: cache was not created by this model');
    if (cache && cache.batchSize !== b) throw new ShapeError(`forward: cache holds ${cache.batchSize} sequences, ids has ${b}`);
    const past = cache?.length ?? 0;
    const total = past + t;
    if (cache && total > cache.maxLength) throw new ShapeError(`forward: ${total} positions exceed the cache's maxLength ${cache.maxLength}`);
    if (total > cfg.maxPositions) throw new ShapeError(`forward: ${total} positions exceed the model's ${cfg.maxPositions}`);
    const mask = options.attentionMask;
    if (mask) {
      if (mask.length !== b || mask.some((r) => r.length !== total)) {
        throw new ShapeError(`forward: attentionMask must be [${b}][${total}] (past + new positions), got [${mask.length}][${mask[0]?.length ?? 0}]`);
      }
    }

    // Positions per new token: count of real tokens before it (HF: cumsum(mask) - 1, pads -> 1).
    const positions = new Int32Array(b * t);
    for (let i = 0; i < b; i++) {
      let seen = 0;
      const row = mask?.[i];
      for (let s = 0; s < total; s++) {
        const real = row ? row[s] !== 0 : true;
        if (real) seen++;
        if (s >= past) positions[i * t + s - past] = real ? seen - 1 : 1;
      }
    }
    // Additive mask (B, 1, T, S): causal plus padding; skipped when everything is visible.
    const window = this.config.slidingWindow;
    let needMask = t > 1 || (mask?.some((r) => r.some((m) => m === 0)) ?? false) || (window !== undefined && total > window);
    let maskData: Float32Array | null = null;
    if (needMask) {
      maskData = new Float32Array(b * t * total);
      needMask = false;
      for (let i = 0; i < b; i++) {
        for (let q = 0; q < t; q++) {
          for (let s = 0; s < total; s++) {
            const visible =
              s <= past + q && (window === undefined || s > past + q - window) && (mask ? mask[i]![s] !== 0 : true);
            if (!visible) {
              maskData[(i * t + q) * total + s] = MASKED;
              needMask = true;
            }
          }
        }
      }
    }

    const newKV: tf.Tensor4D[] = [];
    let logits: tf.Tensor;
    try {
      logits = tf.tidy(() => {
      const w = this.weights;
      const d = cfg.hiddenSize;
      const n = b * t;
      const idT = tf.tensor1d(Int32Array.from(ids.flat()), 'int32');
      let x: tf.Tensor2D = w.embed
        ? tf.gather(w.embed, idT) // (N, D)
        : tf.transpose(tf.gather(w.lmHead, idT, 1)); // (D, N) -> (N, D)
      if (w.positions) x = tf.add(x, tf.gather(w.positions, tf.tensor1d(positions, 'int32')));
      let cos: tf.Tensor4D | null = null;
      let sin: tf.Tensor4D | null = null;
      if (cfg.rope) {
        // dynamic NTK scaling follows the longest real position (HF: max(position_ids) + 1), not padding
        let maxPos = 0;
        for (const pos of positions) maxPos = Math.max(maxPos, pos);
        const tables = ropeTables(cfg.rope, positions, maxPos + 1);
        const half = cfg.rope.rotaryDim / 2;
        cos = tf.tensor4d(tables.cos, [b, t, 1, half]); // (B, T, 1, rot/2)
        sin = tf.tensor4d(tables.sin, [b, t, 1, half]); // (B, T, 1, rot/2)
      }
      const maskT = needMask && maskData ? tf.tensor4d(maskData, [b, 1, t, total]) : null; // (B, 1, T, S)
      const hq = cfg.numHeads;
      const hkv = cfg.numKVHeads;
      const hd = cfg.headDim;
      const scale = 1 / Math.sqrt(hd);
      const { kind, eps } = cfg.norm;
      const gated = w.gatedMlp;

      for (const [l, blk] of w.blocks.entries()) {
        const h = norm(x, blk.norm1, kind, eps);
        const qkv = dense(h, blk.qkv, blk.qkvBias); // (N, (hq + 2 hkv) hd)
          const [qf, kf, vf] = tf.split(qkv, [hq * hd, hkv * hd, hkv * hd], 1);
        let q = tf.reshape(qf!, [b, t, hq, hd]) as tf.Tensor4D; // (B, T, hq, hd)
        let k = tf.reshape(kf!, [b, t, hkv, hd]) as tf.Tensor4D; // (B, T, hkv, hd)
        const v = tf.reshape(vf!, [b, t, hkv, hd]) as tf.Tensor4D; // (B, T, hkv, hd)
        if (cos && sin && cfg.rope) {
          q = applyRope(q, cos, sin, cfg.rope.rotaryDim);
          k = applyRope(k, cos, sin, cfg.rope.rotaryDim);
        }
        const qh = tf.transpose(q, [0, 2, 1, 3]); // (B, hq, T, hd)
        let kh = tf.transpose(k, [0, 2, 1, 3]); // (B, hkv, T, hd)
        let vh = tf.transpose(v, [0, 2, 1, 3]); // (B, hkv, T, hd)
        if (cache) {
          const pk = cache.keys(l);
          const pv = cache.values(l);
          if (pk && pv) {
            kh = tf.concat([pk, kh], 2); // (B, hkv, S, hd)
            vh = tf.concat([pv, vh], 2); // (B, hkv, S, hd)
          }
          newKV.push(tf.keep(kh), tf.keep(vh));
        }
        const att = tf.reshape(groupedAttention(qh, kh, vh, maskT, scale), [n, hq * hd]) as tf.Tensor2D; // (N, hq hd)
        const a = dense(att, blk.out, blk.outBias); // (N, D)
        const mlp = (input: tf.Tensor2D): tf.Tensor2D => {
          const u = dense(input, blk.up, blk.upBias);
          let hidden: tf.Tensor2D;
          if (gated) {
            const [gate, up] = tf.split(u, 2, 1); // (N, M) each
            hidden = tf.mul(activate(gate as tf.Tensor2D, cfg.hiddenAct), up as tf.Tensor2D);
          } else {
            hidden = activate(u, cfg.hiddenAct);
          }
          return dense(hidden, blk.down, blk.downBias);
        };
        if (cfg.parallelResidual) {
          x = tf.add(tf.add(x, a), mlp(norm(x, blk.norm2, kind, eps)));
        } else {
          x = tf.add(x, a);
          x = tf.add(x, mlp(norm(x, blk.norm2, kind, eps)));
        }
      }
      if (!options.allPositions) {
        x = tf.reshape(tf.slice(tf.reshape(x, [b, t, d]), [0, t - 1, 0], [b, 1, d]), [b, d]); // (B, D): last position
      }
      const out = tf.matMul(norm(x, w.finalNorm, kind, eps), w.lmHead); // (B or N, V)
      return options.allPositions ? tf.reshape(out, [b, t, cfg.vocabSize]) : out; // (B, T, V) or (B, V)
      });
    } catch (e) {
      tf.dispose(newKV); // kept K/V of the layers that ran before the failure
      throw e;
    }
    if (cache) {
      for (let l = 0; l < cfg.numLayers; l++) cache.store(l, newKV[2 * l]!, newKV[2 * l + 1]!);
      cache.advance(t);
    }
    return logits;
  }

  dispose(): void {
    if (this.disposed) return;
    for (const t of allTensors(this.weights)) t.dispose();
    this.kernel?.dispose();
    this.kernel = null;
    this.disposed = true;
  }
}
