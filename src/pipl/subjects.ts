/**
 * Data-subject requests (PIPL Art. 44–47): a person, identified by phone or ID number after the
 * company's own identity check, asks what Warden holds about them (access), to correct it, or
 * to delete it. Requests are tracked with their state and a deadline of 15 working days.
 *
 * Invariants:
 * - The person is named by blind index only: no request row, audit entry, log or error carries
 *   the phone or ID number.
 * - Every request takes two people: one files it, a different one (not linked to the filer by
 *   account creation, access/self.ts) approves it. An access request's report is released only
 *   then (attack review: a filed access request was an unlimited one-analyst phone lookup); a
 *   deletion's approval crypto-shreds the person's data keys and clears the notes of their refused
 *   requests in the transaction that records the audit entry (fail closed).
 * - Filing counts against the filer's search quota (the same ledger as `/search`, shared across
 *   processes on PostgreSQL): a request answers "is this a customer?" like a search does.
 * - The approver sees what will be changed (src/pipl/review.ts: the person masked, the new value
 *   of a correction) and names the version it saw; a request changed since is refused (409).
 * - A person is the phone-number subject of the vault (src/vault/vault.ts: one data key per
 *   phone number). An ID number finds the phone subjects it was registered with.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Database, PiplRequestsTable } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { AuditEntryInput } from '../audit/kinds.js';
import type { Clock } from '../ops/clock.js';
import type { Keyring } from '../vault/keyring.js';
import { blindIndex, decryptField, encryptField } from '../vault/crypto.js';
import { normalizePhone, validateIdNumber } from '../vault/validate.js';
import { CORRECTABLE_FIELDS, correctSubjectField, shredSubjects, type CorrectableField } from '../vault/vault.js';
import { erasureMarkDigest, rowKey } from '../vault/erased.js';
import { toBuffer } from '../store/db.js';
import { AppError, isAppError } from '../errors.js';
import { refuseSameHand, sameHand } from '../access/self.js';
import { trailRequester } from '../audit/requested-by.js';
import type { QuotaCounter } from '../access/quota.js';
import { reviewOf } from './review.js';
import { actorAccount, actorName, type Actor, type RequestContext } from '../identity/types.js';
import { CHINA_CALENDAR, REQUEST_WORKING_DAYS, addWorkingDays, type WorkCalendar } from './working-days.js';

export type RequestKind = 'access' | 'correction' | 'deletion';

export interface RequestInput {
  kind: RequestKind;
  phone?: string | undefined;
  id_number?: string | undefined;
  /** The company checked the person's identity (Art. 50 lets a handler verify first). */
  identity_verified: boolean;
  correction?: { field: string; value: string } | undefined;
}

export interface SubjectsDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  keyring: Keyring;
  /** Working days for deadlines (default: the State Council's calendar built in). */
  calendar?: WorkCalendar | undefined;
  /**
   * The search quota ledger (policy `search_quotas`, access.ts): every request an account files
   * counts one. Null only where no account can act (the CLI's operators are `os:*` names); an
   * account filing without it is refused (fail closed).
   */
  quota: QuotaCounter | null;
}

type RequestRow = Selectable<PiplRequestsTable>;
/** A correction waiting for approval: the new value sealed under the person's data key. */
interface SealedCorrection { field: CorrectableField; subject: string; sealed: string }
const correctionAad = (request: string, field: string) => `pipl-correction:${request}:${field}`;
const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());
const parse = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

