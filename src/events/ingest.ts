/**
 * Ingest of contract events from other producers (dispatch, ticketing, scanners, a legacy query
 * system): NDJSON on POST /api/v1/events, and one event per upstream route (waybills,
 * assignments, tickets, scans).
 *
 * Invariants:
 * - A refused line is reported with its line number, a code and a reason, and never stops the
 *   rest; accepted lines are kept. Only the first MAX_REPORTED_REJECTIONS are listed, with the
 *   total, so junk cannot blow up the answer; lines are read as they arrive, never as one string.
 * - Who may send what is ./producer.ts; here the store decides the rest: login/logout/access
 *   about a Warden account is refused; for a producer registered for some sites, the sites of a
 *   work event's parcel (assignment, ticket, delivered / picked-up scan) are the vault's (origin,
 *   destination) and an assignee's is its Warden site.
 * - Accepted events are stored with their producer, their work context applied, and every
 *   assignment and ticket audited (`work.assigned`, `work.ticket`), and every assignment a scan
 *   completed (`work.completed`, one per account, found inside the transaction), in the same
 *   transaction (one audit append per slice of WORK_SLICE work events, never one per event); only then does the
 *   answer say "accepted" and are they published. The contract assign/ticket events are the bus events for
 *   that work, so the audit kinds are not published.
 * - Only the contract's fields (and Warden's documented extensions) are stored and published:
 *   anything else a line carries is dropped before it is checked, stored or put on the bus (it
 *   could be plaintext PII, which belongs in the vault only), counted per line in the answer; a
 *   line is never refused for it (docs/contract-extensions.md 1.2).
 * - Idempotent by id: a line whose id is already stored, or was seen earlier in the body, is
 *   counted as a duplicate (its line listed) and neither applied, audited nor published again when
 *   it is the same event; a different event under that id is refused `id_conflict` (attack
 *   review 9: the second was lost without a word).
 * - Gateway rules before the producer's (attack review 9): `id`, `account`, `site`, `device` and
 *   `session` are identifiers (../contracts/identifiers.ts: no free text, phone or ID number: they
 *   land in the audit trail, alerts and logs), refused `bad_identifier`; an event time before
 *   OLDEST_EVENT_TS is refused `too_old` in every mode; a live assignment or ticket names an account
 *   Warden holds, whoever sends it (`unknown_account`; a site-limited token's answer stays
 *   `site_not_registered`). History (backfill) grants no work, so it may name accounts Warden no
 *   longer or never held (departed staff), held to the identifier rule like every account.
 * - Backfill (history import) keeps each event's own time, marks it `backfill`, grants no work
 *   context (history does not open access today), takes history only (a line inside the live
 *   window is refused `too_recent`; detection likewise never explains a live access by backfilled
 *   work, src/detect/work-links.ts) and audits the request with its actor, counts, time span and
 *   the distinct accounts and waybills it names (ids only: the first BACKFILL_LISTED_IDS of each
 *   in sort order, the total and a SHA-256 of the whole sorted list) — attack review 6.
 * - The single-waybill route (`admitRecord`, attack review 11) answers another site's parcel, a
 *   canary and an unknown number alike, and audits and alerts its conflicts as the NDJSON path does.
 */
import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { contractFieldsOnly, eventTime, validateEvent, type ActivityEvent } from '../contracts/events.js';
import { eventFieldIdentifierProblem, identifierRule } from '../contracts/identifiers.js';
import type { Database } from '../store/schema.js';
import type { WorkContext } from '../access/work-context.js';
import type { AuditWriter } from '../audit/writer.js';
import type { AuditEntryInput } from '../audit/kinds.js';
import type { RequestContext } from '../identity/identity.js';
import { AppError } from '../errors.js';
import type { EventBus } from './bus.js';
import { forEachNdjsonLine } from './ndjson.js';
import { backfillEntry, completedEntries, conflictAlert, conflictEntry, ticketEntry, workEntries, type TicketLine, type WaybillConflicts } from './ingest-entries.js';

