/**
 * Deadlines of data-subject requests: 15 working days is the common practice (PIPL leaves the
 * period to rules; GB/T 35273-2020 §8.7 says 15 working days). Working days are Monday to Friday
 * in China time (UTC+8); public holidays and their swapped working weekends are not modelled
 * (a stricter deadline, never a later one, except around the Spring Festival swaps — see docs/pipl.md).
 */
const CHINA_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;

/** The end (23:59:59.999 China time) of the `n`th working day after `from`. */
export function addWorkingDays(from: Date, n: number): Date {
  if (!Number.isInteger(n) || n < 0) throw new RangeError('working days must be a non-negative integer');
  // Midnight China time of the day `from` falls on, expressed in UTC ms.
  let day = Math.floor((from.getTime() + CHINA_OFFSET_MS) / DAY_MS) * DAY_MS;
  let left = n;
  while (left > 0) {
    day += DAY_MS;
    const weekday = new Date(day).getUTCDay();
    if (weekday !== 0 && weekday !== 6) left--;
  }
  return new Date(day + DAY_MS - 1 - CHINA_OFFSET_MS);
}

export const REQUEST_WORKING_DAYS = 15;
