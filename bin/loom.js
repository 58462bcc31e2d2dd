#!/usr/bin/env node
'use strict';
// The `loom` command line; the code lives in dist/src/cli (built by `npm run build`).
const { runCli } = require('../dist/src/cli/main.js');
const { COMMANDS } = require('../dist/src/cli/commands.js');
// `loom bench` is benchmark code (bench/), which src/cli does not import: it is added here.
const { benchCommand } = require('../dist/bench/cli_bench.js');
// `loom logits ... | head`: a closed pipe ends the command quietly, as for any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e && e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}
runCli(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
}, { commands: [...COMMANDS, benchCommand] }).then(
  (code) => { process.exitCode = code; },
  (e) => { process.stderr.write(`loom: ${e && e.stack ? e.stack : e}\n`); process.exitCode = 1; },
);
