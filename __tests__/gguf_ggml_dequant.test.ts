/**
 * Our GGUF block decoders against ggml's own dequantize_row_* (Q4_0, Q8_0, Q4_K, Q5_K, Q6_K),
 * bit for bit, on random blocks (random float16 scales included). ggml's source is the llama.cpp
 * bundled with node-llama-cpp (llama/gitRelease.bundle), compiled here with gcc; so this needs
 * `LOOM_GGML_DEQUANT_CHECK=1`, gcc, git and node-llama-cpp (it clones a 35 MB bundle: seconds).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { dequantize } from '../loaders/gguf_quant';
import { GGML_TYPES } from '../loaders/gguf_format';
import { llamaCppInstalled } from './helpers/llama_cpp';

function bundlePath(): string | undefined {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const p = path.join(dir, 'node_modules', 'node-llama-cpp', 'llama', 'gitRelease.bundle');
    if (fs.existsSync(p)) return p;
    if (path.dirname(dir) === dir) return undefined;
  }
}

const reason = process.env.LOOM_GGML_DEQUANT_CHECK !== '1' ? 'set LOOM_GGML_DEQUANT_CHECK=1' : !llamaCppInstalled() || !bundlePath() ? 'node-llama-cpp (with llama/gitRelease.bundle) is not installed' : spawnSync('gcc', ['--version']).status !== 0 ? 'gcc is missing' : '';
if (reason) console.log(`gguf_ggml_dequant.test.ts skipped: ${reason}`);

(reason ? describe.skip : describe)("GGUF block decoding equals ggml's dequantize_row_*", () => {
  let tmp: string;
  let bin: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-ggml-'));
    const src = path.join(tmp, 'llama.cpp');
    execFileSync('git', ['clone', '-q', bundlePath()!, src], { stdio: 'ignore' });
    const ggml = path.join(src, 'ggml');
    bin = path.join(tmp, 'ggml_dequant');
    execFileSync('gcc', ['-O1', '-o', bin, path.join(__dirname, 'helpers', 'ggml_dequant.c'), path.join(ggml, 'src', 'ggml-quants.c'), `-I${path.join(ggml, 'include')}`, `-I${path.join(ggml, 'src')}`, '-lm'], { stdio: 'pipe' });
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test.each([
    ['Q4_0', 'q4_0', 2],
    ['Q8_0', 'q8_0', 8],
    ['Q4_K', 'q4_K', 12],
    ['Q5_K', 'q5_K', 13],
    ['Q6_K', 'q6_K', 14],
  ] as const)('%s on random blocks: bit-exact', (_name, ggmlName, id) => {
    const type = GGML_TYPES[id]!;
    const n = 4 * 256;
    const bytes = new Uint8Array((n / type.blockSize) * type.typeSize);
    let s = 12345 + id;
    for (let i = 0; i < bytes.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      bytes[i] = s >>> 24;
    }
    const out = execFileSync(bin, [ggmlName, String(n)], { input: bytes, maxBuffer: 16 << 20 }).toString('utf8');
    const ref = Float32Array.from(out.trim().split('\n').map(Number));
    const ours = dequantize(type, bytes, 0, bytes.byteLength, n, 'random');
    let mismatches = 0;
    for (let i = 0; i < n; i++) if (!Object.is(ours[i], ref[i]) && !(Number.isNaN(ours[i]) && Number.isNaN(ref[i]))) mismatches++;
    expect(mismatches).toBe(0);
    expect(ref.some((v) => v !== 0)).toBe(true);
  });
});
