/**
 * The JSON Schema of the YAML pipeline format, for editor completion (SPEC A4), made from the
 * same zod schema the loader checks with, so the two cannot drift apart.
 */
import * as z from 'zod';
import { pipelineFileSchema } from './yaml-schema.ts';

/** A JSON Schema (draft 2020-12) of pipeline YAML files. */
export function pipelineJsonSchema(): Record<string, unknown> {
  // `input`: the schema describes what a file may hold, before parsing fills in defaults.
  return z.toJSONSchema(pipelineFileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
}
