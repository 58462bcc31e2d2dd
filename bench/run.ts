/**
 * `npm run bench [-- NAME ...] [--quick] [--backends wasm,cpu]`: runs benchmarks, writes
 * `bench/results/<name>.json` and `bench/results/<name>.md`, prints the JSON to stdout.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'node:util';
import type { Benchmark } from './bench';
import { BENCHMARKS } from './list';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    options: { quick: { type: 'boolean' }, backends: { type: 'string' }, out: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const chosen: Benchmark[] = positionals.length
    ? positionals.map((n) => {
        const b = BENCHMARKS.find((x) => x.name === n);
        if (!b) throw new Error(`unknown benchmark '${n}'; known: ${BENCHMARKS.map((x) => x.name).join(', ')}`);
        return b;
      })
    : [...BENCHMARKS];
  const outDir = values.out ?? path.join(process.cwd(), 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const results: Record<string, unknown> = {};
  for (const b of chosen) {
    process.stderr.write(`bench ${b.name}: ${b.description}\n`);
    const r = await b.run({
      quick: values.quick ?? false,
      backends: (values.backends ?? 'wasm,cpu').split(','),
      log: (l) => process.stderr.write(`  ${l}\n`),
    });
    results[b.name] = r;
    fs.writeFileSync(path.join(outDir, `${b.name}.json`), JSON.stringify(r, null, 2));
    if (b.markdown) fs.writeFileSync(path.join(outDir, `${b.name}.md`), b.markdown(r));
  }
  process.stdout.write(JSON.stringify(results, null, 2) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
