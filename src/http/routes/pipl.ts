/**
 * The PIPL module over HTTP (src/pipl/): data-subject requests, their access reports, retention
 * runs, breach and compliance reports. Only the privacy roles (src/access/roles.ts PRIVACY_ROLES)
 * and not the admin token: a deletion takes two people with accounts, and reports name who asked.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { IdentityService } from '../../identity/identity.js';
import { actorOf } from '../../identity/identity.js';
import { PRIVACY_ROLES } from '../../access/roles.js';
import { AppError } from '../../errors.js';
import { REJECT_REASONS, type Subjects } from '../../pipl/subjects.js';
import { accessReportMarkdown, type AccessReports } from '../../pipl/access-report.js';
import type { Retention } from '../../pipl/retention.js';
import { breachReportDoc, type BreachReports, type BreachSource } from '../../pipl/breach.js';
import { toMarkdown, type Doc } from '../../pipl/document.js';
import { complianceReportDoc, type Compliance } from '../../pipl/compliance.js';
import { toDocx } from '../../pipl/docx.js';
import { toPdf } from '../../pipl/pdf.js';
import { actorAccount, actorName } from '../../identity/types.js';
import { authorize, requestContext, type App } from '../server.js';

export interface PiplRouteDeps {
  identity: IdentityService;
  subjects: Subjects;
  accessReports: AccessReports;
  retention: Retention;
  breach: BreachReports;
  compliance: Compliance;
}

const Id = Type.String({ minLength: 1, maxLength: 200 });
const Format = Type.Union([Type.Literal('json'), Type.Literal('md')]);
const DocFormat = Type.Union([Type.Literal('json'), Type.Literal('md'), Type.Literal('docx'), Type.Literal('pdf')]);

/** Sends a drafted document in the asked format (json: the data itself). */
export async function sendDocument(reply: FastifyReply, format: string, data: unknown, doc: Doc, name: string) {
  if (format === 'md') return reply.type('text/markdown; charset=utf-8').send(toMarkdown(doc));
  if (format === 'docx') {
    reply.header('content-disposition', `attachment; filename="${name}.docx"`);
    return reply.type('application/vnd.openxmlformats-officedocument.wordprocessingml.document').send(await toDocx(doc));
  }
  if (format === 'pdf') {
    reply.header('content-disposition', `attachment; filename="${name}.pdf"`);
    return reply.type('application/pdf').send(await toPdf(doc));
  }
  return reply.send(data);
}

