/**
 * The event bus on NATS JetStream: the gateway side (publisher).
 *
 * Subject scheme (docs/scale.md, "The stream"): one stream (default `WARDEN_EVENTS`) over
 * `<subject>.<p>` (default `warden.events.<p>`), p = 0 … partitions − 1.
 * - An event with an account goes to the partition of its account, `partitionOf(account, N)`
 *   (FNV-1a 32-bit of the UTF-8 account id, mod N), with `Nats-Msg-Id` = the event id.
 * - `waybill` and `scan` events (routing and physical custody: every account's detection needs
 *   them), and anything without an account, go to every partition, with `Nats-Msg-Id` =
 *   `<event id>@<p>`.
 * External producers may publish there too, with the same routing (`routeEvent`). The number of
 * partitions is written in the stream's description when it is created; a process configured
 * with another number refuses to start (a wrong partition would silently split an account).
 *
 * Invariants:
 * - At least once: `publish()` resolves when JetStream acknowledged every message; a refused or
 *   timed-out publish is retried (with backoff) until it is stored or the bus closes. Duplicates
 *   (a retry, two gateways recovering the same outbox window) are dropped by JetStream within the
 *   duplicate window, by event id.
 * - Local subscribers (the console's overview) still get every event in-process, as before.
 * - Backpressure: at most `maxInFlight` messages await their acknowledgement; `publish()` waits
 *   beyond that. What waits is the `pending` figure (a metric).
 */
import { connect, headers, type JetStreamClient, type JetStreamManager, type NatsConnection, RetentionPolicy, StorageType } from 'nats';
import type { ActivityEvent } from '../contracts/events.js';
import { partition } from '../detect/engine.js';
import { createInProcessBus, type EventBus } from './bus.js';

export const DEFAULT_STREAM = 'WARDEN_EVENTS';
export const DEFAULT_SUBJECT = 'warden.events';

export interface StreamSettings {
  /** JetStream stream name. */
  stream: string;
  /** Subject prefix; messages go to `<subject>.<partition>`. */
  subject: string;
  partitions: number;
  /** How long the stream keeps events: a restarted worker rebuilds its state from this window. */
  maxAgeMs?: number;
  /** Deduplication by Nats-Msg-Id within this window. */
  duplicateWindowMs?: number;
}

/** FNV-1a, 32 bits, over the UTF-8 bytes: stable across processes and languages. */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(key, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

export interface Route {
  subject: string;
  msgId: string;
}

/** Where an event goes: its account's partition, or every partition (the engine's `partition()` decides which). */
export function routeEvent(e: ActivityEvent, subject: string, partitions: number): Route[] {
  const account = partition(e);
  if (!account) {
    return Array.from({ length: partitions }, (_, p) => ({ subject: `${subject}.${p}`, msgId: `${e.id}@${p}` }));
  }
  return [{ subject: `${subject}.${partitionOf(account, partitions)}`, msgId: e.id }];
}

const MS = 1_000_000;
const describe = (partitions: number) => `Warden activity events; partitions=${partitions}`;

/** Creates the stream, or checks that the existing one is partitioned as configured. */
export async function ensureStream(jsm: JetStreamManager, s: StreamSettings): Promise<void> {
  let info;
  try {
    info = await jsm.streams.info(s.stream);
  } catch (err) {
    if (!/stream not found/i.test(String((err as Error).message))) throw err;
    await jsm.streams.add({
      name: s.stream,
      subjects: [`${s.subject}.*`],
      description: describe(s.partitions),
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: (s.maxAgeMs ?? 24 * 3_600_000) * MS,
      duplicate_window: (s.duplicateWindowMs ?? 10 * 60_000) * MS,
    });
    return;
  }
  const m = /partitions=(\d+)/.exec(info.config.description ?? '');
  if (!m || Number(m[1]) !== s.partitions) {
    throw new Error(`stream ${s.stream} is partitioned ${m ? `into ${m[1]}` : 'unknown'}, not ${s.partitions} (WARDEN_BUS_PARTITIONS): every process must use the stream's number`);
  }
}

export interface NatsBusOptions extends StreamSettings {
  url: string;
  maxInFlight?: number;
  onPublishError?: (err: unknown) => void;
}

export interface NatsBus extends EventBus {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  /** Messages JetStream acknowledged as duplicates (a retry or a recovered window). */
  duplicates(): number;
  /** To JetStream only (not local subscribers): the outbox window a restarted gateway sends again. */
  republish(events: readonly ActivityEvent[]): Promise<void>;
}

export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  const u = new URL(url);
  return connect({ servers: `${u.hostname}:${u.port || 4222}`, name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
}

/** The gateway's bus: every event to JetStream (and to local subscribers). */
export async function createNatsBus(opts: NatsBusOptions): Promise<NatsBus> {
  const nc = await connectNats(opts.url, 'warden-gateway');
  try {
    await ensureStream(await nc.jetstreamManager(), opts);
  } catch (err) {
    await nc.close();
    throw err;
  }
  const js = nc.jetstream();
  const local = createInProcessBus();
  const maxInFlight = opts.maxInFlight ?? 1024;
  let inFlight = 0;
  let waiting = 0;
  let published = 0;
  let failed = 0;
  let dupes = 0;
  let closed = false;
  const slots: Array<() => void> = [];

  async function acquire(): Promise<void> {
    if (inFlight < maxInFlight) {
      inFlight++;
      return;
    }
    waiting++;
    await new Promise<void>((resolve) => slots.push(resolve));
    waiting--;
  }
  function release(): void {
    const next = slots.shift();
    if (next) next();
    else inFlight--;
  }

  async function send(route: Route, data: Uint8Array): Promise<void> {
    await acquire();
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const h = headers();
          h.set('Warden-Producer', 'warden');
          const ack = await js.publish(route.subject, data, { msgID: route.msgId, headers: h, timeout: 5000 });
          if (ack.duplicate) dupes++;
          return;
        } catch (err) {
          failed++;
          opts.onPublishError?.(err);
          if (closed && attempt > 2) throw err;
          await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
        }
      }
    } finally {
      release();
    }
  }

  function sendAll(events: readonly ActivityEvent[]): Promise<void>[] {
    const sends: Promise<void>[] = [];
    for (const e of events) {
      const data = Buffer.from(JSON.stringify(e));
      for (const r of routeEvent(e, opts.subject, opts.partitions)) sends.push(send(r, data));
    }
    return sends;
  }

  return {
    nc,
    js,
    duplicates: () => dupes,
    async publish(events) {
      if (events.length === 0) return;
      await Promise.all([local.publish(events), ...sendAll(events)]);
      published += events.length;
    },
    async republish(events) {
      await Promise.all(sendAll(events));
    },
    subscribe: (name, handler) => local.subscribe(name, handler),
    stats: () => ({ published, failed: failed + local.stats().failed, pending: inFlight + waiting + local.stats().pending }),
    async close() {
      closed = true;
      await local.close();
      // Lets acknowledged-or-failing publishes settle, then drains the connection.
      while (inFlight > 0 || waiting > 0) await new Promise((r) => setTimeout(r, 20));
      await nc.drain();
    },
  };
}
