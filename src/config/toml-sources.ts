/**
 * Reads a TOML pipeline's files — pipeline.toml, then the node and operator file each ref names
 * — into one plain object, remembering which file and place each value came from. Problems of
 * reading (syntax, a missing file, a duplicate ref) come back as issues; the schema is checked
 * later, on the merged object.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { type ConfigIssue, InputError } from '../errors.ts';
import { closest } from '../graph/did-you-mean.ts';
import { stageNameProblem } from '../graph/validate.ts';
import { TomlLocator, type TomlPath } from './toml-locator.ts';
import { defaultRefVersion, nodeSchema, operatorSchema, refPattern } from './toml-schema.ts';

export type PartKind = 'nodes' | 'operators';
const singular: Readonly<Record<PartKind, string>> = { nodes: 'node', operators: 'operator' };

/** A file read, and where the merged object's value for it sits inside the file. */
interface Source {
  file: string;
  locator: TomlLocator;
  /** `['pipeline']` for a `[pipeline]` table, `['node_1']` for a file wrapped in `[node_1]`. */
  prefix: TomlPath;
}

/** A node or operator ref of pipeline.toml: `"id:version"`. */
export interface TomlRef {
  id: string;
  version: string;
  /** Where the ref is written: its path in the merged object. */
  path: TomlPath;
}

/**
 * The whole pipeline as plain data — `{pipeline: {...}, nodes: {id: {...}}, operators: {id:
 * {...}}}` — with the file, line and column of any path in it.
 */
export interface RawTomlPipeline {
  data: {
    pipeline: Record<string, unknown>;
    nodes: Record<string, unknown>;
    operators: Record<string, unknown>;
  };
  refs: Readonly<Record<PartKind, readonly TomlRef[]>>;
  /** Where the value at `path` (or, given `key`, that key of the table at `path`) is written. */
  locate(path: TomlPath, key?: string): Pick<ConfigIssue, 'file' | 'line' | 'column'>;
  /** The path as its own file writes it (the table a file is wrapped in included). */
  pathInFile(path: TomlPath): TomlPath;
}

export class TomlSourceError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(issues.map((issue) => issue.message).join('\n'));
    this.issues = issues;
  }
}

/**
 * Reads `file` and the files its refs name under `configRoot`. Throws TomlSourceError when
 * pipeline.toml itself cannot be parsed; every other problem is in `issues`.
 */
export async function readTomlPipeline(
  file: string,
  configRoot: string,
): Promise<{ raw: RawTomlPipeline; issues: ConfigIssue[] }> {
  const issues: ConfigIssue[] = [];
  const main = await readToml(file);
  if ('issue' in main) throw new TomlSourceError([main.issue]);
  if ('missing' in main) throw new InputError(`no such file: ${file}`);
  const wrapped = isTable(main.root.pipeline);
  const pipeline = (wrapped ? main.root.pipeline : main.root) as Record<string, unknown>;
  const pipelineSource: Source = {
    file,
    locator: main.locator,
    prefix: wrapped ? ['pipeline'] : [],
  };
  if (wrapped) {
    for (const key of Object.keys(main.root).filter((k) => k !== 'pipeline')) {
      issues.push({
        message: `unknown key '${key}' next to [pipeline]`,
        file,
        ...main.locator.keyAt([], key),
        hint: 'write every key of pipeline.toml under [pipeline], or none of them',
      });
    }
  }
  const sources = new Map<string, Source>();
  const data: RawTomlPipeline['data'] = { pipeline, nodes: {}, operators: {} };
  const refs: Record<PartKind, TomlRef[]> = { nodes: [], operators: [] };
  const locate = (path: TomlPath, key?: string) => {
    const { source, inFile } = placeOf(path, pipelineSource, sources);
    const position =
      key === undefined ? source.locator.at(inFile) : source.locator.keyAt(inFile, key);
    return { file: source.file, ...position };
  };

  for (const kind of ['nodes', 'operators'] as const) {
    refs[kind] = refsOf(pipeline[kind], kind, issues, locate);
    const loaded = await Promise.all(
      refs[kind].map((ref) => readPart(kind, ref, configRoot, issues, locate)),
    );
    for (const [index, part] of loaded.entries()) {
      if (!part) continue;
      const ref = refs[kind][index]!;
      data[kind][ref.id] = part.value;
      sources.set(JSON.stringify([kind, ref.id]), part.source);
    }
  }
  return {
    raw: {
      data,
      refs,
      locate,
      pathInFile: (path) => placeOf(path, pipelineSource, sources).inFile,
    },
    issues,
  };
}

function placeOf(
  path: TomlPath,
  pipelineSource: Source,
  sources: ReadonlyMap<string, Source>,
): { source: Source; inFile: TomlPath } {
  const part = path.length >= 2 ? sources.get(JSON.stringify(path.slice(0, 2))) : undefined;
  if (part) return { source: part, inFile: [...part.prefix, ...path.slice(2)] };
  const rest = path[0] === 'pipeline' ? path.slice(1) : path;
  return { source: pipelineSource, inFile: [...pipelineSource.prefix, ...rest] };
}

