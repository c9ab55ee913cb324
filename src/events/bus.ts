/**
 * The activity-event bus. In-process by default; a NATS JetStream adapter implements the same
 * interface when several workers share the stream (partitioned by account).
 *
 * Invariant: nothing is dropped silently. A subscriber that cannot keep up applies
 * backpressure (publish awaits it) and anything a subscriber throws on is counted.
 */
import type { ActivityEvent } from '../contracts/events.js';

export type EventHandler = (events: readonly ActivityEvent[]) => void | Promise<void>;

export interface EventBus {
  publish(events: readonly ActivityEvent[]): Promise<void>;
  subscribe(name: string, handler: EventHandler): () => void;
  /** published: delivered to every subscriber; pending: accepted, not yet delivered (the lag). */
  stats(): { published: number; failed: number; pending: number };
  close(): Promise<void>;
}

/** The partition key a multi-worker deployment splits the stream by. */
export const partitionKey = (e: ActivityEvent): string => ('account' in e && e.account) || ('waybill' in e && e.waybill) || e.id;

export function createInProcessBus(options: { onHandlerError?: (name: string, err: unknown) => void } = {}): EventBus {
  const handlers = new Map<string, EventHandler>();
  let published = 0;
  let failed = 0;
  let pending = 0;
  let tail: Promise<void> = Promise.resolve();

  return {
    publish(events) {
      if (events.length === 0) return Promise.resolve();
      // Delivery is serialised so every subscriber sees events in publish order.
      pending += events.length;
      tail = tail.then(async () => {
        pending -= events.length;
        published += events.length;
        for (const [name, handler] of handlers) {
          try {
            await handler(events);
          } catch (err) {
            failed += events.length;
            options.onHandlerError?.(name, err);
          }
        }
      });
      return tail;
    },
    subscribe(name, handler) {
      if (handlers.has(name)) throw new Error(`a subscriber named ${name} already exists`);
      handlers.set(name, handler);
      return () => handlers.delete(name);
    },
    stats: () => ({ published, failed, pending }),
    async close() {
      await tail;
      handlers.clear();
    },
  };
}
