/** `loom train`: LOOM JSON network + JSON/CSV dataset -> trained LOOM JSON, progress on stderr. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { parseDataset, toBatches, trainCommand } from '../src/cli/cmd_train';
import { runCli } from '../src/cli/main';
import { buildNetworkFromJSON, loadModelFromString, saveModelToString } from '../loaders/loom_json';
import { bufferIO, ensureRegistered } from './helpers/cli_io';

beforeAll(async () => {
  ensureRegistered(trainCommand);
  await tf.setBackend('cpu');
});

const XOR = [
  [0, 0, 0],
  [0, 1, 1],
  [1, 0, 1],
  [1, 1, 0],
];

function xorNet(dir: string): string {
  const net = buildNetworkFromJSON(
    JSON.stringify({
      batch_size: 1, grid_rows: 1, grid_cols: 1, layers_per_cell: 2,
      layers: [
        { type: 'dense', activation: 'tanh', input_height: 2, output_height: 8 },
        { type: 'dense', activation: 'sigmoid', input_height: 8, output_height: 1 },
      ],
    }),
  );
  let s = 1;
  net.initializeWeights(() => ((s = (s * 16807) % 2147483647) / 2147483647));
  const file = path.join(dir, 'xor.json');
  fs.writeFileSync(file, saveModelToString(net, 'xor'));
  net.dispose();
  return file;
}

test('datasets: JSON (two shapes) and CSV with a header and --targets', () => {
  expect(parseDataset('[{"input":[1,2],"target":[3]}]', 'a.json')).toEqual([{ input: [1, 2], target: [3] }]);
  expect(parseDataset('{"inputs":[[1],[2]],"targets":[[0],[1]]}', 'a.json')).toEqual([{ input: [1], target: [0] }, { input: [2], target: [1] }]);
  expect(parseDataset('x1,x2,y1,y2\n1,2,3,4\n5,6,7,8\n', 'a.csv', 2)).toEqual([{ input: [1, 2], target: [3, 4] }, { input: [5, 6], target: [7, 8] }]);
  expect(() => parseDataset('1,2\n3,oops\n', 'a.csv')).toThrow(/a\.csv: line 2/);
  expect(toBatches([{ input: [1], target: [0] }, { input: [2], target: [1] }, { input: [3], target: [0] }], 2)).toEqual([{ input: [1, 2], target: [0, 1] }]);
});

test.each(['json', 'csv'])('trains XOR from a %s dataset and writes a LOOM JSON that loads and answers', async (fmt) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-train-'));
  const model = xorNet(dir);
  const data = path.join(dir, `data.${fmt}`);
  fs.writeFileSync(data, fmt === 'json' ? JSON.stringify(XOR.map(([a, b, y]) => ({ input: [a, b], target: [y] }))) : `a,b,y\n${XOR.map((r) => r.join(',')).join('\n')}\n`);
  const out = path.join(dir, 'trained.json');
  const c = bufferIO();
  const code = await runCli(['train', '--model', model, '--data', data, '--out', out, '--epochs', '300', '--lr', '0.05', '--optimizer', 'adam', '--backend', 'cpu'], c.io);
  expect(c.stderr()).toMatch(/epoch 300\/300 loss/);
  expect(code).toBe(0);
  expect(c.stdout()).toMatch(/trained 'xor' for 300 epochs on 4 batches/);
  const net = loadModelFromString(fs.readFileSync(out, 'utf8'), 'xor');
  for (const [a, b, y] of XOR) expect(Math.round(net.forward([a as number, b as number])[0] as number)).toBe(y);
  net.dispose();
});

test('usage errors exit 2, failures exit 1, both on stderr', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-train-'));
  const model = xorNet(dir);
  let c = bufferIO();
  expect(await runCli(['train', '--model', model], c.io)).toBe(2);
  expect(c.stderr()).toMatch(/required/);
  c = bufferIO();
  expect(await runCli(['train', '--model', model, '--data', 'x.csv', '--out', 'y.json', '--epochs', '0'], c.io)).toBe(2);
  c = bufferIO();
  expect(await runCli(['train', '--model', model, '--data', 'x.csv', '--out', 'y.json', '--optimizer', 'nope'], c.io)).toBe(2);
  c = bufferIO();
  const bad = path.join(dir, 'bad.csv');
  fs.writeFileSync(bad, '1,2,3,4\n'); // 3 inputs for a 2-input network
  expect(await runCli(['train', '--model', model, '--data', bad, '--out', path.join(dir, 'o.json'), '--quiet'], c.io)).toBe(1);
  expect(c.stderr()).toMatch(/^loom train: /);
  expect(c.out).toEqual([]);
});
