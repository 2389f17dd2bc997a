/**
 * The JSON Schemas of the pipeline file formats, for editor completion (SPEC A4), made from the
 * same zod schemas the loaders check with, so the two cannot drift apart.
 */
import * as z from 'zod';
import type { SchemaKind } from './schema-kinds.ts';
import { tomlFileSchemas } from './toml-schema.ts';
import { pipelineFileSchema } from './yaml-schema.ts';

const schemas: Readonly<Record<SchemaKind, z.core.$ZodType>> = {
  yaml: pipelineFileSchema,
  'toml-pipeline': tomlFileSchemas.pipeline,
  'toml-node': tomlFileSchemas.node,
  'toml-operator': tomlFileSchemas.operator,
};

/** A JSON Schema (draft 2020-12) of pipeline YAML files. */
export function pipelineJsonSchema(): Record<string, unknown> {
  return jsonSchemaOf('yaml');
}

/** A JSON Schema (draft 2020-12) of one kind of pipeline file. */
export function jsonSchemaOf(kind: SchemaKind): Record<string, unknown> {
  // `input`: the schema describes what a file may hold, before parsing fills in defaults.
  return z.toJSONSchema(schemas[kind], { io: 'input', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
}
