/**
 * Shared set-up of the browser end-to-end tests: build the demo pages once (when dist/web is
 * missing or older than its sources), serve them on a free port, and drive Debian's chromium
 * with playwright-core. Tests skip with a message when no chromium is installed.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Server } from 'http';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const ROOT = path.join(__dirname, '..', '..');
export const WEB_DIR = path.join(ROOT, 'dist', 'web');
/** A production (minified) build of the pages, as `npm start` serves them; built by the tests that need it. */
export const WEB_PRODUCTION_DIR = path.join(ROOT, 'dist', 'web-production');
/** Written into the output folder after every build made by the tests. */
const STAMP_NAME = '.tests-build-stamp';
export const SHOTS_DIR = path.join(ROOT, 'test-results', 'screenshots');

const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** The chromium binary (CHROMIUM_PATH or Debian's), or null when there is none. */
export function chromiumPath(): string | null {
  for (const p of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (p && fs.existsSync(p)) return p;
  }
  return null;
}

function newestMtime(p: string): number {
  if (!fs.existsSync(p)) return 0;
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = 0;
  for (const e of fs.readdirSync(p)) if (e !== 'node_modules') m = Math.max(m, newestMtime(path.join(p, e)));
  return m;
}

function isFreshBuild(outDir: string): boolean {
  const outputs = ['inference.html', 'inference.js', 'inference_worker.js', 'example.js', 'all_layers_test.js'].map((f) => path.join(outDir, f));
  const stamp = path.join(outDir, STAMP_NAME);
  if (!outputs.every((f) => fs.existsSync(f)) || !fs.existsSync(stamp)) return false;
  // webpack does not rewrite unchanged files, so their mtimes say nothing: a stamp written after each build does
  const built = fs.statSync(stamp).mtimeMs;
  const sources = ['examples/web', 'src', 'layers', 'loaders', 'models/builtin'].map((d) => newestMtime(path.join(ROOT, d)));
  return built >= Math.max(...sources);
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Builds dist/web with webpack (development mode: no minification) unless it is up to date;
 * `production: true` builds the minified pages of `npm start` into {@link WEB_PRODUCTION_DIR} instead.
 * A lock directory keeps parallel test files from building at the same time.
 */
export function ensurePagesBuilt(options: { production?: boolean } = {}): void {
  const outDir = options.production ? WEB_PRODUCTION_DIR : WEB_DIR;
  const isFresh = (): boolean => isFreshBuild(outDir);
  const lock = path.join(ROOT, 'dist', '.web-build-lock');
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    if (isFresh()) return;
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      const age = Date.now() - (fs.existsSync(lock) ? fs.statSync(lock).mtimeMs : Date.now());
      if (age > 12 * 60_000) fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for another test to build the demo pages');
      sleep(2000);
    }
  }
  try {
    if (isFresh()) return;
    const args = options.production ? ['--mode', 'production'] : [];
    execFileSync(process.execPath, [require.resolve('webpack-cli/bin/cli.js'), ...args, '--config-name', 'pages'], {
      cwd: ROOT,
      env: options.production ? { ...process.env, NODE_ENV: 'production', LOOM_WEB_OUT: outDir } : { ...process.env, NODE_ENV: 'development' },
      stdio: 'pipe',
      timeout: 12 * 60_000,
    });
    fs.writeFileSync(path.join(outDir, STAMP_NAME), new Date().toISOString());
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** Serves dist/web on a free port (scripts/serve.js). */
export async function startServer(): Promise<{ server: Server; url: string }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { serve } = require(path.join(ROOT, 'scripts', 'serve.js')) as { serve: (o: { port: number; quiet: boolean }) => Promise<Server & { url: string }> };
  const server = await serve({ port: 0, quiet: true });
  return { server, url: server.url };
}

/** Launches headless chromium; playwright gives every launch a fresh temporary profile (user-data-dir) and deletes it on close. */
export async function launchBrowser(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: false, // --headless=new is passed explicitly
    args: CHROMIUM_FLAGS,
    timeout: 60_000,
  });
}

/** One demo page open in headless chromium; `describePage` fills it in before the suite's tests run. */
export interface PageSession {
  /** The server's base URL, ending in `/`. */
  url: string;
  browser: Browser;
  /** A 1280x800 tab on the page, its errors collected. */
  page: Page;
  /** What `collectErrors` gathered on `page` so far. */
  errors: string[];
}

/**
 * Declares the suite of the demo page `file` (dist/web/<file>, also the suite's name). Before its
 * tests: builds the pages when stale, serves them, launches chromium, opens the page in a 1280x800
 * tab that collects errors and waits for `ready`; after them, closes the browser and the server.
 * The suite is skipped, with a warning, when no chromium is installed.
 */
export function describePage(file: string, ready: (page: Page) => Promise<unknown>, body: (session: PageSession) => void): void {
  const exe = chromiumPath();
  if (!exe) console.warn('browser tests skipped: no chromium found (set CHROMIUM_PATH or install Debian chromium)');
  jest.setTimeout(300_000);
  (exe ? describe : describe.skip)(file, () => {
    // filled in by beforeAll; the tests only read it after that
    const session = {} as PageSession;
    let server: Server | undefined;
    let browser: Browser | undefined;

    beforeAll(async () => {
      ensurePagesBuilt();
      let url: string;
      ({ server, url } = await startServer());
      browser = await launchBrowser(exe as string);
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      Object.assign(session, { url, browser, page, errors: collectErrors(page) });
      await page.goto(`${url}${file}`);
      await ready(page);
    });

    afterAll(async () => {
      await browser?.close();
      server?.close();
    });

    body(session);
  });
}

/** Optional files that loaders probe for: a 404 on them is expected. */
const OPTIONAL_FILES = /\/(special_tokens_map\.json|chat_template\.jinja|tokenizer_config\.json|generation_config\.json|model\.safetensors\.index\.json)$/;

/**
 * Console errors, page errors and failed requests of a page (and its workers). Aborted requests
 * (a HEAD probe or a body stream the loader cancels) and 404s of optional files do not count.
 */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !(m.text().includes('404') && OPTIONAL_FILES.test(m.location().url))) errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    if (!why.includes('ERR_ABORTED')) errors.push(`request failed: ${r.url()} ${why}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !(r.status() === 404 && OPTIONAL_FILES.test(new URL(r.url()).pathname))) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  page.on('worker', (w) => w.on('console', (m) => m.type() === 'error' && errors.push(`worker console: ${m.text()}`)));
  return errors;
}

/** Saves full-page screenshots at 1280x800 and at a phone width (390x844) under test-results/. */
export async function screenshots(context: BrowserContext, url: string, name: string, prepare?: (p: Page) => Promise<void>): Promise<string[]> {
  fs.mkdirSync(SHOTS_DIR, { recursive: true });
  const files: string[] = [];
  for (const [label, viewport] of [
    ['desktop', { width: 1280, height: 800 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    const page = await context.newPage();
    await page.setViewportSize(viewport);
    await page.goto(url);
    if (prepare) await prepare(page);
    const file = path.join(SHOTS_DIR, `${name}-${label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 1) throw new Error(`${name} at ${label} width overflows horizontally by ${overflow}px`);
    files.push(file);
    await page.close();
  }
  return files;
}
