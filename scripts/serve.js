#!/usr/bin/env node
// Static server for the demo pages (npm start): serves dist/web on http://localhost:8080.
// Environment: PORT (0 picks a free port), HOST (default 127.0.0.1; 0.0.0.0 shows the demos to
// other devices on the network), SERVE_ROOT (another folder to serve). Node's http module only.
//
// Hostile requests cannot stop it or read outside the root: the path is decoded and checked
// before any file system call (bad escapes, NUL and control bytes, backslashes, `..` and dot
// segments give 400/404; a file whose real path, symlinks resolved, is outside the root gives 404),
// and anything unexpected answers 500 and logs one line. It answers Range (206, Content-Range),
// ETag / Last-Modified with 304, HEAD, OPTIONS, 405 + Allow for other methods, and sends
// `nosniff` and the COOP/COEP headers that make the pages cross-origin isolated (SharedArrayBuffer,
// wasm threads).
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
  '.gguf': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

const ALLOW = 'GET, HEAD, OPTIONS';
/** Longest request target accepted (bytes); longer ones get 414. */
const MAX_URL = 8192;

/** Headers of every response. */
const COMMON_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Referrer-Policy': 'no-referrer',
};

/** An answer decided before any file is touched. */
class Refusal extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * The path segments a request target names, decoded and checked; throws a Refusal otherwise.
 * Only origin-form targets (`/a/b?q`) are served.
 */
function segmentsOf(target) {
  if (target.length > MAX_URL) throw new Refusal(414, 'URI too long');
  if (!target.startsWith('/')) throw new Refusal(400, 'bad request target');
  const raw = target.split(/[?#]/, 1)[0];
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) throw new Refusal(400, 'bad percent escape');
  let decoded;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new Refusal(400, 'bad percent escape');
  }
  // NUL and other control bytes, backslashes (Windows separators) never name a file we serve.
  if (/[\u0000-\u001f\u007f\\]/.test(decoded)) throw new Refusal(400, 'bad character in path');
  const segments = decoded.split('/').filter((s) => s !== '');
  // `..` and `.` segments, and hidden files (.git, build stamps, ...).
  if (segments.some((s) => s.startsWith('.'))) throw new Refusal(404, 'not found');
  return { segments, dir: decoded.endsWith('/') };
}

/** `bytes=a-b` / `bytes=a-` / `bytes=-n` of a file of `size` bytes: {start, end}, 'unsatisfiable', or null (ignore). */
function parseRange(header, size) {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // several ranges or malformed: send the whole file
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** Whether the conditional headers say the client's copy is current. */
function notModified(req, etag, mtime) {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) {
    return inm.trim() === '*' || inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
  }
  const ims = req.headers['if-modified-since'];
  if (ims !== undefined) {
    const t = Date.parse(ims);
    return Number.isFinite(t) && Math.floor(mtime / 1000) <= Math.floor(t / 1000);
  }
  return false;
}

