/**
 * The ten softmax variants of LOOM as differentiable tfjs functions, dispatched through one table.
 * Ref: loom-spec/layers.md 3.6; deviations from LOOM in docs/compat.md ("Softmax").
 *
 * `standard`, `temperature`, `grid`, `masked`, `sparse` compute exactly LOOM's function.
 * `hierarchical`, `adaptive`, `mixture`, `entmax` are the real methods (LOOM approximates or skips
 * them; its versions run when `loomCompat` is set). `gumbel` is LOOM's function with injectable
 * uniforms and an honoured `gumbelNoise` flag.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../src/core/errors';
import type { SoftmaxVariantName } from '../src/core/types';
import { entmax, sparsemax } from './sparsemax';

/** Serializable configuration of a Softmax layer (LOOM's softmax fields, typed). */
export interface SoftmaxConfig {
  readonly type: 'softmax';
  /** Variant name; LOOM integer codes outside 0..9 read as `standard` with temperature 1. */
  readonly variant: SoftmaxVariantName;
  /**
   * LOOM's raw `SoftmaxVariant` integer when it is not one of the ten (LOOM then runs a plain
   * softmax with temperature 1); kept so such records round-trip. Default: the code of `variant`.
   */
  readonly variantCode?: number;
  /** LOOM's `Activation` (unused by the computation; kept for saving). */
  readonly activation: number;
  /** Temperature; 0 means 1 (LOOM). */
  readonly temperature: number;
  /** Grid rows and columns (`grid`). */
  readonly rows: number;
  readonly cols: number;
  /** `gumbel`: add noise (LOOM ignores the flag and always adds noise). */
  readonly gumbelNoise: boolean;
  /** `masked`: true = keep. null = no mask (LOOM then uses a plain softmax with temperature 1). */
  readonly mask: readonly boolean[] | null;
  /** `hierarchical`: branching factor of each tree level, top first. */
  readonly hierarchyLevels: readonly number[] | null;
  /** `adaptive`: clusters of output indices; cluster 0 is the head shortlist. */
  readonly adaptiveClusters: readonly (readonly number[])[] | null;
  /** `mixture`: weight of each component (normalised to sum 1). */
  readonly mixtureWeights: Float32Array | null;
  /** `entmax`: alpha (> 1; 2 = sparsemax, <= 1 = softmax). */
  readonly entmaxAlpha: number;
  /** `mixture`: the input holds one block of logits per component (else all components share them). */
  readonly componentLogits: boolean;
  /** Reproduce LOOM's approximations of hierarchical/adaptive/mixture/entmax/gumbel for this layer. */
  readonly loomCompat: boolean;
}

/** What a variant needs besides its config. */
export interface VariantEnv {
  readonly batchSize: number;
  readonly where: string;
  /** LOOM's approximations on (layer flag or network `loomCompat`). */
  readonly loomCompat: boolean;
  /** `n` uniforms in [0, 1) for Gumbel noise. */
  uniforms(n: number): ArrayLike<number>;
}

/** One variant: logits (N) -> probabilities. */
export type VariantFn = (z: tf.Tensor1D, c: SoftmaxConfig, env: VariantEnv) => tf.Tensor1D;

/** LOOM's temperature rule: 0 means 1. */
export function effectiveTemperature(c: SoftmaxConfig): number {
  return c.temperature === 0 ? 1 : c.temperature;
}

/** LOOM's `std(z, T)`: one softmax over the whole vector. */
function std(z: tf.Tensor1D, t: number): tf.Tensor1D {
  return tf.softmax(t === 1 ? z : tf.div(z, t)) as tf.Tensor1D;
}

/** Softmax of each row of `rows x cols`; values past `rows*cols` are 0 (LOOM's grid rule). */
function gridSoftmax(z: tf.Tensor1D, rows: number, cols: number, t: number, where: string): tf.Tensor1D {
  const used = rows * cols;
  if (z.size < used) throw new ShapeError(`${where}: grid softmax needs ${rows}x${cols} = ${used} values, got ${z.size}`);
  const grid = z.slice(0, used).reshape([rows, cols]); // (rows, cols)
  const p = tf.softmax(t === 1 ? grid : tf.div(grid, t)).reshape([used]); // (rows*cols)
  return (z.size === used ? p : tf.concat([p, tf.zeros([z.size - used])])) as tf.Tensor1D;
}

