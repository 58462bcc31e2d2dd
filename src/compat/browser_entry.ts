/**
 * Entry of the browser drop-in bundle `dist/loom.js`: loaded with a script tag it installs LOOM's
 * globals on `window`, as `loom.wasm` + `wasm_exec.js` did, and exposes the typed API as `loomTfjs`.
 *
 * Backend: `cpu` is usable at once (so calls made right after the script tag work); the faster
 * `wasm` backend (binaries next to `loom.js`) replaces it as soon as it has started. LOOM's Go boot
 * sequence (`go.run(...)` after `WebAssembly.instantiateStreaming`) resolves only then, and
 * `loomReady` (a promise of the backend name) lets new code wait for it.
 *
 * tfjs: when the page loaded tfjs first (`<script src="tf.min.js">`), the bundle uses that `tf`
 * global instead of its own copy (webpack aliases, scripts/webpack/), so LOOM layers go into the
 * page's `tf.sequential` and no kernel is registered twice. `loom.tf` is the tfjs in use either way.
 */
import * as tf from '@tensorflow/tfjs';
import * as api from '../index';
import { installGlobals } from './index';
import { installGoShim } from './go_shim';

const script = typeof document !== 'undefined' ? (document.currentScript as HTMLScriptElement | null) : null;
const base = script?.src ? script.src.slice(0, script.src.lastIndexOf('/') + 1) : './';

void tf.setBackend('cpu'); // synchronous for cpu: usable immediately
const ready: Promise<string> = (async () => {
  try {
    await api.useBackend('wasm', { wasmBase: base });
  } catch {
    await api.useBackend('cpu');
  }
  return api.currentBackend();
})();

installGlobals(globalThis);
installGoShim(globalThis, ready);
Object.assign(globalThis, { loomTfjs: api, loomReady: ready, loom: { ...api, tf, ready } });
