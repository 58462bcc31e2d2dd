/**
 * bench decode: token-by-token decoding speed of transformer-shaped models with random fp32
 * weights, against the one-thread memory-bandwidth bound measured in the same run.
 *
 * Per (model, backend) row: the checkpoint is written as a safetensors file and loaded with
 * `loadCausalLM` (load MB/s), then: prefill tokens/s (one forward of `prefillTokens` ids),
 * decode tokens/s with the KV cache (prompt 16, then `newTokens` greedy steps, only the sampled
 * id crosses to the host), and the same generation without a cache recomputing the whole
 * sequence per token (how LOOM generates). bound tokens/s = bandwidth / weight bytes per token.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { useBackend, type BackendName } from '../src/backends';
import { loadCausalLM } from '../loaders/pretrained';
import type { DecoderLM } from '../src/transformer/model';
import type { WeightDtype } from '../src/kernels/quantize';
import type { Benchmark, BenchOptions } from './bench';
import { BENCH_MODELS, bytesReadPerToken, parameterCount, randomCheckpoint, type BenchModelName, type BenchModelShape } from './decode_models';

/** One result row (the first fields are the JSON shape of issue 7's acceptance). */
export interface DecodeRow {
  model: BenchModelName;
  backend: string;
  /** Kernel threads (useBackend's `threads`). */
  threads: number;
  /** Whether the model ran on loom-tfjs's wasm kernels (false: the tfjs op chain). */
  kernels: boolean;
  /** Weight storage dtype on the kernels (fp32 on the op chain). */
  dtype: WeightDtype;
  /** Prefill of 16 tokens, tokens/s (median of 3). */
  prefill16TokensPerSecond?: number | null;
  decodeTokensPerSecond: number | null;
  recomputeTokensPerSecond: number | null;
  boundTokensPerSecond: number;
  prefillTokensPerSecond: number | null;
  loadMBps: number | null;
  peakRssMB: number | null;
  error?: string;
  /** One-thread copy bandwidth measured just before this row, GB/s (the row's bound uses it). */
  bandwidthGBps: number;
  /** wasm only: size of the wasm heap after the row, MB (limit 4096 MiB). */
  wasmHeapMB?: number;
  /** Peak bytes held by tfjs tensors during the row (tf.memory().numBytes), MB. */
  peakTensorMB?: number;
  parameters: number;
  /** Weight bytes read per decoded token, MB. */
  weightMBPerToken: number;
  loadSeconds?: number;
  decodeMsPerToken?: number;
  /** decode / bound. */
  fractionOfBound?: number;
  /** decode / recompute. */
  kvSpeedup?: number;
  prefillTokens: number;
  newTokens: number;
  /** Recompute steps actually timed; the others are interpolated (linear in the step index). */
  recomputeStepsTimed?: number;
}

/** The benchmark's JSON result. */
export interface DecodeResult {
  machine: { memoryBandwidthGBps: number; cpus: number; cpuModel: string; node: string; tfjs: string };
  settings: { quick: boolean; promptTokens: number };
  results: DecodeRow[];
}

/** Options of {@link runDecodeBench}. */
export interface DecodeBenchOptions {
  quick: boolean;
  /** Backends to measure (default wasm, cpu). */
  backends?: readonly BackendName[];
  /** Models to measure (default all three shapes). */
  models?: readonly BenchModelName[];
  /** Kernel thread counts to measure (default: [1]). */
  threads?: readonly number[];
  /** Kernels on and/or off (default: [true]; false = the tfjs op chain). */
  kernels?: readonly boolean[];
  /** Weight dtypes to measure on the kernels (default: [fp32]); the op chain runs fp32 only. */
  dtypes?: readonly WeightDtype[];
  log?: (line: string) => void;
}

const PROMPT = 16;
/** Bytes per weight of each dtype (q8 / q4: 32 codes + one float32 scale per block); matrices dominate the bytes read per token. */
const BYTES_PER_WEIGHT: Readonly<Record<WeightDtype, number>> = { fp32: 4, bf16: 2, q8: 36 / 32, q4: 20 / 32 };
const MB = 1e6;

/**
 * One-thread memory bandwidth, bytes/s: best of a few copies of a 512 MB Float32Array into
 * another (size / copy time, the definition).
 */
