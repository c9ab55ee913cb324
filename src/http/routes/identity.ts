import { Type } from '@sinclair/typebox';
import { ROLES } from '../../contracts/events.js';
import type { IdentityService, Principal } from '../../identity/identity.js';
import { ALL_STAFF, ANALYSTS_OR_ADMIN, authorize, requestContext, type App } from '../server.js';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:@-]*$' });
const ErrorBody = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String() }) });

export function identityRoutes(app: App, { identity }: { identity: IdentityService }): void {
  const admin = authorize(identity, ['admin']);

  app.post('/api/v1/sites', {
    onRequest: admin,
    schema: {
      tags: ['identity'],
      summary: 'Create a site (admin)',
      body: Type.Object({ code: Id, kind: Type.Union([Type.Literal('outlet'), Type.Literal('sorting'), Type.Literal('cs'), Type.Literal('hq')]), city: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
      response: { 201: Type.Object({ code: Type.String(), kind: Type.String(), city: Type.String() }), 409: ErrorBody },
    },
  }, async (req, reply) => reply.code(201).send(await identity.createSite(req.body, requestContext(req))));

  app.post('/api/v1/accounts', {
    onRequest: admin,
    schema: {
      tags: ['identity'],
      summary: 'Create an account (admin)',
      body: Type.Object({
        id: Id,
        role: Type.Union(ROLES.map((r) => Type.Literal(r))),
        site: Type.Optional(Type.Union([Id, Type.Null()])),
        password: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
      }, { additionalProperties: false }),
    },
  }, async (req, reply) => reply.code(201).send(await identity.createAccount(req.body, requestContext(req))));

  // The body ({reason}) is optional, so it is read by hand rather than by a body schema.
  app.post('/api/v1/accounts/:id/mfa', {
    onRequest: admin,
    schema: { tags: ['identity'], summary: 'Enrol (or replace) the account\'s TOTP second factor; the secret is returned once (admin)', params: Type.Object({ id: Id }) },
  }, async (req, reply) => reply.code(201).send(await identity.enrolMfa(req.params.id, requestContext(req))));

  const statusSchema = { tags: ['identity'], params: Type.Object({ id: Id }) };
  const reasonOf = (body: unknown) => {
    const reason = (body as { reason?: unknown } | undefined)?.reason;
    return typeof reason === 'string' ? reason.slice(0, 500) : null;
  };
  const analystOrAdmin = authorize(identity, ANALYSTS_OR_ADMIN);
  const actorOf = (p: Principal) => (p.kind === 'admin' ? 'admin' : p.account.id);
  app.post('/api/v1/accounts/:id/suspend', { onRequest: analystOrAdmin, schema: { ...statusSchema, summary: 'Suspend an account at once (admin, security_analyst)' } }, async (req) =>
    identity.setStatus(req.params.id, 'suspended', reasonOf(req.body), actorOf(req.principal!), requestContext(req)));
  app.post('/api/v1/accounts/:id/unsuspend', { onRequest: analystOrAdmin, schema: { ...statusSchema, summary: 'Lift a suspension (admin, security_analyst)' } }, async (req) =>
    identity.setStatus(req.params.id, 'active', reasonOf(req.body), actorOf(req.principal!), requestContext(req)));

  app.post('/api/v1/sessions', {
    schema: {
      tags: ['identity'],
      summary: 'Log in with a password, bound to a device',
      security: [],
      body: Type.Object({
        account: Type.String({ minLength: 1, maxLength: 64 }),
        password: Type.String({ minLength: 1, maxLength: 256 }),
        device: Type.String({ minLength: 1, maxLength: 128 }),
        app_hash: Type.Optional(Type.String({ maxLength: 128 })),
        otp: Type.Optional(Type.String({ pattern: '^[0-9]{6}$', description: 'TOTP code, for accounts with a second factor' })),
      }, { additionalProperties: false }),
      response: { 201: Type.Object({ token: Type.String(), expires_at: Type.String(), mfa: Type.Boolean() }) },
    },
  }, async (req, reply) => {
    const s = await identity.login(req.body, requestContext(req));
    return reply.code(201).send({ token: s.token, expires_at: s.expires_at, mfa: s.mfa });
  });

  app.delete('/api/v1/sessions/current', {
    onRequest: authorize(identity, [...ALL_STAFF, 'service']),
    schema: { tags: ['identity'], summary: 'Log out (ends this session)' },
  }, async (req, reply) => {
    await identity.logout(req.principal!, requestContext(req));
    return reply.code(204).send();
  });
}
