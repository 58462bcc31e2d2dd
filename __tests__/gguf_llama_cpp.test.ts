/**
 * GGUF against llama.cpp itself (node-llama-cpp 3.21.1, its prebuilt CPU binary, run in a child
 * process by helpers/llama_cpp_probs.mjs): the files saveGGUF writes (F32, Q8_0, Q4_0) load in
 * llama.cpp, its next-token distributions after every prefix agree with ours on the same file, and
 * its tokenizer splits text as ours does. Skips only when node-llama-cpp is not installed.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadTokenizer } from '../loaders/tokenizer';
import { SafetensorsFile } from '../loaders/safetensors';
import { ggufBytes, saveGGUF, type GgufWriteType } from '../loaders/gguf_writer';
import { parseHFConfig } from '../loaders/hf_config';
import { floatToHalf } from '../loaders/gguf_quant';
import { builtinModelPath } from '../src/builtin_model';
import { tinyCheckpoint, TINY, type TinyKind } from './helpers/tiny_checkpoints';
import { argmax, llamaCppInstalled, ourProbs, runLlamaCpp, type Job, type LlamaCppOut } from './helpers/llama_cpp';

const HAVE = llamaCppInstalled();
if (!HAVE) console.log('gguf_llama_cpp.test.ts skipped: node-llama-cpp is not installed (cd /work/main && npm i --no-save -E node-llama-cpp@3.21.1)');
const maybe = HAVE ? describe : describe.skip;

/** A byte-level tokenizer.json for the tiny model: <pad> <s> </s> then 93 single printable characters. */
function tinyTokenizer(): { tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown> } {
  const vocab: Record<string, number> = { '<pad>': 0, '<s>': 1, '</s>': 2 };
  for (let c = 33; Object.keys(vocab).length < TINY.vocab; c++) vocab[String.fromCharCode(c)] = Object.keys(vocab).length;
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const bl = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    tokenizerJson: {
      version: '1.0', added_tokens: [special(0, '<pad>'), special(1, '<s>'), special(2, '</s>')], normalizer: null, pre_tokenizer: bl,
      post_processor: { ...bl, trim_offsets: false }, decoder: bl, model: { type: 'BPE', vocab, merges: [], fuse_unk: false, byte_fallback: false },
    },
    tokenizerConfig: { bos_token: '<s>', eos_token: '</s>', pad_token: '<pad>' },
  };
}

/**
 * A SentencePiece-style tokenizer.json (transformers' LlamaConverter layout: Prepend/Replace
 * normalizer, byte fallback, merges) of `size` ids: <unk> <s> </s>, 256 byte tokens, then pieces.
 */
function sentencePieceTokenizer(size: number): { tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown> } {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  const merges: [string, string][] = [['▁', 't'], ['h', 'e'], ['▁t', 'he'], ['i', 'n'], ['▁', 'a'], ['e', 'r'], ['a', 't'], ['▁', 'w'], ['o', 'r'], ['▁w', 'or']];
  for (const c of ['▁', ...'abcdefghijklmnopqrstuvwxyz']) vocab[c] = Object.keys(vocab).length;
  for (const [l, r] of merges) vocab[l + r] = Object.keys(vocab).length;
  for (let i = 0; Object.keys(vocab).length < size; i++) vocab[`▁x${i}`] = Object.keys(vocab).length;
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    tokenizerJson: {
      version: '1.0', added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      pre_tokenizer: null,
      post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [], special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } } },
      decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
      model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges },
    },
    tokenizerConfig: { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' },
  };
}

/** K-quant layouts (ggml-quants.c): block bytes and where the float16 scales sit, with small values so weights stay near 0.05. */
const K_BLOCKS: Readonly<Record<string, { bytes: number; halves: readonly [number, number][] }>> = {
  Q4_K: { bytes: 144, halves: [[0, 1e-4], [2, 1e-4]] },
  Q5_K: { bytes: 176, halves: [[0, 5e-5], [2, 1e-4]] },
  Q6_K: { bytes: 210, halves: [[208, 3e-5]] },
};

/** An encodeTensor hook writing seeded random (valid) K-quant blocks for every matrix whose rows are 256-multiples. */
function randomKQuant(type: string, seed: number): (name: string, ne: readonly number[]) => { type: string; bytes: Uint8Array } | undefined {
  let s = seed;
  const { bytes: size, halves } = K_BLOCKS[type]!;
  return (_name, ne) => {
    if (ne.length !== 2 || ne[0]! % 256 !== 0) return undefined;
    const blocks = (ne[0]! * ne[1]!) / 256;
    const out = new Uint8Array(blocks * size);
    for (let i = 0; i < out.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[i] = s >>> 24;
    }
    const dv = new DataView(out.buffer);
    for (let b = 0; b < blocks; b++) for (const [at, v] of halves) dv.setUint16(b * size + at, floatToHalf(v), true);
    return { type, bytes: out };
  };
}

