/**
 * Everything waiting for a second analyst, read from each owner's own list route: pending
 * accounts and role/site changes, service tokens, cases, data-subject requests, detection
 * exceptions and detector settings requests. Each kind loads on its own (one failing or missing
 * route leaves the others shown). Also the navigation's count of what the signed-in analyst may
 * act on, refreshed whenever the inbox loads.
 */
import { useEffect, useState } from 'react';
import { api, ApiError, session } from './client';
import { loadCapabilities, type Capabilities } from './capabilities';
import type { AccountInfo, CaseInfo, DetectionExceptionInfo, DetectorInfo, ServiceTokenInfo, SubjectRequest } from './types';

export const APPROVAL_KINDS = ['accounts', 'tokens', 'cases', 'subjects', 'exceptions', 'detectors'] as const;
export type ApprovalKind = (typeof APPROVAL_KINDS)[number];

/** Why the signed-in analyst may not approve an item (the server refuses it too), or null. */
export type Blocked = 'own_request' | 'about_you' | null;

interface Base {
  key: string;
  requestedBy: string | null;
  requestedAt: string | null;
  blocked: Blocked;
}
export type ApprovalItem =
  | (Base & { kind: 'accounts'; raw: AccountInfo })
  | (Base & { kind: 'tokens'; raw: ServiceTokenInfo })
  | (Base & { kind: 'cases'; raw: CaseInfo })
  | (Base & { kind: 'subjects'; raw: SubjectRequest })
  | (Base & { kind: 'exceptions'; raw: DetectionExceptionInfo })
  | (Base & { kind: 'detectors'; raw: DetectorInfo });

export interface KindResult {
  kind: ApprovalKind;
  /** false: this server does not offer the list route to analysts. */
  available: boolean;
  items: ApprovalItem[];
  error: Error | null;
  truncated: boolean;
}

/** The list route each kind is read from (checked against the server's OpenAPI document). */
const LIST_ROUTES: Record<ApprovalKind, string> = {
  accounts: '/accounts',
  tokens: '/service-tokens/pending',
  cases: '/cases',
  subjects: '/subjects/requests',
  exceptions: '/exceptions',
  detectors: '/detectors',
};

const own = (by: string | null | undefined, me: string | null): Blocked => (me !== null && by === me ? 'own_request' : null);

/** An exception still waiting and not yet past its end (an expired one cannot be approved). */
export const exceptionState = (x: DetectionExceptionInfo, now = Date.now()): 'pending' | 'active' | 'expired' =>
  Date.parse(x.until) <= now ? 'expired' : x.approval === 'pending' ? 'pending' : 'active';

