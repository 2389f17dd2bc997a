/**
 * Maps paths in a parsed YAML document (`['pipeline', 'modules', 2, 'timeout']`) back to the
 * 1-based line and column where the file wrote them.
 */
import { type Document, isMap, isNode, isScalar, type LineCounter, type Node } from 'yaml';

export type YamlPath = readonly (string | number)[];

export interface Position {
  line: number;
  column: number;
}

export class YamlLocator {
  readonly #doc: Document;
  readonly #lineCounter: LineCounter;

  constructor(doc: Document, lineCounter: LineCounter) {
    this.#doc = doc;
    this.#lineCounter = lineCounter;
  }

  /** Where the value at `path` starts; a path that leads nowhere gives its nearest ancestor. */
  at(path: YamlPath): Position {
    for (let depth = path.length; depth >= 0; depth--) {
      const start = this.node(path.slice(0, depth))?.range?.[0];
      if (start !== undefined) return this.offset(start);
    }
    return { line: 1, column: 1 };
  }

  /** Where the key `key` of the mapping at `path` is written, else where the mapping is. */
  keyAt(path: YamlPath, key: string): Position {
    const map = this.node(path);
    if (isMap(map)) {
      for (const pair of map.items) {
        if (isScalar(pair.key) && String(pair.key.value) === key && pair.key.range) {
          return this.offset(pair.key.range[0]);
        }
      }
    }
    return this.at(path);
  }

  offset(offset: number): Position {
    const { line, col } = this.#lineCounter.linePos(offset);
    return { line, column: col };
  }

  /** The text of the scalar at `path` as written, so that `version: 1.0` stays "1.0". */
  sourceText(path: YamlPath): string | undefined {
    const node = this.node(path);
    return isScalar(node) && typeof node.source === 'string' ? node.source : undefined;
  }

  /** The key scalar written at `offset`, for errors the parser reports by position. */
  keyTextAt(offset: number): string | undefined {
    let found: string | undefined;
    const search = (node: unknown): void => {
      if (found !== undefined || !isNode(node)) return;
      if (isMap(node)) {
        for (const pair of node.items) {
          if (isScalar(pair.key) && pair.key.range?.[0] === offset) {
            found = String(pair.key.value);
            return;
          }
          search(pair.value);
        }
      } else if ('items' in node && Array.isArray(node.items)) {
        for (const item of node.items) search(item);
      }
    };
    search(this.#doc.contents);
    return found;
  }

  node(path: YamlPath): Node | undefined {
    const found = path.length === 0 ? this.#doc.contents : this.#doc.getIn(path, true);
    return isNode(found) ? found : undefined;
  }
}
