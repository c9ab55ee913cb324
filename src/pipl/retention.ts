/**
 * Retention (PIPL Art. 19, Express Delivery Regulations Art. 34): a waybill party's personal
 * data is kept only for a set number of days after delivery, per data category (the party:
 * sender or recipient) and per field, ID numbers shortest. A run purges what is due by deleting
 * the field's ciphertext (and its masked view), in batches of short transactions so a reveal
 * never waits for more than one batch; each batch is audited (fail closed: no entry, no purge).
 *
 * Invariants:
 * - The clock that starts a field's period is the parcel's delivery (the latest completed
 *   delivery assignment); a parcel never delivered starts it `undelivered_days` after creation.
 * - A field is purged exactly when reference + days ≤ now (the property test checks this over
 *   random policies and dates).
 * - The audit trail is never purged here: it has its own period (≥ 184 days, Cybersecurity Law
 *   Art. 21), independent of PII retention.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import { PARTIES, PARTY_FIELDS, type PartyField, type PartyName } from '../vault/vault.js';

export interface RetentionPolicy {
  /** Days after delivery each field of each party is kept. */
  days: Record<PartyName, Record<PartyField, number>>;
  /** For parcels never delivered: the period starts this many days after the waybill was created. */
  undelivered_days: number;
  /** The audit trail's own period (never purged by this module); at least 184 days. */
  audit_days: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  days: {
    sender: { name: 180, phone: 180, address: 180, id_number: 30 },
    recipient: { name: 90, phone: 90, address: 90, id_number: 30 },
  },
  undelivered_days: 90,
  audit_days: 365,
};

export const MIN_AUDIT_DAYS = 184;
const MAX_DAYS = 3650;
export const PURGED_MARK = '[已过保存期限]';
const DAY_MS = 86_400_000;

export class RetentionPolicyError extends Error {}

/** Checks a policy (defaults for what it leaves out); every problem at once. */
export function parseRetentionPolicy(input: unknown, source = 'retention policy'): RetentionPolicy {
  const problems: string[] = [];
  const o = (input ?? {}) as Record<string, unknown>;
  if (typeof o !== 'object' || Array.isArray(o)) throw new RetentionPolicyError(`${source}: must be a mapping`);
  for (const k of Object.keys(o)) if (!['days', 'undelivered_days', 'audit_days'].includes(k)) problems.push(`unknown key ${k}`);
  const int = (v: unknown, where: string, min: number, fallback: number) => {
    if (v === undefined) return fallback;
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > MAX_DAYS) {
      problems.push(`${where} must be a whole number of days from ${min} to ${MAX_DAYS}`);
      return fallback;
    }
    return v as number;
  };
  const givenDays = (o.days ?? {}) as Record<string, Record<string, unknown>>;
  for (const p of Object.keys(givenDays)) if (!(PARTIES as readonly string[]).includes(p)) problems.push(`days: unknown category ${p} (sender, recipient)`);
  const days = {} as RetentionPolicy['days'];
  for (const party of PARTIES) {
    const given = givenDays[party] ?? {};
    for (const f of Object.keys(given)) if (!(PARTY_FIELDS as readonly string[]).includes(f)) problems.push(`days.${party}: unknown field ${f}`);
    days[party] = Object.fromEntries(PARTY_FIELDS.map((f) => [f, int(given[f], `days.${party}.${f}`, 1, DEFAULT_RETENTION.days[party][f])])) as Record<PartyField, number>;
    const others = PARTY_FIELDS.filter((f) => f !== 'id_number').map((f) => days[party][f]);
    if (days[party].id_number > Math.min(...others)) problems.push(`days.${party}.id_number must be the shortest period (sensitive personal information, PIPL Art. 28)`);
  }
  const policy = { days, undelivered_days: int(o.undelivered_days, 'undelivered_days', 0, DEFAULT_RETENTION.undelivered_days), audit_days: int(o.audit_days, 'audit_days', MIN_AUDIT_DAYS, DEFAULT_RETENTION.audit_days) };
  if (problems.length) throw new RetentionPolicyError(`${source}: ${problems.join('; ')}`);
  return policy;
}

