/**
 * Conv2D layer, NCHW as LOOM: cross-correlation with square kernel, stride, symmetric zero
 * padding and output size taken from the config. Ref: loom-spec/layers.md 3.2.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../src/core/errors';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { activationFromInt, LayerType, type ActivationCode } from '../src/core/types';
import { activationName, applyActivation } from './activations';
import {
  makeVariable,
  readVariable,
  type ForwardContext,
  type GridLayer,
  type LayerKind,
  type LayerParam,
  type LayerSummary,
  type LoomGradients,
} from './layer';
import { allOrNone, isSize, normalScaled, requireLength, uniformSymmetric } from './weight_utils';

/** Serializable configuration of a Conv2D layer (LOOM's field names, camelCase). */
export interface Conv2DConfig {
  readonly type: 'conv2d';
  readonly inputHeight: number;
  readonly inputWidth: number;
  readonly inputChannels: number;
  readonly filters: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  /** Output height as configured (LOOM never recomputes it in forward). */
  readonly outputHeight: number;
  /** Output width as configured. */
  readonly outputWidth: number;
  readonly activation: ActivationCode;
}

/** Conv2D weights: kernel [F][C][k][k] row-major, bias [F]. */
export interface Conv2DWeights {
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
}

/** Most values one sample's padded input, patch matrix or output may have (2^27 float32 = 512 MiB). */
export const MAX_CONV_VALUES = 2 ** 27;

/**
 * Refuses sizes whose buffers could not be allocated (a huge stride, padding or output size loads
 * fine and then fails deep in tfjs with `RangeError: Invalid typed array length`).
 * @throws ConfigError naming the buffer and its size.
 */
function checkConvExtent(c: Conv2DConfig, where: string): void {
  const { inputHeight: h, inputWidth: w, inputChannels: ch, filters: f, kernelSize: k, stride: s, padding: p, outputHeight: oh, outputWidth: ow } = c;
  const extents: [string, number][] = [
    ['padded input (C x (H + 2 padding) x (W + 2 padding))', ch * (h + 2 * p) * (w + 2 * p)],
    ['strided window (C x (k - 1 + OH stride) x (k - 1 + OW stride))', ch * (k - 1 + oh * s) * (k - 1 + ow * s)],
    ['patch matrix (OH OW x k k C)', oh * ow * k * k * ch],
    ['output (F x OH x OW)', f * oh * ow],
  ];
  for (const [what, n] of extents) {
    if (!(n <= MAX_CONV_VALUES)) throw new ConfigError(`${where}: the ${what} would hold ${n} values per sample, more than the limit of ${MAX_CONV_VALUES}`);
  }
}

/** `floor((n + 2p - k) / s) + 1`, the size `InitConv2DLayer` computes (truncating division). */
export function convOutputSize(n: number, kernelSize: number, stride: number, padding: number): number {
  return Math.trunc((n + 2 * padding - kernelSize) / stride) + 1;
}

/** A Conv2D layer with its own variables. */
export class Conv2DLayer implements GridLayer<Conv2DConfig> {
  static readonly className = 'Conv2D';
  readonly kind: LayerKind = conv2dKind;
  readonly params: readonly LayerParam[];
  private readonly kernel: tf.Variable | null; // (k, k, C, F): tfjs filter layout
  private readonly bias: tf.Variable | null; // (F)

  constructor(
    readonly config: Conv2DConfig,
    weights: Conv2DWeights | null,
    where = 'conv2d',
  ) {
    const { inputHeight: h, inputWidth: w, inputChannels: c, filters: f, kernelSize: k, stride: s, padding: p } = config;
    const sizes = { inputHeight: h, inputWidth: w, inputChannels: c, filters: f, kernelSize: k, padding: p };
    for (const [name, v] of Object.entries({ ...sizes, outputHeight: config.outputHeight, outputWidth: config.outputWidth })) {
      if (!isSize(v)) throw new ConfigError(`${where}: ${name} must be a non-negative integer, got ${v}`);
    }
    if (!Number.isInteger(s) || s < 1) throw new ConfigError(`${where}: stride must be a positive integer, got ${s}`);
    checkConvExtent(config, where);
    if (weights) {
      if (k < 1) throw new ConfigError(`${where}: kernelSize must be >= 1 when weights are given, got ${k}`);
      const kernel = requireLength(weights.kernel, f * c * k * k, where, 'kernel', `[F=${f}][C=${c}][k=${k}][k=${k}]`);
      requireLength(weights.bias, f, where, 'bias', `[F=${f}]`);
      // LOOM's [F][C][kh][kw] -> tfjs filter [kh][kw][C][F]
      const filter = tf.tidy(() => tf.tensor4d(kernel, [f, c, k, k]).transpose([2, 3, 1, 0]).dataSync() as Float32Array); // (k, k, C, F)
      this.kernel = makeVariable(filter, [k, k, c, f]);
      this.bias = makeVariable(weights.bias, [f]);
      this.params = [
        { name: 'kernel', variable: this.kernel },
        { name: 'bias', variable: this.bias },
      ];
    } else {
      this.kernel = null;
      this.bias = null;
      this.params = [];
    }
  }

