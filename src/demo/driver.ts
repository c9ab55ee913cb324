/**
 * Plays a simulated courier company through the real gateway over HTTP: the world is created
 * through the admin API, every simulated action becomes the request a real app would make,
 * and the gateway — not the simulator — decides what is allowed. The detection engine sees
 * exactly the traffic production would give it.
 *
 * Time: the gateway runs on a DemoClock. History before the live start is replayed as fast as
 * the gateway answers (the clock follows each action); from the live start it runs at `speed`
 * simulated seconds per real second.
 */
import { Secret, TOTP } from 'otpauth';
import type { Clock } from '../ops/clock.js';
import type { SimAction } from '../simulate/action.js';
import { parcelPii } from '../simulate/parcel.js';
import { formatAddress } from '../simulate/pii.js';
import type { World } from '../simulate/world.js';

export interface DemoClock extends Clock {
  follow(t: number): void;
  goLive(simStart: number, speed: number): void;
  live(): boolean;
}

export function createDemoClock(start: number): DemoClock {
  let fixed = start;
  let live: { sim: number; real: number; speed: number } | null = null;
  return {
    now: () => (live ? live.sim + (Date.now() - live.real) * live.speed : fixed),
    follow: (t) => {
      fixed = Math.max(fixed, t);
    },
    goLive: (sim, speed) => {
      live = { sim, real: Date.now(), speed };
    },
    live: () => live !== null,
  };
}

export interface DriverStats {
  actions: number;
  requests: number;
  revealsAllowed: number;
  revealsRefused: number;
  refusedByCode: Record<string, number>;
  failedLogins: number;
  errors: number;
}

interface Http {
  (method: string, path: string, opts?: { token?: string | undefined; body?: unknown; forwardedFor?: string | undefined }): Promise<{ status: number; body: any }>;
}

export function httpClient(baseUrl: string): Http {
  return async (method, path, opts = {}) => {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.forwardedFor) headers['x-forwarded-for'] = opts.forwardedFor;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(baseUrl + path, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? safeJson(text) : undefined };
  };
}

const safeJson = (t: string): unknown => {
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
};

export const demoPassword = (account: string) => `demo-${account}-pass`;

/**
 * Creates the world through the admin API as a company would bootstrap: the admin token creates
 * the first analyst (active) and everyone else; privileged accounts it creates after that wait
 * for approval, which the first analyst gives (dual control: the admin token alone cannot).
 * Second factors are enrolled last, so the approving login needs no code.
 */
