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
import { sealLegacyRoutings } from './vault/routing-seal.js';
import { sealLegacyCredentials } from './identity/credential-seal.js';
import { loadPolicy, type Policy } from './access/policy.js';
import { createQuotaLedger, inMemoryCounter, type QuotaCounter, type QuotaLedger } from './access/quota.js';
import { createSharedQuotaLedger, seedSharedQuotas } from './access/shared-quota.js';
import { createSearchQuotaLedger, createSearchQuotaLimits, rebuildQuotaFromTrail } from './access/quota.js';
import { recordPolicyLoaded } from './access/policy-audit.js';
import { createCases } from './cases/cases.js';
import { caseRoutes } from './http/routes/cases.js';
import { createWorkContext } from './access/work-context.js';
import { createAccessService } from './access/access.js';
import { identifierTagKey } from './contracts/identifiers.js';
import { errorSummary, type AuditWriter } from './audit/writer.js';
import { createAuditTrail, type AuditTrail } from './audit/service.js';
import { createIdentityService, type IdentityService, type PrivilegedChange } from './identity/identity.js';
import { createLoginThrottle, createSharedLoginThrottle } from './identity/login-throttle.js';
import { createServiceTokens } from './identity/service-tokens.js';
import { createInProcessBus, type EventBus } from './events/bus.js';
import { eventsFromAudit } from './events/from-audit.js';
import { createNatsBus, type NatsBus } from './events/nats-bus.js';
import { registerPublisherMetrics } from './events/nats-metrics.js';
import { storedEvents } from './insight/stored-events.js';
import { createIngest } from './events/ingest.js';
import { createServer, type App } from './http/server.js';
import { createRouteGate } from './http/route-gate.js';
import { identityRoutes } from './http/routes/identity.js';
import { dataRoutes } from './http/routes/data.js';
import { opsRoutes } from './http/routes/ops.js';
import { eventsRoutes } from './http/routes/events.js';
import { serviceTokenRoutes } from './http/routes/service-tokens.js';
import { auditRoutes } from './http/routes/audit.js';
import { partiesOf, type Role } from './contracts/events.js';
import { createDetectionEngine, type AlertOut } from './detect/engine.js';
import { loadConfigFile as loadDetectConfig, resolveConfig as resolveDetectConfig } from './detect/config.js';
import { createWatch, type Watch } from './watch/watch.js';
import { readerSelf, refuseSelfEntry, refuseSelfRead } from './access/self.js';
import { createWebhookNotifier, type WebhookNotifier } from './watch/webhook.js';
import { watchRoutes } from './http/routes/watch.js';
import { createOverview } from './insight/overview.js';
import { createInvestigation } from './insight/investigation.js';
import { applyStoredSettings, createDetectorsInsight } from './insight/detectors.js';
import { insightRoutes } from './http/routes/insight.js';
import { consoleRoutes } from './http/routes/console.js';
import { createTrace } from './trace/trace.js';
import { realWaybillsFirst } from './trace/canaries.js';
import { redactCanaryEvidence } from './trace/tripwire.js';
import { traceRoutes } from './http/routes/trace.js';
import { attributionQuotaLimits, createAttributions, type AttributionLimits } from './trace/attributions.js';
import { piplRoutes } from './http/routes/pipl.js';
import { createSubjects } from './pipl/subjects.js';
import { loadWorkCalendar } from './pipl/working-days.js';
import { createAccessReports } from './pipl/access-report.js';
import { createRetention, loadRetentionPolicy, scheduleRetention } from './pipl/retention.js';
import { scheduleReconcile } from './audit/reconcile/schedule.js';
import { createSiem, type SiemForwarder } from './siem/index.js';
import { createOidc, parseOidcMapping } from './identity/oidc.js';
import { signInMethodsRoute, ssoRoutes } from './http/routes/sso.js';
import { createBreachReports } from './pipl/breach.js';
import { createCompliance } from './pipl/compliance.js';

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
  quotas: QuotaCounter;
  watch: Watch | null;
  siem: SiemForwarder | null;
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
  let closeBus: (() => Promise<void>) | null = null;
  let closeTrace: (() => Promise<void>) | null = null;
  let stopRetention: () => Promise<void> = async () => undefined;
  let closeSiem: () => Promise<void> = () => Promise.resolve();
  const store = options.store ?? (await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.poolSize }));
  try {
    const db = store.db;
    const keyring = await loadKeyring(db, resolveMasterKeys(config, logger));
    const nats = !options.bus && config.bus ? await createNatsBus({ url: config.bus, stream: config.busStream, subject: config.busSubject, partitions: config.busPartitions, onPublishError: (err) => logger.warn({ err: errorSummary(err) }, 'publishing to JetStream failed; retrying') }) : null;
    closeBus = nats ? () => nats.close() : null;
    const bus = options.bus ?? nats ?? createInProcessBus({ onHandlerError: (name, err) => {
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
    if (nats) {
      registerPublisherMetrics(metrics.registry, nats);
      await republishOutbox(db, nats, clock.now(), logger);
    }

    // SIEM export: fed after each commit, never awaited by a request (src/siem/).
    const siem = await createSiem(config, { db, metrics, logger });
    closeSiem = () => siem?.close() ?? Promise.resolve();
    if (siem) audit.onCommitted((records) => siem.enqueueAudit(records));

    await recordPolicyLoaded({ db, audit, clock }, policy, config.policyFile ?? 'defaults');
    // Rows written before the routing seal are sealed once, audited with their count (attack review 9).
    const legacySealed = await sealLegacyRoutings({ db, seal: keyring.routingSeal, audit, now: new Date(clock.now()) });
    // Accounts and service tokens written before the credential seal: sealed once, audited (attack review 11).
    const credentialsSealed = await sealLegacyCredentials({ db, seal: keyring.credentialSeal, audit, now: new Date(clock.now()) });
    if (credentialsSealed) logger.warn(credentialsSealed, 'accounts and service tokens written before the credential seal were sealed once (auth.credentials_sealed); sessions of before were ended (log in again)');
    if (legacySealed) logger.warn({ sealed: legacySealed.sealed }, 'waybill routing written before the routing seal was sealed once (vault.routing_sealed); from now on a waybill without a matching seal fails closed');
    // PostgreSQL may serve several processes: quotas, throttles, sessions and responses are then
    // read and counted in the database (docs/decisions/0011-shared-ledger.md).
    const shared = store.kind === 'postgres';
    const attributionLimits = { minRows: config.attributionMinRows, runsPerHour: config.attributionRunsPerHour, runsPerDay: config.attributionRunsPerDay };
    const { quotas, searchQuotas, attributionQuota } = await buildQuotas({ db, policy, shared, now: clock.now(), metrics, attributionLimits });

    const identity = createIdentityService({
      db,
      audit,
      clock,
      throttle: shared ? createSharedLoginThrottle(db) : createLoginThrottle(),
      mfaKey: keyring.mfaKey,
      credentialSeal: keyring.credentialSeal,
      identityKey: keyring.blindIndexKey,
      metrics,
      onPrivilegedChange: raisePrivilegedChangeAlert,
      config: { adminToken: config.adminToken, sessionTtlMinutes: config.sessionTtlMinutes, maxSessionsPerAccount: config.maxSessionsPerAccount, newDevicesPerDay: config.newDevicesPerDay, localPasswords: config.localPasswords, ...(shared ? { principalCacheMs: 0 } : {}) },
    });
    await identity.startAdminToken();
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
          shared,
          consume: !nats,
          metrics,
          ...(siem ? { onAlerts: (alerts: AlertOut[]) => siem.enqueueAlerts(alerts) } : {}),
          webhook: config.alertWebhookUrl && config.alertWebhookSecret ? canaryBlind(createWebhookNotifier({ url: config.alertWebhookUrl, secret: config.alertWebhookSecret, logger })) : undefined,
        })
      : null;
    if (config.alertWebhookUrl && !config.alertWebhookSecret) throw new Error('WARDEN_ALERT_WEBHOOK_URL needs WARDEN_ALERT_WEBHOOK_SECRET (receivers verify the signature)');
    await watch?.start();
    const work = createWorkContext({ db });
    const vaultReader = createVaultReader({ db, keyring });
    const vaultWriter = createVaultWriter({ db, keyring, clock, allow15DigitId: policy.allow_15_digit_id });
    const pii = createPiiDecryptor({ db, keyring });
    const trace = await createTrace({ db, audit, clock, logger, blindIndexKey: keyring.blindIndexKey, vault: vaultWriter, reader: vaultReader, pii, identity, policy, work, watchGate: watch?.gate, raise: watch ? (alerts) => watch.raise(alerts) : null });
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
      identifierTagKey: identifierTagKey(keyring.blindIndexKey),
    });
    // The telephony platform's token turns virtual numbers into real ones: two people issue it, like one that grants work.
    const tokens = createServiceTokens({ db, audit, clock, seal: keyring.credentialSeal, secondPerson: (account) => trace.privacy?.telephony(account) === true });
    const ingest = createIngest({
      db, work, bus, audit, clock, seal: keyring.routingSeal, canaries: trace.canaries, window: { maxAgeMs: config.ingestMaxAgeSeconds * 1000, maxSkewMs: config.ingestMaxSkewSeconds * 1000 },
      // Routing conflicts and canary numbers named by a producer (attack review 10): alerted, and counted.
      raise: watch ? (alerts) => watch.raise(alerts) : undefined,
      onWaybillConflicts: (c) => {
        metrics.eventsIngested.inc({ result: 'waybill_withheld' }, c.withheld);
        metrics.eventsIngested.inc({ result: 'waybill_canary_named' }, c.canaries);
      },
    });
    const overview = createOverview({ db, audit, bus, clock, logger, risk: engine });
    overview.start();

    // The response in force on the caller's account (and the canary tripwire) holds on every route, not only the data path (attack review 10).
    const routeGate = createRouteGate({ tripwire: trace.tripwire.gate, responses: watch ? { route: watch.gate.route } : undefined, audit, clock });
    const app = await createServer({ logger, metrics, identity, bodyLimitBytes: config.bodyLimitBytes, trustProxy: config.trustProxy, routeGate });
    identityRoutes(app, { identity });
    if (config.oidcIssuer) {
      if (!config.oidcClientId || !config.oidcRedirectUri) throw new Error('WARDEN_OIDC_ISSUER needs WARDEN_OIDC_CLIENT_ID and WARDEN_OIDC_REDIRECT_URI');
      const oidc = await createOidc({ issuer: config.oidcIssuer, clientId: config.oidcClientId, clientSecret: config.oidcClientSecret, redirectUri: config.oidcRedirectUri, mapping: parseOidcMapping(config.oidcMapping), audit, clock, ssoLogin: identity.ssoLogin });
      ssoRoutes(app, { oidc });
    } else if (!config.localPasswords) {
      throw new Error('WARDEN_LOCAL_PASSWORDS=off needs single sign-on (WARDEN_OIDC_ISSUER): nobody could log in');
    }
    signInMethodsRoute(app, { password: config.localPasswords, sso: Boolean(config.oidcIssuer) });
    // A real waybill takes precedence over a canary holding its number (src/trace/canaries.ts).
    dataRoutes(app, { identity, access, vault: realWaybillsFirst(vaultWriter, trace.canaries), ingest, tokens, clock, allow15DigitId: policy.allow_15_digit_id });
    serviceTokenRoutes(app, { identity, tokens });
    eventsRoutes(app, { identity, tokens, ingest, metrics, ingestLimitBytes: config.ingestLimitBytes });
    if (watch) watchRoutes(app, { identity, watch });
    auditRoutes(app, {
      identity,
      trail,
      db,
      readerSelf: (actor) => readerSelf(db, actor),
      refuseSelfEntry: (seq, actor, ctx) => refuseSelfEntry(db, audit, new Date(clock.now()), seq, actor, ctx),
    });
    caseRoutes(app, { identity, cases: createCases({ db, audit, clock }) });
    insightRoutes(app, {
      identity,
      overview,
      investigation: createInvestigation({ db, clock, risk: engine }),
      detectors: createDetectorsInsight({ db, audit, clock, logger, running: detectConfig, engine }),
      refuseSelfRead: (account, what, actor, ctx) => refuseSelfRead(db, audit, new Date(clock.now()), account, what, actor, ctx),
      readerSelf: (actor) => readerSelf(db, actor),
    });
    traceRoutes(app, { identity, trace, tokens, attributions: createAttributions({ db, keyring, pii, audit, clock, limits: attributionLimits, quota: attributionQuota }) });
    stopRetention = mountPipl(app, { config, db, audit, clock, keyring, quota: searchQuotas, identity, trail, logger, metrics, policy });
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
      app, store, db, bus, audit, trail, identity, keyring, policy, quotas, watch, siem, metrics, logger,
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
        await stopRetention();
        // Flushes the audit queue, signs a last tree head and hands it to the witnesses.
        await trail.close();
        await bus.close();
        await watch?.stop();
        await closeSiem();
        if (ownStore) await store.close();
      },
    };
  } catch (err) {
    await closeTrace?.().catch(() => undefined);
    await closeTrail?.().catch(() => undefined);
    await closeBus?.().catch(() => undefined);
    await closeSiem().catch(() => undefined);
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
  // Who made the change and, for an approval, who asked for it: neither triages this alert (watch/alerts.ts).
  const evidence = { change: c.change, role: c.role, site: c.site, actor: c.actor, ...(c.requestedBy ? { requested_by: c.requestedBy } : {}) };
  const alert = { id, ts: c.at.toISOString(), account: c.account, detector: 'privileged_account_change', severity: 'medium' as const, score: 50, summary, evidence, risk: null, response: 'none' };
  await tx
    .insertInto('alerts')
    .values({ id, ts: c.at, account: c.account, device: null, detector: alert.detector, severity: alert.severity, score: alert.score, summary, incident: null, response: null, body: JSON.stringify(alert), status: 'open', verdict: null, note: null, updated_by: null, created_at: c.at, updated_at: c.at })
    .execute();
}

