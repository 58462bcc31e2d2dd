/**
 * example.html: build a LOOM grid network from layer pickers (every layer kind of the registry,
 * through its init functions), show `describe()` as a table and a grid diagram, train it on a toy
 * dataset with a live loss chart, evaluate it, and save/load LOOM JSON (localStorage or files).
 */
import {
  ACTIVATION_NAMES,
  LAYER_KINDS,
  Network,
  createRng,
  loadModelFromString,
  saveModelToString,
  train,
  useBackend,
  type LayerKind,
  type LayerRecord,
  type NetworkDescription,
  type ResidualMode,
} from '../../src/index';
import { byId, describeError, download, formatCount, formatNum, guarded, h, numberValue, showError } from './common';
import { drawLossChart } from './loss_chart';
import { PRESETS, TOY_DATASETS, type Preset, type ToyDataset } from './toy_data';

/** A LOOM-style layer constructor of the registry (`InitDenseLayer`, ...). */
type LayerInitFunction = NonNullable<LayerKind['initFunctions']>[number];

const STORAGE_KEY = 'loom-tfjs:example-network';

const el = {
  error: byId('error'),
  preset: byId<HTMLSelectElement>('preset'),
  rows: byId<HTMLInputElement>('rows'),
  cols: byId<HTMLInputElement>('cols'),
  lpc: byId<HTMLInputElement>('lpc'),
  batch: byId<HTMLInputElement>('batch'),
  residual: byId<HTMLSelectElement>('residual'),
  slots: byId('slots'),
  build: byId<HTMLButtonElement>('build'),
  buildStatus: byId('build-status'),
  summary: byId('summary'),
  diagram: byId('diagram'),
  describe: byId<HTMLTableElement>('describe'),
  dataset: byId<HTMLSelectElement>('dataset'),
  epochs: byId<HTMLInputElement>('epochs'),
  lr: byId<HTMLInputElement>('lr'),
  optimizer: byId<HTMLSelectElement>('optimizer'),
  lossFn: byId<HTMLSelectElement>('lossfn'),
  train: byId<HTMLButtonElement>('train'),
  stopTrain: byId<HTMLButtonElement>('stop-train'),
  evaluate: byId<HTMLButtonElement>('evaluate'),
  chart: byId<HTMLCanvasElement>('chart'),
  loss: byId('loss'),
  firstLoss: byId('first-loss'),
  epoch: byId('epoch'),
  metric: byId('metric'),
  metricLabel: byId('metric-label'),
  trainStatus: byId('train-status'),
  evalTable: byId<HTMLTableElement>('eval-table'),
  save: byId<HTMLButtonElement>('save'),
  load: byId<HTMLButtonElement>('load'),
  download: byId<HTMLButtonElement>('download'),
  upload: byId<HTMLInputElement>('upload'),
  ioStatus: byId('io-status'),
};

let net: Network | null = null;
let abort: AbortController | null = null;
let history: number[] = [];
const rng = createRng(1234);

// ---------- layer pickers ----------

interface Slot {
  kind: HTMLSelectElement;
  init: HTMLSelectElement;
  args: HTMLElement;
}
const slots: Slot[] = [];

function kindNamed(name: string): LayerKind {
  const k = LAYER_KINDS.find((x) => x.name === name);
  if (!k) throw new Error(`unknown layer kind ${name}`);
  return k;
}

function initOf(slot: Slot): LayerInitFunction {
  const fns = kindNamed(slot.kind.value).initFunctions ?? [];
  const f = fns.find((x) => x.name === slot.init.value) ?? fns[0];
  if (!f) throw new Error(`layer kind ${slot.kind.value} has no init function`);
  return f;
}

