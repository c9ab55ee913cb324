/**
 * Fastify with TypeBox schemas, OpenAPI at /docs, one error shape ({error:{code,message}}),
 * and request logs that carry route templates only (URLs can carry phone numbers).
 */
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import cookie from '@fastify/cookie';
import { randomUUID } from 'node:crypto';
import { AppError, isAppError, type ErrorCode } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { Principal, RequestContext, IdentityService } from '../identity/identity.js';
import type { Role } from '../contracts/events.js';
import { ANALYST_ROLES, STAFF_ROLES } from '../access/roles.js';
import { DOCS_CSP } from './csp.js';
import type { RouteGate } from './route-gate.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyInstance {
    /** The response gate every authenticated route passes (./route-gate.ts); null: none (detection and tracing off). */
    routeGate: RouteGate | null;
  }
}

export type App = FastifyInstance<any, any, any, any, TypeBoxTypeProvider>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ServerDeps {
  logger: Logger;
  metrics: Metrics;
  identity: IdentityService;
  bodyLimitBytes: number;
  /** Peers whose X-Forwarded-For is believed (a proxy in front of Warden); none by default. */
  trustProxy?: string | undefined;
  /** The response in force on the caller's account, asked by `authorize()` on every route (./route-gate.ts). */
  routeGate?: RouteGate | undefined;
}


export async function createServer(deps: ServerDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.logger,
    // Fastify's own request lines carry the URL (a search URL holds a phone number); ours carry the route template.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes,
    genReqId: () => randomUUID(),
    trustProxy: deps.trustProxy ? deps.trustProxy.split(',').map((x) => x.trim()) : false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
    // Errors Fastify raises before routing (a path that is no valid percent-encoding): our shape, no URL echoed (it may hold a phone number).
    frameworkErrors: (err, _req, reply) => {
      void sendError(reply, 'bad_request', err.code === 'FST_ERR_BAD_URL' ? 'the request path is not valid percent-encoding' : 'the request could not be routed');
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.decorate('routeGate', deps.routeGate ?? null);

  await app.register(swagger, {
    openapi: {
      info: { title: 'Warden API', version: '0.1.0', description: 'Vault, access gateway and audit trail for courier customer data' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  // /docs shares the console's origin: it may not be framed either, and loads only its own scripts
  // (Swagger UI's page has no inline script; its styles are partly written at run time).
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: DOCS_CSP,
    uiHooks: {
      onRequest: async (_req, reply) => {
        reply.header('x-frame-options', 'DENY');
        reply.header('x-content-type-options', 'nosniff');
        reply.header('referrer-policy', 'no-referrer');
      },
    },
  });
  // Cookies only carry single sign-on's browser binding (src/http/routes/sso.ts); sessions are bearer tokens.
  await app.register(cookie);
  // Text bodies are for POST /api/v1/events alone (its own parser, src/http/routes/events.ts): a 415 anywhere else.
  app.removeContentTypeParser('text/plain');

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.observe({ route, method: req.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    if (reply.statusCode >= 500) req.log.error({ route, method: req.method, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request failed');
    else req.log.debug({ route, method: req.method, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  // Graceful close: in-flight requests finish and are answered with Connection: close, and their
  // sockets are shut as soon as they go idle, so close() never waits out keep-alive timeouts.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    app.server.closeIdleConnections();
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  // API answers carry personal data (a review's new address in full, masked names, reveals): no
  // browser or proxy keeps them, none is sniffed into another type, no Referer leaves with them
  // (attack review 11). The overview stream writes its own head (reply.hijack: no onSend).
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.url.startsWith('/api/')) {
      reply.header('cache-control', 'no-store');
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    }
    return payload;
  });
  app.addHook('onResponse', async () => {
    if (closing) setImmediate(() => app.server.closeIdleConnections());
  });

  // PostgreSQL text cannot hold NUL, and no field Warden takes has a use for one: refuse it up front
  // (naming where) instead of failing deep in a query.
  app.addHook('preValidation', async (req) => {
    // A raw text body (NDJSON ingest) is checked line by line by its route instead.
    const body = typeof req.body === 'string' ? undefined : req.body;
    for (const [where, value] of [['body', body], ['querystring', req.query], ['params', req.params]] as const) {
      const at = nulAt(value, '', 0);
      if (at !== null) throw new AppError('validation_failed', `${where}${at ? ` field "${at.slice(0, 60).replaceAll('\u0000', '\\0')}"` : ''} contains a NUL character`);
    }
  });

  app.setNotFoundHandler((req, reply) => {
    sendError(reply, 'not_found', `no route ${req.method} ${req.routeOptions.url ?? 'for this path'}`);
  });

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number; validation?: unknown[]; validationContext?: string }, req, reply) => {
    if (isAppError(err)) {
      if (err.details?.retryAfterSeconds) reply.header('retry-after', String(err.details.retryAfterSeconds));
      return sendError(reply, err.code, err.message, err.details?.fields ? { fields: err.details.fields } : undefined);
    }
    if (err.validation) return sendError(reply, ...validationError(err.validation as AjvError[], err.validationContext ?? 'body'));
    switch (err.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, 'invalid_json', `request body is not valid JSON: ${err.message.replace(/^Body is not valid JSON but content-type is set to 'application\/json'\s*/, '').slice(0, 120) || 'parse error'}`);
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, 'payload_too_large', 'request body is larger than this endpoint accepts');
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(reply, 'unsupported_media_type', `content type ${String(req.headers['content-type'] ?? 'none').slice(0, 60)} is not accepted here`);
      default:
        break;
    }
    if (err instanceof SyntaxError && err.statusCode === 400) return sendError(reply, 'invalid_json', 'request body is not valid JSON');
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, 'bad_request', err.message.slice(0, 200));
    }
    if (isStoreUnreachable(err)) {
      req.log.error({ err: { type: err.name, code: err.code } }, 'data store unreachable: request refused');
      reply.header('retry-after', '5');
      return sendError(reply, 'unavailable', 'the data store is unreachable; nothing was read or changed; try again shortly');
    }
    req.log.error({ err: { type: err.name, code: err.code } }, 'unhandled error');
    return sendError(reply, 'internal', `internal error (request ${req.id})`);
  });

  return app as App;
}

