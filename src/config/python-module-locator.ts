/**
 * Where a Python module reference points, found on the file system without starting Python:
 * `path/file.py` relative to the pipeline file, or a dotted `pkg.module` looked up as
 * `pkg/module.py` or `pkg/module/__init__.py` under the pipeline file's directory, then under
 * each PYTHONPATH entry. Shared by the YAML loader and the TypeScript API's `python()`.
 */
import { delimiter, dirname, extname, join, resolve } from 'node:path';
import { isDirectory, isFile } from '../file-kind.ts';
import type { PythonTaskSpec } from '../graph/pipeline.ts';
import { installedModuleFile } from './python-installed-module.ts';

export type PythonLocation =
  | { task: PythonTaskSpec }
  | { problem: { message: string; hint?: string } };

const pythonIdentifier = /^[A-Za-z_]\w*$/;
const dottedName = /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/;

/** Whether `target` reads as a dotted Python module name (`pkg.module`). */
export function isDottedModuleName(target: string): boolean {
  return dottedName.test(target);
}

export function isPythonFile(target: string): boolean {
  return extname(target) === '.py';
}

/**
 * The PythonTaskSpec of `target:exportName`, or what is wrong with it. A dotted module found
 * in no directory is asked of `interpreter` (an installed package), which costs a start of it.
 * @param interpreter @default defaultInterpreter()
 * @param pythonPath the PYTHONPATH to search after `baseDir` @default process.env.PYTHONPATH
 */
export function locatePythonModule(
  target: string,
  exportName: string,
  style: 'function' | 'class',
  baseDir: string,
  interpreter: string = defaultInterpreter(),
  pythonPath: string | undefined = process.env.PYTHONPATH,
): PythonLocation {
  if (!pythonIdentifier.test(exportName)) {
    const what = style === 'class' ? 'class' : 'function';
    return {
      problem: {
        message: `'${exportName}' is not a Python ${what} name`,
        hint: `name the ${what} after the colon: "${target}:${style === 'class' ? 'ClassName' : 'function_name'}"`,
      },
    };
  }
  const task = { kind: 'python', style, exportName, cwd: baseDir } as const;
  if (isPythonFile(target)) {
    const file = resolve(baseDir, target);
    if (!isFile(file)) {
      return {
        problem: {
          message: `Python file not found: ${file}`,
          hint: `paths are relative to the pipeline file's directory, ${baseDir}`,
        },
      };
    }
    // Its own directory first, so that it imports its sibling modules as a script would.
    const searchPath = [...new Set([dirname(file), baseDir])];
    return { task: { ...task, file, searchPath } };
  }
  const roots = [baseDir, ...(pythonPath ?? '').split(delimiter).filter((entry) => entry !== '')];
  const relative = join(...target.split('.'));
  const tried: string[] = [];
  for (const root of roots) {
    for (const candidate of [`${relative}.py`, join(relative, '__init__.py')]) {
      const file = resolve(root, candidate);
      if (isFile(file)) return { task: { ...task, file, module: target, searchPath: [baseDir] } };
      tried.push(file);
    }
  }
  const installed = installedModuleFile(target, interpreter, [baseDir]);
  if (typeof installed === 'string') {
    return { task: { ...task, file: installed, module: target, searchPath: [baseDir] } };
  }
  const asked =
    installed.error === undefined ? '' : `; asking ${interpreter} failed: ${installed.error}`;
  return {
    problem: {
      message: `Python module '${target}' not found: looked for ${tried.slice(0, 2).join(' and ')}${roots.length > 1 ? ` and under ${roots.length - 1} PYTHONPATH entr${roots.length === 2 ? 'y' : 'ies'}` : ''}, and in ${interpreter}'s installed packages${asked}`,
      hint: `a dotted module is found under the pipeline file's directory (${baseDir}), then PYTHONPATH, then the interpreter's packages (python:); or name a file: script: "path/file.py:${exportName}"`,
    },
  };
}

/** The interpreter of a Python stage without `python:`: $GP_PYTHON, else python3 on PATH. */
export function defaultInterpreter(env: NodeJS.ProcessEnv = process.env): string {
  return env.GP_PYTHON || 'python3';
}

/**
 * The interpreter a `python:` setting names: a directory (a venv, `.venv`) means its
 * `bin/python`; any other path is taken from `baseDir`; a bare name that is no directory there
 * (`python3.11`) is looked up on PATH when the stage starts.
 */
export function interpreterPath(setting: string, baseDir: string): string {
  const path = resolve(baseDir, setting);
  if (isDirectory(path)) return join(path, 'bin', 'python');
  return setting.includes('/') ? path : setting;
}
