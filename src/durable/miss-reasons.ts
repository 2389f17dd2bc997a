/**
 * Why a stage a dry run expects to run misses the cache, in a few words for its row, as
 * Snakemake's `reason:` does: the parts of its key that changed since its last success
 * (`runs: code, params changed since run …`), or that there is nothing to compare with.
 */
import type { CacheKeyParts, RunStore } from '../store/run-store.ts';
import { changedParts, redactedKeyParts } from './cache-key.ts';

/** Past this many stages, the rest are not looked up: a preview of 100,000 stays quick. */
const maxLookups = 1000;

export class MissReasons {
  readonly #store: RunStore;
  readonly #pipeline: string;
  readonly #redact: ((text: string) => string) | undefined;
  #left = maxLookups;

  /** `redact`: masks what the stored parts were masked of, so that a secret is no change. */
  constructor(store: RunStore, pipeline: string, redact?: (text: string) => string) {
    this.#store = store;
    this.#pipeline = pipeline;
    this.#redact = redact;
  }

  /**
   * The row's detail for `stage`, whose key (made of `parts`) is not in the cache; without
   * `parts`, where nothing is cached at all.
   */
  async of(stage: string, parts?: CacheKeyParts): Promise<string> {
    if (this.#left <= 0) return 'runs';
    this.#left--;
    const success = await this.#store.latestSuccess(this.#pipeline, stage);
    if (!success) return 'runs: it has not succeeded before';
    const entry =
      success.cacheKey === undefined
        ? undefined
        : await this.#store.cacheGet(this.#pipeline, stage, success.cacheKey);
    if (!entry) return `runs: the output of its last success (run ${success.runId}) is not cached`;
    if (!parts) return 'runs';
    const now = this.#redact ? redactedKeyParts(parts, this.#redact) : parts;
    const changed = changedParts(entry.parts, now);
    // Equal once masked, yet another key: a secret changed.
    if (changed.length === 0) return 'runs: a secret value changed (it is masked)';
    return `runs: ${changed.join(', ')} changed since run ${entry.runId}`;
  }
}
