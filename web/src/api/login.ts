/**
 * Signing in with the same accounts, passwords, one-time codes and sessions as the API
 * (POST /api/v1/sessions). The browser is a device: its id is kept in localStorage, and so is the
 * device credential the server hands out on first enrolment, sent back on every later sign-in.
 */
import { api, ApiError, session } from './client';

const DEVICE_KEY = 'warden.device';
const credentialKey = (account: string) => `warden.deviceCredential.${account}`;

export function deviceId(): string {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    id = `console-${crypto.randomUUID().slice(0, 12)}`;
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

/** The server wants a one-time code (codes and wording vary while the identity work lands). */
export function needsOtp(err: unknown): boolean {
  if (!(err instanceof ApiError)) return false;
  if (['otp_required', 'mfa_required', 'second_factor_required', 'step_up_required'].includes(err.code)) return true;
  return (err.status === 401 || err.status === 403) && /one-time code|otp|second factor/i.test(err.message) && !/wrong|expired/i.test(err.message);
}

export async function signIn(input: { account: string; password: string; otp?: string | undefined }): Promise<void> {
  const credential = localStorage.getItem(credentialKey(input.account));
  const res = await api<{ token: string; device_credential?: string; device_id?: string }>('POST', '/sessions', {
    anonymous: true,
    body: {
      account: input.account,
      password: input.password,
      device: deviceId(),
      ...(input.otp ? { otp: input.otp } : {}),
      ...(credential ? { device_credential: credential } : {}),
    },
  });
  if (res.device_credential) localStorage.setItem(credentialKey(input.account), res.device_credential);
  if (res.device_id) localStorage.setItem(DEVICE_KEY, res.device_id);
  session.set(res.token, input.account);
}

export async function signOut(): Promise<void> {
  try {
    await api('DELETE', '/sessions/current');
  } catch {
    // The session may already be over; either way it is forgotten here.
  }
  session.clear();
}

/** How this server lets people sign in (GET /api/v1/sign-in/methods); an older server: passwords only. */
export interface SignInMethods {
  password: boolean;
  sso: boolean;
}

export async function signInMethods(): Promise<SignInMethods> {
  try {
    return await api<SignInMethods>('GET', '/sign-in/methods', { anonymous: true });
  } catch {
    return { password: true, sso: false };
  }
}

/** The account that last signed in through single sign-on in this browser (its device credential is sent back). */
const SSO_ACCOUNT_KEY = 'warden.sso.account';
/** Set when this tab sends the browser to the provider: only then is a sign-in in the URL fragment taken. */
const SSO_PENDING_KEY = 'warden.sso.pending';

/** Single sign-on: asks the server for the provider URL (authorization code + PKCE) and goes there. */
export async function startSso(): Promise<void> {
  const account = localStorage.getItem(SSO_ACCOUNT_KEY);
  const credential = account ? localStorage.getItem(credentialKey(account)) : null;
  const { url } = await api<{ url: string }>('GET', '/sso/start', {
    anonymous: true,
    query: { device: deviceId(), return_to: '/', format: 'json' },
    ...(credential ? { headers: { 'x-warden-device-credential': credential } } : {}),
  });
  sessionStorage.setItem(SSO_PENDING_KEY, '1');
  window.location.assign(url);
}

export type SsoReturn = { kind: 'signed_in'; account: string } | { kind: 'refused'; code: string; reason: string | null } | null;

const word = (s: string | null): string | null => (s && /^[a-z_]{1,40}$/.test(s) ? s : null);

function decodeSession(fragment: string): { token: string; account: string; device_id?: string; device_credential?: string } | null {
  try {
    const bytes = Uint8Array.from(atob(fragment.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    const s = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    if (typeof s.token !== 'string' || typeof s.account !== 'string') return null;
    return s as { token: string; account: string };
  } catch {
    return null;
  }
}

/**
 * What the server's callback put in the URL fragment after single sign-on: a session, or a
 * refusal's code and reason. Read once at start-up and removed from the address bar (and from
 * history) at once; ignored unless this tab started a sign-in.
 */
export function takeSsoReturn(): SsoReturn {
  const hash = window.location.hash;
  if (!/^#sso(_error)?=/.test(hash)) return null;
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
  const started = sessionStorage.getItem(SSO_PENDING_KEY) === '1';
  sessionStorage.removeItem(SSO_PENDING_KEY);
  if (!started) return null;
  if (hash.startsWith('#sso_error=')) {
    const q = new URLSearchParams(hash.slice(1));
    const code = word(q.get('sso_error')) ?? 'sso_failed';
    // A credential the server no longer accepts is forgotten: the next sign-in enrols this browser again.
    const account = localStorage.getItem(SSO_ACCOUNT_KEY);
    if (code === 'invalid_device_credential' && account) localStorage.removeItem(credentialKey(account));
    return { kind: 'refused', code, reason: word(q.get('reason')) };
  }
  const s = decodeSession(hash.slice('#sso='.length));
  if (!s) return { kind: 'refused', code: 'sso_failed', reason: null };
  if (s.device_credential) localStorage.setItem(credentialKey(s.account), s.device_credential);
  if (s.device_id) localStorage.setItem(DEVICE_KEY, s.device_id);
  localStorage.setItem(SSO_ACCOUNT_KEY, s.account);
  session.set(s.token, s.account);
  return { kind: 'signed_in', account: s.account };
}
