/**
 * Weight initialisers, checked statistically against the distributions they are specified to draw
 * from (LOOM's `Init*Layer` constructors, layers.md 5.1: He-style N(0,1) * sqrt(2 / fan); LOOM's
 * `InitializeWeights`, network.md 8.1: uniform ranges), plus loom-tfjs' own MHA / SwiGLU
 * constructors. Bounds alone would pass all-zero weights; these check mean, standard deviation,
 * the shape of the distribution, independence of neighbours and that the scale follows the
 * fan-in (each layer at two shapes with the same weight count but swapped in/out).
 *
 * Every bound is 5 standard errors of the statistic for the sample size, and the generator is
 * seeded, so the test is deterministic and a correct initialiser passes for practically any seed.
 */
import { LAYER_KINDS, LayerType, emptyRecord, type LayerKind, type LayerRecord } from '../src/index';

/** mulberry32, seeded: uniform in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function kind(type: number): LayerKind {
  const k = LAYER_KINDS.find((x) => x.loomType === type);
  if (!k) throw new Error(`no layer kind with type ${type}`);
  return k;
}

function init(type: number, name: string, args: readonly unknown[], seed = 1): LayerRecord {
  const f = kind(type).initFunctions?.find((x) => x.name === name);
  if (!f) throw new Error(`${name} not registered`);
  return f.create(args, seeded(seed));
}

function field(r: LayerRecord, name: string): Float32Array {
  const v = (r as unknown as Record<string, unknown>)[name];
  if (!(v instanceof Float32Array)) throw new Error(`record has no Float32Array '${name}'`);
  return v;
}

interface Stats {
  n: number;
  mean: number;
  std: number;
  lag1: number;
  maxAbs: number;
}

function stats(x: Float32Array): Stats {
  const n = x.length;
  let s = 0;
  for (const v of x) s += v;
  const mean = s / n;
  let ss = 0;
  let cross = 0;
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i]! - mean;
    ss += d * d;
    if (i > 0) cross += d * (x[i - 1]! - mean);
    maxAbs = Math.max(maxAbs, Math.abs(x[i]!));
  }
  return { n, mean, std: Math.sqrt(ss / n), lag1: cross / ss, maxAbs };
}

/** x ~ N(0, sigma^2), i.i.d. */
function expectNormal(x: Float32Array, sigma: number, what: string): void {
  const st = stats(x);
  const n = st.n;
  const fails: string[] = [];
  if (!(Math.abs(st.mean) <= (5 * sigma) / Math.sqrt(n))) fails.push(`mean ${st.mean}`);
  // sd of the sample std of a normal: sigma / sqrt(2n)
  if (!(Math.abs(st.std / sigma - 1) <= 5 / Math.sqrt(2 * n))) fails.push(`std ${st.std}, expected ${sigma}`);
  const within = x.filter((v) => Math.abs(v) < sigma).length / n; // 0.6827 for a normal
  if (!(Math.abs(within - 0.6827) <= 5 * Math.sqrt((0.6827 * 0.3173) / n))) fails.push(`fraction within 1 sigma ${within}`);
  if (!(Math.abs(st.lag1) <= 5 / Math.sqrt(n))) fails.push(`lag-1 correlation ${st.lag1}`);
  if (fails.length) throw new Error(`${what} (n=${n}, N(0, ${sigma}^2)): ${fails.join('; ')}`);
}

/** x ~ U(lo, hi), i.i.d. */
function expectUniform(x: Float32Array, lo: number, hi: number, what: string): void {
  const st = stats(x);
  const n = st.n;
  const width = hi - lo;
  const sigma = width / Math.sqrt(12);
  const fails: string[] = [];
  if (!(Math.abs(st.mean - (lo + hi) / 2) <= (5 * sigma) / Math.sqrt(n))) fails.push(`mean ${st.mean}`);
  // sd of the sample std of a uniform: sigma * sqrt(0.2 / n)
  if (!(Math.abs(st.std / sigma - 1) <= 5 * Math.sqrt(0.2 / n))) fails.push(`std ${st.std}, expected ${sigma}`);
  const min = Math.min(...x);
  const max = Math.max(...x);
  if (!(min >= lo && max <= hi)) fails.push(`range [${min}, ${max}] outside [${lo}, ${hi}]`);
  // the ends are reached: P(no value within 10/n of the width from an end) = (1 - 10/n)^n < e^-10
  const edge = (10 / n) * width;
  if (!(min <= lo + edge && max >= hi - edge)) fails.push(`range [${min}, ${max}] does not fill [${lo}, ${hi}]`);
  if (!(Math.abs(st.lag1) <= 5 / Math.sqrt(n))) fails.push(`lag-1 correlation ${st.lag1}`);
  if (fails.length) throw new Error(`${what} (n=${n}, U(${lo}, ${hi})): ${fails.join('; ')}`);
}

