/**
 * Leak attribution: which accounts' access history best explains a leaked dump.
 *
 * 1. Match each row to waybills: the waybill number; phone and ID number through the vault's blind
 *    indexes; a virtual number through its bindings (which name the viewer outright); name plus
 *    address fuzzily (masked prefilter, then the full values compared). A marked export's own
 *    canary row names its recipient outright.
 * 2. Read the access history (an events file, or the stored trail): every account's volume and
 *    its exposures to the matched records.
 * 3. Rank (./score.ts): likelihood ratio against each account's base rate, merged sources
 *    separated greedily, and the window in which the leak must have happened.
 */
import { readDump, type Dump, type DumpRow } from './dump.js';
export type { Dump } from './dump.js';
import { rank, type Exposure, type History, type Suspect } from './score.js';

export interface Binding {
  viewer: string;
  waybill: string;
  created_at: number;
}

export interface MarkedExport {
  id: string;
  account: string;
  created_at: number;
  device: string | null;
  ip: string | null;
  row_order: string[];
}

/** How rows find waybills; the store's version reads the vault's blind indexes (./store.ts). */
export interface Resolver {
  existing(waybills: string[]): Promise<Set<string>>;
  byPhone(phones: string[]): Promise<Map<string, string[]>>;
  byIdNumber(ids: string[]): Promise<Map<string, string[]>>;
  bindings(numbers: string[]): Promise<Map<string, Binding[]>>;
  byNameAddress(rows: Array<{ name: string; address: string }>): Promise<string[][]>;
  /** Canary rows planted into marked exports, by waybill, with the export they were made for. */
  exportCanaries(waybills: string[]): Promise<Map<string, MarkedExport>>;
  /** Canary links left out because the trail does not back them (the store's version; attack review 10). */
  inconsistent?(): number;
}

export interface Attribution {
  matched: number;
  unmatched: number;
  junk: number;
  records: number;
  suspects: Suspect[];
  sources: string[];
  /**
   * Accounts known only from upstream producers' events (not Warden's trail) that would be sources of
   * what the trail's sources leave unexplained: upstream's word, not proof — never in `sources`
   * (attack review 11, F1: an invented account "revealed" the parcels first and took the blame off
   * the courier who revealed them through Warden). Each suspect entry names its reporting producers.
   */
  unverified_sources: string[];
  /** The leak happened after `from` (the last record the sources first saw) and before `to` (when the dump was found). */
  window: { from: string | null; to: string };
  exports: Array<{ id: string; account: string; created_at: string; canaries: number; order_agreement: number | null }>;
  by: Record<string, number>;
  /**
   * Stored export rows and canary links the audit trail does not back (changed or deleted around
   * Warden), left out of the ranking: nobody is named or cleared on their word (attack review 10).
   * Not 0 → run `warden audit reconcile` and tell the security team.
   */
  audit_inconsistent: number;
  /**
   * Upstream (producer) reveals of leaked records that reached Warden after the audit trail showed
   * another account the same record: left out of the ranking, since whoever sent them may have known
   * what leaked (attack review 10: history backfilled after a leak to blame an accomplice).
   */
  late_history: number;
}

interface RowMatch {
  waybills: string[];
  strong: Exposure[];
  by: string;
}

async function matchRows(rows: DumpRow[], r: Resolver): Promise<RowMatch[]> {
  const uniq = <T>(xs: T[]) => [...new Set(xs)];
  const existing = await r.existing(uniq(rows.flatMap((x) => (x.waybill ? [x.waybill] : []))));
  const phones = uniq(rows.flatMap((x) => (x.phone ? [x.phone] : [])));
  const bindings = await r.bindings(phones);
  const byPhone = await r.byPhone(phones.filter((p) => !bindings.has(p)));
  const byId = await r.byIdNumber(uniq(rows.flatMap((x) => (x.id_number ? [x.id_number] : []))));
  const out: RowMatch[] = rows.map((row) => {
    if (row.waybill && existing.has(row.waybill)) return { waybills: [row.waybill], strong: [], by: 'waybill' };
    if (row.id_number && byId.get(row.id_number)?.length) return { waybills: byId.get(row.id_number)!, strong: [], by: 'id_number' };
    if (row.phone && byPhone.get(row.phone)?.length) return { waybills: byPhone.get(row.phone)!, strong: [], by: 'phone' };
    return { waybills: [], strong: [], by: 'none' };
  });
  // Virtual numbers: the binding for this row's waybill (when the row names one), or the number's only viewer.
  rows.forEach((row, i) => {
    const bs = row.phone ? bindings.get(row.phone) : undefined;
    if (!bs?.length) return;
    const known = out[i]!.waybills;
    // Without a waybill on the row, the number names its viewer when every binding of it was that viewer's.
    const chosen = known.length ? bs.filter((b) => known.includes(b.waybill)) : new Set(bs.map((b) => b.viewer)).size === 1 ? bs : [];
    const links = chosen.length ? chosen : bs;
    out[i] = {
      waybills: known.length ? known : [...new Set(links.map((b) => b.waybill))],
      strong: chosen.map((b) => ({ account: b.viewer, waybill: b.waybill, ts: b.created_at, device: null, ip: null, via: 'virtual_number' as const })),
      by: 'virtual_number',
    };
  });
  const fuzzy = rows.map((row, i) => ({ row, i })).filter(({ row, i }) => !out[i]!.waybills.length && row.name && row.address);
  if (fuzzy.length) {
    const found = await r.byNameAddress(fuzzy.map(({ row }) => ({ name: row.name!, address: row.address! })));
    fuzzy.forEach(({ i }, j) => {
      if (found[j]?.length) out[i] = { waybills: found[j]!, strong: [], by: 'name_address' };
    });
  }
  return out;
}

