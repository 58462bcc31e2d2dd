/**
 * Hub ids: the built-in model and a sharded copy served by a local server that answers as the hub
 * does (helpers/hub_server.ts), loaded through the Hugging Face cache layout in a temp folder.
 * Reference: the same model loaded from its folder (models/builtin), and the cache layout
 * huggingface_hub documents (blobs named by sha256 / git sha1, relative snapshot links, refs).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadCausalLM } from '../loaders/pretrained';
import { loadTokenizer, Tokenizer } from '../loaders/tokenizer';
import { env } from '../loaders/hub_env';
import { clearCache, listCachedModels } from '../loaders/hub';
import { resolvePretrained } from '../loaders/pretrained';
import { ggufBytes } from '../loaders/gguf_writer';
import { BROWSER_CACHE_NAME, type CacheLike } from '../loaders/hub_browser';
import { loadSafetensors, saveSafetensors, type TensorToSave } from '../loaders/safetensors';
import type { ProgressInfo } from '../loaders/byte_source';
import { HubError } from '../src/core/errors';
import { builtinModelPath, BUILTIN_MODEL_FILES } from '../src/builtin_model';
import { runCli } from '../src/cli/main';
import { bufferIO } from './helpers/cli_io';
import { startFakeHub, gitSha1, sha256, isLfs, type FakeHub, type FakeRepo } from './helpers/hub_server';

const COMMIT = 'a'.repeat(40);
const enc = (t: string): Uint8Array => new TextEncoder().encode(t);
const BPE_VOCAB: Record<string, number> = Object.fromEntries(['<|endoftext|>', 'Ġ', 't', 'h', 'e', 'Ġt', 'th'].map((t, i) => [t, i]));
const SHARDED_COMMIT = 'b'.repeat(40);
const IDS = [1, 5, 9, 14, 20, 7];

function builtinFiles(): Map<string, Uint8Array> {
  const dir = builtinModelPath();
  return new Map(BUILTIN_MODEL_FILES.map((f) => [f, new Uint8Array(fs.readFileSync(path.join(dir, f)))]));
}

/** The built-in model's weights split over two shards plus model.safetensors.index.json. */
async function shardedFiles(): Promise<Map<string, Uint8Array>> {
  const files = builtinFiles();
  const st = await loadSafetensors(files.get('model.safetensors')!);
  files.delete('model.safetensors');
  const shards: Record<string, TensorToSave>[] = [{}, {}];
  const weightMap: Record<string, string> = {};
  st.names.forEach((n, i) => {
    const t = st.get(n);
    shards[i % 2]![n] = { shape: t.shape, data: t.data };
    weightMap[n] = `model-0000${(i % 2) + 1}-of-00002.safetensors`;
  });
  shards.forEach((s, i) => files.set(`model-0000${i + 1}-of-00002.safetensors`, saveSafetensors(s)));
  files.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: {}, weight_map: weightMap })));
  return files;
}

/** The built-in model as a Q8_0 GGUF file with its tokenizer. */
async function builtinGguf(): Promise<Uint8Array> {
  const { config, weights } = await resolvePretrained(builtinModelPath());
  const read = (f: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(builtinModelPath(), f), 'utf8')) as Record<string, unknown>;
  return ggufBytes({ config, weights, tokenizer: { tokenizerJson: read('tokenizer.json'), tokenizerConfig: read('tokenizer_config.json') } }, { type: 'Q8_0' });
}

async function logits(source: string, options: Parameters<typeof loadCausalLM>[1] = {}): Promise<Float32Array> {
  const model = await loadCausalLM(source, options);
  try {
    const out = model.forward([IDS], { allPositions: true }); // (1, S, V)
    const data = out.dataSync() as Float32Array;
    out.dispose();
    return data;
  } finally {
    model.dispose();
  }
}

function listTree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((p) => p.split(path.sep).join('/')).sort();
}

