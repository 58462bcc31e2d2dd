/**
 * Each optimizer name of `train()` against the closed-form update it names, over 3 steps, to 1e-6.
 *
 * The model is one linear Dense layer y = x K + b (K [in][out]) with LOOM's MSE
 * L = sum((y - t)^2) / n, so the gradient at step s is known exactly:
 * dL/dy = 2 (y - t) / n, dK[i][j] = x_i dL/dy_j, db = dL/dy (recomputed from the current weights
 * at every step, in float64 here).
 *
 * Formulas, g = gradient, s = step (1-based), written from the papers / the optimizers' docs:
 * - sgd:      w -= lr g (LOOM).
 * - momentum: buf = mu buf + g (buf_1 = g); w -= lr buf; nesterov: w -= lr (g + mu buf).
 *             torch.optim.SGD(momentum, dampening 0) and tf.train.momentum are the same formula.
 * - adam:     m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr (m / (1-b1^s)) / (sqrt(v / (1-b2^s)) + eps)
 *             (Kingma & Ba 2015, Algorithm 1; torch.optim.Adam and tf.train.adam both put eps outside the sqrt).
 * - adamw:    w *= 1 - lr wd, then the Adam step with the gradient taken before the decay
 *             (Loshchilov & Hutter 2019; torch.optim.AdamW).
 *             tfjs keeps beta2^s in float32 (1 - 0.999f = 0.00099998713), which moves each Adam step
 *             by ~6e-6 of its size against PyTorch's exact bias correction: lr = 0.02 keeps 3 steps of
 *             that under 1e-6.
 * - rmsprop:  TensorFlow's ApplyRMSProp / ApplyCenteredRMSProp: ms = rho ms + (1-rho) g^2;
 *             mom = mu mom + lr g / sqrt(ms + eps); w -= mom (centered: mg = rho mg + (1-rho) g and
 *             sqrt(ms - mg^2 + eps)). torch.optim.RMSprop puts eps outside the sqrt (sqrt(ms) + eps):
 *             a relative difference of about eps / (2 ms), so the two are compared with eps = 1e-12
 *             and only TensorFlow's is checked at tfjs's default eps = 1e-7.
 */
import { Activation, LayerType, Network, emptyRecord, trainSync, type OptimizerConfig, type TrainingBatch } from '../src/index';
import * as tf from '@tensorflow/tfjs';

const IN = 3;
const OUT = 2;
const LR = 0.02;
const STEPS = 3;

/** Weights [K (IN*OUT) | b (OUT)] as float64. */
type Weights = number[];

const K0 = [0.3, -0.2, 0.5, 0.1, -0.4, 0.25];
const B0 = [0.05, -0.1];
const BATCHES: { x: number[]; t: number[] }[] = [
  { x: [1, -0.5, 0.25], t: [0.8, -0.3] },
  { x: [-0.7, 0.9, 0.4], t: [-0.2, 0.6] },
  { x: [0.2, 0.3, -1.1], t: [0.5, 0.1] },
];

function gradient(w: Weights, x: number[], t: number[]): number[] {
  const g = new Array<number>(IN * OUT + OUT).fill(0);
  for (let j = 0; j < OUT; j++) {
    let y = w[IN * OUT + j]!;
    for (let i = 0; i < IN; i++) y += x[i]! * w[i * OUT + j]!;
    const dy = (2 * (y - t[j]!)) / OUT;
    for (let i = 0; i < IN; i++) g[i * OUT + j] = x[i]! * dy;
    g[IN * OUT + j] = dy;
  }
  return g;
}

/** One closed-form optimizer: state per parameter, an update from (w, g, step). */
type Update = (w: Weights, g: number[], s: number) => void;
type Formula = () => Update;

const sgd: Formula = () => (w, g) => g.forEach((gi, i) => (w[i] = w[i]! - LR * gi));

const momentum = (mu: number, nesterov: boolean): Formula => () => {
  const buf: number[] = [];
  return (w, g) =>
    g.forEach((gi, i) => {
      buf[i] = mu * (buf[i] ?? 0) + gi;
      w[i] = w[i]! - LR * (nesterov ? gi + mu * buf[i]! : buf[i]!);
    });
};

