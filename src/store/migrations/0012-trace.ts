import { sql, type Kysely } from 'kysely';

/**
 * Leak tracing (src/trace/): canary waybills (planted in the vault, listed only here), marked
 * exports (who received which rows in which order), and privacy-number bindings (viewer, waybill)
 * → virtual number.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`create table trace_canaries (
       waybill text primary key,
       batch text not null,
       export_id text,
       planted_at timestamptz not null,
       planted_by text not null,
       retired_at timestamptz)`).execute(db);
  await sql.raw(`create table trace_exports (
       id text primary key,
       account text not null,
       device text,
       ip text,
       created_at timestamptz not null,
       row_order jsonb not null,
       rows integer not null)`).execute(db);
  await sql.raw(`create index trace_exports_account on trace_exports (account, created_at)`).execute(db);
  await sql.raw(`create table privacy_bindings (
       id text primary key,
       virtual_number text not null,
       viewer text not null,
       waybill text not null,
       party text not null,
       created_at timestamptz not null,
       expires_at timestamptz not null,
       ended_at timestamptz)`).execute(db);
  await sql.raw(`create index privacy_bindings_number on privacy_bindings (virtual_number, viewer)`).execute(db);
  // Never two live bindings of one virtual number for the same caller: the platform could not tell them apart.
  await sql.raw(`create unique index privacy_bindings_live on privacy_bindings (virtual_number, viewer) where ended_at is null`).execute(db);
  await sql.raw(`create index privacy_bindings_viewer on privacy_bindings (viewer, waybill, party)`).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
