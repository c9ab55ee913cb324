/** The SIEM export, built from the config (none when WARDEN_SIEM is unset). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Config } from '../config/config.js';
import type { Database } from '../store/schema.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { createSiemForwarder, type SiemForwarder } from './forwarder.js';
import { parseSinks } from './transports.js';

export type { SiemForwarder } from './forwarder.js';

export async function createSiem(config: Config, deps: { db: Kysely<Database>; metrics: Metrics; logger: Logger }): Promise<SiemForwarder | null> {
  if (!config.siem) return null;
  const sinks = parseSinks(config.siem);
  if (!sinks.length) return null;
  return createSiemForwarder({
    sinks,
    dir: config.siemQueueDir ?? join(config.dataDir, 'siem-queue'),
    maxBytes: config.siemQueueMaxBytes,
    audit: config.siemAudit,
    metrics: deps.metrics,
    logger: deps.logger,
    db: deps.db,
    transport: config.siemTlsCaFile ? { ca: readFileSync(config.siemTlsCaFile, 'utf8') } : {},
  });
}
