import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateEvent, type ActivityEvent } from '../contracts/events.js';
import { idNumberCheckChar } from '../vault/id-number.js';
import { LineSerializer, createSimulation, describeWorld, parcelPii, resolveParams, writeSimulation, type TruthFile } from './index.js';
import { LANDLINE_RE, MOBILE_RE, NameGenerator } from './pii.js';
import { Rng } from './rng.js';
import { COMPOUND_SURNAMES, surnameTable } from './data/surnames.js';

const dir = mkdtempSync(join(tmpdir(), 'warden-sim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function simulate(seed: number, name: string) {
  const run = createSimulation(resolveParams({ seed }, 'tiny'));
  const out = join(dir, `${name}.ndjson`);
  const truthPath = join(dir, `${name}.truth.json`);
  await writeSimulation(run, { out, truth: truthPath });
  return { run, out, truthPath };
}

let text: string;
let events: ActivityEvent[];
let truth: TruthFile;
let byId: Map<string, ActivityEvent>;
let world: ReturnType<typeof createSimulation>['world'];
const CST = 8 * 3_600_000;
const localHour = (ts: string) => new Date(Date.parse(ts) + CST).getUTCHours();

beforeAll(async () => {
  const r = await simulate(11, 'a');
  world = r.run.world;
  text = readFileSync(r.out, 'utf8');
  truth = JSON.parse(readFileSync(r.truthPath, 'utf8')) as TruthFile;
  events = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    events.push(JSON.parse(line) as ActivityEvent);
  }
  byId = new Map(events.map((e) => [e.id, e]));
}, 60_000);

