/**
 * A small deterministic courier world for the detection benchmark and tests: couriers, outlet
 * clerks, customer-service agents and managers working their days (UTC+8), with optional
 * labelled look-alikes and attacks. It is NOT the product simulator (src/simulate); it exists so
 * the engine can be measured and calibrated on its own. Same seed -> same lines.
 */

export type LookalikeKind = 'new_phone' | 'covering' | 'business_trip' | 'new_hire' | 'surge' | 'fleet_update' | 'busy_agent';
export type AttackKind =
  | 'leased_night'
  | 'remote_enum'
  | 'cs_insider'
  | 'malware_scanner'
  | 'ring'
  | 'cred_stuffing'
  | 'manager_dump';

export interface WorldOptions {
  seed?: number;
  days?: number;
  /** First day (UTC date of local midnight, local = UTC+8). */
  start?: string;
  cities?: number;
  outletsPerCity?: number;
  couriersPerOutlet?: number;
  clerksPerOutlet?: number;
  agents?: number;
  parcelsPerCourier?: [number, number];
  /** Day index at which look-alikes and attacks happen (default: days - 2). */
  eventDay?: number;
  lookalikes?: readonly LookalikeKind[];
  attacks?: readonly AttackKind[];
}

export interface Truth {
  /** Attacking account -> kind and the ids of events that exposed records (reveals/exports), in order. */
  attackers: Map<string, { kind: AttackKind; exposures: Array<{ id: string; records: string[] }> }>;
  lookalikeAccounts: Map<string, LookalikeKind>;
  accounts: string[];
}

const CITY_NAMES = ['上海', '杭州', '南京', '苏州', '合肥', '武汉', '成都', '西安'];
const FAR_CITY = '乌鲁木齐';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Staff {
  id: string;
  role: string;
  site: string;
  city: number;
  outlet: number;
  device: string;
  net: string;
}

type Ev = Record<string, unknown> & { ts: number; id?: string };

const HOUR = 3_600_000;
const MIN = 60_000;

/**
 * Generates the world day by day, calling `sink` with each NDJSON line (no trailing newline) in
 * time order. Memory stays flat: one day of events is held at a time.
 */
