import { sql, type Kysely } from 'kysely';

/**
 * Two analysts switch detection off (review 3): an exception silences detection on an account,
 * device, network or app build, and a detector's settings can turn it off or blunt it, so one
 * analyst could silence an accomplice for years. A new exception waits for a second analyst's
 * approval before the engine is given it (exceptions already in force stay approved); a settings
 * change is a request (one per detector) until a second analyst approves it into
 * `detector_settings`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `alter table detect_exceptions add column approval text not null default 'approved' check (approval in ('pending', 'approved'))`,
    `alter table detect_exceptions add column approved_by text`,
    `alter table detect_exceptions add column approved_at timestamptz`,
    `create table detector_settings_requests (
       detector text primary key,
       settings jsonb not null,
       requested_by text not null,
       requested_at timestamptz not null,
       reason text not null)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