/** Fraction of consecutive dump rows (among those in the export) that keep the export's order. */
export function orderAgreement(dumpOrder: string[], exportOrder: string[]): number | null {
  const pos = new Map(exportOrder.map((w, i) => [w, i]));
  const seq = dumpOrder.map((w) => pos.get(w)).filter((x): x is number => x !== undefined);
  if (seq.length < 3) return null;
  let kept = 0;
  for (let i = 1; i < seq.length; i++) if (seq[i]! > seq[i - 1]!) kept++;
  return Math.round((kept / (seq.length - 1)) * 1000) / 1000;
}

export async function attribute(
  dump: Dump,
  resolver: Resolver,
  loadHistory: (leaked: Set<string>) => Promise<History>,
  opts: AttributeOptions,
): Promise<Attribution> {
  let matches = await matchRows(dump.rows, resolver);
  let leaked = new Set(matches.flatMap((m) => m.waybills));
  const history = await loadHistory(leaked);
  if (opts.seenOnly) {
    const seen = new Set(history.exposures.map((e) => e.waybill));
    matches = matches.map((m) => ({ ...m, waybills: m.waybills.filter((w) => seen.has(w) || m.strong.some((s) => s.waybill === w)) }));
    matches = matches.map((m) => (m.waybills.length ? m : { ...m, by: 'none' }));
    leaked = new Set(matches.flatMap((m) => m.waybills));
  }
  const exposures = [...history.exposures, ...matches.flatMap((m) => m.strong)];

  // A marked export's own canary rows name the recipient and the moment.
  const canaries = await resolver.exportCanaries([...leaked]);
  const dumpOrder = matches.flatMap((m) => m.waybills);
  const exports = new Map<string, Attribution['exports'][number]>();
  for (const [waybill, x] of canaries) {
    exposures.push({ account: x.account, waybill, ts: x.created_at, device: x.device, ip: x.ip, via: 'export_canary' });
    const e = exports.get(x.id) ?? { id: x.id, account: x.account, created_at: new Date(x.created_at).toISOString(), canaries: 0, order_agreement: orderAgreement(dumpOrder, x.row_order) };
    e.canaries++;
    exports.set(x.id, e);
  }

  const suspects = rank(leaked, { ...history, exposures }, { limit: opts.limit ?? 100 });
  const sources = suspects.filter((s) => s.source);
  const unverified = suspects.filter((s) => s.unverified_source);
  // The window from the trail's sources; only when it names none, from upstream's word.
  const after = (sources.length ? sources : unverified).map((s) => s.leak_after).filter((x): x is string => x !== null).sort();
  const by: Record<string, number> = {};
  for (const m of matches) by[m.by] = (by[m.by] ?? 0) + 1;
  const matchedRows = matches.filter((m) => m.waybills.length).length;
  return {
    matched: matchedRows,
    unmatched: dump.rows.length - matchedRows + dump.junk,
    junk: dump.junk,
    records: leaked.size,
    suspects,
    sources: sources.map((s) => s.account),
    unverified_sources: unverified.map((s) => s.account),
    window: { from: after.at(-1) ?? null, to: new Date(opts.foundAt).toISOString() },
    exports: [...exports.values()],
    by,
    audit_inconsistent: (history.inconsistent ?? 0) + (resolver.inconsistent?.() ?? 0),
    late_history: history.lateHistory ?? 0,
  };
}

export interface AttributeOptions {
  foundAt: number;
  limit?: number;
  /** seenOnly: a waybill counts only if the history shows it (an outside events file, where the vault cannot say which numbers exist). */
  seenOnly?: boolean;
}

/**
 * The whole run from a leaked file's bytes, as the CLI and an upload route take it: read (CSV or
 * XLSX), match, read the history, rank. A file that is not a readable dump is an AppError
 * (`unsupported_media_type`, `validation_failed`) before anything is looked up.
 */
export async function attributeLeak(
  bytes: Buffer,
  deps: {
    resolver: Resolver;
    loadHistory: (leaked: Set<string>) => Promise<History>;
    /** Asked after the file is read and before anything is looked up: throws to refuse the run (size, quota). */
    admit?: (dump: Dump) => Promise<void>;
  },
  opts: AttributeOptions,
): Promise<Attribution & { rows: number }> {
  const dump = await readDump(bytes);
  await deps.admit?.(dump);
  const out = await attribute(dump, deps.resolver, deps.loadHistory, opts);
  return { ...out, rows: dump.rows.length };
}

/** Usable rows that differ in what they name (a row repeated to pad a lookup counts once). */
export function distinctRows(dump: Dump): number {
  return new Set(dump.rows.map((r) => JSON.stringify([r.waybill, r.phone, r.id_number, r.name?.trim(), r.address?.trim()]))).size;
}

/** Resolves waybill numbers only (no store): every well-formed number is taken as a record. */
export const waybillOnlyResolver: Resolver = {
  existing: async (ws) => new Set(ws),
  byPhone: async () => new Map(),
  byIdNumber: async () => new Map(),
  bindings: async () => new Map(),
  byNameAddress: async (rows) => rows.map(() => []),
  exportCanaries: async () => new Map(),
};
