#!/usr/bin/env node
// Tiny static server for the demo pages (npm start): serves dist/web on http://localhost:8080
// (PORT overrides; PORT=0 picks a free port). Node's http module only, no dependencies.
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Starts the server. Resolves with the http.Server once it listens.
 * @param {{root?: string, port?: number, host?: string, quiet?: boolean}} [options]
 */
function serve(options = {}) {
  const root = path.resolve(options.root || path.join(__dirname, '..', 'dist', 'web'));
  const port = options.port !== undefined ? options.port : Number(process.env.PORT || 8080);
  const host = options.host || '127.0.0.1';
  if (!fs.existsSync(path.join(root, 'inference.html'))) {
    throw new Error(`${root} has no demo pages: build them first (npx webpack)`);
  }
  const server = http.createServer((req, res) => {
    let urlPath;
    try {
      urlPath = decodeURIComponent(new URL(req.url || '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end('bad request');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    let file = path.join(root, path.normalize(urlPath));
    if (!file.startsWith(root)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    if (urlPath.endsWith('/')) file = path.join(file, 'index.html');
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`not found: ${urlPath}`);
        return;
      }
      res.writeHead(200, {
        'Content-Type': TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream',
        'Content-Length': st.size,
        'Cache-Control': 'no-cache',
      });
      if (req.method === 'HEAD') res.end();
      else fs.createReadStream(file).pipe(res);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      const url = `http://${host === '127.0.0.1' ? 'localhost' : host}:${addr.port}/`;
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

module.exports = { serve };

if (require.main === module) {
  serve().catch((e) => {
    console.error(e.code === 'EADDRINUSE' ? `port ${process.env.PORT || 8080} is in use: set PORT to another one` : e.message);
    process.exit(1);
  });
}
