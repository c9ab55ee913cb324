import { sql, type Kysely } from 'kysely';

/**
 * The PIPL module (src/pipl/): erasure marks, data-subject requests, retention runs and impact
 * assessments.
 *
 * - A party row's ciphertexts may be gone (retention purge, erasure), so they become nullable;
 *   `erased_at` marks the rows of a person whose data key was shredded (a later parcel of the
 *   same phone number gets a new key, and must not be confused with the erased rows).
 * - `pipl_erasures` remembers that a subject (the phone blind index) was erased, and by which
 *   request, so a later request or reveal answers `subject_erased` even with no rows left.
 * - `pipl_requests` tracks access / correction / deletion requests, their state and deadline.
 *   It holds no plaintext: the person is named by blind index only.
 * - `pipl_retention_runs` says what a retention run purged and when (counts per field).
 * - `pipl_pia` holds impact-assessment records (Art. 55–56), kept ≥ 3 years.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    `alter table waybill_parties alter column name_ct drop not null`,
    `alter table waybill_parties alter column phone_ct drop not null`,
    `alter table waybill_parties alter column address_ct drop not null`,
    `alter table waybill_parties add column erased_at timestamptz`,
    `create table pipl_erasures (
       subject_id bytea primary key,
       erased_at timestamptz not null,
       request_id text not null)`,
    `create table pipl_requests (
       id text primary key,
       kind text not null check (kind in ('access', 'correction', 'deletion')),
       lookup text not null check (lookup in ('phone', 'id_number')),
       lookup_bidx bytea not null,
       state text not null check (state in ('pending_approval', 'completed', 'rejected')),
       received_at timestamptz not null,
       due_at timestamptz not null,
       requested_by text not null,
       approved_by text,
       completed_at timestamptz,
       correction jsonb,
       result jsonb)`,
    `create index pipl_requests_by_state on pipl_requests (state, due_at)`,
    `create table pipl_retention_runs (
       id text primary key,
       started_at timestamptz not null,
       finished_at timestamptz,
       actor text not null,
       dry_run boolean not null,
       policy jsonb not null,
       purged jsonb not null,
       batches integer not null)`,
    `create table pipl_pia (
       id text primary key,
       title text not null,
       scope text not null,
       risk text not null check (risk in ('low', 'medium', 'high')),
       measures text not null,
       created_by text not null,
       created_at timestamptz not null,
       reviewed_by text,
       reviewed_at timestamptz,
       keep_until timestamptz not null)`,
  ]) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
