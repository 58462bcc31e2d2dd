/**
 * bench peer: loom-tfjs beside onnxruntime-web (transformers.js's engine) on the same
 * SmolLM2-135M-shaped fp32 weights, interleaved round by round in one run, as ratios.
 *
 * Uses ../shared/peer-bench (see its README; `setup.sh` builds the ONNX graphs and the HF checkpoint
 * into a work folder, default /tmp/peer-bench). Each round runs, one process at a time, for every
 * thread count: the peer (`bench.js MODEL THREADS`) and loom-tfjs through its public API
 * (`loom_decode.js ROOT DIR --threads N`, needs `npm run build`). Each line carries `otherCpuCores`
 * (how busy the rest of the machine was): compare ratios from quiet rounds.
 *
 *   npm run build && node dist/bench/peer.js [--peer DIR] [--scripts DIR] [--threads 1,2] [--rounds 3]
 *     [--graph std|ms] [--dtypes fp32,bf16,q8,q4] [--out FILE]
 *   node dist/bench/peer.js --contended [--threads 1,2]: ours with another process spinning on one core
 * Our fp32 and bf16 rows run beside the peer's fp32 graph; q8 and q4 beside its dq8 graph (int8
 * weights with DynamicQuantizeMatMul: transformers.js's default q8 on wasm). A peer run is shared by
 * the rows of one round that compare against the same graph and thread count.
 * or `npm run bench -- peer` (settings from LOOM_PEER_DIR, LOOM_PEER_THREADS, LOOM_PEER_ROUNDS).
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'node:util';
import { median, type Benchmark } from './bench';

/** loom-tfjs weight dtypes the bench runs (`loom_decode.js --dtype`). */
export type PeerDtype = 'fp32' | 'bf16' | 'q8' | 'q4';

/** The peer graph each of our dtypes is compared with. */
export const PEER_GRAPH_FOR: Readonly<Record<PeerDtype, 'fp32' | 'dq8'>> = { fp32: 'fp32', bf16: 'fp32', q8: 'dq8', q4: 'dq8' };

/** One JSON line of a run (the fields both scripts print). */
interface RunLine {
  decodeTokS?: number;
  prefillTokS?: number;
  peakRssMB?: number;
  otherCpuCores?: number;
  lastTok?: number;
  error?: string;
}

/** Options of {@link runPeerBench}. */
export interface PeerBenchOptions {
  /** peer-bench work folder (models/, hf/, node_modules/). */
  peerDir: string;
  /** Folder of the peer-bench scripts (bench.js, loom_decode.js); default: `peerDir`. */
  scriptsDir?: string;
  /** loom-tfjs package root (holds dist/). */
  root: string;
  threads: readonly number[];
  rounds: number;
  /** ONNX graph variant: std (standard ops) or ms (com.microsoft fused ops). */
  graph: 'std' | 'ms';
  /** Our dtypes (default fp32 only). */
  dtypes?: readonly PeerDtype[];
  log?: (line: string) => void;
}

/** Per thread count: every round's lines and the medians / ratios. */
export interface PeerRow {
  /** Our weight dtype, and the peer graph file it ran beside. */
  dtype: PeerDtype;
  peerModel: string;
  threads: number;
  peer: RunLine[];
  loom: RunLine[];
  peerDecodeTokS: number | null;
  loomDecodeTokS: number | null;
  decodeRatio: number | null;
  peerPrefillTokS: number | null;
  loomPrefillTokS: number | null;
  prefillRatio: number | null;
  /** Median otherCpuCores over both libraries' runs (0 = quiet machine). */
  otherCpuCores: number | null;
  /** Whether both ended the 64 greedy steps on the same token in every round. */
  sameLastToken: boolean;
}