export { BACKFILL_LISTED_IDS, type WaybillConflicts } from './ingest-entries.js';
import type { RoutingSeal } from '../vault/routing-seal.js';
import type { AlertOut } from '../detect/engine.js';
import {
  checkEvent,
  checkWorkSite,
  completesWork,
  gatewayAccountRefusal,
  isStaffActivity,
  isWork,
  checkWaybillAgrees,
  judgeWaybill,
  workWaybill,
  type IngestMode,
  type ParcelSites,
  type Producer,
  type RejectCode,
  type TimeWindow,
} from './producer.js';

export const MAX_REPORTED_REJECTIONS = 100;
/** Contract events are small; a search or export naming thousands of waybills still fits. */
export const MAX_LINE_BYTES = 256 * 1024;

/**
 * The producer's codes (./producer.ts) and the ingest's own: `unknown_account` (an assignment or
 * ticket for an account Warden does not hold) and `id_conflict` (an id already given to another
 * event, in this body or stored).
 */
export type IngestRejectCode = RejectCode | 'unknown_account' | 'id_conflict';

interface IngestRefusal {
  code: IngestRejectCode;
  reason: string;
}

export interface Rejection {
  line: number;
  code: IngestRejectCode;
  reason: string;
}

/**
 * Event times before this are refused `too_old` in every mode: no activity of Warden's world is
 * that old, and PostgreSQL has no year 0 (attack review 9: one `0000-01-01` backfill line failed
 * the whole body with a 500, every valid line lost).
 */
export const OLDEST_EVENT_TS = Date.parse('2000-01-01T00:00:00.000Z');

export interface DroppedFields {
  line: number;
  /** How many fields outside the contract the line carried (not stored, not published). */
  count: number;
}

export interface IngestResult {
  accepted: number;
  /** The first MAX_REPORTED_REJECTIONS refused lines, by line number. */
  rejected: Rejection[];
  rejected_count: number;
  /** Accepted lines whose id was already stored, or seen earlier in the body, with the same event (not applied or published again). */
  duplicates: number;
  /** The first MAX_REPORTED_REJECTIONS of those lines, by line number. */
  duplicate_lines: number[];
  mode: IngestMode;
  /** The first MAX_REPORTED_REJECTIONS accepted lines that had fields dropped, by line number. */
  dropped_fields: DroppedFields[];
  /** Every accepted line that had fields dropped. */
  dropped_fields_lines: number;
}

export interface IngestDeps {
  db: Kysely<Database>;
  work: WorkContext;
  bus: EventBus;
  audit: Pick<AuditWriter, 'append'>;
  clock: { now(): number };
  window: TimeWindow;
  /**
   * Checks the parcels' routing seals (attack review 9): a parcel whose routing was changed
   * outside Warden is held as unknown, so a producer scoped by sites cannot give work on it.
   */
  seal?: Pick<RoutingSeal, 'check'> | undefined;
  /** Which of these numbers are live canaries (src/trace/canaries.ts keeps them as blind indexes); absent, none are. */
  canaries?: { among(waybills: readonly string[], opts: { live: boolean }): Promise<Set<string>> } | undefined;
  /** The watch's alert path (alerts raised outside the engine): routing conflicts and canary numbers named by a producer. Absent: audited only. */
  raise?: ((alerts: AlertOut[]) => Promise<void>) | undefined;
  /** Counts routing lines per outcome (metrics): `waybill_conflict` answered, withheld, naming a canary. */
  onWaybillConflicts?: ((counts: WaybillConflicts) => void) | undefined;
}

/** Routing conflicts of one producer in an hour that raise an alert (a scan of numbers for the ones the vault holds). */
export const WAYBILL_CONFLICTS_ALERT = 10;
/** `activity_events.type` of a withheld line: kept under its id (a re-sent line is a duplicate, as for any stored line), never replayed or published. */
export const WITHHELD_EVENT_TYPE = 'waybill_withheld';

interface Candidate {
  event: ActivityEvent;
  line: number;
  /** Fields outside the contract the line carried. */
  dropped: number;
  /** Answered like any accepted line, but neither applied nor published (judgeWaybill). */
  withheld?: boolean;
}

const INSERT_CHUNK = 500;
/** Work events per transaction and audit append (see commit()): bounds how long a reveal can wait. */
export const WORK_SLICE = 250;
const LOOKUP_CHUNK = 1000;

