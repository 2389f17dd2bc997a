/**
 * A checked TOML pipeline → stages: each operator a command stage run by `/bin/sh -c` in its
 * code directory. Config values reach the command as environment variables, never spliced
 * into the shell string (SPEC H3).
 */
import { join } from 'node:path';
import type { StageSpec } from '../graph/pipeline.ts';
import { parseDuration } from './duration.ts';
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
  return {
    name: operatorId,
    dependsOn: operator.upstream_dependencies ?? [],
    cpus: node.resource?.cpu_request ?? 1,
    timeoutMs: parseDuration(operator.timeout ?? defaultOperatorTimeoutSeconds)!,
    // The code is identified by its tag: a new tag is a new version, and misses the cache.
    version: operator.git_tag,
    task: {
      kind: 'command',
      argv: [operator.start_command],
      shell: true,
      cwd: join(places.codeRoot, operatorId),
      env,
      workspaceRoot: join(places.workDir, 'workspace', pipelineId, nodeId, operatorId),
    },
  };
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
