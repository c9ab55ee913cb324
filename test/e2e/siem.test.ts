/**
 * SIEM export against real receivers on loopback: RFC 5424 syslog over TLS (a self-signed
 * certificate made in the test, trusted through WARDEN_SIEM_TLS_CA_FILE) and UDP, CEF payloads,
 * and OCSF JSON lines in a file.
 *
 * - The receiver is down while alerts and audit entries happen; once it is up, every one arrives
 *   (the audit sequence numbers received form an unbroken run up to the trail's last entry).
 * - Per source, first deliveries come in order (audit by sequence number, alerts by time).
 * - A receiver that accepts the connection and never reads does not delay reveals: measured
 *   against a Warden without SIEM export, printed, not asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import dgram from 'node:dgram';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { harvestBurst } from '../support/bursts.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const tmp = mkdtempSync(join(process.env.WARDEN_TEST_TMP ?? '/tmp', 'siem-'));

function selfSigned(): { key: string; cert: string; certFile: string } {
  const keyFile = join(tmp, 'key.pem');
  const certFile = join(tmp, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
}

/** A syslog-over-TLS receiver (RFC 5425 octet counting). `stuck` accepts and never reads. */
class Receiver {
  messages: string[] = [];
  private server: tls.Server | null = null;
  private sockets = new Set<net.Socket>();
  constructor(private readonly creds: { key: string; cert: string }, private readonly stuck = false) {}
  async start(port: number): Promise<void> {
    this.server = tls.createServer({ key: this.creds.key, cert: this.creds.cert }, (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
      if (this.stuck) {
        s.pause();
        return;
      }
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const sp = buf.indexOf(0x20);
          if (sp < 0) break;
          const len = Number(buf.subarray(0, sp).toString('ascii'));
          if (buf.length < sp + 1 + len) break;
          this.messages.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
          buf = buf.subarray(sp + 1 + len);
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
  }
  port(): number {
    return (this.server!.address() as net.AddressInfo).port;
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = null;
  }
}

const freePort = async (): Promise<number> => {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
};

const RFC5424 = /^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) warden (\d+) (alert|audit|response) - \uFEFF(CEF:0\|Warden\|Warden\|[^|]+\|[^|]+\|[^|]+\|\d+\|.*)$/s;
const ext = (cef: string, key: string): string | undefined => new RegExp(`(?:^|\\|| )${key}=((?:[^\\\\ ]|\\\\.| (?![A-Za-z0-9]+=))*)`).exec(cef)?.[1];


async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

async function setUp(w: TestWarden): Promise<string> {
  const admin = w.adminToken;
  await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
  for (const [id, role] of [['c1', 'courier'], ['c2', 'courier'], ['svc', 'service']] as const) {
    expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site: role === 'service' ? null : 'OUT-1', password: `pw-${id}-secret` } })).status).toBe(201);
  }
  const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
  await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: 'SF100000000002', origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } });
  await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: 'SF100000000002', account: 'c2', task: 'delivery' } });
  return (await w.api('POST', '/api/v1/sessions', { body: { account: 'c2', password: 'pw-c2-secret', device: 'c2-pda' } })).body.token;
}

