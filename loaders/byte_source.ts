/**
 * Byte sources for checkpoint files: in-memory buffers, browser `Blob`/`File`, URLs (streamed
 * fetch with progress) and Node file paths (read once into one buffer, header validated first).
 */
import { SafetensorsError } from '../src/core/errors';

/**
 * Progress report in transformers.js's shape. Reading a file gives `initiate`, `progress`...,
 * `done`; a hub id adds `download` (a file is fetched, not read from the cache), `progress_total`
 * (all files of the model together, `files` per file) and a final `ready`.
 */
export interface ProgressInfo {
  status: 'initiate' | 'download' | 'progress' | 'done' | 'progress_total' | 'ready';
  /** File name or URL being read (`''` for `progress_total` and `ready`). */
  file: string;
  /** Hub id of the model, for hub loads. */
  name?: string;
  /** Per-file bytes, in `progress_total` reports. */
  files?: Readonly<Record<string, { loaded: number; total: number }>>;
  /** Bytes read so far. */
  loaded: number;
  /** Total bytes (0 when the server does not say). */
  total: number;
  /** Percent in [0, 100]. */
  progress: number;
}

/** Receives {@link ProgressInfo} reports. */
export type ProgressCallback = (info: ProgressInfo) => void;

/** Anything a checkpoint file can be read from. A string is a URL when it starts with `http(s)://` or `blob:`/`data:`, else a Node path. */
export type ByteSource = ArrayBuffer | Uint8Array | Blob | URL | string;

/** Options of {@link readBytes}. */
export interface ReadBytesOptions {
  onProgress?: ProgressCallback;
  /**
   * Called with the first bytes of the file (at least 8, when the file has them) and the total size
   * before the rest is read, so a malformed header is rejected before a large read. May throw.
   */
  checkPrefix?: (prefix: Uint8Array, totalSize: number) => number | void;
}

const CHUNK = 16 * 1024 * 1024;

/** True when `s` names a URL rather than a file path. */
export function isUrlString(s: string): boolean {
  return /^(https?:|blob:|data:|file:)/i.test(s);
}

function report(cb: ProgressCallback | undefined, status: 'initiate' | 'progress' | 'done', file: string, loaded: number, total: number): void {
  if (!cb) return;
  const progress = total > 0 ? Math.min(100, (loaded / total) * 100) : status === 'done' ? 100 : 0;
  cb({ status, file, loaded, total, progress });
}

function sourceName(src: ByteSource): string {
  if (typeof src === 'string') return src;
  if (src instanceof URL) return src.href;
  if (typeof Blob !== 'undefined' && src instanceof Blob) return (src as { name?: string }).name ?? 'blob';
  return 'buffer';
}

/**
 * Reads a whole source into one `Uint8Array` (no second copy for paths and sized URLs).
 * @throws SafetensorsError when the source cannot be read.
 */
export async function readBytes(src: ByteSource, options: ReadBytesOptions = {}): Promise<Uint8Array> {
  const file = sourceName(src);
  const { onProgress, checkPrefix } = options;
  if (src instanceof Uint8Array) {
    checkPrefix?.(src, src.byteLength);
    report(onProgress, 'done', file, src.byteLength, src.byteLength);
    return src;
  }
  if (src instanceof ArrayBuffer) {
    const bytes = new Uint8Array(src);
    checkPrefix?.(bytes, bytes.byteLength);
    report(onProgress, 'done', file, bytes.byteLength, bytes.byteLength);
    return bytes;
  }
  if (typeof Blob !== 'undefined' && src instanceof Blob) {
    report(onProgress, 'initiate', file, 0, src.size);
    if (checkPrefix) {
      const first = new Uint8Array(await src.slice(0, 8).arrayBuffer());
      const need = checkPrefix(first, src.size);
      if (typeof need === 'number' && need > 8) checkPrefix(new Uint8Array(await src.slice(0, need).arrayBuffer()), src.size);
    }
    const bytes = new Uint8Array(await src.arrayBuffer());
    report(onProgress, 'done', file, bytes.byteLength, bytes.byteLength);
    return bytes;
  }
  if (src instanceof URL) return readUrl(src.href, file, options);
  if (typeof src !== 'string') throw new SafetensorsError(`unsupported byte source: ${Object.prototype.toString.call(src)}`);
  if (isUrlString(src)) return readUrl(src, file, options);
  return readPath(src, options);
}

/**
 * What to add to a failed fetch's message: in a page, a URL on another origin usually fails
 * because its server sends no CORS header, which the browser reports only as "Failed to fetch".
 */
export function corsHint(url: string): string {
  const here = (globalThis as { location?: { origin?: string } }).location?.origin;
  let there: string;
  try {
    there = new URL(url).origin;
  } catch {
    return '';
  }
  if (!here || here === 'null' || there === here || !/^https?:/.test(url)) return '';
  return ` (${there} is another origin than this page's ${here}: its server must allow cross-origin requests, i.e. send Access-Control-Allow-Origin (CORS), or the files must be served from this page's origin)`;
}

