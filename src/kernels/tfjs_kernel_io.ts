/**
 * Moving tfjs tensor data in and out of the kernel module for the registered tfjs kernels
 * (register_all_kernels.ts): read an input's values on its backend, stage them in module memory,
 * and hand a result back to the backend as a new tensor (cpu: `makeTensorInfo`, wasm: `makeOutput`).
 */
import type * as tf from '@tensorflow/tfjs';
import type { KernelHeap } from './heap';

/** The backend methods the kernels use (both cpu and wasm have them). */
interface BackendIO {
  readSync(dataId: object): unknown;
  makeTensorInfo?(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
  makeOutput?(shape: number[], dtype: 'float32', memoryOffset: undefined, values: Float32Array): tf.TensorInfo;
}

/** Values of `t` as float32 (a view or a copy). */
export function readFloats(backend: unknown, t: tf.TensorInfo): Float32Array {
  const v = (backend as BackendIO).readSync(t.dataId);
  return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
}

/** A new float32 tensor of `shape` on `backend` holding `values`. */
export function makeFloats(backend: unknown, shape: number[], values: Float32Array): tf.TensorInfo {
  const b = backend as BackendIO;
  if (b.makeTensorInfo) return b.makeTensorInfo(shape, 'float32', values);
  if (b.makeOutput) return b.makeOutput(shape, 'float32', undefined, values);
  throw new Error('loom kernels: this backend can neither makeTensorInfo nor makeOutput');
}

/** Blocks allocated for one kernel call, freed together. */
export class Staging {
  private readonly blocks: number[] = [];
  constructor(private readonly heap: KernelHeap) {}

  /** Copies `data` into module memory. */
  put(data: Float32Array): number {
    const p = this.alloc(data.length);
    this.heap.f32().set(data, p >> 2);
    return p;
  }

  /** Room for `n` floats. */
  alloc(n: number): number {
    const p = this.heap.alloc(n * 4, 'tfjs kernel staging');
    this.blocks.push(p);
    return p;
  }

  /** A copy of `n` floats at `ptr`. */
  take(ptr: number, n: number): Float32Array {
    return this.heap.f32().slice(ptr >> 2, (ptr >> 2) + n);
  }

  free(): void {
    for (const p of this.blocks) this.heap.release(p);
    this.blocks.length = 0;
  }
}
