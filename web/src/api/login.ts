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