const adam = (b1: number, b2: number, eps: number, wd = 0): Formula => () => {
  const m: number[] = [];
  const v: number[] = [];
  return (w, g, s) =>
    g.forEach((gi, i) => {
      w[i] = w[i]! * (1 - LR * wd);
      m[i] = b1 * (m[i] ?? 0) + (1 - b1) * gi;
      v[i] = b2 * (v[i] ?? 0) + (1 - b2) * gi * gi;
      w[i] = w[i]! - (LR * (m[i]! / (1 - b1 ** s))) / (Math.sqrt(v[i]! / (1 - b2 ** s)) + eps);
    });
};

/** TensorFlow's RMSProp (eps inside the sqrt) or PyTorch's (outside). */
const rmsprop = (rho: number, mu: number, eps: number, centered: boolean, flavour: 'tf' | 'torch'): Formula => () => {
  const ms: number[] = [];
  const mg: number[] = [];
  const mom: number[] = [];
  return (w, g) =>
    g.forEach((gi, i) => {
      ms[i] = rho * (ms[i] ?? 0) + (1 - rho) * gi * gi;
      mg[i] = rho * (mg[i] ?? 0) + (1 - rho) * gi;
      const second = centered ? ms[i]! - mg[i]! ** 2 : ms[i]!;
      const denom = flavour === 'tf' ? Math.sqrt(second + eps) : Math.sqrt(second) + eps;
      mom[i] = mu * (mom[i] ?? 0) + (flavour === 'tf' ? (LR * gi) / denom : gi / denom);
      w[i] = w[i]! - (flavour === 'tf' ? mom[i]! : LR * mom[i]!);
    });
};

function closedForm(f: Formula): Weights {
  const w = [...K0, ...B0];
  const update = f();
  for (let s = 1; s <= STEPS; s++) {
    const b = BATCHES[(s - 1) % BATCHES.length]!;
    update(w, gradient(w, b.x, b.t), s);
  }
  return w;
}

function trained(optimizer: OptimizerConfig, weightDecay?: number): Weights {
  const r = emptyRecord(LayerType.Dense);
  r.activation = Activation.Linear;
  r.inputHeight = IN;
  r.outputHeight = OUT;
  r.kernel = Float32Array.from(K0);
  r.bias = Float32Array.from(B0);
  const net = Network.fromRecords({ rows: 1, cols: 1, layersPerCell: 1 }, [r], { batchSize: 1, residualMode: 'none' });
  try {
    const batches: TrainingBatch[] = BATCHES.map((b) => ({ input: b.x, target: b.t }));
    const res = trainSync(net, batches, { epochs: 1, learningRate: LR, loss: 'mse', optimizer, ...(weightDecay !== undefined ? { weightDecay } : {}) });
    expect(res.stepsCompleted).toBe(STEPS);
    const [kernel, bias] = net.trainableVariables().map((v) => Array.from(v.dataSync()));
    return [...kernel!, ...bias!];
  } finally {
    net.dispose();
  }
}

function maxDiff(a: Weights, b: Weights): number {
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
}

interface Case {
  name: string;
  config: OptimizerConfig;
  weightDecay?: number;
  /** The closed forms this optimizer must match (PyTorch's and tfjs's where they differ). */
  formulas: Formula[];
}

