/**
 * Parallel layer: every branch gets the same full input and batch size; outputs are combined by
 * `concat` (also ''), `add`, `avg` (also `average`) or `grid_scatter`. Branches may be Parallel
 * (nested). Ref: loom-spec/layers.md 3.11; deviations in docs/compat.md ("Parallel").
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../src/core/errors';
import { emptyRecord, type BranchPlacement, type LayerRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { concatFloat32 } from '../src/core/arrays';
import type { ForwardContext, GridLayer, LayerInitFunction, LayerKind, LayerParam, LayerSummary, LoomGradients } from './layer';
import { MAX_BRANCH_DEPTH, checkBranchDepth, countOccurrences } from '../src/core/limits';

/** Finds the registry entry of a LOOM type code (injected: the registry imports this file). */
export type KindResolver = (code: number, where: string) => LayerKind;

/** How branch outputs are combined. */
export type CombineMode = 'concat' | 'add' | 'avg' | 'grid_scatter';

/** LOOM's accepted spellings of each combine mode. */
const COMBINE_SPELLINGS: Readonly<Record<string, CombineMode>> = {
  '': 'concat',
  concat: 'concat',
  add: 'add',
  avg: 'avg',
  average: 'avg',
  grid_scatter: 'grid_scatter',
};

/** Serializable configuration of a Parallel layer (besides its branches). */
export interface ParallelConfig {
  readonly type: 'parallel';
  readonly combine: CombineMode;
  /** The spelling as stored (`''`, `average`, ...), kept so files re-save identically. */
  readonly combineSpelling: string;
  /** LOOM's `Activation` (unused; kept for saving). */
  readonly activation: number;
  /** `grid_scatter`: where each branch goes (null: branch i at cell i). */
  readonly gridPositions: readonly BranchPlacement[] | null;
  readonly gridOutputRows: number;
  readonly gridOutputCols: number;
  readonly gridOutputLayers: number;
}

type Combiner = (outs: readonly tf.Tensor1D[], layer: ParallelLayer, ctx: ForwardContext) => tf.Tensor1D;

function sameLengths(outs: readonly tf.Tensor1D[], mode: string, where: string): void {
  const n = outs[0]?.size ?? 0;
  outs.forEach((o, i) => {
    if (o.size !== n) throw new ShapeError(`${where}: ${mode} needs equal branch outputs, branch ${i} has ${o.size} values, branch 0 has ${n}`);
  });
}

/**
 * Cell -> branch for grid_scatter. Ours: entry `p` places branch `p.branchIndex`; LOOM (compat)
 * places branch i by entry i and ignores `branchIndex` (gaps.md A8). Later entries overwrite.
 */
function scatterCells(layer: ParallelLayer, n: number, loomCompat: boolean, where: string): Map<number, number> {
  const c = layer.config;
  const cells = new Map<number, number>();
  if (c.gridPositions === null || c.gridPositions.length === 0) {
    for (let i = 0; i < n; i++) cells.set(i, i);
    return cells;
  }
  const { gridOutputRows: rows, gridOutputCols: cols, gridOutputLayers: lpc } = c;
  if (rows * cols * lpc <= 0) throw new ConfigError(`${where}: grid_scatter needs a positive output grid, got ${rows}x${cols}x${lpc}`);
  if (loomCompat && c.gridPositions.length !== n) {
    throw new ConfigError(`${where}: grid_scatter has ${c.gridPositions.length} positions for ${n} branches`);
  }
  c.gridPositions.forEach((p, i) => {
    const branch = loomCompat ? i : p.branchIndex;
    if (!Number.isInteger(branch) || branch < 0 || branch >= n) {
      throw new ConfigError(`${where}: grid position ${i} names branch ${branch}, expected 0..${n - 1}`);
    }
    if (p.targetRow < 0 || p.targetRow >= rows || p.targetCol < 0 || p.targetCol >= cols || p.targetLayer < 0 || p.targetLayer >= lpc) {
      throw new ConfigError(
        `${where}: grid position ${i} (${p.targetRow}, ${p.targetCol}, ${p.targetLayer}) is outside the ${rows}x${cols}x${lpc} grid`,
      );
    }
    cells.set(p.targetRow * cols * lpc + p.targetCol * lpc + p.targetLayer, branch);
  });
  return cells;
}

