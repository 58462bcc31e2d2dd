/**
 * transformers.js conventions in generation: snake_case option names, unknown keys rejected with
 * the closest valid one, generation_config.json defaults under the call's options, BOS for an
 * empty prompt, and the min_new_tokens / no_repeat_ngram_size / bad_words_ids processors.
 * References: transformers' definitions of those processors (hand-computed cases below) and a
 * fake model whose every step's distribution is known.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../src/core/errors';
import { badWordsProcessor, minNewTokensProcessor, noRepeatNgramProcessor } from '../src/generation/ban_processors';
import { generate } from '../src/generation/generate';
import { normalizeGenerateOptions, resolveGenerateOptions } from '../src/generation/options';
import { TextStreamer } from '../src/generation/streamer';
import type { TextTokenizer } from '../src/generation/types';
import { parseGenerationDefaults } from '../loaders/generation_config';
import { parseHFConfig } from '../loaders/hf_config';
import { loadBuiltinModel } from '../src/builtin_model';
import * as fs from 'fs';
import * as path from 'path';
import { FakeCausalLM, scriptedLogits } from './helpers/fake_causal_lm';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A tokenizer over single letters: id i <-> String.fromCharCode(97 + i). */
const letters: TextTokenizer = {
  encode: (t) => Array.from(t, (c) => c.charCodeAt(0) - 97),
  decode: (ids) => Array.from(ids, (i) => String.fromCharCode(97 + i)).join(''),
  applyChatTemplate: () => [],
};

const flat = (v: number): ((ids: readonly number[]) => Float32Array) => () => new Float32Array(v).fill(0);

describe('option names', () => {
  test('snake_case keys map to the camelCase options, eos_token_id to stopTokenIds', () => {
    expect(normalizeGenerateOptions({ max_new_tokens: 5, do_sample: true, top_k: 3, repetition_penalty: 1.2, no_repeat_ngram_size: 2, eos_token_id: 7 })).toEqual({
      maxNewTokens: 5,
      doSample: true,
      topK: 3,
      repetitionPenalty: 1.2,
      noRepeatNgramSize: 2,
      stopTokenIds: [7],
    });
  });

  test('an unknown key is a ConfigError naming the closest valid key, in the caller spelling', () => {
    expect(() => normalizeGenerateOptions({ max_new_token: 5 })).toThrow(new ConfigError("generate: unknown option 'max_new_token'; did you mean 'max_new_tokens'?"));
    expect(() => normalizeGenerateOptions({ maxNewToken: 5 })).toThrow(/unknown option 'maxNewToken'; did you mean 'maxNewTokens'\?/);
    expect(() => normalizeGenerateOptions({ temprature: 0.5 })).toThrow(/did you mean 'temperature'/);
    expect(() => normalizeGenerateOptions({ maxNewTokens: 5, max_new_tokens: 6 })).toThrow(/given twice/);
    expect(() => normalizeGenerateOptions({ num_return_sequences: 4 })).toThrow(/numReturnSequences is 4; only 1 is supported/);
    expect(() => normalizeGenerateOptions({ num_beams: 0 })).toThrow(/numBeams is 0, expected an integer >= 1/);
    expect(normalizeGenerateOptions({ num_beams: 4, length_penalty: 0.5 })).toEqual({ numBeams: 4, lengthPenalty: 0.5 });
  });

  test('generate(..., { max_new_tokens: 5 }) makes 5 tokens (it made 50 before)', async () => {
    const model = new FakeCausalLM(flat(6), { vocabSize: 6 });
    const r = await generate(model, null, [1, 2], { max_new_tokens: 5 } as never);
    expect(r.tokenIds).toHaveLength(5);
    await expect(generate(model, null, [1], { max_new_token: 5 } as never)).rejects.toThrow(/did you mean 'max_new_tokens'/);
    model.dispose();
  });

  test('TextStreamer(tok, { skip_prompt: true }) does not print the prompt; unknown keys are refused', async () => {
    const printed: string[] = [];
    const streamer = new TextStreamer(letters, { skip_prompt: true, callback_function: (t: string) => printed.push(t) } as never);
    const model = new FakeCausalLM(scriptedLogits([2, 3, 4], 6, 2), { vocabSize: 6 });
    await generate(model, letters, 'ab', { maxNewTokens: 3, streamer });
    expect(printed.join('')).toBe('cde');
    expect(() => new TextStreamer(letters, { skip_promt: true } as never)).toThrow(/TextStreamer: unknown option 'skip_promt'; did you mean 'skip_prompt'\?/);
    const seen: (boolean | undefined)[] = [];
    const spy: TextTokenizer = { ...letters, decode: (ids, o) => (seen.push(o?.skipSpecialTokens), letters.decode(ids, o)) };
    const kw = new TextStreamer(spy, { decode_kwargs: { skip_special_tokens: false }, callback_function: () => undefined });
    kw.put([0]);
    kw.put([1]);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((v) => v === false)).toBe(true); // transformers.js's decode_kwargs reach decode
    expect(() => new TextStreamer(letters, { decode_kwargs: { skip_special_token: true } } as never)).toThrow(/decode_kwargs: unknown option 'skip_special_token'; did you mean 'skip_special_tokens'\?/);
    model.dispose();
  });
});