/** Row-wise log-softmax of a (k, n) matrix over groups of `g` consecutive columns: (k, n). */
function groupLogSoftmax(x: tf.Tensor2D, g: number): tf.Tensor2D {
  const [k, n] = x.shape;
  return tf.logSoftmax(x.reshape([k, n / g, g])).reshape([k, n]); // (k, n/g, g) -> (k, n)
}

/** Row-wise log-sum-exp over groups of `g` consecutive columns: (k, n) -> (k, n/g). */
function groupLogSumExp(x: tf.Tensor2D, g: number): tf.Tensor2D {
  const [k, n] = x.shape;
  return tf.logSumExp(x.reshape([k, n / g, g]), 2) as tf.Tensor2D; // (k, n/g)
}

/** Splits (len) into k blocks of `size`: (k, size). */
function blocks(z: tf.Tensor1D, size: number): tf.Tensor2D {
  return z.reshape([z.size / size, size]); // (k, size)
}

/** Number of logits per block and whether it holds the structure's own logits. */
function blockLayout(n: number, batch: number, leaves: number, structured: number, what: string, where: string): { size: number; full: boolean } {
  const perSample = n / Math.max(1, batch);
  if (structured !== leaves && perSample === structured) return { size: structured, full: true };
  if (n > 0 && n % leaves === 0) return { size: leaves, full: false };
  if (n > 0 && n % structured === 0) return { size: structured, full: true };
  throw new ShapeError(
    `${where}: ${what} needs blocks of ${leaves} output logits or ${structured} logits incl. the structure's, got ${n} values`,
  );
}

/** Validated hierarchy levels (each >= 1). */
function levelsOf(c: SoftmaxConfig, where: string): number[] {
  const levels = [...(c.hierarchyLevels ?? [])];
  if (levels.some((b) => !Number.isInteger(b) || b < 1)) {
    throw new ConfigError(`${where}: hierarchy levels must be positive integers, got [${levels.join(', ')}]`);
  }
  return levels;
}

/**
 * Hierarchical softmax over the level tree: every node has a logit, siblings compete through a
 * softmax and P(leaf) is the product along its path. Logits per block: one per node, level by
 * level (top first), or only the leaves; then each internal node's score is the log-sum-exp of its
 * children (the partition function of its subtree). (k * nodes or k * leaves) -> (k * leaves).
 */
const hierarchical: VariantFn = (z, c, env) => {
  const levels = levelsOf(c, env.where);
  if (levels.length === 0) return std(z, 1); // LOOM: error -> fallback
  const leaves = levels.reduce((a, b) => a * b, 1);
  const t = effectiveTemperature(c);
  if (env.loomCompat) {
    if (z.size !== leaves) return std(z, t);
    const cols = levels[levels.length - 1] as number;
    return gridSoftmax(z, leaves / cols, cols, t, env.where);
  }
  const counts: number[] = []; // nodes per level
  levels.reduce((acc, b) => (counts.push(acc * b), acc * b), 1);
  const nodes = counts.reduce((a, b) => a + b, 0);
  const { size, full } = blockLayout(z.size, env.batchSize, leaves, nodes, 'hierarchical softmax', env.where);
  const x = blocks(t === 1 ? z : tf.div(z, t), size); // (k, size)
  const perLevel: tf.Tensor2D[] = new Array<tf.Tensor2D>(levels.length);
  if (full) {
    let off = 0;
    counts.forEach((n, l) => {
      perLevel[l] = x.slice([0, off], [-1, n]); // (k, n_l)
      off += n;
    });
  } else {
    perLevel[levels.length - 1] = x;
    for (let l = levels.length - 2; l >= 0; l--) perLevel[l] = groupLogSumExp(perLevel[l + 1] as tf.Tensor2D, levels[l + 1] as number);
  }
  // log P(node) = log P(parent) + log softmax among siblings
  let logp = groupLogSoftmax(perLevel[0] as tf.Tensor2D, levels[0] as number); // (k, n_0)
  for (let l = 1; l < levels.length; l++) {
    const b = levels[l] as number;
    const [k, nPrev] = logp.shape;
    const own = groupLogSoftmax(perLevel[l] as tf.Tensor2D, b).reshape([k, nPrev, b]); // (k, n_{l-1}, b)
    logp = tf.add(own, logp.reshape([k, nPrev, 1])).reshape([k, nPrev * b]); // (k, n_l)
  }
  return tf.exp(logp).reshape([-1]) as tf.Tensor1D; // (k*leaves)
};

/** (n, ids.length) 0/1 matrix whose column j picks row ids[j]. */
function selection(n: number, ids: readonly number[]): tf.Tensor2D {
  const m = new Float32Array(n * ids.length);
  ids.forEach((id, j) => (m[id * ids.length + j] = 1));
  return tf.tensor2d(m, [n, ids.length]);
}

