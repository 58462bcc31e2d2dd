/**
 * Text generation with streaming: a Hugging Face checkpoint folder (config.json, model.safetensors,
 * tokenizer files), tokens printed as they come, then the speed.
 *
 * Run: npm run build && node dist/examples/text_generation.js [MODEL_DIR] [PROMPT]
 * MODEL_DIR defaults to the built-in model (`builtinModelPath()`: a tiny LLaMA-architecture model
 * that makes up names, so the default prompt is the start of a name); point it at e.g. a
 * SmolLM2-135M-Instruct download and give a prompt such as "Once upon a time".
 */
import { builtinModelPath, generateStream, loadCausalLM, loadTokenizer, useBackend } from '../src/index';
import { runMain } from './example_util';

runMain(async () => {
  await useBackend('cpu');
  const dir = process.argv[2] ?? builtinModelPath();
  const prompt = process.argv[3] ?? 'Ma';
  const tokenizer = await loadTokenizer(dir);
  const model = await loadCausalLM(dir);
  try {
    process.stdout.write(prompt);
    const stream = generateStream(model, tokenizer, prompt, { maxNewTokens: 24, temperature: 0.7, topK: 40, seed: 1 });
    for (;;) {
      const r = await stream.next();
      if (r.done) {
        const s = r.value.stats;
        process.stdout.write('\n');
        console.log(`[${r.value.finishReason}] ${s.generatedTokens} tokens, ${s.decodeTokensPerSecond.toFixed(1)} tokens/s`);
        break;
      }
      process.stdout.write(r.value); // each piece of text as soon as it is decoded
    }
  } finally {
    model.dispose();
  }
});
