/**
 * Hub ids (`org/name`) to a local snapshot folder (Node: the hub cache), which the folder loaders
 * then read as they read any checkpoint folder, or to the files in memory (browser).
 *
 * Browsers and workers (or Node with `env.useFSCache = false`): the Cache API, see hub_browser.ts.
 *
 * Node, online: one HEAD of the first file resolves the revision to a commit (a network failure
 * falls back to the cached ref, as huggingface_hub does); files already in that commit's snapshot,
 * or recorded as missing, cause no request. Offline (`localFilesOnly`, `HF_HUB_OFFLINE=1`,
 * `env.allowRemoteModels = false`): the cache only, never the network. A GGUF file in a repo
 * (`org/name/file.gguf`) goes through the same cache as one file.
 * Ref: huggingface_hub `hf_hub_download`; transformers.js `getModelFile` (progress events).
 */
import * as fs from 'fs';
import { HubError, SafetensorsError, TokenizerError } from '../src/core/errors';
import type { WeightSource } from '../src/transformer/weights';
import type { ProgressCallback, ProgressInfo } from './byte_source';
import { RepoCache, clearCacheFolder, listCacheFolder, type CachedModel } from './hub_cache';
import { browserHubFile, clearBrowserCache, listBrowserCache } from './hub_browser';
import { downloadTo, hubRequest } from './hub_download';
import { env, hubCacheDir, hubFileUrl, isNode, isOffline, looksLikeHubId, type HubOptions } from './hub_env';
import { parseJsonAs } from './json_read';
import { SafetensorsCheckpoint, SafetensorsFile } from './safetensors';

/** Options of hub-aware loading ({@link HubOptions} plus progress). */
export interface HubLoadOptions extends HubOptions {
  onProgress?: ProgressCallback;
}

/** Which files a load needs from a repo (see fetchPlan). */
type FilePlan = 'causal-lm' | 'tokenizer';

const TOKENIZER_FILES = ['tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'];

/** transformers.js-shaped progress of one load: per-file events plus the running `progress_total`. */
class ProgressReporter {
  private readonly totals: Record<string, { loaded: number; total: number }> = {};
  constructor(
    readonly id: string,
    private readonly cb: ProgressCallback | undefined,
  ) {}

  emit(status: ProgressInfo['status'], file: string, loaded = 0, total = 0): void {
    const cb = this.cb;
    if (!cb) return;
    const progress = total > 0 ? Math.min(100, (loaded / total) * 100) : status === 'done' || status === 'ready' ? 100 : 0;
    cb({ status, name: this.id, file, loaded, total, progress });
    if (status !== 'progress') return;
    this.totals[file] = { loaded, total };
    let l = 0;
    let t = 0;
    for (const v of Object.values(this.totals)) {
      l += v.loaded;
      t += v.total;
    }
    cb({ status: 'progress_total', name: this.id, file: '', loaded: l, total: t, progress: t > 0 ? Math.min(100, (l / t) * 100) : 0, files: { ...this.totals } });
  }
}

/** Per-load state: where files go, the commit, and the progress totals. */
class HubSession {
  readonly cache: RepoCache;
  readonly revision: string;
  offline: boolean;
  commit: string | undefined;
  private readonly reporter: ProgressReporter;

  constructor(
    readonly id: string,
    readonly options: HubLoadOptions,
  ) {
    this.reporter = new ProgressReporter(id, options.onProgress);
    this.cache = new RepoCache(hubCacheDir(options), id);
    this.revision = options.revision ?? 'main';
    this.offline = isOffline(options);
  }

  emit(status: ProgressInfo['status'], file: string, loaded = 0, total = 0): void {
    this.reporter.emit(status, file, loaded, total);
  }

