/**
 * What a benchmark child process shares with the orchestrator: its arguments
 * (`--key value` pairs) and the one line it prints at the end, `BENCH_RESULT {json}`.
 */

export const resultPrefix = 'BENCH_RESULT ';

export interface CaseResult {
  /** Stages in the DAG. */
  stages: number;
  /** The measured (first, cold) execution, in milliseconds. */
  wallMs: number;
  /** Median of further executions in the same process, when any were asked for. */
  warmMs?: number;
  /** Peak resident set size of the measuring process (or the tool), in KiB. */
  maxRssKb: number;
  /** Peak RSS before the DAG was built (the runtime's own footprint), in KiB. */
  startRssKb?: number;
  /** True when the implementation ran every stage exactly once. */
  verified: boolean;
  note?: string;
}

export function parseCaseArgs(
  argv: readonly string[] = process.argv.slice(2),
): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i]!;
    if (!key.startsWith('--')) throw new Error(`unexpected argument '${key}'`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) args.set(key.slice(2), 'true');
    else {
      args.set(key.slice(2), value);
      i++;
    }
  }
  return args;
}

export function requireArg(args: Map<string, string>, key: string): string {
  const value = args.get(key);
  if (value === undefined) throw new Error(`missing --${key}`);
  return value;
}

export function emitResult(result: CaseResult): void {
  process.stdout.write(`${resultPrefix}${JSON.stringify(result)}\n`);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Peak RSS of this process so far, in KiB. */
export function peakRssKb(): number {
  return process.resourceUsage().maxRSS;
}