function send(res, status, text, extra = {}) {
  const body = Buffer.from(text === undefined ? '' : `${text}\n`, 'utf8');
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-store', ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** Answers one request (may throw or reject: the caller turns that into a 500). */
async function handle(req, res, root, realRoot, log) {
  if (req.method === 'OPTIONS') {
    res.writeHead(204, { ...COMMON_HEADERS, Allow: ALLOW, 'Content-Length': 0 }).end();
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'method not allowed', { Allow: ALLOW });
    return;
  }
  const { segments, dir } = segmentsOf(req.url || '');
  let file = path.join(root, ...segments);
  if (file !== root && !file.startsWith(root + path.sep)) throw new Refusal(404, 'not found');
  let st;
  try {
    let real = await fs.promises.realpath(file);
    st = await fs.promises.stat(real);
    // a folder is served as its index.html when asked for with a trailing slash (relative links)
    if (st.isDirectory() !== dir) throw new Refusal(404, 'not found');
    if (dir) {
      file = path.join(real, 'index.html');
      real = await fs.promises.realpath(file);
      st = await fs.promises.stat(real);
    }
    if (!real.startsWith(realRoot + path.sep) || !st.isFile()) throw new Refusal(404, 'not found');
    file = real;
  } catch (e) {
    if (e instanceof Refusal) throw e;
    if (e && (e.code === 'ENOENT' || e.code === 'ENOTDIR' || e.code === 'ELOOP' || e.code === 'ENAMETOOLONG' || e.code === 'EACCES')) {
      throw new Refusal(404, 'not found');
    }
    throw e;
  }
  const size = st.size;
  const etag = `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const headers = {
    ...COMMON_HEADERS,
    'Content-Type': TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream',
    'Cache-Control': 'no-cache',
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Last-Modified': st.mtime.toUTCString(),
  };
  if (notModified(req, etag, st.mtimeMs)) {
    res.writeHead(304, headers).end();
    return;
  }
  let range = null;
  const ifRange = req.headers['if-range'];
  if (req.headers.range !== undefined && (ifRange === undefined || ifRange.trim() === etag || ifRange.trim() === headers['Last-Modified'])) {
    range = parseRange(req.headers.range, size);
  }
  if (range === 'unsatisfiable') {
    send(res, 416, 'range not satisfiable', { 'Content-Range': `bytes */${size}` });
    return;
  }
  const status = range ? 206 : 200;
  const start = range ? range.start : 0;
  const end = range ? range.end : size - 1;
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  headers['Content-Length'] = Math.max(0, end - start + 1);
  if (req.method === 'HEAD' || size === 0) {
    res.writeHead(status, headers).end();
    return;
  }
  const stream = fs.createReadStream(file, { start, end });
  await new Promise((resolve) => {
    stream.once('open', () => {
      res.writeHead(status, headers);
      stream.pipe(res);
    });
    stream.once('error', (e) => {
      // before the headers: a normal 500; after: the client sees a short body, as with a cut connection
      if (!res.headersSent) fail(res, req, e, log);
      else res.destroy();
      resolve();
    });
    stream.once('close', resolve);
    res.once('close', () => stream.destroy());
  });
}

/** The last resort: 500 and one log line, or a cut connection when the headers are already out. */
function fail(res, req, err, log) {
  log(`serve: 500 for ${req.method} ${JSON.stringify(String(req.url).slice(0, 200))}: ${err && err.message ? err.message : String(err)}`);
  if (res.headersSent || res.destroyed) res.destroy();
  else send(res, 500, 'internal error');
}

/**
 * Starts the server. Resolves with the http.Server (its `url` set) once it listens.
 * @param {{root?: string, port?: number, host?: string, quiet?: boolean, log?: (line: string) => void,
 *          headersTimeoutMs?: number, requestTimeoutMs?: number, maxConnections?: number}} [options]
 */
function serve(options = {}) {
  const root = path.resolve(options.root || process.env.SERVE_ROOT || path.join(__dirname, '..', 'dist', 'web'));
  const port = options.port !== undefined ? options.port : Number(process.env.PORT || 8080);
  const host = options.host || process.env.HOST || '127.0.0.1';
  const log = options.log || ((line) => console.error(line));
  if (!fs.existsSync(path.join(root, 'inference.html'))) {
    return Promise.reject(new Error(`${root} has no demo pages: build them first (npx webpack)`));
  }
  const realRoot = fs.realpathSync(root);
  const headersTimeout = options.headersTimeoutMs || 10_000;
  const server = http.createServer(
    {
      headersTimeout, // a client that stops sending its headers is cut off after this
      requestTimeout: options.requestTimeoutMs || 30_000,
      connectionsCheckingInterval: Math.min(1000, headersTimeout),
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => {
      res.on('error', () => undefined); // a client gone mid-response: nothing to answer
      req.on('error', () => undefined);
      let p;
      try {
        p = handle(req, res, root, realRoot, log);
      } catch (e) {
        p = Promise.reject(e);
      }
      p.catch((e) => {
        if (e instanceof Refusal) {
          if (!res.headersSent && !res.destroyed) send(res, e.status, e.message);
          return;
        }
        fail(res, req, e, log);
      }).catch((e) => {
        log(`serve: could not answer: ${e && e.message}`);
        res.destroy();
      });
    },
  );
  server.keepAliveTimeout = 5000;
  server.maxConnections = options.maxConnections || 1024;
  // CONNECT never reaches the request handler: answer it here (a proxy we are not)
  server.on('connect', (req, socket) => {
    socket.on('error', () => undefined);
    socket.end(`HTTP/1.1 405 Method Not Allowed\r\nAllow: ${ALLOW}\r\nConnection: close\r\nContent-Length: 0\r\nX-Content-Type-Options: nosniff\r\n\r\n`);
  });
  server.on('clientError', (err, socket) => {
    // unparsable request (bad request line, NUL bytes, headers over maxHeaderSize, timeouts)
    if (!socket.writable || socket._httpMessage) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\nX-Content-Type-Options: nosniff\r\n\r\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      server.on('error', (e) => log(`serve: ${e.message}`));
      const addr = server.address();
      const shown = host === '127.0.0.1' || host === '::1' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
      const url = `http://${shown}:${addr.port}/`;
      server.url = url;
      if (!options.quiet) {
        console.log(`loom-tfjs demos: ${url}`);
        console.log(`  ${url}inference.html         text generation (built-in model)`);
        console.log(`  ${url}example.html           network builder and trainer`);
        console.log(`  ${url}all_layers_test.html   LOOM model runner`);
      }
      resolve(server);
    });
  });
}

module.exports = { serve, segmentsOf, parseRange };

if (require.main === module) {
  process.on('uncaughtException', (e) => console.error(`serve: unexpected error (still serving): ${e && e.message}`));
  serve().catch((e) => {
    console.error(e.code === 'EADDRINUSE' ? `port ${process.env.PORT || 8080} is in use: set PORT to another one` : e.message);
    process.exit(1);
  });
}
