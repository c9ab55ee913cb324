/**
 * Single sign-on through the organisation's OpenID Connect provider: authorization code flow
 * with PKCE (S256), state and nonce, via `openid-client` (a certified relying party). The
 * provider is the first factor; the login itself — device binding, session limits, suspension,
 * step-up freshness — is identity's own (login.ts `ssoLogin`).
 *
 * Claims → who: `account_claim` names the Warden account; the role and site come from
 * `role_claim`/`site_claim`, or from the first of the user's groups (`groups_claim`) listed in
 * `groups`. A user whose groups map to nothing is refused. Step-up asks the provider for a fresh
 * authentication (`max_age=0`) at `step_up_acr`; a session counts as two-factor when the ID
 * token's `acr` is one of `mfa_acr` or its `amr` names a second factor.
 *
 * Every refusal is audited (auth.login denied, reason sso_*); no claim value other than the
 * account id is stored, and provider error texts are not echoed.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import { AppError } from '../errors.js';
import { ROLES, type Role } from '../contracts/events.js';
import { assertDeviceLabel, type LoginResult, type SsoLoginInput } from './login.js';
import type { RequestContext } from './types.js';

export const OidcMappingSchema = Type.Object(
  {
    account_claim: Type.String({ default: 'preferred_username' }),
    groups_claim: Type.String({ default: 'groups' }),
    role_claim: Type.Optional(Type.String()),
    site_claim: Type.Optional(Type.String()),
    groups: Type.Record(Type.String(), Type.Object({ role: Type.Union(ROLES.map((r) => Type.Literal(r))), site: Type.Optional(Type.Union([Type.String(), Type.Null()])) }, { additionalProperties: false }), { default: {} }),
    mfa_acr: Type.Array(Type.String(), { default: [] }),
    step_up_acr: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type OidcMapping = Static<typeof OidcMappingSchema>;
const mappingChecker = TypeCompiler.Compile(OidcMappingSchema);

export function parseOidcMapping(json: string | undefined): OidcMapping {
  let raw: Record<string, unknown>;
  try {
    raw = json ? (JSON.parse(json) as Record<string, unknown>) : {};
  } catch {
    throw new Error('WARDEN_OIDC_MAPPING is not valid JSON');
  }
  const withDefaults = { account_claim: 'preferred_username', groups_claim: 'groups', groups: {}, mfa_acr: [], ...raw };
  if (!mappingChecker.Check(withDefaults)) {
    const problems = [...mappingChecker.Errors(withDefaults)].slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
    throw new Error(`WARDEN_OIDC_MAPPING: ${problems.join('; ')}`);
  }
  return withDefaults;
}

/** Who the claims say this is, or why not. Pure: tested on its own. */
export function mapClaims(m: OidcMapping, claims: Record<string, unknown>): { ok: true; account: string; role: Role; site: string | null } | { ok: false; reason: 'sso_no_account_claim' | 'sso_unmapped'; message: string } {
  const account = claims[m.account_claim];
  if (typeof account !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/.test(account)) {
    return { ok: false, reason: 'sso_no_account_claim', message: `the identity provider's token has no usable "${m.account_claim}" claim to name your Warden account` };
  }
  const role = m.role_claim ? claims[m.role_claim] : undefined;
  if (typeof role === 'string' && (ROLES as readonly string[]).includes(role)) {
    const site = m.site_claim ? claims[m.site_claim] : undefined;
    return { ok: true, account, role: role as Role, site: typeof site === 'string' ? site : null };
  }
  const groups = claims[m.groups_claim];
  const list = Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : typeof groups === 'string' ? [groups] : [];
  for (const g of list) {
    const hit = m.groups[g];
    if (hit) return { ok: true, account, role: hit.role, site: hit.site ?? (m.site_claim && typeof claims[m.site_claim] === 'string' ? (claims[m.site_claim] as string) : null) };
  }
  return { ok: false, reason: 'sso_unmapped', message: 'none of your identity provider groups is mapped to a Warden role; ask your administrator' };
}

interface Pending {
  verifier: string;
  nonce: string;
  device: string;
  deviceCredential: string | undefined;
  stepUp: boolean;
  returnTo: string | null;
  /** SHA-256 of the secret in the starting browser's cookie: a session goes back only to that browser. */
  browser: string;
  ip: string | null;
  expires: number;
}

