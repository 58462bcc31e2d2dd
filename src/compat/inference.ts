/**
 * LOOM's WASM inference globals (LoadTokenizerFromBytes, EncodeText, DecodeTokens,
 * LoadTransformerFromBytes, GenerateNextToken, GenerateText) with their names, argument types and
 * JSON result shapes, over the typed API. Synchronous, like LOOM's, so its README snippet runs
 * unchanged. Behaviour is corrected where LOOM is wrong (transformer.md section 9): Hugging Face
 * tokenization, every supported architecture, temperature sampling, the whole context, a KV cache.
 *
 * Ref: loom-spec/api.md section 2 (rows LoadTokenizerFromBytes .. GenerateText), transformer.md 6-8.
 */
import { errorMessage } from '../core/errors';
import { Tokenizer } from '../../loaders/tokenizer';
import { goInt, goObject, marshalCompact, type GoValue } from '../../loaders/go_json';
import { parseHFConfig } from '../../loaders/hf_config';
import { SafetensorsFile } from '../../loaders/safetensors';
import { buildCausalLM } from '../transformer/architectures';
import type { DecoderLM } from '../transformer/model';
import type { CausalLM } from '../transformer/types';
import { buildLogitsProcessors } from '../generation/logits_processors';
import { DecodeSession, decodeStepSync } from '../generation/decode_step';
import { createRng, type Rng } from '../core/rng';

interface InferenceState {
  tokenizer: Tokenizer | null;
  model: DecoderLM | null;
  rng: Rng;
}

const state: InferenceState = { tokenizer: null, model: null, rng: createRng() };

/** A Go map as JSON: keys sorted, as `encoding/json` writes maps. */
function goMap(entries: Record<string, GoValue>): string {
  return marshalCompact(goObject(Object.keys(entries).sort().map((k) => [k, entries[k]] as const)));
}

/** LOOM's error convention B: `{"error":"<msg>","success":false}`. */
function fail(message: string): string {
  return goMap({ error: message, success: false });
}

function toBytes(v: unknown): Uint8Array | null {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (typeof v === 'string') return new TextEncoder().encode(v);
  return null;
}

function toIds(v: unknown): number[] | null {
  if (v === undefined || v === null || typeof v === 'string' || typeof (v as ArrayLike<number>).length !== 'number') return null;
  return Array.from(v as ArrayLike<number>, Number);
}

/**
 * Loads tokenizer.json bytes (optionally tokenizer_config.json bytes as a second argument, an
 * addition: it brings the eos token and the chat template).
 * @returns `{"message":"Tokenizer loaded successfully","success":true,"vocab_size":N}` or an error JSON.
 */
export function LoadTokenizerFromBytes(tokenizerJson?: unknown, tokenizerConfig?: unknown): string {
  if (tokenizerJson === undefined || tokenizerJson === null) return fail('Missing tokenizer data argument');
  const bytes = toBytes(tokenizerJson);
  if (!bytes) return fail(`Failed to load tokenizer: expected a Uint8Array of tokenizer.json, got ${typeof tokenizerJson}`);
  try {
    const configBytes = tokenizerConfig === undefined || tokenizerConfig === null ? undefined : toBytes(tokenizerConfig) ?? undefined;
    state.tokenizer = Tokenizer.fromJSON(bytes, configBytes);
  } catch (e) {
    return fail(`Failed to load tokenizer: ${errorMessage(e)}`);
  }
  return goMap({ message: 'Tokenizer loaded successfully', success: true, vocab_size: goInt(state.tokenizer.vocabSize) });
}

/**
 * Text to ids with the loaded tokenizer; unlike LOOM, `addSpecialTokens` is honoured (e.g. Llama's BOS).
 * @returns a `Uint32Array` of ids, or an error JSON string.
 */
