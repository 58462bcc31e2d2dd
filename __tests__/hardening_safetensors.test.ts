/**
 * safetensors files the reference Rust implementation (huggingface/safetensors,
 * `SafeTensors::read_metadata` + `Metadata::validate`) rejects are rejected here too, non-finite
 * weights are refused at load naming the tensor, and a file over 4 GiB loads by range.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as http from 'http';
import * as tf from '@tensorflow/tfjs';
import { SafetensorsError } from '../src/core/errors';
import { SafetensorsFile, loadSafetensors, saveSafetensors } from '../loaders/safetensors';
import { loadCausalLM } from '../loaders/pretrained';
import { tinyLlamaConfig, tinyLlamaTensors } from './helpers/tiny_llama';

/** A file from a header object and data bytes, written as the format says (no validation). */
function rawFile(header: unknown, data: Uint8Array, lengthDelta = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header) + '  ');
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setUint32(0, json.byteLength + lengthDelta, true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  expect(() => new SafetensorsFile(bytes)).toThrow(SafetensorsError);
  expect(() => new SafetensorsFile(bytes)).toThrow(pattern);
}

describe('layout rules of the reference implementation', () => {
  const f32 = (n: number): Uint8Array => new Uint8Array(new Float32Array(n).fill(1).buffer);

  test('contiguous tensors from offset 0 to the end of the file are accepted', () => {
    const h = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } };
    expect(new SafetensorsFile(rawFile(h, f32(3))).names).toEqual(['a', 'b']);
  });

  test('a gap between tensors is rejected (InvalidOffset)', () => {
    const h = { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } };
    rejects(rawFile(h, f32(3)), /'b'.*gap.*begin at 4/);
  });

  test('a first tensor that does not start at 0 is rejected', () => {
    rejects(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(2)), /'a'.*gap.*begin at 0/);
  });

  test('trailing bytes after the last tensor are rejected (MetadataIncompleteBuffer)', () => {
    rejects(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(2)), /8 bytes but the tensors cover 4/);
  });

  test('a header length one byte short (data shifted by a byte) is rejected, not decoded shifted', () => {
    // The header ends in spaces, so the JSON still parses; the data section then starts a byte early.
    rejects(rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32(2), -1), /9 bytes but the tensors cover 8/);
  });

  test('what saveSafetensors writes passes (names sorted, padded header)', () => {
    const bytes = saveSafetensors({ z: { shape: [3], data: new Float32Array([1, 2, 3]) }, a: { shape: [1], data: new Int32Array([4]) } });
    expect([...new SafetensorsFile(bytes).get('z').data]).toEqual([1, 2, 3]);
  });
});

describe('non-finite weights', () => {
  test.each([
    ['F32', NaN],
    ['F32', Infinity],
    ['F16', -Infinity],
    ['BF16', NaN],
    ['F64', 1e300], // finite as float64, Infinity as float32
  ] as const)('%s value %p is rejected naming the tensor and index', (dtype, bad) => {
    const data = new Float64Array([0.5, bad, 1]);
    const bytes = saveSafetensors({ 'model.w': { shape: [3], data, dtype } });
    const f = new SafetensorsFile(bytes);
    expect(() => f.get('model.w')).toThrow(SafetensorsError);
    expect(() => f.get('model.w')).toThrow(/'model.w'.*non-finite.*index 1/);
    // Trusted files may skip the scan.
    const trusted = new SafetensorsFile(bytes, 'trusted', { checkFinite: false });
    expect(Number.isFinite(trusted.get('model.w').data[1]!)).toBe(false);
  });

  test('loadCausalLM refuses a checkpoint with one NaN weight, naming it, and leaks nothing', async () => {
    const tensors = tinyLlamaTensors();
    (tensors['model.layers.0.mlp.up_proj.weight']!.data as Float32Array)[5] = NaN;
    const before = tf.memory().numTensors;
    await expect(loadCausalLM({ config: tinyLlamaConfig(), weights: saveSafetensors(tensors) })).rejects.toThrow(
      /'model.layers.0.mlp.up_proj.weight'.*non-finite/,
    );
    expect(tf.memory().numTensors).toBe(before);
    // With the scan off the file loads (the caller said it trusts it).
    const m = await loadCausalLM({ config: tinyLlamaConfig(), weights: saveSafetensors(tensors) }, { checkFinite: false });
    m.dispose();
  });
});

