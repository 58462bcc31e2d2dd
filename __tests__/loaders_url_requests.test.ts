/**
 * Loading a checkpoint from a URL sends one GET per file and no HEAD probes (pages logged each
 * probe as an aborted request); a missing optional file is a 404 handled quietly; a failed fetch
 * of another origin names CORS. Served from 127.0.0.1 (the built-in model's folder).
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { AddressInfo } from 'net';
import * as tf from '@tensorflow/tfjs';
import { loadCausalLM } from '../loaders/pretrained';
import { corsHint } from '../loaders/byte_source';
import { builtinModelPath } from '../src/builtin_model';

const DIR = builtinModelPath();

async function serve(hide: readonly string[]): Promise<{ url: string; log: string[]; close: () => Promise<void> }> {
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    const name = path.basename((req.url ?? '/').split('?')[0] as string);
    log.push(`${req.method} ${name}`);
    const file = path.join(DIR, name);
    if (hide.includes(name) || !fs.existsSync(file)) return void res.writeHead(404).end('not found');
    const body = fs.readFileSync(file);
    res.writeHead(200, { 'content-length': String(body.byteLength) }).end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model/`;
  return { url, log, close: () => new Promise<void>((r) => server.close(() => r())) };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('loadCausalLM(url): one GET each for config.json, generation_config.json, model.safetensors; no HEAD', async () => {
  const s = await serve([]);
  try {
    const model = await loadCausalLM(s.url);
    expect(model.info.generationDefaults?.doSample).toBe(true); // generation_config.json was read
    model.dispose();
    expect(s.log.filter((l) => l.startsWith('HEAD'))).toEqual([]);
    expect(s.log.sort()).toEqual(['GET config.json', 'GET generation_config.json', 'GET model.safetensors']);
  } finally {
    await s.close();
  }
});

test('a missing generation_config.json is a quiet 404; missing weights name both file names', async () => {
  let s = await serve(['generation_config.json']);
  try {
    const model = await loadCausalLM(s.url);
    expect(model.info.generationDefaults).toBeUndefined();
    model.dispose();
  } finally {
    await s.close();
  }
  s = await serve(['model.safetensors']);
  try {
    await expect(loadCausalLM(s.url)).rejects.toThrow(/neither model\.safetensors nor model\.safetensors\.index\.json found/);
    expect(s.log.filter((l) => l.startsWith('HEAD'))).toEqual([]);
  } finally {
    await s.close();
  }
});

describe('CORS', () => {
  const g = globalThis as { location?: unknown };
  afterEach(() => {
    delete g.location;
  });

  test('a cross-origin URL that fails to fetch names CORS; same-origin and Node (no page) do not', async () => {
    expect(corsHint('http://other.test/m/config.json')).toBe('');
    g.location = { origin: 'http://page.test' };
    expect(corsHint('http://page.test/m/config.json')).toBe('');
    expect(corsHint('http://other.test/m/config.json')).toMatch(/http:\/\/other\.test is another origin than this page's http:\/\/page\.test: its server must allow cross-origin requests, i\.e\. send Access-Control-Allow-Origin \(CORS\)/);
    // a closed port stands in for a refused cross-origin request
    const s = await serve([]);
    const url = s.url;
    await s.close();
    await expect(loadCausalLM(url)).rejects.toThrow(/fetch failed: .*Access-Control-Allow-Origin \(CORS\)/);
  });
});

test("loadCausalLM options: 'device' explains the global backend; unknown keys name the closest", async () => {
  await expect(loadCausalLM(DIR, { device: 'webgpu' } as never)).rejects.toThrow(/no 'device' option: the tfjs backend is global \(call useBackend\('webgpu'\) first\)/);
  await expect(loadCausalLM(DIR, { onProgres: () => undefined } as never)).rejects.toThrow(/loadCausalLM: unknown option 'onProgres'; did you mean 'onProgress'\?/);
});
