import { sql, type Kysely } from 'kysely';

/**
 * The credential seal (attack review 11, docs/decisions/0020-credential-seal.md): a keyed MAC over
 * the columns of accounts, sessions and service tokens that decide who is authenticated, made by
 * Warden (src/identity/credential-seal.ts; the key comes from the master key and is not in the
 * database, so this migration cannot compute seals).
 *
 * - `credential_seal` on accounts, sessions and service_tokens: null for rows written before; a
 *   null seal fails closed once the one-time sealing ran.
 * - Sessions live at the upgrade are ended here (`revoked_reason = 'upgrade'`): their holders log
 *   in again, and no session row is ever sealed after the fact.
 * - `credential_seal_upgrade`: how many accounts and service tokens this migration found
 *   unsealed, and how many sessions it ended. The first start seals them (audited as
 *   `auth.credentials_sealed`) and sets `legacy` to 0; a store with none (a new install) never
 *   runs the sealing.
 * - A partial index finds the `auth.credentials_sealed` entry without reading the whole trail,
 *   another an account's last factor enrolment (a password-only login asks the trail whether the
 *   account has a factor: src/identity/account-queries.ts factorPerTrail).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    `alter table accounts add column credential_seal bytea`,
    `alter table sessions add column credential_seal bytea`,
    `alter table service_tokens add column credential_seal bytea`,
    `create table credential_seal_upgrade (
       id integer primary key check (id = 1),
       legacy bigint not null,
       sessions_ended bigint not null,
       migrated_at timestamptz not null)`,
    `insert into credential_seal_upgrade (id, legacy, sessions_ended, migrated_at)
       select 1, (select count(*) from accounts) + (select count(*) from service_tokens),
              (select count(*) from sessions where revoked_at is null), now()`,
    `update sessions set revoked_at = now(), revoked_reason = 'upgrade' where revoked_at is null`,
    `create index audit_log_credentials_sealed on audit_log (seq) where kind = 'auth.credentials_sealed'`,
    `create index audit_log_factor_changes on audit_log (account, seq) where kind in ('admin.mfa_enrolled', 'admin.account_approved') and decision = 'ok'`,
  ]) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