/** Validated adaptive clusters: a partition of 0..V-1. Returns V and the concatenated order. */
function clustersOf(c: SoftmaxConfig, where: string): { vocab: number; order: number[] } {
  const clusters = c.adaptiveClusters ?? [];
  const order = clusters.flat();
  const vocab = order.length;
  const seen = new Set(order);
  if (seen.size !== vocab || order.some((i) => !Number.isInteger(i) || i < 0 || i >= vocab)) {
    throw new ConfigError(`${where}: adaptive clusters must partition 0..${vocab - 1}, got ${JSON.stringify(clusters)}`);
  }
  return { vocab, order };
}

/**
 * Clustered adaptive softmax (Grave et al. 2017): the head holds cluster 0's outputs plus one gate
 * per tail cluster; P(w in tail c) = P_head(gate c) * softmax within c. Logits per block: the V
 * output logits, optionally followed by the C-1 gate logits (else a gate's score is the log-sum-exp
 * of its cluster). (k * (V [+ C-1])) -> (k * V).
 */
const adaptive: VariantFn = (z, c, env) => {
  if (env.loomCompat) return std(z, 1);
  const clusters = c.adaptiveClusters ?? [];
  const t = effectiveTemperature(c);
  if (clusters.length === 0) return std(z, t);
  const { vocab, order } = clustersOf(c, env.where);
  const gates = clusters.length - 1;
  const { size, full } = blockLayout(z.size, env.batchSize, vocab, vocab + gates, 'adaptive softmax', env.where);
  const x = blocks(t === 1 ? z : tf.div(z, t), size); // (k, size)
  const words = x.slice([0, 0], [-1, vocab]); // (k, V)
  // column selection as a matmul with a 0/1 matrix: gather's gradient needs UnsortedSegmentSum, which wasm lacks
  const member = (ids: readonly number[]): tf.Tensor2D => tf.matMul(words, selection(vocab, ids)); // (k, |c|)
  const head = clusters[0] as readonly number[];
  const tails = clusters.slice(1);
  const gateLogits = full
    ? x.slice([0, vocab], [-1, gates]) // (k, C-1)
    : tf.concat(tails.map((ids) => tf.logSumExp(member(ids), 1, true)), 1); // (k, C-1)
  const headLog = tf.logSoftmax(tf.concat([member(head), gateLogits], 1)) as tf.Tensor2D; // (k, |c0| + C-1)
  const parts: tf.Tensor2D[] = [headLog.slice([0, 0], [-1, head.length])];
  tails.forEach((ids, i) => {
    const gate = headLog.slice([0, head.length + i], [-1, 1]); // (k, 1)
    parts.push(tf.add(gate, tf.logSoftmax(member(ids))) as tf.Tensor2D);
  });
  const inCluster = tf.concat(parts, 1); // (k, V) in cluster order
  const inverse = new Array<number>(vocab);
  order.forEach((w, j) => (inverse[w] = j));
  return tf.exp(tf.matMul(inCluster, selection(vocab, inverse))).reshape([-1]) as tf.Tensor1D; // (k, V) -> (k*V)
};

/** Mixture weights normalised to sum 1 ([1] when none). */
function mixtureOf(c: SoftmaxConfig, where: string): number[] {
  const w = Array.from(c.mixtureWeights ?? []);
  if (w.length === 0) return [1];
  const total = w.reduce((a, b) => a + b, 0);
  if (w.some((v) => !(v >= 0)) || !(total > 0)) {
    throw new ConfigError(`${where}: mixture weights must be >= 0 with a positive sum, got [${w.join(', ')}]`);
  }
  return w.map((v) => v / total);
}

/**
 * Mixture of softmaxes (Yang et al. 2018): sum_k pi_k softmax(z_k / T). With `componentLogits` the
 * input holds K consecutive blocks per sample; otherwise all components share the logits.
 * (B * K * V or N) -> (B * V or N).
 */
const mixture: VariantFn = (z, c, env) => {
  if (env.loomCompat) return std(z, 1);
  const pi = mixtureOf(c, env.where);
  const t = effectiveTemperature(c);
  if (!c.componentLogits) return std(z, t); // sum of pi_k * softmax(z/T) with sum(pi) = 1
  const b = Math.max(1, env.batchSize);
  const k = pi.length;
  if (z.size % (b * k) !== 0) {
    throw new ShapeError(`${env.where}: mixture needs batch ${b} x ${k} components x V logits, got ${z.size} values`);
  }
  const v = z.size / (b * k);
  const comps = tf.softmax((t === 1 ? z : tf.div(z, t)).reshape([b, k, v])); // (B, K, V)
  const weights = tf.tensor3d(pi, [1, k, 1]); // (1, K, 1)
  return tf.sum(tf.mul(comps, weights), 1).reshape([b * v]) as tf.Tensor1D; // (B*V)
};

