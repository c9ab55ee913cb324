/**
 * The event bus on NATS JetStream: the detection side. One worker owns one partition through a
 * durable pull consumer `warden-detect-<p>` on `<subject>.<p>` (./nats-bus.ts says what goes there).
 *
 * Invariants:
 * - In order: the handler gets batches in stream order, one at a time; a batch is acknowledged
 *   only after the handler resolved (alerts stored, responses applied). A handler that throws
 *   leaves the batch unacknowledged: JetStream redelivers it (at least once; alerts are
 *   idempotent by id, so a redelivered batch stores nothing twice).
 * - Restart: `replayAcknowledged()` reads the partition from the start of the stream's window up
 *   to the consumer's acknowledgement floor, so the engine's state is rebuilt before the durable
 *   consumer resumes where it stopped.
 * - Invalid messages (not contract JSON) are counted and terminated, never handed on and never
 *   logged with their content.
 * - Backpressure: the consumer holds at most `maxAckPending` unacknowledged messages; the lag
 *   (messages in the stream not yet delivered) is reported with each batch.
 */
import { AckPolicy, DeliverPolicy, type JsMsg, type NatsConnection } from 'nats';
import { validateEvent, type ActivityEvent } from '../contracts/events.js';
import type { EventBus, EventHandler } from './bus.js';
import { connectNats, ensureStream, type StreamSettings } from './nats-bus.js';

export interface ConsumerStats {
  /** Messages in the stream for this partition not yet delivered (the lag). */
  lag: number;
  /** Delivered, not yet acknowledged. */
  ackPending: number;
  delivered: number;
  redelivered: number;
  invalid: number;
  batches: number;
}

export interface PartitionConsumerOptions extends StreamSettings {
  url: string;
  partition: number;
  batch?: number;
  maxAckPending?: number;
  ackWaitMs?: number;
  /** Called after each batch is acknowledged: stream time → now, per event (seconds). */
  onBatch?: (info: { events: number; lag: number; streamAgesMs: number[] }) => void;
  onHandlerError?: (err: unknown) => void;
}

export interface PartitionConsumer extends EventBus {
  readonly nc: NatsConnection;
  readonly durable: string;
  /** Feeds everything this partition's consumer already acknowledged to `feed`, in stream order; returns how many. */
  replayAcknowledged(feed: (events: ActivityEvent[]) => void): Promise<number>;
  consumerStats(): ConsumerStats;
}

function decode(m: JsMsg): ActivityEvent | null {
  try {
    const r = validateEvent(JSON.parse(Buffer.from(m.data).toString('utf8')));
    return r.ok ? r.event : null;
  } catch {
    return null;
  }
}

export async function createPartitionConsumer(opts: PartitionConsumerOptions): Promise<PartitionConsumer> {
  if (!Number.isInteger(opts.partition) || opts.partition < 0 || opts.partition >= opts.partitions) throw new Error(`partition must be 0 … ${opts.partitions - 1}`);
  const nc = await connectNats(opts.url, `warden-watch-${opts.partition}`);
  const jsm = await nc.jetstreamManager();
  await ensureStream(jsm, opts);
  const js = nc.jetstream();
  const durable = `warden-detect-${opts.partition}`;
  const filter = `${opts.subject}.${opts.partition}`;
  const batch = opts.batch ?? 256;
  try {
    await jsm.consumers.info(opts.stream, durable);
  } catch {
    await jsm.consumers.add(opts.stream, {
      durable_name: durable,
      filter_subject: filter,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: opts.maxAckPending ?? 4 * batch,
      ack_wait: (opts.ackWaitMs ?? 30_000) * 1_000_000,
    });
  }
  const stats: ConsumerStats = { lag: 0, ackPending: 0, delivered: 0, redelivered: 0, invalid: 0, batches: 0 };
  let stopped = false;
  let loop: Promise<void> | null = null;
  let messages: { stop(): void } | null = null;
  let published = 0;
  let failed = 0;

  async function replayAcknowledged(feed: (events: ActivityEvent[]) => void): Promise<number> {
    const floor = (await jsm.consumers.info(opts.stream, durable)).ack_floor.stream_seq;
    if (floor === 0) return 0;
    // An ephemeral consumer on the same subject (not the client's ordered consumer: on a 2.9
    // server its filtered form never delivers), in memory, gone 30 s after the replay.
    const eph = await jsm.consumers.add(opts.stream, { filter_subject: filter, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All, inactive_threshold: 30e9, mem_storage: true });
    let n = 0;
    let buf: ActivityEvent[] = [];
    const iter = await (await js.consumers.get(opts.stream, eph.name)).consume({ max_messages: 1024 });
    for await (const m of iter) {
      if (m.seq > floor) break;
      const e = decode(m);
      if (e) buf.push(e);
      if (buf.length >= 1024) (feed(buf), (n += buf.length), (buf = []));
      if (m.seq === floor || m.info.pending === 0) break;
    }
    iter.stop();
    await jsm.consumers.delete(opts.stream, eph.name).catch(() => undefined);
    if (buf.length) (feed(buf), (n += buf.length));
    return n;
  }

  async function run(handler: EventHandler): Promise<void> {
    const consumer = await js.consumers.get(opts.stream, durable);
    while (!stopped) {
      const iter = await consumer.consume({ max_messages: batch });
      messages = iter;
      let held: JsMsg[] = [];
      let events: ActivityEvent[] = [];
      for await (const m of iter) {
        stats.delivered++;
        if (m.redelivered) stats.redelivered++;
        const e = decode(m);
        if (e) {
          events.push(e);
          held.push(m);
        } else {
          stats.invalid++;
          m.term();
        }
        stats.lag = m.info.pending;
        if (held.length < batch && m.info.pending > 0) continue;
        if (!held.length) continue;
        stats.ackPending = held.length;
        try {
          await handler(events);
          for (const h of held) h.ack();
          published += events.length;
          stats.batches++;
          const now = Date.now();
          opts.onBatch?.({ events: events.length, lag: stats.lag, streamAgesMs: held.map((h) => now - h.info.timestampNanos / 1e6) });
        } catch (err) {
          failed += events.length;
          opts.onHandlerError?.(err);
          // Not acknowledged: redelivered after ack_wait; ask for it now rather than waiting.
          for (const h of held) h.nak(1000);
        }
        held = [];
        events = [];
        stats.ackPending = 0;
        if (stopped) break;
      }
    }
  }

  return {
    nc,
    durable,
    replayAcknowledged,
    consumerStats: () => ({ ...stats }),
    async publish() {
      throw new Error('a detection worker does not publish; gateways and producers do');
    },
    subscribe(_name, handler) {
      if (loop) throw new Error('this partition already has its subscriber');
      loop = run(handler).catch((err) => opts.onHandlerError?.(err));
      return () => {
        stopped = true;
        messages?.stop();
      };
    },
    stats: () => ({ published, failed, pending: stats.lag + stats.ackPending }),
    async close() {
      stopped = true;
      messages?.stop();
      await loop;
      await nc.drain();
    },
  };
}
