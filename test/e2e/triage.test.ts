/**
 * Alert triage for the console over real HTTP, on every backend: filters (detector, site, city,
 * assignee), keyset pages that neither skip nor repeat, assignment to an analyst, bulk changes
 * with results per alert — and nobody reviews or assigns an alert about themselves (issue 7,
 * hole 3), in a bulk change too. Every change is audited with its actor.
 *
 * The alerts are stored as the engine would store them (the engine itself is tested in
 * watch.test.ts and src/detect); anything the engine raises on its own is left out of the counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';

interface Fixture {
  id: string;
  account: string | null;
  device?: string;
  detector: string;
  site: string | null;
  city: string | null;
}

const T0 = Date.parse('2026-03-02T08:00:00Z');
/** Stands for sa1's enrolled device id in the fixtures until sa1 logs in. */
const SA1_DEVICE = 'sa1-enrolled-device';
const FIXTURES: Fixture[] = [
  ...Array.from({ length: 5 }, (_, i) => ({ id: `a-c1-${i}`, account: 'c1', detector: 'harvesting', site: 'OUT-1', city: '北京' })),
  ...Array.from({ length: 3 }, (_, i) => ({ id: `a-o2-${i}`, account: 'o2', detector: 'enumeration', site: 'OUT-2', city: '上海' })),
  { id: 'a-sa1-0', account: 'sa1', detector: 'off_hours', site: null, city: null },
  { id: 'a-sa1-1', account: 'sa1', detector: 'off_hours', site: null, city: null },
  // About sa1's laptop: the alert names the device id the server enrolled (filled in at login).
  { id: 'a-dev-0', account: null, device: SA1_DEVICE, detector: 'device_sharing', site: null, city: null },
];

