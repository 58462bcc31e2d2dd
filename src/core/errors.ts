/**
 * Typed errors of loom-tfjs. Every error says what was wrong, where, what was
 * found and what was expected, so a user can fix the input without a debugger.
 */

/** Base class of every error thrown by loom-tfjs. */
export class LoomError extends Error {
  /** Stable error name (not `constructor.name`, which minifiers rename). */
  override readonly name: string = 'LoomError';
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** A tensor or array had the wrong size or shape. */
export class ShapeError extends LoomError {
  override readonly name = 'ShapeError';
}

/** A layer type exists in the format but cannot be executed (yet) or is unknown. */
export class UnsupportedLayerError extends LoomError {
  override readonly name = 'UnsupportedLayerError';
  constructor(
    /** The layer type string or number that was found. */
    readonly layerType: string,
    /** Where it was found, e.g. `layer 3 (row 0, col 1, layer 0)`. */
    readonly where: string,
    detail = '',
  ) {
    super(`unsupported layer type '${layerType}' at ${where}${detail ? `: ${detail}` : ''}`);
  }
}

/** A LOOM JSON bundle (or other file) is malformed. */
export class LoomFormatError extends LoomError {
  override readonly name = 'LoomFormatError';
}

/** A configuration value is invalid (bad option, bad layer config). */
export class ConfigError extends LoomError {
  override readonly name = 'ConfigError';
}

/** A numeric value was NaN or infinite where a finite value is needed. */
export class NonFiniteError extends LoomError {
  override readonly name = 'NonFiniteError';
}

/** A safetensors file or checkpoint is malformed or lies about its contents. */
export class SafetensorsError extends LoomError {
  override readonly name = 'SafetensorsError';
}

/** Training was stopped or failed. */
export class TrainingError extends LoomError {
  override readonly name = 'TrainingError';
}

/** Message of any thrown value, for error reporting at API boundaries. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A tokenizer file is malformed, or text/ids cannot be tokenized or decoded. */
export class TokenizerError extends LoomError {
  override readonly name = 'TokenizerError';
}

/**
 * A model or tensor would not fit in the memory the backend can use (the tfjs backend, or the wasm
 * kernels' heap, at most 4 GiB). Raised before allocating (from an estimate), or when an allocation
 * fails; the backend stays usable either way. `bytesNeeded` / `bytesAvailable` are set when known.
 */
export class OutOfMemoryError extends LoomError {
  override readonly name = 'OutOfMemoryError';
  constructor(
    message: string,
    readonly bytesNeeded?: number,
    readonly bytesAvailable?: number,
  ) {
    super(message);
  }

  /** `what` needs `bytesNeeded` bytes of the kernel heap, which has only `bytesAvailable` left. */
  static forKernelHeap(bytesNeeded: number, bytesAvailable: number, what: string): OutOfMemoryError {
    return new OutOfMemoryError(
      `out of memory: ${what} needs ${bytesNeeded} bytes, only ${bytesAvailable} bytes are available in the kernel heap`,
      bytesNeeded,
      bytesAvailable,
    );
  }
}

/** Why a Hugging Face Hub request failed (see {@link HubError.kind}). */
export type HubErrorKind = 'not_found' | 'gated' | 'http' | 'network' | 'offline' | 'integrity' | 'quota';

/** A Hub file could not be fetched or found in the cache; names the file and, for HTTP, the status. */
export class HubError extends LoomError {
  override readonly name = 'HubError';
  constructor(
    message: string,
    /** What went wrong: missing file, gated/private repo, other HTTP status, network, offline cache miss, bad download, storage quota. */
    readonly kind: HubErrorKind,
    /** The file (repo path) concerned. */
    readonly file: string,
    /** HTTP status, when the server answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A GGUF file is malformed, lies about its contents, or uses something not supported. */
export class GgufError extends LoomError {
  override readonly name = 'GgufError';
}
