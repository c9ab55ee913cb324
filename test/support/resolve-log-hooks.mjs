/** The resolve hook registered by resolve-log.mjs: records each specifier, then resolves as usual. */
import { appendFileSync } from 'node:fs';

const log = process.env.WARDEN_RESOLVE_LOG;

export async function resolve(specifier, context, next) {
  if (log) appendFileSync(log, `${specifier}\n`);
  return next(specifier, context);
}
