/**
 * A checked TOML pipeline → stages: each operator a command stage run by `/bin/sh -c` in its
 * code directory. Config values reach the command as environment variables, never spliced
 * into the shell string (SPEC H3).
 */
import { join } from 'node:path';
import type { StageSpec } from '../graph/pipeline.ts';
import { parseDuration } from './duration.ts';
import { environmentSpecOf } from './env-config.ts';
import { parseMemoryMb } from './quantity.ts';
import {
  defaultOperatorTimeoutSeconds,
  type NodeConfig,
  type OperatorConfig,
  type TomlPipelineConfig,
} from './toml-schema.ts';

/** Where an operator's code and scratch space are, for one pipeline on one machine. */
export interface OperatorPlaces {
  /** `<project_root>/operators`, or `--operators-dir`: each operator's code in `<dir>/<id>`. */
  codeRoot: string;
  /** The absolute work_dir. */
  workDir: string;
  /** Where environments are made: `<projectRoot>/envs/<env_name>`. */
  projectRoot: string;
}

/** One operator's code, as init checks it out. */
export interface OperatorCheckout {
  operatorId: string;
  gitRepo: string;
  gitTag: string;
  /** `<codeRoot>/<operator_id>`. */
  codeDir: string;
}

/** The stages of every operator some node runs, node by node; `nodeOf` from nodeOfOperators. */
export function tomlStages(
  config: TomlPipelineConfig,
  nodeOf: ReadonlyMap<string, string>,
  places: OperatorPlaces,
): StageSpec[] {
  const pipelineId = config.pipeline.pipeline_id;
  return [...nodeOf].map(([operatorId, nodeId]) =>
    operatorStage(
      operatorId,
      config.operators[operatorId]!,
      nodeId,
      config.nodes[nodeId]!,
      pipelineId,
      places,
    ),
  );
}

function operatorStage(
  operatorId: string,
  operator: OperatorConfig,
  nodeId: string,
  node: NodeConfig,
  pipelineId: string,
  places: OperatorPlaces,
): StageSpec {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(operator.extra_env_vars ?? {}))
    env[key] = String(value);
  // The standard variables win over extra_env_vars; the executor sets the others.
  env.NODE_ID = nodeId;
  const codeDir = join(places.codeRoot, operatorId);
  return {
    name: operatorId,
    dependsOn: operator.upstream_dependencies ?? [],
    ...nodeResources(node.resource),
    // The seed's runner_count: how many of the node's operators run at once.
    ...(node.runner_count !== undefined && {
      concurrency: { group: `node ${nodeId}`, limit: node.runner_count },
    }),
    timeoutMs: parseDuration(operator.timeout ?? defaultOperatorTimeoutSeconds)!,
    // The code is identified by its tag: a new tag is a new version, and misses the cache.
    version: operator.git_tag,
    task: {
      kind: 'command',
      argv: [operator.start_command],
      shell: true,
      cwd: codeDir,
      env,
      workspaceRoot: join(places.workDir, 'workspace', pipelineId, nodeId, operatorId),
      ...(operator.env_config && {
        // The seed's spec files are the operator's: relative to its code.
        environment: environmentSpecOf(operator.env_config, codeDir, places.projectRoot),
      }),
    },
  };
}

/**
 * A node's `resource` table as the stage requests of each of its operators: memory in GB as
 * the seed writes it. cpu_limit and gpu_limit bound nothing beyond their requests: CPU time is
 * not throttled, and an operator sees exactly the GPUs it leased.
 */
export function nodeResources(
  resource: NodeConfig['resource'],
): Pick<StageSpec, 'cpus' | 'memoryMb' | 'memoryLimitMb' | 'gpus'> {
  const requests: Pick<StageSpec, 'cpus' | 'memoryMb' | 'memoryLimitMb' | 'gpus'> = {
    cpus: resource?.cpu_request ?? 1,
  };
  if (resource?.memory_request !== undefined)
    requests.memoryMb = parseMemoryMb(resource.memory_request, 'GB')!;
  if (resource?.memory_limit !== undefined)
    requests.memoryLimitMb = parseMemoryMb(resource.memory_limit, 'GB')!;
  if (resource?.gpu_request !== undefined && resource.gpu_request > 0)
    requests.gpus = resource.gpu_request;
  return requests;
}

/** Every operator of the pipeline (run by a node or not), as init clones them. */
export function operatorCheckouts(
  config: TomlPipelineConfig,
  codeRoot: string,
): OperatorCheckout[] {
  return Object.entries(config.operators).map(([operatorId, operator]) => ({
    operatorId,
    gitRepo: operator.git_repo,
    gitTag: operator.git_tag,
    codeDir: join(codeRoot, operatorId),
  }));
}
