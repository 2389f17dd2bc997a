/**
 * The YAML pipeline format (SPEC A2) as zod schemas: the shape of each key and the messages
 * for what is wrong with it. Rules that span keys (exactly one of path, script or command) and
 * rules that need the file system live in yaml-pipeline.ts; graph rules in src/graph.
 */
import * as z from 'zod';
import { findNonJson, jsonDataText } from '../graph/json-value.ts';
import { backoffKinds, executionModes, failurePolicies, workerTypes } from '../graph/pipeline.ts';
import { parseDuration } from './duration.ts';
import { envConfigSchema } from './env-config.ts';
import { monitorIntervalSchema } from './monitor-interval.ts';
import { memoryQuantityText, parseMemoryMb } from './quantity.ts';
import { schemaKeysAt } from './schema-keys.ts';

const durationText = 'seconds or a duration like "90s", "5m" or "1h30m"';

/** A number or a string that `parse` turns into a number (≥ 0, or > 0 when `positive`). */
function measure(
  parse: (value: number | string) => number | undefined,
  text: string,
  options: { positive: boolean },
) {
  const expected = options.positive
    ? `must be a positive number of ${text}`
    : `must be a number of ${text}`;
  return z.union([z.number(), z.string()], { error: expected }).refine(
    (value) => {
      const parsed = parse(value);
      return parsed !== undefined && (!options.positive || parsed > 0);
    },
    { error: expected },
  );
}

export function duration(options: { positive: boolean }) {
  return measure(parseDuration, durationText, options).describe(
    `Seconds, or a duration: ${durationText}.`,
  );
}

function memory(options: { positive: boolean }) {
  return measure(parseMemoryMb, memoryQuantityText, options).describe(
    `Megabytes, or a size: ${memoryQuantityText} (units of 1024).`,
  );
}

/** A value YAML may write unquoted where a string is meant: `PORT: 8080`, `[sleep, 1]`. */
const scalar = z.union([z.string(), z.number(), z.boolean()], {
  error: 'must be a string, a number or true/false',
});

const name = z.string().min(1, 'must not be empty');

/** A mapping of JSON values; the one place that is not (`.inf`, `.nan`) is reported there. */
function paramsSchema() {
  return z.record(z.string(), z.unknown()).check((context) => {
    const problem = findNonJson(context.value);
    if (problem) {
      context.issues.push({
        code: 'custom',
        path: [...problem.path],
        message: `must be ${jsonDataText}`,
        input: context.value,
      });
    }
  });
}

export const retrySchema = z
  .strictObject({
    max_attempts: z
      .int('must be an integer ≥ 1')
      .min(1, 'must be an integer ≥ 1')
      .describe('Attempts in all, the first included.'),
    backoff: z.enum(backoffKinds).optional().describe('Default: exponential.'),
    delay: duration({ positive: false })
      .optional()
      .describe('Before the second attempt. Default: 1s.'),
    max_delay: duration({ positive: false })
      .optional()
      .describe('Ceiling of an exponential delay. Default: 5m.'),
    jitter: z
      .number()
      .min(0, 'must be between 0 and 1')
      .max(1, 'must be between 0 and 1')
      .optional()
      .describe('Fraction of the delay drawn at random either side of it. Default: 0.1.'),
    retry_on: z
      .array(
        z.union([z.string().min(1, 'must not be empty'), z.int()], {
          error: 'must be an error code or name, or an integer exit code',
        }),
      )
      .optional()
      .describe('Retry only errors with these codes or names, or commands with these exit codes.'),
  })
  .describe('Retries of a failed module.');

