/**
 * LOOM records of grid layers for tfjs models (docs/from-tfjs.md): `RMSNormLayer.record` and
 * `DenseLayer.record` copy the given weights and leave no tensor behind, where
 * `new RMSNormLayer(cfg, gamma).toRecord()` keeps the layer's variable alive.
 * Reference: the weights given, and `tf.memory().numTensors`.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as path from 'path';
import { DenseLayer } from '../layers/dense';
import { RMSNormLayer } from '../layers/rms_norm';
import { Activation } from '../src/core/types';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('layer records without leaked variables', () => {
  test('RMSNormLayer.record copies gamma and leaves no tensor behind', () => {
    const before = tf.memory().numTensors;
    const r = RMSNormLayer.record({ type: 'rms_norm', normSize: 4, epsilon: 1e-6, activation: 0 }, new Float32Array([1, 2, 3, 4]));
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(r.gamma ?? [])).toEqual([1, 2, 3, 4]);
    expect(r.normSize).toBe(4);
  });

  test('DenseLayer.record copies kernel and bias (or none) and leaves no tensor behind', () => {
    const before = tf.memory().numTensors;
    const kernel = new Float32Array([1, 2, 3, 4, 5, 6]);
    const r = DenseLayer.record({ type: 'dense', inputSize: 3, outputSize: 2, activation: Activation.Sigmoid }, { kernel, bias: new Float32Array([0.5, -0.5]) });
    const empty = DenseLayer.record({ type: 'dense', inputSize: 3, outputSize: 2, activation: Activation.Sigmoid }, null);
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(r.kernel ?? [])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(r.bias ?? [])).toEqual([0.5, -0.5]);
    expect(r.outputHeight).toBe(2);
    expect(empty.kernel?.length ?? 0).toBe(0);
  });

  test('bad sizes fail as in the constructor, leaving nothing allocated', () => {
    const before = tf.memory().numTensors;
    expect(() => RMSNormLayer.record({ type: 'rms_norm', normSize: 4, epsilon: 1e-6, activation: 0 }, new Float32Array(3))).toThrow(/gamma has 3 values, expected norm size 4/);
    expect(() => DenseLayer.record({ type: 'dense', inputSize: 3, outputSize: 2, activation: 0 }, { kernel: new Float32Array(5), bias: new Float32Array(2) })).toThrow(/kernel has 5 values/);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('the guide no longer shows the leaking `new ...Layer(...).toRecord()` pattern', () => {
    const guide = fs.readFileSync(path.join(__dirname, '..', 'docs', 'from-tfjs.md'), 'utf8');
    expect(guide).not.toMatch(/new (RMSNorm|Dense)Layer\([^;]*\)\.toRecord\(\)/);
    expect(guide).toContain('RMSNormLayer.record(');
  });
});
