/**
 * Leak tracing over HTTP (src/trace/): the protected canary list and its upkeep, and leak
 * attribution (a bounded, audited run per upload: minimum dump size and per-analyst run quota,
 * src/trace/attributions.ts).
 */
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { IdentityService } from '../../identity/identity.js';
import { actorOf } from '../../identity/identity.js';
import { ANALYST_ROLES } from '../../access/roles.js';
import type { Trace } from '../../trace/trace.js';
import { MAX_PLANT } from '../../trace/canaries.js';
import { MAX_EXPORT_ROWS } from '../../trace/exports.js';
import { MAX_DUMP_BYTES, MAX_SUSPECTS, type Attributions } from '../../trace/attributions.js';
import type { ServiceTokens } from '../../identity/service-tokens.js';
import { AppError } from '../../errors.js';
import { ALL_STAFF, authorize, requestContext, type App } from '../server.js';

export interface TraceRouteDeps {
  identity: IdentityService;
  trace: Trace;
  /** The platform's token as it stands now: only one two people stand behind routes. */
  tokens: Pick<ServiceTokens, 'standing'>;
  attributions: Attributions;
}

/** The media types a leaked file is sent as (the body is the file itself). */
const DUMP_TYPES = ['text/csv', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'application/octet-stream'];

const Iso = Type.Union([Type.String(), Type.Null()]);
const AttributionAnswer = Type.Object({
  matched: Type.Integer({ description: 'rows matched to at least one waybill' }),
  unmatched: Type.Integer({ description: 'rows that matched nothing, junk rows included' }),
  junk: Type.Integer({ description: 'rows with nothing usable (totals, notes, blank lines)' }),
  records: Type.Integer({ description: 'distinct waybills the matched rows name' }),
  suspects: Type.Array(Type.Object({
    account: Type.String(),
    matched: Type.Integer({ description: 'matched records this account was shown in full' }),
    score: Type.Number({ description: 'log10 likelihood ratio against its base rate, plus direct links' }),
    first: Iso,
    last: Iso,
    devices: Type.Array(Type.String()),
    networks: Type.Array(Type.String()),
    source: Type.Boolean({ description: 'judged a source of this dump' }),
    explains: Type.Integer(),
    volume: Type.Integer({ description: 'records it was shown in full, all told' }),
    leak_after: Iso,
    links: Type.Integer({ description: 'direct links: virtual numbers issued to it, canary rows of exports made for it' }),
    unverified: Type.Boolean({ description: 'known only from upstream producers\' events, not the audit trail: ranked after every trail-backed account, scored on what no trail source explains, never a source' }),
    reported_by: Type.Array(Type.String(), { description: 'unverified only: the upstream producers whose events are its evidence' }),
    unverified_source: Type.Boolean({ description: 'unverified only: would be a source of what the trail\'s sources leave unexplained (upstream\'s word, not proof)' }),
  }), { description: 'trail-backed accounts first, then unverified ones; each highest score first' }),
  sources: Type.Array(Type.String(), { description: 'trail-backed accounts judged sources of this dump' }),
  unverified_sources: Type.Array(Type.String(), { description: 'upstream-only accounts that would be sources of what the trail\'s sources leave unexplained: upstream\'s word, never in sources' }),
  window: Type.Object({ from: Iso, to: Type.String() }, { description: 'the leak happened after `from` and before `to` (when the dump was found)' }),
  exports: Type.Array(Type.Object({ id: Type.String(), account: Type.String(), created_at: Type.String(), canaries: Type.Integer(), order_agreement: Type.Union([Type.Number(), Type.Null()]) })),
  by: Type.Record(Type.String(), Type.Integer(), { description: 'matched rows by how they matched (waybill, phone, id_number, virtual_number, name_address; none)' }),
  audit_inconsistent: Type.Integer({ description: 'marked-export rows and canary links the audit trail does not back (changed or deleted around Warden): left out, nobody named or cleared on them; not 0 → run `warden audit reconcile`' }),
  late_history: Type.Integer({ description: 'upstream reveals of leaked records received after the audit trail showed another account the same record: left out of the ranking (whoever sent them may have known what leaked)' }),
});

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

  app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<TypeBoxTypeProvider>();
    // Inside this plugin only: the body is the leaked file itself, read whole (bounded) into memory.
    scope.removeContentTypeParser(['application/json', 'text/plain']);
    scope.addContentTypeParser(DUMP_TYPES, { parseAs: 'buffer', bodyLimit: MAX_DUMP_BYTES }, (_req, body, done) => done(null, body));

    scope.post('/api/v1/attributions', {
      onRequest: analysts,
      bodyLimit: MAX_DUMP_BYTES,
      schema: {
        tags: ['trace'],
        summary: `Who leaked this dump? The leaked file (CSV or XLSX, at most ${MAX_DUMP_BYTES / 1024 / 1024} MiB) as the body: rows matched to waybills, and the accounts whose stored access history best explains it, ranked (security analysts; every run and refusal audited with the file's SHA-256 and counts). A dump, not a lookup: fewer distinct usable rows than the configured minimum (WARDEN_ATTRIBUTION_MIN_ROWS) is 400; runs per analyst are limited per hour and day (429 rate_limited with retry-after)`,
        consumes: DUMP_TYPES,
        body: Type.Unknown({ description: 'the leaked file itself: CSV (UTF-8) or an XLSX workbook' }),
        querystring: Type.Object({
          found_at: Type.Optional(Type.String({ format: 'date-time', description: 'when the dump was found: the end of the leak window (default now)' })),
          limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: `suspects listed (default 50, at most ${MAX_SUSPECTS})` })),
        }, { additionalProperties: false }),
        response: { 200: AttributionAnswer },
      },
    }, async (req) => {
      const limit = req.query.limit ? Number(req.query.limit) : undefined;
      if (limit !== undefined && limit > MAX_SUSPECTS) throw new AppError('validation_failed', `limit is at most ${MAX_SUSPECTS}`, { fields: [{ field: 'limit', code: 'range', message: `at most ${MAX_SUSPECTS}` }] });
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      return deps.attributions.run(body, { foundAt: req.query.found_at ? Date.parse(req.query.found_at) : undefined, limit }, actorOf(req.principal!), requestContext(req));
    });
  });

  app.post('/api/v1/exports', {
    onRequest: authorize(identity, ALL_STAFF),
    schema: {
      tags: ['trace'],
      summary: 'Bulk export of masked waybills of your scope (managers): an explicit list (traced by its recorded access) or a filter of your city or site and a window of ≤ 31 days (marked with canary rows that match it); every export and every refusal audited (access.export), a refusal names no waybill',
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
      summary: 'For the telephony platform: the real number a caller reaches through a virtual number, or one refusal for every reason (not_routable: unknown number, another caller\'s, expired or ended; the reason is in the trail). A token two people stand behind only (issued by one person, it waits for a second person\'s approval: 403 approval_pending); a token registered for some sites routes nothing (403; issuing one is refused); rate-limited per token (429 rate_limited, policy privacy_numbers.route_limits); an erased party is 410 subject_erased; audited with the token',
      body: Type.Object({
        virtual_number: Type.String({ pattern: '^1[3-9][0-9]{9}$' }),
        caller: Type.String({ minLength: 1, maxLength: 64, description: 'the account the platform knows the calling staff phone as' }),
      }, { additionalProperties: false }),
    },
  }, async (req) => {
    const p = req.principal!;
    if (p.kind !== 'account' || p.via !== 'service_token' || !p.tokenId || !trace.privacy?.telephony(p.account.id)) {
      throw new AppError('forbidden', trace.privacy ? 'this service account is not the telephony platform (policy privacy_numbers.telephony_accounts)' : 'privacy numbers are not enabled (policy privacy_numbers)');
    }
    // Read fresh, not from the authenticator's cache: a token revoked or never approved routes nothing.
    const token = await deps.tokens.standing(p.tokenId);
    if (!token || !token.live || token.account !== p.account.id) throw new AppError('unauthenticated', 'token is invalid, expired or revoked');
    const platform = { account: p.account.id, token: token.id, issuedBy: token.issued_by, approvedBy: token.approved_by, twoPerson: token.two_person, siteLimited: token.site_limited };
    return trace.privacy.route(req.body.virtual_number, req.body.caller, platform, requestContext(req));
  });
}
