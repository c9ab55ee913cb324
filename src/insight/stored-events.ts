/**
 * The stored activity as contract events, in event-time order: the gateway's own activity
 * (logins, logouts, views, searches, prints, reveals — from the audit trail, mapped exactly as the
 * live bus maps them) merged with what producers sent (routing, work, scans — `activity_events`).
 * This is what a backtest replays.
 *
 * Invariants: read in keyset pages (never all at once); stops at `maxEvents` and says so.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { ActivityEvent } from '../contracts/events.js';
import { isAuditKind, type AuditRecord } from '../audit/kinds.js';
import { eventsFromAudit } from '../events/from-audit.js';
import { WITHHELD_EVENT_TYPE } from '../events/ingest.js';

const PAGE = 5000;
const GATEWAY_KINDS = ['access.view', 'access.reveal', 'access.search', 'access.print', 'auth.login', 'auth.logout'];

async function* auditEvents(db: Kysely<Database>, from: Date, to: Date): AsyncGenerator<ActivityEvent> {
  let after: { ts: Date; seq: number } | null = null;
  for (;;) {
    let q = db
      .selectFrom('audit_log')
      .select(['seq', 'ts', 'kind', 'account', 'role', 'site', 'device', 'ip', 'session', 'waybill', 'fields', 'purpose', 'ticket', 'decision', 'reason', 'detail'])
      .where('kind', 'in', GATEWAY_KINDS)
      .where('ts', '>=', from)
      .where('ts', '<', to);
    if (after) {
      const a = after;
      q = q.where((eb) => eb.or([eb('ts', '>', a.ts), eb.and([eb('ts', '=', a.ts), eb('seq', '>', a.seq)])]));
    }
    const rows = await q.orderBy('ts').orderBy('seq').limit(PAGE).execute();
    const records: AuditRecord[] = [];
    for (const r of rows) {
      if (!isAuditKind(r.kind)) continue;
      const detail = typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail;
      records.push({
        seq: Number(r.seq),
        kind: r.kind,
        ts: new Date(r.ts),
        decision: r.decision as AuditRecord['decision'],
        account: r.account,
        role: r.role,
        site: r.site,
        device: r.device,
        ip: r.ip,
        session: r.session,
        waybill: r.waybill,
        fields: r.fields ? r.fields.split(',') : null,
        purpose: r.purpose,
        ticket: r.ticket,
        reason: r.reason,
        detail,
        hash: Buffer.alloc(0),
        prevHash: Buffer.alloc(0),
      });
    }
    yield* eventsFromAudit(records);
    if (rows.length < PAGE) return;
    const last = rows[rows.length - 1]!;
    after = { ts: new Date(last.ts), seq: Number(last.seq) };
  }
}

async function* producedEvents(db: Kysely<Database>, from: Date, to: Date): AsyncGenerator<ActivityEvent> {
  let after: { ts: Date; id: string } | null = null;
  for (;;) {
    // Withheld routing lines (src/events/ingest.ts) were never published: a replay does not apply them either.
    let q = db.selectFrom('activity_events').select(['id', 'ts', 'body']).where('ts', '>=', from).where('ts', '<', to).where('type', '!=', WITHHELD_EVENT_TYPE);
    if (after) {
      const a = after;
      q = q.where((eb) => eb.or([eb('ts', '>', a.ts), eb.and([eb('ts', '=', a.ts), eb('id', '>', a.id)])]));
    }
    const rows = await q.orderBy('ts').orderBy('id').limit(PAGE).execute();
    for (const r of rows) yield (typeof r.body === 'string' ? JSON.parse(r.body) : r.body) as ActivityEvent;
    if (rows.length < PAGE) return;
    const last = rows[rows.length - 1]!;
    after = { ts: new Date(last.ts), id: last.id };
  }
}

/** Both sources merged by event time (ties: produced events first — routing and work precede access). */
export async function* storedEvents(db: Kysely<Database>, from: Date, to: Date): AsyncGenerator<ActivityEvent> {
  const a = auditEvents(db, from, to);
  const p = producedEvents(db, from, to);
  let na = await a.next();
  let np = await p.next();
  while (!na.done || !np.done) {
    if (np.done || (!na.done && Date.parse(na.value.ts) < Date.parse(np.value.ts))) {
      yield na.value as ActivityEvent;
      na = await a.next();
    } else {
      yield np.value;
      np = await p.next();
    }
  }
}
