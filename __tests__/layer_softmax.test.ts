import * as tf from '@tensorflow/tfjs';
import { loadModelFromString, saveModelToString } from '../loaders/loom_json';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { LayerType, SOFTMAX_VARIANTS, type SoftmaxVariantName } from '../src/core/types';
import { useBackend } from '../src/backends';
import { ConfigError, ShapeError } from '../src/core/errors';
import { SoftmaxLayer, softmaxKind } from '../layers/softmax';
import type { ForwardContext, GridLayer } from '../layers/layer';
import { golden, expectClose } from './helpers/fixtures';
import { autodiff, checkLayerGradients, expectSameGrads, seeded, softmax64, testContext, type LayerGrads, type Reference64 } from './helpers/layer_grad_check';

const FIXTURES = ['standard', 'grid', 'hierarchical', 'temperature', 'gumbel', 'masked', 'sparse', 'adaptive', 'mixture', 'entmax'];
/** Variants whose real version differs from LOOM's approximation on LOOM's fixture. */
const LOOM_APPROXIMATED = new Set(['hierarchical', 'entmax']);

function gumbelUniforms(): number[] {
  return (golden('softmax_gumbel').extra?.['uniforms_after_seed'] as number[]).map(Math.fround);
}

function record(variant: SoftmaxVariantName, fill: (r: LayerRecord) => void = () => {}): LayerRecord {
  const r = emptyRecord(LayerType.Softmax);
  r.softmaxVariant = SOFTMAX_VARIANTS.indexOf(variant);
  r.temperature = 1;
  fill(r);
  return r;
}

function build(r: LayerRecord): SoftmaxLayer {
  return softmaxKind.fromRecord(r, 'test softmax') as SoftmaxLayer;
}

// ---------------------------------------------------------------- float64 references

function sparsemax64(z: ArrayLike<number>): number[] {
  const s = Array.from(z).sort((a, b) => b - a);
  let cum = 0;
  let k = 0;
  let kSum = 0;
  s.forEach((v, i) => {
    cum += v;
    if (1 + (i + 1) * v > cum) {
      k = i + 1;
      kSum = cum;
    }
  });
  const tau = (kSum - 1) / k;
  return Array.from(z, (v) => Math.max(0, v - tau));
}

function entmax64(z: ArrayLike<number>, alpha: number): number[] {
  const x = Array.from(z, (v) => v * (alpha - 1));
  const m = Math.max(...x);
  let lo = m - 1;
  let hi = m - Math.pow(1 / x.length, alpha - 1);
  const p = (tau: number): number[] => x.map((v) => Math.pow(Math.max(0, v - tau), 1 / (alpha - 1)));
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (p(mid).reduce((a, b) => a + b, 0) >= 1) lo = mid;
    else hi = mid;
  }
  const out = p((lo + hi) / 2);
  const sum = out.reduce((a, b) => a + b, 0);
  return out.map((v) => v / sum);
}

/** Hierarchical softmax from node logits (level order), by walking every leaf's path. */
function hierarchical64(z: ArrayLike<number>, levels: number[], t = 1): number[] {
  const offsets: number[] = [];
  let off = 0;
  let count = 1;
  for (const b of levels) {
    offsets.push(off);
    count *= b;
    off += count;
  }
  const leaves = count;
  const out: number[] = [];
  for (let leaf = 0; leaf < leaves; leaf++) {
    let p = 1;
    let below = leaves;
    for (let l = 0; l < levels.length; l++) {
      const b = levels[l] as number;
      below /= b;
      const node = Math.floor(leaf / below); // index within level l
      const first = node - (node % b);
      const sibs = Array.from({ length: b }, (_, j) => (z[(offsets[l] as number) + first + j] as number) / t);
      p *= softmax64(sibs)[node % b] as number;
    }
    out.push(p);
  }
  return out;
}

function adaptive64(z: ArrayLike<number>, clusters: number[][], t = 1): number[] {
  const v = clusters.flat().length;
  const head = clusters[0] as number[];
  const headLogits = [...head.map((i) => (z[i] as number) / t), ...clusters.slice(1).map((_, c) => (z[v + c] as number) / t)];
  const hp = softmax64(headLogits);
  const out = new Array<number>(v).fill(0);
  head.forEach((w, j) => (out[w] = hp[j] as number));
  clusters.slice(1).forEach((ids, c) => {
    const inner = softmax64(ids.map((i) => (z[i] as number) / t));
    ids.forEach((w, j) => (out[w] = (hp[head.length + c] as number) * (inner[j] as number)));
  });
  return out;
}