export function piplRoutes(app: App, deps: PiplRouteDeps): void {
  const { identity, subjects, accessReports, retention, breach, compliance } = deps;
  const privacy = authorize(identity, PRIVACY_ROLES);

  app.post('/api/v1/subjects/requests', {
    onRequest: privacy,
    schema: {
      tags: ['pipl'],
      summary: 'File a data-subject request (access, correction, deletion) for a person named by phone or ID number, after checking their identity; every request waits for a second person and counts against the filer\'s search quota (429 rate_limited)',
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
    preValidation: async (req) => {
      if (req.body === undefined || req.body === null) req.body = {};
    },
    schema: {
      tags: ['pipl'],
      summary: 'Approve a pending request (someone other than who filed it), naming the review.version read from GET …/:id: an access report is released, a correction applied, a deletion carried out (the person\'s data keys destroyed); changed since → 409',
      params: Type.Object({ id: Id }),
      body: Type.Object({ reviewed: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false }),
    },
  }, async (req) => subjects.approve(req.params.id, req.body.reviewed, actorOf(req.principal!), requestContext(req)));

  app.post('/api/v1/subjects/requests/:id/reject', {
    onRequest: privacy,
    schema: {
      tags: ['pipl'],
      summary: 'Refuse a pending request (someone other than who filed it), with a reason code; the note stays on the request, never in the audit trail',
      params: Type.Object({ id: Id }),
      body: Type.Object({
        reason: Type.Union(REJECT_REASONS.map((r) => Type.Literal(r))),
        note: Type.Optional(Type.String({ maxLength: 400 })),
      }, { additionalProperties: false }),
    },
  }, async (req) => subjects.reject(req.params.id, req.body, actorOf(req.principal!), requestContext(req)));

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
    schema: { tags: ['pipl'], summary: 'A data-subject request; to an analyst who may approve it, a pending one comes with its review (the person masked, record count, a correction\'s new value, the version to approve) — audited pipl.request_viewed', params: Type.Object({ id: Id }) },
  }, async (req) => subjects.view(req.params.id, actorOf(req.principal!), requestContext(req)));

  app.get('/api/v1/subjects/requests/:id/report', {
    onRequest: privacy,
    schema: {
      tags: ['pipl'],
      summary: 'The access report of an approved access request: the person\'s records (masked) and who saw them in full, when and why (format=md: the Chinese document); before approval 403 approval_pending; audited',
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

  app.post('/api/v1/reports/breach', {
    onRequest: privacy,
    schema: {
      tags: ['pipl'],
      summary: 'Draft the breach report (PIPL Art. 57) from an alert, a case, or accounts and a window: records, people, fields, accounts, devices, actions taken, people to notify, notices per channel — in Chinese (format: json, md, docx, pdf); audited',
      body: Type.Object({
        alert: Type.Optional(Id),
        case: Type.Optional(Id),
        accounts: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 200 })),
        from: Type.Optional(Type.String({ format: 'date-time' })),
        to: Type.Optional(Type.String({ format: 'date-time' })),
        format: Type.Optional(DocFormat),
      }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    const b = req.body;
    const given = [b.alert !== undefined, b.case !== undefined, b.accounts !== undefined].filter(Boolean).length;
    if (given !== 1) throw new AppError('validation_failed', 'name exactly one source: alert, case, or accounts (with from and to)');
    let source: BreachSource;
    if (b.alert !== undefined) source = { kind: 'alert', alert: b.alert };
    else if (b.case !== undefined) source = { kind: 'case', case: b.case };
    else {
      if (!b.from || !b.to) throw new AppError('validation_failed', 'accounts need a window: from and to (ISO times)');
      source = { kind: 'accounts', accounts: b.accounts!, from: b.from, to: b.to };
    }
    const report = await breach.read(source, actorOf(req.principal!), requestContext(req));
    return sendDocument(reply, b.format ?? 'json', report, breachReportDoc(report), 'breach-report');
  });

  app.get('/api/v1/reports/compliance', {
    onRequest: privacy,
    schema: {
      tags: ['pipl'],
      summary: 'The compliance audit report (PIPL Art. 54) for a period: policy and its changes, reveal volumes by role and basis, unexplained reveals, refusals and quota refusals, alerts and outcomes, key rotations, requests, retention, audit chain and witnesses, impact assessments (format: json, md, docx, pdf); audited',
      querystring: Type.Object({ from: Type.String({ format: 'date-time' }), to: Type.String({ format: 'date-time' }), format: Type.Optional(DocFormat) }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    const report = await compliance.read(new Date(req.query.from), new Date(req.query.to), actorOf(req.principal!), requestContext(req));
    return sendDocument(reply, req.query.format ?? 'json', report, complianceReportDoc(report), 'compliance-report');
  });

  app.post('/api/v1/pia', {
    onRequest: privacy,
    schema: {
      tags: ['pipl'],
      summary: 'Record a personal-information impact assessment (Art. 55–56); kept at least 3 years',
      body: Type.Object({
        title: Type.String({ minLength: 1, maxLength: 200 }),
        scope: Type.String({ minLength: 1, maxLength: 4000 }),
        risk: Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')]),
        measures: Type.String({ minLength: 1, maxLength: 8000 }),
      }, { additionalProperties: false }),
    },
  }, async (req, reply) => reply.code(201).send(await compliance.recordPia(req.body, actorOf(req.principal!), requestContext(req))));

  app.post('/api/v1/pia/:id/review', {
    onRequest: privacy,
    schema: { tags: ['pipl'], summary: 'Review an impact assessment (someone other than its author)', params: Type.Object({ id: Id }) },
  }, async (req) => compliance.reviewPia(req.params.id, actorOf(req.principal!), requestContext(req)));

  app.get('/api/v1/pia', {
    onRequest: privacy,
    schema: { tags: ['pipl'], summary: 'Impact assessments, newest first' },
  }, async () => ({ pia: await compliance.listPia() }));
}
