import { hash } from 'node:crypto';

/** `sha256:<64 hex>` of a string's UTF-8 bytes (one-shot `crypto.hash`: the cheap path). */
export function sha256Text(text: string): string {
  return `sha256:${hash('sha256', text, 'hex')}`;
}
