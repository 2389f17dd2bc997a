import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { ExitCode } from '../errors.ts';
import { packageFile } from '../package-files.ts';
import { Redactor } from '../secrets/redactor.ts';
import { type CliIo, flush, handleWriteErrors, processIo } from './cli-io.ts';
import { describeError } from './describe-error.ts';
import { seedArgv } from './pipeline-file-options.ts';
import { createProgram } from './program.ts';
import { redactedIo } from './redacted-io.ts';

/**
 * Runs the command line `argv` (as in process.argv: node, script, arguments…) and returns its
 * exit code. Never throws: every error becomes a message on stderr and an exit code.
 */
export async function main(
  argv: readonly string[],
  processStreams: CliIo = processIo(),
): Promise<number> {
  // Everything below writes through the mask, error messages included.
  const io = redactedIo(processStreams);
  const name = basename(argv[1] ?? '') === 'pipeline-cli' ? 'pipeline-cli' : 'gpipe';
  let exitCode = 0;
  const program = createProgram({
    name,
    version: packageVersion(),
    io,
    setExitCode: (code) => {
      exitCode = code;
    },
  });
  try {
    await program.parseAsync(helpAsked(seedArgv(argv)));
  } catch (error) {
    const command = commandNamed(program, argv.slice(2));
    const misplaced = misplacedOption(program, argv.slice(2), error);
    if (misplaced !== undefined) {
      io.stderr.write(`${name}: ${misplaced}\n`);
      return ExitCode.input;
    }
    const report = describeError(error, {
      program: name,
      ...(command !== undefined && { command }),
      cwd: io.cwd,
      debug: isDebug(io),
    });
    if (report.lines.length > 0) io.stderr.write(`${report.lines.join('\n')}\n`);
    exitCode = report.exitCode;
  }
  return exitCode;
}

/** `gpipe help run` as `gpipe run --help`, the way git and npm take it. */
function helpAsked(argv: string[]): string[] {
  return argv[2] === 'help' ? [...argv.slice(0, 2), ...argv.slice(3), '--help'] : argv;
}

/**
 * The command the arguments named, with its subcommand (`cache gc`), so that a usage error
 * points at the help that explains it.
 */
function commandNamed(program: Command, args: readonly string[]): string | undefined {
  const path: string[] = [];
  let commands = program.commands;
  for (const arg of args) {
    const found = commands.find((command) => command.name() === arg);
    if (!found) continue;
    path.push(arg);
    commands = found.commands;
    if (commands.length === 0) break;
  }
  return path.length === 0 ? undefined : path.join(' ');
}

/**
 * `gpipe --json runs`: an option of the command, given before it, where only the program's own
 * options go. Says where it belongs rather than that it is unknown.
 */
function misplacedOption(
  program: Command,
  args: readonly string[],
  error: unknown,
): string | undefined {
  if ((error as { code?: unknown })?.code !== 'commander.unknownOption') return undefined;
  const flag = /'([^']+)'/.exec((error as Error).message)?.[1];
  if (flag === undefined) return undefined;
  const flagAt = args.indexOf(flag);
  const commandAt = args.findIndex(
    (arg, i) => i > flagAt && program.commands.some((c) => c.name() === arg),
  );
  if (flagAt < 0 || commandAt < 0) return undefined;
  const command = program.commands.find((c) => c.name() === args[commandAt])!;
  const name = flag.split('=')[0];
  const option = command.options.find((o) => o.long === name || o.short === name);
  if (!option) return undefined;
  // Its value goes with it: `-w DIR`.
  const taken = option.required && !flag.includes('=') ? 2 : 1;
  const moved = args.slice(flagAt, flagAt + taken);
  const rest = [...args.slice(0, flagAt), ...args.slice(flagAt + taken)];
  const at = rest.indexOf(command.name()) + 1;
  const fixed = [...rest.slice(0, at), ...moved, ...rest.slice(at)];
  return `${flag} is an option of '${command.name()}': put it after the command (${program.name()} ${fixed.join(' ')})`;
}

/**
 * The process around `main`: sets the exit code and lets the event loop end once stdout and
 * stderr are flushed (a pipe is written asynchronously; process.exit() would drop the rest).
 */
export async function runCli(): Promise<void> {
  // One mask for all output, shared with the crash handler below.
  const redactor = new Redactor();
  const io: CliIo = { ...processIo(), redactor };
  handleWriteErrors(io.stdout, io.stderr);
  handleWriteErrors(io.stderr, io.stderr);
  // An error no one caught, thrown from a callback: still one message and an exit code.
  const crash = (error: unknown) => {
    const report = describeError(error, { program: 'gpipe', cwd: io.cwd, debug: isDebug(io) });
    io.stderr.write(`${redactor.redact(report.lines.join('\n'))}\n`);
    process.exit(report.exitCode);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  const code = await main(process.argv, io);
  process.exitCode ??= code; // unless a write error has set it already
  await Promise.all([flush(io.stdout), flush(io.stderr)]);
  // Everything is written. A stage's function that ignored cancellation may still hold the
  // loop open: it gets a moment, then the process ends anyway.
  setTimeout(() => process.exit(), 1000).unref();
}

function packageVersion(): string {
  const text = readFileSync(packageFile('package.json'), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

function isDebug(io: CliIo): boolean {
  const value = io.env.GP_DEBUG;
  return value !== undefined && value !== '' && value !== '0';
}
