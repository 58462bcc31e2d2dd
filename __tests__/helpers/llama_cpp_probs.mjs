// Runs GGUF files through llama.cpp (node-llama-cpp, CPU) and prints, as JSON on stdout, for each
// job the next-token probabilities after every prefix of its token ids (temperature 1, no top-k /
// top-p / min-p filtering: the plain softmax of llama.cpp's logits) and llama.cpp's own
// tokenization of its texts.
// Usage: node llama_cpp_probs.mjs JOBS.json   (JOBS.json: [{ "file": "x.gguf", "ids": [..], "texts": [..] }])
// A separate process because node-llama-cpp is an ES module with a native addon (jest runs CommonJS).
import { readFileSync } from 'node:fs';
import { getLlama } from 'node-llama-cpp';

const jobs = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const results = [];
for (const { file, ids, texts = [] } of jobs) {
  const model = await llama.loadModel({ modelPath: file });
  // float32 KV cache and no flash attention: F32 files are compared without llama.cpp's default F16 cache rounding
  const context = await model.createContext({ contextSize: 64, batchSize: 64, threads: 1, flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' });
  const out = await context.getSequence().controlledEvaluate(
    ids.map((id) => [id, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]),
  );
  results.push({ probs: out.map((o) => [...o.next.probabilities.entries()]), tokenized: texts.map((t) => Array.from(model.tokenize(t, false))) });
  await context.dispose();
  await model.dispose();
}
await llama.dispose();
process.stdout.write(JSON.stringify(results));
