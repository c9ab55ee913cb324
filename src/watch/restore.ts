/**
 * Restart: the detection engine's learned state (profiles, peers, baselines, evidence across days,
 * dedup and incidents) lives in memory. At start it is rebuilt from the stored event history —
 * the same events, in event-time order, through the same deterministic engine — so a restarted
 * watch raises the same alerts as one that never stopped (src/detect/restart.test.ts).
 *
 * Alerts the replay raises again were stored when first raised and are discarded here. The
 * history read is bounded by the engine's profile TTL (older state would have expired anyway).
 * The reorder buffer is not flushed: its tail is released by the next live events, as it would
 * have been without the restart.
 *
 * For the in-process bus only: a `warden watch` worker on NATS rebuilds from its partition's
 * stream (./worker.ts); this store holds every partition's events and those not yet delivered.
 */
import type { Kysely } from 'kysely';
import type { DetectionEngine } from '../detect/engine.js';
import { storedEvents } from '../insight/stored-events.js';
import type { Database } from '../store/schema.js';

const DAY = 86_400_000;

export async function restoreEngine(db: Kysely<Database>, engine: DetectionEngine, now: number): Promise<{ events: number; discardedAlerts: number }> {
  const from = new Date(now - engine.config.state.profile_ttl_days * DAY);
  // Up to the engine's far-future limit: later events are held aside by the engine anyway.
  const to = new Date(now + engine.config.time.max_future_minutes * 60_000);
  let events = 0;
  let discardedAlerts = 0;
  for await (const e of storedEvents(db, from, to)) {
    events++;
    discardedAlerts += engine.process(e).length;
  }
  return { events, discardedAlerts };
}
