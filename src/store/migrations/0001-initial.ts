import { sql, type Kysely } from 'kysely';

/**
 * The whole initial schema, in SQL that PostgreSQL 15 and PGlite (PostgreSQL 17+) both run.
 * Ciphertext and blind indexes are bytea; masked views are precomputed at ingest so ordinary
 * reads never touch key material.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `create table sites (
       code text primary key,
       kind text not null check (kind in ('outlet','sorting','cs','hq')),
       city text not null,
       created_at timestamptz not null default now())`,
    `create table accounts (
       id text primary key,
       role text not null check (role in ('courier','outlet_staff','sorting','customer_service','manager','it_admin','security_analyst','service')),
       site text references sites(code),
       password_hash text,
       status text not null default 'active' check (status in ('active','suspended')),
       status_reason text,
       status_changed_at timestamptz,
       created_at timestamptz not null default now())`,
    `create table sessions (
       id text primary key,
       token_hash bytea not null unique,
       account text not null references accounts(id),
       device text not null,
       ip text,
       app_hash text,
       mfa boolean not null default false,
       created_at timestamptz not null,
       expires_at timestamptz not null,
       revoked_at timestamptz)`,
    `create index sessions_live_by_account on sessions (account, created_at) where revoked_at is null`,
    `create table service_tokens (
       id text primary key,
       token_hash bytea not null unique,
       account text not null references accounts(id),
       created_at timestamptz not null,
       revoked_at timestamptz)`,
    `create table keks (
       id serial primary key,
       wrapped bytea not null,
       master_key_id text not null,
       status text not null default 'active' check (status in ('active','retired')),
       created_at timestamptz not null default now())`,
    `create table keyring (
       name text primary key,
       wrapped bytea not null,
       master_key_id text not null,
       public_part bytea,
       created_at timestamptz not null default now())`,
    `create table subject_keys (
       subject_id bytea primary key,
       kek_id integer not null references keks(id),
       wrapped_dek bytea not null,
       created_at timestamptz not null default now())`,
    `create index subject_keys_by_kek on subject_keys (kek_id)`,
    `create table waybills (
       waybill text primary key,
       origin_site text not null,
       dest_site text not null,
       origin_city text,
       dest_city text,
       masked jsonb not null,
       label jsonb not null,
       created_at timestamptz not null)`,
    `create table waybill_parties (
       waybill text not null references waybills(waybill) on delete cascade,
       party text not null check (party in ('sender','recipient')),
       subject_id bytea not null,
       name_ct bytea not null,
       phone_ct bytea not null,
       address_ct bytea not null,
       id_number_ct bytea,
       phone_bidx bytea not null,
       id_bidx bytea,
       primary key (waybill, party))`,
    `create index waybill_parties_by_phone on waybill_parties (phone_bidx)`,
    `create index waybill_parties_by_id_number on waybill_parties (id_bidx) where id_bidx is not null`,
    `create index waybill_parties_by_subject on waybill_parties (subject_id)`,
    `create table assignments (
       waybill text not null,
       account text not null,
       task text not null check (task in ('pickup','delivery')),
       assigned_at timestamptz not null,
       completed_at timestamptz,
       primary key (waybill, account, task))`,
    `create index assignments_by_account on assignments (account)`,
    `create table tickets (
       ticket text primary key,
       waybill text not null,
       account text not null,
       status text not null check (status in ('open','closed')),
       updated_at timestamptz not null)`,
    `create index tickets_by_account_waybill on tickets (account, waybill)`,
    `create table search_grants (
       account text not null,
       waybill text not null,
       granted_at timestamptz not null,
       primary key (account, waybill))`,
    `create table audit_log (
       seq bigint primary key,
       ts timestamptz not null,
       kind text not null,
       account text,
       role text,
       site text,
       device text,
       ip text,
       session text,
       waybill text,
       fields text,
       purpose text,
       ticket text,
       decision text not null,
       reason text,
       request_id text,
       detail jsonb,
       prev_hash bytea not null,
       hash bytea not null)`,
    `create index audit_log_by_account_ts on audit_log (account, ts)`,
    `create index audit_log_by_ts on audit_log (ts)`,
    `create table audit_head (
       id integer primary key check (id = 1),
       seq bigint not null,
       hash bytea not null)`,
    `insert into audit_head (id, seq, hash) values (1, 0, decode(repeat('00', 32), 'hex'))`,
    `create table audit_checkpoints (
       seq bigint primary key,
       hash bytea not null,
       signature bytea not null,
       key_id text not null,
       signed_at timestamptz not null)`,
    `create table activity_events (
       id text primary key,
       ts timestamptz not null,
       type text not null,
       account text,
       body jsonb not null,
       received_at timestamptz not null)`,
    `create index activity_events_by_ts on activity_events (ts)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('the initial migration is not reversible');
}