export function measureBandwidth(megabytes = 512, repeats = 4): number {
  const n = (megabytes * MB) / 4;
  const src = new Float32Array(n);
  const dst = new Float32Array(n);
  for (let i = 0; i < n; i += 1024) src[i] = i; // touch every page
  dst.set(src); // warm: fault in dst's pages
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    dst.set(src);
    best = Math.min(best, performance.now() - t0);
  }
  return (n * 4) / (best / 1000);
}

/** Run lengths per backend and model. cpu (plain JS kernels) and the larger shapes get shorter quick runs. */
function plan(quick: boolean, backend: string, model: BenchModelName): { prefill: number; newTokens: number; recomputeSteps: number } {
  if (backend === 'cpu') return quick ? { prefill: 8, newTokens: 2, recomputeSteps: 1 } : { prefill: 64, newTokens: 16, recomputeSteps: 4 };
  if (!quick) return { prefill: 128, newTokens: 64, recomputeSteps: 64 };
  if (model === 'smollm2-360m-shape') return { prefill: 32, newTokens: 8, recomputeSteps: 2 };
  if (model === 'pythia-70m-shape') return { prefill: 64, newTokens: 16, recomputeSteps: 3 };
  return { prefill: 128, newTokens: 16, recomputeSteps: 4 };
}

/** Bytes of the wasm backend's heap (its growth is what runs out first), or undefined elsewhere. */
function wasmHeapBytes(): number | undefined {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.length;
}

class PeakTracker {
  rss = 0;
  tensorBytes = 0;
  sample(): void {
    this.rss = Math.max(this.rss, process.memoryUsage.rss());
    this.tensorBytes = Math.max(this.tensorBytes, tf.memory().numBytes);
  }
}

function greedy(logits: tf.Tensor): number {
  const id = tf.tidy(() => tf.argMax(tf.reshape(logits, [-1])).dataSync()[0]!);
  logits.dispose();
  return id;
}

function randomIds(count: number, vocab: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % vocab;
  });
}

/** Writes the checkpoint folder (config.json + model.safetensors); returns its path and size. */
function writeCheckpoint(m: BenchModelShape): { dir: string; bytes: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `loom-bench-${m.name}-`));
  const bytes = randomCheckpoint(m);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(m.config));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), bytes);
  return { dir, bytes: bytes.byteLength };
}

function describeError(e: unknown, m: BenchModelShape, backend: string): string {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  if (/memory|OOM|allocat|Aborted|RangeError/i.test(msg)) {
    const gb = (parameterCount(m) * 4) / 2 ** 30;
    return `out of memory on ${backend}: ${m.name} needs ${gb.toFixed(2)} GiB of fp32 weights plus activations (wasm heap limit 4 GiB); ${msg}`;
  }
  return msg;
}

