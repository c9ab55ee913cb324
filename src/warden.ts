/**
 * Composition: builds every service from the config and wires them to HTTP. Each domain is
 * built by its own factory, handed only what it uses.
 */
import type { Kysely, Transaction } from 'kysely';
import { randomUUID } from 'node:crypto';
import type { Config } from './config/config.js';
import { openStore, type Store } from './store/db.js';
import type { Database } from './store/schema.js';
import { createLogger, type Logger } from './ops/logger.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { systemClock, type Clock } from './ops/clock.js';
import { resolveMasterKeys } from './vault/master-key.js';
import { loadKeyring, rotateKeys, type Keyring } from './vault/keyring.js';
import { createPiiDecryptor, createVaultReader, createVaultWriter } from './vault/vault.js';
import { loadPolicy, type Policy } from './access/policy.js';
import { createQuotaLedger, type QuotaLedger } from './access/quota.js';
import { createSearchQuotaLedger, rebuildSearchQuotas } from './access/quota.js';
import { recordPolicyLoaded } from './access/policy-audit.js';
import { createCases } from './cases/cases.js';
import { caseRoutes } from './http/routes/cases.js';
import { createWorkContext } from './access/work-context.js';
import { createAccessService } from './access/access.js';
import { errorSummary, type AuditWriter } from './audit/writer.js';
import { createAuditTrail, type AuditTrail } from './audit/service.js';
import { createIdentityService, type IdentityService, type PrivilegedChange } from './identity/identity.js';
import { createLoginThrottle } from './identity/login-throttle.js';
import { createServiceTokens } from './identity/service-tokens.js';
import { createInProcessBus, type EventBus } from './events/bus.js';
import { eventsFromAudit } from './events/from-audit.js';
import { createIngest } from './events/ingest.js';
import { createServer, type App } from './http/server.js';
import { identityRoutes } from './http/routes/identity.js';
import { dataRoutes } from './http/routes/data.js';
import { opsRoutes } from './http/routes/ops.js';
import { eventsRoutes } from './http/routes/events.js';
import { serviceTokenRoutes } from './http/routes/service-tokens.js';
import { auditRoutes } from './http/routes/audit.js';
import type { Role } from './contracts/events.js';
import { createDetectionEngine } from './detect/engine.js';
import { loadConfigFile as loadDetectConfig, resolveConfig as resolveDetectConfig } from './detect/config.js';
import { createWatch, type Watch } from './watch/watch.js';
import { createWebhookNotifier } from './watch/webhook.js';
import { watchRoutes } from './http/routes/watch.js';
import { createOverview } from './insight/overview.js';
import { createInvestigation } from './insight/investigation.js';
import { applyStoredSettings, createDetectorsInsight } from './insight/detectors.js';
import { insightRoutes } from './http/routes/insight.js';
import { consoleRoutes } from './http/routes/console.js';
import { createTrace } from './trace/trace.js';
import { traceRoutes } from './http/routes/trace.js';

export interface WardenOptions {
  clock?: Clock;
  logger?: Logger;
  /** An already-open store (tests); otherwise opened from the config. */
  store?: Store;
  bus?: EventBus;
  /** Detection config object (tests); otherwise WARDEN_DETECT_CONFIG or the defaults. */
  detectConfig?: unknown;
}