  apply(x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D {
    const { inputHeight: h, inputWidth: w, inputChannels: c, filters: f, kernelSize: k, stride: s, padding: p } = this.config;
    const { outputHeight: oh, outputWidth: ow } = this.config;
    const b = ctx.batchSize;
    if (!this.kernel || !this.bias) {
      throw new ConfigError(`${ctx.where}: layer has no weights; load them or call InitializeWeights`);
    }
    if (x.size !== b * c * h * w) {
      throw new ShapeError(`${ctx.where}: input has ${x.size} values, expected batch ${b} x C ${c} x H ${h} x W ${w} = ${b * c * h * w}`);
    }
    if (b * f * oh * ow === 0) return tf.tensor1d([]);
    const nhwc = x.reshape([b, c, h, w]).transpose([0, 2, 3, 1]) as tf.Tensor4D; // (B, H, W, C)
    // Rows/cols the configured output reads start p before the image; pad with zeros to cover
    // them and crop to that extent, so a 'valid' conv yields exactly OH x OW. The im2col path
    // reads OH*s + k-1 rows (its strided selection needs whole stride blocks).
    const im2col = !hasConvGradientKernels();
    const extH = im2col ? k - 1 + oh * s : (oh - 1) * s + k;
    const extW = im2col ? k - 1 + ow * s : (ow - 1) * s + k;
    const padded = tf.pad(nhwc, [
      [0, 0],
      [p, Math.max(0, extH - p - h)],
      [p, Math.max(0, extW - p - w)],
      [0, 0],
    ]); // (B, >=extH, >=extW, C)
    const window = padded.slice([0, 0, 0, 0], [b, extH, extW, c]) as tf.Tensor4D; // (B, extH, extW, C)
    const conv = im2col
      ? convIm2col(window, this.kernel as tf.Tensor4D, s, oh, ow)
      : tf.conv2d(window, this.kernel as tf.Tensor4D, s, 'valid'); // (B, OH, OW, F)
    const z = tf.add(conv, this.bias); // (B, OH, OW, F)
    const y = applyActivation(z, this.config.activation).transpose([0, 3, 1, 2]); // (B, F, OH, OW)
    return y.reshape([b * f * oh * ow]); // (B*F*OH*OW)
  }

  /** Kernel in LOOM's layout [F][C][k][k] (a copy). */
  private loomKernel(): Float32Array {
    return tf.tidy(() => (this.kernel as tf.Variable).transpose([3, 2, 0, 1]).dataSync() as Float32Array); // (F, C, k, k)
  }

  getConfig(): Conv2DConfig {
    return this.config;
  }

  toRecord(): LayerRecord {
    const r = emptyRecord(LayerType.Conv2D);
    const c = this.config;
    r.activation = c.activation;
    r.inputHeight = c.inputHeight;
    r.inputWidth = c.inputWidth;
    r.inputChannels = c.inputChannels;
    r.filters = c.filters;
    r.kernelSize = c.kernelSize;
    r.stride = c.stride;
    r.padding = c.padding;
    r.outputHeight = c.outputHeight;
    r.outputWidth = c.outputWidth;
    if (this.kernel && this.bias) {
      r.kernel = new Float32Array(this.loomKernel());
      r.bias = readVariable(this.bias);
    }
    return r;
  }

  loomGradients(grads: readonly Float32Array[]): LoomGradients {
    const gk = grads[0];
    const { filters: f, inputChannels: c, kernelSize: k } = this.config;
    // (k, k, C, F) -> LOOM's dK [F][C][k][k]
    const kernel = gk
      ? tf.tidy(() => new Float32Array(tf.tensor4d(gk, [k, k, c, f]).transpose([3, 2, 0, 1]).dataSync() as Float32Array))
      : null;
    return { kernel, bias: grads[1] ?? null };
  }

  summary(): LayerSummary {
    const c = this.config;
    return {
      type: 'conv2d',
      detail: `${c.inputChannels}x${c.inputHeight}x${c.inputWidth} -> ${c.filters}x${c.outputHeight}x${c.outputWidth}, k${c.kernelSize} s${c.stride} p${c.padding}, ${activationName(c.activation)}`,
      inputSize: (b) => b * c.inputChannels * c.inputHeight * c.inputWidth,
      outputSize: (b) => b * c.filters * c.outputHeight * c.outputWidth,
    };
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
  }
}

/**
 * True when the current backend can differentiate `tf.conv2d` (wasm and webgpu lack
 * Conv2DBackpropFilter in tfjs 4.22).
 */
function hasConvGradientKernels(): boolean {
  const backend = tf.getBackend();
  return !!tf.getKernel('Conv2DBackpropFilter', backend) && !!tf.getKernel('Conv2DBackpropInput', backend);
}

/**
 * 'valid' strided convolution as patches x kernel with slice/reshape/matMul only (differentiable
 * on every backend).
 * @param window (B, k-1 + OH*s, k-1 + OW*s, C)
 * @param kernel (k, k, C, F)
 * @returns (B, OH, OW, F)
 */
function convIm2col(window: tf.Tensor4D, kernel: tf.Tensor4D, s: number, oh: number, ow: number): tf.Tensor4D {
  const [b, , , c] = window.shape;
  const [k, , , f] = kernel.shape;
  const cols: tf.Tensor[] = [];
  for (let kh = 0; kh < k; kh++) {
    for (let kw = 0; kw < k; kw++) {
      let t: tf.Tensor = window.slice([0, kh, kw, 0], [b, oh * s, ow * s, c]); // (B, OH*s, OW*s, C)
      if (s > 1) {
        // keep rows kh + i*s and cols kw + j*s: the first element of every stride block
        t = t.reshape([b, oh, s, ow, s, c]).slice([0, 0, 0, 0, 0, 0], [b, oh, 1, ow, 1, c]).reshape([b, oh, ow, c]); // (B, OH, OW, C)
      }
      cols.push(t);
    }
  }
  const patches = tf.concat(cols, 3).reshape([b * oh * ow, k * k * c]); // (B*OH*OW, k*k*C), (kh, kw, c) order
  return tf.matMul(patches as tf.Tensor2D, kernel.reshape([k * k * c, f]) as tf.Tensor2D).reshape([b, oh, ow, f]); // (B, OH, OW, F)
}

function configFromRecord(r: LayerRecord): Conv2DConfig {
  return {
    type: 'conv2d',
    inputHeight: r.inputHeight,
    inputWidth: r.inputWidth,
    inputChannels: r.inputChannels,
    filters: r.filters,
    kernelSize: r.kernelSize,
    stride: r.stride,
    padding: r.padding,
    outputHeight: r.outputHeight,
    outputWidth: r.outputWidth,
    activation: activationFromInt(r.activation),
  };
}

/** Registry entry of the Conv2D layer (LOOM type 1). */
export const conv2dKind: LayerKind = {
  name: 'conv2d',
  loomType: LayerType.Conv2D,
  jsonNames: ['conv2d'],
  residualRole: 'none',
  loomJsonKeys: {
    definition: ['input_channels', 'filters', 'kernel_size', 'stride', 'padding', 'input_height', 'input_width', 'output_height', 'output_width'],
    weights: ['kernel', 'conv_bias'],
  },
  tfjsClassName: 'LoomConv2D',
  batchesSamples: true,
  sampleOutputShape: (r) => [r.filters, r.outputHeight, r.outputWidth], // (F, OH, OW), NCHW as LOOM
  fromRecord(r: LayerRecord, where: string): GridLayer {
    const w = allOrNone(where, 'conv2d', { kernel: r.kernel, bias: r.bias });
    return new Conv2DLayer(configFromRecord(r), w ? { kernel: w['kernel'] as Float32Array, bias: w['bias'] as Float32Array } : null, where);
  },
  // network.md 8.1: Kernel ~ U(-s, s) with s = 1/(C*k*k); Bias ~ U(0, 0.01)
  initializeWeights(r: LayerRecord, rng: () => number): LayerRecord {
    const { filters: f, inputChannels: c, kernelSize: k } = r;
    if (f <= 0 || c <= 0 || k <= 0) return r;
    const kernel = uniformSymmetric(f * c * k * k, 1 / (c * k * k), rng);
    const bias = new Float32Array(f).map(() => rng() * 0.01);
    return { ...r, kernel, bias };
  },
  initFunctions: [
    {
      name: 'InitConv2DLayer',
      argTypes: ['int', 'int', 'int', 'int', 'int', 'int', 'int', 'nn.ActivationType'],
      argNames: ['inputHeight', 'inputWidth', 'inputChannels', 'kernelSize', 'stride', 'padding', 'filters', 'activation'],
      // layers.md 5.1: He-normal kernel sqrt(2/(C*k*k)), zero bias, output size by truncating division.
      create(args, rng) {
        const [h, w, c, k, s, p, f, act] = args as readonly number[];
        const r = emptyRecord(LayerType.Conv2D);
        Object.assign(r, { inputHeight: h, inputWidth: w, inputChannels: c, kernelSize: k, stride: s, padding: p, filters: f, activation: act });
        const [hh, ww, cc, kk, ss, pp, ff] = [h, w, c, k, s, p, f].map((v) => v ?? 0) as [number, number, number, number, number, number, number];
        if (ss <= 0) throw new ConfigError(`InitConv2DLayer: stride must be > 0, got ${ss}`);
        r.outputHeight = convOutputSize(hh, kk, ss, pp);
        r.outputWidth = convOutputSize(ww, kk, ss, pp);
        r.kernel = normalScaled(ff * cc * kk * kk, Math.sqrt(2 / (cc * kk * kk)), rng);
        r.bias = new Float32Array(Math.max(0, ff));
        return r;
      },
    },
  ],
};
