/**
 * Composition: builds every service from the config and wires them to HTTP. Each domain is
 * built by its own factory, handed only what it uses.
 */
import type { Kysely } from 'kysely';
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
import { createWorkContext } from './access/work-context.js';
import { createAccessService } from './access/access.js';
import { createAuditWriter, errorSummary, type AuditWriter } from './audit/writer.js';
import { verifyAuditTrail } from './audit/verify.js';
import { createIdentityService, type IdentityService } from './identity/identity.js';
import { createLoginThrottle } from './identity/login-throttle.js';
import { createInProcessBus, type EventBus } from './events/bus.js';
import { eventsFromAudit } from './events/from-audit.js';
import { createIngest } from './events/ingest.js';
import { createServer, type App } from './http/server.js';
import { identityRoutes } from './http/routes/identity.js';
import { dataRoutes } from './http/routes/data.js';
import { opsRoutes } from './http/routes/ops.js';
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
  const store = options.store ?? (await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.poolSize }));
  try {
    const db = store.db;
    const keyring = await loadKeyring(db, resolveMasterKeys(config, logger));
    const bus = options.bus ?? createInProcessBus({ onHandlerError: (name, err) => {
      metrics.busDropped.inc();
      logger.error({ subscriber: name, err: errorSummary(err) }, 'event subscriber failed; events counted as dropped');
    } });
    busRef = bus;
    const audit = createAuditWriter({ db, signer: keyring.auditSigner, metrics, logger, checkpointEvery: config.auditCheckpointEvery });
    audit.onCommitted((records) => {
      const events = eventsFromAudit(records);
      metrics.eventsPublished.inc(events.length);
      // Not awaited: a reveal never waits for detection. Nothing is dropped; the lag is a metric.
      void bus.publish(events);
    });

    const quotas = createQuotaLedger(policy);
    await rebuildQuotas(db, quotas, clock.now());

    const identity = createIdentityService({
      db,
      audit,
      clock,
      throttle: createLoginThrottle(),
      mfaKey: keyring.mfaKey,
      config: { adminToken: config.adminToken, sessionTtlMinutes: config.sessionTtlMinutes, maxSessionsPerAccount: config.maxSessionsPerAccount },
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
    const access = createAccessService({
      policy,
      vault: vaultReader,
      pii: createPiiDecryptor({ db, keyring }),
      work,
      quotas,
      audit,
      clock,
      metrics,
      ...(watch ? { gate: watch.gate } : {}),
    });
    const ingest = createIngest({ db, work, bus, clock });
    const overview = createOverview({ db, audit, bus, clock, logger, risk: engine });
    overview.start();

    const app = await createServer({ logger, metrics, identity, bodyLimitBytes: config.bodyLimitBytes, trustProxy: config.trustProxy });
    identityRoutes(app, { identity });
    dataRoutes(app, { identity, access, vault: createVaultWriter({ db, keyring, clock, allow15DigitId: policy.allow_15_digit_id }), ingest, clock });
    if (watch) watchRoutes(app, { identity, watch });
    insightRoutes(app, {
      identity,
      overview,
      investigation: createInvestigation({ db, clock, risk: engine }),
      detectors: createDetectorsInsight({ db, audit, clock, logger, running: detectConfig, engine }),
    });
    await consoleRoutes(app);
    opsRoutes(app, {
      identity,
      ingest,
      audit,
      metrics,
      ingestLimitBytes: config.ingestLimitBytes,
      verifyAudit: async () => verifyAuditTrail(db, { publicKeys: await keyring.auditPublicKeys() }),
      rotateKeys: async () => {
        const report = await rotateKeys(db, resolveMasterKeys(config, logger));
        keyring.forget();
        return report;
      },
      ping: () => store.ping(),
    });
    if (!config.adminToken) logger.warn('WARDEN_ADMIN_TOKEN is not set: the admin API (sites, accounts, suspensions) is disabled');
    await app.ready();

    let closed = false;
    return {
      app, store, db, bus, audit, identity, keyring, policy, quotas, watch, metrics, logger,
      async listen() {
        return app.listen({ host: config.host, port: config.port });
      },
      async close() {
        if (closed) return;
        closed = true;
        // Stop taking requests, let in-flight ones finish, then flush the audit queue.
        await app.close();
        overview.stop();
        await audit.drain();
        await bus.close();
        await watch?.stop();
        if (ownStore) await store.close();
      },
    };
  } catch (err) {
    if (ownStore) await store.close();
    throw err;
  }
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
