/**
 * Multi-head self-attention as LOOM's CPU forward: input-major projections, grouped-query heads,
 * rotate-half RoPE, causal mask, row softmax, output projection. One sequence of
 * floor(len / dModel) tokens; the batch size is ignored, as in LOOM.
 * Ref: loom-spec/layers.md 3.3, gaps.md A3, B13 (our backward is exact autodiff).
 *
 * loom-tfjs extensions, stored in `record.ext` (absent = LOOM's behaviour):
 * `rope` (boolean, default true), `rope_theta` (number, default 1e6), `causal` (boolean, default true).
 */
import * as tf from '@tensorflow/tfjs';
import { concatFloat32 } from '../src/core/arrays';
import { ConfigError, LoomFormatError } from '../src/core/errors';
import { otherExt, readExt, writeExt, type ExtField } from '../src/core/layer_ext';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { activationFromInt, LayerType, type ActivationCode } from '../src/core/types';
import {
  makeVariable,
  readVariable,
  type ForwardContext,
  type GridLayer,
  type LayerKind,
  type LayerParam,
  type LayerSummary,
  type LoomGradients,
} from './layer';
import { causalMask, groupedAttention } from '../src/ops/grouped_attention';
import { linear } from '../src/ops/linear';
import { applyRope, LOOM_ROPE_THETA, loomRopeHalfTables, type RopeTables } from '../src/ops/rope';
import { allOrNone, isSize, normalScaled, requireLength } from './weight_utils';

/** Serializable configuration of a MultiHeadAttention layer. */
export interface MultiHeadAttentionConfig {
  readonly type: 'multi_head_attention';
  /** Model width D (input and output values per token). */
  readonly dModel: number;
  /** Query heads. */
  readonly numHeads: number;
  /** Key/value heads (GQA); 0 = `numHeads`. Must divide `numHeads`. */
  readonly numKVHeads: number;
  /** Per-head size; 0 = floor(dModel / numHeads) (LOOM requires it set; we derive it). */
  readonly headDim: number;
  /** Stored only (LOOM ignores it in forward). */
  readonly seqLength: number;
  /** Stored only (LOOM's CPU forward applies no activation). */
  readonly activation: ActivationCode;
  /** Apply rotary position embeddings to Q and K. LOOM: always. */
  readonly rope: boolean;
  /** RoPE base. LOOM: 1e6. */
  readonly ropeTheta: number;
  /** Mask keys after the query position. LOOM: always. */
  readonly causal: boolean;
}

/**
 * Attention weights, LOOM layout [in][out]: q [D][D], k and v [D][kv], output [D][D];
 * biases q [D], k and v [kv], output [D]; kv = numKVHeads * headDim.
 */
export interface MultiHeadAttentionWeights {
  readonly qWeights: Float32Array;
  readonly kWeights: Float32Array;
  readonly vWeights: Float32Array;
  readonly outputWeight: Float32Array;
  readonly qBias: Float32Array;
  readonly kBias: Float32Array;
  readonly vBias: Float32Array;
  readonly outputBias: Float32Array;
}

/**
 * Per-length constants of the forward pass, as host arrays: the layer owns no tensors besides its
 * weights (the tfjs wrapper frees only those), so each forward uploads these (S, hd) and (S, S) tables.
 */
interface SeqTables {
  readonly seqLength: number;
  /** (S, floor(hd/2)) each; null without RoPE. */
  readonly rope: RopeTables | null;
  /** Additive causal mask (S, S), broadcast over heads; null when not causal. */
  readonly mask: Float32Array | null;
}

const WEIGHT_NAMES = ['qWeights', 'kWeights', 'vWeights', 'outputWeight', 'qBias', 'kBias', 'vBias', 'outputBias'] as const;

/** A MultiHeadAttention layer with its own variables. */
export class MultiHeadAttentionLayer implements GridLayer<MultiHeadAttentionConfig> {
  static readonly className = 'MultiHeadAttention';
  readonly kind: LayerKind = multiHeadAttentionKind;
  readonly params: readonly LayerParam[];
  /** Effective key/value heads. */
  readonly kvHeads: number;
  /** Effective per-head size. */
  readonly headSize: number;
  private readonly vars: Readonly<Record<(typeof WEIGHT_NAMES)[number], tf.Variable>> | null;
  private readonly extraExt: LayerRecord['ext'];
  /** RoPE tables and causal mask of the last sequence length. */
  private tables: SeqTables | null = null;

