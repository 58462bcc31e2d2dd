/**
 * The fused decoder engine: runs a {@link DecoderLM}'s forward pass on loom-tfjs's own wasm kernels
 * (src/kernels) for every architecture (llama / mistral incl. sliding window / qwen2 biases, gpt2
 * learned positions + LayerNorm + gelu, gpt_neox parallel residual + partial rotary), with left-padded
 * batches, prefill (M = batch x tokens > 1, threaded GEMM) and KV-cache decode (GEMV).
 *
 * Per layer 8 module calls (9 with a plain MLP's separate activation, + activation quantization for
 * q8/q4): norm; qkv linear; RoPE + KV append; attention over the preallocated cache; out-proj with the
 * residual add fused; norm; up (gate|up) linear; SiLU/GELU (x up); down with the residual add fused.
 * Weights, caches and activations stay in module memory; only the logits cross back, as a tf.Tensor.
 * The tfjs op chain in model.ts stays the reference these kernels are tested against.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../core/errors';
import { checkStep, tokenPositions } from './positions';
import type { WeightDtype } from '../kernels/quantize';
import { planQuantizesActivations, resolveDtypePlan, type DtypePlan, type ModuleDtypes } from '../kernels/dtype_plan';
import { OP } from '../kernels/pool';
import { kernelRuntime, type KernelRuntime } from '../kernels/runtime';
import type { ModelConfig } from './config';
import { KernelKVCache } from './kernel_cache';
import { freeKernelWeights, uploadKernelWeights, type KernelMatrix, type KernelModelWeights, type KernelNorm } from './kernel_weights';
import { ropeTables } from './rope';
import type { ForwardOptions } from './types';
import type { DecoderWeights } from './weights';

/** Longest head the attention kernel takes (its query scratch in attention.c). */
export const MAX_KERNEL_HEAD_DIM = 512;

/** Why the kernels cannot run `config` (undefined when they can). */
export function kernelUnsupportedReason(config: ModelConfig): string | undefined {
  if (config.headDim > MAX_KERNEL_HEAD_DIM) return `head_dim ${config.headDim} exceeds the attention kernel's ${MAX_KERNEL_HEAD_DIM}`;
  return undefined;
}

/** Options of the kernel engine. */
export interface KernelDecoderOptions {
  /** Storage format of the weight matrices in module memory (default fp32). */
  readonly dtype?: WeightDtype;
  /** Per-module overrides of `dtype` (src/kernels/dtype_plan.ts). */
  readonly moduleDtypes?: ModuleDtypes;
}

/** Work (multiply-adds) under which a job runs on the calling thread alone (one pool chunk). */
const SOLO_UNITS = 65536;

const ACT_CODE: Record<string, number> = { silu: 0, relu: 1, gelu: 2 };
const f32Bits = new Float32Array(1);
const i32Bits = new Int32Array(f32Bits.buffer);
const floatBits = (v: number): number => {
  f32Bits[0] = v;
  return i32Bits[0]!;
};

/** The decoder on the kernels. Owns its module memory; {@link dispose} frees it. */
export class KernelDecoder {
  readonly dtype: WeightDtype;
  /** The dtype of every module. */
  readonly dtypePlan: DtypePlan;
  private readonly rt: KernelRuntime;
  private w: KernelModelWeights | null;
  private arena = 0;
  private arenaBytes = 0;

  /**
   * Moves `weights` into module memory (each tf tensor is disposed once copied).
   * @throws OutOfMemoryError when they do not fit the kernel heap; ConfigError for a dtype without kernels.
   */
  constructor(
    readonly config: ModelConfig,
    weights: DecoderWeights,
    options: KernelDecoderOptions = {},
  ) {
    this.rt = kernelRuntime();
    this.dtypePlan = resolveDtypePlan(options, !weights.embed);
    this.dtype = this.dtypePlan.dtype;
    this.w = uploadKernelWeights(this.rt.heap, this.rt.exports, weights, this.dtypePlan);
  }

  /** Bytes this model holds in the kernel heap (weights + activation scratch; caches count separately). */
  get kernelBytes(): number {
    return (this.w?.bytes ?? 0) + this.arenaBytes;
  }

  /** A KV cache in module memory. */
  createCache(batchSize: number, maxLength: number): KernelKVCache {
    const c = this.config;
    if (maxLength > c.maxPositions) throw new ShapeError(`createCache: maxLength ${maxLength} exceeds the model's ${c.maxPositions} positions`);
    return new KernelKVCache(this.rt.heap, this, batchSize, maxLength, c.numLayers, c.numKVHeads, c.headDim);
  }

