/**
 * Softmax layer with LOOM's ten variants (no parameters). Ref: loom-spec/layers.md 3.6 and 5.2.
 * The variant math lives in `softmax_variants.ts`; deviations from LOOM in docs/compat.md.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../src/core/errors';
import { otherExt, readExt, writeExt, type ExtField } from '../src/core/layer_ext';
import { emptyRecord, type LayerRecord } from '../src/core/layer_record';
import { LayerType, SOFTMAX_VARIANTS, type SoftmaxVariantName } from '../src/core/types';
import { createRng } from '../src/core/rng';
import type { ForwardContext, GridLayer, LayerInitFunction, LayerKind, LayerParam, LayerSummary, LoomGradients, UniformSource } from './layer';
import { SOFTMAX_VARIANT_FNS, variantOutputSize, type SoftmaxConfig } from './softmax_variants';

export type { SoftmaxConfig } from './softmax_variants';

export type { UniformSource } from './layer';

/** `ext` keys of a softmax record (loom-tfjs settings LOOM ignores). */
/**
 * loom-tfjs settings in `record.ext`: `componentLogits` (mixture softmax returns component
 * logits), `loomCompat` (LOOM's quirks), `gumbelSeed` (seeds the default Gumbel noise).
 */
const SOFTMAX_EXT: readonly ExtField[] = [
  { key: 'componentLogits', field: 'componentLogits', type: 'boolean', loomDefault: false },
  { key: 'loomCompat', field: 'loomCompat', type: 'boolean', loomDefault: false },
  { key: 'gumbelSeed', field: 'gumbelSeed', type: 'number' },
];


/** A Softmax layer (LOOM type 5). */
export class SoftmaxLayer implements GridLayer<SoftmaxConfig> {
  static readonly className = 'Softmax';
  readonly kind: LayerKind = softmaxKind;
  readonly params: readonly LayerParam[] = [];
  private readonly uniformSource: UniformSource; // default Gumbel uniforms (ctx.uniforms wins)
  private readonly ext: LayerRecord['ext']; // settings of other kinds / versions, kept on save
  private readonly gumbelSeed: number | undefined;

  /**
   * @param ext loom-tfjs extras kept for saving (`gumbelSeed` seeds the default Gumbel noise).
   * @throws ConfigError on an invalid mask/levels/clusters/weights combination.
   */
  constructor(
    readonly config: SoftmaxConfig,
    where = 'softmax',
    ext: LayerRecord['ext'] = {},
  ) {
    this.ext = otherExt(ext, SOFTMAX_EXT);
    const seed = readExt(ext, SOFTMAX_EXT, where)['gumbelSeed'];
    this.gumbelSeed = typeof seed === 'number' ? seed : undefined;
    this.uniformSource = this.seededUniformSource();
    if (!Number.isFinite(config.temperature)) throw new ConfigError(`${where}: temperature must be finite, got ${config.temperature}`);
    // z / T overflows float32 for a tiny T (1e-45: every probability NaN); 0 means 1 (LOOM).
    if (config.temperature !== 0 && Math.abs(config.temperature) < MIN_TEMPERATURE) {
      throw new ConfigError(`${where}: temperature ${config.temperature} is too close to 0, expected 0 (= 1) or |T| >= ${MIN_TEMPERATURE}`);
    }
    // Entmax's threshold search loses all precision for a huge alpha (1e8: NaN); <= 1 is softmax.
    if (config.variant === 'entmax' && !(Math.abs(config.entmaxAlpha) <= MAX_ENTMAX_ALPHA)) {
      throw new ConfigError(`${where}: entmax alpha ${config.entmaxAlpha} is out of range, expected |alpha| <= ${MAX_ENTMAX_ALPHA}`);
    }
  }

  /** A fresh float32 uniform stream seeded by `ext.gumbelSeed` (random when unset). */
  private seededUniformSource(): UniformSource {
    const rng = createRng(this.gumbelSeed);
    return (n) => Float32Array.from({ length: n }, () => Math.fround(rng()));
  }

