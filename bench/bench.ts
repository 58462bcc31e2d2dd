/**
 * Benchmark model: each benchmark is one file exporting a {@link Benchmark}, listed in `bench/run.ts`.
 * Results are JSON written to `bench/results/<name>.json`; speed claims are ratios measured
 * against a baseline in the same run (machines are shared and noisy).
 */

/** Options every benchmark receives. */
export interface BenchOptions {
  /** Shorter runs (CI smoke, `loom bench --quick`). */
  quick: boolean;
  /** Backends to measure, e.g. ['wasm', 'cpu']. */
  backends: string[];
  /** Progress lines (stderr). */
  log: (line: string) => void;
}

/** One benchmark. */
export interface Benchmark {
  readonly name: string;
  readonly description: string;
  /** Runs and returns a JSON-safe result object. */
  run(options: BenchOptions): Promise<Record<string, unknown>>;
  /** Markdown table of a result (for the README section). */
  markdown?(result: Record<string, unknown>): string;
}

/** Median of a list of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
