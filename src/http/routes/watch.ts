/**
 * Watch over HTTP: alert triage (filters, keyset pages, review, assignment, bulk), responses
 * and exceptions — analysts and the admin token; every change audited by the watch services,
 * which also refuse anyone acting about themselves (403 `self_action`).
 */
import { Type, type TLiteral, type TUnion } from '@sinclair/typebox';
import { SEVERITIES } from '../../contracts/events.js';
import type { IdentityService } from '../../identity/identity.js';
import type { Watch } from '../../watch/watch.js';
import { actorOf } from '../../identity/identity.js';
import { decodeCursor, encodeCursor, parseInstant } from '../params.js';
import { ANALYSTS_OR_ADMIN, authorize, requestContext, type App } from '../server.js';
import { IsoTime } from '../types.js';
import type { Principal } from '../../identity/identity.js';
import { ANALYST_ROLES, profileOf } from '../../access/roles.js';
import { redactCanaryEvidence } from '../../trace/tripwire.js';
import { assertIdentifiers } from '../../contracts/identifiers.js';

const Id = Type.String({ minLength: 1, maxLength: 200 });
const lit = <T extends string>(v: readonly T[]) => Type.Union(v.map((x) => Type.Literal(x))) as unknown as TUnion<TLiteral<T>[]>;
const Cursor = Type.String({ minLength: 1, maxLength: 400, description: 'next_cursor of the previous page' });
const AlertChange = {
  status: Type.Optional(lit(['acknowledged', 'resolved'] as const)),
  verdict: Type.Optional(lit(['true_positive', 'false_positive'] as const)),
  note: Type.Optional(Type.String({ maxLength: 2000 })),
  assignee: Type.Optional(Type.Union([Id, Type.Null()], { description: 'an analyst account; null unassigns' })),
};

/** Canary numbers in alert evidence are for security analysts only (not the admin token). */
const forReader = <T extends { detector: string; evidence?: unknown }>(p: Principal | undefined, alert: T): T =>
  redactCanaryEvidence(alert, p?.kind === 'account' && profileOf(p.account.role).analyst);