function mixture64(z: ArrayLike<number>, weights: number[], t = 1): number[] {
  const k = weights.length;
  const v = z.length / k;
  const total = weights.reduce((a, b) => a + b, 0);
  const out = new Array<number>(v).fill(0);
  for (let c = 0; c < k; c++) {
    const p = softmax64(Array.from({ length: v }, (_, i) => z[c * v + i] as number), t);
    p.forEach((pi, i) => (out[i] = (out[i] as number) + ((weights[c] as number) / total) * pi));
  }
  return out;
}

// ---------------------------------------------------------------- golden fixtures

describe.each(['cpu', 'wasm'] as const)('softmax golden fixtures on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test.each(FIXTURES)('softmax_%s: LOOM numbers (loomCompat where LOOM approximates) and byte-identical resave', (variant) => {
    const fx = golden(`softmax_${variant}`);
    const loomCompat = LOOM_APPROXIMATED.has(variant);
    const u = variant === 'gumbel' ? gumbelUniforms() : null;
    // LOOM re-seeded before every forward: the same recorded uniforms each call
    const net = loadModelFromString(fx.model_json, fx.model_id, { loomCompat, ...(u ? { uniformSource: (n: number) => u.slice(0, n) } : {}) });
    try {
      const before = tf.memory().numTensors;
      for (const f of fx.forward) expectClose(net.forward(f.input), f.output, { atol: 1e-6, rtol: 1e-5 }, `${variant} output`);
      expect(tf.memory().numTensors).toBe(before);
      expect(saveModelToString(net, fx.model_id)).toBe(fx.model_json);
    } finally {
      net.dispose();
    }
  });

  test.each(['standard', 'grid'])('softmax_%s: backward equals LOOM (its Jacobian is exact for T = 1)', (variant) => {
    const fx = golden(`softmax_${variant}`);
    const net = loadModelFromString(fx.model_json, fx.model_id);
    const b = fx.backward?.[0];
    if (!b) throw new Error('fixture has no backward record');
    net.forward(b.input);
    expectClose(net.backward(b.grad_output), b.grad_input, { atol: 1e-6, rtol: 1e-5 }, 'grad input');
    net.dispose();
  });
});

