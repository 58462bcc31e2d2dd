/**
 * Every JavaScript snippet of LOOM's README (__tests__/fixtures/loom-seed/loom-wasm-README.md), extracted from the
 * README at test time and run unchanged against the globals `installGlobals()` installs, in Node
 * with a Map-backed `localStorage`. The tiny GPT-2 fixture stands in for SmolLM2.
 *
 * What the harness supplies (the README leaves it to the page around the snippet), per snippet:
 * - the inference snippet: `fetch` answers from the tiny GPT-2 folder (it only takes the file name);
 *   the README wraps it in a ```` block that starts with a stray comment line and two Markdown
 *   headings (a formatting slip of the README), so we run the ```javascript part inside it.
 * - "Model Loading": `modelJSONString` (a LOOM bundle holding a model with id "model_id", the
 *   dense_mlp golden file), `inputData` and `targetData` of its sizes.
 * - "Runtime Introspection" .. "Save/Load": `network` is the one "Creating Networks" built, as on
 *   LOOM's example page where these snippets follow one another.
 * - "Training Example": `generateTrainingData()` is the user's data ("// Your data"): 4 samples.
 * - "Method Calling Convention" is a template: `param1..3` are 0, 0, 0 and `network.MethodName`
 *   is the network's real `GetLayer(row, col, layer)`, which takes three parameters.
 * - "Type Conversion": `network` is a fresh `NewNetwork(2, 1, 1, 1)`.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { installGlobals, disposeInference, networkOf, type LoomNetworkObject } from '../src/compat/index';
import { codeBlocksOf, runSnippet, captureLog, MemoryStorage, type CodeBlock } from './helpers/snippets';
import { SEED_README, TINY_GPT2, golden } from './helpers/fixtures';

const README = SEED_README;
const TINY = TINY_GPT2;
const blocks = codeBlocksOf(README).filter((b) => b.lang === 'javascript');
const g = globalThis as Record<string, unknown>;

/** The README's snippet under `heading` (exactly one). */
function snippet(heading: string): string {
  const found = blocks.filter((b) => b.heading.includes(heading));
  expect(found).toHaveLength(1);
  return (found[0] as CodeBlock).code;
}

const COVERED = [
  'All Layers Test Demo',
  'Model Loading (The Easy Way)',
  'Creating Networks from Scratch',
  'Runtime Introspection',
  'Forward Pass',
  'Training Loop',
  'Save/Load Models',
  'Helper Functions',
  'Training Example',
  'Method Calling Convention',
  'Type Conversion',
];

beforeAll(async () => {
  await tf.setBackend('cpu');
  installGlobals();
  g.localStorage = new MemoryStorage();
});
afterAll(() => {
  delete g.localStorage;
  disposeInference();
});

test('every JavaScript snippet of the README is covered below', () => {
  expect(blocks.map((b) => COVERED.find((c) => b.heading.includes(c)) ?? `uncovered: ${b.heading}`)).toEqual(COVERED);
});

test('transformer inference API (tiny GPT-2 for SmolLM2, fetch from the fixture folder)', async () => {
  const outer = snippet('All Layers Test Demo');
  const code = outer.slice(outer.indexOf('```javascript\n') + '```javascript\n'.length);
  expect(code).toContain('LoadTransformerFromBytes(configData, weightsData)');
  const fetch = async (url: string) => {
    const bytes = fs.readFileSync(path.join(TINY, path.basename(url)));
    return { arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) };
  };
  const { value, lines } = await captureLog(() => runSnippet(code, { fetch }, ['tokResult', 'modelResult']));
  expect(value.tokResult).toMatchObject({ success: true, vocab_size: 1000 });
  expect(value.modelResult).toMatchObject({ success: true, num_layers: 5 });
  expect(lines).toHaveLength(1);
  const text = lines[0]?.[0] as string;
  expect(text.startsWith('Once upon a time')).toBe(true);
  expect(text.length).toBeGreaterThan('Once upon a time'.length);
});