  /** Resolves the revision to a commit: HEAD `probe` online, the cached ref offline or when the network fails. */
  async resolveCommit(probe: string): Promise<void> {
    if (!this.offline) {
      try {
        const { response, meta } = await hubRequest(hubFileUrl(this.id, this.revision, probe), probe, 'HEAD', true);
        await response.body?.cancel();
        this.commit = meta.commit ?? this.cache.commitFor(this.revision);
        if (this.commit === undefined && response.status === 404) {
          const code = response.headers.get('x-error-code');
          throw new HubError(`${this.id}: HTTP 404 for ${probe} at revision '${this.revision}'${code ? ` (${code})` : ''}: no such revision or file`, 'not_found', probe, 404);
        }
        if (this.commit === undefined) {
          throw new HubError(`${this.id}: the server names no commit for revision '${this.revision}' (no X-Repo-Commit header at ${probe}); expected a Hugging Face hub or mirror`, 'http', probe, response.status);
        }
        if (meta.commit) this.cache.writeRef(this.revision, meta.commit);
        return;
      } catch (e) {
        // Unreachable host: fall back to the cached ref (huggingface_hub does the same). HTTP errors are final.
        if (!(e instanceof HubError) || e.kind !== 'network' || this.cache.commitFor(this.revision) === undefined) throw e;
        this.offline = true;
      }
    }
    this.commit = this.cache.commitFor(this.revision);
    if (this.commit === undefined) {
      throw new HubError(
        `${this.id}: revision '${this.revision}' is not in the cache ${this.cache.root} and the network is off (localFilesOnly / HF_HUB_OFFLINE) or unreachable; download it once online`,
        'offline', probe,
      );
    }
  }

