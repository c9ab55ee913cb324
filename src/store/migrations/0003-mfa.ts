import { sql, type Kysely } from 'kysely';

/** A TOTP second factor per account (encrypted), for step-up after a detection response. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`alter table accounts add column mfa_secret bytea`).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
