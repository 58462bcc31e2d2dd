/**
 * The demo server (scripts/serve.js, `npm start`) survives hostile requests and serves nothing
 * outside its root.
 *
 * A seeded list of 1,300+ raw requests goes to the server over loopback sockets, 50 at a time:
 * every percent escape (alone and inside a `..` traversal), traversal spellings, random bytes in
 * the request target, garbage request lines and unknown methods, over-long URLs and headers,
 * clients that stop mid-request (cut off or left stalled), responses abandoned mid-body, and
 * concurrent valid GET / HEAD / Range / conditional requests checked byte for byte. Then the
 * server must still answer, every 2xx body must be a file of the root (by hash), no answer may
 * hold the bytes of a file outside it (a marker file beside the root, package.json, /etc/passwd),
 * no request may have caused a 500, and the stalled clients must have been cut off by the
 * server's timeouts.
 *
 * The root is a copy of the built demo pages (dist/web, which `.ci/run` builds first) taken at
 * the start, so a concurrent rebuild by the browser tests cannot change it mid-run; without a
 * build, the pages' HTML and the built-in model (what webpack copies into dist/web) are used.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { Server } from 'http';

const ROOT = path.resolve(__dirname, '..');
const WEB = path.join(ROOT, 'dist', 'web');
const BUILD_LOCK = path.join(ROOT, 'dist', '.web-build-lock');

interface ServeOptions {
  root: string;
  port: number;
  quiet: boolean;
  log: (line: string) => void;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}
const { serve } = require(path.join(ROOT, 'scripts', 'serve.js')) as { serve: (o: ServeOptions) => Promise<Server & { url: string }> };

/** mulberry32: a small seeded generator (the request list is the same on every run). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Reply {
  status: number | null;
  head: string;
  body: Buffer;
  /** The client gave up waiting (the server neither answered nor closed). */
  timedOut: boolean;
}

/** How a raw request is sent. */
interface Send {
  bytes: Buffer;
  /** Destroy the socket this long after writing (a client that goes away mid-request). */
  abortAfterMs?: number;
  /** Destroy the socket once this many response bytes have arrived (abandoned mid-body). */
  abortAfterBytes?: number;
  timeoutMs?: number;
}

function parseReply(buf: Buffer, timedOut: boolean): Reply {
  const end = buf.indexOf('\r\n\r\n');
  const head = end < 0 ? buf.toString('latin1') : buf.subarray(0, end).toString('latin1');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  return { status: m ? Number(m[1]) : null, head, body: end < 0 ? Buffer.alloc(0) : buf.subarray(end + 4), timedOut };
}

/** Sends raw bytes on a fresh loopback connection; resolves when the server closes it (or on a client-side limit). */
function raw(port: number, s: Send): Promise<Reply> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    let timedOut = false;
    const sock = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      timedOut = true;
      sock.destroy();
    }, s.timeoutMs ?? 8000);
    sock.on('connect', () => {
      sock.write(s.bytes);
      if (s.abortAfterMs !== undefined) setTimeout(() => sock.destroy(), s.abortAfterMs);
    });
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (s.abortAfterBytes !== undefined && got >= s.abortAfterBytes) sock.destroy();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(parseReply(Buffer.concat(chunks), timedOut));
    });
  });
}

const req = (target: string | Buffer, headers: string[] = [], method = 'GET'): Buffer =>
  Buffer.concat([Buffer.from(`${method} `), Buffer.isBuffer(target) ? target : Buffer.from(target, 'latin1'), Buffer.from(` HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`, 'latin1')]);

/** Runs `jobs` with at most `n` in flight. */
async function pool<T>(jobs: (() => Promise<T>)[], n: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, jobs.length) }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await (jobs[i] as () => Promise<T>)();
      }
    }),
  );
  return out;
}

const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : e.isFile() ? [p] : [];
  });
}

