/**
 * Hub files where there is no file system (browsers, workers): fetched (redirects followed by the
 * browser), kept in the Cache API under their URL (which holds the revision), or in the Origin
 * Private File System for files of `env.largeFileBytes` and more (hub_opfs.ts), so a second load
 * of the same model and revision makes no request. Quota failures become a typed HubError that
 * says how many bytes were being stored.
 * Ref: transformers.js `hub.js` (Cache API, `transformers-cache`), the Cache API (MDN).
 */
import { HubError, errorMessage } from '../src/core/errors';
import type { ProgressInfo } from './byte_source';
import type { CachedModel } from './hub_cache';
import { accessToken, env, hubFileUrl } from './hub_env';
import { opfsAvailable, opfsDelete, opfsGet, opfsList, opfsPut } from './hub_opfs';

/** Name of the Cache API cache the hub files go to. */
export const BROWSER_CACHE_NAME = 'loom-tfjs-hub';

/** Status of the cache entry that records a file as missing at a revision. */
const MISSING = 404;

/** The parts of the Cache API used here (so tests can pass an in-memory one). */
export interface CacheLike {
  match(request: string): Promise<Response | undefined>;
  put(request: string, response: Response): Promise<void>;
  delete(request: string): Promise<boolean>;
  keys(): Promise<readonly { url: string }[]>;
}

/** The parts of `CacheStorage` used here. */
export interface CacheStorageLike {
  open(name: string): Promise<CacheLike>;
}

/** `globalThis.caches` when the Cache API exists and `env.useBrowserCache` is on. */
export function browserCaches(): CacheStorageLike | undefined {
  if (!env.useBrowserCache) return undefined;
  return (globalThis as { caches?: CacheStorageLike }).caches;
}

/** Reports of one file, as transformers.js sends them. */
export type FileProgress = (status: ProgressInfo['status'], loaded?: number, total?: number) => void;

async function readBody(res: Response, file: string, progress: FileProgress): Promise<Uint8Array> {
  const len = res.headers.get('content-length');
  const total = len !== null && /^\d+$/.test(len) ? Number(len) : 0;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch (e) {
      throw new HubError(`${file}: download cut after ${loaded} of ${total || '?'} bytes: ${errorMessage(e)}`, 'network', file);
    }
    if (r.done) break;
    chunks.push(r.value);
    loaded += r.value.byteLength;
    progress('progress', loaded, total);
  }
  if (total > 0 && loaded !== total) throw new HubError(`${file}: download has ${loaded} bytes, the server announced ${total}`, 'integrity', file);
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * The bytes of `file` of repo `id` at `revision`: from the cache when it is there, else fetched
 * (and stored). Returns undefined for a 404 of an optional file.
 * @throws HubError for HTTP errors (401/403 'gated'), network failures, offline misses and quota errors.
 */
