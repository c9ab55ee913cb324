/** Schema pieces several route files share. */
import { Type } from '@sinclair/typebox';

/**
 * An ISO-8601 time with a real month, day, hour, minute and offset (seconds optional): the
 * pattern refuses what `new Date` cannot read, so a bad time is a 400 naming the parameter,
 * never an Invalid Date deeper down.
 */
export const IsoTime = Type.String({
  pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])T([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d{1,9})?)?(Z|[+-]([01]\\d|2[0-3]):[0-5]\\d)$',
  description: 'ISO-8601 time, e.g. 2026-11-11T08:00:00Z',
});
