import { Type, type TLiteral, type TUnion } from '@sinclair/typebox';
import { SEVERITIES } from '../../contracts/events.js';
import type { IdentityService, Principal } from '../../identity/identity.js';
import type { Watch } from '../../watch/watch.js';
import { ANALYSTS_OR_ADMIN, authorize, requestContext, type App } from '../server.js';
import { IsoTime } from '../types.js';

const Id = Type.String({ minLength: 1, maxLength: 200 });
const lit = <T extends string>(v: readonly T[]) => Type.Union(v.map((x) => Type.Literal(x))) as unknown as TUnion<TLiteral<T>[]>;
const actorOf = (p: Principal) => (p.kind === 'admin' ? 'admin' : p.account.id);

export function watchRoutes(app: App, { identity, watch }: { identity: IdentityService; watch: Watch }): void {
  const analysts = authorize(identity, ANALYSTS_OR_ADMIN);

  app.get('/api/v1/alerts', {
    onRequest: analysts,
    schema: {
      tags: ['watch'],
      summary: 'Alerts, newest first (filters: status, severity or min_severity, account, since/until)',
      querystring: Type.Object({
        status: Type.Optional(lit(['open', 'acknowledged', 'resolved'] as const)),
        severity: Type.Optional(lit(SEVERITIES)),
        min_severity: Type.Optional(lit(SEVERITIES)),
        account: Type.Optional(Id),
        since: Type.Optional(IsoTime),
        until: Type.Optional(IsoTime),
        limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$' })),
      }, { additionalProperties: false }),
    },
  }, async (req) => ({
    alerts: await watch.listAlerts({
      status: req.query.status,
      severity: req.query.severity,
      minSeverity: req.query.min_severity,
      account: req.query.account,
      since: req.query.since,
      until: req.query.until,
      limit: req.query.limit ? Math.min(1000, Number(req.query.limit)) : 100,
    }),
  }));

  app.patch('/api/v1/alerts/:id', {
    onRequest: analysts,
    schema: {
      tags: ['watch'],
      summary: 'Acknowledge or resolve an alert as a true or false positive; a false positive teaches the engine',
      params: Type.Object({ id: Id }),
      body: Type.Object({
        status: Type.Optional(lit(['acknowledged', 'resolved'] as const)),
        verdict: Type.Optional(lit(['true_positive', 'false_positive'] as const)),
        note: Type.Optional(Type.String({ maxLength: 2000 })),
      }, { additionalProperties: false, minProperties: 1 }),
    },
  }, async (req) => watch.updateAlert(req.params.id, req.body, actorOf(req.principal!), requestContext(req)));

  app.get('/api/v1/accounts/:id/response', {
    onRequest: analysts,
    schema: { tags: ['watch'], summary: 'The automated response in force on an account, if any', params: Type.Object({ id: Id }) },
  }, async (req) => ({ account: req.params.id, response: watch.responseOf(req.params.id) }));

  app.put('/api/v1/accounts/:id/response', {
    onRequest: analysts,
    schema: {
      tags: ['watch'],
      summary: 'Apply a response by hand: step_up (new login, with the second factor when enrolled), throttle (reveals per hour), suspend',
      params: Type.Object({ id: Id }),
      body: Type.Object({ action: lit(['step_up', 'throttle', 'suspend'] as const), reason: Type.String({ minLength: 3, maxLength: 300 }) }, { additionalProperties: false }),
    },
  }, async (req) => watch.setResponse(req.params.id, req.body.action, req.body.reason, actorOf(req.principal!), requestContext(req)));

  app.delete('/api/v1/accounts/:id/response', {
    onRequest: analysts,
    schema: { tags: ['watch'], summary: 'Undo the automated response on an account (lifts a detection suspension too)', params: Type.Object({ id: Id }) },
  }, async (req) => watch.clearResponse(req.params.id, actorOf(req.principal!), requestContext(req)));

  app.get('/api/v1/exceptions', { onRequest: analysts, schema: { tags: ['watch'], summary: 'Active detection exceptions' } }, async () => ({ exceptions: await watch.listExceptions() }));

  app.post('/api/v1/exceptions', {
    onRequest: analysts,
    schema: {
      tags: ['watch'],
      summary: 'Except a device, network, account or app build from detection until a date (audited, expires)',
      body: Type.Object({
        kind: lit(['device', 'network', 'account', 'app_hash'] as const),
        account: Type.Optional(Id),
        value: Id,
        until: IsoTime,
        reason: Type.String({ minLength: 3, maxLength: 500 }),
      }, { additionalProperties: false }),
    },
  }, async (req, reply) => reply.code(201).send(await watch.addException(req.body, actorOf(req.principal!), requestContext(req))));

  app.delete('/api/v1/exceptions/:id', {
    onRequest: analysts,
    schema: { tags: ['watch'], summary: 'Remove an exception', params: Type.Object({ id: Id }) },
  }, async (req) => watch.removeException(req.params.id, actorOf(req.principal!), requestContext(req)));
}