  /**
   * @param extraExt unrelated `record.ext` entries to keep on save.
   * @throws ConfigError for inconsistent head counts; ShapeError for wrong weight lengths.
   */
  constructor(
    readonly config: MultiHeadAttentionConfig,
    weights: MultiHeadAttentionWeights | null,
    where = 'multi_head_attention',
    extraExt: LayerRecord['ext'] = {},
  ) {
    const { dModel: d, numHeads: hq, numKVHeads, headDim } = config;
    for (const [name, v] of Object.entries({ dModel: d, numHeads: hq, numKVHeads, headDim, seqLength: config.seqLength })) {
      if (!isSize(v)) throw new ConfigError(`${where}: ${name} must be a non-negative integer, got ${v}`);
    }
    if (!(config.ropeTheta > 0)) throw new ConfigError(`${where}: rope_theta must be > 0, got ${config.ropeTheta}`);
    this.extraExt = extraExt;
    this.kvHeads = numKVHeads === 0 ? hq : numKVHeads;
    this.headSize = headDim === 0 && hq > 0 ? Math.floor(d / hq) : headDim;
    if (d > 0) {
      if (hq <= 0) throw new ConfigError(`${where}: numHeads must be > 0 for dModel ${d}, got ${hq}`);
      if (hq % this.kvHeads !== 0) {
        throw new ConfigError(`${where}: numHeads ${hq} must be a multiple of numKVHeads ${this.kvHeads}`);
      }
      if (this.headSize < 1 || hq * this.headSize > d) {
        throw new ConfigError(`${where}: numHeads ${hq} x headDim ${this.headSize} must be in 1..dModel ${d}`);
      }
    }
    if (weights) {
      const kv = this.kvHeads * this.headSize;
      const shapes: Record<(typeof WEIGHT_NAMES)[number], [number[], string]> = {
        qWeights: [[d, d], `[D=${d}][D=${d}]`],
        kWeights: [[d, kv], `[D=${d}][kv=${kv}]`],
        vWeights: [[d, kv], `[D=${d}][kv=${kv}]`],
        outputWeight: [[d, d], `[D=${d}][D=${d}]`],
        qBias: [[d], `[D=${d}]`],
        kBias: [[kv], `[kv=${kv}]`],
        vBias: [[kv], `[kv=${kv}]`],
        outputBias: [[d], `[D=${d}]`],
      };
      for (const n of WEIGHT_NAMES) {
        const [shape, layout] = shapes[n];
        requireLength(weights[n], shape.reduce((a, b) => a * b, 1), where, n, layout);
      }
      const vars = Object.fromEntries(WEIGHT_NAMES.map((n) => [n, makeVariable(weights[n], shapes[n][0])])) as Record<
        (typeof WEIGHT_NAMES)[number],
        tf.Variable
      >;
      this.vars = vars;
      this.params = WEIGHT_NAMES.map((n) => ({ name: n, variable: vars[n] }));
    } else {
      this.vars = null;
      this.params = [];
    }
  }

