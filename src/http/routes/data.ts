import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { PURPOSES, SCAN_OPS, type ActivityEvent } from '../../contracts/events.js';
import type { IdentityService } from '../../identity/identity.js';
import type { AccessService } from '../../access/access.js';
import type { VaultWriter } from '../../vault/vault.js';
import type { Ingest } from '../../events/ingest.js';
import { ALL_STAFF, authorize, requestContext, type App } from '../server.js';

const Waybill = Type.String({ minLength: 1, maxLength: 64 });
const Id = Type.String({ minLength: 1, maxLength: 64 });
const Purpose = Type.Union(PURPOSES.map((p) => Type.Literal(p)));
const Field = Type.String({ minLength: 1, maxLength: 64, description: 'party.field, e.g. "recipient.phone"' });
const PartyIn = { name: Type.String(), phone: Type.String(), address: Type.String() };

export interface DataRouteDeps {
  identity: IdentityService;
  access: AccessService;
  vault: VaultWriter;
  ingest: Ingest;
  clock: { now(): number };
}

export function dataRoutes(app: App, deps: DataRouteDeps): void {
  const { identity, access, vault, ingest } = deps;
  const upstream = authorize(identity, ['service', 'admin']);
  const staff = authorize(identity, ALL_STAFF);
  const eventBase = () => ({ id: `api-${randomUUID()}`, ts: new Date(deps.clock.now()).toISOString() });

  app.post('/api/v1/waybills', {
    onRequest: upstream,
    schema: {
      tags: ['vault'],
      summary: 'Store a waybill\'s sender and recipient data (service)',
      body: Type.Object({
        waybill: Waybill,
        origin_site: Id,
        dest_site: Id,
        sender: Type.Object({ ...PartyIn, id_number: Type.Optional(Type.String()) }, { additionalProperties: false }),
        recipient: Type.Object(PartyIn, { additionalProperties: false }),
      }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    const stored = await vault.ingest(req.body);
    await ingest.accept([{ ...eventBase(), type: 'waybill', waybill: stored.waybill, origin_site: req.body.origin_site, dest_site: req.body.dest_site } as ActivityEvent]);
    return reply.code(201).send(stored);
  });

  app.post('/api/v1/assignments', {
    onRequest: upstream,
    schema: {
      tags: ['work'],
      summary: 'Give a waybill to an account (service)',
      body: Type.Object({ waybill: Waybill, account: Id, task: Type.Union([Type.Literal('pickup'), Type.Literal('delivery')]) }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    await ingest.accept([{ ...eventBase(), type: 'assign', ...req.body } as ActivityEvent]);
    return reply.code(201).send(req.body);
  });

  app.post('/api/v1/tickets', {
    onRequest: upstream,
    schema: {
      tags: ['work'],
      summary: 'Open, reassign or close a customer-service ticket (service)',
      body: Type.Object({ ticket: Id, waybill: Waybill, account: Id, status: Type.Union([Type.Literal('open'), Type.Literal('closed')]) }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    await ingest.accept([{ ...eventBase(), type: 'ticket', ...req.body } as ActivityEvent]);
    return reply.code(201).send(req.body);
  });

  app.post('/api/v1/scans', {
    onRequest: upstream,
    schema: {
      tags: ['work'],
      summary: 'Record a parcel scan; delivered / pickup scans start the assignment grace period (service)',
      body: Type.Object({ waybill: Waybill, op: Type.Union(SCAN_OPS.map((o) => Type.Literal(o))), site: Type.Optional(Id), device: Type.Optional(Id) }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    await ingest.accept([{ ...eventBase(), type: 'scan', ...req.body } as ActivityEvent]);
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
