/**
 * Seeded fuzz cases for every parser (LOOM JSON, safetensors, config.json, tokenizer.json): each
 * case mutates a valid file with a seeded RNG, feeds it to the parser and, when accepted, uses the
 * result (forward pass, tensor decode, encode). The outcome says whether the library kept its
 * promise: accepted with finite output, or a typed LoomError; anything else is a finding.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { LoomError } from '../src/core/errors';
import { createRng } from '../src/core/rng';
import { buildNetworkFromJSON, loadModelFromString, saveModelToString } from '../loaders/loom_json';
import { SafetensorsFile, saveSafetensors } from '../loaders/safetensors';
import { parseHFConfig } from '../loaders/hf_config';
import { loadTokenizer } from '../loaders/tokenizer';
import { DisposeNetwork, LoadModelFromString } from '../src/compat/index';

/** Error texts that mean an internal error leaked through the facade's `{"error": ...}` strings. */
const INTERNAL_ERROR = /Maximum call stack|is not a function|Cannot read propert|Invalid typed array length|is not iterable|undefined is not|null is not/;

/** The parsers fuzzed. */
export const FUZZ_PARSERS = ['loom_json', 'facade', 'safetensors', 'config', 'tokenizer'] as const;
/** One parser's name. */
export type FuzzParser = (typeof FUZZ_PARSERS)[number];

/** What one case did. `hang` and `crash` are decided by the watching parent. */
export type FuzzOutcome = 'accepted' | 'typed' | 'untyped' | 'nonfinite' | 'leak' | 'hang' | 'crash';

/** Outcomes that are findings (the library broke its promise). */
export const FINDINGS: readonly FuzzOutcome[] = ['untyped', 'nonfinite', 'leak', 'hang', 'crash'];

/** Values that broke parsers before (sizes, ranges, nesting). */
const HOSTILE = ['-2', '0', '1e9', '2147483648', '1099511627776', '1e300', '1e-45', '-1e-300', '3.5e38', 'null', 'true', '"M"', '[]', '{}', '[[[[[[[[[[1]]]]]]]]]]', '-0', '65536', '4294967297'];

type Rand = () => number;

function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** A mutated copy of JSON text: numbers replaced by hostile values, bytes flipped, cut, nested. */
export function mutateText(text: string, r: Rand): string {
  let t = text;
  const n = 1 + Math.floor(r() * 3);
  for (let m = 0; m < n; m++) {
    const kind = Math.floor(r() * 6);
    if (kind <= 2) {
      const nums = [...t.matchAll(/-?\d+(\.\d+)?(e-?\d+)?/g)];
      if (nums.length === 0) continue;
      const at = pick(r, nums);
      t = t.slice(0, at.index) + pick(r, HOSTILE) + t.slice(at.index! + at[0].length);
    } else if (kind === 3) {
      const i = Math.floor(r() * t.length);
      t = t.slice(0, i) + String.fromCharCode(32 + Math.floor(r() * 95)) + t.slice(i + 1);
    } else if (kind === 4) {
      t = t.slice(0, Math.floor(r() * t.length));
    } else {
      const depth = pick(r, [10, 100, 5000]);
      const nums = [...t.matchAll(/\d+/g)];
      if (nums.length === 0) continue;
      const at = pick(r, nums);
      t = t.slice(0, at.index) + '['.repeat(depth) + at[0] + ']'.repeat(depth) + t.slice(at.index! + at[0].length);
    }
  }
  return t;
}

/** A mutated copy of binary data: flipped bytes, cut, header length or digits changed. */
export function mutateBytes(bytes: Uint8Array, r: Rand): Uint8Array {
  let b: Uint8Array = bytes.slice();
  const headerEnd = 8 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  const kind = Math.floor(r() * 5);
  if (kind === 0) b[Math.floor(r() * b.byteLength)] = Math.floor(r() * 256);
  else if (kind === 1) b = b.subarray(0, Math.floor(r() * b.byteLength));
  else if (kind === 2) new DataView(b.buffer).setUint32(0, headerEnd - 8 + pick(r, [-1, 1, -8, 8, 1000]), true);
  else if (kind === 3) {
    const text = mutateText(new TextDecoder().decode(b.subarray(8, headerEnd)), r);
    const json = new TextEncoder().encode(text);
    const out = new Uint8Array(8 + json.byteLength + b.byteLength - headerEnd);
    new DataView(out.buffer).setUint32(0, json.byteLength, true);
    out.set(json, 8);
    out.set(b.subarray(headerEnd), 8 + json.byteLength);
    b = out;
  } else {
    // A non-finite float in the data section.
    const at = headerEnd + 4 * Math.floor(r() * ((b.byteLength - headerEnd) / 4));
    if (at + 4 <= b.byteLength) new DataView(b.buffer).setFloat32(at, pick(r, [NaN, Infinity, -Infinity]), true);
  }
  return b;
}

interface Bases {
  bundle: string;
  safetensors: Uint8Array;
  config: string;
  tokenizer: string | null;
}

let bases: Bases | null = null;

