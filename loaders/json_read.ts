/**
 * Reading JSON with Go `encoding/json` rules (Ref: loom-spec/format.md section 5): keys match
 * case-insensitively (the last matching key wins), missing and null give zero values, type
 * mismatches are errors that name the path.
 */
import { LoomFormatError } from '../src/core/errors';
import { previewValue } from '../src/core/preview';

/** A parsed JSON object. */
export type JsonObject = Record<string, unknown>;

/** True for a plain JSON object. */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Value of `key` in `obj`, matched case-insensitively; the last matching key wins (Go's rule). */
export function getKey(obj: JsonObject, key: string): unknown {
  const want = key.toLowerCase();
  let found: unknown = undefined;
  for (const k of Object.keys(obj)) if (k.toLowerCase() === want) found = obj[k];
  return found;
}

function fail(path: string, expected: string, got: unknown): never {
  throw new LoomFormatError(`${path}: expected ${expected}, got ${previewValue(got)}`);
}

/** Integer field (missing/null -> 0). */
export function readInt(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, 'an integer', v);
  return v;
}

/** float32 field (missing/null -> 0), rounded to float32. */
export function readF32(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number') fail(path, 'a number', v);
  return Math.fround(v);
}

/** Boolean field (missing/null -> false). */
export function readBool(v: unknown, path: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') fail(path, 'a boolean', v);
  return v;
}

/** String field (missing/null -> ''). */
export function readString(v: unknown, path: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') fail(path, 'a string', v);
  return v;
}

/** Array field (missing/null -> null). */
export function readArray(v: unknown, path: string): unknown[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) fail(path, 'an array', v);
  return v;
}

/** float32 array (missing/null -> null). Every element must be a finite number, also after rounding to float32. */
export function readF32Array(v: unknown, path: string): Float32Array | null {
  const a = readArray(v, path);
  if (!a) return null;
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) fail(`${path}[${i}]`, 'a finite number', x);
    out[i] = x;
    // 3.5e38 is finite as a double but Infinity as float32.
    if (!Number.isFinite(out[i]!)) fail(`${path}[${i}]`, 'a number within float32 range (|x| <= 3.4028235e38)', x);
  }
  return out;
}

/** Integer array (missing/null -> null). */
export function readIntArray(v: unknown, path: string): number[] | null {
  const a = readArray(v, path);
  return a ? a.map((x, i) => readInt(x, `${path}[${i}]`)) : null;
}

/** Boolean array (missing/null -> null). */
export function readBoolArray(v: unknown, path: string): boolean[] | null {
  const a = readArray(v, path);
  return a ? a.map((x, i) => readBool(x, `${path}[${i}]`)) : null;
}

/** Object field (missing/null -> null). */
export function readObject(v: unknown, path: string): JsonObject | null {
  if (v === undefined || v === null) return null;
  if (!isJsonObject(v)) fail(path, 'an object', v);
  return v;
}

/**
 * Parses JSON text, or bytes decoded as strict UTF-8; a decoding or syntax error becomes
 * `new ErrorClass(`${what}: ${reason}`)`.
 * @throws ErrorClass when the input is not valid (UTF-8) JSON.
 */
export function parseJsonAs(text: string | Uint8Array, what: string, ErrorClass: new (message: string) => Error): unknown {
  try {
    return JSON.parse(typeof text === 'string' ? text : new TextDecoder('utf-8', { fatal: true }).decode(text)) as unknown;
  } catch (e) {
    throw new ErrorClass(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Parses JSON text, turning a SyntaxError into a LoomFormatError with `what` as prefix. */
export function parseJson(text: string, what: string): unknown {
  return parseJsonAs(text, what, LoomFormatError);
}
