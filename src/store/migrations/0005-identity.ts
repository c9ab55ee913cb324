import { sql, type Kysely } from 'kysely';

/**
 * Identity hardening (issue 7): dual control over privileged accounts, one-time TOTP codes,
 * server-issued device credentials, sessions that remember why they ended, and a persisted
 * switch-off for the bootstrap admin token.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    // 'pending': a privileged account created after bootstrap, waiting for a second analyst.
    `alter table accounts add column approval text not null default 'approved' check (approval in ('approved','pending'))`,
    // A requested promotion (or a privileged site change); the account keeps its current role meanwhile.
    `alter table accounts add column pending_role text check (pending_role in ('courier','outlet_staff','sorting','customer_service','manager','it_admin','security_analyst','service'))`,
    `alter table accounts add column pending_site text references sites(code)`,
    `alter table accounts add column requested_by text`,
    `alter table accounts add column requested_at timestamptz`,
    `alter table accounts add column created_by text`,
    `alter table accounts add column approved_by text`,
    // The TOTP time step of the last code accepted: a code is accepted only for a newer step.
    `alter table accounts add column mfa_last_step bigint`,
    `alter table sessions add column revoked_reason text`,
    `create index sessions_live_by_device on sessions (device) where revoked_at is null`,
    `create table devices (
       id text primary key,
       credential_hash bytea not null unique,
       label text not null,
       enrolled_by text not null references accounts(id),
       enrolled_at timestamptz not null,
       revoked_at timestamptz,
       revoked_by text)`,
    `create index devices_by_enroller on devices (enrolled_by, enrolled_at)`,
    `create table account_devices (
       account text not null references accounts(id),
       device text not null references devices(id),
       first_seen timestamptz not null,
       last_seen timestamptz not null,
       primary key (account, device))`,
    `create index account_devices_by_device on account_devices (device)`,
    // Admin tokens switched off, by keyed fingerprint: the same value never works again.
    `create table admin_token_revocations (
       fingerprint bytea primary key,
       disabled_at timestamptz not null,
       disabled_by text not null)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
