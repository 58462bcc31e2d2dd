import * as fs from 'fs';
import * as path from 'path';
import { COMMANDS } from './commands';
import { UsageError, type CliCommand, type CliIO } from './command';
import { errorMessage } from '../core/errors';
import { useBackend } from '../backends';
import { joinNegativeValues, printable } from './flags';

/**
 * Every command runs on an initialized backend: wasm by default (the fastest in Node), cpu if wasm
 * cannot start; `--backend` flags switch afterwards.
 */
async function ensureBackend(): Promise<void> {
  try {
    await useBackend('wasm');
  } catch {
    await useBackend('cpu');
  }
}

/** The `version` of the package.json above this file (src/cli or dist/src/cli). */
export function packageVersion(): string {
  for (let dir = __dirname, i = 0; i < 5; i++, dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'loom-tfjs' && typeof pkg.version === 'string') return pkg.version;
    }
  }
  return 'unknown';
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** The commands it knows (default {@link COMMANDS}); bin/loom.js adds `bench`, tests add their own. */
  readonly commands?: readonly CliCommand[];
}

/** Top-level help text listing every command of `commands`. */
export function helpText(commands: readonly CliCommand[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'loom: LOOM networks and Hugging Face transformers on TensorFlow.js',
    '',
    'usage: loom <command> [options]     (loom <command> --help for details; loom --version)',
    '',
    'commands:',
    ...lines,
    '',
    'exit codes: 0 ok, 1 failure, 2 usage error',
  ].join('\n');
}

/**
 * Runs the CLI with `argv` (without `node` and the script path).
 * @returns the process exit code: 0 ok, 1 failure, 2 usage error.
 */
export async function runCli(argv: string[], io: CliIO, options: RunCliOptions = {}): Promise<number> {
  const commands = options.commands ?? COMMANDS;
  const [name, ...rest] = argv;
  if (name === undefined) {
    // a bare `loom` is a usage error: help on stderr, exit 2
    io.stderr(helpText(commands) + '\n');
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(helpText(commands) + '\n');
    return 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout(`loom-tfjs ${packageVersion()}\n`);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    io.stderr(`loom: unknown command '${name}'\n\n${helpText(commands)}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(cmd.usage + '\n');
    return 0;
  }
  try {
    await ensureBackend();
    return await cmd.run(joinNegativeValues(rest), io);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`loom ${name}: ${printable(errorMessage(e))}\n\n${cmd.usage}\n`);
      return 2;
    }
    io.stderr(`loom ${name}: ${printable(errorMessage(e))}\n`);
    return 1;
  }
}