/** The first `cap` rejections by line number, and how many there were; nothing more is held. */
function rejectionLog(cap: number) {
  const list: Rejection[] = [];
  let sorted = true;
  let count = 0;
  const byLine = (a: Rejection, b: Rejection) => a.line - b.line;
  return {
    add(line: number, r: IngestRefusal) {
      count++;
      const last = list[list.length - 1];
      // Lines mostly arrive in order: once full, a later line is dropped at once.
      if (sorted && list.length === cap && last && line > last.line) return;
      if (last && line < last.line) sorted = false;
      list.push({ line, code: r.code, reason: r.reason });
      if (list.length > cap) {
        if (!sorted) list.sort(byLine);
        sorted = true;
        list.pop();
      }
    },
    get count() {
      return count;
    },
    list() {
      if (!sorted) list.sort(byLine);
      sorted = true;
      return list;
    },
  };
}

/** JSON.parse's message quotes the input; the reason keeps only where it broke. */
function jsonRefusal(err: unknown): IngestRefusal {
  const at = /position (\d+)/.exec((err as Error).message ?? '')?.[1];
  return { code: 'invalid_json', reason: at ? `invalid JSON (at character ${at})` : 'invalid JSON' };
}

export function createIngest(deps: IngestDeps) {
  const { db, work, bus, audit, clock, window } = deps;

  /** Reads NDJSON as it arrives, checks every line, and commits the accepted ones in one transaction. */
  async function ingestStream(producer: Producer, source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, opts: { mode: IngestMode; limitBytes: number; ctx: RequestContext }): Promise<IngestResult> {
    const { mode } = opts;
    if (!producer.modes.includes(mode)) {
      throw new AppError('forbidden', mode === 'backfill' ? 'this producer is not registered for backfill' : 'this account may only import history (mode=backfill)');
    }
    const now = clock.now();
    const rejected = rejectionLog(MAX_REPORTED_REJECTIONS);
    const candidates: Candidate[] = [];
    await forEachNdjsonLine(source, { maxBytes: opts.limitBytes, maxLineBytes: MAX_LINE_BYTES }, (text, line) => {
      if (text === null) return rejected.add(line, { code: 'line_too_long', reason: `line is longer than ${MAX_LINE_BYTES} bytes` });
      const trimmed = text.trim();
      if (!trimmed) return;
      let value: unknown;
      try {
        value = JSON.parse(trimmed);
      } catch (err) {
        return rejected.add(line, jsonRefusal(err));
      }
      const parsed = validateEvent(value);
      if (!parsed.ok) return rejected.add(line, { code: parsed.code ?? 'invalid_event', reason: parsed.reason });
      const { event, dropped } = contractFieldsOnly(parsed.event);
      const refusal = gatewayRefusal(event) ?? checkEvent(producer, event, mode, now, window);
      if (refusal) return rejected.add(line, refusal);
      candidates.push({ event, line, dropped });
    });
    const tally: WaybillConflicts = { answered: 0, withheld: 0, canaries: 0 };
    const screened = await screen(producer, candidates, (c, r) => rejected.add(c.line, r), { history: mode === 'backfill', tally });
    const { admitted, fresh, duplicateLines } = await sortOutIds(screened, (c, r) => rejected.add(c.line, r));
    const withheld = new Set(admitted.flatMap((c) => (c.withheld ? [c.event] : [])));
    const conflicts = tally.answered || tally.withheld || tally.canaries ? conflictEntry(producer, tally, new Date(now), opts.ctx) : null;
    await commit(producer, admitted.map((c) => c.event), mode, opts.ctx, { rejected: rejected.count }, { fresh, duplicates: duplicateLines.length }, { withheld, conflicts });
    if (conflicts) await noteConflicts(producer, tally, now);
    return {
      accepted: admitted.length,
      rejected: rejected.list(),
      rejected_count: rejected.count,
      duplicates: duplicateLines.length,
      duplicate_lines: duplicateLines.slice(0, MAX_REPORTED_REJECTIONS),
      mode,
      ...droppedReport(admitted),
    };
  }

  /**
   * Idempotent by id, never lossy (attack review 9: a scan and an assignment sent under one id
   * answered `duplicates: 1`, the assignment silently lost): a line whose id was seen earlier in
   * the body, or is stored, is a duplicate when it is the same event (its fields, provenance
   * aside) and refused `id_conflict` otherwise. Only stored ids' bodies are read back.
   */
  async function sortOutIds(candidates: Candidate[], refuse: (c: Candidate, r: IngestRefusal) => void): Promise<{ admitted: Candidate[]; fresh: ActivityEvent[]; duplicateLines: number[] }> {
    const stored = new Map<string, string>();
    const ids = [...new Set(candidates.map((c) => c.event.id))];
    for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
      const rows = await db.selectFrom('activity_events').select(['id', 'body']).where('id', 'in', ids.slice(i, i + LOOKUP_CHUNK)).execute();
      for (const r of rows) stored.set(r.id, signature(typeof r.body === 'string' ? JSON.parse(r.body) : r.body));
    }
    const firstInBody = new Map<string, Candidate>();
    const admitted: Candidate[] = [];
    const fresh: ActivityEvent[] = [];
    const duplicateLines: number[] = [];
    const conflict = (c: Candidate, where: string) =>
      refuse(c, { code: 'id_conflict', reason: `this id was already given to another event ${where}; an event id names one event (a repeated line must be the same event)` });
    for (const c of candidates) {
      const id = c.event.id;
      const kept = stored.get(id);
      if (kept !== undefined) {
        if (kept !== signature(c.event)) conflict(c, '(stored earlier)');
        else {
          admitted.push(c);
          duplicateLines.push(c.line);
        }
        continue;
      }
      const first = firstInBody.get(id);
      if (first) {
        if (signature(first.event) !== signature(c.event)) conflict(c, `on line ${first.line}`);
        else {
          admitted.push(c);
          duplicateLines.push(c.line);
        }
        continue;
      }
      firstInBody.set(id, c);
      admitted.push(c);
      fresh.push(c.event);
    }
    return { admitted, fresh, duplicateLines };
  }

  /**
   * The checks that need the store; refused candidates go to `refuse`, the rest are returned
   * (withheld routing lines marked, and counted in `tally` with the other routing conflicts).
   */
  async function screen(producer: Producer, candidates: Candidate[], refuse: (c: Candidate, r: IngestRefusal) => void, opts: { record?: boolean; history?: boolean; tally?: WaybillConflicts } = {}): Promise<Candidate[]> {
    const wantSite = producer.registration.sites !== null;
    const needed = new Set<string>();
    const waybills = new Set<string>();
    const sites = new Set<string>();
    for (const { event: e } of candidates) {
      // Every assignee too, whoever sends it: work goes to Warden's accounts only (attack review 9).
      if (isStaffActivity(e) || isWork(e)) needed.add((e as { account: string }).account);
      const waybill = wantSite ? workWaybill(e) : null;
      if (waybill !== null) waybills.add(waybill);
      if (e.type === 'waybill') {
        waybills.add(e.waybill);
        if (e.dest_site !== undefined && e.dest_city !== undefined) sites.add(e.dest_site);
      }
    }
    if (!needed.size && !waybills.size) return candidates;
    const accounts = needed.size ? await accountSites([...needed]) : new Map<string, string | null>();
    const parcels = waybills.size ? await parcelSites([...waybills]) : new Map<string, ParcelSites>();
    const cities = sites.size ? await siteCities([...sites]) : new Map<string, string | null>();
    const tally = opts.tally ?? { answered: 0, withheld: 0, canaries: 0 };
    return candidates.filter((c) => {
      const e = c.event;
      const parcel = () => parcels.get(workWaybill(e) ?? '') ?? null;
      let r: IngestRefusal | null;
      if (e.type === 'waybill') {
        const v = judgeWaybill(producer, e, parcels.get(e.waybill) ?? null, cities, opts);
        r = v.refusal;
        if (v.canary) tally.canaries++;
        if (v.withhold) tally.withheld++;
        else if (v.conflict) tally.answered++;
        if (v.withhold) c.withheld = true;
      } else {
        r = isStaffActivity(e)
          ? accounts.has((e as { account: string }).account) ? gatewayAccountRefusal(e) : null
          : isWork(e) ? checkWorkSite(producer, e, accounts.get(e.account) ?? null, parcel()) ?? (accounts.has(e.account) || opts.history ? null : unknownAccount(e))
          : completesWork(e) ? checkWorkSite(producer, e, null, parcel()) : null;
      }
      if (r) refuse(c, r);
      return r === null;
    });
  }

  /** Warden's sites among `codes`, with their city. */
  async function siteCities(codes: string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (let i = 0; i < codes.length; i += LOOKUP_CHUNK) {
      const rows = await db.selectFrom('sites').select(['code', 'city']).where('code', 'in', codes.slice(i, i + LOOKUP_CHUNK)).execute();
      for (const r of rows) out.set(r.code, r.city);
    }
    return out;
  }

  /** Warden accounts among `ids`, with their site. */
  async function accountSites(ids: string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
      const rows = await db.selectFrom('accounts').select(['id', 'site']).where('id', 'in', ids.slice(i, i + LOOKUP_CHUNK)).execute();
      for (const r of rows) out.set(r.id, r.site);
    }
    return out;
  }

  /** The vault's waybills among `ids`, with their origin and destination sites. */
  async function parcelSites(ids: string[]): Promise<Map<string, ParcelSites>> {
    const out = new Map<string, ParcelSites>();
    for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
      const rows = await db
        .selectFrom('waybills as w')
        .select(['w.waybill', 'w.origin_site', 'w.dest_site', 'w.origin_city', 'w.dest_city', 'w.routing_seal'])
        .where('w.waybill', 'in', ids.slice(i, i + LOOKUP_CHUNK))
        .execute();
      const canaries = rows.length && deps.canaries ? await deps.canaries.among(rows.map((r) => r.waybill), { live: true }) : new Set<string>();
      for (const r of rows) {
        // Routing changed outside Warden: no answer is read from it (the same as a waybill the vault does not hold).
        if (deps.seal && !deps.seal.check(r, r.routing_seal)) continue;
        out.set(r.waybill, { origin_site: r.origin_site, dest_site: r.dest_site, dest_city: r.dest_city, canary: canaries.has(r.waybill) });
      }
    }
    return out;
  }

  /** One event from an upstream route, checked like a line; refused → 403 producer_not_registered (bad identifiers 400). */
  async function admit(producer: Producer, event: ActivityEvent): Promise<void> {
    const line = await preCheck(producer, event);
    let refusal: IngestRefusal | null = null;
    await screen(producer, [line], (_c, r) => (refusal = r));
    // A route's work or routing event is applied or refused, never withheld (a vault record agrees with itself; fail closed).
    if (!refusal && line.withheld) refusal = { code: 'waybill_conflict', reason: 'this waybill event names another origin, destination or destination city than the parcel Warden holds' };
    if (refusal) throw new AppError('producer_not_registered', (refusal as IngestRefusal).reason);
  }

  /** The rules that need only the event, the producer and the clock (checkEvent, gatewayRefusal). */
  async function preCheck(producer: Producer, event: ActivityEvent): Promise<Candidate> {
    const refusal = gatewayRefusal(event) ?? checkEvent(producer, event, 'live', clock.now(), window);
    if (refusal?.code === 'bad_identifier') throw new AppError('bad_identifier', refusal.reason);
    if (refusal) throw new AppError('producer_not_registered', refusal.reason);
    return { event, line: 1, dropped: 0 };
  }

  /**
   * A vault record about to be stored (POST /api/v1/waybills, its body already valid): `store` when
   * the number is free, a canary's (a real record supersedes it, review 7) or a parcel of this
   * producer's business that it restates alike (the vault answers 409). A parcel of its business
   * restated otherwise is refused 403 `producer_not_registered` and tallied like the NDJSON path's.
   *
   * Attack review 11, F2: another site's parcel restated answered 403 while a canary or an unknown
   * number went on to the vault, so a site-A token learnt which numbers were held (and, with an
   * invalid body, which dump rows were canaries), silently. Such a restatement is now `withheld`:
   * the route answers as it would for an unknown number (201, nothing stored in the vault), and it
   * is kept under its id as a withheld line, audited (`events.waybill_conflicts`) and alerted
   * exactly as the NDJSON path does; it is kept under an id of (producer, number), so the same
   * producer sending it again gets what its stored record would give (409, or 403 restated
   * otherwise). A canary named by a producer for none of its route's sites is counted as named
   * (`ingest_canary_named`), and still superseded.
   */
  async function admitRecord(producer: Producer, event: ActivityEvent, ctx: RequestContext): Promise<'store' | 'withheld'> {
    await preCheck(producer, event);
    if (event.type !== 'waybill') throw new Error('admitRecord takes a waybill event');
    const parcel = (await parcelSites([event.waybill])).get(event.waybill) ?? null;
    if (!parcel) return 'store';
    const sites = producer.registration.sites;
    const business = sites === null || sites.includes(parcel.origin_site) || sites.includes(parcel.dest_site);
    const tally: WaybillConflicts = { answered: 0, withheld: 0, canaries: 0 };
    const now = clock.now();
    const note = async (held: boolean) => {
      const conflicts = conflictEntry(producer, tally, new Date(now), ctx);
      if (held) await commit(producer, [event], 'live', ctx, { rejected: 0 }, { fresh: [event], duplicates: 0 }, { withheld: new Set([event]), conflicts });
      else await audit.append([conflicts]);
      await noteConflicts(producer, tally, now);
    };
    if (parcel.canary) {
      if (!business) {
        tally.canaries++;
        await note(false);
      }
      return 'store';
    }
    const disagrees = checkWaybillAgrees(event, parcel);
    if (!disagrees) return 'store';
    if (business) {
      tally.answered++;
      await note(false);
      throw new AppError('producer_not_registered', disagrees.reason);
    }
    tally.withheld++;
    // Sent again by the same producer: answered as its stored record of an unknown number would be
    // (409 alike, 403 restated otherwise), so a second request tells nothing either.
    const heldId = heldRecordId(producer, event.waybill);
    const earlier = await db.selectFrom('activity_events').select('body').where('id', '=', heldId).executeTakeFirst();
    if (earlier) {
      await note(false);
      const first = (typeof earlier.body === 'string' ? JSON.parse(earlier.body) : earlier.body) as { origin_site: string; dest_site: string };
      const again = checkWaybillAgrees(event, { origin_site: first.origin_site, dest_site: first.dest_site });
      if (again) throw new AppError('producer_not_registered', again.reason);
      throw new AppError('conflict', `waybill ${event.waybill} already exists`);
    }
    event.id = heldId;
    await note(true);
    return 'withheld';
  }

  /** admit() then commit(): the route's event is stored, applied, audited and published, or refused. */
  async function submit(producer: Producer, routeEvent: ActivityEvent, ctx: RequestContext): Promise<void> {
    const { event } = contractFieldsOnly(routeEvent); // the routes' bodies admit no extra field; kept as a guarantee
    await admit(producer, event);
    // The route made the id (a random UUID): nothing can have stored it yet, so no lookup.
    await commit(producer, [event], 'live', ctx, { rejected: 0 }, { fresh: [event], duplicates: 0 });
  }

  /**
   * Stores, applies, audits and publishes accepted events.
   *
   * The audit trail is one queue and a reveal waits for its entry behind whatever holds it, so a
   * 10k-line body must not hold it for long: events that change no work (waybills, most scans,
   * a legacy system's activity) are stored in a plain transaction; the work (assignments, tickets,
   * delivered / picked-up scans) commits in order, WORK_SLICE events per audit append (its entries
   * and the store-and-apply effect in one transaction). A failure part-way answers with the error;
   * what was committed stays and is published, and sending the request again is safe: committed
   * ids come back as duplicates. A backfill (inserts only, no work) is one append, one entry.
   */
  async function commit(producer: Producer, events: ActivityEvent[], mode: IngestMode, ctx: RequestContext, counts: { rejected: number }, ids: { fresh: ActivityEvent[]; duplicates: number }, held: Withheld = NOTHING_WITHHELD) {
    const { fresh, duplicates } = ids;
    const { withheld, conflicts } = held;
    const put = (tx: Transaction<Database>, part: ActivityEvent[]) => store(tx, part, producer, mode, at, withheld);
    for (const e of fresh) stamp(e, producer, mode);
    const at = new Date(clock.now());
    const committed = new Set<ActivityEvent>();
    const done = (part: readonly ActivityEvent[]) => part.forEach((e) => committed.add(e));
    try {
      if (mode === 'backfill') {
        const entry = backfillEntry(producer, events, { accepted: events.length, duplicates, rejected: counts.rejected }, at, ctx);
        await audit.append(conflicts ? [entry, conflicts] : [entry], fresh.length ? (tx) => put(tx, fresh) : undefined);
        done(fresh);
      } else {
        const inert = fresh.filter((e) => !changesWork(e));
        // Routing conflicts are on record with the lines they concern (the entry carries counts only).
        if (conflicts) await audit.append([conflicts], inert.length ? (tx) => put(tx, inert) : undefined);
        else if (inert.length) await db.transaction().execute((tx) => put(tx, inert));
        done(inert);
        const work = fresh.filter(changesWork);
        for (let i = 0; i < work.length; i += WORK_SLICE) {
          const part = work.slice(i, i + WORK_SLICE);
          const effect = async (tx: Transaction<Database>, more: (entries: readonly AuditEntryInput[]) => void) => {
            await put(tx, part);
            for (const e of part) {
              if (e.type === 'ticket' && e.waybill) {
                // Recorded as it was applied: a line the ticket's rules ignore (another waybill, another
                // agent's close, older than the ticket's last change) is on record as not applied, so the
                // ticket row and its last applied entry agree (reconcile) — attack review 9.
                more([ticketEntry({ ...e, waybill: e.waybill }, await applyTicket({ ...e, waybill: e.waybill }, tx), producer, at, ctx)]);
                continue;
              }
              const completed = await applyWork(e, tx);
              if (completed.length) more(completedEntries(e, completed, producer, at, ctx));
            }
          };
          // Always through the trail: a scan's completions are known only inside the transaction.
          await audit.append(workEntries(part, producer, at, ctx), effect);
          done(part);
        }
      }
    } finally {
      // A withheld line is never published: the vault's record of that parcel stands.
      await bus.publish(committed.size === fresh.length && !withheld.size ? fresh : fresh.filter((e) => committed.has(e) && !withheld.has(e)));
    }
  }

  /**
   * Routing conflicts and canary numbers named, per producer and hour (this process): the hour's
   * WAYBILL_CONFLICTS_ALERT-th conflict raises one alert, the first canary named another (no
   * producer issued a canary's number: it was read somewhere, or a range is being scanned). The
   * alerts name the producer and counts, never a number; they are about no staff account.
   */
  let hourly = { hour: -1, byProducer: new Map<string, { conflicts: number; canaries: number }>() };
  async function noteConflicts(producer: Producer, tally: WaybillConflicts, now: number): Promise<void> {
    deps.onWaybillConflicts?.(tally);
    const hour = Math.floor(now / 3_600_000);
    if (hourly.hour !== hour || hourly.byProducer.size >= 10_000) hourly = { hour, byProducer: new Map() };
    const seen = hourly.byProducer.get(producer.id) ?? { conflicts: 0, canaries: 0 };
    const before = { ...seen };
    seen.conflicts += tally.answered + tally.withheld;
    seen.canaries += tally.canaries;
    hourly.byProducer.set(producer.id, seen);
    const alerts: AlertOut[] = [];
    if (before.canaries === 0 && seen.canaries > 0) alerts.push(conflictAlert(producer, 'canary', seen, now));
    if (before.conflicts < WAYBILL_CONFLICTS_ALERT && seen.conflicts >= WAYBILL_CONFLICTS_ALERT) alerts.push(conflictAlert(producer, 'conflicts', seen, now));
    if (alerts.length && deps.raise) await deps.raise(alerts);
  }

  async function store(tx: Transaction<Database>, events: ActivityEvent[], producer: Producer, mode: IngestMode, receivedAt: Date, withheld: ReadonlySet<ActivityEvent>): Promise<void> {
    for (let i = 0; i < events.length; i += INSERT_CHUNK) {
      const chunk = events.slice(i, i + INSERT_CHUNK);
      const inserted = await tx
        .insertInto('activity_events')
        .values(chunk.map((e) => ({
          id: e.id,
          ts: new Date(e.ts),
          type: withheld.has(e) ? WITHHELD_EVENT_TYPE : e.type,
          account: 'account' in e && e.account ? e.account : null,
          body: JSON.stringify(e),
          received_at: receivedAt,
          producer: producer.id,
          producer_account: producer.account,
          backfill: mode === 'backfill',
        })))
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .execute();
      // Another request stored some of these ids since we looked: retrying sees them as duplicates.
      if (inserted.length !== chunk.length) throw new AppError('conflict', 'some of these events were stored by a concurrent request; send the request again');
    }
  }

  /** Applies one ticket line; false when the ticket's rules ignored it (src/access/work-context.ts `ticket`). */
  function applyTicket(e: TicketLine, tx: Transaction<Database>): Promise<boolean> {
    return work.ticket({ ticket: e.ticket, waybill: e.waybill, account: e.account, status: e.status, at: new Date(e.ts) }, tx);
  }

  /** Applies one assignment or scan (tickets: `applyTicket`); for a scan, returns the accounts whose assignment it completed. */
  async function applyWork(e: ActivityEvent, tx: Transaction<Database>): Promise<string[]> {
    const at = new Date(e.ts);
    switch (e.type) {
      case 'assign':
        await work.assign({ waybill: e.waybill, account: e.account, task: e.task, at }, tx);
        break;
      case 'scan':
        if (e.op === 'delivered') return work.complete(e.waybill, 'delivery', at, tx);
        if (e.op === 'pickup') return work.complete(e.waybill, 'pickup', at, tx);
        break;
      default:
        break;
    }
    return [];
  }

  return { ingestStream, admit, admitRecord, submit };
}
export type Ingest = ReturnType<typeof createIngest>;

