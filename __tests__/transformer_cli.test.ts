import { logitsCommand, modelInfo } from '../src/cli/cmd_logits';
import { UsageError } from '../src/cli/command';
import { loadCausalLM } from '../loaders/pretrained';
import { useBackend } from '../src/backends';
import { TINY_GPT2 } from './helpers/fixtures';

const DIR = TINY_GPT2;

function io(): { out: string[]; err: string[]; io: { stdout: (s: string) => void; stderr: (s: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (s) => out.push(s), stderr: (s) => err.push(s) } };
}

describe('loom logits / info --model', () => {
  test('prints one row of logits per position, equal to forward()', async () => {
    const c = io();
    const code = await logitsCommand.run(['--model', DIR, '--ids', '0,0,0,52', '--backend', 'cpu'], c.io);
    expect(code).toBe(0);
    const parsed = JSON.parse(c.out.join('')) as { logits: number[][] };
    expect(parsed.logits.length).toBe(4);
    expect(parsed.logits[0]!.length).toBe(1000);
    await useBackend('cpu');
    const model = await loadCausalLM(DIR);
    const ref = model.forward([[0, 0, 0, 52]], { allPositions: true }).arraySync() as number[][][];
    model.dispose();
    expect(parsed.logits).toEqual(ref[0]);
    // Greedy next token from the last row is the first generated token of expected-greedy.json.
    const last = parsed.logits[3]!;
    expect(last.indexOf(Math.max(...last))).toBe(204);
  });

  test('bad flags are usage errors', async () => {
    await expect(logitsCommand.run(['--model', DIR, '--ids', '1,x'], io().io)).rejects.toBeInstanceOf(UsageError);
    await expect(logitsCommand.run(['--ids', '1'], io().io)).rejects.toBeInstanceOf(UsageError);
    await expect(logitsCommand.run(['--model', DIR, '--ids', '1', '--bogus'], io().io)).rejects.toMatchObject({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
  });

  test('modelInfo: architecture, parameter count, memory estimate', async () => {
    const info = await modelInfo(DIR);
    // wte 1000x32 + wpe 512x32 + 5 blocks x (ln 4x32 + c_attn 32x96+96 + c_proj 32x32+32 + c_fc 32x128+128 + proj 128x32+32) + ln_f 2x32
    const perBlock = 4 * 32 + 32 * 96 + 96 + 32 * 32 + 32 + 32 * 128 + 128 + 128 * 32 + 32;
    expect(info).toMatchObject({ modelType: 'gpt2', architectures: ['GPT2LMHeadModel'], numLayers: 5, hiddenSize: 32, parameterCount: 1000 * 32 + 512 * 32 + 5 * perBlock + 64 });
    expect(info.kvCacheBytesPerToken).toBe(2 * 5 * 32 * 4);
    expect(info.memoryEstimateBytes).toBe(info.weightBytes + 512 * info.kvCacheBytesPerToken);
  });
});
