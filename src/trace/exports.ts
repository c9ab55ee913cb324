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
import { randomInt, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import type { AccountPrincipal, ResponseGate } from '../access/access.js';
import type { Principal, RequestContext } from '../identity/identity.js';
import type { MaskedWaybill, VaultReader } from '../vault/vault.js';
import { EXPORT_ROLES } from '../access/roles.js';
import { AppError } from '../errors.js';
import type { Canaries } from './canaries.js';

export const MAX_EXPORT_ROWS = 500;
/** Canary rows per export: enough to name it, few enough to pass as ordinary parcels. */
export const EXPORT_CANARIES = 3;

export interface ExportsDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  vault: Pick<VaultReader, 'masked' | 'routing'>;
  canaries: Pick<Canaries, 'plant'>;
  gate: () => ResponseGate | undefined;
}

export function createExports(deps: ExportsDeps) {
  const { db, audit, clock, vault } = deps;

  async function create(principal: Principal, waybills: string[], ctx: RequestContext): Promise<{ id: string; rows: MaskedWaybill[] }> {
    if (principal.kind !== 'account') throw new AppError('role_not_permitted', 'the admin token cannot export; log in as a staff account');
    const p: AccountPrincipal = principal;
    const refused = await deps.gate()?.refuse(p, 'view', clock.now());
    if (refused) throw refused;
    const wanted = [...new Set(waybills)];
    // Every refusal below is audited (a denied access.export: the detectors count it as an attempt).
    const refuse = async (err: AppError): Promise<never> => {
      const entry = { kind: 'access.export' as const, ts: new Date(clock.now()), decision: 'denied' as const, reason: err.code, account: p.account.id, role: p.account.role, site: p.account.site, device: p.device, ip: ctx.ip, session: p.sessionId, requestId: ctx.requestId, fields: [], detail: { rows: wanted.length } };
      await audit.append([entry]);
      throw err;
    };
    if (!EXPORT_ROLES.includes(p.account.role)) return refuse(new AppError('role_not_permitted', `the ${p.account.role} role may not export`));
    if (!wanted.length || wanted.length > MAX_EXPORT_ROWS) return refuse(new AppError('validation_failed', `an export holds 1 to ${MAX_EXPORT_ROWS} waybills`));
    const routes = await Promise.all(wanted.map((w) => vault.routing(w)));
    const city = p.account.siteCity;
    // One answer for "does not exist" and "outside your city", naming no number: not an existence oracle.
    const unavailable = routes.filter((r) => !r || (r.origin_city !== city && r.dest_city !== city)).length;
    if (unavailable) return refuse(new AppError('forbidden', `${unavailable} of ${wanted.length} waybill(s) cannot be exported by you (unknown, or outside your city); nothing was exported`));

    const id = randomUUID();
    const planted = await deps.canaries.plant(EXPORT_CANARIES, { exportId: id, near: routes.map((r) => ({ ...r!, waybill: r!.waybill })) }, { kind: 'system', name: 'warden-trace' }, ctx);
    const order = [...wanted, ...planted.waybills];
    for (let i = order.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const now = new Date(clock.now());
    await audit.append(
      [{ kind: 'access.export', ts: now, decision: 'allowed', account: p.account.id, role: p.account.role, site: p.account.site, device: p.device, ip: ctx.ip, session: p.sessionId, requestId: ctx.requestId, fields: [], detail: { export: id, rows: order.length, waybills: wanted } }],
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
