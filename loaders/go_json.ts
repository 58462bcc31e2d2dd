/**
 * Go `encoding/json` output, byte-exact, for the LOOM JSON format: Go's value
 * model (int / float32 / float64 numbers, ordered objects), its float
 * formatting, its string escaping, `json.Marshal` and `json.MarshalIndent`.
 *
 * Ref: loom-spec/format.md sections 5, 6 and 10.
 */
import { LoomFormatError, NonFiniteError } from '../src/core/errors';

/** A JSON value with Go's types, key order kept. */
export type GoValue = null | boolean | string | GoNumber | GoValue[] | GoObject;

/** A Go number: `int` (any Go integer type), `float32` or `float64`. */
export interface GoNumber {
  readonly kind: 'int' | 'f32' | 'f64';
  readonly value: number;
}

/** A Go struct or map written as a JSON object; entries are written in this order. */
export interface GoObject {
  readonly kind: 'object';
  readonly entries: ReadonlyArray<readonly [string, GoValue]>;
}

/**
 * A Go integer.
 * @throws LoomFormatError when `v` is not an integer.
 */
export function goInt(v: number): GoNumber {
  checkInt(v, 'goInt');
  return { kind: 'int', value: v };
}

/** A Go `float32`; `v` is rounded to float32 with `Math.fround`. */
export function goF32(v: number): GoNumber {
  return { kind: 'f32', value: Math.fround(v) };
}

/** A Go `float64`. */
export function goF64(v: number): GoNumber {
  return { kind: 'f64', value: v };
}

/**
 * A Go object with keys in the given order. Entries whose value is `undefined`
 * are dropped (the caller decides `omitempty`; `undefined` means omitted).
 */
export function goObject(entries: ReadonlyArray<readonly [string, GoValue | undefined]>): GoObject {
  const kept: Array<readonly [string, GoValue]> = [];
  for (const [key, value] of entries) {
    if (value !== undefined) kept.push([key, value]);
  }
  return { kind: 'object', entries: kept };
}

/** A Go `[]float32` as a JSON array (each element rounded with `Math.fround`). */
export function goF32Array(a: ArrayLike<number>): GoValue[] {
  const out: GoValue[] = new Array<GoValue>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = goF32(a[i] as number);
  return out;
}

// ---------------------------------------------------------------------------
// Float formatting

const F32_EXP_LOW = Math.fround(1e-6);
const F32_EXP_HIGH = Math.fround(1e21);

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Shortest decimal digits (no trailing zeros, first digit nonzero) and the exponent of the first digit. */
interface Decimal {
  readonly digits: string;
  readonly exp10: number;
}

/**
 * Go's `encoding/json` text of a float32: `strconv.FormatFloat(float64(v),
 * 'f' or 'e', -1, 32)`, exponent form when `|v| < float32(1e-6)` or
 * `|v| >= float32(1e21)`, with `e-07` cleaned to `e-7`. `v` is rounded with
 * `Math.fround` first. Examples: `0.00024414062`, `1e-7`, `3.4028235e+38`, `-0`.
 *
 * Ref: loom-spec/format.md section 6.
 * @throws NonFiniteError for NaN and infinities (Go: `json: unsupported value`).
 */
export function formatFloat32(v: number): string {
  const x = Math.fround(v);
  if (!Number.isFinite(x)) throw nonFinite(x, 'float32', '');
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const a = Math.abs(x);
  const useExp = a < F32_EXP_LOW || a >= F32_EXP_HIGH;
  return layout(x < 0, shortestF32(a), useExp);
}

/**
 * Go's `encoding/json` text of a float64: shortest round-trip digits,
 * exponent form when `|v| < 1e-6` or `|v| >= 1e21` (`1e-7`, `1e+21`), `-0`
 * for negative zero, integral values without a decimal point.
 *
 * Ref: loom-spec/format.md section 6.
 * @throws NonFiniteError for NaN and infinities.
 */
export function formatFloat64(v: number): string {
  if (!Number.isFinite(v)) throw nonFinite(v, 'float64', '');
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const a = Math.abs(v);
  const useExp = a < 1e-6 || a >= 1e21;
  // Number#toExponential() gives the shortest round-trip digits, nearest to
  // the value, as Go's ryuFtoaShortest does for float64.
  return layout(v < 0, decimalOf(a.toExponential()), useExp);
}

