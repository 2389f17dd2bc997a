/**
 * `init` for environments (SPEC D2): every environment the chosen stages run in, made once in
 * `<project_root>/envs/<env_name>` however many stages share it. The same name for two
 * different specs is an error, not a race; `run --skip-init` only checks that each is made.
 */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { isUri } from '../../config/env-config.ts';
import type { EnvironmentSpec, StageSpec } from '../../graph/pipeline.ts';
import {
  type EnvironmentAction,
  EnvironmentError,
  ensureEnvironment,
  readMarker,
} from './build-environment.ts';
import { environmentHash, type FileDigest } from './environment-hash.ts';

/** What a stage is called in messages: an operator (TOML) or a module (YAML). */
export type StageNoun = 'operator' | 'module';

/** One environment and the stages that run in it. */
export interface PlannedEnvironment {
  spec: EnvironmentSpec;
  hash: string;
  /** The digests of its files, for the marker. */
  files: FileDigest[];
  stages: string[];
}

export interface EnvironmentOutcome extends PlannedEnvironment {
  action: EnvironmentAction;
}

/** The environment of a stage, if it runs in one. */
export function environmentOf(stage: StageSpec): EnvironmentSpec | undefined {
  const task = stage.task;
  return task.kind === 'command' || task.kind === 'python' ? task.environment : undefined;
}

/**
 * The environments of `stages` by name, each hashed: a missing spec file, an object-store URI
 * or one name with two specs is an EnvironmentError (exit 5) before anything is made.
 */
export async function planEnvironments(
  stages: readonly StageSpec[],
  noun: StageNoun,
  projectRoot: string,
): Promise<PlannedEnvironment[]> {
  const byName = new Map<string, PlannedEnvironment>();
  const shown = (path: string) => relative(projectRoot, path) || '.';
  for (const stage of stages) {
    const spec = environmentOf(stage);
    if (!spec) continue;
    const who = `${noun} '${stage.name}'`;
    if (isUri(spec.source)) {
      throw new EnvironmentError(
        'ENV_OBJECT_STORE',
        `${who}: environment '${spec.name}' comes from ${spec.source}, but object storage is not supported yet: give a local path to the archive`,
      );
    }
    if (!existsSync(spec.source)) {
      throw new EnvironmentError(
        'ENV_SPEC_MISSING',
        `${who}: environment '${spec.name}' is made from ${shown(spec.source)}, which does not exist`,
      );
    }
    const { hash, files } = await environmentHash(spec, readMarker(spec.dir)?.files);
    const planned = byName.get(spec.name);
    if (!planned) {
      byName.set(spec.name, { spec, hash, files, stages: [stage.name] });
    } else if (planned.hash === hash) {
      planned.stages.push(stage.name);
    } else {
      const first = planned.spec;
      throw new EnvironmentError(
        'ENV_NAME_CONFLICT',
        `environment '${spec.name}' has two different specs: ${noun} '${planned.stages[0]}' makes it from ${shown(first.source)} (${first.kind}), ${who} from ${shown(spec.source)} (${spec.kind}); give one of them another env_name`,
      );
    }
  }
  return [...byName.values()];
}

/** Makes (or finds made) every environment of `stages`, one line reported for each. */
export async function initEnvironments(
  stages: readonly StageSpec[],
  noun: StageNoun,
  projectRoot: string,
  report: (line: string) => void,
): Promise<EnvironmentOutcome[]> {
  const outcomes: EnvironmentOutcome[] = [];
  for (const planned of await planEnvironments(stages, noun, projectRoot)) {
    const { spec } = planned;
    const where = relative(projectRoot, spec.dir);
    if (readMarker(spec.dir)?.hash !== planned.hash)
      report(`environment '${spec.name}': making it (${spec.kind}) in ${where}…`);
    const action = await ensureEnvironment(spec, planned, (pid) =>
      report(`environment '${spec.name}': waiting for another init (pid ${pid}) making ${where}…`),
    );
    outcomes.push({ ...planned, action });
    const users = `${noun}${planned.stages.length === 1 ? '' : 's'} ${planned.stages.join(', ')}`;
    report(
      action === 'up-to-date'
        ? `environment '${spec.name}': ${where} is made already (for ${users})`
        : `environment '${spec.name}': ${action} ${where} (${spec.kind}, for ${users})`,
    );
  }
  return outcomes;
}

/**
 * For a run that skips init: every environment of `stages` is made, from the spec it has now;
 * else an EnvironmentError naming `initCommand`.
 */
export async function checkEnvironments(
  stages: readonly StageSpec[],
  noun: StageNoun,
  projectRoot: string,
  initCommand: string,
): Promise<void> {
  for (const planned of await planEnvironments(stages, noun, projectRoot)) {
    const { spec } = planned;
    const marker = readMarker(spec.dir);
    if (marker?.hash === planned.hash) continue;
    const where = relative(projectRoot, spec.dir);
    throw new EnvironmentError(
      marker ? 'ENV_OUT_OF_DATE' : 'ENV_NOT_CREATED',
      marker
        ? `environment '${spec.name}' in ${where} was made from another spec than ${relative(projectRoot, spec.source)} is now: run '${initCommand}' (or run without --skip-init)`
        : `environment '${spec.name}' is not made (no ${where}): run '${initCommand}' first (or run without --skip-init)`,
    );
  }
}
