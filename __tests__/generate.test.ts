/**
 * generate(): cache use, greedy/sampling equivalences, stop ids and strings, streaming, abort, leaks.
 * The model is a fake CausalLM whose logits are known exactly (helpers/fake_causal_lm.ts); the
 * tokenizer is GPT-2's, so multi-byte characters really split across tokens.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadTokenizer, type Tokenizer } from '../loaders/tokenizer';
import {
  buildLogitsProcessors,
  createRng,
  DecodeSession,
  decodeStepSync,
  generate,
  generateStream,
  IncrementalDecoder,
  TextStreamer,
  type GenerateOptions,
  type TextTokenizer,
} from '../src/generation';
import { ConfigError } from '../src/core/errors';
import { FakeCausalLM, scriptedLogits, type LogitsFn } from './helpers/fake_causal_lm';
import { FIXTURES } from './helpers/fixtures';

const FIX = FIXTURES;
let gpt2: Tokenizer;
beforeAll(async () => {
  await tf.setBackend('cpu');
  gpt2 = await loadTokenizer(path.join(FIX, 'gpt2-tokenizer'));
});

const V = 50257;
const EOS = 50256;

/** A fixed pseudo-random table: logits depend on the last id only (a bigram model). */
function bigramLogits(vocab: number, seed: number): LogitsFn {
  return (ids) => {
    const rng = createRng(seed * 1_000_003 + (ids[ids.length - 1] as number));
    return Float32Array.from({ length: vocab }, () => (rng() * 2 - 1) * 4);
  };
}

/** Collects text pieces from the async iterator and its return value. */
async function collect(it: AsyncGenerator<string, Awaited<ReturnType<typeof generate>>>): Promise<{ pieces: string[]; result: Awaited<ReturnType<typeof generate>> }> {
  const pieces: string[] = [];
  for (;;) {
    const r = await it.next();
    if (r.done) return { pieces, result: r.value };
    pieces.push(r.value);
  }
}

