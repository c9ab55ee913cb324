/** Time helpers: events carry UTC, people live in China Standard Time (UTC+8, no DST). */
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const CST_OFFSET = 8 * HOUR;

/** Epoch ms of local (CST) midnight of a YYYY-MM-DD date. */
export function cstMidnight(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) throw new Error(`not a YYYY-MM-DD date: ${date}`);
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== date) throw new Error(`not a real date: ${date}`);
  return t - CST_OFFSET;
}

/** The CST calendar date (YYYY-MM-DD) of an instant. */
export const cstDate = (t: number): string => new Date(t + CST_OFFSET).toISOString().slice(0, 10);

/** Local hour (0-23.99) of an instant. */
export const cstHour = (t: number): number => (((t + CST_OFFSET) % DAY) + DAY) % DAY / HOUR;

/** Day of week (0 = Sunday) of a CST date. */
export const cstWeekday = (t: number): number => new Date(t + CST_OFFSET).getUTCDay();

const PAD2: string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const PAD3: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * ISO-8601 UTC with milliseconds, as `Date.prototype.toISOString` but several times faster:
 * the date part is cached per UTC day. Only for years 1000-9999.
 */
export class IsoFormatter {
  private day = Number.NaN;
  private prefix = '';

  format(t: number): string {
    const d = Math.floor(t / DAY);
    if (d !== this.day) {
      this.day = d;
      this.prefix = new Date(d * DAY).toISOString().slice(0, 11);
    }
    let r = t - d * DAY;
    const h = Math.floor(r / HOUR);
    r -= h * HOUR;
    const m = Math.floor(r / MINUTE);
    r -= m * MINUTE;
    const s = Math.floor(r / 1000);
    const ms = r - s * 1000;
    return `${this.prefix}${PAD2[h]}:${PAD2[m]}:${PAD2[s]}.${PAD3[ms]}Z`;
  }
}
