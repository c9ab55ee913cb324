/**
 * Ranks the accounts whose access history best explains a leaked dump.
 *
 * For an innocent account that was shown V records in full out of a universe of U, any one leaked
 * record is among them with probability p = V / U (its base rate, given its volume). Of the d
 * matched records it would hold about d·p; holding k of them, the likelihood ratio of "this account
 * is the source of its share" (rate k/d) against "innocent" (rate p) is the binomial ratio
 *   LR = (k / dp)^k · ((d − k) / d(1 − p))^(d − k),
 * and an account's score is log10 LR (0 when k ≤ dp). Links that name one account outright — a
 * virtual number issued only to it, a marked export's own canary row — add STRONG_LINK each.
 *
 * Merged sources are separated greedily: the best-scoring account is taken as a source, the records
 * it explains are removed, and the rest are scored again on what is left, until nothing scores
 * MIN_SOURCE_SCORE. Every other account is scored on the residual (what no source explains), so a
 * busy innocent who saw the same records ranks below the sources.
 *
 * Evidence has two standings (attack review 11, F1): what Warden itself recorded — the audit
 * trail's reveals and exports, virtual-number bindings, a marked export's canary rows, or an
 * outside events file taken whole — and what a producer reported (`upstream`: another system's
 * staff activity, in `activity_events`). A feeding service can invent an account that "revealed"
 * exactly the parcels a courier will leak, sent first; ranked together, that invention explained
 * the records and the courier who revealed them through Warden scored 0. So the sources are found
 * among the trail-backed accounts first, on the trail's evidence alone; accounts known only from
 * upstream events are ranked after them, marked `unverified` (naming the producers that reported
 * them), scored only on what no trail source explains — a record both saw counts for the trail's
 * account — and never listed in `sources` (an upstream-only account that would be a source on
 * that residual is an `unverified_source`).
 */
export const STRONG_LINK = 6;
export const MIN_SOURCE_SCORE = 3;
const MAX_SOURCES = 25;

export type ExposureVia = 'reveal' | 'export' | 'virtual_number' | 'export_canary';

export interface Exposure {
  account: string;
  waybill: string;
  ts: number;
  device: string | null;
  ip: string | null;
  via: ExposureVia;
  /** Reported by this upstream producer (`activity_events`), not recorded by Warden: unverified evidence. */
  upstream?: string;
}

export interface History {
  /** Records each account was shown in full (its volume), over the whole history read. */
  volume: Map<string, number>;
  /** Distinct records the history covers (U). */
  universe: number;
  /** Exposures of the matched records only. */
  exposures: Exposure[];
  /** Stored rows the trail does not back, left out (a marked export rewritten or deleted around Warden: attack review 10). */
  inconsistent?: number;
  /** Upstream exposures received after the trail showed another account the same record, left out (attack review 10). */
  lateHistory?: number;
}

export interface Suspect {
  account: string;
  matched: number;
  score: number;
  first: string | null;
  last: string | null;
  devices: string[];
  networks: string[];
  /** Judged a source of this dump (greedy separation), and how many matched records it explains beyond earlier sources. */
  source: boolean;
  explains: number;
  volume: number;
  /** The leak happened after this: the latest of the first times this account saw each matched record. */
  leak_after: string | null;
  /** Direct links: virtual numbers issued to it, canary rows of exports made for it. */
  links: number;
  /**
   * Known only from upstream producers' events (`reported_by`), not from Warden's trail: ranked after
   * every trail-backed account, scored on what no trail source explains, never a `source`.
   */
  unverified: boolean;
  /** The upstream producers whose events are this account's evidence (empty for a trail-backed account). */
  reported_by: string[];
  /** Unverified only: it would be a source of what the trail's sources leave unexplained (not proof: upstream's word). */
  unverified_source: boolean;
}

export function log10LR(k: number, d: number, p: number): number {
  if (k <= 0 || d <= 0 || p >= 1 || k <= d * p) return 0;
  const a = k * Math.log(k / (d * p));
  const b = d - k > 0 ? (d - k) * Math.log((d - k) / (d * (1 - p))) : 0;
  return (a + b) / Math.LN10;
}

interface AccountView {
  waybills: Set<string>;
  strong: Set<string>;
  exposures: Exposure[];
  /** Some evidence of it is Warden's own (trail, binding, export canary, events file). */
  trail: boolean;
  /** The upstream producers that reported its exposures. */
  reporters: Set<string>;
}

