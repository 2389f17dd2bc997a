import { ExitCode } from '../../errors.ts';
import type { CliIo } from '../cli-io.ts';
import { paletteFor } from '../colors.ts';
import { plural } from '../format-text.ts';
import { type ConfigFlags, isTomlFile, loadConfiguredPipeline } from '../load-valid-pipeline.ts';
import {
  type PipelineFileOptions,
  pipelineFileOf,
  refuseTomlFlags,
  tomlLoadOptions,
} from '../pipeline-file-options.ts';
import { displayPath } from '../progress-summary.ts';
import { workspaceOf } from './run-command.ts';

/** `gpipe validate FILE`: every problem at once (ConfigError, exit 1), or one line saying it is valid. */
export async function validateCommand(
  fileArgument: string | undefined,
  options: PipelineFileOptions & ConfigFlags,
  io: CliIo,
): Promise<number> {
  const file = pipelineFileOf(fileArgument, options);
  if (!isTomlFile(file)) refuseTomlFlags(file, { '--config-root': options.configRoot });
  const flags = {
    ...(options.override && { override: options.override }),
    ...(options.set && { set: options.set }),
  };
  const { pipeline, toml } = await loadConfiguredPipeline(file, io, {
    ...(isTomlFile(file) ? tomlLoadOptions(options, io, workspaceOf(options, io)) : {}),
    ...flags,
    checkExports: true,
  });
  const nodes = toml ? ` of ${plural(toml.nodes.size, 'node')}` : '';
  const { spec, graph, fallbacks } = pipeline;
  let waves = 0;
  for (const level of graph.levels()) waves = Math.max(waves, level + 1);
  const extra = fallbacks.size > 0 ? ` and ${plural(fallbacks.size, 'fallback')}` : '';
  const tick = paletteFor(io.stdout.isTTY === true, io.env).green('✓');
  io.stdout.write(
    `${tick} ${displayPath(spec.source ?? file, io.cwd)}: pipeline '${spec.name}' is valid: ${plural(graph.size, 'stage')}${extra}${nodes} in ${plural(waves, 'wave')}\n`,
  );
  return ExitCode.ok;
}