/**
 * The store cannot be reached (connection refused, reset or ended, pool timeout, server shutting
 * down): a 503 the client may retry, not a 500. SQLSTATE class 08 is connection exceptions, 57P0x
 * administrator shutdown / crash / cannot connect now.
 */
export function isStoreUnreachable(err: { code?: string; message?: string }): boolean {
  const code = err.code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03'].includes(code) || code.startsWith('08')) return true;
  return /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended)/i.test(err.message ?? '');
}

/** Path of the first string (or key) holding U+0000, '' for the value itself; null when none. */
function nulAt(value: unknown, path: string, depth: number): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  // Only what a parser built (plain objects and arrays); a streamed body is its route's to check.
  if (!value || typeof value !== 'object' || depth > 32) return null;
  const proto = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return null;
  for (const [k, v] of Object.entries(value)) {
    const here = path ? `${path}.${k}` : k;
    if (k.includes('\u0000')) return here;
    const found = nulAt(v, here, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

function validationError(errors: AjvError[], where: string): [ErrorCode, string, { fields: Array<{ field: string; code: string; message: string }> }] {
  const fields = errors.map((e) => {
    const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
    if (e.keyword === 'additionalProperties') {
      const name = String(e.params.additionalProperty ?? '?').slice(0, 60);
      return { field: base ? `${base}.${name}` : name, code: 'unknown_field', message: 'is not a known field' };
    }
    if (e.keyword === 'required') {
      const name = String(e.params.missingProperty ?? '?');
      return { field: base ? `${base}.${name}` : name, code: 'required', message: 'is required' };
    }
    return { field: base || where, code: e.keyword, message: e.message ?? 'is invalid' };
  });
  const first = fields[0]!;
  const code: ErrorCode = first.code === 'unknown_field' ? 'unknown_field' : 'validation_failed';
  return [code, `${where} ${first.field === where ? '' : `field "${first.field}" `}${first.message}`, { fields }];
}

export function sendError(reply: FastifyReply, code: ErrorCode, message: string, extra?: Record<string, unknown>): FastifyReply {
  const status = new AppError(code, message).status;
  return reply.code(status).type('application/json').send({ error: { code, message, ...(extra ?? {}) } });
}

export function requestContext(req: FastifyRequest): RequestContext {
  return { ip: req.ip ?? null, requestId: String(req.id) };
}

type Allowed = 'admin' | Role;

/**
 * onRequest hook: resolves the bearer token, refuses anyone not in `allowed`, then asks the
 * response gate about the caller's account (step-up, throttle, suspend: every route, one place).
 */
export function authorize(identity: IdentityService, allowed: readonly Allowed[]) {
  return async (req: FastifyRequest): Promise<void> => {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new AppError('unauthenticated', 'missing bearer token (Authorization: Bearer <token>)');
    // Identity decides whether the caller may act at all (suspended, pending, revoked): one place.
    const principal = await identity.resolvePrincipal(match[1]!);
    const role: Allowed = principal.kind === 'admin' ? 'admin' : principal.account.role;
    if (!allowed.includes(role)) throw new AppError('forbidden', `the ${role} role may not call this endpoint`);
    if (principal.kind === 'account') await req.server.routeGate?.check(principal, { method: req.method, route: req.routeOptions.url ?? 'unmatched' }, requestContext(req));
    req.principal = principal;
  };
}

/** Every role that logs in (src/access/roles.ts). */
export const ALL_STAFF: readonly Allowed[] = STAFF_ROLES;
/** Analysts, and the bootstrap admin token. */
export const ANALYSTS_OR_ADMIN: readonly Allowed[] = ['admin', ...ANALYST_ROLES];
