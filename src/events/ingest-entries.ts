/**
 * The audit entries and producer alerts ingest writes (src/events/ingest.ts decides when): work
 * assigned, tickets applied or not, work completed by a scan, a backfill's summary, a request's
 * routing conflicts, and the alert about a producer that probes waybill numbers. Ids and counts only:
 * never a party's data, never a canary's number.
 */
import { createHash } from 'node:crypto';
import type { ActivityEvent } from '../contracts/events.js';
import type { AuditEntryInput } from '../audit/kinds.js';
import type { RequestContext } from '../identity/identity.js';
import type { AlertOut } from '../detect/engine.js';
import { completesWork, type Producer } from './producer.js';

/** A request's routing lines that disagreed with the vault or named a canary (counts only: no number is kept). */
export interface WaybillConflicts {
  /** Refused `waybill_conflict` (the producer's own business). */
  answered: number;
  /** Answered as unknown numbers' lines, neither applied nor published (judgeWaybill). */
  withheld: number;
  /** Naming a live canary (agreeing or not). */
  canaries: number;
}

/** Account ids and waybill numbers listed in an `events.backfill` entry, each; the total and digest cover all. */
export const BACKFILL_LISTED_IDS = 1000;


/** `events.waybill_conflicts`: a request's routing lines that disagreed with the vault or named a canary, as counts (no number: the trail is read more widely than the canary list). */
export function conflictEntry(producer: Producer, tally: WaybillConflicts, ts: Date, ctx: RequestContext): AuditEntryInput {
  return {
    kind: 'events.waybill_conflicts',
    ts,
    decision: 'denied',
    account: producer.account ?? undefined,
    ip: ctx.ip,
    requestId: ctx.requestId,
    reason: 'waybill_conflict',
    detail: { actor: producer.actor, producer: producer.id, answered: tally.answered, withheld: tally.withheld, canaries: tally.canaries },
  };
}

/** An alert about a producer (no staff account, no response): its routing conflicts of the hour, or a canary's number named. No number, no free text. */
export function conflictAlert(producer: Producer, what: 'canary' | 'conflicts', seen: { conflicts: number; canaries: number }, now: number): AlertOut {
  const hour = Math.floor(now / 3_600_000);
  const id = `ingest-${what === 'canary' ? 'canary-named' : 'waybill-conflicts'}-${producer.id}-${hour}`;
  const summary = what === 'canary'
    ? `Producer ${producer.id} sent a routing event naming a canary waybill's number: no producer issued it, so it was read from Warden's data or found by scanning numbers. See events.waybill_conflicts in the audit trail; revoke the token if its system did not send it, and plant fresh canaries.`
    : `Producer ${producer.id} sent ${seen.conflicts} routing events within the hour that disagree with parcels Warden holds: it may be scanning waybill numbers for the ones Warden holds. See events.waybill_conflicts in the audit trail.`;
  return {
    id,
    ts: new Date(now).toISOString(),
    detector: what === 'canary' ? 'ingest_canary_named' : 'ingest_waybill_conflicts',
    severity: what === 'canary' ? 'high' : 'medium',
    score: what === 'canary' ? 75 : 50,
    summary,
    evidence: { producer: producer.id, producer_account: producer.account, conflicts: seen.conflicts, canaries: seen.canaries },
    incident: id,
    risk: 0,
    response: 'none',
    event_id: id,
  } as unknown as AlertOut;
}

export type TicketLine = Extract<ActivityEvent, { type: 'ticket' }> & { waybill: string };

/** One audit entry per assignment that changes who may see a waybill (tickets: `ticketEntry`). No PII. */
export function workEntries(events: readonly ActivityEvent[], producer: Producer, ts: Date, ctx: RequestContext): AuditEntryInput[] {
  const entries: AuditEntryInput[] = [];
  const base = { ts, decision: 'ok' as const, ip: ctx.ip, requestId: ctx.requestId };
  for (const e of events) {
    if (e.type === 'assign') {
      entries.push({ ...base, kind: 'work.assigned', account: e.account, waybill: e.waybill, detail: { task: e.task, producer: producer.id, actor: producer.actor, at: e.ts } });
    }
  }
  return entries;
}

/** A ticket line's entry: `ok` when it changed the ticket, `denied` (`not_applied`) when the ticket's rules ignored it. No PII. */
export function ticketEntry(e: TicketLine, applied: boolean, producer: Producer, ts: Date, ctx: RequestContext): AuditEntryInput {
  return {
    ts,
    kind: 'work.ticket',
    decision: applied ? 'ok' : 'denied',
    ip: ctx.ip,
    requestId: ctx.requestId,
    account: e.account,
    waybill: e.waybill,
    ticket: e.ticket,
    detail: { status: e.status, producer: producer.id, actor: producer.actor, at: e.ts, ...(applied ? {} : { reason: 'not_applied' }) },
  };
}

/** One `work.completed` per account whose assignment a delivered / picked-up scan completed. No PII. */
export function completedEntries(e: ActivityEvent, accounts: readonly string[], producer: Producer, ts: Date, ctx: RequestContext): AuditEntryInput[] {
  if (!completesWork(e)) return [];
  const task = e.op === 'delivered' ? 'delivery' : 'pickup';
  return accounts.map((account) => ({
    kind: 'work.completed' as const,
    ts,
    decision: 'ok' as const,
    ip: ctx.ip,
    requestId: ctx.requestId,
    account,
    waybill: e.waybill,
    site: e.site ?? null,
    detail: { task, op: e.op, scan: e.id, producer: producer.id, actor: producer.actor, at: e.ts },
  }));
}

export function backfillEntry(producer: Producer, events: readonly ActivityEvent[], counts: { accepted: number; duplicates: number; rejected: number }, ts: Date, ctx: RequestContext): AuditEntryInput {
  let from = '';
  let to = '';
  for (const e of events) {
    const t = new Date(e.ts).toISOString();
    if (!from || t < from) from = t;
    if (!to || t > to) to = t;
  }
  return {
    kind: 'events.backfill',
    ts,
    decision: 'ok',
    account: producer.account,
    ip: ctx.ip,
    requestId: ctx.requestId,
    detail: { actor: producer.actor, producer: producer.id, ...counts, from: from || null, to: to || null, ...namedIds(events) },
  };
}

/**
 * The distinct accounts and waybills the events name — ids only (an account id, a waybill
 * number), never a party's data: per kind the first BACKFILL_LISTED_IDS in sort order (JavaScript's
 * code-unit order), the total, and the SHA-256 (hex) of the whole sorted list, each id followed by
 * "\n" (for ASCII ids, `LC_ALL=C sort -u | sha256sum`).
 */
function namedIds(events: readonly ActivityEvent[]) {
  const accounts = new Set<string>();
  const waybills = new Set<string>();
  for (const e of events) {
    if (e.account) accounts.add(e.account);
    if ('waybill' in e && e.waybill) waybills.add(e.waybill);
    if (e.type === 'access' && e.waybills) for (const wb of e.waybills) if (wb) waybills.add(wb);
  }
  const a = idList(accounts);
  const w = idList(waybills);
  return { accounts: a.ids, accounts_total: a.total, accounts_sha256: a.sha256, waybills: w.ids, waybills_total: w.total, waybills_sha256: w.sha256 };
}

function idList(ids: ReadonlySet<string>): { total: number; ids: string[]; sha256: string } {
  const sorted = [...ids].sort();
  const hash = createHash('sha256');
  for (const id of sorted) hash.update(`${id}\n`, 'utf8');
  return { total: sorted.length, ids: sorted.slice(0, BACKFILL_LISTED_IDS), sha256: hash.digest('hex') };
}
