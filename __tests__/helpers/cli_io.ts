/** Buffered {@link CliIO} for CLI tests. */
import type { CliCommand, CliIO } from '../../src/cli/command';
import { COMMANDS } from '../../src/cli/commands';

export function bufferIO(): { out: string[]; err: string[]; io: CliIO; stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s) }, stdout: () => out.join(''), stderr: () => err.join('') };
}

/**
 * Checks that `runCli` knows `cmd` (it is listed in src/cli/commands.ts). The production list is
 * never mutated: a test that needs another command passes `runCli(argv, io, {commands})`.
 * @throws Error when it is not listed
 */
export function ensureRegistered(cmd: CliCommand): void {
  if (!COMMANDS.includes(cmd)) throw new Error(`command '${cmd.name}' is not listed in src/cli/commands.ts`);
}
