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
