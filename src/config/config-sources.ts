/**
 * Which layer supplied each value of a merged config: the base file, an override file or a
 * `--set`, so that a problem with a value is reported where that value was written.
 */
import type { ConfigIssue } from '../errors.ts';
import type { ConfigDocument, ConfigPath } from './config-document.ts';

/** Where a problem is: a file (or `--set …`), with a line and column when there is one. */
export type IssueLocation = Pick<ConfigIssue, 'file' | 'line' | 'column'>;

interface Supplied {
  layer: ConfigDocument;
  /** The value's path in the layer's own data (lists merged by name differ from the result). */
  path: ConfigPath;
}

export class ConfigSources {
  readonly base: ConfigDocument;
  readonly #supplied = new Map<string, Supplied>();

  constructor(base: ConfigDocument) {
    this.base = base;
  }

  /** Records that `layer` supplied the value at `path` (and everything under it). */
  record(path: ConfigPath, layer: ConfigDocument, layerPath: ConfigPath): void {
    this.#supplied.set(keyOf(path), { layer, path: layerPath });
  }

  /** The layer that supplied the value at `path`: the nearest recorded ancestor, else the base. */
  layerOf(path: ConfigPath): ConfigDocument {
    return this.#find(path)?.supplied.layer ?? this.base;
  }

  /** Where the value at `path` was written. */
  locate(path: ConfigPath): IssueLocation {
    const found = this.#find(path);
    if (!found) return located(fileOf(this.base, path), this.base.at(path));
    const { supplied, rest } = found;
    const full = [...supplied.path, ...rest];
    return located(fileOf(supplied.layer, full), supplied.layer.at(full));
  }

  /** Where the key `key` of the table at `path` was written. */
  locateKey(path: ConfigPath, key: string): IssueLocation {
    const found = this.#find([...path, key]);
    if (!found) return located(fileOf(this.base, [...path, key]), this.base.keyAt(path, key));
    const { supplied, rest } = found;
    const full = [...supplied.path, ...rest];
    return located(fileOf(supplied.layer, full), supplied.layer.keyAt(full.slice(0, -1), key));
  }

  #find(path: ConfigPath): { supplied: Supplied; rest: ConfigPath } | undefined {
    for (let depth = path.length; depth > 0; depth--) {
      const supplied = this.#supplied.get(keyOf(path.slice(0, depth)));
      if (supplied) return { supplied, rest: path.slice(depth) };
    }
    return undefined;
  }
}

function fileOf(layer: ConfigDocument, path: ConfigPath): string {
  return layer.fileOf?.(path) ?? layer.file;
}

function located(
  file: string,
  position: { line: number; column: number } | undefined,
): IssueLocation {
  return position ? { file, line: position.line, column: position.column } : { file };
}

function keyOf(path: ConfigPath): string {
  return JSON.stringify(path.map(String));
}