export function EncodeText(text?: unknown, addSpecialTokens: boolean = true): Uint32Array | string {
  if (!state.tokenizer) return fail('Tokenizer not loaded');
  if (typeof text !== 'string') return fail('Missing text argument');
  try {
    return Uint32Array.from(state.tokenizer.encode(text, { addSpecialTokens: addSpecialTokens !== false }));
  } catch (e) {
    return fail(`Failed to encode text: ${errorMessage(e)}`);
  }
}

/**
 * Ids (Array or typed array) to text, mapping byte-level symbols and `▁` back to text.
 * @returns the plain text, or an error JSON string.
 */
export function DecodeTokens(ids?: unknown, skipSpecialTokens: boolean = true): string {
  const tok = state.tokenizer;
  if (!tok) return fail('Tokenizer not loaded');
  const list = toIds(ids);
  if (!list) return fail('Missing token IDs argument');
  const bad = list.find((id) => !Number.isInteger(id) || id < 0 || tok.idToToken(id) === undefined);
  if (bad !== undefined) return fail(`Token ID ${bad} out of range (vocab size: ${tok.vocabSize})`);
  return tok.decode(list, { skipSpecialTokens: skipSpecialTokens !== false });
}

/**
 * Loads a transformer from config.json and model.safetensors bytes (Llama, Mistral, Qwen2, GPT-2 and
 * GPT-NeoX naming), replacing the previous model.
 * @returns `{"embeddings_size":V*D,"hidden_size":D,"message":"Transformer loaded successfully","num_layers":L,"success":true,"vocab_size":V}` or an error JSON.
 */
export function LoadTransformerFromBytes(configBytes?: unknown, weightsBytes?: unknown): string {
  if (configBytes === undefined || configBytes === null || weightsBytes === undefined || weightsBytes === null) {
    return fail('Missing config or weights data');
  }
  const cfg = toBytes(configBytes);
  const weights = weightsBytes instanceof Uint8Array ? weightsBytes : weightsBytes instanceof ArrayBuffer ? new Uint8Array(weightsBytes) : null;
  if (!cfg || !weights) return fail('Failed to load transformer: expected two Uint8Array arguments (config.json, model.safetensors)');
  let config;
  try {
    config = parseHFConfig(JSON.parse(new TextDecoder().decode(cfg)));
  } catch (e) {
    return fail(`Failed to parse config: ${errorMessage(e)}`);
  }
  let file: SafetensorsFile;
  try {
    file = new SafetensorsFile(weights, 'model.safetensors');
  } catch (e) {
    return fail(`Failed to load safetensors: ${errorMessage(e)}`);
  }
  let model: DecoderLM;
  try {
    model = buildCausalLM(config, file);
  } catch (e) {
    return fail(`Failed to load transformer: ${errorMessage(e)}`);
  }
  state.model?.dispose();
  state.model = model;
  const { vocabSize, hiddenSize, numLayers } = model.config;
  return goMap({
    embeddings_size: goInt(vocabSize * hiddenSize),
    hidden_size: goInt(hiddenSize),
    message: 'Transformer loaded successfully',
    num_layers: goInt(numLayers),
    success: true,
    vocab_size: goInt(vocabSize),
  });
}

/** Checks ids against the model; returns an error message or null. */
function checkIds(model: CausalLM, ids: readonly number[]): string | null {
  const V = model.info.vocabSize;
  for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= V) return `Token ID ${id} out of range (vocab size: ${V})`;
  if (ids.length > model.info.maxPositions) return `Sequence of ${ids.length} tokens exceeds the model's ${model.info.maxPositions} positions`;
  return null;
}

/**
 * Generates up to `maxNew` tokens after `ids` with a KV cache (prefill once, then one token per step),
 * stopping after an eos id. Temperature <= 0 (or not finite) is greedy, else a draw from
 * softmax(logits / T) with the module's RNG. Synchronous: logits are read with `dataSync`.
 */
