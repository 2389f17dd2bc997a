import { ExitCode } from '../../errors.ts';
import type { CliIo } from '../cli-io.ts';
import { paletteFor } from '../colors.ts';
import { plural } from '../format-text.ts';
import { type ConfigFlags, loadConfiguredPipeline } from '../load-valid-pipeline.ts';
import { displayPath } from '../progress-summary.ts';

/** `gpipe validate FILE`: every problem at once (ConfigError, exit 1), or one line saying it is valid. */
export async function validateCommand(
  file: string,
  io: CliIo,
  flags: ConfigFlags = {},
): Promise<number> {
  const { pipeline } = await loadConfiguredPipeline(file, io, flags);
  const { spec, graph, fallbacks } = pipeline;
  let waves = 0;
  for (const level of graph.levels()) waves = Math.max(waves, level + 1);
  const extra = fallbacks.size > 0 ? ` and ${plural(fallbacks.size, 'fallback')}` : '';
  const tick = paletteFor(io.stdout.isTTY === true, io.env).green('✓');
  io.stdout.write(
    `${tick} ${displayPath(spec.source ?? file, io.cwd)}: pipeline '${spec.name}' is valid: ${plural(graph.size, 'stage')}${extra} in ${plural(waves, 'wave')}\n`,
  );
  return ExitCode.ok;
}