maybe('GGUF files we write, run by llama.cpp (node-llama-cpp)', () => {
  const IDS = [1, 40, 7, 66, 13, 90, 22, 5, 51, 3];
  const TEXTS = ['Mary-Jane', "O'Neil", 'Zoe Anna'];
  const SP_TEXTS = ['the theater', 'hello world', 'a bat in the water', 'Zürich 42', '  two  spaces'];
  let tmp: string;
  let builtinIds: number[];
  const theirs = new Map<string, LlamaCppOut>();
  const file = (name: string): string => path.join(tmp, `${name}.gguf`);

  beforeAll(async () => {
    await tf.setBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-llamacpp-'));
    const jobs: (Job & { name: string })[] = [];
    for (const [kind, type] of [['llama', 'F32'], ['llama', 'Q8_0'], ['llama', 'Q4_0'], ['qwen2', 'F32'], ['gpt2', 'F32'], ['gpt_neox', 'F32']] as [TinyKind, GgufWriteType][]) {
      const st = tinyCheckpoint(kind);
      const name = `${kind}_${type}`;
      fs.writeFileSync(file(name), ggufBytes({ config: parseHFConfig(st.config), weights: new SafetensorsFile(st.weights), tokenizer: tinyTokenizer() }, { type }));
      jobs.push({ name, file: file(name), ids: IDS });
    }
    for (const type of Object.keys(K_BLOCKS)) {
      const kq = tinyCheckpoint('llama', 7, TINY.vocab, { d: 256, inner: 512, layers: 1 });
      fs.writeFileSync(file(`llama_${type}`), ggufBytes({ config: parseHFConfig(kq.config), weights: new SafetensorsFile(kq.weights), tokenizer: tinyTokenizer() }, { encodeTensor: randomKQuant(type, 5) }));
      jobs.push({ name: `llama_${type}`, file: file(`llama_${type}`), ids: IDS });
    }
    const sp = tinyCheckpoint('llama', 7, 320);
    fs.writeFileSync(file('sentencepiece'), ggufBytes({ config: parseHFConfig(sp.config), weights: new SafetensorsFile(sp.weights), tokenizer: sentencePieceTokenizer(320) }));
    jobs.push({ name: 'sentencepiece', file: file('sentencepiece'), ids: [1, 290, 300, 4, 77], texts: SP_TEXTS });
    await saveGGUF(builtinModelPath(), file('builtin'));
    builtinIds = (await loadTokenizer(file('builtin'))).encode('Christopher');
    jobs.push({ name: 'builtin', file: file('builtin'), ids: builtinIds, texts: TEXTS });
    runLlamaCpp(jobs, tmp).forEach((r, i) => theirs.set(jobs[i]!.name, r));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** max |p_llama.cpp - p_ours| over every prefix; greedy choices compared where the top two are apart by more than 2 tol. */
  async function compare(name: string, ids: number[], tol: number): Promise<number> {
    const ours = await ourProbs(file(name), ids);
    const vocab = ours[0]!.length;
    let worst = 0;
    ids.forEach((_, t) => {
      const p = new Float64Array(vocab);
      for (const [id, prob] of theirs.get(name)!.probs[t]!) p[id] = prob;
      for (let i = 0; i < vocab; i++) worst = Math.max(worst, Math.abs(p[i]! - ours[t]![i]!));
      const sorted = [...ours[t]!].sort((a, b) => b - a);
      if (sorted[0]! - sorted[1]! > 2 * tol) expect(argmax(p)).toBe(argmax(ours[t]!));
    });
    return worst;
  }

  // llama F32 / qwen2: measured 1e-7. Q8_0 / Q4_0: measured 5e-3, because llama.cpp's CPU matmul
  // quantizes the activations to Q8_0 before the dot product (we multiply float32 activations by
  // the dequantized blocks). gpt2 / gpt_neox: measured 4e-4 / 1.6e-4: llama.cpp's CPU GELU reads a
  // float16 table of the tanh form (GGML_GELU_FP16), and GPT-NeoX's HF 'gelu' is the exact erf form.
  test.each([
    ['llama_F32', 1e-5],
    ['llama_Q8_0', 1e-2],
    ['llama_Q4_0', 1e-2],
    ['qwen2_F32', 1e-5],
    ['gpt2_F32', 2e-3],
    ['gpt_neox_F32', 2e-3],
    // K-quants (random blocks): measured 1.5e-4 / 2.3e-4 / 1.1e-3; llama.cpp multiplies Q8_K-quantized
    // activations (one scale per 256 values) by the blocks, we dequantize them exactly (bit-exact with
    // ggml's dequantize_row_*, gguf_ggml_dequant.test.ts)
    ['llama_Q4_K', 1e-3],
    ['llama_Q5_K', 1e-3],
    ['llama_Q6_K', 3e-3],
  ] as const)('tiny %s: llama.cpp next-token distributions agree with ours (max |dp| < %s), same greedy choices', async (name, tol) => {
    expect(await compare(name, IDS, tol)).toBeLessThan(tol);
    // not a near-uniform distribution, which would agree whatever the weights
    expect(Math.max(...(await ourProbs(file(name), IDS)).map((p) => Math.max(...p)))).toBeGreaterThan(0.05);
  });

  test('the built-in model (attention and MLP biases): same distributions (max |dp| < 1e-5) and the same tokenization', async () => {
    const tok = await loadTokenizer(file('builtin'));
    expect(theirs.get('builtin')!.tokenized).toEqual(TEXTS.map((s) => tok.encode(s, { addSpecialTokens: false })));
    expect(await compare('builtin', builtinIds, 1e-5)).toBeLessThan(1e-5); // measured 6.4e-7
  });

  test('a SentencePiece (llama) vocabulary: llama.cpp tokenizes as our tokenizer of the same file', async () => {
    const tok = await loadTokenizer(file('sentencepiece'));
    const ours = SP_TEXTS.map((t) => tok.encode(t, { addSpecialTokens: false }));
    expect(theirs.get('sentencepiece')!.tokenized).toEqual(ours);
    expect(ours[0]!.length).toBeLessThan(SP_TEXTS[0]!.length); // merges were applied, not only characters
    expect(await compare('sentencepiece', [1, 290, 300, 4, 77], 1e-5)).toBeLessThan(1e-5);
  });
});
