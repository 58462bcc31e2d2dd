/**
 * Tokenization with a Hugging Face tokenizer folder: text to ids and back, the tokens themselves,
 * special tokens, and a chat rendered with a chat template.
 *
 * Run: npm run build && node dist/examples/tokenization.js [TOKENIZER_DIR] [TEXT]
 * TOKENIZER_DIR defaults to ../shared/fixtures/tiny-random-gpt2.
 */
import * as path from 'path';
import { loadTokenizer } from '../src/index';
import { runMain } from './example_util';

const DEFAULT_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'tiny-random-gpt2');
// ChatML, the template of SmolLM2 and Qwen2 (used when the tokenizer has none).
const CHATML =
  "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

runMain(async () => {
  const dir = process.argv[2] ?? DEFAULT_DIR;
  const text = process.argv[3] ?? 'Hello world, tokenizers!';
  const tok = await loadTokenizer(dir);
  const ids = tok.encode(text);
  console.log(`vocabulary: ${tok.vocabSize} tokens`);
  console.log(`text:   ${JSON.stringify(text)}`);
  console.log(`ids:    [${ids.join(', ')}]`);
  console.log(`tokens: ${ids.map((id) => JSON.stringify(tok.idToToken(id))).join(' ')}`);
  console.log(`decode: ${JSON.stringify(tok.decode(ids))}`);
  const chat = [
    { role: 'system', content: 'You are brief.' },
    { role: 'user', content: 'Hi!' },
  ];
  const rendered = tok.applyChatTemplate(chat, { tokenize: false, addGenerationPrompt: true, ...(tok.chatTemplate ? {} : { chatTemplate: CHATML }) });
  console.log(`chat (${tok.chatTemplate ? "the tokenizer's template" : 'ChatML'}):\n${rendered as string}`);
  if (tok.decode(ids) !== text) throw new Error('decode(encode(text)) differs from text');
});
