/**
 * The line format of `stage.log` (SPEC E2): `2026-12-01T20:00:00.123Z stdout | text`.
 *
 * One file, timestamp and stream on every line, rather than plain text plus a sidecar index:
 * `cat` and `grep` still read it, `tail -f` follows it, and a line keeps its stream and time
 * when it is copied anywhere. The native spawn helper writes it (native/spawn-helper.c), the
 * Node spawner through `LineStamper`, `context.log` directly.
 */

export type LogStream = 'stdout' | 'stderr';

export interface LogLine {
  /** Milliseconds since the epoch; NaN for a line not in this format. */
  time: number;
  /** The ISO text of `time`, as written. */
  timestamp: string;
  stream: LogStream;
  text: string;
}

const separator = ' | ';
/** `YYYY-MM-DDTHH:MM:SS.mmmZ` is 24 characters, then a space, the stream, ` | `. */
const textStart = 24 + 1 + 6 + separator.length;

export function formatLogLine(timestamp: string, stream: LogStream, text: string): string {
  return `${timestamp} ${stream}${separator}${text}\n`;
}

/**
 * A line of `stage.log` (without its newline). A line in no known format (an older run's log)
 * is stdout text with no time.
 */
export function parseLogLine(line: string): LogLine {
  if (
    line.length >= textStart - 1 &&
    line.charCodeAt(23) === 90 /* Z */ &&
    line.startsWith(separator.trimEnd(), 31)
  ) {
    const stream = line.slice(25, 31);
    if (stream === 'stdout' || stream === 'stderr') {
      const timestamp = line.slice(0, 24);
      return { time: Date.parse(timestamp), timestamp, stream, text: line.slice(textStart) };
    }
  }
  return { time: Number.NaN, timestamp: '', stream: 'stdout', text: line };
}
