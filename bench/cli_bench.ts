/**
 * `loom bench [--quick] [--json]`: the decode benchmark (bench/decode.ts) in-process, added to the
 * CLI's commands by bin/loom.js (src/cli does not import bench/): KV-cache
 * decode vs full recomputation vs the one-thread memory-bandwidth bound, prefill, load speed and
 * peak memory for SmolLM2-135M / Pythia-70M / SmolLM2-360M-shaped models with random weights.
 */
import * as fs from 'fs';
import { parseArgs } from 'node:util';
import { UsageError, type CliCommand, type CliIO } from '../src/cli/command';
import { dtypeListFlag } from '../src/cli/flags';
import { BACKEND_NAMES, type BackendName } from '../src/backends';
import { decodeMarkdown, runDecodeBench } from './decode';
import type { BenchModelName } from './decode_models';
import { BENCH_MODELS } from './decode_models';

const USAGE = `usage: loom bench [--quick] [--json] [--backends wasm,cpu] [--models NAME,...] [--threads 1,2] [--kernels on,off]
                  [--dtypes fp32,bf16,q8,q4] [--out FILE]

Measures token-by-token decoding of transformer-shaped models with random fp32 weights:
KV-cache decode tokens/s, the same generation recomputing the whole sequence per token,
the bound tokens/s = one-thread memory bandwidth / weight bytes read per token, prefill
tokens/s, safetensors load MB/s and peak memory. Progress goes to stderr.

  --quick      shorter runs (under 3 minutes on 2 cores); 135M on wasm and cpu, the others on wasm
  --json       print one JSON object {machine, results} instead of a Markdown table
  --backends   comma-separated subset of ${BACKEND_NAMES.join(', ')} (default wasm,cpu)
  --models     comma-separated subset of ${BENCH_MODELS.map((m) => m.name).join(', ')}
  --threads    comma-separated kernel thread counts, one row each (default 1)
  --kernels    on, off or on,off: loom-tfjs's wasm kernels or the tfjs op chain (default on)
  --dtypes     comma-separated weight dtypes on the kernels, one row each (default fp32); the bound
               uses each dtype's bytes per weight (bf16 2, q8 36/32, q4 20/32)
  --out FILE   also write the JSON result to FILE

Against onnxruntime-web on the same weights (interleaved rounds, ratios; needs ../shared/peer-bench
set up and npm run build): node dist/bench/peer.js --threads 1,2 --rounds 3`;

function listOption<T extends string>(raw: string | undefined, allowed: readonly T[], what: string): T[] | undefined {
  if (raw === undefined) return undefined;
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const s of items) {
    if (!(allowed as readonly string[]).includes(s)) throw new UsageError(`unknown ${what} '${s}', expected one of ${allowed.join(', ')}`);
  }
  if (items.length === 0) throw new UsageError(`--${what}s needs at least one name`);
  return items as T[];
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' }, json: { type: 'boolean' }, backends: { type: 'string' }, models: { type: 'string' },
      threads: { type: 'string' }, kernels: { type: 'string' }, dtypes: { type: 'string' }, out: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const backends = listOption<BackendName>(values.backends, BACKEND_NAMES, 'backend');
  const models = listOption<BenchModelName>(values.models, BENCH_MODELS.map((m) => m.name), 'model');
  const threads = values.threads?.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`--threads: '${s}' is not an integer in [1, 64]`);
    return n;
  });
  const kernels = listOption<'on' | 'off'>(values.kernels, ['on', 'off'], 'kernel')?.map((k) => k === 'on');
  const dtypes = dtypeListFlag(values.dtypes);
  const result = await runDecodeBench({
    quick: values.quick ?? false,
    ...(backends ? { backends } : {}),
    ...(models ? { models } : {}),
    ...(threads ? { threads } : {}),
    ...(kernels ? { kernels } : {}),
    ...(dtypes ? { dtypes } : {}),
    log: (line) => io.stderr(`${line}\n`),
  });
  if (values.out !== undefined) fs.writeFileSync(values.out, JSON.stringify(result, null, 2) + '\n');
  io.stdout(values.json ? JSON.stringify(result) + '\n' : decodeMarkdown(result));
  return result.results.some((r) => r.model === 'smollm2-135m-shape' && r.error !== undefined) ? 1 : 0;
}

/** `loom bench` (registered by bin/loom.js through `runCli`'s `commands` option). */
export const benchCommand: CliCommand = { name: 'bench', summary: 'decode speed vs the memory-bandwidth bound (random-weight model shapes)', usage: USAGE, run };
