/**
 * The PIPL module over HTTP (src/pipl/): data-subject requests, their access reports, retention
 * runs, breach and compliance reports. Only the privacy roles (src/access/roles.ts PRIVACY_ROLES)
 * and not the admin token: a deletion takes two people with accounts, and reports name who asked.
 */
import { Type } from '@sinclair/typebox';
import type { IdentityService } from '../../identity/identity.js';
import { actorOf } from '../../identity/identity.js';
import { PRIVACY_ROLES } from '../../access/roles.js';
import { AppError } from '../../errors.js';
import type { Subjects } from '../../pipl/subjects.js';
import { accessReportMarkdown, type AccessReports } from '../../pipl/access-report.js';
import type { Retention } from '../../pipl/retention.js';
import { actorAccount, actorName } from '../../identity/types.js';
import { authorize, requestContext, type App } from '../server.js';

export interface PiplRouteDeps {
  identity: IdentityService;
  subjects: Subjects;
  accessReports: AccessReports;
  retention: Retention;
}

const Id = Type.String({ minLength: 1, maxLength: 200 });
const Format = Type.Union([Type.Literal('json'), Type.Literal('md')]);

export function piplRoutes(app: App, deps: PiplRouteDeps): void {
  const { identity, subjects, accessReports, retention } = deps;
  const privacy = authorize(identity, PRIVACY_ROLES);

  app.post('/api/v1/subjects/requests', {
    onRequest: privacy,
    schema: {
      tags: ['pipl'],
      summary: 'File a data-subject request (access, correction, deletion) for a person named by phone or ID number, after checking their identity; a deletion waits for a second person',
      body: Type.Object({
        kind: Type.Union([Type.Literal('access'), Type.Literal('correction'), Type.Literal('deletion')]),
        phone: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
        id_number: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
        identity_verified: Type.Boolean(),
        correction: Type.Optional(Type.Object({ field: Type.String({ maxLength: 40 }), value: Type.String({ maxLength: 400 }) }, { additionalProperties: false })),
      }, { additionalProperties: false }),
    },
  }, async (req, reply) => reply.code(201).send(await subjects.file(req.body, actorOf(req.principal!), requestContext(req))));

  app.post('/api/v1/subjects/requests/:id/approve', {
    onRequest: privacy,
    schema: { tags: ['pipl'], summary: 'Approve a pending deletion (someone other than who filed it): the person\'s data keys are destroyed', params: Type.Object({ id: Id }) },
  }, async (req) => subjects.approve(req.params.id, actorOf(req.principal!), requestContext(req)));

  app.get('/api/v1/subjects/requests', {
    onRequest: privacy,
    schema: {
      tags: ['pipl'],
      summary: 'Data-subject requests, newest first, with their deadline',
      querystring: Type.Object({ state: Type.Optional(Type.Union([Type.Literal('pending_approval'), Type.Literal('completed'), Type.Literal('rejected')])), limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })) }, { additionalProperties: false }),
    },
  }, async (req) => ({ requests: await subjects.list({ state: req.query.state, limit: req.query.limit ? Number(req.query.limit) : 100 }) }));

  app.get('/api/v1/subjects/requests/:id', {
    onRequest: privacy,
    schema: { tags: ['pipl'], summary: 'A data-subject request', params: Type.Object({ id: Id }) },
  }, async (req) => {
    const found = await subjects.get(req.params.id);
    if (!found) throw new AppError('not_found', `request ${req.params.id} does not exist`);
    return found;
  });

  app.get('/api/v1/subjects/requests/:id/report', {
    onRequest: privacy,
    schema: {
      tags: ['pipl'],
      summary: 'The access report of a request: the person\'s records (masked) and who saw them in full, when and why (format=md: the Chinese document); audited',
      params: Type.Object({ id: Id }),
      querystring: Type.Object({ format: Type.Optional(Format) }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    const report = await accessReports.read(req.params.id, actorOf(req.principal!), requestContext(req));
    if (req.query.format === 'md') return reply.type('text/markdown; charset=utf-8').send(accessReportMarkdown(report));
    return report;
  });

  app.get('/api/v1/retention/policy', {
    onRequest: privacy,
    schema: { tags: ['pipl'], summary: 'The retention policy in force: days after delivery per party and field, the audit trail\'s own period' },
  }, async () => retention.policy);

  app.post('/api/v1/retention/run', {
    onRequest: privacy,
    preValidation: async (req) => {
      if (req.body === undefined || req.body === null) req.body = {};
    },
    schema: {
      tags: ['pipl'],
      summary: 'Purge the personal data whose retention period ended (dry_run: only count it), in batches; audited per batch',
      body: Type.Object({ dry_run: Type.Optional(Type.Boolean()), batch_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })) }, { additionalProperties: false }),
    },
  }, async (req) => {
    const actor = actorOf(req.principal!);
    const ctx = requestContext(req);
    return retention.run({ dryRun: req.body.dry_run ?? false, batchSize: req.body.batch_size ?? 500, actor: actorName(actor), account: actorAccount(actor), ip: ctx.ip, requestId: ctx.requestId });
  });

  app.get('/api/v1/retention/runs', {
    onRequest: privacy,
    schema: { tags: ['pipl'], summary: 'Retention runs, newest first: when, by whom, what was purged (counts per field)' },
  }, async () => ({ runs: await retention.runs() }));
}
