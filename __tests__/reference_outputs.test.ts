/**
 * Real-model outputs quoted in fixtures/reference-outputs/reference-outputs.json (GPT-2 124M,
 * Pythia-70M, Pythia-410m-deduped, Qwen2-0.5B; each entry names its source file and commit),
 * checked against the real weights when you point an environment variable at a Hugging Face
 * checkpoint folder (config.json, model.safetensors, tokenizer.json), e.g.
 *
 *   LOOM_REF_GPT2_DIR=~/models/gpt2 npx jest __tests__/reference_outputs.test.ts
 *
 * | variable | checkpoint |
 * |---|---|
 * | LOOM_REF_GPT2_DIR | openai-community/gpt2 |
 * | LOOM_REF_PYTHIA_70M_DIR | EleutherAI/pythia-70m |
 * | LOOM_REF_PYTHIA_410M_DEDUPED_DIR | EleutherAI/pythia-410m-deduped |
 * | LOOM_REF_QWEN2_0_5B_DIR | Qwen/Qwen2-0.5B |
 *
 * Without the variable a test is skipped; its name says which variable it needs. The helpers
 * (batched left-padded greedy decoding, next-token loss) are checked on tiny-random-gpt2 always.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { generate, loadCausalLM, loadTokenizer, useBackend, type CausalLM, type DecoderLM, type Tokenizer } from '../src/index';
import { expectClose } from './helpers/fixtures';

const FIXTURES = path.join(__dirname, 'fixtures');
const TINY_GPT2 = path.join(FIXTURES, 'tiny-random-gpt2');

interface Entry {
  id: string;
  [key: string]: unknown;
}
const ENTRIES = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'reference-outputs', 'reference-outputs.json'), 'utf8')) as Entry[];
function entry<T>(id: string): T {
  const e = ENTRIES.find((x) => x.id === id);
  if (!e) throw new Error(`reference-outputs.json has no entry '${id}'`);
  return e as unknown as T;
}

/** `test` when `variable` names an existing folder, else `test.skip` with the variable in the name. */
function withWeights(variable: string, name: string, fn: (dir: string) => Promise<void>, timeoutMs = 600_000): void {
  const dir = process.env[variable];
  if (dir && fs.existsSync(path.join(dir, 'config.json'))) {
    test(name, () => fn(dir), timeoutMs);
  } else {
    test.skip(`${name} [skipped: set ${variable} to the checkpoint folder]`, () => undefined);
  }
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/**
 * Greedy decoding of several prompts at once, left-padded (pad id 0, masked), with a KV cache:
 * what transformers' batched `generate` does. Returns the new tokens of each row.
 */
async function batchedGreedy(model: CausalLM, prompts: readonly number[][], newTokens: number): Promise<number[][]> {
  const width = Math.max(...prompts.map((p) => p.length));
  const ids = prompts.map((p) => [...new Array<number>(width - p.length).fill(0), ...p]);
  let mask = prompts.map((p) => [...new Array<number>(width - p.length).fill(0), ...new Array<number>(p.length).fill(1)]);
  const cache = model.createCache(prompts.length, width + newTokens);
  const out: number[][] = prompts.map(() => []);
  try {
    let step = ids;
    for (let i = 0; i < newTokens; i++) {
      const logits = model.forward(step, { cache, attentionMask: mask }); // (B, V)
      const data = (await logits.data()) as Float32Array;
      logits.dispose();
      const v = data.length / prompts.length;
      const next = prompts.map((_, b) => argmax(data.subarray(b * v, (b + 1) * v)));
      next.forEach((t, b) => out[b]!.push(t));
      step = next.map((t) => [t]);
      mask = mask.map((m) => [...m, 1]);
    }
  } finally {
    cache.dispose();
  }
  return out;
}

/** Mean next-token cross entropy (natural log) of `ids` under the model. */
async function nextTokenLoss(model: CausalLM, ids: readonly number[]): Promise<number> {
  const logits = model.forward([[...ids]], { allPositions: true }); // (1, T, V)
  const data = (await logits.data()) as Float32Array;
  logits.dispose();
  const v = data.length / ids.length;
  let total = 0;
  for (let t = 0; t + 1 < ids.length; t++) {
    const row = data.subarray(t * v, (t + 1) * v);
    let max = -Infinity;
    for (const x of row) max = Math.max(max, x);
    let sum = 0;
    for (const x of row) sum += Math.exp(x - max);
    total += max + Math.log(sum) - row[ids[t + 1]!]!;
  }
  return total / (ids.length - 1);
}

async function withModel(dir: string, fn: (model: DecoderLM, tok: Tokenizer | null) => Promise<void>): Promise<void> {
  const before = tf.memory().numTensors;
  const model = await loadCausalLM(dir);
  const tok = fs.existsSync(path.join(dir, 'tokenizer.json')) ? await loadTokenizer(dir) : null;
  try {
    await fn(model, tok);
  } finally {
    model.dispose();
  }
  expect(tf.memory().numTensors).toBe(before);
}

function needTokenizer(tok: Tokenizer | null, dir: string): Tokenizer {
  if (!tok) throw new Error(`${dir}: tokenizer.json is needed for this check`);
  return tok;
}

beforeAll(async () => {
  await useBackend('cpu');
});

describe('harness self-check on tiny-random-gpt2 (always runs)', () => {
  test('batched left-padded greedy equals each prompt alone; loss equals the mean of -log p', async () => {
    await withModel(TINY_GPT2, async (model) => {
      const prompts = [[0, 0, 0, 52, 17, 9], [52, 300]];
      const batched = await batchedGreedy(model, prompts, 5);
      for (const [b, p] of prompts.entries()) {
        expect((await generate(model, null, p, { maxNewTokens: 5, stopTokenIds: [] })).tokenIds).toEqual(batched[b]);
      }
      const ids = [0, 0, 0, 52, 204];
      // -log softmax of each next token, the long way
      let want = 0;
      for (let t = 1; t < ids.length; t++) {
        const l = model.forward([ids.slice(0, t)]);
        const sm = tf.softmax(l);
        const p = (await sm.data()) as Float32Array;
        tf.dispose([l, sm]);
        want -= Math.log(p[ids[t]!]!);
      }
      expectClose([await nextTokenLoss(model, ids)], [want / (ids.length - 1)], { atol: 1e-5, rtol: 1e-5 });
    });
  });
});

describe('GPT-2 124M (transformers slow tests, TransformerLens)', () => {
  withWeights('LOOM_REF_GPT2_DIR', 'greedy "The dog" -> 20 ids', async (dir) => {
    const e = entry<{ input_ids: number[]; expected_output_ids: number[] }>('gpt2-greedy-the-dog');
    await withModel(dir, async (model) => {
      const r = await generate(model, null, e.input_ids, { maxNewTokens: e.expected_output_ids.length - e.input_ids.length, stopTokenIds: [] });
      expect([...e.input_ids, ...r.tokenIds]).toEqual(e.expected_output_ids);
    });
  });

  withWeights('LOOM_REF_GPT2_DIR', 'batched greedy with left padding (and each prompt alone)', async (dir) => {
    const e = entry<{ prompt_ids: number[][]; expected_texts: string[] }>('gpt2-greedy-batch-left-padding');
    await withModel(dir, async (model, tok) => {
      const t = needTokenizer(tok, dir);
      const newTokens = 13; // max_length 20 - the longest prompt's 7 tokens
      const batched = await batchedGreedy(model, e.prompt_ids, newTokens);
      for (const [b, p] of e.prompt_ids.entries()) {
        expect(t.decode([...p, ...batched[b]!], { skipSpecialTokens: true })).toBe(e.expected_texts[b]);
        const alone = await generate(model, null, p, { maxNewTokens: newTokens, stopTokenIds: [] });
        expect(alone.tokenIds).toEqual(batched[b]);
      }
    });
  });

  withWeights('LOOM_REF_GPT2_DIR', 'TransformerLens loss of "Hello world!" with BOS', async (dir) => {
    const e = entry<{ expected_loss: Record<string, number> }>('transformerlens-hello-world-loss');
    await withModel(dir, async (model, tok) => {
      const ids = [50256, ...needTokenizer(tok, dir).encode('Hello world!', { addSpecialTokens: false })];
      // TransformerLens folds layer norms into the weights: float32 reassociation, ~1e-5 on the loss
      expectClose([await nextTokenLoss(model, ids)], [e.expected_loss['gpt2-small']!], { atol: 1e-4, rtol: 0 });
    });
  });
});

describe('Pythia (transformers gpt_neox tests, TransformerLens)', () => {
  withWeights('LOOM_REF_PYTHIA_410M_DEDUPED_DIR', 'pythia-410m-deduped greedy "My favorite food is"', async (dir) => {
    const e = entry<{ input_ids: number[]; expected_text: string }>('pythia-410m-deduped-greedy');
    await withModel(dir, async (model, tok) => {
      const r = await generate(model, null, e.input_ids, { maxNewTokens: 20, stopTokenIds: [] });
      expect(needTokenizer(tok, dir).decode([...e.input_ids, ...r.tokenIds])).toBe(e.expected_text);
    });
  });

  withWeights('LOOM_REF_PYTHIA_70M_DIR', 'pythia-70m last-position logits[:30] (transformers ran it in fp16)', async (dir) => {
    const e = entry<{ input_ids: number[]; expected_last_logits_0_30: number[] }>('pythia-70m-fp16-last-logits');
    await withModel(dir, async (model) => {
      const l = model.forward([e.input_ids]);
      const got = Array.from(((await l.data()) as Float32Array).subarray(0, 30));
      l.dispose();
      // the reference is float16 (spacing 1 at |x| ~ 1070, and fp16 accumulation): 0.5% of the value
      expectClose(got, e.expected_last_logits_0_30, { atol: 0, rtol: 5e-3 });
    });
  });

  withWeights('LOOM_REF_PYTHIA_70M_DIR', 'pythia-70m TransformerLens loss of "Hello world!" with BOS', async (dir) => {
    const e = entry<{ expected_loss: Record<string, number> }>('transformerlens-hello-world-loss');
    await withModel(dir, async (model, tok) => {
      const ids = [0, ...needTokenizer(tok, dir).encode('Hello world!', { addSpecialTokens: false })];
      expectClose([await nextTokenLoss(model, ids)], [e.expected_loss['pythia-70m']!], { atol: 1e-4, rtol: 0 });
    });
  });
});

describe('Qwen2-0.5B (transformers qwen2 tests)', () => {
  interface QwenEntry {
    logits_test: {
      input_ids: number[];
      expected_mean_over_vocab: number[];
      mean_tol: { rtol: number; atol: number };
      expected_logits_0_0_to_30: number[];
      slice_tol: { rtol: number; atol: number };
    };
    generation_test: { prompt: string; expected_text: string };
  }

  withWeights('LOOM_REF_QWEN2_0_5B_DIR', 'logits: mean over the vocabulary per position, first 30 of position 0', async (dir) => {
    const { logits_test: e } = entry<QwenEntry>('qwen2-0.5b-logits-and-greedy');
    await withModel(dir, async (model) => {
      const l = model.forward([e.input_ids], { allPositions: true }); // (1, T, V)
      const data = (await l.data()) as Float32Array;
      l.dispose();
      const v = model.info.vocabSize;
      const means = e.input_ids.map((_, t) => data.subarray(t * v, (t + 1) * v).reduce((a, b) => a + b, 0) / v);
      expectClose(means, e.expected_mean_over_vocab, e.mean_tol, 'mean over vocab');
      expectClose(data.subarray(0, 30), e.expected_logits_0_0_to_30, e.slice_tol, 'logits[0, 0, :30]');
    });
  });

  withWeights('LOOM_REF_QWEN2_0_5B_DIR', 'greedy "My favourite condiment is " (20 tokens)', async (dir) => {
    const { generation_test: e } = entry<QwenEntry>('qwen2-0.5b-logits-and-greedy');
    await withModel(dir, async (model, tok) => {
      const t = needTokenizer(tok, dir);
      const ids = t.encode(e.prompt, { addSpecialTokens: false });
      const r = await generate(model, null, ids, { maxNewTokens: 20, stopTokenIds: [] });
      expect(t.decode([...ids, ...r.tokenIds], { skipSpecialTokens: true })).toBe(e.expected_text);
    });
  });
});