/** LOOM's entmax "blend": (1-w) softmax + w sparsemax, w = alpha - 1, renormalised. */
function loomEntmaxBlend(z: tf.Tensor1D, alpha: number): tf.Tensor1D {
  if (alpha <= 1) return std(z, 1);
  if (alpha >= 2) return sparsemax(z);
  const w = Math.fround(alpha - 1);
  const p = tf.add(tf.mul(std(z, 1), 1 - w), tf.mul(sparsemax(z), w));
  const s = tf.sum(p);
  return tf.where(tf.greater(s, 0), tf.div(p, s), p) as tf.Tensor1D;
}

/** Gumbel noise `-ln(-ln u)` in float64, rounded to float32 as LOOM does (u clamped to 1e-10). */
export function gumbelNoise(uniforms: ArrayLike<number>, n: number, where: string): Float32Array {
  if (uniforms.length < n) throw new ShapeError(`${where}: uniform source gave ${uniforms.length} values, expected ${n}`);
  const g = new Float32Array(n);
  for (let i = 0; i < n; i++) g[i] = -Math.log(-Math.log(Math.max(Math.fround(uniforms[i] as number), 1e-10)));
  return g;
}

const maskedSoftmax: VariantFn = (z, c, env) => {
  if (c.mask === null) return std(z, 1); // LOOM: error -> fallback with temperature 1
  const t = effectiveTemperature(c);
  if (c.mask.length !== z.size) return std(z, t);
  const keep = tf.tensor1d(c.mask.map((m) => (m ? 1 : 0)), 'bool');
  return std(tf.where(keep, z, tf.fill([z.size], -1e9)) as tf.Tensor1D, t);
};

const gumbel: VariantFn = (z, c, env) => {
  const t = effectiveTemperature(c);
  if (!c.gumbelNoise && !env.loomCompat) return std(z, t);
  const noisy: tf.Tensor1D = tf.add(z, tf.tensor1d(gumbelNoise(env.uniforms(z.size), z.size, env.where)));
  return std(t === 1 ? noisy : tf.div(noisy, t), 1);
};

/** Every variant by name (LOOM's `SoftmaxType` order). */
export const SOFTMAX_VARIANT_FNS: Readonly<Record<SoftmaxVariantName, VariantFn>> = {
  standard: (z, c) => std(z, effectiveTemperature(c)),
  grid: (z, c, env) => (c.rows > 0 && c.cols > 0 ? gridSoftmax(z, c.rows, c.cols, effectiveTemperature(c), env.where) : std(z, 1)),
  hierarchical,
  temperature: (z, c) => std(z, effectiveTemperature(c)),
  gumbel,
  masked: maskedSoftmax,
  sparse: (z) => sparsemax(z),
  adaptive,
  mixture,
  entmax: (z, c, env) => (env.loomCompat ? loomEntmaxBlend(z, c.entmaxAlpha) : entmax(z, c.entmaxAlpha)),
};

/** Output length of a variant for an input of length n (undefined when the config cannot tell). */
export function variantOutputSize(c: SoftmaxConfig, n: number, batch: number, loomCompat: boolean): number | undefined {
  if (loomCompat || n === 0) return n;
  try {
    if (c.variant === 'hierarchical' && (c.hierarchyLevels?.length ?? 0) > 0) {
      const levels = levelsOf(c, '');
      const leaves = levels.reduce((a, b) => a * b, 1);
      let acc = 1;
      const nodes = levels.reduce((s, b) => s + (acc *= b), 0);
      const { size } = blockLayout(n, batch, leaves, nodes, '', '');
      return (n / size) * leaves;
    }
    if (c.variant === 'adaptive' && (c.adaptiveClusters?.length ?? 0) > 0) {
      const { vocab } = clustersOf(c, '');
      const { size } = blockLayout(n, batch, vocab, vocab + (c.adaptiveClusters?.length ?? 1) - 1, '', '');
      return (n / size) * vocab;
    }
    if (c.variant === 'mixture' && c.componentLogits) return n / mixtureOf(c, '').length;
  } catch {
    return undefined;
  }
  return n;
}
