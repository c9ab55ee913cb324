/**
 * The bus on NATS JetStream, for real: two gateway processes (`warden serve`) and two detection
 * workers (`warden watch --partition 0|1`) on one PostgreSQL and NATS at 127.0.0.1:4222 give the
 * same alerts and responses as one process with the in-process bus on the same traffic; a worker
 * killed mid-stream (SIGKILL) and restarted rebuilds its state from the stream and resumes from
 * its durable consumer without losing an alert or applying a response twice; the gateway's own
 * activity reaches the stream through the audit outbox.
 *
 * The traffic is the simulator's small company (src/simulate, the tiny preset, seed 2, 5 days, four
 * attacks), sent as history (mode=backfill) in chunks alternating between the two gateways; the
 * killed worker's partition holds alerting accounts, so its restart is put to the test. The
 * detectors whose state is cross-account (harvesting's peer baselines, device posture's fleet,
 * rings' networks, peer shares, the role's hours; sharing's peers' hours) are off here: with
 * partitions they see one partition's slice (docs/scale.md says so and what it costs).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliverPolicy } from 'nats';
import { simulatedWorld } from '../../src/detect/test-support/simulated.js';
import { partitionOf } from '../../src/events/nats-bus.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { createTestStore, testAuditKey, testBackends, type TestStore } from '../support/stores.js';
import { NATS_SERVER, natsReachable, spawnWarden as start, type WardenProcess as Proc } from '../support/services.js';

const DETECT = {
  detectors: {
    // sharing's off-hours part reads its peers' working hours (cross-account state): no hour is off.
    sharing: { site_hour_share: 0 },
    harvesting: { enabled: false },
    device_posture: { enabled: false },
    rings: { enabled: false },
    // Peer shares and the role's company-wide hours (privileged_bulk) are cross-account state too.
    work_harvest: { enabled: false },
    search_harvest: { enabled: false },
    trickle: { enabled: false },
    privileged_bulk: { enabled: false },
  },
};

const nc = await natsReachable();
const postgres = testBackends().includes('postgres');
if (!nc) console.warn(`[bus-nats] NATS JetStream at ${NATS_SERVER} is unreachable: the JetStream bus tests are SKIPPED (they run under CI=true).`);
if (!postgres) console.warn('[bus-nats] PostgreSQL is unavailable: the multi-process bus tests are SKIPPED (they run under CI=true).');

/** The world, in chunks of whole lines, in event-time order. */
function traffic(): string[][] {
  const { lines } = simulatedWorld({ preset: 'tiny', seed: 2, days: 5, attacks: ['leased_remote', 'cs_insider', 'manager_dump', 'leased_night'], lookalikes: 'none' });
  const chunks: string[][] = [];
  for (let i = 0; i < lines.length; i += 1500) chunks.push(lines.slice(i, i + 1500));
  return chunks;
}

