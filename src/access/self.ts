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
 *
 * The second person of a two-person rule is a different person (attack review: an it_admin
 * created a second account and approved his own request through it): not the requester, and not
 * an account linked to the requester by creation — whoever creates an account sets its password,
 * so the approver may be neither the requester's creation nor its creator (`created_by`, followed
 * transitively, at most CREATION_HOPS links; a chain that is longer, or loops, is not followed
 * to its end and counts as linked: fail closed). Two accounts made by one third account are not
 * linked (residual: docs/security.md). Links are read from the trail's `admin.account_created`
 * entries, not `accounts.created_by` (attack review 10); a row that disagrees is refused (409).
 * An exception or alert about a device is about the accounts that enrolled or used it.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { AuditEntryInput } from '../audit/kinds.js';
import { actorAccount, actorName, type Actor, type RequestContext } from '../identity/types.js';
import { deviceIdsOf } from '../identity/devices.js';
import { networkOf } from '../detect/util.js';
import { AppError } from '../errors.js';
import { hiddenFrom, type ReaderSelf } from '../audit/search.js';

/** Most sessions looked at when deciding whether a network is the actor's own. */
const FOOTPRINT_SESSIONS = 1000;

/** Most `created_by` links followed from one account; a chain still going past it counts as a link (fail closed). */
export const CREATION_HOPS = 32;

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

/** The `admin.account_created` entries that created an account (the one indexed read, migration 0021), as SQL on `audit_log` alias `e`. */
const CREATED = sql`e.kind = 'admin.account_created' and e.decision = 'ok'`;
/** Whether the trail's creator of entry `e` is itself an account (the admin token, Warden and CLI operators are none). */
const CREATOR_IS_ACCOUNT = sql`exists (select 1 from audit_log p where p.kind = 'admin.account_created' and p.decision = 'ok' and p.account = e.detail->>'actor')`;

/**
 * How the actor is one of `others` (the requester, opener or subject of what is being approved):
 * 'self' (the same name), 'creation' (one's account was created, transitively, by the other's:
 * either way round), 'inconsistent' (an account on the way has a `created_by` other than its
 * `admin.account_created` entry names, or no such entry: written around Warden), or null. Links
 * are read from the trail (attack review 10: the database owner rewrote `accounts.created_by` to
 * erase a puppet's link), between accounts only (the admin token, which created the first ones, is
 * no account). One recursive query, bounded by CREATION_HOPS per account; a chain that still has
 * an account creator at the bound (longer, or a loop) cannot be shown unlinked, so it answers
 * 'creation'. Then one query compares the rows of the accounts followed with the trail.
 */
export async function sameHand(db: Kysely<Database>, actor: Actor, others: readonly (string | null | undefined)[]): Promise<'self' | 'creation' | 'inconsistent' | null> {
  const names = [...new Set(others.filter((o): o is string => typeof o === 'string' && o.length > 0))];
  if (names.includes(actorName(actor))) return 'self';
  const me = actorAccount(actor);
  if (!me || !names.length) return null;
  const chain = await sql<{ origin: string; ancestor: string; beyond: boolean }>`
    with recursive chain(origin, ancestor, hops) as (
      select e.account, e.detail->>'actor', 1 from audit_log e where ${CREATED} and e.account in (${sql.join([me, ...names])}) and ${CREATOR_IS_ACCOUNT}
      union all
      select c.origin, e.detail->>'actor', c.hops + 1 from chain c join audit_log e on e.account = c.ancestor
      where ${CREATED} and c.hops < ${CREATION_HOPS} and ${CREATOR_IS_ACCOUNT}
    )
    select origin, ancestor, (hops = ${CREATION_HOPS} and exists (select 1 from audit_log e where ${CREATED} and e.account = chain.ancestor and ${CREATOR_IS_ACCOUNT})) as beyond
    from chain`.execute(db);
  const visited = [...new Set([me, ...names, ...chain.rows.map((r) => r.ancestor)])];
  const rewritten = await sql<{ id: string }>`
    select a.id from accounts a
    where a.id in (${sql.join(visited)})
      and not exists (select 1 from audit_log e where ${CREATED} and e.account = a.id and (a.created_by is null or e.detail->>'actor' = a.created_by))
    limit 1`.execute(db);
  if (rewritten.rows.length) return 'inconsistent';
  const linked = chain.rows.some((r) => (r.origin === me && names.includes(r.ancestor)) || (r.origin !== me && r.ancestor === me) || r.beyond === true);
  return linked ? 'creation' : null;
}

/**
 * The accounts linked to `me` by creation, both ways (its creators up the chain, and every account
 * it created, transitively), each direction followed at most CREATION_HOPS links, read from the
 * `admin.account_created` entries (never `accounts.created_by`, which the database owner can
 * rewrite). What a reader may not see about "themselves" (cases naming them) is what names `me`
 * or one of these.
 */
export async function linkedAccounts(db: Kysely<Database>, me: string): Promise<string[]> {
  const rows = await sql<{ id: string }>`
    with recursive up(id, hops) as (
      select e.detail->>'actor', 1 from audit_log e where ${CREATED} and e.account = ${me}
      union all
      select e.detail->>'actor', up.hops + 1 from up join audit_log e on e.account = up.id where ${CREATED} and up.hops < ${CREATION_HOPS}
    ), down(id, hops) as (
      select e.account, 1 from audit_log e where ${CREATED} and e.detail->>'actor' = ${me}
      union all
      select e.account, down.hops + 1 from down join audit_log e on e.detail->>'actor' = down.id where ${CREATED} and down.hops < ${CREATION_HOPS}
    )
    select id from up where id is not null union select id from down where id is not null`.execute(db);
  return rows.rows.map((r) => r.id).filter((id) => id !== me);
}