/** Each sample's output = its slice of every occupied cell's branch, cells ascending. */
const gridScatter: Combiner = (outs, layer, ctx) => {
  const b = Math.max(1, ctx.batchSize);
  const cells = scatterCells(layer, outs.length, ctx.loomCompat, ctx.where);
  const order = [...cells.keys()].sort((a, c) => a - c);
  const parts = order.map((cell) => {
    const i = cells.get(cell) as number;
    const o = outs[i] as tf.Tensor1D;
    if (o.size % b !== 0) throw new ShapeError(`${ctx.where}: branch ${i} output has ${o.size} values, not a multiple of batch ${b}`);
    return o.reshape([b, o.size / b]); // (B, feat_i)
  });
  if (parts.length === 0) return tf.tensor1d([]);
  return tf.concat(parts, 1).reshape([-1]) as tf.Tensor1D; // (B, sum feat) -> (B*sum feat)
};

/** Combine functions by mode. */
const COMBINERS: Readonly<Record<CombineMode, Combiner>> = {
  // whole branch outputs one after another, also for B > 1 (LOOM's file semantics)
  concat: (outs) => (outs.length === 0 ? tf.tensor1d([]) : (tf.concat([...outs]) as tf.Tensor1D)),
  add: (outs, _l, ctx) => {
    sameLengths(outs, 'add', ctx.where);
    return tf.addN([...outs]);
  },
  avg: (outs, _l, ctx) => {
    sameLengths(outs, 'avg', ctx.where);
    return tf.mul(tf.addN([...outs]), Math.fround(1 / outs.length));
  },
  grid_scatter: gridScatter,
};

