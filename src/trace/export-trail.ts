/**
 * Marked exports as the trail recorded them (attack review 10: leak attribution read who received
 * an export from `trace_exports`, which the database owner can rewrite — `update trace_exports set
 * account='mgr2'` and the same leaked file named an innocent manager; deleting the row would clear
 * the real one). The `access.export` entry written in the export's own transaction is the truth:
 * account, time, device, network, the real waybills and the row count. A `trace_exports` row is
 * *backed* only when it is the one its entry recorded; an export canary only when its planting
 * entry named that export and its batch is still the one planted.
 *
 * Used by attribution (./attribution/store.ts: exposures come from the entries, a row's order and
 * canaries only from backed rows, the rest counted as `audit_inconsistent`) and by `warden audit
 * reconcile` (../audit/reconcile/exports.ts). Values compared are ids, times and counts.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { macsDigest } from './canary-data.js';
import { bareMac } from './canaries.js';

/** One allowed `access.export` entry. */
export interface AuditedExport {
  id: string;
  account: string;
  ts: number;
  device: string | null;
  ip: string | null;
  rows: number;
  /** The real waybills exported (the entry never names canary rows). */
  waybills: string[];
  filter: boolean;
}

export interface ExportRow {
  id: string;
  account: string;
  created_at: Date | string;
  device: string | null;
  ip: string | null;
  row_order: unknown;
  rows: number;
}

const parse = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
const CHUNK = 1000;

/** Every allowed `access.export` entry, by export id (migration 0021 indexes them). */
export async function auditedExports(db: Kysely<Database>): Promise<Map<string, AuditedExport>> {
  const rows = await db.selectFrom('audit_log').select(['ts', 'account', 'device', 'ip', 'detail']).where('kind', '=', 'access.export').where('decision', '=', 'allowed').orderBy('seq').execute();
  const out = new Map<string, AuditedExport>();
  for (const r of rows) {
    const d = parse<Record<string, unknown> | null>(r.detail) ?? {};
    if (typeof d.export !== 'string' || !r.account) continue;
    const waybills = Array.isArray(d.waybills) ? d.waybills.map(String) : [];
    out.set(d.export, { id: d.export, account: r.account, ts: new Date(r.ts).getTime(), device: r.device, ip: r.ip, rows: Number(d.rows), waybills, filter: d.filter === true });
  }
  return out;
}

/** The row order a row holds. */
export const rowOrderOf = (row: Pick<ExportRow, 'row_order'>): string[] => parse<string[]>(row.row_order) ?? [];

/**
 * Why `row` is not the export its entry recorded, or null when it is: same account, time, device,
 * network and count; its order holds every real waybill of the entry — in the order asked for an
 * explicit list (which gets no canary), sorted among at most as many extra rows as the entry's
 * count leaves for canaries for a filter export.
 */
export function exportRowProblem(row: ExportRow, entry: AuditedExport | undefined): string | null {
  if (!entry) return 'no access.export entry recorded this export';
  if (row.account !== entry.account) return `account: trail ${entry.account}, row ${row.account}`;
  if (new Date(row.created_at).getTime() !== entry.ts) return 'created_at differs from its entry';
  if ((row.device ?? null) !== (entry.device ?? null) || (row.ip ?? null) !== (entry.ip ?? null)) return 'device or network differs from its entry';
  const order = rowOrderOf(row);
  if (row.rows !== entry.rows || order.length !== entry.rows) return `rows: trail ${entry.rows}, row ${row.rows} (${order.length} in its order)`;
  if (!entry.filter) return order.every((w, i) => w === entry.waybills[i]) && order.length === entry.waybills.length ? null : 'its rows are not the waybills its entry exported';
  const real = new Set(entry.waybills);
  const present = order.filter((w) => real.has(w));
  if (present.length !== real.size || new Set(present).size !== real.size) return 'its rows are not the waybills its entry exported';
  if (order.some((w, i) => i > 0 && order[i - 1]! > w)) return 'its row order is not the sorted order Warden records';
  return null;
}

/** A `trace.canaries_planted` entry: the export it planted for and its batch's digest. */
interface Planting {
  export: string | null;
  digest: string | null;
}

/**
 * Which of these canary batches still back a link to `exportOf(batch)`: planted by an entry that
 * named that export, and holding the rows it planted (the digest of their blind indexes,
 * `macs_sha256`, as reconcile/canaries.ts checks). A batch rewritten, or rows moved between
 * batches to re-point a canary at another export, backs nothing.
 */
export async function backedCanaryBatches(db: Kysely<Database>, wanted: Map<string, string>): Promise<Set<string>> {
  const batches = [...wanted.keys()];
  if (!batches.length) return new Set();
  const plantings = new Map<string, Planting>();
  const entries = await db
    .selectFrom('audit_log')
    .select(['detail'])
    .where('kind', '=', 'trace.canaries_planted')
    .where('decision', '=', 'ok')
    .where(sql<string>`detail->>'batch'`, 'in', batches)
    .execute();
  for (const e of entries) {
    const d = parse<Record<string, unknown> | null>(e.detail) ?? {};
    plantings.set(String(d.batch), { export: typeof d.export === 'string' ? d.export : null, digest: typeof d.macs_sha256 === 'string' ? d.macs_sha256 : null });
  }
  const macs = new Map<string, string[]>();
  for (let i = 0; i < batches.length; i += CHUNK) {
    for (const r of await db.selectFrom('trace_canaries').select(['batch', 'mac', 'sealed']).where('batch', 'in', batches.slice(i, i + CHUNK)).execute()) {
      macs.set(r.batch, [...(macs.get(r.batch) ?? []), r.sealed ? bareMac(r.mac) : '']);
    }
  }
  const out = new Set<string>();
  for (const [batch, exportId] of wanted) {
    const p = plantings.get(batch);
    if (p && p.export === exportId && p.digest !== null && macsDigest(macs.get(batch) ?? []) === p.digest) out.add(batch);
  }
  return out;
}
