/**
 * The overview's live stream: one server-sent-event connection (GET /api/v1/overview/stream,
 * read with fetch so the bearer token goes in a header, parsed by eventsource-parser) shared by
 * every component that shows live data. Reconnects with backoff; stops when the session ends.
 * There is no polling loop: the server pushes.
 */
import { useSyncExternalStore } from 'react';
import { createParser } from 'eventsource-parser';
import { api, apiUrl, session } from './client';
import type { OverviewSnapshot } from './types';

export type StreamStatus = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'ended';
interface State {
  status: StreamStatus;
  snapshot: OverviewSnapshot | null;
  receivedAt: number | null;
}

let state: State = { status: 'idle', snapshot: null, receivedAt: null };
const subscribers = new Set<() => void>();
let controller: AbortController | null = null;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let attempts = 0;

function set(next: Partial<State>) {
  state = { ...state, ...next };
  for (const s of subscribers) s();
}

async function connect(): Promise<void> {
  const token = session.token();
  if (!token) return set({ status: 'ended' });
  controller = new AbortController();
  set({ status: state.snapshot ? 'reconnecting' : 'connecting' });
  try {
    const res = await fetch(apiUrl('/overview/stream'), { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: controller.signal });
    if (res.status === 401 || res.status === 403) return void (await sessionOver());
    if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
    const parser = createParser({
      onEvent(ev) {
        if (ev.event === 'overview') {
          attempts = 0;
          set({ status: 'live', snapshot: JSON.parse(ev.data) as OverviewSnapshot, receivedAt: Date.now() });
        } else if (ev.event === 'end') {
          controller?.abort();
          void sessionOver();
        }
      },
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(value);
    }
  } catch (err) {
    if ((err as Error).name === 'AbortError') return;
  }
  if (state.status === 'ended' || subscribers.size === 0) return;
  set({ status: 'reconnecting' });
  const delay = Math.min(30_000, 1000 * 2 ** attempts++);
  retryTimer = setTimeout(() => void connect(), delay);
}

/**
 * The server ended the stream (`event: end`: the session ended, or the account is suspended or no
 * longer an analyst), or refused it (401/403). One ordinary call tells which (a 401 or a
 * not-an-analyst 403 ends the session in the client); whatever it answers, the console signs out
 * (fail closed) and the shell forgets what it showed.
 */
async function sessionOver(): Promise<void> {
  set({ status: 'ended' });
  await api('GET', '/overview').catch(() => undefined);
  if (session.token()) session.end('ended');
}

function subscribe(cb: () => void): () => void {
  subscribers.add(cb);
  if (subscribers.size === 1 && (state.status === 'idle' || state.status === 'ended')) void connect();
  return () => {
    subscribers.delete(cb);
    if (subscribers.size === 0) stopStream(false);
  };
}

/** Ends the stream (sign-out) and forgets the last snapshot when asked. */
export function stopStream(forget = true): void {
  clearTimeout(retryTimer);
  controller?.abort();
  controller = null;
  attempts = 0;
  state = forget ? { status: 'idle', snapshot: null, receivedAt: null } : { ...state, status: 'idle' };
}

export function useOverviewStream(): State {
  return useSyncExternalStore(subscribe, () => state);
}
