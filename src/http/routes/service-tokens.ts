/**
 * Service tokens of upstream systems, each registered for what it may send (admin token and
 * it_admin); the tokens waiting for a second person, for the analysts who approve them.
 */
import { Type } from '@sinclair/typebox';
import { EVENT_TYPES } from '../../contracts/events.js';
import { actorName, actorOf, type IdentityService } from '../../identity/identity.js';
import { ADMINISTRATOR_ROLES, ANALYST_ROLES } from '../../access/roles.js';
import type { RegistrationInput, ServiceTokens } from '../../identity/service-tokens.js';
import { authorize, requestContext, type App } from '../server.js';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:@-]*$' });
const Code = Type.String({ minLength: 1, maxLength: 200 });

const Registration = Type.Object({
  events: Type.Array(Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))), { minItems: 1, maxItems: EVENT_TYPES.length, description: 'event types it may send; default waybill, assign, ticket, scan' }),
  sites: Type.Union([Type.Array(Code, { minItems: 1, maxItems: 10_000 }), Type.Null()], { description: 'sites it speaks for; null: any' }),
  accounts_prefix: Type.Union([Type.String(), Type.Null()]),
  accounts: Type.Union([Type.Array(Type.String()), Type.Null()]),
  backfill: Type.Boolean(),
});

const RegistrationBody = Type.Object({
  events: Type.Optional(Type.Array(Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))), { minItems: 1, maxItems: EVENT_TYPES.length, description: 'event types it may send (default: waybill, assign, ticket, scan); login/logout/access need accounts_prefix or accounts' })),
  sites: Type.Optional(Type.Array(Code, { minItems: 1, maxItems: 10_000, description: 'sites it speaks for (default: any); refused (400) for the telephony platform\'s token, which routes privacy numbers of every site' })),
  accounts_prefix: Type.Optional(Type.String({ minLength: 2, maxLength: 64, description: 'login/logout/access only about accounts starting with this — a legacy system\'s own accounts, never Warden\'s' })),
  accounts: Type.Optional(Type.Array(Code, { minItems: 1, maxItems: 1000, description: 'login/logout/access only about these accounts (none of them Warden\'s)' })),
  backfill: Type.Optional(Type.Boolean({ description: 'may import history through POST /api/v1/events?mode=backfill (audited); default false' })),
}, { additionalProperties: false });

const Approval = Type.Union([Type.Literal('pending'), Type.Literal('approved')], { description: 'a token that may send assign or ticket events, or any token of the telephony platform (policy privacy_numbers.telephony_accounts), issued by a person, is refused (403 approval_pending) until a second person approves it' });
const NeedsApprovalBecause = Type.Array(Type.Union([Type.Literal('telephony'), Type.Literal('grants_work')]), {
  description: 'why a token issued by a person waits for a second person: telephony — its account is the telephony platform\'s (policy privacy_numbers.telephony_accounts), so it turns virtual numbers into real phone numbers, of every site; grants_work — it may send assign or ticket events, which back reveals. Empty: it needs no second person',
});
/** The pending list's length at most (the answer says when more wait). */
const MAX_PENDING = 1000;
const TokenInfo = Type.Object({ id: Type.String(), account: Type.String(), created_at: Type.String(), revoked_at: Type.Union([Type.String(), Type.Null()]), registration: Registration, approval: Approval, needs_approval_because: NeedsApprovalBecause, requested_by: Type.Union([Type.String(), Type.Null()]), approved_by: Type.Union([Type.String(), Type.Null()]) });

export function serviceTokenRoutes(app: App, deps: { identity: IdentityService; tokens: ServiceTokens }): void {
  const admin = authorize(deps.identity, ['admin', ...ADMINISTRATOR_ROLES]);

  // The body is optional: no body (or null) registers the upstream default.
  app.post('/api/v1/accounts/:id/tokens', {
    onRequest: admin,
    schema: {
      tags: ['identity'],
      summary: 'Issue a service token for a service account, registered for the event types, sites and (for login/logout/access) non-Warden accounts it may send; the token is shown once (admin, it_admin)',
      params: Type.Object({ id: Id }),
      body: Type.Union([RegistrationBody, Type.Null()]),
      response: { 201: Type.Object({ id: Type.String(), token: Type.String(), account: Type.String(), created_at: Type.String(), registration: Registration, approval: Approval, needs_approval_because: NeedsApprovalBecause }) },
    },
  }, async (req, reply) => reply.code(201).send(await deps.tokens.create(req.params.id, (req.body ?? {}) as RegistrationInput, actorOf(req.principal!), requestContext(req))));

  app.post('/api/v1/accounts/:id/tokens/:token/approve', {
    onRequest: authorize(deps.identity, [...ADMINISTRATOR_ROLES, 'security_analyst']),
    schema: {
      tags: ['identity'],
      summary: 'Approve a pending token that grants work (assign, ticket) or routes privacy numbers (the telephony platform\'s): a second person, never who asked for it nor an account linked to it by creation (it_admin, security_analyst)',
      params: Type.Object({ id: Id, token: Type.String({ minLength: 1, maxLength: 64 }) }),
      response: { 200: TokenInfo },
    },
  }, async (req) => deps.tokens.approve(req.params.id, req.params.token, actorOf(req.principal!), requestContext(req)));

  app.get('/api/v1/service-tokens/pending', {
    onRequest: authorize(deps.identity, ANALYST_ROLES),
    schema: {
      tags: ['identity'],
      summary: 'Live tokens waiting for a second person\'s approval, across every service account, never the secrets (security_analyst); oldest first, truncated past 1,000',
      response: { 200: Type.Object({ tokens: Type.Array(TokenInfo), truncated: Type.Boolean() }) },
    },
  }, async () => deps.tokens.listPending(MAX_PENDING));

  app.get('/api/v1/accounts/:id/tokens', {
    onRequest: admin,
    schema: { tags: ['identity'], summary: 'A service account\'s tokens and their registrations, never the secrets (admin, it_admin)', params: Type.Object({ id: Id }), response: { 200: Type.Object({ tokens: Type.Array(TokenInfo) }) } },
  }, async (req) => ({ tokens: await deps.tokens.list(req.params.id) }));

  app.delete('/api/v1/accounts/:id/tokens/:token', {
    onRequest: admin,
    schema: { tags: ['identity'], summary: 'Revoke a service token (audited); refused from its next request (admin, it_admin)', params: Type.Object({ id: Id, token: Type.String({ minLength: 1, maxLength: 64 }) }) },
  }, async (req) => deps.tokens.revoke(req.params.id, req.params.token, actorName(actorOf(req.principal!)), requestContext(req)));
}
