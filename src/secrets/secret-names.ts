/**
 * Which variable and key names hold secrets (SPEC H2): `*_SECRET*`, `*_KEY`, `*PASSWORD*`,
 * `*TOKEN*`, in any case, so that `db_password` in a config is caught as `DB_PASSWORD` is.
 */
const secretName = /(_SECRET|_KEY$|PASSWORD|TOKEN)/;

/** True when a variable or config key of this name holds a secret. */
export function looksSecret(name: string): boolean {
  return secretName.test(name.toUpperCase());
}
