import { sql, type Kysely } from 'kysely';

/**
 * Producers (issue 7, hole 4): each service token is registered for the event types, sites and
 * (for a legacy system's own staff activity) accounts it may send; every stored event records
 * who produced it and whether it came in as a history backfill.
 *
 * Tokens issued before this migration get the least an upstream feed needs: waybill, assign,
 * ticket and scan events for any site, no login/logout/access, no backfill. The JSON is spelled
 * out here (not imported) so the migration means the same thing forever.
 */
const UPSTREAM_DEFAULT = '{"events":["waybill","assign","ticket","scan"],"sites":null,"accounts_prefix":null,"accounts":null,"backfill":false}';

export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `alter table service_tokens add column registration jsonb not null default '${UPSTREAM_DEFAULT}'::jsonb`,
    // Rows stored before producers were recorded say so; every later row names its producer.
    `alter table activity_events add column producer text not null default 'unrecorded'`,
    `alter table activity_events alter column producer drop default`,
    `alter table activity_events add column producer_account text`,
    `alter table activity_events add column backfill boolean not null default false`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