const MODEL = '/models/builtin/model.safetensors';
let tmp = '';
let root = '';
let secret = '';
const logged: string[] = [];
let server: (Server & { url: string }) | null = null;
let port = 0;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-serve-'));
  root = path.join(tmp, 'web');
  for (let i = 0; i < 300 && fs.existsSync(BUILD_LOCK); i++) await new Promise((r) => setTimeout(r, 1000)); // a build in progress
  if (fs.existsSync(path.join(WEB, 'inference.html')) && fs.existsSync(path.join(WEB, ...MODEL.split('/')))) {
    fs.cpSync(WEB, root, { recursive: true });
  } else {
    fs.mkdirSync(path.join(root, 'models'), { recursive: true });
    for (const f of ['inference.html', 'example.html', 'all_layers_test.html', 'index.html', 'styles.css']) fs.copyFileSync(path.join(ROOT, 'examples', 'web', f), path.join(root, f));
    fs.cpSync(path.join(ROOT, 'models', 'builtin'), path.join(root, 'models', 'builtin'), { recursive: true });
  }
  // Beside the root: a marker file no answer may contain, and links from inside the root to it.
  secret = `secret-${crypto.randomBytes(12).toString('hex')}`;
  fs.writeFileSync(path.join(tmp, 'secret.txt'), secret);
  fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(root, 'escape.txt'));
  fs.symlinkSync(tmp, path.join(root, 'escape_dir'), 'dir');
  fs.symlinkSync(path.join(root, 'inference.html'), path.join(root, 'inside_link.html'));
  server = await serve({ root, port: 0, quiet: true, log: (l) => void logged.push(l), headersTimeoutMs: 1500, requestTimeoutMs: 3000 });
  port = (server.address() as net.AddressInfo).port;
}, 360_000);

afterAll(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((r) => (server as Server).close(r));
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Traversal spellings aimed at the marker file, package.json and /etc/passwd. */
function traversals(): string[] {
  const dots = ['..', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '%252e%252e', '%c0%ae%c0%ae', '%e0%80%ae%e0%80%ae', '....'];
  const seps = ['/', '%2f', '%2F', '%5c', '\\', '%252f', '%c0%af', '//'];
  const out: string[] = [];
  for (const d of dots) for (const s of seps) out.push(`/${d}${s}secret.txt`, `/${d}${s}${d}${s}${d}${s}${d}${s}etc${s}passwd`);
  out.push('/escape.txt', '/escape_dir/secret.txt', '/escape_dir/web/inference.html', '/./secret.txt', '/inference.html/../../secret.txt');
  out.push('/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/..%00/secret.txt', '/secret.txt%00.html', '/inference.html%00');
  out.push('/.git/config', '/.tests-build-stamp', '/%2e%2e', '/..', '/../', '/models/../../secret.txt', '/models/builtin/../../../secret.txt');
  return out;
}

function hostileRequests(): { name: string; send: Send }[] {
  const r = rng(20261204);
  const list: { name: string; send: Send }[] = [];
  const hex = (b: number): string => b.toString(16).padStart(2, '0');
  // every percent escape, alone and inside a traversal
  for (let b = 0; b < 256; b++) {
    list.push({ name: `escape %${hex(b)}`, send: { bytes: req(`/%${hex(b)}`) } });
    list.push({ name: `traversal via %${hex(b).toUpperCase()}`, send: { bytes: req(`/%2e%2e%${hex(b).toUpperCase()}%2e%2e%${hex(b)}secret.txt`) } });
  }
  for (const t of traversals()) list.push({ name: `traversal ${t}`, send: { bytes: req(t) } });
  for (const t of traversals().slice(0, 20)) list.push({ name: `absolute-form ${t}`, send: { bytes: req(`http://127.0.0.1${t}`) } });
  // random bytes in the request target
  for (let i = 0; i < 300; i++) {
    const n = 1 + Math.floor(r() * 64);
    const bytes = Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
    list.push({ name: `random target ${i}`, send: { bytes: req(Buffer.concat([Buffer.from('/'), bytes])) } });
  }
  // garbage request lines and unknown methods
  for (let i = 0; i < 60; i++) {
    const n = 1 + Math.floor(r() * 200);
    list.push({ name: `garbage ${i}`, send: { bytes: Buffer.concat([Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256))), Buffer.from('\r\n\r\n')]) } });
  }
  for (const m of ['POST', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'CONNECT', 'PROPFIND', 'BREW', 'get', 'G\u0000ET']) {
    list.push({ name: `method ${JSON.stringify(m)}`, send: { bytes: req('/inference.html', m === 'POST' ? ['Content-Length: 5'] : [], m) } });
  }
  list.push({ name: 'OPTIONS *', send: { bytes: req('*', [], 'OPTIONS') } });
  // over-long URLs and headers
  for (let i = 0; i < 6; i++) list.push({ name: `long url ${i}`, send: { bytes: req(`/${'a'.repeat(5000 * (i + 1))}`) } });
  for (let i = 0; i < 6; i++) list.push({ name: `long header ${i}`, send: { bytes: req('/inference.html', [`X-Long: ${'b'.repeat(10_000 * (i + 1))}`]) } });
  for (let i = 0; i < 4; i++) list.push({ name: `many headers ${i}`, send: { bytes: req('/inference.html', Array.from({ length: 500 * (i + 1) }, (_, k) => `X-H${k}: v`)) } });
  list.push({ name: 'NUL in a header', send: { bytes: req('/inference.html', ['X-Nul: a\u0000b']) } });
  list.push({ name: 'bad Range', send: { bytes: req(MODEL, ['Range: bytes=x-y']) } });
  list.push({ name: 'huge Range', send: { bytes: req(MODEL, ['Range: bytes=99999999999999999999999-']) } });
  list.push({ name: 'many Ranges', send: { bytes: req(MODEL, [`Range: bytes=${Array.from({ length: 2000 }, (_, k) => `${k}-${k}`).join(',')}`]) } });
  list.push({ name: 'bad If-Modified-Since', send: { bytes: req('/inference.html', ['If-Modified-Since: not a date']) } });
  // clients that stop mid-request: they go away after a partial request line, headers or body
  const partial = ['G', 'GET /infer', 'GET /inference.html HTTP/1.1\r\nHo', 'GET /inference.html HTTP/1.1\r\nHost: x\r\n', 'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc'];
  for (let i = 0; i < 30; i++) {
    list.push({ name: `cut off mid-request ${i}`, send: { bytes: Buffer.from(partial[i % partial.length] as string, 'latin1'), abortAfterMs: Math.floor(r() * 50) } });
  }
  // responses abandoned mid-body
  for (let i = 0; i < 20; i++) list.push({ name: `abandoned response ${i}`, send: { bytes: req(MODEL), abortAfterBytes: 1 + Math.floor(r() * 200_000) } });
  return list;
}

