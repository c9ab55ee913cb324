import { sql, type Kysely } from 'kysely';

/**
 * The routing seal (attack review 9, docs/decisions/0019-routing-seal.md): a keyed MAC over the
 * routing columns of each waybill, made by Warden (src/vault/routing-seal.ts; the key comes from
 * the master key and is not in the database, so this migration cannot compute seals).
 *
 * - `waybills.routing_seal`: null for rows written before; a null seal fails closed once the
 *   one-time sealing ran.
 * - `routing_seal_upgrade`: how many rows this migration found unsealed. The first start seals
 *   them (audited as `vault.routing_sealed` with the count) and sets it to 0; a store with no
 *   waybills when migrated (a new install) never runs the sealing.
 * - A partial index finds the `vault.routing_sealed` entry without reading the whole trail.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    `alter table waybills add column routing_seal bytea`,
    `create table routing_seal_upgrade (
       id integer primary key check (id = 1),
       legacy bigint not null,
       migrated_at timestamptz not null)`,
    `insert into routing_seal_upgrade (id, legacy, migrated_at) select 1, count(*), now() from waybills`,
    `create index audit_log_routing_sealed on audit_log (seq) where kind = 'vault.routing_sealed'`,
  ]) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