async function runRow(m: BenchModelShape, backend: BackendName, quick: boolean, threads: number, kernels: boolean, dtype: WeightDtype, log: (l: string) => void): Promise<DecodeRow> {
  const p = plan(quick, backend, m.name);
  // Bandwidth measured right before the row: the machine is shared, so a figure from minutes
  // earlier can be far off; each row's bound uses its own measurement.
  const bandwidth = measureBandwidth();
  const perToken = (bytesReadPerToken(m) * BYTES_PER_WEIGHT[dtype]) / 4;
  const row: DecodeRow = {
    model: m.name, backend, threads, kernels, dtype,
    decodeTokensPerSecond: null, recomputeTokensPerSecond: null,
    boundTokensPerSecond: bandwidth / perToken,
    prefillTokensPerSecond: null, loadMBps: null, peakRssMB: null,
    bandwidthGBps: bandwidth / 1e9,
    parameters: parameterCount(m), weightMBPerToken: perToken / MB,
    prefillTokens: p.prefill, newTokens: p.newTokens,
  };
  const peak = new PeakTracker();
  let model: DecoderLM | null = null;
  let dir = '';
  try {
    await useBackend(backend, { threads });
    const ckpt = writeCheckpoint(m);
    dir = ckpt.dir;
    peak.sample();
    const t0 = performance.now();
    model = await loadCausalLM(dir, dtype === 'fp32' ? { kernels } : { kernels, dtype });
    const loadS = (performance.now() - t0) / 1000;
    peak.sample();
    row.loadSeconds = loadS;
    row.loadMBps = ckpt.bytes / MB / loadS;
    const tag = `${m.name} ${backend} threads ${threads} kernels ${kernels ? 'on' : 'off'} ${dtype}`;
    log(`${tag}: loaded ${(ckpt.bytes / MB).toFixed(0)} MB in ${loadS.toFixed(2)} s`);

    // Prefill: one forward over `prefill` tokens (warm once with a short call first).
    greedy(model.forward([randomIds(4, m.vocab, 3)]));
    const pre = randomIds(p.prefill, m.vocab, 5);
    let t = performance.now();
    greedy(model.forward([pre]));
    row.prefillTokensPerSecond = p.prefill / ((performance.now() - t) / 1000);
    const p16: number[] = [];
    for (let r = 0; r < 3; r++) {
      t = performance.now();
      greedy(model.forward([randomIds(16, m.vocab, 11 + r)]));
      p16.push(16 / ((performance.now() - t) / 1000));
    }
    row.prefill16TokensPerSecond = p16.sort((a, b) => a - b)[1]!;
    peak.sample();

    // Decode with the KV cache: prompt, then newTokens greedy steps (timed).
    const prompt = randomIds(PROMPT, m.vocab, 7);
    const cache = model.createCache(1, PROMPT + p.newTokens + 1);
    try {
      let next = greedy(model.forward([prompt], { cache }));
      next = greedy(model.forward([[next]], { cache })); // warm step, untimed
      t = performance.now();
      for (let i = 0; i < p.newTokens; i++) {
        next = greedy(model.forward([[next]], { cache }));
        if (i % 8 === 0) peak.sample();
      }
      const decodeS = (performance.now() - t) / 1000;
      row.decodeTokensPerSecond = p.newTokens / decodeS;
      row.decodeMsPerToken = (decodeS * 1000) / p.newTokens;
    } finally {
      cache.dispose();
    }
    peak.sample();

    // Recompute: step i runs the whole PROMPT + i sequence. Timed at `recomputeSteps` evenly
    // spaced steps; the others are interpolated linearly (cost grows linearly with length here).
    const steps = Math.min(p.recomputeSteps, p.newTokens);
    const timedAt = steps >= p.newTokens ? [...Array(p.newTokens).keys()] : Array.from({ length: steps }, (_, k) => Math.round((k * (p.newTokens - 1)) / Math.max(1, steps - 1)));
    const seq = randomIds(PROMPT + p.newTokens, m.vocab, 7);
    const times: [number, number][] = [];
    for (const i of timedAt) {
      t = performance.now();
      greedy(model.forward([seq.slice(0, PROMPT + i)]));
      times.push([i, (performance.now() - t) / 1000]);
    }
    peak.sample();
    let total = 0;
    for (let i = 0; i < p.newTokens; i++) {
      const k = times.findIndex(([s]) => s >= i);
      const [s1, y1] = times[Math.max(0, k)]!;
      const [s0, y0] = times[Math.max(0, k - 1)]!;
      total += s1 === s0 ? y1 : y0 + ((y1 - y0) * (i - s0)) / (s1 - s0);
    }
    row.recomputeTokensPerSecond = p.newTokens / total;
    row.recomputeStepsTimed = timedAt.length;
    row.fractionOfBound = row.decodeTokensPerSecond / row.boundTokensPerSecond;
    row.kvSpeedup = row.decodeTokensPerSecond / row.recomputeTokensPerSecond;
    log(`${tag}: bandwidth ${(bandwidth / 1e9).toFixed(2)} GB/s; decode ${row.decodeTokensPerSecond.toFixed(2)} tok/s (${(row.fractionOfBound * 100).toFixed(0)}% of bound ${row.boundTokensPerSecond.toFixed(2)}), recompute ${row.recomputeTokensPerSecond.toFixed(3)} tok/s, prefill ${row.prefillTokensPerSecond.toFixed(1)} tok/s`);
  } catch (e) {
    row.error = describeError(e, m, backend);
    log(`${m.name} ${backend}: ${row.error}`);
  } finally {
    model?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    peak.sample();
    const heap = backend === 'wasm' ? wasmHeapBytes() : undefined;
    if (heap !== undefined) row.wasmHeapMB = heap / MB;
    row.peakRssMB = peak.rss / MB;
    row.peakTensorMB = peak.tensorBytes / MB;
  }
  return row;
}

