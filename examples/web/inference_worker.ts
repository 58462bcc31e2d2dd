/**
 * The generation Web Worker of inference.html: loads a Hugging Face checkpoint (built-in, URL or
 * local files) and its tokenizer, and streams generated tokens back, so the page never freezes.
 */
import {
  generateStream,
  loadCausalLM,
  loadTokenizer,
  useBackend,
  currentBackend,
  PastKeyValues,
  backendInfo,
  type DecoderLM,
  type GenerateOptions,
  type ProgressInfo,
  type Tokenizer,
} from '../../src/index';
import type { FromWorker, ModelSource, ToWorker } from './inference_protocol';

interface WorkerScope {
  postMessage(message: FromWorker): void;
  onmessage: ((ev: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;

let model: DecoderLM | null = null;
let tokenizer: Tokenizer | null = null;
let abort: AbortController | null = null;
let busy = false;
/** One KV cache per loaded model: a chat turn prefills only what the history does not share. */
let past: PastKeyValues | null = null;

function post(m: FromWorker): void {
  scope.postMessage(m);
}

function message(e: unknown): string {
  if (e instanceof Error) return e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message;
  return String(e);
}

function onProgress(p: ProgressInfo): void {
  post({ type: 'progress', file: p.file.split('/').pop() ?? p.file, loaded: p.loaded, total: p.total, progress: p.progress });
}

/** The user's files by base name; a clear error when a required one is missing. */
function pickFiles(files: File[]): { config: File; weights: File; tokenizer: File; tokenizerConfig?: File; generation?: File } {
  const byName = new Map(files.map((f) => [f.name, f]));
  const got = files.map((f) => f.name).join(', ') || 'nothing';
  const need = (name: string, why: string): File => {
    const f = byName.get(name);
    if (!f) throw new Error(`${name} is missing from the chosen files (${why}); got: ${got}`);
    return f;
  };
  if (!byName.has('model.safetensors') && byName.has('model.safetensors.index.json')) {
    throw new Error('sharded checkpoints (model.safetensors.index.json) cannot be opened from local files yet; load them from a URL folder instead');
  }
  return {
    config: need('config.json', 'the model configuration'),
    weights: need('model.safetensors', 'the weights'),
    tokenizer: need('tokenizer.json', 'the tokenizer'),
    ...(byName.has('tokenizer_config.json') ? { tokenizerConfig: byName.get('tokenizer_config.json') as File } : {}),
    ...(byName.has('generation_config.json') ? { generation: byName.get('generation_config.json') as File } : {}),
  };
}

async function loadFrom(source: ModelSource): Promise<{ m: DecoderLM; t: Tokenizer; name: string }> {
  if (source.kind === 'files') {
    const f = pickFiles(source.files);
    const t = await loadTokenizer({
      tokenizerJson: new Uint8Array(await f.tokenizer.arrayBuffer()),
      ...(f.tokenizerConfig ? { tokenizerConfig: new Uint8Array(await f.tokenizerConfig.arrayBuffer()) } : {}),
    });
    const m = await loadCausalLM({ config: f.config, weights: f.weights, ...(f.generation ? { generationConfig: f.generation } : {}) }, { onProgress });
    const folder = (f.config as File & { webkitRelativePath?: string }).webkitRelativePath?.split('/')[0];
    return { m, t, name: folder || 'local files' };
  }
  const url = source.url.endsWith('/') ? source.url : `${source.url}/`;
  let t: Tokenizer;
  try {
    t = await loadTokenizer(url);
  } catch (e) {
    throw new Error(`cannot load the tokenizer from ${url}: ${message(e)}`);
  }
  const m = await loadCausalLM(url, { onProgress });
  return { m, t, name: source.kind === 'builtin' ? 'built-in names model' : url };
}

async function load(msg: Extract<ToWorker, { type: 'load' }>): Promise<void> {
  const t0 = performance.now();
  abort?.abort();
  past?.dispose();
  past = null;
  model?.dispose();
  model = null;
  tokenizer = null;
  await useBackend(msg.backend, { wasmBase: msg.wasmBase });
  const { m, t, name } = await loadFrom(msg.source);
  model = m;
  tokenizer = t;
  past = new PastKeyValues(m);
  const b = backendInfo();
  post({
    type: 'loaded',
    info: {
      name,
      modelType: m.info.modelType,
      vocabSize: m.info.vocabSize,
      maxPositions: m.info.maxPositions,
      weightBytes: m.weightBytes,
      hasChatTemplate: t.chatTemplate !== null,
      eosTokenId: m.info.eosTokenIds[0] ?? t.eosTokenId ?? null,
      backend: currentBackend(),
      loadMs: performance.now() - t0,
      threads: b.threads,
      simd: b.simd,
      crossOriginIsolated: b.crossOriginIsolated,
      kernels: m.kernelsActive,
    },
  });
}

async function run(msg: Extract<ToWorker, { type: 'generate' }>): Promise<void> {
  if (!model || !tokenizer) throw new Error('no model loaded yet');
  if (busy) throw new Error('a generation is already running; stop it first');
  busy = true;
  abort = new AbortController();
  const t0 = performance.now();
  const eos = new Set(model.info.eosTokenIds);
  if (tokenizer.eosTokenId !== undefined) eos.add(tokenizer.eosTokenId);
  const o = msg.options;
  const sampling = o.temperature > 0;
  let promptTokens = 0;
  const options: GenerateOptions = {
    maxNewTokens: o.maxNewTokens,
    ...(sampling ? { temperature: o.temperature, topK: o.topK > 0 ? o.topK : undefined, topP: o.topP > 0 && o.topP < 1 ? o.topP : undefined } : { greedy: true }),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.ignoreEos ? { stopTokenIds: [] } : {}),
    signal: abort.signal,
    ...(past ? { pastKeyValues: past } : {}),
    // The streamer's first put() is the prompt: its length is the prompt token count.
    streamer: {
      put: (ids) => {
        if (promptTokens === 0) promptTokens = ids.length;
      },
      end: () => undefined,
    },
    onToken: (ev) => post({ type: 'token', id: msg.id, index: ev.index, tokenId: ev.tokenId, text: ev.text, isEos: eos.has(ev.tokenId), promptTokens }),
  };
  try {
    const it = generateStream(model, tokenizer, msg.input, options);
    let r = await it.next();
    while (!r.done) r = await it.next();
    post({ type: 'done', id: msg.id, finishReason: r.value.finishReason, stats: r.value.stats, text: r.value.text, ms: performance.now() - t0 });
  } finally {
    busy = false;
    abort = null;
  }
}

scope.onmessage = (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  if (msg.type === 'stop') {
    abort?.abort();
    return;
  }
  const phase = msg.type === 'load' ? 'load' : 'generate';
  (msg.type === 'load' ? load(msg) : run(msg)).catch((e: unknown) => post({ type: 'error', phase, message: message(e) }));
};