function runJson(args: string[], cwd: string): RunLine {
  try {
    const out = execFileSync(process.execPath, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
    const last = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
    return last ? (JSON.parse(last) as RunLine) : { error: 'no JSON line' };
  } catch (e) {
    const err = e as { stdout?: string; message?: string };
    const last = (err.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
    return last ? (JSON.parse(last) as RunLine) : { error: err.message ?? String(e) };
  }
}

const med = (xs: (number | undefined)[]): number | null => {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? median(v) : null;
};

/** Runs the interleaved rounds. */
export function runPeerBench(o: PeerBenchOptions): { settings: Record<string, unknown>; rows: PeerRow[] } {
  const log = o.log ?? (() => undefined);
  const scripts = o.scriptsDir ?? o.peerDir;
  const dtypes = o.dtypes ?? ['fp32'];
  // The dq8 graph exists only as the com.microsoft variant (setup.sh builds llama_ms_dq8.onnx).
  const modelFor = (d: PeerDtype): string =>
    path.join(o.peerDir, 'models', PEER_GRAPH_FOR[d] === 'dq8' ? 'llama_ms_dq8.onnx' : `llama_${o.graph}_fp32.onnx`);
  const hf = path.join(o.peerDir, 'hf', 'smollm2-135m-shape');
  const needed = [path.join(scripts, 'bench.js'), path.join(scripts, 'loom_decode.js'), ...dtypes.map(modelFor), hf, path.join(o.root, 'dist', 'src', 'index.js')];
  for (const f of needed) {
    if (!fs.existsSync(f)) throw new Error(`bench peer: ${f} not found (run ../shared/peer-bench/setup.sh and npm run build)`);
  }
  const rows: PeerRow[] = dtypes.flatMap((dtype) => o.threads.map((threads) => ({
    dtype, peerModel: path.basename(modelFor(dtype)), threads, peer: [], loom: [], peerDecodeTokS: null, loomDecodeTokS: null, decodeRatio: null,
    peerPrefillTokS: null, loomPrefillTokS: null, prefillRatio: null, otherCpuCores: null, sameLastToken: true,
  })));
  for (let r = 0; r < o.rounds; r++) {
    const peerRuns = new Map<string, RunLine>();
    for (const row of rows) {
      // bench.js resolves onnxruntime-web from its own folder: run it from the work folder.
      const key = `${row.peerModel}/${row.threads}`;
      let peer = peerRuns.get(key);
      if (!peer) {
        peer = runJson([path.join(scripts, 'bench.js'), modelFor(row.dtype), String(row.threads)], o.peerDir);
        peerRuns.set(key, peer);
      }
      const loom = runJson([path.join(scripts, 'loom_decode.js'), o.root, hf, '--threads', String(row.threads), '--dtype', row.dtype], o.root);
      row.peer.push(peer);
      row.loom.push(loom);
      log(`round ${r + 1} ${row.dtype} threads ${row.threads}: peer ${peer.decodeTokS ?? peer.error} tok/s, loom ${loom.decodeTokS ?? loom.error} tok/s (other cores ${peer.otherCpuCores} / ${loom.otherCpuCores})`);
    }
  }
  for (const row of rows) {
    row.peerDecodeTokS = med(row.peer.map((x) => x.decodeTokS));
    row.loomDecodeTokS = med(row.loom.map((x) => x.decodeTokS));
    row.peerPrefillTokS = med(row.peer.map((x) => x.prefillTokS));
    row.loomPrefillTokS = med(row.loom.map((x) => x.prefillTokS));
    // Ratio of medians and the per-round ratios' median agree on a quiet machine; per round is robust to drift.
    const dr = row.peer.map((p, i) => (p.decodeTokS && row.loom[i]?.decodeTokS ? row.loom[i]!.decodeTokS! / p.decodeTokS : undefined));
    const pr = row.peer.map((p, i) => (p.prefillTokS && row.loom[i]?.prefillTokS ? row.loom[i]!.prefillTokS! / p.prefillTokS : undefined));
    row.decodeRatio = med(dr);
    row.prefillRatio = med(pr);
    row.otherCpuCores = med([...row.peer, ...row.loom].map((x) => x.otherCpuCores));
    row.sameLastToken = row.peer.every((p, i) => p.lastTok !== undefined && p.lastTok === row.loom[i]?.lastTok);
  }
  return { settings: { graph: o.graph, rounds: o.rounds, threads: o.threads, dtypes, hf }, rows };
}

/** Our decode with one core kept busy by another process: 1 thread vs N threads, interleaved. */
export interface ContendedRow {
  threads: number;
  runs: RunLine[];
  decodeTokS: number | null;
}

/**
 * Runs `loom_decode.js` (fp32) at each thread count while a second process spins on one core, round
 * by round: the pool must degrade towards 1-thread speed, never far below it (issue: "2 threads while
 * another process keeps one core busy: not slower than 1 thread by more than 10%").
 */
export function runContended(o: Pick<PeerBenchOptions, 'peerDir' | 'scriptsDir' | 'root' | 'threads' | 'rounds' | 'log'>): ContendedRow[] {
  const scripts = o.scriptsDir ?? o.peerDir;
  const hf = path.join(o.peerDir, 'hf', 'smollm2-135m-shape');
  const rows: ContendedRow[] = o.threads.map((threads) => ({ threads, runs: [], decodeTokS: null }));
  const busy = spawn(process.execPath, ['-e', 'const end = Date.now() + 3600e3; while (Date.now() < end) {}'], { stdio: 'ignore' });
  try {
    for (let r = 0; r < o.rounds; r++) {
      for (const row of rows) {
        const line = runJson([path.join(scripts, 'loom_decode.js'), o.root, hf, '--threads', String(row.threads)], o.root);
        row.runs.push(line);
        o.log?.(`contended round ${r + 1} threads ${row.threads}: ${line.decodeTokS ?? line.error} tok/s`);
      }
    }
  } finally {
    busy.kill('SIGKILL');
  }
  for (const row of rows) row.decodeTokS = med(row.runs.map((x) => x.decodeTokS));
  return rows;
}

/** Markdown table of a peer result. */
export function peerMarkdown(r: { rows: PeerRow[] }): string {
  const f = (x: number | null, d = 2) => (x === null ? '-' : x.toFixed(d));
  const rss = (xs: RunLine[]) => med(xs.map((x) => x.peakRssMB));
  const lines = [
    '| loom dtype | peer graph | threads | peer decode tok/s | loom decode tok/s | decode ratio | peer prefill-16 tok/s | loom prefill-16 tok/s | prefill ratio | peer / loom peak RSS MB | other CPU cores | same last token |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const x of r.rows) {
    lines.push(`| ${x.dtype} | ${x.peerModel} | ${x.threads} | ${f(x.peerDecodeTokS)} | ${f(x.loomDecodeTokS)} | ${f(x.decodeRatio)} | ${f(x.peerPrefillTokS, 1)} | ${f(x.loomPrefillTokS, 1)} | ${f(x.prefillRatio)} | ${f(rss(x.peer), 0)} / ${f(rss(x.loom), 0)} | ${f(x.otherCpuCores)} | ${x.sameLastToken} |`);
  }
  return lines.join('\n') + '\n';
}

const DEFAULT_PEER = process.env.LOOM_PEER_DIR ?? '/tmp/peer-bench';
const intList = (s: string): number[] => s.split(',').map((x) => Number(x.trim()));
const dtypeList = (s: string): PeerDtype[] =>
  s.split(',').map((x) => {
    const d = x.trim();
    if (!(d in PEER_GRAPH_FOR)) throw new Error(`bench peer: --dtypes items are fp32, bf16, q8, q4; got '${d}'`);
    return d as PeerDtype;
  });

/** `npm run bench -- peer`. */
export const peerBenchmark: Benchmark = {
  name: 'peer',
  description: 'decode and prefill-16 tok/s vs onnxruntime-web on the same weights, interleaved (needs ../shared/peer-bench set up)',
  async run(options) {
    const rounds = Number(process.env.LOOM_PEER_ROUNDS ?? (options.quick ? 1 : 3));
    if (!fs.existsSync(path.join(DEFAULT_PEER, 'models'))) return { skipped: `${DEFAULT_PEER} is not set up (run ../shared/peer-bench/setup.sh; LOOM_PEER_DIR picks another folder)` };
    const r = runPeerBench({
      peerDir: DEFAULT_PEER, root: process.cwd(), threads: intList(process.env.LOOM_PEER_THREADS ?? '1,2'), rounds, graph: 'std',
      dtypes: dtypeList(process.env.LOOM_PEER_DTYPES ?? 'fp32'), log: options.log,
    });
    return r as unknown as Record<string, unknown>;
  },
  markdown: (r) => ('rows' in r ? peerMarkdown(r as unknown as { rows: PeerRow[] }) : `skipped: ${String(r.skipped)}\n`),
};

if (require.main === module) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      peer: { type: 'string' }, scripts: { type: 'string' }, threads: { type: 'string' }, rounds: { type: 'string' }, graph: { type: 'string' },
      dtypes: { type: 'string' }, contended: { type: 'boolean' }, out: { type: 'string' },
    },
    strict: true,
  });
  const root = path.resolve(__dirname, '..', '..');
  const common = {
    peerDir: values.peer ?? DEFAULT_PEER,
    ...(values.scripts ? { scriptsDir: values.scripts } : {}),
    root,
    threads: intList(values.threads ?? '1,2'),
    rounds: Number(values.rounds ?? 3),
    log: (l: string) => process.stderr.write(`${l}\n`),
  };
  const out = values.out ?? path.join(root, 'bench', 'results', values.contended ? 'peer_contended.json' : 'peer.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  if (values.contended) {
    // npm run build && node dist/bench/peer.js --contended [--threads 1,2] [--rounds 3]
    const rows = runContended(common);
    fs.writeFileSync(out, JSON.stringify({ settings: { contended: true, rounds: common.rounds }, rows }, null, 2) + '\n');
    process.stdout.write(['| threads (one core busy) | loom decode tok/s |', '|---:|---:|', ...rows.map((r) => `| ${r.threads} | ${r.decodeTokS?.toFixed(2) ?? '-'} |`)].join('\n') + '\n');
  } else {
    const result = runPeerBench({ ...common, graph: values.graph === 'ms' ? 'ms' : 'std', dtypes: dtypeList(values.dtypes ?? 'fp32') });
    fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(peerMarkdown(result));
  }
}