describe.each(testBackends())('alert triage on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  const devices: Record<string, string> = {};
  const get = (query: string, who = 'sa2') => w.api('GET', `/api/v1/alerts${query}`, { token: tokens[who] });
  const ids = (r: { body: { alerts: Array<{ id: string }> } }) => r.body.alerts.map((a) => a.id).filter((id) => id.startsWith('a-'));
  const patch = (who: string, id: string, body: Record<string, unknown>) => w.api('PATCH', `/api/v1/alerts/${id}`, { token: tokens[who], body });

  beforeAll(async () => {
    w = await startTestWarden(backend);
    const admin = w.adminToken;
    tokens.admin = admin;
    for (const s of [{ code: 'OUT-1', kind: 'outlet', city: '北京' }, { code: 'OUT-2', kind: 'outlet', city: '上海' }]) await w.api('POST', '/api/v1/sites', { token: admin, body: s });
    for (const [id, role, site] of [['c1', 'courier', 'OUT-1'], ['o2', 'outlet_staff', 'OUT-2'], ['sa1', 'security_analyst', null], ['sa2', 'security_analyst', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
      const session = (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: id === 'sa1' ? 'sa1-laptop' : `${id}-dev` } })).body;
      tokens[id] = session.token;
      if (id === 'sa1') devices.sa1 = session.device_id;
    }
    expect(devices.sa1).toMatch(/^dev_/);
    const now = new Date();
    await w.warden.db
      .insertInto('alerts')
      .values(
        FIXTURES.map((f, i) => {
          const ts = new Date(T0 + Math.floor(i / 2) * 60_000); // pairs share a timestamp: pages must order by id too
          const device = f.device === SA1_DEVICE ? devices.sa1! : f.device;
          const body = { id: f.id, ts: ts.toISOString(), detector: f.detector, severity: 'high', score: 70, summary: 'fixture', evidence: { n: i }, risk: 50, ...(f.account ? { account: f.account } : {}), ...(device ? { device } : {}) };
          return { id: f.id, ts, account: f.account, device: device ?? null, detector: f.detector, severity: 'high' as const, score: 70, summary: 'fixture', incident: null, response: null, body: JSON.stringify(body), status: 'open' as const, verdict: null, note: null, updated_by: null, created_at: now, updated_at: now, assignee: null, site: f.site, city: f.city };
        }),
      )
      .execute();
  });
  afterAll(() => w?.dispose());

  it('filters by detector, site, city and account', async () => {
    expect(ids(await get('?detector=enumeration')).sort()).toEqual(['a-o2-0', 'a-o2-1', 'a-o2-2']);
    expect(ids(await get('?site=OUT-1')).length).toBe(5);
    expect(ids(await get(`?city=${encodeURIComponent('上海')}`)).sort()).toEqual(['a-o2-0', 'a-o2-1', 'a-o2-2']);
    expect(ids(await get('?site=OUT-1&detector=enumeration'))).toEqual([]);
    expect(ids(await get('?account=sa1')).sort()).toEqual(['a-sa1-0', 'a-sa1-1']);
  });

  it('pages newest first with a cursor, never skipping or repeating (ties on time included)', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const r = await get(`?limit=4${cursor ? `&before=${encodeURIComponent(cursor)}` : ''}`);
      expect(r.status, r.text).toBe(200);
      seen.push(...ids(r));
      cursor = r.body.next_cursor;
      if (!cursor) break;
    }
    expect(seen.length).toBe(FIXTURES.length);
    expect(new Set(seen).size).toBe(FIXTURES.length);
    const all = ids(await get('?limit=1000'));
    expect(seen).toEqual(all);
    const bad = await get('?before=not-a-cursor');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('before');
  });

  it('assigns an alert to an analyst; filters by assignee; refuses a non-analyst assignee', async () => {
    const r = await patch('sa2', 'a-c1-0', { assignee: 'sa1' });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ id: 'a-c1-0', assignee: 'sa1', site: 'OUT-1', city: '北京' });
    expect(ids(await get('?assignee=sa1'))).toEqual(['a-c1-0']);
    const courier = await patch('sa2', 'a-c1-1', { assignee: 'c1' });
    expect(courier.status).toBe(400);
    expect(courier.body.error.code).toBe('validation_failed');
    expect((await patch('sa2', 'a-c1-0', { assignee: null })).body.assignee).toBeNull();
  });

  it('nobody acknowledges, resolves or assigns an alert about themselves (account or device); another analyst may', async () => {
    for (const [id, body] of [['a-sa1-0', { status: 'acknowledged' }], ['a-sa1-0', { verdict: 'false_positive' }], ['a-sa1-1', { assignee: 'sa2' }], ['a-dev-0', { status: 'resolved' }]] as const) {
      const r = await patch('sa1', id, body);
      expect(r.status, `${id} ${JSON.stringify(body)}`).toBe(403);
      expect(r.body.error.code).toBe('self_action');
    }
    // Nor may anyone hand an alert to its own subject.
    expect((await patch('sa2', 'a-sa1-1', { assignee: 'sa1' })).body.error.code).toBe('self_action');
    expect(ids(await get('?account=sa1&status=open')).sort()).toEqual(['a-sa1-0', 'a-sa1-1']);
    expect(ids(await get('?detector=device_sharing&status=open'))).toEqual(['a-dev-0']);
    const bySa2 = await patch('sa2', 'a-sa1-0', { verdict: 'true_positive', note: 'confirmed with the team lead' });
    expect(bySa2.status, bySa2.text).toBe(200);
    expect(bySa2.body).toMatchObject({ status: 'resolved', verdict: 'true_positive', updated_by: 'sa2' });
    // sa1's device is not sa2's: sa2 reviews the alert about it.
    const deviceBySa2 = await patch('sa2', 'a-dev-0', { status: 'acknowledged' });
    expect(deviceBySa2.status, deviceBySa2.text).toBe(200);
    expect(deviceBySa2.body).toMatchObject({ status: 'acknowledged', updated_by: 'sa2' });
  });

  it('bulk: results per id; the self-action rule and not-found apply per alert; each change audited', async () => {
    const r = await w.api('POST', '/api/v1/alerts/bulk', { token: tokens.sa1, body: { ids: ['a-o2-0', 'a-sa1-1', 'a-missing', 'a-o2-1'], status: 'acknowledged', assignee: 'sa1' } });
    expect(r.status, r.text).toBe(200);
    const outcome = Object.fromEntries(r.body.results.map((x: { id: string; ok: boolean; error?: { code: string } }) => [x.id, x.ok ? 'ok' : x.error!.code]));
    expect(outcome).toEqual({ 'a-o2-0': 'ok', 'a-sa1-1': 'self_action', 'a-missing': 'not_found', 'a-o2-1': 'ok' });
    expect(ids(await get('?assignee=sa1')).sort()).toEqual(['a-o2-0', 'a-o2-1']);
    expect(ids(await get('?account=sa1&status=open'))).toEqual(['a-sa1-1']);
    const audit = await w.warden.db.selectFrom('audit_log').select(['decision', 'reason', 'detail']).where('kind', '=', 'watch.alert_updated').execute();
    const detail = (d: unknown) => (typeof d === 'string' ? JSON.parse(d) : d) as { alert: string; actor: string };
    const bulkRows = audit.filter((a) => detail(a.detail).actor === 'sa1');
    expect(bulkRows.filter((a) => a.decision === 'ok').map((a) => detail(a.detail).alert).sort()).toEqual(['a-o2-0', 'a-o2-1']);
    expect(bulkRows.filter((a) => a.reason === 'self_action').length).toBeGreaterThanOrEqual(5);
    // Bad bulk bodies: no change, too many ids.
    expect((await w.api('POST', '/api/v1/alerts/bulk', { token: tokens.sa1, body: { ids: ['a-o2-2'] } })).status).toBe(400);
    expect((await w.api('POST', '/api/v1/alerts/bulk', { token: tokens.sa1, body: { ids: Array.from({ length: 201 }, (_, i) => `x${i}`), status: 'resolved' } })).status).toBe(400);
  });

  it('the admin token triages; staff outside the security side may not', async () => {
    const r = await w.api('POST', '/api/v1/alerts/bulk', { token: tokens.admin, body: { ids: ['a-sa1-1'], status: 'resolved' } });
    expect(r.body.results[0]).toMatchObject({ id: 'a-sa1-1', ok: true });
    expect((await get('', 'c1')).status).toBe(403);
    expect((await w.api('POST', '/api/v1/alerts/bulk', { token: tokens.c1, body: { ids: ['a-c1-0'], status: 'resolved' } })).status).toBe(403);
  });
});
