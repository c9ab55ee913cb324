/** What the reconcile checks share: the finding shape and reading the trail's entries of some kinds. */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { RECONCILED_KINDS } from '../../store/migrations/0016-reconcile-indexes.js';
import type { RECONCILED_KINDS_2 } from '../../store/migrations/0020-dba-review.js';
import type { RECONCILED_KINDS_3 } from '../../store/migrations/0022-trail-requesters.js';
import type { RECONCILED_KINDS_4 } from '../../store/migrations/0025-erasure-tombstones.js';

/** Kinds the reconcile may read by kind: the ones migrations 0016, 0020, 0022 and 0025 index (a full read of the trail otherwise). */
export type ReconciledKind = (typeof RECONCILED_KINDS)[number] | (typeof RECONCILED_KINDS_2)[number] | (typeof RECONCILED_KINDS_3)[number] | (typeof RECONCILED_KINDS_4)[number];

export const MAX_FINDINGS = 100;

export type ReconciledTable =
  | 'accounts'
  | 'assignments'
  | 'tickets'
  | 'search_grants'
  | 'cases'
  | 'service_tokens'
  | 'detect_exceptions'
  | 'account_responses'
  | 'detector_settings'
  | 'admin_token_revocations'
  | 'trace_canaries'
  | 'trace_exports'
  | 'pipl_requests'
  | 'pipl_pia'
  | 'pipl_erasures'
  | 'quota_buckets';

export interface Finding {
  table: ReconciledTable;
  key: string;
  problem: string;
}

export type Add = (f: Finding) => void;
/** Checks one table against the trail, names what differs, answers how many rows it checked. */
export type Check = (db: Kysely<Database>, add: Add) => Promise<number>;

export interface TrailEntry {
  seq: number;
  ts: Date;
  kind: string;
  account: string | null;
  role: string | null;
  site: string | null;
  reason: string | null;
  detail: Record<string, unknown>;
}

const parse = (v: unknown): Record<string, unknown> => (typeof v === 'string' ? JSON.parse(v) : (v ?? {})) as Record<string, unknown>;

/** The successful entries of these kinds, oldest first. */
export async function entriesOf(db: Kysely<Database>, kinds: readonly ReconciledKind[]): Promise<TrailEntry[]> {
  const rows = await db
    .selectFrom('audit_log')
    .select(['seq', 'ts', 'kind', 'account', 'role', 'site', 'reason', 'detail'])
    .where('kind', 'in', [...kinds])
    .where('decision', '=', 'ok')
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({ seq: Number(r.seq), ts: new Date(r.ts), kind: r.kind, account: r.account, role: r.role, site: r.site, reason: r.reason, detail: parse(r.detail) }));
}

/** Replays entries keyed by `keyOf` (entries with no key are skipped) into the state each key must have. */
export function replayAll<S>(entries: readonly TrailEntry[], keyOf: (e: TrailEntry) => string | null | undefined, step: (state: S | undefined, e: TrailEntry) => S | undefined): Map<string, S | undefined> {
  const out = new Map<string, S | undefined>();
  for (const e of entries) {
    const key = keyOf(e);
    if (key) out.set(key, step(out.get(key), e));
  }
  return out;
}

/** "a: trail x, row y; b: …" for the fields that differ, or null when none do. */
export function differences<T extends object>(want: T, row: T, keys: ReadonlyArray<keyof T & string>): string | null {
  const differs = keys.filter((k) => (row[k] ?? null) !== (want[k] ?? null));
  if (!differs.length) return null;
  return `${differs.join(', ')} differ from what the trail recorded (${differs.map((k) => `${k}: trail ${String(want[k])}, row ${String(row[k])}`).join('; ')})`;
}

export const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
export const ms = (v: unknown): number | null => (v == null ? null : new Date(v as string | Date).getTime());
