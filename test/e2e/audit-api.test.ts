/**
 * The audit trail over HTTP, on every backend: search with filters and keyset pagination, CSV,
 * the latest signed head, status, and an inclusion proof that `scripts/verify-proof.mjs` checks
 * offline (and rejects when tampered). Key rotation is audited with its actor (keys.rotated),
 * over HTTP and from the CLI. Analysts and the admin token only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { createTestStore, testAuditKey, testBackends, type TestStore } from '../support/stores.js';
import { generateSigningKeyText, parsePrivateKey, signerFromPrivateKey } from '../../src/audit/signing-key.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { releaseForCli, reopen, runWarden } from '../support/cli.js';

const SCRIPT = new URL('../../scripts/verify-proof.mjs', import.meta.url).pathname;

function verifyProof(proof: unknown, publicKey: string) {
  const dir = mkdtempSync(join(process.env.WARDEN_TEST_TMP ?? '/tmp', 'proof-'));
  const file = join(dir, 'proof.json');
  writeFileSync(file, JSON.stringify(proof));
  // Plain Node, nothing from Warden on the path: only the file and the pinned key.
  const r = spawnSync(process.execPath, [SCRIPT, file, '--public-key', publicKey], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', cwd: dir });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe.each(testBackends())('audit API on %s', { timeout: 120_000 }, (backend) => {
  let w: TestWarden;
  let t: TestStore;
  let analyst: string;
  let courier: string;
  /** The device the server enrolled for the courier's login (the trail names it, not the client's label). */
  let courierDevice: string;

  beforeAll(async () => {
    t = await createTestStore(backend);
    w = await startTestWarden(backend, { store: t, config: { detect: false, auditCheckpointEvery: 8 } });
    const admin = w.adminToken;
    expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
    for (const [id, role, site] of [['sa1', 'security_analyst', null], ['c1', 'courier', 'OUT-1']] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
    }
    for (let i = 0; i < 20; i++) await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: `svc${i}`, role: 'service', site: null } });
    analyst = (await w.api('POST', '/api/v1/sessions', { body: { account: 'sa1', password: 'pw-sa1-secret', device: 'pc' } })).body.token;
    const c1 = (await w.api('POST', '/api/v1/sessions', { body: { account: 'c1', password: 'pw-c1-secret', device: 'pda' } })).body;
    courier = c1.token;
    courierDevice = c1.device_id;
    expect(courierDevice).toMatch(/^dev_/);
  });
  afterAll(async () => {
    await w?.warden.close();
    await t?.dispose();
  });

  it('lists entries newest first with filters and keyset pagination; analysts and admin only', async () => {
    const first = await w.api('GET', '/api/v1/audit/entries?limit=5', { token: analyst });
    expect(first.status, first.text).toBe(200);
    const seqs = first.body.entries.map((e: { seq: number }) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(first.body.next_before_seq).toBe(seqs.at(-1));
    const second = await w.api('GET', `/api/v1/audit/entries?limit=5&before_seq=${first.body.next_before_seq}`, { token: w.adminToken });
    expect(second.body.entries[0].seq).toBe(seqs.at(-1) - 1);

    const logins = await w.api('GET', '/api/v1/audit/entries?kind=auth.login&account=c1', { token: analyst });
    expect(logins.body.entries).toHaveLength(1);
    expect(logins.body.entries[0]).toMatchObject({ kind: 'auth.login', account: 'c1', role: 'courier', site: 'OUT-1', decision: 'allowed', device: courierDevice, fields: [] });
    expect(logins.body.next_before_seq).toBeNull();
    const none = await w.api('GET', '/api/v1/audit/entries?since=2099-01-01T00:00:00Z', { token: analyst });
    expect(none.body.entries).toEqual([]);
    const all = await w.api('GET', '/api/v1/audit/entries?since=2000-01-01&until=2099-01-01&limit=500', { token: analyst });
    expect(all.body.entries.length).toBeGreaterThan(20);

    expect((await w.api('GET', '/api/v1/audit/entries', { token: courier })).status).toBe(403);
    expect((await w.api('GET', '/api/v1/audit/entries')).status).toBe(401);
    const badKind = await w.api('GET', '/api/v1/audit/entries?kind=nope', { token: analyst });
    expect(badKind.status).toBe(400);
    expect(badKind.body.error.code).toBe('validation_failed');
    expect((await w.api('GET', '/api/v1/audit/entries?since=yesterday', { token: analyst })).status).toBe(400);
    expect((await w.api('GET', '/api/v1/audit/entries?limit=501', { token: analyst })).status).toBe(400);
    expect((await w.api('GET', '/api/v1/audit/entries?color=red', { token: analyst })).status).toBe(400);
  });

  it('exports the same search as CSV, bounded, continuing by header, formulas made inert', async () => {
    // A suspension's reason was whatever the caller typed, and entries written before attack review 10
    // still hold it (the trail is never edited; new ones keep its SHA-256): a spreadsheet must not run
    // it. (A device name no longer reaches the trail: entries name the enrolled device id.)
    await w.warden.audit.append([{ kind: 'admin.account_suspended', ts: new Date(), decision: 'ok', account: 'svc0', reason: '=cmd|calc', detail: { actor: 'admin' } }]);
    const r = await fetch(`${w.url}/api/v1/audit/entries.csv?limit=3`, { headers: { authorization: `Bearer ${analyst}` } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await r.text()).trim().split('\r\n');
    expect(lines[0]).toBe('seq,ts,kind,account,role,site,device,ip,session,waybill,fields,purpose,ticket,decision,reason,request_id,detail');
    expect(lines).toHaveLength(4);
    expect(Number(r.headers.get('x-next-before-seq'))).toBe(Number(lines[3]!.split(',')[0]));
    const suspended = await (await fetch(`${w.url}/api/v1/audit/entries.csv?kind=admin.account_suspended&account=svc0`, { headers: { authorization: `Bearer ${analyst}` } })).text();
    expect(suspended).toContain(",'=cmd|calc,");
    expect(suspended).not.toMatch(/,=cmd/);
    expect((await w.api('GET', '/api/v1/audit/entries.csv?limit=10001', { token: analyst })).status).toBe(400);
    expect((await w.api('GET', '/api/v1/audit/entries.csv', { token: courier })).status).toBe(403);
  });

  it('serves the latest signed head and the publication status', async () => {
    await w.warden.trail.heads.tick();
    const head = await w.api('GET', '/api/v1/audit/head', { token: analyst });
    expect(head.status).toBe(200);
    expect(head.body).toMatchObject({ tree_size: expect.any(Number), root_hash: expect.any(String), key_id: expect.stringMatching(/^ed25519:/), signature: expect.any(String) });
    const status = await w.api('GET', '/api/v1/audit/status', { token: w.adminToken });
    expect(status.body).toMatchObject({ head: head.body, signing_key: { public_key: w.auditPublicKey, source: 'env' }, witnesses: [] });
    expect((await w.api('GET', '/api/v1/audit/head', { token: courier })).status).toBe(403);
  });

  it('proves one entry offline: scripts/verify-proof.mjs accepts the genuine proof and rejects a tampered one', async () => {
    // The first account created (its seq depends on what start-up audits before it, e.g. the admin token's fingerprint).
    let r = await w.api('GET', '/api/v1/audit/entries/1/proof', { token: analyst });
    for (let seq = 1; seq <= 10 && r.body?.entry?.kind !== 'admin.account_created'; seq++) r = await w.api('GET', `/api/v1/audit/entries/${seq}/proof`, { token: analyst });
    expect(r.status, r.text).toBe(200);
    const seq = r.body.entry.seq as number;
    expect(r.body.entry.kind).toBe('admin.account_created');
    expect(r.body.tree_size).toBeGreaterThanOrEqual(seq);
    const ok = verifyProof(r.body, w.auditPublicKey);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(new RegExp(`proof OK: entry ${seq} \\(admin\\.account_created, `));

    const tampered = [
      { ...r.body, entry: { ...r.body.entry, account: 'someone-else' } },
      { ...r.body, leaf: r.body.leaf.replace(JSON.stringify(r.body.entry.account), '"someone-else"') },
      { ...r.body, audit_path: [...r.body.audit_path].reverse() },
      { ...r.body, head: { ...r.body.head, tree_size: r.body.head.tree_size + 1 }, tree_size: r.body.head.tree_size + 1 },
    ];
    for (const proof of tampered) {
      const bad = verifyProof(proof, w.auditPublicKey);
      expect(bad.code, bad.out).toBe(1);
      expect(bad.err).toMatch(/^proof REJECTED: /);
    }
    const otherKey = verifyProof(r.body, Buffer.alloc(32, 9).toString('base64'));
    expect(otherKey.code).toBe(1);
    expect(otherKey.err).toMatch(/not among the pinned keys/);

    // An entry newer than the latest head gets a head signed on demand.
    await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id: 'svc-new', role: 'service', site: null } });
    const latest = (await w.api('GET', '/api/v1/audit/entries?limit=1', { token: analyst })).body.entries[0].seq;
    const fresh = await w.api('GET', `/api/v1/audit/entries/${latest}/proof`, { token: w.adminToken });
    expect(fresh.status, fresh.text).toBe(200);
    expect(verifyProof(fresh.body, w.auditPublicKey).code).toBe(0);

    expect((await w.api('GET', '/api/v1/audit/entries/999999/proof', { token: analyst })).status).toBe(404);
    expect((await w.api('GET', '/api/v1/audit/entries/0/proof', { token: analyst })).status).toBe(400);
    expect((await w.api('GET', '/api/v1/audit/entries/3/proof', { token: courier })).status).toBe(403);
  });

  it('audits a key rotation with its actor (keys.rotated) over HTTP; a refused rotation writes none', async () => {
    expect((await w.api('POST', '/api/v1/keys/rotate', { token: analyst })).status).toBe(403);
    const rotated = await w.api('POST', '/api/v1/keys/rotate', { token: w.adminToken });
    expect(rotated.status, rotated.text).toBe(200);
    const entries = (await w.api('GET', '/api/v1/audit/entries?kind=keys.rotated', { token: analyst })).body.entries;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ kind: 'keys.rotated', account: 'admin', decision: 'ok', detail: { new_kek_id: rotated.body.newKekId } });
    expect(entries[0].request_id).toEqual(expect.any(String));
  });

  it('audits a CLI rotation as os:<user>, refuses --actor, and the trail still verifies', async () => {
    const masterKey = w.masterKey;
    await w.warden.close();
    await releaseForCli(t);
    // Hole (attack review 9): `warden keys rotate --actor ana2` recorded ana2 as the rotator.
    for (const actor of [['--actor', 'ana2'], ['--actor=ana2'], ['--actor']]) {
      const forged = runWarden(t, ['keys', 'rotate', ...actor], { WARDEN_MASTER_KEY: masterKey });
      expect(forged.code, forged.err).toBe(2);
      expect(forged.err).toMatch(/--actor is not accepted: the CLI records who acts as os:/);
      expect(forged.out).not.toMatch(/rotated/);
    }
    const r = runWarden(t, ['keys', 'rotate'], { WARDEN_MASTER_KEY: masterKey });
    expect(r.code, r.err).toBe(0);
    const again = await reopen(t);
    const v = await startTestWarden(backend, { store: again, config: { detect: false, auditCheckpointEvery: 8, masterKey } });
    try {
      const sa = (await v.api('POST', '/api/v1/sessions', { body: { account: 'sa1', password: 'pw-sa1-secret', device: 'pc' } })).body.token;
      const entries = (await v.api('GET', '/api/v1/audit/entries?kind=keys.rotated', { token: sa })).body.entries;
      expect(entries.map((e: { account: string }) => e.account)).toEqual([`os:${userInfo().username}`, 'admin']);
      const verified = await v.api('GET', '/api/v1/audit/verify', { token: sa });
      expect(verified.status, verified.text).toBe(200);
      expect(verified.body).toMatchObject({ ok: true, trust: { pinned: false, note: expect.stringMatching(/trusting only the local signing key/) } });
    } finally {
      await v.dispose();
      await again.dispose();
    }
  });

  it('a change of signing key is itself audited, pinned keys must include it, and old heads need the old key pinned', async () => {
    const masterKey = w.masterKey;
    await w.warden.close().catch(() => undefined);
    const oldKey = testAuditKey(t.options).publicKey;
    const next = generateSigningKeyText();
    const nextPublic = signerFromPrivateKey(parsePrivateKey(next, 'test'), 'env').publicKeyText;
    const store = await reopen(t);
    try {
      // Pinned keys that leave out the signing key: refuse to start rather than sign heads nobody accepts.
      await expect(startTestWarden(backend, { store, config: { detect: false, masterKey, auditSigningKey: next, auditPublicKeys: oldKey } })).rejects.toThrow(/signing key \(ed25519:[0-9a-f]{16}\) is not among WARDEN_AUDIT_PUBLIC_KEYS/);
      const v = await startTestWarden(backend, { store, config: { detect: false, masterKey, auditCheckpointEvery: 8, auditSigningKey: next, auditPublicKeys: `${oldKey},${nextPublic}` } });
      try {
        const sa = (await v.api('POST', '/api/v1/sessions', { body: { account: 'sa1', password: 'pw-sa1-secret', device: 'pc' } })).body.token;
        const changed = (await v.api('GET', '/api/v1/audit/entries?kind=keys.audit_signing_key_changed', { token: sa })).body.entries;
        expect(changed).toHaveLength(1);
        expect(changed[0]).toMatchObject({ account: expect.stringMatching(/^os:/), detail: { previous_key_id: expect.stringMatching(/^ed25519:/), key_id: v.warden.trail.signer.keyId, source: 'env' } });
        const ok = await v.api('GET', '/api/v1/audit/verify', { token: sa });
        expect(ok.status, ok.text).toBe(200);
        expect(ok.body.trust).toMatchObject({ pinned: true });
      } finally {
        await v.warden.close();
      }
      await releaseForCli(store);
      const onlyNew = runWarden(t, ['audit', 'verify', '--public-key', nextPublic], {});
      expect(onlyNew.code).toBe(1);
      expect(onlyNew.err).toMatch(/BROKEN at seq 1: the signed head at tree size \d+ names key ed25519:[0-9a-f]{16}, which is not pinned/);
      expect(runWarden(t, ['audit', 'verify', '--public-key', `${oldKey},${nextPublic}`], {}).code).toBe(0);
    } finally {
      await store.dispose();
    }
  });
});