describe('softmax: real variants against float64 references (cpu)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test('hierarchical and entmax on LOOM fixtures: real methods, not LOOM approximations', () => {
    const h = golden('softmax_hierarchical');
    const net = loadModelFromString(h.model_json, h.model_id);
    for (const f of h.forward) {
      // leaf logits only: each internal score is its subtree's log-partition, so the tree product is the flat softmax
      const out = net.forward(f.input);
      expectClose(out, softmax64(f.input), { atol: 1e-6, rtol: 1e-5 }, 'hierarchical');
      expect(out.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
    }
    net.dispose();
    const e = golden('softmax_entmax');
    const net2 = loadModelFromString(e.model_json, e.model_id);
    for (const f of e.forward) expectClose(net2.forward(f.input), entmax64(f.input, 1.5), { atol: 2e-6, rtol: 1e-5 }, 'entmax 1.5');
    net2.dispose();
  });

  test('hierarchical with node logits is the product of sibling softmaxes along the path', () => {
    const levels = [2, 3, 2];
    const z = seeded(2 + 6 + 12, 5, 2);
    const layer = build(record('hierarchical', (r) => ((r.hierarchyLevels = levels), (r.temperature = 0.8))));
    const out = tf.tidy(() => Array.from(layer.apply(tf.tensor1d(z), testContext()).dataSync()));
    expectClose(out, hierarchical64(z, levels, 0.8), { atol: 1e-6, rtol: 1e-5 });
    expect(layer.outputSizeFor(20, 1)).toBe(12);
  });

  test('adaptive with gate logits; without them it equals the flat softmax (so LOOM files keep their numbers)', () => {
    const clusters = [[0, 4], [1, 2, 5], [3, 6, 7]];
    const z = seeded(8 + 2, 7, 2);
    const layer = build(record('adaptive', (r) => ((r.adaptiveClusters = clusters), (r.temperature = 1.3))));
    const out = tf.tidy(() => Array.from(layer.apply(tf.tensor1d(z), testContext()).dataSync()));
    expectClose(out, adaptive64(z, clusters, 1.3), { atol: 1e-6, rtol: 1e-5 });
    const leaf = tf.tidy(() => Array.from(layer.apply(tf.tensor1d(z.slice(0, 8)), testContext()).dataSync()));
    expectClose(leaf, softmax64(z.slice(0, 8), 1.3), { atol: 1e-6, rtol: 1e-5 });
    expect(() => build(record('adaptive', (r) => (r.adaptiveClusters = [[0, 1], [1, 2]]))).apply(tf.zeros([3]) as tf.Tensor1D, testContext())).toThrow(ConfigError);
  });

  test('mixture of softmaxes with per-component logits and normalised weights', () => {
    const w = [0.5, 1.5, 2];
    const z = seeded(3 * 5, 11, 2);
    const layer = build(record('mixture', (r) => ((r.mixtureWeights = Float32Array.from(w)), (r.ext = { componentLogits: true }))));
    const out = tf.tidy(() => Array.from(layer.apply(tf.tensor1d(z), testContext()).dataSync()));
    expectClose(out, mixture64(z, w), { atol: 1e-6, rtol: 1e-5 });
    expect(layer.toRecord().ext).toEqual({ componentLogits: true });
  });

  test('entmax: alpha 2 is sparsemax, alpha 1 softmax, other alphas sum to 1 and are sparse', () => {
    const z = seeded(9, 3, 3);
    const run = (alpha: number): number[] =>
      tf.tidy(() => Array.from(build(record('entmax', (r) => (r.entmaxAlpha = alpha))).apply(tf.tensor1d(z), testContext()).dataSync()));
    expectClose(run(2), sparsemax64(z), { atol: 1e-6, rtol: 1e-5 });
    expectClose(run(1), softmax64(z), { atol: 1e-6, rtol: 1e-5 });
    for (const alpha of [1.2, 1.5, 3, 5]) {
      const p = run(alpha);
      expectClose(p, entmax64(z, alpha), { atol: 2e-6, rtol: 1e-5 }, `entmax ${alpha}`);
    }
  });

  test('gumbel: seeded noise is reproducible; gumbelNoise false means no noise; empty input is a ShapeError', () => {
    const r = record('gumbel', (x) => ((x.gumbelNoise = true), (x.temperature = 0.7), (x.ext = { gumbelSeed: 42 })));
    const z = seeded(6, 2);
    const run = (l: SoftmaxLayer): number[] => tf.tidy(() => Array.from(l.apply(tf.tensor1d(z), testContext()).dataSync()));
    const a = build(r);
    const b = build(r);
    expect(run(a)).toEqual(run(b));
    expect(run(a)).not.toEqual(softmax64(z, 0.7).map(Math.fround));
    const quiet = build(record('gumbel', (x) => (x.temperature = 0.7)));
    expectClose(run(quiet), softmax64(z, 0.7));
    expect(() => tf.tidy(() => a.apply(tf.tensor1d([]), testContext()))).toThrow(ShapeError);
  });

  test('LOOM fallbacks: grid without rows, masked without mask, unknown variant code', () => {
    const z = seeded(6, 4, 2);
    const run = (r: LayerRecord): number[] => tf.tidy(() => Array.from(build(r).apply(tf.tensor1d(z), testContext()).dataSync()));
    expectClose(run(record('grid', (r) => (r.temperature = 2))), softmax64(z));
    expectClose(run(record('masked', (r) => (r.temperature = 2))), softmax64(z));
    expectClose(run(record('masked', (r) => ((r.temperature = 2), (r.mask = [])))), softmax64(z, 2));
    const unknown = record('standard', (r) => ((r.softmaxVariant = 42), (r.temperature = 2)));
    expectClose(run(unknown), softmax64(z));
    expect(build(unknown).toRecord().softmaxVariant).toBe(42);
  });

  test('init functions build LOOM-shaped records', () => {
    const fns = new Map((softmaxKind.initFunctions ?? []).map((f) => [f.name, f]));
    const call = (name: string, args: unknown[]): LayerRecord => (fns.get(name) as NonNullable<ReturnType<typeof fns.get>>).create(args, Math.random);
    expect(call('InitSoftmaxLayer', [])).toMatchObject({ type: 5, softmaxVariant: 0, temperature: 1 });
    expect(call('InitGridSoftmaxLayer', [2, 4])).toMatchObject({ softmaxVariant: 1, softmaxRows: 2, softmaxCols: 4, temperature: 1 });
    expect(call('InitHierarchicalSoftmaxLayer', [[2, 2]])).toMatchObject({ softmaxVariant: 2, hierarchyLevels: [2, 2] });
    expect(call('InitTemperatureSoftmaxLayer', [0.5])).toMatchObject({ softmaxVariant: 3, temperature: 0.5 });
    expect(call('InitGumbelSoftmaxLayer', [0.7])).toMatchObject({ softmaxVariant: 4, temperature: Math.fround(0.7), gumbelNoise: true });
    expect(call('InitMaskedSoftmaxLayer', [3])).toMatchObject({ softmaxVariant: 5, mask: [true, true, true], temperature: 1 });
    expect(call('InitSparsemaxLayer', [])).toMatchObject({ softmaxVariant: 6, temperature: 1 });
    expect(call('InitEntmaxLayer', [1.5])).toMatchObject({ softmaxVariant: 9, entmaxAlpha: 1.5, temperature: 1 });
    expect(call('InitAdaptiveSoftmaxLayer', [[[0], [1, 2]]])).toMatchObject({ softmaxVariant: 7, adaptiveClusters: [[0], [1, 2]] });
    expect(Array.from(call('InitMixtureSoftmaxLayer', [[0.25, 0.75]]).mixtureWeights ?? [])).toEqual([0.25, 0.75]);
  });
});

