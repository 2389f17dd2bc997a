/**
 * `--set a.b.c=value`: one value on the command line, as a one-key override layer. The value is
 * JSON when it parses as JSON (`5`, `true`, `["a"]`, `"5"`), else the text as written (`5m`).
 */
import { InputError } from '../errors.ts';
import type { ConfigDocument } from './config-document.ts';

export function setArgumentLayer(argument: string): ConfigDocument {
  const equals = argument.indexOf('=');
  if (equals <= 0)
    throw new InputError(
      `--set ${argument}: expected KEY.PATH=VALUE, such as pipeline.work_dir=/data`,
    );
  const pathText = argument.slice(0, equals).trim();
  const segments = pathText.split('.');
  if (segments.some((segment) => segment.trim() === ''))
    throw new InputError(`--set ${argument}: the key path '${pathText}' has an empty part`);
  const value = parseSetValue(argument.slice(equals + 1));
  let nested: unknown = value;
  for (const segment of [...segments].reverse()) nested = { [segment.trim()]: nested };
  return { file: `--set ${pathText}`, value: nested, at: () => undefined, keyAt: () => undefined };
}

function parseSetValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