async function post(url: string, token: string, lines: string[]): Promise<void> {
  const res = await fetch(`${url}/api/v1/events?mode=backfill`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' }, body: lines.join('\n') + '\n' });
  const body = (await res.json()) as { accepted: number; rejected_count: number };
  if (res.status !== 200 || body.rejected_count !== 0) throw new Error(`ingest: ${res.status} ${JSON.stringify(body).slice(0, 500)}`);
}

type Row = Record<string, unknown>;
async function outcome(db: TestWarden['warden']['db'] | TestStore['store']['db']) {
  const alerts = await db.selectFrom('alerts').select(['id', 'detector', 'account', 'device', 'severity', 'score', 'response', 'incident']).where('detector', '!=', 'privileged_account_change').orderBy('id').execute();
  const responses = await db.selectFrom('account_responses').select(['account', 'action', 'alert_id']).orderBy('account').execute();
  const applied = await db.selectFrom('audit_log').select(({ fn }) => fn.countAll<number>().as('n')).where('kind', '=', 'watch.response_applied').executeTakeFirstOrThrow();
  return { alerts: alerts as Row[], responses: responses as Row[], applied: Number(applied.n) };
}

describe.skipIf(!nc || !postgres)('the bus on NATS JetStream: two gateways, two detection workers', () => {
  const chunks = nc && postgres ? traffic() : [];
  let baseline: Awaited<ReturnType<typeof outcome>>;
  let store: TestStore;
  const procs: Proc[] = [];
  const suffix = randomBytes(4).toString('hex');
  const stream = `WARDEN_TEST_${suffix}`;
  const subject = `wtest${suffix}.events`;
  let env: Record<string, string>;
  let urls: string[] = [];
  const adminToken = `admin-${randomBytes(16).toString('hex')}`;

  beforeAll(async () => {
    // One process, in-process bus: the reference.
    const one = await startTestWarden('postgres', { detectConfig: DETECT });
    for (const c of chunks) await post(one.url, one.adminToken, c);
    await one.warden.watch!.idle();
    baseline = await outcome(one.warden.db);
    await one.dispose();

    store = await createTestStore('postgres');
    const dir = mkdtempSync(join(process.env.WARDEN_TEST_TMP ?? '/tmp', 'bus-'));
    writeFileSync(join(dir, 'detect.json'), JSON.stringify(DETECT));
    env = {
      WARDEN_DATABASE_URL: store.options.databaseUrl!,
      WARDEN_AUDIT_SIGNING_KEY: testAuditKey(store.options).signingKey,
      WARDEN_ADMIN_TOKEN: adminToken,
      WARDEN_MASTER_KEY: randomBytes(32).toString('base64'),
      WARDEN_DETECT_CONFIG: join(dir, 'detect.json'),
      WARDEN_BUS: `nats://${NATS_SERVER}`,
      WARDEN_BUS_STREAM: stream,
      WARDEN_BUS_SUBJECT: subject,
      WARDEN_BUS_PARTITIONS: '2',
      WARDEN_PORT: '0',
      WARDEN_DB_POOL: '4',
    };
    // The first gateway creates the keyring and the stream; the others find them.
    const a = start(['serve'], env);
    procs.push(a);
    urls.push((await a.waitFor(/"url":"(http:[^"]+)"/))[1]!);
    const b = start(['serve'], env);
    procs.push(b);
    urls.push((await b.waitFor(/"url":"(http:[^"]+)"/))[1]!);
    for (const p of [0, 1]) {
      const w = start(['watch', '--partition', String(p)], env);
      procs[2 + p] = w;
      await w.waitFor(/detection worker consuming/);
    }
  }, 240_000);

  afterAll(async () => {
    for (const p of procs) await p?.stop();
    await store?.dispose();
    if (nc) {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
  });

  /** Every message in the stream delivered, processed and acknowledged by both workers. */
  async function drained(ms = 120_000): Promise<void> {
    const jsm = await nc!.jetstreamManager();
    const until = Date.now() + ms;
    for (;;) {
      const infos = await Promise.all([0, 1].map((p) => jsm.consumers.info(stream, `warden-detect-${p}`)));
      if (infos.every((i) => i.num_pending === 0 && i.num_ack_pending === 0)) return;
      if (Date.now() > until) throw new Error(`workers did not drain: ${JSON.stringify(infos.map((i) => [i.num_pending, i.num_ack_pending]))}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('gives the same alerts and responses as one process; a killed worker resumes without loss or duplicates', async () => {
    expect(baseline.alerts.length).toBeGreaterThan(10);
    expect(baseline.responses.length).toBeGreaterThan(0);
    const half = Math.ceil(chunks.length / 2);
    for (let i = 0; i < half; i++) await post(urls[i % 2]!, adminToken, chunks[i]!);
    await drained();
    const midway = await outcome(store.store.db);
    expect(midway.alerts.length).toBeGreaterThan(0);
    expect(midway.alerts.length).toBeLessThan(baseline.alerts.length);
    // The worker about to be killed has alerts still to raise: otherwise its restart proves nothing.
    const raised = new Set(midway.alerts.map((a) => a.id));
    const toCome = baseline.alerts.filter((a) => typeof a.account === 'string' && partitionOf(a.account, 2) === 1 && !raised.has(a.id));
    expect(toCome.length).toBeGreaterThan(0);

    // A crash: no flush, no goodbye. The rest of the traffic arrives while it is down.
    await procs[3]!.stop('SIGKILL');
    for (let i = half; i < chunks.length; i++) await post(urls[i % 2]!, adminToken, chunks[i]!);
    const jsm = await nc!.jetstreamManager();
    expect((await jsm.consumers.info(stream, 'warden-detect-1')).num_pending).toBeGreaterThan(0);
    procs[3] = start(['watch', '--partition', '1'], env);
    const rebuilt = await procs[3].waitFor(/"events":(\d+),"ms":\d+,"msg":"engine state rebuilt from the stream"/);
    expect(Number(rebuilt[1])).toBeGreaterThan(0);
    await drained();

    const two = await outcome(store.store.db);
    expect(two.alerts).toEqual(baseline.alerts);
    expect(two.responses.map(({ account, action }) => ({ account, action }))).toEqual(baseline.responses.map(({ account, action }) => ({ account, action })));
    // Each response applied once, as in one process: nothing redelivered or rebuilt applied twice.
    expect(two.applied).toBe(baseline.applied);
  }, 300_000);

  it("carries the gateway's own activity from the audit outbox, deduplicated by event id", async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    expect((await fetch(`${urls[0]}/api/v1/sites`, { method: 'POST', headers: admin, body: JSON.stringify({ code: 'OUT-BUS', kind: 'outlet', city: '北京' }) })).status).toBe(201);
    expect((await fetch(`${urls[0]}/api/v1/accounts`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'bus-c1', role: 'courier', site: 'OUT-BUS', password: 'pw-bus-c1-secret' }) })).status).toBe(201);
    const login = await fetch(`${urls[1]}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account: 'bus-c1', password: 'pw-bus-c1-secret', device: 'pda' }) });
    expect(login.status).toBe(201);
    const entry = await store.store.db.selectFrom('audit_log').select('seq').where('kind', '=', 'auth.login').where('account', '=', 'bus-c1').executeTakeFirstOrThrow();
    const id = `audit-${entry.seq}`;

    const js = nc!.jetstream();
    const find = async () => {
      const c = await js.consumers.get(stream, { filterSubjects: `${subject}.${partitionOf('bus-c1', 2)}`, deliver_policy: DeliverPolicy.StartTime, opt_start_time: since });
      const seen: Array<{ subject: string; event: { id: string; type: string; account: string; producer: string } }> = [];
      // Few messages since `since`: one fetch ends at 1000 or when 2 s pass with no more.
      for await (const m of await c.fetch({ max_messages: 1000, expires: 2000 })) {
        const event = m.json<{ id: string; type: string; account: string; producer: string }>();
        if (event.id === id) seen.push({ subject: m.subject, event });
      }
      return seen;
    };
    let seen = await find();
    for (let i = 0; i < 20 && seen.length === 0; i++) (await new Promise((r) => setTimeout(r, 100)), (seen = await find()));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.event).toMatchObject({ type: 'login', account: 'bus-c1', producer: 'warden' });

    // A gateway restart sends its outbox window again: JetStream drops it by id.
    await procs[1]!.stop();
    procs[1] = start(['serve'], env);
    await procs[1].waitFor(/outbox window sent to JetStream again/);
    expect(await find()).toHaveLength(1);
  }, 120_000);
});
