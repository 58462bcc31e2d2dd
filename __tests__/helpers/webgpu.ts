/**
 * WebGPU in Node for tests: Dawn (the `webgpu` npm package) with the SwiftShader Vulkan driver
 * from Debian's chromium package, exposed as `navigator.gpu` and registered as tfjs's `webgpu`
 * backend. Needs the Vulkan loader on the library path, e.g.
 *   LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
 * (VK_ICD_FILENAMES is set here when unset; LD_LIBRARY_PATH must be set before node starts).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

/** Result of {@link setupNodeWebGPU}. */
export type WebGPUSetup = { ok: true; adapter: string } | { ok: false; reason: string };

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

interface DawnModule {
  create(options: string[]): { requestAdapter(o?: object): Promise<GPUAdapterLike | null> };
  globals: Record<string, unknown>;
}
interface GPUAdapterLike {
  readonly info?: { vendor?: string; architecture?: string; description?: string; device?: string };
  readonly limits: Record<string, number>;
  requestDevice(d?: object): Promise<unknown>;
}

let setup: Promise<WebGPUSetup> | null = null;

async function trySetup(): Promise<WebGPUSetup> {
  if (process.env.LOOM_SKIP_WEBGPU) return { ok: false, reason: 'LOOM_SKIP_WEBGPU is set' };
  let pkgDir: string;
  try {
    pkgDir = path.dirname(require.resolve('webgpu/package.json'));
  } catch {
    return { ok: false, reason: "the 'webgpu' npm package is not installed" };
  }
  const addon = path.join(pkgDir, 'dist', `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`, 'dawn.node');
  if (!fs.existsSync(addon)) return { ok: false, reason: `no Dawn build for ${process.platform}-${process.arch} (${addon})` };
  if (!process.env.VK_ICD_FILENAMES && fs.existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  // process.dlopen loads the native addon directly (the package's index.js is ESM, which jest's require cannot load).
  const mod = { exports: {} as DawnModule };
  process.dlopen(mod, addon);
  const dawn = mod.exports;
  const g = globalThis as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(dawn.globals)) if (!(k in g)) g[k] = v;
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    const hint = fs.existsSync('/usr/lib/chromium/libvulkan.so.1') && !(process.env.LD_LIBRARY_PATH ?? '').includes('/usr/lib/chromium')
      ? ' (run with LD_LIBRARY_PATH=/usr/lib/chromium so Dawn finds libvulkan.so.1)'
      : '';
    return { ok: false, reason: `Dawn found no WebGPU adapter${hint}` };
  }
  const nav = (g.navigator ?? {}) as Record<string, unknown>;
  if (!g.navigator) g.navigator = nav;
  if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  const info = adapter.info ?? {};
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  // tfjs-backend-webgpu registers its backend at import only when navigator.gpu existed then;
  // register it here (its kernels are registered regardless).
  if (!tf.findBackendFactory('webgpu')) {
    tf.registerBackend('webgpu', async () => {
      const l = adapter.limits;
      const device = await adapter.requestDevice({
        requiredLimits: {
          maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
          maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
          maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
          maxBufferSize: l.maxBufferSize,
          maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
          maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        },
      });
      return new WebGPUBackend(device as ConstructorParameters<typeof WebGPUBackend>[0], info as ConstructorParameters<typeof WebGPUBackend>[1]);
    }, 0); // lowest priority: never chosen implicitly, only by setBackend('webgpu')
  }
  return { ok: true, adapter: name };
}

/**
 * Makes tfjs's `webgpu` backend usable in Node when a WebGPU adapter exists (memoised).
 * Never throws: returns the reason when there is none, for a clean skip.
 */
export function setupNodeWebGPU(): Promise<WebGPUSetup> {
  setup ??= trySetup().catch((e: unknown) => ({ ok: false as const, reason: e instanceof Error ? e.message : String(e) }));
  return setup;
}
