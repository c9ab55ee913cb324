/**
 * ticket_churn — tickets opened, revealed and closed within minutes (attack review 10, F1).
 *
 * An agent whose tickets come from the ticketing system can open one on any parcel in the country
 * (a ticket event naming herself), reveal name, phone and address citing it seconds later and close
 * it a minute after: every reveal is ticket-backed, so `unexplained`, `trickle` and
 * `search_harvest` never see it. Honest ticket work looks different: a ticket is worked minutes to
 * hours after it opens (the customer is called back, the parcel looked up), and a complaint
 * campaign searches the customer before each reveal.
 *
 * A ticket-backed reveal is *young* when its ticket (opened for this account, on this waybill) is
 * less than `young_minutes` old and the account did not search the parcel before it; each ticket
 * counts once. The day's young reveals are judged against the peers' median daily count (same
 * role at the site, else city, else company; the role prior with too few peers), and must be at
 * least `min_share` of the day's ticket-backed reveals. The alert says tickets opened today, the
 * median life of the tickets closed today, the share of reveals on young tickets, the ratio to the
 * peers, the tier and the days of evidence.
 */
import type { Detector, DetectorEnv, Emit, EventContext } from '../types.js';
import { median, MINUTE, round } from '../util.js';
import { fromGateway } from './device-posture.js';
import { PeerShares, peerKeys, type PeerVerdict } from './evidence.js';

export const TICKET_CHURN = 'ticket_churn';

interface OpenTicket {
  waybill: string;
  at: number;
  /** A reveal citing it was counted (young or not). */
  revealed: boolean;
}

interface ChurnState {
  day: number;
  opened: number;
  ticketReveals: number;
  young: number;
  /** Lives (ms) of the tickets closed today (capped). */
  lives: number[];
  ids: string[];
  /** ticket id -> its opening, until closed or `max_open_tickets` newer ones. */
  tickets: Map<string, OpenTicket>;
  /** waybill -> latest ticket of this account on it. */
  byWaybill: Map<string, string>;
  evidenceDays: number[];
  foreign?: boolean;
}

