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
import { MAX_FINDINGS, str, type Add } from './trail.js';

export async function reconcileAdminToken(db: Kysely<Database>, add: Add): Promise<number> {
  const first = await db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.min('seq').as('seq'))
    .where('kind', 'in', ['admin.admin_token_configured', 'admin.admin_token_disabled'])
    .where('decision', '=', 'ok')
    .executeTakeFirst();
  const rows = await db.selectFrom('admin_token_revocations').select('fingerprint').execute();
  if (first?.seq == null) return rows.length;
  // The token entries, and every act by `admin` after the first of them (seq-ordered; the primary key's range).
  const entries = await sql<{ seq: string | number; kind: string; detail: unknown }>`
    select seq, kind, detail from audit_log
    where seq >= ${first.seq} and decision in ('ok', 'allowed')
      and (kind in ('admin.admin_token_configured', 'admin.admin_token_disabled') or detail->>'actor' = 'admin')
    order by seq`.execute(db);
  const disabled = new Map<string, number>();
  let current: string | null = null;
  let acts = 0;
  for (const r of entries.rows) {
    const d = (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail ?? {}) as Record<string, unknown>;
    if (r.kind === 'admin.admin_token_configured') {
      current = str(d.fingerprint);
      if (current && d.disabled === true && !disabled.has(current)) disabled.set(current, Number(r.seq));
    } else if (r.kind === 'admin.admin_token_disabled') {
      const fp = str(d.fingerprint) ?? current;
      if (fp && !disabled.has(fp)) disabled.set(fp, Number(r.seq));
    } else if (current && disabled.has(current) && acts++ < MAX_FINDINGS) {
      add({ table: 'admin_token_revocations', key: `seq ${r.seq}`, problem: `${r.kind} by admin after the admin token in force was disabled (seq ${disabled.get(current)}): its revocation was undone around Warden` });
    }
  }
  const present = new Set(rows.map((r) => trailFingerprint(Buffer.from(r.fingerprint))));
  for (const [fp, seq] of disabled) {
    if (!present.has(fp)) add({ table: 'admin_token_revocations', key: fp, problem: `the trail disabled this admin token (seq ${seq}) but its revocation row is gone` });
  }
  return rows.length;
}