function generateSync(model: CausalLM, ids: readonly number[], maxNew: number, temperature: number): number[] {
  const out: number[] = [];
  const room = Math.min(maxNew, model.info.maxPositions - ids.length);
  if (room <= 0) return out;
  const eos = new Set(model.info.eosTokenIds);
  const sampling = temperature > 0 && Number.isFinite(temperature);
  const processors = buildLogitsProcessors(sampling ? { temperature } : {}, sampling);
  const session = new DecodeSession(model, ids, { processors, sampling, rng: state.rng, maxNewTokens: room });
  try {
    for (;;) {
      const id = decodeStepSync(session);
      out.push(id);
      if (eos.has(id) || out.length >= room) return out;
    }
  } finally {
    session.dispose();
  }
}

/**
 * The next token after `ids`, using the whole sequence (LOOM used only the last token) and sampling
 * at `temperature` (<= 0: greedy; LOOM always took the argmax, and 0 gave token 0).
 * @returns the token id as a number, or an error JSON string.
 */
export function GenerateNextToken(ids?: unknown, temperature: number = 0.7): number | string {
  const model = state.model;
  if (!model) return fail('Model not loaded');
  const list = toIds(ids);
  if (!list || list.length === 0) return fail('Missing token IDs argument');
  const bad = checkIds(model, list);
  if (bad) return fail(bad);
  try {
    return generateSync(model, list, 1, Number(temperature))[0] as number;
  } catch (e) {
    return fail(`Generation failed: ${errorMessage(e)}`);
  }
}

/**
 * Generates up to `maxTokens` tokens after `prompt` (encoded without special tokens, as LOOM does),
 * stopping after an eos id, sampling at `temperature` (<= 0: greedy).
 * @returns `{"generated_text":<prompt+continuation>,"num_tokens":<generated>,"success":true}` or an error JSON.
 */
export function GenerateText(prompt?: unknown, maxTokens?: unknown, temperature: number = 0.7): string {
  if (typeof prompt !== 'string' || maxTokens === undefined || maxTokens === null) return fail('Missing prompt or max_tokens argument');
  const tok = state.tokenizer;
  const model = state.model;
  if (!tok) return fail('Tokenizer not loaded');
  if (!model) return fail('Model not loaded');
  let ids: number[];
  try {
    ids = tok.encode(prompt, { addSpecialTokens: false });
  } catch (e) {
    return fail(`Failed to encode text: ${errorMessage(e)}`);
  }
  if (ids.length === 0) return fail('Empty input after tokenization');
  const bad = checkIds(model, ids);
  if (bad) return fail(bad);
  let generated: number[];
  try {
    generated = generateSync(model, ids, Math.max(0, Math.trunc(Number(maxTokens)) || 0), Number(temperature));
  } catch (e) {
    return fail(`Generation failed: ${errorMessage(e)}`);
  }
  const text = tok.decode([...ids, ...generated], { skipSpecialTokens: true });
  return goMap({ generated_text: text, num_tokens: goInt(generated.length), success: true });
}

/** Seeds the RNG that GenerateText / GenerateNextToken sample with (an addition; LOOM had none). */
export function SetGenerationSeed(seed: number): void {
  state.rng = createRng(seed);
}

/** Frees the loaded model and forgets the tokenizer. */
export function disposeInference(): void {
  state.model?.dispose();
  state.model = null;
  state.tokenizer = null;
}

/** The six LOOM inference globals, for installing on `globalThis`. */
export const inferenceGlobals = {
  LoadTokenizerFromBytes,
  EncodeText,
  DecodeTokens,
  LoadTransformerFromBytes,
  GenerateNextToken,
  GenerateText,
} as const;

/** Installs {@link inferenceGlobals} (and SetGenerationSeed) on `target` (default `globalThis`). */
export function installInferenceGlobals(target: object = globalThis): void {
  Object.assign(target, inferenceGlobals, { SetGenerationSeed });
}
