/**
 * Logits processors and samplers against independently computed distributions and transformers'
 * published definitions (RepetitionPenaltyLogitsProcessor, Top-P/Min-P warpers).
 */
import {
  applyLogitsProcessors,
  argmax,
  buildLogitsProcessors,
  createRng,
  minPProcessor,
  repetitionPenaltyProcessor,
  sampleFromScores,
  softmax,
  temperatureProcessor,
  topKProcessor,
  topPProcessor,
} from '../src/generation';
import { ConfigError, NonFiniteError } from '../src/core/errors';

/** Float64 softmax written independently of the library. */
function probs(logits: readonly number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

function randomLogits(rng: () => number, v: number, scale = 3): Float32Array {
  return Float32Array.from({ length: v }, () => (rng() * 2 - 1) * scale);
}

/** Draws `n` samples from `logits` through `chain` and returns the counts per id. */
function draw(logits: Float32Array, chainOptions: Parameters<typeof buildLogitsProcessors>[0], n: number, seed: number): number[] {
  const chain = buildLogitsProcessors(chainOptions, true);
  const rng = createRng(seed);
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < n; i++) {
    const id = sampleFromScores(applyLogitsProcessors(chain, logits, []), rng);
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}

describe('rng', () => {
  it('same seed, same stream; different seeds differ; values in [0, 1)', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xa = Array.from({ length: 1000 }, a);
    expect(Array.from({ length: 1000 }, b)).toEqual(xa);
    expect(Array.from({ length: 1000 }, c)).not.toEqual(xa);
    expect(xa.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xa.reduce((s, x) => s + x, 0) / xa.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
  });
});

describe('repetition penalty (transformers definition)', () => {
  it('divides positive and multiplies negative scores of ids in the sequence, once per id', () => {
    const scores = Float32Array.from([2, -2, 1, 0.5, -1, 3]);
    const out = repetitionPenaltyProcessor(2)(scores, [0, 1, 1, 4, 4, 4]);
    expect(Array.from(out)).toEqual([1, -4, 1, 0.5, -2, 3]);
  });
  it('a penalty below 1 favours repeats; 0 and negatives are rejected', () => {
    expect(Array.from(repetitionPenaltyProcessor(0.5)(Float32Array.from([2, -2]), [0, 1]))).toEqual([4, -1]);
    expect(() => repetitionPenaltyProcessor(0)).toThrow(ConfigError);
  });
  it('changes the greedy choice when the top token was already used', () => {
    const logits = Float32Array.from([5, 4.5, 1]);
    expect(argmax(applyLogitsProcessors(buildLogitsProcessors({ repetitionPenalty: 1.3 }, false), logits, [7, 0]))).toBe(1);
    expect(argmax(applyLogitsProcessors(buildLogitsProcessors({ repetitionPenalty: 1.05 }, false), logits, [0]))).toBe(0);
  });
});

describe('temperature and top-k', () => {
  it('temperature divides the scores', () => {
    expect(Array.from(temperatureProcessor(0.5)(Float32Array.from([1, -2, 0]), []))).toEqual([2, -4, 0]);
  });
  it('top-k keeps the k largest', () => {
    const out = topKProcessor(2)(Float32Array.from([0.1, 3, -1, 2, 0]), []);
    expect(Array.from(out)).toEqual([-Infinity, 3, -Infinity, 2, -Infinity]);
  });
  it('top-k 1 always draws the argmax', () => {
    const rng = createRng(1);
    for (let t = 0; t < 50; t++) {
      const logits = randomLogits(rng, 40);
      const counts = draw(logits, { topK: 1, temperature: 1.5 }, 20, t);
      expect(counts[argmax(logits)]).toBe(20);
    }
  });
});

describe('top-p', () => {
  it('never emits outside the nucleus, and draws follow the renormalised distribution', () => {
    const rng = createRng(7);
    for (let t = 0; t < 4; t++) {
      const logits = randomLogits(rng, 30);
      const topP = [0.3, 0.6, 0.8, 0.95][t] as number;
      const p = probs(Array.from(logits));
      // Independent nucleus: in descending order, a token is allowed when the mass strictly above it is < topP.
      const order = p.map((x, i) => [x, i] as const).sort((a, b) => b[0] - a[0]);
      const allowed = new Set<number>();
      let above = 0;
      for (const [x, i] of order) {
        if (above < topP) allowed.add(i);
        above += x;
      }
      const n = 8000;
      const counts = draw(logits, { topP }, n, 100 + t);
      const allowedMass = [...allowed].reduce((s, i) => s + (p[i] as number), 0);
      counts.forEach((c, i) => {
        if (!allowed.has(i)) expect(c).toBe(0);
        else expect(Math.abs(c / n - (p[i] as number) / allowedMass)).toBeLessThan(0.025);
      });
    }
  });
  it('keeps at least one token and rejects p outside (0, 1]', () => {
    const out = topPProcessor(0.01)(Float32Array.from([1, 5, 2]), []);
    expect(Array.from(out)).toEqual([-Infinity, 5, -Infinity]);
    expect(() => topPProcessor(0)).toThrow(ConfigError);
    expect(() => topPProcessor(1.5)).toThrow(ConfigError);
  });
});

describe('min-p', () => {
  it('never emits a token below minP times the top probability', () => {
    const rng = createRng(11);
    for (let t = 0; t < 4; t++) {
      const logits = randomLogits(rng, 30, 4);
      const minP = [0.05, 0.2, 0.5, 0.8][t] as number;
      const p = probs(Array.from(logits));
      const pMax = Math.max(...p);
      const allowed = new Set(p.map((x, i) => [x, i] as const).filter(([x]) => x >= minP * pMax).map(([, i]) => i));
      const n = 8000;
      const counts = draw(logits, { minP }, n, 200 + t);
      const allowedMass = [...allowed].reduce((s, i) => s + (p[i] as number), 0);
      counts.forEach((c, i) => {
        if (!allowed.has(i)) expect(c).toBe(0);
        else expect(Math.abs(c / n - (p[i] as number) / allowedMass)).toBeLessThan(0.025);
      });
    }
  });
  it('applies after temperature (a hotter distribution keeps more tokens)', () => {
    const logits = Float32Array.from([0, -1, -2, -3]);
    const keptCold = applyLogitsProcessors(buildLogitsProcessors({ temperature: 0.5, minP: 0.1 }, true), logits, []).filter(Number.isFinite).length;
    const keptHot = applyLogitsProcessors(buildLogitsProcessors({ temperature: 2, minP: 0.1 }, true), logits, []).filter(Number.isFinite).length;
    expect(keptCold).toBe(2); // exp(-2) = 0.135 >= 0.1, exp(-4) < 0.1
    expect(keptHot).toBe(4); // exp(-1.5) = 0.22
    expect(Array.from(minPProcessor(0.5)(Float32Array.from([0, Math.log(0.4)]), []))).toEqual([0, -Infinity]);
  });
});

describe('sampler', () => {
  it('draws proportionally to softmax(scores) and never draws -Infinity', () => {
    const logits = Float32Array.from([1, 2, -Infinity, 0.5]);
    const p = probs([1, 2, -1e30, 0.5]);
    const rng = createRng(3);
    const n = 40000;
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) (counts[sampleFromScores(logits, rng)] as number)++;
    expect(counts[2]).toBe(0);
    counts.forEach((c, i) => expect(Math.abs(c / n - (p[i] as number))).toBeLessThan(0.01));
    expect(Array.from(softmax(logits)).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
  it('argmax takes the first maximum; all -Infinity/NaN is an error', () => {
    expect(argmax(Float32Array.from([1, 3, 3, 2]))).toBe(1);
    expect(() => argmax(Float32Array.from([-Infinity, NaN]))).toThrow(NonFiniteError);
  });
  it('same seed, same draws', () => {
    const logits = randomLogits(createRng(5), 100);
    expect(draw(logits, { temperature: 0.8, topK: 20 }, 500, 9)).toEqual(draw(logits, { temperature: 0.8, topK: 20 }, 500, 9));
  });
});
