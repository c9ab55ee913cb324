/**
 * Boots the real Warden app on a real port against a per-test database, and speaks to it over
 * HTTP exactly as a client would.
 *
 * Like a real staff app, `api()` keeps the device credential each login returns and presents it
 * on that account's later logins with the same device label (unless the body names its own
 * `device_credential`, even as undefined). Like a real organisation, a privileged account the
 * tests create pending is approved by the first active analyst (not its creator); tests of dual
 * control itself pass `approvals: 'manual'`. When that approval issues a one-time initial password
 * (a privileged account an it_admin set up: attack review 11 F3), the organisation hands it to the
 * owner: a later login naming the password the account was created with sends the initial one.
 */
import { Writable } from 'node:stream';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import YAML from 'yaml';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createWarden, type Warden, type WardenOptions } from '../../src/warden.js';
import { createLogger } from '../../src/ops/logger.js';
import type { StoreKind } from '../../src/store/db.js';
import { createTestStore, testAuditKey, type TestStore } from './stores.js';

export interface TestWarden {
  url: string;
  warden: Warden;
  adminToken: string;
  masterKey: string;
  /** The pinned public key of the audit signing key this server uses (outside the store). */
  auditPublicKey: string;
  store: TestStore;
  /** Everything the server logged, for PII checks. */
  logs(): string;
  api(method: string, path: string, opts?: { token?: string; body?: unknown; raw?: string; contentType?: string }): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  dispose(): Promise<void>;
}

export async function startTestWarden(
  backend: StoreKind,
  opts: { policy?: unknown; warden?: WardenOptions; store?: TestStore; detectConfig?: unknown; config?: Partial<Config>; approvals?: 'auto' | 'manual' } = {},
): Promise<TestWarden> {
  const store = opts.store ?? (await createTestStore(backend));
  const adminToken = 'admin-' + randomBytes(16).toString('hex');
  const masterKey = randomBytes(32).toString('base64');
  let policyFile: string | undefined;
  if (opts.policy) {
    const dir = mkdtempSync(join(process.env.WARDEN_TEST_TMP ?? '/tmp', 'policy-'));
    policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, YAML.stringify(opts.policy));
  }
  let logText = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logText += chunk.toString();
      cb();
    },
  });
  const audit = testAuditKey(store.options);
  const config = loadConfig({ host: '127.0.0.1', port: 0, adminToken, masterKey, policyFile, logLevel: 'debug', dataDir: store.options.dataDir ?? '/nonexistent', auditSigningKey: audit.signingKey, ...opts.config }, {});
  const warden = await createWarden(config, { store: store.store, logger: createLogger({ level: 'debug', destination: sink }), ...(opts.detectConfig !== undefined ? { detectConfig: opts.detectConfig } : {}), ...opts.warden });
  const url = await warden.listen();
  const credentials = new Map<string, string>();
  const pending = new Set<string>();
  /** Auto-approvals only: the password each account was created with, and `account\0created` → the initial password issued. */
  const createdWith = new Map<string, string>();
  const handedOver = new Map<string, string>();
  /** The organisation's second analyst: the first active, approved one that did not ask for it. */
  const approvePending = async () => {
    for (const id of [...pending]) {
      const approver = await warden.db
        .selectFrom('accounts')
        .select('id')
        .where('role', '=', 'security_analyst')
        .where('approval', '=', 'approved')
        .where('status', '=', 'active')
        .where('id', '!=', id)
        .orderBy('created_at')
        .orderBy('id')
        .executeTakeFirst();
      if (!approver) return;
      const asked = await warden.db.selectFrom('accounts').select(['role', 'site', 'pending_role', 'pending_site']).where('id', '=', id).executeTakeFirstOrThrow();
      const shown = (asked.pending_role !== null ? { role: asked.pending_role, site: asked.pending_site } : { role: asked.role, site: asked.site }) as Parameters<typeof warden.identity.approveAccount>[1];
      const approved = await warden.identity.approveAccount(id, shown, { kind: 'account', id: approver.id, role: 'security_analyst' }, { ip: null, requestId: 'test-support-approval' });
      const created = createdWith.get(id);
      if ('initial_password' in approved && created !== undefined) handedOver.set(`${id}\u0000${created}`, approved.initial_password);
      pending.delete(id);
    }
  };
  const remembered = (method: string, path: string, body: unknown) => {
    if (method !== 'POST' || path !== '/api/v1/sessions' || !body || typeof body !== 'object') return body;
    const b = body as { account?: string; device?: string; password?: string };
    const initial = handedOver.get(`${b.account}\u0000${b.password}`);
    const given = initial !== undefined ? { ...b, password: initial } : b;
    if (Object.hasOwn(body, 'device_credential')) return given;
    const credential = credentials.get(`${b.account}\u0000${b.device}`);
    return credential ? { ...given, device_credential: credential } : given;
  };
  return {
    url,
    warden,
    adminToken,
    masterKey,
    auditPublicKey: audit.publicKey,
    store,
    logs: () => logText,
    async api(method, path, o = {}) {
      const headers: Record<string, string> = {};
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let body: string | undefined;
      if (o.raw !== undefined) {
        body = o.raw;
        headers['content-type'] = o.contentType ?? 'application/json';
      } else if (o.body !== undefined) {
        body = JSON.stringify(remembered(method, path, o.body));
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: any = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      if (res.status === 201 && path === '/api/v1/sessions' && parsed?.device_credential) {
        const b = o.body as { account?: string; device?: string };
        credentials.set(`${b.account}\u0000${b.device}`, parsed.device_credential);
      }
      if (res.status === 201 && method === 'POST' && path === '/api/v1/accounts' && opts.approvals !== 'manual') {
        const created = o.body as { password?: unknown } | undefined;
        if (parsed?.status === 'pending' && typeof created?.password === 'string') createdWith.set(parsed.id, created.password);
        if (parsed?.status === 'pending') pending.add(parsed.id);
        await approvePending();
      }
      return { status: res.status, body: parsed, text, headers: res.headers };
    },
    async dispose() {
      await warden.close();
      if (!opts.store) await store.dispose();
    },
  };
}
