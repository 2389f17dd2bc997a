/**
 * Cache keys (SPEC C3, C6). A stage's key is the hash of its parts — name, version, code,
 * command, params, env and upstream output hashes — and each part is a short readable string,
 * so that `explain` can say which part changed, not just that the key did.
 *
 * Paths inside the workspace (a command's cwd, a Python interpreter in a venv there) stand in
 * the key relative to the workspace root: moving or renaming the project keeps its keys.
 *
 * This runs once per stage: a 100,000-stage run must not hash a function's source or reread a
 * module file 100,000 times, hence the memos below.
 */
import { hash } from 'node:crypto';
import { basename, delimiter, isAbsolute, relative, resolve, sep } from 'node:path';
import { defaultInterpreter } from '../config/python-module-locator.ts';
import { environmentPython, madeEnvironmentHash } from '../executors/environment-activation.ts';
import type { EnvironmentSpec, StageSpec, TaskSpec } from '../graph/pipeline.ts';
import type { CacheKeyParts } from '../store/run-store.ts';
import { canonicalJson } from './canonical-json.ts';
import { codeText, moduleCode } from './code-files.ts';
import { commandCode } from './command-code.ts';
import { exportCode } from './export-code.ts';
import { sha256Text } from './hash.ts';

/** Longer parts are shown by a prefix and stand in the key by their hash. */
const maxPartLength = 200;
const shownPrefixLength = 60;

/**
 * The parts of `stage`'s cache key, given the output hashes of its upstream stages.
 * `workspaceRoot`: where a command without a `cwd` runs, which its relative paths start from.
 */
export function cacheKeyParts(
  stage: StageSpec,
  upstreamHashes: Readonly<Record<string, string>>,
  workspaceRoot: string,
): CacheKeyParts {
  const parts: CacheKeyParts = { stage: stage.name, upstream: { ...upstreamHashes } };
  fillKeyParts(parts, stage, workspaceRoot);
  return parts;
}

/**
 * Fills in the parts that depend on the stage alone (all but `stage` and `upstream`): the
 * stage cache builds the rest without copying the upstream hashes.
 */
export function fillKeyParts(parts: CacheKeyParts, stage: StageSpec, workspaceRoot: string): void {
  if (stage.version !== undefined) parts.version = stage.version;
  const code = codeOf(stage, workspaceRoot);
  if (code !== undefined) parts.code = code;
  const task = stage.task;
  if (task.kind === 'command') {
    parts.command = commandText(task, workspaceRoot) + environmentText(task.environment);
    const names = task.env ? Object.keys(task.env).sort() : [];
    if (names.length > 0)
      parts.env = bounded(readableList(names.map((n) => `${n}=${task.env![n]}`)));
  }
  if (task.kind === 'python') {
    const python =
      task.python ??
      (task.environment ? environmentPython(task.environment) : defaultInterpreter());
    parts.command = `python ${interpreterText(python, workspaceRoot)}${environmentText(task.environment)}`;
  }
  if (stage.params !== undefined) parts.params = bounded(canonicalJson(stage.params));
}

/**
 * The parts with secrets masked in what may hold them (command, env, params), as they are kept
 * and shown; the key is always made from the real parts.
 */
export function redactedKeyParts(
  parts: CacheKeyParts,
  redact: (text: string) => string,
): CacheKeyParts {
  const masked = { ...parts };
  if (masked.command !== undefined) masked.command = redact(masked.command);
  if (masked.env !== undefined) masked.env = redact(masked.env);
  if (masked.params !== undefined) masked.params = redact(masked.params);
  return masked;
}

/**
 * A stage's environment, by its name and the hash of the spec it was made from: one made anew
 * from another spec misses the cache.
 */
function environmentText(environment: EnvironmentSpec | undefined): string {
  if (!environment) return '';
  const hash = madeEnvironmentHash(environment) ?? 'not made';
  return ` in ${environment.kind} environment ${environment.name} (${hash.slice(0, 23)})`;
}

