/**
 * The audit copy of a run's fully resolved config (SPEC A5): overrides merged, variables
 * interpolated, base64 decoded — and every secret value masked (SPEC H2). Written atomically
 * as `<directory>/<pipeline_id>_<UTC timestamp>.<toml|yaml>`, in the format of the input.
 */
import { join } from 'node:path';
import { stringify as stringifyToml } from 'smol-toml';
import { stringify as stringifyYaml } from 'yaml';
import { writeFileAtomicSync } from '../durable/atomic-file.ts';
import type { Redactor } from '../secrets/redactor.ts';
import type { ConfigFormat } from './config-document.ts';

export interface ResolvedConfigExport {
  /** A table (a config that passed its schema). */
  config: unknown;
  format: ConfigFormat;
  /** `<config-root>/integration` for TOML; see the loaders for YAML. */
  directory: string;
  pipelineId: string;
  redactor: Redactor;
  /** @default now */
  at?: Date;
}

/** Writes the masked config; returns the file's path. */
export function exportResolvedConfig(request: ResolvedConfigExport): string {
  const masked = request.redactor.redactDeep(request.config);
  const text =
    request.format === 'toml'
      ? `${stringifyToml(masked)}\n`
      : stringifyYaml(masked, { lineWidth: 0 });
  const safeId = request.pipelineId.replace(/[^A-Za-z0-9._-]/g, '_') || 'pipeline';
  const file = join(
    request.directory,
    `${safeId}_${timestamp(request.at ?? new Date())}.${request.format}`,
  );
  writeFileAtomicSync(file, `# resolved config, secrets masked\n${text}`);
  return file;
}

/** `20261201T203015123Z`: sorts by time, no characters a file name should not hold. */
function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('.', '');
}
