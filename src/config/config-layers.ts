/**
 * The override layers of a configuration (SPEC A5, H2), on plain parsed data so that the YAML
 * and TOML loaders share them. In order:
 *
 * 1. the base file, then each override file (PIPELINE_CONFIG_OVERRIDE_S3_PATH first, then every
 *    `--override` in command-line order), then each `--set`, deep-merged (merge-layer.ts);
 * 2. `${VAR}` / `${VAR:-default}` in every string, from the environment and the credentials
 *    file (the environment wins), except in command texts (isCommandText): a value is never
 *    spliced into a command (SPEC H3);
 * 3. `base64://…` values decoded (command texts excepted too).
 *
 * Secret values met on the way (decoded base64, variables with secret names or from the
 * credentials file, values of keys with secret names) come back for masking.
 */
import { isAbsolute, resolve } from 'node:path';
import { ConfigError, type ConfigIssue, InputError } from '../errors.ts';
import { decodeBase64Value, isBase64Value } from '../secrets/base64-value.ts';
import { looksSecret } from '../secrets/secret-names.ts';
import { type ConfigDocument, type ConfigPath, readConfigDocument } from './config-document.ts';
import { ConfigSources } from './config-sources.ts';
import { InterpolationError, interpolate } from './interpolate.ts';
import { isPlainTable, mergeLayer, type PlainTable } from './merge-layer.ts';
import { setArgumentLayer } from './set-argument.ts';

/** The environment variable naming an override file (the seed's; object storage comes later). */
export const overrideEnvVariable = 'PIPELINE_CONFIG_OVERRIDE_S3_PATH';

export interface ConfigLayerOptions {
  /** Override files (YAML or TOML by extension), in the order they apply. @default none */
  overrideFiles?: readonly string[];
  /** `a.b.c=value` arguments, applied after the files. @default none */
  sets?: readonly string[];
  /** For `${VAR}`. @default none: every reference needs a default */
  env?: Readonly<Record<string, string | undefined>>;
  /** The credentials file's variables: interpolated as the environment's, and secret. */
  credentials?: Readonly<Record<string, string>>;
  /** Strings left as written. @default isCommandText */
  isVerbatim?: (path: ConfigPath) => boolean;
}

export interface ResolvedConfig {
  /**
   * The merged, interpolated and decoded config, for the schema to check: a table, or the base
   * value as it is when that is not a table (the schema says what is wrong with it).
   */
  config: unknown;
  /** Secret values found while resolving, to mask wherever anything is written. */
  secrets: string[];
  /** Where each value came from, for errors. */
  sources: ConfigSources;
}

/**
 * Applies the override layers to `base` (which is left unchanged). Every problem of every layer
 * comes back at once as one ConfigError, each naming the file (and line and column) that
 * supplied the value; an unreadable or missing override file is an InputError.
 */
export function applyConfigLayers(
  base: ConfigDocument,
  options: ConfigLayerOptions = {},
): ResolvedConfig {
  const sources = new ConfigSources(base);
  if (!isPlainTable(base.value)) return { config: base.value, secrets: [], sources };
  const config = copyPlain(base.value) as PlainTable;
  const layers = [
    ...(options.overrideFiles ?? []).map((file) => readConfigDocument(file)),
    ...(options.sets ?? []).map((argument) => setArgumentLayer(argument)),
  ];
  const issues: ConfigIssue[] = [];
  for (const layer of layers) issues.push(...mergeLayer(config, layer, sources));
  const secrets: string[] = [];
  const resolver = new StringResolver(options, sources, secrets, issues);
  resolver.resolveTable(config, []);
  if (issues.length > 0) throw new ConfigError(issues);
  return { config, secrets: [...new Set(secrets)], sources };
}

/**
 * The override files of a command: PIPELINE_CONFIG_OVERRIDE_S3_PATH (when set and not empty),
 * then each `--override`, resolved against `cwd`.
 */
