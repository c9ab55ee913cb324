/**
 * `node --import ./resolve-log.mjs …`: writes every ESM specifier the process resolves, one a
 * line, to the file named by WARDEN_RESOLVE_LOG (test/e2e/cli-startup.test.ts). Node 20 runs
 * module hooks on their own thread, so the log goes to a file rather than to a stream.
 */
import { register } from 'node:module';

register(new URL('./resolve-log-hooks.mjs', import.meta.url));
