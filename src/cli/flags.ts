/**
 * Typed parsers for the values of `loom <command>` flags (`node:util` parseArgs gives strings).
 * Every parser throws {@link UsageError}, so a bad value exits with code 2.
 */
import * as fs from 'fs';
import { BACKEND_NAMES, type BackendName } from '../backends';
import { UsageError } from './command';

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
 * must be an existing directory.
 * @throws UsageError `--model /x: no such directory` / `--model f: not a directory`.
 */
export function modelDirFlag(value: string, flag = '--model'): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value; // http://, https://, file://
  const exists = fs.existsSync(value);
  if (exists && !fs.statSync(value).isDirectory()) throw new UsageError(`${flag} ${value}: not a directory (give the checkpoint folder holding config.json)`);
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
