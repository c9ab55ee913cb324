import { sql, type Kysely } from 'kysely';

/** Alerts, analyst exceptions and the gateway's automated responses (the Watch domain). */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `create table alerts (
       id text primary key,
       ts timestamptz not null,
       account text,
       device text,
       detector text not null,
       severity text not null check (severity in ('low','medium','high','critical')),
       score integer not null,
       summary text not null,
       incident text,
       response text,
       body jsonb not null,
       status text not null default 'open' check (status in ('open','acknowledged','resolved')),
       verdict text check (verdict in ('true_positive','false_positive')),
       note text,
       updated_by text,
       created_at timestamptz not null,
       updated_at timestamptz not null)`,
    `create index alerts_by_ts on alerts (ts)`,
    `create index alerts_by_account_ts on alerts (account, ts)`,
    `create index alerts_by_status_severity on alerts (status, severity)`,
    `create table detect_exceptions (
       id text primary key,
       kind text not null check (kind in ('device','network','account','app_hash')),
       account text,
       value text not null,
       until timestamptz not null,
       reason text not null,
       created_by text not null,
       created_at timestamptz not null,
       removed_at timestamptz)`,
    `create table account_responses (
       account text primary key,
       action text not null check (action in ('step_up','throttle','suspend')),
       reason text not null,
       alert_id text,
       since timestamptz not null)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
