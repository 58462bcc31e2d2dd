import type { Benchmark } from './bench';
import { trainBenchmark } from './train';
import { decodeBenchmark } from './decode';
import { peerBenchmark } from './peer';

/** Every benchmark, in run order. Adding one = one file + one line. */
export const BENCHMARKS: readonly Benchmark[] = [
  trainBenchmark,
  decodeBenchmark,
  peerBenchmark,
];