describe('generation_config.json defaults', () => {
  const config = { model_type: 'gpt2', vocab_size: 6, n_positions: 64, n_embd: 4, n_layer: 1, n_head: 1 };

  test('are parsed to camelCase and checked', () => {
    const gen = { bos_token_id: 1, do_sample: true, temperature: 0.8, top_k: 20, top_p: 0.9, max_new_tokens: 20, repetition_penalty: 1.1, transformers_version: '4.40' };
    expect(parseHFConfig(config, gen).generationDefaults).toEqual({ doSample: true, temperature: 0.8, topK: 20, topP: 0.9, maxNewTokens: 20, repetitionPenalty: 1.1 });
    expect(() => parseGenerationDefaults({ top_k: 'many' })).toThrow(/generation_config.json: "top_k" is "many", expected an integer >= 0/);
    expect(() => parseGenerationDefaults({ do_sample: 1 })).toThrow(/"do_sample" is 1, expected true or false/);
  });

  test('apply under the call options, as transformers does', () => {
    const info = { modelType: 'gpt2' as const, vocabSize: 6, maxPositions: 64, eosTokenIds: [], generationDefaults: { doSample: true, temperature: 0.8, topK: 20, maxNewTokens: 20 } };
    expect(resolveGenerateOptions(info, {})).toEqual({ doSample: true, temperature: 0.8, topK: 20, maxNewTokens: 20 });
    expect(resolveGenerateOptions(info, { max_new_tokens: 3, temperature: 1.5 })).toEqual({ doSample: true, temperature: 1.5, topK: 20, maxNewTokens: 3 });
    expect(resolveGenerateOptions(info, { greedy: true }).doSample).toBeUndefined();
    expect(resolveGenerateOptions(info, { doSample: false }).doSample).toBe(false);
  });

  test('a model whose config says do_sample samples without options; max_new_tokens caps it; greedy overrides', async () => {
    // uniform logits: greedy always gives id 0, sampling spreads over the 6 ids
    const model = new FakeCausalLM(flat(6), { vocabSize: 6, generationDefaults: { doSample: true, maxNewTokens: 30 } });
    const sampled = await generate(model, null, [1], { seed: 3 });
    expect(sampled.tokenIds).toHaveLength(30);
    expect(new Set(sampled.tokenIds).size).toBeGreaterThan(1);
    const greedy = await generate(model, null, [1], { greedy: true });
    expect(greedy.tokenIds).toEqual(new Array(30).fill(0));
    model.dispose();
  });
});

describe('the built-in names model', () => {
  test('its generation_config.json (do_sample, temperature 0.8, top_k 20, max_new_tokens 20) applies: names vary by seed, as the README promises', async () => {
    const file = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'models', 'builtin', 'generation_config.json'), 'utf8')) as Record<string, unknown>;
    const { model, tokenizer } = await loadBuiltinModel();
    try {
      expect(model.info.generationDefaults).toEqual(parseGenerationDefaults(file));
      expect(model.info.generationDefaults?.doSample).toBe(file['do_sample']);
      const names = new Set<string>();
      for (let seed = 1; seed <= 6; seed++) {
        const r = await generate(model, tokenizer, 'Ma', { seed });
        const same = await generate(model, tokenizer, 'Ma', { seed, doSample: true, temperature: file['temperature'] as number, topK: file['top_k'] as number, maxNewTokens: file['max_new_tokens'] as number });
        expect(r.tokenIds).toEqual(same.tokenIds); // the defaults are exactly the file's values
        names.add(r.text);
      }
      expect(names.size).toBeGreaterThan(1);
      const greedy = await generate(model, tokenizer, 'Ma', { do_sample: false } as never);
      const greedy2 = await generate(model, tokenizer, 'Ma', { greedy: true });
      expect(greedy.tokenIds).toEqual(greedy2.tokenIds);
    } finally {
      model.dispose();
    }
  });
});

