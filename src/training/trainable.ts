/**
 * The small interface training and evaluation need of a model, so that src/training does not
 * depend on src/network (Network implements it).
 */
import type * as tf from '@tensorflow/tfjs';

/** A model `train()` / `evaluateNetwork()` can run: its variables and a differentiable forward. */
export interface TrainableModel {
  /** Samples per call; evaluation sets it to 1 and restores it. */
  batchSize: number;
  /** Every trainable variable, in a stable order. */
  trainableVariables(): tf.Variable[];
  /** Values the model consumes per call, when known (checked before training starts). */
  expectedInputSize(): number | undefined;
  /** Differentiable forward, x (N) -> y (M); called inside `tf.tidy` or a gradient function. */
  forwardTensor(x: tf.Tensor1D, options?: { training?: boolean }): tf.Tensor1D;
  /** Forward on host values: (N) -> (M). */
  forward(input: ArrayLike<number> | tf.Tensor): Float32Array;
}
