import { loadModelFromString, saveModelToString } from '../loaders/loom_json';
import { useBackend } from '../src/backends';
import { ConfigError, ShapeError } from '../src/core/errors';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { LayerType } from '../src/core/types';
import { multiHeadAttentionKind } from '../layers/multi_head_attention';
import { loomRopeTables } from '../src/ops/rope';
import { golden, expectClose } from './helpers/fixtures';
import { chain, checkAgainstReference, layerGrads, mhaRef, rngOf, seeded, splitAt, tensorCount, type MhaDims } from './helpers/conv_mha_rnn_ref';

interface MhaCase extends MhaDims {
  /** headDim stored in the record (0 = derive). */
  storedHeadDim: number;
  tokens: number;
  /** extra input values after the last full token (ignored, as LOOM). */
  remainder: number;
}

function mhaRecord(c: MhaCase, seed: number): LayerRecord {
  const r = emptyRecord(LayerType.MultiHeadAttention);
  const kv = c.Hkv * c.hd;
  Object.assign(r, { dModel: c.D, numHeads: c.Hq, numKVHeads: c.Hkv === c.Hq ? 0 : c.Hkv, headDim: c.storedHeadDim, seqLength: c.tokens });
  r.qWeights = seeded(c.D * c.D, seed, 0.6);
  r.kWeights = seeded(c.D * kv, seed + 1, 0.6);
  r.vWeights = seeded(c.D * kv, seed + 2, 0.6);
  r.outputWeight = seeded(c.D * c.D, seed + 3, 0.6);
  r.qBias = seeded(c.D, seed + 4, 0.2);
  r.kBias = seeded(kv, seed + 5, 0.2);
  r.vBias = seeded(kv, seed + 6, 0.2);
  r.outputBias = seeded(c.D, seed + 7, 0.2);
  const ext: LayerRecord['ext'] = {};
  if (!c.rope) ext['rope'] = false;
  if (c.theta !== 1e6) ext['rope_theta'] = c.theta;
  if (!c.causal) ext['causal'] = false;
  r.ext = ext;
  return r;
}

const CASES: Record<string, MhaCase> = {
  'GQA 4 query / 2 kv heads, RoPE 1e6, causal (LOOM defaults)': { D: 8, Hq: 4, Hkv: 2, hd: 2, rope: true, theta: 1e6, causal: true, storedHeadDim: 2, tokens: 3, remainder: 0 },
  'odd head size 3, theta 10, bidirectional': { D: 6, Hq: 2, Hkv: 2, hd: 3, rope: true, theta: 10, causal: false, storedHeadDim: 3, tokens: 3, remainder: 0 },
  'no RoPE, derived headDim, trailing remainder ignored': { D: 4, Hq: 2, Hkv: 2, hd: 2, rope: false, theta: 1e6, causal: true, storedHeadDim: 0, tokens: 4, remainder: 3 },
  'heads x headDim < dModel (LOOM uses the first columns), MQA': { D: 7, Hq: 3, Hkv: 1, hd: 2, rope: true, theta: 100, causal: true, storedHeadDim: 0, tokens: 2, remainder: 0 },
};

function caseGrads(c: MhaCase, seed: number) {
  const r = mhaRecord(c, seed);
  const x = seeded(c.tokens * c.D + c.remainder, seed + 10);
  const g = seeded(c.tokens * c.D, seed + 11);
  return { r, x, g, got: layerGrads(r, x, g) };
}

describe.each(['cpu', 'wasm'] as const)('MultiHeadAttention golden fixture on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test('forward matches LOOM, resave is byte-identical', () => {
    const fx = golden('multi_head_attention');
    const net = loadModelFromString(fx.model_json, fx.model_id);
    try {
      for (const f of fx.forward) expectClose(net.forward(f.input), f.output, { atol: 1e-6, rtol: 1e-5 }, 'mha output');
      expect(saveModelToString(net, fx.model_id)).toBe(fx.model_json);
    } finally {
      net.dispose();
    }
  });

  test("layers.md 3.3 verified example: identity weights, [1,0,0,1] -> [1,0,0.21380901,0.786191]", () => {
    const r = emptyRecord(LayerType.MultiHeadAttention);
    const eye = Float32Array.from([1, 0, 0, 1]);
    Object.assign(r, { dModel: 2, numHeads: 1, headDim: 2, qWeights: eye, kWeights: eye, vWeights: eye, outputWeight: eye });
    Object.assign(r, { qBias: new Float32Array(2), kBias: new Float32Array(2), vBias: new Float32Array(2), outputBias: new Float32Array(2) });
    const net = chain([r]);
    expectClose(net.forward([1, 0, 0, 1]), [1, 0, 0.21380901, 0.786191], { atol: 1e-6, rtol: 1e-5 });
    net.dispose();
  });
});

