/**
 * The console's read side over HTTP: the overview (and its server-sent-event stream), the account
 * investigation queries, and detector settings with backtests. Analysts and the admin token only.
 *
 * Invariant: a stream re-checks its bearer token on every push and ends when the session is
 * revoked or expired or the account suspended (fail closed); every stream ends when the server
 * closes.
 */
import type { ServerResponse } from 'node:http';
import { ANALYST_ROLES } from '../../access/roles.js';
import { Type } from '@sinclair/typebox';
import { actorName, actorOf, type Actor, type IdentityService, type RequestContext } from '../../identity/identity.js';
import { forReader, type Overview, type OverviewSnapshot } from '../../insight/overview.js';
import type { ReaderSelf } from '../../audit/search.js';
import type { SelfRead } from '../../access/self.js';
import type { Investigation } from '../../insight/investigation.js';
import type { DetectorsInsight } from '../../insight/detectors.js';
import { AppError } from '../../errors.js';
import { ANALYSTS_OR_ADMIN, authorize, requestContext, type App } from '../server.js';

const Id = Type.String({ minLength: 1, maxLength: 200 });
const IsoTime = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$' });
// Query strings are not coerced (server.ts), so numbers arrive as digit strings and are range-checked here.
const Digits = (description: string) => Type.String({ pattern: '^-?[0-9]{1,4}$', description });
function bounded(value: string | undefined, name: string, min: number, max: number, dflt: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!(n >= min && n <= max)) throw new AppError('validation_failed', `querystring field "${name}" must be between ${min} and ${max}`, { fields: [{ field: name, code: 'range', message: `between ${min} and ${max}` }] });
  return n;
}
const ACTIVITY_KINDS = ['access.view', 'access.reveal', 'access.search', 'access.print', 'auth.login', 'auth.logout', 'admin.account_suspended', 'admin.account_unsuspended', 'watch.response_applied', 'watch.response_cleared', 'watch.alert_updated'];

export interface InsightRouteDeps {
  identity: IdentityService;
  overview: Overview;
  investigation: Investigation;
  detectors: DetectorsInsight;
  /** Refuses (404, audited) a reader's look at their own account's risk page (attack review 9), activity, footprint or hours (review 10). */
  refuseSelfRead: (account: string, what: SelfRead, actor: Actor, ctx: RequestContext) => Promise<void>;
  /** The reader's own accounts and devices, left out of the overview's riskiest accounts and latest alerts (review 10). */
  readerSelf: (actor: Actor) => Promise<ReaderSelf>;
}

/** How long a stream keeps the reader's own accounts and devices before reading them again. */
const READER_SELF_MS = 60_000;
/**
 * Overview streams one account (all its sessions), or the admin token, may hold at once: the
 * server's listener limit is shared, and one session took all of it (attack review 10).
 */
export const STREAMS_PER_PRINCIPAL = 3;