describe('SIEM export to real receivers', () => {
  const creds = selfSigned();
  let w: TestWarden;
  let port = 0;
  const receiver = new Receiver(creds);
  const udp: string[] = [];
  const udpSocket = dgram.createSocket('udp4');
  const ocsfFile = join(tmp, 'ocsf.ndjson');

  beforeAll(async () => {
    port = await freePort();
    udpSocket.on('message', (m) => udp.push(m.toString('utf8')));
    await new Promise<void>((r) => udpSocket.bind(0, '127.0.0.1', r));
    const udpPort = udpSocket.address().port;
    w = await startTestWarden('pglite', {
      detectConfig: { time: { reorder_window_seconds: 0 }, response: { step_up: 40, throttle: 40, suspend: 40 } },
      config: { siem: `syslog+tls://127.0.0.1:${port},syslog+udp://127.0.0.1:${udpPort},file:${ocsfFile}`, siemTlsCaFile: creds.certFile, siemQueueDir: join(tmp, 'queue'), siemAudit: 'all' },
    });
  });
  afterAll(async () => {
    await w?.dispose();
    await receiver.stop();
    udpSocket.close();
  });

  it('delivers everything after the receiver was down, in order per source, as RFC 5424 + CEF', { timeout: 120_000 }, async () => {
    const token = await setUp(w);
    expect((await w.api('POST', '/api/v1/waybills/SF100000000002/reveal', { token, body: { fields: ['recipient.phone'], purpose: 'delivery' } })).status).toBe(200);
    await w.warden.audit.append(harvestBurst('c1', new Date(Date.now() - 400_000), { fields: ['recipient.name', 'recipient.phone'] }));
    await w.warden.watch!.idle();
    // The receiver is down: delivery keeps failing, nothing is lost.
    await new Promise((r) => setTimeout(r, 2500));
    expect(receiver.messages).toEqual([]);
    const failing = w.warden.siem!.stats().find((s) => s.sink.startsWith('syslog-tls'))!;
    expect(failing.failures).toBeGreaterThan(0);
    expect(failing.queuedBytes).toBeGreaterThan(0);
    await receiver.start(port);

    const db = w.warden.db;
    const last = Number((await db.selectFrom('audit_log').select((eb) => eb.fn.max('seq').as('m')).executeTakeFirstOrThrow()).m);
    const alertRows = await db.selectFrom('alerts').select(['id', 'ts']).where('detector', '!=', 'privileged_account_change').orderBy('ts').orderBy('id').execute();
    const alertIds = alertRows.map((a) => a.id);
    const alertTs = new Map(alertRows.map((a) => [a.id, new Date(a.ts).getTime()]));
    expect(alertIds.length).toBeGreaterThan(0);
    const parsed = () =>
      receiver.messages.map((m) => {
        const p = RFC5424.exec(m);
        if (!p) throw new Error(`not RFC 5424 + CEF: ${m.slice(0, 200)}`);
        return { msgId: p[5]!, cef: p[6]!, id: ext(p[6]!, 'externalId')!, seq: ext(p[6]!, 'cn1') };
      });
    const seen = () => new Set(parsed().map((m) => m.id));
    const ok = await until(() => [...Array(last).keys()].slice(-10).every((i) => seen().has(`audit-${i + 1}`)) && alertIds.every((id) => seen().has(id)), 60_000);
    expect(ok, `received ${receiver.messages.length}`).toBe(true);

    const msgs = parsed();
    // Audit: first deliveries strictly increasing and an unbroken run to the trail's end.
    const firstSeqs: number[] = [];
    const seenIds = new Set<string>();
    for (const m of msgs) {
      if (seenIds.has(m.id)) continue;
      seenIds.add(m.id);
      if (m.seq !== undefined) firstSeqs.push(Number(m.seq));
    }
    expect(firstSeqs.length).toBeGreaterThan(90);
    for (let i = 1; i < firstSeqs.length; i++) expect(firstSeqs[i]).toBe(firstSeqs[i - 1]! + 1);
    expect(firstSeqs.at(-1)).toBe(last);
    // Alerts: in the order they were raised — by time; alerts raised on one event share its time and come in the order the detectors raised them.
    const alertOrder = [...new Set(msgs.filter((m) => m.msgId === 'alert').map((m) => m.id))];
    const times = alertOrder.map((id) => alertTs.get(id)!);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(alertOrder)).toEqual(new Set(alertIds));
    // Never PII: no customer name, phone or address in anything forwarded.
    const all = receiver.messages.join('\n') + udp.join('\n') + readFileSync(ocsfFile, 'utf8');
    for (const v of [PARTY.name, PARTY.phone, PARTY.address, '13900001111']) expect(all).not.toContain(v);
    const reveal = msgs.find((m) => m.cef.includes('act=access.reveal') && m.cef.includes('suser=c2'))!;
    expect(reveal.cef).toMatch(/\|Audit: access.reveal allowed\|3\|/);
    expect(ext(reveal.cef, 'cs2')).toBe('SF100000000002');
    expect(ext(reveal.cef, 'cs3')).toBe('recipient.phone');
    console.log(`SIEM TLS receiver: ${msgs.length} messages (${seenIds.size} distinct) after being down; audit seq run ${firstSeqs[0]}..${firstSeqs.at(-1)}, ${alertOrder.length} alerts`);
  });

  it('UDP gets RFC 5424 datagrams and the file gets OCSF Detection Finding / Account Change / API Activity', async () => {
    expect(await until(() => udp.some((m) => / alert - /.test(m)), 10_000)).toBe(true);
    for (const m of udp) expect(m).toMatch(RFC5424);
    expect(await until(() => existsSync(ocsfFile), 10_000)).toBe(true);
    const lines = readFileSync(ocsfFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const finding = lines.find((l) => l.class_uid === 2004)!;
    expect(finding).toMatchObject({ category_uid: 2, activity_id: 1, type_uid: 200401, finding_info: { uid: expect.any(String), types: [expect.any(String)] } });
    const created = lines.find((l) => l.class_uid === 3001 && l.unmapped.kind === 'admin.account_created' && l.user.uid === 'c1')!;
    expect(created).toMatchObject({ category_uid: 3, activity_id: 1, type_uid: 300101, status_id: 1 });
    const api = lines.find((l) => l.class_uid === 6003 && l.api.operation === 'access.reveal')!;
    expect(api).toMatchObject({ category_uid: 6, type_uid: 600302 });
  });
});

