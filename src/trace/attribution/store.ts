/**
 * Attribution against the store: rows resolved through the vault's blind indexes (phone, ID
 * number), privacy-number bindings and marked-export canaries; name plus address compared by
 * masked prefilter (the masks stored at ingest) and then the full values, opened through the
 * vault's decryptor — this is a reveal for an investigation, so the run is audited by its caller
 * (`trace.attribution_run`) before any result leaves. The history is the stored trail: gateway
 * reveals (audit_log), other producers' reveals (activity_events: unverified, each exposure naming
 * its producer, ranked after the trail's accounts — attack review 11) and marked exports — as their
 * `access.export` entries recorded them, never as `trace_exports` says (attack review 10; rows
 * and canary batches the trail does not back are counted, `History.inconsistent`, and not used).
 *
 * Invariant (attack review 3, S4): a name+address row matches only the same household. The name
 * is compared exactly (trimmed); the address must carry the same numbers in the same order (house,
 * building, unit, room: 501室 is not 502室, 3号楼 is not 4号楼) and read alike otherwise (bigram
 * similarity ≥ 0.8). Formatting variants still match: spaces and punctuation, full-width digits,
 * leading zeros, 栋/幢/号楼, 单元, 室 written, swapped or left out around the same numbers (3-2-501).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { Keyring } from '../../vault/keyring.js';
import { blindIndex } from '../../vault/crypto.js';
import { canaryKeys, canaryMac } from '../canary-data.js';
import { auditedExports, backedCanaryBatches, exportRowProblem, rowOrderOf } from '../export-trail.js';
import { maskAddress, maskName } from '../../vault/masking.js';
import type { PiiDecryptor } from '../../vault/vault.js';
import type { Binding, MarkedExport, Resolver } from './attribute.js';
import type { Exposure, History } from './score.js';

const CHUNK = 1000;
/** Most name+address rows compared per run, and candidates opened per row (bounded work). */
const MAX_FUZZY_ROWS = 5000;
const MAX_CANDIDATES = 50;

