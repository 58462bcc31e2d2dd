/**
 * useBackend's `threads`, backendInfo(), and how models pick the engine (kernels on by default on
 * wasm and cpu, `kernels: false` for the tfjs op chain, packed dtypes need the kernels).
 */
import * as os from 'os';
import { backendInfo, useBackend } from '../src/backends';
import { ConfigError } from '../src/core/errors';
import { setKernelThreads } from '../src/kernels/runtime';
import { loadCausalLM } from '../loaders/pretrained';
import { tinyDecoders } from './helpers/tiny_decoders';

afterAll(async () => {
  await useBackend('cpu', { threads: 1 });
});

describe('kernel threads and backendInfo', () => {
  test('useBackend(name, { threads }) sets the kernel pool; backendInfo reports it', async () => {
    await useBackend('wasm', { threads: 2 });
    expect(backendInfo()).toEqual({ backend: 'wasm', threads: 2, simd: true, crossOriginIsolated: true });
    await useBackend('cpu', { threads: 1 });
    expect(backendInfo()).toEqual({ backend: 'cpu', threads: 1, simd: true, crossOriginIsolated: true });
    await useBackend('cpu');
    expect(backendInfo().threads).toBe(Math.min(4, os.availableParallelism()));
    await setKernelThreads(1);
  });

  test('a bad thread count is a ConfigError', async () => {
    await expect(useBackend('wasm', { threads: 0 })).rejects.toThrow(ConfigError);
    await expect(useBackend('wasm', { threads: 1.5 })).rejects.toThrow(/threads: 1.5, expected an integer in \[1, 64\]/);
  });

  test('kernels on by default on cpu/wasm, off with kernels: false; a packed dtype without kernels is a ConfigError', async () => {
    const c = tinyDecoders()[0]!;
    for (const backend of ['cpu', 'wasm'] as const) {
      await useBackend(backend, { threads: 1 });
      const on = await loadCausalLM({ config: c.config, weights: c.weights });
      expect(on.kernelsActive).toBe(true);
      on.dispose();
      const off = await loadCausalLM({ config: c.config, weights: c.weights }, { kernels: false });
      expect(off.kernelsActive).toBe(false);
      expect(off.info.dtype).toBe('fp32');
      expect(off.memory().kernelBytes).toBe(0);
      expect(off.memory().tfjsBytes).toBe(off.weightBytes);
      off.dispose();
      await expect(loadCausalLM({ config: c.config, weights: c.weights }, { kernels: false, dtype: 'q8' })).rejects.toThrow(ConfigError);
    }
  });
});
