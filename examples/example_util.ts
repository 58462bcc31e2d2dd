/**
 * Small helpers shared by the examples (not part of the library): a seeded PRNG so every run
 * prints the same numbers, and a one-line loss sparkline.
 */

/** Seeded uniform [0, 1) generator (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `values` as a row of block characters (a loss curve in the terminal). */
export function sparkline(values: readonly number[]): string {
  const bars = '▁▂▃▄▅▆▇█';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return values.map((v) => bars[hi > lo ? Math.round(((v - lo) / (hi - lo)) * (bars.length - 1)) : 0]).join('');
}

/** Runs `main`, printing an error and setting exit code 1 if it fails. */
export function runMain(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
