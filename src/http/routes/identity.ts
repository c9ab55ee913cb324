/**
 * Identity over HTTP: sites, accounts (list, read, create, change, approve, suspend), MFA and
 * device administration, service tokens, the admin token switch, login and logout. Thin: who
 * may call a route is decided here by role; every rule about the change itself (dual control,
 * self-action, it_admin limits) is the identity service's.
 */
import { Type } from '@sinclair/typebox';
import { ROLES } from '../../contracts/events.js';
import { assertIdentifiers } from '../../contracts/identifiers.js';
import { actorOf, type IdentityService } from '../../identity/identity.js';
import { ADMINISTRATOR_ROLES, ANALYST_ROLES } from '../../access/roles.js';
import { ALL_STAFF, ANALYSTS_OR_ADMIN, authorize, requestContext, type App } from '../server.js';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:@-]*$' });
const DeviceId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));
const ErrorBody = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String() }) });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

const PendingApproval = Type.Union([
  Type.Object({ role: Type.String(), site: Nullable(Type.String()), requested_by: Nullable(Type.String()), requested_at: Nullable(Type.String()) }),
  Type.Null(),
]);
const AccountBody = {
  id: Type.String(),
  role: Type.String(),
  site: Nullable(Type.String()),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('pending')], { description: 'pending: a privileged account not yet approved; it may not log in' }),
  status_reason: Nullable(Type.String()),
  mfa_enrolled: Type.Boolean(),
  pending_approval: PendingApproval,
  created_by: Nullable(Type.String()),
  approved_by: Nullable(Type.String()),
  created_at: Nullable(Type.String()),
};
const Account = Type.Object(AccountBody);
const Device = Type.Object({
  id: Type.String(), label: Type.String(), enrolled_by: Type.String(), enrolled_at: Type.String(), first_seen: Type.String(), last_seen: Type.String(), revoked_at: Nullable(Type.String()),
});

