/**
 * inference.html: pick a model (built-in, local folder/files, URL) and a backend, then generate
 * text in a Web Worker with live streaming, stop, and tokens/s.
 */
import type { BackendName, ChatMessage } from '../../src/index';
import { byId, fillBackendSelect, formatBytes, h, numberValue, setStatus, showError } from './common';
import type { FromWorker, LoadedInfo, ModelSource, ToWorker } from './inference_protocol';

const el = {
  modelSelect: byId<HTMLSelectElement>('model-select'),
  folderPick: byId('folder-pick'),
  folderInput: byId<HTMLInputElement>('folder-input'),
  filesInput: byId<HTMLInputElement>('files-input'),
  urlPick: byId('url-pick'),
  urlInput: byId<HTMLInputElement>('url-input'),
  backend: byId<HTMLSelectElement>('backend-select'),
  load: byId<HTMLButtonElement>('load'),
  progress: byId<HTMLProgressElement>('load-progress'),
  status: byId('model-status'),
  error: byId('error'),
  prompt: byId<HTMLTextAreaElement>('prompt'),
  promptLabel: byId('prompt-label'),
  chatNote: byId('chat-note'),
  modeChat: byId<HTMLInputElement>('mode-chat'),
  maxNew: byId<HTMLInputElement>('max-new-tokens'),
  temperature: byId<HTMLInputElement>('temperature'),
  topK: byId<HTMLInputElement>('top-k'),
  topP: byId<HTMLInputElement>('top-p'),
  ignoreEos: byId<HTMLInputElement>('ignore-eos'),
  generate: byId<HTMLButtonElement>('generate'),
  stop: byId<HTMLButtonElement>('stop'),
  clear: byId<HTMLButtonElement>('clear'),
  output: byId('output'),
  tps: byId('tokens-per-second'),
  prefill: byId('stat-prefill'),
  decode: byId('stat-decode'),
  tokens: byId('stat-tokens'),
  genStatus: byId('gen-status'),
  backendInfo: byId('backend-info'),
};

const pageBase = new URL('./', location.href).href;
const worker = new Worker(new URL('inference_worker.js', pageBase).href);
let info: LoadedInfo | null = null;
let loading = false;
let running: { id: number; start: number; firstToken: number; count: number; target: HTMLElement; reply: string } | null = null;
let nextId = 1;
const chat: ChatMessage[] = [];

function send(m: ToWorker): void {
  worker.postMessage(m);
}

function mode(): 'prompt' | 'chat' {
  return el.modeChat.checked ? 'chat' : 'prompt';
}

function updateButtons(): void {
  el.generate.disabled = !info || loading || running !== null;
  el.stop.disabled = running === null;
  el.load.disabled = loading;
  el.backend.disabled = loading || running !== null;
}

function chosenFiles(): File[] {
  const files = [...(el.folderInput.files ?? []), ...(el.filesInput.files ?? [])];
  return files;
}

function currentSource(): ModelSource | string {
  const v = el.modelSelect.value;
  if (v === 'builtin') return { kind: 'builtin', url: new URL('models/builtin/', pageBase).href };
  if (v === 'url') {
    const u = el.urlInput.value.trim();
    if (!u) return 'enter the URL of a model folder first';
    try {
      return { kind: 'url', url: new URL(u, pageBase).href };
    } catch {
      return `not a valid URL: ${u}`;
    }
  }
  const files = chosenFiles();
  if (files.length === 0) return 'choose a model folder (or its files) first';
  return { kind: 'files', files };
}

function load(): void {
  const source = currentSource();
  if (typeof source === 'string') {
    showError(el.error, source);
    return;
  }
  showError(el.error, null);
  info = null;
  loading = true;
  el.progress.value = 0;
  setStatus(el.status, `loading on ${el.backend.value}…`);
  updateButtons();
  send({ type: 'load', source, backend: el.backend.value as BackendName, wasmBase: pageBase });
}

function appendOutput(text: string): void {
  if (!running) return;
  running.target.textContent += text;
  el.output.scrollTop = el.output.scrollHeight;
}

function startGeneration(): void {
  if (!info || running) return;
  showError(el.error, null);
  const text = el.prompt.value;
  let input: string | ChatMessage[];
  let target: HTMLElement;
  if (mode() === 'chat') {
    if (!text.trim()) {
      showError(el.error, 'type a message first');
      return;
    }
    chat.push({ role: 'user', content: text });
    input = [...chat];
    target = h('span');
    el.output.append(h('div', { class: 'msg' }, h('b', { text: 'you' }), text), h('div', { class: 'msg' }, h('b', { text: 'model' }), target));
    el.prompt.value = '';
  } else {
    input = text;
    target = h('span');
    el.output.replaceChildren(h('span', { class: 'prompt-text', text }), target);
  }
  const id = nextId++;
  running = { id, start: performance.now(), firstToken: 0, count: 0, target, reply: '' };
  el.tps.textContent = '…';
  el.genStatus.textContent = 'generating…';
  updateButtons();
  const temperature = numberValue(el.temperature, 0.8);
  send({
    type: 'generate',
    id,
    input,
    options: {
      maxNewTokens: Math.max(1, Math.floor(numberValue(el.maxNew, 40))),
      temperature: Math.max(0, temperature),
      topK: Math.max(0, Math.floor(numberValue(el.topK, 0))),
      topP: numberValue(el.topP, 1),
      ignoreEos: el.ignoreEos.checked,
    },
  });
}

