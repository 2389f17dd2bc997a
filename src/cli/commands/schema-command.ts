import { jsonSchemaOf } from '../../config/json-schema.ts';
import type { SchemaKind } from '../../config/schema-kinds.ts';
import { ExitCode } from '../../errors.ts';
import type { CliIo } from '../cli-io.ts';

/** `gpipe schema [KIND]`: the JSON Schema of a kind of pipeline file, for editor completion. */
export function schemaCommand(kind: SchemaKind, io: CliIo): number {
  io.stdout.write(`${JSON.stringify(jsonSchemaOf(kind), null, 2)}\n`);
  return ExitCode.ok;
}
