import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as http from 'http';
import { SafetensorsError } from '../src/core/errors';
import {
  SafetensorsFile,
  loadSafetensors,
  loadShardedSafetensors,
  parseSafetensorsHeader,
  saveSafetensors,
} from '../loaders/safetensors';
import type { ProgressInfo } from '../loaders/byte_source';
import { FIXTURES } from './helpers/fixtures';

const FIX = FIXTURES;
const fmt = (f: string): string => path.join(FIX, 'safetensors-format', f);

/** Builds a file from a header object and raw data bytes (no validation, for corrupt cases). */
function rawFile(header: unknown, data: Uint8Array, lengthOverride?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setUint32(0, lengthOverride ?? json.byteLength, true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

function expectSafetensorsError(fn: () => unknown, pattern: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SafetensorsError);
  expect((err as Error).message).toMatch(pattern);
}

describe('safetensors fixtures (swift-transformers)', () => {
  test('int32, float64, float32 3d/4d tensors decode to the documented values', async () => {
    const i32 = await loadSafetensors(fmt('tensor-1d-int32.safetensors'));
    const t = i32.get('embedding');
    expect(t.dtype).toBe('I32');
    expect(t.shape).toEqual([3]);
    expect(t.data).toBeInstanceOf(Int32Array);
    expect([...t.data]).toEqual([1, 2, 3]);

    const f64 = (await loadSafetensors(fmt('tensor-2d-float64.safetensors'))).get('embedding');
    expect(f64.shape).toEqual([2, 3]);
    expect(f64.data).toBeInstanceOf(Float32Array);
    expect([...f64.data]).toEqual([1, 2, 3, 24, 25, 26]);

    const f3 = (await loadSafetensors(fmt('tensor-3d-float32.safetensors'))).get('embedding');
    expect(f3.shape).toEqual([2, 2, 3]);
    expect([...f3.data]).toEqual([22, 23, 24, 11, 12, 13, 2, 3, 4, 1, 2, 3]);

    const f4 = (await loadSafetensors(fmt('tensor-4d-float32.safetensors'))).get('embedding');
    expect(f4.shape).toEqual([2, 3, 1, 3]);
    expect([...f4.data]).toEqual([11, 12, 13, 1, 2, 3, 4, 5, 6, 22, 23, 24, 15, 16, 17, 17, 18, 19]);
  });

  test('tiny-random-gpt2 header: 64 tensors, metadata, shapes', async () => {
    const f = await loadSafetensors(path.join(FIX, 'tiny-random-gpt2', 'model.safetensors'));
    expect(f.names.length).toBe(64);
    expect(f.header.metadata).toEqual({ format: 'pt' });
    expect(f.entry('transformer.h.0.attn.c_attn.weight').shape).toEqual([32, 96]);
    expect(f.get('transformer.wte.weight').data.length).toBe(1000 * 32);
  });

  test('llama_tiny from a Uint8Array, an ArrayBuffer and a Blob agree', async () => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(FIX, 'loom-golden', 'llama_tiny.safetensors')));
    const a = await loadSafetensors(bytes);
    const b = await loadSafetensors(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const c = await loadSafetensors(new Blob([bytes]));
    const name = 'model.layers.0.self_attn.q_proj.weight';
    expect(a.entry(name).shape).toEqual([64, 64]);
    expect([...b.get(name).data]).toEqual([...a.get(name).data]);
    expect([...c.get(name).data]).toEqual([...a.get(name).data]);
  });
});

describe('saveSafetensors round trip', () => {
  test('F32/F64/I32/U8 exact; F16 and BF16 exact on representable values', () => {
    const halfs = new Float32Array([0, -0, 1, -2.5, 65504, 2 ** -24, 2 ** -14, Infinity, -Infinity, 0.333251953125]);
    const bf = new Float32Array([1, -3.5, 2 ** 100, 1.5 * 2 ** -120, Infinity]);
    const bytes = saveSafetensors(
      {
        b: { shape: [2, 2], data: new Float32Array([1.5, -2, 3e-8, 7]) },
        a: { shape: [3], data: new Int32Array([-5, 0, 2147483647]) },
        h: { shape: [halfs.length], data: halfs, dtype: 'F16' },
        g: { shape: [bf.length], data: bf, dtype: 'BF16' },
        d: { shape: [1, 2], data: new Float64Array([0.1, -4]), dtype: 'F64' },
        u: { shape: [2], data: new Uint8Array([0, 255]) },
        e: { shape: [0, 4], data: new Float32Array(0) },
      },
      { format: 'pt' },
    );
    expect(new DataView(bytes.buffer).getUint32(0, true) % 8).toBe(0);
    // Infinity round-trips only with the finiteness scan off (weights with Inf are rejected by default).
    const f = new SafetensorsFile(bytes, 'safetensors', { checkFinite: false });
    expect(f.names).toEqual(['a', 'b', 'd', 'e', 'g', 'h', 'u']);
    expect(f.header.metadata).toEqual({ format: 'pt' });
    expect([...f.get('a').data]).toEqual([-5, 0, 2147483647]);
    expect([...f.get('b').data]).toEqual([...new Float32Array([1.5, -2, 3e-8, 7])]);
    expect([...f.get('d').data]).toEqual([Math.fround(0.1), -4]);
    expect(f.get('e').shape).toEqual([0, 4]);
    expect([...f.get('h').data]).toEqual([...halfs]);
    expect(Object.is(f.get('h').data[1], -0)).toBe(true);
    expect([...f.get('g').data]).toEqual([...bf]);
    expect([...f.get('u').data]).toEqual([0, 255]);
  });

  test('F16 rounds to nearest even and NaN survives', () => {
    // 1 + 2^-11 is half-way between 1 and 1 + 2^-10: ties to even (1).
    const bytes = saveSafetensors({ x: { shape: [3], data: new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, NaN]), dtype: 'F16' } });
    const d = new SafetensorsFile(bytes, 'safetensors', { checkFinite: false }).get('x').data;
    expect(d[0]).toBe(1);
    expect(d[1]).toBe(1 + 2 ** -9);
    expect(Number.isNaN(d[2])).toBe(true);
  });
});

