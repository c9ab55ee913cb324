import { sql, type Kysely } from 'kysely';

/**
 * Detector settings saved from the console (the Insight domain): one row per detector, its
 * settings merged over the configured detection config when the engine is built (at start).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`create table detector_settings (
       detector text primary key,
       settings jsonb not null,
       updated_by text not null,
       updated_at timestamptz not null)`).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
