/**
 * The response gate at the authorization hook: the response in force on the calling account
 * (step-up, throttle, suspend — src/watch/responses.ts says what each means) and the canary
 * tripwire apply to every authenticated route, not only to the data path (attack review 10: a
 * throttled or stepped-up analyst still approved cases, triaged alerts and read the canaries).
 *
 * Invariants:
 * - One place: `authorize()` (server.ts) asks `check` for every account principal, after its
 *   role is admitted; the admin token has no account and is not asked.
 * - What a response means is the watch's (`route` in responses.ts, the same read as the data
 *   path's gate: with several processes, the response read with the caller's session); this
 *   module only says what kind of route a request is.
 * - Every refusal is audited (`watch.request_refused`, the route template and method, never the
 *   URL, which may hold a phone number); an unwritable trail still refuses.
 */
import type { AccountPrincipal, ResponseGate } from '../access/access.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import type { RequestContext } from '../identity/identity.js';
import type { AppError } from '../errors.js';
import type { RouteKind } from '../watch/responses.js';

/** Ending one's own session is always allowed (a stepped-up account logs out, then in again). */
const EXEMPT = new Set(['DELETE /api/v1/sessions/current']);
/** The data path: reads whose reveals a throttle counts in records (src/access/access.ts `admit`). */
const DATA_PATH = new Set(['POST /api/v1/waybills/:waybill/reveal', 'POST /api/v1/reveals', 'POST /api/v1/search']);
/** Reads a throttled account may not make: the canary list disarms the tripwire. */
const GUARDED_READS = new Set(['GET /api/v1/canaries']);

/** What kind of route a request is, for the response gate; null: no response refuses it. */
export function routeKind(method: string, route: string): RouteKind | null {
  const key = `${method.toUpperCase()} ${route}`;
  if (EXEMPT.has(key)) return null;
  if (GUARDED_READS.has(key)) return 'guarded_read';
  if (method === 'GET' || method === 'HEAD' || DATA_PATH.has(key)) return 'read';
  return 'write';
}

export interface RouteGate {
  /** Throws the refusal (audited) when the response in force on the caller's account refuses this route. */
  check(principal: AccountPrincipal, request: { method: string; route: string }, ctx: RequestContext): Promise<void>;
}

export interface RouteGateDeps {
  /** The canary tripwire: an account that touched a canary, refused until its suspension is in force. */
  tripwire?: Pick<ResponseGate, 'refuse'> | undefined;
  /** The watch's responses (absent when live detection is off). */
  responses?: { route(principal: AccountPrincipal, kind: RouteKind, now: number): Promise<AppError | null> } | undefined;
  audit: Pick<AuditWriter, 'append'>;
  clock: Clock;
}

export function createRouteGate(deps: RouteGateDeps): RouteGate {
  const { audit, clock } = deps;
  return {
    async check(principal, { method, route }, ctx) {
      const kind = routeKind(method, route);
      if (kind === null) return;
      const now = clock.now();
      const refused = (await deps.tripwire?.refuse(principal, 'view', now)) ?? (await deps.responses?.route(principal, kind, now)) ?? null;
      if (!refused) return;
      await audit.append([
        {
          kind: 'watch.request_refused',
          ts: new Date(now),
          decision: 'denied',
          reason: refused.code,
          account: principal.account.id,
          role: principal.account.role,
          site: principal.account.site,
          device: principal.device,
          session: principal.sessionId,
          ip: ctx.ip,
          requestId: ctx.requestId,
          detail: { method: method.toUpperCase(), route, kind },
        },
      ]);
      throw refused;
    },
  };
}
