/**
 * KV cache of a decoder: per layer, keys and values of every position so far.
 */
import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../core/errors';
import type { KVCache } from './types';

/**
 * Keys and values per layer, each (B, nKVHeads, length, headDim). tfjs has no in-place slice
 * update (every write makes a new tensor), so a preallocated buffer would copy all `maxLength`
 * positions per step; appending with one concat per layer copies only the filled part.
 */
export class DecoderKVCache implements KVCache {
  private keysByLayer: (tf.Tensor4D | null)[];
  private valuesByLayer: (tf.Tensor4D | null)[];
  private filled = 0;
  private disposed = false;

  constructor(
    readonly batchSize: number,
    readonly maxLength: number,
    readonly numLayers: number,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ShapeError(`KV cache: batchSize ${batchSize}, expected an integer >= 1`);
    if (!Number.isInteger(maxLength) || maxLength < 1) throw new ShapeError(`KV cache: maxLength ${maxLength}, expected an integer >= 1`);
    this.keysByLayer = new Array<tf.Tensor4D | null>(numLayers).fill(null);
    this.valuesByLayer = new Array<tf.Tensor4D | null>(numLayers).fill(null);
  }

  get length(): number {
    return this.filled;
  }

  /** Keys of `layer` so far (B, nKVHeads, length, headDim), or null when empty. */
  keys(layer: number): tf.Tensor4D | null {
    this.checkLive();
    return this.keysByLayer[layer] ?? null;
  }

  /** Values of `layer` so far (B, nKVHeads, length, headDim), or null when empty. */
  values(layer: number): tf.Tensor4D | null {
    this.checkLive();
    return this.valuesByLayer[layer] ?? null;
  }

  /**
   * Replaces the tensors of `layer` with `keys`/`values` covering every position (the cache
   * takes ownership; the previous tensors are freed). Called by the model during a forward pass.
   */
  store(layer: number, keys: tf.Tensor4D, values: tf.Tensor4D): void {
    this.checkLive();
    const oldK = this.keysByLayer[layer];
    const oldV = this.valuesByLayer[layer];
    this.keysByLayer[layer] = keys;
    this.valuesByLayer[layer] = values;
    if (oldK && oldK !== keys) oldK.dispose();
    if (oldV && oldV !== values) oldV.dispose();
  }

  /** Marks `n` more positions as filled (after every layer stored them). */
  advance(n: number): void {
    this.filled += n;
  }

  /**
   * Keeps only the first `length` positions (to reuse a cache whose tail no longer matches the
   * next prompt). Frees the cut tensors.
   * @throws ShapeError when `length` is negative or more than the positions filled.
   */
  truncate(length: number): void {
    this.checkLive();
    if (!Number.isInteger(length) || length < 0 || length > this.filled) throw new ShapeError(`KV cache: truncate to ${length}, expected an integer in [0, ${this.filled}]`);
    if (length === this.filled) return;
    for (const byLayer of [this.keysByLayer, this.valuesByLayer]) {
      byLayer.forEach((t, i) => {
        if (!t) return;
        byLayer[i] = length === 0 ? null : (t.slice([0, 0, 0, 0], [-1, -1, length, -1]) as tf.Tensor4D); // (B, nKVHeads, length, headDim)
        t.dispose();
      });
    }
    this.filled = length;
  }

  /** True after {@link dispose}. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    for (const t of [...this.keysByLayer, ...this.valuesByLayer]) t?.dispose();
    this.keysByLayer.fill(null);
    this.valuesByLayer.fill(null);
    this.filled = 0;
    this.disposed = true;
  }

  private checkLive(): void {
    if (this.disposed) throw new ShapeError('KV cache: used after dispose()');
  }
}
