/**
 * A detection worker (`warden watch`): one partition of the NATS JetStream event stream through
 * the detection engine, alerts stored and responses applied on the shared PostgreSQL store (the
 * gateways enforce them). Composition only: the engine is detect's, the watch is ./watch.ts, the
 * consumer is events/nats-consumer.ts.
 *
 * Invariants:
 * - State is rebuilt before consuming, from the stream only: everything the partition's durable
 *   consumer acknowledged (within the stream's retention) is replayed into a fresh engine, its
 *   alerts discarded (they were stored when first raised), then the consumer resumes after its
 *   acknowledgement floor. The watch's own restore from the store (./restore.ts, for the
 *   in-process bus) is off here: replayed on top, it would feed the engine other partitions'
 *   events and the unacknowledged ones ahead of their delivery, and their alerts would be lost.
 * - Only this partition's accounts (plus the broadcast waybill and scan events) reach the engine;
 *   state keyed by account is therefore whole. Cross-account state (a network, a device, a fleet
 *   hash, a site's peers) sees this partition's slice only (docs/scale.md).
 */
import { createServer, type Server } from 'node:http';
import type { Config } from '../config/config.js';
import { openStore, type Store } from '../store/db.js';
import { createLogger, type Logger } from '../ops/logger.js';
import { createMetrics } from '../ops/metrics.js';
import { systemClock, type Clock } from '../ops/clock.js';
import { resolveMasterKeys } from '../vault/master-key.js';
import { loadKeyring } from '../vault/keyring.js';
import { createAuditTrail } from '../audit/service.js';
import { createIdentityService } from '../identity/identity.js';
import { createLoginThrottle } from '../identity/login-throttle.js';
import { createDetectionEngine } from '../detect/engine.js';
import { loadConfigFile as loadDetectConfig, resolveConfig as resolveDetectConfig } from '../detect/config.js';
import { applyStoredSettings } from '../insight/detectors.js';
import { createPartitionConsumer, type PartitionConsumer } from '../events/nats-consumer.js';
import { registerConsumerMetrics } from '../events/nats-metrics.js';
import { errorSummary } from '../audit/writer.js';
import { createWatch, type Watch } from './watch.js';
import { createWebhookNotifier } from './webhook.js';

export interface WatchWorkerOptions {
  partition: number;
  logger?: Logger;
  clock?: Clock;
  store?: Store;
  detectConfig?: unknown;
  /** Serve /metrics on this port (0: any free port; undefined: none). */
  metricsPort?: number | undefined;
  /** Events per batch (one alert store and one acknowledgement each). */
  batch?: number;
}

export interface WatchWorker {
  watch: Watch;
  consumer: PartitionConsumer;
  /** Events replayed from the stream to rebuild the engine's state at start. */
  rebuilt: number;
  metricsUrl: string | null;
  stop(): Promise<void>;
}

export async function startWatchWorker(config: Config, opts: WatchWorkerOptions): Promise<WatchWorker> {
  if (!config.bus) throw new Error('warden watch needs WARDEN_BUS=nats://host:port (detection on the in-process bus runs inside warden serve)');
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  const clock = opts.clock ?? systemClock;
  const ownStore = !opts.store;
  const store = opts.store ?? (await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: Math.min(config.poolSize, 4) }));
  const stops: Array<() => Promise<void>> = [];
  if (ownStore) stops.push(() => store.close());
  try {
    const db = store.db;
    const metrics = createMetrics();
    const keyring = await loadKeyring(db, resolveMasterKeys(config, logger));
    const trail = await createAuditTrail({ db, config, metrics, logger, clock });
    stops.unshift(() => trail.close());
    const identity = createIdentityService({
      db,
      audit: trail.writer,
      clock,
      throttle: createLoginThrottle(),
      mfaKey: keyring.mfaKey,
      credentialSeal: keyring.credentialSeal,
      identityKey: keyring.blindIndexKey,
      config: { adminToken: config.adminToken, sessionTtlMinutes: config.sessionTtlMinutes, maxSessionsPerAccount: config.maxSessionsPerAccount, newDevicesPerDay: config.newDevicesPerDay },
    });
    const detectConfig = applyStoredSettings(
      opts.detectConfig !== undefined ? resolveDetectConfig(opts.detectConfig) : config.detectConfigFile ? loadDetectConfig(config.detectConfigFile) : resolveDetectConfig({}),
      await db.selectFrom('detector_settings').select(['detector', 'settings']).execute(),
      logger,
    );
    const engine = createDetectionEngine(detectConfig);
    const consumerMetrics = registerConsumerMetrics(metrics.registry, opts.partition);
    const consumer = await createPartitionConsumer({
      url: config.bus,
      stream: config.busStream,
      subject: config.busSubject,
      partitions: config.busPartitions,
      partition: opts.partition,
      batch: opts.batch ?? 256,
      onBatch: consumerMetrics.onBatch,
      onHandlerError: (err) => {
        consumerMetrics.failed.inc();
        logger.error({ err: errorSummary(err), partition: opts.partition }, 'a batch of events could not be processed; left unacknowledged for redelivery');
      },
    });
    stops.unshift(() => consumer.close());
    consumerMetrics.watch(consumer);

    const started = Date.now();
    const rebuilt = await consumer.replayAcknowledged((events) => {
      for (const e of events) engine.process(e);
    });
    engine.advanceTo(clock.now());
    logger.info({ partition: opts.partition, events: rebuilt, ms: Date.now() - started }, 'engine state rebuilt from the stream');

    const watch = createWatch({
      db,
      bus: consumer,
      engine,
      // The stream replay above is this worker's restore. The store's history must not be replayed
      // on top of it: it holds every partition's events, and also those this partition's consumer
      // has not yet acknowledged, which the replay would process (their alerts discarded as
      // "already raised") before the consumer delivers them again, folded into repeats.
      restore: false,
      identity,
      audit: trail.writer,
      clock,
      logger,
      throttlePerHour: config.throttlePerHour,
      // The gateways (and analysts there) change responses too: read them where they are kept,
      // so an escalation compares with the response in force now, not with this process's memory.
      shared: store.kind === 'postgres',
      webhook: config.alertWebhookUrl && config.alertWebhookSecret ? createWebhookNotifier({ url: config.alertWebhookUrl, secret: config.alertWebhookSecret, logger }) : undefined,
    });
    await watch.start();
    // The watch stops first (its last batch acknowledged), then the consumer, the trail, the store.
    stops.unshift(() => watch.stop());

    let server: Server | null = null;
    let metricsUrl: string | null = null;
    if (opts.metricsPort !== undefined) {
      server = createServer((req, res) => {
        if (req.url !== '/metrics') return void res.writeHead(404).end();
        void metrics.registry.metrics().then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text));
      });
      await new Promise<void>((resolve) => server!.listen(opts.metricsPort, config.host, resolve));
      const addr = server.address();
      metricsUrl = typeof addr === 'object' && addr ? `http://${config.host}:${addr.port}/metrics` : null;
      stops.unshift(() => new Promise<void>((resolve) => server!.close(() => resolve())));
    }
    logger.info({ partition: opts.partition, partitions: config.busPartitions, stream: config.busStream, durable: consumer.durable, metrics: metricsUrl }, 'detection worker consuming');
    let stopped = false;
    return {
      watch,
      consumer,
      rebuilt,
      metricsUrl,
      async stop() {
        if (stopped) return;
        stopped = true;
        for (const s of stops) await s();
      },
    };
  } catch (err) {
    for (const s of stops) await s().catch(() => undefined);
    throw err;
  }
}
