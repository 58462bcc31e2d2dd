/**
 * The process-wide kernel runtime: one shared `WebAssembly.Memory` (max 4 GiB), the module
 * instantiated on this thread over it, the heap allocator, and the thread pool. Models allocate
 * their weights, KV caches and activations here.
 */
import { ConfigError } from '../core/errors';
import { KernelHeap } from './heap';
import { KERNEL_INITIAL_PAGES, KERNEL_MAX_PAGES, kernelModule, type KernelExports } from './module';
import { KernelPool } from './pool';

/** tfjs backends on which models and ops run on the kernels by default (the cpu backend runs the same wasm module). */
export const KERNEL_BACKENDS: readonly string[] = ['wasm', 'cpu'];

/** Upper bound of the default thread count. */
export const MAX_DEFAULT_THREADS = 4;

/** The runtime. Get it with {@link kernelRuntime}. */
export class KernelRuntime {
  private poolNow: KernelPool;
  private pending: Promise<void> = Promise.resolve();

  private constructor(
    readonly module: WebAssembly.Module,
    readonly memory: WebAssembly.Memory,
    readonly exports: KernelExports,
    readonly heap: KernelHeap,
    pool: KernelPool,
  ) {
    this.poolNow = pool;
  }

  /** @internal Builds the runtime with a 1-thread pool (synchronous). */
  static create(): KernelRuntime {
    if (typeof SharedArrayBuffer === 'undefined') throw new ConfigError('kernels: SharedArrayBuffer is unavailable (a browser page must be cross-origin isolated)');
    const module = kernelModule();
    const memory = new WebAssembly.Memory({ initial: KERNEL_INITIAL_PAGES, maximum: KERNEL_MAX_PAGES, shared: true });
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const exports = instance.exports as unknown as KernelExports;
    const heap = new KernelHeap(memory, exports.__heap_base.value as number);
    // A 1-thread pool needs no worker: start() resolves synchronously in effect, but is async; build directly.
    const pool = KernelPool.single(exports, heap);
    return new KernelRuntime(module, memory, exports, heap, pool);
  }

  /** The pool in use now. */
  get pool(): KernelPool {
    return this.poolNow;
  }

  /** Threads the kernels run on now (the calling thread included). */
  get threads(): number {
    return this.poolNow.threads;
  }

  /**
   * Restarts the pool with `threads` threads (the caller plus `threads - 1` workers); resolves when
   * every worker is ready. Calls are serialised.
   */
  setThreads(threads: number): Promise<void> {
    const next = this.pending.then(async () => {
      if (threads === this.poolNow.threads) return;
      const fresh = await KernelPool.start(this.module, this.memory, this.exports, this.heap, threads);
      const old = this.poolNow;
      this.poolNow = fresh;
      await old.stop();
    });
    this.pending = next.catch(() => undefined);
    return next;
  }
}

let runtime: KernelRuntime | null = null;

/** The process-wide runtime, created on first use (1 thread until {@link setKernelThreads}). */
export function kernelRuntime(): KernelRuntime {
  runtime ??= KernelRuntime.create();
  return runtime;
}

/** Threads the machine offers, capped at {@link MAX_DEFAULT_THREADS} (1 without SharedArrayBuffer). */
export function defaultKernelThreads(): number {
  if (typeof SharedArrayBuffer === 'undefined') return 1;
  let n = 1;
  if (typeof process !== 'undefined' && process.versions?.node) {
    const os = require('os') as typeof import('os');
    n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  } else if (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) {
    n = navigator.hardwareConcurrency;
  }
  return Math.max(1, Math.min(MAX_DEFAULT_THREADS, n));
}

/**
 * Sets the kernel threads (`undefined`: {@link defaultKernelThreads}); resolves when the pool is ready.
 * @throws ConfigError for a count that is not an integer in [1, 64] or workers that fail to start.
 */
export async function setKernelThreads(threads?: number): Promise<void> {
  const n = threads ?? defaultKernelThreads();
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new ConfigError(`threads: ${String(threads)}, expected an integer in [1, 64]`);
  await kernelRuntime().setThreads(n);
}

/** Threads the kernels run on (1 before the runtime starts). */
export function kernelThreads(): number {
  return runtime?.threads ?? 1;
}

/** Bytes held in the kernel heap (weights, caches, scratch, pool control). 0 before the runtime starts. */
export function kernelHeapBytes(): number {
  return runtime?.heap.allocatedBytes ?? 0;
}
