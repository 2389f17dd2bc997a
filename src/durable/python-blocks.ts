/**
 * The part of a Python module one exported function (or class) is made of: its own definition,
 * the top-level definitions it names, transitively, and every top-level statement that is not
 * a definition (imports, constants, code that runs on import), which any function may depend
 * on, with the definitions a decorator of the module's own may register. Editing another
 * stage's function, or a comment between definitions, leaves it alone; the definitions come
 * apart, so that `explain` can name the one that changed.
 *
 * Read from the source's layout, not by running a parser: a top-level statement starts at
 * column 0 outside brackets and strings. An `if __name__ == "__main__":` block is left out:
 * importing the module never runs it. What this cannot follow safely (a name looked up at
 * run time through `globals()`, `eval`…; source it cannot split) makes it give up, and the
 * whole file stands for the code.
 */

/** A top-level statement: its source lines, the names it uses, the name it defines. */
interface Statement {
  text: string;
  names: Set<string>;
  /** Set for `def`, `async def` and `class` statements (decorators included). */
  defines?: string;
  /** The names its decorators use. */
  decoratedWith?: Set<string>;
}

/** Names through which code reaches definitions this reading cannot see it use. */
const dynamicLookups = new Set(['globals', 'vars', 'locals', 'eval', 'exec']);
/** Keywords that continue the compound statement above them at column 0. */
const continuations = /^(?:else|elif|except|finally)\b/;
const definition = /^(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)/;
/** `NAME = …` or `NAME: type = …` at the start of a statement. */
const assigned = /^([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=(?!=)/;
/**
 * `if __name__ == "__main__":` with no `else`: code that never runs when a stage imports the
 * module (the bridge imports it under its own name), whatever it names.
 */
const mainGuard =
  /^if[ \t]+(?:__name__[ \t]*==[ \t]*(['"])__main__\1|(['"])__main__\2[ \t]*==[ \t]*__name__)[ \t]*:(?![\s\S]*\n(?:else|elif)\b)/;

/** What an export is made of: its own code, and each definition it names, by name. */
export interface PythonExportParts {
  /** The export's definition and the module-level statements, in file order. */
  own: string;
  /** The other definitions it reaches, in file order (a name defined twice: both, joined). */
  definitions: Map<string, string>;
}

/**
 * The statements `exportName` is made of; undefined when the source cannot be split or the
 * code looks names up at run time.
 */
export function pythonExportParts(
  source: string,
  exportName: string,
): PythonExportParts | undefined {
  const statements = topLevelStatements(source);
  if (statements === undefined) return undefined;
  const included = new Set<Statement>();
  const wanted = [exportName];
  const wantedNames = new Set(wanted);
  const include = (statement: Statement) => {
    if (included.has(statement)) return;
    included.add(statement);
    for (const name of statement.names) {
      if (wantedNames.has(name)) continue;
      wantedNames.add(name);
      wanted.push(name);
    }
  };
  const local = localNames(statements);
  for (const statement of statements) {
    if (statement.defines === undefined) {
      if (!mainGuard.test(statement.text)) include(statement);
    } else if ([...(statement.decoratedWith ?? [])].some((name) => local.has(name))) {
      // A decorator of this module's own may register the definition where the export finds
      // it without naming it (`HANDLERS[name]`): it counts as code run on import.
      include(statement);
    }
  }
  for (let w = 0; w < wanted.length; w++) {
    for (const statement of statements) if (statement.defines === wanted[w]) include(statement);
  }
  for (const name of wantedNames) if (dynamicLookups.has(name)) return undefined;
  if (wantedNames.has('sys') && wantedNames.has('modules')) return undefined; // sys.modules[…]
  const own: string[] = [];
  const definitions = new Map<string, string>();
  for (const statement of statements) {
    if (!included.has(statement)) continue;
    const name = statement.defines;
    if (name === undefined || name === exportName) own.push(statement.text);
    else definitions.set(name, [definitions.get(name), statement.text].filter(Boolean).join('\n'));
  }
  return { own: own.join('\n'), definitions };
}

/** Names the module defines or assigns at its top level. */
function localNames(statements: readonly Statement[]): Set<string> {
  const names = new Set<string>();
  for (const statement of statements) {
    const name = statement.defines ?? assigned.exec(statement.text)?.[1];
    if (name !== undefined) names.add(name);
  }
  return names;
}

/** The module's top-level statements; undefined where a string or bracket never closes. */
function topLevelStatements(source: string): Statement[] | undefined {
  const statements: Statement[] = [];
  const scanner = new NameScanner();
  /** The statement being read: lines of decorators held for it first, then its own. */
  let current:
    | { lines: string[]; names: Set<string>; head: string; decoratedWith?: Set<string> }
    | undefined;
  let held: { lines: string[]; names: Set<string> } | undefined;
  const close = () => {
    if (!current) return;
    if (current.head.startsWith('@')) {
      // A decorator: it belongs to the definition after it.
      held = current;
    } else {
      const defines = definition.exec(current.head)?.[1];
      const text = current.lines.join('\n');
      const { names, decoratedWith } = current;
      statements.push({
        text,
        names,
        ...(defines !== undefined && { defines }),
        ...(defines !== undefined && decoratedWith && { decoratedWith }),
      });
    }
    current = undefined;
  };
  for (const line of source.split(/\r?\n/)) {
    const between = scanner.atTopLevel();
    if (between && /^[^\s#]/.test(line) && !continuations.test(line)) {
      close();
      current = { lines: held?.lines ?? [], names: held?.names ?? new Set(), head: line };
      // The names so far are the decorators'.
      if (held) current.decoratedWith = new Set(held.names);
      held = undefined;
    } else if (between && /^\s*(?:#.*)?$/.test(line)) {
      // Comments and blank lines outside strings and brackets are no one's code.
      continue;
    }
    if (current) current.lines.push(line);
    scanner.scan(line, current?.names ?? new Set());
  }
  close();
  if (!scanner.atTopLevel() || held) return undefined;
  return statements;
}

/**
 * Walks source line by line, keeping what spans lines (open brackets, a triple-quoted string,
 * a backslash at a line's end) and collecting the names used outside strings and comments,
 * and inside f-strings, whose braces hold code.
 */
class NameScanner {
  #depth = 0;
  /** The quote of the string open across lines (`'''` or `"""`), and whether it is an f-string. */
  #open: { quote: string; code: boolean } | undefined;
  #continued = false;

  atTopLevel(): boolean {
    return this.#depth === 0 && this.#open === undefined && !this.#continued;
  }

  scan(line: string, names: Set<string>): void {
    let i = 0;
    this.#continued = false;
    if (this.#open) i = this.#string(line, 0, this.#open.quote, this.#open.code, names);
    while (i < line.length) {
      const c = line[i]!;
      if (c === '#') return;
      if (c === '\\' && i === line.length - 1) {
        this.#continued = true;
        return;
      }
      if ('([{'.includes(c)) this.#depth++;
      else if (')]}'.includes(c)) this.#depth = Math.max(0, this.#depth - 1);
      if (/[A-Za-z_]/.test(c)) {
        const word = /^[A-Za-z_]\w*/.exec(line.slice(i))![0];
        const quote = line[i + word.length];
        if ((quote === '"' || quote === "'") && /^[rbfut]{1,2}$/i.test(word)) {
          i = this.#openString(line, i + word.length, /[ft]/i.test(word), names);
          continue;
        }
        names.add(word);
        i += word.length;
        continue;
      }
      if (c === '"' || c === "'") {
        i = this.#openString(line, i, false, names);
        continue;
      }
      i++;
    }
  }

  #openString(line: string, at: number, code: boolean, names: Set<string>): number {
    const c = line[at]!;
    const quote = line.startsWith(c.repeat(3), at) ? c.repeat(3) : c;
    return this.#string(line, at + quote.length, quote, code, names);
  }

  /** Reads a string's body from `at`; returns where it ended, or the line's end if it did not. */
  #string(line: string, at: number, quote: string, code: boolean, names: Set<string>): number {
    let i = at;
    while (i < line.length) {
      if (line[i] === '\\') {
        i += 2;
        continue;
      }
      if (line.startsWith(quote, i)) {
        this.#open = undefined;
        if (code) this.#codeIn(line.slice(at, i), names);
        return i + quote.length;
      }
      i++;
    }
    if (code) this.#codeIn(line.slice(at), names);
    // A one-quote string left open ends at the line (a syntax error the run reports), unless
    // a backslash continues it.
    if (quote.length === 3 || line.endsWith('\\')) this.#open = { quote, code };
    else this.#open = undefined;
    return line.length;
  }

  /** Every name-like word of an f-string counts: more than its braces hold, never less. */
  #codeIn(text: string, names: Set<string>): void {
    for (const match of text.matchAll(/[A-Za-z_]\w*/g)) names.add(match[0]);
  }
}
