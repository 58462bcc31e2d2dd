/**
 * KV cache of the kernel decoder: per layer, keys and values [B][nKVHeads][maxLength][headDim]
 * preallocated in the kernel module's memory, appended in place by `loom_rope_append` (no copy of
 * the past per step).
 */
import { OutOfMemoryError, ShapeError } from '../core/errors';
import type { KernelHeap } from '../kernels/heap';
import type { KVCache } from './types';

/** A KV cache in kernel memory; free it with {@link KernelKVCache.dispose}. */
export class KernelKVCache implements KVCache {
  /** Key buffer per layer. */
  readonly keys: readonly number[];
  /** Value buffer per layer. */
  readonly values: readonly number[];
  /** Bytes held in the kernel heap. */
  readonly bytes: number;
  private filled = 0;
  private disposed = false;

  constructor(
    private readonly heap: KernelHeap,
    /** The decoder that created it (a cache only works with its own model). */
    readonly owner: object,
    readonly batchSize: number,
    readonly maxLength: number,
    numLayers: number,
    kvHeads: number,
    headDim: number,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ShapeError(`KV cache: batchSize ${batchSize}, expected an integer >= 1`);
    if (!Number.isInteger(maxLength) || maxLength < 1) throw new ShapeError(`KV cache: maxLength ${maxLength}, expected an integer >= 1`);
    const per = batchSize * kvHeads * maxLength * headDim * 4;
    const need = 2 * numLayers * (Math.ceil(per / 64) * 64);
    if (need > heap.availableBytes) throw OutOfMemoryError.forKernelHeap(need, heap.availableBytes, `a KV cache of ${batchSize} x ${maxLength} positions`);
    const keys: number[] = [];
    const values: number[] = [];
    try {
      for (let l = 0; l < numLayers; l++) {
        keys.push(heap.alloc(per, `KV cache keys of layer ${l}`));
        values.push(heap.alloc(per, `KV cache values of layer ${l}`));
      }
    } catch (e) {
      for (const p of [...keys, ...values]) heap.release(p);
      throw e;
    }
    this.keys = keys;
    this.values = values;
    this.bytes = 2 * numLayers * Math.ceil(per / 64) * 64;
  }

  get length(): number {
    return this.filled;
  }

  /** True after {@link dispose}. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Marks `n` more positions as filled. */
  advance(n: number): void {
    this.filled += n;
  }

  dispose(): void {
    if (this.disposed) return;
    for (const p of [...this.keys, ...this.values]) this.heap.release(p);
    this.filled = 0;
    this.disposed = true;
  }
}
