import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { PURPOSES, SCAN_OPS, type ActivityEvent } from '../../contracts/events.js';
import type { IdentityService } from '../../identity/identity.js';
import type { AccessService } from '../../access/access.js';
import type { ProducerVault } from '../../trace/canaries.js';
import type { Ingest } from '../../events/ingest.js';
import { producerFor } from '../../events/producer.js';
import type { ServiceTokens } from '../../identity/service-tokens.js';
import type { FastifyRequest } from 'fastify';
import { ALL_STAFF, authorize, requestContext, type App } from '../server.js';
import { validateWaybillInput } from '../../vault/validate.js';
import { AppError } from '../../errors.js';
import { assertIdentifiers, TICKET_MAX, WAYBILL_MAX } from '../../contracts/identifiers.js';

const Waybill = Type.String({ minLength: 1, maxLength: 64 });
const Id = Type.String({ minLength: 1, maxLength: 64 });
const Purpose = Type.Union(PURPOSES.map((p) => Type.Literal(p)));
const Field = Type.String({ minLength: 1, maxLength: 64, description: 'party.field, e.g. "recipient.phone"' });
const PartyIn = { name: Type.String(), phone: Type.String(), address: Type.String() };

export interface DataRouteDeps {
  identity: IdentityService;
  access: AccessService;
  vault: ProducerVault;
  ingest: Ingest;
  tokens: Pick<ServiceTokens, 'registration'>;
  clock: { now(): number };
  /** The policy's `allow_15_digit_id`, as the vault writer takes it: the route judges the body as the vault will. */
  allow15DigitId?: boolean;
}

