/**
 * HTTP for Hub files: redirects followed by hand (the hub's first answer carries the commit and
 * ETag, the CDN's does not), HTTP statuses turned into {@link HubError}s, and downloads streamed to
 * a temporary file that is checked (size, and sha256 / git-sha1 ETag) before it is renamed.
 * Ref: huggingface_hub `get_hf_file_metadata` (X-Repo-Commit, X-Linked-Etag, X-Linked-Size) and
 * `http_get` (resumable temp file); transformers.js `hub.js`.
 */
import * as fs from 'fs';
import { createHash, type Hash } from 'crypto';
import { HubError, errorMessage } from '../src/core/errors';
import { accessToken } from './hub_env';

const MAX_REDIRECTS = 10;

/** What the hub says about a file before its body is read. */
export interface HubFileMeta {
  /** Commit the revision resolved to (`X-Repo-Commit`), when the server says. */
  commit?: string;
  /** Strong ETag without quotes (`X-Linked-Etag` for LFS files, else `ETag`). */
  etag?: string;
  /** Size in bytes (`X-Linked-Size`, else `Content-Length` of the final answer). */
  size?: number;
}

/** A response whose body is still to be read, with the hub's metadata gathered along the redirects. */
export interface HubResponse {
  readonly response: Response;
  readonly meta: HubFileMeta;
}

function cleanEtag(v: string | null): string | undefined {
  // A weak ETag names no exact content: not used for checking or as a blob name.
  if (v === null || /^W\//.test(v.trim())) return undefined;
  const t = v.trim().replace(/^"|"$/g, '');
  return t === '' ? undefined : t;
}

function sizeHeader(v: string | null): number | undefined {
  return v !== null && /^\d+$/.test(v.trim()) ? Number(v.trim()) : undefined;
}

function statusError(res: Response, file: string, url: string): HubError {
  const code = res.headers.get('x-error-code') ?? '';
  const s = res.status;
  if (s === 401 || s === 403 || code === 'GatedRepo' || code === 'RepoNotFound') {
    return new HubError(
      `${file}: HTTP ${s} from ${url}: the model may be gated or private (or the id is wrong); accept its terms on the hub and pass a token with env.accessToken or the HF_TOKEN environment variable`,
      'gated', file, s,
    );
  }
  if (s === 404) return new HubError(`${file}: HTTP 404 from ${url}: no such file at this revision${code ? ` (${code})` : ''}`, 'not_found', file, s);
  return new HubError(`${file}: HTTP ${s} ${res.statusText} from ${url}`, 'http', file, s);
}

/**
 * Requests `url`, following redirects by hand so the hub's own headers are kept. The bearer
 * token is sent to the first host only (not to the CDN a redirect points at). With
 * `acceptNotFound`, a 404 is returned rather than thrown (its headers still name the commit).
 * @throws HubError for network failures and non-2xx answers (404 'not_found', 401/403 'gated').
 */
export async function hubRequest(url: string, file: string, method: 'GET' | 'HEAD', acceptNotFound = false): Promise<HubResponse> {
  const token = accessToken();
  const firstHost = new URL(url).host;
  const meta: HubFileMeta = {};
  let at = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (token && new URL(at).host === firstHost) headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetch(at, { method, headers, redirect: 'manual' });
    } catch (e) {
      throw new HubError(`${file}: cannot reach ${at}: ${errorMessage(e)}`, 'network', file);
    }
    meta.commit ??= res.headers.get('x-repo-commit') ?? undefined;
    meta.etag ??= cleanEtag(res.headers.get('x-linked-etag')) ?? (res.status >= 300 && res.status < 400 ? undefined : cleanEtag(res.headers.get('etag')));
    meta.size ??= sizeHeader(res.headers.get('x-linked-size'));
    if (res.status >= 300 && res.status < 400) {
      const loc = res.headers.get('location');
      await res.body?.cancel();
      if (loc === null) throw new HubError(`${file}: HTTP ${res.status} from ${at} without a Location header`, 'http', file, res.status);
      at = new URL(loc, at).href;
      continue;
    }
    if (!res.ok && !(acceptNotFound && res.status === 404)) {
      await res.body?.cancel();
      throw statusError(res, file, at);
    }
    meta.size ??= sizeHeader(res.headers.get('content-length'));
    return { response: res, meta };
  }
  throw new HubError(`${file}: more than ${MAX_REDIRECTS} redirects from ${url}`, 'http', file);
}

/** Per-chunk progress of one download. */
export type DownloadProgress = (loaded: number, total: number) => void;

/** Hash whose hex digest an ETag of this shape must equal (sha256 for LFS, git blob sha1 otherwise). */
function etagHash(etag: string | undefined, size: number | undefined): Hash | undefined {
  if (etag === undefined) return undefined;
  if (/^[0-9a-f]{64}$/.test(etag)) return createHash('sha256');
  if (/^[0-9a-f]{40}$/.test(etag) && size !== undefined) {
    const h = createHash('sha1');
    h.update(`blob ${size}\0`);
    return h;
  }
  return undefined;
}

/**
 * Streams the body of `res` into `tmpPath`, then checks the byte count against the announced size
 * and the content against a hash-shaped ETag. On any failure the temporary file is removed.
 * @throws HubError 'network' for a cut connection, 'integrity' for a size or hash mismatch.
 */
export async function downloadTo(hub: HubResponse, tmpPath: string, file: string, onChunk?: DownloadProgress): Promise<void> {
  const { response, meta } = hub;
  const total = meta.size ?? 0;
  const hash = etagHash(meta.etag, meta.size);
  const fh = await fs.promises.open(tmpPath, 'w');
  let loaded = 0;
  let ok = false;
  try {
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (e) {
          throw new HubError(`${file}: download cut after ${loaded} of ${total || '?'} bytes: ${errorMessage(e)}`, 'network', file);
        }
        if (chunk.done) break;
        const v = chunk.value;
        hash?.update(v);
        let written = 0;
        while (written < v.byteLength) written += (await fh.write(v, written, v.byteLength - written)).bytesWritten;
        loaded += v.byteLength;
        onChunk?.(loaded, total);
      }
    }
    if (meta.size !== undefined && loaded !== meta.size) {
      throw new HubError(`${file}: download has ${loaded} bytes, the server announced ${meta.size}`, 'integrity', file);
    }
    if (hash) {
      const digest = hash.digest('hex');
      if (digest !== meta.etag) throw new HubError(`${file}: downloaded content hashes to ${digest}, the server's ETag is ${meta.etag}`, 'integrity', file);
    }
    ok = true;
  } finally {
    await fh.close();
    if (!ok) fs.rmSync(tmpPath, { force: true });
  }
}
