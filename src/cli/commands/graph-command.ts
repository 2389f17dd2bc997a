import { ExitCode } from '../../errors.ts';
import type { CliIo } from '../cli-io.ts';
import { type GraphFormat, renderGraph } from '../graph-render.ts';
import { loadValidPipeline } from '../load-valid-pipeline.ts';

/** `gpipe graph FILE [--format text|mermaid|dot]`: the pipeline's graph on stdout. */
export async function graphCommand(
  file: string,
  options: { format: GraphFormat },
  io: CliIo,
): Promise<number> {
  const pipeline = await loadValidPipeline(file, io);
  io.stdout.write(renderGraph(pipeline, options.format));
  return ExitCode.ok;
}
