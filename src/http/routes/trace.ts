/** Leak tracing over HTTP (src/trace/): the protected canary list and its upkeep. */
import { Type } from '@sinclair/typebox';
import type { IdentityService } from '../../identity/identity.js';
import { actorOf } from '../../identity/identity.js';
import { ANALYST_ROLES } from '../../access/roles.js';
import type { Trace } from '../../trace/trace.js';
import { MAX_PLANT } from '../../trace/canaries.js';
import { MAX_EXPORT_ROWS } from '../../trace/exports.js';
import { AppError } from '../../errors.js';
import { ALL_STAFF, authorize, requestContext, type App } from '../server.js';

export interface TraceRouteDeps {
  identity: IdentityService;
  trace: Trace;
}

// A filter export (src/trace/exports.ts): your city or one of its sites, created in [from, to), ≤ 31 days, ≤ 500 rows.
const ExportFilterBody = Type.Object({
  filter: Type.Object({
    site: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    city: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    from: Type.String({ minLength: 1, maxLength: 40, description: 'ISO-8601 instant' }),
    to: Type.String({ minLength: 1, maxLength: 40, description: 'ISO-8601 instant, after from, at most 31 days later' }),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

const PhoneRange = Type.String({ pattern: '^1[3-9][0-9]{1,8}$', description: 'a mobile-number prefix the company controls (3–10 digits): canary phones are drawn from it' });

export function traceRoutes(app: App, deps: TraceRouteDeps): void {
  const { identity, trace } = deps;
  // Security analysts only: not the admin token, not managers (the list is what makes canaries work).
  const analysts = authorize(identity, ANALYST_ROLES);

  app.post('/api/v1/canaries', {
    onRequest: analysts,
    schema: {
      tags: ['trace'],
      summary: 'Plant canary waybills: realistic fake records no real work touches; any access to one raises a critical alert (security analysts; audited)',
      body: Type.Object({ count: Type.Integer({ minimum: 1, maximum: MAX_PLANT }), phone_range: Type.Optional(PhoneRange) }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    const out = await trace.canaries.plant(req.body.count, { phoneRange: req.body.phone_range }, actorOf(req.principal!), requestContext(req));
    return reply.code(201).send(out);
  });

  app.get('/api/v1/canaries', {
    onRequest: analysts,
    schema: {
      tags: ['trace'],
      summary: 'The protected canary list (security analysts; every read audited)',
      querystring: Type.Object({ include_retired: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])), limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$' })) }, { additionalProperties: false }),
    },
  }, async (req) => trace.canaries.list(actorOf(req.principal!), requestContext(req), { includeRetired: req.query.include_retired === 'true', limit: req.query.limit ? Number(req.query.limit) : undefined }));

  app.post('/api/v1/canaries/rotate', {
    onRequest: analysts,
    schema: {
      tags: ['trace'],
      summary: 'Retire the live canaries (still watched) and plant fresh ones (security analysts; audited)',
      body: Type.Object({ count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PLANT })), phone_range: Type.Optional(PhoneRange) }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    const out = await trace.canaries.rotate(req.body.count, { phoneRange: req.body.phone_range }, actorOf(req.principal!), requestContext(req));
    return reply.code(201).send(out);
  });

  app.post('/api/v1/exports', {
    onRequest: authorize(identity, ALL_STAFF),
    schema: {
      tags: ['trace'],
      summary: 'Bulk export of masked waybills of your scope (managers); every export is marked for its recipient and audited (access.export)',
      body: Type.Union([
        Type.Object({ waybills: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: MAX_EXPORT_ROWS }) }, { additionalProperties: false }),
        ExportFilterBody,
      ]),
    },
  }, async (req, reply) => reply.code(201).send(await trace.exports.create(req.principal!, req.body, requestContext(req))));

  app.post('/api/v1/privacy-numbers/route', {
    // The telephony platform: a service token of an account the policy names (privacy_numbers.telephony_accounts).
    onRequest: authorize(identity, ['service']),
    schema: {
      tags: ['trace'],
      summary: 'For the telephony platform: the real number a caller reaches through a virtual number, or a refusal (unknown_number, wrong_caller, expired); audited',
      body: Type.Object({
        virtual_number: Type.String({ pattern: '^1[3-9][0-9]{9}$' }),
        caller: Type.String({ minLength: 1, maxLength: 64, description: 'the account the platform knows the calling staff phone as' }),
      }, { additionalProperties: false }),
    },
  }, async (req) => {
    const p = req.principal!;
    if (p.kind !== 'account' || p.via !== 'service_token' || !trace.privacy?.telephony(p.account.id)) {
      throw new AppError('forbidden', trace.privacy ? 'this service account is not the telephony platform (policy privacy_numbers.telephony_accounts)' : 'privacy numbers are not enabled (policy privacy_numbers)');
    }
    return trace.privacy.route(req.body.virtual_number, req.body.caller, p.account.id, requestContext(req));
  });
}
