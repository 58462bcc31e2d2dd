/**
 * Backend selection: `useBackend('cpu' | 'wasm' | 'webgpu')` in Node and in the browser.
 * loom-tfjs never caches a backend: every op runs on whatever `tf.getBackend()` is, so a
 * user who calls `tf.setBackend` directly is followed as well.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { ConfigError } from './core/errors';
import { fetchKernelModule, kernelModuleAvailable, simdSupported } from './kernels/module';
import { KERNEL_BACKENDS, kernelThreads, setKernelThreads } from './kernels/runtime';
import { registerLoomKernels } from './kernels/register_all_kernels';

// Importing the wasm and webgpu backends registers them with a higher priority than cpu, but they
// start asynchronously: an op run before anyone chose a backend would throw "backend not yet
// initialized". Start on cpu (synchronous) until `useBackend` / `tf.setBackend` picks another.
if (tf.engine().backendName == null) void tf.setBackend('cpu');
// Node has the kernel module at hand: the ops in src/ops find their custom kernels from the start.
if (typeof SharedArrayBuffer !== 'undefined' && kernelModuleAvailable()) registerLoomKernels();

/**
 * tfjs's cpu backend prints "looks like you are running TensorFlow.js in Node.js ... install
 * tfjs-node" on its first use in Node. loom-tfjs chooses its backends itself (`useBackend`), so
 * that banner is noise in the CLI, the facade and notebooks: mark the backend as already used.
 */
function silenceNodeBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu && typeof cpu.firstUse === 'boolean') cpu.firstUse = false;
}
silenceNodeBanner();

/** Backends loom-tfjs supports. */
export type BackendName = 'cpu' | 'wasm' | 'webgpu';

/** Names accepted by {@link useBackend}. */
export const BACKEND_NAMES: readonly BackendName[] = ['cpu', 'wasm', 'webgpu'];

let wasmPathsSet = false;

/** A browser page or one of its Web Workers (which have no `window`). */
function inBrowser(): boolean {
  return typeof window !== 'undefined' || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';
}

/**
 * Where the wasm binaries are: in Node the installed package's `dist/`; in a browser bundle the
 * folder webpack copied them to (`wasmBase`, default: the page's folder).
 */
function configureWasmPaths(wasmBase?: string): void {
  if (wasmPathsSet && wasmBase === undefined) return;
  const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
  if (wasmBase !== undefined) {
    setWasmPaths(wasmBase);
  } else if (isNode) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const path = require('path') as typeof import('path');
    const pkg = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
    setWasmPaths(path.join(path.dirname(pkg), 'dist') + path.sep);
  } else {
    setWasmPaths('./');
  }
  wasmPathsSet = true;
}

/**
 * Browser only: tfjs-backend-wasm picks its threaded build on a cross-origin-isolated page, but it
 * sends its pthread loader to the workers as source text, which a minified (webpack production)
 * bundle breaks: every worker throws and `setBackend('wasm')` never resolves. So tfjs's wasm backend
 * stays single-threaded in a browser; loom-tfjs's kernels (which run the models) bring the threads.
 * Read by tfjs when the wasm backend first starts, so it is set before that.
 */
function keepTfjsWasmSingleThreaded(): void {
  if (!inBrowser()) return;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
}

/** Options of {@link useBackend}. */
export interface UseBackendOptions {
  /** Browser only: URL folder holding `tfjs-backend-wasm*.wasm` (webpack copies them next to the bundle). */
  wasmBase?: string;
  /**
   * Threads of loom-tfjs's wasm kernels (which run models on the `wasm` and `cpu` backends): the
   * calling thread plus `threads - 1` workers over one shared memory. Default: what the machine
   * offers, capped at 4 (1 where SharedArrayBuffer is missing, e.g. a page that is not cross-origin isolated).
   */
  threads?: number;
}

/** What {@link backendInfo} reports. */
export interface BackendInfo {
  /** The tfjs backend in use. */
  readonly backend: string;
  /** Threads the kernels run on for this backend (1 where the kernels do not apply, e.g. webgpu). */
  readonly threads: number;
  /** Whether this engine has WebAssembly SIMD128. */
  readonly simd: boolean;
  /** The page's `crossOriginIsolated` (SharedArrayBuffer and so threads); true in Node, which always has them. */
  readonly crossOriginIsolated: boolean;
}

/** The backend, kernel threads, SIMD and isolation in effect now. */
export function backendInfo(): BackendInfo {
  const backend = tf.getBackend();
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
  return {
    backend,
    threads: KERNEL_BACKENDS.includes(backend) ? kernelThreads() : 1,
    simd: simdSupported(),
    crossOriginIsolated: isolated ?? typeof SharedArrayBuffer !== 'undefined',
  };
}

/**
 * Switches tfjs to `name` and waits until it is ready.
 * @throws ConfigError when the name is unknown or the backend cannot start here (e.g. no WebGPU adapter).
 */
export async function useBackend(name: BackendName, options: UseBackendOptions = {}): Promise<void> {
  if (!BACKEND_NAMES.includes(name)) {
    throw new ConfigError(`unknown backend '${String(name)}', expected one of ${BACKEND_NAMES.join(', ')}`);
  }
  if (name === 'wasm') {
    configureWasmPaths(options.wasmBase);
    keepTfjsWasmSingleThreaded();
  }
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw new ConfigError(`backend '${name}' failed to start: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!ok) throw new ConfigError(`backend '${name}' is not available here`);
  await tf.ready();
  if (KERNEL_BACKENDS.includes(name) && typeof SharedArrayBuffer !== 'undefined') {
    // A browser page or Web Worker fetches the kernel module next to tfjs's wasm files (webpack copies both).
    if (!kernelModuleAvailable() && inBrowser()) await fetchKernelModule(options.wasmBase ?? './');
    if (kernelModuleAvailable()) {
      registerLoomKernels();
      await setKernelThreads(options.threads);
    }
  }
}

/** The backend tfjs is using now (whoever set it). */
export function currentBackend(): string {
  return tf.getBackend();
}
