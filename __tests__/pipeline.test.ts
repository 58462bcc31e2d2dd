/**
 * transformers.js conventions: `pipeline('text-generation', dir, { dtype, device })` returning
 * `[{ generated_text }]` (a message list for chat input), the tokenizer's batch calls
 * (`encodeBatch` = transformers.js's `tokenizer(texts, { padding, truncation, max_length })`,
 * `batch_decode`) and `apply_chat_template` with `tools` and `return_dict`. Reference: the same
 * model driven through `generate` directly, and transformers' padding rules (right padding with
 * the pad id, mask 0 on padding), on the built-in names model.
 */
import * as tf from '@tensorflow/tfjs';
import { builtinModelPath, loadBuiltinModel } from '../src/builtin_model';
import { generate } from '../src/generation/generate';
import { pipeline, type TextGenerationPipeline } from '../src/pipeline';
import { Tokenizer } from '../loaders/tokenizer';

let gen: TextGenerationPipeline;
let tok: Tokenizer;

beforeAll(async () => {
  await tf.setBackend('cpu');
  gen = await pipeline('text-generation', builtinModelPath(), { dtype: 'fp32', device: 'cpu' });
  tok = gen.tokenizer;
});
afterAll(async () => {
  await gen?.dispose();
});

describe("pipeline('text-generation')", () => {
  test('text in: [{ generated_text: prompt + continuation }], as generate gives it; return_full_text: false drops the prompt', async () => {
    const { model, tokenizer } = await loadBuiltinModel();
    const want = await generate(model, tokenizer, 'Ma', { maxNewTokens: 6, greedy: true });
    model.dispose();
    expect(await gen('Ma', { max_new_tokens: 6, do_sample: false })).toEqual([{ generated_text: 'Ma' + want.text }]);
    expect(await gen('Ma', { max_new_tokens: 6, do_sample: false, return_full_text: false })).toEqual([{ generated_text: want.text }]);
  });

  test('messages in: the message list plus the assistant reply out', async () => {
    const messages = [{ role: 'user', content: 'Jo' }];
    const out = await gen(messages, { max_new_tokens: 4, do_sample: false });
    const reply = (await generate(gen.model, tok, messages, { maxNewTokens: 4, greedy: true })).text;
    expect(out).toEqual([{ generated_text: [{ role: 'user', content: 'Jo' }, { role: 'assistant', content: reply }] }]);
  });

  test('unknown option keys, dtypes and devices are ConfigErrors naming what is valid', async () => {
    await expect(pipeline('text-generation', builtinModelPath(), { dtyp: 'fp32' } as never)).rejects.toThrow(/pipeline: unknown option 'dtyp'; did you mean 'dtype'\?/);
    await expect(pipeline('text-generation', builtinModelPath(), { dtype: 'fp16' } as never)).rejects.toThrow(/dtype 'fp16' is not supported, expected one of auto, fp32, bf16, q8, q4/);
    await expect(pipeline('text-generation', builtinModelPath(), { device: 'webgl' } as never)).rejects.toThrow(/device 'webgl' is not supported/);
    await expect(pipeline('summarization' as never, builtinModelPath())).rejects.toThrow(/task 'summarization' is not supported/);
    await expect(gen('Ma', { max_new_token: 3 } as never)).rejects.toThrow(/did you mean 'max_new_tokens'/);
  });
});

describe('tokenizer batch calls', () => {
  test('padding: true pads right to the longest row with the pad id; mask 0 on padding', () => {
    const a = tok.encode('Ma');
    const b = tok.encode('Anna');
    expect(b.length).toBeGreaterThan(a.length);
    const pad = tok.padTokenId as number;
    const out = tok.encodeBatch(['Ma', 'Anna'], { padding: true });
    const fill = b.length - a.length;
    expect(out.input_ids).toEqual([[...a, ...new Array(fill).fill(pad)], b]);
    expect(out.attention_mask).toEqual([[...a.map(() => 1), ...new Array(fill).fill(0)], b.map(() => 1)]);
  });

  test("truncation + max_length cuts rows; padding: 'max_length' pads every row; unknown keys refused", () => {
    const b = tok.encode('Anna');
    expect(tok.encodeBatch(['Anna'], { truncation: true, max_length: 2 } as never).input_ids).toEqual([b.slice(0, 2)]);
    const padded = tok.encodeBatch('Ma', { padding: 'max_length', maxLength: 8 });
    expect(padded.input_ids[0]).toHaveLength(8);
    expect(padded.attention_mask[0]?.reduce((s, v) => s + v, 0)).toBe(tok.encode('Ma').length);
    expect(() => tok.encodeBatch(['a'], { truncation: true })).toThrow(/truncation needs max_length/);
    expect(() => tok.encodeBatch(['a'], { max_lenght: 3 } as never)).toThrow(/unknown option 'max_lenght'; did you mean 'max_length'\?/);
    expect(tok.encodeBatch(['Ma'], { return_tensor: false }).input_ids).toEqual([tok.encode('Ma')]);
    expect(() => tok.encodeBatch(['Ma'], { return_tensor: true } as never)).toThrow(/return_tensor: true is not supported/);
  });

  test('batch_decode decodes each row; skip_special_tokens drops <s> and padding', () => {
    const { input_ids } = tok.encodeBatch(['Ma', 'Anna'], { padding: true });
    expect(tok.batch_decode(input_ids, { skip_special_tokens: true } as never)).toEqual([tok.decode(tok.encode('Ma'), { skipSpecialTokens: true }), tok.decode(tok.encode('Anna'), { skipSpecialTokens: true })]);
    expect(tok.batch_decode(input_ids, { skip_special_tokens: true } as never)[0]).not.toContain('<');
  });

  test('apply_chat_template: snake_case options, tools and documents reach the template, return_dict gives ids and mask', () => {
    const template = '{% for t in tools %}[{{ t.name }}]{% endfor %}{% for d in documents %}({{ d }}){% endfor %}{{ messages[0].content }}{% if add_generation_prompt %}!{% endif %}';
    const text = tok.apply_chat_template([{ role: 'user', content: 'Ma' }], { chat_template: template, tools: [{ name: 'x' }], documents: ['d1'], add_generation_prompt: true, tokenize: false } as never);
    expect(text).toBe('[x](d1)Ma!');
    const dict = tok.apply_chat_template([{ role: 'user', content: 'Ma' }], { chatTemplate: '{{ messages[0].content }}', return_dict: true } as never) as { input_ids: number[]; attention_mask: number[] };
    expect(dict.input_ids).toEqual(tok.encode('Ma', { addSpecialTokens: false }));
    expect(dict.attention_mask).toEqual(dict.input_ids.map(() => 1));
    expect(() => tok.applyChatTemplate([{ role: 'user', content: 'a' }], { add_generation_promt: true } as never)).toThrow(/unknown option 'add_generation_promt'; did you mean 'add_generation_prompt'\?/);
  });
});