/**
 * The webhook's receivers (chat rooms, SIEMs) are no readers of the canary list: a
 * `canary_touched` alert goes out with a count instead of the numbers (attack review 8).
 */
function canaryBlind(notifier: WebhookNotifier): WebhookNotifier {
  return { ...notifier, notify: (alert) => notifier.notify(redactCanaryEvidence(alert as AlertOut, false)) };
}

/**
 * At least once from the outbox: a gateway that stopped between an audit commit and its publish
 * left events unsent; at start the last 5 minutes of the trail (and of produced events) go to
 * JetStream again. Whatever was already there is dropped by id (duplicate window 10 minutes).
 */
async function republishOutbox(db: Kysely<Database>, bus: NatsBus, now: number, logger: Logger): Promise<void> {
  let chunk: import('./contracts/events.js').ActivityEvent[] = [];
  let n = 0;
  for await (const e of storedEvents(db, new Date(now - 5 * 60_000), new Date(now + 60_000))) {
    chunk.push(e);
    if (chunk.length >= 500) (await bus.republish(chunk), (n += chunk.length), (chunk = []));
  }
  if (chunk.length) (await bus.republish(chunk), (n += chunk.length));
  if (n) logger.info({ events: n, duplicates: bus.duplicates() }, 'outbox window sent to JetStream again (duplicates dropped by id)');
}

