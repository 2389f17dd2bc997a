/**
 * One `abort` listener per signal, however many attempts wait on it: many stages share the
 * run's signal, and Node warns of a leak past ten listeners on one AbortSignal.
 */
const callbacks = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `callback` once when `signal` aborts; returns what unsubscribes it. */
export function whenAborted(signal: AbortSignal, callback: () => void): () => void {
  let set = callbacks.get(signal);
  if (!set) {
    const own = new Set<() => void>();
    set = own;
    callbacks.set(signal, own);
    signal.addEventListener(
      'abort',
      () => {
        for (const call of [...own]) call();
        own.clear();
      },
      { once: true },
    );
  }
  const entry = set;
  entry.add(callback);
  return () => entry.delete(callback);
}