export function overrideFileList(
  cliFiles: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): string[] {
  const fromEnv = env[overrideEnvVariable]?.trim();
  const files = fromEnv ? [fromEnv, ...cliFiles] : [...cliFiles];
  return files.map((file) => {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file) && !file.startsWith('file://'))
      throw new InputError(
        `cannot read the override ${file}: object storage URIs arrive with the storage issue; give a local path`,
      );
    const path = file.startsWith('file://') ? file.slice('file://'.length) : file;
    return isAbsolute(path) ? path : resolve(cwd, path);
  });
}

/**
 * A command's text: `start_command` (TOML operators) or `command` (YAML modules), a string or
 * an item of its list. Never interpolated: a `${VAR}` spliced into `sh -c` text (or into a
 * `python3 -c` argument) would run whatever the variable holds. The shell expands `${VAR}`
 * from the stage's environment at run time, as data.
 */
export function isCommandText(path: ConfigPath): boolean {
  const last = path.at(-1);
  const key = typeof last === 'number' ? path.at(-2) : last;
  return key === 'command' || key === 'start_command';
}

class StringResolver {
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #credentials: Readonly<Record<string, string>>;
  readonly #isVerbatim: (path: ConfigPath) => boolean;

  constructor(
    options: ConfigLayerOptions,
    readonly sources: ConfigSources,
    readonly secrets: string[],
    readonly issues: ConfigIssue[],
  ) {
    this.#credentials = options.credentials ?? {};
    this.#env = { ...this.#credentials, ...definedOnly(options.env ?? {}) };
    this.#isVerbatim = options.isVerbatim ?? isCommandText;
  }

  resolveTable(container: PlainTable | unknown[], path: ConfigPath): void {
    const entries: [string | number, unknown][] = Array.isArray(container)
      ? container.map((value, index) => [index, value])
      : Object.entries(container);
    for (const [key, value] of entries) {
      const at = [...path, key];
      if (typeof value === 'string') {
        (container as Record<string | number, unknown>)[key] = this.#resolveString(value, at);
      } else if (Array.isArray(value) || isPlainTable(value)) {
        this.resolveTable(value, at);
      } else if (typeof value === 'number' && typeof key === 'string' && looksSecret(key)) {
        // A number reaches a command's environment as text: `DB_PASSWORD: 12345678`.
        this.secrets.push(String(value));
      }
    }
  }

  #resolveString(value: string, path: ConfigPath): string {
    const name = [...path].reverse().find((key): key is string => typeof key === 'string');
    let text = value;
    if (!this.#isVerbatim(path)) {
      try {
        const result = interpolate(text, this.#env);
        text = result.text;
        for (const variable of result.used) {
          if (looksSecret(variable) || variable in this.#credentials)
            this.secrets.push(this.#env[variable]!);
        }
      } catch (error) {
        if (!(error instanceof InterpolationError)) throw error;
        this.#issue(path, error.message, error.hint);
        return value;
      }
      if (isBase64Value(text)) {
        try {
          text = decodeBase64Value(text);
          this.secrets.push(text);
        } catch (error) {
          this.#issue(path, (error as Error).message, 'make the value with: gpipe encode TEXT');
          return value;
        }
      }
    }
    if (name !== undefined && looksSecret(name)) this.secrets.push(text);
    return text;
  }

  #issue(path: ConfigPath, message: string, hint: string | undefined): void {
    this.issues.push({
      message: `${path.join('.')}: ${message}`,
      ...this.sources.locate(path),
      ...(hint !== undefined && { hint }),
    });
  }
}

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) out[name] = value;
  return out;
}

/** A copy of plain tables and lists; other values (dates) are shared, being immutable here. */
function copyPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyPlain);
  if (isPlainTable(value)) {
    const out: PlainTable = {};
    // defineProperty: a key named __proto__ stays a key, for the schema to report.
    for (const [key, item] of Object.entries(value))
      Object.defineProperty(out, key, {
        value: copyPlain(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return value;
}
