/**
 * Deadlines of data-subject requests: 15 working days is the common practice (PIPL leaves the
 * period to rules; GB/T 35273-2020 §8.7 says 15 working days). Working days are counted in China
 * time (UTC+8) on the State Council's calendar: Monday to Friday, minus the public holidays, plus
 * the weekend days swapped into working days (调休). The built-in calendar carries the notices for
 * 2025 and 2026; each later year's notice (published each November) is added by the operator in
 * the file named by WARDEN_HOLIDAY_CALENDAR_FILE. Years the calendar does not know count Monday to
 * Friday only (`knows(year)` says which).
 */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const CHINA_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
const CalendarFile = Type.Object({
  holidays: Type.Optional(Type.Array(Day, { maxItems: 2000 })),
  workdays: Type.Optional(Type.Array(Day, { maxItems: 2000 })),
}, { additionalProperties: false });
export type CalendarInput = Static<typeof CalendarFile>;

/** 国办发明电〔2024〕12号 (2025) and 国办发明电〔2025〕7号 (2026). */
const STATE_COUNCIL: Required<CalendarInput> & { years: number[] } = {
  years: [2025, 2026],
  holidays: [
    '2025-01-01',
    '2025-01-28', '2025-01-29', '2025-01-30', '2025-01-31', '2025-02-01', '2025-02-02', '2025-02-03', '2025-02-04',
    '2025-04-04', '2025-04-05', '2025-04-06',
    '2025-05-01', '2025-05-02', '2025-05-03', '2025-05-04', '2025-05-05',
    '2025-05-31', '2025-06-01', '2025-06-02',
    '2025-10-01', '2025-10-02', '2025-10-03', '2025-10-04', '2025-10-05', '2025-10-06', '2025-10-07', '2025-10-08',
    '2026-01-01', '2026-01-02', '2026-01-03',
    '2026-02-15', '2026-02-16', '2026-02-17', '2026-02-18', '2026-02-19', '2026-02-20', '2026-02-21', '2026-02-22', '2026-02-23',
    '2026-04-04', '2026-04-05', '2026-04-06',
    '2026-05-01', '2026-05-02', '2026-05-03', '2026-05-04', '2026-05-05',
    '2026-06-19', '2026-06-20', '2026-06-21',
    '2026-09-25', '2026-09-26', '2026-09-27',
    '2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04', '2026-10-05', '2026-10-06', '2026-10-07',
  ],
  workdays: [
    '2025-01-26', '2025-02-08', '2025-04-27', '2025-09-28', '2025-10-11',
    '2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10',
  ],
};

export interface WorkCalendar {
  /** Whether `day` (midnight China time, as UTC ms) is a working day. */
  isWorkingDay(day: number): boolean;
  /** Whether the calendar holds the year's notice (otherwise Monday to Friday is assumed). */
  knows(year: number): boolean;
}

export class CalendarError extends Error {}

/** The built-in calendar, with an operator's additions (a later year's notice, a local holiday). */
export function workCalendar(extra: CalendarInput = {}): WorkCalendar {
  const holidays = new Set([...STATE_COUNCIL.holidays, ...(extra.holidays ?? [])]);
  const workdays = new Set([...STATE_COUNCIL.workdays, ...(extra.workdays ?? [])]);
  for (const d of workdays) if (holidays.has(d)) throw new CalendarError(`${d} is both a holiday and a working day`);
  const years = new Set([...STATE_COUNCIL.years, ...[...holidays, ...workdays].map((d) => Number(d.slice(0, 4)))]);
  return {
    isWorkingDay(day) {
      const key = new Date(day).toISOString().slice(0, 10);
      if (workdays.has(key)) return true;
      if (holidays.has(key)) return false;
      const weekday = new Date(day).getUTCDay();
      return weekday !== 0 && weekday !== 6;
    },
    knows: (year) => years.has(year),
  };
}

export const CHINA_CALENDAR = workCalendar();

/** Reads WARDEN_HOLIDAY_CALENDAR_FILE (YAML or JSON `{holidays: [YYYY-MM-DD…], workdays: […]}`). */
export function loadWorkCalendar(file?: string): WorkCalendar {
  if (!file) return CHINA_CALENDAR;
  let parsed: unknown;
  try {
    parsed = YAML.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CalendarError(`holiday calendar ${file}: ${(err as Error).message}`);
  }
  if (!Value.Check(CalendarFile, parsed)) {
    const first = [...Value.Errors(CalendarFile, parsed)][0];
    throw new CalendarError(`holiday calendar ${file}: ${first?.path || '/'} ${first?.message ?? 'is not {holidays, workdays}'}`);
  }
  for (const d of [...(parsed.holidays ?? []), ...(parsed.workdays ?? [])]) {
    if (Number.isNaN(Date.parse(`${d}T00:00:00Z`)) || new Date(`${d}T00:00:00Z`).toISOString().slice(0, 10) !== d) throw new CalendarError(`holiday calendar ${file}: ${d} is not a date`);
  }
  return workCalendar(parsed);
}

/** The end (23:59:59.999 China time) of the `n`th working day after `from`. */
export function addWorkingDays(from: Date, n: number, calendar: WorkCalendar = CHINA_CALENDAR): Date {
  if (!Number.isInteger(n) || n < 0) throw new RangeError('working days must be a non-negative integer');
  // Midnight China time of the day `from` falls on, as a UTC date whose fields are China's.
  let day = Math.floor((from.getTime() + CHINA_OFFSET_MS) / DAY_MS) * DAY_MS;
  let left = n;
  while (left > 0) {
    day += DAY_MS;
    if (calendar.isWorkingDay(day)) left--;
  }
  return new Date(day + DAY_MS - 1 - CHINA_OFFSET_MS);
}

export const REQUEST_WORKING_DAYS = 15;
