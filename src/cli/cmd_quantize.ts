/**
 * `loom quantize --model DIR --out DIR --dtype q4 [--module lm_head=q8]...`: writes a quantized copy
 * of a Hugging Face checkpoint folder (packed blocks + quantization_config, see
 * loaders/quantized_checkpoint.ts) that `loadCausalLM` / `loom generate` load in those dtypes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'node:util';
import { UsageError, type CliCommand, type CliIO } from './command';
import { dtypeFlag } from './flags';
import { saveQuantizedCheckpoint } from '../../loaders/quantized_checkpoint';
import { WEIGHT_MODULES, type ModuleDtypes, type WeightModule } from '../kernels/dtype_plan';
import type { WeightDtype } from '../kernels/quantize';

const USAGE = `usage: loom quantize --model DIR --out DIR --dtype bf16|q8|q4 [--module NAME=DTYPE]...

Writes a copy of the checkpoint in DIR (config.json + model.safetensors) with its weight matrices
packed: bf16 as BF16 tensors, q8 / q4 as blocks of 32 codes + one float32 scale (GGUF Q8_0 / Q4_0
semantics), and a quantization_config in config.json. Other files (tokenizer, generation config) are
copied. Loading the copy uses those dtypes without further options.

  --module NAME=DTYPE   per-module dtype, NAME one of ${WEIGHT_MODULES.join(', ')} (repeatable),
                        e.g. --module lm_head=q8 --module embed=q8`;

async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { model: { type: 'string' }, out: { type: 'string' }, dtype: { type: 'string' }, module: { type: 'string', multiple: true } },
    allowPositionals: false,
    strict: true,
  });
  if (values.model === undefined || values.out === undefined) throw new UsageError('--model DIR and --out DIR are required');
  const dtype = dtypeFlag(values.dtype);
  if (dtype === undefined) throw new UsageError('--dtype is required (bf16, q8 or q4)');
  const moduleDtypes: Partial<Record<WeightModule, WeightDtype>> = {};
  for (const spec of values.module ?? []) {
    const [name, value] = spec.split('=');
    if (!name || !(WEIGHT_MODULES as readonly string[]).includes(name)) throw new UsageError(`--module: '${spec}' names no module, expected NAME=DTYPE with NAME one of ${WEIGHT_MODULES.join(', ')}`);
    moduleDtypes[name as WeightModule] = dtypeFlag(value ?? '') as WeightDtype;
  }
  const overrides: ModuleDtypes = moduleDtypes;
  const config = saveQuantizedCheckpoint(values.model, values.out, Object.keys(overrides).length ? { dtype, moduleDtypes: overrides } : { dtype });
  const before = fs.statSync(path.join(values.model, 'model.safetensors')).size;
  const after = fs.statSync(path.join(values.out, 'model.safetensors')).size;
  io.stdout(`${values.out}: ${config.dtype}${config.module_dtypes ? ` ${JSON.stringify(config.module_dtypes)}` : ''}, model.safetensors ${before} -> ${after} bytes\n`);
  return 0;
}

/** `loom quantize`. */
export const quantizeCommand: CliCommand = { name: 'quantize', summary: 'write a bf16 / q8 / q4 copy of a checkpoint folder', usage: USAGE, run };
