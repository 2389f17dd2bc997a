/**
 * Where a TOML file writes a key. smol-toml gives positions for syntax errors only, so this
 * scans the lines once: `[table]` and `[[array]]` headers, `key = value` and dotted keys. Keys
 * inside inline tables or multi-line values are found through their nearest written ancestor.
 */
import type { Position } from './yaml-locator.ts';

export class TomlLocator {
  readonly #positions = new Map<string, Position>();

  constructor(text: string) {
    let table: (string | number)[] = [];
    const arrayCounts = new Map<string, number>();
    for (const [index, line] of text.split(/\r?\n/).entries()) {
      const column = line.length - line.trimStart().length + 1;
      const header = /^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?/.exec(line);
      if (header) {
        const names = splitKey(header[2]!);
        if (header[1] === '[[') {
          const key = pathKey(names);
          const count = arrayCounts.get(key) ?? 0;
          arrayCounts.set(key, count + 1);
          table = [...names, count];
        } else {
          table = names;
        }
        this.#remember(table, { line: index + 1, column });
        continue;
      }
      const assignment =
        /^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=/.exec(
          line,
        );
      if (assignment)
        this.#remember([...table, ...splitKey(assignment[1]!)], { line: index + 1, column });
    }
  }

  /** Where the value at `path` (or its nearest written ancestor) is; line 1 when none is. */
  at(path: readonly (string | number)[]): Position {
    for (let depth = path.length; depth > 0; depth--) {
      const found = this.#positions.get(pathKey(path.slice(0, depth)));
      if (found) return found;
    }
    return { line: 1, column: 1 };
  }

  #remember(path: readonly (string | number)[], position: Position): void {
    const key = pathKey(path);
    if (!this.#positions.has(key)) this.#positions.set(key, position);
  }
}

function splitKey(text: string): string[] {
  const parts: string[] = [];
  for (const match of text.matchAll(/"([^"]*)"|'([^']*)'|([^.\s]+)/g)) {
    parts.push(match[1] ?? match[2] ?? match[3]!);
  }
  return parts;
}

function pathKey(path: readonly (string | number)[]): string {
  return JSON.stringify(path.map(String));
}
