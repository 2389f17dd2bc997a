/**
 * The code one exported stage function is made of (SPEC C3), file by file, so that editing a
 * module reruns the stages whose code changed, not every stage the module exports.
 *
 * TypeScript and JavaScript: esbuild bundles the export alone, tree-shaken, packages left
 * out; what is left of each local file is the code that export can reach (top-level code
 * with side effects stays, comments go). Python: the statements python-blocks.ts keeps, the
 * export's own with the module-level code first, then each definition it reaches (`file.py#name`).
 * Undefined where it cannot be told (a file esbuild cannot build, source it cannot split):
 * the caller hashes whole files instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, resolve } from 'node:path';
import type { BuildResult } from 'esbuild';
import { writeFileAtomicSync } from './atomic-file.ts';
import { type CodeFile, fileHash, shortHash } from './code-files.ts';
import { pythonExportParts } from './python-blocks.ts';

/** A result and the files it was made from, with their hashes then: any change, made again. */
interface Known {
  inputs: readonly [file: string, hash: string][];
  code: CodeFile[] | undefined;
}

const known = new Map<string, Known>();
const maxKnown = 10_000;
/** Whether `known` holds results made since it was last read from or written to disk. */
let madeSince = false;

/**
 * Results of earlier processes, kept in `file` (`.gpipe/export-code.json`): a fully cached
 * run then starts no esbuild (about 50 ms). They are checked as any other: by the hashes of
 * the files they were made from. A file that cannot be read is as good as none.
 */
export function readExportCode(file: string): void {
  if (!existsSync(file)) return;
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { version?: number; known?: unknown };
    if (saved.version !== 1 || typeof saved.known !== 'object' || saved.known === null) return;
    for (const [id, entry] of Object.entries(saved.known as Record<string, unknown>)) {
      if (!known.has(id) && isKnown(entry)) known.set(id, entry);
    }
  } catch {
    // Torn by hand or by another program: made again.
  }
}

const isPair = (value: unknown, a: string, b: string): boolean =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Record<string, unknown>)[a] === 'string' &&
  typeof (value as Record<string, unknown>)[b] === 'string';

/** An entry as `writeExportCode` writes them: anything else is ignored, never trusted. */
function isKnown(entry: unknown): entry is Known {
  if (typeof entry !== 'object' || entry === null) return false;
  const { inputs, code } = entry as { inputs?: unknown; code?: unknown };
  return (
    Array.isArray(inputs) &&
    inputs.every((input) => Array.isArray(input) && isPair(input, '0', '1')) &&
    (code === undefined ||
      (Array.isArray(code) && code.every((part) => isPair(part, 'label', 'hash'))))
  );
}

/** Writes what this process made, with what it read, to `file`, atomically. */
export function writeExportCode(file: string): void {
  if (!madeSince) return;
  madeSince = false;
  try {
    const text = JSON.stringify({ version: 1, known: Object.fromEntries(known) });
    writeFileAtomicSync(file, `${text}\n`, { fsync: false });
  } catch {
    // Only a shortcut: the next run makes its results again.
  }
}

/**
 * The export's code, the module's own part first (labelled by its file name), then what it
 * reaches: other local files (TypeScript), or definitions (`file.py#name`, Python).
 */
export function exportCode(
  file: string,
  exportName: string,
  language: 'script' | 'python',
): CodeFile[] | undefined {
  const id = `${language}\0${file}\0${exportName}`;
  const found = known.get(id);
  if (found?.inputs.every(([input, hash]) => fileHash(input) === hash)) return found.code;
  const made = language === 'python' ? pythonCode(file, exportName) : scriptCode(file, exportName);
  if (known.size >= maxKnown) known.clear();
  known.set(id, made);
  madeSince = true;
  return made.code;
}

function pythonCode(file: string, exportName: string): Known {
  // Hashed before reading: a file that changes in between is read again next time.
  const inputs: [string, string][] = [[file, fileHash(file)]];
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return { inputs, code: undefined };
  }
  const parts = pythonExportParts(source, exportName);
  if (parts === undefined) return { inputs, code: undefined };
  const name = basename(file);
  const code = [{ label: name, hash: shortHash(parts.own) }];
  for (const [definition, text] of parts.definitions)
    code.push({ label: `${name}#${definition}`, hash: shortHash(text) });
  return { inputs, code };
}

let esbuild: typeof import('esbuild') | null | undefined;

/** esbuild, loaded on first use (it starts a service); null where it is not installed. */
function loadEsbuild(): typeof import('esbuild') | null {
  if (esbuild === undefined) {
    try {
      esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
    } catch {
      esbuild = null;
    }
  }
  return esbuild;
}

const identifier = /^[A-Za-z_$][\w$]*$/;

function scriptCode(file: string, exportName: string): Known {
  const dir = dirname(file);
  const inputs: [string, string][] = [[file, fileHash(file)]];
  const build = loadEsbuild();
  if (!build) return { inputs, code: undefined };
  const name = identifier.test(exportName) ? exportName : JSON.stringify(exportName);
  let result: BuildResult<{ write: false; metafile: true }>;
  try {
    result = build.buildSync({
      stdin: {
        contents: `export { ${name} } from ${JSON.stringify(`./${basename(file)}`)};`,
        resolveDir: dir,
        loader: 'ts',
        sourcefile: '<stage>',
      },
      absWorkingDir: dir,
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'node',
      packages: 'external',
      legalComments: 'none',
      logLevel: 'silent',
    });
  } catch {
    return { inputs, code: undefined };
  }
  const labels = Object.keys(result.metafile.inputs).filter((label) => label !== '<stage>');
  for (const label of labels) {
    const input = resolve(dir, label);
    if (input !== file) inputs.push([input, fileHash(input)]);
  }
  const code = sections(result.outputFiles[0]?.text ?? '', new Set(labels));
  const own = code.findIndex((part) => resolve(dir, part.label) === file);
  // The module left nothing of its own (a re-export): it still stands first, by its name.
  if (own < 0) code.unshift({ label: basename(file), hash: shortHash('') });
  else code.unshift(...code.splice(own, 1));
  return { inputs, code };
}

/**
 * A bundle's text, file by file: unminified, esbuild puts `// label` before each file's code
 * (twice for a file whose package imports it hoists to the top). Each file's code is hashed;
 * files that left none are not there.
 */
function sections(text: string, labels: ReadonlySet<string>): CodeFile[] {
  const parts = new Map<string, string[]>();
  let lines: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('// ') && labels.has(line.slice(3))) {
      const label = line.slice(3);
      lines = parts.get(label) ?? [];
      parts.set(label, lines);
    } else {
      lines?.push(line);
    }
  }
  return [...parts].map(([label, code]) => ({
    label,
    hash: shortHash(code.join('\n').trim()),
  }));
}
