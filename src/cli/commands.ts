import type { CliCommand } from './command';
import { infoCommand } from './cmd_info';

/** Every CLI command, in the order `loom --help` lists them. Adding a command = one file + one line. */
export const COMMANDS: readonly CliCommand[] = [infoCommand];
