/**
 * loom-tfjs's built-in model: a tiny LLaMA-architecture character-level "make more names" model
 * trained by loom-tfjs itself (examples/train_builtin_model.ts), shipped as a Hugging Face folder
 * `models/builtin/` (config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
 * generation_config.json). In Node it is found on disk; in a browser it is fetched next to the page.
 */
import { ConfigError } from './core/errors';
import { loadCausalLM } from '../loaders/pretrained';
import { loadTokenizer, type Tokenizer } from '../loaders/tokenizer';
import type { ProgressCallback } from '../loaders/byte_source';
import type { DecoderLM } from './transformer/model';

/** Folder of the built-in model, relative to the package root (and to the demo pages). */
export const BUILTIN_MODEL_DIR = 'models/builtin';

/** Files of the built-in model folder. */
export const BUILTIN_MODEL_FILES = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'] as const;

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string' && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

/**
 * Absolute path of the built-in model folder in Node: the first `models/builtin` holding a
 * config.json found walking up from this module (works from `src/` and from `dist/src/`).
 * @throws ConfigError outside Node, or when the folder is missing (a broken install).
 */
export function builtinModelPath(): string {
  if (!isNode()) throw new ConfigError('builtinModelPath: only available in Node; in a browser use builtinModelUrl()');
  const fs = require('fs') as typeof import('fs');
  const path = require('path') as typeof import('path');
  const tried: string[] = [];
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, ...BUILTIN_MODEL_DIR.split('/'));
    tried.push(candidate);
    if (fs.existsSync(path.join(candidate, 'config.json'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new ConfigError(`built-in model not found: no ${BUILTIN_MODEL_DIR}/config.json in ${tried.join(', ')}`);
}

/**
 * URL of the built-in model folder for a web page (the demo build copies it to
 * `<page folder>/models/builtin/`). Ends with a slash.
 * @param base page or folder URL; default `document.baseURI`, or `self.location` in a worker.
 */
export function builtinModelUrl(base?: string | URL): URL {
  const g = globalThis as { document?: { baseURI: string }; location?: { href: string } };
  const from = base ?? g.document?.baseURI ?? g.location?.href;
  if (from === undefined) throw new ConfigError('builtinModelUrl: no base URL (not in a page or worker); pass one');
  return new URL(`${BUILTIN_MODEL_DIR}/`, from);
}

/** Options of {@link loadBuiltinModel}. */
export interface LoadBuiltinModelOptions {
  /** Folder (path or URL) to load instead of the default location. */
  source?: string | URL;
  onProgress?: ProgressCallback;
}

/** The built-in model and its tokenizer (dispose the model when done). */
export interface BuiltinModel {
  model: DecoderLM;
  tokenizer: Tokenizer;
}

/**
 * Loads the built-in names model: from disk in Node, from {@link builtinModelUrl} in a browser.
 * @throws ConfigError / SafetensorsError / TokenizerError when the files are missing or broken.
 */
export async function loadBuiltinModel(options: LoadBuiltinModelOptions = {}): Promise<BuiltinModel> {
  const source = options.source ?? (isNode() ? builtinModelPath() : builtinModelUrl().href);
  const tokenizer = await loadTokenizer(source);
  const model = await loadCausalLM(source, { onProgress: options.onProgress });
  return { model, tokenizer };
}
