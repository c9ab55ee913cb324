/**
 * The console's read side through the real API: the overview counts explained and unexplained
 * reveals and refusals, streams as server-sent events and stops streaming when the session ends;
 * the investigation page's queries answer for an account and page with a cursor; detector
 * settings are backtested over stored activity, saved audited, and applied at the next start;
 * only analysts (and the admin token) may call any of it; the console is served at `/`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };

describe.each(testBackends())('console read side on %s', (backend) => {
  let w: TestWarden;
  let analyst = '';
  /** A second analyst (sa2): the other person of the two-analyst settings rule. */
  let second = '';
  let courier = '';
  let clerk = '';
  /** The analyst's device credential: its later logins are from the same enrolled device, as the console's are. */
  let analystDevice = '';
  /** The courier's enrolled device id (the trail names it). */
  let courierDevice = '';

  beforeAll(async () => {
    w = await startTestWarden(backend, { detectConfig: { time: { reorder_window_seconds: 0 } }, config: { maxSessionsPerAccount: 10 } });
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    for (const [id, role, site] of [['c1', 'courier', 'OUT-1'], ['c2', 'courier', 'OUT-1'], ['o1', 'outlet_staff', 'OUT-1'], ['sa1', 'security_analyst', null], ['sa2', 'security_analyst', null], ['svc', 'service', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
    }
    const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    const login = async (id: string, device: string) => (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device } })).body as { token: string; device_id: string; device_credential: string };
    const sa1 = await login('sa1', 'sa-desk');
    analyst = sa1.token;
    analystDevice = sa1.device_credential;
    second = (await login('sa2', 'sa2-desk')).token;
    const c1 = await login('c1', 'c1-pda');
    courier = c1.token;
    courierDevice = c1.device_id;
    clerk = (await login('o1', 'o1-pc')).token;
    for (let i = 1; i <= 3; i++) {
      await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: `SF10000000000${i}`, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } });
    }
    await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: 'SF100000000001', account: 'c1', task: 'delivery' } });
    // c1: one explained reveal (assignment), one refused (no work); o1: one allowed by site scope only (unexplained).
    expect((await w.api('POST', '/api/v1/waybills/SF100000000001/reveal', { token: courier, body: { fields: ['recipient.phone'], purpose: 'delivery' } })).status).toBe(200);
    expect((await w.api('POST', '/api/v1/waybills/SF100000000002/reveal', { token: courier, body: { fields: ['recipient.phone'], purpose: 'delivery' } })).status).toBe(403);
    expect((await w.api('POST', '/api/v1/waybills/SF100000000003/reveal', { token: clerk, body: { fields: ['recipient.phone'], purpose: 'pickup' } })).status).toBe(200);
    // Two failed logins (credential detector: 5 by default).
    for (let i = 0; i < 2; i++) expect((await w.api('POST', '/api/v1/sessions', { body: { account: 'c2', password: 'not-the-password', device: 'c2-pda' } })).status).toBe(401);
    await w.warden.audit.drain();
    await w.warden.watch!.idle();
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('the overview counts reveals by role and basis, and refusals by reason', async () => {
    const r = await w.api('GET', '/api/v1/overview', { token: analyst });
    expect(r.status, r.text).toBe(200);
    const h = r.body.last_hour;
    expect(h.by_role).toMatchObject({ courier: 1, outlet_staff: 1 });
    expect(h.explained).toBe(1);
    expect(h.unexplained).toBe(1);
    expect(h.by_basis).toMatchObject({ assignment: 1, site: 1 });
    expect(h.by_reason).toMatchObject({ no_work_context: 1 });
    expect(r.body.trend).toHaveLength(24);
    expect(r.body.trend.at(-1).reveals).toBe(2);
    expect(Object.keys(r.body.alerts_open)).toEqual(['low', 'medium', 'high', 'critical']);
    expect(w.logs()).not.toContain(PARTY.phone);
  });

  it('a restarted server seeds the overview from the audit trail', async () => {
    const again = await startTestWarden(backend, { store: w.store, detectConfig: {}, config: { masterKey: w.masterKey, maxSessionsPerAccount: 10 } });
    try {
      const token = (await again.api('POST', '/api/v1/sessions', { body: { account: 'sa1', password: 'pw-sa1-secret', device: 'sa-desk', device_credential: analystDevice } })).body.token;
      const r = await again.api('GET', '/api/v1/overview', { token });
      expect(r.body.last_hour.explained).toBe(1);
      expect(r.body.last_hour.unexplained).toBe(1);
      expect(r.body.last_hour.refusals).toBe(1);
    } finally {
      await again.warden.close();
    }
  });

  it('only analysts and the admin token read the overview and investigation', async () => {
    for (const path of ['/api/v1/overview', '/api/v1/overview/stream', '/api/v1/accounts/c1/activity', '/api/v1/accounts/c1/risk', '/api/v1/accounts/c1/footprint', '/api/v1/accounts/c1/hours', '/api/v1/detectors']) {
      expect((await w.api('GET', path, { token: courier })).status, path).toBe(403);
      expect((await w.api('GET', path)).status, path).toBe(401);
    }
    expect((await w.api('GET', '/api/v1/overview', { token: w.adminToken })).status).toBe(200);
    expect((await w.api('POST', '/api/v1/detectors/backtest', { token: courier, body: { detector: 'harvesting', settings: { burst_min_records: 5 }, days: 1 } })).status).toBe(403);
    expect((await w.api('PUT', '/api/v1/detectors/harvesting', { token: clerk, body: { settings: { burst_min_records: 5 }, reason: 'try' } })).status).toBe(403);
  });

  it('streams the overview as server-sent events and ends the stream when the session ends', async () => {
    const token = (await w.api('POST', '/api/v1/sessions', { body: { account: 'sa1', password: 'pw-sa1-secret', device: 'sa-laptop' } })).body.token;
    const ac = new AbortController();
    const res = await fetch(`${w.url}/api/v1/overview/stream`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('event: overview')) text += new TextDecoder().decode((await reader.read()).value);
    const data = JSON.parse(/event: overview\ndata: (.*)\n/.exec(text)![1]!);
    expect(data.last_hour.reveals).toBe(2);
    expect((await w.api('DELETE', '/api/v1/sessions/current', { token })).status).toBe(204);
    // The next push finds the session gone and ends the stream.
    const deadline = Date.now() + 10_000;
    let done = false;
    while (!done && Date.now() < deadline) {
      const chunk = await reader.read();
      if (chunk.value) text += new TextDecoder().decode(chunk.value);
      done = chunk.done;
    }
    ac.abort();
    expect(done).toBe(true);
    expect(text).toContain('session_ended');
  });

  it('the activity timeline marks each reveal explained or not, and by what', async () => {
    const c1 = await w.api('GET', '/api/v1/accounts/c1/activity?kind=access.reveal', { token: analyst });
    expect(c1.status, c1.text).toBe(200);
    const [refused, allowed] = c1.body.entries;
    expect(allowed).toMatchObject({ kind: 'access.reveal', decision: 'allowed', waybill: 'SF100000000001', explained: true, explained_by: 'assignment', fields: ['recipient.phone'] });
    expect(refused).toMatchObject({ decision: 'denied', reason: 'no_work_context', explained: null });
    const o1 = await w.api('GET', '/api/v1/accounts/o1/activity?unexplained=true', { token: analyst });
    expect(o1.body.entries).toHaveLength(1);
    expect(o1.body.entries[0]).toMatchObject({ explained: false, explained_by: 'site' });
    expect((await w.api('GET', '/api/v1/accounts/c1/activity?unexplained=true', { token: analyst })).body.entries).toEqual([]);
    expect(JSON.stringify(c1.body)).not.toContain(PARTY.phone);
  });

  it('pages the timeline with a cursor, and refuses a forged one', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { entries: Array<{ seq: number }>; next_cursor: string | null } } = await w.api('GET', `/api/v1/accounts/c1/activity?limit=1${cursor ? `&cursor=${cursor}` : ''}`, { token: analyst });
      expect(page.status).toBe(200);
      seen.push(...page.body.entries.map((e) => e.seq));
      cursor = page.body.next_cursor;
    } while (cursor);
    const all = await w.api('GET', '/api/v1/accounts/c1/activity?limit=500', { token: analyst });
    expect(seen).toEqual(all.body.entries.map((e: { seq: number }) => e.seq));
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect((await w.api('GET', '/api/v1/accounts/c1/activity?cursor=bm9wZQ', { token: analyst })).status).toBe(400);
    expect((await w.api('GET', '/api/v1/accounts/c1/activity?kind=vault.secret', { token: analyst })).status).toBe(400);
    expect((await w.api('GET', '/api/v1/accounts/nobody/activity', { token: analyst })).status).toBe(404);
  });

  it('answers risk, footprint and working hours against peers', async () => {
    const risk = await w.api('GET', '/api/v1/accounts/c1/risk', { token: analyst });
    expect(risk.status).toBe(200);
    expect(risk.body).toMatchObject({ account: 'c1', role: 'courier', site: 'OUT-1', status: 'active' });
    expect(typeof risk.body.risk_now).toBe('number');
    const fp = await w.api('GET', '/api/v1/accounts/c1/footprint', { token: analyst });
    expect(fp.body.devices.map((d: { device: string; label: string }) => [d.device, d.label])).toEqual([[courierDevice, 'c1-pda']]);
    expect(fp.body.networks[0].network).toMatch(/\/(24|48)$/);
    const hours = await w.api('GET', '/api/v1/accounts/c1/hours?tz_offset_minutes=480', { token: analyst });
    expect(hours.status).toBe(200);
    expect(hours.body.account_hours).toHaveLength(7);
    expect(hours.body.account_hours.flat().reduce((a: number, b: number) => a + b, 0)).toBe(3);
    expect(hours.body.peer_group).toMatchObject({ role: 'courier', site: 'OUT-1', size: 1 });
    expect((await w.api('GET', '/api/v1/accounts/c1/hours?tz_offset_minutes=9999', { token: analyst })).status).toBe(400);
  });

  it('lists detectors with their settings and counts', async () => {
    const r = await w.api('GET', '/api/v1/detectors', { token: analyst });
    expect(r.status).toBe(200);
    expect(r.body.applies).toBe('restart');
    const h = r.body.detectors.find((d: { name: string }) => d.name === 'harvesting');
    expect(h).toMatchObject({ enabled: true, pending_restart: false, saved: null });
    expect(h.settings.burst_min_records).toBe(40);
    expect(h.fired).toMatchObject({ last_24h: expect.any(Number), last_7d: expect.any(Number) });
  });

  it('backtests candidate settings over stored activity without raising anything live', async () => {
    const before = await w.warden.db.selectFrom('alerts').select('id').execute();
    // Two failed logins on c2 raise nothing with the running 5, and an alert with 2.
    const r = await w.api('POST', '/api/v1/detectors/backtest', { token: analyst, body: { detector: 'credential', settings: { account_failures: 2 }, days: 1 } });
    expect(r.status, r.text).toBe(200);
    expect(r.body.events).toBeGreaterThanOrEqual(9);
    expect(r.body.truncated).toBe(false);
    expect(r.body.current.alerts).toBe(0);
    expect(r.body.candidate.alerts).toBeGreaterThan(0);
    expect(r.body.added[0]).toMatchObject({ account: 'c2' });
    expect(r.body.removed).toEqual([]);
    expect((await w.warden.db.selectFrom('alerts').select('id').execute()).length).toBe(before.length);
    const bad = await w.api('POST', '/api/v1/detectors/backtest', { token: analyst, body: { detector: 'unexplained', settings: { medium_recordz: 1 }, days: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('detectors.unexplained.medium_recordz: unknown key');
    expect((await w.api('POST', '/api/v1/detectors/backtest', { token: analyst, body: { detector: 'nope', settings: { x: 1 }, days: 1 } })).status).toBe(404);
    expect((await w.api('POST', '/api/v1/detectors/backtest', { token: analyst, body: { detector: 'unexplained', settings: { medium_records: 1 }, days: 31 } })).status).toBe(400);
  });

  // Review 3: one analyst could turn a detector off (or blunt it) for an accomplice, alone.
  it('a settings change is asked by one analyst and saved only when a second approves it; it applies at the next start', async () => {
    const bad = await w.api('PUT', '/api/v1/detectors/harvesting', { token: analyst, body: { settings: { burst_min_records: -1 }, reason: 'tuning' } });
    expect(bad.status).toBe(400);
    expect((await w.api('POST', '/api/v1/detectors/harvesting/approve', { token: second, body: { requested_at: new Date().toISOString() } })).status).toBe(404);
    const r = await w.api('PUT', '/api/v1/detectors/harvesting', { token: analyst, body: { settings: { burst_min_records: 55 }, reason: 'fewer bursts at the hub' } });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ applies: 'restart', approval: 'pending', settings: { burst_min_records: 55 }, running: { burst_min_records: 40 } });
    const asked = (await w.api('GET', '/api/v1/detectors', { token: analyst })).body.detectors.find((d: { name: string }) => d.name === 'harvesting');
    expect(asked).toMatchObject({ saved: null, pending_restart: false, request: { requested_by: 'sa1', reason: 'fewer bursts at the hub', settings: { burst_min_records: 55 } } });
    const detailOf = async (kind: string, decision = 'ok') => {
      const rows = await w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', kind).where('decision', '=', decision).execute();
      return rows.map((e) => (typeof e.detail === 'string' ? JSON.parse(e.detail) : e.detail));
    };
    expect(await detailOf('detect.settings_requested')).toEqual([expect.objectContaining({ detector: 'harvesting', actor: 'sa1', changes: ['burst_min_records: 40 -> 55'] })]);
    expect(await detailOf('detect.settings_changed')).toEqual([]);

    const seen = { requested_at: asked.request.requested_at as string };
    const own = await w.api('POST', '/api/v1/detectors/harvesting/approve', { token: analyst, body: seen });
    expect(own.status, own.text).toBe(403);
    expect(own.body.error.code).toBe('self_action');
    expect(await detailOf('detect.settings_changed', 'denied')).toEqual([expect.objectContaining({ detector: 'harvesting', actor: 'sa1' })]);
    // Review 4, hole 5: the admin token is never the second analyst.
    expect((await w.api('POST', '/api/v1/detectors/harvesting/approve', { token: w.adminToken, body: seen })).status).toBe(403);
    const ok = await w.api('POST', '/api/v1/detectors/harvesting/approve', { token: second, body: seen });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ approval: 'approved', approved_by: 'sa2', updated_by: 'sa1' });
    expect(await detailOf('detect.settings_changed')).toEqual([expect.objectContaining({ detector: 'harvesting', actor: 'sa2', requested_by: 'sa1', changes: ['burst_min_records: 40 -> 55'] })]);
    const listed = (await w.api('GET', '/api/v1/detectors', { token: analyst })).body.detectors.find((d: { name: string }) => d.name === 'harvesting');
    expect(listed).toMatchObject({ pending_restart: true, request: null, saved: { updated_by: 'sa1' } });

    // A request may be discarded by any analyst, and is then not approvable.
    expect((await w.api('PUT', '/api/v1/detectors/credential', { token: second, body: { settings: { enabled: false }, reason: 'too noisy' } })).status).toBe(200);
    const discarded = await w.api('DELETE', '/api/v1/detectors/credential/request', { token: analyst });
    expect(discarded.status, discarded.text).toBe(200);
    expect((await detailOf('detect.settings_request_discarded')).length).toBe(1);
    expect((await w.api('POST', '/api/v1/detectors/credential/approve', { token: analyst, body: seen })).status).toBe(404);

    // The requester swaps the request while the approver reads it: the approval of what was read is refused.
    expect((await w.api('PUT', '/api/v1/detectors/credential', { token: analyst, body: { settings: { account_failures: 9 }, reason: 'fewer lockouts' } })).status).toBe(200);
    const shown = (await w.api('GET', '/api/v1/detectors', { token: second })).body.detectors.find((d: { name: string }) => d.name === 'credential').request;
    await new Promise((r) => setTimeout(r, 5));
    expect((await w.api('PUT', '/api/v1/detectors/credential', { token: analyst, body: { settings: { enabled: false }, reason: 'fewer lockouts' } })).status).toBe(200);
    const blind = await w.api('POST', '/api/v1/detectors/credential/approve', { token: second, body: { requested_at: shown.requested_at } });
    expect(blind.status, blind.text).toBe(409);
    expect(blind.body.error.message).toContain('replaced after you read it');
    expect((await w.api('GET', '/api/v1/detectors', { token: second })).body.detectors.find((d: { name: string }) => d.name === 'credential').saved).toBeNull();
    expect((await w.api('POST', '/api/v1/detectors/credential/approve', { token: second, body: {} })).status).toBe(400);

    const again = await startTestWarden(backend, { store: w.store, detectConfig: {}, config: { masterKey: w.masterKey, maxSessionsPerAccount: 10 } });
    try {
      const token = (await again.api('POST', '/api/v1/sessions', { body: { account: 'sa1', password: 'pw-sa1-secret', device: 'sa-desk', device_credential: analystDevice } })).body.token;
      const after = (await again.api('GET', '/api/v1/detectors', { token })).body.detectors.find((d: { name: string }) => d.name === 'harvesting');
      expect(after.settings.burst_min_records).toBe(55);
      expect(after.pending_restart).toBe(false);
    } finally {
      await again.warden.close();
    }
  });

  it('serves the console at / with a strict content security policy, or says it is not built', async () => {
    const res = await fetch(`${w.url}/`);
    if (res.status === 200) {
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(await res.text()).toContain('<div id="root">');
    } else {
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain('npm run build:web');
    }
    expect((await fetch(`${w.url}/api/v1/no-such-route`)).status).toBe(404);
  });
});
