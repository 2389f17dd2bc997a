/** Terminal colours, or none: every renderer takes a Palette so that its output is testable. */
export interface Palette {
  readonly enabled: boolean;
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const wrap = (open: number, close: number) => (text: string) =>
  `\x1b[${open}m${text}\x1b[${close}m`;

const colored: Palette = {
  enabled: true,
  green: wrap(32, 39),
  red: wrap(31, 39),
  yellow: wrap(33, 39),
  cyan: wrap(36, 39),
  dim: wrap(2, 22),
  bold: wrap(1, 22),
};

const identity = (text: string) => text;

export const plainPalette: Palette = {
  enabled: false,
  green: identity,
  red: identity,
  yellow: identity,
  cyan: identity,
  dim: identity,
  bold: identity,
};

/** Colours for a terminal unless NO_COLOR is set to anything but the empty string (no-color.org). */
export function paletteFor(
  isTerminal: boolean,
  env: Readonly<Record<string, string | undefined>>,
): Palette {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  return isTerminal && !noColor ? colored : plainPalette;
}