async function loadKind(kind: ApprovalKind, me: string | null, signal?: AbortSignal): Promise<{ items: ApprovalItem[]; truncated: boolean }> {
  const opts = signal ? { signal } : {};
  switch (kind) {
    case 'accounts': {
      const r = await api<{ accounts: AccountInfo[]; next_cursor: string | null }>('GET', '/accounts', { ...opts, query: { status: 'pending', limit: 500 } });
      const items = r.accounts
        .filter((a) => a.pending_approval !== null)
        .map((a): ApprovalItem => ({ kind, key: `account:${a.id}`, raw: a, requestedBy: a.pending_approval!.requested_by, requestedAt: a.pending_approval!.requested_at, blocked: a.id === me ? 'about_you' : own(a.pending_approval!.requested_by, me) }));
      return { items, truncated: r.next_cursor !== null };
    }
    case 'tokens': {
      const r = await api<{ tokens: ServiceTokenInfo[]; truncated: boolean }>('GET', '/service-tokens/pending', opts);
      return { items: r.tokens.map((x) => ({ kind, key: `token:${x.id}`, raw: x, requestedBy: x.requested_by, requestedAt: x.created_at, blocked: own(x.requested_by, me) })), truncated: r.truncated };
    }
    case 'cases': {
      const r = await api<{ cases: CaseInfo[] }>('GET', '/cases', { ...opts, query: { status: 'pending', limit: 500 } });
      return { items: r.cases.map((c) => ({ kind, key: `case:${c.id}`, raw: c, requestedBy: c.opened_by, requestedAt: c.created_at, blocked: own(c.opened_by, me) })), truncated: r.cases.length >= 500 };
    }
    case 'subjects': {
      const r = await api<{ requests: SubjectRequest[] }>('GET', '/subjects/requests', { ...opts, query: { state: 'pending_approval', limit: 500 } });
      return { items: r.requests.map((s) => ({ kind, key: `subject:${s.id}`, raw: s, requestedBy: s.requested_by, requestedAt: s.received_at, blocked: own(s.requested_by, me) })), truncated: r.requests.length >= 500 };
    }
    case 'exceptions': {
      const r = await api<{ exceptions: DetectionExceptionInfo[] }>('GET', '/exceptions', opts);
      const items = r.exceptions
        .filter((x) => exceptionState(x) === 'pending')
        .map((x): ApprovalItem => ({ kind, key: `exception:${x.id}`, raw: x, requestedBy: x.created_by, requestedAt: x.created_at, blocked: me !== null && (x.account === me || (x.kind === 'account' && x.value === me)) ? 'about_you' : own(x.created_by, me) }));
      return { items, truncated: r.exceptions.length >= 1000 };
    }
    case 'detectors': {
      const r = await api<{ detectors: DetectorInfo[] } | DetectorInfo[]>('GET', '/detectors', opts);
      const list = Array.isArray(r) ? r : r.detectors;
      return { items: list.filter((d) => d.request !== null).map((d) => ({ kind, key: `detector:${d.name}`, raw: d, requestedBy: d.request!.requested_by, requestedAt: d.request!.requested_at, blocked: own(d.request!.requested_by, me) })), truncated: false };
    }
  }
}

/** Every kind, each on its own: a failure is kept with its kind, never hides the others. */
export async function loadApprovals(caps: Capabilities, signal?: AbortSignal): Promise<KindResult[]> {
  const me = session.account();
  const results = await Promise.all(
    APPROVAL_KINDS.map(async (kind): Promise<KindResult> => {
      if (!caps.has('GET', LIST_ROUTES[kind])) return { kind, available: false, items: [], error: null, truncated: false };
      try {
        return { kind, available: true, error: null, ...(await loadKind(kind, me, signal)) };
      } catch (err) {
        if ((err as Error).name === 'AbortError') throw err;
        if (err instanceof ApiError && err.missingRoute) return { kind, available: false, items: [], error: null, truncated: false };
        return { kind, available: true, items: [], error: err as Error, truncated: false };
      }
    }),
  );
  publishApprovalCount(actionable(results));
  return results;
}

/** What the signed-in analyst may act on: waiting items someone else asked for, not about them. */
export const actionable = (results: KindResult[]): number => results.reduce((n, r) => n + r.items.filter((i) => i.blocked === null).length, 0);

let count: number | null = null;
const listeners = new Set<(n: number | null) => void>();

export function publishApprovalCount(n: number | null): void {
  count = n;
  for (const l of listeners) l(n);
}

/** Reloads every kind and publishes the count (the shell does this once per sign-in). */
export async function refreshApprovalCount(): Promise<void> {
  try {
    await loadApprovals(await loadCapabilities());
  } catch {
    publishApprovalCount(null);
  }
}

/** The navigation's count: loaded on first use, then updated whenever the inbox loads or acts. */
export function useApprovalCount(): number | null {
  const [n, setN] = useState(count);
  useEffect(() => {
    listeners.add(setN);
    // Once per mount: the shell mounts once per sign-in, so a new analyst never sees the last one's count.
    void refreshApprovalCount();
    return () => {
      listeners.delete(setN);
    };
  }, []);
  return n;
}