function onToken(m: Extract<FromWorker, { type: 'token' }>): void {
  if (!running || m.id !== running.id) return;
  const now = performance.now();
  if (running.count === 0) running.firstToken = now;
  running.count++;
  const piece = m.isEos && el.ignoreEos.checked ? '\n' : m.text;
  running.reply += piece;
  appendOutput(piece);
  const secs = (now - running.firstToken) / 1000;
  if (running.count > 1 && secs > 0) el.tps.textContent = ((running.count - 1) / secs).toFixed(1);
  el.tokens.textContent = `${m.promptTokens} + ${running.count}`;
}

function onDone(m: Extract<FromWorker, { type: 'done' }>): void {
  if (!running || m.id !== running.id) return;
  const s = m.stats;
  el.prefill.textContent = s.prefillTokensPerSecond > 0 ? s.prefillTokensPerSecond.toFixed(0) : '–';
  el.decode.textContent = s.decodeTokensPerSecond > 0 ? s.decodeTokensPerSecond.toFixed(1) : '–';
  el.tokens.textContent = `${s.promptTokens} + ${s.generatedTokens}`;
  const overall = s.generatedTokens / (m.ms / 1000);
  el.tps.textContent = (s.decodeTokensPerSecond > 0 ? s.decodeTokensPerSecond : overall).toFixed(1);
  const why = { stop: 'end of text reached', length: 'token limit reached', abort: 'stopped by you' }[m.finishReason];
  el.genStatus.textContent = `done in ${(m.ms / 1000).toFixed(2)} s: ${why}`;
  el.genStatus.dataset['finishReason'] = m.finishReason;
  if (mode() === 'chat') chat.push({ role: 'assistant', content: running.reply });
  running = null;
  updateButtons();
}

/** Threads, SIMD, isolation and kernels in use; on one thread, why (no SharedArrayBuffer without COOP/COEP). */
function showBackendInfo(i: LoadedInfo): void {
  const d = el.backendInfo.dataset;
  d['threads'] = String(i.threads);
  d['simd'] = String(i.simd);
  d['crossOriginIsolated'] = String(i.crossOriginIsolated);
  d['kernels'] = String(i.kernels);
  const why = !i.crossOriginIsolated
    ? ': this page is not cross-origin isolated (the server sent no Cross-Origin-Opener-Policy / Cross-Origin-Embedder-Policy headers), so there is no SharedArrayBuffer for threads'
    : '';
  el.backendInfo.textContent = `${i.threads} thread${i.threads === 1 ? '' : 's'}${why} · SIMD ${i.simd ? 'on' : 'off'} · cross-origin isolated: ${i.crossOriginIsolated ? 'yes' : 'no'} · wasm kernels ${i.kernels ? 'on' : 'off'}`;
}

function onLoaded(i: LoadedInfo): void {
  info = i;
  loading = false;
  el.progress.value = 100;
  setStatus(el.status, `ready · ${i.name} · ${i.modelType}, vocab ${i.vocabSize}, context ${i.maxPositions}, ${formatBytes(i.weightBytes)} · ${i.backend} · ${(i.loadMs / 1000).toFixed(1)} s`, 'ok');
  showBackendInfo(i);
  el.modeChat.disabled = !i.hasChatTemplate;
  el.chatNote.textContent = i.hasChatTemplate ? '' : 'this tokenizer has no chat template';
  if (!i.hasChatTemplate && el.modeChat.checked) (document.querySelector('input[name=mode][value=prompt]') as HTMLInputElement).checked = true;
  syncMode();
  updateButtons();
}

worker.onmessage = (ev: MessageEvent<FromWorker>) => {
  const m = ev.data;
  switch (m.type) {
    case 'progress':
      el.progress.value = m.progress;
      setStatus(el.status, `loading ${m.file}: ${m.progress.toFixed(0)}%${m.total ? ` of ${formatBytes(m.total)}` : ''}`);
      break;
    case 'loaded':
      onLoaded(m.info);
      break;
    case 'token':
      onToken(m);
      break;
    case 'done':
      onDone(m);
      break;
    case 'error':
      showError(el.error, m.phase === 'load' ? `Could not load the model: ${m.message}` : `Generation failed: ${m.message}`);
      if (m.phase === 'load') {
        loading = false;
        info = null;
        el.progress.value = 0;
        setStatus(el.status, 'failed to load: see the message above', 'bad');
      } else {
        running = null;
        el.genStatus.textContent = 'failed';
      }
      updateButtons();
      break;
  }
};
worker.onerror = (ev) => {
  showError(el.error, `The generation worker crashed: ${ev.message}`);
  loading = false;
  running = null;
  updateButtons();
};

function syncMode(): void {
  const chatMode = mode() === 'chat';
  el.promptLabel.textContent = chatMode ? 'Your message' : 'Start of the text (empty: the model starts from scratch)';
  if (chatMode && chat.length === 0) el.output.replaceChildren();
}

el.modelSelect.addEventListener('change', () => {
  el.folderPick.classList.toggle('hidden', el.modelSelect.value !== 'folder');
  el.urlPick.classList.toggle('hidden', el.modelSelect.value !== 'url');
  showError(el.error, null);
  if (el.modelSelect.value === 'builtin') load();
});
el.folderInput.addEventListener('change', load);
el.filesInput.addEventListener('change', load);
el.urlInput.addEventListener('keydown', (e) => e.key === 'Enter' && load());
el.load.addEventListener('click', load);
el.backend.addEventListener('change', load);
el.generate.addEventListener('click', startGeneration);
el.stop.addEventListener('click', () => send({ type: 'stop' }));
el.clear.addEventListener('click', () => {
  chat.length = 0;
  el.output.replaceChildren();
  el.genStatus.textContent = '';
});
el.prompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) startGeneration();
});
for (const r of document.querySelectorAll<HTMLInputElement>('input[name=mode]')) r.addEventListener('change', syncMode);

fillBackendSelect(el.backend, 'wasm');
updateButtons();
load();
