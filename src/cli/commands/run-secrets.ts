/**
 * What `gpipe run` does for secrets (SPEC H2) and audit (SPEC A5): executors whose output and
 * errors are masked, the credentials file in command stages' environment, and the masked copy
 * of the resolved config.
 */
import { dirname, join, resolve } from 'node:path';
import { configFormatOf } from '../../config/config-document.ts';
import { exportResolvedConfig } from '../../config/resolved-config-export.ts';
import { stateLayout } from '../../durable/layout.ts';
import { createExecutors } from '../../executors/default-executors.ts';
import type { Executor } from '../../executors/executor.ts';
import { NodeSpawner } from '../../executors/spawner.ts';
import type { PipelineSpec, TaskSpec } from '../../graph/pipeline.ts';
import type { ResourceMonitor } from '../../monitor/resource-monitor.ts';
import { redactingExecutor } from '../../secrets/redacting-executor.ts';
import { RedactingFilter } from '../../secrets/redacting-filter.ts';
import { Redactor } from '../../secrets/redactor.ts';
import type { CliIo } from '../cli-io.ts';
import type { ConfiguredPipeline } from '../load-valid-pipeline.ts';

/**
 * The local executors. With no secret to mask they are the plain ones, at full speed; with
 * secrets, command output goes through a masking filter to `stage.log` (Node's spawner with
 * pipes rather than the native one writing the file) and failures' messages are masked.
 */
/** The CLI owns its process's streams: what inline stages print goes to their logs. */
const captureOutput = true;

export function runExecutors(
  spec: PipelineSpec,
  redactor: Redactor | undefined,
  credentials: Readonly<Record<string, string>> | undefined,
  monitor: ResourceMonitor,
): Record<TaskSpec['kind'], Executor> {
  // The process's own environment wins over the credentials file, as with dotenv.
  const env = credentials && ({ ...credentials, ...process.env } as Record<string, string>);
  if (!redactor || redactor.isEmpty)
    return createExecutors(spec, { monitor, captureOutput, ...(env && { command: { env } }) });
  const spawner = new NodeSpawner({ outputFilter: () => new RedactingFilter(redactor) });
  const executors = createExecutors(spec, {
    monitor,
    captureOutput,
    command: { spawner, ...(env && { env }) },
    redactor,
  });
  const masked = new Map<Executor, Executor>();
  const out = {} as Record<TaskSpec['kind'], Executor>;
  for (const [kind, executor] of Object.entries(executors) as [TaskSpec['kind'], Executor][]) {
    // One wrapper per executor: `inline` and `module` share theirs.
    if (!masked.has(executor)) masked.set(executor, redactingExecutor(executor, redactor));
    out[kind] = masked.get(executor)!;
  }
  return out;
}

/**
 * Writes the resolved config, secrets masked, for audit. A YAML pipeline's copy goes to the
 * workspace's `.gpipe/integration/` (the pipeline's own folder stays as the user keeps it);
 * a TOML pipeline's to `<config-root>/integration/`, as the seed does.
 */
export function exportRunConfig(
  configured: ConfiguredPipeline,
  file: string,
  workspaceRoot: string,
  io: CliIo,
  /** TOML: `--config-root`. @default the pipeline file's directory */
  configRoot?: string,
): string | undefined {
  const format = configFormatOf(file);
  if (!configured.resolved || format === undefined) return undefined;
  return exportResolvedConfig({
    config: configured.resolved.config,
    format,
    directory:
      format === 'toml'
        ? join(resolve(io.cwd, configRoot ?? dirname(file)), 'integration')
        : join(
            stateLayout(workspaceRoot, configured.pipeline.spec.checkpoint?.directory).stateDir,
            'integration',
          ),
    pipelineId: configured.pipeline.spec.name,
    redactor: io.redactor ?? new Redactor(),
  });
}