export function rank(matched: ReadonlySet<string>, history: History, opts: { limit?: number; minSourceScore?: number } = {}): Suspect[] {
  const universe = Math.max(history.universe, matched.size, 1);
  // Two views: what Warden recorded, and what upstream reported. An account with any evidence of
  // Warden's own is judged on that alone (an upstream report never adds to or takes from it).
  const views = { trail: new Map<string, AccountView>(), upstream: new Map<string, AccountView>() };
  for (const e of history.exposures) {
    if (!matched.has(e.waybill)) continue;
    const side = e.upstream === undefined ? views.trail : views.upstream;
    let v = side.get(e.account);
    if (!v) side.set(e.account, (v = { waybills: new Set(), strong: new Set(), exposures: [], trail: side === views.trail, reporters: new Set() }));
    v.waybills.add(e.waybill);
    if (e.via === 'virtual_number' || e.via === 'export_canary') v.strong.add(e.waybill);
    if (e.upstream !== undefined) v.reporters.add(e.upstream);
    v.exposures.push(e);
  }
  for (const account of views.trail.keys()) views.upstream.delete(account);
  const p = (account: string, v: AccountView) => Math.min(1, Math.max(history.volume.get(account) ?? 0, v.waybills.size, 1) / universe);
  const scoreOn = (account: string, v: AccountView, residual: ReadonlySet<string>) => {
    let k = 0;
    let strong = 0;
    for (const w of v.waybills) if (residual.has(w)) k++;
    for (const w of v.strong) if (residual.has(w)) strong++;
    return { k, score: log10LR(k, residual.size, p(account, v)) + STRONG_LINK * strong };
  };
  /** Greedy separation among `accounts` on `residual` (taken in place): the sources found, in order. */
  const separate = (accounts: ReadonlyMap<string, AccountView>, residual: Set<string>) => {
    const found = new Map<string, { score: number; explains: number }>();
    for (let round = 0; round < MAX_SOURCES && residual.size; round++) {
      let best: { account: string; score: number; k: number } | null = null;
      for (const [account, v] of accounts) {
        if (found.has(account)) continue;
        const s = scoreOn(account, v, residual);
        if (s.k && (!best || s.score > best.score || (s.score === best.score && account < best.account))) best = { account, score: s.score, k: s.k };
      }
      if (!best || best.score < (opts.minSourceScore ?? MIN_SOURCE_SCORE)) break;
      found.set(best.account, { score: best.score, explains: best.k });
      for (const w of accounts.get(best.account)!.waybills) residual.delete(w);
    }
    return found;
  };

  // The trail's accounts first, on the trail's evidence alone: nothing upstream reports moves them (review 11, F1).
  const { trail, upstream } = views;
  const residual = new Set(matched);
  const sources = separate(trail, residual);
  const trailResidual = new Set(residual);
  const unverified = separate(upstream, residual);

  const suspects: Suspect[] = [];
  for (const [account, v] of trail) {
    const src = sources.get(account);
    suspects.push(describe(account, v, src ? src.score : scoreOn(account, v, trailResidual).score, src, history.volume.get(account) ?? v.waybills.size));
  }
  for (const [account, v] of upstream) {
    const src = unverified.get(account);
    const s = describe(account, v, src ? src.score : scoreOn(account, v, residual).score, undefined, history.volume.get(account) ?? v.waybills.size);
    suspects.push({ ...s, explains: src?.explains ?? 0, unverified_source: Boolean(src) });
  }
  // Trail-backed accounts first, then the unverified; each by score (sources lead: they score ≥ MIN_SOURCE_SCORE, the rest < it on the residual).
  suspects.sort((a, b) => Number(a.unverified) - Number(b.unverified) || b.score - a.score || Number(b.source || b.unverified_source) - Number(a.source || a.unverified_source) || b.matched - a.matched || (a.account < b.account ? -1 : 1));
  return suspects.slice(0, opts.limit ?? 100);
}

function describe(account: string, v: AccountView, score: number, src: { explains: number } | undefined, volume: number): Suspect {
  let first = Infinity;
  let last = -Infinity;
  const firstSeen = new Map<string, number>();
  const devices = new Set<string>();
  const networks = new Set<string>();
  for (const e of v.exposures) {
    first = Math.min(first, e.ts);
    last = Math.max(last, e.ts);
    firstSeen.set(e.waybill, Math.min(firstSeen.get(e.waybill) ?? Infinity, e.ts));
    if (e.device) devices.add(e.device);
    if (e.ip) networks.add(e.ip);
  }
  let leakAfter = -Infinity;
  for (const t of firstSeen.values()) leakAfter = Math.max(leakAfter, t);
  const iso = (t: number) => (Number.isFinite(t) ? new Date(t).toISOString() : null);
  return {
    account,
    matched: v.waybills.size,
    score: Math.round(score * 100) / 100,
    first: iso(first),
    last: iso(last),
    devices: [...devices].sort(),
    networks: [...networks].sort(),
    source: Boolean(src),
    explains: src?.explains ?? 0,
    volume,
    leak_after: iso(leakAfter),
    links: v.strong.size,
    unverified: !v.trail,
    reported_by: v.trail ? [] : [...v.reporters].sort(),
    unverified_source: false,
  };
}