// ---------------------------------------------------------------- gradients

interface GradCase {
  name: string;
  record: LayerRecord;
  input: number[];
  ref: Reference64;
  uniforms?: number[];
}

const U = seeded(12, 21).map((v) => Math.fround(Math.abs(v) * 0.98 + 0.01));
const gumbel64 = (x: Float64Array, t: number): number[] =>
  softmax64(Array.from(x, (v, i) => (v + -Math.fround(Math.log(-Math.log(U[i] as number)))) / t));

const GRAD_CASES: GradCase[] = [
  { name: 'standard', record: record('standard'), input: seeded(7, 1, 2), ref: (x) => softmax64(x) },
  { name: 'temperature', record: record('temperature', (r) => (r.temperature = 0.6)), input: seeded(7, 2, 2), ref: (x) => softmax64(x, 0.6) },
  {
    name: 'grid',
    record: record('grid', (r) => ((r.softmaxRows = 2), (r.softmaxCols = 3), (r.temperature = 1.5))),
    input: seeded(8, 3, 2),
    ref: (x) => [...softmax64(x.slice(0, 3), 1.5), ...softmax64(x.slice(3, 6), 1.5), 0, 0],
  },
  {
    name: 'hierarchical',
    record: record('hierarchical', (r) => (r.hierarchyLevels = [2, 2])),
    input: seeded(6, 4, 2),
    ref: (x) => hierarchical64(x, [2, 2]),
  },
  { name: 'gumbel', record: record('gumbel', (r) => ((r.temperature = 0.7), (r.gumbelNoise = true))), input: seeded(6, 5, 2), ref: (x) => gumbel64(x, 0.7), uniforms: U },
  {
    name: 'masked',
    record: record('masked', (r) => (r.mask = [true, false, true, true, false, true])),
    input: seeded(6, 6, 2),
    ref: (x) => softmax64(Array.from(x, (v, i) => ([1, 4].includes(i) ? -1e9 : v))),
  },
  { name: 'sparse', record: record('sparse'), input: [0.3, 1.2, -0.4, 0.9, 1.0, -1.5], ref: (x) => sparsemax64(x) },
  {
    name: 'adaptive',
    record: record('adaptive', (r) => (r.adaptiveClusters = [[0, 3], [1, 2, 4]])),
    input: seeded(6, 8, 2),
    ref: (x) => adaptive64(x, [[0, 3], [1, 2, 4]]),
  },
  {
    name: 'mixture',
    record: record('mixture', (r) => ((r.mixtureWeights = Float32Array.from([1, 3])), (r.ext = { componentLogits: true }))),
    input: seeded(8, 9, 2),
    ref: (x) => mixture64(x, [1, 3]),
  },
  { name: 'entmax', record: record('entmax', (r) => (r.entmaxAlpha = 1.5)), input: [0.3, 1.2, -0.4, 0.9, 1.0, -1.5], ref: (x) => entmax64(x, 1.5) },
];

function makeLayer(c: GradCase): SoftmaxLayer {
  return build(c.record);
}

/** The forward context of a case: its recorded Gumbel uniforms, when it has them. */
function contextOf(c: GradCase): ForwardContext {
  const u = c.uniforms;
  return testContext(1, false, u ? { uniforms: (n: number) => u.slice(0, n) } : {});
}

describe('softmax gradients: autodiff vs float64 finite differences (cpu), wasm within 1e-4', () => {
  const cpu = new Map<string, LayerGrads>();

  test.each(GRAD_CASES.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    await useBackend('cpu');
    const layer: GridLayer = makeLayer(c);
    cpu.set(c.name, checkLayerGradients(layer, c.ref, c.input, contextOf(c), { atol: 2e-4, rtol: 1e-3 }));
  });

  test('wasm gives the same gradients as cpu for every variant', async () => {
    await useBackend('wasm');
    for (const c of GRAD_CASES) {
      const layer = makeLayer(c);
      const ref = cpu.get(c.name);
      if (!ref) throw new Error(`no cpu result for ${c.name}`);
      expectSameGrads(autodiff(layer, c.input, seeded(ref.y.length, 99), contextOf(c)), ref);
    }
    await useBackend('cpu');
  });
});
