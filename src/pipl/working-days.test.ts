import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { addWorkingDays, CHINA_CALENDAR, CalendarError, loadWorkCalendar, workCalendar } from './working-days.js';

const CHINA = 8 * 3_600_000;
const DAY = 86_400_000;
const chinaMidnight = (d: Date) => Math.floor((d.getTime() + CHINA) / DAY) * DAY;
const file = (text: string) => {
  const p = join(mkdtempSync(join(tmpdir(), 'warden-cal-')), 'calendar.yaml');
  writeFileSync(p, text);
  return p;
};

describe('addWorkingDays', () => {
  it('counts Monday to Friday in China time', () => {
    // Tuesday 2026-12-01 10:00 China time: 15 working days later is Tuesday 2026-12-22, end of day.
    expect(addWorkingDays(new Date('2026-12-01T02:00:00Z'), 15).toISOString()).toBe('2026-12-22T15:59:59.999Z');
    // Friday evening China time (already Saturday 00:30 in China): the clock starts on Monday.
    expect(addWorkingDays(new Date('2026-12-04T16:30:00Z'), 1).toISOString()).toBe('2026-12-07T15:59:59.999Z');
  });

  it('skips the Spring Festival and counts its swapped Saturdays (2026 notice)', () => {
    // Tuesday 2026-02-10: the 14th and 28th (Saturdays) are worked, the 15th–23rd are not.
    expect(addWorkingDays(new Date('2026-02-10T02:00:00Z'), 15).toISOString()).toBe('2026-03-09T15:59:59.999Z');
    // Weekdays only would have said 2026-03-03: six days too early for a company closed for the festival.
    expect(addWorkingDays(new Date('2026-02-10T02:00:00Z'), 15, workCalendar({ holidays: [] })).getTime())
      .toBeGreaterThan(new Date('2026-03-03T15:59:59.999Z').getTime());
    // National Day 2025 (1–8 October, the 28 September Sunday and 11 October Saturday worked).
    expect(addWorkingDays(new Date('2025-09-26T02:00:00Z'), 2).toISOString()).toBe('2025-09-29T15:59:59.999Z');
    expect(addWorkingDays(new Date('2025-09-30T02:00:00Z'), 1).toISOString()).toBe('2025-10-09T15:59:59.999Z');
    expect(addWorkingDays(new Date('2025-10-09T02:00:00Z'), 2).toISOString()).toBe('2025-10-11T15:59:59.999Z');
  });

  it('lands on a working day of the calendar, with exactly n working days after the start day', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2024-06-01'), max: new Date('2028-01-01'), noInvalidDate: true }), fc.integer({ min: 1, max: 40 }), (from, n) => {
        const due = addWorkingDays(from, n);
        const dueDay = chinaMidnight(due);
        expect(CHINA_CALENDAR.isWorkingDay(dueDay)).toBe(true);
        let counted = 0;
        for (let d = chinaMidnight(from) + DAY; d <= dueDay; d += DAY) if (CHINA_CALENDAR.isWorkingDay(d)) counted++;
        expect(counted).toBe(n);
      }),
    );
  });

  it('refuses a negative count', () => {
    expect(() => addWorkingDays(new Date(), -1)).toThrow(RangeError);
  });
});

describe('the holiday calendar', () => {
  it('knows the years of its notices and says so for the others', () => {
    expect(CHINA_CALENDAR.knows(2026)).toBe(true);
    expect(CHINA_CALENDAR.knows(2027)).toBe(false);
  });

  it('takes a later year from the operator file', () => {
    const cal = loadWorkCalendar(file('holidays: ["2027-01-01"]\nworkdays: ["2027-01-02"]\n'));
    expect(cal.knows(2027)).toBe(true);
    expect(cal.isWorkingDay(Date.parse('2027-01-01T00:00:00Z'))).toBe(false); // a Friday, now a holiday
    expect(cal.isWorkingDay(Date.parse('2027-01-02T00:00:00Z'))).toBe(true); // a Saturday, now worked
    expect(cal.isWorkingDay(Date.parse('2026-02-16T00:00:00Z'))).toBe(false); // the built-in notices stay
  });

  it('refuses a bad file naming what is wrong', () => {
    expect(() => loadWorkCalendar(file('holidays: ["2027-02-30"]\n'))).toThrow(/2027-02-30 is not a date/);
    expect(() => loadWorkCalendar(file('holiday: ["2027-01-01"]\n'))).toThrow(CalendarError);
    expect(() => loadWorkCalendar(file('holidays: ["1 May"]\n'))).toThrow(/holidays\/0/);
    expect(() => loadWorkCalendar(file('holidays: ["2027-01-04"]\nworkdays: ["2027-01-04"]\n'))).toThrow(/both a holiday and a working day/);
    expect(() => loadWorkCalendar('/nonexistent/calendar.yaml')).toThrow(/holiday calendar \/nonexistent/);
  });
});
