/**
 * CI-sized run of the seeded fuzz harness (bench/fuzz.ts; `npm run fuzz -- --cases N` for more,
 * `npm run soak` for 100,000 per parser): every case either loads with finite results or gives a
 * typed LoomError; no untyped error, leak, hang over 2 s or crash. And a short generation soak
 * (bench/soak.ts; `npm run soak` runs 10,000 tokens) ending generations at every step, each way.
 */
import { runFuzz } from '../bench/fuzz';
import { runSoak } from '../bench/soak';
import { FINDINGS, FUZZ_PARSERS } from '../bench/fuzz_cases';

jest.setTimeout(120_000);

test('3,000 seeded cases (600 per parser) in watched child processes: no findings', async () => {
  const reports = await runFuzz({ cases: 600, seed: 20261204, timeoutMs: 2000 });
  expect(reports.map((r) => r.parser)).toEqual([...FUZZ_PARSERS]);
  for (const r of reports) {
    const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(600);
    // The mutations must reach the parsers' error paths and also produce loadable files.
    expect(r.counts.typed).toBeGreaterThan(100);
    for (const o of FINDINGS) expect({ parser: r.parser, outcome: o, n: r.counts[o], findings: r.findings }).toEqual({ parser: r.parser, outcome: o, n: 0, findings: [] });
  }
  expect(reports.reduce((n, r) => n + r.counts.accepted, 0)).toBeGreaterThan(20);
});

test('generation soak: 600 tokens, generations ended at every step by signal / return / finish / drop, no leak', async () => {
  const r = await runSoak({ tokens: 600, seed: 7 });
  expect(r.findings).toEqual([]);
  expect(r.tokens).toBeGreaterThanOrEqual(600);
  expect(r.counts).toEqual({ ok: r.generations, leak: 0, typed: 0, untyped: 0, hang: 0, crash: 0 });
  expect(r.generations).toBeGreaterThan(20);
});
