/**
 * A local HTTP server (127.0.0.1, random free port) that answers as huggingface.co does:
 * `/{org}/{name}/resolve/{revision}/{file}`; LFS files (*.safetensors, *.gguf) redirect (302) to a
 * blob URL with `X-Linked-Etag` (sha256) and `X-Linked-Size`, regular files answer 200 with the git
 * blob sha1 as ETag; every hub answer carries `X-Repo-Commit`; a missing file is 404
 * `EntryNotFound`, an unknown or gated repo 401; files in `cut` stop halfway (socket destroyed).
 * Ref: huggingface_hub `get_hf_file_metadata` (the headers it reads).
 */
import * as http from 'http';
import { createHash } from 'crypto';

/** One repo served. */
export interface FakeRepo {
  commit: string;
  files: Map<string, Uint8Array>;
  /** Requests need `authorization: Bearer <token>`. */
  gatedToken?: string;
}

/** A running server. */
export interface FakeHub {
  /** `http://127.0.0.1:<port>/`. */
  url: string;
  /** Every request, as `METHOD path`. */
  requests: string[];
  /** File names whose blob download is cut halfway. */
  cut: Set<string>;
  /** File names whose LFS ETag is announced wrong. */
  badEtag: Set<string>;
  close(): Promise<void>;
}

/** sha256 hex of bytes. */
export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** git blob sha1 hex (what `git hash-object` prints). */
export function gitSha1(b: Uint8Array): string {
  return createHash('sha1').update(`blob ${b.byteLength}\0`).update(b).digest('hex');
}

/** True for files the hub stores in LFS. */
export function isLfs(file: string): boolean {
  return /\.(safetensors|gguf|bin)$/.test(file);
}

/** Starts the server. */
export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const requests: string[] = [];
  const cut = new Set<string>();
  const badEtag = new Set<string>();
  const blobs = new Map<string, { bytes: Uint8Array; file: string }>();
  for (const repo of Object.values(repos)) for (const [f, b] of repo.files) if (isLfs(f)) blobs.set(sha256(b), { bytes: b, file: f });

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${decodeURIComponent(url.pathname)}`);
    const blob = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
    if (blob) {
      const b = blobs.get(blob[1]!);
      if (!b) return end(res, 404, {});
      res.writeHead(200, { 'content-length': String(b.bytes.byteLength), 'content-type': 'application/octet-stream' });
      if (req.method === 'HEAD') return res.end();
      if (cut.has(b.file)) {
        res.write(b.bytes.subarray(0, b.bytes.byteLength >> 1), () => res.socket?.destroy());
        return;
      }
      return res.end(b.bytes);
    }
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repo = m ? repos[m[1]!] : undefined;
    if (!m || !repo) return end(res, 401, { 'x-error-code': 'RepoNotFound' });
    if (repo.gatedToken !== undefined && req.headers.authorization !== `Bearer ${repo.gatedToken}`) return end(res, 401, { 'x-error-code': 'GatedRepo' });
    const rev = decodeURIComponent(m[2]!);
    if (rev !== 'main' && rev !== repo.commit) return end(res, 404, { 'x-error-code': 'RevisionNotFound' });
    const file = decodeURIComponent(m[3]!);
    const bytes = repo.files.get(file);
    const common = { 'x-repo-commit': repo.commit };
    if (!bytes) return end(res, 404, { ...common, 'x-error-code': 'EntryNotFound' });
    if (isLfs(file)) {
      const h = sha256(bytes);
      const etag = badEtag.has(file) ? 'f'.repeat(64) : h;
      return end(res, 302, { ...common, location: `/cdn/${h}`, 'x-linked-etag': `"${etag}"`, 'x-linked-size': String(bytes.byteLength), etag: `"${gitSha1(bytes)}"` });
    }
    res.writeHead(200, { ...common, etag: `"${gitSha1(bytes)}"`, 'content-length': String(bytes.byteLength) });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    cut,
    badEtag,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function end(res: http.ServerResponse, status: number, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'content-length': '0' });
  res.end();
}
