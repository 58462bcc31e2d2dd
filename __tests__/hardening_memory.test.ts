/**
 * A model too large for the backend is refused with OutOfMemoryError from the checkpoint header,
 * before any allocation, and the backend still runs the built-in model afterwards.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { LoomError, OutOfMemoryError } from '../src/core/errors';
import { useBackend } from '../src/backends';
import { loadCausalLM } from '../loaders/pretrained';
import { asOutOfMemory, isAllocationFailure } from '../loaders/memory_budget';
import { saveSafetensors } from '../loaders/safetensors';
import { loadBuiltinModel } from '../src/builtin_model';
import { tinyLlamaConfig, tinyLlamaTensors } from './helpers/tiny_llama';

/** A sparse file holding the tiny llama's tensors plus one `extra` BF16 tensor of `extraValues` zeros (a hole on disk). */
function sparseCheckpoint(file: string, extraValues: number): void {
  const small = saveSafetensors(tinyLlamaTensors());
  const n = new DataView(small.buffer).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(small.subarray(8, 8 + n)).trim()) as Record<string, { data_offsets: number[] }>;
  const end = Math.max(...Object.values(header).map((e) => e.data_offsets[1]!));
  const withExtra = { ...header, 'model.extra.weight': { dtype: 'BF16', shape: [extraValues], data_offsets: [end, end + 2 * extraValues] } };
  const json = new TextEncoder().encode(JSON.stringify(withExtra));
  const fd = fs.openSync(file, 'w');
  try {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setUint32(0, json.byteLength, true);
    fs.writeSync(fd, len, 0, 8, 0);
    fs.writeSync(fd, json, 0, json.byteLength, 8);
    fs.writeSync(fd, small, 8 + n, end, 8 + json.byteLength);
    fs.ftruncateSync(fd, 8 + json.byteLength + end + 2 * extraValues);
  } finally {
    fs.closeSync(fd);
  }
}

async function builtinRuns(): Promise<void> {
  const { model } = await loadBuiltinModel();
  try {
    const logits = model.forward([[1, 2, 3]]);
    const v = logits.dataSync();
    logits.dispose();
    expect(v.length).toBe(model.info.vocabSize);
    expect(v.every((x) => Number.isFinite(x))).toBe(true);
  } finally {
    model.dispose();
  }
}

describe('OutOfMemoryError before allocating', () => {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-oom-'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(tinyLlamaConfig()));
    // 1.1 * 2^30 BF16 values: 2.2 GiB on disk (sparse), 4.4 GiB as float32: over the wasm heap.
    sparseCheckpoint(path.join(dir, 'model.safetensors'), Math.round(1.1 * 2 ** 30));
  });
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await useBackend('cpu');
  });

  test('wasm: a 4.4 GiB float32 model is refused from its header; the wasm backend still runs the built-in model', async () => {
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    const buffers = process.memoryUsage().arrayBuffers;
    const err = await loadCausalLM(dir, { kernels: false }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect(err).toBeInstanceOf(LoomError);
    // 1.1 * 2^30 values: 4.40 GiB of float32 weights, 9.24 GiB with XNNPACK's packed copies.
    expect((err as Error).message).toMatch(/need 9\.24 GiB as float32 on the wasm backend \(4\.40 GiB of weights plus XNNPACK's packed copies\), but only 3\.\d+ GiB is available.*bf16/);
    expect(tf.memory().numTensors).toBe(before);
    expect(process.memoryUsage().arrayBuffers - buffers).toBeLessThan(64 * 2 ** 20);
    // On the wasm kernels (the default on wasm) the weights need 4.40 GiB of the kernel heap as fp32; q4 would fit.
    const onKernels = await loadCausalLM(dir).then(() => null, (e: unknown) => e);
    expect(onKernels).toBeInstanceOf(OutOfMemoryError);
    expect((onKernels as Error).message).toMatch(/need 4\.40 GiB in the wasm kernels, but only 3\.60 GiB is available.*as q4 0\.69 GiB/);
    expect(tf.memory().numTensors).toBe(before);
    await builtinRuns();
  });

  test('wasm: a 3.9 GB float32 model (under the 4 GiB heap, but not with its packed copies) is refused too', async () => {
    await useBackend('wasm');
    const d2 = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-oom2-'));
    try {
      fs.writeFileSync(path.join(d2, 'config.json'), JSON.stringify(tinyLlamaConfig()));
      sparseCheckpoint(path.join(d2, 'model.safetensors'), 975_000_000); // 3.9e9 bytes as float32
      await expect(loadCausalLM(d2, { kernels: false })).rejects.toThrow(/\(3\.63 GiB of weights plus XNNPACK's packed copies\).*kept for activations/);
      await builtinRuns();
    } finally {
      fs.rmSync(d2, { recursive: true, force: true });
    }
  });

  test('cpu: memoryLimitBytes refuses a model over the budget and admits one under it', async () => {
    await useBackend('cpu');
    const weights = saveSafetensors(tinyLlamaTensors());
    await expect(loadCausalLM({ config: tinyLlamaConfig(), weights }, { memoryLimitBytes: 1000 })).rejects.toThrow(OutOfMemoryError);
    const m = await loadCausalLM({ config: tinyLlamaConfig(), weights }, { memoryLimitBytes: 1e6 });
    m.dispose();
    await builtinRuns();
  });
});

test('allocation failures become OutOfMemoryError; other errors pass through unchanged', () => {
  let hostFailure: unknown;
  try {
    new Float32Array(2 ** 53); // over every engine's typed-array limit
  } catch (e) {
    hostFailure = e;
  }
  expect(isAllocationFailure(hostFailure)).toBe(true);
  expect(asOutOfMemory(hostFailure, 'm')).toBeInstanceOf(OutOfMemoryError);
  expect(asOutOfMemory(new Error('Aborted(Cannot enlarge memory arrays to size 4294971392 bytes)'), 'm')).toBeInstanceOf(OutOfMemoryError);
  const other = new TypeError('x is not a function');
  expect(asOutOfMemory(other, 'm')).toBe(other);
});
