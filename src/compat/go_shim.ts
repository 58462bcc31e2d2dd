/**
 * Lets LOOM pages that still run the Go WASM boot sequence work unchanged:
 * `const go = new Go(); WebAssembly.instantiateStreaming(fetch('loom.wasm'), go.importObject).then(r => go.run(r.instance))`.
 * `Go` becomes a stand-in whose `run` resolves at once, and instantiating with its import object
 * yields an empty instance instead of fetching Go's binary (the globals are already installed).
 */

const MARKER = Symbol.for('loom-tfjs.go-shim');

interface ShimImports {
  [MARKER]: true;
}

/**
 * Installs `Go` (if absent) and wraps `WebAssembly.instantiate(Streaming)` for its import object.
 * Both the fake instantiation and `go.run` resolve only once `ready` has (the tfjs backend is up).
 */
export function installGoShim(target: object, ready: Promise<unknown> = Promise.resolve()): void {
  const g = target as Record<string, unknown>;
  if (typeof g['Go'] === 'function') return;
  g['Go'] = class Go {
    importObject: ShimImports = { [MARKER]: true };
    argv: string[] = [];
    env: Record<string, string> = {};
    exited = false;
    run(): Promise<void> {
      return ready.then(() => undefined);
    }
  };
  const wasm = (g['WebAssembly'] ?? (globalThis as { WebAssembly?: unknown }).WebAssembly) as
    | { instantiateStreaming?: (...a: unknown[]) => Promise<unknown>; instantiate?: (...a: unknown[]) => Promise<unknown> }
    | undefined;
  if (!wasm) return;
  const isShim = (imports: unknown): boolean => typeof imports === 'object' && imports !== null && MARKER in imports;
  const fake = async (source: unknown): Promise<unknown> => {
    // consume and ignore the response (it may be a 404 for the old loom.wasm)
    try {
      await Promise.resolve(source);
    } catch {
      /* ignored */
    }
    await ready;
    return { instance: { exports: {} }, module: {} };
  };
  for (const name of ['instantiateStreaming', 'instantiate'] as const) {
    const orig = wasm[name];
    if (!orig) continue;
    wasm[name] = (source: unknown, imports?: unknown, ...rest: unknown[]) =>
      isShim(imports) ? fake(source) : orig.call(wasm, source, imports, ...rest);
  }
}
