/**
 * Audit search for the console and auditors: filters, newest first, keyset pagination on seq,
 * and a CSV form. Entries never carry PII, so neither do the answers.
 *
 * Invariants:
 * - Every page is bounded (limit) and continues with before_seq, so deep pages cost the same.
 * - CSV cells that a spreadsheet would run as a formula are quoted inert (leading ').
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { AppError } from '../errors.js';
import { isAuditKind } from './kinds.js';
import { entryFromRow, type AuditRow } from './rows.js';

export interface EntryFilter {
  account?: string | undefined;
  waybill?: string | undefined;
  kind?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  beforeSeq?: number | undefined;
  limit: number;
  /** Left out for this reader: entries about their own detection (./search.ts `aboutReader`). */
  hide?: ReaderSelf | undefined;
}

/** The reader's own accounts (theirs and those linked by creation) and enrolled devices: src/access/self.ts `readerSelf`. */
export interface ReaderSelf {
  accounts: string[];
  devices: string[];
}

/** Kinds whose `account` is the subject acted on (not the actor): a response, an alert's triage, an exception. */
const ABOUT_SUBJECT = ['watch.response_applied', 'watch.response_cleared', 'watch.alert_updated', 'watch.exception_added', 'watch.exception_approved', 'watch.exception_removed'];

/**
 * Entries a reader does not read about themselves (attack review 10: a suspected analyst searched
 * the trail for `watch.response_applied` on his own account and learned of the covert response (and who set it) that the
 * response API refuses him): responses, triage and exceptions on one of their accounts, other
 * analysts' views of their response or risk, and every entry that points at their detection by
 * the ids it carries (attack review 11: the reveals made under a covert case named its id, a
 * breach report drafted about him named his account) — an entry whose `detail.case` is a case
 * that names them (any kind: the case's own entries, reveals and refusals under it), whose
 * `detail.alert` or `detail.alerts` is an alert about one of their accounts or devices, a refused
 * case's `detail.accounts` that names them, a breach report whose scope (`detail.ref`: the
 * accounts, the case or the alert) covers them — and their own backtests (`insight.backtest`:
 * its count of alerts withheld from them says whether detection flagged them). The predicate is
 * true for a hidden entry; null when nothing is.
 */
export function aboutReader(self: ReaderSelf) {
  if (!self.accounts.length) return null;
  const accounts = sql.join(self.accounts);
  const named = sql`array[${accounts}]::text[]`;
  const cases = sql`(select case_id from case_accounts where account in (${accounts}))`;
  const alerts = self.devices.length
    ? sql`(select id from alerts where account in (${accounts}) or device in (${sql.join(self.devices)}))`
    : sql`(select id from alerts where account in (${accounts}))`;
  return sql<boolean>`coalesce(
    (kind in (${sql.join(ABOUT_SUBJECT)}) and account in (${accounts}))
    or (kind = 'watch.viewed' and detail->>'subject' in (${accounts}))
    or (kind = 'insight.backtest' and account in (${accounts}))
    or (detail->>'case' in ${cases})
    or (kind like 'case.%' and jsonb_typeof(detail->'accounts') = 'array' and detail->'accounts' ?| ${named})
    or (detail->>'alert' in ${alerts})
    or (case when jsonb_typeof(detail->'alerts') = 'array' then exists (select 1 from jsonb_array_elements_text(detail->'alerts') x(id) where x.id in ${alerts}) else false end)
    or (kind = 'pipl.breach_report' and (
      (detail->>'source' = 'accounts' and string_to_array(detail->>'ref', ',') && ${named})
      or (detail->>'source' = 'case' and detail->>'ref' in ${cases})
      or (detail->>'source' = 'alert' and detail->>'ref' in ${alerts}))), false)`;
}

/** Whether entry `seq` is one the reader does not read about themselves (see `aboutReader`). */
export async function hiddenFrom(db: Kysely<Database>, seq: number, self: ReaderSelf): Promise<boolean> {
  const about = aboutReader(self);
  if (!about) return false;
  const row = await db.selectFrom('audit_log').select(about.as('hidden')).where('seq', '=', seq).executeTakeFirst();
  return Boolean(row?.hidden);
}

export function entryJson(row: AuditRow) {
  const e = entryFromRow(row);
  return {
    seq: Number(row.seq),
    ts: e.ts.toISOString(),
    kind: row.kind,
    account: e.account ?? null,
    role: e.role ?? null,
    site: e.site ?? null,
    device: e.device ?? null,
    ip: e.ip ?? null,
    session: e.session ?? null,
    waybill: e.waybill ?? null,
    fields: e.fields ?? [],
    purpose: e.purpose ?? null,
    ticket: e.ticket ?? null,
    decision: e.decision,
    reason: e.reason ?? null,
    request_id: e.requestId ?? null,
    detail: e.detail ?? null,
  };
}

export type EntryJson = ReturnType<typeof entryJson>;

function parseTime(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const t = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) || Number.isNaN(t.getTime())) {
    throw new AppError('validation_failed', `${name} must be an ISO-8601 date or date-time (e.g. 2026-03-02T08:00:00Z)`, { fields: [{ field: name, code: 'format', message: 'is not an ISO-8601 date-time' }] });
  }
  return t;
}

export async function searchEntries(db: Kysely<Database>, f: EntryFilter): Promise<{ entries: EntryJson[]; next_before_seq: number | null }> {
  if (f.kind !== undefined && !isAuditKind(f.kind)) {
    throw new AppError('validation_failed', `kind "${f.kind.slice(0, 40)}" is not an audit entry kind`, { fields: [{ field: 'kind', code: 'enum', message: 'is not an audit entry kind' }] });
  }
  const since = parseTime(f.since, 'since');
  const until = parseTime(f.until, 'until');
  let q = db.selectFrom('audit_log').selectAll();
  if (f.account !== undefined) q = q.where('account', '=', f.account);
  if (f.waybill !== undefined) q = q.where('waybill', '=', f.waybill);
  if (f.kind !== undefined) q = q.where('kind', '=', f.kind);
  if (since) q = q.where('ts', '>=', since);
  if (until) q = q.where('ts', '<', until);
  if (f.beforeSeq !== undefined) q = q.where('seq', '<', f.beforeSeq);
  const about = f.hide ? aboutReader(f.hide) : null;
  if (about) q = q.where(sql<boolean>`not ${about}`);
  const rows = await q.orderBy('seq', 'desc').limit(f.limit + 1).execute();
  const page = rows.slice(0, f.limit);
  return { entries: page.map(entryJson), next_before_seq: rows.length > f.limit ? Number(page.at(-1)!.seq) : null };
}

const CSV_COLUMNS = ['seq', 'ts', 'kind', 'account', 'role', 'site', 'device', 'ip', 'session', 'waybill', 'fields', 'purpose', 'ticket', 'decision', 'reason', 'request_id', 'detail'] as const;

function csvCell(value: unknown): string {
  let s = value === null || value === undefined ? '' : Array.isArray(value) ? value.join(' ') : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function entriesCsv(entries: EntryJson[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const e of entries) lines.push(CSV_COLUMNS.map((c) => csvCell(e[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}
