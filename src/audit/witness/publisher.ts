/**
 * Publishes signed tree heads to every configured witness, off the request path.
 *
 * Invariants:
 * - Never blocks a reveal: publish() only records the newest head per sink and returns.
 * - Bounded: one head pending per sink (a newer head supersedes an older one, since a witness
 *   that accepts it has everything the older one proved), one publication in flight per sink.
 * - A failing witness is retried with backoff, counted (metric with a closed label set),
 *   logged, and shown by status(); a witness REFUSING a head (inconsistent with what it saw) is
 *   logged as an alarm, because it means the trail this process sees is not the one it saw.
 */
import type { Logger } from '../../ops/logger.js';
import type { Metrics } from '../../ops/metrics.js';
import type { SignedTreeHead } from '../sth.js';
import { WitnessRefused, type ProofSource, type WitnessSink } from './sinks.js';

export interface WitnessStatus {
  sink: string;
  last_size: number | null;
  last_at: string | null;
  ok: boolean;
  error?: string;
}

export interface WitnessPublisher {
  publish(head: SignedTreeHead): void;
  status(): WitnessStatus[];
  /** Waits (at most timeoutMs) for pending publications; returns false if some remain. */
  flush(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

interface SinkState {
  sink: WitnessSink;
  pending: SignedTreeHead | null;
  inflight: Promise<void> | null;
  retry: NodeJS.Timeout | null;
  failures: number;
  lastSize: number | null;
  lastAt: string | null;
  error: string | null;
}

export function createWitnessPublisher(deps: {
  sinks: WitnessSink[];
  proofs: ProofSource;
  metrics: Pick<Metrics, 'witnessPublished' | 'witnessFailures' | 'witnessHealthy' | 'witnessLastSuccess'>;
  logger: Logger;
  retryBaseMs?: number;
}): WitnessPublisher {
  const base = deps.retryBaseMs ?? 1000;
  let closed = false;
  const states: SinkState[] = deps.sinks.map((sink) => ({ sink, pending: null, inflight: null, retry: null, failures: 0, lastSize: null, lastAt: null, error: null }));
  for (const s of states) deps.metrics.witnessHealthy.set({ sink: s.sink.metricLabel }, 1);

  function kick(s: SinkState): void {
    if (closed || s.inflight || s.retry || !s.pending) return;
    const head = s.pending;
    s.pending = null;
    s.inflight = run(s, head).finally(() => {
      s.inflight = null;
      kick(s);
    });
  }

  async function run(s: SinkState, head: SignedTreeHead): Promise<void> {
    try {
      const outcome = await s.sink.publish(head, deps.proofs);
      s.failures = 0;
      s.error = null;
      if (outcome.status === 'accepted') {
        s.lastSize = Math.max(s.lastSize ?? 0, head.treeSize);
        s.lastAt = new Date().toISOString();
        deps.metrics.witnessPublished.inc({ sink: s.sink.metricLabel });
      } else {
        s.lastSize = Math.max(s.lastSize ?? 0, outcome.witnessSize);
      }
      deps.metrics.witnessHealthy.set({ sink: s.sink.metricLabel }, 1);
      deps.metrics.witnessLastSuccess.set({ sink: s.sink.metricLabel }, Date.now() / 1000);
    } catch (err) {
      s.failures++;
      deps.metrics.witnessFailures.inc({ sink: s.sink.metricLabel });
      deps.metrics.witnessHealthy.set({ sink: s.sink.metricLabel }, 0);
      const refused = err instanceof WitnessRefused;
      s.error = refused ? `refused (${err.reason}): ${err.message}` : errorText(err);
      if (refused) {
        deps.logger.error({ witness: s.sink.label, reason: (err as WitnessRefused).reason, treeSize: head.treeSize }, 'AUDIT WITNESS REFUSED A SIGNED HEAD: the trail is not consistent with what the witness saw (run warden audit verify --witness)');
      } else {
        deps.logger.warn({ witness: s.sink.label, failures: s.failures, treeSize: head.treeSize, error: s.error }, 'publishing a signed tree head to a witness failed; will retry');
      }
      // Keep the newest head for the retry; back off up to a minute.
      if (!s.pending || s.pending.treeSize < head.treeSize) s.pending = head;
      const delay = Math.min(60_000, base * 2 ** Math.min(s.failures - 1, 6));
      s.retry = setTimeout(() => {
        s.retry = null;
        kick(s);
      }, delay);
      s.retry.unref();
    }
  }

  return {
    publish(head) {
      for (const s of states) {
        if (!s.pending || s.pending.treeSize < head.treeSize) s.pending = head;
        kick(s);
      }
    },
    status: () =>
      states.map((s) => ({ sink: s.sink.label, last_size: s.lastSize, last_at: s.lastAt, ok: s.error === null, ...(s.error ? { error: s.error } : {}) })),
    async flush(timeoutMs) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until && states.some((s) => s.inflight || (s.pending && !s.retry))) {
        await Promise.race([Promise.all(states.map((s) => s.inflight)), new Promise((r) => setTimeout(r, 50))]);
      }
      return !states.some((s) => s.inflight || s.pending);
    },
    async close() {
      closed = true;
      for (const s of states) if (s.retry) clearTimeout(s.retry);
      await Promise.all(states.map((s) => s.inflight));
      await Promise.all(states.map((s) => s.sink.close()));
    },
  };
}

/** Errors from sinks can quote a URL; keep the class, code and a short message without credentials. */
function errorText(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  const code = e?.code ?? e?.cause?.code;
  const message = String(e?.message ?? err).replace(/:\/\/[^@/\s]*@/g, '://***@').slice(0, 200);
  return code && !message.startsWith(code) ? `${code}: ${message}` : message;
}
