/**
 * Attack review 9 over real HTTP, on every backend: the database owner re-routes a Shanghai
 * parcel to a Beijing outlet (`update waybills set dest_site = …`) so a clerk there may reveal it.
 * The routing is sealed with the row (src/vault/routing-seal.ts): the changed record fails closed
 * (409 record_integrity, nothing decrypted, no PII in the answer), the refusal is audited with
 * the waybill and `integrity: routing_mismatch`; set back, it works again. Warden's own re-route
 * (a real waybill superseding a canary with another routing) is sealed anew and allowed. Rows
 * written before the seal are sealed once at start, audited with the count, and never again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { sealLegacyRoutings } from '../../src/vault/routing-seal.js';

const SENDER = { name: '欧阳小明', phone: '13812345678', address: '上海市浦东新区世纪大道100号5号楼1单元1201室' };
const RECIPIENT = { name: '王小明', phone: '13900001111', address: '上海市徐汇区漕溪北路88号3号楼2单元501室' };
const SH_PARCEL = 'SF100000000001'; // OUT-SH-1 -> OUT-SH-1: none of clerk1's business
const BJ_PARCEL = 'SF100000000002'; // OUT-SH-1 -> OUT-BJ-1: clerk1's site
const LEGACY = 'SF100000000003'; // OUT-SH-1 -> OUT-SH-1

describe.each(testBackends())('routing seal (attack review 9) on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  const reveal = (who: string, waybill: string, purpose = 'pickup') =>
    w.api('POST', `/api/v1/waybills/${waybill}/reveal`, { token: tokens[who], body: { fields: ['recipient.name', 'recipient.phone'], purpose } });
  const dba = (statement: ReturnType<typeof sql>) => statement.execute(w.warden.db);
  const entries = (waybill: string) =>
    w.warden.db.selectFrom('audit_log').select(['account', 'decision', 'reason', 'detail', 'waybill']).where('kind', '=', 'access.reveal').where('waybill', '=', waybill).orderBy('seq').execute();
  const noPii = (text: string) => {
    for (const s of [RECIPIENT.name, RECIPIENT.phone, SENDER.name, SENDER.phone, '上海市', 'OUT-SH-1']) expect(text).not.toContain(s);
  };

  beforeAll(async () => {
    // Detection off: the refusals here are on purpose (the engine's responses are watch.test.ts's).
    w = await startTestWarden(backend, { config: { detect: false } });
    const admin = w.adminToken;
    for (const s of [
      { code: 'OUT-SH-1', kind: 'outlet', city: '上海' },
      { code: 'OUT-BJ-1', kind: 'outlet', city: '北京' },
      { code: 'HQ-BJ', kind: 'hq', city: '北京' },
    ]) {
      expect((await w.api('POST', '/api/v1/sites', { token: admin, body: s })).status).toBe(201);
    }
    const accounts: Array<[string, string, string | null]> = [
      ['sa1', 'security_analyst', null],
      ['clerk1', 'outlet_staff', 'OUT-BJ-1'],
      ['clerk2', 'outlet_staff', 'OUT-SH-1'],
      ['m1', 'manager', 'HQ-BJ'],
      ['c1', 'courier', 'OUT-BJ-1'],
      ['svc', 'service', null],
      ['dispatch-bj', 'service', null],
    ];
    for (const [id, role, site] of accounts) {
      const r = await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } });
      expect(r.status, r.text).toBe(201);
    }
    tokens.svc = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    const dispatch = await w.api('POST', '/api/v1/accounts/dispatch-bj/tokens', { token: admin, body: { events: ['assign'], sites: ['OUT-BJ-1'] } });
    expect(dispatch.status, dispatch.text).toBe(201);
    tokens['dispatch-bj'] = dispatch.body.token;
    for (const [id, role] of accounts) {
      if (role === 'service') continue;
      const r = await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: `${id}-dev` } });
      expect(r.status, r.text).toBe(201);
      tokens[id] = r.body.token;
    }
    for (const [waybill, dest_site] of [[SH_PARCEL, 'OUT-SH-1'], [BJ_PARCEL, 'OUT-BJ-1'], [LEGACY, 'OUT-SH-1']] as const) {
      const r = await w.api('POST', '/api/v1/waybills', { token: tokens.svc, body: { waybill, origin_site: 'OUT-SH-1', dest_site, sender: SENDER, recipient: RECIPIENT } });
      expect(r.status, r.text).toBe(201);
    }
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('allowed: the clerk reveals a parcel routed to their site (sealed by Warden at ingest)', async () => {
    const r = await reveal('clerk1', BJ_PARCEL);
    expect(r.status, r.text).toBe(200);
    expect(r.body.values).toEqual({ 'recipient.name': RECIPIENT.name, 'recipient.phone': RECIPIENT.phone });
    const row = await w.warden.db.selectFrom('waybills').select('routing_seal').where('waybill', '=', BJ_PARCEL).executeTakeFirstOrThrow();
    expect(row.routing_seal?.length).toBe(41);
  });

  it('denied: a Shanghai parcel is none of the Beijing clerk\'s business', async () => {
    const r = await reveal('clerk1', SH_PARCEL);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('no_work_context');
  });

  it('the DBA re-routes it to the clerk\'s outlet: refused, fails closed, audited; set back, it works again', async () => {
    await dba(sql`update waybills set dest_site = 'OUT-BJ-1' where waybill = ${SH_PARCEL}`);
    const r = await reveal('clerk1', SH_PARCEL);
    expect(r.status, r.text).toBe(409);
    expect(r.body.error.code).toBe('record_integrity');
    expect(r.body.error.message).toContain(SH_PARCEL);
    noPii(r.text);
    // Fails closed for everyone, the parcel's own outlet too; and in a batch, item by item.
    expect((await reveal('clerk2', SH_PARCEL)).body.error.code).toBe('record_integrity');
    const batch = await w.api('POST', '/api/v1/reveals', { token: tokens.clerk1, body: { items: [{ waybill: SH_PARCEL }, { waybill: BJ_PARCEL }], fields: ['recipient.name'], purpose: 'pickup' } });
    expect(batch.status, batch.text).toBe(200);
    expect(batch.body.results[0]).toMatchObject({ waybill: SH_PARCEL, error: { code: 'record_integrity' } });
    expect(batch.body.results[1]).toMatchObject({ waybill: BJ_PARCEL, values: { 'recipient.name': RECIPIENT.name } });
    noPii(JSON.stringify(batch.body.results[0]));
    // The audit entry names the waybill and says the routing did not match (no routing, no PII).
    const denied = (await entries(SH_PARCEL)).filter((e) => e.reason === 'record_integrity');
    expect(denied.length).toBeGreaterThanOrEqual(2);
    expect(denied[0]).toMatchObject({ account: 'clerk1', decision: 'denied', waybill: SH_PARCEL, detail: expect.objectContaining({ integrity: 'routing_mismatch' }) });
    noPii(JSON.stringify(denied));
    // The masked view is not the seal's business: unchanged.
    expect((await w.api('GET', `/api/v1/waybills/${SH_PARCEL}`, { token: tokens.clerk1 })).status).toBe(200);

    await dba(sql`update waybills set dest_site = 'OUT-SH-1' where waybill = ${SH_PARCEL}`);
    expect((await reveal('clerk1', SH_PARCEL)).body.error.code).toBe('no_work_context');
    const back = await reveal('clerk2', SH_PARCEL);
    expect(back.status, back.text).toBe(200);
    expect(back.body.values['recipient.phone']).toBe(RECIPIENT.phone);
  });

  it('review 11: ciphertexts swapped between two waybills answer 409 record_integrity (was 500), audited, nothing decrypted; the batch refuses that item only', async () => {
    const cols = ['name_ct', 'phone_ct', 'address_ct'] as const;
    const rowOf = (waybill: string) => w.warden.db.selectFrom('waybill_parties').select([...cols, 'subject_id']).where('waybill', '=', waybill).where('party', '=', 'recipient').executeTakeFirstOrThrow();
    const [bj, sh] = [await rowOf(BJ_PARCEL), await rowOf(SH_PARCEL)];
    await w.warden.db.updateTable('waybill_parties').set({ name_ct: sh.name_ct, phone_ct: sh.phone_ct, address_ct: sh.address_ct, subject_id: sh.subject_id }).where('waybill', '=', BJ_PARCEL).where('party', '=', 'recipient').execute();
    const r = await reveal('clerk1', BJ_PARCEL);
    expect(r.status, r.text).toBe(409);
    expect(r.body.error.code).toBe('record_integrity');
    expect(r.body.error.message).toContain('does not authenticate');
    noPii(r.text);
    const denied = (await entries(BJ_PARCEL)).filter((e) => e.reason === 'record_integrity');
    expect(denied.at(-1)).toMatchObject({ account: 'clerk1', decision: 'denied', detail: expect.objectContaining({ integrity: 'field_mismatch' }) });
    const batch = await w.api('POST', '/api/v1/reveals', { token: tokens.clerk1, body: { items: [{ waybill: BJ_PARCEL }], fields: ['recipient.name'], purpose: 'pickup' } });
    expect(batch.status, batch.text).toBe(200);
    expect(batch.body.results[0]).toMatchObject({ waybill: BJ_PARCEL, error: { code: 'record_integrity' } });
    noPii(batch.text);
    await w.warden.db.updateTable('waybill_parties').set({ name_ct: bj.name_ct, phone_ct: bj.phone_ct, address_ct: bj.address_ct, subject_id: bj.subject_id }).where('waybill', '=', BJ_PARCEL).where('party', '=', 'recipient').execute();
    expect((await reveal('clerk1', BJ_PARCEL)).status).toBe(200);
  });

  it('the city, a copied seal and a removed seal are bound too', async () => {
    // City: the manager's city rule reads dest_city.
    await dba(sql`update waybills set dest_city = '北京' where waybill = ${SH_PARCEL}`);
    const city = await reveal('m1', SH_PARCEL, 'audit');
    expect(city.status, city.text).toBe(409);
    expect(city.body.error.code).toBe('record_integrity');
    await dba(sql`update waybills set dest_city = '上海' where waybill = ${SH_PARCEL}`);
    expect((await reveal('m1', SH_PARCEL, 'audit')).body.error.code).toBe('no_work_context');
    // A seal copied from a Beijing parcel along with its routing: the seal names its waybill.
    await dba(sql`update waybills w set dest_site = b.dest_site, dest_city = b.dest_city, routing_seal = b.routing_seal from waybills b where w.waybill = ${SH_PARCEL} and b.waybill = ${BJ_PARCEL}`);
    expect((await reveal('clerk1', SH_PARCEL)).body.error.code).toBe('record_integrity');
    // No seal at all (the one-time sealing ran or was never needed): fails closed as well.
    await dba(sql`update waybills set dest_site = 'OUT-SH-1', dest_city = '上海', routing_seal = null where waybill = ${SH_PARCEL}`);
    expect((await reveal('clerk2', SH_PARCEL)).body.error.code).toBe('record_integrity');
  });

  it('Warden\'s own re-route: a real waybill superseding a canary with another routing is sealed anew, and allowed', async () => {
    const planted = await w.api('POST', '/api/v1/canaries', { token: tokens.sa1, body: { count: 1 } });
    expect(planted.status, planted.text).toBe(201);
    const [canary] = planted.body.waybills as string[];
    const before = await w.warden.db.selectFrom('waybills').select(['dest_site', 'routing_seal']).where('waybill', '=', canary!).executeTakeFirstOrThrow();
    const stored = await w.api('POST', '/api/v1/waybills', { token: tokens.svc, body: { waybill: canary, origin_site: 'OUT-SH-1', dest_site: 'OUT-BJ-1', sender: SENDER, recipient: RECIPIENT } });
    expect(stored.status, stored.text).toBe(201);
    const after = await w.warden.db.selectFrom('waybills').select(['dest_site', 'routing_seal']).where('waybill', '=', canary!).executeTakeFirstOrThrow();
    expect(after.dest_site).toBe('OUT-BJ-1');
    expect(before.routing_seal).not.toBeNull();
    expect(w.warden.keyring.routingSeal.check({ waybill: canary!, origin_site: 'OUT-SH-1', dest_site: 'OUT-BJ-1', origin_city: '上海', dest_city: '北京' }, after.routing_seal)).toBe(true);
    const r = await reveal('clerk1', canary!);
    expect(r.status, r.text).toBe(200);
    expect(r.body.values['recipient.name']).toBe(RECIPIENT.name);
  });

  it('rows written before the seal are sealed once at start (audited with the count); a later missing seal is never sealed', async () => {
    // As migration 0019 leaves an existing store: the row unsealed, the count recorded.
    await dba(sql`update waybills set routing_seal = null where waybill = ${LEGACY}`);
    await dba(sql`update routing_seal_upgrade set legacy = 1`);
    expect((await reveal('clerk2', LEGACY)).body.error.code).toBe('record_integrity');
    const seal = w.warden.keyring.routingSeal;
    expect(await sealLegacyRoutings({ db: w.warden.db, seal, audit: w.warden.audit, now: new Date() })).toEqual({ sealed: 2 }); // LEGACY and the seal removed above
    const sealed = await w.warden.db.selectFrom('audit_log').select(['detail', 'account']).where('kind', '=', 'vault.routing_sealed').execute();
    expect(sealed).toHaveLength(1);
    expect(sealed[0]!.detail).toMatchObject({ count: 2, migrated_rows: 1 });
    expect((await reveal('clerk2', LEGACY)).status).toBe(200);

    // The DBA tries it again: unseal, re-route, reset the count, restart. Nothing is sealed.
    await dba(sql`update waybills set dest_site = 'OUT-BJ-1', routing_seal = null where waybill = ${LEGACY}`);
    await dba(sql`update routing_seal_upgrade set legacy = 5`);
    expect(await sealLegacyRoutings({ db: w.warden.db, seal, audit: w.warden.audit, now: new Date() })).toBeNull();
    expect(await w.warden.db.selectFrom('audit_log').select('seq').where('kind', '=', 'vault.routing_sealed').execute()).toHaveLength(1);
    const r = await reveal('clerk1', LEGACY);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('record_integrity');
    noPii(r.text);
    // The trail still verifies with the sealing entry in it.
    expect((await w.warden.trail.verify()).ok).toBe(true);
  });

  it('a producer scoped to the clerk\'s outlet cannot give work on the re-routed parcel either (its sites are read from the sealed row)', async () => {
    const assign = (waybill: string) => w.api('POST', '/api/v1/assignments', { token: tokens['dispatch-bj'], body: { waybill, account: 'c1', task: 'delivery' } });
    const courier = (waybill: string) => w.api('POST', `/api/v1/waybills/${waybill}/reveal`, { token: tokens.c1, body: { fields: ['recipient.name'], purpose: 'delivery' } });
    await dba(sql`update waybills set dest_site = 'OUT-BJ-1', dest_city = '北京' where waybill = ${SH_PARCEL}`);
    const refused = await assign(SH_PARCEL);
    expect(refused.status, refused.text).toBe(403);
    expect(refused.body.error.code).toBe('producer_not_registered');
    noPii(refused.text);
    expect((await courier(SH_PARCEL)).body.error.code).toBe('record_integrity');
    expect(await w.warden.db.selectFrom('assignments').select('waybill').where('waybill', '=', SH_PARCEL).execute()).toEqual([]);
    await dba(sql`update waybills set dest_site = 'OUT-SH-1', dest_city = '上海' where waybill = ${SH_PARCEL}`);
    // Allowed: a parcel really bound for the outlet.
    expect((await assign(BJ_PARCEL)).status).toBe(201);
    const ok = await courier(BJ_PARCEL);
    expect(ok.status, ok.text).toBe(200);
  });
});
