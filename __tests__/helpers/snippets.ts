/**
 * Code blocks of a Markdown file, so that tests run the snippets of the README and the guides
 * exactly as written (extracted at test time, never copied).
 */
import * as fs from 'fs';

/** One fenced code block. */
export interface CodeBlock {
  /** Info string after the fence (`javascript`, `ts`, `bash`, ...; '' when none). */
  readonly lang: string;
  readonly code: string;
  /** Text of the nearest Markdown heading above the block ('' when none). */
  readonly heading: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

/**
 * Every fenced code block of `markdown`, CommonMark style: a fence of N backticks is closed only
 * by a line of at least N backticks (so a ```` block may contain ``` lines).
 */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const out: CodeBlock[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) {
      heading = (h[1] as string).trim();
      continue;
    }
    const open = /^(`{3,})\s*([\w+-]*)/.exec(line);
    if (!open) continue;
    const fence = (open[1] as string).length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^(`{3,})\s*$/.exec(lines[j] as string);
      if (close && (close[1] as string).length >= fence) break;
      body.push(lines[j] as string);
    }
    out.push({ lang: open[2] as string, code: body.join('\n'), heading, line: i + 1 });
    i = j;
  }
  return out;
}

/** Code blocks of the file at `file`. */
export function codeBlocksOf(file: string): CodeBlock[] {
  return codeBlocks(fs.readFileSync(file, 'utf8'));
}

type AsyncFn = (...args: unknown[]) => Promise<Record<string, unknown>>;
const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => AsyncFn;

/**
 * Runs `code` unchanged as the body of an async function whose parameters are the names of
 * `scope` (what the surrounding page would have defined), and returns the values of the
 * variables named in `exported` that the snippet declared (so the next snippet can use them).
 */
export async function runSnippet(code: string, scope: Record<string, unknown> = {}, exported: readonly string[] = []): Promise<Record<string, unknown>> {
  const names = Object.keys(scope);
  const fn = new AsyncFunction(...names, `${code}\n;return { ${exported.join(', ')} };`);
  return fn(...names.map((n) => scope[n]));
}

/** A `localStorage` for Node (the Web Storage API over a Map). */
export class MemoryStorage {
  private readonly items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  key(i: number): string | null {
    return [...this.items.keys()][i] ?? null;
  }
  getItem(k: string): string | null {
    return this.items.get(String(k)) ?? null;
  }
  setItem(k: string, v: string): void {
    this.items.set(String(k), String(v));
  }
  removeItem(k: string): void {
    this.items.delete(String(k));
  }
  clear(): void {
    this.items.clear();
  }
}

/** Captures console.log lines while `fn` runs. */
export async function captureLog<T>(fn: () => Promise<T>): Promise<{ value: T; lines: unknown[][] }> {
  const lines: unknown[][] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => void lines.push(a);
  try {
    const value = await fn();
    return { value, lines };
  } finally {
    console.log = orig;
  }
}