/** The vault's own validation, with its error (src/vault/vault.ts `ingest`): the normalised record, or 400 validation_failed. */
function validRecord(body: unknown, opts: { allow15: boolean; now: Date }) {
  const result = validateWaybillInput(body, opts);
  if (!result.ok) {
    throw new AppError('validation_failed', `waybill is invalid: ${result.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, { fields: result.errors });
  }
  return result.value;
}

export function dataRoutes(app: App, deps: DataRouteDeps): void {
  const { identity, access, vault, ingest } = deps;
  const upstream = authorize(identity, ['service', 'admin']);
  const staff = authorize(identity, ALL_STAFF);
  const eventBase = () => ({ id: `api-${randomUUID()}`, ts: new Date(deps.clock.now()).toISOString() });
  // Upstream writes are events of their producer: the same registration governs them as POST /api/v1/events.
  const producer = (req: FastifyRequest) => producerFor(req.principal!, deps.tokens);
  // An upstream event's waybill and ticket are identifiers, as on POST /api/v1/events (contract validation).
  const ids = (b: { waybill: string; ticket?: string }) =>
    assertIdentifiers([{ field: 'waybill', value: b.waybill, max: WAYBILL_MAX }, { field: 'ticket', value: b.ticket, max: TICKET_MAX }]);

  app.post('/api/v1/waybills', {
    onRequest: upstream,
    schema: {
      tags: ['vault'],
      summary: 'Store a waybill\'s sender and recipient data (service token registered for waybill events, for its origin site)',
      body: Type.Object({
        waybill: Waybill,
        origin_site: Id,
        dest_site: Id,
        sender: Type.Object({ ...PartyIn, id_number: Type.Optional(Type.String()) }, { additionalProperties: false }),
        recipient: Type.Object(PartyIn, { additionalProperties: false }),
      }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    ids(req.body);
    const from = await producer(req);
    // The whole body is judged before any number is looked up (attack review 11, F2: an invalid body
    // answered 403 for a held parcel and 400 for a canary or an unknown number, unaudited).
    const record = validRecord(req.body, { allow15: deps.allow15DigitId ?? false, now: new Date(deps.clock.now()) });
    const event = { ...eventBase(), type: 'waybill', waybill: record.waybill, origin_site: record.origin_site, dest_site: record.dest_site } as ActivityEvent;
    // Another site's parcel restated: answered as an unknown number's record would be, not stored (audited, alerted).
    if ((await ingest.admitRecord(from, event, requestContext(req))) === 'withheld') {
      return reply.code(201).send({ waybill: record.waybill, created_at: new Date(deps.clock.now()).toISOString() });
    }
    const stored = await vault.ingest(req.body, { ...requestContext(req), actor: from.actor, account: from.account });
    await ingest.submit(from, { ...event, waybill: stored.waybill } as ActivityEvent, requestContext(req));
    return reply.code(201).send(stored);
  });

  app.post('/api/v1/assignments', {
    onRequest: upstream,
    schema: {
      tags: ['work'],
      summary: 'Give a waybill to an account (service token registered for assign events; audited as work.assigned)',
      body: Type.Object({ waybill: Waybill, account: Id, task: Type.Union([Type.Literal('pickup'), Type.Literal('delivery')]) }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    ids(req.body);
    await ingest.submit(await producer(req), { ...eventBase(), type: 'assign', ...req.body } as ActivityEvent, requestContext(req));
    return reply.code(201).send(req.body);
  });

  app.post('/api/v1/tickets', {
    onRequest: upstream,
    schema: {
      tags: ['work'],
      summary: 'Open, reassign or close a customer-service ticket (service token registered for ticket events; audited as work.ticket)',
      body: Type.Object({ ticket: Id, waybill: Waybill, account: Id, status: Type.Union([Type.Literal('open'), Type.Literal('closed')]) }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    ids(req.body);
    await ingest.submit(await producer(req), { ...eventBase(), type: 'ticket', ...req.body } as ActivityEvent, requestContext(req));
    return reply.code(201).send(req.body);
  });

  app.post('/api/v1/scans', {
    onRequest: upstream,
    schema: {
      tags: ['work'],
      summary: 'Record a parcel scan; delivered / pickup scans start the assignment grace period (service token registered for scan events)',
      body: Type.Object({ waybill: Waybill, op: Type.Union(SCAN_OPS.map((o) => Type.Literal(o))), site: Type.Optional(Id), device: Type.Optional(Id) }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    ids(req.body);
    await ingest.submit(await producer(req), { ...eventBase(), type: 'scan', ...req.body } as ActivityEvent, requestContext(req));
    return reply.code(201).send(req.body);
  });

  app.get('/api/v1/waybills/:waybill', {
    onRequest: staff,
    schema: {
      tags: ['vault'],
      summary: 'The masked waybill (privacy waybill); profile=label gives the printed-label masking',
      params: Type.Object({ waybill: Waybill }),
      querystring: Type.Object({ profile: Type.Optional(Type.Union([Type.Literal('screen'), Type.Literal('label')])) }, { additionalProperties: false }),
    },
  }, async (req) => access.view(req.principal!, req.params.waybill, req.query.profile ?? 'screen', requestContext(req)));

  const CaseId = Type.String({ minLength: 1, maxLength: 64, description: 'an open investigation case (POST /api/v1/cases) that covers the waybill' });
  const revealBody = {
    fields: Type.Array(Field, { minItems: 1, maxItems: 8 }),
    purpose: Purpose,
    ticket: Type.Optional(Id),
    case: Type.Optional(CaseId),
  };
  app.post('/api/v1/waybills/:waybill/reveal', {
    onRequest: staff,
    schema: {
      tags: ['vault'],
      summary: 'Reveal full values for a purpose backed by real work; audited before the data leaves',
      params: Type.Object({ waybill: Waybill }),
      body: Type.Object(revealBody, { additionalProperties: false }),
    },
  }, async (req) => access.reveal(req.principal!, req.params.waybill, req.body, requestContext(req)));

  app.post('/api/v1/reveals', {
    onRequest: staff,
    schema: {
      tags: ['vault'],
      summary: 'Batch reveal: every item is decided, counted (in records) against the quota and any throttle, and audited',
      body: Type.Object({
        items: Type.Array(Type.Object({ waybill: Waybill, fields: Type.Optional(Type.Array(Field, { minItems: 1, maxItems: 8 })) }, { additionalProperties: false }), { minItems: 1, maxItems: 500 }),
        fields: Type.Array(Field, { minItems: 1, maxItems: 8 }),
        purpose: Purpose,
        ticket: Type.Optional(Id),
        case: Type.Optional(CaseId),
      }, { additionalProperties: false }),
    },
  }, async (req) => access.revealBatch(req.principal!, req.body, requestContext(req)));

  app.get('/api/v1/search', {
    onRequest: staff,
    schema: {
      tags: ['vault'],
      summary: 'Masked waybills matching a full phone number, within the caller\'s scope; counted against the search quota',
      querystring: Type.Object({ phone: Type.String({ minLength: 5, maxLength: 32 }) }, { additionalProperties: false }),
    },
  }, async (req) => access.search(req.principal!, req.query.phone, requestContext(req)));

  app.post('/api/v1/search', {
    onRequest: staff,
    schema: {
      tags: ['vault'],
      summary: 'Same as GET /api/v1/search, keeping the phone number out of URLs and proxy logs',
      body: Type.Object({ phone: Type.String({ minLength: 5, maxLength: 32 }) }, { additionalProperties: false }),
    },
  }, async (req) => access.search(req.principal!, req.body.phone, requestContext(req)));
}
