/**
 * `npm run soak [-- --tokens N] [--seed S]`: a long generation soak with the built-in model, in a
 * watched child process. Generations (seeded sampling) are ended at every step in turn, each way a
 * caller can end one: an AbortSignal, `return()` (a `break`), running to the end, or dropping the
 * iterator half-way (freed at garbage collection). After each, the live tensor count must be back
 * at its baseline; at the end the process's memory must not have grown by more than 64 MiB.
 * Prints counts by outcome as JSON; exits 1 on any finding. A generation with no progress report
 * within 10 s is a hang; a child that dies is a crash.
 */
import { fork } from 'child_process';
import * as path from 'path';
import { parseArgs } from 'node:util';

/** How a soak generation is ended. */
export const END_MODES = ['signal', 'return', 'finish', 'drop'] as const;

/** Result of a soak run. */
export interface SoakReport {
  readonly tokens: number;
  readonly generations: number;
  readonly counts: { ok: number; leak: number; typed: number; untyped: number; hang: number; crash: number };
  /** Growth of the child's resident memory from after warm-up to the end (bytes). */
  readonly rssGrowth: number;
  readonly findings: string[];
}

interface ChildMessage {
  kind: 'progress' | 'done';
  outcome?: 'ok' | 'leak' | 'typed' | 'untyped';
  detail?: string;
  tokens?: number;
  generations?: number;
  rssGrowth?: number;
}

async function child(tokens: number, seed: number): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  await import('../src/backends');
  const { loadBuiltinModel } = await import('../src/builtin_model');
  const { generateStream } = await import('../src/generation');
  const { LoomError } = await import('../src/core/errors');
  const gc = (globalThis as { gc?: () => void }).gc;
  const { model, tokenizer } = await loadBuiltinModel();
  const base = tf.memory().numTensors;
  const send = (m: ChildMessage): void => void process.send?.(m);
  let rss0 = 0;
  let total = 0;
  let g = 0;
  const runOne = async (mode: (typeof END_MODES)[number], endAt: number, controller: AbortController, g: number): Promise<void> => {
    const it = generateStream(model, tokenizer, '', {
      maxNewTokens: 60, temperature: 0.9, seed: seed * 100_003 + g, stopTokenIds: [],
      signal: controller.signal,
      onToken: ({ index }) => {
        total++;
        if (mode === 'signal' && index >= endAt) controller.abort();
      },
    });
    for (let steps = 0; ; steps++) {
      if ((mode === 'return' || mode === 'drop') && steps >= endAt) {
        if (mode === 'return') await it.return(undefined as never);
        return;
      }
      const r = await it.next();
      if (r.done) return;
    }
  };
  for (; total < tokens; g++) {
    const mode = END_MODES[g % END_MODES.length]!;
    const endAt = Math.floor(g / END_MODES.length) % 40; // every step in turn
    const controller = new AbortController();
    let outcome: ChildMessage['outcome'] = 'ok';
    let detail: string | undefined;
    try {
      // In its own function so a dropped iterator is not kept alive by this frame's registers.
      await runOne(mode, endAt, controller, g);
      if (mode === 'drop') {
        // The dropped iterator's cache is freed by its finalizer once it is garbage.
        for (let i = 0; i < 20 && tf.memory().numTensors !== base && gc; i++) {
          gc();
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      if (tf.memory().numTensors !== base && (mode !== 'drop' || gc)) {
        outcome = 'leak';
        detail = `generation ${g} (${mode} at ${endAt}): ${tf.memory().numTensors - base} tensors left`;
      }
    } catch (e) {
      outcome = e instanceof LoomError ? 'typed' : 'untyped';
      detail = `generation ${g}: ${String(e)}`;
    }
    if (g === 3) rss0 = process.memoryUsage().rss;
    send({ kind: 'progress', outcome, ...(detail ? { detail } : {}) });
  }
  gc?.();
  send({ kind: 'done', tokens: total, generations: g, rssGrowth: process.memoryUsage().rss - rss0 });
  model.dispose();
}

/** Runs the soak in a watched child process. */
export async function runSoak(options: { tokens: number; seed?: number; stallMs?: number }): Promise<SoakReport> {
  const ts = path.extname(__filename) === '.ts';
  const execArgv = ['--expose-gc', ...(ts ? ['-r', path.join(__dirname, 'register_ts.cjs')] : [])];
  const proc = fork(__filename, ['--child', '--tokens', String(options.tokens), '--seed', String(options.seed ?? 1)], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const counts = { ok: 0, leak: 0, typed: 0, untyped: 0, hang: 0, crash: 0 };
  const findings: string[] = [];
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | null = null;
    let done: ChildMessage | null = null;
    const finish = (): void => {
      if (timer) clearTimeout(timer);
      proc.removeAllListeners();
      if (proc.exitCode === null) proc.kill('SIGKILL');
      resolve({ tokens: done?.tokens ?? 0, generations: done?.generations ?? 0, counts, rssGrowth: done?.rssGrowth ?? 0, findings: findings.slice(0, 10) });
    };
    const arm = (): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        counts.hang++;
        findings.push(`no progress within ${options.stallMs ?? 10_000} ms`);
        finish();
      }, options.stallMs ?? 10_000);
    };
    arm();
    proc.on('message', (m: ChildMessage) => {
      if (m.kind === 'done') {
        done = m;
        if (m.rssGrowth !== undefined && m.rssGrowth > 64 * 2 ** 20) findings.push(`memory grew by ${(m.rssGrowth / 2 ** 20).toFixed(0)} MiB`);
        finish();
        return;
      }
      counts[m.outcome ?? 'ok']++;
      if (m.outcome !== 'ok' && m.outcome !== 'typed' && m.detail) findings.push(m.detail);
      arm();
    });
    proc.on('exit', (code, signal) => {
      if (done) return;
      counts.crash++;
      findings.push(`child exited (code ${code}, signal ${signal}): ${stderr.trim().slice(-500)}`);
      finish();
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { tokens: { type: 'string' }, seed: { type: 'string' }, child: { type: 'boolean' } }, strict: true });
  const tokens = Number(values.tokens ?? 10_000);
  const seed = Number(values.seed ?? 1);
  if (!Number.isInteger(tokens) || tokens < 1) throw new Error(`--tokens must be a positive integer, got ${values.tokens}`);
  if (values.child) return child(tokens, seed);
  const t0 = Date.now();
  const report = await runSoak({ tokens, seed });
  process.stdout.write(JSON.stringify({ seconds: (Date.now() - t0) / 1000, ...report }, null, 2) + '\n');
  if (report.findings.length > 0 || report.counts.leak + report.counts.untyped + report.counts.hang + report.counts.crash > 0) process.exitCode = 1;
}

if (require.main === module) void main();
