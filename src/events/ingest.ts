/**
 * NDJSON ingest from other producers (scanners, dispatch, ticketing).
 *
 * Invariants: a bad line is reported with its line number and never stops the rest; accepted
 * events are committed (and their work context applied) before the answer says "accepted".
 */
import type { Kysely, Transaction } from 'kysely';
import { parseEventLine, type ActivityEvent } from '../contracts/events.js';
import type { Database } from '../store/schema.js';
import type { WorkContext } from '../access/work-context.js';
import type { EventBus } from './bus.js';

export interface IngestResult {
  accepted: number;
  rejected: Array<{ line: number; reason: string }>;
}

export interface IngestDeps {
  db: Kysely<Database>;
  work: WorkContext;
  bus: EventBus;
  clock: { now(): number };
}

const CHUNK = 500;

export function createIngest(deps: IngestDeps) {
  async function ingestNdjson(body: string): Promise<IngestResult> {
    const accepted: ActivityEvent[] = [];
    const rejected: IngestResult['rejected'] = [];
    const lines = body.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (!line) continue;
      const r = parseEventLine(line);
      if (r.ok) accepted.push(r.event);
      else rejected.push({ line: i + 1, reason: r.reason });
    }
    await accept(accepted);
    return { accepted: accepted.length, rejected };
  }

  /** Stores events (idempotent by id), applies their work context, then publishes them. */
  async function accept(events: ActivityEvent[]): Promise<void> {
    if (!events.length) return;
    const receivedAt = new Date(deps.clock.now());
    await deps.db.transaction().execute(async (tx) => {
      for (let i = 0; i < events.length; i += CHUNK) {
        await tx
          .insertInto('activity_events')
          .values(
            events.slice(i, i + CHUNK).map((e) => ({
              id: e.id,
              ts: new Date(e.ts),
              type: e.type,
              account: 'account' in e && e.account ? e.account : null,
              body: JSON.stringify(e),
              received_at: receivedAt,
            })),
          )
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
      }
      for (const e of events) await applyWorkContext(e, tx);
    });
    await deps.bus.publish(events);
  }

  async function applyWorkContext(e: ActivityEvent, tx: Transaction<Database>): Promise<void> {
    const at = new Date(e.ts);
    switch (e.type) {
      case 'assign':
        await deps.work.assign({ waybill: e.waybill, account: e.account, task: e.task, at }, tx);
        break;
      case 'ticket':
        if (e.waybill) await deps.work.ticket({ ticket: e.ticket, waybill: e.waybill, account: e.account, status: e.status, at }, tx);
        break;
      case 'scan':
        if (e.op === 'delivered') await deps.work.complete(e.waybill, 'delivery', at, tx);
        else if (e.op === 'pickup') await deps.work.complete(e.waybill, 'pickup', at, tx);
        break;
      default:
        break;
    }
  }

  return { ingestNdjson, accept };
}
export type Ingest = ReturnType<typeof createIngest>;
