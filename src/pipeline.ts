/**
 * transformers.js's `pipeline('text-generation', model, { dtype, device })` over loom-tfjs:
 * the result is an async function `generator(input, options)` returning
 * `[{ generated_text }]`: the prompt plus its continuation for text (`return_full_text: false`
 * for the continuation alone), the message list plus the assistant's reply for chat messages.
 * Options take transformers.js's snake_case names (or camelCase); unknown keys are refused
 * naming the closest valid one.
 * Ref: transformers.js `TextGenerationPipeline` (src/pipelines.js).
 */
import { BACKEND_NAMES, useBackend, type BackendName } from './backends';
import type { WeightDtype } from './kernels/quantize';
import { ConfigError } from './core/errors';
import { normalizeOptionKeys, type WithSnakeCase } from './core/option_keys';
import { generate, type GenerateOptions } from './generation/generate';
import { normalizeGenerateOptions } from './generation/options';
import type { ChatMessage } from './generation/types';
import { loadCausalLM } from '../loaders/pretrained';
import { loadTokenizer, type Tokenizer } from '../loaders/tokenizer';
import type { DecoderLM } from './transformer/model';
import type { ProgressCallback } from '../loaders/byte_source';

/** Weight storage {@link pipeline} can use: 'auto' (the checkpoint's own, fp32 for float files) or a kernel dtype. */
export const PIPELINE_DTYPES = ['auto', 'fp32', 'bf16', 'q8', 'q4'] as const satisfies readonly ('auto' | WeightDtype)[];

/** Options of {@link pipeline} (transformers.js names; camelCase accepted too). */
export interface PipelineOptions {
  /** `'auto'` (default), `'fp32'`, or `'bf16'` / `'q8'` / `'q4'` storage on the wasm kernels (loadCausalLM's `dtype`). */
  dtype?: (typeof PIPELINE_DTYPES)[number];
  /** Backend to run on: `'cpu'`, `'wasm'`, `'webgpu'` (sets the global tfjs backend), or `'auto'` (leave it). */
  device?: BackendName | 'auto';
  /** Load progress (transformers.js's `progress_callback`). */
  progressCallback?: ProgressCallback;
}

/** One result of a {@link TextGenerationPipeline} call. */
export interface TextGenerationOutput {
  /** Text input: prompt + continuation (or the continuation alone); chat input: messages + the reply. */
  generated_text: string | ChatMessage[];
}

/** Call-time options of a {@link TextGenerationPipeline}: generation options plus `returnFullText`. */
export interface TextGenerationCallOptions extends GenerateOptions {
  /** Text input: include the prompt in `generated_text` (default true, as transformers.js). */
  returnFullText?: boolean;
}

/** The function {@link pipeline} returns, with the model and tokenizer it owns. */
export interface TextGenerationPipeline {
  (input: string | readonly ChatMessage[], options?: WithSnakeCase<TextGenerationCallOptions>): Promise<TextGenerationOutput[]>;
  readonly task: 'text-generation';
  readonly model: DecoderLM;
  readonly tokenizer: Tokenizer;
  /** Frees the model's tensors. */
  dispose(): Promise<void>;
}

const PIPELINE_KEYS = ['dtype', 'device', 'progressCallback'] as const satisfies readonly (keyof PipelineOptions)[];

function isMessages(input: unknown): input is readonly ChatMessage[] {
  return Array.isArray(input) && input.every((m) => typeof m === 'object' && m !== null && typeof (m as ChatMessage).role === 'string');
}

/**
 * Loads a text-generation pipeline from a checkpoint folder (path or URL) with its tokenizer files.
 * @throws ConfigError for a task other than 'text-generation', an unknown option, a dtype or
 *   device it cannot honour; the loaders' errors for a broken checkpoint.
 */
export async function pipeline(task: 'text-generation', model: string | URL, options: WithSnakeCase<PipelineOptions> = {}): Promise<TextGenerationPipeline> {
  if (task !== 'text-generation') throw new ConfigError(`pipeline: task '${String(task)}' is not supported, expected 'text-generation'`);
  const o = normalizeOptionKeys(options, { keys: PIPELINE_KEYS, where: 'pipeline' }) as PipelineOptions;
  const dtype = o.dtype ?? 'auto';
  if (!(PIPELINE_DTYPES as readonly string[]).includes(dtype)) {
    throw new ConfigError(`pipeline: dtype '${String(dtype)}' is not supported, expected one of ${PIPELINE_DTYPES.join(', ')}`);
  }
  const device = o.device ?? 'auto';
  if (device !== 'auto') {
    if (!BACKEND_NAMES.includes(device)) throw new ConfigError(`pipeline: device '${String(device)}' is not supported, expected 'auto' or one of ${BACKEND_NAMES.join(', ')}`);
    await useBackend(device);
  }
  const tokenizer = await loadTokenizer(model);
  const lm = await loadCausalLM(model, {
    ...(o.progressCallback ? { onProgress: o.progressCallback } : {}),
    ...(dtype !== 'auto' ? { dtype: dtype as WeightDtype } : {}),
  });

  const run = async (input: string | readonly ChatMessage[], callOptions: WithSnakeCase<TextGenerationCallOptions> = {}): Promise<TextGenerationOutput[]> => {
    const raw = callOptions as Record<string, unknown>;
    const fullText = raw['returnFullText'] ?? raw['return_full_text'] ?? true;
    const options = normalizeGenerateOptions(omitReturnFullText(callOptions), 'text-generation');
    if (typeof input === 'string') {
      const r = await generate(lm, tokenizer, input, options);
      return [{ generated_text: fullText ? input + r.text : r.text }];
    }
    if (!isMessages(input)) throw new ConfigError('text-generation: input must be a string or a list of { role, content } messages');
    const r = await generate(lm, tokenizer, input, options);
    return [{ generated_text: [...input.map((m) => ({ ...m })), { role: 'assistant', content: r.text }] }];
  };
  return Object.assign(run, {
    task: 'text-generation' as const,
    model: lm,
    tokenizer,
    dispose: async (): Promise<void> => lm.dispose(),
  });
}

/** The call options without `returnFullText` / `return_full_text` (generation's own keys only). */
function omitReturnFullText(options: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) if (k !== 'returnFullText' && k !== 'return_full_text') out[k] = v;
  return out;
}
