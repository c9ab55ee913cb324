import { sql, type Kysely } from 'kysely';

/**
 * Access (issue 7): assignments that end (reassignment), search grants per matched party,
 * investigation cases, alert triage (assignee, the subject's site and city), and the audit-trail
 * indexes the case scope and a case's reveals are read through.
 *
 * Open search grants are dropped rather than widened to both parties: a grant lasts minutes, and
 * guessing the matched party would fail open (the agent searches again).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `alter table assignments add column ended_at timestamptz`,
    `create index assignments_by_waybill_task on assignments (waybill, task)`,
    `drop table search_grants`,
    `create table search_grants (
       account text not null,
       waybill text not null,
       party text not null check (party in ('sender','recipient')),
       granted_at timestamptz not null,
       primary key (account, waybill, party))`,
    `create table cases (
       id text primary key,
       title text not null,
       reason text not null,
       status text not null check (status in ('pending','open','closed')),
       opened_by text not null,
       approved_by text,
       closed_by text,
       close_note text,
       created_at timestamptz not null,
       approved_at timestamptz,
       closed_at timestamptz,
       check (approved_by is null or approved_by <> opened_by))`,
    `create index cases_by_status_created on cases (status, created_at)`,
    `create table case_waybills (
       case_id text not null references cases(id),
       waybill text not null,
       primary key (case_id, waybill))`,
    `create table case_accounts (
       case_id text not null references cases(id),
       account text not null,
       primary key (case_id, account))`,
    `create index case_accounts_by_account on case_accounts (account)`,
    // A case naming accounts covers the waybills they accessed: looked up by (account, waybill).
    `create index audit_log_by_account_waybill on audit_log (account, waybill) where waybill is not null`,
    // A case lists the reveals made under it (only reveals naming a case are indexed).
    `create index audit_log_reveals_by_case on audit_log ((detail->>'case')) where kind = 'access.reveal' and detail ? 'case'`,
    // At start the policy in force is compared with the one recorded last.
    `create index audit_log_policy_loaded on audit_log (seq) where kind = 'policy.loaded'`,
    `alter table alerts add column assignee text`,
    `alter table alerts add column site text`,
    `alter table alerts add column city text`,
    `update alerts set site = (select a.site from accounts a where a.id = alerts.account)`,
    `update alerts set city = (select s.city from sites s where s.code = alerts.site)`,
    `create index alerts_by_assignee_ts on alerts (assignee, ts)`,
    `create index alerts_by_detector_ts on alerts (detector, ts)`,
    `create index alerts_by_site_ts on alerts (site, ts)`,
    `create index alerts_by_city_ts on alerts (city, ts)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
