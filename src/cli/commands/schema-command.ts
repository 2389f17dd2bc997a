import { pipelineJsonSchema } from '../../config/json-schema.ts';
import { ExitCode, InputError } from '../../errors.ts';
import type { CliIo } from '../cli-io.ts';

/** The JSON Schema of each pipeline format this build reads. */
const schemas: Readonly<Record<string, () => Record<string, unknown>>> = {
  yaml: pipelineJsonSchema,
};

/** `gpipe schema [--format yaml|toml]`: prints the JSON Schema of that format's files. */
export function schemaCommand(format: string, io: CliIo): number {
  const schema = schemas[format];
  if (!schema) throw new InputError(`no JSON Schema for the ${format} format in this build`);
  io.stdout.write(`${JSON.stringify(schema(), null, 2)}\n`);
  return ExitCode.ok;
}