export async function createCompany(http: Http, adminToken: string, world: World): Promise<{ serviceToken: string; mfaSecrets: Map<string, string>; consoleAnalyst: ConsoleAnalyst }> {
  for (const s of world.sites) {
    const r = await http('POST', '/api/v1/sites', { token: adminToken, body: { code: s.code, kind: s.kind, city: s.city.def.en } });
    if (r.status !== 201 && r.status !== 409) throw new Error(`creating site ${s.code}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  }
  const pending: string[] = [];
  let approver: string | undefined;
  for (const a of world.accounts) {
    const r = await http('POST', '/api/v1/accounts', { token: adminToken, body: { id: a.id, role: a.role, site: a.site.code, password: demoPassword(a.id) } });
    if (r.status !== 201 && r.status !== 409) throw new Error(`creating account ${a.id}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    if (r.body?.status === 'pending') pending.push(a.id);
    else if (r.status === 201 && a.role === 'security_analyst') approver ??= a.id;
  }
  const consoleAnalyst = await createConsoleAnalyst(http, adminToken);
  if (consoleAnalyst.pending) pending.push(consoleAnalyst.id);
  if (pending.length) await approveAll(http, pending, approver);
  const mfaSecrets = new Map<string, string>();
  for (const a of world.accounts) {
    if (!a.mfa) continue;
    const m = await http('POST', `/api/v1/accounts/${encodeURIComponent(a.id)}/mfa`, { token: adminToken });
    if (m.status === 201) mfaSecrets.set(a.id, m.body.secret);
  }
  await http('POST', '/api/v1/accounts', { token: adminToken, body: { id: 'demo-upstream', role: 'service', password: demoPassword('demo-upstream') } });
  // Registered for exactly what the player sends upstream (waybills, assignments, tickets, scans).
  // No backfill: the gateway runs on the demo clock, so even the replayed history is stamped "now".
  const t = await http('POST', '/api/v1/accounts/demo-upstream/tokens', { token: adminToken, body: { events: ['waybill', 'assign', 'ticket', 'scan'] } });
  if (t.status !== 201) throw new Error(`service token: HTTP ${t.status}`);
  return { serviceToken: t.body.token, mfaSecrets, consoleAnalyst: { id: consoleAnalyst.id, password: consoleAnalyst.password, totpSecret: null } };
}

export interface ConsoleAnalyst {
  id: string;
  password: string;
  /** The demo's console analyst has no second factor (its banner would print the secret). */
  totpSecret: string | null;
}

/**
 * The analyst who signs in to the console: an account of its own (not one the simulation drives,
 * whose logins would end the console's session). Privileged, so after the world's first analyst
 * it is created pending and that analyst approves it with the others.
 */
async function createConsoleAnalyst(http: Http, adminToken: string, id = 'demo.analyst'): Promise<{ id: string; password: string; pending: boolean }> {
  const password = demoPassword(id);
  const r = await http('POST', '/api/v1/accounts', { token: adminToken, body: { id, role: 'security_analyst', password } });
  if (r.status !== 201 && r.status !== 409) throw new Error(`creating the console analyst: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return { id, password, pending: r.body?.status === 'pending' };
}

/** The first analyst logs in from the console and approves each pending privileged account. */
async function approveAll(http: Http, pending: string[], approver: string | undefined): Promise<void> {
  if (!approver) throw new Error(`no active security analyst to approve ${pending.join(', ')}`);
  const s = await http('POST', '/api/v1/sessions', { body: { account: approver, password: demoPassword(approver), device: 'warden-demo-console' } });
  if (s.status !== 201) throw new Error(`analyst ${approver} login: HTTP ${s.status} ${JSON.stringify(s.body)}`);
  for (const id of pending) {
    const shown = await http('GET', `/api/v1/accounts/${encodeURIComponent(id)}`, { token: s.body.token });
    const asked = shown.body?.pending_approval ?? { role: shown.body?.role, site: shown.body?.site ?? null };
    const r = await http('POST', `/api/v1/accounts/${encodeURIComponent(id)}/approve`, { token: s.body.token, body: { role: asked.role, site: asked.site } });
    if (r.status !== 200) throw new Error(`approving ${id}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  }
  await http('DELETE', '/api/v1/sessions/current', { token: s.body.token });
}

/**
 * A one-time code the server will take now: Warden checks codes against the wall clock, never the
 * demo's simulated one (a real authenticator could not sign in otherwise: attack review 10). Each
 * code is accepted once and the server takes one step either side of now, so an account logs in
 * up to three times at once, then once per 30 s; a login beyond that waits for its step (rare:
 * an account logs in a few times a simulated day).
 */
function otpSource(mfaSecrets: Map<string, string>) {
  const lastStep = new Map<string, number>();
  return async (account: string): Promise<string | undefined> => {
    const secret = mfaSecrets.get(account);
    if (!secret) return undefined;
    const step = Math.max(Math.floor(Date.now() / 30_000) - 1, (lastStep.get(account) ?? -Infinity) + 1);
    lastStep.set(account, step);
    const early = (step - 1) * 30_000 - Date.now();
    if (early > 0) await new Promise((r) => setTimeout(r, early + 50));
    return new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: step * 30_000 });
  };
}

