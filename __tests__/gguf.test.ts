/**
 * GGUF: files written by saveGGUF load back with the logits of the safetensors copy (F32: 1e-5
 * relative, F16/BF16: equal to the safetensors copy stored in the same dtype), Q8_0/Q4_0 raw
 * blocks dequantized in float64 here match the originals within half a quantization step and drive
 * an independent float64 forward (helpers/decoder_f64.ts) to our logits; tokenizers round-trip;
 * malformed files give GgufError with nothing allocated.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadCausalLM, resolvePretrained } from '../loaders/pretrained';
import { loadTokenizer, Tokenizer } from '../loaders/tokenizer';
import { SafetensorsFile, saveSafetensors, type TensorToSave } from '../loaders/safetensors';
import { ggufCheckpoint, GgufFile, GgufWeights } from '../loaders/gguf';
import { ggufBytes, saveGGUF, type GgufWriteType } from '../loaders/gguf_writer';
import { ggufTokenizerFiles } from '../loaders/gguf_tokenizer';
import { tokenizerMetadata } from '../loaders/gguf_tokenizer_write';
import { GgufError } from '../src/core/errors';
import { builtinModelPath } from '../src/builtin_model';
import { parseHFConfig } from '../loaders/hf_config';
import { llamaReference } from './helpers/decoder_f64';
import { tinyCheckpoint, TINY, type TinyKind } from './helpers/tiny_checkpoints';
import { bufferIO } from './helpers/cli_io';
import { runCli } from '../src/cli/main';

const IDS = [1, 5, 9, 14, 20, 7, 33, 2];

async function logits(source: Parameters<typeof loadCausalLM>[0]): Promise<Float32Array> {
  const model = await loadCausalLM(source);
  try {
    const out = model.forward([IDS], { allPositions: true }); // (1, S, V)
    const data = out.dataSync() as Float32Array;
    out.dispose();
    return data;
  } finally {
    model.dispose();
  }
}

/** max |a - b| / max |b|, Infinity for any non-finite value. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!) || !Number.isFinite(b[i]!)) return Infinity;
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

function tinyGguf(kind: TinyKind, type: GgufWriteType = 'F32'): { bytes: Uint8Array; st: ReturnType<typeof tinyCheckpoint> } {
  const st = tinyCheckpoint(kind);
  const config = parseHFConfig(st.config);
  return { bytes: ggufBytes({ config, weights: new SafetensorsFile(st.weights) }, { type }), st };
}

describe('GGUF', () => {
  let tmp: string;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-gguf-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  beforeEach(async () => {
    await tf.setBackend('cpu'); // runCli switches to wasm
  });

  test.each(['llama', 'qwen2', 'gpt2', 'gpt_neox'] as const)('%s: F32 GGUF gives the safetensors logits (1e-5 relative)', async (kind) => {
    const { bytes, st } = tinyGguf(kind);
    const before = tf.memory().numTensors;
    const ref = await logits({ config: st.config, weights: st.weights });
    const got = await logits(bytes);
    expect(relErr(got, ref)).toBeLessThan(1e-5);
    expect(tf.memory().numTensors).toBe(before);
  });

  test.each(['F16', 'BF16'] as const)('llama %s GGUF equals the safetensors copy stored in that dtype', async (type) => {
    const { bytes, st } = tinyGguf('llama', type);
    const rounded: Record<string, TensorToSave> = {};
    for (const [n, t] of Object.entries(st.tensors)) rounded[n] = { ...t, dtype: t.shape.length === 2 ? type : 'F32' };
    const ref = await logits({ config: st.config, weights: saveSafetensors(rounded) });
    expect(Array.from(await logits(bytes))).toEqual(Array.from(ref));
  });

  test('the built-in model: saveGGUF(folder) loads by path with the same logits and the same tokenizer', async () => {
    const file = path.join(tmp, 'builtin.gguf');
    await saveGGUF(builtinModelPath(), file);
    expect(relErr(await logits(file), await logits(builtinModelPath()))).toBeLessThan(1e-5);
    const [a, b] = [await loadTokenizer(file), await loadTokenizer(builtinModelPath())];
    for (const s of ['Mary-Jane', "O'Neil Zoe", 'anna']) {
      expect(a.encode(s)).toEqual(b.encode(s));
      expect(a.decode(a.encode(s), { skipSpecialTokens: true })).toBe(b.decode(b.encode(s), { skipSpecialTokens: true }));
    }
    expect(a.bosTokenId).toBe(b.bosTokenId);
    expect(a.eosTokenId).toBe(b.eosTokenId);
    expect(a.chatTemplate).toBe(b.chatTemplate);
    const cli = bufferIO();
    expect(await runCli(['info', file], cli.io)).toBe(0);
    expect(cli.stdout()).toMatch(/GGUF v3[\s\S]*architecture: llama -> llama[\s\S]*vocab 59[\s\S]*tokenizer: gpt2, 59 tokens, chat template/);
    // GGUF v2 has the same layout for these types: the reader takes it too
    const v2 = new Uint8Array(fs.readFileSync(file));
    new DataView(v2.buffer).setUint32(4, 2, true);
    expect(relErr(await logits(v2), await logits(builtinModelPath()))).toBeLessThan(1e-5);
    // and over HTTP, by URL
    const server = http.createServer((req, res) => {
      const body = fs.readFileSync(file);
      if (req.url === '/m/builtin.gguf') res.writeHead(200, { 'content-length': String(body.byteLength) }).end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/m/builtin.gguf`;
      expect(relErr(await logits(url), await logits(builtinModelPath()))).toBeLessThan(1e-5);
      expect((await loadTokenizer(url)).encode('Zoe')).toEqual(b.encode('Zoe'));
    } finally {
      server.close();
    }
    const { config } = await resolvePretrained(file);
    expect(config).toMatchObject({ modelType: 'llama', vocabSize: 59, numLayers: 2, bosTokenId: 1, eosTokenIds: [2], qkvBias: true, mlpBias: true });
  });

  test('loom convert: HF folder -> GGUF (--type) and GGUF -> HF folder, same logits and tokenizer', async () => {
    const gguf = path.join(tmp, 'conv.gguf');
    const dir = path.join(tmp, 'conv_hf');
    const cli = bufferIO();
    expect(await runCli(['convert', '--from', builtinModelPath(), '--to', gguf, '--type', 'Q8_0'], cli.io)).toBe(0);
    expect(await runCli(['convert', '--from', gguf, '--to', dir], cli.io)).toBe(0);
    expect(cli.stdout()).toMatch(/Q8_0[\s\S]*config.json, model.safetensors, generation_config.json, tokenizer.json, tokenizer_config.json/);
    expect(Array.from(await logits(dir))).toEqual(Array.from(await logits(gguf)));
    expect((await loadTokenizer(dir)).encode('Mary-Jane')).toEqual((await loadTokenizer(builtinModelPath())).encode('Mary-Jane'));
    const bad = bufferIO();
    expect(await runCli(['convert', '--from', builtinModelPath(), '--to', gguf, '--type', 'Q5_K'], bad.io)).toBe(2);
    expect(bad.stderr()).toMatch(/--type Q5_K: expected one of F32, F16, BF16, Q8_0, Q4_0/);
  });

  test.each(['Q8_0', 'Q4_0'] as const)('llama %s: raw blocks in kernel layout, within half a step of the originals, float64 forward agrees', async (type) => {
    const { bytes, st } = tinyGguf('llama', type);
    const { weights } = ggufCheckpoint(new GgufFile(bytes));
    const original = new SafetensorsFile(st.weights);
    const deq = new Map<string, Float64Array>();
    for (const name of original.names) {
      const q = (weights as GgufWeights).getQuantized(name);
      const o = original.get(name);
      if (o.shape.length === 1) {
        expect(q).toBeUndefined();
        continue;
      }
      expect(q?.kind).toBe(type === 'Q8_0' ? 'q8' : 'q4');
      const [n, k] = o.shape as [number, number];
      expect(q!.shape).toEqual([n, k]);
      const nb = k / 32;
      expect(q!.scales.length).toBe(n * nb);
      const w = new Float64Array(n * k);
      let worst = 0; // error / allowed, over the matrix
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < k; c++) {
          const b = Math.floor(c / 32);
          const d = q!.scales[r * nb + b]!;
          let v: number;
          if (q!.kind === 'q8') v = q!.quants[r * k + c]! * d;
          else {
            const j = c % 32;
            const byte = q!.blocks[(r * nb + b) * 16 + (j % 16)]!;
            v = ((j < 16 ? byte & 15 : byte >> 4) - 8) * d;
          }
          w[r * k + c] = v;
          // round to nearest: half a step (Q8_0: d = amax/127), a full step at Q4_0's clamped top (d = max/-8),
          // plus the float16 rounding of d times the largest quant (127 or 8)
          const allowed = Math.abs(d) * (type === 'Q8_0' ? 0.5 + 127 * 2 ** -11 : 1 + 8 * 2 ** -11) + 1e-7;
          worst = Math.max(worst, Math.abs(v - o.data[r * k + c]!) / allowed);
        }
      }
      expect(worst).toBeLessThanOrEqual(1);
      // the float32 path decodes the same values
      expect(Array.from(weights.get(name).data)).toEqual(Array.from(w, Math.fround));
      deq.set(name, w);
    }
    const get = (nm: string): Float64Array => deq.get(nm) ?? Float64Array.from(original.get(nm).data);
    const { d, heads, kvHeads, headDim, layers, vocab, inner } = TINY;
    const ref = llamaReference(get, {
      d, heads, kvHeads, headDim, layers, vocab, inner, eps: 1e-6, invFreq: Array.from({ length: headDim / 2 }, (_, i) => 1 / 50 ** ((2 * i) / headDim)),
      qkvBias: false, oBias: false, tied: false,
    }, IDS);
    expect(relErr(await logits(bytes), ref)).toBeLessThan(1e-5);
  });

  test('tokenizers: byte-level BPE and SentencePiece round-trip through tokenizer.ggml.* metadata', () => {
    const bytesVocab: Record<string, number> = {};
    const chars = ['<|endoftext|>', ...'abcdefghijklmnopqrstuvwxyz', 'Ġ', 'Ġt', 'th', 'the', 'Ġthe', 'er', 'in'];
    chars.forEach((c, i) => (bytesVocab[c] = i));
    const bpe = Tokenizer.fromVocabAndMerges(bytesVocab, ['Ġ t', 't h', 'th e', 'Ġt he', 'e r', 'i n'], { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', chat_template: '{{ messages[0].content }}' });
    const spVocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
    for (let b = 0; b < 256; b++) spVocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
    ['▁', 'a', 'b', 'e', 'h', 't', '▁t', 'he', '▁the', 'ab', '▁a'].forEach((t) => (spVocab[t] = Object.keys(spVocab).length));
    const spJson = {
      version: '1.0', truncation: null, padding: null,
      added_tokens: [0, 1, 2].map((id) => ({ id, content: ['<unk>', '<s>', '</s>'][id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      pre_tokenizer: null,
      post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }], pair: [], special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } } },
      decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
      model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab: spVocab,
        merges: [['▁', 't'], ['h', 'e'], ['▁t', 'he'], ['a', 'b'], ['▁', 'a']] },
    };
    const sp = Tokenizer.fromJSON(spJson, { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' });
    const cases: [Tokenizer, Record<string, unknown>, Record<string, unknown>][] = [
      [bpe, byteLevelJson(bytesVocab), { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', chat_template: '{{ messages[0].content }}' }],
      [sp, spJson, { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' }],
    ];
    for (const [orig, json, cfg] of cases) {
      const meta = new Map(tokenizerMetadata(json, cfg).map((e) => [e.key, e.value as never]));
      const files = ggufTokenizerFiles(meta);
      const back = Tokenizer.fromJSON(files.tokenizerJson, files.tokenizerConfig);
      for (const s of ['the theater', 'in the  bath', 'ab é!', '']) {
        expect(back.encode(s)).toEqual(orig.encode(s));
        expect(back.decode(back.encode(s))).toBe(orig.decode(orig.encode(s)));
      }
      expect(back.vocabSize).toBe(orig.vocabSize);
    }
  });

  describe('bad input: typed errors, nothing allocated', () => {
    const good = (): Uint8Array => tinyGguf('llama').bytes.slice();
    const expectBad = async (bytes: Uint8Array, pattern: RegExp): Promise<void> => {
      const before = tf.memory().numTensors;
      const p = loadCausalLM(bytes);
      await expect(p).rejects.toBeInstanceOf(GgufError);
      await expect(loadCausalLM(bytes)).rejects.toThrow(pattern);
      expect(tf.memory().numTensors).toBe(before);
    };
    const find = (bytes: Uint8Array, s: string, from = 0): number => Buffer.from(bytes).indexOf(Buffer.from(s), from);

    test('truncated files', async () => {
      const b = good();
      for (const cut of [3, 10, 30, 200, Math.floor(b.byteLength / 2), b.byteLength - 1]) await expectBad(b.subarray(0, cut), /truncated|needs|runs past|magic/);
    });

    test('lying counts and offsets, unknown quant type, unsupported K-quant, 2^40-byte string', async () => {
      const count = good();
      new DataView(count.buffer).setBigUint64(8, 1_000_000n, true); // tensor count
      await expectBad(count, /tensor infos/);
      const kv = good();
      new DataView(kv.buffer).setBigUint64(16, 2n ** 50n, true); // metadata count
      await expectBad(kv, /metadata entries/);
      // the tensor info of output_norm.weight: name, n_dims u32, ne u64, type u32, offset u64
      const at = (b: Uint8Array): number => find(b, 'output_norm.weight', find(b, 'tokenizer.ggml')) + 'output_norm.weight'.length;
      const off = good();
      new DataView(off.buffer).setBigUint64(at(off) + 4 + 8 + 4, 1n << 40n, true);
      await expectBad(off, /runs past the data section/);
      const mis = good();
      new DataView(mis.buffer).setBigUint64(at(mis) + 4 + 8 + 4, 4n, true);
      await expectBad(mis, /alignment/);
      const unknown = good();
      new DataView(unknown.buffer).setUint32(at(unknown) + 4 + 8, 99, true);
      await expectBad(unknown, /unknown ggml type 99/);
      const kq = good();
      const q = find(kq, 'blk.0.attn_q.weight', find(kq, 'tokenizer.ggml')) + 'blk.0.attn_q.weight'.length;
      new DataView(kq.buffer).setUint32(q + 4 + 16, 12, true); // Q4_K: row length 64 is not a multiple of 256
      await expectBad(kq, /block size 256/);
      // a metadata string claiming 2^40 bytes
      const h = new Uint8Array(64);
      const dv = new DataView(h.buffer);
      dv.setUint32(0, 0x46554747, true);
      dv.setUint32(4, 3, true);
      dv.setBigUint64(8, 0n, true);
      dv.setBigUint64(16, 1n, true);
      dv.setBigUint64(24, 2n ** 40n, true);
      await expectBad(h, /claiming 1099511627776 bytes/);
      // an array of strings claiming 2^40 elements: refused before anything is allocated
      dv.setBigUint64(24, 1n, true);
      h[32] = 0x6b; // key "k"
      dv.setUint32(33, 9, true); // ARRAY
      dv.setUint32(37, 8, true); // of STRING
      dv.setBigUint64(41, 2n ** 40n, true);
      await expectBad(h, /an array claiming 1099511627776 elements/);
      h.fill(0, 4, 8);
      dv.setUint32(4, 1, true);
      await expectBad(h, /version 1 is not supported/);
    });

    test('K-quants: Q4_K/Q5_K/Q6_K load (dequantized), Q2_K is refused by name', async () => {
      const st = tinyCheckpoint('llama', 7, TINY.vocab, { d: 256, inner: 512, layers: 1 });
      const config = parseHFConfig(st.config);
      const random = (type: string, size: number) => (_n: string, ne: readonly number[]) => {
        if (ne.length !== 2) return undefined;
        const bytes = new Uint8Array(((ne[0]! * ne[1]!) / 256) * size);
        for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + 11) & 0xff;
        for (let b = 0; b < bytes.length; b += size) bytes.set([0x00, 0x10, 0x00, 0x10], type === 'Q6_K' ? b + size - 4 : b); // small float16 scales
        return { type, bytes };
      };
      for (const [type, size] of [['Q4_K', 144], ['Q5_K', 176], ['Q6_K', 210]] as const) {
        const bytes = ggufBytes({ config, weights: new SafetensorsFile(st.weights) }, { encodeTensor: random(type, size) });
        const { weights } = ggufCheckpoint(new GgufFile(bytes));
        expect(weights.ggufTensor('model.layers.0.mlp.down_proj.weight')?.type.name).toBe(type);
        expect(weights.getQuantized('model.layers.0.mlp.down_proj.weight')).toBeUndefined();
        expect((await logits(bytes)).every(Number.isFinite)).toBe(true);
      }
      await expectBad(ggufBytes({ config, weights: new SafetensorsFile(st.weights) }, { encodeTensor: random('Q2_K', 84) }), /Q2_K is not supported, expected F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K or Q6_K/);
    });

    test('a tokenizer that does not match the vocabulary, an unknown architecture', async () => {
      const st = tinyCheckpoint('llama');
      const config = parseHFConfig(st.config);
      const vocab: Record<string, number> = {};
      for (let i = 0; i < TINY.vocab - 1; i++) vocab[`t${i}`] = i;
      const tokenizerJson = { model: { type: 'BPE', vocab, merges: [] }, pre_tokenizer: { type: 'ByteLevel' }, added_tokens: [] };
      await expectBad(ggufBytes({ config, weights: new SafetensorsFile(st.weights), tokenizer: { tokenizerJson } }), /95 tokens, token_embd.weight has 96 rows/);
      const arch = good();
      const a = find(arch, 'llama');
      arch.set(new TextEncoder().encode('llamb'), a);
      await expectBad(arch, /architecture "llamb" is not supported/);
    });
  });
});

/** tokenizer.json of a byte-level BPE, as Tokenizer.fromVocabAndMerges builds it (GPT2Converter). */
function byteLevelJson(vocab: Record<string, number>): Record<string, unknown> {
  const bl = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0', added_tokens: [{ id: 0, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null, pre_tokenizer: bl, post_processor: { ...bl, trim_offsets: false }, decoder: bl,
    model: { type: 'BPE', vocab, merges: ['Ġ t', 't h', 'th e', 'Ġt he', 'e r', 'i n'], continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false },
  };
}
