/**
 * SIEM forwarder: every committed audit entry (filtered by WARDEN_SIEM_AUDIT) and every stored
 * alert goes, as it happens, into one bounded on-disk queue per sink; one worker per sink
 * delivers in order (so per source too), retrying with back-off from the last acknowledged
 * position. Nothing here is awaited by a request: `enqueue*` only buffers.
 *
 * Crash safety: audit entries committed but not yet on disk when the process died are found
 * again at start (audit_log rows after the watermark `audit-seq` written once they are on disk).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AlertOut } from '../detect/engine.js';
import type { AuditRecord } from '../audit/kinds.js';
import { entryFromRow } from '../audit/rows.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { exportsAudit, fromAlert, fromAudit, type AuditExport, type SiemEvent } from './events.js';
import { openDiskQueue, type DiskQueue, type QueuePos } from './queue.js';
import { createTransport, sinkLabel, type SinkSpec, type Transport, type TransportOptions } from './transports.js';

export interface SiemForwarderOptions {
  sinks: SinkSpec[];
  dir: string;
  maxBytes: number;
  audit: AuditExport;
  metrics: Pick<Metrics, 'siemDelivered' | 'siemFailures' | 'siemDropped' | 'siemHealthy' | 'siemQueueBytes'>;
  logger: Logger;
  db?: Kysely<Database>;
  transport?: Omit<TransportOptions, 'hostname'> & { hostname?: string };
  /** A stream batch counts as delivered once its connection stayed up this long after it. */
  settleMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  batchSize?: number;
}