  apply(x: tf.Tensor1D, ctx: ForwardContext): tf.Tensor1D {
    if (x.size === 0) throw new ShapeError(`${ctx.where}: softmax of an empty vector (expected at least 1 value)`);
    const known = this.config.variantCode === undefined || SOFTMAX_VARIANTS[this.config.variantCode] !== undefined;
    const config = known ? this.config : { ...this.config, temperature: 1 };
    return SOFTMAX_VARIANT_FNS[config.variant](x, config, {
      batchSize: ctx.batchSize,
      where: ctx.where,
      loomCompat: ctx.loomCompat || this.config.loomCompat,
      uniforms: ctx.uniforms ?? ((n) => this.uniformSource(n)),
    });
  }

  getConfig(): SoftmaxConfig {
    return this.config;
  }

  toRecord(): LayerRecord {
    const c = this.config;
    const r = emptyRecord(LayerType.Softmax);
    r.activation = c.activation;
    r.softmaxVariant = c.variantCode ?? SOFTMAX_VARIANTS.indexOf(c.variant);
    r.softmaxRows = c.rows;
    r.softmaxCols = c.cols;
    r.temperature = c.temperature;
    r.gumbelNoise = c.gumbelNoise;
    r.mask = c.mask ? [...c.mask] : null;
    r.hierarchyLevels = c.hierarchyLevels ? [...c.hierarchyLevels] : null;
    r.adaptiveClusters = c.adaptiveClusters ? c.adaptiveClusters.map((a) => [...a]) : null;
    r.mixtureWeights = c.mixtureWeights ? new Float32Array(c.mixtureWeights) : null;
    r.entmaxAlpha = c.entmaxAlpha;
    r.ext = { ...this.ext, ...writeExt({ componentLogits: c.componentLogits, loomCompat: c.loomCompat, gumbelSeed: this.gumbelSeed }, SOFTMAX_EXT) };
    return r;
  }

  loomGradients(): LoomGradients {
    return { kernel: null, bias: null };
  }

  summary(): LayerSummary {
    const c = this.config;
    const extra = c.variant === 'grid' ? ` ${c.rows}x${c.cols}` : c.variant === 'entmax' ? ` alpha ${c.entmaxAlpha}` : '';
    return {
      type: 'softmax',
      detail: `${c.variant}${extra}${c.temperature !== 0 && c.temperature !== 1 ? `, T=${c.temperature}` : ''}`,
      inputSize: () => undefined,
      outputSize: () => undefined,
    };
  }

  /** Output length for an input of `n` values (undefined when it cannot be told without running). */
  outputSizeFor(n: number, batchSize: number, loomCompat = false): number | undefined {
    return variantOutputSize(this.config, n, batchSize, loomCompat || this.config.loomCompat);
  }

  dispose(): void {}
}

/** Typed config from a LOOM record. */
function configFromRecord(r: LayerRecord, where: string): SoftmaxConfig {
  const known = SOFTMAX_VARIANTS[r.softmaxVariant];
  const settings = readExt(r.ext, SOFTMAX_EXT, where);
  return {
    type: 'softmax',
    variant: known ?? 'standard',
    variantCode: r.softmaxVariant,
    activation: r.activation,
    temperature: r.temperature,
    rows: r.softmaxRows,
    cols: r.softmaxCols,
    gumbelNoise: r.gumbelNoise,
    mask: r.mask ? [...r.mask] : null,
    hierarchyLevels: r.hierarchyLevels ? [...r.hierarchyLevels] : null,
    adaptiveClusters: r.adaptiveClusters ? r.adaptiveClusters.map((a) => [...a]) : null,
    mixtureWeights: r.mixtureWeights ? new Float32Array(r.mixtureWeights) : null,
    entmaxAlpha: r.entmaxAlpha,
    componentLogits: settings['componentLogits'] === true,
    loomCompat: settings['loomCompat'] === true,
  };
}

/** Smallest non-zero |temperature| accepted. */
export const MIN_TEMPERATURE = 1e-6;
/** Largest entmax alpha accepted (alpha 1e4 already gives argmax; 1e8 gives NaN). */
export const MAX_ENTMAX_ALPHA = 1000;