test('model loading the easy way: load, forward, Train, save', async () => {
  const fx = golden('dense_mlp');
  const modelJSONString = fx.model_json.split(`"${fx.model_id}"`).join('"model_id"');
  const first = fx.forward[0] as { input: number[]; output: number[] };
  const scope = { modelJSONString, inputData: first.input, targetData: first.output.map((v) => v * 0.5) };
  const r = await runSnippet(snippet('Model Loading (The Easy Way)'), scope, ['network', 'output', 'savedJSON']);
  expect(typeof r.network).toBe('object');
  expect((r.output as number[]).length).toBe(first.output.length);
  expect((r.output as number[])[0]).toBeCloseTo(first.output[0] as number, 5); // before Train
  expect(typeof r.savedJSON).toBe('string');
  const saved = JSON.parse(r.savedJSON as string) as { models: { id: string }[] };
  expect(saved.models[0]?.id).toBe('model_id');
  networkOf(r.network)?.dispose();
});

describe("LOOM's example page: create, introspect, forward, train loop, save/load", () => {
  let network: LoomNetworkObject;
  afterAll(() => networkOf(network)?.dispose());

  test('creating networks from scratch', async () => {
    const r = await runSnippet(snippet('Creating Networks from Scratch'), {}, ['network']);
    network = r.network as LoomNetworkObject;
    expect(JSON.parse(network.TotalLayers!() as string)).toEqual([2]);
    const rec = JSON.parse(network.GetLayer!('[0,0,1]') as string)[0] as { InputHeight: number; OutputHeight: number };
    expect([rec.InputHeight, rec.OutputHeight]).toEqual([392, 10]);
  });

  test('runtime introspection', async () => {
    const { lines } = await captureLog(() => runSnippet(snippet('Runtime Introspection'), { network }));
    expect(lines[0]?.[0]).toBe('Network has 27 methods');
    expect(lines).toContainEqual(['ForwardCPU(param0: []float32) -> []float32, time.Duration']);
    expect(lines).toContainEqual(['Signature:', 'ForwardCPU([]float32) ([]float32, time.Duration)']);
    const names = lines.find((l) => l[0] === 'Available:')?.[1] as string[];
    expect(names.slice(0, 4)).toEqual(['Activations', 'BackwardCPU', 'BackwardGPU', 'BiasGradients']);
  });

  test('forward pass', async () => {
    const { value, lines } = await captureLog(() => runSnippet(snippet('Forward Pass'), { network }, ['output', 'duration']));
    const output = value.output as number[];
    expect(output).toHaveLength(10);
    expect(output.every((v) => v > 0 && v < 1)).toBe(true); // sigmoid outputs
    expect(Number.isInteger(value.duration)).toBe(true);
    expect(lines.map((l) => l[0])).toEqual(['Output:', 'Time:', 'Mean:']);
  });

  test('training loop (forward passes only)', async () => {
    const { lines } = await captureLog(() => runSnippet(snippet('Training Loop'), { network }));
    expect(lines).toHaveLength(5);
    lines.forEach((l, i) => expect(l[0]).toMatch(new RegExp(`^Epoch ${i + 1}: Loss = \\d+\\.\\d{6}$`)));
  });

  test('save/load with localStorage; the loaded network gives identical outputs', async () => {
    const { value, lines } = await captureLog(() => runSnippet(snippet('Save/Load Models'), { network }, ['loadedNetwork', 'testInput', 'output']));
    expect(lines[1]).toEqual(['Layers:', 2]);
    expect((g.localStorage as MemoryStorage).getItem('loom_model')).toContain('"models"');
    const mine = JSON.parse(network.ForwardCPU!(JSON.stringify([value.testInput])) as string)[0] as number[];
    expect(value.output).toEqual(mine);
    networkOf(value.loadedNetwork)?.dispose();
  });
});

test('helper functions', async () => {
  const r = await runSnippet(snippet('Helper Functions'), {}, ['denseConfig', 'mhaConfig']);
  const dense = r.denseConfig as Record<string, unknown>[];
  const mha = r.mhaConfig as Record<string, unknown>[];
  expect(dense[0]).toMatchObject({ InputHeight: 784, OutputHeight: 128, Activation: 0 });
  expect(mha[0]).toMatchObject({ DModel: 512, NumHeads: 8 });
});

