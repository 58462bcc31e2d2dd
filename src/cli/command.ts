/**
 * The CLI's command model: each command is one file exporting a {@link CliCommand},
 * registered once in `commands.ts`.
 */
import { LoomError } from '../core/errors';

/** Where a command writes; tests pass buffers, the binary passes the process streams. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Thrown for bad flags or arguments; the CLI exits with code 2. */
export class UsageError extends LoomError {
  override readonly name = 'UsageError';
}

/** One `loom <name>` command. */
export interface CliCommand {
  readonly name: string;
  /** One line for `loom --help`. */
  readonly summary: string;
  /** Full usage text for `loom <name> --help`. */
  readonly usage: string;
  /** Runs the command; returns the exit code (0 ok, 1 failure). Throw UsageError for bad flags. */
  run(argv: string[], io: CliIO): Promise<number>;
}
