/**
 * Every Node example in examples/ runs as written (`node dist/examples/<name>.js`, after the
 * build) and exits 0 with the output it promises.
 */
import * as path from 'path';
import { spawnSync } from 'child_process';
import { ensureBuilt, ROOT } from './helpers/build';

const EXAMPLES: Record<string, RegExp[]> = {
  quickstart: [/reloaded network gives identical outputs: true/],
  xor_spirals: [/xor\(1, 1\) = 0\.0/, /spirals: .* accuracy (9\d|100)\.\d%/],
  lstm_sequence: [/lstm: accuracy on the training sequences/],
  conv2d_classifier: [/conv2d: accuracy on 32 new images/],
  softmax_variants: [/^standard +0\.222 .* sum 1\.000$/m, /^sparsemax +0\.000 .* 1\.000 +sum 1\.000$/m, /^grid 2x3.* sum 2\.000$/m],
  parallel_moe: [/moe: 2 grid layers/],
  save_load: [/identical outputs: true; byte-identical re-save: true/],
  text_generation: [/^Ma.*\n\[(length|eos|stop)\] \d+ tokens/],
  tokenization: [/decode: "Mary-Jo O'Neil"/, /^chat \(the tokenizer's template\):\n<s>Hi!$/m],
  // fp32 > bf16 > q8 > q4 bytes is checked by kernels_quant_model.test.ts; here: it runs, all four load
  quantized_generation: [/^wasm, \d+ thread/m, /^fp32: \d+ KiB/m, /^bf16: \d+ KiB/m, /^q8: \d+ KiB/m, /^q4: \d+ KiB/m],
  switch_backends: [/^cpu +network/m, /^wasm +network/m, /backends agree: true/],
};

beforeAll(() => ensureBuilt(Object.keys(EXAMPLES).map((n) => `dist/examples/${n}.js`)), 300_000);

test.each(Object.keys(EXAMPLES))('examples/%s.ts', (name) => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'examples', `${name}.js`)], { cwd: ROOT, encoding: 'utf8', timeout: 110_000 });
  if (r.status !== 0) throw new Error(`${name} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  for (const re of EXAMPLES[name] as RegExp[]) expect(r.stdout).toMatch(re);
});
