/**
 * The setup the trace e2e tests share: a site, its staff (password `pw-<id>-secret`), a token for
 * every service account, and a login that gives a session on the device `<id>-dev`.
 */
import { expect } from 'vitest';
import type { TestWarden } from '../support/warden.js';

export type StaffRow = readonly [id: string, role: string, site: string | null];

export const loginAs = async (w: TestWarden, account: string): Promise<string> =>
  (await w.api('POST', '/api/v1/sessions', { body: { account, password: `pw-${account}-secret`, device: `${account}-dev` } })).body.token as string;

/** Creates the sites and accounts; answers the service accounts' tokens by account id. */
export async function staff(w: TestWarden, sites: ReadonlyArray<{ code: string; city: string }>, accounts: readonly StaffRow[]): Promise<Record<string, string>> {
  const admin = w.adminToken;
  for (const { code, city } of sites) expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code, kind: 'outlet', city } })).status).toBe(201);
  for (const [id, role, site] of accounts) {
    expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
  }
  const services: Record<string, string> = {};
  for (const [id, role] of accounts) if (role === 'service') services[id] = (await w.api('POST', `/api/v1/accounts/${id}/tokens`, { token: admin })).body.token;
  return services;
}
