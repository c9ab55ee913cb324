/**
 * Audit search for the console and auditors: filters, newest first, keyset pagination on seq,
 * and a CSV form. Entries never carry PII, so neither do the answers.
 *
 * Invariants:
 * - Every page is bounded (limit) and continues with before_seq, so deep pages cost the same.
 * - CSV cells that a spreadsheet would run as a formula are quoted inert (leading ').
 */
import type { Kysely } from 'kysely';
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
