/**
 * The audit trail over HTTP, for analysts, auditors and the console: verification, the latest
 * signed tree head, publication status, search (JSON and CSV) and inclusion proofs that
 * `scripts/verify-proof.mjs` checks offline. Analysts and the admin token only.
 */
import { Type } from '@sinclair/typebox';
import { actorOf, type Actor, type IdentityService, type RequestContext } from '../../identity/identity.js';
import type { AuditTrail } from '../../audit/service.js';
import { verifyResultJson } from '../../audit/verify.js';
import { headJson } from '../../audit/sth.js';
import { entriesCsv, searchEntries, type ReaderSelf } from '../../audit/search.js';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { AppError } from '../../errors.js';
import { ANALYSTS_OR_ADMIN, authorize, requestContext, type App } from '../server.js';

export interface AuditRouteDeps {
  identity: IdentityService;
  trail: AuditTrail;
  db: Kysely<Database>;
  /** The reader's own accounts and devices, whose detection entries the search leaves out (src/access/self.ts). */
  readerSelf: (actor: Actor) => Promise<ReaderSelf>;
  /** Refuses (404, audited) the proof of an entry about the reader's own detection. */
  refuseSelfEntry: (seq: number, actor: Actor, ctx: RequestContext) => Promise<void>;
}

const HeadSchema = Type.Object({
  tree_size: Type.Integer(),
  root_hash: Type.String({ description: 'SHA-256 Merkle root (RFC 6962), base64' }),
  timestamp: Type.String({ description: 'ISO-8601 UTC, milliseconds' }),
  key_id: Type.String({ description: 'ed25519:<first 16 hex of SHA-256(raw public key)>' }),
  signature: Type.String({ description: 'Ed25519 over "warden-audit-sth-v1|<tree_size>|<root hex>|<timestamp>", base64' }),
});

const Filters = {
  account: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  waybill: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
  kind: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'an audit entry kind, e.g. access.reveal' })),
  since: Type.Optional(Type.String({ maxLength: 40, description: 'ISO-8601, inclusive' })),
  until: Type.Optional(Type.String({ maxLength: 40, description: 'ISO-8601, exclusive' })),
  before_seq: Type.Optional(Type.Integer({ minimum: 1, description: 'continue below this seq (next_before_seq of the previous page)' })),
};

const toInt = (v: unknown) => (typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : v);

export function auditRoutes(app: App, deps: AuditRouteDeps): void {
  const guard = authorize(deps.identity, ANALYSTS_OR_ADMIN);
  // Query strings arrive as text and the server does not coerce types: integers are read here.
  const intQuery = (names: string[]) => async (req: { query: unknown }) => {
    const q = req.query as Record<string, unknown>;
    for (const n of names) if (n in q) q[n] = toInt(q[n]);
  };

  app.get('/api/v1/audit/verify', {
    onRequest: guard,
    schema: { tags: ['audit'], summary: 'Verify every entry, every signed tree head (pinned keys, none missing, consistent) and what the configured witnesses saw; names the first bad seq (409)' },
  }, async (_req, reply) => {
    const result = await deps.trail.verify();
    return reply.code(result.ok ? 200 : 409).send(verifyResultJson(result));
  });

  app.get('/api/v1/audit/head', {
    onRequest: guard,
    schema: { tags: ['audit'], summary: 'The latest signed tree head', response: { 200: HeadSchema } },
  }, async () => {
    const head = await deps.trail.latestHead();
    if (!head) throw new AppError('not_found', 'no signed tree head yet (the trail is empty)');
    return headJson(head);
  });

  app.get('/api/v1/audit/status', {
    onRequest: guard,
    schema: { tags: ['audit'], summary: 'Latest signed head, signing key, witness publication status and the last verification' },
  }, async () => deps.trail.status());

  app.get('/api/v1/audit/entries', {
    onRequest: guard,
    preValidation: intQuery(['before_seq', 'limit']),
    schema: {
      tags: ['audit'],
      summary: 'Audit entries, newest first, filtered; continue with before_seq = next_before_seq. Entries about the reader\'s own detection (responses, triage, exceptions, cases naming them) are left out',
      querystring: Type.Object({ ...Filters, limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }) }, { additionalProperties: false }),
    },
  }, async (req) => searchEntries(deps.db, { ...req.query, beforeSeq: req.query.before_seq, hide: await deps.readerSelf(actorOf(req.principal!)) }));

  app.get('/api/v1/audit/entries.csv', {
    onRequest: guard,
    preValidation: intQuery(['before_seq', 'limit']),
    schema: {
      tags: ['audit'],
      summary: 'The same search as CSV (at most 10,000 rows a request; the x-next-before-seq header continues)',
      produces: ['text/csv'],
      querystring: Type.Object({ ...Filters, limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }) }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    const page = await searchEntries(deps.db, { ...req.query, beforeSeq: req.query.before_seq, hide: await deps.readerSelf(actorOf(req.principal!)) });
    if (page.next_before_seq !== null) reply.header('x-next-before-seq', String(page.next_before_seq));
    reply.header('content-disposition', 'attachment; filename="warden-audit.csv"');
    return reply.type('text/csv; charset=utf-8').send(entriesCsv(page.entries));
  });

  app.get('/api/v1/audit/entries/:seq/proof', {
    onRequest: guard,
    preValidation: async (req) => {
      const p = req.params as Record<string, unknown>;
      p.seq = toInt(p.seq);
    },
    schema: {
      tags: ['audit'],
      summary: 'Inclusion proof of one entry under the latest signed tree head, checkable offline with scripts/verify-proof.mjs',
      params: Type.Object({ seq: Type.Integer({ minimum: 1 }) }),
    },
  }, async (req) => {
    await deps.refuseSelfEntry(req.params.seq, actorOf(req.principal!), requestContext(req));
    return deps.trail.proof(req.params.seq);
  });
}
