/**
 * Prometheus metrics. Label values come only from closed sets (route templates, error codes,
 * roles, decisions) — never from request data — so no PII can reach a metric.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(sources: { busPending?: () => number } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'warden_process_' });
  return {
    registry,
    httpRequests: new Histogram({
      name: 'warden_http_request_duration_seconds',
      help: 'HTTP request duration by route template, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    accessDecisions: new Counter({
      name: 'warden_access_decisions_total',
      help: 'Access decisions (views, reveals, searches) by action, decision and reason code',
      labelNames: ['action', 'decision', 'reason', 'role'] as const,
      registers: [registry],
    }),
    recordsRevealed: new Counter({
      name: 'warden_records_revealed_total',
      help: 'Waybill records whose PII left the vault in clear, by role',
      labelNames: ['role'] as const,
      registers: [registry],
    }),
    auditEntries: new Counter({
      name: 'warden_audit_entries_total',
      help: 'Audit entries committed',
      registers: [registry],
    }),
    auditWriteFailures: new Counter({
      name: 'warden_audit_write_failures_total',
      help: 'Audit batches that failed to commit; every request in them was refused (fail closed)',
      registers: [registry],
    }),
    auditBatchSize: new Histogram({
      name: 'warden_audit_batch_entries',
      help: 'Entries per audit group commit',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers: [registry],
    }),
    auditHealthy: new Gauge({
      name: 'warden_audit_healthy',
      help: '1 when the last audit write committed, 0 while audit writes fail',
      registers: [registry],
    }),
    auditHeadsSigned: new Counter({
      name: 'warden_audit_heads_signed_total',
      help: 'Signed tree heads this process produced (every N entries and on the timer)',
      registers: [registry],
    }),
    witnessPublished: new Counter({
      name: 'warden_audit_witness_published_total',
      help: 'Signed tree heads a witness accepted, by configured sink (kind#position in WARDEN_WITNESS)',
      labelNames: ['sink'] as const,
      registers: [registry],
    }),
    witnessFailures: new Counter({
      name: 'warden_audit_witness_failures_total',
      help: 'Failed or refused publications to a witness, by configured sink (kind#position in WARDEN_WITNESS)',
      labelNames: ['sink'] as const,
      registers: [registry],
    }),
    witnessHealthy: new Gauge({
      name: 'warden_audit_witness_healthy',
      help: '1 when the last publication to the witness succeeded, 0 while it fails',
      labelNames: ['sink'] as const,
      registers: [registry],
    }),
    stateReconcileFindings: new Gauge({
      name: 'warden_state_reconcile_findings',
      help: 'Rows that decide who may see what (or what detection does) which the trail cannot explain, by table, at the last scheduled `audit reconcile` (0 = all explained)',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    stateReconcileLastRun: new Gauge({
      name: 'warden_state_reconcile_last_run_timestamp_seconds',
      help: 'When the last scheduled state reconcile finished (Unix seconds)',
      registers: [registry],
    }),
    loginAttempts: new Counter({
      name: 'warden_login_attempts_total',
      help: 'Login attempts by result',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    eventsIngested: new Counter({
      name: 'warden_events_ingested_total',
      help: 'Activity events received on POST /api/v1/events, by result',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    eventsPublished: new Counter({
      name: 'warden_events_published_total',
      help: 'Activity events published on the bus',
      registers: [registry],
    }),
    busPending: new Gauge({
      name: 'warden_bus_pending_events',
      help: 'Events accepted on the bus and not yet delivered to every subscriber (detection lag)',
      registers: [registry],
      collect() {
        if (sources.busPending) this.set(sources.busPending());
      },
    }),
    auditCommitSeconds: new Histogram({
      name: 'warden_audit_commit_duration_seconds',
      help: 'Time to commit one audit group (a reveal waits for it: audit-write latency)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    witnessLastSuccess: new Gauge({
      name: 'warden_audit_witness_last_success_timestamp_seconds',
      help: 'Unix time of the last signed tree head a witness accepted (or already had), by configured sink',
      labelNames: ['sink'] as const,
      registers: [registry],
    }),
    detectionLatency: new Histogram({
      name: 'warden_detection_latency_seconds',
      help: 'From a live event\'s timestamp to the detection engine having processed it (backfill excluded)',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    quotaSaturation: new Histogram({
      name: 'warden_quota_saturation_ratio',
      help: 'Share of a reveal quota in use after an allowed reveal, by scope and window (1 = at the limit)',
      labelNames: ['scope', 'window'] as const,
      buckets: [0.25, 0.5, 0.75, 0.9, 1],
      registers: [registry],
    }),
    siemDelivered: new Counter({
      name: 'warden_siem_delivered_total',
      help: 'Events handed to a SIEM sink (at-least-once: a redelivery counts again), by configured sink (kind#position in WARDEN_SIEM)',
      labelNames: ['sink'] as const,
      registers: [registry],
    }),
    siemFailures: new Counter({
      name: 'warden_siem_failures_total',
      help: 'Failed deliveries to a SIEM sink (retried from its on-disk queue)',
      labelNames: ['sink'] as const,
      registers: [registry],
    }),
    siemDropped: new Counter({
      name: 'warden_siem_dropped_total',
      help: 'Events refused because a SIEM sink\'s on-disk queue was full (WARDEN_SIEM_QUEUE_MAX_BYTES)',
      labelNames: ['sink'] as const,
      registers: [registry],
    }),
    siemHealthy: new Gauge({
      name: 'warden_siem_healthy',
      help: '1 when the last delivery to the SIEM sink succeeded, 0 while it fails',
      labelNames: ['sink'] as const,
      registers: [registry],
    }),
    siemQueueBytes: new Gauge({
      name: 'warden_siem_queue_bytes',
      help: 'Bytes waiting in a SIEM sink\'s on-disk queue',
      labelNames: ['sink'] as const,
      registers: [registry],
    }),
    busDropped: new Counter({
      name: 'warden_bus_dropped_total',
      help: 'Events a bus subscriber could not take (counted, never silent)',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