function baseFiles(): Bases {
  if (bases) return bases;
  const net = buildNetworkFromJSON(
    JSON.stringify({
      batch_size: 1, grid_rows: 1, grid_cols: 1, layers_per_cell: 3,
      layers: [
        { type: 'dense', activation: 'tanh', input_height: 4, output_height: 4 },
        { type: 'parallel', combine_mode: 'add', branches: [{ type: 'dense', input_height: 4, output_height: 4 }, { type: 'dense', input_height: 4, output_height: 4 }] },
        { type: 'softmax', softmax_variant: 'temperature', temperature: 0.5, input_height: 4, output_height: 4 },
      ],
    }),
  );
  let s = 7;
  net.initializeWeights(() => ((s = (s * 16807) % 2147483647) / 2147483647));
  const bundle = saveModelToString(net, 'fuzz');
  net.dispose();
  const safetensors = saveSafetensors({
    'model.a.weight': { shape: [3, 4], data: new Float32Array(12).fill(0.5) },
    'model.b': { shape: [5], data: new Int32Array([1, 2, 3, 4, 5]) },
    'model.c': { shape: [2, 2], data: new Float32Array([1, -2, 3, -4]), dtype: 'BF16' },
  }, { format: 'pt' });
  const config = JSON.stringify({
    model_type: 'llama', vocab_size: 32, hidden_size: 16, num_attention_heads: 4, num_key_value_heads: 2,
    num_hidden_layers: 2, intermediate_size: 24, max_position_embeddings: 128, rms_norm_eps: 1e-6,
    rope_theta: 10000, rope_scaling: { rope_type: 'linear', factor: 2 }, eos_token_id: 2,
  });
  const tokPath = path.join(__dirname, '..', 'models', 'builtin', 'tokenizer.json');
  const tokenizer = fs.existsSync(tokPath) ? fs.readFileSync(tokPath, 'utf8') : null;
  bases = { bundle, safetensors, config, tokenizer };
  return bases;
}

function finite(xs: ArrayLike<number>): boolean {
  for (let i = 0; i < xs.length; i++) if (!Number.isFinite(xs[i]!)) return false;
  return true;
}

/** Runs case `index` of `parser` under `seed`; returns its outcome and, for findings, a detail line. */
export async function runFuzzCase(parser: FuzzParser, seed: number, index: number): Promise<{ outcome: FuzzOutcome; detail?: string }> {
  const r = createRng(seed * 1_000_003 + index);
  const b = baseFiles();
  const before = tf.memory().numTensors;
  let ok = true;
  try {
    if (parser === 'loom_json') {
      const net = loadModelFromString(mutateText(b.bundle, r));
      try {
        ok = finite(net.forward(new Float32Array(4).fill(0.3)));
      } finally {
        net.dispose();
      }
    } else if (parser === 'facade') {
      const obj = LoadModelFromString(mutateText(b.bundle, r), 'fuzz');
      if (typeof obj === 'string') {
        const msg = String((JSON.parse(obj) as { error?: unknown }).error);
        if (INTERNAL_ERROR.test(msg)) return { outcome: 'untyped', detail: msg.slice(0, 200) };
        if (tf.memory().numTensors !== before) return { outcome: 'leak', detail: `${tf.memory().numTensors - before} tensors after ${msg.slice(0, 100)}` };
        return { outcome: 'typed' };
      }
      try {
        const out = JSON.parse((obj['ForwardCPU'] as (a: string) => string)(JSON.stringify([[0.3, 0.3, 0.3, 0.3]]))) as unknown;
        const values = Array.isArray(out) && Array.isArray(out[0]) ? (out[0] as number[]) : null;
        if (!values) {
          const msg = String((out as { error?: unknown }).error ?? JSON.stringify(out).slice(0, 200));
          if (INTERNAL_ERROR.test(msg)) return { outcome: 'untyped', detail: msg.slice(0, 200) };
        } else ok = finite(values);
      } finally {
        DisposeNetwork(obj);
      }
    } else if (parser === 'safetensors') {
      const f = new SafetensorsFile(mutateBytes(b.safetensors, r));
      for (const n of f.names) ok = finite(f.get(n).data) && ok;
    } else if (parser === 'config') {
      const c = parseHFConfig(JSON.parse(mutateText(b.config, r)) as unknown);
      ok = [c.hiddenSize, c.intermediateSize, c.headDim, c.vocabSize, c.norm.eps, c.rope?.theta ?? 1].every(Number.isFinite);
    } else {
      if (!b.tokenizer) return { outcome: 'accepted' };
      const tok = await loadTokenizer({ tokenizerJson: mutateText(b.tokenizer, r) });
      const ids = tok.encode('Anna and Bob');
      ok = ids.every((x) => Number.isInteger(x));
      tok.decode(ids);
    }
  } catch (e) {
    if (tf.memory().numTensors !== before) return { outcome: 'leak', detail: `${tf.memory().numTensors - before} tensors after ${String(e)}` };
    if (e instanceof LoomError) return { outcome: 'typed' };
    if (e instanceof SyntaxError && parser === 'config') return { outcome: 'typed' }; // the harness's own JSON.parse
    return { outcome: 'untyped', detail: e instanceof Error ? `${e.name}: ${e.message.slice(0, 200)}` : String(e) };
  }
  if (tf.memory().numTensors !== before) return { outcome: 'leak', detail: `${tf.memory().numTensors - before} tensors` };
  return ok ? { outcome: 'accepted' } : { outcome: 'nonfinite', detail: 'accepted input gave a non-finite value' };
}
