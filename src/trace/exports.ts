/**
 * Marked exports: every bulk export is unique to its recipient. A few canary rows planted for this
 * export alone (realistic, on the same routes as its real rows) are mixed in, and the row order is
 * drawn at random and recorded, so an export that turns up elsewhere names the account and the
 * moment (attribution reads `trace_exports` and the export canaries).
 *
 * Invariants: rows are masked (a bulk export of full values is out of scope here); the answer and
 * the audit entry never say which rows are canaries; the export is audited (`access.export`, with
 * the real waybills it holds) in the transaction that records it, before any row leaves. A refused
 * export is audited too (denied, reason, count — no numbers), and its answer does not tell a
 * number that does not exist from one outside the caller's city.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import type { AccountPrincipal, ResponseGate } from '../access/access.js';
import type { Principal, RequestContext } from '../identity/identity.js';
import type { MaskedWaybill, Routing, VaultReader } from '../vault/vault.js';
import { EXPORT_ROLES } from '../access/roles.js';
import { AppError } from '../errors.js';
import type { Canaries } from './canaries.js';

export const MAX_EXPORT_ROWS = 500;
/** The longest date window a filter export may cover. */
export const MAX_FILTER_DAYS = 31;

/** An export defined by a filter: the manager's city (or one of its sites), created in [from, to). */
export interface ExportFilter {
  site?: string | undefined;
  city?: string | undefined;
  from: string;
  to: string;
}
export type ExportRequest = string[] | { waybills: string[] } | { filter: ExportFilter };
/** Canary rows per filter export: enough to name it, few enough to pass as ordinary parcels. */
export const EXPORT_CANARIES = 3;
/** Fewer marks in a small export (a tenth of its rows at most), none under ten rows. */
const canariesFor = (rows: number) => Math.min(EXPORT_CANARIES, Math.floor(rows / 10));

export interface ExportsDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  vault: Pick<VaultReader, 'masked' | 'routing'>;
  canaries: Pick<Canaries, 'plant' | 'among'>;
  gate: () => ResponseGate | undefined;
}

