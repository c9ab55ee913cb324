/**
 * Investigation cases over HTTP (the roles that work cases, src/access/roles.ts; not the admin
 * token, which has no account to be one of the two people a case takes). Reveal bodies name a
 * case with `case`; the reveal path checks its standing and scope.
 */
import { Type } from '@sinclair/typebox';
import type { IdentityService } from '../../identity/identity.js';
import type { Cases } from '../../cases/cases.js';
import { AppError } from '../../errors.js';
import { decodeCursor, encodeCursor } from '../params.js';
import { actorOf } from '../../identity/identity.js';
import { CASE_ROLES } from '../../access/roles.js';
import { authorize, requestContext, type App } from '../server.js';

const Id = Type.String({ minLength: 1, maxLength: 200 });
const Waybill = Type.String({ minLength: 1, maxLength: 64 });
const Account = Type.String({ minLength: 1, maxLength: 64 });
const Status = Type.Union([Type.Literal('pending'), Type.Literal('open'), Type.Literal('closed')]);

export function caseRoutes(app: App, { identity, cases }: { identity: IdentityService; cases: Cases }): void {
  const analysts = authorize(identity, CASE_ROLES);

  app.post('/api/v1/cases', {
    onRequest: analysts,
    schema: {
      tags: ['cases'],
      summary: 'Open a case naming the waybills and/or accounts it covers; pending until a different analyst approves it',
      body: Type.Object({
        title: Type.String({ minLength: 1, maxLength: 200 }),
        reason: Type.String({ minLength: 3, maxLength: 2000 }),
        waybills: Type.Optional(Type.Array(Waybill, { maxItems: 500 })),
        accounts: Type.Optional(Type.Array(Account, { maxItems: 50 })),
      }, { additionalProperties: false }),
    },
  }, async (req, reply) => reply.code(201).send(await cases.open(req.body, actorOf(req.principal!), requestContext(req))));

  app.post('/api/v1/cases/:id/approve', {
    onRequest: analysts,
    schema: { tags: ['cases'], summary: 'Approve a pending case (an analyst other than the one who opened it): it becomes open', params: Type.Object({ id: Id }) },
  }, async (req) => cases.approve(req.params.id, actorOf(req.principal!), requestContext(req)));

  app.post('/api/v1/cases/:id/close', {
    onRequest: analysts,
    // The note is optional, and so is the body that carries it.
    preValidation: async (req) => {
      if (req.body === undefined || req.body === null) req.body = {};
    },
    schema: {
      tags: ['cases'],
      summary: 'Close a case: it backs no further reveals. An open case is closed by its opener or its approver (403 not_case_party for anyone else); a pending one also by another analyst declining it; never by an account it names (403 self_action)',
      params: Type.Object({ id: Id }),
      body: Type.Object({ note: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false }),
    },
  }, async (req) => cases.close(req.params.id, req.body.note, actorOf(req.principal!), requestContext(req)));

  app.get('/api/v1/cases', {
    onRequest: analysts,
    schema: {
      tags: ['cases'],
      summary: 'Cases, newest first (not those naming the reader); pages: limit (≤ 500, default 100) and cursor=<next_cursor>, null on the last page',
      querystring: Type.Object({
        status: Type.Optional(Status),
        limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 400, description: 'next_cursor of the previous page' })),
      }, { additionalProperties: false }),
    },
  }, async (req) => {
    const limit = req.query.limit ? Math.min(500, Number(req.query.limit)) : 100;
    const after = req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor, 'cursor');
    // One more than the page: whether there is a next page is known, not guessed.
    const rows = await cases.list({ status: req.query.status, limit: limit + 1, after }, actorOf(req.principal!));
    const page = rows.slice(0, limit);
    const last = rows.length > limit ? page[page.length - 1] : undefined;
    return { cases: page, next_cursor: last ? encodeCursor({ ts: last.created_at, id: last.id }) : null };
  });

  app.get('/api/v1/cases/:id', {
    onRequest: analysts,
    schema: { tags: ['cases'], summary: 'A case, with the reveals made under it (from the audit trail)', params: Type.Object({ id: Id }) },
  }, async (req) => {
    const found = await cases.read(req.params.id, actorOf(req.principal!), requestContext(req));
    if (!found) throw new AppError('not_found', `case ${req.params.id} does not exist`);
    return found;
  });
}
