import { resolve } from 'node:path';
import { parseRetention, parseRotation } from '../../logs/log-config.ts';
import type { PipelineLogSettings } from '../../logs/pipeline-log.ts';
import type { Redactor } from '../../secrets/redactor.ts';
import type { ConfiguredPipeline } from '../load-valid-pipeline.ts';

/**
 * Where and how a run's pipeline log is written: a TOML pipeline's in `work_dir/logs` (or its
 * `log_config.log_path`) with its `log_config`; any other in its run directory at INFO.
 * Known secrets are masked in both.
 */
export function pipelineLogSettings(
  configured: ConfiguredPipeline | undefined,
  redactor: Redactor | undefined,
): PipelineLogSettings {
  const settings: PipelineLogSettings = {};
  if (redactor && !redactor.isEmpty) settings.redact = (text) => redactor.redact(text);
  const toml = configured?.toml;
  if (!toml) return settings;
  const config = toml.logConfig ?? {};
  settings.dir = resolve(toml.workDir, config.log_path ?? 'logs');
  settings.pipelineId = toml.spec.name;
  if (config.level) settings.level = config.level;
  // Checked by the schema already: these parse.
  const rotation = config.rotation === undefined ? undefined : parseRotation(config.rotation);
  if (rotation) settings.rotation = rotation;
  const retention = config.retention === undefined ? undefined : parseRetention(config.retention);
  if (retention) settings.retention = retention;
  return settings;
}
