/**
 * Single sign-on over HTTP (src/identity/oidc.ts): start sends the browser to the provider,
 * callback takes it back and answers with a session, as POST /api/v1/sessions does.
 */
import { Type } from '@sinclair/typebox';
import { RETURN_PATH, type Oidc } from '../../identity/oidc.js';
import { requestContext, type App } from '../server.js';

/** The cookie tying a sign-in to the browser that started it (HttpOnly, this path only, 10 minutes). */
const BROWSER_COOKIE = 'warden_sso';

const Session = Type.Object({
  token: Type.String(),
  account: Type.String({ description: 'the Warden account the provider\'s claims named' }),
  expires_at: Type.String(),
  mfa: Type.Boolean(),
  device_id: Type.String(),
  device_credential: Type.Optional(Type.String({ description: 'only when this sign-in enrolled the device: shown once' })),
});

export function ssoRoutes(app: App, { oidc }: { oidc: Oidc }): void {
  app.get('/api/v1/sso/start', {
    schema: {
      tags: ['identity'],
      summary: 'Begin single sign-on: redirects to the identity provider (authorization code + PKCE); format=json answers with the URL instead',
      security: [],
      querystring: Type.Object({
        device: Type.String({ minLength: 1, maxLength: 128, description: 'a label for the device, as on password logins' }),
        step_up: Type.Optional(Type.Literal('true', { description: 'ask the provider for a fresh, stronger authentication (max_age=0, acr_values)' })),
        return_to: Type.Optional(Type.String({ maxLength: 200, pattern: RETURN_PATH, description: 'a path on this server; the callback redirects there with the session in the URL fragment' })),
        format: Type.Optional(Type.Literal('json')),
      }, { additionalProperties: false }),
      headers: Type.Object({ 'x-warden-device-credential': Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'the enrolled device credential (never in the URL)' })) }),
      response: { 200: Type.Object({ url: Type.String() }) },
    },
  }, async (req, reply) => {
    const q = req.query;
    const { url, browser } = await oidc.start({ device: q.device, deviceCredential: req.headers['x-warden-device-credential'], stepUp: q.step_up === 'true', returnTo: q.return_to, ip: req.ip });
    // Binds the sign-in to this browser (the callback hands a redirected session only to it).
    reply.setCookie(BROWSER_COOKIE, browser, { path: '/api/v1/sso', httpOnly: true, sameSite: 'lax', secure: req.protocol === 'https', maxAge: 600 });
    if (q.format === 'json') return { url };
    return reply.redirect(url, 302);
  });

  app.get('/api/v1/sso/callback', {
    schema: {
      tags: ['identity'],
      summary: 'The identity provider returns here: the code is exchanged and checked, claims mapped, and a session opened on the device',
      security: [],
      querystring: Type.Object({}, { additionalProperties: true }),
      response: { 201: Session },
    },
  }, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    reply.clearCookie(BROWSER_COOKIE, { path: '/api/v1/sso' });
    let s: Awaited<ReturnType<Oidc['callback']>>;
    try {
      s = await oidc.callback(new URL(req.url, 'http://callback.invalid').search, requestContext(req), req.cookies[BROWSER_COOKIE]);
    } catch (err) {
      // Already audited. A console sign-in lands back on its page with the code and reason only
      // (never a message: the fragment must not carry text an attacker could write into the page).
      const landing = oidc.landingOf(err);
      if (!landing) throw err;
      const q = new URLSearchParams({ sso_error: landing.code, ...(landing.reason ? { reason: landing.reason } : {}) });
      return reply.redirect(`${landing.returnTo}#${q.toString()}`, 302);
    }
    const body = { token: s.token, account: s.account, expires_at: s.expires_at, mfa: s.mfa, device_id: s.device_id, ...(s.device_credential ? { device_credential: s.device_credential } : {}) };
    if (s.return_to) return reply.redirect(`${s.return_to}#sso=${Buffer.from(JSON.stringify(body)).toString('base64url')}`, 302);
    return reply.code(201).send(body);
  });
}

/**
 * How people sign in here, for the console's login page (always registered, anonymous): local
 * passwords (unless WARDEN_LOCAL_PASSWORDS=off) and single sign-on (when an issuer is configured).
 */
export function signInMethodsRoute(app: App, methods: { password: boolean; sso: boolean }): void {
  app.get('/api/v1/sign-in/methods', {
    schema: {
      tags: ['identity'],
      summary: 'How people sign in to this server: local passwords, single sign-on (GET /api/v1/sso/start), or both',
      security: [],
      response: { 200: Type.Object({ password: Type.Boolean(), sso: Type.Boolean() }) },
    },
  }, async () => methods);
}
