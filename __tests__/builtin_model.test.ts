/**
 * The built-in names model: the LOOM grid network and its Hugging Face export compute the same
 * logits (both directions), the committed checkpoint loads, its tokenizer round-trips, and it
 * generates plausible names.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadCausalLM } from '../loaders/pretrained';
import { loadSafetensors } from '../loaders/safetensors';
import { loadTokenizer } from '../loaders/tokenizer';
import { generate } from '../src/generation';
import { builtinModelPath, loadBuiltinModel, BUILTIN_MODEL_FILES } from '../src/builtin_model';
import type { Network } from '../src/network/network';
import {
  DEFAULT_NAMES_CONFIG,
  EOS_ID,
  hfTensorsToRecords,
  initNamesRecords,
  namesLayerCount,
  namesNetwork,
  oneHotBatch,
  packNames,
  writeHFFolder,
  type NamesModelConfig,
} from '../examples/train_builtin_model';

const C = DEFAULT_NAMES_CONFIG;
const SAMPLE = packNames(['Anna', 'Bob', 'Mary-Jane', 'Zoe', 'Christopher'], C.seqLength)[0] as { ids: number[]; targets: number[] };

/** lm_head output (S*V logits) of a grid network, i.e. the input of its Softmax layer. */
function gridLogits(net: Network, c: NamesModelConfig, ids: number[]): Float32Array {
  const lmHead = namesLayerCount(c) - 2;
  let logits: Float32Array | null = null;
  tf.tidy(() => {
    net.forwardTensor(tf.tensor1d(oneHotBatch({ ids, targets: ids }, c.vocabSize).input), {
      onLayerOutput: (i, y) => {
        if (i === lmHead) logits = new Float32Array(y.dataSync() as Float32Array);
      },
    });
  });
  if (!logits) throw new Error('lm_head output not seen');
  return logits;
}

async function hfLogits(dir: string, ids: number[]): Promise<Float32Array> {
  const model = await loadCausalLM(dir);
  try {
    const out = model.forward([ids], { allPositions: true }); // (1, S, V)
    const data = new Float32Array(out.dataSync() as Float32Array);
    out.dispose();
    return data;
  } finally {
    model.dispose();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!Number.isFinite(d)) return Infinity;
    m = Math.max(m, d);
  }
  return m;
}

describe('built-in names model', () => {
  let tmp: string;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-builtin-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('a grid network exported to HF gives the same logits through loadCausalLM (1e-4)', async () => {
    // Random weights with non-zero biases and gains, so every tensor of the export matters.
    const records = initNamesRecords(C, 11).map((r) => {
      const bump = (a: Float32Array | null, s: number): Float32Array | null => (a ? a.map((v, i) => v + s * Math.sin(i + 1)) : a);
      return { ...r, bias: bump(r.bias, 0.3), gamma: bump(r.gamma, 0.2), qBias: bump(r.qBias, 0.1), kBias: bump(r.kBias, 0.1), vBias: bump(r.vBias, 0.1), outputBias: bump(r.outputBias, 0.1), gateBias: bump(r.gateBias, 0.1), upBias: bump(r.upBias, 0.1), downBias: bump(r.downBias, 0.1) };
    });
    const net = namesNetwork(C, records);
    const before = tf.memory().numTensors;
    const grid = gridLogits(net, C, SAMPLE.ids);
    expect(tf.memory().numTensors).toBe(before);
    const dir = path.join(tmp, 'random');
    writeHFFolder(dir, C, net.toRecords());
    net.dispose();
    const hf = await hfLogits(dir, SAMPLE.ids);
    expect(maxAbsDiff(grid, hf)).toBeLessThan(1e-4);
  });

  test('the committed checkpoint is complete, small, and equals its grid network', async () => {
    const dir = builtinModelPath();
    let total = 0;
    for (const f of BUILTIN_MODEL_FILES) total += fs.statSync(path.join(dir, f)).size;
    expect(total).toBeLessThan(5 * 1024 * 1024);
    const st = await loadSafetensors(path.join(dir, 'model.safetensors'));
    const net = namesNetwork(C, hfTensorsToRecords(C, (n) => st.get(n).data as Float32Array));
    const grid = gridLogits(net, C, SAMPLE.ids);
    net.dispose();
    const hf = await hfLogits(dir, SAMPLE.ids);
    expect(maxAbsDiff(grid, hf)).toBeLessThan(1e-4);
  });

  test('the tokenizer is character level and round-trips', async () => {
    const tok = await loadTokenizer(builtinModelPath());
    expect(tok.vocabSize).toBe(C.vocabSize);
    expect(tok.bosTokenId).toBe(1);
    expect(tok.eosTokenId).toBe(EOS_ID);
    for (const name of ['Anna', 'Mary-Jane', "O'Neil", 'Jean Luc', 'Zoe']) {
      const ids = tok.encode(name);
      expect(ids[0]).toBe(1);
      expect(ids.length).toBe(name.length + 1);
      expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(name);
    }
    expect(tok.encode('Anna')).toEqual([1, ...SAMPLE.ids.slice(1, 5)]);
    expect(tok.applyChatTemplate([{ role: 'user', content: 'Ma' }], { addGenerationPrompt: true })).toEqual(tok.encode('Ma'));
  });

  test('generates plausible names', async () => {
    const { model, tokenizer } = await loadBuiltinModel();
    try {
      const names: string[] = [];
      let endedWithEos = 0;
      for (let seed = 1; seed <= 12; seed++) {
        const r = await generate(model, tokenizer, '', { maxNewTokens: 24, temperature: 0.8, topK: 20, seed });
        if (r.finishReason === 'stop' && r.tokenIds[r.tokenIds.length - 1] === EOS_ID) endedWithEos++;
        names.push(r.text);
      }
      expect(endedWithEos).toBeGreaterThanOrEqual(10);
      const plausible = names.filter((n) => /^[A-Z][a-z]+(-[A-Z][a-z]+)?$/.test(n) && n.length >= 2 && n.length <= 15);
      expect(plausible.length).toBeGreaterThanOrEqual(9);
      expect(new Set(names).size).toBeGreaterThanOrEqual(8);
      const completed = await generate(model, tokenizer, 'Ma', { maxNewTokens: 20, greedy: true });
      expect(completed.text).toMatch(/^[a-z]*$/);
    } finally {
      model.dispose();
    }
  });
});
