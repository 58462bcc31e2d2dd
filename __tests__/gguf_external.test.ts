/**
 * GGUF files written by another tool, checked when `LOOM_GGUF_CHECK_DIR` names a folder holding
 * `f32.gguf`, `q8_0.gguf`, `q4_0.gguf` and `hf/` (config.json + model.safetensors of the same
 * weights), e.g. written by the shared reference folder's peer-bench/gguf_checkpoint.js (heavy: off by default):
 *   node gguf_checkpoint.js DIR/q8_0.gguf --type q8_0 --layers 1 --vocab 512   (and f32, q4_0)
 *   node hf_checkpoint.js DIR/hf --layers 1 --vocab 512
 * F32: our logits from the GGUF equal those of the safetensors copy (1e-5 relative). Q8_0/Q4_0:
 * every tensor's blocks are byte-identical to saveGGUF's of the safetensors copy (both claim
 * ggml's reference quantizers), so they load as our q8/q4 of the same blocks. With node-llama-cpp
 * installed, llama.cpp's next-token choices on each file agree with ours.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadCausalLM, resolvePretrained } from '../loaders/pretrained';
import { GgufFile } from '../loaders/gguf';
import { ggufBytes, type GgufWriteType } from '../loaders/gguf_writer';
import { argmax, llamaCppInstalled, ourProbs, runLlamaCpp } from './helpers/llama_cpp';

const DIR = process.env.LOOM_GGUF_CHECK_DIR;
if (!DIR) console.log('gguf_external.test.ts skipped: set LOOM_GGUF_CHECK_DIR to a folder with f32.gguf, q8_0.gguf, q4_0.gguf and hf/ (see the file header)');
const maybe = DIR ? describe : describe.skip;

async function logits(src: string, ids: number[]): Promise<Float32Array> {
  const m = await loadCausalLM(src);
  try {
    const out = m.forward([ids], { allPositions: true }); // (1, S, V)
    const d = out.dataSync() as Float32Array;
    out.dispose();
    return d;
  } finally {
    m.dispose();
  }
}

maybe('GGUF files written by another tool', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  const dir = DIR ?? '';
  const ids = [1, 17, 300, 5, 42, 2];

  test('F32: same logits as the safetensors copy (1e-5 relative)', async () => {
    const [a, b] = [await logits(path.join(dir, 'f32.gguf'), ids), await logits(path.join(dir, 'hf'), ids)];
    let num = 0;
    let den = 0;
    for (let i = 0; i < b.length; i++) {
      num = Math.max(num, Math.abs(a[i]! - b[i]!));
      den = Math.max(den, Math.abs(b[i]!));
    }
    expect(num / den).toBeLessThan(1e-5);
  });

  test.each(['Q8_0', 'Q4_0'] as GgufWriteType[])('%s: blocks byte-identical to saveGGUF of the safetensors copy', async (type) => {
    const theirs = new GgufFile(new Uint8Array(fs.readFileSync(path.join(dir, `${type.toLowerCase()}.gguf`))));
    const { config, weights } = await resolvePretrained(path.join(dir, 'hf'));
    const ours = new GgufFile(ggufBytes({ config, weights }, { type }));
    expect([...theirs.header.tensors.keys()].sort()).toEqual([...ours.header.tensors.keys()].sort());
    for (const [name, t] of theirs.header.tensors) {
      const o = ours.tensor(name)!;
      expect([name, o.type.name, o.ne]).toEqual([name, t.type.name, t.ne]);
      expect(Buffer.compare(Buffer.from(theirs.bytes.subarray(t.begin, t.end)), Buffer.from(ours.bytes.subarray(o.begin, o.end)))).toBe(0);
    }
  });

  (llamaCppInstalled() ? test : test.skip)('llama.cpp makes the same next-token choices as we do on each file', async () => {
    const names = ['f32', 'q8_0', 'q4_0'];
    const theirs = runLlamaCpp(names.map((n) => ({ file: path.join(dir, `${n}.gguf`), ids })), dir);
    for (const [i, n] of names.entries()) {
      const ours = await ourProbs(path.join(dir, `${n}.gguf`), ids);
      ids.forEach((_, t) => {
        const p = new Float64Array(ours[t]!.length);
        for (const [id, prob] of theirs[i]!.probs[t]!) p[id] = prob;
        expect([n, t, argmax(p)]).toEqual([n, t, argmax(ours[t]!)]);
      });
    }
  });
});
