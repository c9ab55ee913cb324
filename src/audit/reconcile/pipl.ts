/**
 * PIPL: data-subject requests and impact assessments (attack review 10: neither was reconciled, and
 * one analyst approved his own correction, deletion or access report, or reviewed his own PIA, after
 * rewriting `requested_by` / `created_by`). A request is replayed from `pipl.request_filed` (its kind
 * and filer) / `_approved` (completed, by the approver) / `_rejected`; a PIA from its
 * `pipl.pia_recorded` entries (`action` recorded: the author; reviewed: the reviewer).
 *
 * Before two people were needed (commit "Holes (round-two review)", migration 0014), access and
 * correction requests completed at filing by one person: a completed row with no approver whose
 * completion time is its filing entry's is that history, not a finding.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { toBuffer } from '../../store/db.js';
import { erasureMarkDigest, rowKey } from '../../vault/erased.js';
import { ERASED_MARK } from '../../vault/vault.js';
import { differences, entriesOf, ms, replayAll, str, type Add, type TrailEntry } from './trail.js';

interface RequestState {
  kind: string | null;
  requested_by: string | null;
  state: string;
  approved_by: string | null;
  filed_at: number;
}

function requestStep(state: RequestState | undefined, e: TrailEntry): RequestState | undefined {
  if (e.kind === 'pipl.request_filed') return { kind: str(e.detail.request_kind), requested_by: str(e.detail.actor), state: 'pending_approval', approved_by: null, filed_at: e.ts.getTime() };
  if (!state || state.state !== 'pending_approval') return state;
  if (e.kind === 'pipl.request_approved') return { ...state, state: 'completed', approved_by: str(e.detail.actor) };
  if (e.kind === 'pipl.request_rejected') return { ...state, state: 'rejected', approved_by: str(e.detail.actor) };
  return state;
}

export async function reconcilePiplRequests(db: Kysely<Database>, add: Add): Promise<number> {
  const expected = replayAll(await entriesOf(db, ['pipl.request_filed', 'pipl.request_approved', 'pipl.request_rejected']), (e) => str(e.detail.request), requestStep);
  const rows = await db.selectFrom('pipl_requests').select(['id', 'kind', 'requested_by', 'state', 'approved_by', 'completed_at']).orderBy('id').execute();
  for (const r of rows) {
    const want = expected.get(r.id);
    if (!want) {
      add({ table: 'pipl_requests', key: r.id, problem: 'no pipl.request_filed entry filed this request' });
      continue;
    }
    const oneStep = want.state === 'pending_approval' && r.state === 'completed' && r.approved_by === null && r.kind !== 'deletion' && ms(r.completed_at) === want.filed_at;
    const replayed = oneStep ? { ...want, state: 'completed' } : want;
    const problem = differences(replayed, { ...r, filed_at: want.filed_at }, ['kind', 'requested_by', 'state', 'approved_by']);
    if (problem) add({ table: 'pipl_requests', key: r.id, problem });
  }
  return rows.length;
}

interface PiaState {
  created_by: string | null;
  reviewed_by: string | null;
}

function piaStep(state: PiaState | undefined, e: TrailEntry): PiaState | undefined {
  if (e.detail.action === 'recorded') return { created_by: str(e.detail.actor), reviewed_by: null };
  if (e.detail.action === 'reviewed' && state) return { ...state, reviewed_by: str(e.detail.actor) };
  return state;
}

export async function reconcilePia(db: Kysely<Database>, add: Add): Promise<number> {
  const expected = replayAll(await entriesOf(db, ['pipl.pia_recorded']), (e) => str(e.detail.pia), piaStep);
  const rows = await db.selectFrom('pipl_pia').select(['id', 'created_by', 'reviewed_by']).orderBy('id').execute();
  for (const r of rows) {
    const want = expected.get(r.id);
    if (!want) {
      add({ table: 'pipl_pia', key: r.id, problem: 'no pipl.pia_recorded entry recorded this impact assessment' });
      continue;
    }
    const problem = differences(want, r, ['created_by', 'reviewed_by']);
    if (problem) add({ table: 'pipl_pia', key: r.id, problem });
  }
  return rows.length;
}

/**
 * Erasures (attack review 11: an approved erasure undone by restoring `waybill_parties`,
 * `subject_keys`, the masked views and the search index from an earlier dump — the live server's
 * own master key unwraps a restored data key). Each `pipl.subject_erased` entry names the party
 * rows it erased and a digest of each erasure mark (src/pipl/subjects.ts); every such row must
 * still be erased (no ciphertext, no blind index, the erased mark in both masked views), every
 * mark must still be in `pipl_erasures`, and a data key of a marked subject may exist only for a
 * parcel stored since (a later parcel of the same number: a new key). Entries written before
 * this name nothing and are not checked. Findings are keyed by the request; the problem names the
 * entry's seq, never a waybill (the log's rule) nor a blind index.
 */
