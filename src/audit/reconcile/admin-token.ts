/**
 * The admin token's switch-off (attack review 9: the database owner deleted the revocation row and
 * restarted; the token came back). Replayed from `admin.admin_token_configured` (the fingerprint in
 * force from then on) and `admin.admin_token_disabled` (the fingerprint disabled):
 * - every fingerprint the trail disabled has its `admin_token_revocations` row;
 * - no entry acted as `admin` after the token in force was disabled (a revived token that was used).
 * Entries written before fingerprints were recorded: a disabling without one disables the
 * fingerprint in force then, if the trail knows it (the first `_configured` entry carries a
 * revocation made earlier as `disabled: true`).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { trailFingerprint } from '../../identity/admin-token.js';
import { MAX_FINDINGS, entriesOf, str, type Add } from './trail.js';

export async function reconcileAdminToken(db: Kysely<Database>, add: Add): Promise<number> {
  const token = await entriesOf(db, ['admin.admin_token_configured', 'admin.admin_token_disabled']);
  const rows = await db.selectFrom('admin_token_revocations').select('fingerprint').execute();
  const firstOff = token.find((e) => e.kind === 'admin.admin_token_disabled' || e.detail.disabled === true);
  // Acts by `admin` matter only after a disabling: read from there on (the primary key's range).
  const acts = firstOff
    ? (await sql<{ seq: string | number; kind: string }>`
        select seq, kind from audit_log
        where seq > ${firstOff.seq} and decision in ('ok', 'allowed') and detail->>'actor' = 'admin'
          and kind not in ('admin.admin_token_configured', 'admin.admin_token_disabled')
        order by seq
        limit ${MAX_FINDINGS * 10}`.execute(db)).rows.map((r) => ({ seq: Number(r.seq), kind: r.kind, detail: {} as Record<string, unknown>, act: true }))
    : [];
  const entries = [...token.map((e) => ({ seq: e.seq, kind: e.kind, detail: e.detail, act: false })), ...acts].sort((a, b) => a.seq - b.seq);
  const disabled = new Map<string, number>();
  let current: string | null = null;
  let named = 0;
  for (const r of entries) {
    const d = r.detail;
    if (r.act) {
      if (current && disabled.has(current) && named++ < MAX_FINDINGS) {
        add({ table: 'admin_token_revocations', key: `seq ${r.seq}`, problem: `${r.kind} by admin after the admin token in force was disabled (seq ${disabled.get(current)}): its revocation was undone around Warden` });
      }
    } else if (r.kind === 'admin.admin_token_configured') {
      current = str(d.fingerprint);
      if (current && d.disabled === true && !disabled.has(current)) disabled.set(current, r.seq);
    } else {
      const fp = str(d.fingerprint) ?? current;
      if (fp && !disabled.has(fp)) disabled.set(fp, r.seq);
    }
  }
  const present = new Set(rows.map((r) => trailFingerprint(Buffer.from(r.fingerprint))));
  for (const [fp, seq] of disabled) {
    if (!present.has(fp)) add({ table: 'admin_token_revocations', key: fp, problem: `the trail disabled this admin token (seq ${seq}) but its revocation row is gone` });
  }
  return rows.length;
}
