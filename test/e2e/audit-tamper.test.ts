/**
 * The database owner attacks the audit trail (issue 7, hole 1), on every backend. They hold
 * everything the store holds and recompute whatever the store lets them (chain hashes, the tree
 * frontier, stored subtrees); they do not hold the signing key, which lives outside the store.
 * Each attack is caught by `warden audit verify` against the pinned key, or by `--witness`
 * against what the witnesses (a file, a `warden witness serve` process, an INSERT-only table in
 * another PostgreSQL database) saw — naming the first bad seq, the missing head, the truncation,
 * the rewrite or the fork.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { createTestStore, testAuditKey, testBackends, type TestStore } from '../support/stores.js';
import { startTestWarden } from '../support/warden.js';
import { releaseForCli, reopen, runWarden } from '../support/cli.js';
import type { Database } from '../../src/store/schema.js';
import { Frontier, leafHash } from '../../src/audit/merkle.js';
import { canonicalEntry, chainHashOf, GENESIS_HASH } from '../../src/audit/chain.js';
import { entryFromRow } from '../../src/audit/rows.js';
import { signHead } from '../../src/audit/sth.js';
import { parsePrivateKey, signerFromPrivateKey } from '../../src/audit/signing-key.js';
import { headToRow } from '../../src/audit/tree-store.js';

const BIN = new URL('../../bin/warden.js', import.meta.url).pathname;
const DOCS = new URL('../../docs/audit.md', import.meta.url).pathname;
const ENTRIES = 35; // what the start writes, a site, and accounts up to 35
const EVERY = 10;

/** The witness table and roles exactly as docs/audit.md tells an operator to create them. */
function witnessSetupSql(writer: string, auditor: string): string {
  const block = /```sql\n-- witness-setup\.sql\n([\s\S]*?)```/.exec(readFileSync(DOCS, 'utf8'));
  if (!block) throw new Error('docs/audit.md has no witness-setup.sql block');
  return block[1]!.replaceAll('warden_witness_writer', writer).replaceAll('warden_witness_auditor', auditor);
}

interface PgWitness {
  writerUrl: string;
  auditorUrl: string;
  admin: pg.Client;
  drop(): Promise<void>;
}

