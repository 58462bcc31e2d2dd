/**
 * The facade's layer-init helpers take the arguments LOOM's WASM README documents
 * (/seed loom-wasm-README.md, "Helper Functions"): `InitMultiHeadAttentionLayer(dModel, numHeads,
 * batchSize, seqLength)`, and refuse activation codes outside LOOM's six (0..5) instead of
 * running and saving them as linear.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { layerInitHelpers, CallLayerInit } from '../src/compat/index';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('facade init helpers', () => {
  const helpers = layerInitHelpers();
  const call = (name: string, ...args: unknown[]): string => (helpers[name] as (...a: unknown[]) => string)(...args);

  test('InitMultiHeadAttentionLayer(512, 8, 32, 256): dModel 512, 8 heads, seqLength 256 (the README call)', () => {
    const [cfg] = JSON.parse(call('InitMultiHeadAttentionLayer', 512, 8, 32, 256)) as Record<string, unknown>[];
    expect(cfg?.['DModel']).toBe(512);
    expect(cfg?.['NumHeads']).toBe(8);
    expect(cfg?.['HeadDim']).toBe(64);
    expect(cfg?.['SeqLength']).toBe(256);
    expect(cfg?.['Activation']).toBe(0);
    expect((cfg?.['QWeights'] as unknown[]).length).toBe(512 * 512);
  });

  test('InitMultiHeadAttentionLayer refuses a batch size or sequence length below 1', () => {
    expect(JSON.parse(call('InitMultiHeadAttentionLayer', 8, 2, 0, 4))).toEqual({ error: expect.stringMatching(/batchSize must be >= 1, got 0/) });
    expect(JSON.parse(call('InitMultiHeadAttentionLayer', 8, 2, 1, 0))).toEqual({ error: expect.stringMatching(/seqLength must be >= 1, got 0/) });
  });

  test('activation codes 0..5 are accepted, others refused with the valid range', () => {
    for (let a = 0; a <= 5; a++) expect((JSON.parse(call('InitDenseLayer', 2, 2, a)) as Record<string, unknown>[])[0]?.['Activation']).toBe(a);
    for (const bad of [99, 6, -1]) {
      const out = JSON.parse(call('InitDenseLayer', 2, 2, bad)) as { error?: string };
      expect(out.error).toMatch(new RegExp(`parameter 2: activation code ${bad} is out of range, expected 0\\.\\.5 \\(0 relu, 1 sigmoid, 2 tanh, 3 softplus, 4 leaky_relu, 5 linear\\)`));
    }
    expect(JSON.parse(CallLayerInit('InitConv2DLayer', JSON.stringify([4, 4, 1, 3, 1, 0, 2, 42]))).error).toMatch(/parameter 7: activation code 42 is out of range/);
  });
});

describe('docs/compat.md names the facade deviations', () => {
  // the text a user reads must say what the code above and src/compat/inference.ts do
  const doc = fs.readFileSync(path.join(__dirname, '..', 'docs', 'compat.md'), 'utf8');
  test('InitMultiHeadAttentionLayer signature, activation codes, sampling and whole context', () => {
    expect(doc).toContain('`InitMultiHeadAttentionLayer(dModel, numHeads, batchSize, seqLength)`');
    expect(doc).toMatch(/Activation codes outside LOOM's six/);
    expect(doc).toMatch(/`GenerateText` and `GenerateNextToken` sample[^]*LOOM always takes the argmax[^]*not\s+seeded unless `SetGenerationSeed/);
    expect(doc).toMatch(/`GenerateNextToken` runs the model over the whole context/);
  });
});
