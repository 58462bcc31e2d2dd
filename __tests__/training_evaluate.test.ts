/**
 * LOOM's DeviationMetrics (training.md section 9) on a crafted example computed by hand.
 */
import { evaluateModel, evaluateNetwork, predictionOf, worstSamples, DEVIATION_BUCKETS } from '../src/training';
import { ShapeError } from '../src/core/errors';
import { useBackend } from '../src/backends';
import { denseNet } from './helpers/train_nets';

describe('evaluation metrics', () => {
  test('crafted example: every bucket rule, score and average by hand', () => {
    //  i  expected  actual   deviation                      bucket     score
    //  0  0         0.05     |0.05 - 0| * 100 = 5 (|e|<1e-10) 0-10%      95
    //  1  10        11.5     |1.5 / 10| * 100 = 15            10-20%     85
    //  2  2         3        |1 / 2| * 100 = 50               40-50%     50
    //  3  -4        -4       0                                0-10%      100
    //  4  1         NaN      NaN -> 100 (not a failure)       50-100%    0
    //  5  1         3.5      250                              100%+      0 (failure)
    const m = evaluateModel([0, 10, 2, -4, 1, 1], [0.05, 11.5, 3, -4, Number.NaN, 3.5]);
    expect(m.results.map((r) => r.bucket)).toEqual(['0-10%', '10-20%', '40-50%', '0-10%', '50-100%', '100%+']);
    expect(m.results.map((r) => r.deviation)).toEqual([
      expect.closeTo(5, 9), expect.closeTo(15, 9), 50, 0, 100, 250,
    ]);
    expect(m.total_samples).toBe(6);
    expect(m.failures).toBe(1);
    expect(m.score).toBeCloseTo(330 / 6, 9);
    expect(m.avg_deviation).toBeCloseTo(420 / 6, 9);
    expect(m.buckets['0-10%']).toEqual({ range_min: 0, range_max: 10, count: 2, samples: [0, 3] });
    expect(m.buckets['100%+']).toEqual({ range_min: 100, range_max: null, count: 1, samples: [5] });
    expect(m.buckets['20-30%']?.count).toBe(0);
    expect(Object.keys(m.buckets)).toEqual(DEVIATION_BUCKETS.map((b) => b.name));
    expect(JSON.parse(JSON.stringify(m)).buckets['100%+'].range_max).toBeNull(); // LOOM: +Inf, unserialisable
    expect(worstSamples(m, 2).map((r) => r.sample_index)).toEqual([5, 4]);
  });

  test('no samples: score and average 0; mismatched sizes are ShapeErrors with LOOM\'s text', () => {
    const m = evaluateModel([], []);
    expect([m.score, m.avg_deviation, m.total_samples]).toEqual([0, 0, 0]);
    expect(() => evaluateModel([1], [])).toThrow(new ShapeError('mismatched expected (1) vs actual (0) output sizes'));
  });

  test('prediction rule: single output is the value, else the first argmax', () => {
    expect(predictionOf([0.7])).toBeCloseTo(0.7);
    expect(predictionOf([0.1, 0.5, 0.5])).toBe(1);
  });

  test('evaluateNetwork runs with batch size 1 and restores it', async () => {
    await useBackend('cpu');
    const net = denseNet([3, 2], [1], 4, 1);
    try {
      const m = evaluateNetwork(net, [[1, 2, 3], [0, 0, 0]], [0, 1]);
      expect(m.total_samples).toBe(2);
      expect(net.batchSize).toBe(4);
      expect(() => evaluateNetwork(net, [[1, 2, 3]], [0, 1])).toThrow('mismatched inputs (1) vs expected outputs (2)');
    } finally {
      net.dispose();
    }
  });
});
