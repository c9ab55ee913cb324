/**
 * What detection does: exceptions (silence a detector for an account, device or network), responses
 * (step-up, throttle, suspend in force) and detector settings. Replayed from `watch.exception_*`,
 * `watch.response_applied` / `_cleared` and `detect.settings_changed`. Here a missing row matters as
 * much as an extra one: deleting a response row lifts a throttle, deleting a settings row puts an
 * approved detector back to its defaults.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { canonicalDigest } from '../chain.js';
import { differences, entriesOf, ms, replayAll, str, type Add, type TrailEntry } from './trail.js';

interface ExceptionState {
  kind: string | null;
  account: string | null;
  /** The actor of `watch.exception_added` (attack review 10: rewritten so the requester could approve). */
  created_by: string | null;
  until: number | null;
  approval: string;
  removed: string;
  /** Recorded since the digest was added to the entry; older entries leave the value unchecked. */
  value_sha256: string | null;
}

function exceptionStep(state: ExceptionState | undefined, e: TrailEntry): ExceptionState | undefined {
  if (e.kind === 'watch.exception_added') {
    // Exceptions asked before two analysts were needed (migration 0015) were in force at once.
    return { kind: e.reason, account: e.account, created_by: str(e.detail.actor), until: ms(e.detail.until), approval: String(e.detail.approval ?? 'approved'), removed: 'no', value_sha256: str(e.detail.value_sha256) };
  }
  if (!state) return state;
  if (e.kind === 'watch.exception_approved') return { ...state, approval: 'approved' };
  if (e.kind === 'watch.exception_removed') return { ...state, removed: 'yes' };
  return state;
}

export async function reconcileExceptions(db: Kysely<Database>, add: Add): Promise<number> {
  const expected = replayAll(await entriesOf(db, ['watch.exception_added', 'watch.exception_approved', 'watch.exception_removed']), (e) => str(e.detail.exception), exceptionStep);
  const rows = await db.selectFrom('detect_exceptions').select(['id', 'kind', 'account', 'created_by', 'value', 'until', 'approval', 'removed_at']).orderBy('id').execute();
  for (const r of rows) {
    const want = expected.get(r.id);
    if (!want) {
      add({ table: 'detect_exceptions', key: r.id, problem: 'no watch.exception_added entry requested this exception' });
      continue;
    }
    const row: ExceptionState = { kind: r.kind, account: r.account, created_by: r.created_by, until: ms(r.until), approval: r.approval, removed: r.removed_at ? 'yes' : 'no', value_sha256: want.value_sha256 === null ? null : canonicalDigest(r.value) };
    const problem = differences(want, row, ['kind', 'account', 'created_by', 'until', 'approval', 'removed', 'value_sha256']);
    if (problem) add({ table: 'detect_exceptions', key: r.id, problem: problem.replace(/value_sha256: trail \w+, row \w+/, 'value_sha256: the excepted value is not the one requested') });
  }
  return rows.length;
}

interface ResponseState {
  action: string | null;
  since: number | null;
}

function responseStep(_state: ResponseState | undefined, e: TrailEntry): ResponseState | undefined {
  return e.kind === 'watch.response_applied' ? { action: e.reason, since: e.ts.getTime() } : undefined;
}

export async function reconcileResponses(db: Kysely<Database>, add: Add): Promise<number> {
  const expected = replayAll(await entriesOf(db, ['watch.response_applied', 'watch.response_cleared']), (e) => e.account, responseStep);
  const rows = await db.selectFrom('account_responses').select(['account', 'action', 'since']).orderBy('account').execute();
  for (const r of rows) {
    const want = expected.get(r.account);
    if (!want) {
      add({ table: 'account_responses', key: r.account, problem: `no watch.response_applied entry left a ${r.action} in force` });
      continue;
    }
    const problem = differences<ResponseState>(want, { action: r.action, since: ms(r.since) }, ['action', 'since']);
    if (problem) add({ table: 'account_responses', key: r.account, problem });
  }
  const present = new Set(rows.map((r) => r.account));
  for (const [account, want] of expected) {
    if (want && !present.has(account)) add({ table: 'account_responses', key: account, problem: `the trail's ${want.action} is in force (never cleared) but its row is gone: lifted around Warden` });
  }
  return rows.length;
}

interface SettingsState {
  updated_by: string | null;
  updated_at: number | null;
  settings_sha256: string | null;
}

function settingsStep(_state: SettingsState | undefined, e: TrailEntry): SettingsState {
  // Before settings took two analysts the entry's actor saved them himself.
  return { updated_by: str(e.detail.requested_by) ?? str(e.detail.actor), updated_at: e.ts.getTime(), settings_sha256: str(e.detail.settings_sha256) };
}

/**
 * Each approval approved what was asked (attack review 9: the request's row was rewritten between
 * the second analyst's read and approval): a `detect.settings_changed` naming its requester carries
 * the digest of the last `detect.settings_requested` of that detector by that requester. Requests
 * recorded before they carried a digest are left unchecked.
 */
function checkApprovals(entries: readonly TrailEntry[], add: Add): void {
  const asked = new Map<string, TrailEntry>();
  for (const e of entries) {
    const detector = str(e.detail.detector);
    if (!detector) continue;
    if (e.kind === 'detect.settings_requested') {
      asked.set(detector, e);
      continue;
    }
    const requester = str(e.detail.requested_by);
    const approved = str(e.detail.settings_sha256);
    if (!requester || !approved) continue;
    const request = asked.get(detector);
    asked.delete(detector);
    if (request && str(request.detail.settings_sha256) === null) continue;
    if (!request || str(request.detail.actor) !== requester) {
      add({ table: 'detector_settings', key: `${detector} (seq ${e.seq})`, problem: `approved a change by ${requester} that no detect.settings_requested entry recorded` });
    } else if (str(request.detail.settings_sha256) !== approved) {
      add({ table: 'detector_settings', key: `${detector} (seq ${e.seq})`, problem: `the approved settings are not the ones requested (request seq ${request.seq}): the request was changed around Warden before its approval` });
    }
  }
}

export async function reconcileDetectorSettings(db: Kysely<Database>, add: Add): Promise<number> {
  const entries = await entriesOf(db, ['detect.settings_requested', 'detect.settings_changed']);
  checkApprovals(entries, add);
  const expected = replayAll(entries.filter((e) => e.kind === 'detect.settings_changed'), (e) => str(e.detail.detector), settingsStep);
  const rows = await db.selectFrom('detector_settings').select(['detector', 'settings', 'updated_by', 'updated_at']).orderBy('detector').execute();
  for (const r of rows) {
    const want = expected.get(r.detector);
    if (!want) {
      add({ table: 'detector_settings', key: r.detector, problem: 'no detect.settings_changed entry approved these settings' });
      continue;
    }
    const settings = typeof r.settings === 'string' ? JSON.parse(r.settings) : r.settings;
    const row: SettingsState = { updated_by: r.updated_by, updated_at: ms(r.updated_at), settings_sha256: want.settings_sha256 === null ? null : canonicalDigest(settings) };
    const problem = differences(want, row, ['updated_by', 'updated_at', 'settings_sha256']);
    if (problem) add({ table: 'detector_settings', key: r.detector, problem: problem.replace(/settings_sha256: trail \w+, row \w+/, 'settings_sha256: the settings are not the ones approved') });
  }
  const present = new Set(rows.map((r) => r.detector));
  for (const detector of expected.keys()) if (!present.has(detector)) add({ table: 'detector_settings', key: detector, problem: 'approved settings are in the trail but their row is gone: the detector runs on its defaults' });
  return rows.length;
}
