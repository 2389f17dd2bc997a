/**
 * One configuration file parsed into plain data, with a way back from a path in that data to
 * where the file wrote it: the unit the override layers (config-layers.ts) work on.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, InputError } from '../errors.ts';
import { TomlLocator } from './toml-locator.ts';
import { type Position, YamlLocator } from './yaml-locator.ts';

export type ConfigPath = readonly (string | number)[];
export type ConfigFormat = 'yaml' | 'toml';

export interface ConfigDocument {
  /** The file, or for a `--set`, the argument's text (`--set pipeline.work_dir`). */
  file: string;
  value: unknown;
  /** Where the value at `path` is written; undefined where a position means nothing (--set). */
  at(path: ConfigPath): Position | undefined;
  /** Where the key `key` of the table at `path` is written. */
  keyAt(path: ConfigPath, key: string): Position | undefined;
  /**
   * The file that wrote the value at `path`, for a document assembled from several files (a
   * pipeline.toml with its node and operator files). @default `file`
   */
  fileOf?(path: ConfigPath): string;
}

/** The format of a config file by its name: `.toml`, else `.yaml` / `.yml`. */
export function configFormatOf(file: string): ConfigFormat | undefined {
  const extension = extname(file).toLowerCase();
  if (extension === '.toml') return 'toml';
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  return undefined;
}

/** Reads and parses a YAML or TOML file (by its extension); syntax errors as a ConfigError. */
export function readConfigDocument(file: string): ConfigDocument {
  const format = configFormatOf(file);
  if (format === undefined)
    throw new InputError(`cannot read ${file}: a config file must end in .toml, .yaml or .yml`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(
      code === 'ENOENT'
        ? `no such file: ${file}`
        : `cannot read ${file}: ${code ?? (error as Error).message}`,
    );
  }
  return format === 'toml' ? tomlDocument(text, file) : yamlDocument(text, file);
}

export function tomlDocument(text: string, file: string): ConfigDocument {
  let value: unknown;
  try {
    value = parseToml(text);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const message = error.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
    throw new ConfigError([
      { message: `invalid TOML: ${message}`, file, line: error.line, column: error.column },
    ]);
  }
  const locator = new TomlLocator(text);
  return {
    file,
    value,
    at: (path) => locator.at(path),
    keyAt: (path, key) => locator.keyAt(path, key),
  };
}

export function yamlDocument(text: string, file: string): ConfigDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const locator = new YamlLocator(doc, lineCounter);
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((error) => ({
        message: `invalid YAML: ${error.message.split('\n')[0]}`,
        file,
        ...locator.offset(error.pos[0]),
      })),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError([
      { message: `cannot read the YAML: ${(error as Error).message}`, file, line: 1, column: 1 },
    ]);
  }
  return yamlLocated(value, file, locator);
}

/** A document over YAML the caller has parsed already (the pipeline file itself). */
export function yamlLocated(value: unknown, file: string, locator: YamlLocator): ConfigDocument {
  return {
    file,
    value,
    at: (path) => locator.at(path),
    keyAt: (path, key) => locator.keyAt(path, key),
  };
}
