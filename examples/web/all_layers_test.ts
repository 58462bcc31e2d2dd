/**
 * all_layers_test.html: open a LOOM JSON file (model bundle, network config, or a bundled
 * reference sample), run it, show every layer's output, and self-check every layer type against
 * outputs stored from the Go LOOM.
 */
import { Network, buildNetworkFromJSON, loadModelFromString, useBackend } from '../../src/index';
import { byId, describeError, formatNum, guarded, h, setStatus, showError } from './common';

/** One stored forward pass: input, LOOM's output and (optionally) every layer's output. */
interface SampleForward {
  input: number[];
  expected: number[];
  layer_outputs?: number[][];
}

/**
 * A reference sample: a bundled one (examples/web/samples/*.json, outputs under `expected`) or a
 * Go-written LOOM golden file (outputs under `output`), normalised by {@link parseSample}.
 */
interface Sample {
  name: string;
  description: string;
  covers: string[];
  model_id: string;
  model_json: string;
  loom_compat?: boolean;
  note?: string;
  known_deviation?: string;
  forward: SampleForward[];
}

interface SampleIndex {
  samples: { file: string; name: string; description: string; covers: string[] }[];
}

const TOLERANCE = 1e-4;

const el = {
  error: byId('error'),
  file: byId<HTMLInputElement>('loom-file'),
  sample: byId<HTMLSelectElement>('sample'),
  info: byId('model-info'),
  input: byId<HTMLTextAreaElement>('input'),
  inputHint: byId('input-hint'),
  run: byId<HTMLButtonElement>('run'),
  random: byId<HTMLButtonElement>('random'),
  result: byId('result'),
  layers: byId('layers'),
  selfCheck: byId<HTMLButtonElement>('self-check'),
  selfCheckSummary: byId('self-check-summary'),
  selfCheckCard: byId('self-check-card'),
  selfCheckTable: byId<HTMLTableElement>('self-check-table'),
};

let net: Network | null = null;
let current: Sample | null = null;
let index: SampleIndex = { samples: [] };

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNumbers(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number');
}

/**
 * Reads a reference sample: bundled samples store each forward output as `expected`, LOOM's
 * golden files as `output`; both become `expected`.
 * @throws Error naming the file and the forward record that lacks `input` or an output array.
 */
function parseSample(parsed: Record<string, unknown>, name: string): Sample {
  const raw = parsed['forward'] ?? [];
  if (!Array.isArray(raw)) throw new Error(`${name}: "forward" must be an array of {input, output}, got ${typeof raw}`);
  const forward = raw.map((f: unknown, i): SampleForward => {
    const rec = isObject(f) ? f : {};
    const input = rec['input'];
    const expected = rec['expected'] ?? rec['output'];
    if (!isNumbers(input) || !isNumbers(expected)) throw new Error(`${name}: forward[${i}] needs number arrays "input" and "output" (or "expected")`);
    const layers = rec['layer_outputs'];
    return { input, expected, ...(Array.isArray(layers) && layers.every(isNumbers) ? { layer_outputs: layers } : {}) };
  });
  const covers = parsed['covers'];
  return {
    ...(parsed as unknown as Sample),
    name: typeof parsed['name'] === 'string' ? parsed['name'] : name,
    description: typeof parsed['description'] === 'string' ? parsed['description'] : '',
    covers: Array.isArray(covers) ? covers.map(String) : [],
    forward,
  };
}

/** The network of a reference sample, in LOOM-compatible mode unless the sample says otherwise. */
function sampleNetwork(s: Sample): Network {
  return loadModelFromString(s.model_json, undefined, { loomCompat: s.loom_compat ?? true });
}

/** `size` random values in [-1, 1) as the input box's text. */
function randomInput(size: number): string {
  return Array.from({ length: size }, () => (Math.random() * 2 - 1).toFixed(3)).join(', ');
}

