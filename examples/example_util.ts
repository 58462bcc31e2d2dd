/**
 * Small helpers shared by the examples (not part of the library): a one-line loss sparkline and
 * the main wrapper. Seeded randomness comes from the library's `createRng`.
 */

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
