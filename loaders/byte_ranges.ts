/**
 * Byte-range access to checkpoint files, so a file of any size (Hugging Face shards reach 5 GB)
 * is never read into one buffer: Node paths are read by range on demand, Blobs are sliced one
 * tensor at a time, and URL bodies are streamed into one buffer per tensor.
 */
import { SafetensorsError, errorMessage } from '../src/core/errors';
import type { ProgressCallback, ProgressInfo } from './byte_source';

/** Synchronous reads of byte ranges of one file. */
export interface RangeReader {
  /** File name or URL, for errors. */
  readonly name: string;
  /** Total bytes of the file. */
  readonly size: number;
  /** Bytes `[begin, end)` of the file (a view or a fresh copy). @throws SafetensorsError */
  read(begin: number, end: number): Uint8Array;
}

/** A reader over bytes already in memory (views, no copy). */
export function memoryRanges(bytes: Uint8Array, name: string): RangeReader {
  return {
    name,
    size: bytes.byteLength,
    read(begin, end) {
      if (end > bytes.byteLength) throw new SafetensorsError(`${name}: bytes [${begin}, ${end}) run past the end (${bytes.byteLength} bytes)`);
      return bytes.subarray(begin, end);
    },
  };
}

function nodeFs(): typeof import('fs') {
  return require('fs') as typeof import('fs');
}

/**
 * A reader over a Node file path: each `read` opens the file, reads the range with positioned
 * reads and closes it (no descriptor stays open; a file whose size changed is an error).
 * @throws SafetensorsError when the file cannot be opened.
 */
