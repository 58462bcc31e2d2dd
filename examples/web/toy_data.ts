/**
 * Built-in toy datasets of the network builder page, and ready-made network presets for them.
 */
import { createRng } from '../../src/index';

/** One sample: input vector and target vector. */
export interface Sample {
  input: number[];
  target: number[];
}

/** A toy dataset. */
export interface ToyDataset {
  name: string;
  label: string;
  inputSize: number;
  outputSize: number;
  /** Targets are one-hot classes (report accuracy). */
  classification: boolean;
  samples: Sample[];
}

function circles(): Sample[] {
  const rng = createRng(5);
  const out: Sample[] = [];
  for (let i = 0; i < 80; i++) {
    const x = rng() * 2 - 1;
    const y = rng() * 2 - 1;
    const inside = x * x + y * y < 0.45;
    out.push({ input: [x, y], target: inside ? [1, 0] : [0, 1] });
  }
  return out;
}

/** Every toy dataset, by name. */
export const TOY_DATASETS: readonly ToyDataset[] = [
  {
    name: 'xor',
    label: 'XOR (2 inputs -> 1 output, 4 samples)',
    inputSize: 2,
    outputSize: 1,
    classification: false,
    samples: [
      { input: [0, 0], target: [0] },
      { input: [0, 1], target: [1] },
      { input: [1, 0], target: [1] },
      { input: [1, 1], target: [0] },
    ],
  },
  {
    name: 'sine',
    label: 'Sine wave (x -> sin x, 32 samples)',
    inputSize: 1,
    outputSize: 1,
    classification: false,
    samples: Array.from({ length: 32 }, (_, i) => {
      const x = (i / 31) * 2 * Math.PI;
      return { input: [x / Math.PI - 1], target: [0.5 + 0.4 * Math.sin(x)] };
    }),
  },
  {
    name: 'circles',
    label: 'Circle: inside or outside (2 -> 2 classes, 80 samples)',
    inputSize: 2,
    outputSize: 2,
    classification: true,
    samples: circles(),
  },
];

/** One grid position of a preset: an init function and its arguments (as typed in the form). */
export interface PresetLayer {
  kind: string;
  init: string;
  args: string[];
}

/** A network + training preset. */
export interface Preset {
  name: string;
  label: string;
  rows: number;
  cols: number;
  layersPerCell: number;
  dataset: string;
  layers: PresetLayer[];
  epochs: number;
  learningRate: number;
  optimizer: 'sgd' | 'adam';
  loss: 'mse' | 'cross_entropy';
}

/** Ready-made networks for the toy datasets. */
export const PRESETS: readonly Preset[] = [
  {
    name: 'xor',
    label: 'XOR classifier: Dense 2→8 tanh, Dense 8→1 sigmoid',
    rows: 1,
    cols: 1,
    layersPerCell: 2,
    dataset: 'xor',
    layers: [
      { kind: 'dense', init: 'InitDenseLayer', args: ['2', '8', 'tanh'] },
      { kind: 'dense', init: 'InitDenseLayer', args: ['8', '1', 'sigmoid'] },
    ],
    epochs: 150,
    learningRate: 0.05,
    optimizer: 'adam',
    loss: 'mse',
  },
  {
    name: 'sine',
    label: 'Sine regression: 1×3 grid of Dense layers',
    rows: 1,
    cols: 3,
    layersPerCell: 1,
    dataset: 'sine',
    layers: [
      { kind: 'dense', init: 'InitDenseLayer', args: ['1', '16', 'tanh'] },
      { kind: 'dense', init: 'InitDenseLayer', args: ['16', '16', 'tanh'] },
      { kind: 'dense', init: 'InitDenseLayer', args: ['16', '1', 'sigmoid'] },
    ],
    epochs: 120,
    learningRate: 0.01,
    optimizer: 'adam',
    loss: 'mse',
  },
  {
    name: 'circles',
    label: 'Circle classifier: Dense, LayerNorm, Dense, Softmax + cross entropy',
    rows: 2,
    cols: 2,
    layersPerCell: 1,
    dataset: 'circles',
    layers: [
      { kind: 'dense', init: 'InitDenseLayer', args: ['2', '16', 'tanh'] },
      { kind: 'layer_norm', init: 'InitLayerNormLayer', args: ['16', '0.00001'] },
      { kind: 'dense', init: 'InitDenseLayer', args: ['16', '2', 'linear'] },
      { kind: 'softmax', init: 'InitSoftmaxLayer', args: [] },
    ],
    epochs: 60,
    learningRate: 0.02,
    optimizer: 'adam',
    loss: 'cross_entropy',
  },
];