export async function reconcileErasures(db: Kysely<Database>, add: Add): Promise<number> {
  const entries = await entriesOf(db, ['pipl.subject_erased']);
  const erasedRows = new Map<string, { request: string; seq: number }>();
  const marksOf = new Map<string, { request: string; seq: number }>();
  for (const e of entries) {
    const at = { request: str(e.detail.request) ?? `seq ${e.seq}`, seq: e.seq };
    for (const r of strings(e.detail.erased_rows)) erasedRows.set(r, at);
    for (const m of strings(e.detail.erased_marks)) marksOf.set(m, at);
  }
  const marks = await checkMarks(db, marksOf, add);
  await checkRows(db, erasedRows, add);
  await checkKeys(db, marks, erasedRows, add);
  return erasedRows.size;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Every mark the trail recorded is still in pipl_erasures; answers the marks found, with their erasure. */
async function checkMarks(db: Kysely<Database>, marksOf: Map<string, { request: string; seq: number }>, add: Add): Promise<Map<string, { mark: Buffer; request: string; seq: number }>> {
  const found = new Map<string, { mark: Buffer; request: string; seq: number }>();
  if (!marksOf.size) return found;
  for (const r of await db.selectFrom('pipl_erasures').select('subject_id').execute()) {
    const mark = toBuffer(r.subject_id);
    const at = marksOf.get(erasureMarkDigest(mark));
    if (at) found.set(mark.toString('hex'), { mark, ...at });
  }
  const present = new Set([...found.values()].map((f) => erasureMarkDigest(f.mark)));
  for (const [digest, at] of marksOf) {
    if (!present.has(digest)) add({ table: 'pipl_erasures', key: at.request, problem: `an erasure mark the trail recorded (pipl.subject_erased, seq ${at.seq}) is gone from pipl_erasures: the person could be found, corrected or erased as if never erased` });
  }
  return found;
}

/** Every erased party row is still erased: no ciphertext, no blind index, the erased mark in both views. */
async function checkRows(db: Kysely<Database>, erasedRows: Map<string, { request: string; seq: number }>, add: Add): Promise<void> {
  const waybills = [...new Set([...erasedRows.keys()].map((k) => k.slice(0, k.lastIndexOf('|'))))];
  for (let i = 0; i < waybills.length; i += 500) {
    const chunk = waybills.slice(i, i + 500);
    const parties = await db.selectFrom('waybill_parties').select(['waybill', 'party', 'erased_at', 'name_ct', 'phone_ct', 'address_ct', 'id_number_ct', 'phone_bidx', 'id_bidx']).where('waybill', 'in', chunk).execute();
    const views = new Map((await db.selectFrom('waybills').select(['waybill', 'masked', 'label']).where('waybill', 'in', chunk).execute()).map((w) => [w.waybill, w]));
    for (const p of parties) {
      const at = erasedRows.get(rowKey(p.waybill, p.party));
      if (!at) continue;
      const live = p.erased_at === null || [p.name_ct, p.phone_ct, p.address_ct, p.id_number_ct].some((c) => c !== null);
      const indexed = p.phone_bidx !== null || p.id_bidx !== null;
      const view = views.get(p.waybill);
      const shown = view && [view.masked, view.label].some((v) => !isErasedView(v, p.party));
      const what = [live && 'its data (ciphertext / not marked erased)', indexed && 'its blind index (a phone or ID search finds it)', shown && 'its masked view'].filter(Boolean);
      if (what.length) add({ table: 'pipl_erasures', key: at.request, problem: `a ${p.party} row the trail says was erased (pipl.subject_erased, seq ${at.seq}) holds ${what.join(', ')} again: restored around Warden` });
    }
  }
}

function isErasedView(v: unknown, party: string): boolean {
  const view = (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, { name?: unknown; phone?: unknown; address?: unknown } | undefined>;
  const p = view?.[party];
  return !p || [p.name, p.phone, p.address].every((x) => x === ERASED_MARK);
}

/** A data key of a marked (erased) subject exists only for a parcel of theirs stored since (not one of the erased rows). */
async function checkKeys(db: Kysely<Database>, marks: Map<string, { mark: Buffer; request: string; seq: number }>, erasedRows: Map<string, unknown>, add: Add): Promise<void> {
  const all = [...marks.values()];
  for (let i = 0; i < all.length; i += 500) {
    const chunk = all.slice(i, i + 500);
    const keys = await db.selectFrom('subject_keys').select('subject_id').where('subject_id', 'in', chunk.map((m) => m.mark)).execute();
    for (const k of keys) {
      const subject = toBuffer(k.subject_id);
      const rows = await db.selectFrom('waybill_parties').select(['waybill', 'party']).where('subject_id', '=', subject).where('erased_at', 'is', null).execute();
      if (rows.some((r) => !erasedRows.has(rowKey(r.waybill, r.party)))) continue;
      const at = marks.get(subject.toString('hex'))!;
      add({ table: 'pipl_erasures', key: at.request, problem: `a data key of a person the trail says was erased (pipl.subject_erased, seq ${at.seq}) is back in subject_keys, with no parcel stored since: restored around Warden` });
    }
  }
}
