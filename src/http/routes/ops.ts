import { Type } from '@sinclair/typebox';
import type { IdentityService } from '../../identity/identity.js';
import type { Ingest } from '../../events/ingest.js';
import type { AuditWriter } from '../../audit/writer.js';
import type { Metrics } from '../../ops/metrics.js';
import type { RotationReport } from '../../vault/keyring.js';
import type { RequestContext } from '../../identity/identity.js';
import { authorize, requestContext, type App } from '../server.js';

export interface OpsRouteDeps {
  identity: IdentityService;
  ingest: Ingest;
  audit: AuditWriter;
  metrics: Metrics;
  ingestLimitBytes: number;
  /** Audited with its actor (keys.rotated) before the rotation completes. */
  rotateKeys(actor: string, ctx: RequestContext): Promise<RotationReport>;
  ping(): Promise<void>;
}

export function opsRoutes(app: App, deps: OpsRouteDeps): void {
  const ndjson = (_req: unknown, body: string, done: (err: Error | null, body?: unknown) => void) => done(null, body);
  app.addContentTypeParser(['application/x-ndjson', 'application/ndjson', 'text/plain'], { parseAs: 'string', bodyLimit: deps.ingestLimitBytes }, ndjson);

  app.post('/api/v1/events', {
    onRequest: authorize(deps.identity, ['service', 'admin']),
    bodyLimit: deps.ingestLimitBytes,
    schema: {
      tags: ['events'],
      summary: 'Ingest contract activity events as NDJSON (one JSON object per line)',
      consumes: ['application/x-ndjson'],
      response: { 200: Type.Object({ accepted: Type.Integer(), rejected: Type.Array(Type.Object({ line: Type.Integer(), reason: Type.String() })) }) },
    },
  }, async (req) => {
    const body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body ?? '');
    const result = await deps.ingest.ingestNdjson(body);
    deps.metrics.eventsIngested.inc({ result: 'accepted' }, result.accepted);
    deps.metrics.eventsIngested.inc({ result: 'rejected' }, result.rejected.length);
    return result;
  });

  app.post('/api/v1/keys/rotate', {
    onRequest: authorize(deps.identity, ['admin']),
    schema: { tags: ['vault'], summary: 'Rotate the key-encryption key and rewrap every data key, online' },
  }, async (req) => {
    const p = req.principal!;
    return deps.rotateKeys(p.kind === 'admin' ? 'admin' : p.account.id, requestContext(req));
  });

  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness and readiness: store reachable, audit trail writable', security: [] } }, async (_req, reply) => {
    const audit = deps.audit.health();
    let store = 'ok';
    try {
      await deps.ping();
    } catch {
      store = 'unreachable';
    }
    const ok = audit.ok && store === 'ok';
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'failing',
      checks: { store, audit: audit.ok ? 'ok' : 'failing', audit_last_failure_at: audit.lastFailureAt },
    });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