/**
 * Runs the decode benchmark in-process. quick: 135M on wasm and cpu, the other shapes on wasm
 * only, shorter runs (recompute interpolated from a few timed steps).
 */
export async function runDecodeBench(options: DecodeBenchOptions): Promise<DecodeResult> {
  const log = options.log ?? (() => undefined);
  const backends = options.backends ?? ['wasm', 'cpu'];
  const models = BENCH_MODELS.filter((m) => !options.models || options.models.includes(m.name));
  const before = tf.getBackend();
  const rows: DecodeRow[] = [];
  // wasm last per model and 360M last overall: a wasm out-of-memory abort leaves that backend unusable.
  const order = [...backends].sort((a, b) => (a === 'wasm' ? 1 : 0) - (b === 'wasm' ? 1 : 0));
  for (const m of models) {
    for (const b of order) {
      if (options.quick && b !== 'wasm' && m.name !== 'smollm2-135m-shape') continue;
      for (const th of options.threads ?? [1]) {
        for (const k of options.kernels ?? [true]) {
          for (const d of k ? (options.dtypes ?? ['fp32']) : ['fp32' as const]) rows.push(await runRow(m, b, options.quick, th, k, d, log));
        }
      }
    }
  }
  if (before) await tf.setBackend(before).catch(() => false);
  return {
    machine: { memoryBandwidthGBps: Math.max(0, ...rows.map((x) => x.bandwidthGBps)), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', node: process.version, tfjs: tf.version.tfjs },
    settings: { quick: options.quick, promptTokens: PROMPT },
    results: rows,
  };
}

const fmt = (x: number | null | undefined, digits = 2): string => (x === null || x === undefined ? '-' : x.toFixed(digits));

/** Markdown table of a {@link DecodeResult}. */
export function decodeMarkdown(r: DecodeResult): string {
  const lines = [
    `Memory bandwidth (one thread, 512 MB Float32Array copy, best of the per-row measurements; each row's bound uses its own): ${r.machine.memoryBandwidthGBps.toFixed(2)} GB/s; ${r.machine.cpus} x ${r.machine.cpuModel}; Node ${r.machine.node}; tfjs ${r.machine.tfjs}${r.settings.quick ? ' (quick run)' : ''}.`,
    '',
    '| model | backend | threads | kernels | dtype | GB/s | decode tok/s | bound tok/s | % of bound | recompute tok/s | KV / recompute | prefill tok/s | prefill-16 tok/s | load MB/s | peak RSS MB | peak tensors MB | wasm heap MB | error |',
    '|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const x of r.results) {
    lines.push(`| ${x.model} | ${x.backend} | ${x.threads} | ${x.kernels ? 'on' : 'off'} | ${x.dtype} | ${fmt(x.bandwidthGBps)} | ${fmt(x.decodeTokensPerSecond)} | ${fmt(x.boundTokensPerSecond)} | ${x.fractionOfBound === undefined ? '-' : (x.fractionOfBound * 100).toFixed(0) + '%'} | ${fmt(x.recomputeTokensPerSecond, 3)} | ${fmt(x.kvSpeedup, 1)} | ${fmt(x.prefillTokensPerSecond, 1)} (${x.prefillTokens}) | ${fmt(x.prefill16TokensPerSecond, 1)} | ${fmt(x.loadMBps, 0)} | ${fmt(x.peakRssMB, 0)} | ${fmt(x.peakTensorMB, 0)} | ${fmt(x.wasmHeapMB, 0)} | ${x.error ?? ''} |`);
  }
  return lines.join('\n') + '\n';
}

/** `npm run bench -- decode`. */
export const decodeBenchmark: Benchmark = {
  name: 'decode',
  description: 'KV-cache decode vs recompute vs the memory-bandwidth bound (SmolLM2-135M/360M, Pythia-70M shapes)',
  async run(options: BenchOptions) {
    const backends = options.backends.filter((b): b is BackendName => b === 'cpu' || b === 'wasm' || b === 'webgpu');
    const r = await runDecodeBench({ quick: options.quick, backends, log: options.log });
    return r as unknown as Record<string, unknown>;
  },
  markdown: (r) => decodeMarkdown(r as unknown as DecodeResult),
};
