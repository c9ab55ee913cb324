/**
 * The operator's CLI against a real store: `warden audit verify` passes on an intact trail and
 * names the first bad seq after a row is altered, removed or reordered. It needs no master key
 * and trusts only the pinned public key (test/e2e/audit-tamper.test.ts has the full attacks).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { sql } from 'kysely';
import { testBackends, type TestStore } from '../support/stores.js';
import { startTestWarden } from '../support/warden.js';
import { openStore } from '../../src/store/db.js';

const BIN = new URL('../../bin/warden.js', import.meta.url).pathname;

function warden(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe.each(testBackends())('warden audit verify on %s', (backend) => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.dispose();
    store = undefined;
  });

  async function trailWithEntries() {
    const w = await startTestWarden(backend);
    store = w.store;
    await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    for (let i = 0; i < 6; i++) {
      await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id: `c${i}`, role: 'courier', site: 'OUT-1', password: 'long-enough-pw' } });
    }
    const env: Record<string, string> = { WARDEN_AUDIT_PUBLIC_KEYS: w.auditPublicKey, ...(store.options.databaseUrl ? { WARDEN_DATABASE_URL: store.options.databaseUrl } : {}) };
    const args = store.options.dataDir ? ['--data', store.options.dataDir] : [];
    // Stop the server: an embedded store is opened by one process at a time.
    await w.warden.close();
    if (backend === 'pglite') await store.store.close();
    return { env, args };
  }

  async function tamper(statement: string) {
    const s = backend === 'pglite' ? await openStore({ dataDir: store!.options.dataDir!, migrate: false }) : store!.store;
    await sql.raw(statement).execute(s.db);
    if (backend === 'pglite') await s.close();
  }

  it('exits 0 on an intact trail', async () => {
    const { env, args } = await trailWithEntries();
    const r = warden(['audit', 'verify', ...args], env);
    expect(r.code, r.err).toBe(0);
    // policy.loaded and the admin token's fingerprint at start, the site, six accounts.
    expect(r.out).toMatch(/audit trail OK: 9 entries/);
  });

  it('names the first altered row', async () => {
    const { env, args } = await trailWithEntries();
    await tamper(`update audit_log set account = 'someone-else' where seq = 4`);
    const r = warden(['audit', 'verify', ...args], env);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.err).toMatch(/BROKEN at seq 4/);
  });

  it('names a removed row', async () => {
    const { env, args } = await trailWithEntries();
    await tamper(`delete from audit_log where seq = 3`);
    const r = warden(['audit', 'verify', '--json', ...args], env);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, first_bad_seq: 3 });
  });

  it('names reordered rows', async () => {
    const { env, args } = await trailWithEntries();
    await tamper(`update audit_log set seq = -seq where seq in (5, 6)`);
    await tamper(`update audit_log set seq = case seq when -5 then 6 when -6 then 5 end where seq in (-5, -6)`);
    const r = warden(['audit', 'verify', ...args], env);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/BROKEN at seq 5/);
  });

  it('finds removed trailing rows through the head', async () => {
    const { env, args } = await trailWithEntries();
    await tamper(`delete from audit_log where seq >= 6`);
    const r = warden(['audit', 'verify', ...args], env);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/BROKEN at seq 6/);
  });

  it('trusts only the pinned key: heads signed by another key are refused, naming the key', async () => {
    const { env, args } = await trailWithEntries();
    const other = Buffer.alloc(32, 7).toString('base64');
    const r = warden(['audit', 'verify', ...args, '--public-key', other], env);
    expect(r.code).toBe(1);
    // The first head read names the unpinned key: the one signed at close over the whole trail (9
    // entries, as above), or an earlier one the head timer signed while a slow machine set up.
    expect(r.err).toMatch(/BROKEN at seq 1: the signed head at tree size [1-9] names key ed25519:[0-9a-f]{16}, which is not pinned \(9 entries read\)/);
    const bad = warden(['audit', 'verify', ...args, '--public-key', 'not-a-key'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--public-key item 1: not an Ed25519 public key/);
  });
});
