/**
 * Progress reporting for `train()`: a text progress bar for Node terminals (stderr) and
 * event/callback reporters for browsers.
 */

/** One progress update. */
export interface ProgressUpdate {
  /** 0-based epoch. */
  readonly epoch: number;
  readonly epochs: number;
  /** Batches done in this epoch (1-based count). */
  readonly batch: number;
  readonly batches: number;
  /** Loss of the last batch. */
  readonly loss: number;
  /** Mean loss of the epoch so far. */
  readonly epochLoss: number;
  /** Learning rate used for the last batch. */
  readonly learningRate: number;
  /** Milliseconds since training started. */
  readonly elapsedMs: number;
}

/** Receives progress from `train()`. All methods are optional. */
export interface ProgressReporter {
  onStart?(info: { epochs: number; batches: number }): void;
  onBatch?(u: ProgressUpdate): void;
  /** `loss` is the epoch mean, `valLoss` the validation loss when computed. */
  onEpoch?(u: { epoch: number; epochs: number; loss: number; valLoss?: number }): void;
  onEnd?(info: { epochsCompleted: number; stopReason: string }): void;
}

/** Minimal writable stream (Node's `process.stderr` fits). */
export interface TextSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** Options of {@link progressBar}. */
export interface ProgressBarOptions {
  /** Where to write; default `process.stderr` in Node (nothing in a browser). */
  stream?: TextSink;
  /** Bar width in characters. Default 30. */
  width?: number;
  /** Minimum milliseconds between redraws. Default 100. */
  intervalMs?: number;
}

function defaultSink(): TextSink | undefined {
  const p = (globalThis as { process?: { stderr?: TextSink } }).process;
  return p?.stderr;
}

/**
 * A Node progress bar on stderr: `epoch 2/10 [=========>          ] 45/100 loss 0.1234`, redrawn in
 * place on a TTY, one line per epoch otherwise.
 */
export function progressBar(options: ProgressBarOptions = {}): ProgressReporter {
  const sink = options.stream ?? defaultSink();
  const width = options.width ?? 30;
  const interval = options.intervalMs ?? 100;
  let last = -Infinity;
  const tty = sink?.isTTY ?? false;
  return {
    onBatch(u) {
      if (!sink || !tty) return;
      const now = u.elapsedMs;
      if (u.batch !== u.batches && now - last < interval) return;
      last = now;
      const done = Math.round((u.batch / Math.max(1, u.batches)) * width);
      const bar = '='.repeat(Math.max(0, done - 1)) + (done > 0 ? '>' : '') + ' '.repeat(width - done);
      sink.write(`\repoch ${u.epoch + 1}/${u.epochs} [${bar}] ${u.batch}/${u.batches} loss ${u.epochLoss.toPrecision(5)}`);
    },
    onEpoch(u) {
      if (!sink) return;
      const val = u.valLoss !== undefined ? ` val_loss ${u.valLoss.toPrecision(5)}` : '';
      sink.write(`${tty ? '\r\x1b[K' : ''}epoch ${u.epoch + 1}/${u.epochs} loss ${u.loss.toPrecision(6)}${val}\n`);
    },
  };
}

/** Minimal event target (the DOM's `EventTarget` fits). */
export interface ProgressEventTarget {
  dispatchEvent(event: Event): boolean;
}

/**
 * Browser reporter: dispatches `CustomEvent`s named `train-start`, `train-batch`, `train-epoch`,
 * `train-end` on `target`, with the update as `detail`.
 */
export function eventProgress(target: ProgressEventTarget): ProgressReporter {
  const send = (name: string, detail: unknown): void => {
    target.dispatchEvent(new CustomEvent(name, { detail }));
  };
  return {
    onStart: (i) => send('train-start', i),
    onBatch: (u) => send('train-batch', u),
    onEpoch: (u) => send('train-epoch', u),
    onEnd: (i) => send('train-end', i),
  };
}

/** Reporter calling one function with a tagged update (for UI frameworks). */
export function callbackProgress(
  fn: (e: { type: 'start' | 'batch' | 'epoch' | 'end'; detail: unknown }) => void,
): ProgressReporter {
  return {
    onStart: (d) => fn({ type: 'start', detail: d }),
    onBatch: (d) => fn({ type: 'batch', detail: d }),
    onEpoch: (d) => fn({ type: 'epoch', detail: d }),
    onEnd: (d) => fn({ type: 'end', detail: d }),
  };
}