async function createPgWitness(): Promise<PgWitness | null> {
  const adminUrl = process.env.WARDEN_TEST_PG_ADMIN_URL;
  if (!adminUrl) return null;
  const tag = randomBytes(4).toString('hex');
  const dbName = `warden_witness_${tag}`;
  const writer = `warden_ww_${tag}`;
  const auditor = `warden_wa_${tag}`;
  const root = new pg.Client({ connectionString: adminUrl });
  await root.connect();
  await root.query(`create database ${dbName}`);
  await root.end();
  const at = (user: string | null, db: string) => {
    const u = new URL(adminUrl);
    u.pathname = `/${db}`;
    if (user) {
      u.username = user;
      u.password = user === writer ? 'change-me' : 'change-me-too';
    }
    return u.toString();
  };
  const admin = new pg.Client({ connectionString: at(null, dbName) });
  await admin.connect();
  await admin.query(witnessSetupSql(writer, auditor));
  return {
    writerUrl: at(writer, dbName),
    auditorUrl: at(auditor, dbName),
    admin,
    async drop() {
      await admin.end();
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${dbName} with (force)`);
      await c.query(`drop role if exists ${writer}`);
      await c.query(`drop role if exists ${auditor}`);
      await c.end();
    },
  };
}

/** `warden witness serve` as its own process, on a free port. */
async function startWitnessProcess(publicKey: string): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(process.env.WARDEN_TEST_TMP ?? '/tmp', 'witness-'));
  const child = spawn(process.execPath, [BIN, 'witness', 'serve', '--port', '0', '--data', dir, '--public-key', publicKey], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`witness exited ${code}: ${out.slice(-1000)}`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Opens the store as its owner would (the server is stopped; an embedded store is one process at a time). */
async function asOwner<T>(t: TestStore, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const s = await reopen(t);
  try {
    return await fn(s.store.db);
  } finally {
    await s.dispose();
  }
}

/** What the database owner can do with everything the store holds: recompute every hash from `from` on. */
async function rechainAndRebuildTree(db: Kysely<Database>): Promise<void> {
  const rows = await db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
  let prev: Buffer = GENESIS_HASH;
  const frontier = Frontier.empty();
  for (const row of rows) {
    const canonical = canonicalEntry(Number(row.seq), entryFromRow(row));
    const hash = chainHashOf(prev, canonical);
    await db.updateTable('audit_log').set({ prev_hash: prev, hash }).where('seq', '=', Number(row.seq)).execute();
    frontier.append(leafHash(canonical));
    prev = hash;
  }
  await sql`delete from audit_tree_nodes`.execute(db);
  await db.updateTable('audit_head').set({ seq: rows.length, hash: prev, frontier: frontier.serialize() }).where('id', '=', 1).execute();
}

// Each attack spawns the CLI a few times; an embedded store opens in seconds on a busy machine.
describe.each(testBackends())('the database owner against the audit trail on %s', { timeout: 180_000 }, (backend) => {
  let pgWitness: PgWitness | null = null;
  let witness: Awaited<ReturnType<typeof startWitnessProcess>> | null = null;
  const stores: TestStore[] = [];

  beforeAll(async () => {
    pgWitness = await createPgWitness();
  });
  afterEach(async () => {
    await witness?.stop();
    witness = null;
    await pgWitness?.admin.query('truncate warden_witness_heads');
  });
  afterAll(async () => {
    for (const s of stores) await s.dispose();
    await pgWitness?.drop();
  });

  /** A trail of 35 entries, heads every 10, published to a file, a witness process and (if available) a PostgreSQL witness. */
  async function trail() {
    const t = await createTestStore(backend);
    stores.push(t);
    const { publicKey } = testAuditKey(t.options);
    witness = await startWitnessProcess(publicKey);
    const file = join(mkdtempSync(join(process.env.WARDEN_TEST_TMP ?? '/tmp', 'wfile-')), 'heads.ndjson');
    const publish = [`file:${file}`, witness.url, ...(pgWitness ? [pgWitness.writerUrl] : [])].join(',');
    const verifyWith = [`file:${file}`, witness.url, ...(pgWitness ? [pgWitness.auditorUrl] : [])].join(',');
    const w = await startTestWarden(backend, { store: t, config: { detect: false, auditCheckpointEvery: EVERY, witness: publish } });
    expect((await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
    // What the start wrote (policy.loaded) and the site count toward the 35; accounts make up the rest.
    const written = Number((await w.warden.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq);
    expect(written).toBeGreaterThanOrEqual(2);
    for (let i = 1; written + i <= ENTRIES; i++) {
      expect((await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id: `svc${i}`, role: 'service', site: null } })).status).toBe(201);
    }
    const status = await w.api('GET', '/api/v1/audit/status', { token: w.adminToken });
    expect(status.status).toBe(200);
    await w.warden.close(); // signs the last head (35) and hands it to the witnesses
    await releaseForCli(t);
    const verify = (extra: string[] = [], env: Record<string, string> = {}) => runWarden(t, ['audit', 'verify', '--public-key', publicKey, ...extra], { WARDEN_AUDIT_HEAD_EVERY_ENTRIES: String(EVERY), ...env });
    return { t, publicKey, file, verifyWith, verify, witnessUrl: witness.url, masterKey: w.masterKey };
  }

  it('an intact trail verifies against the pinned key and every witness, and the store holds no audit signing key', async () => {
    const { t, verify, verifyWith } = await trail();
    const r = verify(['--witness', verifyWith]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`audit trail OK: ${ENTRIES} entries.*signed tree heads verified`));
    expect(r.out.match(/latest tree size 35: consistent with the store/g)?.length).toBe(pgWitness ? 3 : 2);
    await asOwner(t, async (db) => {
      expect((await db.selectFrom('audit_tree_heads').select('tree_size').orderBy('tree_size').execute()).map((h) => Number(h.tree_size))).toEqual(expect.arrayContaining([10, 20, 30, 35]));
      expect(await db.selectFrom('keyring').select('name').where('name', 'like', '%audit%').execute()).toEqual([]);
    });
    // Without a pinned key the verifier says what it trusts instead.
    const unpinned = runWarden(t, ['audit', 'verify'], {});
    expect(unpinned.err).toMatch(/no public key is pinned.*trusting only the local signing key/);
  });

  it('(a) deleting the last entries and moving the head back: caught by the signed heads; deleting those heads too: caught by every witness', async () => {
    const { t, verify, verifyWith } = await trail();
    await asOwner(t, async (db) => {
      await sql`delete from audit_log where seq > 25`.execute(db);
      await rechainAndRebuildTree(db);
    });
    let r = verify();
    expect(r.code, r.out).toBe(1);
    expect(r.err).toMatch(/BROKEN at seq 26: a signed head at tree size 35 exists but the store has only 25 entries: entries 26\.\.35 were removed/);

    await asOwner(t, (db) => sql`delete from audit_tree_heads where tree_size > 25`.execute(db));
    r = verify();
    expect(r.code, 'the store alone can no longer tell').toBe(0);
    r = verify(['--witness', verifyWith]);
    expect(r.code, r.out).toBe(1);
    expect(r.err).toMatch(/BROKEN at seq 26: witness \S+ saw tree size 35 with root [0-9a-f]{64}; the store has only 25 entries: entries 26\.\.35 were removed/);
    for (const sink of verifyWith.split(',')) {
      const one = verify(['--witness', sink, '--json']);
      expect(one.code).toBe(1);
      expect(JSON.parse(one.out).findings.map((f: { code: string }) => f.code)).toContain('witness_truncated');
    }
  });

  it('(b) truncating the log: caught by the heads, and with the heads gone too, by the witnesses', async () => {
    const { t, verify, verifyWith } = await trail();
    await asOwner(t, async (db) => {
      await sql`truncate audit_log`.execute(db);
      await sql`update audit_head set seq = 0, hash = ${GENESIS_HASH}, frontier = ${Buffer.alloc(0)}`.execute(db);
      await sql`delete from audit_tree_nodes`.execute(db);
    });
    let r = verify(['--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, entries: 0, first_bad_seq: 1 });
    expect(JSON.parse(r.out).reason).toMatch(/signed head at tree size 35 exists but the store has only 0 entries/);
    await asOwner(t, (db) => sql`truncate audit_tree_heads`.execute(db));
    r = verify(['--witness', verifyWith]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/BROKEN at seq 1: witness .* saw tree size 35 .* the store has only 0 entries/);
  });

  it('(c) altering an entry and re-chaining every hash after it, with the tree rebuilt: the signed roots name the span; deleting the heads from there names the missing head; the witnesses name the rewrite', async () => {
    const { t, verify, verifyWith } = await trail();
    await asOwner(t, async (db) => {
      await sql`update audit_log set account = 'someone-else' where seq = 15`.execute(db);
      await rechainAndRebuildTree(db);
    });
    let r = verify(['--json']);
    expect(r.code).toBe(1);
    let out = JSON.parse(r.out);
    expect(out.first_bad_seq).toBe(11);
    expect(out.reason).toMatch(/do not match the signed head at tree size 20: an entry in 11\.\.20 was altered/);

    await asOwner(t, (db) => sql`delete from audit_tree_heads where tree_size >= 15`.execute(db));
    r = verify(['--json']);
    out = JSON.parse(r.out);
    expect(r.code).toBe(1);
    expect(out.first_bad_seq).toBe(11);
    expect(out.reason).toMatch(/the signed head at tree size 20 is missing/);

    r = verify(['--witness', verifyWith, '--json']);
    out = JSON.parse(r.out);
    expect(out.findings.map((f: { code: string }) => f.code)).toContain('witness_rewritten');
    // Each witness names the first head it saw after entry 15 (publication coalesces heads under load).
    const rewrites = out.findings.filter((f: { code: string }) => f.code === 'witness_rewritten');
    expect(rewrites).toHaveLength(pgWitness ? 3 : 2);
    for (const f of rewrites) expect(f.message).toMatch(/the store's root at tree size (20|30|35) differs from the root witness .* saw \([0-9a-f]{64}\): entries 11\.\.(20|30|35) were rewritten/);
    expect(out.first_bad_seq).toBe(11);
  });

  it('(d) re-signing the heads over a rewritten tree with any key the attacker holds: not the pinned key', async () => {
    const { t, verify } = await trail();
    const attacker = signerFromPrivateKey(generateKeyPairSync('ed25519').privateKey, 'env');
    await asOwner(t, async (db) => {
      await sql`update audit_log set decision = 'denied' where seq = 7`.execute(db);
      await rechainAndRebuildTree(db);
      const rows = await db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
      const heads = await db.selectFrom('audit_tree_heads').selectAll().orderBy('tree_size').execute();
      const f = Frontier.empty();
      const roots = rows.map((row) => (f.append(leafHash(canonicalEntry(Number(row.seq), entryFromRow(row)))), f.root()));
      await sql`delete from audit_tree_heads`.execute(db);
      for (const h of heads) {
        const forged = signHead(attacker, Number(h.tree_size), roots[Number(h.tree_size) - 1]!, new Date(h.ts));
        // Half of them keep the genuine key id, as if the attacker hoped nobody checks the signature.
        await db.insertInto('audit_tree_heads').values({ ...headToRow(forged), key_id: Number(h.tree_size) % 20 === 0 ? h.key_id : forged.keyId }).execute();
      }
    });
    const r = verify(['--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.out);
    expect(out.first_bad_seq).toBe(1);
    expect(out.reason).toMatch(new RegExp(`the signed head at tree size 10 names key ${attacker.keyId}, which is not pinned`));
    expect(out.findings.map((f: { message: string }) => f.message)).toContainEqual(expect.stringMatching(/signature of the head at tree size 20 does not verify under pinned key ed25519:/));
  });

  it('(e) deleting a head in the middle names it as missing', async () => {
    const { t, verify } = await trail();
    await asOwner(t, (db) => sql`delete from audit_tree_heads where tree_size = 20`.execute(db));
    const r = verify();
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/BROKEN at seq 11: the signed head at tree size 20 is missing: heads at 10 and 30 are more than 10 entries apart/);
  });

  it('a witness refuses, over HTTP, a head that does not extend what it saw, and the server shows the refusal in /audit/status', async () => {
    const { t, witnessUrl, masterKey } = await trail();
    const signer = signerFromPrivateKey(parsePrivateKey(testAuditKey(t.options).signingKey, 'test'), 'env');
    const post = (body: unknown) => fetch(`${witnessUrl}/heads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const latest = (await (await fetch(`${witnessUrl}/heads/latest`)).json()) as any;
    expect(latest.head.tree_size).toBe(35);
    const head = (size: number, root: Buffer, s = signer) => {
      const h = signHead(s, size, root, new Date());
      return { tree_size: size, root_hash: h.root.toString('base64'), timestamp: h.timestamp.toISOString(), key_id: h.keyId, signature: h.signature.toString('base64') };
    };
    const someRoot = randomBytes(32);
    const cases: Array<[string, unknown]> = [
      ['stale', { head: head(20, someRoot) }],
      ['fork', { head: head(35, someRoot) }],
      ['proof_required', { head: head(40, someRoot) }],
      ['inconsistent', { head: head(40, someRoot), consistency: { from_size: 35, proof: [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')] } }],
      ['unknown_key', { head: head(40, someRoot, signerFromPrivateKey(generateKeyPairSync('ed25519').privateKey, 'env')) }],
      ['bad_signature', { head: { ...head(40, someRoot), signature: head(41, someRoot).signature } }],
    ];
    for (const [reason, body] of cases) {
      const r = await post(body);
      expect(r.status, reason).toBe(409);
      expect(r.body.error).toMatchObject({ code: 'head_refused', reason });
      expect(r.body.error.latest.tree_size).toBe(35);
    }
    expect((await post({ head: { tree_size: 'x' } })).status).toBe(400);
    const all = (await (await fetch(`${witnessUrl}/heads?after=0`)).json()) as any;
    expect(all.heads.at(-1).tree_size).toBe(35);

    // The owner rewrites entry 3 and restarts Warden: its new head no longer extends what the witness saw.
    await asOwner(t, async (db) => {
      await sql`update audit_log set account = 'someone-else' where seq = 3`.execute(db);
      await rechainAndRebuildTree(db);
      await sql`delete from audit_tree_heads`.execute(db);
    });
    const again = await reopen(t);
    const w = await startTestWarden(backend, { store: again, config: { detect: false, auditCheckpointEvery: EVERY, witness: witnessUrl, masterKey } });
    try {
      await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id: 'svc-late', role: 'service', site: null } });
      let witnesses: any[] = [];
      for (let i = 0; i < 50; i++) {
        witnesses = (await w.api('GET', '/api/v1/audit/status', { token: w.adminToken })).body.witnesses;
        if (witnesses[0]?.error) break;
        await w.warden.trail.heads.tick();
        await new Promise((r) => setTimeout(r, 100));
      }
      // Same size, other root (fork), or a larger tree the proof does not link (inconsistent).
      expect(witnesses[0]).toMatchObject({ ok: false, error: expect.stringMatching(/^refused \((fork|inconsistent)\)/) });
      expect(w.logs()).toContain('AUDIT WITNESS REFUSED A SIGNED HEAD');
      expect(((await (await fetch(`${witnessUrl}/heads/latest`)).json()) as any).head.tree_size).toBe(35);
    } finally {
      await w.dispose();
      await again.dispose();
    }
  });
});