export function insightRoutes(app: App, deps: InsightRouteDeps): void {
  const analysts = authorize(deps.identity, ANALYSTS_OR_ADMIN);
  /** The second person of a two-analyst rule is an analyst's own account, never the shared admin token (attack review 4). */
  const secondAnalyst = authorize(deps.identity, ANALYST_ROLES);
  const streams = new Set<ServerResponse>();
  /** Open streams by holder: an account id, or `admin` for the admin token. */
  const held = new Map<string, number>();

  app.get('/api/v1/overview', {
    onRequest: analysts,
    schema: { tags: ['insight'], summary: 'The security overview: events/s, reveals by role and basis, refusals, open alerts, riskiest accounts, 24-hour trend' },
  }, async (req) => forReader(await deps.overview.snapshot(), await deps.readerSelf(actorOf(req.principal!))));

  app.get('/api/v1/overview/stream', {
    onRequest: analysts,
    schema: {
      tags: ['insight'],
      summary: 'The overview as server-sent events (text/event-stream): an `overview` event at once and every few seconds; ends when the session does',
      produces: ['text/event-stream'],
    },
  }, async (req, reply) => {
    const token = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization))![1]!;
    const actor = actorOf(req.principal!);
    const holder = req.principal!.kind === 'admin' ? 'admin' : req.principal!.account.id;
    if ((held.get(holder) ?? 0) >= STREAMS_PER_PRINCIPAL) {
      throw new AppError('rate_limited', `${holder === 'admin' ? 'the admin token' : 'this account'} already has ${STREAMS_PER_PRINCIPAL} overview streams open; close one (another console tab) or read GET /api/v1/overview`, { retryAfterSeconds: 30 });
    }
    // Held from here (two requests at once cannot both take the last one), given back once.
    held.set(holder, (held.get(holder) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (held.get(holder) ?? 1) - 1;
      if (left > 0) held.set(holder, left);
      else held.delete(holder);
    };
    try {
      return await openStream(release);
    } catch (err) {
      release();
      throw err;
    }
    /** The stream itself, once the holder's place is taken. */
    async function openStream(release: () => void) {
      let self = { at: Date.now(), value: await deps.readerSelf(actor) };
      const selfNow = async () => {
        if (Date.now() - self.at > READER_SELF_MS) self = { at: Date.now(), value: await deps.readerSelf(actor) };
        return self.value;
      };
      const res = reply.raw;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        off?.();
        clearInterval(heartbeat);
        streams.delete(res);
        release();
        res.end();
      };
      const send = (s: OverviewSnapshot) => {
        // Re-authorised on every push: a session that ended, or an account suspended or moved out of
        // an analyst role, stops receiving at once.
        const stop = () => {
          if (ended) return;
          res.write('event: end\ndata: {"reason":"session_ended"}\n\n');
          end();
        };
        void deps.identity.resolvePrincipal(token).then(async (p) => {
          if (ended) return;
          if (p.kind === 'account' && !ANALYST_ROLES.includes(p.account.role)) return stop();
          // The response in force on the account (step-up, suspend) ends the stream too, audited.
          if (p.kind === 'account') await req.server.routeGate?.check(p, { method: 'GET', route: '/api/v1/overview/stream' }, requestContext(req));
          const mine = forReader(s, await selfNow());
          if (!ended) res.write(`event: overview\ndata: ${JSON.stringify(mine)}\n\n`);
        }).catch(stop);
      };
      const first = await deps.overview.snapshot();
      const off = deps.overview.listen(send);
      if (!off) throw new AppError('rate_limited', 'too many consoles are streaming the overview; try again shortly', { retryAfterSeconds: 30 });
      reply.hijack();
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no', connection: 'keep-alive' });
      streams.add(res);
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      heartbeat.unref();
      res.write('retry: 3000\n\n');
      send(first);
      req.raw.on('close', end);
      // A client gone while the stream was being opened gives its place back too.
      res.once('close', end);
      if (res.destroyed) end();
    }
  });

  app.addHook('preClose', async () => {
    for (const res of [...streams]) {
      res.end();
      streams.delete(res);
    }
  });

  const AccountParams = Type.Object({ id: Id });

  app.get('/api/v1/accounts/:id/activity', {
    onRequest: analysts,
    schema: {
      tags: ['insight'],
      summary: 'An account\'s audited activity, newest first: each allowed reveal marked explained or not and by what (assignment, ticket, phone_search, case; site/city scope is unexplained)',
      params: AccountParams,
      querystring: Type.Object({
        cursor: Type.Optional(Type.String({ maxLength: 200 })),
        limit: Type.Optional(Digits('1..500, default 100')),
        kind: Type.Optional(Type.String({ maxLength: 400, description: `comma-separated audit kinds (${ACTIVITY_KINDS.join(', ')})` })),
        since: Type.Optional(IsoTime),
        until: Type.Optional(IsoTime),
        unexplained: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')], { description: 'only allowed reveals not backed by specific work' })),
      }, { additionalProperties: false }),
    },
  }, async (req) => {
    const kinds = req.query.kind ? req.query.kind.split(',').map((k) => k.trim()).filter(Boolean) : undefined;
    const unknown = kinds?.filter((k) => !ACTIVITY_KINDS.includes(k));
    if (unknown?.length) throw new AppError('validation_failed', `unknown kind(s): ${unknown.map((k) => k.slice(0, 40)).join(', ')}`, { fields: [{ field: 'kind', code: 'enum', message: `one of ${ACTIVITY_KINDS.join(', ')}` }] });
    await deps.refuseSelfRead(req.params.id, 'activity', actorOf(req.principal!), requestContext(req));
    return deps.investigation.activity(req.params.id, { cursor: req.query.cursor, limit: bounded(req.query.limit, 'limit', 1, 500, 100), kinds, since: req.query.since, until: req.query.until, unexplainedOnly: req.query.unexplained === 'true' });
  });

  app.get('/api/v1/accounts/:id/risk', {
    onRequest: analysts,
    schema: {
      tags: ['insight'],
      summary: 'An account\'s risk over time (after each of its alerts), its risk now and the response in force; not the reader\'s own (404, audited)',
      params: AccountParams,
      querystring: Type.Object({ days: Type.Optional(Digits('1..90, default 14')) }, { additionalProperties: false }),
    },
  }, async (req) => {
    await deps.refuseSelfRead(req.params.id, 'risk', actorOf(req.principal!), requestContext(req));
    return deps.investigation.risk(req.params.id, bounded(req.query.days, 'days', 1, 90, 14));
  });

  app.get('/api/v1/accounts/:id/footprint', {
    onRequest: analysts,
    schema: {
      tags: ['insight'],
      summary: 'Devices (enrolled id and the client\'s label), networks (/24, /48) and cities an account used, with first and last seen',
      params: AccountParams,
      querystring: Type.Object({ days: Type.Optional(Digits('1..90, default 30')) }, { additionalProperties: false }),
    },
  }, async (req) => {
    await deps.refuseSelfRead(req.params.id, 'footprint', actorOf(req.principal!), requestContext(req));
    return deps.investigation.footprint(req.params.id, bounded(req.query.days, 'days', 1, 90, 30));
  });

  app.get('/api/v1/accounts/:id/hours', {
    onRequest: analysts,
    schema: {
      tags: ['insight'],
      summary: 'Activity per weekday and hour (in the caller\'s time zone) for the account and the mean of its peers (same role, same site)',
      params: AccountParams,
      querystring: Type.Object({ days: Type.Optional(Digits('1..60, default 14')), tz_offset_minutes: Type.Optional(Digits('minutes east of UTC, -840..840 (China Standard Time = 480, the default)')) }, { additionalProperties: false }),
    },
  }, async (req) => {
    await deps.refuseSelfRead(req.params.id, 'hours', actorOf(req.principal!), requestContext(req));
    return deps.investigation.hours(req.params.id, bounded(req.query.days, 'days', 1, 60, 14), bounded(req.query.tz_offset_minutes, 'tz_offset_minutes', -840, 840, 480));
  });

  app.get('/api/v1/detectors', {
    onRequest: analysts,
    schema: { tags: ['insight'], summary: 'Each detector\'s running settings, saved settings waiting for a restart, and how often it fired' },
  }, async () => deps.detectors.list());

  const SettingsBody = Type.Record(Type.String({ pattern: '^[a-z_]{1,64}$' }), Type.Union([Type.Number(), Type.Boolean()]), { minProperties: 1, maxProperties: 64 });

  app.post('/api/v1/detectors/backtest', {
    onRequest: analysts,
    schema: {
      tags: ['insight'],
      summary: 'What candidate settings would have raised over the stored last N days, beside what the running settings raise (replayed through fresh engines; nothing stored). Alerts about the reader and accounts linked to it by creation are left out (`reader_left_out`); audited `insight.backtest`, an entry its actor does not read in the trail',
      body: Type.Object({ detector: Type.String({ minLength: 1, maxLength: 64 }), settings: SettingsBody, days: Type.Integer({ minimum: 1, maximum: 30, description: 'replay the stored last N days' }) }, { additionalProperties: false }),
    },
  }, async (req) => deps.detectors.backtest(req.body.detector, req.body.settings, req.body.days, { actor: actorOf(req.principal!), ctx: requestContext(req) }));

  app.put('/api/v1/detectors/:name', {
    onRequest: analysts,
    schema: {
      tags: ['insight'],
      summary: 'Ask for a change of a detector\'s settings (audited): a security analyst\'s own account, not the admin token (403, audited); saved once a second analyst approves it, applied when Warden next starts',
      params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) }),
      body: Type.Object({ settings: SettingsBody, reason: Type.String({ minLength: 3, maxLength: 300 }) }, { additionalProperties: false }),
    },
  }, async (req) => deps.detectors.request(req.params.name, req.body.settings, req.body.reason, actorOf(req.principal!), requestContext(req)));

  app.post('/api/v1/detectors/:name/approve', {
    onRequest: secondAnalyst,
    schema: {
      tags: ['insight'],
      summary: 'Approve the waiting settings change of a detector (a security analyst\'s account, not the admin token; not your own request): saved now, applied when Warden next starts. `requested_at` names the request you read (GET /detectors); a request replaced since is a 409',
      params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) }),
      body: Type.Object({ requested_at: IsoTime }, { additionalProperties: false }),
    },
  }, async (req) => deps.detectors.approve(req.params.name, req.body.requested_at, actorOf(req.principal!), requestContext(req)));

  app.delete('/api/v1/detectors/:name/request', {
    onRequest: analysts,
    schema: {
      tags: ['insight'],
      summary: 'Discard the waiting settings change of a detector (audited)',
      params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) }),
    },
  }, async (req) => deps.detectors.discard(req.params.name, actorOf(req.principal!), requestContext(req)));
}