describe.each(testBackends())('a witness that is down, on %s', { timeout: 60_000 }, (backend) => {
  it('never delays a request: publication fails in the background, is retried, counted and shown in /audit/status', async () => {
    const w = await startTestWarden(backend, { config: { detect: false, auditCheckpointEvery: 2, witness: 'http://127.0.0.1:1,file:/nonexistent-dir/heads.ndjson' } });
    try {
      for (let i = 0; i < 6; i++) {
        const r = await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id: `svc${i}`, role: 'service', site: null } });
        expect(r.status).toBe(201);
      }
      let witnesses: Array<{ sink: string; ok: boolean; error?: string }> = [];
      for (let i = 0; i < 50 && !(witnesses.length === 2 && witnesses.every((x) => x.error)); i++) {
        await new Promise((r) => setTimeout(r, 100));
        witnesses = (await w.api('GET', '/api/v1/audit/status', { token: w.adminToken })).body.witnesses;
      }
      expect(witnesses).toEqual([
        { sink: 'http://127.0.0.1:1/', last_size: null, last_at: null, ok: false, error: expect.stringMatching(/fetch failed|ECONNREFUSED/) },
        { sink: 'file:/nonexistent-dir/heads.ndjson', last_size: null, last_at: null, ok: false, error: expect.stringMatching(/^ENOENT: no such file/) },
      ]);
      const metrics = await (await fetch(`${w.url}/metrics`)).text();
      expect(metrics).toMatch(/warden_audit_witness_failures_total\{sink="http#0"\} [1-9]/);
      expect(metrics).toMatch(/warden_audit_witness_healthy\{sink="file#1"\} 0/);
      expect(w.logs()).toContain('publishing a signed tree head to a witness failed; will retry');
    } finally {
      await w.dispose();
    }
  });
});
