/**
 * Typed parsers for the values of `loom <command>` flags (`node:util` parseArgs gives strings).
 * Every parser throws {@link UsageError}, so a bad value exits with code 2.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BACKEND_NAMES, type BackendName } from '../backends';
import { UsageError } from './command';
import { WEIGHT_DTYPES } from '../kernels/dtype_plan';
import type { WeightDtype } from '../kernels/quantize';

/** What {@link numberFlag} accepts. */
export interface NumberFlagOptions {
  /** Only whole numbers. */
  integer?: boolean;
  /** Only numbers > 0. */
  positive?: boolean;
  /** The value when the flag is absent. */
  default?: number;
}

/**
 * The number a flag's value spells (`--top-k 40`): finite, and whole / positive when asked.
 * @returns `options.default` (undefined when none) for an absent flag.
 * @throws UsageError `--top-k: expected an integer, got '4.5'` for an empty or invalid value.
 */
export function numberFlag(value: string | undefined, flag: string, options: NumberFlagOptions & { default: number }): number;
export function numberFlag(value: string | undefined, flag: string, options?: NumberFlagOptions): number | undefined;
export function numberFlag(value: string | undefined, flag: string, options: NumberFlagOptions = {}): number | undefined {
  if (value === undefined) return options.default;
  const n = Number(value);
  const { integer = false, positive = false } = options;
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || (positive && n <= 0)) {
    const kind = integer ? 'integer' : 'number';
    throw new UsageError(`${flag}: expected ${positive ? `a positive ${kind}` : integer ? 'an integer' : 'a number'}, got '${value}'`);
  }
  return n;
}

/**
 * The backend a `--backend` value names, undefined when the flag is absent.
 * @throws UsageError `--backend: expected one of wasm, cpu, ..., got 'tpu'`.
 */
export function backendFlag(value: string | undefined): BackendName | undefined {
  if (value === undefined) return undefined;
  if (!(BACKEND_NAMES as readonly string[]).includes(value)) throw new UsageError(`--backend: expected one of ${BACKEND_NAMES.join(', ')}, got '${value}'`);
  return value as BackendName;
}

/**
 * A `--model` value: a URL or Hub id passes as it is; a local path (absolute, `./`, `../`, `~`)
 * must be an existing directory (or a .gguf file).
 * @throws UsageError `--model /x: no such directory` / `--model f: not a directory`.
 */
export function modelDirFlag(value: string, flag = '--model'): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value; // http://, https://, file://
  const exists = fs.existsSync(value);
  if (exists && !fs.statSync(value).isDirectory() && !/\.gguf$/i.test(value)) throw new UsageError(`${flag} ${value}: not a directory (give the checkpoint folder holding config.json, or a .gguf file)`);
  if (!exists && /^(\/|\.{1,2}(\/|\\|$)|~|[A-Za-z]:[\\/])/.test(value)) throw new UsageError(`${flag} ${value}: no such directory`);
  return value;
}

/**
 * Token ids a flag's value lists: "1,2,3", "1 2 3" or a JSON array "[1,2,3]"; empty gives [].
 * @throws UsageError naming the first item that is not a non-negative integer.
 */
export function parseIdList(text: string, flag: string): number[] {
  const body = text.trim().replace(/^\[/, '').replace(/\]$/, '').trim();
  if (body === '') return [];
  const ids = body.split(/[\s,]+/).map(Number);
  const bad = ids.findIndex((n) => !Number.isInteger(n) || n < 0);
  if (bad >= 0) throw new UsageError(`${flag}: item ${bad} of ${JSON.stringify(text)} is not a non-negative integer`);
  return ids;
}

/**
 * Checks that an output file's folder exists and is writable, so a command fails before its work
 * (training for every epoch) rather than when it writes the result.
 * @throws UsageError `--out: folder /nonexistent/dir does not exist`.
 */
export function writableOutFlag(file: string, flag: string): void {
  const dir = path.dirname(path.resolve(file));
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new UsageError(`${flag}: folder ${dir} does not exist`);
  }
  if (!stat.isDirectory()) throw new UsageError(`${flag}: ${dir} is not a folder`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new UsageError(`${flag}: folder ${dir} is not writable`);
  }
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new UsageError(`${flag}: ${file} is a folder, expected a file name`);
}

/**
 * `argv` with a flag followed by a negative number joined as `--flag=-5`: node's parseArgs would
 * otherwise call `--max-new-tokens -5` "ambiguous" instead of letting the flag's parser say what
 * is wrong with -5.
 */
export function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a.startsWith('--') && !a.includes('=') && next !== undefined && /^-(\d|\.\d|Infinity|NaN)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** `text` with control characters (NUL, ESC, ...) escaped as `\u00XX`, safe to print to a terminal. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The weight dtype a `--dtype` value names, undefined when the flag is absent.
 * @throws UsageError `--dtype: expected one of fp32, bf16, q8, q4, got 'int4'`.
 */
export function dtypeFlag(value: string | undefined): WeightDtype | undefined {
  if (value === undefined) return undefined;
  if (!(WEIGHT_DTYPES as readonly string[]).includes(value)) throw new UsageError(`--dtype: expected one of ${WEIGHT_DTYPES.join(', ')}, got '${value}'`);
  return value as WeightDtype;
}

/**
 * Dtypes a `--dtypes fp32,q8` value lists (each as {@link dtypeFlag}), undefined when absent.
 * @throws UsageError naming the first bad item, or for an empty list.
 */
export function dtypeListFlag(value: string | undefined, flag = '--dtypes'): WeightDtype[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`${flag}: expected a comma-separated list of ${WEIGHT_DTYPES.join(', ')}, got '${value}'`);
  return items.map((d) => {
    if (!(WEIGHT_DTYPES as readonly string[]).includes(d)) throw new UsageError(`${flag}: expected items of ${WEIGHT_DTYPES.join(', ')}, got '${d}'`);
    return d as WeightDtype;
  });
}