  /**
   * Local path of `file` at the session's commit, downloading it when needed.
   * @returns undefined for an optional file that does not exist.
   * @throws HubError for a required file that is missing, and for HTTP or download failures.
   */
  async file(file: string, required: boolean): Promise<string | undefined> {
    const commit = this.commit!;
    this.emit('initiate', file);
    const cached = this.cache.cachedFile(commit, file);
    if (cached) {
      this.emit('done', file);
      return cached;
    }
    const missing = new HubError(`${this.id}: ${file} does not exist at revision '${this.revision}' (${commit})`, 'not_found', file, 404);
    if (this.cache.knownMissing(commit, file)) {
      if (required) throw missing;
      return undefined;
    }
    if (this.offline) {
      if (!required) return undefined;
      throw new HubError(`${this.id}: ${file} is not in the cache (${this.cache.snapshotDir(commit)}) and the network is off (localFilesOnly / HF_HUB_OFFLINE)`, 'offline', file);
    }
    let hub;
    try {
      hub = await hubRequest(hubFileUrl(this.id, commit, file), file, 'GET');
    } catch (e) {
      if (e instanceof HubError && e.kind === 'not_found') {
        this.cache.markMissing(commit, file);
        if (!required) return undefined;
      }
      throw e;
    }
    this.emit('download', file);
    const etag = hub.meta.etag;
    if (etag !== undefined && fs.existsSync(this.cache.blobPath(etag))) {
      await hub.response.body?.cancel();
      this.emit('done', file);
      return this.cache.linkSnapshot(etag, commit, file);
    }
    const blobName = etag ?? `${commit}-${file.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    const tmp = this.cache.incompletePath(blobName);
    fs.mkdirSync(this.cache.blobPath(''), { recursive: true });
    await downloadTo(hub, tmp, file, (loaded, total) => this.emit('progress', file, loaded, total));
    const at = this.cache.commitBlob(tmp, blobName, commit, file);
    this.emit('done', file);
    return at;
  }
}

function shardNames(text: string | Uint8Array, indexPath: string): string[] {
  const index = parseJsonAs(text, `${indexPath}: not valid JSON`, SafetensorsError);
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null) throw new SafetensorsError(`${indexPath}: expected an object with a 'weight_map' object`);
  const names = new Set<string>();
  for (const v of Object.values(map)) {
    if (typeof v !== 'string' || v.includes('..') || v.startsWith('/')) throw new SafetensorsError(`${indexPath}: weight_map holds ${JSON.stringify(v)}, expected shard file names`);
    names.add(v);
  }
  return [...names].sort();
}

async function fetchPlan(s: HubSession, plan: FilePlan): Promise<void> {
  if (plan === 'causal-lm') {
    await s.file('config.json', true);
    await s.file('generation_config.json', false);
    if ((await s.file('model.safetensors', false)) === undefined) {
      const index = await s.file('model.safetensors.index.json', false);
      if (index === undefined && s.offline) {
        throw new HubError(`${s.id}: neither model.safetensors nor model.safetensors.index.json is in the cache (${s.cache.snapshotDir(s.commit!)}) and the network is off or unreachable`, 'offline', 'model.safetensors');
      }
      if (index === undefined) {
        throw new HubError(`${s.id}: neither model.safetensors nor model.safetensors.index.json exists at revision '${s.revision}'`, 'not_found', 'model.safetensors', 404);
      }
      for (const shard of shardNames(fs.readFileSync(index, 'utf8'), index)) await s.file(shard, true);
    }
    return;
  }
  for (const f of TOKENIZER_FILES) await s.file(f, false);
  if ((await s.file('tokenizer.json', false)) === undefined) {
    await s.file('vocab.json', true);
    await s.file('merges.txt', true);
  }
}

/** A hub checkpoint held in memory (no file system): the shape of loadCausalLM's `{ config, weights }` files. */
export interface HubCheckpointFiles {
  config: Uint8Array;
  generationConfig?: Uint8Array;
  weights: Uint8Array | WeightSource;
}

/** A hub tokenizer held in memory: the shape of loadTokenizer's files (tokenizer.json, or vocab.json + merges.txt). */
export type HubTokenizerFiles =
  | { tokenizerJson: Uint8Array; tokenizerConfig: Record<string, unknown> }
  | { vocab: Uint8Array; merges: Uint8Array; tokenizerConfig: Record<string, unknown> };

/** Node with the file-system cache on; else the Cache API path. */
function useFileCache(): boolean {
  return isNode() && env.useFSCache;
}

async function nodeSnapshot(id: string, plan: FilePlan, options: HubLoadOptions): Promise<string> {
  const s = new HubSession(id, options);
  await s.resolveCommit(plan === 'causal-lm' ? 'config.json' : 'tokenizer_config.json');
  await fetchPlan(s, plan);
  s.emit('ready', '');
  return s.cache.snapshotDir(s.commit!);
}

function isHubId(source: string): boolean {
  if (!looksLikeHubId(source)) return false;
  return !(isNode() && fs.existsSync(source));
}

const HUB_GGUF = /^(?:hf:)?([A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*)\/((?:[\w.-]+\/)*[\w.-]+\.gguf)$/i;

/** `org/name/path/file.gguf` (or node-llama-cpp's `hf:org/name/file.gguf`), when no local file of that name exists. */
function hubGguf(source: string): { id: string; file: string } | undefined {
  const m = HUB_GGUF.exec(source);
  if (!m || source.includes('..') || (isNode() && fs.existsSync(source))) return undefined;
  return { id: m[1]!, file: m[2]! };
}

/**
 * For a GGUF file in a hub repo (`org/name/file.gguf`, `hf:org/name/file.gguf`): the file, through
 * the cache (Node: its path in the snapshot; browser: its bytes). Returns undefined for anything else.
 * @throws HubError naming the file (and HTTP status) that could not be had.
 */
export async function resolveHubGguf(source: string, options: HubLoadOptions = {}): Promise<string | Uint8Array | undefined> {
  const g = hubGguf(source);
  if (!g) return undefined;
  if (useFileCache()) {
    const s = new HubSession(g.id, options);
    await s.resolveCommit(g.file);
    const at = (await s.file(g.file, true))!;
    s.emit('ready', '');
    return at;
  }
  const get = memoryGetter(g.id, options);
  const bytes = (await get(g.file, true))!;
  get.ready();
  return bytes;
}

/**
 * For a hub id (`org/name`, when no local folder of that name exists): fetches what loadCausalLM
 * needs (config.json, generation_config.json, model.safetensors or the index and its shards) and
 * returns the folder to read (Node: the cache snapshot) or the files themselves (browser: through
 * the Cache API). Returns undefined for anything that is not a hub id.
 * @throws HubError naming the file (and HTTP status) that could not be had.
 */
export async function resolveHubCheckpoint(source: string, options: HubLoadOptions = {}): Promise<string | HubCheckpointFiles | undefined> {
  if (!isHubId(source)) return undefined;
  if (useFileCache()) return nodeSnapshot(source, 'causal-lm', options);
  const get = memoryGetter(source, options);
  const config = (await get('config.json', true))!;
  const generationConfig = await get('generation_config.json', false);
  let weights: Uint8Array | WeightSource | undefined = await get('model.safetensors', false);
  if (weights === undefined) {
    const index = await get('model.safetensors.index.json', true);
    const files: SafetensorsFile[] = [];
    for (const shard of shardNames(index!, 'model.safetensors.index.json')) files.push(new SafetensorsFile((await get(shard, true))!, shard));
    weights = new SafetensorsCheckpoint(files);
  }
  get.ready();
  return { config, weights, ...(generationConfig ? { generationConfig } : {}) };
}

/**
 * For a hub id: fetches the tokenizer files and returns the folder to read (Node) or the files
 * (browser; tokenizer_config.json merged with special_tokens_map.json and chat_template.jinja).
 * Returns undefined for anything that is not a hub id.
 * @throws HubError naming the file that could not be had.
 */
export async function resolveHubTokenizer(source: string, options: HubLoadOptions = {}): Promise<string | HubTokenizerFiles | undefined> {
  if (!isHubId(source)) return undefined;
  if (useFileCache()) return nodeSnapshot(source, 'tokenizer', options);
  const get = memoryGetter(source, options);
  const json = (b: Uint8Array | undefined, f: string): Record<string, unknown> => (b ? (parseJsonAs(b, `${f}: not valid JSON`, TokenizerError) as Record<string, unknown>) : {});
  const config = json(await get('tokenizer_config.json', false), 'tokenizer_config.json');
  for (const [k, v] of Object.entries(json(await get('special_tokens_map.json', false), 'special_tokens_map.json'))) if (config[k] === undefined) config[k] = v;
  if (config.chat_template === undefined) {
    const jinja = await get('chat_template.jinja', false);
    if (jinja) config.chat_template = new TextDecoder().decode(jinja);
  }
  const tokenizerJson = await get('tokenizer.json', false);
  if (tokenizerJson) {
    get.ready();
    return { tokenizerJson, tokenizerConfig: config };
  }
  const vocab = (await get('vocab.json', true))!;
  const merges = (await get('merges.txt', true))!;
  get.ready();
  return { vocab, merges, tokenizerConfig: config };
}

/** A file getter over the Cache API (or plain fetch), with progress. */
function memoryGetter(id: string, options: HubLoadOptions): ((file: string, required: boolean) => Promise<Uint8Array | undefined>) & { ready(): void } {
  const reporter = new ProgressReporter(id, options.onProgress);
  const revision = options.revision ?? 'main';
  const offline = isOffline(options);
  const get = (file: string, required: boolean): Promise<Uint8Array | undefined> =>
    browserHubFile(id, revision, file, required, offline, (status, loaded, total) => reporter.emit(status, file, loaded, total));
  return Object.assign(get, { ready: () => reporter.emit('ready', '') });
}

/** Models in the cache: the hub cache folder in Node, the Cache API in a browser. */
export async function listCachedModels(options: Pick<HubOptions, 'cacheDir'> = {}): Promise<CachedModel[]> {
  return useFileCache() ? listCacheFolder(hubCacheDir(options)) : listBrowserCache();
}

/**
 * Removes model `id` (every model when omitted) from the cache: its `models--org--name` folder in
 * Node (shared with huggingface-cli), its Cache API entries in a browser.
 * @returns the ids removed.
 */
export async function clearCache(id?: string, options: Pick<HubOptions, 'cacheDir'> = {}): Promise<string[]> {
  return useFileCache() ? clearCacheFolder(hubCacheDir(options), id) : clearBrowserCache(id);
}