export const moduleSchema = z
  .strictObject({
    name: name.describe('Unique within the pipeline.'),
    path: z
      .string()
      .min(1, 'must not be empty')
      .optional()
      .describe(
        'A class with run(context): "./file.ts:ClassName" or "pkg.module:ClassName" (Python), relative to this file.',
      ),
    script: z
      .string()
      .min(1, 'must not be empty')
      .optional()
      .describe(
        'A function: "./file.ts:functionName" or "path/file.py:function_name", relative to this file.',
      ),
    command: z
      .union([z.array(scalar), z.string()], {
        error: 'must be a list of arguments, or one string with shell: true',
      })
      .optional()
      .describe('A command: an argv list, or one string run by /bin/sh when shell is true.'),
    python: z
      .string()
      .min(1, 'must not be empty')
      .optional()
      .describe(
        'The interpreter of a Python module: a path relative to this file (a venv, or its bin/python) or a name on PATH. Default: $GP_PYTHON, else python3.',
      ),
    environment: envConfigSchema
      .optional()
      .describe(
        'The environment a Python or command module runs in, as a TOML env_config: { env_name, requirements_path | pyproject_path | pixi_toml_path | s3_compress_path | package_json_path }, paths relative to this file; made by init in <project_root>/envs/<env_name>.',
      ),
    shell: z.boolean().optional().describe('Run a command string through /bin/sh. Default: false.'),
    cwd: z.string().min(1, 'must not be empty').optional().describe('Relative to this file.'),
    env: z.record(z.string(), scalar).optional().describe('Added to the environment of a command.'),
    depends_on: z.array(name).optional().describe('Modules that must finish first.'),
    for_each: name
      .optional()
      .describe(
        'Dynamic fan-out: run this module once per item of that module’s output list (an instance per item, x[0], x[1], …; over a mapped module, x[i] as soon as its item i succeeded). The item is context.item, or $GP_ITEM (JSON) for a command; the module’s output is its items’ outputs in order.',
      ),
    nested: z
      .boolean()
      .optional()
      .describe(
        'With for_each over a mapped module whose items return lists: one instance per element of each, x[i][j]. Default: false.',
      ),
    worker: z
      .enum(workerTypes)
      .optional()
      .describe(
        'Where a path or script module runs: inline (the orchestrator’s event loop), thread (a pooled worker thread) or process (a pooled child process). Default: execution.worker_type.',
      ),
    heap_limit_mb: z
      .int('must be an integer number of MB ≥ 16')
      .min(16, 'must be an integer number of MB ≥ 16')
      .optional()
      .describe('V8 heap limit of a thread or process worker, in MB.'),
    resources: z
      .strictObject({
        cpus: z.number().min(0, 'must be a number ≥ 0').optional().describe('Default: 1.'),
        memory: memory({ positive: false })
          .optional()
          .describe(
            'Memory reserved while it runs: it starts only when it fits. Default: memory_limit, else 0.',
          ),
        gpus: z
          .int('must be an integer ≥ 0')
          .min(0, 'must be an integer ≥ 0')
          .optional()
          .describe('GPUs leased while it runs, exported as CUDA_VISIBLE_DEVICES. Default: 0.'),
        memory_limit: memory({ positive: true })
          .optional()
          .describe('A command whose process tree goes past this RSS is killed (exit code 4).'),
      })
      .optional(),
    concurrency: z
      .strictObject({
        group: z.string().min(1, 'must not be empty'),
        limit: z.int('must be an integer ≥ 1').min(1, 'must be an integer ≥ 1'),
      })
      .optional()
      .describe(
        'At most limit modules of group run at the same time; the others wait without holding up the rest. Every module of a group gives the same limit.',
      ),
    timeout: duration({ positive: true }).optional(),
    retry: retrySchema.optional(),
    fallback: name
      .optional()
      .describe('A module run in this one’s place when all its attempts fail.'),
    version: z
      .union([z.string(), z.number()], { error: 'must be a string or a number' })
      .optional()
      .describe('Part of the module’s identity: bump it when its meaning changes.'),
    params: paramsSchema()
      .optional()
      .describe(
        'JSON values the module runs with, part of its identity: context.params, or $GP_PARAMS (JSON) for a command.',
      ),
    cache: z
      .boolean()
      .optional()
      .describe(
        'false: never reuse or store this module’s output through the cache. Default: true.',
      ),
  })
  .describe('A module: exactly one of path, script or command.');

export const executionSchema = z.strictObject({
  mode: z.enum(executionModes).optional().describe('Default: parallel.'),
  worker_type: z
    .enum(workerTypes)
    .optional()
    .describe(
      'Where path and script modules run unless they say: inline, thread or process. Default: inline.',
    ),
  failure_policy: z.enum(failurePolicies).optional().describe('Default: fail_fast.'),
  max_nested_depth: z
    .int('must be an integer ≥ 0')
    .min(0, 'must be an integer ≥ 0')
    .optional()
    .describe('How deep context.executeTasks / context.map may nest. Default: 3.'),
  monitor_interval: monitorIntervalSchema('module'),
});

export const pipelineResourcesSchema = z.strictObject({
  max_cpus: z
    .number()
    .gt(0, 'must be a number above 0')
    .optional()
    .describe('Default: the host’s cores.'),
  max_memory: memory({ positive: true })
    .optional()
    .describe('Memory shared by running modules. Default: the host’s RAM.'),
  max_gpus: z
    .int('must be an integer ≥ 0')
    .min(0, 'must be an integer ≥ 0')
    .optional()
    .describe('GPUs to lease (lowest ids first); 0 turns GPU leasing off. Default: all detected.'),
});

export const checkpointSchema = z.strictObject({
  enabled: z.boolean().optional().describe('Default: true when the checkpoint block is present.'),
  directory: z.string().min(1, 'must not be empty').optional().describe('Relative to this file.'),
});

const pipelineShape = {
  name: name.describe('The pipeline’s name.'),
  execution: executionSchema.optional(),
  resources: pipelineResourcesSchema.optional(),
  checkpoint: checkpointSchema.optional(),
  modules: z.array(moduleSchema).min(1, 'must list at least one module'),
};

export const pipelineSchema = z.strictObject(pipelineShape);

/** The whole file: everything sits under one `pipeline:` key. */
export const pipelineFileSchema = z
  .strictObject({ pipeline: pipelineSchema })
  .describe('A General Pipeline YAML pipeline.');

/** The pipeline without its modules, which are checked one by one. */
export const pipelineHeaderSchema = z.strictObject({ ...pipelineShape, modules: z.unknown() });

export type ModuleConfig = z.infer<typeof moduleSchema>;
export type RetryConfig = z.infer<typeof retrySchema>;
export type PipelineHeaderConfig = z.infer<typeof pipelineHeaderSchema>;

/**
 * The keys an object at `path` accepts, for "did you mean" hints on unknown keys; undefined
 * where the path leads to no object schema.
 */
export function keysAt(path: readonly PropertyKey[]): readonly string[] | undefined {
  return schemaKeysAt(pipelineFileSchema, path);
}
