/**
 * Messages between inference.html and its generation Web Worker (inference_worker.ts).
 */
import type { BackendName, ChatMessage, FinishReason, GenerationStats } from '../../src/index';

/** Where a model comes from. Files are the user's picks (structured-cloned into the worker). */
export type ModelSource =
  | { kind: 'builtin'; url: string }
  | { kind: 'url'; url: string }
  | { kind: 'files'; files: File[] };

/** Sampling knobs of one generation. */
export interface GenerateRequestOptions {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed?: number;
  /** Keep generating past the end-of-sequence token (it is shown as a line break). */
  ignoreEos: boolean;
}

/** Page -> worker. */
export type ToWorker =
  | { type: 'load'; source: ModelSource; backend: BackendName; wasmBase: string }
  | { type: 'generate'; id: number; input: string | ChatMessage[]; options: GenerateRequestOptions }
  | { type: 'stop' };

/** What the page shows about a loaded model. */
export interface LoadedInfo {
  name: string;
  modelType: string;
  vocabSize: number;
  maxPositions: number;
  weightBytes: number;
  hasChatTemplate: boolean;
  eosTokenId: number | null;
  backend: string;
  loadMs: number;
  /** backendInfo() after loading, and whether the model runs on loom-tfjs's wasm kernels. */
  threads: number;
  simd: boolean;
  crossOriginIsolated: boolean;
  kernels: boolean;
}

/** Worker -> page. */
export type FromWorker =
  | { type: 'progress'; file: string; loaded: number; total: number; progress: number }
  | { type: 'loaded'; info: LoadedInfo }
  | { type: 'token'; id: number; index: number; tokenId: number; text: string; isEos: boolean; promptTokens: number }
  | { type: 'done'; id: number; finishReason: FinishReason; stats: GenerationStats; text: string; ms: number }
  | { type: 'error'; phase: 'load' | 'generate'; message: string };
