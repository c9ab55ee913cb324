/**
 * Nobody acts on their own account, alert, response, exception or case (issue 7, hole 3): the
 * one place that knows who is acting, what counts as "themselves", and how a refusal is recorded
 * (used by watch and cases).
 *
 * Who acts is identity's `Actor` (src/identity/types.ts); this file decides what is theirs.
 *
 * Invariants: "themselves" is the acting account, the devices it has used (by their enrolled ids,
 * which is what the trail, events and alerts name; a client's label is no identity) and the
 * networks of the addresses it has used (including this request's); a refusal is audited with
 * the actor before the 403 leaves. The bootstrap admin token has no account, so nothing is its own.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { AuditEntryInput } from '../audit/kinds.js';
import { actorAccount, actorName, type Actor, type RequestContext } from '../identity/types.js';
import { deviceIdsOf } from '../identity/devices.js';
import { networkOf } from '../detect/util.js';
import { AppError } from '../errors.js';

/** Most sessions looked at when deciding whether a network is the actor's own. */
const FOOTPRINT_SESSIONS = 1000;

export interface Footprint {
  account: string;
  /** Enrolled device ids (the ids the trail, events and alerts name), never client labels. */
  devices: Set<string>;
  networks: Set<string>;
}

/** The actor's account, the devices it has used and its networks (from its sessions and this request); null for the admin token and Warden itself. */
export async function footprintOf(db: Kysely<Database>, actor: Actor, ctx: RequestContext): Promise<Footprint | null> {
  const account = actorAccount(actor);
  if (!account) return null;
  const [devices, sessions] = await Promise.all([
    deviceIdsOf(db, account),
    db.selectFrom('sessions').select('ip').where('account', '=', account).where('ip', 'is not', null).orderBy('created_at', 'desc').limit(FOOTPRINT_SESSIONS).execute(),
  ]);
  const networks = new Set(sessions.map((r) => networkOf(r.ip!)));
  if (ctx.ip) networks.add(networkOf(ctx.ip));
  return { account, devices: new Set(devices), networks };
}

/** Whether a subject (account, device, network) is the actor's own. */
export function isOwn(f: Footprint | null, subject: { account?: string | null; device?: string | null; network?: string | null }): boolean {
  if (!f) return false;
  if (subject.account && subject.account === f.account) return true;
  if (subject.device && f.devices.has(subject.device)) return true;
  return Boolean(subject.network && f.networks.has(networkOf(subject.network.replace(/\/\d+$/, ''))));
}

/** Audits the refused attempt with its actor, then raises `self_action`. */
export async function refuseSelf(audit: AuditWriter, entry: Omit<AuditEntryInput, 'decision' | 'reason' | 'ip' | 'requestId'>, actor: Actor, ctx: RequestContext, what: string): Promise<never> {
  const err = new AppError('self_action', `you may not ${what}; another analyst must`);
  await audit.append([{ ...entry, decision: 'denied', reason: err.code, ip: ctx.ip, requestId: ctx.requestId, detail: { ...(entry.detail ?? {}), actor: actorName(actor) } }]);
  throw err;
}