describe('empty prompt', () => {
  test('starts from the BOS id, as transformers does', async () => {
    const model = new FakeCausalLM(scriptedLogits([4, 5], 6, 1), { vocabSize: 6, bosTokenId: 3 });
    const r = await generate(model, letters, '', { maxNewTokens: 2, addSpecialTokens: false });
    expect(model.forwardCalls[0]).toEqual([[3]]);
    expect(r.tokenIds).toEqual([4, 5]);
    model.dispose();
  });

  test('without a BOS id it is a ConfigError that says so', async () => {
    const model = new FakeCausalLM(flat(6), { vocabSize: 6 });
    await expect(generate(model, letters, '', { maxNewTokens: 2 })).rejects.toThrow(/the prompt has no tokens and the model has no bos_token_id/);
    model.dispose();
  });
});

describe('ban processors (transformers definitions)', () => {
  const scores = (): Float32Array => new Float32Array([1, 2, 3, 4, 5]);

  test('min_new_tokens: eos forbidden while fewer than N tokens follow the prompt', () => {
    const p = minNewTokensProcessor(2, 3, [4]);
    expect(Array.from(p(scores(), [0, 1, 2]))).toEqual([1, 2, 3, 4, -Infinity]);
    expect(Array.from(p(scores(), [0, 1, 2, 0]))).toEqual([1, 2, 3, 4, -Infinity]);
    expect(Array.from(p(scores(), [0, 1, 2, 0, 0]))).toEqual([1, 2, 3, 4, 5]);
  });

  test('no_repeat_ngram_size 2: after ...a b ... a, b is forbidden', () => {
    const p = noRepeatNgramProcessor(2);
    expect(Array.from(p(scores(), [0, 1, 3, 0]))).toEqual([1, -Infinity, 3, 4, 5]);
    // 3-grams: the last two ids (1, 2) were followed by 3 and by 4 earlier
    expect(Array.from(noRepeatNgramProcessor(3)(scores(), [1, 2, 3, 1, 2, 4, 1, 2]))).toEqual([1, 2, 3, -Infinity, -Infinity]);
    expect(Array.from(noRepeatNgramProcessor(3)(scores(), [1]))).toEqual([1, 2, 3, 4, 5]);
  });

  test('bad_words_ids: single ids always, longer sequences only after their prefix', () => {
    const p = badWordsProcessor([[2], [0, 3]]);
    expect(Array.from(p(scores(), [1]))).toEqual([1, 2, -Infinity, 4, 5]);
    expect(Array.from(p(scores(), [1, 0]))).toEqual([1, 2, -Infinity, -Infinity, 5]);
    expect(() => badWordsProcessor([[]])).toThrow(/badWordsIds\[0\]: expected a non-empty array/);
  });

  test('in generate: min_new_tokens delays eos, bad_words_ids and no_repeat_ngram_size steer greedy choices', async () => {
    // eos (id 5) is the top choice at every step, then id 1, then id 2
    const logits = (): Float32Array => new Float32Array([0, 3, 2, 1, 0, 9]);
    const model = new FakeCausalLM(logits, { vocabSize: 6, eosTokenIds: [5] });
    expect((await generate(model, null, [0], { maxNewTokens: 8 })).tokenIds).toEqual([5]);
    expect((await generate(model, null, [0], { max_new_tokens: 8, min_new_tokens: 3 } as never)).tokenIds).toEqual([1, 1, 1, 5]);
    expect((await generate(model, null, [0], { maxNewTokens: 8, minNewTokens: 3, badWordsIds: [[1]] })).tokenIds).toEqual([2, 2, 2, 5]);
    // no 2-gram twice: 0 1, 1 1, then 1 1 again is banned -> 2, then 2 1 is new
    expect((await generate(model, null, [0], { maxNewTokens: 4, minNewTokens: 4, noRepeatNgramSize: 2 })).tokenIds).toEqual([1, 1, 2, 1]);
    model.dispose();
  });
});
