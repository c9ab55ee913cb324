import type { IdentityService } from '../../identity/identity.js';
import type { AuditWriter } from '../../audit/writer.js';
import type { Metrics } from '../../ops/metrics.js';
import type { RotationReport } from '../../vault/keyring.js';
import type { RequestContext } from '../../identity/identity.js';
import { authorize, requestContext, type App } from '../server.js';

export interface OpsRouteDeps {
  identity: IdentityService;
  audit: AuditWriter;
  metrics: Metrics;
  /** Audited with its actor (keys.rotated) before the rotation completes. */
  rotateKeys(actor: string, ctx: RequestContext): Promise<RotationReport>;
  ping(): Promise<void>;
}

export function opsRoutes(app: App, deps: OpsRouteDeps): void {
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