/** Nesting depth of Parallel branches in `r` (1 for a Parallel of plain layers), iterative. */
function parallelDepth(r: LayerRecord): number {
  let deepest = 0;
  const stack: [LayerRecord, number][] = [[r, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (!x.parallelBranches?.length) continue;
    deepest = Math.max(deepest, d + 1);
    if (deepest > MAX_BRANCH_DEPTH) return deepest;
    for (const b of x.parallelBranches) stack.push([b, d + 1]);
  }
  return deepest;
}

/** A Parallel layer (LOOM type 10); its parameters are its branches' parameters in branch order. */
export class ParallelLayer implements GridLayer<ParallelConfig> {
  static readonly className = 'Parallel';
  readonly params: readonly LayerParam[];
  private readonly ext: LayerRecord['ext'];

  /** Takes ownership of `branches` (disposed with this layer). */
  constructor(
    readonly kind: LayerKind,
    readonly config: ParallelConfig,
    readonly branches: readonly GridLayer[],
    ext: LayerRecord['ext'] = {},
  ) {
    this.params = branches.flatMap((b, i) => b.params.map((p) => ({ name: `branch${i}.${p.name}`, variable: p.variable })));
    this.ext = { ...ext };
  }

  apply(x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D {
    if (this.branches.length === 0) return tf.clone(x); // LOOM: nothing to combine -> error -> pass-through
    if (ctx.loomCompat && this.config.combine === 'grid_scatter' && !this.config.gridPositions?.length) {
      return tf.clone(x); // LOOM: positions missing (never saved, gaps C26) -> error -> input passes through
    }
    const outs = this.branches.map((b, i) => b.apply(x, { ...ctx, where: `${ctx.where} branch ${i}` }));
    return COMBINERS[this.config.combine](outs, this, ctx);
  }

  getConfig(): ParallelConfig {
    return this.config;
  }

  toRecord(): LayerRecord {
    const c = this.config;
    const r = emptyRecord(LayerType.Parallel);
    r.activation = c.activation;
    r.parallelBranches = this.branches.map((b) => b.toRecord());
    r.combineMode = c.combineSpelling;
    r.gridPositions = c.gridPositions ? c.gridPositions.map((p) => ({ ...p })) : null;
    r.gridOutputRows = c.gridOutputRows;
    r.gridOutputCols = c.gridOutputCols;
    r.gridOutputLayers = c.gridOutputLayers;
    r.ext = { ...this.ext };
    return r;
  }

  /** LOOM's layout: branch kernel gradients concatenated in branch order, the same for biases. */
  loomGradients(grads: readonly Float32Array[]): LoomGradients {
    const kernels: Float32Array[] = [];
    const biases: Float32Array[] = [];
    let off = 0;
    for (const b of this.branches) {
      const g = b.loomGradients(grads.slice(off, off + b.params.length));
      off += b.params.length;
      if (g.kernel) kernels.push(g.kernel);
      if (g.bias) biases.push(g.bias);
    }
    const cat = (parts: Float32Array[]): Float32Array | null => (parts.length === 0 ? null : concatFloat32(parts));
    return { kernel: cat(kernels), bias: cat(biases) };
  }

  summary(): LayerSummary {
    const types = this.branches.map((b) => b.summary().type).join(', ');
    return { type: 'parallel', detail: `${this.config.combine} of [${types}]`, inputSize: () => undefined, outputSize: () => undefined };
  }

  dispose(): void {
    for (const b of this.branches) b.dispose();
  }
}

/**
 * The Parallel registry entry. `resolve` finds branch kinds (the registry's `kindByCode`); it is
 * injected so this file does not import the registry that lists it.
 */
export function createParallelKind(resolve: KindResolver): LayerKind {
  const kind: LayerKind = {
    name: 'parallel',
    loomType: LayerType.Parallel,
    jsonNames: ['parallel'],
    residualRole: 'none',
    loomJsonKeys: {
      definition: ['branches', 'combine_mode', 'grid_positions', 'grid_output_rows', 'grid_output_cols', 'grid_output_layers'],
      weights: [], // branch_weights: written by the LOOM JSON writer per branch
    },
    // format.md 8: combine_mode '' -> concat
    applyArchitectureRules(r) {
      if (r.combineMode === '') r.combineMode = 'concat';
    },
    tfjsClassName: 'LoomParallel',
    batchesSamples: false,
    fromRecord(r: LayerRecord, where: string): GridLayer {
      const combine = COMBINE_SPELLINGS[r.combineMode];
      if (combine === undefined) {
        throw new ConfigError(`${where}: unknown combine mode '${r.combineMode}', expected concat, add, avg, average or grid_scatter`);
      }
      if (r.parallelBranches?.length) checkBranchDepth(countOccurrences(where, ' branch ') + 1, where, ConfigError);
      const branches: GridLayer[] = [];
      try {
        (r.parallelBranches ?? []).forEach((b, i) => {
          const at = `${where} branch ${i}`;
          branches.push(resolve(b.type, at).fromRecord(b, at));
        });
      } catch (e) {
        for (const b of branches) b.dispose();
        throw e;
      }
      const config: ParallelConfig = {
        type: 'parallel',
        combine,
        combineSpelling: r.combineMode,
        activation: r.activation,
        gridPositions: r.gridPositions ? r.gridPositions.map((p) => ({ ...p })) : null,
        gridOutputRows: r.gridOutputRows,
        gridOutputCols: r.gridOutputCols,
        gridOutputLayers: r.gridOutputLayers,
      };
      return new ParallelLayer(kind, config, branches, r.ext);
    },
    // network.md 8.1: every branch initialised recursively with its own rule
    initializeWeights(r: LayerRecord, rng: () => number): LayerRecord {
      if (parallelDepth(r) > MAX_BRANCH_DEPTH) checkBranchDepth(parallelDepth(r), 'initializeWeights', ConfigError);
      const branches = (r.parallelBranches ?? []).map((b, i) => resolve(b.type, `branch ${i}`).initializeWeights(b, rng));
      return { ...r, parallelBranches: branches };
    },
    initFunctions: [
      {
        name: 'InitParallelLayer',
        argTypes: ['[]nn.LayerConfig', 'string'],
        argNames: ['branches', 'combineMode'],
        create([branches, mode]) {
          const r = emptyRecord(LayerType.Parallel);
          r.parallelBranches = [...(branches as LayerRecord[])];
          r.combineMode = mode as string;
          return r;
        },
      } satisfies LayerInitFunction,
    ],
  };
  return kind;
}
