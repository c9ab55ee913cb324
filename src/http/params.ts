/**
 * Query and body values the JSON schema can only shape, not check: ISO-8601 times that are real
 * instants (a pattern lets `2026-13-45T99:99:99Z` through), and opaque keyset cursors. Each bad
 * value is a 400 naming the parameter, never a 500 from the database.
 */
import { AppError } from '../errors.js';

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-](\d{2}):(\d{2}))$/;

const bad = (param: string, message: string) =>
  new AppError('validation_failed', `${param}: ${message}`, { fields: [{ field: param, code: 'format', message }] });

/** Epoch milliseconds of a strict ISO-8601 time, or a 400 naming `param`. */
export function parseInstant(value: string, param: string): number {
  const m = ISO.exec(value);
  const [y, mo, d, h, mi, s, , oh, om] = (m ?? []).slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  const days = m ? new Date(Date.UTC(y!, mo!, 0)).getUTCDate() : 0;
  const ok = m && mo! >= 1 && mo! <= 12 && d! >= 1 && d! <= days && h! <= 23 && mi! <= 59 && s! <= 59 && oh! <= 23 && om! <= 59;
  const t = ok ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) throw bad(param, 'is not a valid ISO-8601 time (e.g. 2026-03-02T08:00:00Z)');
  return t;
}

/** An opaque keyset cursor: the sort key of the last item a page returned. */
export function encodeCursor(key: { ts: string; id: string }): string {
  return Buffer.from(JSON.stringify([key.ts, key.id])).toString('base64url');
}

export function decodeCursor(value: string, param: string): { ts: string; id: string } {
  try {
    const [ts, id] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown[];
    if (typeof ts === 'string' && typeof id === 'string' && id.length <= 200) {
      parseInstant(ts, param);
      return { ts, id };
    }
  } catch {
    // fall through: reported below as the parameter's own error
  }
  throw bad(param, 'is not a cursor this API returned');
}