export function identityRoutes(app: App, { identity }: { identity: IdentityService }): void {
  /** The bootstrap token and it_admin: sites, ordinary accounts, MFA enrolments, service tokens. */
  const administrators = authorize(identity, ['admin', ...ADMINISTRATOR_ROLES]);
  const accountReaders = authorize(identity, ['admin', ...ADMINISTRATOR_ROLES, ...ANALYST_ROLES]);
  const analystOrAdmin = authorize(identity, ANALYSTS_OR_ADMIN);
  const analysts = authorize(identity, ANALYST_ROLES);
  const ctx = requestContext;

  app.post('/api/v1/sites', {
    onRequest: administrators,
    schema: {
      tags: ['identity'],
      summary: 'Create a site (admin, it_admin)',
      body: Type.Object({ code: Id, kind: Type.Union([Type.Literal('outlet'), Type.Literal('sorting'), Type.Literal('cs'), Type.Literal('hq')]), city: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
      response: { 201: Type.Object({ code: Type.String(), kind: Type.String(), city: Type.String() }), 409: ErrorBody },
    },
  }, async (req, reply) => reply.code(201).send(await identity.createSite(req.body, actorOf(req.principal!), ctx(req))));

  app.get('/api/v1/accounts', {
    onRequest: accountReaders,
    schema: {
      tags: ['identity'],
      summary: 'Accounts by id, with filters and cursor pagination (admin, it_admin, security_analyst); accounts hold no PII',
      querystring: Type.Object({
        role: Type.Optional(RoleSchema),
        site: Type.Optional(Id),
        status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('pending')], { description: 'pending: waiting for an approval (a new privileged account or a promotion)' })),
        q: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'account id prefix' })),
        limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: '1–500, default 100' })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'next_cursor of the previous page' })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ accounts: Type.Array(Account), next_cursor: Nullable(Type.String()) }) },
    },
  }, async (req) => identity.listAccounts({ ...req.query, limit: Math.min(500, Number(req.query.limit ?? 100)) }));

  app.get('/api/v1/accounts/:id', {
    onRequest: accountReaders,
    schema: {
      tags: ['identity'],
      summary: 'One account, with its pending approval and the devices it used (admin, it_admin, security_analyst)',
      params: Type.Object({ id: Id }),
      response: { 200: Type.Object({ ...AccountBody, devices: Type.Array(Device) }), 404: ErrorBody },
    },
  }, async (req) => identity.getAccount(req.params.id));

  app.post('/api/v1/accounts', {
    onRequest: administrators,
    schema: {
      tags: ['identity'],
      summary: 'Create an account (admin, it_admin). A privileged role (security_analyst, manager) is created pending until another analyst approves it; the admin token alone may create the first analyst',
      body: Type.Object({
        id: Id,
        role: RoleSchema,
        site: Type.Optional(Type.Union([Id, Type.Null()])),
        password: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
      }, { additionalProperties: false }),
      response: { 201: Account, 409: ErrorBody },
    },
  }, async (req, reply) => reply.code(201).send(await identity.createAccount(req.body, actorOf(req.principal!), ctx(req))));

  app.patch('/api/v1/accounts/:id', {
    onRequest: accountReaders,
    schema: {
      tags: ['identity'],
      summary: 'Change an account\'s role or site (admin, it_admin, security_analyst). To a privileged role: pending until another analyst approves; a demotion applies at once. Changing a privileged account takes an analyst',
      params: Type.Object({ id: Id }),
      body: Type.Object({ role: Type.Optional(RoleSchema), site: Type.Optional(Type.Union([Id, Type.Null()])) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: Account },
    },
  }, async (req) => identity.updateAccount(req.params.id, req.body, actorOf(req.principal!), ctx(req)));

  app.post('/api/v1/accounts/:id/approve', {
    onRequest: analysts,
    schema: {
      tags: ['identity'],
      summary: 'Approve a pending account or role/site change (a security analyst other than the account and whoever asked). The body names the role and site you were shown (the account\'s pending_approval): a request changed since is a 409, nothing approved. Approving a privileged role of an account an it_admin (or any account) set up answers a one-time initial_password, shown once',
      params: Type.Object({ id: Id }),
      body: Type.Object({ role: RoleSchema, site: Type.Union([Id, Type.Null()]) }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          ...AccountBody,
          initial_password: Type.Optional(Type.String({
            description: 'Only when a privileged role is approved for an account whose password an account (not the admin token) chose or whose change an account asked for: that password is discarded and this one-time initial password replaces it, returned here once and never again (not stored, not audited). Hand it to the account\'s owner out of band; the account\'s sessions were ended',
          })),
        }),
      },
    },
  }, async (req) => identity.approveAccount(req.params.id, req.body, actorOf(req.principal!), ctx(req)));

  app.post('/api/v1/accounts/:id/mfa', {
    onRequest: administrators,
    schema: { tags: ['identity'], summary: 'Enrol (or replace) the account\'s TOTP second factor; the secret is returned once (admin, it_admin — not for a privileged account)', params: Type.Object({ id: Id }) },
  }, async (req, reply) => reply.code(201).send(await identity.enrolMfa(req.params.id, actorOf(req.principal!), ctx(req))));

  app.delete('/api/v1/accounts/:id/devices/:device', {
    onRequest: accountReaders,
    schema: {
      tags: ['identity'],
      summary: 'Revoke a device the account used: its credential is refused and every session on it ends (admin, it_admin, security_analyst)',
      params: Type.Object({ id: Id, device: DeviceId }),
      response: { 200: Type.Object({ account: Type.String(), device: Type.String(), revoked_at: Type.String(), revoked_by: Type.String() }) },
    },
  }, async (req) => identity.revokeDevice(req.params.id, req.params.device, actorOf(req.principal!), ctx(req)));

  // The body ({reason}) is optional, so it is read by hand rather than by a body schema.
  const statusSchema = { tags: ['identity'], params: Type.Object({ id: Id }) };
  const reasonOf = (body: unknown) => {
    const reason = (body as { reason?: unknown } | undefined)?.reason;
    return typeof reason === 'string' ? reason.slice(0, 500) : null;
  };
  app.post('/api/v1/accounts/:id/suspend', { onRequest: analystOrAdmin, schema: { ...statusSchema, summary: 'Suspend an account at once, ending all its sessions (admin, security_analyst). The reason is for the security team (the account and the trail); its holder is told only that it is suspended' } }, async (req) =>
    identity.setStatus(req.params.id, 'suspended', reasonOf(req.body), actorOf(req.principal!), ctx(req)));
  app.post('/api/v1/accounts/:id/unsuspend', { onRequest: analystOrAdmin, schema: { ...statusSchema, summary: 'Lift a suspension; sessions it ended stay ended (admin, security_analyst). A suspension a suspend response made is lifted with the response (DELETE /api/v1/accounts/{id}/response): 409 while one stands' } }, async (req) =>
    identity.setStatus(req.params.id, 'active', reasonOf(req.body), actorOf(req.principal!), ctx(req)));

  app.get('/api/v1/admin-token', {
    onRequest: analystOrAdmin,
    schema: {
      tags: ['identity'],
      summary: 'Whether the bootstrap admin token is configured and whether it was disabled (admin, security_analyst)',
      response: { 200: Type.Object({ configured: Type.Boolean(), disabled: Type.Boolean(), disabled_at: Nullable(Type.String()), disabled_by: Nullable(Type.String()) }) },
    },
  }, async () => identity.adminTokenState());

  app.post('/api/v1/admin-token/disable', {
    onRequest: analystOrAdmin,
    schema: {
      tags: ['identity'],
      summary: 'Disable the bootstrap admin token for good (the token itself, or a security analyst); only a different WARDEN_ADMIN_TOKEN brings one back',
      response: { 200: Type.Object({ disabled: Type.Boolean(), disabled_at: Type.String(), disabled_by: Type.String() }), 409: ErrorBody },
    },
  }, async (req) => identity.disableAdminToken(actorOf(req.principal!), ctx(req)));

  app.post('/api/v1/sessions', {
    schema: {
      tags: ['identity'],
      summary: 'Log in with a password (and the one-time code when the account has a second factor), on an enrolled device or enrolling a new one',
      security: [],
      body: Type.Object({
        account: Type.String({ minLength: 1, maxLength: 64 }),
        password: Type.String({ minLength: 1, maxLength: 256 }),
        device: Type.String({ minLength: 1, maxLength: 128, description: 'a label for the device (e.g. "pda-7"); the server identifies devices by their credential, not by this name' }),
        device_credential: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'the credential returned when this device was enrolled; without it a new device is enrolled (a few per account per day)' })),
        app_hash: Type.Optional(Type.String({ maxLength: 128 })),
        otp: Type.Optional(Type.String({ pattern: '^[0-9]{6}$', description: 'TOTP code; required for accounts with a second factor, each code accepted once' })),
      }, { additionalProperties: false }),
      response: {
        201: Type.Object({
          token: Type.String(),
          expires_at: Type.String(),
          mfa: Type.Boolean(),
          device_id: Type.String({ description: 'the enrolled device this session is bound to' }),
          device_credential: Type.Optional(Type.String({ description: 'only when this login enrolled the device: shown once; present it on every later login from this device' })),
        }),
      },
    },
  }, async (req, reply) => {
    // The build hash reaches the trail and the login event: an identifier, as on POST /api/v1/events (attack review 10).
    assertIdentifiers([{ field: 'app_hash', value: req.body.app_hash, max: 128 }]);
    const s = await identity.login(req.body, ctx(req));
    return reply.code(201).send({ token: s.token, expires_at: s.expires_at, mfa: s.mfa, device_id: s.device_id, ...(s.device_credential ? { device_credential: s.device_credential } : {}) });
  });

  app.delete('/api/v1/sessions/current', {
    onRequest: authorize(identity, [...ALL_STAFF, 'service']),
    schema: { tags: ['identity'], summary: 'Log out (ends this session)' },
  }, async (req, reply) => {
    await identity.logout(req.principal!, ctx(req));
    return reply.code(204).send();
  });
}