/**
 * {@link formatFloat32} computed only with the exact BigInt method of
 * format.md section 6 (no fast path). Slow; for verification and tests.
 * @throws NonFiniteError for NaN and infinities.
 */
export function formatFloat32Exact(v: number): string {
  const x = Math.fround(v);
  if (!Number.isFinite(x)) throw nonFinite(x, 'float32', '');
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const a = Math.abs(x);
  f32Scratch[0] = a;
  const bits = u32Scratch[0] as number;
  const useExp = a < F32_EXP_LOW || a >= F32_EXP_HIGH;
  return layout(x < 0, shortestF32Exact(bits >>> 23, bits & 0x7fffff), useExp);
}

/** Digits and exponent of a JS exponent/fixed string such as `1.25e-7` or `0.00125`. */
function decimalOf(s: string): Decimal {
  const e = s.indexOf('e');
  let mant = e < 0 ? s : s.slice(0, e);
  let exp = e < 0 ? 0 : Number(s.slice(e + 1));
  const dot = mant.indexOf('.');
  if (dot >= 0) {
    exp += dot - 1;
    mant = mant.slice(0, dot) + mant.slice(dot + 1);
  } else {
    exp += mant.length - 1;
  }
  let start = 0;
  while (start < mant.length - 1 && mant.charCodeAt(start) === 48) {
    start++;
    exp--;
  }
  let end = mant.length;
  while (end > start + 1 && mant.charCodeAt(end - 1) === 48) end--;
  return { digits: mant.slice(start, end), exp10: exp };
}

/** Go's `%e` / `%f` layout of shortest digits (after encoding/json's exponent clean-up). */
function layout(negative: boolean, d: Decimal, useExp: boolean): string {
  const sign = negative ? '-' : '';
  const { digits, exp10 } = d;
  if (useExp) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : '';
    // Go pads the exponent to two digits; encoding/json then turns e-07 into e-7.
    const exp = exp10 < 0 ? `-${-exp10}` : `+${exp10 < 10 ? '0' : ''}${exp10}`;
    return `${sign}${digits[0] ?? '0'}${frac}e${exp}`;
  }
  if (exp10 < 0) return `${sign}0.${'0'.repeat(-exp10 - 1)}${digits}`;
  const intLen = exp10 + 1;
  if (digits.length <= intLen) return sign + digits + '0'.repeat(intLen - digits.length);
  return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
}

/**
 * Shortest digits of a positive finite float32 `a` as Go chooses them.
 *
 * Fast path: `toPrecision(p)` is the p-digit decimal nearest to `a`. For the
 * least p where it lies strictly inside the rounding interval (checked against
 * exact float64 bounds, so no double rounding), it is Go's choice unless it is
 * an exact tie. Powers of two (asymmetric interval), decimals that land on an
 * interval end and exact ties go to the BigInt method.
 */
function shortestF32(a: number): Decimal {
  f32Scratch[0] = a;
  const bits = u32Scratch[0] as number;
  const expField = bits >>> 23;
  const mant = bits & 0x7fffff;
  if (mant === 0 && expField > 1) return shortestF32Exact(expField, mant);
  // Half an ulp; a +- half is exact in float64.
  const half = 2 ** ((expField === 0 ? 1 : expField) - 151);
  const lo = a - half;
  const hi = a + half;
  // With a symmetric interval, "some p-digit decimal is inside" is monotonic
  // in p (a shorter decimal is also a longer one), so binary-search the least p.
  let low = 1;
  let high = 9; // 9 digits always identify a float32
  let found: number | undefined;
  let foundP = 0;
  while (low <= high) {
    const p = (low + high) >> 1;
    const d = Number(a.toPrecision(p));
    // Number() rounds monotonically and lo/hi are float64s, so a strict
    // comparison in float64 is exact; only d === lo or hi is undecided.
    if (d === lo || d === hi) return shortestF32Exact(expField, mant);
    if (d > lo && d < hi) {
      found = d;
      foundP = p;
      high = p - 1;
    } else {
      low = p + 1;
    }
  }
  if (found === undefined) return shortestF32Exact(expField, mant);
  // A tie between two p-digit decimals means `a` is exactly a (p+1)-digit decimal ending in 5.
  const t = a.toPrecision(foundP + 1);
  const e = t.indexOf('e');
  if ((e < 0 ? t.charCodeAt(t.length - 1) : t.charCodeAt(e - 1)) === 53 && Number(t) === a) {
    return shortestF32Exact(expField, mant);
  }
  // found has at most 9 significant digits, so its shortest float64 form has the same digits.
  return decimalOf(found.toExponential());
}

