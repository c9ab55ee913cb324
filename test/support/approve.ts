/**
 * Approves an account the way a console does: reads the account, then names the role and site it
 * was shown (POST /accounts/:id/approve takes them; a request changed since is a 409).
 */
import type { TestWarden } from './warden.js';

export async function approveAccount(w: TestWarden, id: string, token: string | undefined) {
  const view = await w.api('GET', `/api/v1/accounts/${encodeURIComponent(id)}`, { token: w.adminToken });
  const shown = view.body?.pending_approval ?? { role: view.body?.role ?? 'courier', site: view.body?.site ?? null };
  const r = await w.api('POST', `/api/v1/accounts/${encodeURIComponent(id)}/approve`, { token, body: { role: shown.role, site: shown.site } });
  if (r.status === 200 && typeof r.body?.initial_password === 'string') issued(w).set(id, r.body.initial_password);
  return r;
}

/**
 * Attack review 11 (F3): approving a privileged role of an account an it_admin (any account) set up
 * discards the creator's password and answers a one-time `initial_password`. The ones this Warden's
 * approvals issued, by account.
 */
const initialPasswords = new WeakMap<TestWarden, Map<string, string>>();
const issued = (w: TestWarden) => {
  let m = initialPasswords.get(w);
  if (!m) initialPasswords.set(w, (m = new Map()));
  return m;
};

/** The password `id` signs in with: the approval's initial password if one was issued, else the creator's `fallback`. */
export const passwordFor = (w: TestWarden, id: string, fallback: string): string => issued(w).get(id) ?? fallback;

/**
 * Security analysts `ids` created by the admin token under manual approvals, each approved by the
 * one before it (the first is the bootstrap analyst); each signed in on `<id>-laptop`. Answers their
 * session tokens and enrolled device ids.
 */
export async function analystChain(w: TestWarden, ids: readonly string[]) {
  const tokens: Record<string, string> = {};
  const devices: Record<string, string> = {};
  for (const id of ids) {
    const r = await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id, role: 'security_analyst', password: `pw-${id}-secret` } });
    if (r.status !== 201) throw new Error(`creating ${id}: ${r.status} ${r.text}`);
  }
  for (const [i, id] of ids.entries()) {
    if (i > 0) {
      const ok = await approveAccount(w, id, tokens[ids[i - 1]!]);
      if (ok.status !== 200) throw new Error(`approving ${id}: ${ok.status} ${ok.text}`);
    }
    const s = await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: `${id}-laptop` } });
    if (s.status !== 201) throw new Error(`signing in ${id}: ${s.status} ${s.text}`);
    tokens[id] = s.body.token;
    devices[id] = s.body.device_id;
  }
  return { tokens, devices };
}