function argInput(type: string, name: string, value: string | undefined): HTMLElement {
  const label = h('label', { class: 'field' }, `${name} (${type.replace('nn.', '')})`);
  let input: HTMLInputElement | HTMLSelectElement;
  if (type === 'nn.ActivationType') {
    input = h('select', {}, ...ACTIVATION_NAMES.map((a) => h('option', { value: a, text: a })));
    input.value = value ?? 'linear';
  } else {
    const numeric = type === 'int' || type === 'float32';
    input = h('input', { type: numeric ? 'number' : 'text', step: type === 'float32' ? 'any' : '1' });
    input.value = value ?? (type === 'int' ? '4' : type === 'float32' ? '1' : type === '[]nn.LayerConfig' ? 'InitDenseLayer(4,4,tanh); InitDenseLayer(4,4,sigmoid)' : type === 'string' ? 'concat' : '[]');
  }
  input.dataset['argType'] = type;
  label.append(input);
  return label;
}

function renderArgs(slot: Slot, values?: string[]): void {
  const f = initOf(slot);
  slot.args.replaceChildren(...f.argTypes.map((t, i) => argInput(t, f.argNames[i] ?? `arg${i}`, values?.[i])));
  if (f.argTypes.length === 0) slot.args.append(h('div', { class: 'status', text: 'no arguments' }));
}

function renderInits(slot: Slot, initName?: string): void {
  const fns = kindNamed(slot.kind.value).initFunctions ?? [];
  slot.init.replaceChildren(...fns.map((f) => h('option', { value: f.name, text: f.name })));
  if (initName) slot.init.value = initName;
}

function renderSlots(preset?: Preset): void {
  const n = Math.max(1, numberValue(el.rows, 1) * numberValue(el.cols, 1) * numberValue(el.lpc, 1));
  const cols = numberValue(el.cols, 1);
  const lpc = numberValue(el.lpc, 1);
  while (slots.length > n) slots.pop();
  el.slots.replaceChildren();
  for (let i = 0; i < n; i++) {
    const existing = slots[i];
    const p = preset?.layers[i];
    const slot: Slot = existing ?? {
      kind: h('select', {}, ...LAYER_KINDS.map((k) => h('option', { value: k.name, text: k.name }))),
      init: h('select'),
      args: h('div', { class: 'row' }),
    };
    if (!existing) {
      slot.kind.value = 'dense';
      slot.kind.addEventListener('change', () => (renderInits(slot), renderArgs(slot)));
      slot.init.addEventListener('change', () => renderArgs(slot));
      slots[i] = slot;
      renderInits(slot);
      renderArgs(slot);
    }
    if (p) {
      slot.kind.value = p.kind;
      renderInits(slot, p.init);
      renderArgs(slot, p.args);
    }
    const r = Math.floor(i / (cols * lpc));
    const c = Math.floor(i / lpc) % cols;
    const l = i % lpc;
    el.slots.append(
      h('div', { class: 'layer-slot' }, h('div', { class: 'slot-head', text: `layer ${i} · row ${r}, col ${c}, layer ${l}` }), h('div', { class: 'row' }, h('label', { class: 'field' }, 'type', slot.kind), h('label', { class: 'field' }, 'init', slot.init)), slot.args),
    );
  }
}

/** `InitDenseLayer(4,4,tanh); ...` -> records (Parallel branches). */
function parseCalls(text: string): LayerRecord[] {
  return text
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((call) => {
      const m = /^(\w+)\s*\((.*)\)$/.exec(call);
      if (!m) throw new Error(`branch "${call}": expected InitXxx(arg, ...)`);
      const f = LAYER_KINDS.flatMap((k) => k.initFunctions ?? []).find((x) => x.name === m[1]);
      if (!f) throw new Error(`branch "${call}": unknown init function ${m[1]}`);
      const raw = (m[2] ?? '').trim() === '' ? [] : (m[2] ?? '').split(',').map((s) => s.trim());
      return f.create(f.argTypes.map((t, i) => convertArg(t, raw[i] ?? '', `${m[1]} argument ${i + 1}`)), rng);
    });
}

