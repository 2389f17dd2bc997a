import { ExitCode } from '../../errors.ts';
import type { CliIo } from '../cli-io.ts';
import { paletteFor } from '../colors.ts';
import { plural } from '../format-text.ts';
import { isTomlFile, loadValidPipeline, loadValidTomlPipeline } from '../load-valid-pipeline.ts';
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
  options: PipelineFileOptions,
  io: CliIo,
): Promise<number> {
  const file = pipelineFileOf(fileArgument, options);
  let nodes = '';
  let pipeline: Awaited<ReturnType<typeof loadValidPipeline>>;
  if (isTomlFile(file)) {
    const loaded = await loadValidTomlPipeline(
      file,
      io,
      tomlLoadOptions(options, io, workspaceOf(options, io)),
    );
    pipeline = loaded.pipeline;
    nodes = ` of ${plural(loaded.toml.nodes.size, 'node')}`;
  } else {
    refuseTomlFlags(file, { '--config-root': options.configRoot });
    pipeline = await loadValidPipeline(file, io);
  }
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
