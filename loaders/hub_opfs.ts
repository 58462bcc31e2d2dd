/**
 * The Origin Private File System as a store for hub files too large for the Cache API's practical
 * limits (`env.largeFileBytes` and up): one file per URL in the folder `loom-tfjs-hub`, written
 * through `createWritable()`, which the browser commits only on close (a cut download leaves
 * nothing). Ref: File System Standard (WHATWG), `StorageManager.getDirectory()`.
 */

/** The parts of FileSystemDirectoryHandle used here (the async iterator is not in TypeScript's DOM lib). */
interface DirectoryLike {
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<DirectoryLike>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<{
    getFile(): Promise<Blob>;
    createWritable(): Promise<{ write(data: ArrayBuffer | Uint8Array): Promise<void>; close(): Promise<void>; abort(): Promise<void> }>;
  }>;
  removeEntry(name: string): Promise<void>;
  keys(): AsyncIterable<string>;
}

const FOLDER = 'loom-tfjs-hub';

async function folder(): Promise<DirectoryLike | undefined> {
  const storage = (globalThis as unknown as { navigator?: { storage?: { getDirectory?: () => Promise<DirectoryLike> } } }).navigator?.storage;
  if (typeof storage?.getDirectory !== 'function') return undefined;
  try {
    return await (await storage.getDirectory()).getDirectoryHandle(FOLDER, { create: true });
  } catch {
    return undefined; // e.g. not a secure context
  }
}

const nameOf = (url: string): string => encodeURIComponent(url);

/** True where OPFS can be used. */
export async function opfsAvailable(): Promise<boolean> {
  return (await folder()) !== undefined;
}

/** The bytes stored for `url`, or undefined. */
export async function opfsGet(url: string): Promise<Uint8Array | undefined> {
  const dir = await folder();
  if (!dir) return undefined;
  try {
    const fh = await dir.getFileHandle(nameOf(url));
    return new Uint8Array(await (await fh.getFile()).arrayBuffer());
  } catch {
    return undefined;
  }
}

/** Stores `bytes` for `url` (committed on close). @throws what the browser throws (QuotaExceededError). */
export async function opfsPut(url: string, bytes: Uint8Array): Promise<void> {
  const dir = await folder();
  if (!dir) throw new Error('OPFS is not available');
  const w = await (await dir.getFileHandle(nameOf(url), { create: true })).createWritable();
  try {
    await w.write(bytes);
    await w.close();
  } catch (e) {
    await w.abort().catch(() => undefined);
    await dir.removeEntry(nameOf(url)).catch(() => undefined);
    throw e;
  }
}

/** Every URL stored, with its size. */
export async function opfsList(): Promise<{ url: string; size: number }[]> {
  const dir = await folder();
  if (!dir) return [];
  const out: { url: string; size: number }[] = [];
  for await (const name of dir.keys()) {
    const f = await (await dir.getFileHandle(name)).getFile();
    out.push({ url: decodeURIComponent(name), size: f.size });
  }
  return out;
}

/** Removes the file stored for `url`. */
export async function opfsDelete(url: string): Promise<void> {
  const dir = await folder();
  await dir?.removeEntry(nameOf(url)).catch(() => undefined);
}
