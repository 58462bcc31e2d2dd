/**
 * Entry of the browser drop-in bundle `dist/loom.js`: loaded with a script tag it installs LOOM's
 * globals on `window`, as `loom.wasm` + `wasm_exec.js` did, and exposes the typed API as `loomTfjs`.
 */
import * as api from '../index';
import { installGlobals } from './index';
import { installGoShim } from './go_shim';

installGlobals(globalThis);
installGoShim(globalThis);
(globalThis as unknown as { loomTfjs: typeof api }).loomTfjs = api;
