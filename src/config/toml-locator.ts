/**
 * Maps paths in a TOML document (`['resource', 'cpu_request']`, `['operator_ids', 1]`) back to
 * the 1-based line and column where the file wrote them. smol-toml gives values without
 * positions, so this scans the source once: table headers, keys, and the values of arrays and
 * inline tables. It runs only on text smol-toml has parsed, so it may assume the syntax is valid;
 * where it cannot place a path it gives the nearest ancestor it placed.
 */
import type { Position, YamlPath } from './yaml-locator.ts';

export type TomlPath = YamlPath;

interface Spot {
  /** Where the key was written (absent for array items and tables made by a header). */
  key?: number;
  /** Where the value starts: the value itself, or the `[table]` header. */
  value: number;
}

export class TomlLocator {
  readonly #spots = new Map<string, Spot>();
  readonly #lineStarts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.#lineStarts.push(i + 1);
    try {
      new Scanner(text, this.#spots).document();
    } catch {
      // A construct the scanner does not know: what it placed before it stays usable.
    }
  }

  /** Where the value at `path` starts; a path that leads nowhere gives its nearest ancestor. */
  at(path: TomlPath): Position {
    for (let depth = path.length; depth > 0; depth--) {
      const spot = this.#spots.get(pathKey(path.slice(0, depth)));
      if (spot)
        return this.#position(depth === path.length ? spot.value : (spot.key ?? spot.value));
    }
    return { line: 1, column: 1 };
  }

  /** Where the key `key` of the table at `path` is written, else where the table is. */
  keyAt(path: TomlPath, key: string): Position {
    const spot = this.#spots.get(pathKey([...path, key]));
    if (spot) return this.#position(spot.key ?? spot.value);
    return this.at(path);
  }

  #position(offset: number): Position {
    let low = 0;
    let high = this.#lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.#lineStarts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    return { line: low + 1, column: offset - this.#lineStarts[low]! + 1 };
  }
}

function pathKey(path: TomlPath): string {
  return JSON.stringify(path);
}

const bareKeyChar = /[A-Za-z0-9_-]/;

/** One pass over valid TOML, recording where each path is written. */
class Scanner {
  readonly #text: string;
  readonly #spots: Map<string, Spot>;
  #at = 0;
  /** Items seen so far of each array of tables. */
  readonly #arrayTables = new Map<string, number>();

  constructor(text: string, spots: Map<string, Spot>) {
    this.#text = text;
    this.#spots = spots;
  }