test('1,000+ seeded hostile requests: the server keeps answering and serves nothing outside its root', async () => {
  const started = Date.now();
  const rootHashes = new Set(filesUnder(root).map((f) => sha(fs.readFileSync(f))));
  const outside = [Buffer.from(secret), Buffer.from('"name": "loom-tfjs"'), Buffer.from('root:x:0:0:')];
  const modelBytes = fs.readFileSync(path.join(root, ...MODEL.split('/')));
  const html = fs.readFileSync(path.join(root, 'inference.html'));

  // Stalled clients: a partial request left open while everything else runs; the server must cut them off.
  const stalledPartials = ['GET /inference.html HTTP/1.1\r\nHost: x\r\n', 'GET /inference', 'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab'];
  const stalled = Array.from({ length: 30 }, (_, i) =>
    raw(port, { bytes: Buffer.from(stalledPartials[i % stalledPartials.length] as string), timeoutMs: 20_000 }).then((rep) => ({ rep, at: Date.now() })),
  );

  const hostile = hostileRequests();
  // concurrent valid load, mixed in: whole files, HEAD, ranges, conditionals
  const r = rng(7);
  const valid: { name: string; send: Send; check: (rep: Reply) => void }[] = [];
  for (let i = 0; i < 300; i++) {
    const kind = i % 4;
    if (kind === 0) valid.push({ name: `GET ${i}`, send: { bytes: req('/inference.html') }, check: (rep) => expect([rep.status, rep.body.equals(html)]).toEqual([200, true]) });
    else if (kind === 1) valid.push({ name: `HEAD ${i}`, send: { bytes: req(MODEL, [], 'HEAD') }, check: (rep) => expect([rep.status, rep.body.length, /content-length: (\d+)/i.exec(rep.head)?.[1]]).toEqual([200, 0, String(modelBytes.length)]) });
    else if (kind === 2) {
      const a = Math.floor(r() * modelBytes.length);
      const b = Math.min(modelBytes.length - 1, a + Math.floor(r() * 5000));
      valid.push({
        name: `Range ${a}-${b}`,
        send: { bytes: req(MODEL, [`Range: bytes=${a}-${b}`]) },
        check: (rep) => {
          expect(rep.status).toBe(206);
          expect(rep.head).toMatch(new RegExp(`\\r\\ncontent-range: bytes ${a}-${b}/${modelBytes.length}\\r?`, 'i'));
          expect(rep.body.equals(modelBytes.subarray(a, b + 1))).toBe(true);
        },
      });
    } else valid.push({ name: `inside link ${i}`, send: { bytes: req('/inside_link.html') }, check: (rep) => expect([rep.status, rep.body.equals(html)]).toEqual([200, true]) });
  }
  const jobs = [...hostile.map((h) => ({ ...h, check: undefined as ((rep: Reply) => void) | undefined })), ...valid];
  // a fixed seeded shuffle, so valid requests run among hostile ones
  for (let i = jobs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [jobs[i], jobs[j]] = [jobs[j] as (typeof jobs)[number], jobs[i] as (typeof jobs)[number]];
  }
  expect(hostile.length).toBeGreaterThanOrEqual(1000);
  const replies = await pool(jobs.map((j) => () => raw(port, j.send)), 50);

  const problems: string[] = [];
  replies.forEach((rep, i) => {
    const job = jobs[i] as (typeof jobs)[number];
    const aborted = job.send.abortAfterMs !== undefined || job.send.abortAfterBytes !== undefined;
    if (rep.timedOut) problems.push(`${job.name}: no answer and not closed within 8 s`);
    if (rep.status !== null && rep.status >= 500) problems.push(`${job.name}: status ${rep.status}`);
    for (const o of outside) if (rep.body.includes(o) || rep.head.includes(o.toString('latin1'))) problems.push(`${job.name}: answer holds bytes from outside the root`);
    if (rep.status === 200 && !aborted && rep.body.length > 0 && !rootHashes.has(sha(rep.body))) problems.push(`${job.name}: 200 body is not a file of the root`);
    if (!aborted && !job.check && rep.status === null) problems.push(`${job.name}: closed without an answer`);
    if (job.check) {
      try {
        job.check(rep);
      } catch (e) {
        problems.push(`${job.name}: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`);
      }
    }
  });
  expect(problems.slice(0, 20)).toEqual([]);
  // traversal attempts are refused, never answered with a file
  const statusOf = (name: string): number | null => (replies[jobs.findIndex((j) => j.name === name)] as Reply).status;
  for (const t of ['/escape.txt', '/escape_dir/secret.txt', '/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt']) expect([t, statusOf(`traversal ${t}`)]).toEqual([t, 404]);
  expect(statusOf('escape %00')).toBe(400);
  expect(statusOf('method "DELETE"')).toBe(405);
  expect(statusOf('method "CONNECT"')).toBe(405);
  expect(logged).toEqual([]); // no request reached the last-resort 500 handler

  // the stalled clients were cut off by the server (headers / request timeouts), not by the client
  const cut = await Promise.all(stalled);
  for (const { rep, at } of cut) {
    expect(rep.timedOut).toBe(false);
    expect(at - started).toBeLessThan(15_000);
  }
}, 60_000);

