/**
 * The code a command runs, read from its command line (SPEC C3): the script an interpreter is
 * given (`python3 train.py`, `bash scripts/run`, `python3 -m pkg.train`), a program given by a
 * relative path (`./run.sh`), the scripts and config files named as arguments, and what those
 * import or source — through `sh -c '…'`, `env`, `timeout` and `cd dir &&` on the way.
 *
 * Words with shell expansions (`$OUTPUT_ROOT/x.py`, `*.py`) and redirection targets are left
 * out. A file the command itself rewrites is taken as the command left it (stage-cache.ts).
 */
import { basename, delimiter, extname, isAbsolute, resolve } from 'node:path';
import { isFile } from '../file-kind.ts';
import { Closure, type CodeFile, scriptExtensions } from './code-files.ts';

/** What an argument's extension makes code: scripts and configuration, not data. */
const codeExtensions = new Set([
  ...scriptExtensions,
  '.py',
  '.sh',
  '.bash',
  '.zsh',
  '.r',
  '.jl',
  '.rb',
  '.pl',
  '.lua',
  '.awk',
  '.yaml',
  '.yml',
  '.toml',
  '.ini',
  '.cfg',
  '.conf',
]);

const shells = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh']);
/** Programs whose first argument that is not an option is the script they run. */
const interpreters = new Set([
  'node',
  'deno',
  'bun',
  'tsx',
  'ts-node',
  'Rscript',
  'perl',
  'ruby',
  'julia',
  'lua',
  'php',
]);
/** Programs that run the rest of their command line: `env A=1 python3 x.py`, `timeout 60 …`. */
const wrappers = new Set(['env', 'timeout', 'nice', 'nohup', 'time', 'stdbuf', 'exec', 'command']);
/** Options of those that take a value as the next word. */
const wrapperValueOptions = new Set([
  '-u',
  '-s',
  '-k',
  '-n',
  '-C',
  '-S',
  '--signal',
  '--kill-after',
]);

/**
 * The code files of a command that runs in `cwd` with `env` (its `PYTHONPATH` is where Python
 * modules are found, with the directory they are run from).
 */
export function commandCode(
  argv: readonly string[],
  shell: boolean,
  cwd: string,
  env: Readonly<Record<string, string>> | undefined,
): CodeFile[] {
  const pythonPath = (env?.PYTHONPATH ?? '').split(delimiter).filter(Boolean);
  const files = new Closure(cwd, [...pythonPath.map((dir) => resolve(cwd, dir)), cwd]);
  const reader = new CommandReader(files);
  if (shell) reader.script(argv.join(' '), cwd);
  else reader.command(argv, cwd);
  return files.list;
}

class CommandReader {
  readonly #files: Closure;

  constructor(files: Closure) {
    this.#files = files;
  }

  /** A shell script: each of its commands, `cd` moving where the next ones run. */
  script(text: string, cwd: string): void {
    let dir = cwd;
    for (const words of shellCommands(text)) {
      if (words[0] === 'cd') {
        if (words[1] !== undefined && isLiteral(words[1])) dir = resolve(dir, words[1]);
        continue;
      }
      this.command(words, dir);
    }
  }

  command(words: readonly string[], cwd: string): void {
    let at = 0;
    while (at < words.length && wrappers.has(basename(words[at]!))) at = afterWrapper(words, at);
    const program = words[at];
    if (program === undefined) return;
    const name = basename(program);
    const args = words.slice(at + 1);
    if (program.includes('/') && !isAbsolute(program)) this.#file(program, cwd);
    if (shells.has(name)) {
      const script = shellScriptOf(args);
      if (script !== undefined) {
        this.script(script, cwd);
        return;
      }
      this.#file(firstOperand(args), cwd);
    } else if (/^python[\d.]*$/.test(name)) {
      const module = optionValue(args, '-m');
      if (module !== undefined) this.#files.addPythonModule(module);
      else if (optionValue(args, '-c') === undefined) this.#file(firstOperand(args), cwd);
    } else if (interpreters.has(name)) {
      this.#file(firstOperand(args), cwd);
    }
    for (const arg of args) {
      const path = arg.startsWith('-') && arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : arg;
      if (codeExtensions.has(extname(path).toLowerCase())) this.#file(path, cwd);
    }
  }

  #file(path: string | undefined, cwd: string): void {
    if (path === undefined || path === '' || !isLiteral(path)) return;
    const file = resolve(cwd, path);
    if (isFile(file)) this.#files.add(file);
  }
}

/** A word the shell takes as it is: no expansion, no glob. */
function isLiteral(word: string): boolean {
  return !/[$*?[{`~]/.test(word);
}

/** Where the wrapped command starts: past the wrapper, its options and their values. */
function afterWrapper(words: readonly string[], at: number): number {
  const wrapper = basename(words[at]!);
  let next = at + 1;
  for (; next < words.length; next++) {
    const word = words[next]!;
    if (wrapperValueOptions.has(word)) next++;
    else if (word.startsWith('-')) continue;
    else if (wrapper === 'env' && /^\w+=/.test(word)) continue;
    else if (wrapper === 'timeout')
      return next + 1; // the duration
    else break;
  }
  return next;
}

/** The script of `sh -c SCRIPT`, also with other options first (`bash -e -c`, `bash -lc`). */
function shellScriptOf(args: readonly string[]): string | undefined {
  for (const [i, arg] of args.entries()) {
    if (!arg.startsWith('-') || arg.startsWith('--')) return undefined;
    if (arg.slice(1).includes('c')) return args[i + 1];
  }
  return undefined;
}

function optionValue(args: readonly string[], option: string): string | undefined {
  for (const [i, arg] of args.entries()) {
    if (arg === option) return args[i + 1];
    if (!arg.startsWith('-')) return undefined;
  }
  return undefined;
}

function firstOperand(args: readonly string[]): string | undefined {
  return args.find((arg) => !arg.startsWith('-'));
}

/**
 * The commands of a shell script, as words with quotes taken off; operators (`;`, `&&`, `|`,
 * newlines) end a command, and a redirection's target is left out: it is what the command
 * writes, or reads as data.
 */
function shellCommands(script: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let redirected = false;
  const tokens = /"((?:[^"\\]|\\.)*)"|'([^']*)'|([;&|()\n]+)|(\d*[<>]+&?)|([^\s;&|<>()"']+)/g;
  for (const match of script.matchAll(tokens)) {
    if (match[3] !== undefined) {
      if (words.length > 0) commands.push(words);
      words = [];
    } else if (match[4] !== undefined) {
      redirected = true;
    } else {
      if (!redirected) words.push(match[1] ?? match[2] ?? match[5]!);
      redirected = false;
    }
  }
  if (words.length > 0) commands.push(words);
  return commands;
}
