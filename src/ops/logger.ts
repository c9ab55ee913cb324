/**
 * pino logger. PII never reaches it: values that carry PII are wrapped in Pii<T>, whose
 * serialisation is "[redacted]", and request logging records route templates, not URLs
 * (a search URL carries a phone number).
 */
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const level = options.level ?? process.env.WARDEN_LOG_LEVEL ?? 'info';
  const base = {
    level,
    base: { service: 'warden' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Defence in depth: authorisation headers and bodies are never logged even if someone passes them.
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'password', '*.password', 'token', '*.token', 'body', '*.body'],
      censor: '[redacted]',
    },
  };
  return options.destination ? pino(base, options.destination) : pino(base);
}
