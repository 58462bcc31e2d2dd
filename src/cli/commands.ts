import type { CliCommand } from './command';
import { infoCommand } from './cmd_info';
import { logitsCommand } from './cmd_logits';
import { generateCommand } from './cmd_generate';
import { tokenizeCommand } from './cmd_tokenize';
import { chatCommand } from './cmd_chat';
import { convertCommand } from './cmd_convert';
import { trainCommand } from './cmd_train';
import { quantizeCommand } from './cmd_quantize';

/**
 * Every CLI command, in the order `loom --help` lists them. Adding a command = one file + one line.
 * `loom bench` lives in bench/cli_bench.ts and is added by bin/loom.js (`runCli`'s `commands`).
 */
export const COMMANDS: readonly CliCommand[] = [
  generateCommand,
  chatCommand,
  tokenizeCommand,
  logitsCommand,
  infoCommand,
  trainCommand,
  convertCommand,
  quantizeCommand,
];
