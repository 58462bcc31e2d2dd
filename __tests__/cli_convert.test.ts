/** `loom convert`: LOOM JSON <-> safetensors + config, byte-identical round trips on LOOM's golden files. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { convertCommand, loomToSafetensors, safetensorsToLoom } from '../src/cli/cmd_convert';
import { runCli } from '../src/cli/main';
import { loadModelFromString, saveModelToString } from '../loaders/loom_json';
import { golden, goldenNames } from './helpers/fixtures';
import { bufferIO, ensureRegistered } from './helpers/cli_io';

beforeAll(async () => {
  ensureRegistered(convertCommand);
  await tf.setBackend('cpu');
});

const NAMES = goldenNames((n) => !n.startsWith('llama_tiny'));

test.each(NAMES)('%s: LOOM JSON -> safetensors + config -> the same LOOM JSON bytes', (name) => {
  const fx = golden(name);
  // canonical text: what loom-tfjs writes for this model
  const net = loadModelFromString(fx.model_json, fx.model_id);
  const text = saveModelToString(net, fx.model_id);
  net.dispose();
  const before = tf.memory().numTensors;
  const { safetensors, config } = loomToSafetensors(text);
  expect(safetensorsToLoom(safetensors, config)).toBe(text);
  expect(tf.memory().numTensors).toBe(before);
});

test('the CLI writes the files, converts back, and reports usage errors with exit code 2', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-convert-'));
  const fx = golden('dense_mlp');
  const net = loadModelFromString(fx.model_json, fx.model_id);
  const model = path.join(dir, 'model.json');
  fs.writeFileSync(model, saveModelToString(net, fx.model_id));
  net.dispose();
  const st = path.join(dir, 'w.safetensors');
  const cfg = path.join(dir, 'config.json');
  const back = path.join(dir, 'back.json');
  let c = bufferIO();
  expect(await runCli(['convert', '--from', model, '--to', st, '--config', cfg], c.io)).toBe(0);
  const config = JSON.parse(fs.readFileSync(cfg, 'utf8')) as { grid_cols: number; layers: unknown[] };
  expect(config.layers).toHaveLength(3);
  c = bufferIO();
  expect(await runCli(['convert', '--from', st, '--config', cfg, '--to', back], c.io)).toBe(0);
  expect(fs.readFileSync(back, 'utf8')).toBe(fs.readFileSync(model, 'utf8'));
  c = bufferIO();
  expect(await runCli(['convert', '--from', model], c.io)).toBe(2);
  expect(c.stderr()).toMatch(/--from, --to and --config are required/);
  c = bufferIO();
  expect(await runCli(['convert', '--bogus'], c.io)).toBe(2);
  c = bufferIO();
  expect(await runCli(['convert', '--from', path.join(dir, 'missing.json'), '--to', st, '--config', cfg], c.io)).toBe(1);
  expect(c.stderr()).toMatch(/missing\.json/);
  expect(convertCommand.usage).toMatch(/lossless|byte-identical/);
});
