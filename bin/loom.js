#!/usr/bin/env node
'use strict';
// The `loom` command line; the code lives in dist/src/cli (built by `npm run build`).
const { runCli } = require('../dist/src/cli/main.js');
runCli(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
}).then(
  (code) => { process.exitCode = code; },
  (e) => { process.stderr.write(`loom: ${e && e.stack ? e.stack : e}\n`); process.exitCode = 1; },
);
