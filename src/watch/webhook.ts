/**
 * Alert notifications for chat tools and SIEMs: JSON POST with an HMAC-SHA256 signature over
 * timestamp and body, retried with backoff. Failures are counted and logged, never silent.
 */
import { createHmac } from 'node:crypto';
import type { Logger } from '../ops/logger.js';

export interface WebhookOptions {
  url: string;
  secret: string;
  logger: Logger;
  retries?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
}

export interface WebhookNotifier {
  notify(payload: object): void;
  stats(): { delivered: number; failed: number; pending: number };
  drain(): Promise<void>;
}

/** `sha256=` + hex HMAC of `${timestamp}.${body}`; receivers recompute it and compare in constant time. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export function createWebhookNotifier(o: WebhookOptions): WebhookNotifier {
  const retries = o.retries ?? 4;
  const base = o.baseDelayMs ?? 1000;
  let delivered = 0;
  let failed = 0;
  const inflight = new Set<Promise<void>>();

  async function send(payload: object): Promise<void> {
    const body = JSON.stringify(payload);
    for (let attempt = 0; attempt <= retries; attempt++) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      try {
        const res = await fetch(o.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-warden-timestamp': timestamp, 'x-warden-signature': signWebhook(o.secret, timestamp, body) },
          body,
          signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
        });
        if (res.ok) {
          delivered++;
          return;
        }
        if (res.status < 500 && res.status !== 429) break;
      } catch {
        // Network error or timeout: retry below.
      }
      if (attempt < retries) await new Promise((r) => setTimeout(r, base * 2 ** attempt));
    }
    failed++;
    o.logger.error({ failed }, 'alert webhook delivery failed after retries');
  }

  return {
    notify(payload) {
      const p = send(payload).finally(() => inflight.delete(p));
      inflight.add(p);
    },
    stats: () => ({ delivered, failed, pending: inflight.size }),
    async drain() {
      await Promise.all([...inflight]);
    },
  };
}