export async function browserHubFile(id: string, revision: string, file: string, required: boolean, offline: boolean, progress: FileProgress): Promise<Uint8Array | undefined> {
  const url = hubFileUrl(id, revision, file);
  const storage = browserCaches();
  const cache = storage ? await storage.open(BROWSER_CACHE_NAME) : undefined;
  progress('initiate');
  const hit = await cache?.match(url);
  if (hit?.status === MISSING) {
    if (required) throw new HubError(`${id}: ${file} does not exist at revision '${revision}' (recorded in the browser cache)`, 'not_found', file, 404);
    return undefined;
  }
  const stored = hit ? new Uint8Array(await hit.arrayBuffer()) : env.useBrowserCache ? await opfsGet(url) : undefined;
  if (stored) {
    progress('done', stored.byteLength, stored.byteLength);
    return stored;
  }
  if (offline) {
    if (!required) return undefined;
    throw new HubError(`${id}: ${file} is not in the browser cache and the network is off (localFilesOnly / env.allowRemoteModels = false)`, 'offline', file);
  }
  const token = accessToken();
  let res: Response;
  try {
    res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  } catch (e) {
    throw new HubError(`${file}: cannot reach ${url}: ${errorMessage(e)}`, 'network', file);
  }
  if (res.status === 404 && !required) {
    // Remembered, as huggingface_hub's .no_exist markers, so the next load does not ask again.
    await cache?.put(url, new Response(null, { status: MISSING })).catch(() => undefined);
    return undefined;
  }
  if (res.status === 401 || res.status === 403) {
    throw new HubError(`${file}: HTTP ${res.status} from ${url}: the model may be gated or private; pass a token with env.accessToken`, 'gated', file, res.status);
  }
  if (!res.ok) throw new HubError(`${file}: HTTP ${res.status} from ${url}`, res.status === 404 ? 'not_found' : 'http', file, res.status);
  progress('download');
  const bytes = await readBody(res, file, progress);
  const large = bytes.byteLength >= env.largeFileBytes && env.useBrowserCache && (await opfsAvailable());
  if (cache || large) {
    try {
      if (large) await opfsPut(url, bytes);
      else await cache!.put(url, new Response(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) } }));
    } catch (e) {
      const quota = e instanceof Error && (e.name === 'QuotaExceededError' || /quota/i.test(e.message));
      if (quota) throw new HubError(`${file}: the browser's storage quota is full: storing needs ${bytes.byteLength} bytes (${errorMessage(e)}); free space with clearCache()`, 'quota', file);
      throw new HubError(`${file}: cannot store in the ${large ? 'Origin Private File System' : 'Cache API'}: ${errorMessage(e)}`, 'http', file);
    }
  }
  progress('done', bytes.byteLength, bytes.byteLength);
  return bytes;
}

/** Splits a cached URL into repo id, revision and file, by env.remoteHost / remotePathTemplate. */
function parseCachedUrl(url: string): { id: string; revision: string; file: string } | undefined {
  const probe = hubFileUrl('ORG__/NAME__', 'REV__', 'FILE__');
  const esc = probe.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^${esc.replace('ORG__/NAME__', '([^/]+/[^/]+)').replace('REV__', '([^/]+)').replace('FILE__', '(.+)')}$`);
  const m = re.exec(url);
  return m ? { id: m[1]!, revision: decodeURIComponent(m[2]!), file: m[3]!.split('/').map(decodeURIComponent).join('/') } : undefined;
}

/** Models in the browser cache. */
export async function listBrowserCache(): Promise<CachedModel[]> {
  const storage = browserCaches();
  const entries: { url: string; size: number }[] = env.useBrowserCache ? await opfsList() : [];
  if (storage) {
    const cache = await storage.open(BROWSER_CACHE_NAME);
    for (const req of await cache.keys()) {
      const res = await cache.match(req.url);
      if (res && res.status !== MISSING) entries.push({ url: req.url, size: Number(res.headers.get('content-length') ?? 0) });
    }
  }
  const byId = new Map<string, { sizeBytes: number; revisions: Record<string, string>; snapshots: Record<string, string[]> }>();
  for (const { url, size } of entries) {
    const p = parseCachedUrl(url);
    if (!p) continue;
    const m = byId.get(p.id) ?? { sizeBytes: 0, revisions: {}, snapshots: {} };
    m.sizeBytes += size;
    m.revisions[p.revision] = p.revision;
    (m.snapshots[p.revision] ??= []).push(p.file);
    byId.set(p.id, m);
  }
  for (const m of byId.values()) for (const files of Object.values(m.snapshots)) files.sort();
  return [...byId.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([id, m]) => ({ id, ...m }));
}

/** Removes model `id` (or every hub file) from the browser cache; returns the ids removed. */
export async function clearBrowserCache(id?: string): Promise<string[]> {
  const storage = browserCaches();
  const removed = new Set<string>();
  if (env.useBrowserCache) {
    for (const { url } of await opfsList()) {
      const p = parseCachedUrl(url);
      if (!p || (id !== undefined && p.id !== id)) continue;
      await opfsDelete(url);
      removed.add(p.id);
    }
  }
  if (storage) {
    const cache = await storage.open(BROWSER_CACHE_NAME);
    for (const req of await cache.keys()) {
      const p = parseCachedUrl(req.url);
      if (!p || (id !== undefined && p.id !== id)) continue;
      await cache.delete(req.url);
      removed.add(p.id);
    }
  }
  return [...removed].sort();
}
