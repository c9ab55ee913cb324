/**
 * Free text a person typed (a suspension's reason, a detector change's reason, a note) may name
 * a customer or a colleague; the audit trail is permanent — no erasure reaches it — and goes to
 * the SIEM (attack review 10: `王小三 13900000003` as a suspension reason sat in the trail after the
 * person's erasure). So such text stays on its row (or in a side table), where the console reads
 * it and an erasure can clear it, and the entry carries only its fingerprint: the SHA-256 of the
 * text (hex) and its length in characters, enough to show later that the row was not rewritten.
 * Cases set the pattern: title and reason on the row, never in the trail (cases/cases.ts).
 */
import { createHash } from 'node:crypto';

/** The hex SHA-256 of `text` (UTF-8). */
export const textSha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * What an entry's detail records of a free-text field `name`: `<name>_sha256` and `<name>_length`;
 * nothing when there is no text (null, undefined or empty).
 */
export function freeTextDetail(text: string | null | undefined, name = 'reason'): Record<string, string | number> {
  if (!text) return {};
  return { [`${name}_sha256`]: textSha256(text), [`${name}_length`]: [...text].length };
}