/**
 * GETs `url` (one request, no HEAD probe).
 * @returns the response, or null for a 404 when `optional`.
 * @throws SafetensorsError when the request fails (naming CORS when the URL is cross-origin) or,
 *   unless optional and 404, when the status is not OK.
 */
export async function fetchUrl(url: string, file: string, optional = false): Promise<Response | null> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new SafetensorsError(`${file}: fetch failed: ${e instanceof Error ? e.message : String(e)}${corsHint(url)}`);
  }
  if (optional && res.status === 404) {
    void res.body?.cancel();
    return null;
  }
  if (!res.ok) throw new SafetensorsError(`${file}: HTTP ${res.status} ${res.statusText}`);
  return res;
}

/** The text of an optional file (path or URL), or undefined when it does not exist (404), with one request. */
export async function readTextIfPresent(src: string): Promise<string | undefined> {
  if (isUrlString(src) && /^https?:/i.test(src)) {
    const res = await fetchUrl(src, src, true);
    return res ? await res.text() : undefined;
  }
  if (isUrlString(src)) return readText(src);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('fs') as typeof import('fs');
  return fs.existsSync(src) ? readText(src) : undefined;
}

async function readUrl(url: string, file: string, options: ReadBytesOptions): Promise<Uint8Array> {
  const { onProgress } = options;
  const res = (await fetchUrl(url, file)) as Response;
  if (!res.ok) throw new SafetensorsError(`${file}: HTTP ${res.status} ${res.statusText}`);
  const lengthHeader = res.headers.get('content-length');
  const total = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : 0;
  report(onProgress, 'initiate', file, 0, total);
  if (!res.body) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    options.checkPrefix?.(bytes, bytes.byteLength);
    report(onProgress, 'done', file, bytes.byteLength, bytes.byteLength);
    return bytes;
  }
  const reader = res.body.getReader();
  // With a known length, write straight into one buffer; else collect chunks and join once.
  let out = total > 0 ? new Uint8Array(total) : null;
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  let checked = !options.checkPrefix;
  let needPrefix = 8;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (out) {
      if (loaded + value.byteLength > out.byteLength) {
        const grown = new Uint8Array(Math.max(out.byteLength * 2, loaded + value.byteLength));
        grown.set(out.subarray(0, loaded));
        out = grown;
      }
      out.set(value, loaded);
    } else {
      chunks.push(value);
    }
    loaded += value.byteLength;
    if (!checked && total > 0 && out && loaded >= Math.min(needPrefix, total)) {
      const need = options.checkPrefix?.(out.subarray(0, loaded), total);
      if (typeof need === 'number' && need > needPrefix && loaded < need) needPrefix = need;
      else checked = true;
    }
    report(onProgress, 'progress', file, loaded, total);
  }
  let bytes: Uint8Array;
  if (out) {
    bytes = loaded === out.byteLength ? out : out.subarray(0, loaded);
  } else {
    bytes = new Uint8Array(loaded);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.byteLength;
    }
  }
  if (!checked) options.checkPrefix?.(bytes, bytes.byteLength);
  report(onProgress, 'done', file, loaded, loaded);
  return bytes;
}

async function readPath(path: string, options: ReadBytesOptions): Promise<Uint8Array> {
  const fs = require('fs') as typeof import('fs');
  const { onProgress } = options;
  let fh: import('fs/promises').FileHandle;
  try {
    fh = await fs.promises.open(path, 'r');
  } catch (e) {
    throw new SafetensorsError(`${path}: cannot open: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    const { size } = await fh.stat();
    report(onProgress, 'initiate', path, 0, size);
    if (options.checkPrefix) {
      const first = new Uint8Array(Math.min(8, size));
      await readFully(fh, first, 0);
      const need = options.checkPrefix(first, size);
      if (typeof need === 'number' && need > 8) {
        const prefix = new Uint8Array(Math.min(need, size));
        await readFully(fh, prefix, 0);
        options.checkPrefix(prefix, size);
      }
    }
    const bytes = new Uint8Array(size);
    let loaded = 0;
    while (loaded < size) {
      const n = Math.min(CHUNK, size - loaded);
      await readFully(fh, bytes.subarray(loaded, loaded + n), loaded);
      loaded += n;
      report(onProgress, 'progress', path, loaded, size);
    }
    report(onProgress, 'done', path, size, size);
    return bytes;
  } finally {
    await fh.close();
  }
}

async function readFully(fh: import('fs/promises').FileHandle, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < into.byteLength) {
    const { bytesRead } = await fh.read(into, done, into.byteLength - done, position + done);
    if (bytesRead === 0) throw new SafetensorsError(`file ended early: read ${position + done} bytes, expected ${position + into.byteLength}`);
    done += bytesRead;
  }
}

/** Reads a text file (config.json, index.json) from the same kinds of sources. */
export async function readText(src: ByteSource): Promise<string> {
  return new TextDecoder().decode(await readBytes(src));
}

/** Joins a base (folder path or URL) and a file name. */
export function joinSource(base: string | URL, name: string): string {
  const b = base instanceof URL ? base.href : base;
  if (isUrlString(b)) return new URL(name, b.endsWith('/') ? b : b + '/').href;
  const path = require('path') as typeof import('path');
  return path.join(b, name);
}