interface PiplSetup {
  config: Config;
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  keyring: Keyring;
  /** Data-subject requests count against the search quota. */
  quota: QuotaCounter;
  identity: IdentityService;
  trail: AuditTrail;
  logger: Logger;
  metrics: Metrics;
  /** The policy in force: the scheduled reconcile recounts its quotas (attack review 11). */
  policy: Policy;
}

/** PIPL routes (src/pipl/) and the scheduled retention and reconcile runs; returns their stop. */
function mountPipl(app: App, { config, db, audit, clock, keyring, quota, identity, trail, logger, metrics, policy }: PiplSetup): () => Promise<void> {
  const subjects = createSubjects({ db, audit, clock, keyring, calendar: loadWorkCalendar(config.holidayCalendarFile), quota });
  const retentionPolicy = loadRetentionPolicy(config.retentionFile);
  const retention = createRetention({ db, audit, clock, policy: retentionPolicy });
  piplRoutes(app, {
    identity,
    subjects,
    accessReports: createAccessReports({ db, audit, clock, subjects }),
    retention,
    breach: createBreachReports({ db, audit, clock }),
    compliance: createCompliance({ db, audit, clock, verify: () => trail.verify(), retentionPolicy }),
  });
  const retentionSchedule = scheduleRetention(retention, config.retentionEveryMinutes, (err) => logger.error({ err: errorSummary(err) }, 'scheduled retention run failed; it runs again next period'));
  const reconcileSchedule = scheduleReconcile(db, config.reconcileEveryMinutes, { logger, metrics, options: { policy, throttlePerHour: config.throttlePerHour } });
  return async () => {
    await retentionSchedule.stop();
    await reconcileSchedule.stop();
  };
}

