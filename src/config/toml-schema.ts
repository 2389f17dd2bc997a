/**
 * The TOML pipeline format (SPEC A3) as zod schemas: `pipeline.toml` with refs to node and
 * operator files, as general-pipeline-readme.md shows them. Rules that span files (a node's
 * operators exist, dependencies run) live in toml-pipeline.ts; graph rules in src/graph.
 */
import * as z from 'zod';
import {
  logLevels,
  parseRetention,
  parseRotation,
  retentionText,
  rotationText,
} from '../logs/log-config.ts';
import { envConfigSchema } from './env-config.ts';
import { monitorIntervalSchema } from './monitor-interval.ts';
import { safeIdSchema } from './safe-id.ts';
import { schemaKeysAt } from './schema-keys.ts';
import { duration } from './yaml-schema.ts';

/** Where a pipeline works when `work_dir` is not set, relative to the project root. */
export const defaultWorkDir = './pipeline_workspace';
/** The version of a ref written without one (`"node_1"` is `"node_1:v1.0"`). */
export const defaultRefVersion = 'v1.0';
/** Seconds an operator may run when its `timeout` is not set. */
export const defaultOperatorTimeoutSeconds = 3600;

/** An id that names a file, a directory and a stage: one safe path segment (SPEC H1). */
const id = safeIdSchema('id');

/** A value git receives as an argument: never one it could take for an option. */
const gitArgument = z
  .string()
  .min(1, 'must not be empty')
  .refine((value) => !value.startsWith('-'), { error: "must not start with '-'" });

/** `"id"` or `"id:version"`: no spaces, no slashes, one colon at most. */
export const refPattern = /^[^:\s/\\]+(:[^:\s/\\]+)?$/;

const ref = z
  .string()
  .regex(refPattern, {
    error: 'must be a ref "id:version" (or "id" for version v1.0), without spaces or slashes',
  })
  .refine((value) => !value.split(':').some((part) => part === '.' || part === '..'), {
    error: "must not be '.' or '..'",
  });

function refsSchema(kind: 'nodes' | 'operators') {
  const idKey = kind === 'nodes' ? 'node_id' : 'operator_id';
  const entry = z.union([ref, z.strictObject({ [idKey]: id, version: id.optional() })], {
    error: `must be a ref "id:version", or a table { ${idKey} = "id", version = "v1.0" }`,
  });
  const refList = z.array(entry);
  return z
    .union([refList, z.strictObject({ refs: refList })], {
      error: `must be a list of "id:version" refs, or a table with refs = [...]`,
    })
    .describe(
      `The ${kind} files: "id:version" → ${kind}/<id>_<version>.toml, else ${kind}/<id>.toml.`,
    );
}

const number = (text: string) => z.number(text).min(0, text);

export const logConfigSchema = z.strictObject({
  level: z.enum(logLevels).optional().describe('Default: INFO.'),
  log_path: z
    .string()
    .min(1, 'must not be empty')
    .optional()
    .describe('The directory of the pipeline log, relative to work_dir. Default: logs.'),
  rotation: z
    .union([z.string(), z.int()], { error: `must be ${rotationText}` })
    .refine((value) => parseRotation(value) !== undefined, `must be ${rotationText}`)
    .optional()
    .describe('A new file once the log passes this size (or age).'),
  retention: z
    .union([z.int(), z.string()], { error: `must be ${retentionText}` })
    .refine((value) => parseRetention(value) !== undefined, `must be ${retentionText}`)
    .optional()
    .describe('Older pipeline logs are deleted: days, or a count of files.'),
});

export const s3ConfigSchema = z
  .strictObject({
    endpoint: z.string(),
    access_key: z.string(),
    secret_key: z.string(),
    region: z.string().optional(),
  })
  .describe('Accepted; object storage arrives with the storage issue.');