describe('corrupt inputs give SafetensorsError naming the field', () => {
  const good = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const data8 = new Uint8Array(8);
  test('valid baseline parses', () => {
    expect(parseSafetensorsHeader(rawFile(good, data8)).tensors.get('w')?.shape).toEqual([2]);
  });
  test('file shorter than 8 bytes', () => {
    expectSafetensorsError(() => new SafetensorsFile(new Uint8Array(5)), /at least 8/);
  });
  test('header length past the end', () => {
    expectSafetensorsError(() => new SafetensorsFile(rawFile(good, data8, 10_000)), /past the end/);
  });
  test('huge header length (high word set)', () => {
    const f = rawFile(good, data8);
    new DataView(f.buffer).setUint32(4, 1, true);
    expectSafetensorsError(() => new SafetensorsFile(f), /over the limit/);
  });
  test('truncated file (data cut)', () => {
    const f = rawFile(good, data8);
    expectSafetensorsError(() => new SafetensorsFile(f.subarray(0, f.byteLength - 3)), /'w'.*past the data section/);
  });
  test('header not JSON / not an object', () => {
    const f = rawFile(good, data8);
    f[9] = 0x7b; // '{{'
    expectSafetensorsError(() => new SafetensorsFile(f), /not valid UTF-8 JSON/);
    expectSafetensorsError(() => new SafetensorsFile(rawFile([1, 2], data8)), /JSON object/);
  });
  test('unknown dtype', () => {
    expectSafetensorsError(() => new SafetensorsFile(rawFile({ w: { dtype: 'F8_E4M3', shape: [8], data_offsets: [0, 8] } }, data8)), /'w'.*dtype "F8_E4M3"/);
  });
  test('shape does not match byte range', () => {
    expectSafetensorsError(() => new SafetensorsFile(rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data8)), /'w'.*needs 12 bytes.*give 8/);
  });
  test('bad shape and offsets types', () => {
    expectSafetensorsError(() => new SafetensorsFile(rawFile({ w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, data8)), /'w': shape/);
    expectSafetensorsError(() => new SafetensorsFile(rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, data8)), /'w'.*end before/);
    expectSafetensorsError(() => new SafetensorsFile(rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0] } }, data8)), /'w': data_offsets/);
    expectSafetensorsError(() => new SafetensorsFile(rawFile({ w: 3 }, data8)), /'w': entry must be an object/);
  });
  test('out-of-range offsets', () => {
    expectSafetensorsError(() => new SafetensorsFile(rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, data8)), /'w'.*past the data section/);
  });
  test('overlapping offsets', () => {
    const h = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
    expectSafetensorsError(() => new SafetensorsFile(rawFile(h, new Uint8Array(12))), /'b'.*overlap 'a'/);
  });
  test('missing tensor', () => {
    expectSafetensorsError(() => new SafetensorsFile(rawFile(good, data8)).get('nope'), /'nope' is missing/);
  });
  test('bad __metadata__', () => {
    expectSafetensorsError(() => new SafetensorsFile(rawFile({ __metadata__: { a: 1 }, ...good }, data8)), /__metadata__\.a/);
  });
  test('I64 out of int32 range', () => {
    const d = new Uint8Array(8);
    new DataView(d.buffer).setBigInt64(0, 2n ** 40n, true);
    expectSafetensorsError(() => new SafetensorsFile(rawFile({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, d)).get('x'), /'x' I64 value/);
  });
});