/** `sha256:<64 hex>` of the parts' canonical JSON: equal parts, equal key, in any key order. */
export function cacheKeyOf(parts: CacheKeyParts): string {
  return sha256Text(partsJson(parts));
}

/** The keys `partsJson` writes out itself, in sorted order. */
const knownPartKeys: ReadonlySet<string> = new Set([
  'code',
  'command',
  'env',
  'item',
  'params',
  'stage',
  'upstream',
  'version',
]);

/**
 * `canonicalJson(parts)`, written out for the parts' known keys in their sorted order: the
 * same text, without sorting and recursing for every one of 100,000 stages. Parts with a key
 * it does not know (one added later) take the general path, so that no part is ever left out
 * of the key.
 */
export function partsJson(parts: CacheKeyParts): string {
  for (const key in parts) if (!knownPartKeys.has(key)) return canonicalJson(parts);
  const { upstream } = parts;
  const pairs = upstreamText(Object.keys(upstream), (name) => upstream[name]);
  return keyPartsText(fixedKeyText(parts), parts.stage, parts.item, pairs);
}

/**
 * The text of the parts every key of a stage shares (`fillKeyParts`), in canonical order
 * around the item: what comes before it, what comes between it and the stage, and the end.
 */
export interface FixedKeyText {
  beforeItem: string;
  afterItem: string;
  end: string;
}

export function fixedKeyText(parts: Omit<CacheKeyParts, 'stage' | 'upstream'>): FixedKeyText {
  let beforeItem = '';
  if (parts.code !== undefined) beforeItem += `"code":${JSON.stringify(parts.code)},`;
  if (parts.command !== undefined) beforeItem += `"command":${JSON.stringify(parts.command)},`;
  if (parts.env !== undefined) beforeItem += `"env":${JSON.stringify(parts.env)},`;
  return {
    beforeItem,
    afterItem: parts.params === undefined ? '' : `"params":${JSON.stringify(parts.params)},`,
    end: parts.version === undefined ? '}' : `,"version":${JSON.stringify(parts.version)}}`,
  };
}

/** A key's canonical parts text, from its stage's fixed text and what changes per key. */
export function keyPartsText(
  fixed: FixedKeyText,
  stage: string,
  item: string | undefined,
  upstream: string,
): string {
  const itemText = item === undefined ? '' : `"item":${JSON.stringify(item)},`;
  return `{${fixed.beforeItem}${itemText}${fixed.afterItem}"stage":${JSON.stringify(stage)},"upstream":{${upstream}}${fixed.end}`;
}

/**
 * The inside of the `upstream` object: `"name":"hash"` pairs in name order, names without a
 * hash left out. Sorts `names` in place.
 */
export function upstreamText(
  names: string[],
  hashOf: (name: string) => string | undefined,
): string {
  if (names.length > 1) sortNames(names);
  let text = '';
  for (const name of names) {
    const hash = hashOf(name);
    if (hash === undefined) continue;
    text += `${text === '' ? '' : ','}${jsonString(name)}:${jsonString(hash)}`;
  }
  return text;
}

/**
 * Sorts in place as Array.prototype.sort does for strings (by UTF-16 code units): a stage has
 * a few upstream names, and the built-in sort allocates a work copy on every call.
 */
function sortNames(names: string[]): void {
  if (names.length > 16) {
    names.sort();
    return;
  }
  for (let i = 1; i < names.length; i++) {
    const name = names[i]!;
    let j = i - 1;
    while (j >= 0 && names[j]! > name) {
      names[j + 1] = names[j]!;
      j--;
    }
    names[j + 1] = name;
  }
}

/** JSON.stringify of a string, without its call for the usual names and hashes. */
function jsonString(text: string): string {
  return plainText.test(text) ? `"${text}"` : JSON.stringify(text);
}

const plainText = /^[\w:.\-[\] ]*$/;

function shortHash(text: string | Buffer): string {
  return `sha256:${hash('sha256', text, 'hex').slice(0, 16)}`;
}