/** The usable refs of `nodes` or `operators` (a list, or a table with `refs`); duplicates reported. */
function refsOf(
  value: unknown,
  kind: PartKind,
  issues: ConfigIssue[],
  locate: RawTomlPipeline['locate'],
): TomlRef[] {
  const listed = Array.isArray(value) ? value : isTable(value) ? value.refs : undefined;
  if (!Array.isArray(listed)) return [];
  const base = Array.isArray(value) ? ['pipeline', kind] : ['pipeline', kind, 'refs'];
  const refs: TomlRef[] = [];
  const idKey = kind === 'nodes' ? 'node_id' : 'operator_id';
  for (const [index, entry] of listed.entries()) {
    // Anything unusable is the schema's to report.
    const parsed = parseRef(entry, idKey);
    if (!parsed) continue;
    const { id, version } = parsed;
    const path = [...base, index];
    if (refs.some((ref) => ref.id === id)) {
      issues.push({
        message: `${singular[kind]} '${id}' is listed twice`,
        ...locate(path),
        hint: `keep one ref to ${id}`,
      });
      continue;
    }
    refs.push({ id, version, path });
  }
  return refs;
}

/** `"id:version"`, `"id"` or `{node_id = "id", version = "v1"}`, when usable as file names. */
function parseRef(entry: unknown, idKey: string): { id: string; version: string } | undefined {
  let id: unknown;
  let version: unknown = defaultRefVersion;
  if (typeof entry === 'string') {
    if (!refPattern.test(entry)) return undefined;
    [id, version = defaultRefVersion] = entry.split(':');
  } else if (isTable(entry)) {
    id = entry[idKey];
    version = entry.version ?? defaultRefVersion;
  }
  if (typeof id !== 'string' || typeof version !== 'string') return undefined;
  if (stageNameProblem(id) || stageNameProblem(version)) return undefined;
  return { id, version };
}

/** A node or operator file: found, parsed and unwrapped, or an issue saying why not. */
async function readPart(
  kind: PartKind,
  ref: TomlRef,
  configRoot: string,
  issues: ConfigIssue[],
  locate: RawTomlPipeline['locate'],
): Promise<{ value: Record<string, unknown>; source: Source } | undefined> {
  const tried = [
    join(configRoot, kind, `${ref.id}_${ref.version}.toml`),
    join(configRoot, kind, `${ref.id}.toml`),
  ];
  for (const file of tried) {
    const read = await readToml(file);
    if ('missing' in read) continue;
    if ('issue' in read) {
      issues.push(read.issue);
      return undefined;
    }
    const keys = Object.keys(read.root);
    const known = Object.keys((kind === 'nodes' ? nodeSchema : operatorSchema).shape);
    const wrapper = read.root[ref.id];
    if (isTable(wrapper) && !known.includes(ref.id)) {
      // The file wraps itself in [id]: keys written before that table are outside it.
      for (const key of keys.filter((k) => k !== ref.id)) {
        issues.push({
          message: `key '${key}' is outside the table [${ref.id}]`,
          file,
          ...read.locator.keyAt([], key),
          hint: `move it below [${ref.id}], or write every key at the top of the file`,
        });
      }
      const source = { file, locator: read.locator, prefix: [ref.id] };
      return { value: wrapper, source };
    }
    const only = keys.length === 1 ? keys[0]! : undefined;
    if (only !== undefined && isTable(read.root[only]) && !known.includes(only)) {
      const close = closest(only, [ref.id]);
      issues.push({
        message: `the table [${only}] is not named after the ${singular[kind]} '${ref.id}'`,
        file,
        ...read.locator.at([only]),
        hint: close
          ? `did you mean [${ref.id}]?`
          : `name it [${ref.id}], or write its keys at the top of the file`,
      });
      return undefined;
    }
    return { value: read.root, source: { file, locator: read.locator, prefix: [] } };
  }
  issues.push({
    message: `no file for ${singular[kind]} '${ref.id}:${ref.version}': tried ${tried.join(', ')}`,
    ...locate(ref.path),
    hint: `check the ref, or give the directory holding ${kind}/ with --config-root`,
  });
  return undefined;
}

type ReadResult =
  | { root: Record<string, unknown>; locator: TomlLocator }
  | { issue: ConfigIssue }
  | { missing: true };

async function readToml(file: string): Promise<ReadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { missing: true };
    return {
      issue: { message: `cannot read the file: ${code ?? (error as Error).message}`, file },
    };
  }
  try {
    const root = parse(text, { unsafeKeyBehaviour: 'throw' }) as Record<string, unknown>;
    return { root, locator: new TomlLocator(text) };
  } catch (error) {
    if (!(error instanceof TomlError)) {
      return {
        issue: { message: `invalid TOML: ${(error as Error).message}`, file, line: 1, column: 1 },
      };
    }
    const reason = error.message.replace(/^Invalid TOML document: /, '').split('\n')[0];
    return {
      issue: {
        message: `invalid TOML: ${reason}`,
        file,
        line: error.line,
        column: error.column,
        ...syntaxHint(reason ?? ''),
      },
    };
  }
}

function syntaxHint(reason: string): { hint?: string } {
  if (/redefine/.test(reason)) return { hint: 'a key or table may be defined only once' };
  if (/invalid value/.test(reason)) return { hint: 'strings need quotes: key = "value"' };
  return {};
}

export function isTable(value: unknown): value is Record<string, unknown> {
  return (
    value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)
  );
}