describe('a stuck SIEM receiver', () => {
  it('never delays a reveal (measured and printed)', async () => {
    const creds = selfSigned();
    const stuck = new Receiver(creds, true);
    await stuck.start(0);
    const measure = async (w: TestWarden, token: string, n: number) => {
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const r = await w.api('POST', '/api/v1/waybills/SF100000000002/reveal', { token, body: { fields: ['recipient.phone'], purpose: 'delivery' } });
        times.push(performance.now() - t0);
        expect(r.status).toBe(200);
      }
      times.sort((a, b) => a - b);
      return { p50: times[Math.floor(n / 2)]!, p95: times[Math.floor(n * 0.95)]!, max: times[n - 1]! };
    };
    const wide = { per_minute: 100_000, per_hour: 100_000, per_day: 100_000 };
    const policy = { quotas: { courier: { account: wide, device: wide, site: wide } } };
    const plain = await startTestWarden('pglite', { policy, config: { detect: false } });
    const withSiem = await startTestWarden('pglite', { policy, config: { detect: false, siem: `syslog+tls://127.0.0.1:${stuck.port()}`, siemTlsCaFile: creds.certFile, siemQueueDir: join(tmp, 'stuck-queue'), siemAudit: 'all' } });
    try {
      const t1 = await setUp(plain);
      const t2 = await setUp(withSiem);
      // Fill the stuck connection: thousands of entries to a receiver that reads nothing.
      for (let i = 0; i < 10; i++) await withSiem.warden.audit.append(Array.from({ length: 500 }, () => ({ kind: 'policy.loaded' as const, ts: new Date(), decision: 'ok' as const, detail: { source: 'x'.repeat(200) } })));
      await new Promise((r) => setTimeout(r, 1000));
      const base = await measure(plain, t1, 60);
      const under = await measure(withSiem, t2, 60);
      const s = withSiem.warden.siem!.stats()[0]!;
      console.log(`reveal latency ms, no SIEM: p50 ${base.p50.toFixed(1)} p95 ${base.p95.toFixed(1)} max ${base.max.toFixed(1)}; stuck TLS receiver: p50 ${under.p50.toFixed(1)} p95 ${under.p95.toFixed(1)} max ${under.max.toFixed(1)} (ratio p95 ${(under.p95 / base.p95).toFixed(2)}); SIEM queue ${s.queuedBytes} bytes, ${s.failures} failures`);
      // The receiver really was stuck: what was queued is still waiting.
      expect(s.queuedBytes).toBeGreaterThan(0);
    } finally {
      await plain.dispose();
      const t0 = performance.now();
      await withSiem.dispose();
      console.log(`shutdown with a stuck SIEM receiver took ${(performance.now() - t0).toFixed(0)} ms`);
      await stuck.stop();
    }
  }, 180_000);
});