describe('hub ids through the Hugging Face cache', () => {
  let hub: FakeHub;
  let cacheDir: string;
  let reference: Float32Array;
  const savedEnv = { ...env };
  const savedOffline = process.env.HF_HUB_OFFLINE;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    delete process.env.HF_HUB_OFFLINE;
    const repos: Record<string, FakeRepo> = {
      'loom/names': { commit: COMMIT, files: builtinFiles() },
      'loom/names-sharded': { commit: SHARDED_COMMIT, files: await shardedFiles() },
      'loom/gated': { commit: COMMIT, files: builtinFiles(), gatedToken: 'hf_secret' },
      'loom/noweights': { commit: COMMIT, files: new Map([['config.json', builtinFiles().get('config.json')!]]) },
      'loom/bpe': { commit: COMMIT, files: new Map([['vocab.json', enc(JSON.stringify(BPE_VOCAB))], ['merges.txt', enc('#version: 0.2\nĠ t\nt h\n')], ['tokenizer_config.json', enc('{"eos_token": "<|endoftext|>"}')]]) },
      'loom/names-GGUF': { commit: COMMIT, files: new Map([['q8/names-Q8_0.gguf', await builtinGguf()]]) },
    };
    hub = await startFakeHub(repos);
    env.remoteHost = hub.url;
    reference = await logits(builtinModelPath());
  });
  beforeEach(async () => {
    await tf.setBackend('cpu'); // the CLI test switches to wasm (runCli's default)
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-hub-'));
    hub.requests.length = 0;
    hub.cut.clear();
    hub.badEtag.clear();
  });
  afterEach(() => fs.rmSync(cacheDir, { recursive: true, force: true }));
  afterAll(async () => {
    Object.assign(env, savedEnv);
    if (savedOffline !== undefined) process.env.HF_HUB_OFFLINE = savedOffline;
    await hub.close();
  });

  test('first load downloads with progress events in transformers.js shape; the cache matches huggingface_hub layout', async () => {
    const events: ProgressInfo[] = [];
    const before = tf.memory().numTensors;
    const got = await logits('loom/names', { cacheDir, onProgress: (e) => events.push(e) });
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(got)).toEqual(Array.from(reference));

    const weights = events.filter((e) => e.file === 'model.safetensors').map((e) => e.status);
    expect(weights[0]).toBe('initiate');
    expect(weights[1]).toBe('download');
    expect(weights).toContain('progress');
    expect(weights[weights.length - 1]).toBe('done');
    const size = fs.statSync(path.join(builtinModelPath(), 'model.safetensors')).size;
    const lastProgress = events.filter((e) => e.status === 'progress' && e.file === 'model.safetensors').pop()!;
    expect(lastProgress).toMatchObject({ name: 'loom/names', loaded: size, total: size, progress: 100 });
    const totals = events.filter((e) => e.status === 'progress_total');
    expect(totals.length).toBeGreaterThan(0);
    expect(totals[totals.length - 1]!.files!['model.safetensors']).toEqual({ loaded: size, total: size });
    expect(events[events.length - 1]).toMatchObject({ status: 'ready', name: 'loom/names' });

    const repo = path.join(cacheDir, 'models--loom--names');
    expect(fs.readFileSync(path.join(repo, 'refs', 'main'), 'utf8')).toBe(COMMIT);
    const link = path.join(repo, 'snapshots', COMMIT, 'model.safetensors');
    const weightBytes = fs.readFileSync(path.join(builtinModelPath(), 'model.safetensors'));
    expect(fs.readlinkSync(link)).toBe(path.join('..', '..', 'blobs', sha256(weightBytes)));
    const configBytes = fs.readFileSync(path.join(builtinModelPath(), 'config.json'));
    expect(fs.existsSync(path.join(repo, 'blobs', gitSha1(configBytes)))).toBe(true);
    expect(listTree(path.join(repo, 'blobs')).some((f) => f.includes('incomplete'))).toBe(false);
    // generation_config.json exists in the repo; a file that does not is recorded in .no_exist
    expect(fs.existsSync(path.join(repo, '.no_exist', COMMIT, 'model.safetensors.index.json'))).toBe(false);
  });

  test('second load makes no weight request; offline loads come from the cache with no request at all', async () => {
    await logits('loom/names', { cacheDir });
    await loadTokenizer('loom/names', { cacheDir });
    hub.requests.length = 0;
    expect(Array.from(await logits('loom/names', { cacheDir }))).toEqual(Array.from(reference));
    expect(hub.requests).toEqual(['HEAD /loom/names/resolve/main/config.json']);

    hub.requests.length = 0;
    expect(Array.from(await logits('loom/names', { cacheDir, localFilesOnly: true }))).toEqual(Array.from(reference));
    process.env.HF_HUB_OFFLINE = '1';
    try {
      expect(Array.from(await logits('loom/names', { cacheDir }))).toEqual(Array.from(reference));
      const tok = await loadTokenizer('loom/names', { cacheDir });
      expect(tok.vocabSize).toBe(59);
    } finally {
      delete process.env.HF_HUB_OFFLINE;
    }
    expect(hub.requests).toEqual([]);
  });

  test('two loads of the same model at once both succeed (separate temporary files)', async () => {
    const [a, b] = await Promise.all([logits('loom/names', { cacheDir }), logits('loom/names', { cacheDir })]);
    expect(Array.from(a)).toEqual(Array.from(reference));
    expect(Array.from(b)).toEqual(Array.from(reference));
    expect(listTree(path.join(cacheDir, 'models--loom--names', 'blobs')).some((f) => f.includes('incomplete'))).toBe(false);
  });

  test('sharded checkpoint (model.safetensors.index.json) loads with the same logits', async () => {
    const events: ProgressInfo[] = [];
    expect(Array.from(await logits('loom/names-sharded', { cacheDir, onProgress: (e) => events.push(e) }))).toEqual(Array.from(reference));
    const done = events.filter((e) => e.status === 'done').map((e) => e.file);
    expect(done).toEqual(expect.arrayContaining(['model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']));
    // model.safetensors answered 404: recorded, so the next load does not ask again
    expect(fs.existsSync(path.join(cacheDir, 'models--loom--names-sharded', '.no_exist', SHARDED_COMMIT, 'model.safetensors'))).toBe(true);
    hub.requests.length = 0;
    await logits('loom/names-sharded', { cacheDir, revision: SHARDED_COMMIT });
    expect(hub.requests).toEqual([`HEAD /loom/names-sharded/resolve/${SHARDED_COMMIT}/config.json`]);
  });

  test('tokenizer from a hub id encodes as the folder tokenizer does (tokenizer.json, or vocab.json + merges.txt)', async () => {
    expect((await loadTokenizer('loom/bpe', { cacheDir })).encode('the th')).toEqual(Tokenizer.fromVocabAndMerges(BPE_VOCAB, ['Ġ t', 't h']).encode('the th'));
    const [a, b] = [await loadTokenizer('loom/names', { cacheDir }), await loadTokenizer(builtinModelPath())];
    expect(a.encode('Mary-Jane')).toEqual(b.encode('Mary-Jane'));
    expect(a.applyChatTemplate([{ role: 'user', content: 'Zo' }], { tokenize: false })).toBe('<s>Zo');
  });

  test('HTTP errors are typed and name the file and status: 404, 401 gated (then a token works), unknown repo', async () => {
    const noWeights = loadCausalLM('loom/noweights', { cacheDir });
    await expect(noWeights).rejects.toBeInstanceOf(HubError);
    await expect(loadCausalLM('loom/noweights', { cacheDir })).rejects.toMatchObject({ kind: 'not_found', file: 'model.safetensors' });

    const gated = loadCausalLM('loom/gated', { cacheDir });
    await expect(gated).rejects.toMatchObject({ kind: 'gated', status: 401, file: 'config.json' });
    await expect(loadCausalLM('loom/gated', { cacheDir })).rejects.toThrow(/gated.*HF_TOKEN/);
    env.accessToken = 'hf_secret';
    try {
      expect(Array.from(await logits('loom/gated', { cacheDir }))).toEqual(Array.from(reference));
      // the token goes to the hub, not to the blob host it redirects to (same host here, so it is sent)
    } finally {
      env.accessToken = null;
    }
    await expect(loadCausalLM('loom/missing', { cacheDir })).rejects.toMatchObject({ kind: 'gated', status: 401 });
    await expect(loadCausalLM('loom/names', { cacheDir, revision: 'nope' })).rejects.toMatchObject({ kind: 'not_found', status: 404 });
  });

  test('a download cut halfway or with a wrong sha256 leaves nothing that loads', async () => {
    hub.cut.add('model.safetensors');
    await expect(loadCausalLM('loom/names', { cacheDir })).rejects.toMatchObject({ kind: 'network', file: 'model.safetensors' });
    const repo = path.join(cacheDir, 'models--loom--names');
    expect(listTree(path.join(repo, 'blobs')).filter((f) => !/^[0-9a-f]{40}$/.test(f))).toEqual([]); // only the small files' blobs
    expect(fs.existsSync(path.join(repo, 'snapshots', COMMIT, 'model.safetensors'))).toBe(false);
    await expect(loadCausalLM('loom/names', { cacheDir, localFilesOnly: true })).rejects.toMatchObject({ kind: 'offline', file: 'model.safetensors' });

    hub.cut.clear();
    hub.badEtag.add('model.safetensors');
    await expect(loadCausalLM('loom/names', { cacheDir })).rejects.toMatchObject({ kind: 'integrity', file: 'model.safetensors' });
    expect(listTree(path.join(repo, 'blobs')).filter((f) => !/^[0-9a-f]{40}$/.test(f))).toEqual([]);

    hub.badEtag.clear();
    expect(Array.from(await logits('loom/names', { cacheDir }))).toEqual(Array.from(reference));
  });

  test('a cache tree laid out as huggingface-cli download leaves it is found with no server', async () => {
    const repo = path.join(cacheDir, 'models--loom--offline-only');
    const snap = path.join(repo, 'snapshots', COMMIT);
    fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
    fs.mkdirSync(snap, { recursive: true });
    fs.mkdirSync(path.join(repo, 'refs'));
    fs.writeFileSync(path.join(repo, 'refs', 'main'), COMMIT);
    for (const [f, bytes] of builtinFiles()) {
      const blob = isLfs(f) ? sha256(bytes) : gitSha1(bytes);
      fs.writeFileSync(path.join(repo, 'blobs', blob), bytes);
      fs.symlinkSync(path.join('..', '..', 'blobs', blob), path.join(snap, f));
    }
    expect(Array.from(await logits('loom/offline-only', { cacheDir, localFilesOnly: true }))).toEqual(Array.from(reference));
    // online but the host is unreachable: falls back to the cached ref
    env.remoteHost = 'http://127.0.0.1:1/';
    try {
      expect(Array.from(await logits('loom/offline-only', { cacheDir }))).toEqual(Array.from(reference));
      expect((await loadTokenizer('loom/offline-only', { cacheDir })).encode('Anna')).toEqual((await loadTokenizer(builtinModelPath())).encode('Anna'));
      await expect(loadCausalLM('loom/never-fetched', { cacheDir })).rejects.toMatchObject({ kind: 'network' });
    } finally {
      env.remoteHost = hub.url;
    }
    await expect(loadCausalLM('loom/never-fetched', { cacheDir, localFilesOnly: true })).rejects.toMatchObject({ kind: 'offline' });
    expect(hub.requests).toEqual([]);
  });

  test('a GGUF file in a hub repo (org/name/file.gguf, hf:org/name/file.gguf) goes through the cache too', async () => {
    const id = 'loom/names-GGUF/q8/names-Q8_0.gguf';
    const local = path.join(cacheDir, 'local.gguf');
    fs.writeFileSync(local, await builtinGguf());
    const ref = await logits(local);
    const events: ProgressInfo[] = [];
    expect(Array.from(await logits(id, { cacheDir, onProgress: (e) => events.push(e) }))).toEqual(Array.from(ref));
    expect(events.map((e) => e.status)).toEqual(expect.arrayContaining(['download', 'progress', 'done', 'ready']));
    expect(fs.lstatSync(path.join(cacheDir, 'models--loom--names-GGUF', 'snapshots', COMMIT, 'q8', 'names-Q8_0.gguf')).isSymbolicLink()).toBe(true);
    hub.requests.length = 0;
    expect(Array.from(await logits(`hf:${id}`, { cacheDir }))).toEqual(Array.from(ref));
    expect((await loadTokenizer(id, { cacheDir })).encode('Anna')).toEqual((await loadTokenizer(builtinModelPath())).encode('Anna'));
    expect(hub.requests.filter((r) => r.startsWith('GET'))).toEqual([]);
    expect(Array.from(await logits(id, { cacheDir, localFilesOnly: true }))).toEqual(Array.from(ref));
    await expect(loadCausalLM('loom/names-GGUF/missing.gguf', { cacheDir })).rejects.toMatchObject({ kind: 'not_found', file: 'missing.gguf' });
  });

  test('the CLI takes a hub id where it takes a folder, with download progress on stderr', async () => {
    const saved = process.env.HF_HUB_CACHE;
    process.env.HF_HUB_CACHE = cacheDir;
    try {
      const args = ['--prompt-ids', '1,7', '--max-new-tokens', '4', '--temperature', '0', '--json'];
      const hubRun = bufferIO();
      expect(await runCli(['generate', '--model', 'loom/names', ...args], hubRun.io)).toBe(0);
      expect(hubRun.stderr()).toMatch(/downloading loom\/names\/model.safetensors\n[\s\S]*100% \(/);
      const local = bufferIO();
      expect(await runCli(['generate', '--model', builtinModelPath(), ...args], local.io)).toBe(0);
      expect(JSON.parse(hubRun.stdout()).ids).toEqual(JSON.parse(local.stdout()).ids);
      const info = bufferIO();
      expect(await runCli(['info', '--model', 'loom/names', '--json'], info.io)).toBe(0);
      expect(JSON.parse(info.stdout())).toMatchObject({ modelType: 'llama', vocabSize: 59 });
      const again = bufferIO();
      expect(await runCli(['generate', '--model', 'loom/names', ...args], again.io)).toBe(0);
      expect(again.stderr()).toBe(''); // from the cache: nothing downloaded
    } finally {
      if (saved === undefined) delete process.env.HF_HUB_CACHE;
      else process.env.HF_HUB_CACHE = saved;
    }
  });

  test('HF_HUB_CACHE / HF_HOME pick the cache folder when no cacheDir is given', async () => {
    const saved = { cache: process.env.HF_HUB_CACHE, home: process.env.HF_HOME };
    try {
      delete process.env.HF_HUB_CACHE;
      process.env.HF_HOME = cacheDir;
      await logits('loom/names');
      expect(fs.existsSync(path.join(cacheDir, 'hub', 'models--loom--names', 'refs', 'main'))).toBe(true);
      process.env.HF_HUB_CACHE = path.join(cacheDir, 'other');
      await logits('loom/names');
      expect(fs.existsSync(path.join(cacheDir, 'other', 'models--loom--names', 'refs', 'main'))).toBe(true);
    } finally {
      for (const [k, v] of [['HF_HUB_CACHE', saved.cache], ['HF_HOME', saved.home]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  test('listCachedModels / clearCache see the hub cache folder (and leave other repos alone)', async () => {
    await logits('loom/names', { cacheDir });
    await logits('loom/names-sharded', { cacheDir });
    fs.mkdirSync(path.join(cacheDir, 'datasets--loom--data'));
    const list = await listCachedModels({ cacheDir });
    expect(list.map((m) => m.id)).toEqual(['loom/names', 'loom/names-sharded']);
    const size = fs.statSync(path.join(builtinModelPath(), 'model.safetensors')).size;
    expect(list[0]!.sizeBytes).toBeGreaterThan(size);
    expect(list[0]!.revisions).toEqual({ main: COMMIT });
    expect(list[0]!.snapshots[COMMIT]).toEqual(['config.json', 'generation_config.json', 'model.safetensors']);
    expect(await clearCache('loom/names', { cacheDir })).toEqual(['loom/names']);
    expect((await listCachedModels({ cacheDir })).map((m) => m.id)).toEqual(['loom/names-sharded']);
    expect(await clearCache(undefined, { cacheDir })).toEqual(['loom/names-sharded']);
    expect(fs.readdirSync(cacheDir)).toEqual(['datasets--loom--data']);
  });

  describe('without a file system: the Cache API (an in-memory CacheStorage here)', () => {
    class MemoryCache implements CacheLike {
      readonly entries = new Map<string, { body: ArrayBuffer; headers: Record<string, string> }>();
      quota = Infinity;
      async match(url: string): Promise<Response | undefined> {
        const e = this.entries.get(url);
        if (!e) return undefined;
        const status = Number(e.headers['x-status'] ?? 200);
        return status === 200 ? new Response(e.body.slice(0), { headers: e.headers }) : new Response(null, { status });
      }
      async put(url: string, res: Response): Promise<void> {
        const body = await res.arrayBuffer();
        if (res.status !== 200) {
          this.entries.set(url, { body, headers: { 'x-status': String(res.status) } });
          return;
        }
        if (body.byteLength > this.quota) throw Object.assign(new Error('The quota has been exceeded.'), { name: 'QuotaExceededError' });
        this.entries.set(url, { body, headers: Object.fromEntries(res.headers.entries()) });
      }
      async delete(url: string): Promise<boolean> {
        return this.entries.delete(url);
      }
      async keys(): Promise<{ url: string }[]> {
        return [...this.entries.keys()].map((url) => ({ url }));
      }
    }
    const cache = new MemoryCache();
    const g = globalThis as { caches?: unknown };
    beforeAll(() => {
      env.useFSCache = false;
      g.caches = { open: async (name: string) => (name === BROWSER_CACHE_NAME ? cache : new MemoryCache()) };
    });
    afterAll(() => {
      env.useFSCache = true;
      delete g.caches;
    });

    test('first load fetches with progress, the second makes no request, offline loads from the cache; clear and list', async () => {
      const events: ProgressInfo[] = [];
      expect(Array.from(await logits('loom/names', { onProgress: (e) => events.push(e) }))).toEqual(Array.from(reference));
      expect(events.filter((e) => e.file === 'model.safetensors').map((e) => e.status)).toEqual(expect.arrayContaining(['initiate', 'download', 'progress', 'done']));
      expect(events[events.length - 1]!.status).toBe('ready');
      expect(hub.requests.some((r) => r.startsWith('GET /cdn/'))).toBe(true);
      hub.requests.length = 0;
      expect(Array.from(await logits('loom/names'))).toEqual(Array.from(reference));
      expect(Array.from(await logits('loom/names', { localFilesOnly: true }))).toEqual(Array.from(reference));
      expect(Array.from(await logits('loom/names-sharded'))).toEqual(Array.from(reference));
      const tok = await loadTokenizer('loom/names');
      expect(tok.encode('Anna')).toEqual((await loadTokenizer(builtinModelPath())).encode('Anna'));
      expect((await loadTokenizer('loom/bpe')).encode('the th')).toEqual(Tokenizer.fromVocabAndMerges(BPE_VOCAB, ['Ġ t', 't h']).encode('the th'));
      expect(tok.chatTemplate).not.toBeNull();
      hub.requests.length = 0;
      await logits('loom/names');
      await loadTokenizer('loom/names');
      expect(hub.requests).toEqual([]);
      const list = await listCachedModels();
      expect(list.map((m) => m.id)).toEqual(['loom/bpe', 'loom/names', 'loom/names-sharded']);
      expect(list[1]!.snapshots.main).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']));
      expect(await clearCache('loom/names')).toEqual(['loom/names']);
      await expect(loadCausalLM('loom/names', { localFilesOnly: true })).rejects.toMatchObject({ kind: 'offline', file: 'config.json' });
      expect(await clearCache()).toEqual(['loom/bpe', 'loom/names-sharded']);
      expect(cache.entries.size).toBe(0);
    });

    test('typed errors: gated, missing, cut download, quota (saying how much was needed)', async () => {
      await clearCache();
      await expect(loadCausalLM('loom/gated')).rejects.toMatchObject({ kind: 'gated', status: 401 });
      await expect(loadCausalLM('loom/noweights')).rejects.toMatchObject({ kind: 'not_found', file: 'model.safetensors.index.json' });
      hub.cut.add('model.safetensors');
      await expect(loadCausalLM('loom/names')).rejects.toMatchObject({ kind: 'network', file: 'model.safetensors' });
      hub.cut.clear();
      expect([...cache.entries.keys()].some((k) => k.endsWith('/loom/names/resolve/main/model.safetensors'))).toBe(false);
      cache.quota = 10_000;
      const size = fs.statSync(path.join(builtinModelPath(), 'model.safetensors')).size;
      await expect(loadCausalLM('loom/names')).rejects.toMatchObject({ kind: 'quota', file: 'model.safetensors' });
      await expect(loadCausalLM('loom/names')).rejects.toThrow(new RegExp(`needs ${size} bytes`));
      cache.quota = Infinity;
      await clearCache();
    });
  });
});
