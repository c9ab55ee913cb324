import { sql, type Kysely } from 'kysely';

/**
 * Two people grant work (round-two review): a service token that may send assignments or tickets
 * makes reveals possible for whoever it names, so one issued by a person waits for a second
 * person's approval before it is accepted. Tokens already issued stay approved.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `alter table service_tokens add column approval text not null default 'approved' check (approval in ('pending', 'approved'))`,
    `alter table service_tokens add column requested_by text`,
    `alter table service_tokens add column approved_by text`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
