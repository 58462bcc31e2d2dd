/**
 * Go encoding/json writer: every number in the Go-written golden fixtures,
 * the values and worked example of loom-spec/format.md sections 6 and 10, a
 * seeded shortest-ness property test and Go's string escaping.
 */
import * as fs from 'fs';
import * as path from 'path';
import { NonFiniteError } from '../src/core/errors';
import {
  GoValue,
  formatFloat32,
  formatFloat32Exact,
  formatFloat64,
  goF32,
  goF32Array,
  goF64,
  goInt,
  goObject,
  goQuote,
  marshalCompact,
  marshalIndent,
} from '../loaders/go_json';
import { GOLDEN, LOOM_FORMAT_SPEC } from './helpers/fixtures';


/** float32 keys of the LOOM cfg (format.md section 3); every other number there is an int. */
const F32_KEYS = new Set(['temperature', 'epsilon', 'entmax_alpha', 'mixture_weights']);

interface NumberToken {
  readonly text: string;
  readonly key: string | undefined;
}

/**
 * Minimal order-keeping JSON reader: builds the GoValue (numbers typed from
 * their key) and records every number token's original text.
 */
function parseGo(text: string, allF32: boolean, tokens: NumberToken[]): GoValue {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \n\r\t'.includes(text[i] as string)) i++;
  };
  const str = (): string => {
    const end = /"((?:[^"\\]|\\.)*)"/y;
    end.lastIndex = i;
    const m = end.exec(text);
    if (!m) throw new Error(`bad string at ${i}`);
    i = end.lastIndex;
    return JSON.parse(m[0]) as string;
  };
  const value = (key: string | undefined): GoValue => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: Array<[string, GoValue]> = [];
      ws();
      if (text[i] === '}') { i++; return goObject(entries); }
      for (;;) {
        ws();
        const k = str();
        ws();
        i++; // ':'
        entries.push([k, value(k)]);
        ws();
        if (text[i++] === '}') return goObject(entries);
      }
    }
    if (c === '[') {
      i++;
      const arr: GoValue[] = [];
      ws();
      if (text[i] === ']') { i++; return arr; }
      for (;;) {
        arr.push(value(key));
        ws();
        if (text[i++] === ']') return arr;
      }
    }
    if (c === '"') return str();
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(lit, i)) { i += lit.length; return v; }
    }
    const num = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;
    num.lastIndex = i;
    const m = num.exec(text);
    if (!m) throw new Error(`bad token at ${i}`);
    i = num.lastIndex;
    tokens.push({ text: m[0], key });
    const isF32 = allF32 || (key !== undefined && F32_KEYS.has(key)) || /[.eE]/.test(m[0]);
    return isF32 ? goF32(Number(m[0])) : goInt(Number(m[0]));
  };
  const v = value(undefined);
  ws();
  expect(i).toBe(text.length);
  return v;
}

function goldenModelJsons(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const f of fs.readdirSync(GOLDEN).filter((n) => n.endsWith('.json')).sort()) {
    const d = JSON.parse(fs.readFileSync(path.join(GOLDEN, f), 'utf8')) as Record<string, unknown>;
    const train = d['train'] as Record<string, unknown> | undefined;
    const rt = d['round_trip'] as Record<string, unknown> | undefined;
    const cands: Array<[string, unknown]> = [
      ['model_json', d['model_json']],
      ['train.final_model_json', train?.['final_model_json']],
      ['round_trip.resaved_model_json', rt?.['resaved_model_json']],
    ];
    for (const [where, s] of cands) if (typeof s === 'string') out.push([`${f}:${where}`, s]);
  }
  return out;
}

/** Inner base64 weights documents of a parsed bundle. */
function innerDocs(bundle: GoValue): string[] {
  const out: string[] = [];
  const walk = (v: GoValue): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object' && v.kind === 'object') {
      for (const [k, x] of v.entries) {
        if (k === 'data' && typeof x === 'string') out.push(Buffer.from(x, 'base64').toString('utf8'));
        else walk(x);
      }
    }
  };
  walk(bundle);
  return out;
}

