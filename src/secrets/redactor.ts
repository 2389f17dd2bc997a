/**
 * Replaces every known secret value in a text with `***` (SPEC H2). One Redactor per CLI
 * invocation: the config loader adds what it finds, and every writer (terminal, events, run
 * store, stage logs, the audit export) passes its text through `redact`.
 */

/** What a secret is replaced with. */
export const secretMask = '***';

/**
 * Values shorter than this are not masked: replacing every `1` or `on` in the output would
 * garble it and protect nothing a guess would not find.
 */
export const minSecretLength = 4;

export class Redactor {
  readonly #secrets = new Set<string>();
  #pattern: RegExp | undefined;
  #values: readonly string[] | undefined;
  #longest = 0;

  /** Adds a secret value; returns false (and masks nothing) when it is shorter than `minLength`. */
  add(value: string, minLength = minSecretLength): boolean {
    if (value.length < Math.max(minLength, minSecretLength)) return false;
    if (!this.#secrets.has(value)) {
      this.#secrets.add(value);
      this.#pattern = undefined;
      this.#values = undefined;
      this.#longest = Math.max(this.#longest, value.length);
    }
    return true;
  }

  /** True when there is nothing to mask: writers then take their fast path. */
  get isEmpty(): boolean {
    return this.#secrets.size === 0;
  }

  /**
   * The secret values, for a worker thread or process that masks with a Redactor of its own (a
   * function cannot cross to it). The same array until `add` admits another.
   */
  get values(): readonly string[] {
    this.#values ??= Object.freeze([...this.#secrets]);
    return this.#values;
  }

  /** The length of the longest secret: a streaming filter keeps that much back at a cut. */
  get longest(): number {
    return this.#longest;
  }

  redact(text: string): string {
    if (this.#secrets.size === 0 || text.length === 0) return text;
    this.#pattern ??= alternation([...this.#secrets]);
    return text.replace(this.#pattern, secretMask);
  }

  /**
   * Redacts `text` but for a tail that may be the start of a secret the next chunk completes:
   * returns the redacted head and the raw tail to prepend to the next chunk.
   */
  redactHead(text: string): [head: string, tail: string] {
    if (this.#secrets.size === 0) return [text, ''];
    this.#pattern ??= alternation([...this.#secrets]);
    let cut = Math.max(0, text.length - (this.#longest - 1));
    const pattern = new RegExp(this.#pattern.source, 'g');
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      const end = match.index + match[0].length;
      if (match.index >= cut) break;
      if (end > cut) {
        cut = end;
        break;
      }
    }
    return [this.redact(text.slice(0, cut)), text.slice(cut)];
  }

  /** `redact` over every string in a JSON-like value, keys included; other values as they are. */
  redactDeep<T>(value: T): T {
    if (this.#secrets.size === 0) return value;
    return redactValue(value, (text) => this.redact(text)) as T;
  }
}

function redactValue(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, redact));
  if (
    value !== null &&
    typeof value === 'object' &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty: a key named __proto__ stays a key.
      Object.defineProperty(out, redact(key), {
        value: redactValue(item, redact),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/** One regular expression matching any of the values, the longest first where they overlap. */
function alternation(values: string[]): RegExp {
  const sorted = values.sort((a, b) => b.length - a.length);
  return new RegExp(
    sorted.map((value) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'),
    'g',
  );
}
