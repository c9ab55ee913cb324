/**
 * A real OpenID Provider on loopback for the single sign-on tests: the certified `oidc-provider`
 * package, two registered clients (Warden's, and another application's for wrong-audience
 * tests), PKCE required.
 *
 * Who signs in at the provider: with `login: 'auto'` the interaction endpoint signs in whoever
 * `next` names (for fetch-driven tests); with `login: 'form'` it shows a sign-in page with a
 * username field, as a person in a browser sees it, and signs in the user typed.
 */
import http from 'node:http';
import net from 'node:net';
import Provider from 'oidc-provider';

export interface ProviderUser {
  preferred_username: string;
  groups: string[];
}

export interface TestProvider {
  issuer: string;
  /** Who signs in next in `auto` mode, and (both modes) how strongly. */
  next: { sub: string; acr: string; amr: string[] };
  close(): Promise<void>;
}

export const WARDEN_CLIENT = { id: 'warden', secret: 'warden-client-secret-0123456789' };

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid: string, error?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Example identity provider</title></head><body><main>
<h1>Example identity provider</h1>${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login"><label for="login">Username</label> <input id="login" name="login" autocomplete="username">
<button type="submit">Continue</button></form></main></body></html>`;
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) break;
  }
  return new URLSearchParams(body);
}

export async function startProvider(opts: { port: number; redirectUri: string; users: Record<string, ProviderUser>; login?: 'auto' | 'form' }): Promise<TestProvider> {
  const { users } = opts;
  const issuer = `http://127.0.0.1:${opts.port}`;
  const next = { sub: Object.keys(users)[0] ?? '', acr: 'urn:warden:mfa', amr: ['pwd', 'otp'] };
  const provider = new Provider(issuer, {
    clients: [
      { client_id: WARDEN_CLIENT.id, client_secret: WARDEN_CLIENT.secret, redirect_uris: [opts.redirectUri], grant_types: ['authorization_code'], response_types: ['code'] },
      { client_id: 'other-app', client_secret: 'other-client-secret-0123456789', redirect_uris: [opts.redirectUri], grant_types: ['authorization_code'], response_types: ['code'] },
    ],
    pkce: { required: () => true },
    acrValues: ['urn:warden:pwd', 'urn:warden:mfa'],
    claims: { acr: null, amr: null, auth_time: null, sid: null, openid: ['sub'], profile: ['preferred_username', 'groups'] },
    features: { devInteractions: { enabled: false } },
    cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx: unknown, sub: string) => (users[sub] ? { accountId: sub, claims: async () => ({ sub, ...users[sub] }) } : undefined),
  });
  const finish = async (req: http.IncomingMessage, res: http.ServerResponse, sub: string) => {
    const details = await provider.interactionDetails(req, res);
    const grant = new provider.Grant({ accountId: sub, clientId: String(details.params.client_id) });
    grant.addOIDCScope('openid profile email');
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { login: { accountId: sub, acr: next.acr, amr: next.amr }, consent: { grantId } }, { mergeWithLastSubmission: false });
  };
  const callback = provider.callback();
  const server = http.createServer(async (req, res) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(req.url ?? '');
    if (!m) return callback(req, res);
    try {
      if (opts.login !== 'form') return await finish(req, res, next.sub);
      if (req.method === 'GET' && !m[2]) {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        return res.end(loginPage(m[1]!));
      }
      const login = (await readForm(req)).get('login') ?? '';
      const sub = Object.keys(users).find((k) => users[k]!.preferred_username === login);
      if (!sub) {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        return res.end(loginPage(m[1]!, 'Unknown user'));
      }
      return await finish(req, res, sub);
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err));
    }
  });
  await new Promise<void>((r) => server.listen(opts.port, '127.0.0.1', r));
  return { issuer, next, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
