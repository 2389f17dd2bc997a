/**
 * How each kind of environment is made in its directory, by the tool's documented commands:
 * venv (`python3 -m venv`, `pip install -r`), uv (`uv venv`, `uv pip install -r`), pixi
 * (`pixi install --manifest-path`), conda (a conda-pack archive unpacked, `conda-unpack`) and
 * npm (`npm ci` / `npm install`). Every command gets an argv, never a shell string.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { EnvironmentKind, EnvironmentSpec } from '../../graph/pipeline.ts';
import { lockFileOf } from './environment-hash.ts';

/** Runs one command with its output in the environment's log; rejects when it fails. */
export type RunStep = (argv: readonly string[], options?: { cwd?: string }) => Promise<void>;

export interface EnvironmentRecipe {
  /** The programs it needs on PATH, checked before anything is touched. */
  tools(spec: EnvironmentSpec): readonly string[];
  /** Makes the environment in `spec.dir`, which exists and is empty. */
  build(spec: EnvironmentSpec, run: RunStep): Promise<void>;
}

/** The interpreter venvs are made with: $GP_PYTHON, else python3 (as Python stages use). */
function basePython(): string {
  return process.env.GP_PYTHON || 'python3';
}

const extra = (spec: EnvironmentSpec) => spec.extraArgs ?? [];

export const environmentRecipes: Readonly<Record<EnvironmentKind, EnvironmentRecipe>> = {
  venv: {
    tools: () => [basePython()],
    async build(spec, run) {
      await run([basePython(), '-m', 'venv', spec.dir]);
      await run([join(spec.dir, 'bin', 'python'), '-m', 'pip', 'install', '-r', spec.source], {
        cwd: dirname(spec.source),
      });
    },
  },
  uv: {
    tools: () => ['uv'],
    async build(spec, run) {
      await run(['uv', 'venv', spec.dir]);
      // -r of a pyproject.toml installs the project's dependencies, not the project.
      await run(
        [
          'uv',
          'pip',
          'install',
          '--python',
          join(spec.dir, 'bin', 'python'),
          '-r',
          spec.source,
          ...extra(spec),
        ],
        { cwd: dirname(spec.source) },
      );
    },
  },
  pixi: {
    tools: () => ['pixi'],
    async build(spec, run) {
      // A copy, so that pixi's .pixi/ and lock land in the env dir, not in the operator's code.
      const manifest = join(spec.dir, 'pixi.toml');
      copyFileSync(spec.source, manifest);
      const lock = lockFileOf(spec);
      if (lock) copyFileSync(lock, join(spec.dir, 'pixi.lock'));
      if (spec.channels && spec.channels.length > 0)
        await run([
          'pixi',
          'project',
          'channel',
          'add',
          '--manifest-path',
          manifest,
          ...spec.channels,
        ]);
      await run(['pixi', 'install', '--manifest-path', manifest, ...extra(spec)]);
    },
  },
  conda: {
    tools: (spec) => (/\.zst$/i.test(spec.source) ? ['tar', 'zstd'] : ['tar']),
    async build(spec, run) {
      const unpack = /\.zst$/i.test(spec.source)
        ? ['--use-compress-program', ['zstd', '-d', ...extra(spec)].join(' ')]
        : [];
      // GNU tar finds gzip, bzip2 and xz by itself.
      await run(['tar', ...unpack, '-x', '-f', spec.source, '-C', spec.dir]);
      // conda-pack's fix-up of the prefixes baked into the packed environment.
      const conda = join(spec.dir, 'bin', 'conda-unpack');
      if (existsSync(conda)) await run([conda], { cwd: spec.dir });
    },
  },
  npm: {
    tools: () => ['npm'],
    async build(spec, run) {
      writeFileSync(join(spec.dir, 'package.json'), packageJsonFor(spec.source));
      const lock = lockFileOf(spec);
      if (lock) copyFileSync(lock, join(spec.dir, 'package-lock.json'));
      await run(['npm', lock ? 'ci' : 'install', '--no-audit', '--no-fund'], { cwd: spec.dir });
    },
  },
};

const dependencyKeys = [
  'dependencies',
  'devDependencies',
  'optionalDependencies',
  'peerDependencies',
] as const;

/**
 * package.json as written, but for `file:` dependencies relative to it, made absolute: npm
 * installs in the env dir, where a relative path would point elsewhere.
 */
function packageJsonFor(source: string): string {
  const text = readFileSync(source, 'utf8');
  const manifest = JSON.parse(text) as Record<string, unknown>;
  for (const key of dependencyKeys) {
    const deps = manifest[key];
    if (deps === null || typeof deps !== 'object') continue;
    for (const [name, version] of Object.entries(deps as Record<string, unknown>)) {
      if (typeof version !== 'string' || !version.startsWith('file:')) continue;
      const target = version.slice('file:'.length);
      if (!isAbsolute(target))
        (deps as Record<string, string>)[name] = `file:${resolve(dirname(source), target)}`;
    }
  }
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
