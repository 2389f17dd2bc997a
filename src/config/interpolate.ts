/**
 * `${VAR}` and `${VAR:-default}` in config strings (SPEC A5). `$${` writes a literal `${`;
 * `$VAR` without braces is left as written. The default applies when the variable is unset or
 * empty, as in the shell.
 */

export interface Interpolated {
  text: string;
  /** The variables whose values went into the text. */
  used: string[];
}

/** A problem in one string: a variable that is not set, or a `${` that is not well formed. */
export class InterpolationError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'InterpolationError';
    this.hint = hint;
  }
}

const reference = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

export function interpolate(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): Interpolated {
  if (!text.includes('${')) return { text, used: [] };
  let out = '';
  const used: string[] = [];
  let at = 0;
  while (at < text.length) {
    const start = text.indexOf('${', at);
    if (start === -1) break;
    if (start > 0 && text[start - 1] === '$') {
      // `$${`: the first `$` escapes; write `${` and go on after it.
      out += `${text.slice(at, start - 1)}\${`;
      at = start + 2;
      continue;
    }
    const end = text.indexOf('}', start + 2);
    if (end === -1)
      throw new InterpolationError(
        "unclosed '${'",
        "close it with '}', or write '$${' for a literal '${'",
      );
    const inner = text.slice(start + 2, end);
    const match = reference.exec(inner);
    if (!match)
      throw new InterpolationError(
        `'\${${inner}}' is not a variable reference`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the hint shows the syntax
        "write ${NAME} or ${NAME:-default}, or '$${' for a literal '${'",
      );
    const name = match[1]!;
    const value = env[name];
    let replacement: string;
    if (value !== undefined && (value !== '' || match[2] === undefined)) {
      replacement = value;
      used.push(name);
    } else if (match[2] !== undefined) {
      replacement = match[2];
    } else {
      throw new InterpolationError(
        `environment variable '${name}' is not set`,
        `set it, or give a default: \${${name}:-value}`,
      );
    }
    out += text.slice(at, start) + replacement;
    at = end + 1;
  }
  return { text: out + text.slice(at), used };
}
