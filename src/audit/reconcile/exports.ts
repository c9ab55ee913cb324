/**
 * Marked exports (attack review 10: `update trace_exports set account='mgr2'` made leak attribution
 * name an innocent manager; deleting the row would have cleared the real one). Each row is
 * compared with the `access.export` entry written in its transaction (account, time, device,
 * network, row count, the real waybills: src/trace/export-trail.ts); a row no entry recorded, and
 * an entry whose row is gone, are named by export id. An export canary must point at the export
 * its planting entry named (`trace.canaries_planted` detail.export); a re-pointed one is named by
 * batch. Never a waybill number.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { auditedExports, exportRowProblem } from '../../trace/export-trail.js';
import { entriesOf, str, type Add } from './trail.js';

export async function reconcileExports(db: Kysely<Database>, add: Add): Promise<number> {
  const entries = await auditedExports(db);
  const rows = await db.selectFrom('trace_exports').select(['id', 'account', 'created_at', 'device', 'ip', 'row_order', 'rows']).execute();
  const stored = new Set<string>();
  for (const r of rows) {
    stored.add(r.id);
    const problem = exportRowProblem(r, entries.get(r.id));
    if (problem) add({ table: 'trace_exports', key: r.id, problem: `${problem}: changed around Warden (attribution leaves it out)` });
  }
  for (const [id, e] of entries) {
    if (!stored.has(id)) add({ table: 'trace_exports', key: id, problem: `the trail recorded an export of ${e.rows} rows for ${e.account} and its row is gone: deleted around Warden` });
  }
  const planted = new Map<string, string | null>();
  for (const e of await entriesOf(db, ['trace.canaries_planted'])) {
    const batch = str(e.detail.batch);
    if (batch) planted.set(batch, str(e.detail.export) ?? null);
  }
  const canaries = await db.selectFrom('trace_canaries').select(['batch', 'export_id']).distinct().where('export_id', 'is not', null).execute();
  for (const c of canaries) {
    if (planted.has(c.batch) && planted.get(c.batch) !== c.export_id) add({ table: 'trace_exports', key: c.batch, problem: 'canary batch points at another export than its trace.canaries_planted entry named: re-pointed around Warden' });
  }
  return rows.length;
}
