/**
 * A mapped stage's files, where the stages downstream look for an upstream's: its
 * `artifacts/` holds a link per item that left files, named by the item's place
 * (`square/artifacts/3` → `square[3]/artifacts`, `upper/artifacts/1/2` for `upper[1][2]`), so
 * that a collecting command reads `$INPUT_ROOT/square/3/…` and a function `outputRootOf`.
 */
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname } from 'node:path';

/** `instances`: the mapped stage's items' names (`square[3]`), in input order. */
export function linkItemFiles(runDir: string, stage: string, instances: readonly string[]): void {
  const root = `${runDir}/${stage}/artifacts`;
  // Made once: a resumed run, or an earlier run's reused directory, has it already.
  if (existsSync(root)) return;
  for (const instance of instances) {
    const files = `${runDir}/${instance}/artifacts`;
    if (!existsSync(files)) continue;
    const place = instance
      .slice(stage.length + 1, -1)
      .split('][')
      .join('/');
    const link = `${root}/${place}`;
    mkdirSync(dirname(link), { recursive: true });
    // Relative: the run directory may move with its project.
    const up = '../'.repeat(place.split('/').length + 1);
    symlinkSync(`${up}${instance}/artifacts`, link);
  }
}