export function loadRetentionPolicy(file?: string): RetentionPolicy {
  if (!file) return DEFAULT_RETENTION;
  let parsed: unknown;
  try {
    parsed = YAML.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new RetentionPolicyError(`retention file ${file}: ${(err as Error).message}`);
  }
  return parseRetentionPolicy(parsed, file);
}

export interface RetentionRunResult {
  id: string;
  dry_run: boolean;
  started_at: string;
  finished_at: string;
  batches: number;
  records: number;
  /** Fields purged (or due, in a dry run), e.g. { "recipient.phone": 12 }. */
  purged: Record<string, number>;
}

export interface RetentionDeps {
  db: Kysely<Database>;
  audit: Pick<AuditWriter, 'append'>;
  clock: Clock;
  policy: RetentionPolicy;
}

export interface RunOptions {
  dryRun?: boolean;
  batchSize?: number;
  actor: string;
  account?: string | null;
  ip?: string | null;
  requestId?: string | null;
  /** Called after each batch committed (progress; tests interleave reveals here). */
  onBatch?: (done: number) => void | Promise<void>;
}

const CT = { name: 'name_ct', phone: 'phone_ct', address: 'address_ct', id_number: 'id_number_ct' } as const;

export function createRetention(deps: RetentionDeps) {
  const { db, audit, clock, policy } = deps;

  /** One page of rows with something due, after `after` (keyset on waybill, party). */
  async function page(now: number, after: { waybill: string; party: string } | null, limit: number) {
    const reference = sql<Date>`coalesce((select max(a.completed_at) from assignments a where a.waybill = p.waybill and a.task = 'delivery' and a.completed_at is not null), w.created_at + make_interval(days => ${policy.undelivered_days}))`;
    const cutoff = (d: number) => new Date(now - d * DAY_MS);
    let q = db
      .selectFrom('waybill_parties as p')
      .innerJoin('waybills as w', 'w.waybill', 'p.waybill')
      .select(['p.waybill', 'p.party', 'p.name_ct', 'p.phone_ct', 'p.address_ct', 'p.id_number_ct'])
      .select(reference.as('reference'))
      .where('p.erased_at', 'is', null)
      .where((eb) => eb.or(PARTIES.flatMap((party) => PARTY_FIELDS.map((f) => eb.and([eb('p.party', '=', party), eb(`p.${CT[f]}`, 'is not', null), eb(reference, '<=', cutoff(policy.days[party][f]))])))));
    if (after) q = q.where(sql<boolean>`(p.waybill, p.party) > (${after.waybill}, ${after.party})`);
    return q.orderBy('p.waybill').orderBy('p.party').limit(limit).execute();
  }

  function dueOf(row: { party: PartyName; reference: Date | string } & Record<string, unknown>, now: number): PartyField[] {
    const ref = new Date(row.reference).getTime();
    return PARTY_FIELDS.filter((f) => row[CT[f]] !== null && ref + policy.days[row.party][f] * DAY_MS <= now);
  }

  async function run(options: RunOptions): Promise<RetentionRunResult> {
    const id = `ret-${randomUUID()}`;
    const dryRun = options.dryRun ?? false;
    const batchSize = options.batchSize ?? 500;
    const now = clock.now();
    const started = new Date(now);
    const purged: Record<string, number> = {};
    let batches = 0;
    let records = 0;
    await db.insertInto('pipl_retention_runs').values({ id, started_at: started, finished_at: null, actor: options.actor, dry_run: dryRun, policy: JSON.stringify(policy), purged: JSON.stringify({}), batches: 0 }).execute();
    let after: { waybill: string; party: string } | null = null;
    for (;;) {
      const rows = await page(now, after, batchSize);
      if (!rows.length) break;
      after = { waybill: rows.at(-1)!.waybill, party: rows.at(-1)!.party };
      const due = rows.map((r) => ({ row: r, fields: dueOf(r as never, now) })).filter((d) => d.fields.length);
      const counts: Record<string, number> = {};
      for (const d of due) for (const f of d.fields) counts[`${d.row.party}.${f}`] = (counts[`${d.row.party}.${f}`] ?? 0) + 1;
      if (!dryRun && due.length) {
        const entry = { kind: 'pipl.retention_purged' as const, ts: new Date(clock.now()), decision: 'ok' as const, account: options.account ?? null, ip: options.ip ?? null, requestId: options.requestId ?? null, detail: { run: id, batch: batches + 1, actor: options.actor, records: due.length, ...counts, waybills: [...new Set(due.map((d) => d.row.waybill))] } };
        await audit.append([entry], (tx) => purgeBatch(tx, due.map((d) => ({ waybill: d.row.waybill, party: d.row.party, fields: d.fields }))));
      }
      for (const [k, n] of Object.entries(counts)) purged[k] = (purged[k] ?? 0) + n;
      records += due.length;
      batches++;
      await options.onBatch?.(records);
    }
    const finished = new Date(clock.now());
    await db.updateTable('pipl_retention_runs').set({ finished_at: finished, purged: JSON.stringify(purged), batches }).where('id', '=', id).execute();
    return { id, dry_run: dryRun, started_at: started.toISOString(), finished_at: finished.toISOString(), batches, records, purged };
  }

  async function runs(limit = 50) {
    const rows = await db.selectFrom('pipl_retention_runs').selectAll().orderBy('started_at', 'desc').orderBy('id').limit(limit).execute();
    return rows.map((r) => ({ id: r.id, actor: r.actor, dry_run: r.dry_run, started_at: new Date(r.started_at).toISOString(), finished_at: r.finished_at ? new Date(r.finished_at).toISOString() : null, batches: r.batches, purged: parseJson<Record<string, number>>(r.purged) }));
  }

  return { policy, run, runs };
}
export type Retention = ReturnType<typeof createRetention>;

