/**
 * Settings for Hugging Face Hub ids (transformers.js's `env` names and defaults) and the pieces
 * derived from them: whether a string is a hub id, the URL of a repo file, the cache folder,
 * offline mode and the access token.
 * Ref: transformers.js `env` (remoteHost, remotePathTemplate, allowRemoteModels, cacheDir);
 * huggingface_hub constants (HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE, HF_TOKEN).
 */
import { ConfigError } from '../src/core/errors';

/** Library-wide Hub settings; change the fields of {@link env} before loading. */
export interface HubEnv {
  /** Host of the hub; default `https://huggingface.co/`. */
  remoteHost: string;
  /** Path of a repo folder under the host; `{model}` and `{revision}` are replaced. Default `{model}/resolve/{revision}/`. */
  remotePathTemplate: string;
  /** When false, hub ids are served from the cache only (as `localFilesOnly`). Default true. */
  allowRemoteModels: boolean;
  /** Cache folder (the hub cache layout); default `$HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`. */
  cacheDir: string | null;
  /** Bearer token for gated or private repos; default `$HF_TOKEN` (read at request time). */
  accessToken: string | null;
  /** Node: use the hub cache folder. Default true. */
  useFSCache: boolean;
  /** Use the Cache API (`caches`) where there is no file-system cache (browsers, workers). Default true. */
  useBrowserCache: boolean;
  /** Browser: files of this many bytes and more go to the Origin Private File System rather than the Cache API. Default 256 MiB. */
  largeFileBytes: number;
}

/** The Hub settings, as transformers.js's `env`. */
export const env: HubEnv = {
  remoteHost: 'https://huggingface.co/',
  remotePathTemplate: '{model}/resolve/{revision}/',
  allowRemoteModels: true,
  cacheDir: null,
  accessToken: null,
  useFSCache: true,
  useBrowserCache: true,
  largeFileBytes: 256 * 1024 * 1024,
};

/** Options shared by the hub-aware loaders. */
export interface HubOptions {
  /** Branch, tag or commit hash; default `main`. */
  revision?: string;
  /** Cache folder; overrides {@link env}.cacheDir and the environment variables. */
  cacheDir?: string;
  /** Never touch the network; files must already be in the cache. Default: `HF_HUB_OFFLINE` or `!env.allowRemoteModels`. */
  localFilesOnly?: boolean;
}

function processEnv(): Record<string, string | undefined> {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return p?.env ?? {};
}

/** True in Node (not a browser or worker). */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string' && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * True when `s` has the shape of a hub id (`org/name`). Callers check first that no local folder
 * of that name exists (a local folder wins, as in transformers).
 */
export function looksLikeHubId(s: string): boolean {
  return HUB_ID.test(s) && !s.includes('..') && !/\.(gguf|json|safetensors)$/i.test(s);
}

/** Hub id -> the cache folder name `models--org--name`. */
export function repoFolderName(id: string): string {
  return `models--${id.split('/').join('--')}`;
}

/**
 * The cache folder: `options.cacheDir`, `env.cacheDir`, `$HF_HUB_CACHE`, `$HF_HOME/hub`,
 * `$XDG_CACHE_HOME/huggingface/hub`, or `~/.cache/huggingface/hub`.
 */
export function hubCacheDir(options: HubOptions = {}): string {
  if (options.cacheDir) return options.cacheDir;
  if (env.cacheDir) return env.cacheDir;
  const e = processEnv();
  if (e.HF_HUB_CACHE) return e.HF_HUB_CACHE;
  const path = require('path') as typeof import('path');
  if (e.HF_HOME) return path.join(e.HF_HOME, 'hub');
  const os = require('os') as typeof import('os');
  const xdg = e.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'huggingface', 'hub');
}

/** True when the network must not be used: `localFilesOnly`, `!env.allowRemoteModels` or `HF_HUB_OFFLINE=1`. */
export function isOffline(options: HubOptions = {}): boolean {
  if (options.localFilesOnly !== undefined) return options.localFilesOnly;
  if (!env.allowRemoteModels) return true;
  const v = processEnv().HF_HUB_OFFLINE;
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

/** The access token: `env.accessToken` or `$HF_TOKEN`. */
export function accessToken(): string | undefined {
  return env.accessToken ?? processEnv().HF_TOKEN ?? undefined;
}

/**
 * URL of `file` in repo `id` at `revision`, from {@link env}.remoteHost and remotePathTemplate.
 * @throws ConfigError when the host is not an http(s) URL.
 */
export function hubFileUrl(id: string, revision: string, file: string): string {
  if (!/^https?:\/\//i.test(env.remoteHost)) throw new ConfigError(`env.remoteHost ${JSON.stringify(env.remoteHost)} must be an http(s) URL`);
  const host = env.remoteHost.endsWith('/') ? env.remoteHost : env.remoteHost + '/';
  const folder = env.remotePathTemplate.replaceAll('{model}', id).replaceAll('{revision}', encodeURIComponent(revision));
  const base = new URL(folder.endsWith('/') ? folder : folder + '/', host);
  return new URL(file.split('/').map(encodeURIComponent).join('/'), base).href;
}
