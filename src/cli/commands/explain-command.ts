import { explainStage } from '../../durable/explain.ts';
import type { CliIo } from '../cli-io.ts';
import { paletteFor } from '../colors.ts';
import { loadValidPipeline } from '../load-valid-pipeline.ts';
import { workspaceOf } from './run-command.ts';

/** `gpipe explain FILE STAGE`: would the stage run or hit the cache, and why. */
export async function explainCommand(
  file: string,
  stage: string,
  options: { run?: string; json?: boolean; workspace?: string },
  io: CliIo,
): Promise<number> {
  const workspaceRoot = workspaceOf(options, io);
  const pipeline = await loadValidPipeline(file, io);
  const redactor = io.redactor;
  const explanation = await explainStage({
    pipeline,
    workspaceRoot,
    stage,
    ...(options.run !== undefined && { runId: options.run }),
    ...(redactor && !redactor.isEmpty && { redact: (text: string) => redactor.redact(text) }),
  });
  if (options.json) {
    io.stdout.write(`${JSON.stringify(explanation)}\n`);
    return 0;
  }
  const palette = paletteFor(io.stdout.isTTY === true, io.env);
  const verdict =
    explanation.verdict === 'cached'
      ? palette.green('would hit the cache')
      : palette.cyan('would run');
  const lines = [`${stage} ${verdict}: ${explanation.summary}`];
  for (const change of explanation.changes) lines.push(`  - ${change}`);
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