const BIG_TEN = 10n;

function pow10(n: number): bigint {
  return BIG_TEN ** BigInt(n);
}

/**
 * Exact method of format.md section 6 with big integers, for a positive
 * float32 given by its exponent field and mantissa bits.
 */
function shortestF32Exact(expField: number, mantBits: number): Decimal {
  const m = BigInt(expField === 0 ? mantBits : mantBits | 0x800000);
  const e2 = (expField === 0 ? 1 : expField) - 152; // value = 4m * 2^e2
  const lowerWidth = mantBits === 0 && expField > 1 ? 1n : 2n; // in units of 2^e2
  const inclusive = (mantBits & 1) === 0;
  const x4 = 4n * m;
  // Everything as integers over 2^(-e2) (e2 < 0 for every float32 with a
  // fractional ulp; otherwise the value is an integer times 2^e2).
  const pow2 = e2 >= 0 ? 2n ** BigInt(e2) : 1n;
  const den2 = e2 < 0 ? 2n ** BigInt(-e2) : 1n;
  const value = x4 * pow2; // value = value / den2
  const low = (x4 - lowerWidth) * pow2;
  const high = (x4 + 2n) * pow2;
  // Decimal exponent k with 10^k <= value < 10^(k+1).
  const approx = Number(value) / Number(den2);
  let k = Math.floor(Math.log10(approx));
  while (cmpScaled(1n, k, value, den2) > 0) k--;
  while (cmpScaled(1n, k + 1, value, den2) <= 0) k++;
  for (let p = 1; p <= 9; p++) {
    const q = k - p + 1;
    // n = floor(value / (den2 * 10^q))
    const n = q >= 0 ? value / (den2 * pow10(q)) : (value * pow10(-q)) / den2;
    let best: bigint | undefined;
    let bestDist = 0n;
    for (const c of [n, n + 1n]) {
      const lowCmp = cmpScaled(c, q, low, den2);
      const highCmp = cmpScaled(c, q, high, den2);
      const inside = inclusive ? lowCmp >= 0 && highCmp <= 0 : lowCmp > 0 && highCmp < 0;
      if (!inside) continue;
      const dist = absDiffScaled(c, q, value, den2);
      if (best === undefined || dist < bestDist || (dist === bestDist && c % 2n === 0n)) {
        best = c;
        bestDist = dist;
      }
    }
    if (best !== undefined) {
      const s = best.toString();
      return decimalOf(`${s}e${q}`);
    }
  }
  throw new LoomFormatError(`formatFloat32: no decimal of at most 9 digits found for float32 bits ${expField}/${mantBits}`);
}

/** Sign of c*10^q - num/den. */
function cmpScaled(c: bigint, q: number, num: bigint, den: bigint): number {
  const lhs = q >= 0 ? c * pow10(q) * den : c * den;
  const rhs = q >= 0 ? num : num * pow10(-q);
  return lhs < rhs ? -1 : lhs > rhs ? 1 : 0;
}

/** |c*10^q - num/den| scaled by den * 10^max(-q, 0) (a common scale for fixed q). */
function absDiffScaled(c: bigint, q: number, num: bigint, den: bigint): bigint {
  const lhs = q >= 0 ? c * pow10(q) * den : c * den;
  const rhs = q >= 0 ? num : num * pow10(-q);
  return lhs > rhs ? lhs - rhs : rhs - lhs;
}

// ---------------------------------------------------------------------------
// Strings

const HEX = '0123456789abcdef';

/**
 * A string quoted as Go 1.19 `encoding/json` writes it (HTML-safe): `"` and
 * `\` backslash-escaped, `\n` `\r` `\t`, other control characters and
 * `<` `>` `&` as `\u00XX` (lowercase hex), U+2028/U+2029 as `\u2028`/`\u2029`.
 * A lone UTF-16 surrogate (invalid once encoded as UTF-8) becomes U+FFFD.
 *
 * Ref: loom-spec/format.md section 6.
 */