function expectConstant(x: Float32Array, value: number, length: number, what: string): void {
  expect(`${what}: ${x.length}`).toBe(`${what}: ${length}`);
  for (const v of x) if (v !== value) throw new Error(`${what}: ${v}, expected all ${value}`);
}

describe('Init*Layer constructors (layers.md 5.1): N(0,1) * sqrt(2 / fan)', () => {
  test.each([
    [16, 256],
    [256, 16],
  ])('InitDenseLayer(in %i, out %i): kernel N(0, 2/in), bias 0', (nIn, nOut) => {
    const r = init(LayerType.Dense, 'InitDenseLayer', [nIn, nOut, 0]);
    expectNormal(field(r, 'kernel'), Math.sqrt(2 / nIn), 'kernel');
    expectConstant(field(r, 'bias'), 0, nOut, 'bias');
  });

  test.each([
    [2, 3, 64],
    [16, 5, 8],
  ])('InitConv2DLayer(C %i, k %i, F %i): kernel N(0, 2/(C k k)), bias 0', (c, k, f) => {
    const r = init(LayerType.Conv2D, 'InitConv2DLayer', [12, 12, c, k, 1, 0, f, 0]);
    expectNormal(field(r, 'kernel'), Math.sqrt(2 / (c * k * k)), 'kernel');
    expectConstant(field(r, 'bias'), 0, f, 'bias');
  });

  test.each([
    [8, 64],
    [64, 8],
  ])('InitRNNLayer(I %i, H %i): W_ih N(0, 2/(I+H)), W_hh N(0, 2/(2H)), bias 0', (i, h) => {
    const r = init(LayerType.RNN, 'InitRNNLayer', [i, h, 1, 4]);
    expectNormal(field(r, 'weightIH'), Math.sqrt(2 / (i + h)), 'W_ih');
    expectNormal(field(r, 'weightHH'), Math.sqrt(2 / (2 * h)), 'W_hh');
    expectConstant(field(r, 'biasH'), 0, h, 'b_h');
  });

  test.each([
    [8, 48],
    [48, 8],
  ])('InitLSTMLayer(I %i, H %i): per gate as RNN, biases 0 except the forget gate 1', (i, h) => {
    const r = init(LayerType.LSTM, 'InitLSTMLayer', [i, h, 1, 4]);
    for (const g of ['i', 'f', 'g', 'o']) {
      expectNormal(field(r, `weightIH_${g}`), Math.sqrt(2 / (i + h)), `W_ih_${g}`);
      expectNormal(field(r, `weightHH_${g}`), Math.sqrt(2 / (2 * h)), `W_hh_${g}`);
      expectConstant(field(r, `biasH_${g}`), g === 'f' ? 1 : 0, h, `b_${g}`);
    }
  });

  test('InitGQAAttentionLayer(d 64, 8 heads, 2 KV heads): Q/O N(0, 1/d), K/V N(0, 2/(d + kv)), biases 0', () => {
    const d = 64;
    const kv = 2 * (d / 8);
    const r = init(LayerType.MultiHeadAttention, 'InitGQAAttentionLayer', [d, 8, 2, 4]);
    expectNormal(field(r, 'qWeights'), Math.sqrt(1 / d), 'Q');
    expectNormal(field(r, 'outputWeight'), Math.sqrt(1 / d), 'O');
    expectNormal(field(r, 'kWeights'), Math.sqrt(2 / (d + kv)), 'K');
    expectNormal(field(r, 'vWeights'), Math.sqrt(2 / (d + kv)), 'V');
    expect(field(r, 'kWeights')).toHaveLength(d * kv);
    for (const b of ['qBias', 'outputBias']) expectConstant(field(r, b), 0, d, b);
    for (const b of ['kBias', 'vBias']) expectConstant(field(r, b), 0, kv, b);
  });

  test.each([
    [16, 128],
    [128, 16],
  ])('InitSwiGLULayer(d %i, m %i): gate/up N(0, 1/d), down N(0, 1/m), biases 0', (d, m) => {
    const r = init(LayerType.SwiGLU, 'InitSwiGLULayer', [d, m]);
    expectNormal(field(r, 'gateWeights'), Math.sqrt(1 / d), 'gate');
    expectNormal(field(r, 'upWeights'), Math.sqrt(1 / d), 'up');
    expectNormal(field(r, 'downWeights'), Math.sqrt(1 / m), 'down');
    expectConstant(field(r, 'downBias'), 0, d, 'down bias');
  });

  test('different seeds give different weights, the same seed the same', () => {
    const a = field(init(LayerType.Dense, 'InitDenseLayer', [32, 32, 0], 1), 'kernel');
    const b = field(init(LayerType.Dense, 'InitDenseLayer', [32, 32, 0], 2), 'kernel');
    expect(field(init(LayerType.Dense, 'InitDenseLayer', [32, 32, 0], 1), 'kernel')).toEqual(a);
    expect(Math.abs(stats(a.map((v, i) => v - b[i]!)).std - Math.SQRT2 * Math.sqrt(2 / 32))).toBeLessThan(0.05);
  });
});