export function generateWorld(opts: WorldOptions, sink: (line: string) => void): Truth {
  const seed = opts.seed ?? 1;
  const rnd = mulberry32(seed);
  const days = opts.days ?? 7;
  const startMs = Date.parse(`${opts.start ?? '2026-11-01'}T00:00:00.000Z`) - 8 * HOUR;
  const nCities = Math.min(opts.cities ?? 3, CITY_NAMES.length);
  const opc = opts.outletsPerCity ?? 3;
  const cpo = opts.couriersPerOutlet ?? 6;
  const kpo = opts.clerksPerOutlet ?? 2;
  const nAgents = opts.agents ?? 8;
  const [pMin, pMax] = opts.parcelsPerCourier ?? [110, 180];
  const eventDay = opts.eventDay ?? Math.max(0, days - 2);
  const look = new Set(opts.lookalikes ?? []);
  const atk = new Set(opts.attacks ?? []);
  const truth: Truth = { attackers: new Map(), lookalikeAccounts: new Map(), accounts: [] };

  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

  // ---- the company ----
  const couriers: Staff[] = [];
  const clerks: Staff[] = [];
  const agents: Staff[] = [];
  const managers: Staff[] = [];
  const outlets: Array<{ site: string; city: number; outlet: number }> = [];
  for (let c = 0; c < nCities; c++) {
    for (let o = 0; o < opc; o++) {
      const site = `OUT-${c}-${o}`;
      outlets.push({ site, city: c, outlet: o });
      for (let k = 0; k < cpo; k++) {
        couriers.push({ id: `cour-${c}-${o}-${k}`, role: 'courier', site, city: c, outlet: o, device: `pda-${c}-${o}-${k}`, net: `10.${c}.${o}` });
      }
      for (let k = 0; k < kpo; k++) {
        clerks.push({ id: `clerk-${c}-${o}-${k}`, role: 'outlet_staff', site, city: c, outlet: o, device: `pc-${c}-${o}-${k}`, net: `10.${c}.${o}` });
      }
    }
    managers.push({ id: `mgr-${c}`, role: 'manager', site: `HQ-${c}`, city: c, outlet: 99, device: `lap-mgr-${c}`, net: `10.${c}.200` });
  }
  for (let k = 0; k < nAgents; k++) {
    agents.push({ id: `cs-${k}`, role: 'customer_service', site: 'CS-0', city: 0, outlet: 98, device: `pc-cs-${k}`, net: '10.0.250' });
  }
  truth.accounts = [...couriers, ...clerks, ...agents, ...managers].map((s) => s.id);

  // ---- waybill allocation: each origin outlet allocates in sequence ----
  const nextNo = new Map<string, number>();
  const allocate = (origin: string): string => {
    const base = nextNo.get(origin) ?? 1_000_000_000_000 + outlets.findIndex((o) => o.site === origin) * 10_000_000 + 1;
    nextNo.set(origin, base + 1 + (rnd() < 0.3 ? int(1, 3) : 0));
    return `YT${base}`;
  };
  const recentWaybills: Array<{ wb: string; city: number; site: string }> = [];

  let seq = 0;
  let appHash = 'app-2026.10.1';
  const newHire: Staff | undefined = look.has('new_hire')
    ? { id: 'cour-new-hire', role: 'courier', site: outlets[0]!.site, city: 0, outlet: 0, device: 'pda-new-hire', net: '10.0.0' }
    : undefined;
  if (newHire) truth.lookalikeAccounts.set(newHire.id, 'new_hire');

  for (let day = 0; day < days; day++) {
    const d0 = startMs + day * 24 * HOUR; // local midnight in UTC ms
    const evs: Ev[] = [];
    const at = (localHour: number, jitterMin = 0): number => d0 + localHour * HOUR + Math.floor(rnd() * jitterMin * MIN);
    const isEventDay = day === eventDay;
    const surge = look.has('surge') && (day === eventDay || day === eventDay - 1) ? 2.5 : 1;
    if (look.has('fleet_update') && day === eventDay) appHash = 'app-2026.11.2';
    const working = (s: Staff, idx: number): boolean => (idx + day) % 7 !== 3;

    const session = (s: Staff, t: number, device: string, ip: string, city: string, extra: Record<string, unknown> = {}): string => {
      const sid = `s-${s.id}-${day}-${seq++}`;
      evs.push({ ts: t, type: 'login', account: s.id, role: s.role, site: s.site, device, ip, city, session: sid, result: 'success', mfa: true, app_hash: appHash, ...extra });
      return sid;
    };
    const actor = (s: Staff, device: string, ip: string, city: string, sid: string) => ({ account: s.id, role: s.role, site: s.site, device, ip, city, session: sid });

    // couriers
    const roster = newHire && day >= eventDay - 1 ? [...couriers, newHire] : couriers;
    roster.forEach((s, idx) => {
      if (!working(s, idx) && s !== newHire) return;
      const city = CITY_NAMES[s.city]!;
      let device = s.device;
      if (look.has('new_phone') && idx === 1 && day >= eventDay) {
        device = `${s.device}-new`;
        truth.lookalikeAccounts.set(s.id, 'new_phone');
      }
      const cellular = rnd() < 0.6;
      const ip = cellular ? `100.64.${s.city * 4 + int(0, 3)}.${int(1, 254)}` : `${s.net}.${int(10, 200)}`;
      const loginT = at(7, 30);
      const sid = session(s, loginT, device, ip, city);
      const a = actor(s, device, ip, city, sid);
      const covering = look.has('covering') && idx === 2 && isEventDay;
      if (covering) truth.lookalikeAccounts.set(s.id, 'covering');
      const n = Math.round(int(pMin, pMax) * surge);
      for (let i = 0; i < n; i++) {
        const pickup = rnd() < 0.2;
        const other = pick(outlets);
        const home = covering && i % 2 === 0 ? outlets[(outlets.findIndex((o) => o.site === s.site) + 1) % outlets.length]! : { site: s.site, city: s.city };
        const origin = pickup ? home.site : other.site;
        const dest = pickup ? other.site : home.site;
        const destCity = CITY_NAMES[pickup ? other.city : home.city]!;
        const wb = allocate(origin);
        const ti = d0 + 8 * HOUR + Math.floor(rnd() * 12 * HOUR);
        evs.push({ ts: at(0, 360), type: 'waybill', waybill: wb, origin_site: origin, dest_site: dest, dest_city: destCity });
        evs.push({ ts: loginT + int(1, 20) * MIN, type: 'assign', account: s.id, role: s.role, waybill: wb, task: pickup ? 'pickup' : 'delivery' });
        if (!pickup) evs.push({ ts: at(6, 60), type: 'scan', site: dest, device: `scan-${dest}`, waybill: wb, op: 'arrive' });
        evs.push({ ts: ti - 2 * MIN, type: 'access', ...a, action: 'view', waybill: wb, fields: [], purpose: pickup ? 'pickup' : 'delivery', result: 'allowed' });
        evs.push({ ts: ti, type: 'access', ...a, action: 'reveal', waybill: wb, fields: ['phone'], purpose: pickup ? 'pickup' : 'delivery', result: 'allowed' });
        evs.push({ ts: ti + int(3, 15) * MIN, type: 'scan', ...a, waybill: wb, op: pickup ? 'pickup' : 'delivered' });
        if (recentWaybills.length < 5000) recentWaybills.push({ wb, city: pickup ? other.city : home.city, site: dest });
        else recentWaybills[int(0, 4999)] = { wb, city: pickup ? other.city : home.city, site: dest };
      }
      evs.push({ ts: d0 + 20 * HOUR + int(30, 60) * MIN, type: 'logout', ...a });
    });

    // outlet clerks: own-site parcels
    clerks.forEach((s, idx) => {
      if (!working(s, idx)) return;
      const city = CITY_NAMES[s.city]!;
      const ip = `${s.net}.${20 + (idx % 200)}`;
      const sid = session(s, at(8, 20), s.device, ip, city);
      const a = actor(s, s.device, ip, city, sid);
      const n = Math.round(int(20, 40) * surge);
      for (let i = 0; i < n; i++) {
        const wb = allocate(pick(outlets).site);
        const t = at(9, 9 * 60);
        evs.push({ ts: at(0, 360), type: 'waybill', waybill: wb, origin_site: pick(outlets).site, dest_site: s.site, dest_city: city });
        evs.push({ ts: t, type: 'access', ...a, action: 'reveal', waybill: wb, fields: ['name', 'phone'], purpose: 'returns', result: 'allowed' });
      }
      evs.push({ ts: at(18, 30), type: 'logout', ...a });
    });

    // customer service: ticket -> search by phone -> reveal -> close
    agents.forEach((s, idx) => {
      if (!working(s, idx)) return;
      const ip = `${s.net}.${30 + idx}`;
      const sid = session(s, at(9, 10), s.device, ip, CITY_NAMES[0]!);
      const a = actor(s, s.device, ip, CITY_NAMES[0]!, sid);
      const busy = look.has('busy_agent') && idx === 0 && day >= eventDay - 1;
      if (busy) truth.lookalikeAccounts.set(s.id, 'busy_agent');
      const n = Math.round(int(25, 40) * (busy ? 3 : 1) * surge);
      for (let i = 0; i < n; i++) {
        const target = recentWaybills.length ? pick(recentWaybills) : { wb: allocate(pick(outlets).site), city: 0, site: outlets[0]!.site };
        const t = at(9, 9 * 60);
        const tk = `T-${day}-${idx}-${i}`;
        evs.push({ ts: t, type: 'ticket', account: s.id, role: s.role, ticket: tk, waybill: target.wb, status: 'open' });
        evs.push({ ts: t + 1 * MIN, type: 'access', ...a, action: 'search', waybills: [target.wb], fields: [], purpose: 'customer_service', ticket: tk, result: 'allowed' });
        evs.push({ ts: t + 2 * MIN, type: 'access', ...a, action: 'reveal', waybill: target.wb, fields: ['name', 'phone', 'address'], purpose: 'customer_service', ticket: tk, result: 'allowed' });
        evs.push({ ts: t + int(5, 30) * MIN, type: 'ticket', account: s.id, role: s.role, ticket: tk, waybill: target.wb, status: 'closed' });
      }
      evs.push({ ts: at(18, 20), type: 'logout', ...a });
    });

    // managers: a few audit reveals in their city, weekly small export
    managers.forEach((s, idx) => {
      if ((day + idx) % 7 === 5 || (day + idx) % 7 === 6) return;
      const trip = look.has('business_trip') && idx === 0 && day >= eventDay - 1 && day <= eventDay;
      if (trip) truth.lookalikeAccounts.set(s.id, 'business_trip');
      const cityIdx = trip ? (s.city + 1) % nCities : s.city;
      const city = trip ? CITY_NAMES[Math.max(1, cityIdx)] ?? '北京' : CITY_NAMES[s.city]!;
      const ip = trip ? `172.16.${day}.${int(2, 250)}` : `${s.net}.${int(2, 250)}`;
      const sid = session(s, at(9, 30), s.device, ip, city);
      const a = actor(s, s.device, ip, city, sid);
      const own = recentWaybills.filter((w) => w.city === s.city);
      for (let i = 0; i < 5 && own.length; i++) {
        evs.push({ ts: at(10, 420), type: 'access', ...a, action: 'reveal', waybill: pick(own).wb, fields: ['name'], purpose: 'audit', result: 'allowed' });
      }
      if (day % 7 === 2 && own.length) {
        evs.push({ ts: at(15, 60), type: 'access', ...a, action: 'export', waybills: own.slice(0, 40).map((w) => w.wb), fields: ['name', 'phone'], purpose: 'audit', result: 'allowed' });
      }
      evs.push({ ts: at(18, 60), type: 'logout', ...a });
    });

    if (isEventDay) injectAttacks(evs, d0);

    // rolling fleet update: the rest of the devices adopt it through the day (logins above already used it)
    evs.sort((x, y) => x.ts - y.ts);
    for (const e of evs) {
      const { ts, attack, ...rest } = e;
      const id = `e${seed}-${(seq++).toString(36)}`;
      sink(JSON.stringify({ id, ts: new Date(ts).toISOString(), ...rest }));
      if (rest.type === 'access' && (rest.action === 'reveal' || rest.action === 'export') && rest.result === 'allowed') {
        const t = truth.attackers.get(String(rest.account));
        if (t && attack === true) {
          t.exposures.push({ id, records: rest.action === 'reveal' ? [String(rest.waybill)] : (rest.waybills as string[]) });
        }
      }
    }
  }

  function injectAttacks(evs: Ev[], d0: number): void {
    const add = (account: string, kind: AttackKind): void => {
      if (!truth.attackers.has(account)) truth.attackers.set(account, { kind, exposures: [] });
    };
    const randomWb = (): { wb: string; city: number; site: string } => pick(recentWaybills);
    const reveal = (s: Staff, t: number, device: string, ip: string, city: string, sid: string, wb: string, attack = true): Ev => ({
      ts: t, type: 'access', account: s.id, role: s.role, site: s.site, device, ip, city, session: sid,
      action: 'reveal', waybill: wb, fields: ['name', 'phone', 'address'], purpose: 'delivery', result: 'allowed', attack,
    });
    if (atk.has('leased_night')) {
      const s = couriers[3]!;
      add(s.id, 'leased_night');
      const sid = `s-evil-${seq++}`;
      const t0 = d0 + 1 * HOUR + 10 * MIN;
      evs.push({ ts: t0, type: 'login', account: s.id, role: s.role, site: s.site, device: 'evil-phone-1', ip: '203.0.113.7', city: FAR_CITY, session: sid, result: 'success', mfa: true, app_hash: appHash, attack: true });
      for (let i = 0; i < 300; i++) evs.push(reveal(s, t0 + (i + 1) * 20_000, 'evil-phone-1', '203.0.113.7', FAR_CITY, sid, randomWb().wb));
    }
    if (atk.has('remote_enum')) {
      const s = clerks[1]!;
      add(s.id, 'remote_enum');
      const sid = `s-remote-${seq++}`;
      const ip = `${s.net}.${20 + 1}`;
      const t0 = d0 + 13 * HOUR;
      const startNo = 1_000_000_000_000 + 7 * 10_000_000 + 500_000;
      for (let i = 0; i < 200; i++) {
        evs.push(reveal(s, t0 + i * 15_000, s.device, ip, CITY_NAMES[s.city]!, sid, `YT${startNo + i * int(1, 2)}`));
      }
    }
    if (atk.has('cs_insider')) {
      const s = agents[2]!;
      add(s.id, 'cs_insider');
      const ip = `${s.net}.${30 + 2}`;
      for (let i = 0; i < 40; i++) evs.push(reveal(s, d0 + 10 * HOUR + i * 11 * MIN, s.device, ip, CITY_NAMES[0]!, `s-cs-${seq}`, randomWb().wb));
    }
    if (atk.has('malware_scanner')) {
      const s = couriers[5]!;
      add(s.id, 'malware_scanner');
      const ip = `${s.net}.99`;
      const sid = `s-mal-${seq++}`;
      const t0 = d0 + 9 * HOUR;
      evs.push({ ts: t0, type: 'login', account: s.id, role: s.role, site: s.site, device: s.device, ip, city: CITY_NAMES[s.city]!, session: sid, result: 'success', mfa: true, app_hash: 'app-trojan-9f', attack: true });
      for (let i = 0; i < 200; i++) evs.push(reveal(s, t0 + (i + 1) * 90_000, s.device, ip, CITY_NAMES[s.city]!, sid, randomWb().wb));
    }
    if (atk.has('ring')) {
      const members = [couriers[7], couriers[13], couriers[19], couriers[25]].filter((x): x is Staff => !!x);
      members.forEach((s, k) => {
        add(s.id, 'ring');
        const sid = `s-ring-${k}-${seq++}`;
        const ip = `198.51.100.${10 + k}`;
        for (let i = 0; i < 150; i++) evs.push(reveal(s, d0 + 14 * HOUR + k * 7 * MIN + i * 65_000, s.device, ip, CITY_NAMES[s.city]!, sid, randomWb().wb));
      });
    }
    if (atk.has('cred_stuffing')) {
      const victim = clerks[4] ?? clerks[0]!;
      add(victim.id, 'cred_stuffing');
      const t0 = d0 + 3 * HOUR;
      for (let i = 0; i < 30; i++) {
        const s = clerks[i % clerks.length]!;
        evs.push({ ts: t0 + i * 10_000, type: 'login', account: s.id, role: s.role, device: 'bot-1', ip: '192.0.2.55', result: 'failure', mfa: false, attack: true });
      }
      for (let i = 0; i < 4; i++) {
        evs.push({ ts: t0 + 400_000 + i * 5000, type: 'login', account: victim.id, role: victim.role, device: 'bot-1', ip: '192.0.2.55', result: 'failure', mfa: false, attack: true });
      }
      const sid = `s-stuff-${seq++}`;
      evs.push({ ts: t0 + 430_000, type: 'login', account: victim.id, role: victim.role, site: victim.site, device: 'bot-1', ip: '192.0.2.55', session: sid, result: 'success', mfa: false, attack: true });
      evs.push({
        ts: t0 + 460_000, type: 'access', account: victim.id, role: victim.role, site: victim.site, device: 'bot-1', ip: '192.0.2.55', session: sid,
        action: 'export', waybills: recentWaybills.slice(0, 2000).map((w) => w.wb), fields: ['name', 'phone', 'address'], purpose: 'other', result: 'allowed', attack: true,
      });
    }
    if (atk.has('manager_dump')) {
      const s = managers[1] ?? managers[0]!;
      add(s.id, 'manager_dump');
      const sid = `s-dump-${seq++}`;
      const t0 = d0 + 2 * HOUR;
      const ip = '10.9.9.9';
      evs.push({ ts: t0, type: 'login', account: s.id, role: s.role, site: s.site, device: s.device, ip, city: CITY_NAMES[s.city]!, session: sid, result: 'success', mfa: true, app_hash: appHash, attack: true });
      const own = recentWaybills.filter((w) => w.city === s.city).map((w) => w.wb);
      evs.push({
        ts: t0 + 5 * MIN, type: 'access', account: s.id, role: s.role, site: s.site, device: s.device, ip, city: CITY_NAMES[s.city]!, session: sid,
        action: 'export', waybills: own.slice(0, 3000), fields: ['name', 'phone', 'address'], purpose: 'audit', result: 'allowed', attack: true,
      });
    }
  }

  return truth;
}
