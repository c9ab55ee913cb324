/** Pure: whether a refusal means the signed-in account may not use the console at all (unit-tested in test/console). */

/** The roles the console is for (src/access/roles.ts ANALYST_ROLES). */
export const ANALYST_ROLES: readonly string[] = ['security_analyst'];

/**
 * The server's authorisation gate answers 403 `forbidden` "the <role> role may not call this
 * endpoint" (src/http/server.ts authorize). Every console route is open to security analysts, so
 * that answer naming another role means the account is no analyst (never was, or demoted since);
 * one naming an analyst role is about that call only. A 403 `account_suspended` is about the caller's
 * own account. Any other 403 (self_action,
 * step_up_required, a forbidden with another sentence) is about that call too.
 */
export function isNotAnalystRefusal(status: number, code: string, message: string): boolean {
  if (status !== 403) return false;
  // The caller's own account is suspended (by hand, or by a canary it touched): no console either.
  if (code === 'account_suspended') return true;
  if (code !== 'forbidden') return false;
  const m = /^the (\S+) role may not call this endpoint/.exec(message);
  return m !== null && !ANALYST_ROLES.includes(m[1]!);
}