function convertArg(type: string, raw: string, where: string): unknown {
  switch (type) {
    case 'int':
    case 'float32': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v) || (type === 'int' && !Number.isInteger(v))) throw new Error(`${where}: expected ${type === 'int' ? 'an integer' : 'a number'}, got "${raw}"`);
      return v;
    }
    case 'nn.ActivationType': {
      const i = ACTIVATION_NAMES.indexOf(raw);
      if (i < 0) throw new Error(`${where}: unknown activation "${raw}"`);
      return i;
    }
    case '[]nn.LayerConfig':
      return parseCalls(raw);
    case 'string':
      return raw;
    default:
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw new Error(`${where}: expected JSON like [1,2], got "${raw}"`);
      }
  }
}

function buildFromSlots(): Network {
  const grid = { rows: numberValue(el.rows, 1), cols: numberValue(el.cols, 1), layersPerCell: numberValue(el.lpc, 1) };
  const records = slots.map((slot, i) => {
    const f = initOf(slot);
    const inputs = [...slot.args.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')];
    const args = f.argTypes.map((t, j) => convertArg(t, inputs[j]?.value ?? '', `layer ${i} ${f.name}, ${f.argNames[j] ?? j}`));
    return f.create(args, rng);
  });
  return Network.fromRecords(grid, records, { batchSize: numberValue(el.batch, 1), residualMode: el.residual.value as ResidualMode });
}

// ---------- structure ----------

function renderStructure(): void {
  if (!net) return;
  const d: NetworkDescription = net.describe();
  el.summary.textContent = `${d.grid.rows}×${d.grid.cols} grid, ${d.grid.layersPerCell} layer(s) per cell · batch ${d.batchSize} · residuals ${d.residualMode} · ${formatCount(d.totalParameters)} parameters (${(d.tensorBytes / 1024).toFixed(1)} KB)`;
  el.diagram.replaceChildren(
    ...Array.from({ length: d.grid.rows }, (_, r) =>
      h(
        'div',
        { class: 'grid-row' },
        ...Array.from({ length: d.grid.cols }, (_, c) =>
          h('div', { class: 'grid-cell' }, h('div', { class: 'addr', text: `cell (${r}, ${c})` }), ...d.layers.filter((l) => l.row === r && l.col === c).map((l) => h('div', { class: 'grid-layer', title: l.detail, text: `${l.index}: ${l.type}` }))),
        ),
      ),
    ),
  );
  const head = h('tr', {}, ...['#', 'position', 'type', 'detail', 'in', 'out', 'params'].map((t, i) => h('th', { class: i >= 4 ? 'num' : '', text: t })));
  el.describe.replaceChildren(
    h('thead', {}, head),
    h(
      'tbody',
      {},
      ...d.layers.map((l) =>
        h('tr', {}, h('td', { text: l.index }), h('td', { text: `${l.row},${l.col},${l.layer}` }), h('td', { text: l.type }), h('td', { text: l.detail }), h('td', { class: 'num', text: l.inputSize ?? '–' }), h('td', { class: 'num', text: l.outputSize ?? '–' }), h('td', { class: 'num', text: formatCount(l.parameters) })),
      ),
    ),
  );
}

function setNetwork(n: Network, how: string): void {
  net?.dispose();
  net = n;
  history = [];
  drawLossChart(el.chart, history);
  for (const e of [el.loss, el.firstLoss, el.epoch, el.metric]) e.textContent = '–';
  el.evalTable.replaceChildren();
  el.buildStatus.textContent = how;
  renderStructure();
}

// ---------- training ----------

function dataset(): ToyDataset {
  return TOY_DATASETS.find((d) => d.name === el.dataset.value) ?? (TOY_DATASETS[0] as ToyDataset);
}

/** Samples grouped into batches of the network's batch size (a tail that does not fill one is dropped). */
function batches(n: Network, ds: ToyDataset): { input: number[]; target: number[] }[] {
  const b = n.batchSize;
  const out: { input: number[]; target: number[] }[] = [];
  for (let i = 0; i + b <= ds.samples.length; i += b) {
    const group = ds.samples.slice(i, i + b);
    out.push({ input: group.flatMap((s) => s.input), target: group.flatMap((s) => s.target) });
  }
  return out;
}

function checkFits(n: Network, ds: ToyDataset): void {
  const expected = n.expectedInputSize();
  if (expected !== undefined && expected !== n.batchSize * ds.inputSize) {
    throw new Error(`the network takes ${expected / n.batchSize} inputs per sample but "${ds.name}" has ${ds.inputSize}; change the first layer or the dataset`);
  }
}

async function runTraining(): Promise<void> {
  if (!net) throw new Error('build a network first');
  const ds = dataset();
  checkFits(net, ds);
  const data = batches(net, ds);
  if (data.length === 0) throw new Error(`batch size ${net.batchSize} is larger than the ${ds.samples.length} samples of "${ds.name}"`);
  history = [];
  abort = new AbortController();
  el.train.disabled = true;
  el.stopTrain.disabled = false;
  el.trainStatus.textContent = 'training…';
  const epochs = Math.max(1, Math.floor(numberValue(el.epochs, 100)));
  try {
    const result = await train(net, data, {
      epochs,
      learningRate: numberValue(el.lr, 0.01),
      optimizer: { type: el.optimizer.value === 'sgd' ? 'sgd' : 'adam' },
      loss: el.lossFn.value === 'cross_entropy' ? 'cross_entropy' : 'mse',
      shuffle: true,
      seed: 7,
      signal: abort.signal,
      yieldEveryMs: 30,
      callbacks: {
        onEpochEnd: ({ epoch, loss }) => {
          history.push(loss);
          el.loss.textContent = formatNum(loss);
          el.loss.dataset['value'] = String(loss);
          if (epoch === 0) {
            el.firstLoss.textContent = formatNum(loss);
            el.loss.dataset['first'] = String(loss);
          }
          el.epoch.textContent = `${epoch + 1} / ${epochs}`;
          drawLossChart(el.chart, history, `${el.lossFn.value} loss`);
        },
      },
    });
    el.trainStatus.textContent = `${result.stopReason === 'aborted' ? 'stopped' : 'done'}: ${result.epochsCompleted} epochs in ${(result.totalTimeMs / 1000).toFixed(1)} s, ${result.samplesPerSecond.toFixed(0)} samples/s`;
    el.trainStatus.dataset['state'] = 'done';
    evaluate();
  } finally {
    abort = null;
    el.train.disabled = false;
    el.stopTrain.disabled = true;
  }
}

function evaluate(): void {
  if (!net) throw new Error('build a network first');
  const ds = dataset();
  checkFits(net, ds);
  const b = net.batchSize;
  let se = 0;
  let correct = 0;
  let count = 0;
  const rows: HTMLElement[] = [];
  for (const group of batches(net, ds)) {
    const y = net.forward(group.input);
    for (let s = 0; s < b; s++) {
      const pred = Array.from(y.subarray(s * ds.outputSize, (s + 1) * ds.outputSize));
      const target = group.target.slice(s * ds.outputSize, (s + 1) * ds.outputSize);
      pred.forEach((p, i) => (se += (p - (target[i] as number)) ** 2));
      const argmax = (a: number[]): number => a.indexOf(Math.max(...a));
      if (ds.classification && argmax(pred) === argmax(target)) correct++;
      count++;
      if (rows.length < 8) {
        const input = group.input.slice(s * ds.inputSize, (s + 1) * ds.inputSize);
        rows.push(h('tr', {}, h('td', { class: 'kv', text: input.map((v) => v.toFixed(2)).join(', ') }), h('td', { class: 'kv', text: target.map((v) => v.toFixed(2)).join(', ') }), h('td', { class: 'kv', text: pred.map((v) => v.toFixed(3)).join(', ') })));
      }
    }
  }
  const mse = se / Math.max(1, count * ds.outputSize);
  el.metricLabel.textContent = ds.classification ? 'accuracy' : 'mean squared error';
  el.metric.textContent = ds.classification ? `${((100 * correct) / Math.max(1, count)).toFixed(0)}%` : formatNum(mse);
  el.evalTable.replaceChildren(h('thead', {}, h('tr', {}, h('th', { text: 'input' }), h('th', { text: 'target' }), h('th', { text: 'prediction' }))), h('tbody', {}, ...rows));
}

// ---------- save / load ----------

function loadText(text: string, from: string): void {
  const n = loadModelFromString(text);
  el.rows.value = String(n.grid.rows);
  el.cols.value = String(n.grid.cols);
  el.lpc.value = String(n.grid.layersPerCell);
  el.batch.value = String(n.batchSize);
  setNetwork(n, `loaded from ${from} (the layer pickers above still show the last design)`);
}

function applyPreset(p: Preset): void {
  el.rows.value = String(p.rows);
  el.cols.value = String(p.cols);
  el.lpc.value = String(p.layersPerCell);
  el.batch.value = '1';
  el.dataset.value = p.dataset;
  el.epochs.value = String(p.epochs);
  el.lr.value = String(p.learningRate);
  el.optimizer.value = p.optimizer;
  el.lossFn.value = p.loss;
  renderSlots(p);
  setNetwork(buildFromSlots(), `built: ${p.label}`);
}

async function main(): Promise<void> {
  el.preset.replaceChildren(...PRESETS.map((p) => h('option', { value: p.name, text: p.label })), h('option', { value: 'custom', text: 'Custom (keep the current layers)' }));
  el.dataset.replaceChildren(...TOY_DATASETS.map((d) => h('option', { value: d.name, text: d.label })));
  await useBackend('cpu'); // tiny networks: plain JS has the least per-op overhead
  applyPreset(PRESETS[0] as Preset);
  el.preset.addEventListener('change', guarded(el.error, () => {
    const p = PRESETS.find((x) => x.name === el.preset.value);
    if (p) applyPreset(p);
  }));
  for (const i of [el.rows, el.cols, el.lpc]) i.addEventListener('change', () => renderSlots());
  el.build.addEventListener('click', guarded(el.error, () => setNetwork(buildFromSlots(), 'built from the layer pickers')));
  el.train.addEventListener('click', guarded(el.error, runTraining));
  el.stopTrain.addEventListener('click', () => abort?.abort());
  el.evaluate.addEventListener('click', guarded(el.error, evaluate));
  el.save.addEventListener('click', guarded(el.error, () => {
    if (!net) throw new Error('build a network first');
    const text = saveModelToString(net, 'example');
    localStorage.setItem(STORAGE_KEY, text);
    localStorage.setItem(`${STORAGE_KEY}:dataset`, el.dataset.value);
    el.ioStatus.textContent = `saved in this browser (${(text.length / 1024).toFixed(1)} KB of LOOM JSON)`;
  }));
  el.load.addEventListener('click', guarded(el.error, () => {
    const text = localStorage.getItem(STORAGE_KEY);
    if (text === null) throw new Error('nothing saved in this browser yet: press "Save in browser" first');
    loadText(text, 'this browser');
    const ds = localStorage.getItem(`${STORAGE_KEY}:dataset`);
    if (ds && TOY_DATASETS.some((d) => d.name === ds)) el.dataset.value = ds;
    el.ioStatus.textContent = 'loaded the network saved in this browser';
  }));
  el.download.addEventListener('click', guarded(el.error, () => {
    if (!net) throw new Error('build a network first');
    download('loom-network.json', saveModelToString(net, 'example'));
  }));
  el.upload.addEventListener('change', guarded(el.error, async () => {
    const f = el.upload.files?.[0];
    if (!f) return;
    loadText(await f.text(), f.name);
    el.ioStatus.textContent = `opened ${f.name}`;
  }));
  window.addEventListener('resize', () => drawLossChart(el.chart, history));
}

main().catch((e: unknown) => showError(el.error, describeError(e)));