  apply(x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D {
    const { dModel: d, numHeads: hq } = this.config;
    if (!this.vars) {
      throw new ConfigError(`${ctx.where}: layer has no weights; load them or call InitializeWeights`);
    }
    const w = this.vars;
    const s = Math.floor(x.size / d);
    if (s === 0) return tf.tensor1d([]);
    const hkv = this.kvHeads;
    const hd = this.headSize;
    const qd = hq * hd;
    const x2 = (s * d === x.size ? x : x.slice(0, s * d)).reshape([s, d]); // (S, D); LOOM drops a trailing remainder
    const q = linear(x2, w.qWeights, w.qBias); // (S, D)
    const k = linear(x2, w.kWeights, w.kBias); // (S, kv)
    const v = linear(x2, w.vWeights, w.vBias); // (S, kv)
    const qUsed = qd === d ? q : q.slice([0, 0], [s, qd]); // (S, Hq*hd)
    let qh = qUsed.reshape([1, s, hq, hd]).transpose([0, 2, 1, 3]) as tf.Tensor4D; // (1, Hq, S, hd)
    let kh = k.reshape([1, s, hkv, hd]).transpose([0, 2, 1, 3]) as tf.Tensor4D; // (1, Hkv, S, hd)
    const vh = v.reshape([1, s, hkv, hd]).transpose([0, 2, 1, 3]) as tf.Tensor4D; // (1, Hkv, S, hd)
    const tables = this.tablesFor(s);
    const half = Math.floor(hd / 2);
    if (tables.rope) {
      const cos = tf.tensor2d(tables.rope.cos, [s, half]); // (S, hd/2)
      const sin = tf.tensor2d(tables.rope.sin, [s, half]); // (S, hd/2)
      qh = applyRope(qh, cos, sin, 2 * half);
      kh = applyRope(kh, cos, sin, 2 * half);
    }
    const mask = tables.mask ? tf.tensor4d(tables.mask, [1, 1, s, s]) : null; // (1, 1, S, S), broadcast over heads
    const concat = groupedAttention(qh, kh, vh, mask, Math.fround(1 / Math.sqrt(hd))).reshape([s, qd]); // (S, Hq*hd)
    const wo = qd === d ? w.outputWeight : w.outputWeight.slice([0, 0], [qd, d]); // (Hq*hd, D)
    const y = linear(concat, wo, w.outputBias); // (S, D)
    return y.reshape([s * d]); // (S*D)
  }

  /** RoPE tables and causal mask for `s` tokens (host arrays, cached for the last length). */
  private tablesFor(s: number): SeqTables {
    if (this.tables?.seqLength === s) return this.tables;
    const { rope, ropeTheta, causal } = this.config;
    const ropeTables = rope ? loomRopeHalfTables(s, this.headSize, ropeTheta) : null;
    this.tables = { seqLength: s, rope: ropeTables, mask: causal ? causalMask(s) : null };
    return this.tables;
  }

  getConfig(): MultiHeadAttentionConfig {
    return this.config;
  }

  toRecord(): LayerRecord {
    const c = this.config;
    const r = emptyRecord(LayerType.MultiHeadAttention);
    r.activation = c.activation;
    r.dModel = c.dModel;
    r.numHeads = c.numHeads;
    r.numKVHeads = c.numKVHeads;
    r.headDim = c.headDim;
    r.seqLength = c.seqLength;
    r.ext = { ...this.extraExt, ...writeExt({ rope: c.rope, ropeTheta: c.ropeTheta, causal: c.causal }, MHA_EXT) };
    if (this.vars) {
      const vars = this.vars;
      for (const n of WEIGHT_NAMES) r[n] = readVariable(vars[n]);
    }
    return r;
  }

  loomGradients(grads: readonly Float32Array[]): LoomGradients {
    if (grads.length < 8) return { kernel: null, bias: null };
    return { kernel: concatFloat32(grads.slice(0, 4)), bias: concatFloat32(grads.slice(4, 8)) };
  }

  summary(): LayerSummary {
    const c = this.config;
    const gqa = this.kvHeads !== c.numHeads ? `, ${this.kvHeads} kv heads` : '';
    const rope = c.rope ? `rope ${c.ropeTheta}` : 'no rope';
    return {
      type: 'multi_head_attention',
      detail: `d_model ${c.dModel}, ${c.numHeads} heads x ${this.headSize}${gqa}, ${rope}, ${c.causal ? 'causal' : 'bidirectional'}`,
      inputSize: () => undefined,
      outputSize: () => undefined,
    };
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
  }
}

/** loom-tfjs settings in `record.ext` (absent = LOOM's behaviour: RoPE with base 1e6, causal). */
const MHA_EXT: readonly ExtField[] = [
  { key: 'rope', field: 'rope', type: 'boolean', loomDefault: true, strict: true },
  { key: 'rope_theta', field: 'ropeTheta', type: 'number', loomDefault: LOOM_ROPE_THETA, strict: true },
  { key: 'causal', field: 'causal', type: 'boolean', loomDefault: true, strict: true },
];

/** Typed config of an MHA record (LOOM semantics where `ext` says nothing). */
export function multiHeadAttentionConfigFromRecord(r: LayerRecord, where: string): MultiHeadAttentionConfig {
  const settings = readExt(r.ext, MHA_EXT, where);
  return {
    type: 'multi_head_attention',
    dModel: r.dModel,
    numHeads: r.numHeads,
    numKVHeads: r.numKVHeads,
    headDim: r.headDim,
    seqLength: r.seqLength,
    activation: activationFromInt(r.activation),
    rope: settings['rope'] as boolean,
    ropeTheta: settings['ropeTheta'] as number,
    causal: settings['causal'] as boolean,
  };
}

/** Record for a fresh attention layer with Xavier-normal weights and zero biases. */
function attentionRecord(d: number, hq: number, hkv: number, seqLength: number, activation: number, rng: () => number): LayerRecord {
  if (!(d > 0 && hq > 0 && d % hq === 0)) {
    throw new ConfigError(`attention init: dModel ${d} must be a positive multiple of numHeads ${hq}`);
  }
  const kvHeads = hkv === 0 ? hq : hkv;
  if (!(kvHeads > 0 && hq % kvHeads === 0)) throw new ConfigError(`attention init: numHeads ${hq} must be a multiple of numKVHeads ${kvHeads}`);
  const hd = d / hq;
  const kv = kvHeads * hd;
  const r = emptyRecord(LayerType.MultiHeadAttention);
  Object.assign(r, { activation, dModel: d, numHeads: hq, numKVHeads: hkv, headDim: hd, seqLength });
  r.qWeights = normalScaled(d * d, Math.sqrt(1 / d), rng);
  r.kWeights = normalScaled(d * kv, Math.sqrt(2 / (d + kv)), rng);
  r.vWeights = normalScaled(d * kv, Math.sqrt(2 / (d + kv)), rng);
  r.outputWeight = normalScaled(d * d, Math.sqrt(1 / d), rng);
  r.qBias = new Float32Array(d);
  r.kBias = new Float32Array(kv);
  r.vBias = new Float32Array(kv);
  r.outputBias = new Float32Array(d);
  return r;
}

/** Registry entry of the MultiHeadAttention layer (LOOM type 2). */
export const multiHeadAttentionKind: LayerKind = {
  name: 'multi_head_attention',
  loomType: LayerType.MultiHeadAttention,
  jsonNames: ['multi_head_attention', 'mha'],
  residualRole: 'adds-output',
  loomJsonKeys: {
    definition: ['d_model', 'num_heads', 'seq_length', 'num_kv_heads'],
    weights: ['q_weights', 'k_weights', 'v_weights', 'output_weight', 'q_bias', 'k_bias', 'v_bias', 'output_bias'],
  },
  // LOOM derives HeadDim = DModel / NumHeads on load
  completeRecord(r, path) {
    if (r.dModel <= 0) return;
    if (r.numHeads <= 0) throw new LoomFormatError(`${path}.num_heads: must be > 0 for d_model ${r.dModel}, got ${r.numHeads}`);
    r.headDim = Math.floor(r.dModel / r.numHeads);
  },
  tfjsClassName: 'LoomMultiHeadAttention',
  batchesSamples: false,
  fromRecord(r: LayerRecord, where: string): GridLayer {
    const config = multiHeadAttentionConfigFromRecord(r, where);
    const found = allOrNone(where, 'multi_head_attention', Object.fromEntries(WEIGHT_NAMES.map((n) => [n, r[n]])));
    const extraExt = otherExt(r.ext, MHA_EXT);
    return new MultiHeadAttentionLayer(config, found as MultiHeadAttentionWeights | null, where, extraExt);
  },
  // network.md 8.1: Q, K, V, O ~ U(-0.1, 0.1), drawn interleaved per index, D*D each; zero biases.
  // LOOM ignores NumKVHeads here; its forward then reads only the first D*kv values of K and V
  // (and kv of their biases), so keeping exactly those gives the same layer with consistent sizes.
  initializeWeights(r: LayerRecord, rng: () => number): LayerRecord {
    const d = r.dModel;
    if (d <= 0) return r;
    const hq = r.numHeads;
    const kvHeads = r.numKVHeads === 0 ? hq : r.numKVHeads;
    const hd = r.headDim === 0 && hq > 0 ? Math.floor(d / hq) : r.headDim;
    const kv = Math.min(d, kvHeads * hd);
    const [q, k, v, o] = [0, 1, 2, 3].map(() => new Float32Array(d * d));
    for (let i = 0; i < d * d; i++) {
      for (const m of [q, k, v, o] as Float32Array[]) m[i] = (rng() * 2 - 1) * 0.1;
    }
    return {
      ...r,
      qWeights: q as Float32Array,
      kWeights: (k as Float32Array).slice(0, d * kv),
      vWeights: (v as Float32Array).slice(0, d * kv),
      outputWeight: o as Float32Array,
      qBias: new Float32Array(d),
      kBias: new Float32Array(kv),
      vBias: new Float32Array(kv),
      outputBias: new Float32Array(d),
    };
  },
  initFunctions: [
    {
      // LOOM's registry entry is a no-op taking (*LayerConfig, bool) (gaps.md E41); this is the
      // 4-int form of the WASM README (dModel, numHeads, batchSize, seqLength), and it works.
      // The batch size belongs to the network (NewNetwork), so it is checked, not stored.
      name: 'InitMultiHeadAttentionLayer',
      argTypes: ['int', 'int', 'int', 'int'],
      argNames: ['dModel', 'numHeads', 'batchSize', 'seqLength'],
      create([d, hq, batch, seq], rng) {
        if (!((batch as number) >= 1)) throw new ConfigError(`InitMultiHeadAttentionLayer: batchSize must be >= 1, got ${batch as number}`);
        if (!((seq as number) >= 1)) throw new ConfigError(`InitMultiHeadAttentionLayer: seqLength must be >= 1, got ${seq as number}`);
        return attentionRecord(d as number, hq as number, 0, seq as number, 0, rng);
      },
    },
    {
      name: 'InitGQAAttentionLayer',
      argTypes: ['int', 'int', 'int', 'int'],
      argNames: ['dModel', 'numHeads', 'numKVHeads', 'seqLength'],
      create([d, hq, hkv, seq], rng) {
        return attentionRecord(d as number, hq as number, hkv as number, seq as number, 0, rng);
      },
    },
  ],
};