const CASES: Case[] = [
  { name: 'sgd', config: { type: 'sgd' }, formulas: [sgd] },
  { name: 'momentum 0.9', config: { type: 'momentum', momentum: 0.9 }, formulas: [momentum(0.9, false)] },
  { name: 'momentum 0.9 nesterov', config: { type: 'momentum', momentum: 0.9, nesterov: true }, formulas: [momentum(0.9, true)] },
  { name: 'adam', config: { type: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, formulas: [adam(0.9, 0.999, 1e-8)] },
  { name: 'adam betas 0.8/0.99', config: { type: 'adam', beta1: 0.8, beta2: 0.99, epsilon: 1e-8 }, formulas: [adam(0.8, 0.99, 1e-8)] },
  { name: 'adamw wd 0.5', config: { type: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.5 }, formulas: [adam(0.9, 0.999, 1e-8, 0.5)] },
  { name: 'adamw default wd 0.01 (PyTorch default)', config: { type: 'adamw', epsilon: 1e-8 }, formulas: [adam(0.9, 0.999, 1e-8, 0.01)] },
  { name: 'rmsprop', config: { type: 'rmsprop', decay: 0.9, epsilon: 1e-7 }, formulas: [rmsprop(0.9, 0, 1e-7, false, 'tf')] },
  {
    name: 'rmsprop eps 1e-12',
    config: { type: 'rmsprop', decay: 0.9, epsilon: 1e-12 },
    formulas: [rmsprop(0.9, 0, 1e-12, false, 'tf'), rmsprop(0.9, 0, 1e-12, false, 'torch')],
  },
  {
    name: 'rmsprop momentum 0.5 centered',
    config: { type: 'rmsprop', decay: 0.9, momentum: 0.5, epsilon: 1e-7, centered: true },
    formulas: [rmsprop(0.9, 0.5, 1e-7, true, 'tf')],
  },
  {
    name: 'rmsprop momentum 0.5 centered eps 1e-12',
    config: { type: 'rmsprop', decay: 0.9, momentum: 0.5, epsilon: 1e-12, centered: true },
    formulas: [rmsprop(0.9, 0.5, 1e-12, true, 'tf'), rmsprop(0.9, 0.5, 1e-12, true, 'torch')],
  },
];

describe('optimizers against their closed-form updates (3 steps, 1e-6)', () => {
  const results = new Map<string, Weights>();

  test.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const before = tf.memory().numTensors;
    const got = trained(c.config, c.weightDecay);
    expect(tf.memory().numTensors).toBe(before);
    c.formulas.forEach((f, k) => {
      const want = closedForm(f);
      const d = maxDiff(got, want);
      if (!(d <= 1e-6)) throw new Error(`${c.name} formula ${k}: max |weight - closed form| = ${d}, expected <= 1e-6; got ${got}, want ${want}`);
    });
    // the weights moved: a no-op optimizer would be far from every closed form
    expect(maxDiff(got, [...K0, ...B0])).toBeGreaterThan(1e-2);
    results.set(c.name, got);
  });

  test('each name maps to its own update: no two configurations give the same weights', () => {
    expect(results.size).toBe(CASES.length);
    const names = [...results.keys()];
    for (let a = 0; a < names.length; a++) {
      for (let b = a + 1; b < names.length; b++) {
        const d = maxDiff(results.get(names[a]!)!, results.get(names[b]!)!);
        if (!(d > 1e-4)) throw new Error(`${names[a]} and ${names[b]} give the same weights (max diff ${d})`);
      }
    }
  });

  test('centered RMSProp: a parameter whose gradient is 0 stays put (tfjs alone makes it NaN)', () => {
    const r = emptyRecord(LayerType.Dense);
    r.activation = Activation.Linear;
    r.inputHeight = 2;
    r.outputHeight = 1;
    r.kernel = Float32Array.from([0.5, -0.5]);
    r.bias = Float32Array.from([0]);
    const net = Network.fromRecords({ rows: 1, cols: 1, layersPerCell: 1 }, [r], { batchSize: 1, residualMode: 'none' });
    try {
      // input 0 -> zero gradient for kernel[1]
      trainSync(net, [{ input: [1, 0], target: [1] }], { epochs: 2, learningRate: LR, optimizer: { type: 'rmsprop', centered: true } });
      const [kernel] = net.trainableVariables().map((v) => Array.from(v.dataSync()));
      expect(kernel![1]).toBe(-0.5);
      expect(Number.isFinite(kernel![0])).toBe(true);
    } finally {
      net.dispose();
    }
  });

  test('weightDecay option adds decoupled decay to any optimizer (sgd: w = w (1 - lr wd) - lr g)', () => {
    const wd = 0.3;
    const want = closedForm(() => {
      const step = sgd();
      return (w, g, s) => {
        for (let i = 0; i < w.length; i++) w[i] = w[i]! * (1 - LR * wd);
        step(w, g, s);
      };
    });
    expect(maxDiff(trained({ type: 'sgd' }, wd), want)).toBeLessThanOrEqual(1e-6);
  });
});
