/**
 * The browser tests (`npm run test:e2e`): Debian's Chromium driven by playwright-core against the
 * real demo. Kept out of `npm test` (their files end in .browser.ts); `.ci/run` runs both.
 */
import { defineConfig } from 'vitest/config';

// The pages' own servers (sso, trace and PIPL pages) run in-process on PGlite: only its template is built.
process.env.WARDEN_TEST_BACKENDS ??= 'pglite';

export default defineConfig({
  test: {
    include: ['test/browser/**/*.browser.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
  },
});
