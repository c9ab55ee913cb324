/**
 * Nobody acts on their own account, alert, response, exception or case (issue 7, hole 3): the
 * one place that knows who is acting, what counts as "themselves", and how a refusal is recorded
 * (used by watch and cases).
 *
 * Invariants: "themselves" is the acting account, the devices it has logged in from and the
 * networks of the addresses it has used (including this request's); a refusal is audited with
 * the actor before the 403 leaves. The bootstrap admin token has no account, so nothing is its own.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { AuditEntryInput } from '../audit/kinds.js';
import type { Principal, RequestContext } from '../identity/identity.js';
import { networkOf } from '../detect/util.js';
import { AppError } from '../errors.js';

/** Who acts: an analyst's account, or the admin token (which has none). */
export interface Actor {
  /** What the audit trail names as the actor. */
  name: string;
  /** The acting account, for the self-action rule; null for the admin token. */
  account: string | null;
  ctx: RequestContext;
}

export function actorOf(principal: Principal, ctx: RequestContext): Actor {
  return principal.kind === 'admin' ? { name: 'admin', account: null, ctx } : { name: principal.account.id, account: principal.account.id, ctx };
}

/** The system acting on the engine's behalf (automatic escalation). */
export const SYSTEM_ACTOR: Actor = { name: 'warden-detect', account: null, ctx: { ip: null, requestId: 'warden-detect' } };

/** Most sessions looked at when deciding whether a device or network is the actor's own. */
const FOOTPRINT_SESSIONS = 1000;

export interface Footprint {
  account: string;
  devices: Set<string>;
  networks: Set<string>;
}

/** The actor's account, devices and networks (from its sessions and this request); null for the admin token. */
export async function footprintOf(db: Kysely<Database>, actor: Actor): Promise<Footprint | null> {
  if (!actor.account) return null;
  const rows = await db.selectFrom('sessions').select(['device', 'ip']).where('account', '=', actor.account).orderBy('created_at', 'desc').limit(FOOTPRINT_SESSIONS).execute();
  const networks = new Set(rows.flatMap((r) => (r.ip ? [networkOf(r.ip)] : [])));
  if (actor.ctx.ip) networks.add(networkOf(actor.ctx.ip));
  return { account: actor.account, devices: new Set(rows.map((r) => r.device)), networks };
}

/** Whether a subject (account, device, network) is the actor's own. */
export function isOwn(f: Footprint | null, subject: { account?: string | null; device?: string | null; network?: string | null }): boolean {
  if (!f) return false;
  if (subject.account && subject.account === f.account) return true;
  if (subject.device && f.devices.has(subject.device)) return true;
  return Boolean(subject.network && f.networks.has(networkOf(subject.network.replace(/\/\d+$/, ''))));
}

/** Audits the refused attempt with its actor, then raises `self_action`. */
export async function refuseSelf(audit: AuditWriter, entry: Omit<AuditEntryInput, 'decision' | 'reason' | 'ip' | 'requestId'>, actor: Actor, what: string): Promise<never> {
  const err = new AppError('self_action', `you may not ${what}; another analyst must`);
  await audit.append([{ ...entry, decision: 'denied', reason: err.code, ip: actor.ctx.ip, requestId: actor.ctx.requestId, detail: { ...(entry.detail ?? {}), actor: actor.name } }]);
  throw err;
}