  /** Same contract and checks as `DecoderLM.forward` (see CausalLM.forward). */
  forward(ids: number[][], options: ForwardOptions = {}): tf.Tensor {
    const w = this.w;
    if (!w) throw new ShapeError('forward: model used after dispose()');
    const cache = options.cache;
    if (cache !== undefined && !(cache instanceof KernelKVCache && cache.owner === this)) throw new ShapeError('forward: cache was not created by this model');
    if (cache?.isDisposed) throw new ShapeError('KV cache: used after dispose()');
    const mask = options.attentionMask;
    const shape = checkStep(this.config, ids, cache, mask);
    const { newTokens: t, past } = shape;
    // Positions per new token: count of real tokens before it (HF: cumsum(mask) - 1, pads -> 1).
    const positions = tokenPositions(shape, mask);
    let maxPos = 0;
    for (const pos of positions) maxPos = Math.max(maxPos, pos);
    const logits = this.run(w, ids, positions, maxPos, mask, cache ?? null, past, options.allPositions === true);
    cache?.advance(t);
    return logits;
  }

  private run(w: KernelModelWeights, ids: number[][], positions: Int32Array, maxPos: number, mask: number[][] | undefined, cache: KernelKVCache | null, past: number, all: boolean): tf.Tensor {
    const cfg = this.config;
    const { exports: ex, heap } = this.rt;
    const pool = this.rt.pool;
    const B = ids.length;
    const T = ids[0]!.length;
    const M = B * T;
    const total = past + T;
    const D = cfg.hiddenSize;
    const hq = cfg.numHeads;
    const hkv = cfg.numKVHeads;
    const hd = cfg.headDim;
    const F = cfg.intermediateSize;
    const V = cfg.vocabSize;
    const width = (hq + 2 * hkv) * hd;
    const A = hq * hd;
    const U = w.gatedMlp ? 2 * F : F;
    const R = all ? M : B;
    const rot = cfg.rope?.rotaryDim ?? 0;
    const half = rot / 2;
    const quant = planQuantizesActivations(this.dtypePlan);
    const maxK = Math.max(D, A, F);

    // Activation scratch, carved from one arena (grown when a call needs more).
    const sizes = {
      x: M * D * 4, h: M * D * 4, h2: cfg.parallelResidual ? M * D * 4 : 0, qkv: M * width * 4, att: M * A * 4, u: M * U * 4,
      g: w.gatedMlp ? M * F * 4 : 0, logits: R * V * 4, cos: M * half * 4, sin: M * half * 4, mask: B * total,
      scores: B * hq * total * 4, kt: cache ? 0 : B * hkv * T * hd * 4, vt: cache ? 0 : B * hkv * T * hd * 4,
      xq: quant ? M * maxK : 0, xs: quant ? M * Math.ceil(maxK / 32) * 4 : 0,
    };
    let need = 0;
    for (const v of Object.values(sizes)) need += Math.ceil(v / 64) * 64 + 64;
    if (need > this.arenaBytes) {
      heap.release(this.arena);
      this.arena = 0;
      this.arenaBytes = 0;
      this.arena = heap.alloc(need, 'activations');
      this.arenaBytes = need;
    }
    let at = this.arena;
    const p = {} as Record<keyof typeof sizes, number>;
    for (const [k, v] of Object.entries(sizes) as [keyof typeof sizes, number][]) {
      p[k] = at;
      at += Math.ceil(v / 64) * 64 + 64;
    }

    // Inputs: mask bytes, RoPE tables, embeddings (+ learned positions).
    const u8 = heap.u8();
    for (let i = 0; i < B; i++) {
      const row = mask?.[i];
      for (let s = 0; s < total; s++) u8[p.mask + i * total + s] = row ? (row[s] !== 0 ? 1 : 0) : 1;
    }
    if (cfg.rope) {
      const tables = ropeTables(cfg.rope, positions, maxPos + 1);
      const f = heap.f32();
      f.set(tables.cos, p.cos >> 2);
      f.set(tables.sin, p.sin >> 2);
    }
    for (let i = 0; i < B; i++) {
      for (let j = 0; j < T; j++) {
        const m = i * T + j;
        this.embedRow(w.embed, ids[i]![j]!, p.x + m * D * 4);
        if (w.positions) ex.loom_add(p.x + m * D * 4, w.positions + positions[m]! * D * 4, D);
      }
    }

    const { kind, eps } = cfg.norm;
    const norm = (src: number, rows: number, n: KernelNorm, dst: number): void => {
      if (kind === 'rms') ex.loom_rms_norm(src, rows, D, n.gamma, eps, dst);
      else ex.loom_layer_norm(src, rows, D, n.gamma, n.beta, eps, dst);
    };
    const linear = (x: number, rows: number, mat: KernelMatrix, bias: number, y: number, acc: boolean): void => {
      const K = mat.cols;
      const N = mat.rows;
      // Row blocks of the kernels: 8 rows of W per pass in the fp32/bf16 GEMV, 4 in the integer ones.
      const { chunk, nchunks } = pool.split(N, mat.dtype === 'fp32' || mat.dtype === 'bf16' ? 8 : 4);
      switch (mat.dtype) {
        case 'fp32':
          pool.run(OP.linearF32, chunk, nchunks, [x, rows, K, mat.w, bias, y, N, acc ? 1 : 0]);
          return;
        case 'bf16':
          pool.run(OP.linearBf16, chunk, nchunks, [x, rows, K, mat.w, bias, y, N, acc ? 1 : 0]);
          return;
        default: {
          // A few rows quantize faster on this thread than a wake of the workers takes.
          const s = rows * K < SOLO_UNITS ? { chunk: rows, nchunks: 1 } : pool.split(rows, 1);
          pool.run(OP.quantizeQ8, s.chunk, s.nchunks, [x, rows, K, p.xq, p.xs]);
          pool.run(mat.dtype === 'q8' ? OP.linearQ8 : OP.linearQ4, chunk, nchunks, [p.xq, p.xs, rows, K, mat.wq, mat.ws, bias, y, N, acc ? 1 : 0]);
        }
      }
    };
    const act = cfg.hiddenAct in ACT_CODE ? ACT_CODE[cfg.hiddenAct]! : 3;
    const window = cfg.slidingWindow ?? 0;
    const scale = floatBits(1 / Math.sqrt(hd));
    // Attention over a short cache (decode) is a few microseconds: one thread, no wake.
    const heads = B * T * total * hq * hd < SOLO_UNITS * 4 ? { chunk: B * hq, nchunks: 1 } : pool.split(B * hq, 1);

    for (const [l, blk] of w.blocks.entries()) {
      const kc = cache ? cache.keys[l]! : p.kt;
      const vc = cache ? cache.values[l]! : p.vt;
      const maxLen = cache ? cache.maxLength : T;
      norm(p.x, M, blk.norm1, p.h);
      if (cfg.parallelResidual) norm(p.x, M, blk.norm2, p.h2);
      linear(p.h, M, blk.qkv, blk.qkvBias, p.qkv, false);
      ex.loom_rope_append(p.qkv, B, T, hq, hkv, hd, rot, p.cos, p.sin, kc, vc, maxLen, past);
      pool.run(OP.attention, heads.chunk, heads.nchunks, [p.qkv, B, T, hq, hkv, hd, kc, vc, maxLen, past, p.mask, window, scale, p.scores, p.att]);
      linear(p.att, M, blk.out, blk.outBias, p.x, true);
      const mlpIn = cfg.parallelResidual ? p.h2 : p.h;
      if (!cfg.parallelResidual) norm(p.x, M, blk.norm2, p.h);
      linear(mlpIn, M, blk.up, blk.upBias, p.u, false);
      if (w.gatedMlp) {
        ex.loom_glu(p.u, M, F, act, p.g);
        linear(p.g, M, blk.down, blk.downBias, p.x, true);
      } else {
        ex.loom_act(p.u, M * F, act);
        linear(p.u, M, blk.down, blk.downBias, p.x, true);
      }
    }

    // Last position of each sequence (or every position), final norm, LM head.
    if (all) norm(p.x, M, w.finalNorm, p.h);
    else {
      const f = heap.f32();
      for (let i = 0; i < B; i++) f.copyWithin((p.h >> 2) + i * D, (p.x >> 2) + (i * T + T - 1) * D, (p.x >> 2) + (i * T + T) * D);
      norm(p.h, B, w.finalNorm, p.h);
    }
    linear(p.h, R, w.lmHead, 0, p.logits, false);
    const out = heap.f32().slice(p.logits >> 2, (p.logits >> 2) + R * V);
    return all ? tf.tensor3d(out, [B, T, V]) : tf.tensor2d(out, [B, V]);
  }

  private embedRow(m: KernelMatrix, row: number, out: number): void {
    const ex = this.rt.exports;
    const K = m.cols;
    switch (m.dtype) {
      case 'fp32': ex.loom_embed_row_f32(m.w, K, row, out); return;
      case 'bf16': ex.loom_embed_row_bf16!(m.w, K, row, out); return;
      case 'q8': ex.loom_embed_row_q8!(m.wq, m.ws, K, row, out); return;
      case 'q4': ex.loom_embed_row_q4!(m.wq, m.ws, K, row, out); return;
    }
  }

  /** Frees the weights and scratch in module memory (caches are freed by their own dispose). */
  dispose(): void {
    if (!this.w) return;
    freeKernelWeights(this.rt.heap, this.w);
    this.rt.heap.release(this.arena);
    this.arena = 0;
    this.arenaBytes = 0;
    this.w = null;
  }
}