export function goQuote(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26) {
      rep = c === 0x22 ? '\\"' : c === 0x5c ? '\\\\' : c === 0x0a ? '\\n' : c === 0x0d ? '\\r' : c === 0x09 ? '\\t'
        : `\\u00${HEX[c >> 4] as string}${HEX[c & 15] as string}`;
    } else if (c === 0x2028 || c === 0x2029) {
      rep = c === 0x2028 ? '\\u2028' : '\\u2029';
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      rep = '\ufffd';
    }
    if (rep !== undefined) {
      out += s.slice(start, i) + rep;
      start = i + 1;
    }
  }
  return `${out}${s.slice(start)}"`;
}

// ---------------------------------------------------------------------------
// Marshalling

/**
 * `json.Marshal(v)`: compact JSON, keys in entry order.
 *
 * Ref: loom-spec/format.md section 6 (the inner weights document).
 * @throws NonFiniteError for NaN/Inf (message names the JSON path); LoomFormatError for a non-integer `int`.
 */
export function marshalCompact(v: GoValue): string {
  const parts: string[] = [];
  writeValue(v, parts, null, []);
  return parts.join('');
}

/**
 * `json.MarshalIndent(v, "", "  ")`: one key or element per line, `": "`
 * after keys, empty arrays `[]`, empty objects `{}`, no trailing newline.
 *
 * Ref: loom-spec/format.md sections 6 and 10.
 * @throws NonFiniteError for NaN/Inf (message names the JSON path); LoomFormatError for a non-integer `int`.
 */
export function marshalIndent(v: GoValue): string {
  const parts: string[] = [];
  writeValue(v, parts, '\n', []);
  return parts.join('');
}

/** `newline` is null for compact output, else '\n' followed by the current indent. */
function writeValue(v: GoValue, out: string[], newline: string | null, path: Array<string | number>): void {
  if (v === null) {
    out.push('null');
  } else if (typeof v === 'boolean') {
    out.push(v ? 'true' : 'false');
  } else if (typeof v === 'string') {
    out.push(goQuote(v));
  } else if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push('[]');
      return;
    }
    const inner = newline === null ? null : `${newline}  `;
    out.push('[');
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.push(',');
      if (inner !== null) out.push(inner);
      const el = v[i] as GoValue;
      if (el !== null && typeof el === 'object' && !Array.isArray(el) && el.kind !== 'object') {
        out.push(formatNumber(el, path, i)); // fast path for number arrays
      } else {
        path.push(i);
        writeValue(el, out, inner, path);
        path.pop();
      }
    }
    if (newline !== null) out.push(newline);
    out.push(']');
  } else if (v.kind === 'object') {
    if (v.entries.length === 0) {
      out.push('{}');
      return;
    }
    const inner = newline === null ? null : `${newline}  `;
    out.push('{');
    let first = true;
    for (const [key, value] of v.entries) {
      if (!first) out.push(',');
      first = false;
      if (inner !== null) out.push(inner);
      out.push(goQuote(key), inner === null ? ':' : ': ');
      path.push(key);
      writeValue(value, out, inner, path);
      path.pop();
    }
    if (newline !== null) out.push(newline);
    out.push('}');
  } else {
    out.push(formatNumber(v, path, undefined));
  }
}

function formatNumber(n: GoNumber, path: Array<string | number>, index: number | undefined): string {
  const where = (): string => pathText(index === undefined ? path : [...path, index]);
  if (n.kind === 'int') {
    checkInt(n.value, where());
    return BigInt(n.value).toString();
  }
  if (!Number.isFinite(n.value)) throw nonFinite(n.value, n.kind === 'f32' ? 'float32' : 'float64', where());
  return n.kind === 'f32' ? formatFloat32(n.value) : formatFloat64(n.value);
}

function pathText(path: ReadonlyArray<string | number>): string {
  let s = '$';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : `.${p}`;
  return s;
}

function checkInt(v: number, where: string): void {
  if (!Number.isInteger(v)) {
    throw new LoomFormatError(`json: int value at ${where} is ${v}, expected an integer`);
  }
}

function nonFinite(v: number, type: string, where: string): NonFiniteError {
  const at = where === '' ? '' : ` at ${where}`;
  return new NonFiniteError(
    `json: unsupported value: ${Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf'}${at} (${type}; expected a finite number)`,
  );
}
