/**
 * Errors. One base with a stable string `code`; errors that cross a thread, process or queue
 * boundary are serialised with `serializeError` and revived by `code`, never by `instanceof`.
 */

/** Exit codes of the CLI (the seed's protocol). */
export const ExitCode = {
  ok: 0,
  config: 1,
  input: 2,
  stageFailed: 3,
  resource: 4,
  environment: 5,
  interrupted: 130,
} as const;

export class PipelineError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem in a configuration: where it is, what is wrong, how to fix it. */
export interface ConfigIssue {
  message: string;
  /** The stage or module the issue is about, when there is one. */
  stage?: string;
  file?: string;
  line?: number;
  column?: number;
  hint?: string;
}

/** All the problems found in a configuration, reported at once. */
export class ConfigError extends PipelineError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super('CONFIG_INVALID', issues.map(formatIssue).join('\n'));
    this.issues = issues;
  }
}

/** A ConfigIssue in `file` from a problem found without a file (the graph check). */
export function issueInFile(
  issue: { message: string; stage?: string | undefined; hint?: string | undefined },
  file: string | undefined,
): ConfigIssue {
  const located: ConfigIssue = { message: issue.message };
  if (issue.stage !== undefined) located.stage = issue.stage;
  if (issue.hint !== undefined) located.hint = issue.hint;
  if (file !== undefined) located.file = file;
  return located;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.file
    ? `${issue.file}${issue.line ? `:${issue.line}${issue.column ? `:${issue.column}` : ''}` : ''}: `
    : '';
  const stage = issue.stage ? `module '${issue.stage}': ` : '';
  const hint = issue.hint ? ` (hint: ${issue.hint})` : '';
  return `${where}${stage}${issue.message}${hint}`;
}

/** Bad CLI arguments or a missing input file: exit code 2. */
export class InputError extends PipelineError {
  constructor(message: string) {
    super('INPUT_INVALID', message);
  }
}

/** A stage gives up: no retry, whatever its retry policy says. */
export class NonRetryableError extends PipelineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NON_RETRYABLE', message, options);
  }
}

/** A stage ran past its timeout. */
export class StageTimeoutError extends PipelineError {
  constructor(stage: string, timeoutMs: number) {
    super('TIMEOUT', `stage '${stage}' timed out after ${formatMs(timeoutMs)}`);
  }
}

/** A failure of a user's stage, carrying the stage name, so it never looks like our bug. */
export class StageError extends PipelineError {
  readonly stage: string;
  readonly exitCode: number | undefined;
  constructor(stage: string, error: SerializedError, exitCode?: number) {
    super(error.code, error.message);
    this.stage = stage;
    this.exitCode = exitCode;
    if (error.stack) this.stack = error.stack;
  }
}

/** Error codes that mean a resource ran out (exit code 4 rather than 3). */
export const resourceErrorCodes: ReadonlySet<string> = new Set(['TIMEOUT', 'MEMORY_LIMIT']);

/** The plain-data form of an error, for results, events and boundaries. */
export interface SerializedError {
  code: string;
  name: string;
  message: string;
  stack?: string;
  /** False when retrying cannot help (NonRetryableError or a cancelled stage). */
  retryable: boolean;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const serialized: SerializedError = {
      code: typeof code === 'string' ? code : typeof code === 'number' ? String(code) : 'ERROR',
      name: error.name,
      message: error.message,
      retryable: code !== 'NON_RETRYABLE' && code !== 'CANCELLED',
    };
    if (error.stack) serialized.stack = error.stack;
    return serialized;
  }
  return { code: 'ERROR', name: 'Error', message: String(error), retryable: true };
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${+(ms / 1000).toFixed(3)} s`;
}