/**
 * Where a console sign-in may land: a path on this server. `//host` (a protocol-relative URL:
 * another site) and `/\host` never match, so the session in the fragment cannot be sent away.
 */
export const RETURN_PATH = '^/(?:[A-Za-z0-9_-]+/?)*$';
const RETURN_PATH_RE = new RegExp(RETURN_PATH);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export interface OidcDeps {
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
  redirectUri: string;
  mapping: OidcMapping;
  audit: AuditWriter;
  clock: Clock;
  ssoLogin(input: SsoLoginInput, ctx: RequestContext): Promise<LoginResult>;
}

const PENDING_TTL_MS = 10 * 60_000;
const MAX_PENDING = 10_000;
/** Sign-ins one address may have in progress: nobody fills the table and locks everyone out. */
const MAX_PENDING_PER_IP = 20;

export async function createOidc(deps: OidcDeps) {
  const issuer = new URL(deps.issuer);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
  const metadata: Partial<client.ClientMetadata> = deps.clientSecret ? { client_secret: deps.clientSecret } : {};
  // Validation uses Warden's clock (token exp/iat/auth_time), like every other time check here.
  metadata[client.clockSkew] = Math.round((deps.clock.now() - Date.now()) / 1000);
  const auth = deps.clientSecret ? client.ClientSecretBasic(deps.clientSecret) : client.None();
  // Plain http only for a provider on this machine (tests, a local dev provider).
  const config = await client.discovery(issuer, deps.clientId, metadata, auth, loopback && issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : undefined);
  const pending = new Map<string, Pending>();
  /** A refusal's audited reason, and where the browser that started the sign-in wants to land. */
  const reasons = new WeakMap<AppError, string>();
  const landings = new WeakMap<AppError, string>();

  const refuse = async (reason: string, error: AppError, ctx: RequestContext): Promise<never> => {
    await deps.audit.append([{ kind: 'auth.login', ts: new Date(deps.clock.now()), decision: 'denied', reason, ip: ctx.ip, requestId: ctx.requestId, detail: { method: 'oidc' } }]);
    reasons.set(error, reason);
    throw error;
  };

  function sweep(now: number): void {
    for (const [k, p] of pending) if (p.expires <= now) pending.delete(k);
  }

  /** The provider URL to send the browser to; remembers PKCE verifier, nonce and device for the callback. */
  async function start(input: { device: string; deviceCredential?: string | undefined; stepUp?: boolean; returnTo?: string | undefined; ip?: string | null }): Promise<{ url: string; state: string; browser: string }> {
    assertDeviceLabel(input.device);
    const now = deps.clock.now();
    sweep(now);
    const ip = input.ip ?? null;
    let fromIp = 0;
    for (const p of pending.values()) if (p.ip === ip) fromIp++;
    if (pending.size >= MAX_PENDING || fromIp >= MAX_PENDING_PER_IP) throw new AppError('rate_limited', 'too many sign-ins in progress; try again shortly', { retryAfterSeconds: 60 });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const browser = randomBytes(32).toString('base64url');
    const returnTo = input.returnTo && RETURN_PATH_RE.test(input.returnTo) ? input.returnTo : null;
    pending.set(state, { verifier, nonce, device: input.device, deviceCredential: input.deviceCredential, stepUp: !!input.stepUp, returnTo, browser: sha256(browser), ip, expires: now + PENDING_TTL_MS });
    const params: Record<string, string> = {
      redirect_uri: deps.redirectUri,
      scope: 'openid profile email',
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    };
    // Voluntary: the provider says in `acr` what it did; mfa_acr is what counts as two factors.
    if (deps.mapping.mfa_acr.length) params['acr_values'] = deps.mapping.mfa_acr.join(' ');
    if (input.stepUp) {
      params['max_age'] = '0';
      params['prompt'] = 'login';
      if (deps.mapping.step_up_acr) params['acr_values'] = deps.mapping.step_up_acr;
    }
    return { url: client.buildAuthorizationUrl(config, params).href, state, browser };
  }

  /** The provider sent the browser back: code → tokens (checked), claims → account, then a session. */
  /**
   * `browser`: the secret of the cookie set by `start` in the browser that began the sign-in. A
   * session that goes back by redirect (return_to) is handed only to that browser: someone who
   * starts a sign-in and sends its provider link to a colleague gets nothing.
   */
  async function callback(search: string, ctx: RequestContext, browser?: string | undefined): Promise<LoginResult & { account: string; return_to: string | null }> {
    // The URL the provider redirected to: the registered redirect URI with the callback's query.
    const currentUrl = new URL(deps.redirectUri);
    currentUrl.search = search;
    const state = currentUrl.searchParams.get('state') ?? '';
    const p = pending.get(state);
    pending.delete(state);
    try {
      return await finish(currentUrl, state, p, ctx, browser);
    } catch (err) {
      // A browser that started with return_to is sent back there with the refusal, not left on a JSON page.
      if (err instanceof AppError && p?.returnTo) landings.set(err, p.returnTo);
      throw err;
    }
  }

  async function finish(currentUrl: URL, state: string, p: Pending | undefined, ctx: RequestContext, browser: string | undefined): Promise<LoginResult & { account: string; return_to: string | null }> {
    if (currentUrl.searchParams.get('error')) {
      return refuse('sso_provider_error', new AppError('sso_failed', 'the identity provider did not sign you in; start again'), ctx);
    }
    if (!p || p.expires <= deps.clock.now()) {
      return refuse('sso_state_unknown', new AppError('sso_failed', 'this sign-in is unknown, expired or was already used (a replayed or stale callback); start again'), ctx);
    }
    if (p.returnTo && !timingSafeEqual(Buffer.from(sha256(browser ?? '')), Buffer.from(p.browser))) {
      return refuse('sso_browser_mismatch', new AppError('sso_failed', 'this sign-in was started in another browser; start again from the sign-in page'), ctx);
    }
    let claims: client.IDToken | undefined;
    let profile: Record<string, unknown> = {};
    try {
      const tokens = await client.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: p.verifier,
        expectedState: state,
        expectedNonce: p.nonce,
        idTokenExpected: true,
        ...(p.stepUp ? { maxAge: 0 } : {}),
      });
      claims = tokens.claims();
      // Providers put profile claims (username, groups) in the ID token or only at userinfo.
      if (claims && (claims[deps.mapping.account_claim] === undefined || claims[deps.mapping.groups_claim] === undefined)) {
        profile = (await client.fetchUserInfo(config, tokens.access_token, claims.sub)) as Record<string, unknown>;
      }
    } catch (err) {
      const code = err instanceof client.ResponseBodyError ? `provider:${err.error}` : err instanceof Error && 'code' in err ? String((err as { code: unknown }).code) : 'unknown';
      return refuse('sso_token_invalid', new AppError('sso_failed', `the identity provider's answer did not pass the checks (${code.replace(/[^A-Za-z0-9_:.-]/g, '').slice(0, 60)}); start again`), ctx);
    }
    if (!claims) return refuse('sso_token_invalid', new AppError('sso_failed', 'the identity provider returned no ID token'), ctx);
    const who = mapClaims(deps.mapping, { ...profile, ...(claims as unknown as Record<string, unknown>) });
    if (!who.ok) return refuse(who.reason, new AppError('sso_refused', who.message), ctx);
    const acr = typeof claims.acr === 'string' ? claims.acr : undefined;
    const amr = Array.isArray(claims.amr) ? claims.amr : [];
    const mfa = (acr !== undefined && deps.mapping.mfa_acr.includes(acr)) || amr.some((m) => ['mfa', 'otp', 'hwk', 'swk', 'sms', 'fido'].includes(String(m)));
    if (p.stepUp && deps.mapping.step_up_acr && acr !== deps.mapping.step_up_acr && !mfa) {
      return refuse('sso_step_up_not_met', new AppError('sso_refused', 'the identity provider did not confirm the stronger sign-in this step-up asks for'), ctx);
    }
    const result = await deps.ssoLogin({ account: who.account, role: who.role, site: who.site, mfa, acr, device: p.device, device_credential: p.deviceCredential }, ctx);
    return { ...result, account: who.account, return_to: p.returnTo };
  }

  /** For a refused callback: where its browser lands, the error code, and the audited reason (when this module refused). */
  function landingOf(err: unknown): { returnTo: string; code: string; reason: string | null } | null {
    if (!(err instanceof AppError)) return null;
    const returnTo = landings.get(err);
    return returnTo ? { returnTo, code: err.code, reason: reasons.get(err) ?? null } : null;
  }

  return { start, callback, landingOf };
}

export type Oidc = Awaited<ReturnType<typeof createOidc>>;
