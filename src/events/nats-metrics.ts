/**
 * Metrics of the JetStream bus, registered on the process's registry. Labels are the partition
 * number only (a closed set); never an account or an event.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PartitionConsumer } from './nats-consumer.js';
import type { NatsBus } from './nats-bus.js';

/** A detection worker: lag, backpressure, throughput and stream-to-stored latency. */
export function registerConsumerMetrics(registry: Registry, partition: number) {
  const labels = { partition: String(partition) };
  let consumer: PartitionConsumer | null = null;
  const lag = new Gauge({
    name: 'warden_bus_consumer_lag_events',
    help: 'Events in the stream for this partition not yet delivered to its detection worker',
    labelNames: ['partition'] as const,
    registers: [registry],
    collect() {
      if (consumer) this.set(labels, consumer.consumerStats().lag);
    },
  });
  const ackPending = new Gauge({
    name: 'warden_bus_consumer_ack_pending_events',
    help: 'Events delivered to the worker and not yet acknowledged (backpressure: bounded by max_ack_pending)',
    labelNames: ['partition'] as const,
    registers: [registry],
    collect() {
      if (consumer) this.set(labels, consumer.consumerStats().ackPending);
    },
  });
  const consumed = new Counter({ name: 'warden_bus_consumed_total', help: 'Events processed and acknowledged', labelNames: ['partition'] as const, registers: [registry] });
  const failed = new Counter({ name: 'warden_bus_consumer_failed_batches_total', help: 'Batches left unacknowledged for redelivery after an error', registers: [registry] });
  const age = new Histogram({
    name: 'warden_bus_stream_to_stored_seconds',
    help: 'From the event stored in the stream to its batch processed (alerts stored, responses applied) and acknowledged',
    labelNames: ['partition'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return {
    failed,
    watch(c: PartitionConsumer) {
      consumer = c;
      void lag;
      void ackPending;
    },
    onBatch(info: { events: number; lag: number; streamAgesMs: number[] }) {
      consumed.inc(labels, info.events);
      for (const ms of info.streamAgesMs) age.observe(labels, ms / 1000);
    },
  };
}

/** A gateway: what awaits JetStream's acknowledgement, and publishes retried. */
export function registerPublisherMetrics(registry: Registry, bus: NatsBus) {
  new Gauge({
    name: 'warden_bus_publish_in_flight_events',
    help: 'Events published to JetStream and not yet acknowledged, plus those waiting for a slot (backpressure)',
    registers: [registry],
    collect() {
      this.set(bus.stats().pending);
    },
  });
  new Gauge({
    name: 'warden_bus_publish_failures',
    help: 'JetStream publishes that failed and were retried since start',
    registers: [registry],
    collect() {
      this.set(bus.stats().failed);
    },
  });
  new Gauge({
    name: 'warden_bus_publish_duplicates',
    help: 'Messages JetStream dropped as duplicates by event id since start (retries, recovered outbox window)',
    registers: [registry],
    collect() {
      this.set(bus.duplicates());
    },
  });
}