const pipelineShape = {
  pipeline_id: id.describe('Unique id: PIPELINE_ID, and the name its runs are kept under.'),
  name: z.string().min(1, 'must not be empty'),
  description: z.string().optional(),
  work_dir: z
    .string()
    .min(1, 'must not be empty')
    .optional()
    .describe(
      `Where runs and operator workspaces go, relative to the project root. Default: ${defaultWorkDir}.`,
    ),
  log_config: logConfigSchema.optional(),
  monitor_interval: monitorIntervalSchema('operator'),
  s3_config: s3ConfigSchema.optional(),
  nodes: refsSchema('nodes'),
  operators: refsSchema('operators'),
};

export const pipelineHeaderSchema = z.strictObject(pipelineShape);

export const nodeResourceSchema = z.strictObject({
  cpu_request: number('must be a number of CPUs ≥ 0').describe(
    'CPU slots each of its operators holds.',
  ),
  cpu_limit: number('must be a number of CPUs ≥ 0').optional(),
  memory_request: number('must be a number of GB ≥ 0').optional(),
  memory_limit: number('must be a number of GB ≥ 0').optional(),
  gpu_request: z.int('must be an integer ≥ 0').min(0, 'must be an integer ≥ 0').optional(),
  gpu_limit: z.int('must be an integer ≥ 0').min(0, 'must be an integer ≥ 0').optional(),
});

export const nodeSchema = z.strictObject({
  node_id: id.optional().describe("Default: the ref's id; when given, it must be that id."),
  operator_ids: z.array(id).describe('The operators this node runs.'),
  runner_count: z
    .int('must be an integer ≥ 1')
    .min(1, 'must be an integer ≥ 1')
    .optional()
    .describe(
      'How many of its operators run at the same time, at most. Default: as many as the CPU slots allow.',
    ),
  resource: nodeResourceSchema.optional(),
});

export const operatorSchema = z.strictObject({
  operator_id: id.optional().describe("Default: the ref's id; when given, it must be that id."),
  git_repo: gitArgument.describe('Cloned by init into <project_root>/operators/<operator_id>.'),
  git_tag: gitArgument.describe('A tag or commit.'),
  upstream_dependencies: z.array(id).optional().describe('Operators that must succeed first.'),
  start_command: z
    .string()
    .min(1, 'must not be empty')
    .describe('Run by /bin/sh -c in the operator’s code directory.'),
  timeout: duration({ positive: true })
    .optional()
    .describe(`Default: ${defaultOperatorTimeoutSeconds} seconds.`),
  extra_env_vars: z
    .record(
      z.string(),
      z.union([z.string(), z.number(), z.boolean()], { error: 'must be a string' }),
    )
    .optional(),
  env_config: envConfigSchema.optional(),
  resource_request: z.record(z.string(), z.number()).optional().describe('Accepted; not used.'),
});

/**
 * Everything a TOML pipeline is made of, merged: pipeline.toml under `pipeline`, then every
 * node and operator file by its ref's id.
 */
export const tomlPipelineSchema = z.strictObject({
  pipeline: pipelineHeaderSchema,
  nodes: z.record(z.string(), nodeSchema),
  operators: z.record(z.string(), operatorSchema),
});

export type TomlPipelineConfig = z.infer<typeof tomlPipelineSchema>;
export type NodeConfig = z.infer<typeof nodeSchema>;
export type OperatorConfig = z.infer<typeof operatorSchema>;

/** The keys accepted at a path of the merged pipeline, for "did you mean" hints. */
export function tomlKeysAt(path: readonly PropertyKey[]): readonly string[] | undefined {
  return schemaKeysAt(tomlPipelineSchema, path);
}

/** The file schemas, for editor completion: a node or operator file may wrap itself in [id]. */
export const tomlFileSchemas = {
  pipeline: z
    .union([z.strictObject({ pipeline: pipelineHeaderSchema }), pipelineHeaderSchema])
    .describe('A General Pipeline pipeline.toml.'),
  node: z
    .union([nodeSchema, z.record(z.string(), nodeSchema)])
    .describe('A node file: nodes/<id>_<version>.toml.'),
  operator: z
    .union([operatorSchema, z.record(z.string(), operatorSchema)])
    .describe('An operator file: operators/<id>_<version>.toml.'),
} as const;
