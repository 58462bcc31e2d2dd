/**
 * Cross-backend comparison helpers: which backends exist here (cpu, wasm, and webgpu when an
 * adapter exists) and a relative-error check that treats NaN as a failure.
 */
import { useBackend, type BackendName } from '../../src/backends';
import { setupNodeWebGPU } from './webgpu';

/**
 * Backends to compare on this machine; webgpu only with an adapter (the reason is logged
 * otherwise; with LOOM_REQUIRE_WEBGPU=1 a missing adapter fails instead, for CI).
 */
export async function availableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = ['cpu', 'wasm'];
  const gpu = await setupNodeWebGPU();
  if (gpu.ok) out.push('webgpu');
  else if (process.env.LOOM_REQUIRE_WEBGPU) throw new Error(`LOOM_REQUIRE_WEBGPU is set but webgpu is unavailable: ${gpu.reason}`);
  else console.log(`webgpu skipped: ${gpu.reason}`);
  await useBackend('cpu'); // a ready backend for tf.memory() and friends
  return out;
}

/**
 * max |a - b| / max(max |b|, floor): relative to the tensor's scale, so values near zero do not
 * blow the ratio up. NaN or a length mismatch gives Infinity.
 */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = floor;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) !== Number.isNaN(y) || (Number.isNaN(x) && Number.isNaN(y))) return Infinity;
    diff = Math.max(diff, Math.abs(x - y));
    scale = Math.max(scale, Math.abs(y));
  }
  return diff / scale;
}

/** Runs `fn` on each backend (switching with useBackend) and returns its results by backend. */
export async function onEachBackend<T>(backends: readonly BackendName[], fn: (backend: BackendName) => T | Promise<T>): Promise<Map<BackendName, T>> {
  const out = new Map<BackendName, T>();
  for (const b of backends) {
    await useBackend(b);
    out.set(b, await fn(b));
  }
  return out;
}
