/**
 * The Hugging Face hub cache on disk (Node), shared with huggingface-cli, huggingface_hub and
 * Python transformers:
 * ```
 * <cache>/models--org--name/
 *   blobs/<etag>                      file contents, named by ETag (sha256 for LFS files, git sha1 otherwise)
 *   refs/<revision>                   the commit hash a branch or tag pointed to
 *   snapshots/<commit>/<file>         relative symlink to ../../blobs/<etag> (a copy where links fail)
 *   .no_exist/<commit>/<file>         empty marker: the file is known not to exist at that commit
 * ```
 * Ref: huggingface_hub `file_download.py` (hf_hub_download, _create_symlink, _cache_commit_hash_for_specific_revision).
 */
import * as fs from 'fs';
import * as path from 'path';
import { repoFolderName } from './hub_env';

const COMMIT = /^[0-9a-f]{40}$/;
let downloadCounter = 0;

/** True when `revision` is a full commit hash. */
export function isCommitHash(revision: string): boolean {
  return COMMIT.test(revision);
}

/** One repo's folder in the cache. */
export class RepoCache {
  /** `<cache>/models--org--name`. */
  readonly root: string;
  constructor(
    cacheDir: string,
    readonly id: string,
  ) {
    this.root = path.join(cacheDir, repoFolderName(id));
  }

  /** Commit `revision` resolves to in the cache (the revision itself for a hash), or undefined. */
  commitFor(revision: string): string | undefined {
    if (isCommitHash(revision)) return revision;
    try {
      const c = fs.readFileSync(path.join(this.root, 'refs', revision), 'utf8').trim();
      return isCommitHash(c) ? c : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records that `revision` points at `commit` (nothing for a hash). */
  writeRef(revision: string, commit: string): void {
    if (isCommitHash(revision) || this.commitFor(revision) === commit) return;
    const file = path.join(this.root, 'refs', revision);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, commit);
    fs.renameSync(tmp, file);
  }

  /** Snapshot folder of a commit. */
  snapshotDir(commit: string): string {
    return path.join(this.root, 'snapshots', commit);
  }

  /** Path of `file` in the snapshot of `commit` when it is there (a dangling link does not count). */
  cachedFile(commit: string, file: string): string | undefined {
    const p = path.join(this.snapshotDir(commit), ...file.split('/'));
    try {
      return fs.statSync(p).isFile() ? p : undefined;
    } catch {
      return undefined;
    }
  }

  /** True when `file` was recorded as missing at `commit`. */
  knownMissing(commit: string, file: string): boolean {
    return fs.existsSync(path.join(this.root, '.no_exist', commit, ...file.split('/')));
  }

  /** Records that `file` does not exist at `commit`. */
  markMissing(commit: string, file: string): void {
    const p = path.join(this.root, '.no_exist', commit, ...file.split('/'));
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, '');
  }

  /** Path of a blob. */
  blobPath(etag: string): string {
    return path.join(this.root, 'blobs', etag);
  }

  /** A fresh path a download of `etag` is written to before it is complete (unique per call, so concurrent loads never share one). */
  incompletePath(etag: string): string {
    return `${this.blobPath(etag)}.${process.pid}-${++downloadCounter}.incomplete`;
  }

  /**
   * Moves a finished download into `blobs/<etag>` and links `snapshots/<commit>/<file>` to it.
   * @returns the snapshot path.
   */
  commitBlob(tmpPath: string, etag: string, commit: string, file: string): string {
    const blob = this.blobPath(etag);
    fs.mkdirSync(path.dirname(blob), { recursive: true });
    fs.renameSync(tmpPath, blob);
    return this.linkSnapshot(etag, commit, file);
  }

  /** Links `snapshots/<commit>/<file>` to an existing blob (relative link, or a copy where links fail). */
  linkSnapshot(etag: string, commit: string, file: string): string {
    const blob = this.blobPath(etag);
    const dest = path.join(this.snapshotDir(commit), ...file.split('/'));
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.rmSync(dest, { force: true });
    try {
      fs.symlinkSync(path.relative(path.dirname(dest), blob), dest);
    } catch {
      fs.copyFileSync(blob, dest);
    }
    return dest;
  }
}

/** One model in a cache (Node: the hub cache folder; browser: the Cache API). */
export interface CachedModel {
  /** Hub id `org/name`. */
  readonly id: string;
  /** Bytes stored (blobs, counted once). */
  readonly sizeBytes: number;
  /** Branch or tag -> commit, from `refs/` (browser: revision -> revision). */
  readonly revisions: Readonly<Record<string, string>>;
  /** Files of each snapshot commit (browser: of each revision). */
  readonly snapshots: Readonly<Record<string, readonly string[]>>;
}

function walkFiles(dir: string, base = ''): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walkFiles(path.join(dir, e.name), rel));
    else out.push(rel);
  }
  return out.sort();
}

/** Models in the hub cache folder `cacheDir` (only `models--*` entries; datasets and spaces are left out). */
export function listCacheFolder(cacheDir: string): CachedModel[] {
  if (!fs.existsSync(cacheDir)) return [];
  const out: CachedModel[] = [];
  for (const e of fs.readdirSync(cacheDir, { withFileTypes: true })) {
    if (!e.isDirectory() || !e.name.startsWith('models--')) continue;
    const root = path.join(cacheDir, e.name);
    const id = e.name.slice('models--'.length).split('--').join('/');
    let sizeBytes = 0;
    for (const b of walkFiles(path.join(root, 'blobs'))) if (!b.endsWith('.incomplete')) sizeBytes += fs.statSync(path.join(root, 'blobs', b)).size;
    const revisions: Record<string, string> = {};
    for (const r of walkFiles(path.join(root, 'refs'))) revisions[r] = fs.readFileSync(path.join(root, 'refs', r), 'utf8').trim();
    const snapshots: Record<string, string[]> = {};
    const snapDir = path.join(root, 'snapshots');
    if (fs.existsSync(snapDir)) for (const c of fs.readdirSync(snapDir)) snapshots[c] = walkFiles(path.join(snapDir, c));
    out.push({ id, sizeBytes, revisions, snapshots });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Removes model `id` (or every `models--*` folder) from the hub cache folder; returns the ids removed. */
export function clearCacheFolder(cacheDir: string, id?: string): string[] {
  const ids = listCacheFolder(cacheDir).map((m) => m.id).filter((m) => id === undefined || m === id);
  for (const m of ids) fs.rmSync(path.join(cacheDir, repoFolderName(m)), { recursive: true, force: true });
  return ids;
}
