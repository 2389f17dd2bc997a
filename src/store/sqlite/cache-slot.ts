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
export function cacheSlot(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}
