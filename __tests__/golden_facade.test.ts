/**
 * Every LOOM golden fixture through the facade (LoadModelFromString + ForwardCPU), on cpu and wasm:
 * outputs match LOOM's in-memory outputs. Where docs/compat.md names a LOOM bug we fix, the default
 * differs on purpose (tested against independent references in the layer tests) and the network's
 * `loomCompat` switch reproduces LOOM's numbers.
 */
import { LoadModelFromString, networkOf, type LoomNetworkObject } from '../src/compat/index';
import { useBackend } from '../src/backends';
import { golden, goldenNames, expectClose } from './helpers/fixtures';

/** Fixtures whose LOOM output depends on a LOOM bug that loom-tfjs fixes by default (docs/compat.md). */
const LOOM_BUG = new Set(['layer_norm', 'softmax_hierarchical', 'softmax_entmax']);
/** Random per call in LOOM (replayed with injected uniforms in the softmax tests). */
const RANDOM = new Set(['softmax_gumbel']);

const call = (net: LoomNetworkObject, method: string, args: unknown[]): unknown =>
  JSON.parse((net[method] as (a?: string) => string)(JSON.stringify(args)));

describe.each(['cpu', 'wasm'] as const)('golden fixtures through the facade (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test.each(goldenNames((n) => !RANDOM.has(n)))('%s', (name) => {
    const fx = golden(name);
    const net = LoadModelFromString(fx.model_json, fx.model_id);
    expect(typeof net).toBe('object');
    const obj = net as LoomNetworkObject;
    if (LOOM_BUG.has(name)) networkOf(obj)!.loomCompat = true;
    for (const f of fx.forward) {
      const [out] = call(obj, 'ForwardCPU', [f.input]) as [number[]];
      expectClose(out, f.output, { atol: 1e-6, rtol: 1e-5 }, `${name} output`);
    }
    networkOf(obj)!.dispose();
  });
});