export function createTicketChurnDetector(env: DetectorEnv): Detector {
  const c = env.config.detectors.ticket_churn;
  const youngMs = c.young_minutes * MINUTE;
  const book = new PeerShares(c.min_peers);
  let alerts = 0;

  function stateOf(ctx: EventContext): ChurnState {
    const a = ctx.account!;
    let s = a.slots[env.slot] as ChurnState | undefined;
    if (!s) {
      s = { day: ctx.day, opened: 0, ticketReveals: 0, young: 0, lives: [], ids: [], tickets: new Map(), byWaybill: new Map(), evidenceDays: [] };
      a.slots[env.slot] = s;
    }
    if (ctx.day > s.day) {
      if (s.ticketReveals > 0 && !s.foreign) book.add(peerKeys(env, a), a.id, s.young);
      s.day = ctx.day;
      s.opened = s.ticketReveals = s.young = 0;
      s.lives = [];
      s.ids = [];
    }
    return s;
  }

  function forget(s: ChurnState, ticket: string): void {
    const o = s.tickets.get(ticket);
    if (o === undefined) return;
    s.tickets.delete(ticket);
    if (s.byWaybill.get(o.waybill) === ticket) s.byWaybill.delete(o.waybill);
  }

  function onTicket(ctx: EventContext): void {
    const ev = ctx.event;
    if (ev.type !== 'ticket' || ev.waybill === undefined || ev.backfill === true) return;
    const s = stateOf(ctx);
    if (ev.status === 'open') {
      if (s.tickets.has(ev.ticket)) return; // re-sent: the first opening counts
      while (s.tickets.size >= c.max_open_tickets) forget(s, s.tickets.keys().next().value!);
      s.tickets.set(ev.ticket, { waybill: ev.waybill, at: ctx.t, revealed: false });
      s.byWaybill.set(ev.waybill, ev.ticket);
      s.opened++;
      return;
    }
    const o = s.tickets.get(ev.ticket);
    if (o === undefined || o.waybill !== ev.waybill) return;
    if (s.lives.length < 1000) s.lives.push(ctx.t - o.at);
    forget(s, ev.ticket);
  }

  function onEvent(ctx: EventContext, emit: Emit): void {
    const ev = ctx.event;
    if (ev.type === 'ticket') return onTicket(ctx);
    if (ev.type !== 'access' || ev.action !== 'reveal' || ctx.records === 0 || ctx.explanation !== 'ticket' || ev.waybill === undefined) return;
    const s = stateOf(ctx);
    if (!fromGateway(ev)) s.foreign = true;
    const id = ev.ticket ?? s.byWaybill.get(ev.waybill);
    const o = id === undefined ? undefined : s.tickets.get(id);
    if (o === undefined || o.waybill !== ev.waybill || o.revealed) return;
    o.revealed = true;
    s.ticketReveals++;
    const a = ctx.account!;
    const searched = a.searches?.get(ev.waybill);
    const age = ctx.t - o.at;
    if (age < 0 || age > youngMs || (searched !== undefined && searched <= ctx.t)) return;
    s.young++;
    if (s.ids.length < 20) s.ids.push(ev.id);
    if (s.young < c.min_records) return;
    const share = s.young / s.ticketReveals;
    if (share < c.min_share) return;
    const peers = book.verdict(peerKeys(env, a), a.id, c.prior_records);
    const ratio = s.young / Math.max(peers.median, c.floor_records);
    if (ratio < c.peer_factor) return;
    alerts++;
    emit(signal(s, ctx, share, peers, ratio));
  }

  function signal(s: ChurnState, ctx: EventContext, share: number, peers: PeerVerdict, ratio: number): Parameters<Emit>[0] {
    const a = ctx.account!;
    const days = noteDay(s.evidenceDays, ctx.day);
    const life = s.lives.length > 0 ? median(s.lives) / MINUTE : null;
    const against =
      peers.tier === 'role_prior'
        ? 'the role prior (too few peers with a day on record)'
        : `the median of ${peers.peers} peers (same role, ${peers.tier === 'company' ? 'company-wide' : `same ${peers.tier}`})`;
    return {
      account: a.id,
      device: ctx.event.device,
      score: Math.min(95, 50 + (s.young - c.min_records) / 2 + 10 * (days - 1)),
      subject: TICKET_CHURN,
      summary:
        `Account ${a.id} (${a.role}) revealed ${s.young} parcels today on tickets under ${c.young_minutes} min old with no search before ` +
        `(${round(share * 100, 0)} % of its ${s.ticketReveals} ticket-backed reveals; ${round(ratio, 1)}x ${against}); ` +
        `${s.opened} tickets opened today, median life of those closed ${life === null ? 'n/a (none closed yet)' : `${round(life, 1)} min`}; ${days} day(s) of evidence.`,
      evidence: {
        event_ids: s.ids.slice(-10),
        young_reveals: s.young,
        ticket_reveals_today: s.ticketReveals,
        young_share: round(share, 3),
        young_minutes: c.young_minutes,
        tickets_opened_today: s.opened,
        tickets_closed_today: s.lives.length,
        median_ticket_life_minutes: life === null ? null : round(life, 1),
        peer_median_young: round(peers.median, 1),
        ratio_vs_peers: round(ratio, 2),
        peer_tier: peers.tier,
        peer_group_size: peers.peers,
        peer_account_days: peers.days,
        days_of_evidence: days,
      },
    };
  }

  return { name: TICKET_CHURN, scope: 'global', types: ['ticket', 'access'], onEvent, stats: () => ({ alerts, peer_tiers: book.size }) };
}

/** Days (local day numbers) with an alert, most recent last, at most 14. */
function noteDay(days: number[], day: number): number {
  if (days[days.length - 1] !== day) days.push(day);
  while (days.length > 14 || (days.length > 0 && days[0]! < day - 13)) days.shift();
  return days.length;
}