/** Builds a network from file text: a reference sample, a LOOM bundle, or a network config. */
function networkFromText(text: string, name: string): { n: Network; sample: Sample | null; kind: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name} is not JSON: ${describeError(e)}`);
  }
  if (!isObject(parsed)) throw new Error(`${name}: expected a JSON object, got ${Array.isArray(parsed) ? 'an array' : typeof parsed}`);
  if (typeof parsed['model_json'] === 'string') {
    const s = parseSample(parsed, name);
    return { n: sampleNetwork(s), sample: s, kind: 'reference sample' };
  }
  if (parsed['type'] === 'modelhost/bundle' || Array.isArray(parsed['models'])) return { n: loadModelFromString(text), sample: null, kind: 'LOOM model bundle' };
  if ('layers' in parsed && ('grid_rows' in parsed || 'batch_size' in parsed)) {
    const n = buildNetworkFromJSON(text);
    n.initializeWeights();
    return { n, sample: null, kind: 'network config (fresh weights)' };
  }
  throw new Error(`${name}: not a LOOM file: expected a model bundle ({"type": "modelhost/bundle", "models": [...]}) or a network config ({"grid_rows": ..., "layers": [...]}); found keys ${Object.keys(parsed).slice(0, 6).join(', ')}`);
}

function setModel(n: Network, sample: Sample | null, label: string): void {
  net?.dispose();
  net = n;
  current = sample;
  const d = n.describe();
  const types = [...new Set(d.layers.map((l) => l.type))].join(', ');
  setStatus(el.info, `${label} · ${d.grid.rows}×${d.grid.cols}×${d.grid.layersPerCell} grid, batch ${d.batchSize}, ${d.totalParameters} parameters · ${types}`, 'ok');
  const size = n.expectedInputSize();
  el.inputHint.textContent = size !== undefined ? `${size} values (comma separated)` : 'comma separated (size depends on the first layer)';
  el.input.value = sample?.forward[0]?.input.join(', ') ?? randomInput(size ?? 8);
  el.run.disabled = false;
  el.random.disabled = false;
  setStatus(el.result, 'Press Run.');
  el.layers.replaceChildren();
}

function bars(values: Float32Array): HTMLElement {
  const shown = values.subarray(0, 96);
  const max = Math.max(1e-9, ...Array.from(shown, Math.abs));
  return h('div', { class: 'bars' }, ...Array.from(shown, (v) => {
    const bar = h('i', { class: v < 0 ? 'neg' : '' });
    bar.style.height = `${Math.max(2, (Math.abs(v) / max) * 100)}%`;
    return bar;
  }));
}

function run(): void {
  if (!net) throw new Error('load a model first');
  const values = el.input.value.split(/[\s,]+/).filter(Boolean).map(Number);
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`input value ${bad + 1} is not a number`);
  const size = net.expectedInputSize();
  if (size !== undefined && values.length !== size) throw new Error(`the model takes ${size} input values, got ${values.length}`);
  const t0 = performance.now();
  const y = net.forward(values);
  const ms = performance.now() - t0;
  const acts = net.getActivations();
  const forward = current?.forward.find((f) => f.input.length === values.length && f.input.every((v, i) => Math.fround(v) === Math.fround(values[i] as number)));
  const d = net.describe();
  el.layers.replaceChildren(
    ...d.layers.map((l, i) => {
      const out = acts[i + 1] ?? new Float32Array(0);
      const want = forward?.layer_outputs?.[i];
      const diff = want ? maxAbsDiff(out, want) : null;
      const stats = out.length ? `min ${formatNum(Math.min(...out))}, max ${formatNum(Math.max(...out))}` : 'empty';
      return h(
        'div',
        { class: 'layer-out' },
        h('div', { class: 'name', text: `layer ${i} · ${l.type} (${l.detail})` }),
        h('div', { class: 'status', text: `${out.length} values · ${stats}${diff !== null ? ` · vs LOOM ${diff.toExponential(1)}` : ''}` }),
        bars(out),
        h('div', { class: 'kv', text: Array.from(out.subarray(0, 10), (v) => formatNum(v)).join(', ') + (out.length > 10 ? ', …' : '') }),
      );
    }),
  );
  if (forward) {
    const diff = maxAbsDiff(y, forward.expected);
    const ok = diff <= TOLERANCE;
    setStatus(el.result, `${y.length} outputs in ${ms.toFixed(1)} ms · max |difference| to LOOM's output ${diff.toExponential(2)} · ${ok ? 'PASS' : 'FAIL'}`, ok ? 'ok' : 'bad');
    el.result.dataset['verdict'] = ok ? 'pass' : 'fail';
  } else {
    setStatus(el.result, `${y.length} outputs in ${ms.toFixed(1)} ms: ${Array.from(y.subarray(0, 8), (v) => formatNum(v)).join(', ')}${y.length > 8 ? ', …' : ''}`, 'ok');
    el.result.dataset['verdict'] = 'ran';
  }
}