describe('MultiHeadAttention gradients against a float64 reference (cpu)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test.each(Object.entries(CASES))('%s', (_name, c) => {
    const { r, x, g, got } = caseGrads(c, 31);
    const kv = c.Hkv * c.hd;
    const params = [r.qWeights!, r.kWeights!, r.vWeights!, r.outputWeight!, r.qBias!, r.kBias!, r.vBias!, r.outputBias!];
    checkAgainstReference('mha', mhaRef(c), x, params, g, got);
    // LOOM's layout: kernel = dWq ++ dWk ++ dWv ++ dWo, bias = dbq ++ dbk ++ dbv ++ dbo
    const d2 = c.D * c.D;
    expect(splitAt(got.kernel!, [d2, c.D * kv, c.D * kv, d2])).toEqual(got.params.slice(0, 4));
    expect(splitAt(got.bias!, [c.D, kv, kv, c.D])).toEqual(got.params.slice(4, 8));
    if (c.remainder > 0) expect(Array.from(got.input.slice(c.tokens * c.D))).toEqual(new Array(c.remainder).fill(0));
  });
});

describe('MultiHeadAttention on wasm agrees with cpu', () => {
  test.each(Object.entries(CASES))('%s', async (_name, c) => {
    await useBackend('cpu');
    const cpu = caseGrads(c, 41).got;
    await useBackend('wasm');
    const wasm = caseGrads(c, 41).got;
    await useBackend('cpu');
    const tol = { atol: 1e-4, rtol: 1e-4 };
    expectClose(wasm.output, cpu.output, tol, 'output');
    expectClose(wasm.input, cpu.input, tol, 'dx');
    expectClose(wasm.kernel!, cpu.kernel!, tol, 'kernel grads');
    expectClose(wasm.bias!, cpu.bias!, tol, 'bias grads');
  });
});

