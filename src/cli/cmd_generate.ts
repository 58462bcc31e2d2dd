/**
 * `loom generate`: text generation with a Hugging Face checkpoint folder, streamed to stdout or
 * printed as one JSON object.
 */
import { parseArgs } from 'node:util';
import { UsageError, type CliCommand, type CliIO } from './command';
import { backendFlag, dtypeFlag, modelDirFlag, numberFlag, parseIdList } from './flags';
import { loadTokenizer, type Tokenizer } from '../../loaders/tokenizer';
import { loadCausalLM } from '../../loaders/pretrained';
import { useBackend } from '../backends';
import { TokenizerError } from '../core/errors';
import { generateStream, type GenerateInput, type GenerateOptions, type GenerateResult } from '../generation';
import { builtinModelPath } from '../builtin_model';
import { downloadProgress } from './progress';

const USAGE = `usage: loom generate [--model DIR] [--prompt TEXT | --prompt-ids 1,2,3] [--chat]
                     [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--min-p P]
                     [--repetition-penalty R] [--seed S] [--greedy] [--stop TEXT]...
                     [--backend cpu|wasm|webgpu] [--dtype fp32|bf16|q8|q4] [--json]

Generates text with the checkpoint in DIR (config.json + model.safetensors; tokenizer files
are needed for text prompts and text output). Sampling follows the checkpoint's
generation_config.json (do_sample, temperature, top_k, ..., as transformers does; without one:
greedy); the flags override it, and --temperature 0 or --greedy force greedy.

  --chat          treat --prompt as a user message and apply the tokenizer's chat template
  --stop TEXT     end when TEXT appears (repeatable); the text is cut before it
  --dtype D       weight storage on the wasm kernels: fp32 (default), bf16, q8 or q4 (quantized at load)
  --json          print {"ids": [generated ids], "text": ..., "finishReason": ..., "stats": {...}}
                  instead of streaming text (works without tokenizer files with --prompt-ids)`;

async function tokenizerOf(dir: string): Promise<Tokenizer | null> {
  try {
    return await loadTokenizer(dir);
  } catch (e) {
    if (e instanceof TokenizerError && /no tokenizer files found/.test(e.message)) return null;
    throw e;
  }
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      prompt: { type: 'string' },
      'prompt-ids': { type: 'string' },
      chat: { type: 'boolean' },
      'max-new-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      'min-p': { type: 'string' },
      'repetition-penalty': { type: 'string' },
      seed: { type: 'string' },
      greedy: { type: 'boolean' },
      stop: { type: 'string', multiple: true },
      backend: { type: 'string' },
      dtype: { type: 'string' },
      json: { type: 'boolean' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.model === undefined) {
    // the built-in names model: a bare `loom generate` makes up a name (its tokenizer adds <s>)
    values.model = builtinModelPath();
    if (values.prompt === undefined && values['prompt-ids'] === undefined) values.prompt = '';
  }
  values.model = modelDirFlag(values.model);
  if ((values.prompt === undefined) === (values['prompt-ids'] === undefined)) throw new UsageError('give exactly one of --prompt, --prompt-ids');
  if (values.chat && values.prompt === undefined) throw new UsageError('--chat needs --prompt');
  const backend = backendFlag(values.backend);
  const dtype = dtypeFlag(values.dtype);
  const options: GenerateOptions = {
    maxNewTokens: numberFlag(values['max-new-tokens'], '--max-new-tokens', { integer: true, positive: true }),
    temperature: numberFlag(values.temperature, '--temperature'),
    topK: numberFlag(values['top-k'], '--top-k', { integer: true }),
    topP: numberFlag(values['top-p'], '--top-p'),
    minP: numberFlag(values['min-p'], '--min-p'),
    repetitionPenalty: numberFlag(values['repetition-penalty'], '--repetition-penalty'),
    seed: numberFlag(values.seed, '--seed'),
    greedy: values.greedy ?? false,
    stopStrings: values.stop ?? [],
  };
  for (const k of Object.keys(options) as Array<keyof GenerateOptions>) if (options[k] === undefined) delete options[k];
  const input: GenerateInput =
    values['prompt-ids'] !== undefined
      ? parseIdList(values['prompt-ids'], '--prompt-ids')
      : values.chat
        ? [{ role: 'user', content: values.prompt as string }]
        : (values.prompt as string);

  if (backend !== undefined) await useBackend(backend);
  const tokenizer = await tokenizerOf(values.model);
  if (!tokenizer && typeof input === 'string') throw new Error(`${values.model}: no tokenizer files (tokenizer.json or vocab.json + merges.txt); use --prompt-ids`);
  if (!tokenizer && !values.json) throw new Error(`${values.model}: no tokenizer files, so no text to stream; use --json for ids`);
  const model = await loadCausalLM(values.model, { ...(dtype ? { dtype } : {}), onProgress: downloadProgress(io) });
  try {
    const it = generateStream(model, tokenizer, input, options);
    let result: GenerateResult;
    for (;;) {
      const r = await it.next();
      if (r.done) {
        result = r.value;
        break;
      }
      if (!values.json) io.stdout(r.value);
    }
    if (values.json) {
      io.stdout(JSON.stringify({ ids: result.tokenIds, text: result.text, finishReason: result.finishReason, stats: result.stats }) + '\n');
    } else {
      const s = result.stats;
      io.stdout('\n');
      io.stderr(
        `[${result.finishReason}] ${s.promptTokens} prompt tokens (${s.prefillTokensPerSecond.toFixed(1)} tok/s), ` +
          `${s.generatedTokens} generated (${s.decodeTokensPerSecond.toFixed(1)} tok/s)\n`,
      );
    }
    return 0;
  } finally {
    model.dispose();
  }
}

/** `loom generate`. */
export const generateCommand: CliCommand = { name: 'generate', summary: 'generate text with a Hugging Face checkpoint folder', usage: USAGE, run };