export function pathRanges(path: string): RangeReader {
  const fs = nodeFs();
  let size: number;
  try {
    size = fs.statSync(path).size;
  } catch (e) {
    throw new SafetensorsError(`${path}: cannot open: ${errorMessage(e)}`);
  }
  return {
    name: path,
    size,
    read(begin, end) {
      let fd: number;
      try {
        fd = fs.openSync(path, 'r');
      } catch (e) {
        throw new SafetensorsError(`${path}: cannot open: ${errorMessage(e)}`);
      }
      try {
        const now = fs.fstatSync(fd).size;
        if (now !== size) throw new SafetensorsError(`${path}: file changed size from ${size} to ${now} bytes while loading`);
        const out = new Uint8Array(end - begin);
        let done = 0;
        while (done < out.byteLength) {
          // readSync takes at most 2 GiB per call.
          const n = fs.readSync(fd, out, done, Math.min(out.byteLength - done, 1 << 30), begin + done);
          if (n === 0) throw new SafetensorsError(`${path}: file ended at byte ${begin + done}, expected ${end}`);
          done += n;
        }
        return out;
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

/** The byte ranges a header asks for, absolute in the file, sorted and contiguous. */
export interface ChunkPlan {
  readonly ranges: readonly { readonly begin: number; readonly end: number }[];
}

/** A reader over separately held chunks, one per planned range (looked up by its begin). */
function chunkRanges(name: string, size: number, prefix: Uint8Array, chunks: ReadonlyMap<number, Uint8Array>): RangeReader {
  return {
    name,
    size,
    read(begin, end) {
      if (end <= prefix.byteLength) return prefix.subarray(begin, end);
      if (begin === end) return new Uint8Array(0);
      const c = chunks.get(begin);
      if (!c || c.byteLength !== end - begin) throw new SafetensorsError(`${name}: bytes [${begin}, ${end}) were not read (not one tensor's range)`);
      return c;
    },
  };
}

function report(cb: ProgressCallback | undefined, status: ProgressInfo['status'], file: string, loaded: number, total: number): void {
  if (!cb) return;
  const progress = total > 0 ? Math.min(100, (loaded / total) * 100) : status === 'done' ? 100 : 0;
  cb({ status, file, loaded, total, progress });
}

/**
 * Reads a Blob one planned range at a time (`Blob.slice`), after `plan` has seen the prefix it
 * asks for. `plan(prefix, size)` returns the number of prefix bytes it still needs, or the ranges.
 */
export async function blobRanges(
  blob: Blob,
  name: string,
  plan: (prefix: Uint8Array, size: number) => number | ChunkPlan,
  onProgress?: ProgressCallback,
): Promise<RangeReader> {
  report(onProgress, 'initiate', name, 0, blob.size);
  let prefix = new Uint8Array(await blob.slice(0, Math.min(8, blob.size)).arrayBuffer());
  let p = plan(prefix, blob.size);
  if (typeof p === 'number') {
    prefix = new Uint8Array(await blob.slice(0, p).arrayBuffer());
    p = plan(prefix, blob.size);
    if (typeof p === 'number') throw new SafetensorsError(`${name}: header still incomplete after ${prefix.byteLength} bytes`);
  }
  const chunks = new Map<number, Uint8Array>();
  let loaded = prefix.byteLength;
  for (const r of p.ranges) {
    if (r.end === r.begin) continue;
    chunks.set(r.begin, new Uint8Array(await blob.slice(r.begin, r.end).arrayBuffer()));
    loaded += r.end - r.begin;
    report(onProgress, 'progress', name, loaded, blob.size);
  }
  report(onProgress, 'done', name, blob.size, blob.size);
  return chunkRanges(name, blob.size, prefix, chunks);
}

/**
 * Streams a URL's body into one buffer per planned range (the whole body is never one buffer).
 * The server must send the exact file; `plan` sees the prefix first, as in {@link blobRanges}.
 * @throws SafetensorsError on network errors, HTTP errors or a body that ends early.
 */
export async function urlRanges(
  url: string,
  plan: (prefix: Uint8Array, size: number) => number | ChunkPlan,
  onProgress?: ProgressCallback,
): Promise<RangeReader> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new SafetensorsError(`${url}: fetch failed: ${errorMessage(e)}`);
  }
  if (!res.ok) throw new SafetensorsError(`${url}: HTTP ${res.status} ${res.statusText}`);
  const lengthHeader = res.headers.get('content-length');
  const known = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : 0;
  report(onProgress, 'initiate', url, 0, known);
  if (!res.body || known === 0) {
    // Unsized body: its length is needed before the header can be checked, so read it whole.
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw new SafetensorsError(`${url}: download failed: ${errorMessage(e)}`);
    }
    const r = memoryRanges(bytes, url);
    let p = plan(bytes.subarray(0, Math.min(8, bytes.byteLength)), bytes.byteLength);
    if (typeof p === 'number') p = plan(bytes.subarray(0, Math.min(p, bytes.byteLength)), bytes.byteLength);
    report(onProgress, 'done', url, bytes.byteLength, bytes.byteLength);
    return r;
  }
  const size = known;
  const reader = res.body.getReader();
  let prefix = new Uint8Array(0);
  let need = 8;
  let ranges: ChunkPlan['ranges'] | null = null;
  const chunks = new Map<number, Uint8Array>();
  let ri = 0;
  let at = 0; // absolute offset of the next body byte
  const take = (value: Uint8Array): void => {
    let v = value;
    while (v.byteLength > 0) {
      if (!ranges) {
        const n = Math.min(v.byteLength, need - prefix.byteLength);
        const grown = new Uint8Array(prefix.byteLength + n);
        grown.set(prefix);
        grown.set(v.subarray(0, n), prefix.byteLength);
        prefix = grown;
        v = v.subarray(n);
        at += n;
        if (prefix.byteLength === need || at === size) {
          const p = plan(prefix, size);
          if (typeof p === 'number') need = p;
          else ranges = p.ranges;
        }
        continue;
      }
      while (ri < ranges.length && ranges[ri]!.end <= at) ri++;
      const r = ranges[ri];
      if (!r) throw new SafetensorsError(`${url}: body has bytes past the last tensor (at ${at})`);
      let c = chunks.get(r.begin);
      if (!c) chunks.set(r.begin, (c = new Uint8Array(r.end - r.begin)));
      const n = Math.min(v.byteLength, r.end - at);
      c.set(v.subarray(0, n), at - r.begin);
      v = v.subarray(n);
      at += n;
    }
  };
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw new SafetensorsError(`${url}: download failed at byte ${at} of ${size}: ${errorMessage(e)}`);
    }
    const { done, value } = chunk;
    if (done) break;
    if (at + value.byteLength > size) throw new SafetensorsError(`${url}: body is longer than its content-length ${size}`);
    take(value);
    report(onProgress, 'progress', url, at, size);
  }
  if (at !== size || !ranges) throw new SafetensorsError(`${url}: body ended at byte ${at}, content-length is ${size}`);
  report(onProgress, 'done', url, size, size);
  return chunkRanges(url, size, prefix, chunks);
}
