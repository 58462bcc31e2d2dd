/**
 * The kernel thread pool: N - 1 workers plus the calling thread, each running the same module over
 * the same shared memory. A job (one kernel call) is split into chunks of output columns (or heads);
 * threads claim chunks dynamically (compare-and-swap in `loom_pool_work`), so a thread that loses its
 * core to another process just claims fewer chunks and the pool degrades towards 1-thread speed
 * instead of waiting for it. Idle workers spin briefly (WORKER_SPIN_MS), then sleep in
 * `Atomics.wait`; the caller waits for the last chunk the same way.
 */
import { ConfigError } from '../core/errors';
import type { KernelHeap } from './heap';
import type { KernelExports } from './module';
import { KERNEL_WORKER_SOURCE } from './worker_source';

/** Job operation codes (LOOM_OP_* in kernels.h). */
export const OP = { linearF32: 1, linearBf16: 2, linearQ8: 3, linearQ4: 4, attention: 5, quantizeQ8: 6 } as const;

/**
 * Milliseconds a worker keeps spinning (after one pass of 256 loads) after its last job before it
 * sleeps in `Atomics.wait`. 0: a longer spin lets back-to-back calls find the worker awake on a quiet
 * machine, but when another process keeps a core busy the spinning worker takes CPU from the caller
 * between calls; measured on 2 shared cores, q8 decode at 2 threads fell to 0.70-0.85x of 1 thread
 * with 0.02-0.3 ms, and stayed within 0.93-0.95x with 0.
 */
export const WORKER_SPIN_MS = 0;

/** Spin iterations of the caller before sleeping (an `Atomics.load` each, roughly 20-50 microseconds). */
export const POOL_SPIN = 20000;

/** A caller's wait longer than this (ms) for the workers' last chunks counts as a stall. */
export const STALL_MS = 0.5;
/** Parallel jobs per contention-guard window, and stalls in one window that start a solo spell. */
export const STALL_WINDOW = 64;
export const STALLS_TO_SOLO = 2;
/** Jobs of the first solo spell (about 8 decode steps of a 30-layer model) and of the longest. */
export const SOLO_MIN_JOBS = 2048;
export const SOLO_MAX_JOBS = 65536;

/** Multiply-adds a chunk should hold at least (see {@link KernelPool.split}). */
export const MIN_CHUNK_COST = 131072;

const JOB_WORDS = 32;
const STACK_BYTES = 131072;

interface PoolWorker {
  terminate(): unknown;
}

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

/** Whether this thread may block in `Atomics.wait` (not a browser's main thread). */
function canBlock(): boolean {
  if (isNode()) return true;
  return typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';
}

/** A started pool. Create with {@link KernelPool.start}; stop with {@link KernelPool.stop}. */
export class KernelPool {
  private seq = 0;
  private readonly block = canBlock();
  private stopped = false;
  private solo = 0;
  private soloSpell = SOLO_MIN_JOBS;
  private stalls = 0;
  private windowJobs = 0;

  private constructor(
    private readonly exports: KernelExports,
    private readonly heap: KernelHeap,
    /** Threads that work on a job, the caller included. */
    readonly threads: number,
    private readonly jobPtr: number,
    private readonly ctlPtr: number,
    private readonly stacks: number[],
    private readonly workers: PoolWorker[],
  ) {}

  /** A pool of only the calling thread (no workers). */
  static single(kernelExports: KernelExports, heap: KernelHeap): KernelPool {
    return new KernelPool(kernelExports, heap, 1, heap.calloc(JOB_WORDS * 4, 'pool job'), heap.calloc(64, 'pool control'), [], []);
  }

  /**
   * Starts `threads - 1` workers and resolves when every one has instantiated the module.
   * @throws ConfigError when workers cannot start here (no worker_threads / Worker, no SharedArrayBuffer).
   */
  static async start(module: WebAssembly.Module, memory: WebAssembly.Memory, kernelExports: KernelExports, heap: KernelHeap, threads: number): Promise<KernelPool> {
    // (Not named `exports`: in the CommonJS build that would shadow the module's exports, and every
    // exported constant read here, such as WORKER_SPIN_MS, would come out undefined.)
    if (!Number.isInteger(threads) || threads < 1) throw new ConfigError(`kernel threads: ${threads}, expected an integer >= 1`);
    const jobPtr = heap.calloc(JOB_WORDS * 4, 'pool job');
    const ctlPtr = heap.calloc(64, 'pool control');
    const stacks: number[] = [];
    const workers: PoolWorker[] = [];
    const ready: Promise<void>[] = [];
    try {
      for (let i = 1; i < threads; i++) {
        const stack = heap.alloc(STACK_BYTES, 'worker stack');
        stacks.push(stack);
        const data = { module, memory, stackTop: stack + STACK_BYTES, ctlPtr, jobPtr, spinMs: WORKER_SPIN_MS };
        const { worker, started } = spawn(data);
        workers.push(worker);
        ready.push(started);
      }
      await Promise.all(ready);
    } catch (e) {
      for (const w of workers) void w.terminate();
      for (const s of stacks) heap.release(s);
      heap.release(jobPtr);
      heap.release(ctlPtr);
      throw new ConfigError(`kernel threads: workers failed to start: ${e instanceof Error ? e.message : String(e)}`);
    }
    return new KernelPool(kernelExports, heap, threads, jobPtr, ctlPtr, stacks, workers);
  }