export function watchRoutes(app: App, { identity, watch }: { identity: IdentityService; watch: Watch }): void {
  const analysts = authorize(identity, ANALYSTS_OR_ADMIN);
  /** The second person of a two-analyst rule is an analyst's own account, never the shared admin token (attack review 4). */
  const secondAnalyst = authorize(identity, ANALYST_ROLES);

  app.get('/api/v1/alerts', {
    onRequest: analysts,
    schema: {
      tags: ['watch'],
      summary: 'Alerts, newest first (not those about the reader: their account, one linked to it by creation, their devices); filters: status, severity or min_severity, account, detector, site, city, assignee, since/until; pages: before=<next_cursor>',
      querystring: Type.Object({
        status: Type.Optional(lit(['open', 'acknowledged', 'resolved'] as const)),
        severity: Type.Optional(lit(SEVERITIES)),
        min_severity: Type.Optional(lit(SEVERITIES)),
        account: Type.Optional(Id),
        detector: Type.Optional(Id),
        site: Type.Optional(Id),
        city: Type.Optional(Id),
        assignee: Type.Optional(Id),
        since: Type.Optional(IsoTime),
        until: Type.Optional(IsoTime),
        before: Type.Optional(Cursor),
        cursor: Type.Optional(Cursor),
        limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$' })),
      }, { additionalProperties: false }),
    },
  }, async (req) => {
    const q = req.query;
    const limit = q.limit ? Math.min(1000, Number(q.limit)) : 100;
    const page = q.before ?? q.cursor;
    const alerts = await watch.listAlertsFor({
      status: q.status,
      severity: q.severity,
      minSeverity: q.min_severity,
      account: q.account,
      detector: q.detector,
      site: q.site,
      city: q.city,
      assignee: q.assignee,
      since: q.since === undefined ? undefined : new Date(parseInstant(q.since, 'since')).toISOString(),
      until: q.until === undefined ? undefined : new Date(parseInstant(q.until, 'until')).toISOString(),
      after: page === undefined ? undefined : decodeCursor(page, q.before !== undefined ? 'before' : 'cursor'),
      limit,
    }, actorOf(req.principal!));
    const last = alerts.length === limit ? alerts[alerts.length - 1] : undefined;
    return { alerts: alerts.map((a) => forReader(req.principal, a)), next_cursor: last ? encodeCursor(last) : null };
  });

  app.patch('/api/v1/alerts/:id', {
    onRequest: analysts,
    schema: {
      tags: ['watch'],
      summary: 'Acknowledge, resolve (true or false positive: a verdict closes the alert and teaches the engine nothing; to leave a build, device or network out of detection ask for an exception) or assign an alert; not one about yourself nor one naming you as who made, asked for or approved a change; a verdict is an analyst\'s own (the admin token: 403)',
      params: Type.Object({ id: Id }),
      body: Type.Object(AlertChange, { additionalProperties: false, minProperties: 1 }),
    },
  }, async (req) => forReader(req.principal, await watch.updateAlert(req.params.id, req.body, actorOf(req.principal!), requestContext(req))));

  app.post('/api/v1/alerts/bulk', {
    onRequest: analysts,
    schema: {
      tags: ['watch'],
      summary: 'The same change to many alerts; results per id (each audited; one about yourself is refused on its own)',
      body: Type.Object({ ids: Type.Array(Id, { minItems: 1, maxItems: 200 }), ...AlertChange }, { additionalProperties: false, minProperties: 2 }),
    },
  }, async (req) => {
    const { ids, ...change } = req.body;
    const out = await watch.bulkUpdateAlerts(ids, change, actorOf(req.principal!), requestContext(req));
    return { results: out.results.map((r) => (r.ok ? { ...r, alert: forReader(req.principal, r.alert) } : r)) };
  });

  app.get('/api/v1/accounts/:id/response', {
    onRequest: analysts,
    schema: { tags: ['watch'], summary: 'The response in force on an account, with its detail (reason, alert): the subject is told only a generic reason, and reads no response on themselves (404, audited)', params: Type.Object({ id: Id }) },
  }, async (req) => ({ account: req.params.id, response: await watch.readResponse(req.params.id, actorOf(req.principal!), requestContext(req)) }));

  app.put('/api/v1/accounts/:id/response', {
    onRequest: analysts,
    schema: {
      tags: ['watch'],
      summary: 'Apply a response by hand: step_up (new login, with the second factor when enrolled), throttle (records revealed per hour), suspend; raises only (step_up < throttle < suspend): one that would lower the response in force is refused (409 `lift_first`, its message naming it, audited): lift it first; raising keeps the alert it came from; not on yourself',
      params: Type.Object({ id: Id }),
      body: Type.Object({ action: lit(['step_up', 'throttle', 'suspend'] as const), reason: Type.String({ minLength: 3, maxLength: 300 }) }, { additionalProperties: false }),
    },
  }, async (req) => watch.setResponse(req.params.id, req.body.action, req.body.reason, actorOf(req.principal!), requestContext(req)));

  app.delete('/api/v1/accounts/:id/response', {
    // The admin token is refused by the watch (403, audited), not here: a lift is a named analyst's.
    onRequest: analysts,
    schema: {
      tags: ['watch'],
      summary: 'Lift the response on an account (a detection suspension too), the one way to lower one: a security analyst\'s own account, not the admin token (403, audited), not on yourself nor an account linked to you; with a reason (the trail keeps its SHA-256 and length, never the text)',
      params: Type.Object({ id: Id }),
      body: Type.Object({ reason: Type.String({ minLength: 3, maxLength: 300 }) }, { additionalProperties: false }),
    },
  }, async (req) => watch.clearResponse(req.params.id, req.body.reason, actorOf(req.principal!), requestContext(req)));

  app.get('/api/v1/exceptions', { onRequest: analysts, schema: { tags: ['watch'], summary: 'Detection exceptions not removed: pending (waiting for a second analyst) and approved' } }, async () => ({ exceptions: await watch.listExceptions() }));

  app.post('/api/v1/exceptions', {
    onRequest: analysts,
    schema: {
      tags: ['watch'],
      summary: 'Ask to except a device, network, account or app build from detection until a date (at most 90 days; audited): a security analyst\'s own account, not the admin token (403, audited); in force once a second analyst approves it; not your own',
      body: Type.Object({
        kind: lit(['device', 'network', 'account', 'app_hash'] as const),
        account: Type.Optional(Id),
        value: Id,
        until: IsoTime,
        reason: Type.String({ minLength: 3, maxLength: 500 }),
      }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    const until = new Date(parseInstant(req.body.until, 'until')).toISOString();
    // The account an exception names is recorded in the trail (`account`): an identifier, never a
    // phone or ID number typed in its place (attack review 10). 400 naming the field, not the value.
    assertIdentifiers([{ field: 'account', value: req.body.account, max: 200 }, { field: 'value', value: req.body.kind === 'account' ? req.body.value : null, max: 200 }]);
    return reply.code(201).send(await watch.addException({ ...req.body, until }, actorOf(req.principal!), requestContext(req)));
  });

  app.post('/api/v1/exceptions/:id/approve', {
    onRequest: secondAnalyst,
    schema: { tags: ['watch'], summary: 'Approve a pending exception: it comes into force now; a security analyst\'s account (not the admin token), not your own request, nor one about yourself', params: Type.Object({ id: Id }) },
  }, async (req) => watch.approveException(req.params.id, actorOf(req.principal!), requestContext(req)));

  app.delete('/api/v1/exceptions/:id', {
    onRequest: analysts,
    schema: { tags: ['watch'], summary: 'Remove an exception; not one about yourself', params: Type.Object({ id: Id }) },
  }, async (req) => watch.removeException(req.params.id, actorOf(req.principal!), requestContext(req)));
}
