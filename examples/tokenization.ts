/**
 * Tokenization with a Hugging Face tokenizer folder: text to ids and back, the tokens themselves,
 * special tokens, and a chat rendered with a chat template.
 *
 * Run: npm run build && node dist/examples/tokenization.js [TOKENIZER_DIR] [TEXT]
 * TOKENIZER_DIR defaults to the built-in model's tokenizer (`builtinModelPath()`: characters of
 * names, with `<s>` added in front).
 */
import { builtinModelPath, loadTokenizer } from '../src/index';
import { runMain } from './example_util';
// ChatML, the template of SmolLM2 and Qwen2 (used when the tokenizer has none).
const CHATML =
  "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

runMain(async () => {
  const dir = process.argv[2] ?? builtinModelPath();
  const text = process.argv[3] ?? "Mary-Jo O'Neil";
  const tok = await loadTokenizer(dir);
  const ids = tok.encode(text);
  console.log(`vocabulary: ${tok.vocabSize} tokens`);
  console.log(`text:   ${JSON.stringify(text)}`);
  console.log(`ids:    [${ids.join(', ')}]`);
  console.log(`tokens: ${ids.map((id) => JSON.stringify(tok.idToToken(id))).join(' ')}`);
  // special tokens the tokenizer added (such as <s>) are dropped on the way back
  const decoded = tok.decode(ids, { skipSpecialTokens: true });
  console.log(`decode: ${JSON.stringify(decoded)}`);
  const chat = [
    { role: 'system', content: 'You are brief.' },
    { role: 'user', content: 'Hi!' },
  ];
  const rendered = tok.applyChatTemplate(chat, { tokenize: false, addGenerationPrompt: true, ...(tok.chatTemplate ? {} : { chatTemplate: CHATML }) });
  console.log(`chat (${tok.chatTemplate ? "the tokenizer's template" : 'ChatML'}):\n${rendered as string}`);
  if (decoded !== text) throw new Error('decode(encode(text)) differs from text');
});
