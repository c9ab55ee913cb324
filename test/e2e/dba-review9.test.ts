/**
 * Attack review 9: the database owner, with psql, (A) swaps a detector change between the second
 * analyst's read and approval, (B) finds and deletes canary rows so a canary's reveal raises
 * nothing, (C) deletes the admin token's revocation and restarts. Each tamper is refused or named
 * by `audit reconcile`; the honest path works and reconciles clean. On every backend.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, testBackends, type TestStore } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { reconcileState } from '../../src/audit/reconcile/index.js';
import { canonicalDigest } from '../../src/audit/chain.js';
import { people, password } from './puppet-setup.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const findings = async (w: TestWarden, table: string) => (await reconcileState(w.warden.db)).findings.filter((f) => f.table === table);

describe.each(testBackends())('attack review 9 (the DBA) on %s', (backend) => {
  let store: TestStore;
  let w: TestWarden;
  let ADMIN = '';
  let masterKey = '';
  const { tokens, create, login, analystsAndItAdmin } = people(() => w);
  let service = '';
  // The first start draws the admin token and master key; restarts keep them (or deploy another token).
  const start = (adminToken = ADMIN) => startTestWarden(backend, { store, approvals: 'manual', ...(ADMIN ? { config: { adminToken, masterKey } } : {}) });

  beforeAll(async () => {
    store = await createTestStore(backend);
    w = await start();
    ADMIN = w.adminToken;
    masterKey = w.masterKey;
    expect((await w.api('POST', '/api/v1/sites', { token: ADMIN, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
    await analystsAndItAdmin();
    await create(ADMIN, 'o1', 'outlet_staff', 'OUT-1');
    await create(ADMIN, 'o2', 'outlet_staff', 'OUT-1');
    await create(ADMIN, 'svc', 'service');
    service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: ADMIN })).body.token;
    for (const waybill of ['SF100000050001', 'SF100000090002']) {
      expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await w?.dispose();
    await store?.dispose();
  });

  it('starts clean: the honest paths reconcile with no finding, and the configured token fingerprint is in the trail (never the token)', async () => {
    const r = await reconcileState(w.warden.db);
    expect(r.findings).toEqual([]);
    const configured = await w.warden.db.selectFrom('audit_log').select('detail').where('kind', '=', 'admin.admin_token_configured').execute();
    expect(configured).toHaveLength(1);
    expect(configured[0]!.detail).toMatchObject({ fingerprint: expect.stringMatching(/^[0-9a-f]{32}$/), previous_fingerprint: null, disabled: false });
    expect(JSON.stringify(configured)).not.toContain(ADMIN);
  });

  describe('(A) a detector change swapped between read and approve', () => {
    it('the honest request is approved', async () => {
      const asked = await w.api('PUT', '/api/v1/detectors/harvesting', { token: tokens.sa1, body: { settings: { burst_min_records: 55 }, reason: 'fewer bursts at the hub' } });
      expect(asked.status, asked.text).toBe(200);
      const entry = await w.warden.db.selectFrom('audit_log').select('detail').where('kind', '=', 'detect.settings_requested').orderBy('seq', 'desc').executeTakeFirstOrThrow();
      expect(entry.detail).toMatchObject({ settings_sha256: canonicalDigest({ burst_min_records: 55 }) });
      const ok = await w.api('POST', '/api/v1/detectors/harvesting/approve', { token: tokens.sa2, body: { requested_at: asked.body.requested_at } });
      expect(ok.status, ok.text).toBe(200);
      expect(await findings(w, 'detector_settings')).toEqual([]);
    });

    it('a request rewritten in the table is refused (409 audit_inconsistent), nothing saved', async () => {
      const asked = await w.api('PUT', '/api/v1/detectors/unexplained', { token: tokens.sa1, body: { settings: { medium_records: 9 }, reason: 'quieter' } });
      expect(asked.status, asked.text).toBe(200);
      await w.warden.db.updateTable('detector_settings_requests').set({ settings: JSON.stringify({ medium_records: 9, enabled: false }) }).where('detector', '=', 'unexplained').execute();
      const r = await w.api('POST', '/api/v1/detectors/unexplained/approve', { token: tokens.sa2, body: { requested_at: asked.body.requested_at } });
      expect(r.status, r.text).toBe(409);
      expect(r.body.error.code).toBe('audit_inconsistent');
      expect(await w.warden.db.selectFrom('detector_settings').select('detector').where('detector', '=', 'unexplained').executeTakeFirst()).toBeUndefined();
      const changed = await w.warden.db.selectFrom('audit_log').select('detail').where('kind', '=', 'detect.settings_changed').execute();
      expect(changed.map((c) => (c.detail as { detector?: string }).detector)).not.toContain('unexplained');
      // Discarded and asked again, it goes through.
      expect((await w.api('DELETE', '/api/v1/detectors/unexplained/request', { token: tokens.sa2 })).status).toBeLessThan(300);
    });

    it('reconcile names an approval whose settings are not the ones requested', async () => {
      const now = new Date();
      await w.warden.audit.append([{ kind: 'detect.settings_requested', ts: now, decision: 'ok', detail: { detector: 'off_hours', actor: 'sa1', settings_sha256: canonicalDigest({ a: 1 }) } }]);
      await w.warden.audit.append([{ kind: 'detect.settings_changed', ts: now, decision: 'ok', detail: { detector: 'off_hours', actor: 'sa2', requested_by: 'sa1', settings_sha256: canonicalDigest({ a: 1, enabled: false }) } }]);
      const found = await findings(w, 'detector_settings');
      expect(found.map((f) => f.problem).join('\n')).toMatch(/not the ones requested/);
    });
  });

  describe('(B) canaries silenced from the database', () => {
    let canaries: string[] = [];
    it('the table holds no number; the analysts\' list still shows them (audited); a reveal trips', async () => {
      const planted = await w.api('POST', '/api/v1/canaries', { token: tokens.sa1, body: { count: 3 } });
      expect(planted.status, planted.text).toBe(201);
      const listed = await w.api('GET', '/api/v1/canaries', { token: tokens.sa1 });
      canaries = (listed.body.canaries as Array<{ waybill: string }>).map((c) => c.waybill);
      expect(canaries).toHaveLength(3);
      for (const c of canaries) expect(c).toMatch(/^SF\d+$/);
      const dump = JSON.stringify(await w.warden.db.selectFrom('trace_canaries').selectAll().execute());
      for (const c of canaries) expect(dump).not.toContain(c);
      const entry = await w.warden.db.selectFrom('audit_log').select('detail').where('kind', '=', 'trace.canaries_planted').orderBy('seq', 'desc').executeTakeFirstOrThrow();
      expect(entry.detail).toMatchObject({ count: 3, macs_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(await findings(w, 'trace_canaries')).toEqual([]);
    });

    it('a deleted canary row is named by reconcile, and the running tripwire still fires on it', async () => {
      await w.warden.db.deleteFrom('trace_canaries').where('mac', 'in', w.warden.db.selectFrom('trace_canaries').select('mac').limit(1)).execute();
      const found = await findings(w, 'trace_canaries');
      expect(found).toHaveLength(1);
      expect(found[0]!.problem).toMatch(/planted 3 canaries in this batch, the table has 2/);
      // Whichever row went, every planted canary still trips this process (fail closed).
      await new Promise((r) => setTimeout(r, 50));
      await login('o1');
      expect((await w.api('GET', `/api/v1/waybills/${canaries[0]}`, { token: tokens.o1 })).status).toBe(200);
      await w.warden.watch?.idle();
      const alerts = await w.api('GET', '/api/v1/alerts?detector=canary_touched&account=o1', { token: tokens.sa1 });
      expect(alerts.body.alerts).toHaveLength(1);
    });

    it('plaintext rows of an older store are sealed at start, audited, and still trip', async () => {
      // An older version's row: the number in plaintext (migration 0019 renamed the column).
      const legacy = 'SF100000050000';
      expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: legacy, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } })).status).toBe(201);
      await w.warden.audit.append([{ kind: 'trace.canaries_planted', ts: new Date(), decision: 'ok', detail: { actor: 'sa1', batch: 'legacy-batch', count: 1, export: null } }], async (tx) => {
        await tx.insertInto('trace_canaries').values({ mac: legacy, sealed: null, batch: 'legacy-batch', export_id: null, planted_at: new Date(), planted_by: 'sa1', retired_at: null }).execute();
      });
      await w.dispose();
      w = await start();
      const dump = JSON.stringify(await w.warden.db.selectFrom('trace_canaries').selectAll().execute());
      expect(dump).not.toContain(legacy);
      const sealed = await w.warden.db.selectFrom('audit_log').select('detail').where('kind', '=', 'trace.canaries_sealed').executeTakeFirstOrThrow();
      expect(sealed.detail).toMatchObject({ count: 1, batches: [expect.stringMatching(/^legacy-batch:1:[0-9a-f]{64}$/)] });
      expect(JSON.stringify(sealed.detail)).not.toContain(legacy);
      const listed = await w.api('GET', '/api/v1/canaries', { token: tokens.sa1 });
      expect(listed.body.canaries.map((c: { waybill: string }) => c.waybill)).toContain(legacy);
      await login('o2');
      expect((await w.api('GET', `/api/v1/waybills/${legacy}`, { token: tokens.o2 })).status).toBe(200);
      await w.warden.watch?.idle();
      expect((await w.api('GET', '/api/v1/alerts?detector=canary_touched&account=o2', { token: tokens.sa1 })).body.alerts).toHaveLength(1);
    });
  });

  describe('(C) the switched-off admin token', () => {
    it('stays off when its revocation row is deleted and the server restarts; reconcile names the missing row', async () => {
      await login('sa1');
      const off = await w.api('POST', '/api/v1/admin-token/disable', { token: tokens.sa1 });
      expect(off.status, off.text).toBe(200);
      expect(await findings(w, 'admin_token_revocations')).toEqual([]);
      await w.warden.db.deleteFrom('admin_token_revocations').execute();
      await w.dispose();
      w = await start();
      await login('sa1');
      expect((await w.api('GET', '/api/v1/admin-token', { token: tokens.sa1 })).body).toMatchObject({ configured: true, disabled: true, disabled_by: 'sa1' });
      const created = await w.api('POST', '/api/v1/accounts', { token: ADMIN, body: { id: 'x1', role: 'courier', site: 'OUT-1', password: password('x1') } });
      expect(created.status).toBe(401);
      expect((await w.api('POST', '/api/v1/admin-token/disable', { token: tokens.sa1 })).status).toBe(409);
      const found = await findings(w, 'admin_token_revocations');
      expect(found.map((f) => f.problem).join('\n')).toMatch(/revocation row is gone/);
    });

    it('an act by admin after the trail disabled its token is named (the row deleted by an older version\'s process)', async () => {
      // What an older process, reading only the table, let through: written as it would have been.
      await w.warden.audit.append([{ kind: 'admin.site_created', ts: new Date(), decision: 'ok', account: 'admin', detail: { actor: 'admin', site: 'OUT-9' } }]);
      const found = await findings(w, 'admin_token_revocations');
      expect(found.map((f) => f.problem).join('\n')).toMatch(/admin\.site_created by admin after the admin token in force was disabled/);
    });

    it('a new WARDEN_ADMIN_TOKEN at restart leaves a trace (its fingerprint, never the token), and works', async () => {
      const NEXT = 'admin-r9b-' + randomBytes(12).toString('hex');
      await w.dispose();
      w = await start(NEXT);
      const configured = await w.warden.db.selectFrom('audit_log').select('detail').where('kind', '=', 'admin.admin_token_configured').orderBy('seq').execute();
      expect(configured).toHaveLength(2);
      const [first, second] = configured.map((c) => c.detail as Record<string, unknown>);
      expect(second).toMatchObject({ previous_fingerprint: first!.fingerprint, disabled: false });
      expect(second!.fingerprint).not.toBe(first!.fingerprint);
      expect(JSON.stringify(configured)).not.toContain(NEXT);
      expect((await w.api('POST', '/api/v1/sites', { token: NEXT, body: { code: 'OUT-2', kind: 'outlet', city: '北京' } })).status).toBe(201);
      expect((await w.api('POST', '/api/v1/sites', { token: ADMIN, body: { code: 'OUT-3', kind: 'outlet', city: '北京' } })).status).toBe(401);
      // The same token again at the next start: nothing new recorded.
      await w.dispose();
      w = await start(NEXT);
      expect(await w.warden.db.selectFrom('audit_log').select('seq').where('kind', '=', 'admin.admin_token_configured').execute()).toHaveLength(2);
    });
  });
});
