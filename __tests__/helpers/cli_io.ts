/** Buffered {@link CliIO} for CLI tests. */
import type { CliCommand, CliIO } from '../../src/cli/command';
import { COMMANDS } from '../../src/cli/commands';

export function bufferIO(): { out: string[]; err: string[]; io: CliIO; stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s) }, stdout: () => out.join(''), stderr: () => err.join('') };
}

/** Makes `runCli` know `cmd` even before it is listed in src/cli/commands.ts (tests only). */
export function ensureRegistered(cmd: CliCommand): void {
  if (!COMMANDS.some((c) => c.name === cmd.name)) (COMMANDS as CliCommand[]).push(cmd);
}
