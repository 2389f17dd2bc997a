/**
 * The credentials file (the seed's `s3_aksk.env`): `KEY=VALUE` lines in the project root,
 * loaded when present. Every value in it is a secret: it reaches command stages as an
 * environment variable (the process's own environment wins) and is masked everywhere else.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type ConfigIssue, InputError } from '../errors.ts';

/** The file's name, as the seed has it. */
export const credentialsFileName = 's3_aksk.env';

export interface Credentials {
  file: string;
  values: Record<string, string>;
}

/** The credentials file of `projectRoot`, or undefined when there is none. */
export function readCredentialsFile(projectRoot: string): Credentials | undefined {
  const file = join(projectRoot, credentialsFileName);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new InputError(`cannot read ${file}: ${code ?? (error as Error).message}`);
  }
  return { file, values: parseCredentials(text, file) };
}

/**
 * `KEY=VALUE` per line; blank lines and `#` comments skipped; an optional `export ` before the
 * key; a value in single or double quotes loses them (no escapes: values are taken as written).
 */
export function parseCredentials(text: string, file: string): Record<string, string> {
  const values: Record<string, string> = {};
  const issues: ConfigIssue[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      issues.push({
        message: 'expected KEY=VALUE',
        file,
        line: index + 1,
        column: raw.length - raw.trimStart().length + 1,
        hint: 'one variable per line; # starts a comment',
      });
      continue;
    }
    values[match[1]!] = unquote(match[2]!);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return values;
}

function unquote(value: string): string {
  const quoted = /^(["'])(.*)\1$/.exec(value);
  if (quoted) return quoted[2]!;
  // An unquoted value ends at a comment.
  return value.replace(/\s+#.*$/, '');
}
