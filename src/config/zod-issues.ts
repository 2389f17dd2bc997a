/**
 * Turns zod's issues about a pipeline file (YAML or TOML) into messages written for the person
 * editing it: which key, what it must be, what it is, and the key they probably meant. How a
 * format names places and keys is its `IssueWording`.
 */
import type * as z from 'zod';
import { didYouMean } from '../graph/did-you-mean.ts';
import { envConfigBranch } from './env-config.ts';
import type { YamlPath } from './yaml-locator.ts';
import { keysAt } from './yaml-schema.ts';

/** How one file format talks about places in its documents. */
export interface IssueWording {
  /** The keys the object at `path` accepts, for "did you mean" hints. */
  keysAt(path: YamlPath): readonly string[] | undefined;
  /** The node at `path` as a message names it (`resources.cpus`). */
  label(path: YamlPath): string;
  /** ` in <label>`, or how the format says "at the top". */
  inLabel(path: YamlPath): string;
  /** How to write `key` under `parent` instead: the hint for a key one level too high. */
  belongsUnder(parent: string, key: string): string;
  /** Which branch of a union at `path` the input meant, when the format can tell. */
  unionBranch?(path: YamlPath, input: unknown): number | undefined;
}

/** One problem at a place in the document, before it is given a line and column. */
export interface PathIssue {
  /** The node the problem is about. */
  path: YamlPath;
  /** Set when the problem is a key of the mapping at `path`, not its value. */
  key?: string;
  message: string;
  hint?: string;
}

const expectedNames: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

/**
 * `root` is the whole document as plain data, to show what the file holds at each path;
 * `prefix` is where the issue's paths start (inside a union branch).
 */
export function describeZodIssue(
  issue: z.core.$ZodIssue,
  root: unknown,
  wording: IssueWording = yamlWording,
  prefix: YamlPath = [],
): PathIssue[] {
  const path = [
    ...prefix,
    ...(issue.path.filter((step) => typeof step !== 'symbol') as (string | number)[]),
  ];
  const input = valueAt(root, path);
  const parent = path.slice(0, -1);
  const label = wording.label(path);
  const inLabel = wording.inLabel;
  switch (issue.code) {
    case 'invalid_type': {
      if (input === undefined && path.length > 0) {
        return [
          {
            path: parent,
            message: `missing required key '${String(path.at(-1))}'${inLabel(parent)}`,
          },
        ];
      }
      const expected = expectedNames[issue.expected] ?? issue.expected;
      const hint =
        issue.expected === 'array' && (typeof input === 'string' || typeof input === 'number')
          ? `write a list: [${String(input)}]`
          : undefined;
      return [
        withHint(
          { path, message: `${label} must be ${expected}, got ${describeValue(input)}` },
          hint,
        ),
      ];
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      const hint = typeof input === 'string' ? didYouMean(input, values) : undefined;
      return [
        withHint(
          {
            path,
            message: `${label} must be one of ${values.join(', ')}, got ${describeValue(input)}`,
          },
          hint,
        ),
      ];
    }
    case 'unrecognized_keys': {
      const allowed = wording.keysAt(path) ?? [];
      return issue.keys.map((key) =>
        withHint(
          { path, key, message: `unknown key '${key}'${inLabel(path)}` },
          unknownKeyHint(key, path, allowed, wording),
        ),
      );
    }
    case 'invalid_union': {
      const branch = unionBranch(issue, path, input, wording);
      if (branch !== undefined)
        return branch.flatMap((inner) => describeZodIssue(inner, root, wording, path));
      const got = input === undefined ? '' : `, got ${describeValue(input)}`;
      return [{ path, message: `${label} ${issue.message}${got}` }];
    }
    default: {
      const got = input === undefined ? '' : `, got ${describeValue(input)}`;
      return [{ path, message: `${label} ${issue.message}${got}` }];
    }
  }
}

/**
 * The issues of the union branch the input meant: the one the format names, else the only one
 * whose complaint is not the input's type itself (a list given where a list or a table goes).
 */
function unionBranch(
  issue: z.core.$ZodIssueInvalidUnion,
  path: YamlPath,
  input: unknown,
  wording: IssueWording,
): readonly z.core.$ZodIssue[] | undefined {
  const named = wording.unionBranch?.(path, input);
  if (named !== undefined) return issue.errors[named];
  const fitting = issue.errors.filter(
    (branch) => !branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0),
  );
  return fitting.length === 1 ? fitting[0] : undefined;
}

function unknownKeyHint(
  key: string,
  path: YamlPath,
  allowed: readonly string[],
  wording: IssueWording,
): string | undefined {
  const close = didYouMean(key, allowed);
  if (close) return close;
  // `cpus: 2` written on the module rather than under `resources:`.
  const parent = allowed.find((candidate) => wording.keysAt([...path, candidate])?.includes(key));
  if (parent) return wording.belongsUnder(parent, key);
  return allowed.length > 0 ? `allowed keys: ${allowed.join(', ')}` : undefined;
}

/** The index of the module a path is inside, when it is inside one. */
export function moduleIndexOf(path: YamlPath): number | undefined {
  return path[0] === 'pipeline' && path[1] === 'modules' && typeof path[2] === 'number'
    ? path[2]
    : undefined;
}

/**
 * How a message names the node at `path`: relative to its module (`resources.cpus`), since the
 * issue names the module; else relative to `pipeline` (`execution.mode`, `modules[2]`).
 */
export function labelOf(path: YamlPath): string {
  if (path.length === 0) return 'the file';
  if (path.length === 1) return String(path[0]);
  const inModule = moduleIndexOf(path) !== undefined && path.length > 3;
  const steps = path.slice(inModule ? 3 : 1);
  return steps
    .map((step, i) => (typeof step === 'number' ? `[${step}]` : i === 0 ? step : `.${step}`))
    .join('');
}

function yamlInLabel(path: YamlPath): string {
  if (moduleIndexOf(path) !== undefined && path.length === 3) return '';
  return path.length === 0 ? ' at the top of the file' : ` in ${labelOf(path)}`;
}

/** The YAML format's wording. */
export const yamlWording: IssueWording = {
  keysAt,
  label: labelOf,
  inLabel: yamlInLabel,
  belongsUnder: (parent, key) => `it belongs under '${parent}': ${parent}: {${key}: ...}`,
  unionBranch: (path, input) =>
    path.at(-1) === 'environment' ? envConfigBranch(input) : undefined,
};

export function describeValue(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

export function valueAt(root: unknown, path: YamlPath): unknown {
  let value = root;
  for (const step of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[step];
  }
  return value;
}

function withHint(issue: PathIssue, hint: string | undefined): PathIssue {
  return hint === undefined ? issue : { ...issue, hint };
}