describe('header fuzzing (seeded)', () => {
  test('4000 mutated files: only SafetensorsError, never a crash', () => {
    const base = saveSafetensors({
      'model.a.weight': { shape: [3, 4], data: new Float32Array(12).fill(1.5) },
      'model.b': { shape: [5], data: new Int32Array(5), dtype: 'I32' },
      'model.c': { shape: [2, 2], data: new Float32Array(4), dtype: 'BF16' },
    }, { format: 'pt' });
    let seed = 12345;
    const rand = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const headerEnd = 8 + new DataView(base.buffer).getUint32(0, true);
    const digits = '0123456789-';
    let ok = 0;
    let rejected = 0;
    const t0 = Date.now();
    for (let iter = 0; iter < 4000; iter++) {
      let f: Uint8Array = base.slice();
      const kind = iter % 5;
      const mutations = 1 + Math.floor(rand() * 4);
      for (let m = 0; m < mutations; m++) {
        if (kind === 0) f[Math.floor(rand() * headerEnd)] = Math.floor(rand() * 256);
        else if (kind === 1) f[8 + Math.floor(rand() * (headerEnd - 8))] = digits.charCodeAt(Math.floor(rand() * digits.length));
        else if (kind === 2) f = f.subarray(0, Math.floor(rand() * f.byteLength));
        else if (kind === 3) new DataView(f.buffer, f.byteOffset).setUint32(Math.floor(rand() * 2) * 4, Math.floor(rand() * 2 ** 32), true);
        else {
          // Swap two header bytes (keeps the character set plausible).
          const i = 8 + Math.floor(rand() * (headerEnd - 8));
          const j = 8 + Math.floor(rand() * (headerEnd - 8));
          const t = f[i]!;
          f[i] = f[j]!;
          f[j] = t;
        }
      }
      try {
        const file = new SafetensorsFile(f);
        for (const n of file.names) file.get(n); // every decode must succeed or throw typed
        ok++;
      } catch (e) {
        if (!(e instanceof SafetensorsError)) throw new Error(`iteration ${iter}: ${String(e)}`);
        rejected++;
      }
    }
    expect(ok + rejected).toBe(4000);
    expect(rejected).toBeGreaterThan(1000);
    expect(Date.now() - t0).toBeLessThan(20000);
  });
});

describe('sources', () => {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-st-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('Node path with progress; sharded checkpoint through its index', async () => {
    const s1 = saveSafetensors({ 'x.a': { shape: [2], data: new Float32Array([1, 2]) } });
    const s2 = saveSafetensors({ 'x.b': { shape: [1], data: new Float32Array([3]) } });
    fs.writeFileSync(path.join(dir, 'model-00001-of-00002.safetensors'), s1);
    fs.writeFileSync(path.join(dir, 'model-00002-of-00002.safetensors'), s2);
    const index = { metadata: { total_size: 12 }, weight_map: { 'x.a': 'model-00001-of-00002.safetensors', 'x.b': 'model-00002-of-00002.safetensors' } };
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    const events: ProgressInfo[] = [];
    const one = await loadSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), { onProgress: (p) => events.push(p) });
    expect([...one.get('x.a').data]).toEqual([1, 2]);
    expect(events[0]?.status).toBe('initiate');
    expect(events[events.length - 1]).toMatchObject({ status: 'done', loaded: s1.byteLength, total: s1.byteLength, progress: 100 });
    const ck = await loadShardedSafetensors(path.join(dir, 'model.safetensors.index.json'));
    expect(ck.names.sort()).toEqual(['x.a', 'x.b']);
    expect([...ck.get('x.b').data]).toEqual([3]);
    // An index listing a tensor its shard lacks.
    fs.writeFileSync(path.join(dir, 'bad.index.json'), JSON.stringify({ weight_map: { 'x.z': 'model-00001-of-00002.safetensors' } }));
    await expect(loadShardedSafetensors(path.join(dir, 'bad.index.json'))).rejects.toThrow(/'x.z'.*missing/);
  });

  test('path with a header length past the end is rejected before reading the data', async () => {
    const p = path.join(dir, 'bad.safetensors');
    fs.writeFileSync(p, rawFile({}, new Uint8Array(0), 999));
    await expect(loadSafetensors(p)).rejects.toBeInstanceOf(SafetensorsError);
    await expect(loadSafetensors(path.join(dir, 'absent.safetensors'))).rejects.toThrow(/cannot open/);
  });

  test('URL: streamed fetch with progress', async () => {
    const body = fs.readFileSync(path.join(FIX, 'loom-golden', 'llama_tiny.safetensors'));
    const server = http.createServer((req, res) => {
      if (req.url === '/m.safetensors') {
        res.writeHead(200, { 'content-length': String(body.byteLength) });
        // Several chunks so progress is reported more than once.
        const step = Math.ceil(body.byteLength / 4);
        for (let i = 0; i < body.byteLength; i += step) res.write(body.subarray(i, i + step));
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const events: ProgressInfo[] = [];
      const f = await loadSafetensors(`http://127.0.0.1:${port}/m.safetensors`, { onProgress: (p) => events.push(p) });
      expect(f.has('model.norm.weight')).toBe(true);
      expect(events[0]).toMatchObject({ status: 'initiate', total: body.byteLength });
      expect(events.some((e) => e.status === 'progress')).toBe(true);
      expect(events[events.length - 1]).toMatchObject({ status: 'done', loaded: body.byteLength, progress: 100 });
      await expect(loadSafetensors(new URL(`http://127.0.0.1:${port}/none`))).rejects.toThrow(/HTTP 404/);
    } finally {
      server.close();
    }
  });
});
