/**
 * `npm run fuzz -- [--cases N] [--seed S] [--parser NAME] [--timeout-ms T]`: seeded fuzzing of
 * every parser. Cases run in a watched child process: a case with no answer within the time limit
 * is a hang (the child is killed and a fresh one continues), a child that dies is a crash. Prints
 * counts by outcome as JSON, with the first findings; exits 1 when there is any finding.
 * The bench configuration is `npm run fuzz -- --cases 100000` (per parser); `npm run soak` is the
 * generation soak (bench/soak.ts).
 */
import { fork, type ChildProcess } from 'child_process';
import * as path from 'path';
import { parseArgs } from 'node:util';
import { FINDINGS, FUZZ_PARSERS, type FuzzOutcome, type FuzzParser } from './fuzz_cases';

/** Options of {@link runFuzz}. */
export interface FuzzOptions {
  /** Cases per parser. */
  cases: number;
  seed?: number;
  parsers?: readonly FuzzParser[];
  /** Time limit of one case (ms); default 2000. */
  timeoutMs?: number;
}

/** Counts by outcome for one parser, and up to 10 findings. */
export interface FuzzReport {
  readonly parser: FuzzParser;
  readonly counts: Record<FuzzOutcome, number>;
  readonly findings: { index: number; outcome: FuzzOutcome; detail?: string }[];
}

function startWorker(): ChildProcess {
  const worker = path.join(__dirname, 'fuzz_worker' + path.extname(__filename));
  const execArgv = path.extname(__filename) === '.ts' ? ['-r', path.join(__dirname, 'register_ts.cjs')] : [];
  return fork(worker, [], { execArgv, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
}

/** Runs `cases` seeded cases of one parser in watched child processes. */
async function fuzzParser(parser: FuzzParser, cases: number, seed: number, timeoutMs: number): Promise<FuzzReport> {
  const counts = Object.fromEntries(['accepted', 'typed', 'untyped', 'nonfinite', 'leak', 'hang', 'crash'].map((k) => [k, 0])) as Record<FuzzOutcome, number>;
  const findings: FuzzReport['findings'] = [];
  const note = (index: number, outcome: FuzzOutcome, detail?: string): void => {
    counts[outcome]++;
    if (FINDINGS.includes(outcome) && findings.length < 10) findings.push({ index, outcome, ...(detail ? { detail } : {}) });
  };
  let index = 0;
  while (index < cases) {
    const child = startWorker();
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      let settled = false;
      const finish = (): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        child.removeAllListeners();
        if (child.exitCode === null) child.kill('SIGKILL');
        resolve();
      };
      const next = (): void => {
        if (index >= cases) return finish();
        if (timer) clearTimeout(timer);
        // The first case of a fresh child also pays for loading tfjs.
        timer = setTimeout(() => {
          note(index, 'hang', `no answer within ${timeoutMs} ms`);
          index++;
          finish();
        }, timeoutMs);
        child.send({ parser, seed, index });
      };
      child.on('message', (m: { ready?: boolean; index?: number; outcome?: FuzzOutcome; detail?: string }) => {
        if (m.ready) {
          next();
          return;
        }
        note(m.index!, m.outcome!, m.detail);
        index++;
        next();
      });
      child.on('exit', (code, signal) => {
        if (settled) return;
        note(index, 'crash', `child exited (code ${code}, signal ${signal})`);
        index++;
        finish();
      });
    });
  }
  return { parser, counts, findings };
}

/** Seeded fuzzing of each parser; see the file comment. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport[]> {
  const out: FuzzReport[] = [];
  for (const p of options.parsers ?? FUZZ_PARSERS) out.push(await fuzzParser(p, options.cases, options.seed ?? 1, options.timeoutMs ?? 2000));
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { cases: { type: 'string' }, seed: { type: 'string' }, parser: { type: 'string' }, 'timeout-ms': { type: 'string' } },
    strict: true,
  });
  const cases = Number(values.cases ?? 1000);
  const parsers = values.parser ? (values.parser.split(',') as FuzzParser[]) : FUZZ_PARSERS;
  for (const p of parsers) if (!FUZZ_PARSERS.includes(p)) throw new Error(`unknown parser '${p}'; known: ${FUZZ_PARSERS.join(', ')}`);
  if (!Number.isInteger(cases) || cases < 1) throw new Error(`--cases must be a positive integer, got ${values.cases}`);
  const t0 = Date.now();
  const reports = await runFuzz({ cases, seed: Number(values.seed ?? 1), parsers, timeoutMs: Number(values['timeout-ms'] ?? 2000) });
  const findings = reports.reduce((n, r) => n + FINDINGS.reduce((m, o) => m + r.counts[o], 0), 0);
  process.stdout.write(JSON.stringify({ cases, seconds: (Date.now() - t0) / 1000, findings, reports }, null, 2) + '\n');
  if (findings > 0) process.exitCode = 1;
}

if (require.main === module) void main();
