/**
 * The same model in every weight format: loads a checkpoint as fp32, bf16, q8 and q4 on the wasm
 * kernels (threads as the machine offers), prints the bytes each keeps and a greedy continuation.
 *
 * Run: npm run build && node dist/examples/quantized_generation.js [MODEL_DIR_OR_HUB_ID] [PROMPT]
 * MODEL_DIR defaults to the built-in model; a Hub id (e.g. HuggingFaceTB/SmolLM2-135M-Instruct) is
 * fetched into the Hugging Face cache first.
 */
import { backendInfo, builtinModelPath, generate, loadCausalLM, loadTokenizer, useBackend } from '../src/index';
import { runMain } from './example_util';

runMain(async () => {
  await useBackend('wasm');
  const info = backendInfo();
  console.log(`${info.backend}, ${info.threads} thread(s), SIMD ${info.simd ? 'on' : 'off'}`);
  const source = process.argv[2] ?? builtinModelPath();
  const prompt = process.argv[3] ?? 'Ma';
  const tokenizer = await loadTokenizer(source);
  for (const dtype of ['fp32', 'bf16', 'q8', 'q4'] as const) {
    const model = await loadCausalLM(source, { dtype });
    try {
      const out = await generate(model, tokenizer, prompt, { maxNewTokens: 12, doSample: false });
      const { kernelBytes } = model.memory();
      console.log(`${model.info.dtype}: ${(kernelBytes / 1024).toFixed(0)} KiB in the kernels -> ${JSON.stringify(prompt + out.text)}`);
    } finally {
      model.dispose();
    }
  }
});
