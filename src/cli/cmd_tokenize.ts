/**
 * `loom tokenize`: text to ids (or ids to text) with a Hugging Face tokenizer, as JSON.
 */
import * as fs from 'fs';
import { parseArgs } from 'node:util';
import { UsageError, type CliCommand, type CliIO } from './command';
import { backendFlag, parseIdList } from './flags';
import { useBackend } from '../backends';
import { loadTokenizer } from '../../loaders/tokenizer';

const USAGE = `usage: loom tokenize --tokenizer DIR_OR_FILE (--text TEXT | --texts-file FILE.json | --decode IDS)
                     [--no-special-tokens] [--skip-special-tokens] [--backend cpu|wasm|webgpu]

Tokenizes with the tokenizer in DIR (tokenizer.json or vocab.json + merges.txt, plus
tokenizer_config.json) or the given tokenizer.json, exactly as Hugging Face tokenizers do.

  --text TEXT              print {"ids": [...]}
  --texts-file FILE.json   a JSON array of strings: print [{"ids": [...]}, ...] in order
  --decode IDS             ids as "1,2,3" or a JSON array: print {"text": "..."}
  --no-special-tokens      do not add the post-processor's special tokens (BOS) when encoding
  --skip-special-tokens    drop special tokens when decoding`;

function textsFrom(file: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--texts-file ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Array.isArray(parsed)) throw new UsageError(`--texts-file ${file}: expected a JSON array of strings, got ${typeof parsed}`);
  return parsed.map((item, i) => {
    if (typeof item === 'string') return item;
    const obj = item as { text?: unknown; input?: unknown } | null;
    const t = obj?.text ?? obj?.input;
    if (typeof t !== 'string') throw new UsageError(`--texts-file ${file}: item ${i} is not a string (nor an object with "text")`);
    return t;
  });
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      tokenizer: { type: 'string' },
      text: { type: 'string' },
      'texts-file': { type: 'string' },
      decode: { type: 'string' },
      'no-special-tokens': { type: 'boolean' },
      'skip-special-tokens': { type: 'boolean' },
      backend: { type: 'string' },
    },
    allowPositionals: false,
    strict: true,
  });
  const backend = backendFlag(values.backend); // accepted as by every command (tokenizing runs no tensors)
  if (backend !== undefined) await useBackend(backend);
  if (values.tokenizer === undefined) throw new UsageError('--tokenizer DIR_OR_FILE is required');
  const modes = [values.text, values['texts-file'], values.decode].filter((v) => v !== undefined).length;
  if (modes !== 1) throw new UsageError('give exactly one of --text, --texts-file, --decode');
  const tok = await loadTokenizer(values.tokenizer);
  const addSpecialTokens = !values['no-special-tokens'];
  if (values.decode !== undefined) {
    const text = tok.decode(parseIdList(values.decode, '--decode'), { skipSpecialTokens: values['skip-special-tokens'] ?? false });
    io.stdout(JSON.stringify({ text }) + '\n');
  } else if (values.text !== undefined) {
    io.stdout(JSON.stringify({ ids: tok.encode(values.text, { addSpecialTokens }) }) + '\n');
  } else {
    const texts = textsFrom(values['texts-file'] as string);
    io.stdout(JSON.stringify(texts.map((t) => ({ ids: tok.encode(t, { addSpecialTokens }) }))) + '\n');
  }
  return 0;
}

/** `loom tokenize`. */
export const tokenizeCommand: CliCommand = { name: 'tokenize', summary: 'text to token ids (or back) with a Hugging Face tokenizer', usage: USAGE, run };
