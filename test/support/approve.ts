/**
 * Approves an account the way a console does: reads the account, then names the role and site it
 * was shown (POST /accounts/:id/approve takes them; a request changed since is a 409).
 */
import type { TestWarden } from './warden.js';

export async function approveAccount(w: TestWarden, id: string, token: string | undefined) {
  const view = await w.api('GET', `/api/v1/accounts/${encodeURIComponent(id)}`, { token: w.adminToken });
  const shown = view.body?.pending_approval ?? { role: view.body?.role ?? 'courier', site: view.body?.site ?? null };
  return w.api('POST', `/api/v1/accounts/${encodeURIComponent(id)}/approve`, { token, body: { role: shown.role, site: shown.site } });
}
