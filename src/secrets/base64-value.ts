/**
 * `base64://…` values (the seed's `pipeline-cli encode`): a way to keep a value out of plain
 * sight in a config file. Decoded values are secrets (SPEC H2).
 */
export const base64Prefix = 'base64://';

/** `base64://` and the standard Base64 of the text's UTF-8 bytes. */
export function encodeBase64Value(text: string): string {
  return `${base64Prefix}${Buffer.from(text, 'utf8').toString('base64')}`;
}

export function isBase64Value(value: string): boolean {
  return value.startsWith(base64Prefix);
}

/**
 * The text a `base64://…` value holds. Node's decoder skips characters it does not know, so the
 * payload is checked first: a typo must be an error, not a silently different secret.
 * @throws Error with a message fit for a config issue
 */
export function decodeBase64Value(value: string): string {
  if (!isBase64Value(value)) throw new Error(`expected a value starting with ${base64Prefix}`);
  const payload = value.slice(base64Prefix.length).trim();
  const standard = /^[A-Za-z0-9+/]*={0,2}$/;
  const urlSafe = /^[A-Za-z0-9_-]*={0,2}$/;
  if (payload.length === 0) throw new Error(`nothing after ${base64Prefix}`);
  if (!standard.test(payload) && !urlSafe.test(payload))
    throw new Error(`not valid Base64 after ${base64Prefix}`);
  const unpadded = payload.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) throw new Error(`not valid Base64 after ${base64Prefix}`);
  const bytes = Buffer.from(payload, standard.test(payload) ? 'base64' : 'base64url');
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  try {
    return text.decode(bytes);
  } catch {
    throw new Error(`the Base64 after ${base64Prefix} is not UTF-8 text`);
  }
}
