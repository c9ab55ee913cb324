/**
 * Analyst exceptions: "this device / network / account / app build is fine until a date".
 * Structured, listed, and expiring by event time. Persistence and audit of who changed them belong
 * to the gateway; the engine only needs the current set.
 */
import type { ExceptionKind } from './types.js';

export interface DetectionException {
  kind: ExceptionKind;
  /** Limits the exception to one account (required for kind "account", optional otherwise). */
  account?: string;
  /** The device id, network key (e.g. "10.1.2.0/24" or any IP inside it), account id, or app hash. */
  value: string;
  /** ISO-8601 time after which the exception no longer applies (event time). */
  until: string;
  reason: string;
  created_by: string;
}

export const EXCEPTION_KINDS: readonly ExceptionKind[] = ['device', 'network', 'account', 'app_hash'];

/** What is wrong with an exception ("invalid exception: …", naming the fields), or null. */
export function exceptionProblem(e: DetectionException): string | null {
  const problems: string[] = [];
  if (!EXCEPTION_KINDS.includes(e.kind)) problems.push(`kind: expected one of ${EXCEPTION_KINDS.join(', ')}`);
  if (typeof e.value !== 'string' || !e.value) problems.push('value: required');
  if (Number.isNaN(Date.parse(e.until))) problems.push('until: expected an ISO-8601 time');
  if (typeof e.reason !== 'string' || !e.reason.trim()) problems.push('reason: required');
  if (typeof e.created_by !== 'string' || !e.created_by.trim()) problems.push('created_by: required');
  if (e.kind === 'account' && e.account !== undefined && e.account !== e.value) problems.push('account: must equal value for kind "account"');
  return problems.length ? `invalid exception: ${problems.join('; ')}` : null;
}

interface Stored extends DetectionException {
  untilMs: number;
}

export class ExceptionSet {
  private readonly byKey = new Map<string, Stored[]>();
  private count = 0;

  constructor(private readonly normaliseNetwork: (v: string) => string) {}

  private key(kind: ExceptionKind, value: string): string {
    return `${kind}\u0000${kind === 'network' ? this.normaliseNetwork(value) : value}`;
  }

  /** Adds (or replaces, same kind/account/value) an exception. Throws on an invalid one. */
  add(e: DetectionException): void {
    const problem = exceptionProblem(e);
    if (problem) throw new Error(problem);
    const untilMs = Date.parse(e.until);
    if (e.kind === 'account') e = { ...e, account: e.value };
    this.remove(e);
    const k = this.key(e.kind, e.value);
    const list = this.byKey.get(k) ?? [];
    list.push({ ...e, untilMs });
    this.byKey.set(k, list);
    this.count++;
  }

  /** Removes the exception with the same kind, value and account. Returns whether one was removed. */
  remove(e: Pick<DetectionException, 'kind' | 'value' | 'account'>): boolean {
    if (e.kind === 'account') e = { ...e, account: e.value };
    const k = this.key(e.kind, e.value);
    const list = this.byKey.get(k);
    if (!list) return false;
    const i = list.findIndex((x) => x.account === e.account);
    if (i < 0) return false;
    list.splice(i, 1);
    if (!list.length) this.byKey.delete(k);
    this.count--;
    return true;
  }

  /** Exceptions still in force at `t` (all when t is undefined), sorted for stable output. */
  list(t?: number): DetectionException[] {
    const out: DetectionException[] = [];
    for (const list of this.byKey.values()) {
      for (const { untilMs, ...e } of list) if (t === undefined || untilMs >= t) out.push(e);
    }
    return out.sort((a, b) => (a.kind + a.value + (a.account ?? '')).localeCompare(b.kind + b.value + (b.account ?? '')));
  }

  has(kind: ExceptionKind, value: string, account: string | undefined, t: number): boolean {
    if (this.count === 0) return false;
    const list = this.byKey.get(this.key(kind, value));
    if (!list) return false;
    for (const e of list) {
      if (e.untilMs >= t && (e.account === undefined || e.account === account)) return true;
    }
    return false;
  }

  /** Drops exceptions that expired before t. */
  sweep(t: number): void {
    if (this.count === 0) return;
    for (const [k, list] of this.byKey) {
      const keep = list.filter((e) => e.untilMs >= t);
      this.count -= list.length - keep.length;
      if (keep.length) this.byKey.set(k, keep);
      else this.byKey.delete(k);
    }
  }

  get size(): number {
    return this.count;
  }
}