describe('files over 4 GiB load by byte range', () => {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-big-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a sparse 4.5 GiB file: header checked, a tensor after the 4 GiB mark read, no whole-file buffer', async () => {
    // Layout: 'pad' U8 covering 4.5 GiB (a hole: no disk used), then 'w' F32 [4] with real bytes.
    const padBytes = 4.5 * 2 ** 30;
    const header = {
      pad: { dtype: 'U8', shape: [padBytes], data_offsets: [0, padBytes] },
      w: { dtype: 'F32', shape: [4], data_offsets: [padBytes, padBytes + 16] },
    };
    const json = new TextEncoder().encode(JSON.stringify(header));
    const p = path.join(dir, 'big.safetensors');
    const fd = fs.openSync(p, 'w');
    try {
      const len = new Uint8Array(8);
      new DataView(len.buffer).setUint32(0, json.byteLength, true);
      fs.writeSync(fd, len, 0, 8, 0);
      fs.writeSync(fd, json, 0, json.byteLength, 8);
      const dataStart = 8 + json.byteLength;
      fs.ftruncateSync(fd, dataStart + padBytes + 16);
      const w = new Uint8Array(new Float32Array([1.5, -2, 3.25, 4]).buffer);
      fs.writeSync(fd, w, 0, 16, dataStart + padBytes);
    } finally {
      fs.closeSync(fd);
    }
    expect(fs.statSync(p).size).toBeGreaterThan(2 ** 32);
    const buffersBefore = process.memoryUsage().arrayBuffers;
    const f = await loadSafetensors(p);
    expect(f.entry('pad').shape).toEqual([padBytes]);
    expect([...f.get('w').data]).toEqual([1.5, -2, 3.25, 4]);
    // Reading the whole file into one buffer would add 4.5 GiB (and fails on Node 20: 4 GiB max).
    expect(process.memoryUsage().arrayBuffers - buffersBefore).toBeLessThan(64 * 2 ** 20);
  });

  test('loadCausalLM on a folder whose 4.5 GiB model.safetensors holds the weights past the 4 GiB mark', async () => {
    const small = saveSafetensors(tinyLlamaTensors());
    const n = new DataView(small.buffer).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(small.subarray(8, 8 + n)).trim()) as Record<string, { data_offsets: [number, number] }>;
    const pad = 4.5 * 2 ** 30;
    const moved: Record<string, unknown> = { 'pad.bytes': { dtype: 'U8', shape: [pad], data_offsets: [0, pad] } };
    for (const [k, e] of Object.entries(header)) moved[k] = { ...e, data_offsets: [e.data_offsets[0] + pad, e.data_offsets[1] + pad] };
    const json = new TextEncoder().encode(JSON.stringify(moved));
    const folder = fs.mkdtempSync(path.join(dir, 'model-'));
    fs.writeFileSync(path.join(folder, 'config.json'), JSON.stringify(tinyLlamaConfig()));
    const fd = fs.openSync(path.join(folder, 'model.safetensors'), 'w');
    try {
      const len = new Uint8Array(8);
      new DataView(len.buffer).setUint32(0, json.byteLength, true);
      fs.writeSync(fd, len, 0, 8, 0);
      fs.writeSync(fd, json, 0, json.byteLength, 8);
      fs.writeSync(fd, small, 8 + n, small.byteLength - 8 - n, 8 + json.byteLength + pad); // after a 4.5 GiB hole
    } finally {
      fs.closeSync(fd);
    }
    const fromFolder = await loadCausalLM(folder);
    const inMemory = await loadCausalLM({ config: tinyLlamaConfig(), weights: small });
    try {
      const a = fromFolder.forward([[1, 2, 3]]);
      const b = inMemory.forward([[1, 2, 3]]);
      expect([...a.dataSync()]).toEqual([...b.dataSync()]); // same weights, read by range past 4 GiB
      tf.dispose([a, b]);
    } finally {
      fromFolder.dispose();
      inMemory.dispose();
    }
  });
});

test('a Blob is read one tensor slice at a time, never as one whole buffer', async () => {
  const bytes = saveSafetensors({ a: { shape: [3], data: new Float32Array([1, 2, 3]) }, b: { shape: [2], data: new Int32Array([7, 8]) } });
  const slices: [number, number][] = [];
  class WatchedBlob extends Blob {
    override arrayBuffer(): Promise<ArrayBuffer> {
      throw new Error('whole-file read');
    }
    override slice(start?: number, end?: number): Blob {
      slices.push([start ?? 0, end ?? this.size]);
      return super.slice(start, end);
    }
  }
  const f = await loadSafetensors(new WatchedBlob([new Uint8Array(bytes)]));
  expect([...f.get('a').data]).toEqual([1, 2, 3]);
  expect([...f.get('b').data]).toEqual([7, 8]);
  const dataStart = bytes.byteLength - 20;
  // length prefix, header, then each tensor's own range
  expect(slices).toEqual([[0, 8], [0, dataStart], [dataStart, dataStart + 12], [dataStart + 12, dataStart + 20]]);
});


test('a URL body is split into per-tensor buffers across any chunk boundaries; a cut body is a SafetensorsError', async () => {
  const tensors = { a: { shape: [5], data: new Float32Array([1, -2, 3.5, 4, 5]) }, b: { shape: [3], data: new Int32Array([9, 8, 7]) }, c: { shape: [2], data: new Float32Array([0.25, 6]), dtype: 'BF16' as const } };
  const body = saveSafetensors(tensors);
  const server = http.createServer((req, res) => {
    if (req.url === '/cut') {
      res.writeHead(200, { 'content-length': String(body.byteLength) });
      res.write(body.subarray(0, body.byteLength - 5));
      res.destroy(); // the connection drops before the promised length
      return;
    }
    res.writeHead(200, { 'content-length': String(body.byteLength) });
    for (let i = 0; i < body.byteLength; i += 7) res.write(body.subarray(i, i + 7)); // 7-byte chunks straddle every boundary
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const f = await loadSafetensors(`${base}/m.safetensors`);
    const ref = new SafetensorsFile(body);
    for (const n of ['a', 'b', 'c']) expect([...f.get(n).data]).toEqual([...ref.get(n).data]);
    await expect(loadSafetensors(`${base}/cut`)).rejects.toThrow(SafetensorsError);
  } finally {
    server.close();
  }
});
