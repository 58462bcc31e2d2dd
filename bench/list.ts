import type { Benchmark } from './bench';

/** Every benchmark, in run order. Adding one = one file + one line. */
export const BENCHMARKS: readonly Benchmark[] = [];
