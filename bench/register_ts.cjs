// Lets `node -r ./bench/register_ts.cjs bench/fuzz.ts` run TypeScript sources directly (no build):
// each .ts file is compiled to CommonJS by @swc/core (already a dev dependency, used by jest).
const fs = require('fs');
const swc = require('@swc/core');
require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
