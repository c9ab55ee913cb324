/**
 * The planted canaries (attack review 9: the database owner deleted a canary's row and its reveal
 * raised nothing). Each batch is replayed from the entry that planted it — `trace.canaries_planted`
 * (count), `trace.canaries_rotated` (planted) — and, since the numbers are kept as blind indexes,
 * the digest of the batch's blind indexes (`macs_sha256`; for rows sealed at an upgrade, the
 * `trace.canaries_sealed` entry's `batch:count:digest`). A batch whose rows are fewer, more or
 * other than planted, and a row of a batch no entry planted, are named by batch id (never a number).
 * Rows are never deleted by Warden: a supersede renames its row and keeps it.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { bareMac } from '../../trace/canaries.js';
import { macsDigest } from '../../trace/canary-data.js';
import { entriesOf, str, type Add } from './trail.js';

interface Batch {
  count: number | null;
  digest: string | null;
}

export async function reconcileCanaries(db: Kysely<Database>, add: Add): Promise<number> {
  const expected = new Map<string, Batch>();
  for (const e of await entriesOf(db, ['trace.canaries_planted', 'trace.canaries_rotated', 'trace.canaries_sealed'])) {
    if (e.kind === 'trace.canaries_sealed') {
      for (const b of Array.isArray(e.detail.batches) ? (e.detail.batches as unknown[]) : []) {
        const [batch, count, digest] = String(b).split(':');
        const known = expected.get(batch!);
        // The upgrade's seal binds the rows as they were then; the planting's count still stands.
        expected.set(batch!, { count: known?.count ?? Number(count), digest: digest ?? null });
      }
      continue;
    }
    const batch = str(e.detail.batch);
    if (!batch) continue;
    const count = Number(e.kind === 'trace.canaries_planted' ? e.detail.count : e.detail.planted);
    if (!count) continue;
    expected.set(batch, { count, digest: str(e.detail.macs_sha256) });
  }
  const rows = await db.selectFrom('trace_canaries').select(['mac', 'batch', 'sealed']).execute();
  const byBatch = new Map<string, string[]>();
  for (const r of rows) byBatch.set(r.batch, [...(byBatch.get(r.batch) ?? []), r.sealed ? bareMac(r.mac) : '']);
  for (const [batch, macs] of byBatch) {
    const want = expected.get(batch);
    if (!want) add({ table: 'trace_canaries', key: batch, problem: `${macs.length} canary row(s) of a batch no trace.canaries_planted / _rotated entry planted` });
    else if (want.count !== null && want.count !== macs.length) add({ table: 'trace_canaries', key: batch, problem: `the trail planted ${want.count} canaries in this batch, the table has ${macs.length}: rows ${macs.length < want.count ? 'deleted' : 'added'} around Warden (a silenced tripwire)` });
    else if (want.digest !== null && macsDigest(macs) !== want.digest) add({ table: 'trace_canaries', key: batch, problem: 'the batch\'s canaries are not the ones planted (blind indexes differ from the planting\'s macs_sha256)' });
  }
  for (const [batch, want] of expected) {
    if (!byBatch.has(batch)) add({ table: 'trace_canaries', key: batch, problem: `the trail planted ${want.count ?? 'some'} canaries in this batch and none has a row: deleted around Warden (a silenced tripwire)` });
  }
  return rows.length;
}
