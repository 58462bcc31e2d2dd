/**
 * Test helpers: fixture paths, golden-file access and a NaN-safe closeness check.
 */
import * as fs from 'fs';
import * as path from 'path';

/**
 * The test fixtures, kept in the repository (`__tests__/fixtures/`, provenance in its SOURCES.md):
 * tests never read anything outside the checkout, so `npm test` passes in any fresh clone.
 */
export const FIXTURES = path.resolve(__dirname, '..', 'fixtures');
/** Path of a file or folder under {@link FIXTURES}. */
export function fixture(...parts: string[]): string {
  return path.join(FIXTURES, ...parts);
}
/** LOOM golden fixtures folder (outputs of Go LOOM; loom-golden/README.md). */
export const GOLDEN = fixture('loom-golden');
/** The tiny random GPT-2 checkpoint folder (config, safetensors, tokenizer, greedy reference). */
export const TINY_GPT2 = fixture('tiny-random-gpt2');
/** The README of LOOM's WASM module: the compatibility target whose snippets the tests run. */
export const SEED_README = fixture('loom-seed', 'loom-wasm-README.md');
/** LOOM's JSON model format specification (its worked example is a byte-exact reference). */
export const LOOM_FORMAT_SPEC = fixture('loom-spec', 'format.md');

/** One forward record of a golden fixture. */
export interface GoldenForward {
  input: number[];
  output: number[];
  layer_outputs?: number[][];
  reloaded_output?: number[];
}

/** One backward record of a golden fixture. */
export interface GoldenBackward {
  input: number[];
  output: number[];
  grad_output: number[];
  grad_input: number[];
  kernel_gradients: (number[] | null)[];
  bias_gradients: (number[] | null)[];
}

/** A golden fixture file (see loom-golden/README.md). */
export interface GoldenFixture {
  name: string;
  model_id: string;
  model_json: string;
  forward: GoldenForward[];
  backward?: GoldenBackward[];
  train?: {
    config: Record<string, unknown>;
    batches: { input: number[]; target: number[] }[];
    loss_history: number[];
    final_loss: number;
    best_loss: number;
    final_outputs: number[][];
    final_model_json: string;
  };
  round_trip?: { load_ok: boolean; resaved_json_identical?: boolean; resaved_model_json?: string; load_error?: string };
  extra?: Record<string, unknown>;
}

/** Reads a golden fixture by name (without `.json`). */
export function golden(name: string): GoldenFixture {
  return JSON.parse(fs.readFileSync(path.join(GOLDEN, `${name}.json`), 'utf8')) as GoldenFixture;
}

/** Names of golden fixtures matching a predicate on the name. */
export function goldenNames(filter: (name: string) => boolean = () => true): string[] {
  return fs
    .readdirSync(GOLDEN)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.config.json') && f !== 'llama_tiny.json')
    .map((f) => f.slice(0, -5))
    .filter(filter)
    .sort();
}

/** Tolerances of {@link expectClose}. */
export interface Tolerance {
  atol?: number;
  rtol?: number;
}

/**
 * Asserts |a - e| <= atol + rtol * |e| element-wise; NaN anywhere is a failure; lengths must match.
 * Reports the first offending index.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance = {}, what = 'value'): void {
  const atol = tol.atol ?? 1e-6;
  const rtol = tol.rtol ?? 1e-5;
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  }
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (Number.isNaN(a) || Number.isNaN(e) || !(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`${what}[${i}]: got ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
    }
  }
}