/**
 * Purges one batch set-wise: per (party, field) one UPDATE of the ciphertexts and one of the
 * masked views (jsonb_set without create_missing: a view without an ID number gains none), so a
 * batch costs at most 16 statements whatever its size.
 */
async function purgeBatch(tx: Kysely<Database>, due: Array<{ waybill: string; party: PartyName; fields: PartyField[] }>): Promise<void> {
  for (const party of PARTIES) {
    for (const f of PARTY_FIELDS) {
      const waybills = due.filter((d) => d.party === party && d.fields.includes(f)).map((d) => d.waybill);
      if (!waybills.length) continue;
      // A purged phone is no longer searchable either: its blind index goes with it (attack review 7).
      const cleared = f === 'phone' ? { phone_ct: null, phone_bidx: null } : { [CT[f]]: null };
      await tx.updateTable('waybill_parties').set(cleared).where('party', '=', party).where('waybill', 'in', waybills).execute();
      const path = `{${party},${f}}`;
      const mark = JSON.stringify(PURGED_MARK);
      await tx
        .updateTable('waybills')
        .set({
          masked: sql`jsonb_set(masked, ${path}::text[], ${mark}::jsonb, false)`,
          label: sql`jsonb_set(label, ${path}::text[], ${mark}::jsonb, false)`,
        })
        .where('waybill', 'in', waybills)
        .execute();
    }
  }
}

function parseJson<T>(v: unknown): T {
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
}

/** Runs retention every `minutes` (0: never); the first run one period after start. */
export function scheduleRetention(retention: Retention, minutes: number, onError: (err: unknown) => void): { stop(): Promise<void> } {
  if (minutes <= 0) return { stop: async () => undefined };
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = retention
      .run({ actor: 'warden:retention-schedule' })
      .then(() => undefined, onError)
      .finally(() => (running = null));
  }, minutes * 60_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