async function fetchSample(file: string): Promise<Sample> {
  const res = await fetch(`samples/${file}`);
  if (!res.ok) throw new Error(`samples/${file}: HTTP ${res.status}`);
  const parsed: unknown = await res.json();
  if (!isObject(parsed)) throw new Error(`samples/${file}: expected a JSON object`);
  return parseSample(parsed, file);
}

async function selfCheck(): Promise<void> {
  el.selfCheck.disabled = true;
  el.selfCheckCard.classList.remove('hidden');
  const rows: HTMLElement[] = [];
  let pass = 0;
  let fail = 0;
  let skip = 0;
  const types = new Set<string>();
  try {
    for (const entry of index.samples) {
      const s = await fetchSample(entry.file);
      let verdict: 'pass' | 'fail' | 'skip';
      let detail: string;
      try {
        const n = sampleNetwork(s);
        try {
          n.describe().layers.forEach((l) => types.add(l.type));
          const diff = Math.max(...s.forward.map((f) => maxAbsDiff(n.forward(f.input), f.expected)));
          verdict = s.known_deviation ? 'skip' : diff <= TOLERANCE ? 'pass' : 'fail';
          detail = s.known_deviation ? `${diff.toExponential(1)} (${s.known_deviation})` : diff.toExponential(1);
        } finally {
          n.dispose();
        }
      } catch (e) {
        verdict = 'fail';
        detail = describeError(e);
      }
      if (verdict === 'pass') pass++;
      else if (verdict === 'fail') fail++;
      else skip++;
      rows.push(h('tr', {}, h('td', { text: s.name }), h('td', { class: 'kv hide-narrow', text: s.covers.join(', ') }), h('td', { text: detail }), h('td', {}, h('span', { class: `pill ${verdict}`, text: verdict }))));
      el.selfCheckTable.replaceChildren(h('thead', {}, h('tr', {}, ...['model', 'covers', 'max |diff|', ''].map((t) => h('th', { class: t === 'covers' ? 'hide-narrow' : '', text: t })))), h('tbody', {}, ...rows));
      await new Promise((r) => setTimeout(r, 0));
    }
    setStatus(el.selfCheckSummary, `${pass} passed, ${fail} failed, ${skip} not comparable · ${types.size} layer types: ${[...types].sort().join(', ')}`, fail ? 'bad' : 'ok');
    el.selfCheckSummary.dataset['failed'] = String(fail);
    el.selfCheckSummary.dataset['passed'] = String(pass);
  } finally {
    el.selfCheck.disabled = false;
  }
}

async function main(): Promise<void> {
  await useBackend('cpu');
  const res = await fetch('samples/index.json');
  if (!res.ok) throw new Error(`samples/index.json: HTTP ${res.status}`);
  index = (await res.json()) as SampleIndex;
  el.sample.append(...index.samples.map((s) => h('option', { value: s.file, text: `${s.name} — ${s.covers.slice(0, 3).join(', ')}` })));
  el.sample.addEventListener('change', guarded(el.error, async () => {
    if (!el.sample.value) return;
    const s = await fetchSample(el.sample.value);
    setModel(sampleNetwork(s), s, `${s.name}: ${s.description}${s.note ? ` (${s.note})` : ''}`);
  }));
  el.file.addEventListener('change', guarded(el.error, async () => {
    const f = el.file.files?.[0];
    if (!f) return;
    const { n, sample, kind } = networkFromText(await f.text(), f.name);
    setModel(n, sample, `${f.name} (${kind})`);
  }));
  el.run.addEventListener('click', guarded(el.error, run));
  el.random.addEventListener('click', () => {
    el.input.value = randomInput(net?.expectedInputSize() ?? 8);
  });
  el.selfCheck.addEventListener('click', guarded(el.error, selfCheck));
}

main().catch((e: unknown) => showError(el.error, describeError(e)));
