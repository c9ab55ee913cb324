/**
 * OCSF 1.1 JSON: alerts as Detection Finding (2004); responses and account administration as
 * Account Change (3001); logins as Authentication (3002); every other audit summary as API
 * Activity (6003). type_uid = class_uid * 100 + activity_id, as the schema defines.
 */
import type { SiemEvent } from './events.js';

const SEVERITY_ID = { low: 2, medium: 3, high: 4, critical: 5 } as const;
const metadata = (e: SiemEvent) => ({
  version: '1.1.0',
  uid: e.id,
  product: { name: 'Warden', vendor_name: 'Warden', version: '0.1.0' },
  ...(e.seq !== null ? { sequence: e.seq } : {}),
});
const user = (uid: string | null) => (uid ? { uid } : undefined);

/** Account Change activity ids: Create 1, Enable 2, Disable 5, Lock 9, MFA Factor Enable 10, Other 99. */
const ACCOUNT_CHANGE: Record<string, number> = {
  'admin.account_created': 1,
  'admin.account_unsuspended': 2,
  'admin.account_approved': 2,
  'admin.account_suspended': 5,
  'admin.mfa_enrolled': 10,
  'admin.account_changed': 99,
  'admin.device_revoked': 99,
  'auth.device_enrolled': 99,
  'watch.response_applied': 9,
  'watch.response_cleared': 2,
};

export function toOcsf(e: SiemEvent): Record<string, unknown> {
  const base = {
    time: Date.parse(e.ts),
    severity_id: SEVERITY_ID[e.severity],
    severity: e.severity[0]!.toUpperCase() + e.severity.slice(1),
    metadata: metadata(e),
    unmapped: { site: e.site, waybill: e.waybill, fields: e.fields, reason: e.reason, kind: e.kind },
  };
  if (e.source === 'alert') {
    return {
      ...base,
      category_uid: 2,
      class_uid: 2004,
      activity_id: 1,
      type_uid: 200401,
      status_id: 1,
      finding_info: { uid: e.id, title: e.alert?.summary ?? e.kind, types: [e.kind], analytic: { name: e.kind, type_id: 1 }, related_events_count: 1 },
      risk_score: e.alert?.risk ?? undefined,
      confidence_score: e.alert?.score,
      resources: [e.account ? { type: 'account', uid: e.account } : null, e.device ? { type: 'device', uid: e.device } : null].filter(Boolean),
      unmapped: { ...base.unmapped, incident: e.alert?.incident, response: e.alert?.response },
    };
  }
  const status_id = e.outcome === 'allowed' || e.outcome === 'ok' ? 1 : 2;
  const actor = { user: user(e.actor?.replace(/^account:/, '') ?? e.account), session: undefined };
  const src_endpoint = e.ip ? { ip: e.ip } : undefined;
  const activity = ACCOUNT_CHANGE[e.kind];
  if (activity !== undefined) {
    return { ...base, category_uid: 3, class_uid: 3001, activity_id: activity, type_uid: 300100 + activity, status_id, user: user(e.account) ?? { uid: 'unknown' }, actor, src_endpoint };
  }
  if (e.kind === 'auth.login' || e.kind === 'auth.logout') {
    const id = e.kind === 'auth.login' ? 1 : 2;
    return { ...base, category_uid: 3, class_uid: 3002, activity_id: id, type_uid: 300200 + id, status_id, user: user(e.account) ?? { uid: 'unknown' }, src_endpoint, device: e.device ? { uid: e.device } : undefined };
  }
  const read = e.kind.startsWith('access.');
  const id = read ? 2 : 99;
  return { ...base, category_uid: 6, class_uid: 6003, activity_id: id, type_uid: 600300 + id, status_id, api: { operation: e.kind }, actor: { user: user(e.account), ...(e.role ? { authorizations: [{ decision: e.outcome, policy: { name: e.role } }] } : {}) }, src_endpoint };
}
