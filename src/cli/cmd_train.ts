/**
 * `loom train`: a LOOM JSON network + a JSON or CSV dataset -> the trained network as LOOM JSON,
 * with a progress bar on stderr. Uses `train()` (Ref: loom-spec/training.md).
 */
import * as fs from 'fs';
import { parseArgs } from 'node:util';
import { UsageError, type CliCommand, type CliIO } from './command';
import { backendFlag, numberFlag, writableOutFlag } from './flags';
import { loadModelFromString, listModelIds, saveModelToString } from '../../loaders/loom_json';
import { useBackend } from '../backends';
import { ConfigError } from '../core/errors';
import { train, progressBar, OPTIMIZER_TYPES, type OptimizerConfig, type TrainingBatch, type LossType } from '../training/index';

const USAGE = `usage: loom train --model NET.json --data DATA.json|DATA.csv --out TRAINED.json
                  [--id MODEL_ID] [--epochs N] [--lr X] [--optimizer sgd|momentum|adam|adamw|rmsprop]
                  [--loss mse|cross_entropy] [--targets K] [--shuffle] [--seed S]
                  [--backend cpu|wasm|webgpu] [--quiet]

Trains the LOOM network in NET.json (model MODEL_ID, default the first) on DATA and writes the
trained network, as LOOM JSON, to TRAINED.json. Samples are grouped into batches of the network's
batch_size. A progress bar goes to stderr (--quiet: none); the final loss is printed on stdout.

DATA formats:
  JSON  [{"input": [...], "target": [...]}, ...]  or  {"inputs": [[...]], "targets": [[...]]}
  CSV   one sample per line, numbers only (a header line is skipped); the last K columns
        (--targets, default 1) are the target, the others the input

Defaults: --epochs 10, --lr 0.01, --optimizer sgd (LOOM's update), --loss mse.`;

/** One sample. */
interface Sample {
  input: number[];
  target: number[];
}

function numbers(row: unknown, what: string): number[] {
  if (!Array.isArray(row) || row.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    throw new ConfigError(`${what}: expected an array of finite numbers`);
  }
  return row as number[];
}

/** Parses a dataset file's text (JSON or CSV, told apart by `file`'s extension or its first character). */
export function parseDataset(text: string, file: string, targetColumns = 1): Sample[] {
  const trimmed = text.trim();
  if (file.toLowerCase().endsWith('.json') || trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch (e) {
      throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`);
    }
    if (Array.isArray(doc)) {
      return doc.map((s, i) => {
        const o = s as { input?: unknown; target?: unknown; Input?: unknown; Target?: unknown };
        return { input: numbers(o.input ?? o.Input, `${file}: sample ${i} input`), target: numbers(o.target ?? o.Target, `${file}: sample ${i} target`) };
      });
    }
    const o = doc as { inputs?: unknown; targets?: unknown };
    if (!Array.isArray(o.inputs) || !Array.isArray(o.targets) || o.inputs.length !== o.targets.length) {
      throw new ConfigError(`${file}: expected [{input, target}, ...] or {inputs: [...], targets: [...]} of equal lengths`);
    }
    const targets = o.targets;
    return o.inputs.map((x, i) => ({ input: numbers(x, `${file}: inputs[${i}]`), target: numbers(targets[i], `${file}: targets[${i}]`) }));
  }
  const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() !== '');
  const rows = lines.map((l) => l.split(',').map((c) => Number(c.trim())));
  if (rows.length > 0 && (rows[0] as number[]).some((v) => Number.isNaN(v))) rows.shift(); // header
  return rows.map((r, i) => {
    if (r.some((v) => !Number.isFinite(v))) throw new ConfigError(`${file}: line ${i + 1}: not a list of numbers`);
    if (r.length <= targetColumns) throw new ConfigError(`${file}: line ${i + 1}: ${r.length} columns, need more than --targets ${targetColumns}`);
    return { input: r.slice(0, r.length - targetColumns), target: r.slice(r.length - targetColumns) };
  });
}

/** Groups samples into batches of `size` (a remainder that does not fill a batch is dropped). */
export function toBatches(samples: readonly Sample[], size: number): TrainingBatch[] {
  const out: TrainingBatch[] = [];
  for (let i = 0; i + size <= samples.length; i += size) {
    const part = samples.slice(i, i + size);
    out.push({ input: part.flatMap((s) => s.input), target: part.flatMap((s) => s.target) });
  }
  return out;
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      id: { type: 'string' },
      data: { type: 'string' },
      out: { type: 'string' },
      epochs: { type: 'string' },
      lr: { type: 'string' },
      optimizer: { type: 'string' },
      loss: { type: 'string' },
      targets: { type: 'string' },
      shuffle: { type: 'boolean' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      quiet: { type: 'boolean' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.model === undefined || values.data === undefined || values.out === undefined) throw new UsageError('--model, --data and --out are required');
  writableOutFlag(values.out, '--out'); // before training, not after every epoch
  const epochs = numberFlag(values.epochs, '--epochs', { integer: true, positive: true, default: 10 });
  const lr = numberFlag(values.lr, '--lr', { positive: true, default: 0.01 });
  const targets = numberFlag(values.targets, '--targets', { integer: true, positive: true, default: 1 });
  const opt = values.optimizer ?? 'sgd';
  if (!(OPTIMIZER_TYPES as readonly string[]).includes(opt)) throw new UsageError(`--optimizer: expected one of ${OPTIMIZER_TYPES.join(', ')}, got '${opt}'`);
  const loss = values.loss ?? 'mse';
  if (loss !== 'mse' && loss !== 'cross_entropy') throw new UsageError(`--loss: expected mse or cross_entropy, got '${loss}'`);
  const backend = backendFlag(values.backend);
  const seed = numberFlag(values.seed, '--seed', { integer: true, positive: true });
  if (backend !== undefined) await useBackend(backend);

  const text = fs.readFileSync(values.model, 'utf8');
  const id = values.id ?? listModelIds(text)[0];
  if (id === undefined) throw new ConfigError(`${values.model}: the bundle holds no model`);
  const net = loadModelFromString(text, id);
  try {
    const samples = parseDataset(fs.readFileSync(values.data, 'utf8'), values.data, targets);
    const batches = toBatches(samples, net.batchSize);
    if (batches.length === 0) throw new ConfigError(`${values.data}: ${samples.length} samples do not fill one batch of ${net.batchSize}`);
    const sink = { write: (s: string) => io.stderr(s), isTTY: process.stderr.isTTY === true && io.stderr === undefined };
    const r = await train(net, batches, {
      epochs,
      learningRate: lr,
      optimizer: { type: opt } as OptimizerConfig,
      loss: loss as LossType,
      shuffle: values.shuffle ?? false,
      ...(seed !== undefined ? { seed } : {}),
      ...(values.quiet ? {} : { progress: progressBar({ stream: sink }) }),
    });
    fs.writeFileSync(values.out, saveModelToString(net, id));
    io.stdout(`trained '${id}' for ${r.epochsCompleted} epochs on ${batches.length} batches: loss ${r.lossHistory[0]?.toPrecision(6)} -> ${r.finalLoss.toPrecision(6)}; wrote ${values.out}\n`);
    return 0;
  } finally {
    net.dispose();
  }
}

/** `loom train`. */
export const trainCommand: CliCommand = { name: 'train', summary: 'train a LOOM JSON network on a JSON/CSV dataset (progress bar on stderr)', usage: USAGE, run };
