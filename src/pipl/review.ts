/**
 * What the second analyst of a data-subject request sees before approving it (attack review:
 * approvals were blind — an approver saw `{kind, lookup, correction: {field}}` and approved an
 * address redirected to an attacker's). The person's records are summarised masked, as staff see
 * them (brief §3: masked phone, name, address; ID number masked), with how many there are, and
 * the whole is fingerprinted: the approver names that version when approving, and a request or a
 * set of records that changed since is refused (409), nothing applied.
 *
 * Invariants: only masked values (computed at ingest, `waybills.masked`) leave here; the version
 * is a digest of the request row (sealed correction included, never its plaintext) and of the
 * records (waybill, party, erased, masked), so it carries no PII and fits the audit trail.
 */
import { createHash } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Database, MaskedWaybillJson, PiplRequestsTable } from '../store/schema.js';

/** Most records one review reads (and fingerprints); `truncated` says when there are more. */
export const REVIEW_LIMIT = 5000;
/** Most distinct masked values shown per field. */
export const REVIEW_SHOWN = 20;

export interface SubjectSummary {
  /** Records of the person still held (not erased). */
  records: number;
  /** Records already erased. */
  erased: number;
  phones: string[];
  names: string[];
  addresses: string[];
  id_numbers: string[];
  truncated: boolean;
}

const parse = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

function distinct(values: Array<string | undefined>): { shown: string[]; more: boolean } {
  const set = [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length > 0))];
  return { shown: set.slice(0, REVIEW_SHOWN), more: set.length > REVIEW_SHOWN };
}

/** The masked summary of the person's records and the version of (request, records) an approval must name. */
export async function reviewOf(db: Kysely<Database>, row: Selectable<PiplRequestsTable>, subjects: Buffer[]): Promise<{ summary: SubjectSummary; version: string }> {
  const rows = subjects.length
    ? await db
        .selectFrom('waybill_parties as p')
        .innerJoin('waybills as w', 'w.waybill', 'p.waybill')
        .select(['p.waybill', 'p.party', 'p.erased_at', 'w.masked'])
        .where('p.subject_id', 'in', subjects)
        .orderBy('p.waybill')
        .orderBy('p.party')
        .limit(REVIEW_LIMIT + 1)
        .execute()
    : [];
  const seen = rows.slice(0, REVIEW_LIMIT).map((r) => ({ waybill: r.waybill, party: r.party, erased: r.erased_at !== null, masked: r.erased_at !== null ? null : parse<MaskedWaybillJson>(r.masked)[r.party] }));
  const held = seen.filter((r) => r.masked !== null).map((r) => r.masked!);
  const phones = distinct(held.map((m) => m.phone));
  const names = distinct(held.map((m) => m.name));
  const addresses = distinct(held.map((m) => m.address));
  const ids = distinct(held.map((m) => m.id_number));
  const summary: SubjectSummary = {
    records: held.length,
    erased: seen.length - held.length,
    phones: phones.shown,
    names: names.shown,
    addresses: addresses.shown,
    id_numbers: ids.shown,
    truncated: rows.length > REVIEW_LIMIT || phones.more || names.more || addresses.more || ids.more,
  };
  const request = [row.id, row.kind, row.lookup, row.state, row.requested_by, iso(row.received_at), row.correction === null ? null : JSON.stringify(parse(row.correction))];
  const digest = createHash('sha256').update(JSON.stringify({ request, more: rows.length > REVIEW_LIMIT, records: seen.map((r) => [r.waybill, r.party, r.erased, r.masked]) }));
  return { summary, version: digest.digest('hex').slice(0, 32) };
}
