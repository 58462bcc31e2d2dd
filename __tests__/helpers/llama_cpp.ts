/**
 * llama.cpp (node-llama-cpp) as a reference for tests: whether it is installed, one child process
 * running helpers/llama_cpp_probs.mjs over a list of GGUF files, and our own next-token
 * distributions to compare with.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { loadCausalLM } from '../../loaders/pretrained';

/** node-llama-cpp's folder in a node_modules above this file (it is an ES module: no require.resolve). */
export function llamaCppInstalled(): boolean {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'node_modules', 'node-llama-cpp', 'package.json'))) return true;
    if (path.dirname(dir) === dir) return false;
  }
}

/** What llama.cpp gave for one file: (token, probability) pairs after every prefix, and tokenizations. */
export interface LlamaCppOut {
  probs: [number, number][][];
  tokenized: number[][];
}

/** One llama.cpp run per file; all files go through one child process (llama.cpp starts once). */
export interface Job {
  file: string;
  ids: number[];
  texts?: string[];
}

export function runLlamaCpp(jobs: Job[], dir: string): LlamaCppOut[] {
  const list = path.join(dir, 'jobs.json');
  fs.writeFileSync(list, JSON.stringify(jobs));
  const script = path.join(__dirname, 'llama_cpp_probs.mjs');
  const r = spawnSync(process.execPath, [script, list], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`llama.cpp run failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as LlamaCppOut[];
}

/** Our next-token distributions (softmax of the logits, float64) after every prefix. */
export async function ourProbs(source: string | Uint8Array, ids: number[]): Promise<Float64Array[]> {
  const model = await loadCausalLM(source);
  try {
    const out = model.forward([ids], { allPositions: true }); // (1, S, V)
    const data = out.dataSync() as Float32Array;
    out.dispose();
    const v = model.config.vocabSize;
    return ids.map((_, t) => {
      const row = Float64Array.from(data.subarray(t * v, (t + 1) * v));
      const m = Math.max(...row);
      let z = 0;
      for (let i = 0; i < v; i++) z += (row[i] = Math.exp(row[i]! - m));
      return row.map((x) => x / z);
    });
  } finally {
    model.dispose();
  }
}

export function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
  return best;
}

