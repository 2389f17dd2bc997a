/**
 * JSON data: what stage params hold. They cross process boundaries (`$GP_PARAMS`) and feed
 * cache keys, so anything JSON.stringify would drop or change silently is refused up front.
 */

export type JsonPath = readonly (string | number)[];

/** Where a value stops being JSON data, and what was found there. */
export interface NonJson {
  path: JsonPath;
  /** `a function`, `undefined`, `NaN`, `a Date`, `a circular reference` … */
  found: string;
}

/** What JSON data may be, in the words of an error message. */
export const jsonDataText =
  'JSON data (a string, a finite number, true/false, null, a list or a plain object)';

/** The first place where `value` stops being JSON data; undefined when all of it is. */
export function findNonJson(value: unknown): NonJson | undefined {
  return walk(value, [], new Set());
}

function walk(
  value: unknown,
  path: (string | number)[],
  ancestors: Set<object>,
): NonJson | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : { path, found: String(value) };
  if (typeof value !== 'object') return { path, found: describeType(value) };
  if (ancestors.has(value)) return { path, found: 'a circular reference' };
  if (!Array.isArray(value) && !isPlainObject(value)) {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return { path, found: typeof name === 'string' && name !== '' ? `a ${name}` : 'an object' };
  }
  ancestors.add(value);
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((item, i) => [i, item])
    : Object.entries(value);
  for (const [key, item] of entries) {
    const found = walk(item, [...path, key], ancestors);
    if (found) return found;
  }
  ancestors.delete(value);
  return undefined;
}

function describeType(value: unknown): string {
  if (value === undefined) return 'undefined';
  return typeof value === 'function' ? 'a function' : `a ${typeof value}`;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** A deep copy of JSON data, frozen: a stage cannot change the params its key was made of. */
export function frozenJsonCopy<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value)
    ? value.map(frozenJsonCopy)
    : Object.fromEntries(Object.entries(value).map(([key, item]) => [key, frozenJsonCopy(item)]));
  return Object.freeze(copy) as T;
}

/** `params.a[0].b`: a path as the messages of both front ends write it. */
export function formatJsonPath(root: string, path: JsonPath): string {
  return root + path.map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join('');
}
