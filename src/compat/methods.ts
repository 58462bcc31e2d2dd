/**
 * The 27 methods of LOOM's network objects with their Go signatures (Ref: loom-spec/api.md 3.4),
 * as data: `GetMethods`, `ListMethods`, `GetMethodSignature` and `HasMethod` are built on it.
 */

/** One method's Go signature. */
export interface MethodSignature {
  readonly name: string;
  readonly params: readonly string[];
  readonly returns: readonly string[];
}

const m = (name: string, params: string[], returns: string[]): MethodSignature => ({ name, params, returns });

/** Every network method, in Go reflection order (byte-wise ascending names). */
export const METHODS: readonly MethodSignature[] = [
  m('Activations', [], ['[][]float32']),
  m('BackwardCPU', ['[]float32'], ['[]float32', 'time.Duration']),
  m('BackwardGPU', ['[]float32'], ['[]float32', 'time.Duration', 'error']),
  m('BiasGradients', [], ['[][]float32']),
  m('EvaluateFromCheckpointFiles', ['[]string', '[]float64'], ['*nn.DeviationMetrics', 'time.Duration', 'time.Duration', 'error']),
  m('EvaluateNetwork', ['[][]float32', '[]float64'], ['*nn.DeviationMetrics', 'error']),
  m('ForwardCPU', ['[]float32'], ['[]float32', 'time.Duration']),
  m('ForwardGPU', ['[]float32'], ['[]float32', 'time.Duration', 'error']),
  m('GetActivation', ['int', 'int', 'int'], ['nn.ActivationType']),
  m('GetLayer', ['int', 'int', 'int'], ['*nn.LayerConfig']),
  m('GetMethodSignature', ['string'], ['string', 'error']),
  m('GetMethods', [], ['[]nn.MethodInfo', 'error']),
  m('GetMethodsJSON', [], ['string', 'error']),
  m('HasMethod', ['string'], ['bool']),
  m('InitGPU', [], ['error']),
  m('InitializeWeights', [], []),
  m('KernelGradients', [], ['[][]float32']),
  m('ListMethods', [], ['[]string']),
  m('ReleaseGPU', [], []),
  m('SaveModel', ['string', 'string'], ['error']),
  m('SaveModelToString', ['string'], ['string', 'error']),
  m('SerializeModel', ['string'], ['nn.SavedModel', 'error']),
  m('SetLayer', ['int', 'int', 'int', 'nn.LayerConfig'], []),
  m('TotalLayers', [], ['int']),
  m('Train', ['[]nn.TrainingBatch', '*nn.TrainingConfig'], ['*nn.TrainingResult', 'error']),
  m('UpdateWeights', ['float32'], []),
  m('ZeroGradients', [], []),
];

/** Method names, in order. */
export const METHOD_NAMES: readonly string[] = METHODS.map((x) => x.name);

/** `ForwardCPU([]float32) ([]float32, time.Duration)`, as LOOM formats it. */
export function formatSignature(s: MethodSignature): string {
  const ret = s.returns.length === 0 ? '' : s.returns.length === 1 ? ` ${s.returns[0]}` : ` (${s.returns.join(', ')})`;
  return `${s.name}(${s.params.join(', ')})${ret}`;
}

/**
 * `GetMethods()` data. LOOM writes `null` for empty parameter/return lists; we write `[]` so that
 * LOOM's own README snippet (`method.parameters.map(...)`) runs (docs/compat.md).
 */
export function methodInfos(): { method_name: string; parameters: { name: string; type: string }[]; returns: string[] }[] {
  return METHODS.map((s) => ({
    method_name: s.name,
    parameters: s.params.map((type, i) => ({ name: `param${i}`, type })),
    returns: [...s.returns],
  }));
}

/**
 * A method name from either a raw name (LOOM) or a JSON array holding it (what LOOM's README
 * passes and LOOM rejects).
 */
export function methodNameArg(arg: unknown): string | undefined {
  if (typeof arg !== 'string' || arg === '') return undefined;
  if (arg.startsWith('[')) {
    try {
      const v = JSON.parse(arg) as unknown;
      if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
    } catch {
      /* a raw name that happens to start with '[' */
    }
  }
  return arg;
}