/** The accepted lines that had fields dropped: the first MAX_REPORTED_REJECTIONS (lines arrive in order), and how many. */
function droppedReport(admitted: readonly Candidate[]): Pick<IngestResult, 'dropped_fields' | 'dropped_fields_lines'> {
  const list: DroppedFields[] = [];
  let lines = 0;
  for (const c of admitted) {
    if (c.dropped === 0) continue;
    lines++;
    if (list.length < MAX_REPORTED_REJECTIONS) list.push({ line: c.line, count: c.dropped });
  }
  return { dropped_fields: list, dropped_fields_lines: lines };
}

/** The gateway's own rules for every ingested event, before the producer's: identifiers, and no impossible time. */
function gatewayRefusal(e: ActivityEvent): IngestRefusal | null {
  const bad = eventFieldIdentifierProblem(e);
  if (bad) return { code: 'bad_identifier', reason: `field "${bad.field}": bad_identifier: ${identifierRule(bad.problem, bad.max)}` };
  if (eventTime(e) < OLDEST_EVENT_TS) return { code: 'too_old', reason: 'ts is before 2000-01-01T00:00:00Z: not activity Warden can hold' };
  return null;
}

/** The id a withheld vault record is kept under: one per producer and number (a re-send finds it). */
function heldRecordId(producer: Producer, waybill: string): string {
  return `api-held-${createHash('sha256').update(`${producer.id}\n${waybill}`).digest('hex').slice(0, 40)}`;
}

