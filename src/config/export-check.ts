/**
 * Whether the functions and classes that module stages name are there, read from their
 * source without running it (`gpipe validate`): a misspelt export fails before any stage runs,
 * not when its stage starts, maybe hours in. What cannot be told from the source (a CommonJS
 * module, `export * from 'package'`, Python's `from x import *` or a module `__getattr__`, a
 * file that does not parse here) is left to the run: only a name certainly absent is reported.
 */
import { execFile } from 'node:child_process';
import { didYouMean } from '../graph/did-you-mean.ts';
import type { TaskSpec } from '../graph/pipeline.ts';
import { defaultInterpreter } from './python-module-locator.ts';

/** A module stage's file and the export it names. */
export type ExportQuery = Pick<
  Extract<TaskSpec, { kind: 'module' | 'python' }>,
  'file' | 'exportName'
> &
  ({ kind: 'module' } | { kind: 'python'; python?: string });

/** The query of a stage's task, when it names an export: JavaScript and Python module stages. */
export function exportQueryOf(task: TaskSpec): ExportQuery | undefined {
  if (task.kind === 'module')
    return { kind: 'module', file: task.file, exportName: task.exportName };
  if (task.kind !== 'python') return undefined;
  const query: ExportQuery = { kind: 'python', file: task.file, exportName: task.exportName };
  // An environment's interpreter is made by init: the default one parses the file meanwhile.
  if (task.python !== undefined) query.python = task.python;
  return query;
}

export interface MissingExport {
  message: string;
  hint?: string;
}

/** For each query in order: what is missing, or undefined where the name is there (or unknowable). */
export async function missingExports(
  queries: readonly ExportQuery[],
): Promise<(MissingExport | undefined)[]> {
  const names = new Map<string, Promise<ReadonlySet<string> | undefined>>();
  const python = new Map<string, string[]>();
  for (const query of queries) {
    if (query.kind === 'python') {
      const interpreter = query.python ?? defaultInterpreter();
      const files = python.get(interpreter) ?? [];
      python.set(interpreter, [...files, query.file]);
    } else if (!names.has(query.file)) names.set(query.file, javaScriptExports(query.file));
  }
  for (const [interpreter, files] of python) {
    const read = pythonNames(interpreter, [...new Set(files)]);
    for (const file of new Set(files)) {
      names.set(
        `${interpreter}\0${file}`,
        read.then((byFile) => byFile.get(file)),
      );
    }
  }
  return Promise.all(
    queries.map(async (query) => {
      const key =
        query.kind === 'python'
          ? `${query.python ?? defaultInterpreter()}\0${query.file}`
          : query.file;
      const known = await names.get(key)!;
      if (!known || known.has(query.exportName)) return undefined;
      return missing(query, known);
    }),
  );
}

function missing(query: ExportQuery, known: ReadonlySet<string>): MissingExport {
  const what = query.kind === 'python' ? 'defines' : 'exports';
  const listed = [...known].filter((name) => name !== 'default').sort();
  const hint =
    didYouMean(query.exportName, listed) ??
    (listed.length === 0
      ? `it ${what} nothing by that kind of name`
      : `it ${what} ${listed.slice(0, 8).join(', ')}${listed.length > 8 ? ', …' : ''}`);
  return { message: `${query.file} ${what} no '${query.exportName}'`, hint };
}

/**
 * The names a JavaScript or TypeScript module exports, local re-exports followed; undefined
 * when that cannot be told (see the file's comment). esbuild parses it as tsx would run it.
 */
async function javaScriptExports(file: string): Promise<ReadonlySet<string> | undefined> {
  try {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [file],
      bundle: true,
      packages: 'external',
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'node',
      logLevel: 'silent',
      outdir: '/gpipe-export-check',
    });
    const text = result.outputFiles[0]?.text ?? '';
    // A CommonJS module's names are found only when Node loads it; a package's star, never here.
    if (text.includes('__commonJS(') || /^export \* from /m.test(text)) return undefined;
    const output = Object.values(result.metafile.outputs)[0];
    return output ? new Set(output.exports) : undefined;
  } catch {
    // A parse or import problem (the run reports it with the stack), or no esbuild here.
    return undefined;
  }
}

/**
 * Top-level names of Python files, through their interpreter's own parser (nothing is
 * imported or run): functions, classes, assignments and imports, in `if` and `try` blocks too.
 */
const pythonNamesScript = `
import ast, json, sys
def names(body, out):
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name): out.add(n.id)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
            out.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == '*': return False
                out.add(alias.asname or alias.name.split('.')[0])
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for block in [node.body, getattr(node, 'orelse', []), getattr(node, 'finalbody', [])] + [h.body for h in getattr(node, 'handlers', [])]:
                if names(block, out) is False: return False
    return True
result = {}
for file in json.load(sys.stdin):
    try:
        with open(file, 'rb') as f: tree = ast.parse(f.read(), file)
        out = set()
        result[file] = sorted(out) if names(tree.body, out) and '__getattr__' not in out else None
    except Exception:
        result[file] = None
print(json.dumps(result))
`;

async function pythonNames(
  interpreter: string,
  files: readonly string[],
): Promise<Map<string, ReadonlySet<string> | undefined>> {
  const found = new Map<string, ReadonlySet<string> | undefined>();
  const stdout = await new Promise<string | undefined>((resolve) => {
    const child = execFile(
      interpreter,
      ['-c', pythonNamesScript],
      { timeout: 30_000, maxBuffer: 1 << 24 },
      (error, out) => resolve(error ? undefined : out),
    );
    child.stdin?.on('error', () => {}); // a missing interpreter: reported by its stages' run
    child.stdin?.end(JSON.stringify(files));
  });
  if (stdout === undefined) return found; // no interpreter here: the run says so
  try {
    const byFile = JSON.parse(stdout) as Record<string, string[] | null>;
    for (const file of files) {
      const names = byFile[file];
      found.set(file, names ? new Set(names) : undefined);
    }
  } catch {
    // Not the script's output (a wrapper printed first): nothing can be told.
  }
  return found;
}
