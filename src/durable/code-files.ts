/**
 * The files a stage's code is made of (SPEC C3): a module's file and the local modules it
 * imports; the scripts and config files a command names. Their hashes make the `code` part of
 * the stage's cache key, so that editing a helper module, or the script a command runs, runs
 * the stage again instead of reusing an output the old code made.
 *
 * Only local code is followed: relative imports (TypeScript, JavaScript), modules found under
 * the stage's search path (Python). Packages are identified by what installed them, not here.
 */
import { hash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { isDirectory, isFile } from '../file-kind.ts';

/** A file of a stage's code: how `explain` names it, and its hash (`sha256:<hex16>`). */
export interface CodeFile {
  label: string;
  hash: string;
}

/** A stage's code past this many files is cut short: the key still holds the first ones. */
const maxFiles = 2000;
/** Files bigger than this are hashed, not read for imports. */
const maxScannedBytes = 1 << 20;

export const scriptExtensions = new Set([
  '.ts',
  '.mts',
  '.cts',
  '.tsx',
  '.js',
  '.mjs',
  '.cjs',
  '.jsx',
]);
const shellExtensions = new Set(['.sh', '.bash', '.zsh', '.ksh']);
/** A module file and the local modules it imports, the module first. */
export function moduleCode(
  file: string,
  searchPath?: readonly string[],
  dottedName?: string,
): CodeFile[] {
  const files = new Closure(dirname(file), searchPath);
  files.add(file);
  // `pkg.sub.mod`: importing it runs pkg/__init__.py and pkg/sub/__init__.py first.
  if (dottedName !== undefined) files.addPythonModule(dottedName);
  return files.list;
}

/** The text of a code part, past which the last files are said by their number and hash. */
const maxCodeText = 1000;

/**
 * `label sha256:…` entries joined by `, `: the text of a code part. Past maxCodeText, the
 * files left stand as one entry, `N more files sha256:…`.
 */
export function codeText(files: readonly CodeFile[]): string {
  let text = '';
  for (const [i, file] of files.entries()) {
    const entry = `${file.label} ${file.hash}`;
    if (i > 0 && text.length + entry.length > maxCodeText) {
      const rest = files.slice(i).map((more) => `${more.label} ${more.hash}`);
      return `${text}, ${rest.length} more files ${shortHash(rest.join(', '))}`;
    }
    text += i === 0 ? entry : `, ${entry}`;
  }
  return text;
}

/** `sha256:<hex16>`: how code parts name what they hash. */
export function shortHash(bytes: string | Buffer): string {
  return `sha256:${hash('sha256', bytes, 'hex').slice(0, 16)}`;
}

/**
 * Files reached from the ones added, each once, labelled relative to `base`. Python modules are
 * found under `searchPath` (else next to the file importing them); shell scripts a script
 * sources, from `base` (where the shell runs).
 */
export class Closure {
  readonly list: CodeFile[] = [];
  readonly #seen = new Set<string>();
  readonly #base: string;
  readonly #searchPath: readonly string[] | undefined;

  constructor(base: string, searchPath: readonly string[] | undefined) {
    this.#base = base;
    this.#searchPath = searchPath;
  }

  add(file: string): void {
    if (this.#seen.has(file) || this.list.length >= maxFiles) return;
    this.#seen.add(file);
    const known = codeFile(file);
    const label = relative(this.#base, file).split(sep).join('/') || file;
    this.list.push({ label, hash: known.hash });
    for (const specifier of known.imports) {
      for (const found of this.#resolve(file, specifier)) this.add(found);
    }
  }

  /** Adds the files importing Python module `name` (`pkg.mod`) from `base` runs. */
  addPythonModule(name: string): void {
    for (const file of pythonModuleFiles(join(this.#base, '-'), name, this.#searchPath))
      this.add(file);
  }

  #resolve(from: string, specifier: string): string[] {
    const extension = extname(from);
    if (extension === '.py') return pythonModuleFiles(from, specifier, this.#searchPath);
    if (shellExtensions.has(extension)) {
      const sourced = [resolve(this.#base, specifier), resolve(dirname(from), specifier)];
      return sourced.filter(isFile).slice(0, 1);
    }
    const found = scriptFile(resolve(dirname(from), specifier));
    return found ? [found] : [];
  }
}

interface KnownFile {
  /** What stat said when the file was read: any change means reading it again. */
  signature: string;
  hash: string;
  /** Local imports it names: relative specifiers, or Python module names (`.mod`, `pkg.mod`). */
  imports: readonly string[];
  /** Time of the read. */
  readAt: number;
}

const knownFiles = new Map<string, KnownFile>();

/**
 * File timestamps are coarse (a few ms on ext4, 2 s on FAT): a file written again within the
 * same tick keeps its mtime and size. A hash read less than this long after the file's mtime
 * is not trusted, and the file is read again (git's "racily clean" rule).
 */
const timestampSlackMs = 2000;

/** `sha256:<hex16>` of a file's bytes, read again only when its stat changes. */
export function fileHash(file: string): string {
  return codeFile(file).hash;
}

function codeFile(file: string): Pick<KnownFile, 'hash' | 'imports'> {
  try {
    return knownFile(file);
  } catch (error) {
    knownFiles.delete(file);
    return unreadable(error);
  }
}

/** The file as last read, or read again when its stat changed (or may hide a change). */
function knownFile(file: string): KnownFile {
  const stats = statSync(file);
  const signature = `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
  const known = knownFiles.get(file);
  if (
    known !== undefined &&
    known.signature === signature &&
    known.readAt - stats.mtimeMs > timestampSlackMs
  ) {
    return known;
  }
  const readAt = Date.now();
  const bytes = readFileSync(file);
  const read: KnownFile = {
    signature,
    hash: shortHash(bytes),
    imports: bytes.length > maxScannedBytes ? [] : importsOf(file, bytes.toString('utf8')),
    readAt,
  };
  knownFiles.set(file, read);
  return read;
}

function unreadable(error: unknown): Pick<KnownFile, 'hash' | 'imports'> {
  return { hash: `unreadable (${(error as NodeJS.ErrnoException).code ?? 'error'})`, imports: [] };
}

function importsOf(file: string, text: string): string[] {
  const extension = extname(file).toLowerCase();
  if (extension === '.py') return pythonImports(text);
  if (shellExtensions.has(extension)) return sourcedFiles(text);
  if (scriptExtensions.has(extension)) return scriptImports(text);
  return [];
}

/** Relative specifiers of `import … from`, `export … from`, `import '…'`, `import()`, `require()`. */
function scriptImports(text: string): string[] {
  const found: string[] = [];
  const pattern = /\b(?:from|import|require)\s*\(?\s*(['"])(\.{1,2}\/[^'"\n]*)\1/g;
  for (const match of text.matchAll(pattern)) found.push(match[2]!);
  return found;
}

/** Literal paths a shell script sources: `source lib.sh`, `. ./env.sh`. */
function sourcedFiles(text: string): string[] {
  const found: string[] = [];
  const statements = /(?:^|[;&|]|\bthen|\bdo)[ \t]*(?:source|\.)[ \t]+(["']?)([^\s"';&|$`]+)\1/gm;
  for (const match of text.matchAll(statements)) found.push(match[2]!);
  return found;
}

/** The file a relative specifier names: as written, with TypeScript's extension, or an index. */
function scriptFile(path: string): string | undefined {
  const extension = extname(path);
  const candidates = [path];
  if (extension === '.js' || extension === '.mjs' || extension === '.cjs' || extension === '.jsx')
    candidates.push(path.slice(0, -extension.length) + extension.replace('j', 't'));
  if (!scriptExtensions.has(extension)) {
    for (const more of ['.ts', '.tsx', '.mts', '.js', '.mjs', '.cjs']) candidates.push(path + more);
    candidates.push(join(path, 'index.ts'), join(path, 'index.js'));
  }
  return candidates.find(isFile);
}

/**
 * Module names a Python file imports: `pkg.mod` for `import pkg.mod`, and for
 * `from pkg import a` both `pkg` and `pkg.a` (a name may be a submodule); relative ones keep
 * their dots (`.helpers`, `..`).
 */
function pythonImports(text: string): string[] {
  const found: string[] = [];
  const code = text.replace(/#.*$/gm, '');
  const statements =
    /(?:^|;)[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+)?import[ \t]+(\([^)]*\)|[^\n;]*)/gm;
  for (const match of code.matchAll(statements)) {
    const from = match[1];
    if (from !== undefined) found.push(from);
    const join = from === undefined ? '' : from.endsWith('.') ? from : `${from}.`;
    for (const item of match[2]!.replace(/[()\\]/g, ' ').split(',')) {
      const name = item.trim().split(/\s+/)[0];
      if (name && name !== '*') found.push(`${join}${name}`);
    }
  }
  return found;
}

/**
 * The files importing module `name` from `from` runs: the module's own file and its packages'
 * `__init__.py`, found under the search path or next to `from` (a script's own directory is
 * first on its path); a relative name, next to `from` alone.
 */
function pythonModuleFiles(
  from: string,
  name: string,
  searchPath: readonly string[] | undefined,
): string[] {
  const dots = /^\.*/.exec(name)![0].length;
  const parts = name.slice(dots).split('.').filter(Boolean);
  let roots: readonly string[];
  if (dots > 0) {
    let base = dirname(from);
    for (let up = 1; up < dots; up++) base = dirname(base);
    roots = [base];
  } else {
    roots = [...(searchPath ?? []), dirname(from)];
  }
  for (const root of roots) {
    const files: string[] = [];
    let dir = root;
    if (parts.length === 0 && isFile(join(root, '__init__.py')))
      files.push(join(root, '__init__.py'));
    for (const [i, part] of parts.entries()) {
      dir = join(dir, part);
      const init = join(dir, '__init__.py');
      if (isFile(init)) files.push(init);
      else if (i === parts.length - 1 && isFile(`${dir}.py`)) files.push(`${dir}.py`);
      // A directory without __init__.py is a namespace package: its modules may be below.
      else if (!isDirectory(dir)) break;
    }
    if (files.length > 0) return files;
  }
  return [];
}