  document(): void {
    let table: (string | number)[] = [];
    for (;;) {
      this.#skipBlank(true);
      if (this.#at >= this.#text.length) return;
      const start = this.#at;
      if (this.#text.startsWith('[[', start)) {
        this.#at += 2;
        const keys = this.#key().map((k) => k.name);
        this.#at = this.#text.indexOf(']]', this.#at) + 2;
        const arrayKey = pathKey(keys);
        const index = (this.#arrayTables.get(arrayKey) ?? -1) + 1;
        this.#arrayTables.set(arrayKey, index);
        this.#record(keys, { value: start });
        table = [...keys, index];
        this.#record(table, { value: start });
      } else if (this.#text[start] === '[') {
        this.#at += 1;
        table = this.#key().map((k) => k.name);
        this.#at = this.#text.indexOf(']', this.#at) + 1;
        this.#record(table, { value: start }, true);
      } else {
        this.#keyValue(table);
      }
    }
  }

  /** `a.b = value`, inside the table (or inline table) at `table`. */
  #keyValue(table: readonly (string | number)[]): void {
    const keys = this.#key();
    const path = [...table];
    for (const key of keys) {
      path.push(key.name);
      this.#record(path, { key: key.at, value: key.at });
    }
    this.#skipBlank(false);
    this.#at += 1; // '='
    this.#skipBlank(false);
    this.#value(path, keys.at(-1)!.at);
  }

  #value(path: readonly (string | number)[], keyAt?: number): void {
    const start = this.#at;
    this.#record(path, keyAt === undefined ? { value: start } : { key: keyAt, value: start }, true);
    const text = this.#text;
    const char = text[start];
    if (text.startsWith('"""', start) || text.startsWith("'''", start)) {
      const fence = text.slice(start, start + 3);
      let end = start + 3;
      for (;;) {
        end = text.indexOf(fence, end);
        if (end < 0) throw new Error('unclosed string');
        if (fence === '"""' && isEscaped(text, end)) {
          end += 1;
          continue;
        }
        break;
      }
      // Up to two quotes may end the content just before the closing fence.
      let close = end + 3;
      while (text[close] === fence[0] && close < end + 5) close++;
      this.#at = close;
    } else if (char === '"' || char === "'") {
      this.#at = this.#stringEnd(start);
    } else if (char === '[') {
      this.#at += 1;
      for (let index = 0; ; index++) {
        this.#skipBlank(true);
        if (text[this.#at] === ']') break;
        this.#value([...path, index]);
        this.#skipBlank(true);
        if (text[this.#at] === ',') this.#at += 1;
      }
      this.#at += 1;
    } else if (char === '{') {
      this.#at += 1;
      for (;;) {
        this.#skipBlank(true);
        if (text[this.#at] === '}') break;
        this.#keyValue(path);
        this.#skipBlank(true);
        if (text[this.#at] === ',') this.#at += 1;
      }
      this.#at += 1;
    } else {
      // A number, boolean or date: it ends where the next separator begins.
      while (this.#at < text.length && !',]}\n#'.includes(text[this.#at]!)) this.#at++;
    }
  }

  /** A dotted key: its parts and where each starts. */
  #key(): { name: string; at: number }[] {
    const keys: { name: string; at: number }[] = [];
    for (;;) {
      this.#skipBlank(false);
      const start = this.#at;
      const char = this.#text[start];
      let name: string;
      if (char === '"' || char === "'") {
        this.#at = this.#stringEnd(start);
        const raw = this.#text.slice(start + 1, this.#at - 1);
        name = char === '"' ? unescapeBasic(raw) : raw;
      } else {
        while (this.#at < this.#text.length && bareKeyChar.test(this.#text[this.#at]!)) this.#at++;
        name = this.#text.slice(start, this.#at);
        if (name === '') throw new Error(`no key at ${start}`);
      }
      keys.push({ name, at: start });
      this.#skipBlank(false);
      if (this.#text[this.#at] !== '.') return keys;
      this.#at += 1;
    }
  }

  /** The offset just after the one-line string starting at `start`. */
  #stringEnd(start: number): number {
    const quote = this.#text[start]!;
    let end = start + 1;
    for (;;) {
      end = this.#text.indexOf(quote, end);
      if (end < 0) throw new Error('unclosed string');
      if (quote === '"' && isEscaped(this.#text, end)) {
        end += 1;
        continue;
      }
      return end + 1;
    }
  }

  /** Skips spaces and tabs, comments, and line breaks too when `lines`. */
  #skipBlank(lines: boolean): void {
    const text = this.#text;
    while (this.#at < text.length) {
      const char = text[this.#at];
      if (char === ' ' || char === '\t' || (lines && (char === '\n' || char === '\r'))) {
        this.#at++;
      } else if (char === '#') {
        const end = text.indexOf('\n', this.#at);
        this.#at = end < 0 ? text.length : lines ? end + 1 : end;
      } else {
        return;
      }
    }
  }

  /** The first place a path is written is where it is defined; a header wins over a key. */
  #record(path: readonly (string | number)[], spot: Spot, replace = false): void {
    const key = pathKey(path);
    if (replace || !this.#spots.has(key)) this.#spots.set(key, spot);
  }
}

/** Whether the quote at `at` is escaped by an odd number of backslashes before it. */
function isEscaped(text: string, at: number): boolean {
  let slashes = 0;
  for (let i = at - 1; i >= 0 && text[i] === '\\'; i--) slashes++;
  return slashes % 2 === 1;
}

const escapes: Readonly<Record<string, string>> = {
  b: '\b',
  t: '\t',
  n: '\n',
  f: '\f',
  r: '\r',
  e: '\u001b',
  '"': '"',
  '\\': '\\',
};

function unescapeBasic(raw: string): string {
  return raw.replace(/\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|x[0-9A-Fa-f]{2}|.)/g, (_, code: string) =>
    code.length > 1
      ? String.fromCodePoint(Number.parseInt(code.slice(1), 16))
      : (escapes[code] ?? code),
  );
}
