import { ExitCode, InputError } from '../../errors.ts';
import { decodeBase64Value, encodeBase64Value } from '../../secrets/base64-value.ts';
import type { CliIo } from '../cli-io.ts';

/** `gpipe encode TEXT`: prints `base64://…`. */
export function encodeCommand(text: string, io: CliIo): number {
  io.stdout.write(`${encodeBase64Value(text)}\n`);
  return ExitCode.ok;
}

/** `gpipe decode base64://…`: prints the text; a value that is not one is bad input (exit 2). */
export function decodeCommand(value: string, io: CliIo): number {
  let text: string;
  try {
    text = decodeBase64Value(value);
  } catch (error) {
    throw new InputError(`cannot decode '${value}': ${(error as Error).message}`);
  }
  io.stdout.write(`${text}\n`);
  return ExitCode.ok;
}