async function chunked<T, R>(items: T[], f: (part: T[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(...(await f(items.slice(i, i + CHUNK))));
  return out;
}

/** Dice coefficient over character bigrams: 1 for the same text, robust to small edits. */
export function similarity(a: string, b: string): number {
  const grams = (s: string) => {
    const t = s.normalize('NFKC').replace(/[\s,，]/g, '');
    const m = new Map<string, number>();
    for (let i = 0; i < t.length - 1; i++) m.set(t.slice(i, i + 2), (m.get(t.slice(i, i + 2)) ?? 0) + 1);
    return m;
  };
  const x = grams(a);
  const y = grams(b);
  let both = 0;
  let total = 0;
  for (const n of x.values()) total += n;
  for (const n of y.values()) total += n;
  for (const [g, n] of x) both += Math.min(n, y.get(g) ?? 0);
  return total ? (2 * both) / total : a === b ? 1 : 0;
}

/** The numbers of an address in order (house, building, unit, room), leading zeros dropped. */
export function addressNumbers(address: string): string[] {
  return (address.normalize('NFKC').match(/\d+/g) ?? []).map((n) => n.replace(/^0+(?=\d)/, ''));
}

/** Same household: the same numbers in the same order, and the rest of the text alike. */
export function sameAddress(stored: string, given: string): boolean {
  const a = addressNumbers(stored);
  const b = addressNumbers(given);
  if (a.length !== b.length || a.some((n, i) => n !== b[i])) return false;
  // Markers around the numbers (号楼/栋, 单元, 室 …) and punctuation are formatting, not place.
  const words = (s: string) => s.normalize('NFKC').replace(/号楼|单元|[栋幢座室号楼层]/g, '').replace(/[\s,，.。、·\-—_/#()（）]/g, '');
  return similarity(words(stored), words(given)) >= 0.8;
}

export function storeResolver(deps: { db: Kysely<Database>; keyring: Keyring; pii: PiiDecryptor }): Resolver {
  const { db, keyring } = deps;
  /** Canary links the trail does not back (an export row or a canary batch changed around Warden). */
  const unbacked = new Set<string>();
  /**
   * Leaked phones / ID numbers to the waybills whose live parties carry them. An erased party
   * never matches (attack review 7: an erased phone matched 2 records and named their viewers).
   * Chosen on purpose: erasure (PIPL Art. 47) outranks the investigation, so Warden does not
   * re-identify an erased person from a leaked file — erasure nulls their indexes, and this skips
   * erased rows as well. What is lost: a leaked row of an erased person counts as unmatched by
   * phone, ID number and name+address (their ciphertext is gone). What still matches names no
   * one erased: a leaked waybill number its waybill, a leaked virtual number its binding (issued
   * per viewer by the telephony side, it points at who leaked, not at the person's number).
   */
  const byIndex = async (column: 'phone_bidx' | 'id_bidx', domain: 'phone' | 'id_number', values: string[]) => {
    const index = new Map(values.map((v) => [blindIndex(keyring.blindIndexKey, domain, v).toString('hex'), v]));
    const rows = await chunked([...index.keys()], (part) =>
      db.selectFrom('waybill_parties').select(['waybill', column]).where(column, 'in', part.map((h) => Buffer.from(h, 'hex'))).where('erased_at', 'is', null).execute(),
    );
    const out = new Map<string, string[]>();
    for (const r of rows) {
      const v = index.get(Buffer.from(r[column] as Uint8Array).toString('hex'));
      if (v) out.set(v, [...new Set([...(out.get(v) ?? []), r.waybill])]);
    }
    return out;
  };
  const nothing = { read: { arity: 0, select: () => sql`null`, parse: () => null }, args: [] };

  return {
    async existing(waybills) {
      const rows = await chunked(waybills, (part) => db.selectFrom('waybills').select('waybill').where('waybill', 'in', part).execute());
      return new Set(rows.map((r) => r.waybill));
    },
    byPhone: (phones) => byIndex('phone_bidx', 'phone', phones),
    byIdNumber: (ids) => byIndex('id_bidx', 'id_number', ids),
    async bindings(numbers) {
      const rows = await chunked(numbers, (part) => db.selectFrom('privacy_bindings').select(['virtual_number', 'viewer', 'waybill', 'created_at']).where('virtual_number', 'in', part).execute());
      const out = new Map<string, Binding[]>();
      for (const r of rows) out.set(r.virtual_number, [...(out.get(r.virtual_number) ?? []), { viewer: r.viewer, waybill: r.waybill, created_at: new Date(r.created_at).getTime() }]);
      return out;
    },
    async byNameAddress(rows) {
      const out: string[][] = [];
      for (const [i, row] of rows.entries()) {
        if (i >= MAX_FUZZY_ROWS) {
          out.push([]);
          continue;
        }
        const name = maskName(row.name);
        const address = maskAddress(row.address);
        const candidates = await db
          .selectFrom('waybills')
          .select('waybill')
          .where((eb) =>
            eb.or([
              eb.and([eb(sql`masked->'recipient'->>'name'`, '=', name), eb(sql`masked->'recipient'->>'address'`, '=', address)]),
              eb.and([eb(sql`masked->'sender'->>'name'`, '=', name), eb(sql`masked->'sender'->>'address'`, '=', address)]),
            ]),
          )
          .limit(MAX_CANDIDATES)
          .execute();
        const found: string[] = [];
        for (const c of candidates) {
          const sealed = await deps.pii.fetch(c.waybill, nothing);
          // A record changed outside Warden is not opened (attack review 9): it cannot be matched.
          if (!sealed || !sealed.sealed.intact) continue;
          const v = await deps.pii.open(sealed.sealed, ['recipient.name', 'recipient.address', 'sender.name', 'sender.address']);
          const same = (n: string | null | undefined, a: string | null | undefined) => n?.trim() === row.name.trim() && !!a && sameAddress(a, row.address);
          if (same(v['recipient.name'], v['recipient.address']) || same(v['sender.name'], v['sender.address'])) found.push(c.waybill);
        }
        out.push(found);
      }
      return out;
    },
    async exportCanaries(waybills) {
      // The canaries table knows numbers only by their blind index (src/trace/canary-data.ts).
      const keys = canaryKeys(keyring.blindIndexKey);
      const byMac = new Map(waybills.map((w) => [canaryMac(keys, w), w]));
      const rows = await chunked([...byMac.keys()], (part) =>
        db
          .selectFrom('trace_canaries as c')
          .innerJoin('trace_exports as e', 'e.id', 'c.export_id')
          .select(['c.mac', 'c.batch', 'e.id', 'e.account', 'e.created_at', 'e.device', 'e.ip', 'e.row_order', 'e.rows'])
          .where('c.mac', 'in', part)
          .execute(),
      );
      // Attack review 10: who the export was for is the trail's word, not the row's. A canary links
      // only through a row its access.export entry backs and a batch its planting backs.
      const entries = rows.length ? await auditedExports(db) : new Map();
      const batches = await backedCanaryBatches(db, new Map(rows.map((r) => [r.batch, r.id])));
      const out = new Map<string, MarkedExport>();
      for (const r of rows) {
        const entry = entries.get(r.id);
        if (exportRowProblem(r, entry) || !batches.has(r.batch)) {
          unbacked.add(`canary:${r.batch}:${r.id}`);
          continue;
        }
        out.set(byMac.get(r.mac)!, { id: r.id, account: entry!.account, created_at: entry!.ts, device: entry!.device, ip: entry!.ip, row_order: rowOrderOf(r) });
      }
      return out;
    },
    inconsistent: () => unbacked.size,
  };
}

/** The stored trail as the history: volumes of every account, exposures of the leaked records. */
export async function historyFromStore(db: Kysely<Database>, leaked: Set<string>): Promise<History> {
  const volume = new Map<string, number>();
  const add = (account: string | null, n: number) => {
    if (account) volume.set(account, (volume.get(account) ?? 0) + n);
  };
  for (const r of await db.selectFrom('audit_log').select(['account', sql<string>`count(*)`.as('n')]).where('kind', '=', 'access.reveal').where('decision', '=', 'allowed').groupBy('account').execute()) add(r.account, Number(r.n));
  // Upstream reveals are never about a Warden account: ingest refuses such events (only the trail
  // speaks for Warden's own staff), so a row naming one was written around Warden — to frame a
  // manager (attack review 10) — and is not read. Upstream staff's rows are not backed by the trail
  // (docs/security.md, residual).
  const external = sql<boolean>`body->>'action' = 'reveal' and coalesce(body->>'result', 'allowed') = 'allowed' and not exists (select 1 from accounts a where a.id = activity_events.account)`;
  for (const r of await db.selectFrom('activity_events').select(['account', sql<string>`count(*)`.as('n')]).where('type', '=', 'access').where(external).groupBy('account').execute()) add(r.account, Number(r.n));
  // Marked exports as the trail recorded them (attack review 10): account, time, device, network and
  // real waybills from each access.export entry; a trace_exports row the trail does not back, and
  // an entry whose row is gone, are counted in `inconsistent` — never read as who had what.
  const entries = await auditedExports(db);
  let inconsistent = 0;
  /** Per export: the rows it showed — a backed row's order (its canary rows too), else the entry's real waybills. */
  const shown = new Map<string, string[]>();
  const stored = new Set<string>();
  for (const row of await db.selectFrom('trace_exports').select(['id', 'account', 'created_at', 'device', 'ip', 'row_order', 'rows']).execute()) {
    stored.add(row.id);
    if (exportRowProblem(row, entries.get(row.id))) inconsistent++;
    else shown.set(row.id, rowOrderOf(row));
  }
  for (const id of entries.keys()) if (!stored.has(id)) inconsistent++;
  for (const e of entries.values()) add(e.account, e.rows);
  const universe = Number((await db.selectFrom('waybills').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);

  const list = [...leaked];
  const exposures: Exposure[] = [];
  const gateway = await chunked(list, (part) =>
    db.selectFrom('audit_log').select(['account', 'waybill', 'ts', 'device', 'ip']).where('kind', '=', 'access.reveal').where('decision', '=', 'allowed').where('waybill', 'in', part).execute(),
  );
  for (const r of gateway) if (r.account && r.waybill) exposures.push({ account: r.account, waybill: r.waybill, ts: new Date(r.ts).getTime(), device: r.device, ip: r.ip, via: 'reveal' });
  for (const e of entries.values()) {
    for (const w of shown.get(e.id) ?? e.waybills) if (leaked.has(w)) exposures.push({ account: e.account, waybill: w, ts: e.ts, device: e.device, ip: e.ip, via: 'export' });
  }
  const others = await chunked(list, (part) =>
    db.selectFrom('activity_events').select(['account', 'ts', 'received_at', 'body', 'producer']).where('type', '=', 'access').where(external).where(sql`body->>'waybill'`, 'in', part).execute(),
  );
  const late = lateHistory(exposures);
  let lateCount = 0;
  for (const r of others) {
    const b = (typeof r.body === 'string' ? JSON.parse(r.body) : r.body) as Record<string, unknown>;
    if (!r.account) continue;
    const waybill = String(b.waybill);
    if (late(r.account, waybill, new Date(r.received_at).getTime())) {
      lateCount++;
      continue;
    }
    // Upstream's word (attack review 11, F1): ranked after the trail's accounts, never explaining their records away.
    exposures.push({ account: r.account, waybill, ts: new Date(r.ts).getTime(), device: typeof b.device === 'string' ? b.device : null, ip: typeof b.ip === 'string' ? b.ip : null, via: 'reveal', upstream: r.producer });
  }
  return { volume, universe, exposures, inconsistent, lateHistory: lateCount };
}

/**
 * Whether an upstream exposure arrived too late to be evidence (attack review 10: a backfill-capable
 * legacy token posted, after the leak, "history" of an accomplice revealing exactly the leaked
 * records, and attribution moved from the courier who revealed them to the accomplice): an upstream
 * event received after the trail shows another account seeing the same record could have been
 * written by someone who knew what leaked. Such exposures are left out of the ranking and counted
 * (`late_history`); the trail's own reveals and exports always count.
 */
function lateHistory(trailExposures: readonly Exposure[]): (account: string, waybill: string, receivedAt: number) => boolean {
  const first = new Map<string, Array<{ account: string; ts: number }>>();
  for (const e of trailExposures) {
    const seen = first.get(e.waybill);
    if (seen) seen.push({ account: e.account, ts: e.ts });
    else first.set(e.waybill, [{ account: e.account, ts: e.ts }]);
  }
  return (account, waybill, receivedAt) => (first.get(waybill) ?? []).some((e) => e.account !== account && e.ts < receivedAt);
}