/** One request with node's http client (valid requests only). */
async function get(target: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply & { headers: Record<string, string> }> {
  const rep = await raw(port, { bytes: req(target, Object.entries(headers).map(([k, v]) => `${k}: ${v}`), method) });
  const h: Record<string, string> = {};
  for (const line of rep.head.split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) h[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { ...rep, headers: h };
}

describe('after the hostile run', () => {
  test('GET /inference.html is 200 with the page, nosniff and the cross-origin isolation headers', async () => {
    const rep = await get('/inference.html');
    expect(rep.status).toBe(200);
    expect(rep.body.equals(fs.readFileSync(path.join(root, 'inference.html')))).toBe(true);
    expect(rep.headers['content-length']).toBe(String(rep.body.length));
    expect(rep.headers['x-content-type-options']).toBe('nosniff');
    expect(rep.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(rep.headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect(rep.headers['content-type']).toBe('text/html; charset=utf-8');
  });

  test("a Range request for the built-in model's weights returns exactly those bytes with 206", async () => {
    const bytes = fs.readFileSync(path.join(root, ...MODEL.split('/')));
    expect(bytes.equals(fs.readFileSync(path.join(ROOT, 'models', 'builtin', 'model.safetensors')))).toBe(true);
    const rep = await get(MODEL, { Range: 'bytes=8-1031' });
    expect(rep.status).toBe(206);
    expect(rep.headers['content-range']).toBe(`bytes 8-1031/${bytes.length}`);
    expect(rep.headers['content-length']).toBe('1024');
    expect(rep.body.equals(bytes.subarray(8, 1032))).toBe(true);
    const tail = await get(MODEL, { Range: 'bytes=-100' });
    expect([tail.status, tail.headers['content-range'], tail.body.equals(bytes.subarray(bytes.length - 100))]).toEqual([206, `bytes ${bytes.length - 100}-${bytes.length - 1}/${bytes.length}`, true]);
    const past = await get(MODEL, { Range: `bytes=${bytes.length}-` });
    expect([past.status, past.headers['content-range']]).toEqual([416, `bytes */${bytes.length}`]);
    // If-Range with a stale validator: the whole file
    const stale = await get(MODEL, { Range: 'bytes=0-9', 'If-Range': '"stale"' });
    expect([stale.status, stale.body.length]).toEqual([200, bytes.length]);
  });

  test('ETag and Last-Modified give 304; other methods 405 with Allow; OPTIONS lists them', async () => {
    const first = await get('/inference.html');
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    const again = await get('/inference.html', { 'If-None-Match': etag });
    expect([again.status, again.body.length, again.headers.etag]).toEqual([304, 0, etag]);
    const since = await get('/inference.html', { 'If-Modified-Since': first.headers['last-modified'] as string });
    expect(since.status).toBe(304);
    const changed = await get('/inference.html', { 'If-None-Match': '"other"' });
    expect(changed.status).toBe(200);
    const del = await get('/inference.html', {}, 'DELETE');
    expect([del.status, del.headers.allow]).toEqual([405, 'GET, HEAD, OPTIONS']);
    const opt = await get('/inference.html', {}, 'OPTIONS');
    expect([opt.status, opt.headers.allow]).toEqual([204, 'GET, HEAD, OPTIONS']);
  });

  test('links inside the root are served; links leading out of it, dot files and bad escapes are not', async () => {
    expect((await get('/inside_link.html')).status).toBe(200);
    for (const t of ['/escape.txt', '/escape_dir/secret.txt', '/.tests-build-stamp', '/models', '/inference.html/']) {
      const rep = await get(t);
      expect([t, rep.status]).toEqual([t, 404]);
      expect(rep.body.includes(secret)).toBe(false);
    }
    for (const t of ['/%00', '/%zz', '/a%5cb', '/%c0%ae%c0%ae/secret.txt', '/%ff']) expect([t, (await get(t)).status]).toEqual([t, 400]);
  });
});

test('an unexpected file system error answers 500, logs one line, and the server keeps serving', async () => {
  const realStat = fs.promises.stat;
  const spy = jest.spyOn(fs.promises, 'stat').mockImplementation(async (p, o) => {
    if (String(p).endsWith('example.html')) throw Object.assign(new Error('EIO: i/o error, stat'), { code: 'EIO' });
    return realStat(p, o as never) as never;
  });
  const before = logged.length;
  try {
    const rep = await get('/example.html');
    expect(rep.status).toBe(500);
    expect(rep.body.toString()).toBe('internal error\n');
    expect(logged.slice(before)).toEqual([expect.stringMatching(/^serve: 500 for GET "\/example\.html": EIO: i\/o error, stat$/)]);
  } finally {
    spy.mockRestore();
  }
  expect((await get('/inference.html')).status).toBe(200);
  expect((await get('/example.html')).status).toBe(200);
});
