import { type PreviewAction, previewRun } from '../../durable/dry-run.ts';
import type { DurableRunOptions } from '../../durable/durable-run.ts';
import type { ValidPipeline } from '../../graph/validate.ts';
import type { CliIo } from '../cli-io.ts';
import { paletteFor } from '../colors.ts';

const actionWords: Record<PreviewAction, string> = {
  run: 'to run',
  reuse: 'reused',
  cached: 'from the cache',
  skip: 'left out',
};

/** `--dry-run`: what a run would do with each stage; runs nothing and writes nothing. */
export async function printDryRun(
  pipeline: ValidPipeline,
  request: Omit<DurableRunOptions, 'pipeline' | 'executors'>,
  options: { json?: boolean },
  io: CliIo,
): Promise<number> {
  const redactor = io.redactor;
  const preview = await previewRun({
    ...request,
    pipeline,
    ...(redactor && !redactor.isEmpty && { redact: (text: string) => redactor.redact(text) }),
  });
  if (options.json) {
    io.stdout.write(`${JSON.stringify(preview)}\n`);
    return 0;
  }
  const palette = paletteFor(io.stdout.isTTY === true, io.env);
  const what = preview.resumes ? `resuming run ${preview.resumes}` : 'a new run';
  const lines = [`Dry run of pipeline '${preview.pipeline}' (${what}); nothing runs.`];
  const width = Math.max(...preview.rows.map((row) => row.stage.length));
  const colour = {
    run: palette.cyan,
    reuse: palette.green,
    cached: palette.green,
    skip: palette.dim,
  };
  for (const row of preview.rows) {
    lines.push(
      `  ${row.stage.padEnd(width)}  ${colour[row.action](row.action.padEnd(6))}  ${row.detail}`,
    );
  }
  const counts = (Object.keys(actionWords) as PreviewAction[]).map(
    (action) =>
      `${preview.rows.filter((row) => row.action === action).length} ${actionWords[action]}`,
  );
  const stages = preview.rows.length === 1 ? 'stage' : 'stages';
  lines.push(`${preview.rows.length} ${stages}: ${counts.join(', ')}`);
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