describe('MultiHeadAttention layer', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test('RoPE tables: float64 angle, float32 cos/sin, pairs (d, d+hd/2), odd last dim frequency 0', () => {
    const { cos, sin } = loomRopeTables(3, 5, 1e6);
    // position 2, i = 1: angle 2 / 1e6^(2/5)
    const a = 2 / Math.pow(1e6, 2 / 5);
    expect(cos[2 * 5 + 1]).toBe(Math.fround(Math.cos(a)));
    expect(sin[2 * 5 + 3]).toBe(Math.fround(Math.sin(a)));
    expect([cos[2 * 5 + 4], sin[2 * 5 + 4]]).toEqual([1, 0]);
  });

  test('save then load keeps ext (theta, causal, rope) and reproduces outputs bit for bit; no leaks', () => {
    const c = CASES['odd head size 3, theta 10, bidirectional'] as MhaCase;
    const before = tensorCount();
    const net = chain([mhaRecord(c, 3)]);
    const x = seeded(c.tokens * c.D, 4);
    const afterBuild = tensorCount();
    const y = net.forward(x);
    net.backward(seeded(y.length, 5));
    const text = saveModelToString(net, 'm');
    expect(tensorCount()).toBe(afterBuild);
    expect(text).not.toContain('num_kv_heads');
    const again = loadModelFromString(text, 'm', { residualMode: 'none' });
    const back = again.allLayers()[0]!.toRecord();
    expect(back.ext).toEqual({ rope_theta: 10, causal: false });
    expect(Array.from(again.forward(x))).toEqual(Array.from(y));
    net.dispose();
    again.dispose();
    expect(tensorCount()).toBe(before);
  });

  test('GQA kv-head count survives save and load', () => {
    const c = CASES['GQA 4 query / 2 kv heads, RoPE 1e6, causal (LOOM defaults)'] as MhaCase;
    const net = chain([mhaRecord(c, 3)]);
    const text = saveModelToString(net, 'g');
    expect(text).toContain('"num_kv_heads": 2');
    const again = loadModelFromString(text, 'g');
    const x = seeded(c.tokens * c.D, 9);
    expect(Array.from(again.forward(x))).toEqual(Array.from(net.forward(x)));
    net.dispose();
    again.dispose();
  });

  test('typed errors: weight sizes, head counts, ext types, missing weights', () => {
    const c = CASES['GQA 4 query / 2 kv heads, RoPE 1e6, causal (LOOM defaults)'] as MhaCase;
    const r = mhaRecord(c, 1);
    expect(() => multiHeadAttentionKind.fromRecord({ ...r, kWeights: new Float32Array(64) }, 'mha at layer 0')).toThrow(
      /mha at layer 0: kWeights has 64 values, expected \[D=8\]\[kv=4\] = 32/,
    );
    expect(() => multiHeadAttentionKind.fromRecord({ ...r, numKVHeads: 3 }, 'w')).toThrow(ConfigError);
    expect(() => multiHeadAttentionKind.fromRecord({ ...r, numHeads: 0 }, 'w')).toThrow(ConfigError);
    expect(() => multiHeadAttentionKind.fromRecord({ ...r, ext: { causal: 1 } }, 'w')).toThrow(/ext.causal must be a boolean/);
    expect(() => multiHeadAttentionKind.fromRecord({ ...r, vBias: null }, 'w')).toThrow(ShapeError);
    const bare = multiHeadAttentionKind.fromRecord({ ...emptyRecord(LayerType.MultiHeadAttention), dModel: 4, numHeads: 2 }, 'w');
    expect(bare.params.length).toBe(0);
    expect(() => chain([bare.toRecord()]).forward([1, 2, 3, 4])).toThrow(/no weights/);
    bare.dispose();
  });

  test('InitMultiHeadAttentionLayer(dModel, numHeads, batchSize, seqLength) works; InitGQAAttentionLayer too', () => {
    const init = multiHeadAttentionKind.initFunctions?.find((f) => f.name === 'InitMultiHeadAttentionLayer');
    expect(init?.argNames).toEqual(['dModel', 'numHeads', 'batchSize', 'seqLength']);
    const r = init!.create([8, 2, 1, 4], rngOf(5));
    expect([r.dModel, r.numHeads, r.headDim, r.seqLength, r.qWeights!.length, r.kBias!.length]).toEqual([8, 2, 4, 4, 64, 8]);
    const net = chain([r]);
    const y = net.forward(seeded(16, 2));
    expect(y.length).toBe(16);
    expect(y.every(Number.isFinite)).toBe(true);
    net.dispose();
    const gqa = multiHeadAttentionKind.initFunctions?.find((f) => f.name === 'InitGQAAttentionLayer');
    const rg = gqa!.create([8, 4, 2, 4], rngOf(6));
    expect([rg.numKVHeads, rg.kWeights!.length, rg.vBias!.length]).toEqual([2, 32, 4]);
    const netG = chain([rg]);
    expect(netG.forward(seeded(24, 3)).length).toBe(24);
    netG.dispose();
  });

  test('InitializeWeights: Q,K,V,O ~ U(-0.1,0.1), zero biases; K/V sized for the kv heads', () => {
    const r = { ...emptyRecord(LayerType.MultiHeadAttention), dModel: 8, numHeads: 4, numKVHeads: 2, headDim: 2 };
    const w = multiHeadAttentionKind.initializeWeights(r, rngOf(1));
    expect([w.qWeights!.length, w.kWeights!.length, w.vWeights!.length, w.outputWeight!.length]).toEqual([64, 32, 32, 64]);
    expect(w.qWeights!.every((v) => Math.abs(v) <= 0.1)).toBe(true);
    expect([...w.qBias!, ...w.kBias!, ...w.vBias!, ...w.outputBias!].every((v) => v === 0)).toBe(true);
    const layer = multiHeadAttentionKind.fromRecord(w, 'init');
    expect(layer.params.length).toBe(8);
    layer.dispose();
  });
});
