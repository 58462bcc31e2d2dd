/**
 * `loom chat`: an interactive chat with a Hugging Face checkpoint folder. Each line on stdin is a
 * user message; the reply streams to stdout; the whole conversation (history) is rendered with
 * the tokenizer's chat template for every turn. Works with piped stdin (one message per line).
 */
import * as fs from 'fs';
import * as readline from 'readline';
import { parseArgs } from 'node:util';
import { UsageError, type CliCommand, type CliIO } from './command';
import { backendFlag, modelDirFlag, numberFlag } from './flags';
import { builtinModelPath } from '../builtin_model';
import { loadTokenizer } from '../../loaders/tokenizer';
import { loadCausalLM } from '../../loaders/pretrained';
import { useBackend } from '../backends';
import { generateStream, PastKeyValues, type ChatMessage, type GenerateOptions, type GenerateResult } from '../generation';
import { downloadProgress } from './progress';

const USAGE = `usage: loom chat [--model DIR] [--system TEXT] [--template FILE] [--max-new-tokens N]
                 [--temperature T] [--top-k K] [--top-p P] [--seed S] [--show-prompt] [--backend cpu|wasm|webgpu]

Chats with the checkpoint in DIR (config.json, model.safetensors, tokenizer files; default: the
built-in names model). Type a
message and press Enter; the reply streams back. The conversation so far is sent every turn
(only what the KV cache does not hold yet is computed),
rendered with the tokenizer's chat template (--template FILE: a Jinja template to use instead;
tokenizers without a template get ChatML). Reads until end of input (Ctrl-D) or a line "/exit";
"/reset" forgets the history. --show-prompt prints each rendered prompt to stderr. Defaults: --max-new-tokens 128, --temperature 0.7, --top-k 50.`;

/** ChatML: the template of SmolLM2 and Qwen2, used when the tokenizer has none. */
export const CHATML_TEMPLATE =
  "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** {@link CliIO} plus the input to read messages from (default `process.stdin`). */
export interface ChatIO extends CliIO {
  stdin?: NodeJS.ReadableStream;
}

async function run(argv: string[], io: ChatIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      system: { type: 'string' },
      template: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      'show-prompt': { type: 'boolean' },
    },
    allowPositionals: false,
    strict: true,
  });
  // as `loom generate`: without --model, the built-in names model (it answers with a name)
  values.model = values.model === undefined ? builtinModelPath() : modelDirFlag(values.model);
  const backend = backendFlag(values.backend);
  const options: GenerateOptions = {
    maxNewTokens: numberFlag(values['max-new-tokens'], '--max-new-tokens', { integer: true, positive: true, default: 128 }),
    temperature: numberFlag(values.temperature, '--temperature', { default: 0.7 }),
    topK: numberFlag(values['top-k'], '--top-k', { integer: true, default: 50 }),
    ...(values['top-p'] !== undefined ? { topP: numberFlag(values['top-p'], '--top-p') } : {}),
    ...(values.seed !== undefined ? { seed: numberFlag(values.seed, '--seed', { integer: true }) } : {}),
  };
  if (backend !== undefined) await useBackend(backend);
  const tokenizer = await loadTokenizer(values.model);
  const template = values.template !== undefined ? fs.readFileSync(values.template, 'utf8') : tokenizer.chatTemplate ?? CHATML_TEMPLATE;
  const model = await loadCausalLM(values.model, { onProgress: downloadProgress(io) });
  const input = io.stdin ?? process.stdin;
  const interactive = (input as { isTTY?: boolean }).isTTY === true;
  const system: ChatMessage[] = values.system !== undefined ? [{ role: 'system', content: values.system }] : [];
  let history: ChatMessage[] = [...system];
  const rl = readline.createInterface({ input, terminal: false });
  // one KV cache for the conversation: each turn prefills only what the history does not share
  const past = new PastKeyValues(model);
  try {
    if (interactive) io.stderr('> ');
    for await (const raw of rl) {
      const line = raw.trim();
      if (line === '/exit') break;
      if (line === '/reset') {
        history = [...system];
        past.dispose();
        io.stderr('(history cleared)\n');
      } else if (line !== '') {
        history.push({ role: 'user', content: line });
        const ids = tokenizer.applyChatTemplate(history, { addGenerationPrompt: true, chatTemplate: template }) as number[];
        if (values['show-prompt']) io.stderr(`[prompt] ${JSON.stringify(tokenizer.decode(ids))}\n`);
        let reused = 0;
        while (reused < Math.min(past.ids.length, ids.length - 1) && past.ids[reused] === ids[reused]) reused++;
        const it = generateStream(model, tokenizer, ids, { ...options, pastKeyValues: past });
        let result: GenerateResult;
        for (;;) {
          const r = await it.next();
          if (r.done) {
            result = r.value;
            break;
          }
          io.stdout(r.value);
        }
        io.stdout('\n');
        if (values['show-prompt']) io.stderr(`[prefill] ${result.stats.promptTokens - reused} of ${result.stats.promptTokens} prompt tokens\n`);
        history.push({ role: 'assistant', content: result.text.trim() });
      }
      if (interactive) io.stderr('> ');
    }
    return 0;
  } finally {
    rl.close();
    past.dispose();
    model.dispose();
  }
}

/** `loom chat`. */
export const chatCommand: CliCommand = {
  name: 'chat',
  summary: 'interactive chat with a checkpoint folder (history, chat template; reads stdin)',
  usage: USAGE,
  run: (argv, io) => run(argv, io),
};
