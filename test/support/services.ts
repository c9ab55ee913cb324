/**
 * What the multi-process tests share (test/e2e/bus-nats, worker-response, cross-process, crash):
 * reaching NATS JetStream (required under CI=true, skipped with a message otherwise) and one JSON
 * request to a spawned `warden serve`.
 */
import { connect, type NatsConnection } from 'nats';

export const NATS_SERVER = '127.0.0.1:4222';

/** A connection to JetStream, or null off CI when it is unreachable (under CI=true: an error). */
export async function natsReachable(server = NATS_SERVER): Promise<NatsConnection | null> {
  try {
    const nc = await connect({ servers: server, timeout: 2000 });
    await (await nc.jetstreamManager()).getAccountInfo();
    return nc;
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`CI=true but NATS JetStream at ${server} is unreachable: ${(err as Error).message}`);
    return null;
  }
}

/** One JSON request (bearer token optional); the body parsed when there is one. */
export async function callJson(url: string, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