/** Most accounts one device may have been enrolled or used by for the second-person rule to be checked on it. */
export const DEVICE_ACCOUNTS_MAX = 200;

/**
 * The accounts that enrolled or used these devices (attack review 10: a creator's puppet excepted
 * the creator's device from detection). A device used by more than DEVICE_ACCOUNTS_MAX accounts
 * cannot be checked: refused (409, fail closed).
 */
export async function deviceAccounts(db: Kysely<Database>, devices: readonly (string | null | undefined)[]): Promise<string[]> {
  const ids = [...new Set(devices.filter((d): d is string => typeof d === 'string' && d.length > 0))];
  if (!ids.length) return [];
  const [used, enrolled] = await Promise.all([
    db.selectFrom('account_devices').select('account').where('device', 'in', ids).limit(DEVICE_ACCOUNTS_MAX + 1).execute(),
    db.selectFrom('devices').select('enrolled_by').where('id', 'in', ids).execute(),
  ]);
  const accounts = new Set([...used.map((r) => r.account), ...enrolled.map((r) => r.enrolled_by)]);
  if (used.length > DEVICE_ACCOUNTS_MAX || accounts.size > DEVICE_ACCOUNTS_MAX) {
    throw new AppError('conflict', `more than ${DEVICE_ACCOUNTS_MAX} accounts used this device: whether you are one of them, or linked to one, cannot be checked`);
  }
  return [...accounts];
}

/**
 * The second person's check of a two-person rule: refuses (audited, `self_action`) when the actor
 * is the same hand as any of `others`, and (audited, 409 `audit_inconsistent`) when an account's
 * creation link differs from the trail.
 */
export async function refuseSameHand(db: Kysely<Database>, audit: AuditWriter, entry: Omit<AuditEntryInput, 'decision' | 'reason' | 'ip' | 'requestId'>, actor: Actor, ctx: RequestContext, what: string, others: readonly (string | null | undefined)[]): Promise<void> {
  const link = await sameHand(db, actor, others);
  if (link === 'self') await refuseSelf(audit, entry, actor, ctx, what);
  if (link === 'creation') await refuseSelf(audit, { ...entry, detail: { ...(entry.detail ?? {}), link: 'created_by' } }, actor, ctx, `${what} (nor where one of you created the other's account)`);
  if (link === 'inconsistent') {
    const err = new AppError('audit_inconsistent', 'accounts.created_by of an account involved differs from the admin.account_created entry that created it (changed outside Warden): whether you are linked cannot be trusted; run warden audit reconcile and tell the security team');
    await audit.append([{ ...entry, decision: 'denied', reason: err.code, ip: ctx.ip, requestId: ctx.requestId, detail: { ...(entry.detail ?? {}), actor: actorName(actor), inconsistent: 'accounts.created_by' } }]);
    throw err;
  }
}

/**
 * What a reader does not read about "themselves" (attack review 7 for cases, 9 for alerts and
 * responses: a suspected analyst read the covert reason of the response on him): their account,
 * the accounts linked to it by creation, and their enrolled devices. Empty for the admin token and
 * Warden itself, which have no account.
 */
export async function readerSelf(db: Kysely<Database>, actor: Actor): Promise<ReaderSelf> {
  const me = actorAccount(actor);
  if (!me) return { accounts: [], devices: [] };
  const [linked, devices] = await Promise.all([linkedAccounts(db, me), deviceIdsOf(db, me)]);
  return { accounts: [me, ...linked], devices };
}

/** What a refused read about oneself was of (`watch.viewed` detail.viewed). */
export type SelfRead = 'response' | 'risk' | 'activity' | 'footprint' | 'hours';

/**
 * A read about an account that is the reader's own (or linked to it by creation) answers as not
 * found, the attempt audited (`watch.viewed`, denied, `self_action`), as a case naming its reader.
 */
export async function refuseSelfRead(db: Kysely<Database>, audit: AuditWriter, ts: Date, account: string, what: SelfRead, actor: Actor, ctx: RequestContext): Promise<void> {
  const { accounts } = await readerSelf(db, actor);
  if (!accounts.includes(account)) return;
  await audit.append([{ kind: 'watch.viewed', ts, decision: 'denied', reason: 'self_action', account: actorAccount(actor), ip: ctx.ip, requestId: ctx.requestId, detail: { viewed: what, subject: account, actor: actorName(actor) } }]);
  throw new AppError('not_found', `account ${account} does not exist`);
}

/**
 * An audit entry about the reader's own detection (src/audit/search.ts `aboutReader`: a response,
 * triage, an exception or a case about them) answers as not found through its inclusion proof,
 * the attempt audited as `watch.viewed` (denied, `self_action`); the trail search leaves it out.
 */
export async function refuseSelfEntry(db: Kysely<Database>, audit: AuditWriter, ts: Date, seq: number, actor: Actor, ctx: RequestContext): Promise<void> {
  if (!(await hiddenFrom(db, seq, await readerSelf(db, actor)))) return;
  await audit.append([{ kind: 'watch.viewed', ts, decision: 'denied', reason: 'self_action', account: actorAccount(actor), ip: ctx.ip, requestId: ctx.requestId, detail: { viewed: 'audit_entry', seq, actor: actorName(actor) } }]);
  throw new AppError('not_found', `no audit entry ${seq}`);
}