interface QuotaSetup {
  db: Kysely<Database>;
  policy: Policy;
  /** PostgreSQL: counted in the database, shared by every process; embedded: in memory, rebuilt from the trail. */
  shared: boolean;
  now: number;
  metrics: Metrics;
  attributionLimits: AttributionLimits;
}

/** The reveal, search and leak-attribution quotas: one ledger each, namespaced when shared. */
async function buildQuotas({ db, policy, shared, now, metrics, attributionLimits }: QuotaSetup): Promise<{ quotas: QuotaCounter; searchQuotas: QuotaCounter; attributionQuota: QuotaCounter }> {
  const searchLimits = { quotas: createSearchQuotaLimits(policy) };
  const attributionLimitsOf = attributionQuotaLimits(attributionLimits);
  if (shared) {
    await seedSharedQuotas(db, now);
    return {
      quotas: createSharedQuotaLedger({ db, limits: policy, namespace: 'r' }),
      searchQuotas: createSharedQuotaLedger({ db, limits: searchLimits, namespace: 'q' }),
      attributionQuota: createSharedQuotaLedger({ db, limits: attributionLimitsOf, namespace: 'x' }),
    };
  }
  const ledger = createQuotaLedger(policy, { onSaturation: (scope, window, ratio) => metrics.quotaSaturation.observe({ scope, window }, ratio) });
  await rebuildQuotas(db, ledger, now);
  const searchLedger = createSearchQuotaLedger(policy);
  await rebuildQuotaFromTrail(db, searchLedger, now, 'access.search', 'allowed');
  // Data-subject requests count against the same search quota (src/pipl/subjects.ts).
  await rebuildQuotaFromTrail(db, searchLedger, now, 'pipl.request_filed', 'ok');
  const attributionLedger = createQuotaLedger(attributionLimitsOf);
  await rebuildQuotaFromTrail(db, attributionLedger, now, 'trace.attribution_run', 'ok');
  return { quotas: inMemoryCounter(ledger), searchQuotas: inMemoryCounter(searchLedger), attributionQuota: inMemoryCounter(attributionLedger) };
}

/** The audit trail records every allowed reveal and its fields, so the last day's quota usage (in people) survives a restart. */
async function rebuildQuotas(db: Kysely<Database>, quotas: QuotaLedger, now: number): Promise<void> {
  const rows = await db
    .selectFrom('audit_log')
    .select(['account', 'role', 'device', 'site', 'ts', 'fields'])
    .where('kind', '=', 'access.reveal')
    .where('decision', '=', 'allowed')
    .where('ts', '>', new Date(now - 86_400_000))
    .orderBy('seq')
    .execute();
  for (const r of rows) {
    if (!r.account || !r.role) continue;
    // In people revealed, as the access service counts them (a reveal of both parties is two).
    const people = Math.max(1, partiesOf(r.fields ? r.fields.split(',') : []).length);
    quotas.record({ role: r.role as Role, account: r.account, device: r.device, site: r.site }, people, new Date(r.ts).getTime());
  }
}
