/**
 * Retention over real HTTP and the CLI, on every backend (issue 12): the privacy roles run it
 * (others are refused), a dry run counts, a run purges what is due batch by batch — reveals
 * keep being answered between batches — and reports what it purged; the audit trail is not
 * touched and still verifies. The CLI files requests, approves a deletion with a second actor
 * and runs retention.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { releaseForCli, reopen, runWarden } from '../support/cli.js';
import { createRetention, loadRetentionPolicy, PURGED_MARK } from '../../src/pipl/retention.js';

const DAY = 86_400_000;
const PARTY = (n: number) => ({ name: `张${'一二三四五六七八九十'[n % 10]}`, phone: `1390000${String(1000 + n)}`, address: '北京市朝阳区建国路88号3号楼2单元501室' });
const W = (n: number) => `SF8000000000${String(n).padStart(2, '0')}`;
const COUNT = 10;

describe.each(testBackends())('PIPL retention on %s', (backend) => {
  let w: TestWarden;
  let now = Date.now();
  const tokens: Record<string, string> = {};
  let retentionFile = '';
  let caseId = '';
  const login = async (id: string) => (tokens[id] = (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: `${id}-dev` } })).body.token);

  beforeAll(async () => {
    const dir = mkdtempSync(join(process.env.WARDEN_TEST_TMP ?? '/tmp', 'retention-'));
    retentionFile = join(dir, 'retention.yaml');
    // Recipients' phone numbers and addresses go two days after the period starts; everything else stays.
    writeFileSync(retentionFile, 'undelivered_days: 1\ndays:\n  recipient: { id_number: 1, phone: 2, address: 2 }\n');
    w = await startTestWarden(backend, { config: { detect: false, retentionFile, retentionEveryMinutes: 0 }, warden: { clock: { now: () => now } } });
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    for (const [id, role, site] of [['sa1', 'security_analyst', null], ['sa2', 'security_analyst', null], ['it1', 'it_admin', null], ['m1', 'manager', 'OUT-1'], ['svc', 'service', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
      if (role !== 'service') await login(id);
    }
    const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    for (let n = 0; n < COUNT; n++) {
      const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: W(n), origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY(n), recipient: PARTY(n + 50) } });
      expect(r.status, r.text).toBe(201);
    }
    const c = await w.api('POST', '/api/v1/cases', { token: tokens.sa1, body: { title: 'retention check', reason: 'reveals during a purge', waybills: Array.from({ length: COUNT }, (_, n) => W(n)) } });
    caseId = c.body.id;
    await w.api('POST', `/api/v1/cases/${caseId}/approve`, { token: tokens.sa2 });
  });
  afterAll(() => w?.dispose());

  it('only the privacy roles see the policy or run it', async () => {
    for (const who of ['it1', 'm1']) {
      expect((await w.api('POST', '/api/v1/retention/run', { token: tokens[who], body: { dry_run: true } })).status, who).toBe(403);
      expect((await w.api('GET', '/api/v1/retention/policy', { token: tokens[who] })).status, who).toBe(403);
    }
    expect((await w.api('POST', '/api/v1/retention/run', { token: w.adminToken, body: { dry_run: true } })).status).toBe(403);
    const policy = await w.api('GET', '/api/v1/retention/policy', { token: tokens.sa1 });
    expect(policy.status).toBe(200);
    expect(policy.body.days.recipient.phone).toBe(2);
    expect(policy.body.audit_days).toBeGreaterThanOrEqual(184);
  });

  it('nothing is due before the period ends; a dry run after it counts without purging', async () => {
    const early = await w.api('POST', '/api/v1/retention/run', { token: tokens.sa1, body: {} });
    expect(early.body).toMatchObject({ records: 0, purged: {} });
    now += 4 * DAY;
    for (const id of ['sa1', 'sa2']) await login(id);
    const dry = await w.api('POST', '/api/v1/retention/run', { token: tokens.sa1, body: { dry_run: true } });
    expect(dry.status, dry.text).toBe(200);
    expect(dry.body).toMatchObject({ dry_run: true, records: COUNT, purged: { 'recipient.phone': COUNT, 'recipient.address': COUNT } });
    const v = await w.api('POST', `/api/v1/waybills/${W(0)}/reveal`, { token: tokens.sa1, body: { fields: ['recipient.phone'], purpose: 'audit', case: caseId } });
    expect(v.body.values['recipient.phone']).toBe(PARTY(50).phone);
  });

  it('purges in batches; reveals are answered between batches; purged fields are gone, others stay', async () => {
    const seen: number[] = [];
    const retention = createRetention({ db: w.warden.db, audit: w.warden.audit, clock: { now: () => now }, policy: loadRetentionPolicy(retentionFile) });
    const result = await retention.run({
      actor: 'sa1',
      batchSize: 3,
      onBatch: async (done) => {
        // A reveal between two batches completes before the next batch starts.
        const r = await w.api('POST', `/api/v1/waybills/${W(COUNT - 1)}/reveal`, { token: tokens.sa1, body: { fields: ['sender.phone'], purpose: 'audit', case: caseId } });
        expect(r.status).toBe(200);
        expect(r.body.values['sender.phone']).toBe(PARTY(COUNT - 1).phone);
        seen.push(done);
      },
    });
    expect(result.batches).toBe(Math.ceil(COUNT / 3));
    expect(seen).toEqual([3, 6, 9, 10]);
    expect(result.purged).toEqual({ 'recipient.phone': COUNT, 'recipient.address': COUNT });
    const r = await w.api('POST', `/api/v1/waybills/${W(1)}/reveal`, { token: tokens.sa1, body: { fields: ['recipient.phone', 'recipient.name', 'sender.phone'], purpose: 'audit', case: caseId } });
    expect(r.body.values).toEqual({ 'recipient.phone': null, 'recipient.name': PARTY(51).name, 'sender.phone': PARTY(1).phone });
    const masked = await w.api('GET', `/api/v1/waybills/${W(1)}`, { token: tokens.sa1 });
    expect(masked.body.recipient.phone).toBe(PURGED_MARK);
    // A purged phone no longer finds its parcels (its blind index went with it); the sender's, kept, still does.
    const byPurged = await w.api('POST', '/api/v1/search', { token: tokens.sa1, body: { phone: PARTY(51).phone } });
    expect(byPurged.status, byPurged.text).toBe(200);
    expect(JSON.stringify(byPurged.body)).not.toContain(W(1));
    const byKept = await w.api('POST', '/api/v1/search', { token: tokens.sa1, body: { phone: PARTY(1).phone } });
    expect(JSON.stringify(byKept.body)).toContain(W(1));
    const runs = await w.api('GET', '/api/v1/retention/runs', { token: tokens.sa2 });
    expect(runs.body.runs.find((x: any) => !x.dry_run && x.batches === 4)).toMatchObject({ actor: 'sa1', dry_run: false, batches: 4, purged: { 'recipient.phone': COUNT } });
    const entries = await w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'pipl.retention_purged').execute();
    expect(entries).toHaveLength(4);
    expect((await w.api('GET', '/api/v1/audit/verify', { token: tokens.sa1 })).status).toBe(200);
  });

  it('the CLI files requests as os:<user> only and never gives the second signature; a second analyst approves through the API; it runs retention', async () => {
    await w.warden.close();
    await releaseForCli(w.store);
    const env = { WARDEN_MASTER_KEY: w.masterKey, WARDEN_RETENTION_FILE: retentionFile };
    // Hole (attack review): `--actor ana1` filed a deletion and `--actor ana2` approved it — both signatures forged.
    const forged = runWarden(w.store, ['subject', 'delete', '--phone', PARTY(2).phone, '--identity-verified', '--actor', 'sa1'], env);
    expect(forged.code).not.toBe(0);
    expect(forged.err).toMatch(/--actor/);
    const unverified = runWarden(w.store, ['subject', 'delete', '--phone', PARTY(2).phone], env);
    expect(unverified.code).not.toBe(0);
    expect(unverified.err).toMatch(/identity_verified/);
    const filed = runWarden(w.store, ['subject', 'delete', '--phone', PARTY(2).phone, '--identity-verified'], env);
    expect(filed.code, filed.err).toBe(0);
    const deletion = JSON.parse(filed.out);
    expect(deletion).toMatchObject({ kind: 'deletion', state: 'pending_approval' });
    expect(deletion.requested_by).toMatch(/^os:/);
    const refused = runWarden(w.store, ['subject', 'approve', deletion.id], env);
    expect(refused.code).toBe(3);
    expect(refused.err).toMatch(/approve through the API or the console as a second analyst/);
    const access = runWarden(w.store, ['subject', 'access', '--phone', PARTY(2).phone, '--identity-verified'], env);
    expect(access.code, access.err).toBe(0);
    const accessId = JSON.parse(access.out).id;
    expect(JSON.parse(access.out)).toMatchObject({ kind: 'access', state: 'pending_approval' });
    const early = runWarden(w.store, ['subject', 'report', accessId], env);
    expect(early.code).not.toBe(0);
    expect(early.err).toMatch(/another analyst approves/);
    expect(early.out).not.toContain(W(2));
    const listed = runWarden(w.store, ['subject', 'list'], env).out.trim().split('\n').map((l) => JSON.parse(l));
    expect(listed.find((r: { id: string }) => r.id === deletion.id)).toMatchObject({ state: 'pending_approval', approved_by: null });
    const dry = runWarden(w.store, ['retention', 'run', '--dry-run'], env);
    expect(dry.code, dry.err).toBe(0);
    expect(JSON.parse(dry.out)).toMatchObject({ dry_run: true });

    // The refusal is in the trail; a second analyst approves through the API, and the CLI prints the released report.
    const again = await reopen(w.store);
    const api = await startTestWarden(backend, { store: again, config: { detect: false, masterKey: w.masterKey, retentionFile, retentionEveryMinutes: 0 } });
    try {
      const denied = await api.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'pipl.request_approved').where('decision', '=', 'denied').execute();
      expect(denied.map((e) => e.detail)).toEqual([expect.objectContaining({ request: deletion.id, via: 'cli' })]);
      const sa2 = (await api.api('POST', '/api/v1/sessions', { body: { account: 'sa2', password: 'pw-sa2-secret', device: 'sa2-dev2' } })).body.token;
      for (const id of [accessId, deletion.id]) {
        const seen = await api.api('GET', `/api/v1/subjects/requests/${id}`, { token: sa2 });
        const ok = await api.api('POST', `/api/v1/subjects/requests/${id}/approve`, { token: sa2, body: { reviewed: seen.body.review.version } });
        expect(ok.status, ok.text).toBe(200);
      }
    } finally {
      await api.dispose();
      await again.dispose();
    }
    await releaseForCli(again);
    const report = runWarden(w.store, ['subject', 'report', accessId], env);
    expect(report.code, report.err).toBe(0);
    expect(report.out).toContain('个人信息查阅报告');
    // Read after the deletion: the person is erased, and their erased parcels no longer lead back to them (attack review 7).
    expect(report.out).toContain('您的个人信息已应您的请求删除');
    expect(report.out).not.toContain(W(2));
    expect(report.out).not.toContain(PARTY(2).phone);
    const verify = runWarden(w.store, ['audit', 'verify'], env);
    expect(verify.code, verify.out + verify.err).toBe(0);
  }, 600_000);
});