/** A part as it is, or, past maxPartLength, its start and the hash of all of it. */
function bounded(text: string): string {
  if (text.length <= maxPartLength) return text;
  return `${text.slice(0, shownPrefixLength)}… ${shortHash(text)} (${Buffer.byteLength(text)} bytes)`;
}

/**
 * Words joined by spaces while that reads unambiguously; a JSON array as soon as one is empty
 * or holds a space or a quote. A plain list never contains `"`, a JSON one always does: two
 * different lists can never give the same text.
 */
function readableList(items: readonly string[]): string {
  return items.some((item) => item === '' || /[\s"'\\]/.test(item))
    ? JSON.stringify(items)
    : items.join(' ');
}

/** The command line, and where it runs unless that is the workspace root. */
function commandText(task: Extract<TaskSpec, { kind: 'command' }>, workspaceRoot: string): string {
  // The command executor runs a shell command as `/bin/sh -c <argv joined by spaces>`.
  const text = task.shell
    ? `sh -c '${task.argv.join(' ').replaceAll("'", `'\\''`)}'`
    : readableList(task.argv);
  const cwd = task.cwd === undefined ? '.' : workspacePath(task.cwd, workspaceRoot);
  return cwd === '.' ? text : `${text} (cwd ${cwd})`;
}

/**
 * An interpreter: a name looked up on PATH as it is; a path inside the workspace as
 * `./envs/ml/bin/python`, which no name on PATH can be mistaken for.
 */
function interpreterText(python: string, workspaceRoot: string): string {
  if (!isAbsolute(python)) return python;
  const inside = workspacePath(python, workspaceRoot);
  return inside === python ? python : `./${inside}`;
}

/**
 * `path` (absolute, or relative to the workspace root) relative to the workspace root with `/`
 * between its names — `.` for the root, `sub/dir` — when it lies inside it; else as given.
 */
function workspacePath(path: string, workspaceRoot: string): string {
  const inside = relative(workspaceRoot, resolve(workspaceRoot, path));
  if (inside === '') return '.';
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) return path;
  return sep === '/' ? inside : inside.split(sep).join('/');
}

/**
 * What the stage's code is, with the hash of each of its files: a module and the local
 * modules it imports (code-files.ts), the scripts a command names, an inline function's source.
 */
function codeOf(stage: StageSpec, workspaceRoot: string): string | undefined {
  const task = stage.task;
  if (task.kind === 'inline') return stage.run ? functionCode(stage.run) : undefined;
  if (task.kind === 'command') {
    const cwd = task.cwd === undefined ? workspaceRoot : resolve(workspaceRoot, task.cwd);
    const files = commandCode(task.argv, task.shell, cwd, task.env);
    return files.length === 0 ? undefined : codeText(files);
  }
  const what =
    task.kind === 'module'
      ? `file ${basename(task.file)}#${task.exportName}`
      : `python ${task.module ?? basename(task.file)}:${task.exportName}`;
  if (task.kind === 'module') {
    // The export's own code, and what it reaches of other local files.
    const [own, ...reached] = exportCode(task.file, task.exportName, 'script') ?? [];
    if (own) return codeText([{ label: what, hash: own.hash }, ...reached]);
  }
  const [module, ...imported] =
    task.kind === 'python'
      ? moduleCode(task.file, [...task.searchPath, ...pythonPath()], task.module)
      : moduleCode(task.file);
  // A Python function's own statements and the definitions it reaches; its imports, whole.
  const [own, ...reached] =
    task.kind === 'python' ? (exportCode(task.file, task.exportName, 'python') ?? []) : [];
  return codeText([{ label: what, hash: own?.hash ?? module!.hash }, ...reached, ...imported]);
}

/** The orchestrator's PYTHONPATH, which a Python stage's bridge inherits, as absolute paths. */
function pythonPath(): string[] {
  return (process.env.PYTHONPATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => resolve(dir));
}

/** By source text: the stages of a generated pipeline are many closures of one function. */
const functionCodes = new Map<string, string>();
const maxFunctionCodes = 10_000;

/**
 * `function sha256:…` of the function's source. Values it closes over are not part of its
 * source: those belong in params.
 */
function functionCode(run: (...args: never[]) => unknown): string {
  const source = run.toString();
  let code = functionCodes.get(source);
  if (code === undefined) {
    code = `function ${shortHash(source)}`;
    if (functionCodes.size >= maxFunctionCodes) functionCodes.clear();
    functionCodes.set(source, code);
  }
  return code;
}

/** The parts in the order `explain` reports them. */
const textParts = ['stage', 'version', 'code', 'command', 'params', 'env'] as const;

/**
 * What differs between two keys' parts, one sentence per part, in the words `explain` prints:
 * `params changed: {"n":3} → {"n":4}`, `upstream 'clean' output changed (sha256:… → sha256:…)`.
 * Empty when the parts are equal.
 */
export function describeKeyChanges(before: CacheKeyParts, after: CacheKeyParts): string[] {
  const changes: string[] = [];
  for (const part of textParts) {
    const was = before[part];
    const is = after[part];
    if (was === is) continue;
    changes.push(
      part === 'code' ? codeChange(was, is) : `${part} changed: ${shown(was)} → ${shown(is)}`,
    );
  }
  const upstream = [...new Set([...Object.keys(before.upstream), ...Object.keys(after.upstream)])];
  for (const name of upstream.sort()) {
    const was = before.upstream[name];
    const is = after.upstream[name];
    if (was === is) continue;
    if (was === undefined) changes.push(`upstream '${name}' added`);
    else if (is === undefined) changes.push(`upstream '${name}' removed`);
    else
      changes.push(`upstream '${name}' output changed (${abbreviated(was)} → ${abbreviated(is)})`);
  }
  return changes;
}

/**
 * Which parts differ, by name, in `describeKeyChanges`'s order: `code`, `params`…,
 * `upstream 'clean'`. What a dry run says of a stage, without the values (they may hold what
 * the key's stored parts mask).
 */
export function changedParts(before: CacheKeyParts, after: CacheKeyParts): string[] {
  const changed: string[] = textParts.filter((part) => before[part] !== after[part]);
  const upstream = new Set([...Object.keys(before.upstream), ...Object.keys(after.upstream)]);
  for (const name of [...upstream].sort()) {
    if (before.upstream[name] !== after.upstream[name]) changed.push(`upstream '${name}'`);
  }
  return changed;
}

function shown(part: string | undefined): string {
  return part ?? '(none)';
}

/**
 * `code changed (function sha256:aa… → sha256:bb…)`: what the code is, said once; for code of
 * several files, the files that changed (`util.ts sha256:aa… → sha256:bb…; helpers.py added`).
 */
function codeChange(was: string | undefined, is: string | undefined): string {
  const before = codeFiles(was);
  const after = codeFiles(is);
  // Told file by file when they have files in common; otherwise the code is another thing.
  if (before && after && [...after.keys()].some((what) => before.has(what))) {
    const changed: string[] = [];
    for (const [what, hash] of after) {
      const old = before.get(what);
      if (old === undefined) changed.push(`${what} added`);
      else if (old !== hash) changed.push(`${what} ${old} → ${hash}`);
    }
    for (const what of before.keys()) if (!after.has(what)) changed.push(`${what} removed`);
    if (changed.length > 0) return `code changed (${changed.join('; ')})`;
  }
  return `code changed (${shown(was)} → ${shown(is)})`;
}

/** A code part's files (code-files.ts codeText) by what they are; undefined if it is not one. */
function codeFiles(code: string | undefined): Map<string, string> | undefined {
  if (code === undefined) return undefined;
  const files = new Map<string, string>();
  for (const entry of code.split(', ')) {
    const at = entry.lastIndexOf(' sha256:');
    if (at < 0) return undefined;
    files.set(entry.slice(0, at), entry.slice(at + 1));
  }
  return files;
}

/** A full `sha256:<64 hex>` output hash is too long to read: its first 16 digits say enough. */
function abbreviated(outputHash: string): string {
  return outputHash.startsWith('sha256:') && outputHash.length > 23
    ? `${outputHash.slice(0, 23)}…`
    : outputHash;
}