/** What a request's commit keeps back: withheld routing lines (stored under their id, not published) and the entry recording the conflicts. */
interface Withheld {
  withheld: ReadonlySet<ActivityEvent>;
  conflicts: AuditEntryInput | null;
}
const NOTHING_WITHHELD: Withheld = { withheld: new Set(), conflicts: null };

/** An assignment or ticket must name an account Warden holds (the value is not repeated). */
const unknownAccount = (e: ActivityEvent): IngestRefusal => ({
  code: 'unknown_account',
  reason: `${e.type} events must name a Warden account as the assignee: this one is not`,
});

/** An event's fields, provenance aside, in key order: two lines are the same event when these agree. */
function signature(e: object): string {
  const o = e as Record<string, unknown>;
  return JSON.stringify(Object.keys(o).filter((k) => k !== 'producer' && k !== 'backfill').sort().map((k) => [k, o[k]]));
}

/** Events whose storing changes the work context (who may see what, or until when). */
function changesWork(e: ActivityEvent): boolean {
  return e.type === 'assign' || (e.type === 'ticket' && !!e.waybill) || completesWork(e);
}

/** Warden, not the sender, says who produced an event and whether it is history. */
function stamp(e: ActivityEvent, producer: Producer, mode: IngestMode): void {
  e.producer = producer.id;
  if (mode === 'backfill') e.backfill = true;
  else delete e.backfill;
}
