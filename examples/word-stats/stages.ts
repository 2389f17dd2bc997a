// Stages of the word-stats example. Each receives the stage context: its upstream outputs
// (`getResult`), a logger, an AbortSignal and its own artifacts directory (`outputRoot`).
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StageContext } from '../../src/index.ts';

interface Corpus {
  dir: string;
  files: string[];
}

/** Copies the bundled texts into the run's artifacts: later stages read them from there. */
export function loadCorpus(context: StageContext): Corpus {
  const source = join(dirname(fileURLToPath(import.meta.url)), 'corpus');
  const files = readdirSync(source)
    .filter((name) => name.endsWith('.txt'))
    .sort();
  for (const file of files) copyFileSync(join(source, file), join(context.outputRoot, file));
  context.log.info(`copied ${files.length} texts`);
  return { dir: context.outputRoot, files };
}

export async function countWords(context: StageContext): Promise<Record<string, number>> {
  const corpus = context.getResult('load_corpus') as Corpus;
  const counts = new Map<string, number>();
  for (const file of corpus.files) {
    const words =
      readFileSync(join(corpus.dir, file), 'utf8')
        .toLowerCase()
        .match(/[a-z']+/g) ?? [];
    for (const word of words) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  const top = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 10);
  return Object.fromEntries(top);
}

/** A class module: `run(context)` is called, as in the seed orchestrator. */
export class Report {
  run(context: StageContext): { report: string } {
    const words = context.getResult('word_counts') as Record<string, number>;
    const letters = context.getResult('letter_frequencies') as { top: string[] };
    const lines = readFileSync(join(context.outputRootOf('line_counts'), 'lines.txt'), 'utf8');
    const report = [
      '# Word statistics',
      '',
      '## Most frequent words',
      ...Object.entries(words).map(([word, count]) => `- ${word}: ${count}`),
      '',
      `## Most frequent letters: ${letters.top.join(', ')}`,
      '',
      '## Lines per text',
      '```',
      lines.trimEnd(),
      '```',
      '',
    ].join('\n');
    const file = join(context.outputRoot, 'report.md');
    writeFileSync(file, report);
    return { report: file };
  }
}