describe("InitializeWeights (network.md 8.1): LOOM's uniform ranges", () => {
  const fresh = (type: number, sizes: Partial<LayerRecord>, seed = 3): LayerRecord => kind(type).initializeWeights({ ...emptyRecord(type), ...sizes }, seeded(seed));

  test.each([
    [16, 256],
    [256, 16],
  ])('Dense(in %i, out %i): kernel U(-1/in, 1/in), bias U(0, 0.01)', (nIn, nOut) => {
    const r = fresh(LayerType.Dense, { inputHeight: nIn, outputHeight: nOut });
    expectUniform(field(r, 'kernel'), -1 / nIn, 1 / nIn, 'kernel');
    expect(field(r, 'bias')).toHaveLength(nOut);
    const bias = field(r, 'bias');
    if (nOut >= 256) expectUniform(bias, 0, 0.01, 'bias');
    else expect(Math.min(...bias) >= 0 && Math.max(...bias) <= 0.01 && stats(bias).std > 0).toBe(true);
  });

  test.each([
    [2, 3, 64],
    [16, 5, 8],
  ])('Conv2D(C %i, k %i, F %i): kernel U(-s, s), s = 1/(C k k)', (c, k, f) => {
    const r = fresh(LayerType.Conv2D, { inputChannels: c, kernelSize: k, filters: f, inputHeight: 12, inputWidth: 12, stride: 1 });
    const s = 1 / (c * k * k);
    expectUniform(field(r, 'kernel'), -s, s, 'kernel');
  });

  test('MHA(d 64): Q, K, V, O U(-0.1, 0.1), biases 0', () => {
    const r = fresh(LayerType.MultiHeadAttention, { dModel: 64, numHeads: 8, numKVHeads: 8, headDim: 8 });
    for (const w of ['qWeights', 'kWeights', 'vWeights', 'outputWeight']) expectUniform(field(r, w), -0.1, 0.1, w);
    for (const b of ['qBias', 'kBias', 'vBias', 'outputBias']) expectConstant(field(r, b), 0, 64, b);
  });

  test('RNN and LSTM(I 24, H 48): U(-0.1, 0.1), biases all 0 (no forget-gate 1 here)', () => {
    const rnn = fresh(LayerType.RNN, { rnnInputSize: 24, hiddenSize: 48 });
    expectUniform(field(rnn, 'weightIH'), -0.1, 0.1, 'RNN W_ih');
    expectUniform(field(rnn, 'weightHH'), -0.1, 0.1, 'RNN W_hh');
    const lstm = fresh(LayerType.LSTM, { rnnInputSize: 24, hiddenSize: 48 });
    for (const g of ['i', 'f', 'g', 'o']) {
      expectUniform(field(lstm, `weightIH_${g}`), -0.1, 0.1, `LSTM W_ih_${g}`);
      expectUniform(field(lstm, `weightHH_${g}`), -0.1, 0.1, `LSTM W_hh_${g}`);
      expectConstant(field(lstm, `biasH_${g}`), 0, 48, `LSTM b_${g}`);
    }
  });

  test('SwiGLU(d 32, m 96): U(-0.1, 0.1), biases 0; norms: gamma 1, beta 0', () => {
    const r = fresh(LayerType.SwiGLU, { inputHeight: 32, outputHeight: 96 });
    for (const w of ['gateWeights', 'upWeights', 'downWeights']) expectUniform(field(r, w), -0.1, 0.1, w);
    const ln = fresh(LayerType.LayerNorm, { normSize: 20 });
    expectConstant(field(ln, 'gamma'), 1, 20, 'LayerNorm gamma');
    expectConstant(field(ln, 'beta'), 0, 20, 'LayerNorm beta');
    expectConstant(field(fresh(LayerType.RMSNorm, { normSize: 20 }), 'gamma'), 1, 20, 'RMSNorm gamma');
  });
});
