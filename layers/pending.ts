/**
 * Placeholder kinds for layer types whose compute is not implemented yet: they load and save
 * losslessly (the LOOM record is kept as is) and throw `UnsupportedLayerError` when run.
 */
import type * as tf from '@tensorflow/tfjs';
import { UnsupportedLayerError } from '../src/core/errors';
import { cloneRecord, type LayerRecord } from '../src/core/layer_record';
import type { ForwardContext, GridLayer, LayerKind, LayerSummary, LoomGradients, ResidualRole } from './layer';

class PendingLayer implements GridLayer {
  readonly params = [];
  constructor(
    readonly kind: LayerKind,
    private readonly record: LayerRecord,
  ) {}
  apply(_x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D {
    throw new UnsupportedLayerError(this.kind.name, ctx.where, 'this layer type cannot run yet');
  }
  toRecord(): LayerRecord {
    return cloneRecord(this.record);
  }
  loomGradients(): LoomGradients {
    return { kernel: null, bias: null };
  }
  summary(): LayerSummary {
    return { type: this.kind.name, detail: 'not executable yet', inputSize: () => undefined, outputSize: () => undefined };
  }
  dispose(): void {}
}

/** A registry entry that keeps the record and refuses to run. */
export function pendingKind(name: string, loomType: number, jsonNames: readonly string[], residualRole: ResidualRole): LayerKind {
  const kind: LayerKind = {
    name,
    loomType,
    jsonNames,
    residualRole,
    fromRecord: (r) => new PendingLayer(kind, cloneRecord(r)),
    initializeWeights: (r) => r,
  };
  return kind;
}