describe('warden simulate output', () => {
  it('is contract NDJSON: every line validates, ids are unique, lines are in ts order', () => {
    expect(events.length).toBeGreaterThan(10_000);
    const bad = events.map((e, i) => [i + 1, validateEvent(e)] as const).filter(([, r]) => !r.ok);
    expect(bad.slice(0, 3)).toEqual([]);
    expect(byId.size).toBe(events.length);
    for (let i = 1; i < events.length; i++) {
      if (events[i]!.ts < events[i - 1]!.ts) throw new Error(`line ${i + 1} is out of order`);
    }
    expect(text.endsWith('\n')).toBe(true);
  });

  it('gives byte-identical output for the same seed and different output for another', async () => {
    const again = await simulate(11, 'b');
    expect(readFileSync(again.out).equals(Buffer.from(text))).toBe(true);
    expect(readFileSync(again.truthPath, 'utf8')).toBe(JSON.stringify(truth, null, 1) + '\n');
    const other = await simulate(12, 'c');
    expect(readFileSync(other.out, 'utf8')).not.toBe(text);
  }, 60_000);

  it('plays the same actions through the object API (for live drivers) as it writes to the file', () => {
    const ser = new LineSerializer();
    let n = 0;
    const lines: string[] = [];
    for (const day of createSimulation(resolveParams({ seed: 11 }, 'tiny')).days()) for (const a of day.actions) lines.push(ser.line(a, `e${++n}`));
    expect(lines.join('')).toBe(text);
  });

  it('has the normal life of a parcel: created, assigned, revealed by the assignee, scanned through to delivery', () => {
    const types = new Set(events.map((e) => e.type));
    expect([...types].sort()).toEqual(['access', 'assign', 'login', 'logout', 'scan', 'ticket', 'waybill']);
    const ops = new Set(events.filter((e) => e.type === 'scan').map((e) => (e as { op: string }).op));
    expect([...ops].sort()).toEqual(['arrive', 'delivered', 'depart', 'out_for_delivery', 'pickup']);
    // ordinary courier reveals are backed by an assignment to that courier made earlier
    const attackIds = new Set(truth.attacks.flatMap((a) => a.event_ids));
    const assigned = new Set<string>();
    let explained = 0;
    let total = 0;
    for (const e of events) {
      if (e.type === 'assign') assigned.add(`${e.account}|${e.waybill}`);
      if (e.type === 'access' && e.role === 'courier' && e.action === 'reveal' && !attackIds.has(e.id)) {
        total++;
        if (assigned.has(`${e.account}|${e.waybill}`)) explained++;
      }
    }
    expect(total).toBeGreaterThan(500);
    expect(explained / total).toBeGreaterThan(0.99);
  });

  it('moves every parcel through its life in order: created, picked up, sorted, out for delivery, delivered', () => {
    const RANK: Record<string, number> = { pickup: 1, arrive: 2, depart: 2, out_for_delivery: 3, delivered: 4 };
    const seen = new Map<string, { rank: number; created: boolean; outletArrive: boolean }>();
    let checked = 0;
    for (const e of events) {
      if (e.type === 'waybill') {
        seen.set(e.waybill, { rank: 0, created: true, outletArrive: false });
        continue;
      }
      if (e.type !== 'scan' && !(e.type === 'assign' && (e as { task: string }).task === 'delivery')) continue;
      const st = seen.get(e.waybill);
      if (!st) continue; // created before the run started
      if (e.type === 'assign') {
        // delivery work is handed out only once the parcel is at the outlet
        if (st.outletArrive) checked++;
        expect(st.outletArrive || st.rank >= 3).toBe(true);
        continue;
      }
      const op = (e as { op: string }).op;
      const rank = RANK[op]!;
      if (rank < st.rank && !(rank === 3 && st.rank === 3)) throw new Error(`${e.waybill}: ${op} after rank ${st.rank}`);
      st.rank = Math.max(st.rank, rank === 3 ? 3 : rank);
      if (op === 'arrive' && e.site?.includes('-O')) st.outletArrive = true;
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('allocates waybill numbers in sequence per origin outlet, in creation order', () => {
    const last = new Map<string, number>();
    for (const e of events) {
      if (e.type !== 'waybill') continue;
      expect(e.waybill).toMatch(/^WD\d{13}$/);
      const origin = (e as { origin_site: string }).origin_site;
      const n = Number(e.waybill.slice(2));
      const prev = last.get(origin);
      if (prev !== undefined) expect(n).toBe(prev + 1);
      last.set(origin, n);
    }
    expect(last.size).toBe(world.outlets.length);
  });

  it('keeps couriers to working hours and everyone on a session opened by a login', () => {
    const attackIds = new Set(truth.attacks.flatMap((a) => a.event_ids));
    const opened = new Set<string>();
    for (const e of events) {
      if (e.type === 'login' && e.result === 'success' && e.session) opened.add(e.session);
      if (e.session && e.type !== 'login') expect(opened.has(e.session)).toBe(true);
      if (e.role === 'courier' && e.type === 'access' && !attackIds.has(e.id)) {
        const h = localHour(e.ts);
        expect(h >= 6 && h <= 21).toBe(true);
      }
    }
  });
});

describe('labelled attacks', () => {
  const expected = ['leased_night', 'leased_remote', 'cs_insider', 'scanner_malware', 'courier_ring', 'credential_stuffing', 'manager_dump', 'work_harvest', 'search_harvest', 'trickle', 'work_harvest_evasive', 'split_harvest', 'clerk_door_harvest', 'clerk_old_parcel_harvest'];

  it('are all present, with accounts, window and event ids that exist in the output', () => {
    expect(truth.attacks.map((a) => a.scenario).sort()).toEqual([...expected].sort());
    for (const a of truth.attacks) {
      expect(a.accounts.length).toBeGreaterThan(0);
      expect(a.event_ids.length).toBe(a.event_count);
      const evs = a.event_ids.map((id) => byId.get(id));
      expect(evs.every((e) => e !== undefined)).toBe(true);
      const accounts = new Set([...a.accounts, ...a.related_accounts]);
      for (const e of evs) expect(accounts.has(e!.account!)).toBe(true);
      expect(evs[0]!.ts).toBe(a.window.start);
      expect(evs[evs.length - 1]!.ts).toBe(a.window.end);
      expect(a.records_exposed).toBeGreaterThan(0);
    }
  });

  const attack = (name: string) => {
    const a = truth.attacks.find((x) => x.scenario === name)!;
    return { a, evs: a.event_ids.map((id) => byId.get(id)!) };
  };
  const ownDevices = (account: string) => new Set(events.filter((e) => e.account === account && e.device && e.type === 'login').map((e) => e.device));

  it('leased_night: at night, from a device and city the owner never uses', () => {
    const { a, evs } = attack('leased_night');
    const owner = a.accounts[0]!;
    const normal = events.filter((e) => e.account === owner && !a.event_ids.includes(e.id));
    const ownDev = new Set(normal.map((e) => e.device).filter(Boolean));
    const ownCity = new Set(normal.map((e) => e.city).filter(Boolean));
    for (const e of evs) {
      expect(ownDev.has(e.device)).toBe(false);
      expect(ownCity.has(e.city)).toBe(false);
      const h = localHour(e.ts);
      expect(h >= 22 || h < 6).toBe(true);
    }
    expect(evs.filter((e) => e.type === 'access').length).toBeGreaterThan(400);
  });

  it('leased_remote: the owner\'s own desktop and network, walking consecutive waybill numbers after hours', () => {
    const { a, evs } = attack('leased_remote');
    const owner = a.accounts[0]!;
    const devs = ownDevices(owner);
    const reveals = evs.filter((e) => e.type === 'access') as { waybill: string; device: string; ts: string }[];
    for (const e of reveals) expect(devs.has(e.device)).toBe(true);
    let steps = 0;
    for (let i = 1; i < reveals.length; i++) {
      const d = Number(reveals[i]!.waybill.slice(2)) - Number(reveals[i - 1]!.waybill.slice(2));
      if (d >= 1 && d <= 2) steps++;
    }
    expect(steps / reveals.length).toBeGreaterThan(0.9);
    for (const e of reveals) expect(localHour(e.ts) >= 20 || localHour(e.ts) < 4).toBe(true);
  });

  it('cs_insider: a few dozen reveals a day during the shift, with no ticket', () => {
    const { evs } = attack('cs_insider');
    const perDay = new Map<string, number>();
    for (const e of evs) {
      expect(e.type).toBe('access');
      expect((e as { ticket?: string }).ticket).toBeUndefined();
      const day = new Date(Date.parse(e.ts) + CST).toISOString().slice(0, 10);
      perDay.set(day, (perDay.get(day) ?? 0) + 1);
    }
    for (const n of perDay.values()) expect(n).toBeGreaterThanOrEqual(20);
    for (const n of perDay.values()) expect(n).toBeLessThanOrEqual(60);
  });

  it('scanner_malware: one device on an app build no other device runs, revealing unassigned parcels', () => {
    const { a, evs } = attack('scanner_malware');
    const login = evs.find((e) => e.type === 'login') as { app_hash: string } | undefined;
    expect(login).toBeDefined();
    const others = events.filter((e) => e.type === 'login' && e.device !== a.devices[0] && (e as { app_hash?: string }).app_hash === login!.app_hash);
    expect(others).toEqual([]);
    const assigned = new Set(events.filter((e) => e.type === 'assign' && e.account === a.accounts[0]).map((e) => (e as { waybill: string }).waybill));
    const reveals = evs.filter((e) => e.type === 'access') as { waybill: string }[];
    expect(reveals.filter((e) => assigned.has(e.waybill)).length / reveals.length).toBeLessThan(0.1);
  });

  it('courier_ring: couriers at several outlets, one proxy /24, each under 60 reveals an hour and 400 a day', () => {
    const { a, evs } = attack('courier_ring');
    expect(a.accounts.length).toBeGreaterThanOrEqual(3);
    const sites = new Set(evs.map((e) => e.site));
    expect(sites.size).toBeGreaterThanOrEqual(3);
    const nets = new Set(evs.filter((e) => e.ip).map((e) => e.ip!.split('.').slice(0, 3).join('.')));
    expect(nets.size).toBe(1);
    const perHour = new Map<string, number>();
    const perDay = new Map<string, number>();
    for (const e of events) {
      if (e.type !== 'access' || e.action !== 'reveal' || !a.accounts.includes(e.account)) continue;
      const local = new Date(Date.parse(e.ts) + CST).toISOString();
      perHour.set(`${e.account} ${local.slice(0, 13)}`, (perHour.get(`${e.account} ${local.slice(0, 13)}`) ?? 0) + 1);
      perDay.set(`${e.account} ${local.slice(0, 10)}`, (perDay.get(`${e.account} ${local.slice(0, 10)}`) ?? 0) + 1);
    }
    expect(Math.max(...perHour.values())).toBeLessThan(60);
    expect(Math.max(...perDay.values())).toBeLessThan(400);
  });

  it('credential_stuffing: a burst of failed logins across accounts, then a login without MFA and bulk exports', () => {
    const { a, evs } = attack('credential_stuffing');
    const fails = evs.filter((e) => e.type === 'login' && e.result === 'failure');
    expect(fails.length).toBeGreaterThan(100);
    expect(new Set(fails.map((e) => e.account)).size).toBeGreaterThan(10);
    const ok = evs.find((e) => e.type === 'login' && e.result === 'success') as { mfa: boolean; ts: string; account: string };
    expect(ok.account).toBe(a.accounts[0]);
    expect(ok.mfa).toBe(false);
    expect(fails.every((f) => f.ts <= ok.ts)).toBe(true);
    const exports = evs.filter((e) => e.type === 'access' && e.action === 'export') as { waybills: string[] }[];
    expect(exports.length).toBeGreaterThan(0);
    expect(exports[0]!.waybills.length).toBeGreaterThan(100);
  });

  it('manager_dump: exports of the manager\'s city at night', () => {
    const { a, evs } = attack('manager_dump');
    const exports = evs.filter((e) => e.type === 'access' && e.action === 'export') as { waybills: string[]; ts: string }[];
    expect(exports.length).toBeGreaterThan(0);
    for (const e of exports) expect(localHour(e.ts) >= 22 || localHour(e.ts) < 5).toBe(true);
    const city = world.byId.get(a.accounts[0]!)!.city;
    const destCity = new Map(events.filter((e) => e.type === 'waybill').map((e) => [e.waybill, e as { dest_city: string; origin_site: string }]));
    const wb = exports[0]!.waybills[0]!;
    const w = destCity.get(wb)!;
    expect(w.dest_city === city.def.en || w.origin_site.startsWith(city.def.abbr)).toBe(true);
  });

  const assignedAt = () => {
    const m = new Map<string, number[]>();
    for (const e of events) if (e.type === 'assign') m.set(`${e.account}|${e.waybill}`, [...(m.get(`${e.account}|${e.waybill}`) ?? []), Date.parse(e.ts)]);
    return m;
  };

  it('work_harvest: full reveals of the courier\'s own assigned parcels, minutes after each assignment', () => {
    const { a, evs } = attack('work_harvest');
    const at = assignedAt();
    const reveals = evs.filter((e) => e.type === 'access' && e.action === 'reveal') as (ActivityEvent & { waybill: string; fields: string[] })[];
    expect(reveals.length).toBeGreaterThan(10);
    const delays: number[] = [];
    for (const e of reveals) {
      const ts = (at.get(`${a.accounts[0]}|${e.waybill}`) ?? []).filter((t) => t <= Date.parse(e.ts));
      expect(ts.length).toBeGreaterThan(0); // backed by an assignment made before it
      delays.push((Date.parse(e.ts) - Math.max(...ts)) / 60_000);
      expect([...e.fields].sort()).toEqual(['address', 'name', 'phone']);
    }
    delays.sort((x, y) => x - y);
    expect(delays[delays.length >> 1]).toBeLessThanOrEqual(10); // minutes after the assignment (a few clamped into the shift)
  });

  it('search_harvest: one search per number, each followed within a minute by a full reveal of what it found, no ticket', () => {
    const { evs } = attack('search_harvest');
    const searches = evs.filter((e) => e.type === 'access' && e.action === 'search') as (ActivityEvent & { waybills: string[] })[];
    const reveals = evs.filter((e) => e.type === 'access' && e.action === 'reveal') as (ActivityEvent & { waybill: string; ticket?: string })[];
    expect(searches.length).toBeGreaterThan(50);
    expect(reveals.length).toBe(searches.length);
    searches.forEach((s, i) => {
      expect(s.waybills).toEqual([reveals[i]!.waybill]);
      expect(Date.parse(reveals[i]!.ts) - Date.parse(s.ts)).toBeLessThanOrEqual(60_000);
      expect(reveals[i]!.ticket).toBeUndefined();
    });
  });

  it('trickle: a handful of unexplained reveals a day, on several days', () => {
    const { a, evs } = attack('trickle');
    const perDay = new Map<string, number>();
    for (const e of evs) if (e.type === 'access') perDay.set(new Date(Date.parse(e.ts) + CST).toISOString().slice(0, 10), (perDay.get(new Date(Date.parse(e.ts) + CST).toISOString().slice(0, 10)) ?? 0) + 1);
    expect(perDay.size).toBeGreaterThanOrEqual(3);
    for (const n of perDay.values()) expect(n >= (a.params.minPerDay as number) && n <= (a.params.maxPerDay as number)).toBe(true);
    for (const e of evs) expect((e as { ticket?: string }).ticket).toBeUndefined();
  });

  it('ticket_harvest: each full reveal cites a ticket of the agent opened < 1 min before and closed about a minute after', () => {
    // the tiny world has no customer-service agent left for it (the truth file records the skip)
    const planned = truth.attacks.find((x) => x.scenario === 'ticket_harvest');
    if (!planned) {
      expect(truth.skipped.map((x) => x.scenario)).toContain('ticket_harvest');
      return;
    }
    const { a, evs } = attack('ticket_harvest');
    const tickets = new Map<string, { open?: number; closed?: number; account?: string }>();
    for (const e of events) if (e.type === 'ticket') {
      const t = tickets.get(e.ticket) ?? {};
      t.account = e.account;
      if (e.status === 'open') t.open = Date.parse(e.ts);
      else t.closed = Date.parse(e.ts);
      tickets.set(e.ticket, t);
    }
    const reveals = evs.filter((e) => e.type === 'access' && e.action === 'reveal');
    expect(reveals.length).toBeGreaterThan(50);
    for (const r of reveals) {
      const t = tickets.get((r as { ticket?: string }).ticket ?? '')!;
      expect(t.account).toBe(a.accounts[0]);
      expect(Date.parse(r.ts) - t.open!).toBeLessThanOrEqual(60_000);
      expect(t.closed! - Date.parse(r.ts)).toBeLessThanOrEqual(90_000);
    }
  });

  it('clerk_door_harvest: the clerk reveals her own outlet\'s parcels that a courier was assigned to deliver', () => {
    const { a, evs } = attack('clerk_door_harvest');
    const clerk = events.find((e) => e.account === a.accounts[0] && e.type === 'login')!;
    const dest = new Map(events.filter((e) => e.type === 'waybill').map((e) => [e.waybill, e.dest_site]));
    const door = new Set(events.flatMap((e) => (e.type === 'assign' && e.task === 'delivery' ? [e.waybill] : [])));
    const reveals = evs.flatMap((e) => (e.type === 'access' && e.action === 'reveal' ? [e.waybill!] : []));
    expect(reveals.length).toBeGreaterThan(10);
    for (const wb of reveals) {
      expect(dest.get(wb)).toBe(clerk.site);
      expect(door.has(wb)).toBe(true);
    }
  });

  it('clerk_old_parcel_harvest: the clerk reveals her own outlet\'s past parcels, each collected at its counter or sent from it a day or more before', () => {
    const { a, evs } = attack('clerk_old_parcel_harvest');
    const site = events.find((e) => e.account === a.accounts[0] && e.type === 'login')!.site;
    const route = new Map(events.filter((e) => e.type === 'waybill').map((e) => [e.waybill, e]));
    const doneAt = new Map<string, number>();
    for (const e of events) if (e.type === 'scan' && (e.op === 'delivered' || e.op === 'pickup') && !doneAt.has(e.waybill!)) doneAt.set(e.waybill!, Date.parse(e.ts));
    const reveals = evs.flatMap((e) => (e.type === 'access' && e.action === 'reveal' ? [{ wb: e.waybill!, t: Date.parse(e.ts) }] : []));
    expect(reveals.length).toBeGreaterThan(10);
    for (const r of reveals) {
      const w = route.get(r.wb)!;
      expect(w.origin_site === site || w.dest_site === site).toBe(true);
      expect(r.t - doneAt.get(r.wb)!).toBeGreaterThan(12 * 3600_000);
    }
  });
});

describe('labelled look-alikes', () => {
  it('cover every kind, with windows inside the run', () => {
    const kinds = new Set(truth.lookalikes.map((l) => l.kind));
    for (const k of ['new_hire', 'new_phone', 'covering_route', 'manager_travel', 'app_update', 'busy_agent', 'surge', 'rural_route', 'new_route', 'complaint_campaign', 'clerk_old_parcel_questions']) expect(kinds.has(k)).toBe(true);
    for (const l of truth.lookalikes) {
      expect(l.window.start >= truth.start && l.window.end <= truth.end && l.window.start < l.window.end).toBe(true);
      expect(l.accounts.length > 0 || l.all_accounts).toBe(true);
    }
    const attackers = new Set(truth.attacks.flatMap((a) => a.accounts));
    for (const l of truth.lookalikes) if (!l.all_accounts && l.kind !== 'app_update') for (const acc of l.accounts) expect(attackers.has(acc)).toBe(false);
  });

  it('new hires have no activity before they start', () => {
    const l = truth.lookalikes.find((x) => x.kind === 'new_hire' && !x.params.temporary)!;
    for (const acc of l.accounts) {
      const mine = events.filter((e) => e.account === acc);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine[0]!.ts >= l.window.start).toBe(true);
    }
  });

  it('covering a colleague\'s route: assigned parcels of another outlet, revealed with the assignment', () => {
    const l = truth.lookalikes.find((x) => x.kind === 'covering_route')!;
    const helper = l.accounts[0]!;
    const home = world.byId.get(helper)!.site.code;
    const dest = new Map(events.filter((e) => e.type === 'waybill').map((e) => [e.waybill, (e as { dest_site: string }).dest_site]));
    const away = events.filter((e) => e.account === helper && e.type === 'assign' && (e as { task: string }).task === 'delivery' && dest.get(e.waybill) !== home);
    expect(away.length).toBeGreaterThan(5);
    for (const e of away) expect(e.ts >= l.window.start && e.ts < l.window.end).toBe(true);
  });

  it('rural route calls ahead with the phone only; a complaint campaign cites a ticket on every reveal', () => {
    const rural = truth.lookalikes.find((x) => x.kind === 'rural_route')!.accounts[0]!;
    const phoneOnly = events.filter((e) => e.account === rural && e.type === 'access' && e.action === 'reveal' && (e as { fields: string[] }).fields.join() === 'phone');
    expect(phoneOnly.length).toBeGreaterThan(10);
    const agent = truth.lookalikes.find((x) => x.kind === 'complaint_campaign')!;
    const start = agent.window.start;
    const end = agent.window.end;
    const cited = events.filter((e) => e.account === agent.accounts[0] && e.type === 'access' && e.action === 'reveal' && e.ts >= start && e.ts < end && (e as { ticket?: string }).ticket?.startsWith('TK'));
    expect(cited.length).toBeGreaterThan(10);
  });

  it('the fleet app update moves every courier device to the new build within its window', () => {
    const l = truth.lookalikes.find((x) => x.kind === 'app_update')!;
    const malware = new Set(truth.attacks.find((a) => a.scenario === 'scanner_malware')!.devices);
    const after = events.filter((e) => e.type === 'login' && e.role === 'courier' && e.result === 'success' && e.ts >= l.window.end && !malware.has(e.device!) && !truth.attacks.some((a) => a.event_ids.includes(e.id)));
    expect(after.length).toBeGreaterThan(0);
    for (const e of after) expect((e as { app_hash: string }).app_hash).toBe(l.params.to);
    const before = events.filter((e) => e.type === 'login' && e.role === 'courier' && e.ts < l.window.start);
    for (const e of before) expect((e as { app_hash: string }).app_hash).toBe(l.params.from);
  });

  it('the surge multiplies the day\'s new parcels several times', () => {
    const l = truth.lookalikes.find((x) => x.kind === 'surge')!;
    const perDay = new Map<string, number>();
    for (const e of events) if (e.type === 'waybill') perDay.set(new Date(Date.parse(e.ts) + CST).toISOString().slice(0, 10), (perDay.get(new Date(Date.parse(e.ts) + CST).toISOString().slice(0, 10)) ?? 0) + 1);
    const surgeDate = new Date(Date.parse(l.window.start) + CST).toISOString().slice(0, 10);
    const ordinary = [...perDay.entries()].filter(([d]) => d < surgeDate).map(([, n]) => n);
    expect(perDay.get(surgeDate)! / Math.max(...ordinary)).toBeGreaterThan(2);
  });
});

describe('customer PII', () => {
  it('parcels carry valid mobile numbers, ID numbers with real dates and check digits, and full addresses', () => {
    const waybills = events.filter((e) => e.type === 'waybill').slice(0, 400).map((e) => e.waybill);
    let ids = 0;
    for (const wb of waybills) {
      const p = parcelPii(world, wb)!;
      expect(p).toBeDefined();
      expect(p.waybill).toBe(wb);
      expect(p.recipient.phone).toMatch(MOBILE_RE);
      expect(MOBILE_RE.test(p.sender.phone) || LANDLINE_RE.test(p.sender.phone)).toBe(true);
      for (const a of [p.sender.address, p.recipient.address]) {
        expect(a.detail).toMatch(/室$/);
        expect(a.province && a.city && a.district && a.street).toBeTruthy();
        expect(a.division).toMatch(/^\d{9}$/);
      }
      if (p.sender.id_number) {
        ids++;
        const id = p.sender.id_number;
        expect(id).toMatch(/^\d{17}[\dX]$/);
        expect(idNumberCheckChar(id.slice(0, 17))).toBe(id[17]);
        const date = `${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}`;
        expect(new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10)).toBe(date);
      }
    }
    expect(ids).toBeGreaterThan(100);
    expect(parcelPii(world, 'WD0000000000000')).toBeUndefined();
  });

  it('names follow the real surname distribution: top 5 ~32%, top 100 ~86%, >90% three characters, some compound surnames', () => {
    const table = surnameTable();
    const sum = (n: number) => table.shares.slice(0, n).reduce((a, b) => a + b, 0);
    expect(sum(5)).toBeCloseTo(31.9, 1);
    expect(sum(100)).toBeCloseTo(86, 1);
    const gen = new NameGenerator();
    const r = new Rng(5);
    const top5 = new Set(table.names.slice(0, 5));
    let inTop5 = 0;
    let three = 0;
    let compound = 0;
    const N = 40_000;
    for (let i = 0; i < N; i++) {
      const p = gen.draw(r);
      if (top5.has(p.surname)) inTop5++;
      if ([...p.name].length === 3) three++;
      if (COMPOUND_SURNAMES.includes(p.surname)) compound++;
    }
    expect(inTop5 / N).toBeGreaterThan(0.29);
    expect(inTop5 / N).toBeLessThan(0.35);
    expect(three / N).toBeGreaterThan(0.9);
    expect(compound).toBeGreaterThan(20);
  });

  it('describes the world for a live driver: sites with cities, accounts with roles, sites and devices', () => {
    const d = describeWorld(world);
    const roles = new Set(d.accounts.map((a) => a.role));
    for (const r of ['courier', 'outlet_staff', 'sorting', 'customer_service', 'manager', 'it_admin', 'security_analyst']) expect(roles.has(r)).toBe(true);
    expect(new Set(d.sites.map((s) => s.kind))).toEqual(new Set(['outlet', 'sorting', 'cs', 'hq']));
    const codes = new Set(d.sites.map((s) => s.code));
    for (const a of d.accounts) expect(codes.has(a.site)).toBe(true);
  });
});
