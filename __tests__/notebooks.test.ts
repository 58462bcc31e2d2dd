/**
 * The notebooks in examples/notebooks (tslab TypeScript kernel) never rot:
 * - the committed files hold their executed outputs, without errors;
 * - when Jupyter (`jupyter nbconvert`) and the tslab kernel are installed, each notebook is executed
 *   headless (`jupyter nbconvert --to notebook --execute --output-dir <tmp>`) against the built
 *   `dist/`, and its fresh outputs must be free of errors and show the expected values.
 *   Without them those tests are skipped with a message saying what to install.
 *
 * Install (Debian): apt-get install -y jupyter-nbconvert python3-nbclient python3-jupyter-client
 * python3-ipykernel jupyter-core; npm install --no-save tslab@1.0.22; npx tslab install
 * --python=/usr/bin/python3.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { ensureBuilt, ROOT } from './helpers/build';

const DIR = path.join(ROOT, 'examples', 'notebooks');
const BIN = path.join(ROOT, 'node_modules', '.bin');
/** The kernel spec `npx tslab install` writes runs `tslab`, which lives here. */
const ENV = { ...process.env, PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ''}` };

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
}
interface Notebook {
  cells: Cell[];
  metadata: { kernelspec?: { name?: string } };
}

const join = (s: string | string[] | undefined): string => (Array.isArray(s) ? s.join('') : (s ?? ''));

/** What each notebook's outputs must show. */
const EXPECT: Record<string, { patterns: RegExp[]; check?: (text: string, nb: Notebook) => void }> = {
  '01_grid_network_training.ipynb': {
    patterns: [/loss fell from \d\.\d+ to \d\.\d+/, /accuracy on the training points: (9\d|100)\.\d%/, /LOOM JSON bundle: \d+ bytes/],
    check: (text, nb) => {
      const m = /loss fell from (\d\.\d+) to (\d\.\d+)/.exec(text) as RegExpExecArray;
      expect(Number(m[2])).toBeLessThan(Number(m[1]) / 4);
      const svg = nb.cells.flatMap((c) => c.outputs ?? []).map((o) => join(o.data?.['image/svg+xml']));
      expect(svg.some((s) => s.startsWith('<svg') && s.includes('<path d="M'))).toBe(true);
    },
  },
  '02_loom_file_loading.ipynb': {
    patterns: [/models: dense_mlp/, /grid 1x1x3, batch size 2, 155 parameters/, /matches Go LOOM: true/, /byte-identical re-save: true/, /facade output equal: true/],
  },
  '03_text_generation.ipynb': {
    patterns: [/llama: vocabulary 59/, /decode: "Mary-Jo O'Neil"/, /greedy matches full passes: true/, /^\[(length|stop)\] \d+ tokens/m],
  },
};

const notebooks = fs.readdirSync(DIR).filter((f) => f.endsWith('.ipynb')).sort();
const read = (file: string): Notebook => JSON.parse(fs.readFileSync(file, 'utf8')) as Notebook;
const allOutputs = (nb: Notebook): Output[] => nb.cells.flatMap((c) => c.outputs ?? []);
const textOf = (nb: Notebook): string => allOutputs(nb).map((o) => join(o.text) + Object.values(o.data ?? {}).map(join).join('\n')).join('\n');

/** Problems of a notebook's outputs: error outputs, type errors tslab prints on stderr, empty code cells. */
function problems(nb: Notebook): string[] {
  const out: string[] = [];
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== 'code') return;
    const outs = c.outputs ?? [];
    if (outs.length === 0) out.push(`cell ${i}: no output (not executed?)`);
    for (const o of outs) {
      if (o.output_type === 'error') out.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
      if (o.output_type === 'stream' && o.name === 'stderr' && /^\d+:\d+ - /m.test(join(o.text))) out.push(`cell ${i}: ${join(o.text)}`);
    }
  });
  return out;
}

/** Why notebooks cannot be executed here, or null when they can. */
function unavailable(): string | null {
  if (spawnSync('jupyter', ['nbconvert', '--version'], { env: ENV, encoding: 'utf8' }).status !== 0) return 'jupyter nbconvert is not installed';
  if (!fs.existsSync(path.join(BIN, 'tslab'))) return 'tslab is not installed (npm install --no-save tslab@1.0.22)';
  const py = spawnSync('jupyter', ['--paths', '--json'], { env: ENV, encoding: 'utf8' });
  const dirs = py.status === 0 ? ((JSON.parse(py.stdout) as { data: string[] }).data ?? []) : [];
  if (!dirs.some((d) => fs.existsSync(path.join(d, 'kernels', 'tslab', 'kernel.json')))) return 'the tslab kernel is not installed (npx tslab install --python=/usr/bin/python3)';
  return null;
}

test('there are notebooks for training, LOOM files and text generation, and each is checked', () => {
  expect(notebooks).toEqual(Object.keys(EXPECT).sort());
});

test.each(notebooks)('committed %s holds its executed outputs, without errors', (name) => {
  const nb = read(path.join(DIR, name));
  expect(nb.metadata.kernelspec?.name).toBe('tslab');
  expect(problems(nb)).toEqual([]);
  for (const re of EXPECT[name]?.patterns ?? []) expect(textOf(nb)).toMatch(re);
});

const why = unavailable();
if (why) console.warn(`notebooks.test: not executing the notebooks: ${why}`);

describe(why ? `executing the notebooks (skipped: ${why})` : 'executing the notebooks', () => {
  let tmp = '';
  beforeAll(() => {
    if (why) return;
    ensureBuilt(['dist/src/index.js', 'dist/src/compat/index.js']);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-nb-'));
  }, 300_000);
  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  (why ? test.skip : test).each(notebooks)('%s runs headless with the expected results', (name) => {
    const r = spawnSync(
      'jupyter',
      ['nbconvert', '--to', 'notebook', '--execute', '--allow-errors', '--ExecutePreprocessor.timeout=100', '--output-dir', tmp, path.join(DIR, name)],
      { cwd: ROOT, env: ENV, encoding: 'utf8', timeout: 115_000 },
    );
    if (r.status !== 0) throw new Error(`nbconvert exited ${r.status ?? r.signal}:\n${r.stderr}`);
    const nb = read(path.join(tmp, name));
    expect(problems(nb)).toEqual([]);
    const text = textOf(nb);
    const exp = EXPECT[name];
    for (const re of exp?.patterns ?? []) expect(text).toMatch(re);
    exp?.check?.(text, nb);
  });
});
