/** Times in the viewer's own time zone and language; numbers grouped for the language. */
import i18n from './i18n';

const cache = new Map<string, Intl.DateTimeFormat>();
function fmt(kind: 'full' | 'time' | 'hour'): Intl.DateTimeFormat {
  const key = `${i18n.language}|${kind}`;
  let f = cache.get(key);
  if (!f) {
    const opts: Intl.DateTimeFormatOptions =
      kind === 'full'
        ? { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }
        : kind === 'time'
          ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }
          : { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false };
    f = new Intl.DateTimeFormat(i18n.language, opts);
    cache.set(key, f);
  }
  return f;
}

export const formatTime = (iso: string | null | undefined): string => (iso ? fmt('full').format(new Date(iso)) : '—');
export const formatClock = (iso: string | number): string => fmt('time').format(new Date(iso));
export const formatHour = (iso: string): string => fmt('hour').format(new Date(iso));
export const formatNumber = (n: number): string => new Intl.NumberFormat(i18n.language).format(n);
/** The viewer's offset from UTC in minutes east (what /hours wants). */
export const viewerOffsetMinutes = (): number => -new Date().getTimezoneOffset();
export const viewerTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;
