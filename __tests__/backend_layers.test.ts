/**
 * Every grid layer type gives the same forward output and gradients (input and every parameter)
 * on cpu, wasm and webgpu (when an adapter exists) within 1e-4 relative to the tensor's scale.
 */
import * as tf from '@tensorflow/tfjs';
import { LAYER_KINDS, kindByName } from '../layers/index';
import type { LayerRecord } from '../src/core/layer_record';
import type { BackendName } from '../src/backends';
import type { ForwardContext, GridLayer } from '../layers/layer';
import { createRng } from '../src/core/rng';
import { seeded, testContext, type LayerGrads } from './helpers/layer_grad_check';
import { availableBackends, onEachBackend, relativeError } from './helpers/backend_compare';

interface LayerCase {
  name: string;
  kind: string;
  init: string;
  args: unknown[];
  /** Input values when the layer does not fix its input size. */
  inputSize?: number;
  /** Tolerance (default 1e-4); raised only with a reason. */
  tol?: number;
}

const CASES: LayerCase[] = [
  { name: 'dense tanh', kind: 'dense', init: 'InitDenseLayer', args: [6, 5, 2] },
  { name: 'dense sigmoid', kind: 'dense', init: 'InitDenseLayer', args: [6, 5, 1] },
  { name: 'conv2d', kind: 'conv2d', init: 'InitConv2DLayer', args: [5, 5, 2, 3, 1, 1, 3, 2] },
  { name: 'multi-head attention', kind: 'multi_head_attention', init: 'InitMultiHeadAttentionLayer', args: [8, 2, 1, 3], inputSize: 24 },
  { name: 'grouped-query attention', kind: 'multi_head_attention', init: 'InitGQAAttentionLayer', args: [8, 4, 2, 3], inputSize: 24 },
  { name: 'rnn', kind: 'rnn', init: 'InitRNNLayer', args: [3, 4, 1, 3] },
  { name: 'lstm', kind: 'lstm', init: 'InitLSTMLayer', args: [3, 4, 1, 3] },
  { name: 'softmax', kind: 'softmax', init: 'InitSoftmaxLayer', args: [], inputSize: 6 },
  { name: 'grid softmax', kind: 'softmax', init: 'InitGridSoftmaxLayer', args: [2, 3], inputSize: 6 },
  { name: 'temperature softmax', kind: 'softmax', init: 'InitTemperatureSoftmaxLayer', args: [0.7], inputSize: 6 },
  { name: 'masked softmax', kind: 'softmax', init: 'InitMaskedSoftmaxLayer', args: [6], inputSize: 6 },
  { name: 'sparsemax', kind: 'softmax', init: 'InitSparsemaxLayer', args: [], inputSize: 6 },
  { name: 'entmax', kind: 'softmax', init: 'InitEntmaxLayer', args: [1.5], inputSize: 6 },
  { name: 'layer norm', kind: 'layer_norm', init: 'InitLayerNormLayer', args: [6, 1e-5] },
  { name: 'rms norm', kind: 'rms_norm', init: 'InitRMSNormLayer', args: [6, 1e-6] },
  { name: 'residual', kind: 'residual', init: 'InitResidualLayer', args: [1], inputSize: 6 },
  { name: 'swiglu', kind: 'swiglu', init: 'InitSwiGLULayer', args: [6, 8] },
];

function makeRecord(c: LayerCase): LayerRecord {
  const kind = kindByName(c.kind, c.name);
  const f = kind.initFunctions?.find((x) => x.name === c.init);
  if (!f) throw new Error(`${c.name}: ${c.kind} has no ${c.init}`);
  return f.create(c.args, createRng(7));
}

function parallelRecord(): LayerRecord {
  const r = makeRecord({ name: 'parallel', kind: 'parallel', init: 'InitParallelLayer', args: [[], 'concat'] });
  r.parallelBranches = [makeRecord(CASES[0]!), makeRecord(CASES[14]!)];
  return r;
}

/**
 * Forward output and gradients of sum(y * upstream) w.r.t. the input and every parameter, read
 * back asynchronously (webgpu cannot read synchronously in Node: no OffscreenCanvas).
 */
async function autodiffAsync(layer: GridLayer, input: readonly number[], upstream: readonly number[], ctx: ForwardContext): Promise<LayerGrads> {
  const x0 = tf.tensor1d([...input]);
  const xv = tf.variable(x0, true);
  x0.dispose();
  const vars = [xv, ...layer.params.map((p) => p.variable)];
  let y: tf.Tensor | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const out = layer.apply(xv as tf.Tensor1D, ctx);
    y = tf.keep(tf.clone(out));
    return tf.sum(tf.mul(out, tf.tensor1d([...upstream]))) as tf.Scalar;
  }, vars);
  const read = async (t: tf.Tensor | undefined, size: number): Promise<Float32Array> => (t ? new Float32Array((await t.data()) as Float32Array) : new Float32Array(size));
  try {
    return {
      y: await read(y ?? undefined, 0),
      dx: await read(grads[xv.name], xv.size),
      dparams: await Promise.all(layer.params.map((p) => read(grads[p.variable.name], p.variable.size))),
    };
  } finally {
    value.dispose();
    (y as tf.Tensor | null)?.dispose();
    for (const g of Object.values(grads)) g.dispose();
    xv.dispose();
  }
}

async function run(record: LayerRecord, c: LayerCase): Promise<LayerGrads> {
  const layer = kindByName(c.kind, c.name).fromRecord(record, c.name);
  const earlier = tf.tensor1d(seeded(64, 13, 1));
  try {
    const n = layer.summary().inputSize(1) ?? c.inputSize ?? 6;
    const input = seeded(n, 11, 1);
    const ctx = testContext(1, false, { earlierOutput: () => tf.slice(earlier, 0, n) });
    let m = layer.summary().outputSize(1);
    if (m === undefined) {
      const probe = tf.tidy(() => layer.apply(tf.tensor1d(input), ctx));
      m = probe.size;
      probe.dispose();
    }
    return await autodiffAsync(layer, input, seeded(m, 17, 1), ctx);
  } finally {
    earlier.dispose();
    layer.dispose();
  }
}

let backends: BackendName[] = ['cpu', 'wasm'];
beforeAll(async () => {
  backends = await availableBackends();
});

test('the case table covers every registered layer type', () => {
  const covered = new Set([...CASES.map((c) => c.kind), 'parallel']);
  for (const k of LAYER_KINDS) expect([k.name, covered.has(k.name)]).toEqual([k.name, true]);
});

describe.each([...CASES, { name: 'parallel (dense | rms norm, concat)', kind: 'parallel', init: 'InitParallelLayer', args: [] }])('$name', (c: LayerCase) => {
  test('forward and gradients agree across backends', async () => {
    const record = c.kind === 'parallel' ? parallelRecord() : makeRecord(c);
    const before = tf.memory().numTensors;
    const results = await onEachBackend(backends, () => run(record, c));
    expect(tf.memory().numTensors).toBe(before);
    const ref = results.get('cpu')!;
    const tol = c.tol ?? 1e-4;
    for (const [b, got] of results) {
      const errs = {
        backend: b,
        y: relativeError(got.y, ref.y),
        dx: relativeError(got.dx, ref.dx),
        dparams: Math.max(0, ...got.dparams.map((g, i) => relativeError(g, ref.dparams[i]!))),
      };
      expect({ ...errs, ok: errs.y <= tol && errs.dx <= tol && errs.dparams <= tol }).toMatchObject({ ok: true });
    }
  });
});