/** A softmax record of `variant` with temperature 1 (LOOM's constructors' base). */
function softmaxRecord(variant: SoftmaxVariantName, fill: (r: LayerRecord) => void = () => {}): LayerRecord {
  const r = emptyRecord(LayerType.Softmax);
  r.softmaxVariant = SOFTMAX_VARIANTS.indexOf(variant);
  r.temperature = 1;
  fill(r);
  return r;
}

const init = (name: string, argTypes: string[], argNames: string[], create: (args: readonly unknown[]) => LayerRecord): LayerInitFunction => ({
  name,
  argTypes,
  argNames,
  create: (args) => create(args),
});

/** LOOM's softmax constructors (layers.md 5.2) plus adaptive and mixture ones. */
const SOFTMAX_INIT_FUNCTIONS: readonly LayerInitFunction[] = [
  init('InitSoftmaxLayer', [], [], () => softmaxRecord('standard')),
  init('InitGridSoftmaxLayer', ['int', 'int'], ['rows', 'cols'], ([rows, cols]) =>
    softmaxRecord('grid', (r) => {
      r.softmaxRows = rows as number;
      r.softmaxCols = cols as number;
    }),
  ),
  init('InitHierarchicalSoftmaxLayer', ['[]int'], ['levels'], ([levels]) =>
    softmaxRecord('hierarchical', (r) => (r.hierarchyLevels = [...(levels as number[])])),
  ),
  init('InitTemperatureSoftmaxLayer', ['float32'], ['temperature'], ([t]) =>
    softmaxRecord('temperature', (r) => (r.temperature = Math.fround(t as number))),
  ),
  init('InitGumbelSoftmaxLayer', ['float32'], ['temperature'], ([t]) =>
    softmaxRecord('gumbel', (r) => {
      r.temperature = Math.fround(t as number);
      r.gumbelNoise = true;
    }),
  ),
  init('InitMaskedSoftmaxLayer', ['int'], ['maskSize'], ([n]) =>
    softmaxRecord('masked', (r) => (r.mask = new Array<boolean>(Math.max(0, n as number)).fill(true))),
  ),
  init('InitSparsemaxLayer', [], [], () => softmaxRecord('sparse')),
  init('InitEntmaxLayer', ['float32'], ['alpha'], ([a]) => softmaxRecord('entmax', (r) => (r.entmaxAlpha = Math.fround(a as number)))),
  // loom-tfjs additions (LOOM has no constructor for these variants)
  init('InitAdaptiveSoftmaxLayer', ['[][]int'], ['clusters'], ([c]) =>
    softmaxRecord('adaptive', (r) => (r.adaptiveClusters = (c as number[][]).map((a) => [...a]))),
  ),
  init('InitMixtureSoftmaxLayer', ['[]float32'], ['mixtureWeights'], ([w]) =>
    softmaxRecord('mixture', (r) => (r.mixtureWeights = Float32Array.from(w as number[]))),
  ),
];

/** Registry entry of the Softmax layer (LOOM type 5). */
export const softmaxKind: LayerKind = {
  name: 'softmax',
  loomType: LayerType.Softmax,
  jsonNames: ['softmax'],
  residualRole: 'none',
  loomJsonKeys: {
    definition: ['softmax_variant', 'softmax_rows', 'softmax_cols', 'temperature', 'gumbel_noise', 'mask', 'hierarchy_levels', 'adaptive_clusters', 'mixture_weights', 'entmax_alpha'],
    weights: [],
  },
  // a masked softmax without a mask has an empty one (Go: non-nil slice)
  completeRecord(r) {
    if (SOFTMAX_VARIANTS[r.softmaxVariant] === 'masked' && r.mask === null) r.mask = [];
  },
  tfjsClassName: 'LoomSoftmax',
  batchesSamples: false,
  fromRecord(r: LayerRecord, where: string): GridLayer {
    return new SoftmaxLayer(configFromRecord(r, where), where, r.ext);
  },
  initializeWeights: (r) => r,
  initFunctions: SOFTMAX_INIT_FUNCTIONS,
};