describe('decoding loop', () => {
  it('prefills once, then feeds one token per step through the cache, and frees it', async () => {
    const model = new FakeCausalLM(bigramLogits(64, 1), { vocabSize: 64 });
    const before = tf.memory().numTensors;
    const r = await generate(model, null, [3, 4, 5], { maxNewTokens: 6 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.tokenIds).toHaveLength(6);
    expect(r.finishReason).toBe('length');
    expect(r.text).toBe('');
    expect(model.forwardCalls[0]).toEqual([[3, 4, 5]]);
    expect(model.forwardCalls.slice(1)).toEqual(r.tokenIds.slice(0, 5).map((id) => [[id]]));
    expect(model.caches).toHaveLength(1);
    expect(model.caches[0]?.maxLength).toBe(9);
    expect(model.caches[0]?.disposed).toBe(true);
    expect(r.stats.promptTokens).toBe(3);
    expect(r.stats.generatedTokens).toBe(6);
    expect(r.stats.prefillTokensPerSecond).toBeGreaterThan(0);
    expect(r.stats.decodeTokensPerSecond).toBeGreaterThan(0);
  });

  it('greedy follows the argmax of the full context logits', async () => {
    const logits = bigramLogits(50, 2);
    const model = new FakeCausalLM(logits, { vocabSize: 50 });
    const r = await generate(model, null, [7], { maxNewTokens: 8 });
    const expected: number[] = [];
    const ids = [7];
    for (let i = 0; i < 8; i++) {
      const l = Array.from(logits(ids));
      const next = l.indexOf(Math.max(...l));
      expected.push(next);
      ids.push(next);
    }
    expect(r.tokenIds).toEqual(expected);
  });

  it('temperature 0 and topK 1 equal greedy; the same seed gives the same ids', async () => {
    const run = (o: GenerateOptions): Promise<number[]> =>
      generate(new FakeCausalLM(bigramLogits(200, 3), { vocabSize: 200 }), null, [1, 2], { maxNewTokens: 12, ...o }).then((r) => r.tokenIds);
    const greedy = await run({});
    expect(await run({ temperature: 0 })).toEqual(greedy);
    expect(await run({ temperature: 0, topP: 0.5, seed: 4 })).toEqual(greedy);
    expect(await run({ topK: 1, temperature: 1.7, seed: 5 })).toEqual(greedy);
    expect(await run({ greedy: true, temperature: 1.2 })).toEqual(greedy);
    const a = await run({ temperature: 1.5, seed: 123 });
    expect(await run({ temperature: 1.5, seed: 123 })).toEqual(a);
    expect(a).not.toEqual(greedy);
    expect(await run({ temperature: 1.5, seed: 124 })).not.toEqual(a);
  });

  it('repetition penalty counts prompt tokens', async () => {
    // Token 5 is always best by a small margin; a penalty over the prompt [5] moves greedy to token 6.
    const logits: LogitsFn = () => Float32Array.from({ length: 10 }, (_, i) => (i === 5 ? 2 : i === 6 ? 1.9 : 0));
    const r1 = await generate(new FakeCausalLM(logits, { vocabSize: 10 }), null, [5], { maxNewTokens: 1 });
    const r2 = await generate(new FakeCausalLM(logits, { vocabSize: 10 }), null, [5], { maxNewTokens: 1, repetitionPenalty: 1.2 });
    expect([r1.tokenIds, r2.tokenIds]).toEqual([[5], [6]]);
  });

  it('stops on the model eos id by default, on overridden ids, and stops at the context size', async () => {
    const script = [10, 11, 12, 13, 14, 15];
    const mk = (eos: number[], maxPositions = 1024): FakeCausalLM => new FakeCausalLM(scriptedLogits(script, 20, 2), { vocabSize: 20, eosTokenIds: eos, maxPositions });
    let r = await generate(mk([12]), null, [0, 1], { maxNewTokens: 10 });
    expect([r.tokenIds, r.finishReason]).toEqual([[10, 11, 12], 'stop']);
    r = await generate(mk([12]), null, [0, 1], { maxNewTokens: 10, stopTokenIds: [14] });
    expect([r.tokenIds, r.finishReason]).toEqual([[10, 11, 12, 13, 14], 'stop']);
    r = await generate(mk([], 5), null, [0, 1], { maxNewTokens: 10 });
    expect([r.tokenIds, r.finishReason]).toEqual([[10, 11, 12], 'length']);
    await expect(generate(mk([], 2), null, [0, 1], { maxNewTokens: 1 })).rejects.toThrow(ConfigError);
  });

  it('rejects bad prompts and options with typed errors', async () => {
    const model = new FakeCausalLM(bigramLogits(10, 1), { vocabSize: 10 });
    await expect(generate(model, null, [10])).rejects.toThrow(/prompt id 10 at index 0/);
    await expect(generate(model, null, 'text')).rejects.toThrow(/needs a tokenizer/);
    await expect(generate(model, null, [1], { maxNewTokens: -1 })).rejects.toThrow(ConfigError);
    await expect(generate(model, null, [1], { topP: 2 })).rejects.toThrow(/topP/);
    await expect(generate(model, null, [1], { temperature: -1 })).rejects.toThrow(/temperature/);
    expect(model.caches.every((c) => c.disposed)).toBe(true);
  });
});

describe('text, streaming and stop strings (GPT-2 tokenizer)', () => {
  const TEXT = ' Hello 🦙 world, café! 東京 is here.\nDone 😀😀 end';
  const scripted = (prompt: number[], extra: number[] = []): FakeCausalLM =>
    new FakeCausalLM(scriptedLogits([...gpt2.encode(TEXT), ...extra], V, prompt.length, EOS), { vocabSize: V, eosTokenIds: [EOS] });

  it('streamed pieces concatenate to the returned text; no piece splits a character', async () => {
    const prompt = gpt2.encode('Say:');
    const { pieces, result } = await collect(generateStream(scripted(prompt), gpt2, 'Say:', { maxNewTokens: 100 }));
    expect(result.text).toBe(TEXT);
    expect(result.finishReason).toBe('stop');
    expect(result.tokenIds).toEqual([...gpt2.encode(TEXT), EOS]);
    expect(pieces.join('')).toBe(TEXT);
    for (const p of pieces) expect(p).not.toContain('\uFFFD');
    // the llama emoji is 4 tokens in GPT-2's vocabulary: the stream waited for all of them
    expect(gpt2.encode(' 🦙').length).toBeGreaterThan(1);
    expect(pieces.some((p) => p.includes('🦙'))).toBe(true);
  });

  it('onToken reports every token; TextStreamer prints the same text', async () => {
    const events: Array<{ tokenId: number; index: number; text: string }> = [];
    const printed: string[] = [];
    const streamer = new TextStreamer(gpt2, { skipPrompt: true, callback: (t) => printed.push(t) });
    const r = await generate(scripted(gpt2.encode('Say:')), gpt2, 'Say:', { maxNewTokens: 100, onToken: (e) => events.push(e), streamer });
    expect(events.map((e) => e.tokenId)).toEqual(r.tokenIds);
    expect(events.map((e) => e.index)).toEqual(r.tokenIds.map((_, i) => i));
    expect(events.map((e) => e.text).join('')).toBe(TEXT);
    expect(printed.join('')).toBe(TEXT);
    for (const p of printed) expect(p).not.toContain('\uFFFD');
  });

  it.each([['world'], ['東京'], ['😀'], ['\nDone'], ['end'], ['ll']])('stop string %j cuts the text exactly before it', async (stop) => {
    const prompt = gpt2.encode('Say:');
    const { pieces, result } = await collect(generateStream(scripted(prompt), gpt2, prompt, { maxNewTokens: 100, stopStrings: ['never-there', stop] }));
    const cut = TEXT.indexOf(stop);
    expect(result.text).toBe(TEXT.slice(0, cut));
    expect(pieces.join('')).toBe(TEXT.slice(0, cut));
    expect(result.finishReason).toBe('stop');
    // generation ended with the token that completed the stop string
    expect(gpt2.decode(result.tokenIds)).toContain(stop);
    expect(gpt2.decode(result.tokenIds.slice(0, -1))).not.toContain(TEXT.slice(0, cut + stop.length));
  });

  it('a stop string spanning several tokens, and length ends keep the whole text', async () => {
    const r = await generate(scripted([1]), gpt2, [1], { maxNewTokens: 3, stopStrings: ['zzz'] });
    expect(r.finishReason).toBe('length');
    expect(r.text).toBe(gpt2.decode(gpt2.encode(TEXT).slice(0, 3)));
    const r2 = await generate(scripted([1]), gpt2, [1], { maxNewTokens: 100, stopStrings: ['café! 東'] });
    expect(r2.text).toBe(' Hello 🦙 world, ');
  });

  it('chat messages go through the chat template with the generation prompt', async () => {
    const tok = Object.create(gpt2) as Tokenizer;
    let seen: unknown = null;
    tok.applyChatTemplate = ((messages: unknown, options: unknown) => {
      seen = { messages, options };
      return [1, 2, 3];
    }) as Tokenizer['applyChatTemplate'];
    const model = scripted([1, 2, 3]);
    const r = await generate(model, tok, [{ role: 'user', content: 'hi' }], { maxNewTokens: 2 });
    expect(seen).toEqual({ messages: [{ role: 'user', content: 'hi' }], options: { addGenerationPrompt: true } });
    expect(model.forwardCalls[0]).toEqual([[1, 2, 3]]);
    expect(r.text).toBe(gpt2.decode(gpt2.encode(TEXT).slice(0, 2))); // ' Hello' + the first byte of the emoji
  });
});

describe('SentencePiece byte fallback (Llama 2 tokenizer)', () => {
  it('streams byte-fallback characters whole; pieces concatenate to the text', async () => {
    const llama = await loadTokenizer(path.join(FIX, 'llama2-spm-tokenizer'));
    const text = 'Hi 🦙 there 東京, ok';
    const script = llama.encode(text, { addSpecialTokens: false });
    const prompt = llama.encode('Q:');
    const model = new FakeCausalLM(scriptedLogits(script, 32000, prompt.length, 2), { vocabSize: 32000, eosTokenIds: [2] });
    const { pieces, result } = await collect(generateStream(model, llama, 'Q:', { maxNewTokens: 50 }));
    expect(result.text).toBe(text);
    expect(result.finishReason).toBe('stop');
    expect(pieces.join('')).toBe(text);
    expect(pieces).toContain('🦙'); // four <0xNN> tokens, released together
    for (const p of pieces) expect(p).not.toContain('\uFFFD');
  });
});

/** Wraps a tokenizer and records how many ids each decode call received. */
function countingTokenizer(tok: Tokenizer): { tok: TextTokenizer; sizes: number[] } {
  const sizes: number[] = [];
  const wrapped: TextTokenizer = {
    encode: (text, o) => tok.encode(text, o),
    decode: (ids, o) => {
      sizes.push(ids.length);
      return tok.decode(ids, o);
    },
    applyChatTemplate: (m, o) => tok.applyChatTemplate(m, o),
    eosTokenId: tok.eosTokenId,
  };
  return { tok: wrapped, sizes };
}

/** Pushes ids one at a time and collects every stable piece plus the flush. */
function streamPieces(tok: TextTokenizer, ids: readonly number[], skipSpecialTokens = true): string[] {
  const d = new IncrementalDecoder(tok, skipSpecialTokens);
  const pieces: string[] = [];
  for (const id of ids) {
    d.push(id);
    const p = d.take();
    if (p) pieces.push(p);
  }
  const rest = d.flush();
  if (rest) pieces.push(rest);
  return pieces;
}

describe('windowed incremental decoding', () => {
  const MULTI = 'Ünïcödé 🦙🦙 東京タワー, 😀 naïve café — ñandú 한국어 ✓ ';

  it('a long generation of multi-byte tokens: pieces concatenate to the full decode, each decode sees a small window', () => {
    const ids = gpt2.encode(MULTI.repeat(60));
    expect(ids.length).toBeGreaterThan(2000);
    const { tok, sizes } = countingTokenizer(gpt2);
    const pieces = streamPieces(tok, ids);
    expect(pieces.join('')).toBe(gpt2.decode(ids, { skipSpecialTokens: true }));
    for (const p of pieces) expect(p).not.toContain('\uFFFD');
    // windowed: no decode call re-reads the sequence, and the total work is linear in its length
    expect(Math.max(...sizes)).toBeLessThanOrEqual(12);
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThan(10 * ids.length);
  });

  it('SentencePiece (Strip decoder, byte fallback, lone spaces, skipped specials) keeps every space', async () => {
    const llama = await loadTokenizer(path.join(FIX, 'llama2-spm-tokenizer'));
    const base = llama.encode('Hi  🦙 there 東京,   ok\n x', { addSpecialTokens: false });
    // lone '▁' tokens (decoded alone: ''), byte-fallback emoji, and special tokens mid-sequence
    const ids = [1, ...base, 2, 1, ...base, ...base, 2];
    for (const skip of [true, false]) {
      const { tok, sizes } = countingTokenizer(llama);
      const pieces = streamPieces(tok, ids, skip);
      expect(pieces.join('')).toBe(llama.decode(ids, { skipSpecialTokens: skip }));
      for (const p of pieces) expect(p).not.toContain('\uFFFD');
      expect(Math.max(...sizes)).toBeLessThan(ids.length);
    }
  });

  it('a TextStreamer in a long generate decodes in windows and prints the returned text', async () => {
    const script = gpt2.encode(MULTI.repeat(20));
    const model = new FakeCausalLM(scriptedLogits(script, V, 1, EOS), { vocabSize: V, eosTokenIds: [EOS] });
    const { tok, sizes } = countingTokenizer(gpt2);
    const printed: string[] = [];
    const streamer = new TextStreamer(tok, { skipPrompt: true, callback: (t) => printed.push(t) });
    const r = await generate(model, tok, [1], { maxNewTokens: script.length + 5, streamer });
    expect(r.finishReason).toBe('stop');
    expect(r.text).toBe(MULTI.repeat(20));
    expect(printed.join('')).toBe(r.text);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(12);
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThan(20 * script.length);
  });
});

describe('DecodeSession (the step shared by generate and the synchronous facade)', () => {
  it('decodeStepSync gives the ids generate gives for the same options and seed', async () => {
    const options = { temperature: 1.4, topK: 40, topP: 0.9, repetitionPenalty: 1.3 };
    const logits = bigramLogits(300, 6);
    const r = await generate(new FakeCausalLM(logits, { vocabSize: 300 }), null, [4, 5], { ...options, maxNewTokens: 15, seed: 21 });
    const model = new FakeCausalLM(logits, { vocabSize: 300 });
    const before = tf.memory().numTensors;
    const session = new DecodeSession(model, [4, 5], { processors: buildLogitsProcessors(options, true), sampling: true, rng: createRng(21), maxNewTokens: 15 });
    const ids: number[] = [];
    try {
      while (ids.length < 15) ids.push(decodeStepSync(session));
    } finally {
      session.dispose();
    }
    expect(ids).toEqual(r.tokenIds);
    expect(session.ids).toEqual([4, 5, ...ids]);
    expect(model.forwardCalls).toEqual([[[4, 5]], ...ids.slice(0, 14).map((id) => [[id]])]);
    expect(model.caches.map((c) => [c.maxLength, c.disposed])).toEqual([[17, true]]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('abort', () => {
  it('stops within one token with finishReason abort and no leaked tensors', async () => {
    const controller = new AbortController();
    const model = new FakeCausalLM(bigramLogits(100, 9), { vocabSize: 100 });
    const before = tf.memory().numTensors;
    const r = await generate(model, null, [1, 2], {
      maxNewTokens: 50,
      signal: controller.signal,
      onToken: (e) => {
        if (e.index === 2) controller.abort();
      },
    });
    expect(r.finishReason).toBe('abort');
    expect(r.tokenIds).toHaveLength(3);
    expect(model.forwardCalls).toHaveLength(3);
    expect(model.caches[0]?.disposed).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('an abort from a timer lands between tokens; an aborted signal generates nothing', async () => {
    const controller = new AbortController();
    const slow: LogitsFn = (ids) => {
      const end = Date.now() + 2;
      while (Date.now() < end); // 2 ms per forward
      return bigramLogits(100, 1)(ids);
    };
    const models = [new FakeCausalLM(slow, { vocabSize: 100 }), new FakeCausalLM(slow, { vocabSize: 100 })] as const;
    const before = tf.memory().numTensors;
    setTimeout(() => controller.abort(), 15);
    const r = await generate(models[0], null, [1], { maxNewTokens: 10000, signal: controller.signal });
    expect(r.finishReason).toBe('abort');
    expect(r.tokenIds.length).toBeGreaterThan(0);
    expect(r.tokenIds.length).toBeLessThan(200);
    const model = models[1];
    const r2 = await generate(model, null, [1], { signal: AbortSignal.abort() });
    expect([r2.finishReason, r2.tokenIds, model.forwardCalls.length]).toEqual(['abort', [], 0]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('breaking out of the stream frees the cache', async () => {
    const model = new FakeCausalLM(scriptedLogits(gpt2.encode(' a b c d e f g'), V, 1), { vocabSize: V });
    for await (const piece of generateStream(model, gpt2, [1], { maxNewTokens: 20 })) {
      if (piece.includes('b')) break;
    }
    expect(model.caches[0]?.disposed).toBe(true);
  });
});