export interface Warden {
  app: App;
  store: Store;
  db: Kysely<Database>;
  bus: EventBus;
  audit: AuditWriter;
  /** The audit trail's tree, heads, witnesses, proofs and verification. */
  trail: AuditTrail;
  identity: IdentityService;
  keyring: Keyring;
  policy: Policy;
  quotas: QuotaLedger;
  watch: Watch | null;
  metrics: Metrics;
  logger: Logger;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function createWarden(config: Config, options: WardenOptions = {}): Promise<Warden> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
  let busRef: EventBus | undefined;
  const metrics = createMetrics({ busPending: () => busRef?.stats().pending ?? 0 });
  const policy = loadPolicy(config.policyFile);
  const ownStore = !options.store;
  let closeTrail: (() => Promise<void>) | null = null;
  let closeTrace: (() => Promise<void>) | null = null;
  const store = options.store ?? (await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.poolSize }));
  try {
    const db = store.db;
    const keyring = await loadKeyring(db, resolveMasterKeys(config, logger));
    const bus = options.bus ?? createInProcessBus({ onHandlerError: (name, err) => {
      metrics.busDropped.inc();
      logger.error({ subscriber: name, err: errorSummary(err) }, 'event subscriber failed; events counted as dropped');
    } });
    busRef = bus;
    const trail = await createAuditTrail({ db, config, metrics, logger, clock });
    closeTrail = () => trail.close();
    const audit = trail.writer;
    audit.onCommitted((records) => {
      const events = eventsFromAudit(records);
      metrics.eventsPublished.inc(events.length);
      // Not awaited: a reveal never waits for detection. Nothing is dropped; the lag is a metric.
      void bus.publish(events);
    });

    await recordPolicyLoaded({ db, audit, clock }, policy, config.policyFile ?? 'defaults');
    const quotas = createQuotaLedger(policy);
    await rebuildQuotas(db, quotas, clock.now());
    const searchQuotas = createSearchQuotaLedger(policy);
    await rebuildSearchQuotas(db, searchQuotas, clock.now());

    const identity = createIdentityService({
      db,
      audit,
      clock,
      throttle: createLoginThrottle(),
      mfaKey: keyring.mfaKey,
      identityKey: keyring.blindIndexKey,
      metrics,
      onPrivilegedChange: raisePrivilegedChangeAlert,
      config: { adminToken: config.adminToken, sessionTtlMinutes: config.sessionTtlMinutes, maxSessionsPerAccount: config.maxSessionsPerAccount, newDevicesPerDay: config.newDevicesPerDay },
    });
    // Settings saved from the console (detector_settings) apply over the configured ones at start.
    const detectConfig = applyStoredSettings(
      options.detectConfig !== undefined ? resolveDetectConfig(options.detectConfig) : config.detectConfigFile ? loadDetectConfig(config.detectConfigFile) : resolveDetectConfig({}),
      await db.selectFrom('detector_settings').select(['detector', 'settings']).execute(),
      logger,
    );
    const engine = config.detect ? createDetectionEngine(detectConfig) : null;
    const watch = engine
      ? createWatch({
          db,
          bus,
          engine,
          identity,
          audit,
          clock,
          logger,
          throttlePerHour: config.throttlePerHour,
          webhook: config.alertWebhookUrl && config.alertWebhookSecret ? createWebhookNotifier({ url: config.alertWebhookUrl, secret: config.alertWebhookSecret, logger }) : undefined,
        })
      : null;
    if (config.alertWebhookUrl && !config.alertWebhookSecret) throw new Error('WARDEN_ALERT_WEBHOOK_URL needs WARDEN_ALERT_WEBHOOK_SECRET (receivers verify the signature)');
    await watch?.start();
    const work = createWorkContext({ db });
    const vaultReader = createVaultReader({ db, keyring });
    const vaultWriter = createVaultWriter({ db, keyring, clock, allow15DigitId: policy.allow_15_digit_id });
    const pii = createPiiDecryptor({ db, keyring });
    const trace = await createTrace({ db, audit, clock, logger, vault: vaultWriter, reader: vaultReader, pii, identity, privacyNumbers: policy.privacy_numbers, watchGate: watch?.gate, raise: watch ? (alerts) => watch.raise(alerts) : null });
    closeTrace = () => trace.close();
    const access = createAccessService({
      policy,
      vault: vaultReader,
      pii,
      work,
      quotas,
      searchQuotas,
      audit,
      clock,
      metrics,
      gate: trace.gate,
      ...(trace.privacy ? { privacy: trace.privacy } : {}),
    });
    const tokens = createServiceTokens({ db, audit, clock });
    const ingest = createIngest({ db, work, bus, audit, clock, window: { maxAgeMs: config.ingestMaxAgeSeconds * 1000, maxSkewMs: config.ingestMaxSkewSeconds * 1000 } });
    const overview = createOverview({ db, audit, bus, clock, logger, risk: engine });
    overview.start();

    const app = await createServer({ logger, metrics, identity, bodyLimitBytes: config.bodyLimitBytes, trustProxy: config.trustProxy });
    identityRoutes(app, { identity });
    dataRoutes(app, { identity, access, vault: vaultWriter, ingest, tokens, clock });
    serviceTokenRoutes(app, { identity, tokens });
    eventsRoutes(app, { identity, tokens, ingest, metrics, ingestLimitBytes: config.ingestLimitBytes });
    if (watch) watchRoutes(app, { identity, watch });
    auditRoutes(app, { identity, trail, db });
    caseRoutes(app, { identity, cases: createCases({ db, audit, clock }) });
    insightRoutes(app, {
      identity,
      overview,
      investigation: createInvestigation({ db, clock, risk: engine }),
      detectors: createDetectorsInsight({ db, audit, clock, logger, running: detectConfig, engine }),
    });
    traceRoutes(app, { identity, trace });
    await consoleRoutes(app);
    opsRoutes(app, {
      identity,
      audit,
      metrics,
      rotateKeys: async (actor, ctx) => {
        const report = await rotateKeys(db, resolveMasterKeys(config, logger), { audit, actor, ip: ctx.ip, requestId: ctx.requestId });
        keyring.forget();
        return report;
      },
      ping: () => store.ping(),
    });
    if (!config.adminToken) logger.warn('WARDEN_ADMIN_TOKEN is not set: the admin token is off (it_admin and security analysts administer accounts)');
    else if ((await identity.adminTokenState()).disabled) logger.warn('the configured WARDEN_ADMIN_TOKEN was disabled (POST /api/v1/admin-token/disable) and is refused; deploy a different value to bring an admin token back');
    await app.ready();

    let closed = false;
    return {
      app, store, db, bus, audit, trail, identity, keyring, policy, quotas, watch, metrics, logger,
      async listen() {
        return app.listen({ host: config.host, port: config.port });
      },
      async close() {
        if (closed) return;
        closed = true;
        // Stop taking requests, let in-flight ones finish, then flush the audit queue.
        await app.close();
        overview.stop();
        await trace.close();
        // Flushes the audit queue, signs a last tree head and hands it to the witnesses.
        await trail.close();
        await bus.close();
        await watch?.stop();
        if (ownStore) await store.close();
      },
    };
  } catch (err) {
    await closeTrace?.().catch(() => undefined);
    await closeTrail?.().catch(() => undefined);
    if (ownStore) await store.close();
    throw err;
  }
}

