import { sql, type Kysely } from 'kysely';

/**
 * Erased parties lose every lookup that leads back to the person (attack review 7: after an
 * erasure a phone search and leak attribution still found the person's parcels through
 * `phone_bidx`, and a later parcel of the same number came back beside the erased ones).
 *
 * - `phone_bidx` becomes nullable: erasure (src/vault/vault.ts, shredSubjects) nulls it.
 * - Rows erased before this migration are brought in line: phone and ID blind indexes nulled,
 *   and the subject id (which is the phone's blind index) replaced by a random one per erased
 *   person, so their rows still count as one person (breach reports) and lead to no one.
 *   `sha256(gen_random_uuid())` is core PostgreSQL (13+) and PGlite: no extension needed.
 *
 * `pipl_erasures` keeps the blind indexes it was written with: it is the record that a person
 * was erased (a later request by the same phone or ID number answers `subject_erased`), and it
 * names no waybill.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    `alter table waybill_parties alter column phone_bidx drop not null`,
    `with erased as (
       select subject_id, sha256(convert_to(gen_random_uuid()::text, 'UTF8')) as unlinked
       from (select distinct subject_id from waybill_parties where erased_at is not null and phone_bidx is not null) s)
     update waybill_parties p
       set subject_id = erased.unlinked, phone_bidx = null, id_bidx = null
       from erased
       where p.subject_id = erased.subject_id and p.erased_at is not null`,
  ]) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