export interface SiemForwarder {
  enqueueAudit(records: readonly AuditRecord[]): void;
  enqueueAlerts(alerts: readonly AlertOut[]): void;
  stats(): Array<{ sink: string; queuedBytes: number; failures: number; lastError: string | null }>;
  /** Waits until every sink has delivered what was queued (tests), up to `timeoutMs`. */
  drained(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

interface Worker {
  label: string;
  queue: DiskQueue;
  transport: Transport;
  readPos: QueuePos;
  unsettled: Array<{ pos: QueuePos; epoch: number; at: number }>;
  failures: number;
  lastError: string | null;
  wake: (() => void) | null;
  done: Promise<void>;
}

export async function createSiemForwarder(o: SiemForwarderOptions): Promise<SiemForwarder> {
  mkdirSync(o.dir, { recursive: true });
  const settleMs = o.settleMs ?? 1000;
  const base = o.retryBaseMs ?? 500;
  const maxDelay = o.retryMaxMs ?? 30_000;
  const batchSize = o.batchSize ?? 200;
  const tOpts: TransportOptions = { hostname: hostname(), ...o.transport };
  let closed = false;
  const workers: Worker[] = o.sinks.map((spec, i) => {
    const label = sinkLabel(spec, i);
    const queue = openDiskQueue(join(o.dir, label.replace('#', '-')), { maxBytes: o.maxBytes, onDrop: (n) => dropped(label, n), onError: (err) => o.logger.error({ sink: label, err: String(err) }, 'SIEM queue write failed') });
    const w: Worker = { label, queue, transport: createTransport(spec, tOpts), readPos: queue.acked(), unsettled: [], failures: 0, lastError: null, wake: null, done: Promise.resolve() };
    queue.onWritten(() => w.wake?.());
    o.metrics.siemHealthy.set({ sink: label }, 1);
    return w;
  });
  const streams = new Set(o.sinks.map((s, i) => (s.kind === 'syslog' && s.protocol !== 'udp' ? i : -1)).filter((i) => i >= 0));

  let lastDropLog = 0;
  function dropped(label: string, n: number): void {
    o.metrics.siemDropped.inc({ sink: label }, n);
    if (Date.now() - lastDropLog > 10_000) {
      lastDropLog = Date.now();
      o.logger.error({ sink: label, events: n }, 'SIEM QUEUE FULL: events not forwarded (raise WARDEN_SIEM_QUEUE_MAX_BYTES or fix the SIEM)');
    }
  }

  const watermarkFile = join(o.dir, 'audit-seq');
  let watermarkChain: Promise<void> = Promise.resolve();
  function push(events: SiemEvent[]): void {
    if (closed || !events.length) return;
    const lines = events.map((e) => JSON.stringify(e));
    for (const w of workers) w.queue.append(lines);
    const maxSeq = events.reduce((m, e) => Math.max(m, e.seq ?? 0), 0);
    if (maxSeq > 0) {
      const flushed = Promise.all(workers.map((w) => w.queue.flushed()));
      watermarkChain = watermarkChain.then(async () => {
        await flushed;
        await writeFile(watermarkFile + '.tmp', String(maxSeq));
        await rename(watermarkFile + '.tmp', watermarkFile);
      }).catch((err) => o.logger.warn({ err: String(err) }, 'SIEM audit watermark not written'));
    }
  }

  if (o.db && o.audit !== 'none') await catchUp(o.db);

  async function catchUp(db: Kysely<Database>): Promise<void> {
    let mark: number | null = null;
    try {
      mark = Number(readFileSync(watermarkFile, 'utf8'));
    } catch {
      mark = null;
    }
    if (mark === null || !Number.isFinite(mark)) {
      // First start: the export begins now, not with the whole history.
      const r = await db.selectFrom('audit_log').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
      await writeFile(watermarkFile, String(Number(r?.seq ?? 0)));
      return;
    }
    const rows = await db.selectFrom('audit_log').selectAll().where('seq', '>', mark).orderBy('seq').limit(100_000).execute();
    if (rows.length) o.logger.info({ entries: rows.length, after: mark }, 'SIEM: queueing audit entries committed before the last stop');
    push(rows.map((row) => ({ ...entryFromRow(row), seq: Number(row.seq) })).filter((r) => exportsAudit(o.audit, r)).map(fromAudit));
  }

  const sleep = (w: Worker, ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        w.wake = null;
        resolve();
      }, ms);
      w.wake = () => {
        clearTimeout(t);
        w.wake = null;
        resolve();
      };
    });

  async function settle(w: Worker, stream: boolean): Promise<void> {
    if (!w.unsettled.length) return;
    const epoch = w.transport.connectionEpoch();
    if (stream && w.unsettled.some((u) => u.epoch !== epoch)) {
      // The connection those batches went out on died: send them again from the last ack.
      w.unsettled = [];
      w.readPos = w.queue.acked();
      return;
    }
    const now = Date.now();
    let last: QueuePos | null = null;
    while (w.unsettled.length && (!stream || w.unsettled[0]!.at + settleMs <= now)) last = w.unsettled.shift()!.pos;
    if (last) await w.queue.ack(last);
  }

  async function run(w: Worker, stream: boolean): Promise<void> {
    while (!closed) {
      try {
        await settle(w, stream);
        const items = await w.queue.read(w.readPos, batchSize);
        o.metrics.siemQueueBytes.set({ sink: w.label }, w.queue.stats().bytes);
        if (!items.length) {
          await sleep(w, w.unsettled.length ? Math.min(settleMs, 250) : 1000);
          continue;
        }
        await w.transport.send(items.map((i) => JSON.parse(i.line) as SiemEvent));
        w.readPos = items[items.length - 1]!.next;
        w.unsettled.push({ pos: w.readPos, epoch: w.transport.connectionEpoch(), at: Date.now() });
        o.metrics.siemDelivered.inc({ sink: w.label }, items.length);
        o.metrics.siemHealthy.set({ sink: w.label }, 1);
        if (w.failures) o.logger.info({ sink: w.label, after: w.failures }, 'SIEM sink reachable again; delivering the backlog');
        w.failures = 0;
        w.lastError = null;
      } catch (err) {
        w.failures++;
        w.lastError = err instanceof Error ? err.message : String(err);
        w.unsettled = [];
        w.readPos = w.queue.acked();
        o.metrics.siemFailures.inc({ sink: w.label });
        o.metrics.siemHealthy.set({ sink: w.label }, 0);
        if (w.failures === 1 || w.failures % 20 === 0) o.logger.warn({ sink: w.label, failures: w.failures, error: w.lastError }, 'SIEM delivery failed; events stay queued on disk and are retried');
        await sleep(w, Math.min(maxDelay, base * 2 ** Math.min(w.failures - 1, 16)));
      }
    }
  }

  workers.forEach((w, i) => (w.done = run(w, streams.has(i))));

  return {
    enqueueAudit(records) {
      if (o.audit === 'none') return;
      push(records.filter((r) => exportsAudit(o.audit, r)).map(fromAudit));
    },
    enqueueAlerts(alerts) {
      push(alerts.map(fromAlert));
    },
    stats: () => workers.map((w) => ({ sink: w.label, queuedBytes: w.queue.stats().bytes, failures: w.failures, lastError: w.lastError })),
    async drained(timeoutMs) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        await Promise.all(workers.map((w) => w.queue.flushed()));
        if (workers.every((w) => w.queue.stats().bytes === 0 && w.queue.stats().buffered === 0)) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const w of workers) {
        w.wake?.();
        // Ends a write stuck on a receiver that does not read; what it carried stays queued.
        w.transport.close();
      }
      await Promise.all(workers.map((w) => w.done));
      await watermarkChain;
      for (const w of workers) await w.queue.close();
    },
  };
}
