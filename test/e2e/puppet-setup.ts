/**
 * What the puppet tests share (puppet-approval, puppet-bypass): staff created and signed in through
 * the API, and the check that a refusal through a puppet is a 403 `self_action`, audited as denied
 * with the actor and the creation link.
 */
import { expect } from 'vitest';
import type { TestWarden } from '../support/warden.js';
import { approveAccount, passwordFor } from '../support/approve.js';

export const password = (id: string) => `pw-${id}-secret`;

/** Helpers bound to the test's Warden (`warden()` is read at call time: it starts in beforeAll). */
export function people(warden: () => TestWarden) {
  const tokens: Record<string, string> = {};
  const login = async (id: string): Promise<void> => {
    // An it_admin's privileged account signs in with the approval's initial password (attack review 11 F3).
    const r = await warden().api('POST', '/api/v1/sessions', { body: { account: id, password: passwordFor(warden(), id, password(id)), device: `${id}-desk` } });
    expect(r.status, r.text).toBe(201);
    tokens[id] = r.body.token;
  };
  /** `by` is a signed-in account's id, or a bearer token (the admin token). */
  const create = async (by: string, id: string, role: string, site: string | null = null) => {
    const r = await warden().api('POST', '/api/v1/accounts', { token: tokens[by] ?? by, body: { id, role, site, password: password(id) } });
    expect(r.status, r.text).toBe(201);
    return r.body;
  };
  const refusedThroughPuppet = async (r: { status: number; body: any; text: string }, kind: string, actor: string): Promise<void> => {
    expect(r.status, r.text).toBe(403);
    expect(r.body.error.code).toBe('self_action');
    const denied = await warden().warden.db.selectFrom('audit_log').select(['detail']).where('kind', '=', kind).where('decision', '=', 'denied').where('reason', '=', 'self_action').orderBy('seq', 'desc').executeTakeFirstOrThrow();
    expect(denied.detail).toMatchObject({ actor, link: 'created_by' });
  };
  /** The admin token creates analysts sa1, sa2 (sa1 approves sa2) and it_admin it1; all three signed in. */
  const analystsAndItAdmin = async (): Promise<void> => {
    const w = warden();
    await create(w.adminToken, 'sa1', 'security_analyst');
    await create(w.adminToken, 'sa2', 'security_analyst');
    await create(w.adminToken, 'it1', 'it_admin');
    for (const id of ['sa1', 'it1']) await login(id);
    expect((await approveAccount(w, 'sa2', tokens.sa1)).status).toBe(200);
    await login('sa2');
  };
  /** One more analyst the admin token creates and sa1 approves, signed in (a third person for the two-person rules). */
  const approvedAnalyst = async (id: string): Promise<void> => {
    const w = warden();
    await create(w.adminToken, id, 'security_analyst');
    expect((await approveAccount(w, id, tokens.sa1!)).status).toBe(200);
    await login(id);
  };
  return { tokens, login, create, refusedThroughPuppet, analystsAndItAdmin, approvedAnalyst };
}