test('training example: as in LOOM, fresh NewNetwork layers are 0x0, so outputs are [] and the loss NaN', async () => {
  // generateTrainingData() is the user's data ("// Your data"): 4 samples of 784 inputs, 10 targets.
  const generateTrainingData = (): { input: number[]; target: number[] }[] =>
    Array.from({ length: 4 }, (_, i) => ({ input: new Array(784).fill(0).map((_, j) => ((i + j) % 7) / 7), target: new Array(10).fill(i % 2) }));
  const code = snippet('Training Example');
  // Literally: LOOM's NewNetwork gives Dense layers of size 0 (spec gaps.md A1), ForwardCPU returns [].
  const plain = await captureLog(() => runSnippet(code, { generateTrainingData }, ['network']));
  expect(plain.lines.map((l) => l[0])).toEqual(Array.from({ length: 10 }, (_, i) => `Epoch ${i + 1}: Loss = NaN`));
  networkOf(plain.value.network)?.dispose();
  // With the layers a page sets after NewNetwork (as in "Creating Networks from Scratch"), the
  // same loop runs forward and BackwardCPU on real outputs: finite losses.
  const NewNetwork = (...a: number[]): LoomNetworkObject => {
    const net = (g.NewNetwork as (...x: number[]) => LoomNetworkObject)(...a);
    const init = g.CallLayerInit as (name: string, args: string) => string;
    net.SetLayer!(JSON.stringify([0, 0, 0, JSON.parse(init('InitDenseLayer', '[784, 16, 0]'))]));
    net.SetLayer!(JSON.stringify([0, 0, 1, JSON.parse(init('InitDenseLayer', '[16, 10, 1]'))]));
    return net;
  };
  const real = await captureLog(() => runSnippet(code, { generateTrainingData, NewNetwork }, ['network']));
  expect(real.lines).toHaveLength(10);
  for (const l of real.lines) expect(Number.isFinite(Number(/Loss = (.*)$/.exec(l[0] as string)?.[1]))).toBe(true);
  networkOf(real.value.network)?.dispose();
});

test('method calling convention (template: MethodName = GetLayer, params 0, 0, 0)', async () => {
  const net = (g.NewNetwork as (...a: number[]) => LoomNetworkObject)(4, 1, 1, 1);
  const network = { ...net, MethodName: net.GetLayer };
  const r = await runSnippet(snippet('Method Calling Convention'), { network, param1: 0, param2: 0, param3: 0 }, ['results', 'result1', 'result2']);
  expect(r.result1).toMatchObject({ Type: 0 });
  expect(r.result2).toBeUndefined();
  networkOf(net)?.dispose();
});

test('type conversion: a struct as an object with enum numbers', async () => {
  // The README's struct has no InputHeight/OutputHeight. LOOM installs it as a 0x0 Dense layer
  // (whose output is []); loom-tfjs takes the sizes the arrays imply (out = 2 biases, in = 1) so the
  // layer does what the README means: y = sigmoid(x * [1, 2] + [0.1, 0.2]).
  const net = (g.NewNetwork as (...a: number[]) => LoomNetworkObject)(1, 1, 1, 1);
  const results: unknown[] = [];
  const network = { ...net, SetLayer: (a?: string) => (results.push(net.SetLayer!(a)), results[results.length - 1]) };
  await runSnippet(snippet('Type Conversion'), { network });
  expect(results).toEqual(['[]']);
  const rec = JSON.parse(net.GetLayer!('[0,0,0]') as string)[0] as Record<string, unknown>;
  expect(rec).toMatchObject({ Type: 0, Activation: 1, Kernel: [1, 2], InputHeight: 1, OutputHeight: 2 });
  expect((rec.Bias as number[]).map((v) => Math.fround(v))).toEqual([Math.fround(0.1), Math.fround(0.2)]);
  const [out] = JSON.parse(net.ForwardCPU!('[[0.5]]') as string) as [number[]];
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  expect(out[0]).toBeCloseTo(sig(0.5 * 1 + 0.1), 6);
  expect(out[1]).toBeCloseTo(sig(0.5 * 2 + 0.2), 6);
  networkOf(net)?.dispose();
});
