import { type ConfigIssue, ExitCode, formatIssue, PipelineError } from '../errors.ts';
import { isEnvironmentFailure } from './exit-code.ts';
import { plural } from './format-text.ts';
import { displayPath } from './progress-summary.ts';

/** What the CLI prints on stderr for an error, and the exit code it leaves. */
export interface ErrorReport {
  exitCode: number;
  lines: string[];
}

export interface DescribeOptions {
  /** The command's name, as it prefixes messages. */
  program: string;
  /** The command the arguments named, for the `--help` hint of a usage error. */
  command?: string;
  /** Issue paths under it are shown relative to it. */
  cwd: string;
  /** GP_DEBUG: add the stack trace. */
  debug: boolean;
}

/** The exit code of an unexpected error: a bug of ours (EX_SOFTWARE). */
export const internalErrorExitCode = 70;

/** The class names of errors.ts, which another copy of this package uses too. */
const pipelineErrorNames: ReadonlySet<string> = new Set([
  'PipelineError',
  'ConfigError',
  'InputError',
  'NonRetryableError',
  'StageTimeoutError',
  'StageError',
]);

/**
 * Maps any error to its report. Errors are told apart by their string `code` and class name,
 * not by `instanceof` alone, so that one thrown by another copy of this package (a user's
 * pipeline module importing its own) is still recognised. User errors print no stack trace.
 */
export function describeError(error: unknown, options: DescribeOptions): ErrorReport {
  const { program } = options;
  const code =
    typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';
  const message = error instanceof Error ? error.message : String(error);
  const stack = options.debug && error instanceof Error ? error.stack : undefined;
  const userError = (exitCode: number, lines: string[]): ErrorReport => ({
    exitCode,
    lines: stack === undefined ? lines : [...lines, stack],
  });

  if (code.startsWith('commander.')) {
    // Help and version are printed already; so is the help that a bare `gpipe` shows.
    if ((error as { exitCode?: number }).exitCode === 0)
      return { exitCode: ExitCode.ok, lines: [] };
    if (code === 'commander.help') return { exitCode: ExitCode.input, lines: [] };
    const usage = options.command === undefined ? program : `${program} ${options.command}`;
    return {
      exitCode: ExitCode.input,
      // One line: commander puts its suggestion on a line of its own.
      lines: [
        `${program}: ${message.replace(/^error: /, '').replace(/\n\(Did you mean (.*)\?\)$/, ', did you mean $1?')} (see '${usage} --help')`,
      ],
    };
  }
  if (code === 'CONFIG_INVALID' && Array.isArray((error as { issues?: unknown }).issues)) {
    const issues = (error as { issues: ConfigIssue[] }).issues;
    return userError(ExitCode.config, configLines(issues, options));
  }
  if (code === 'INPUT_INVALID') return userError(ExitCode.input, [`${program}: ${message}`]);
  // `ENV_…`, or the machine refusing: permissions, a full or read-only disk, no descriptors;
  // also where it refused the run store (STORE_FAILED with such a cause).
  if (isEnvironmentFailure(error))
    return userError(ExitCode.environment, [`${program}: ${message}`]);
  if (
    error instanceof PipelineError ||
    (error instanceof Error && pipelineErrorNames.has(error.name))
  ) {
    // One of ours with no exit code of its own, such as a stage declared wrongly in a module.
    return userError(ExitCode.config, [`${program}: ${message}`]);
  }
  return {
    exitCode: internalErrorExitCode,
    lines: [
      `${program}: internal error: ${message}`,
      stack ?? 'set GP_DEBUG=1 to see the stack trace',
    ],
  };
}

/** One line per issue, `file:line:col: module 'x': message (hint: …)`, then a count. */
function configLines(issues: readonly ConfigIssue[], options: DescribeOptions): string[] {
  const lines = issues.map((issue) =>
    formatIssue(
      issue.file === undefined ? issue : { ...issue, file: displayPath(issue.file, options.cwd) },
    ),
  );
  const files = [
    ...new Set(issues.map((issue) => issue.file).filter((file) => file !== undefined)),
  ];
  const where = files.length === 1 ? ` in ${displayPath(files[0]!, options.cwd)}` : '';
  lines.push(`${options.program}: ${plural(issues.length, 'problem')}${where}`);
  return lines;
}
