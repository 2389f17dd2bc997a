/** Small text formatters shared by the CLI's renderers. Pure. */

/** `0.4s`, `12.3s`, `2m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  const safe = Math.max(0, ms);
  if (safe < 59_950) return `${(safe / 1000).toFixed(1)}s`;
  const seconds = Math.round(safe / 1000);
  if (seconds < 3600)
    return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  const minutes = Math.floor(seconds / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** Local wall-clock time of an epoch-milliseconds timestamp, `HH:MM:SS`. */
export function formatClockTime(ts: number): string {
  const date = new Date(ts);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/**
 * One line standing for a possibly multi-line error message: its first line, and when there
 * are more, its last one (a command's last output line is usually the telling one).
 */
export function errorHeadline(message: string): string {
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (lines.length === 0) return 'failed';
  const first = lines[0]!;
  if (lines.length === 1) return first;
  return `${first.replace(/[:;,]\s*$/, '')} … ${lines[lines.length - 1]}`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal escape sequences
const ansiPattern = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** The text without its terminal escape sequences. */
export function stripAnsi(text: string): string {
  return text.replace(ansiPattern, '');
}

/** Cuts a line (which may hold colour codes) to `width` visible characters, ending in `…`. */
export function fitWidth(line: string, width: number): string {
  if (width <= 0 || stripAnsi(line).length <= width) return line;
  let visible = 0;
  let out = '';
  for (let i = 0; i < line.length; ) {
    ansiPattern.lastIndex = i;
    const match = line[i] === '\x1b' ? ansiPattern.exec(line) : null;
    if (match && match.index === i) {
      out += match[0];
      i += match[0].length;
      continue;
    }
    if (visible === width - 1) {
      out += '…';
      break;
    }
    const codePoint = line.codePointAt(i)!;
    const char = String.fromCodePoint(codePoint);
    out += char;
    visible++;
    i += char.length;
  }
  // Close any colour left open by the cut.
  return line.includes('\x1b[') ? `${out}\x1b[0m` : out;
}

/** `1 stage`, `3 stages`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