describe('golden fixtures (Go-written text)', () => {
  const docs = goldenModelJsons();

  it('finds the fixtures', () => {
    expect(docs.length).toBeGreaterThanOrEqual(30);
  });

  it('formats every float token of every inner weights document and outer float field exactly', () => {
    let floats = 0;
    const bad: string[] = [];
    for (const [name, text] of docs) {
      const outerTokens: NumberToken[] = [];
      const bundle = parseGo(text, false, outerTokens);
      for (const t of outerTokens) {
        if (t.key !== undefined && F32_KEYS.has(t.key)) {
          floats++;
          const got = formatFloat32(Math.fround(Number(t.text)));
          if (got !== t.text) bad.push(`${name} ${t.key}: ${t.text} -> ${got}`);
        }
      }
      for (const inner of innerDocs(bundle)) {
        const tokens: NumberToken[] = [];
        parseGo(inner, true, tokens);
        for (const t of tokens) {
          floats++;
          const got = formatFloat32(Math.fround(Number(t.text)));
          if (got !== t.text) bad.push(`${name} inner: ${t.text} -> ${got}`);
        }
      }
    }
    expect(bad.slice(0, 20)).toEqual([]);
    expect(floats).toBeGreaterThan(1000);
  });

  it('re-serializes every model_json and inner document byte-identically', () => {
    for (const [name, text] of docs) {
      const bundle = parseGo(text, false, []);
      expect([name, marshalIndent(bundle)]).toEqual([name, text]);
      for (const inner of innerDocs(bundle)) {
        expect([name, marshalCompact(parseGo(inner, true, []))]).toEqual([name, inner]);
      }
    }
  });
});

