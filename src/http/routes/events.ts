/**
 * POST /api/v1/events: contract activity events as NDJSON, from registered producers.
 *
 * The NDJSON/text body parser lives in this encapsulated plugin only, so no other route accepts
 * text (a 415 there). The body is handed to the ingest as the raw request stream and read line
 * by line (bounded by WARDEN_INGEST_LIMIT), never buffered into one string.
 */
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { IdentityService } from '../../identity/identity.js';
import type { ServiceTokens } from '../../identity/service-tokens.js';
import type { Ingest } from '../../events/ingest.js';
import { producerFor } from '../../events/producer.js';
import { BACKFILL_ROLES } from '../../access/roles.js';
import type { Metrics } from '../../ops/metrics.js';
import { AppError } from '../../errors.js';
import { authorize, requestContext, type App } from '../server.js';

export interface EventsRouteDeps {
  identity: IdentityService;
  tokens: Pick<ServiceTokens, 'registration'>;
  ingest: Ingest;
  metrics: Metrics;
  ingestLimitBytes: number;
}

const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'text/plain', 'application/json'];

const IngestAnswer = Type.Object({
  accepted: Type.Integer({ description: 'lines accepted (duplicates included)' }),
  rejected: Type.Array(
    Type.Object({
      line: Type.Integer(),
      code: Type.String({ description: 'stable reason code: invalid_json, invalid_event, bad_identifier (an id, account, site, device, session, waybill, ticket, app_hash, origin_site or dest_site that is no identifier: free text, a phone or ID number), bad_field (a role, ip, city or dest_city that is not one), line_too_long, reserved_id, type_not_registered, account_not_registered, gateway_account, site_not_registered, unknown_account (an assign or ticket for an account Warden does not hold), waybill_conflict (a known parcel restated otherwise, when that parcel is the business of this producer), site_city_conflict (a known destination site given another city), id_conflict (an id already given to another event, in this body or stored), too_old (also any ts before 2000-01-01), too_new, too_recent (mode=backfill: within the live window)' }),
      reason: Type.String(),
    }),
    { description: 'the first 100 refused lines, by line number' },
  ),
  rejected_count: Type.Integer({ description: 'every refused line' }),
  duplicates: Type.Integer({ description: 'accepted lines whose id was already stored, or seen earlier in the body, with the same event: not applied or published again' }),
  duplicate_lines: Type.Array(Type.Integer(), { description: 'the first 100 duplicate lines, by line number' }),
  mode: Type.Union([Type.Literal('live'), Type.Literal('backfill')]),
  dropped_fields: Type.Array(
    Type.Object({ line: Type.Integer(), count: Type.Integer({ description: 'fields outside the contract on this line: accepted, neither stored nor published' }) }),
    { description: 'the first 100 accepted lines that had fields dropped, by line number' },
  ),
  dropped_fields_lines: Type.Integer({ description: 'every accepted line that had fields dropped' }),
});

export function eventsRoutes(app: App, deps: EventsRouteDeps): void {
  app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<TypeBoxTypeProvider>();
    // Inside this plugin only: the body stays a stream (JSON too, read as NDJSON), for the ingest to read line by line.
    scope.removeContentTypeParser(['application/json', 'text/plain']);
    scope.addContentTypeParser(NDJSON_TYPES, (_req, payload, done) => done(null, payload));

    scope.post('/api/v1/events', {
      onRequest: authorize(deps.identity, ['service', 'admin', ...BACKFILL_ROLES]),
      schema: {
        tags: ['events'],
        summary: 'Ingest contract activity events as NDJSON (one JSON object per line) from a registered producer; mode=backfill imports history (audited)',
        consumes: ['application/x-ndjson'],
        querystring: Type.Object({ mode: Type.Optional(Type.Union([Type.Literal('live'), Type.Literal('backfill')])) }, { additionalProperties: false }),
        response: { 200: IngestAnswer },
      },
    }, async (req) => {
      const declared = Number(req.headers['content-length']);
      if (declared > deps.ingestLimitBytes) throw new AppError('payload_too_large', `request body is larger than this endpoint accepts (${deps.ingestLimitBytes} bytes)`);
      const producer = await producerFor(req.principal!, deps.tokens);
      const body = req.body as AsyncIterable<Buffer> | undefined;
      const result = await deps.ingest.ingestStream(producer, body ?? [], { mode: req.query.mode ?? 'live', limitBytes: deps.ingestLimitBytes, ctx: requestContext(req) });
      deps.metrics.eventsIngested.inc({ result: 'accepted' }, result.accepted);
      deps.metrics.eventsIngested.inc({ result: 'rejected' }, result.rejected_count);
      return result;
    });
  });
}
