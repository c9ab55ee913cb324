import type { AuditEntryInput } from '../../src/audit/kinds.js';

/**
 * A stranger's login and 80 reveals of parcels never given to the account, 4 s apart, as the
 * gateway's trail records them: what detection's harvesting answers (watch, SIEM and response tests).
 */
export function harvestBurst(
  account: string,
  start: Date,
  opts: { from?: number; device?: string; fields?: string[] } = {},
): AuditEntryInput[] {
  const { from = 200000000000, device = 'stranger-pc', fields = ['recipient.name', 'recipient.phone', 'recipient.address'] } = opts;
  let t = start.getTime();
  const ts = () => new Date((t += 4000));
  const base = { account, role: 'courier', site: 'OUT-1', device, ip: '203.0.113.9' };
  return [
    { ...base, kind: 'auth.login', ts: ts(), decision: 'allowed', detail: { mfa: false } },
    ...Array.from({ length: 80 }, (_, i): AuditEntryInput => ({ ...base, kind: 'access.reveal', ts: ts(), decision: 'allowed', waybill: `SF${from + i}`, fields, purpose: 'delivery' })),
  ];
}