describe('formatFloat32', () => {
  it('writes the format.md section 6 values as Go does', () => {
    const tokens = [
      '0.00024414062', '-2138125.2', '1.2621775e-29', '3.4028235e+38', '-3.4028235e+38', '1e-7',
      '0.000001', '0.0000015', '123456790', '100000000000000000000', '1e+21', '0', '1', '-1', '1e-45',
      '0.1', '-20', '0.5', '0.00001', '1.5', '16777216', '1.1754944e-38', '9.999999e-7', '1e-6',
    ];
    for (const t of tokens) {
      const expected = t === '1e-6' ? '0.000001' : t; // float32(1e-6) is not below float32(1e-6)
      expect([t, formatFloat32(Math.fround(Number(t)))]).toEqual([t, expected]);
    }
    expect(Math.fround(9.999999e-7)).toBeLessThan(Math.fround(1e-6)); // the float32 just below the switch
    expect(formatFloat32(-0)).toBe('-0');
    expect(formatFloat32(2 ** -12)).toBe('0.00024414062');
    expect(formatFloat32(2 ** -149)).toBe('1e-45');
    expect(formatFloat32(1e-5)).toBe('0.00001');
  });

  it('agrees with the exact BigInt method and round-trips at every power of two', () => {
    for (let e = -149; e <= 127; e++) {
      const v = 2 ** e;
      const s = formatFloat32(v);
      expect([e, s]).toEqual([e, formatFloat32Exact(v)]);
      expect(Math.fround(Number(s))).toBe(v);
    }
  });

  it('gives the shortest round-tripping digits for 20,000 seeded random float32 bit patterns', () => {
    const rng = mulberry32(0x5eed);
    const bits = new Uint32Array(1);
    const f32 = new Float32Array(bits.buffer);
    const failures: string[] = [];
    let tested = 0;
    while (tested < 20000) {
      bits[0] = (rng() * 2 ** 32) >>> 0;
      const v = f32[0] as number;
      if (!Number.isFinite(v)) continue;
      tested++;
      const s = formatFloat32(v);
      if (!Object.is(Math.fround(Number(s)), v)) failures.push(`${v}: ${s} does not round-trip`);
      const digits = sigDigits(s);
      for (let p = 1; p < digits && v !== 0; p++) {
        // The p-digit decimal nearest to v and its two neighbours must all miss v.
        for (const cand of neighbours(Math.abs(v).toPrecision(p))) {
          if (Math.fround(Number(cand)) === Math.abs(v)) failures.push(`${v}: ${cand} is shorter than ${s}`);
        }
      }
      if (tested <= 3000 && s !== formatFloat32Exact(v)) failures.push(`${v}: fast ${s} exact ${formatFloat32Exact(v)}`);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });

  it('formats 100k random float32s well under a second', () => {
    const rng = mulberry32(7);
    const a = new Float32Array(100000);
    for (let i = 0; i < a.length; i++) a[i] = (rng() - 0.5) * 2 ** Math.floor(rng() * 20 - 10);
    let best = Infinity;
    let len = 0;
    for (let run = 0; run < 3; run++) {
      // best of three, so a busy shared machine or JIT warm-up does not decide the result
      const t0 = performance.now();
      for (let i = 0; i < a.length; i++) len += formatFloat32(a[i] as number).length;
      best = Math.min(best, performance.now() - t0);
    }
    expect(len).toBeGreaterThan(0);
    expect(best).toBeLessThan(1000);
  });

  it('throws NonFiniteError for NaN and infinities', () => {
    for (const v of [NaN, Infinity, -Infinity, 1e39]) {
      expect(() => formatFloat32(v)).toThrow(NonFiniteError);
    }
  });
});

describe('formatFloat64', () => {
  it('writes encoding/json float64 text', () => {
    const cases: Array<[number, string]> = [
      [1e-7, '1e-7'], [1e21, '1e+21'], [-0, '-0'], [0, '0'], [0.1, '0.1'], [1e20, '100000000000000000000'],
      [0.000001, '0.000001'], [123.456, '123.456'], [-1, '-1'], [5e-324, '5e-324'], [1.5e-10, '1.5e-10'],
      [1.7976931348623157e308, '1.7976931348623157e+308'], [0.30000000000000004, '0.30000000000000004'],
      [2 ** 53, '9007199254740992'], [1.2345e25, '1.2345e+25'], [-2.5e-7, '-2.5e-7'],
    ];
    for (const [v, s] of cases) expect([v, formatFloat64(v)]).toEqual([v, s]);
  });

  it('throws NonFiniteError for NaN and infinities', () => {
    for (const v of [NaN, Infinity, -Infinity]) expect(() => formatFloat64(v)).toThrow(NonFiniteError);
  });
});

describe('goQuote', () => {
  it('escapes as Go 1.19 encoding/json (HTML-safe)', () => {
    const cases: Array<[string, string]> = [
      ['plain', '"plain"'],
      ['a<b>&c', '"a\\u003cb\\u003e\\u0026c"'],
      ['q"b\\', '"q\\"b\\\\"'],
      ['\n\r\t', '"\\n\\r\\t"'],
      ['\b\f\u0001\u001f', '"\\u0008\\u000c\\u0001\\u001f"'],
      ['\u2028\u2029', '"\\u2028\\u2029"'],
      ['\u007f é 日本 😀', '"\u007f é 日本 😀"'],
      ['lone \ud800 x \udc00', '"lone \ufffd x \ufffd"'],
      ['/', '"/"'],
      ['', '""'],
    ];
    for (const [s, q] of cases) expect(goQuote(s)).toBe(q);
  });
});

describe('marshal', () => {
  const innerText =
    '{"type":"float32","layers":[{"biases":[0.1,-0.2],"kernel":[0.5,-0.25,0.125,0.75,-1,0.1]},{"biases":[0,0.25],"kernel":[1,-1,0.5,2]}]}';
  const data =
    'eyJ0eXBlIjoiZmxvYXQzMiIsImxheWVycyI6W3siYmlhc2VzIjpbMC4xLC0wLjJdLCJrZXJuZWwiOlswLjUsLTAuMjUsMC4xMjUsMC43NSwtMSwwLjFdfSx7ImJpYXNlcyI6WzAsMC4yNV0sImtlcm5lbCI6WzEsLTEsMC41LDJdfV19';

  it('writes the inner weights document of format.md section 10 compactly', () => {
    const inner = goObject([
      ['type', 'float32'],
      ['layers', [
        goObject([['biases', goF32Array([0.1, -0.2])], ['kernel', goF32Array([0.5, -0.25, 0.125, 0.75, -1, 0.1])]]),
        goObject([['biases', goF32Array(new Float32Array([0, 0.25]))], ['kernel', goF32Array([1, -1, 0.5, 2])]]),
      ]],
    ]);
    const text = marshalCompact(inner);
    expect(text).toBe(innerText);
    expect(Buffer.from(text, 'utf8').toString('base64')).toBe(data);
  });

  it('reproduces the worked example of format.md section 10 with MarshalIndent', () => {
    const dense = (act: string, inH: number, outH: number): GoValue =>
      goObject([
        ['type', 'dense'], ['activation', act], ['width', goInt(1)], ['height', goInt(1)],
        ['input_size', undefined], ['input_height', goInt(inH)], ['output_height', goInt(outH)],
      ]);
    const bundle = goObject([
      ['type', 'modelhost/bundle'],
      ['version', goInt(1)],
      ['models', [goObject([
        ['id', 'tiny_dense'],
        ['cfg', goObject([
          ['id', 'tiny_dense'], ['batch_size', goInt(1)], ['grid_rows', goInt(1)], ['grid_cols', goInt(1)],
          ['layers_per_cell', goInt(2)], ['layers', [dense('tanh', 3, 2), dense('sigmoid', 2, 2)]], ['seed', undefined],
        ])],
        ['weights', goObject([['fmt', 'jsonModelB64'], ['data', data]])],
      ])]],
    ]);
    const expected = fs.readFileSync(LOOM_FORMAT_SPEC, 'utf8')
      .split('## 10. Worked example')[1]?.split('```json\n')[1]?.split('\n```')[0];
    expect(expected).toBeDefined();
    expect(marshalIndent(bundle)).toBe(expected);
  });

  it('writes empty containers, null, bools and float64 as Go does', () => {
    const v = goObject([['a', []], ['b', goObject([])], ['c', null], ['d', [true, false]], ['e', goF64(0.1)], ['f', [[]]]]);
    expect(marshalCompact(v)).toBe('{"a":[],"b":{},"c":null,"d":[true,false],"e":0.1,"f":[[]]}');
    expect(marshalIndent(v)).toBe(
      '{\n  "a": [],\n  "b": {},\n  "c": null,\n  "d": [\n    true,\n    false\n  ],\n  "e": 0.1,\n  "f": [\n    []\n  ]\n}',
    );
    expect(marshalIndent(goInt(-5))).toBe('-5');
    expect(marshalCompact(goInt(1e21))).toBe('1000000000000000000000');
  });

  it('names the JSON path of a non-finite value', () => {
    const v = goObject([['layers', [goObject([['kernel', goF32Array([1, NaN])]])]]]);
    expect(() => marshalCompact(v)).toThrow(NonFiniteError);
    expect(() => marshalIndent(v)).toThrow(/NaN at \$\.layers\[0\]\.kernel\[1\]/);
    expect(() => marshalCompact(goObject([['t', goF64(-Infinity)]]))).toThrow(/-Inf at \$\.t/);
  });
});

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Number of significant digits of a formatted number. */
function sigDigits(s: string): number {
  const mant = s.replace(/^-/, '').split('e')[0] as string;
  return mant.replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length || 1;
}

/** A toPrecision string and the decimals one unit in its last digit below and above. */
function neighbours(s: string): string[] {
  const [mant, exp = '0'] = s.split('e') as [string, string?];
  const dot = mant.indexOf('.');
  const frac = dot < 0 ? 0 : mant.length - dot - 1;
  const n = BigInt(mant.replace('.', ''));
  const e = Number(exp) - frac;
  return [n - 1n, n, n + 1n].filter((x) => x > 0n).map((x) => `${x}e${e}`);
}