export function createExports(deps: ExportsDeps) {
  const { db, audit, clock, vault } = deps;

  async function create(principal: Principal, request: ExportRequest, ctx: RequestContext): Promise<{ id: string; rows: MaskedWaybill[] }> {
    const filter = !Array.isArray(request) && 'filter' in request ? request.filter : null;
    const waybills = Array.isArray(request) ? request : 'waybills' in request ? request.waybills : [];
    if (principal.kind !== 'account') throw new AppError('role_not_permitted', 'the admin token cannot export; log in as a staff account');
    const p: AccountPrincipal = principal;
    const refused = await deps.gate()?.refuse(p, 'view', clock.now());
    if (refused) throw refused;
    const wanted = [...new Set(waybills)];
    // Every refusal below is audited (a denied access.export: the detectors count it as an attempt).
    const refuse = async (err: AppError): Promise<never> => {
      const entry = { kind: 'access.export' as const, ts: new Date(clock.now()), decision: 'denied' as const, reason: err.code, account: p.account.id, role: p.account.role, site: p.account.site, device: p.device, ip: ctx.ip, session: p.sessionId, requestId: ctx.requestId, fields: [], detail: { rows: wanted.length, filter: filter !== null } };
      await audit.append([entry]);
      throw err;
    };
    if (!EXPORT_ROLES.includes(p.account.role)) return refuse(new AppError('role_not_permitted', `the ${p.account.role} role may not export`));
    if (filter) {
      const found = await matching(p, filter);
      if ('error' in found) return refuse(found.error);
      return record(p, found.rows, ctx, { from: new Date(filter.from), to: new Date(filter.to) });
    }
    if (!wanted.length || wanted.length > MAX_EXPORT_ROWS) return refuse(new AppError('validation_failed', `an export holds 1 to ${MAX_EXPORT_ROWS} waybills`));
    const routes = await Promise.all(wanted.map((w) => vault.routing(w)));
    const city = p.account.siteCity;
    // One answer for "does not exist" and "outside your city", naming no number: not an existence oracle.
    const unavailable = routes.filter((r) => !r || (r.origin_city !== city && r.dest_city !== city)).length;
    if (unavailable) return refuse(new AppError('forbidden', `${unavailable} of ${wanted.length} waybill(s) cannot be exported by you (unknown, or outside your city); nothing was exported`));

    return record(p, wanted.map((w, i) => ({ ...routes[i]!, waybill: w })), ctx, null);
  }

  /** The real waybills a filter names, inside the manager's city; a refusal for a bad or too wide filter. */
  async function matching(p: AccountPrincipal, f: ExportFilter): Promise<{ rows: Routing[] } | { error: AppError }> {
    const from = Date.parse(f.from);
    const to = Date.parse(f.to);
    if (Number.isNaN(from) || Number.isNaN(to) || to <= from || to - from > MAX_FILTER_DAYS * 86_400_000) {
      return { error: new AppError('validation_failed', `filter.from and filter.to must be instants, from before to, at most ${MAX_FILTER_DAYS} days apart`) };
    }
    const city = p.account.siteCity;
    if (!city || (f.city !== undefined && f.city !== city)) return { error: new AppError('forbidden', 'a filter export covers your own city only; nothing was exported') };
    let q = db
      .selectFrom('waybills')
      .select(['waybill', 'origin_site', 'dest_site', 'origin_city', 'dest_city'])
      .where((eb) => eb.or([eb('origin_city', '=', city), eb('dest_city', '=', city)]))
      .where('created_at', '>=', new Date(from))
      .where('created_at', '<', new Date(to));
    if (f.site !== undefined) q = q.where((eb) => eb.or([eb('origin_site', '=', f.site!), eb('dest_site', '=', f.site!)]));
    // Canaries never count as matches (they are planted per export, below). The table holds their
    // numbers only as blind indexes, so they are told apart after the read: read as many more rows
    // as there are canaries at most.
    const canaryRows = Number((await db.selectFrom('trace_canaries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const read = await q.orderBy('waybill').limit(MAX_EXPORT_ROWS + 1 + canaryRows).execute();
    const canaries = await deps.canaries.among(read.map((r) => r.waybill));
    const rows = read.filter((r) => !canaries.has(r.waybill)).slice(0, MAX_EXPORT_ROWS + 1);
    if (!rows.length) return { error: new AppError('not_found', 'no waybill of your city matches the filter; nothing was exported') };
    if (rows.length > MAX_EXPORT_ROWS) return { error: new AppError('validation_failed', `more than ${MAX_EXPORT_ROWS} waybills match; narrow the filter`) };
    return { rows };
  }

  /**
   * Records and answers an export. A filter export (`window` set) gets canary rows planted for it
   * alone, inside its number block and date window, on its routes, listed in number order among
   * the real rows; an explicit list gets none (a row nobody asked for would stand out) and keeps
   * the order asked — the recorded access history is its mark.
   */
  async function record(p: AccountPrincipal, real: Routing[], ctx: RequestContext, window: { from: Date; to: Date } | null) {
    const id = randomUUID();
    const wanted = real.map((r) => r.waybill);
    const marks = window ? canariesFor(real.length) : 0;
    const planted = marks ? (await deps.canaries.plant(marks, { exportId: id, near: real, inside: true, within: window! }, { kind: 'system', name: 'warden-trace' }, ctx)).waybills : [];
    const order = window ? [...wanted, ...planted].sort() : wanted;
    const now = new Date(clock.now());
    await audit.append(
      [{ kind: 'access.export', ts: now, decision: 'allowed', account: p.account.id, role: p.account.role, site: p.account.site, device: p.device, ip: ctx.ip, session: p.sessionId, requestId: ctx.requestId, fields: [], detail: { export: id, rows: order.length, waybills: wanted, filter: window !== null } }],
      async (tx) => {
        await tx.insertInto('trace_exports').values({ id, account: p.account.id, device: p.device, ip: ctx.ip, created_at: now, row_order: JSON.stringify(order), rows: order.length }).execute();
      },
    );
    const rows = await Promise.all(order.map((w) => vault.masked(w)));
    return { id, rows: rows.filter((r): r is MaskedWaybill => r !== null) };
  }

  return { create };
}
export type Exports = ReturnType<typeof createExports>;