/** Turns simulated actions into the gateway requests a staff app or upstream system would send. */
export function createActionPlayer(http: Http, world: World, serviceToken: string, mfaSecrets: Map<string, string>) {
  const sessions = new Map<string, string>();
  /** Device credentials by the simulator's device id: a simulated device is one physical device, whoever logs in on it. */
  const deviceCredentials = new Map<string, string>();
  const otp = otpSource(mfaSecrets);
  const tasks = new Map<string, 'pickup' | 'delivery'>();
  const stats: DriverStats = { actions: 0, requests: 0, revealsAllowed: 0, revealsRefused: 0, refusedByCode: {}, failedLogins: 0, errors: 0 };
  const sessionKey = (a: SimAction) => `${a.account}|${a.session ?? a.device}`;
  const tokenFor = (a: SimAction) => sessions.get(sessionKey(a)) ?? [...sessions.entries()].find(([k]) => k.startsWith(`${a.account}|`))?.[1];

  async function call(method: string, path: string, opts: Parameters<Http>[2]) {
    stats.requests++;
    const r = await http(method, path, opts);
    if (r.status >= 500) stats.errors++;
    return r;
  }

  function revealFields(a: SimAction): string[] {
    const task = tasks.get(`${a.waybill}|${a.account}`);
    const party = task === 'pickup' ? 'sender' : 'recipient';
    return (a.fields ?? ['phone']).filter((f) => f !== 'id_number').map((f) => `${party}.${f}`);
  }

  function countReveal(status: number, body: any) {
    if (status === 200) stats.revealsAllowed++;
    else {
      stats.revealsRefused++;
      const code = body?.error?.code ?? String(status);
      stats.refusedByCode[code] = (stats.refusedByCode[code] ?? 0) + 1;
    }
  }

  async function play(a: SimAction): Promise<void> {
    stats.actions++;
    const ip = a.ip;
    switch (a.type) {
      case 'waybill': {
        const pii = a.waybill ? parcelPii(world, a.waybill) : undefined;
        if (!pii) return;
        await call('POST', '/api/v1/waybills', {
          token: serviceToken,
          body: {
            waybill: pii.waybill,
            origin_site: pii.origin_site,
            dest_site: pii.dest_site,
            sender: { ...pii.sender, address: formatAddress(pii.sender.address) },
            recipient: { ...pii.recipient, address: formatAddress(pii.recipient.address) },
          },
        });
        return;
      }
      case 'assign':
        tasks.set(`${a.waybill}|${a.account}`, a.task ?? 'delivery');
        await call('POST', '/api/v1/assignments', { token: serviceToken, body: { waybill: a.waybill, account: a.account, task: a.task } });
        return;
      case 'ticket':
        if (!a.waybill) return;
        await call('POST', '/api/v1/tickets', { token: serviceToken, body: { ticket: a.ticket, waybill: a.waybill, account: a.account, status: a.status } });
        return;
      case 'scan':
        await call('POST', '/api/v1/scans', { token: serviceToken, body: { waybill: a.waybill, op: a.op, ...(a.site ? { site: a.site } : {}), ...(a.device ? { device: a.device } : {}) } });
        return;
      case 'login': {
        const failure = a.result === 'failure';
        // An enrolled account's code always goes along (Warden requires it); a leased account's
        // owner passes it to the renter, which is how such logins get through in life.
        const code = !failure && a.account ? await otp(a.account) : undefined;
        const device = a.device ?? 'unknown-device';
        const credential = deviceCredentials.get(device);
        const r = await call('POST', '/api/v1/sessions', {
          forwardedFor: ip,
          body: {
            account: a.account,
            password: failure ? 'not-the-password' : demoPassword(a.account ?? ''),
            device,
            ...(credential ? { device_credential: credential } : {}),
            ...(a.appHash ? { app_hash: a.appHash } : {}),
            ...(code ? { otp: code } : {}),
          },
        });
        if (r.status === 201) {
          sessions.set(sessionKey(a), r.body.token);
          if (r.body.device_credential) deviceCredentials.set(device, r.body.device_credential);
        } else {
          stats.failedLogins++;
          if (r.body?.error?.code === 'invalid_device_credential') deviceCredentials.delete(device);
        }
        return;
      }
      case 'logout': {
        const token = sessions.get(sessionKey(a));
        if (token) await call('DELETE', '/api/v1/sessions/current', { token, forwardedFor: ip });
        sessions.delete(sessionKey(a));
        return;
      }
      case 'access': {
        const token = tokenFor(a);
        if (!token) return;
        if (a.action === 'reveal' && a.waybill) {
          const fields = revealFields(a);
          if (!fields.length) return;
          const r = await call('POST', `/api/v1/waybills/${a.waybill}/reveal`, { token, forwardedFor: ip, body: { fields, purpose: a.purpose ?? 'delivery', ...(a.ticket ? { ticket: a.ticket } : {}) } });
          countReveal(r.status, r.body);
        } else if ((a.action === 'view' || a.action === 'print') && a.waybill) {
          await call('GET', `/api/v1/waybills/${a.waybill}${a.action === 'print' ? '?profile=label' : ''}`, { token, forwardedFor: ip });
        } else if (a.action === 'search' && a.waybills?.length) {
          const pii = parcelPii(world, a.waybills[0]!);
          if (pii) await call('POST', '/api/v1/search', { token, forwardedFor: ip, body: { phone: pii.recipient.phone } });
        } else if (a.action === 'export' && a.waybills?.length) {
          for (let i = 0; i < a.waybills.length; i += 500) {
            const r = await call('POST', '/api/v1/reveals', {
              token,
              forwardedFor: ip,
              body: { items: a.waybills.slice(i, i + 500).map((waybill) => ({ waybill })), fields: ['recipient.name', 'recipient.phone'], purpose: a.purpose ?? 'audit' },
            });
            for (const item of (r.body?.results ?? []) as Array<{ values?: unknown; error?: { code: string } }>) countReveal(item.values ? 200 : 403, item.values ? undefined : { error: item.error });
            if (r.status !== 200) countReveal(r.status, r.body);
          }
        }
        return;
      }
      default:
        return;
    }
  }

  return { play, stats };
}