  /**
   * Runs one job: `nchunks` chunks of `op` (chunk i covers [i * chunk, (i + 1) * chunk) of the op's
   * split axis) with the op's arguments (int32 words; see pool.c). Returns when every chunk is done.
   * A one-chunk job, or any job while the pool is in a solo spell (see {@link noteWait}), runs on the
   * calling thread alone: the workers are not woken.
   */
  run(op: number, chunk: number, nchunks: number, args: readonly number[]): void {
    const i32 = this.heap.i32();
    const j = this.jobPtr >> 2;
    i32[j + 1] = 0;
    i32[j + 2] = nchunks;
    i32[j + 3] = op;
    i32[j + 4] = chunk;
    for (let k = 0; k < args.length; k++) i32[j + 8 + k] = args[k]!;
    this.seq = (this.seq + 1) & 0xfff;
    Atomics.store(i32, j, (this.seq << 20) | nchunks);
    const parallel = this.workers.length > 0 && nchunks > 1 && this.solo === 0;
    if (this.solo > 0) this.solo--;
    if (!parallel) {
      this.exports.loom_pool_work(this.jobPtr);
      // A worker still spinning from the previous job may have claimed a chunk of this one.
      if (this.workers.length > 0) this.waitDone(i32, j, nchunks);
      return;
    }
    const c = this.ctlPtr >> 2;
    Atomics.add(i32, c, 1);
    Atomics.notify(i32, c);
    const t0 = performance.now();
    this.exports.loom_pool_work(this.jobPtr);
    const t1 = performance.now();
    this.waitDone(i32, j, nchunks);
    this.noteWait(t1 - t0, performance.now() - t1);
  }

  /** Waits until every chunk of the open job is done: a short spin, then `Atomics.wait`. */
  private waitDone(i32: Int32Array, j: number, nchunks: number): void {
    for (let spins = 0; ; ) {
      const done = Atomics.load(i32, j + 1);
      if (done === nchunks) return;
      if (++spins < POOL_SPIN || !this.block) continue;
      Atomics.wait(i32, j + 1, done, 2);
    }
  }

  /**
   * Contention guard. The caller finishes its own chunks at `work` ms and then waits `wait` ms for
   * the workers' last chunks; on a quiet machine that wait is at most about one chunk. When a worker
   * loses its core to another process while it holds a chunk, the caller waits for the scheduler to
   * bring it back (milliseconds), which would make N threads slower than one. After
   * {@link STALLS_TO_SOLO} such stalls within {@link STALL_WINDOW} parallel jobs the pool runs the next
   * jobs on the calling thread alone (the workers go to sleep in `Atomics.wait`, leaving their core to
   * the other process), for a spell that doubles while the stalls go on (up to {@link SOLO_MAX_JOBS})
   * and is reset by a window without stalls; then it tries the workers again.
   */
  private noteWait(work: number, wait: number): void {
    if (wait > STALL_MS && wait > work) this.stalls++;
    if (++this.windowJobs < STALL_WINDOW) return;
    if (this.stalls >= STALLS_TO_SOLO) {
      this.solo = this.soloSpell;
      this.soloSpell = Math.min(SOLO_MAX_JOBS, this.soloSpell * 2);
    } else if (this.stalls === 0) {
      this.soloSpell = SOLO_MIN_JOBS;
    }
    this.stalls = 0;
    this.windowJobs = 0;
  }

  /** Whether the contention guard runs jobs on the calling thread alone now. */
  get inSoloSpell(): boolean {
    return this.solo > 0;
  }

  /**
   * Chunks to split `n` units into (multiples of `align` units): about 8 per thread, fewer when a
   * unit costs `unitCost` multiply-adds and the job is small, so no chunk is cheaper than
   * {@link MIN_CHUNK_COST} (every chunk costs a claim and cache-line traffic between the cores), but
   * at least one per thread.
   */
  split(n: number, align: number, unitCost = MIN_CHUNK_COST): { chunk: number; nchunks: number } {
    if (this.threads === 1) return { chunk: n, nchunks: 1 };
    const byCost = Math.max(this.threads, Math.floor((n * unitCost) / MIN_CHUNK_COST));
    const target = Math.max(1, Math.min(this.threads * 8, Math.ceil(n / (align * 4)), byCost));
    const chunk = Math.ceil(n / target / align) * align;
    return { chunk, nchunks: Math.ceil(n / chunk) };
  }

  /** Stops the workers and frees their stacks. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const i32 = this.heap.i32();
    const c = this.ctlPtr >> 2;
    Atomics.store(i32, c + 1, 1);
    Atomics.add(i32, c, 1);
    Atomics.notify(i32, c);
    await Promise.all(this.workers.map((w) => w.terminate()));
    for (const s of this.stacks) this.heap.release(s);
    this.heap.release(this.jobPtr);
    this.heap.release(this.ctlPtr);
  }
}

interface WorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  stackTop: number;
  ctlPtr: number;
  jobPtr: number;
  spinMs: number;
}

function spawn(data: WorkerData): { worker: PoolWorker; started: Promise<void> } {
  if (isNode()) {
    const { Worker } = require('worker_threads') as typeof import('worker_threads');
    const worker = new Worker(KERNEL_WORKER_SOURCE, { eval: true, workerData: data });
    worker.unref();
    const started = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return { worker, started };
  }
  if (typeof Worker === 'undefined' || typeof Blob === 'undefined') throw new ConfigError('kernel threads: this environment has no Worker');
  const url = URL.createObjectURL(new Blob([KERNEL_WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new Worker(url);
  const started = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (e) => reject(new Error(e.message));
  });
  worker.postMessage(data);
  return { worker, started };
}
