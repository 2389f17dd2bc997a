/**
 * A mapped stage's files, where the stages downstream look for an upstream's: its
 * `artifacts/` holds a link per item that left files, named by the item's place
 * (`square/artifacts/3` → `square[3]/artifacts`, `upper/artifacts/1/2` for `upper[1][2]`), so
 * that a collecting command reads `$INPUT_ROOT/square/3/…` and a function `outputRootOf`.
 */
import { existsSync, lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname } from 'node:path';

/** `instances`: the mapped stage's items' names (`square[3]`), in input order. */
export function linkItemFiles(runDir: string, stage: string, instances: readonly string[]): void {
  const root = `${runDir}/${stage}/artifacts`;
  // An earlier run's directory, reused whole (`--stage`), is a link: it has them all.
  if (isLink(root)) return;
  for (const instance of instances) {
    const files = `${runDir}/${instance}/artifacts`;
    if (!existsSync(files)) continue;
    const place = instance
      .slice(stage.length + 1, -1)
      .split('][')
      .join('/');
    const link = `${root}/${place}`;
    // A resumed run made some before it stopped.
    if (isLink(link)) continue;
    mkdirSync(dirname(link), { recursive: true });
    // Relative: the run directory may move with its project.
    const up = '../'.repeat(place.split('/').length + 1);
    symlinkSync(`${up}${instance}/artifacts`, link);
  }
}

function isLink(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink() === true;
}
