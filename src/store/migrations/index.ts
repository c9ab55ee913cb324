import type { Migration, MigrationProvider } from 'kysely';
import * as initial from './0001-initial.js';
import * as watch from './0002-watch.js';
import * as mfa from './0003-mfa.js';
import * as console_ from './0009-console.js';

/** Migrations are compiled in (no directory scan), so the same set ships in dist/ and runs in tests. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-watch': watch,
  '0003-mfa': mfa,
  '0009-console': console_,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
