import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDiskQueue } from './queue.js';
import { octetFrame, toCef, toSyslog } from './cef.js';
import { fromAudit, exportsAudit } from './events.js';
import { toOcsf } from './ocsf.js';
import { parseSinks } from './transports.js';

const dir = () => mkdtempSync(join(process.env.WARDEN_TEST_TMP ?? tmpdir(), 'siemq-'));

describe('disk queue', () => {
  it('keeps lines across a reopen until acked, in order', async () => {
    const d = dir();
    const q = openDiskQueue(d, { maxBytes: 1 << 20, onDrop: () => undefined });
    q.append(['a', 'b']);
    q.append(['c']);
    await q.flushed();
    const items = await q.read(q.acked(), 10);
    expect(items.map((i) => i.line)).toEqual(['a', 'b', 'c']);
    await q.ack(items[0]!.next);
    await q.close();
    const again = openDiskQueue(d, { maxBytes: 1 << 20, onDrop: () => undefined });
    expect((await again.read(again.acked(), 10)).map((i) => i.line)).toEqual(['b', 'c']);
    await again.close();
  });

  it('refuses and counts what does not fit, keeping the oldest', async () => {
    let dropped = 0;
    const q = openDiskQueue(dir(), { maxBytes: 10, onDrop: (n) => (dropped += n) });
    q.append(['1234', '5678', '9abc']);
    await q.flushed();
    expect((await q.read(q.acked(), 10)).map((i) => i.line)).toEqual(['1234', '5678']);
    expect(dropped).toBe(1);
    await q.close();
  });

  it('rolls segments and deletes the acked ones', async () => {
    const q = openDiskQueue(dir(), { maxBytes: 64 << 20, onDrop: () => undefined });
    const big = 'x'.repeat(600 * 1024);
    q.append([big]);
    await q.flushed();
    q.append([big, 'tail']);
    await q.flushed();
    let pos = q.acked();
    const lines: string[] = [];
    for (let batch = await q.read(pos, 1); batch.length; batch = await q.read(pos, 1)) {
      lines.push(batch[0]!.line.slice(0, 4));
      pos = batch[0]!.next;
    }
    expect(lines).toEqual(['xxxx', 'xxxx', 'tail']);
    await q.ack(pos);
    expect(q.stats().bytes).toBe(0);
    await q.close();
  });
});

describe('formats', () => {
  const entry = fromAudit({ seq: 7, kind: 'access.reveal', ts: new Date('2026-01-02T03:04:05.678Z'), decision: 'denied', reason: 'quota_exceeded', account: 'c=1|x', role: 'courier', waybill: 'SF1', fields: ['recipient.phone'], detail: { actor: 'admin' } });

  it('CEF escapes header pipes and extension equals, backslashes and newlines', () => {
    const cef = toCef({ ...entry, kind: 'a|b\\c', reason: 'x=y\nz' });
    expect(cef.startsWith('CEF:0|Warden|Warden|0.1.0|a\\|b\\\\c|')).toBe(true);
    expect(cef).toContain('reason=x\\=y\\nz');
    expect(toCef(entry)).toContain('suser=c\\=1|x');
  });

  it('RFC 5424 header: PRI from authpriv and severity, NIL structured data, BOM before the CEF', () => {
    const msg = toSyslog(entry, { hostname: 'host one', procId: '42' });
    expect(msg).toBe(`<84>1 2026-01-02T03:04:05.678Z hostone warden 42 audit - \uFEFF${toCef(entry)}`);
    const framed = octetFrame('héllo');
    expect(framed.toString('utf8')).toBe('6 héllo');
  });

  it('OCSF classes by kind', () => {
    expect(toOcsf(entry)).toMatchObject({ class_uid: 6003, type_uid: 600302, status_id: 2 });
    expect(toOcsf({ ...entry, kind: 'admin.account_suspended', outcome: 'ok' })).toMatchObject({ class_uid: 3001, activity_id: 5, type_uid: 300105, status_id: 1 });
  });

  it('audit export modes', () => {
    expect(exportsAudit('changes', { kind: 'access.view', decision: 'allowed' })).toBe(false);
    expect(exportsAudit('changes', { kind: 'access.view', decision: 'denied' })).toBe(true);
    expect(exportsAudit('none', { kind: 'admin.account_created', decision: 'ok' })).toBe(false);
    expect(exportsAudit('all', { kind: 'access.search', decision: 'allowed' })).toBe(true);
  });

  it('sink specs, with a clear error for a bad one', () => {
    expect(parseSinks('syslog+tls://siem.example:6514, file:/var/log/w.json,https://c.example/ocsf')).toEqual([
      { kind: 'syslog', protocol: 'tls', host: 'siem.example', port: 6514 },
      { kind: 'file', path: '/var/log/w.json' },
      { kind: 'http', url: 'https://c.example/ocsf' },
    ]);
    expect(() => parseSinks('syslog://x:514')).toThrow(/WARDEN_SIEM: "syslog:\/\/x:514" is not/);
  });
});