/**
 * Dual control made visible: every privileged-account creation, promotion request and approval
 * is an open alert for the analysts, stored in the change's own transaction (identity does not
 * import watch; it is handed this).
 */
async function raisePrivilegedChangeAlert(c: PrivilegedChange, tx: Transaction<Database>): Promise<void> {
  const what = { created: 'created (bootstrap)', created_pending: 'created, pending approval', promotion_requested: 'requested, pending approval', approved: 'approved' }[c.change];
  const summary = `Privileged account ${c.account} (${c.role}${c.site ? ` at ${c.site}` : ''}) ${what} by ${c.actor}.`;
  const id = `privileged-${randomUUID()}`;
  const evidence = { change: c.change, role: c.role, site: c.site, actor: c.actor };
  const alert = { id, ts: c.at.toISOString(), account: c.account, detector: 'privileged_account_change', severity: 'medium' as const, score: 50, summary, evidence, risk: null, response: 'none' };
  await tx
    .insertInto('alerts')
    .values({ id, ts: c.at, account: c.account, device: null, detector: alert.detector, severity: alert.severity, score: alert.score, summary, incident: null, response: null, body: JSON.stringify(alert), status: 'open', verdict: null, note: null, updated_by: null, created_at: c.at, updated_at: c.at })
    .execute();
}

/** The audit trail records every allowed reveal, so the last day's quota usage survives a restart. */
async function rebuildQuotas(db: Kysely<Database>, quotas: QuotaLedger, now: number): Promise<void> {
  const rows = await db
    .selectFrom('audit_log')
    .select(['account', 'role', 'device', 'site', 'ts'])
    .where('kind', '=', 'access.reveal')
    .where('decision', '=', 'allowed')
    .where('ts', '>', new Date(now - 86_400_000))
    .orderBy('seq')
    .execute();
  for (const r of rows) {
    if (!r.account || !r.role) continue;
    quotas.record({ role: r.role as Role, account: r.account, device: r.device, site: r.site }, 1, new Date(r.ts).getTime());
  }
}
