/**
 * A cache entry's slot: a 32-bit hash of its key, the only thing the attempts table indexes
 * about cache keys. An index on the full `sha256:…` text costs a random page per entry written;
 * one on a small integer costs far less, and the full key settles the rare collision.
 */

/**
 * FNV-1a over the key's UTF-16 code units, as a signed 32-bit integer (SQLite stores it in 4
 * bytes). Stored in the database: never change it without a migration that recomputes slots.
 * @example cacheSlot('sha256:00') // → 1320684576
 */
/**
 * The stage a cache entry is found under: the attempt's stage, or for an instance of a mapped
 * stage (`resize[3]`, `a[1][2]`) the mapped stage, so that an item's entry is found wherever
 * the item now is. Stage names have no brackets (validate.ts). Stored as the generated column
 * `cache_stage` (migration 6), whose expression this must match.
 * @example entryStage('resize[3]') // → 'resize'
 */
export function entryStage(stage: string): string {
  const at = stage.indexOf('[');
  return at < 0 ? stage : stage.slice(0, at);
}

export function cacheSlot(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}
