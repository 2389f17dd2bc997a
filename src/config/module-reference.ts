/**
 * Module references of the YAML format — `"./stages.ts:load"`, `"script.py:main"`,
 * `"mymodules.module1:MyModule"` — resolved to a TaskSpec by a table of resolvers keyed by the
 * kind of reference, so that the Python bridge adds its resolvers without touching the loader.
 */
import { stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import type { TaskSpec } from '../graph/pipeline.ts';
import { isDottedModuleName, isPythonFile, locatePythonModule } from './python-module-locator.ts';

export type ModuleStyle = 'function' | 'class';

/** A reference split at its last colon: `target:exportName`. */
export interface ModuleReference {
  /** The reference as written. */
  text: string;
  /** What comes before the colon: a file path or a dotted module name. */
  target: string;
  exportName: string;
  /** `path:` names a class with `run(context)`, `script:` a function. */
  style: ModuleStyle;
  /** The directory of the pipeline file, which relative paths start from. */
  baseDir: string;
  /** The interpreter a Python module would run with (`python:`), which knows its installed packages. */
  python?: string;
}

export type Resolution = { task: TaskSpec } | { problem: { message: string; hint?: string } };

export interface ModuleResolver {
  readonly kind: string;
  /** Whether this resolver handles `target`; the first resolver that does, resolves it. */
  matches(target: string): boolean;
  resolve(reference: ModuleReference): Promise<Resolution>;
}

export const javaScriptExtensions = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'] as const;

const identifier = /^[A-Za-z_$][\w$]*$/;

export const javaScriptResolver: ModuleResolver = {
  kind: 'javascript',
  matches: (target) => (javaScriptExtensions as readonly string[]).includes(extname(target)),
  async resolve(reference) {
    if (!identifier.test(reference.exportName)) {
      return {
        problem: {
          message: `'${reference.exportName}' is not a JavaScript export name`,
          hint: 'name the export after the colon: "./file.ts:exportName"',
        },
      };
    }
    const file = resolve(reference.baseDir, reference.target);
    const found = await stat(file).catch(() => undefined);
    if (!found?.isFile()) {
      return {
        problem: {
          message: `module file not found: ${file}`,
          hint: `paths are relative to the pipeline file's directory, ${reference.baseDir}`,
        },
      };
    }
    return {
      task: { kind: 'module', file, exportName: reference.exportName, style: reference.style },
    };
  },
};

/** `path/file.py:function` or `path/file.py:ClassName`, relative to the pipeline file. */
export const pythonFileResolver: ModuleResolver = {
  kind: 'python-file',
  matches: isPythonFile,
  resolve: async (reference) =>
    locatePythonModule(
      reference.target,
      reference.exportName,
      reference.style,
      reference.baseDir,
      reference.python,
    ),
};

/** `pkg.module:ClassName`, found under the pipeline file's directory, then PYTHONPATH. */
export const pythonModuleResolver: ModuleResolver = {
  kind: 'python-module',
  matches: isDottedModuleName,
  async resolve(reference) {
    const location = locatePythonModule(
      reference.target,
      reference.exportName,
      reference.style,
      reference.baseDir,
      reference.python,
    );
    // `stages:load` may be a JavaScript file given without its extension.
    if ('problem' in location && !reference.target.includes('.')) {
      location.problem.hint = `${location.problem.hint}; a JavaScript or TypeScript module needs its extension: "./${reference.target}.ts:${reference.exportName}"`;
    }
    return location;
  },
};

/** Tried in order; JavaScript first, since `stages.ts` is also a valid dotted Python name. */
export const defaultModuleResolvers: readonly ModuleResolver[] = [
  javaScriptResolver,
  pythonFileResolver,
  pythonModuleResolver,
];

export async function resolveModuleReference(
  text: string,
  style: ModuleStyle,
  baseDir: string,
  resolvers: readonly ModuleResolver[] = defaultModuleResolvers,
  python?: string,
): Promise<Resolution> {
  const colon = text.lastIndexOf(':');
  const target = colon < 0 ? text : text.slice(0, colon).trim();
  const exportName = colon < 0 ? '' : text.slice(colon + 1).trim();
  if (target === '' || exportName === '') {
    const example = style === 'class' ? 'ClassName' : 'functionName';
    return {
      problem: {
        message: `'${text}' names no ${style === 'class' ? 'class' : 'function'}`,
        hint: `write it as "${target || './file.ts'}:${example}"`,
      },
    };
  }
  const reference: ModuleReference = { text, target, exportName, style, baseDir };
  if (python !== undefined) reference.python = python;
  const resolver = resolvers.find((candidate) => candidate.matches(target));
  if (!resolver) {
    return {
      problem: {
        message: `cannot tell what kind of module '${target}' is`,
        hint: `name a file ending in ${javaScriptExtensions.join(', ')} or .py, or a dotted Python module (pkg.module)`,
      },
    };
  }
  return resolver.resolve(reference);
}
