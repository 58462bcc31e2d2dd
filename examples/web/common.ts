/**
 * Small helpers shared by the demo pages: element lookup, status and error display, guarded
 * handlers, backend choice, number formatting. No framework: the pages are plain DOM.
 */
import type { BackendName } from '../../src/index';

/** The element with `id`, typed; throws when the page lacks it (a build mistake). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el as T;
}

/** Creates an element with attributes/props and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string | number | boolean>> = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') el.className = String(v);
    else if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

/** A readable message of any thrown value, with the error class name when it says something. */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const name = e.name && e.name !== 'Error' ? `${e.name}: ` : '';
    return `${name}${e.message}`;
  }
  return String(e);
}

/** Shows `message` in the error box `box` (or hides it for null). */
export function showError(box: HTMLElement, message: string | null): void {
  box.textContent = message ?? '';
  box.classList.toggle('hidden', message === null);
}

/** Shows `text` in the status line `box`, coloured by `kind` (ok: green, bad: red). */
export function setStatus(box: HTMLElement, text: string, kind: '' | 'ok' | 'bad' = ''): void {
  box.textContent = text;
  box.className = kind ? `status ${kind}` : 'status';
}

/**
 * Wraps an event handler of a page: clears the error box `box`, runs `fn`, and shows what it
 * throws or rejects with in `box`.
 */
export function guarded(box: HTMLElement, fn: () => void | Promise<void>): () => void {
  return () => {
    showError(box, null);
    Promise.resolve()
      .then(fn)
      .catch((e: unknown) => showError(box, describeError(e)));
  };
}

/** True when the browser exposes WebGPU (an adapter may still be refused later). */
export function hasWebGPU(): boolean {
  return typeof navigator !== 'undefined' && 'gpu' in navigator && !!(navigator as { gpu?: unknown }).gpu;
}

/** Fills a backend `<select>`: webgpu (when the browser has it), wasm, cpu; selects `preferred`. */
export function fillBackendSelect(select: HTMLSelectElement, preferred: BackendName = 'wasm'): void {
  const names: BackendName[] = hasWebGPU() ? ['webgpu', 'wasm', 'cpu'] : ['wasm', 'cpu'];
  const labels: Record<BackendName, string> = { webgpu: 'WebGPU (GPU)', wasm: 'WebAssembly (CPU, SIMD)', cpu: 'Plain JavaScript (CPU)' };
  select.replaceChildren(...names.map((n) => h('option', { value: n, text: labels[n] })));
  select.value = names.includes(preferred) ? preferred : (names[0] as BackendName);
}

/** `1234567` -> `1.23 M`. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

/** Bytes as KB/MB. */
export function formatBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KB`;
  return `${n} B`;
}

/** A number for a table cell: fixed or exponential, whichever is readable. */
export function formatNum(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toFixed(digits);
}

/** Reads a number input; `fallback` when empty or invalid. */
export function numberValue(input: HTMLInputElement, fallback: number): number {
  const v = Number(input.value);
  return input.value.trim() === '' || !Number.isFinite(v) ? fallback : v;
}

/** Offers `text` as a file download. */
export function download(name: string, text: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