export function createSubjects(deps: SubjectsDeps) {
  const { db, audit, clock, keyring } = deps;
  const calendar = deps.calendar ?? CHINA_CALENDAR;

  /** The blind index naming the person; validation errors name the field, never the value. */
  function identify(input: Pick<RequestInput, 'phone' | 'id_number'>): { lookup: 'phone' | 'id_number'; bidx: Buffer } {
    if ((input.phone === undefined) === (input.id_number === undefined)) {
      throw new AppError('validation_failed', 'name the person by exactly one of phone or id_number', { fields: [{ field: 'phone', code: 'required', message: 'phone or id_number' }] });
    }
    if (input.phone !== undefined) {
      const r = normalizePhone(input.phone);
      if (!r.ok) throw new AppError('validation_failed', `phone ${r.error.message}`, { fields: [{ field: 'phone', code: r.error.code, message: r.error.message }] });
      return { lookup: 'phone', bidx: blindIndex(keyring.blindIndexKey, 'phone', r.value.value) };
    }
    const r = validateIdNumber(input.id_number, { allow15: true, now: new Date(clock.now()) });
    if (!r.ok) throw new AppError('validation_failed', `id_number ${r.error.message}`, { fields: [{ field: 'id_number', code: r.error.code, message: r.error.message }] });
    return { lookup: 'id_number', bidx: blindIndex(keyring.blindIndexKey, 'id_number', r.value.value) };
  }

  /**
   * The vault subjects (phone blind indexes) behind a lookup. Erased rows are behind none: erasure
   * nulls their indexes and gives them a random subject id (shredSubjects, attack review 7).
   */
  async function subjectIds(dbh: Kysely<Database>, lookup: 'phone' | 'id_number', bidx: Buffer): Promise<Buffer[]> {
    if (lookup === 'phone') return [bidx];
    const live = await dbh.selectFrom('waybill_parties').select('subject_id').distinct().where('id_bidx', '=', bidx).execute();
    const ids = live.map((r) => toBuffer(r.subject_id));
    return ids;
  }

  /** Whether any live (not erased) row belongs to these subjects: a parcel that came after an erasure. */
  async function holdsLive(dbh: Kysely<Database>, subjects: Buffer[]): Promise<boolean> {
    if (!subjects.length) return false;
    return Boolean(await dbh.selectFrom('waybill_parties').select('waybill').where('subject_id', 'in', subjects).where('erased_at', 'is', null).limit(1).executeTakeFirst());
  }

  async function isErased(dbh: Kysely<Database>, bidx: Buffer): Promise<boolean> {
    return Boolean(await dbh.selectFrom('pipl_erasures').select('erased_at').where('subject_id', '=', bidx).executeTakeFirst());
  }

  function checkCorrection(c: RequestInput['correction']): { field: CorrectableField; value: string } {
    if (!c || !(CORRECTABLE_FIELDS as readonly string[]).includes(c.field)) {
      throw new AppError('validation_failed', `a correction names a field among ${CORRECTABLE_FIELDS.join(', ')} (the phone number is the person's identity: delete and register again)`, { fields: [{ field: 'correction.field', code: 'invalid', message: 'not correctable' }] });
    }
    const value = c.value.normalize('NFKC').trim();
    const [min, max] = c.field === 'name' ? [1, 64] : [4, 200];
    if (value.length < min || value.length > max) {
      throw new AppError('validation_failed', `correction.value must be ${min} to ${max} characters`, { fields: [{ field: 'correction.value', code: 'length', message: `${min}-${max} characters` }] });
    }
    return { field: c.field as CorrectableField, value };
  }

  async function file(input: RequestInput, actor: Actor, ctx: RequestContext) {
    if (input.identity_verified !== true) {
      throw new AppError('validation_failed', "file a request only after checking the person's identity (identity_verified: true)", { fields: [{ field: 'identity_verified', code: 'required', message: 'must be true' }] });
    }
    const { lookup, bidx } = identify(input);
    const correction = input.kind === 'correction' ? checkCorrection(input.correction) : null;
    const id = `dsr-${randomUUID()}`;
    const ts = new Date(clock.now());
    const by = actorName(actor);
    // Erased and nothing new since: nothing to correct or delete. A parcel received after the
    // erasure is new data of the person, and may be corrected or deleted again.
    const erased = await isErased(db, bidx);
    if (erased && input.kind !== 'access' && !(await holdsLive(db, await subjectIds(db, lookup, bidx)))) throw new AppError('subject_erased', 'this person was already erased; nothing is left to correct or delete');
    // The role rides on the entry so a restarted in-memory ledger counts the request again (warden.ts).
    const entry: AuditEntryInput = { kind: 'pipl.request_filed', ts, decision: 'ok', account: actorAccount(actor), role: actor.kind === 'account' ? actor.role : null, ip: ctx.ip, requestId: ctx.requestId, detail: { request: id, request_kind: input.kind, lookup, actor: by } };
    const release = await charge(actor, entry);
    try {
      // Every kind waits for a second person: access (the report is a lookup of the person), correction, deletion.
      await audit.append([entry], async (tx) => {
        const pending = correction ? await sealCorrection(tx, id, await subjectIds(tx, lookup, bidx), correction) : null;
        await tx.insertInto('pipl_requests').values({
          id, kind: input.kind, lookup, lookup_bidx: bidx, state: 'pending_approval', received_at: ts, due_at: addWorkingDays(ts, REQUEST_WORKING_DAYS, calendar), requested_by: by, approved_by: null,
          completed_at: null, correction: pending ? JSON.stringify(pending) : null, result: null,
        }).execute();
      });
    } catch (err) {
      // "No record of this person" answered a lookup: it stays counted and goes on the trail (review 5:
      // corrections by ID number were a quota-free, trail-free membership test).
      if (err instanceof AppError && err.code === 'not_found') {
        await audit.append([{ ...entry, decision: 'denied', reason: 'not_found' }]);
      } else release();
      throw err;
    }
    return (await get(id))!;
  }

  /** Counts the request against an account's search quota, or refuses it (audited, 429 naming the limit). */
  async function charge(actor: Actor, entry: AuditEntryInput): Promise<() => void> {
    if (actor.kind !== 'account') return () => {};
    if (!deps.quota) throw new AppError('internal', 'no request quota is configured here; file the request through the API');
    const q = await deps.quota.tryConsume({ role: actor.role, account: actor.id, device: null, site: null }, 1, entry.ts.getTime());
    if (q.ok) return () => q.release();
    const limit = `${q.limit} ${q.window.replace('_', ' ')}`;
    const err = new AppError('rate_limited', `request quota exceeded: ${limit} for this ${q.scope} (data-subject requests count against the search quota)`, { retryAfterSeconds: q.retryAfterSeconds, limit: q.limit, window: q.window, scope: q.scope });
    await audit.append([{ ...entry, decision: 'denied', reason: err.code, detail: { ...entry.detail, limit: q.limit, window: q.window } }]);
    throw err;
  }

  /**
   * The corrected value waits for approval sealed under the person's own data key (bound to the
   * request): the request row holds no plaintext, and erasing the person makes it unreadable too.
   */
  async function sealCorrection(tx: Kysely<Database>, id: string, subjects: Buffer[], c: { field: CorrectableField; value: string }): Promise<SealedCorrection> {
    const subject = subjects[0];
    if (!subject) throw new AppError('not_found', 'no record of this person to correct');
    const dek = await keyring.dataKeyForWrite(tx, subject);
    return { field: c.field, subject: subject.toString('hex'), sealed: encryptField(dek, c.value, correctionAad(id, c.field)).toString('base64') };
  }

  async function openCorrection(tx: Kysely<Database>, id: string, raw: unknown): Promise<{ field: CorrectableField; value: string }> {
    const c = parse<SealedCorrection>(raw);
    const dek = await keyring.dataKeyForRead(tx, Buffer.from(c.subject, 'hex'));
    if (!dek) throw new AppError('subject_erased', 'this person was erased since the correction was filed; nothing is left to correct');
    return { field: c.field, value: decryptField(dek, Buffer.from(c.sealed, 'base64'), correctionAad(id, c.field)) };
  }

  /**
   * A request, approved by someone other than who filed it (nor linked by account creation), who
   * names the version of the request they reviewed (`view`): an access report is released, a
   * correction applied, a deletion carried out. A request or records changed since → 409 (audited).
   */
  async function approve(id: string, reviewed: string | undefined, actor: Actor, ctx: RequestContext) {
    const row = await db.selectFrom('pipl_requests').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('not_found', `request ${id} does not exist`);
    const ts = new Date(clock.now());
    const by = actorName(actor);
    const detail = { request: id, actor: by };
    // Who filed it is who the trail says (attack review 10: `requested_by` rewritten to another analyst).
    const filedBy = await trailRequester(db, audit, { of: 'pipl_request', id, row: row.requested_by }, { kind: 'pipl.request_approved', ts, account: actorAccount(actor), detail }, actor, ctx);
    await refuseSameHand(db, audit, { kind: 'pipl.request_approved', ts, account: actorAccount(actor), detail }, actor, ctx, `approve a ${row.kind} you filed`, [filedBy]);
    if (row.state !== 'pending_approval') throw new AppError('conflict', `request ${id} is a ${row.kind} request in state ${row.state}; only a pending request is approved`);
    const who = { ts, account: actorAccount(actor), ip: ctx.ip, requestId: ctx.requestId };
    const refuse = async (err: AppError): Promise<never> => {
      await audit.append([{ kind: 'pipl.request_approved', ...who, decision: 'denied', reason: err.code, detail: { ...detail, filed_by: row.requested_by, ...(err.code === 'conflict' ? { stale: true } : {}) } }]);
      throw err;
    };
    if (!reviewed) await refuse(new AppError('validation_failed', 'name the version you reviewed (reviewed: the review.version of GET /api/v1/subjects/requests/{id})', { fields: [{ field: 'reviewed', code: 'required', message: 'the reviewed version' }] }));
    const version = (await reviewOf(db, row, await subjectIds(db, row.lookup, toBuffer(row.lookup_bidx)))).version;
    const stale = () => new AppError('conflict', `request ${id} or the records it names changed since you reviewed it; review it again`);
    if (version !== reviewed) await refuse(stale());
    const approved = { kind: 'pipl.request_approved' as const, ...who, decision: 'ok' as const, detail: { ...detail, filed_by: row.requested_by, version } };
    // Inside the transaction the version is read again: what changed between the check and the write is refused too.
    const unchanged = async (tx: Kysely<Database>) => {
      if ((await reviewOf(tx, row, await subjectIds(tx, row.lookup, toBuffer(row.lookup_bidx)))).version !== version) throw stale();
    };
    try {
      if (row.kind === 'access') await grantAccess(row, approved, by, unchanged);
      else if (row.kind === 'correction') await applyCorrection(row, approved, by, unchanged);
      else await erase(row, approved, by, unchanged);
    } catch (err) {
      if (isAppError(err) && err.code === 'conflict') await refuse(err);
      throw err;
    }
    return (await get(id))!;
  }

  type Unchanged = (tx: Kysely<Database>) => Promise<void>;

  /** Moves a pending request to completed by the approver, or says it was decided meanwhile. */
  async function complete(tx: Kysely<Database>, id: string, by: string, at: Date): Promise<void> {
    const moved = await tx.updateTable('pipl_requests').set({ state: 'completed', approved_by: by, completed_at: at }).where('id', '=', id).where('state', '=', 'pending_approval').returning('id').executeTakeFirst();
    if (!moved) throw new AppError('conflict', `request ${id} is no longer pending`);
  }

  /** An approved access request: its report may now be read (access-report.ts). */
  async function grantAccess(row: RequestRow, approved: AuditEntryInput, by: string, unchanged: Unchanged): Promise<void> {
    await audit.append([approved], async (tx) => {
      await complete(tx, row.id, by, approved.ts);
      await unchanged(tx);
      await tx.updateTable('pipl_requests').set({ result: JSON.stringify({ erased: await isErased(tx, toBuffer(row.lookup_bidx)) }) }).where('id', '=', row.id).execute();
    });
  }

  async function applyCorrection(row: RequestRow, approved: AuditEntryInput, by: string, unchanged: Unchanged): Promise<void> {
    const field = parse<SealedCorrection>(row.correction).field;
    await audit.append([approved, { ...approved, kind: 'pipl.subject_corrected', detail: { request: row.id, field, actor: by, filed_by: row.requested_by } }], async (tx) => {
      await complete(tx, row.id, by, approved.ts);
      await unchanged(tx);
      const c = await openCorrection(tx, row.id, row.correction);
      const corrected = await correctSubjectField(tx, keyring, await subjectIds(tx, row.lookup, toBuffer(row.lookup_bidx)), c.field, c.value);
      // The sealed value has done its work: only the field's name stays on the request.
      await tx.updateTable('pipl_requests').set({ correction: JSON.stringify({ field: c.field }), result: JSON.stringify({ records_corrected: corrected }) }).where('id', '=', row.id).execute();
    });
  }

  /** Crypto-shreds the person of an approved deletion. */
  async function erase(row: RequestRow, approved: AuditEntryInput, by: string, unchanged: Unchanged): Promise<void> {
    const id = row.id;
    const bidx = toBuffer(row.lookup_bidx);
    const subjects = await subjectIds(db, row.lookup, bidx);
    const records = await countRecords(subjects);
    let erasure: Record<string, unknown> = {};
    await audit.append(
      [approved],
      async (tx, more) => {
        await complete(tx, id, by, approved.ts);
        await unchanged(tx);
        const idIndexes = subjects.length
          ? (await tx.selectFrom('waybill_parties').select('id_bidx').distinct().where('subject_id', 'in', subjects).where('id_bidx', 'is not', null).execute()).map((r) => toBuffer(r.id_bidx!))
          : [];
        const keys = await keyring.erasedKeyTags(tx, subjects);
        const shredded = await shredSubjects(tx, subjects, approved.ts);
        const marks = [...new Map([bidx, ...subjects, ...idIndexes].map((b) => [b.toString('hex'), b])).values()];
        await tx.insertInto('pipl_erasures').values(marks.map((subject_id) => ({ subject_id, erased_at: approved.ts, request_id: id }))).onConflict((oc) => oc.column('subject_id').doNothing()).execute();
        const notes = await clearRefusalNotes(tx, marks);
        await tx.updateTable('pipl_requests').set({ result: JSON.stringify({ subjects: subjects.length, records: shredded.length, notes_cleared: notes }) }).where('id', '=', id).execute();
        // What was erased, for the tombstones and the reconcile (attack review 11: rows restored from a dump).
        erasure = erasureRecord(shredded, keys, marks);
        more([{ ...approved, kind: 'pipl.subject_erased', detail: { request: id, actor: by, subjects: subjects.length, records, ...erasure } }]);
      },
    );
    keyring.erased.add(erasure);
    for (const s of subjects) keyring.forget(s);
  }

  /**
   * What a `pipl.subject_erased` entry records of an erasure (attack review 11): the party rows
   * (waybill|party), keyed tags of the shredded data keys (src/vault/erased.ts) and a digest of
   * each erasure mark (pipl_erasures: the reconcile finds a deleted one) — never the person's
   * blind indexes themselves.
   */
  function erasureRecord(rows: ReadonlyArray<{ waybill: string; party: string }>, keys: string[], marks: Buffer[]) {
    return { erased_rows: rows.map((r) => rowKey(r.waybill, r.party)), erased_keys: keys, erased_marks: marks.map(erasureMarkDigest) };
  }

  /**
   * Erasure reaches the free-text notes of the person's refused requests too (a note may quote
   * them), by any of their blind indexes (phone or ID number): the reason code stays.
   */
  async function clearRefusalNotes(tx: Kysely<Database>, marks: Buffer[]): Promise<number> {
    const refused = await tx.selectFrom('pipl_requests').select(['id', 'result']).where('lookup_bidx', 'in', marks).where('state', '=', 'rejected').execute();
    const noted = refused.filter((r) => parse<{ note?: string | null } | null>(r.result)?.note != null);
    for (const r of noted) {
      await tx.updateTable('pipl_requests').set({ result: JSON.stringify({ ...parse<Record<string, unknown>>(r.result), note: null, note_erased: true }) }).where('id', '=', r.id).execute();
    }
    return noted.length;
  }

  /**
   * Refuses a pending request (the person's identity did not hold, a legal hold, a duplicate…):
   * like approval it is someone other than who filed it. The reason's code is audited; the
   * free-text note stays on the request (it may quote the person) and never enters the trail.
   */
  async function reject(id: string, input: { reason: RejectReason; note?: string | undefined }, actor: Actor, ctx: RequestContext) {
    const row = await db.selectFrom('pipl_requests').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('not_found', `request ${id} does not exist`);
    const ts = new Date(clock.now());
    const by = actorName(actor);
    const detail = { request: id, actor: by, reason: input.reason };
    const filedBy = await trailRequester(db, audit, { of: 'pipl_request', id, row: row.requested_by }, { kind: 'pipl.request_rejected', ts, account: actorAccount(actor), detail }, actor, ctx);
    await refuseSameHand(db, audit, { kind: 'pipl.request_rejected', ts, account: actorAccount(actor), detail }, actor, ctx, 'reject a request you filed', [filedBy]);
    if (row.state !== 'pending_approval') throw new AppError('conflict', `request ${id} is a ${row.kind} request in state ${row.state}; only a pending request is rejected`);
    await audit.append(
      [{ kind: 'pipl.request_rejected', ts, decision: 'ok', account: actorAccount(actor), ip: ctx.ip, requestId: ctx.requestId, detail: { ...detail, filed_by: row.requested_by } }],
      async (tx) => {
        const moved = await tx.updateTable('pipl_requests')
          .set({ state: 'rejected', approved_by: by, completed_at: ts, result: JSON.stringify({ rejected: input.reason, note: input.note ?? null }), ...(row.correction ? { correction: JSON.stringify({ field: parse<SealedCorrection>(row.correction).field }) } : {}) })
          .where('id', '=', id).where('state', '=', 'pending_approval').returning('id').executeTakeFirst();
        if (!moved) throw new AppError('conflict', `request ${id} is no longer pending`);
      },
    );
    return (await get(id))!;
  }

  async function countRecords(subjects: Buffer[]): Promise<number> {
    if (!subjects.length) return 0;
    const r = await db.selectFrom('waybill_parties').select((eb) => eb.fn.countAll<number>().as('n')).where('subject_id', 'in', subjects).where('erased_at', 'is', null).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  function present(row: RequestRow) {
    return {
      id: row.id,
      kind: row.kind,
      lookup: row.lookup,
      state: row.state,
      received_at: iso(row.received_at)!,
      due_at: iso(row.due_at)!,
      overdue: row.state === 'pending_approval' && new Date(row.due_at).getTime() < clock.now(),
      requested_by: row.requested_by,
      approved_by: row.approved_by,
      completed_at: iso(row.completed_at),
      correction: row.correction ? { field: parse<{ field: string }>(row.correction).field } : null,
      result: row.result ? parse<Record<string, unknown>>(row.result) : null,
    };
  }

  async function get(id: string) {
    const row = await db.selectFrom('pipl_requests').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? present(row) : null;
  }

  /**
   * One request as the caller may see it. To an analyst who could approve it (not the filer, not
   * linked by account creation) a pending request comes with the review: the person masked, how
   * many records, a correction's new value in full (needed to judge it) and the version an
   * approval names. That view is audited (`pipl.request_viewed`: request, counts, version — no PII)
   * before it is returned.
   */
  async function view(id: string, actor: Actor, ctx: RequestContext) {
    const row = await db.selectFrom('pipl_requests').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('not_found', `request ${id} does not exist`);
    const plain = present(row);
    if (row.state !== 'pending_approval') return plain;
    // The review goes to who could approve: held against the trail's filer, as the approval is (409 when the row disagrees).
    const filedBy = await trailRequester(db, audit, { of: 'pipl_request', id, row: row.requested_by }, { kind: 'pipl.request_viewed', ts: new Date(clock.now()), account: actorAccount(actor), detail: { request: id } }, actor, ctx);
    if ((await sameHand(db, actor, [filedBy])) !== null) return plain;
    const { summary, version } = await reviewOf(db, row, await subjectIds(db, row.lookup, toBuffer(row.lookup_bidx)));
    let correction: { field: string; value: string | null } | null = null;
    if (row.kind === 'correction') {
      try {
        correction = await openCorrection(db, row.id, row.correction);
      } catch (err) {
        if (!isAppError(err) || err.code !== 'subject_erased') throw err;
        correction = { field: parse<SealedCorrection>(row.correction).field, value: null };
      }
    }
    await audit.append([{ kind: 'pipl.request_viewed', ts: new Date(clock.now()), decision: 'ok', account: actorAccount(actor), ip: ctx.ip, requestId: ctx.requestId, detail: { request: id, request_kind: row.kind, actor: actorName(actor), records: summary.records, version } }]);
    return { ...plain, review: { version, subject: { lookup: row.lookup, ...summary }, correction } };
  }

  async function list(q: { state?: RequestRow['state'] | undefined; limit?: number | undefined }) {
    let query = db.selectFrom('pipl_requests').selectAll();
    if (q.state) query = query.where('state', '=', q.state);
    return (await query.orderBy('received_at', 'desc').orderBy('id').limit(q.limit ?? 100).execute()).map(present);
  }

  /** The request's row and the subjects it names (for the access report). */
  async function subjectsOfRequest(id: string) {
    const row = await db.selectFrom('pipl_requests').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('not_found', `request ${id} does not exist`);
    const bidx = toBuffer(row.lookup_bidx);
    return { request: present(row), subjects: await subjectIds(db, row.lookup, bidx), erased: await isErased(db, bidx) };
  }

  return { identify, file, approve, reject, get, view, list, subjectsOfRequest };
}
export type Subjects = ReturnType<typeof createSubjects>;

/** Why a deletion was refused (PIPL Art. 47 lets a handler keep data it must keep by law). */
export const REJECT_REASONS = ['identity_not_verified', 'legal_retention', 'duplicate', 'withdrawn_by_subject', 'other'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