describe('the PostgreSQL witness table (docs/audit.md) as Warden\'s role', () => {
  it.runIf(!!process.env.WARDEN_TEST_PG_ADMIN_URL)('may insert, and may not read, update, delete or truncate what it wrote', async () => {
    const w = (await createPgWitness())!;
    const client = new pg.Client({ connectionString: w.writerUrl });
    await client.connect();
    try {
      await client.query(`insert into warden_witness_heads (tree_size, root_hash, ts, key_id, signature) values (1, 'x', now(), 'k', 's')`);
      for (const statement of ['update warden_witness_heads set tree_size = 2', 'delete from warden_witness_heads', 'truncate warden_witness_heads', 'select * from warden_witness_heads', 'drop table warden_witness_heads', 'alter table warden_witness_heads add column x int']) {
        const err = await client.query(statement).then(() => null, (e: { code?: string; message: string }) => e);
        expect(err, statement).not.toBeNull();
        expect(err!.code === '42501' || /must be (the )?owner/.test(err!.message), `${statement}: ${err!.message}`).toBe(true);
      }
      const { rows } = await w.admin.query('select tree_size from warden_witness_heads');
      expect(rows).toEqual([{ tree_size: '1' }]);
    } finally {
      await client.end();
      await w.drop();
    }
  });
});
