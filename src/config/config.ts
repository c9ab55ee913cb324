/**
 * One validated configuration, from environment variables and CLI flags. Every key has a
 * description; there are no secret defaults; all problems are reported at once.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

export const ConfigSchema = Type.Object({
  dataDir: Type.String({ description: 'Embedded store (PGlite) data directory; also holds the dev master key', default: './warden-data' }),
  databaseUrl: Type.Optional(Type.String({ description: 'PostgreSQL URL (WARDEN_DATABASE_URL); when set, PostgreSQL is used instead of the embedded store' })),
  host: Type.String({ description: 'HTTP listen address (WARDEN_HOST)', default: '127.0.0.1' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, description: 'HTTP port (WARDEN_PORT)', default: 8080 }),
  adminToken: Type.Optional(Type.String({ minLength: 16, description: 'Bootstrap admin bearer token (WARDEN_ADMIN_TOKEN), at least 16 characters' })),
  masterKey: Type.Optional(Type.String({ description: 'Master key, 32 bytes as base64 or hex (WARDEN_MASTER_KEY)' })),
  masterKeyFile: Type.Optional(Type.String({ description: 'File holding the master key (WARDEN_MASTER_KEY_FILE)' })),
  previousMasterKey: Type.Optional(Type.String({ description: 'The master key being rotated away from (WARDEN_MASTER_KEY_PREVIOUS)' })),
  policyFile: Type.Optional(Type.String({ description: 'Access-policy YAML/JSON overriding the defaults (WARDEN_POLICY_FILE)' })),
  sessionTtlMinutes: Type.Integer({ minimum: 1, maximum: 7 * 24 * 60, description: 'Session lifetime (WARDEN_SESSION_TTL_MINUTES)', default: 720 }),
  maxSessionsPerAccount: Type.Integer({ minimum: 1, maximum: 100, description: 'Concurrent live sessions per account; the oldest is ended beyond it (WARDEN_MAX_SESSIONS)', default: 2 }),
  bodyLimitBytes: Type.Integer({ minimum: 1024, description: 'Largest JSON body accepted (WARDEN_BODY_LIMIT)', default: 1024 * 1024 }),
  ingestLimitBytes: Type.Integer({ minimum: 1024, description: 'Largest NDJSON body on POST /api/v1/events (WARDEN_INGEST_LIMIT)', default: 16 * 1024 * 1024 }),
  auditCheckpointEvery: Type.Integer({ minimum: 1, description: 'Signed tree head at every multiple of N audit entries (WARDEN_AUDIT_HEAD_EVERY_ENTRIES, formerly WARDEN_AUDIT_CHECKPOINT_EVERY); verifiers use the largest N ever configured', default: 1000 }),
  auditHeadEverySeconds: Type.Integer({ minimum: 1, maximum: 3600, description: 'Signed tree head at least this often while the audit tree grows (WARDEN_AUDIT_HEAD_EVERY_SECONDS)', default: 5 }),
  auditSigningKey: Type.Optional(Type.String({ description: 'Ed25519 audit signing key: 32-byte seed as base64/hex, or PKCS#8 PEM (WARDEN_AUDIT_SIGNING_KEY); kept outside the store' })),
  auditSigningKeyFile: Type.Optional(Type.String({ description: 'File holding the audit signing key (WARDEN_AUDIT_SIGNING_KEY_FILE)' })),
  auditPublicKeys: Type.Optional(Type.String({ description: 'Pinned audit public keys, comma-separated, raw 32 bytes as base64/hex (WARDEN_AUDIT_PUBLIC_KEYS); verification trusts only these' })),
  witness: Type.Optional(Type.String({ description: 'Witnesses for signed tree heads, comma-separated: file:PATH, http(s)://host:port (warden witness serve), postgres://… (INSERT-only table) (WARDEN_WITNESS)' })),
  poolSize: Type.Integer({ minimum: 1, maximum: 200, description: 'PostgreSQL connections (WARDEN_DB_POOL)', default: 10 }),
  logLevel: Type.String({ description: 'pino log level (WARDEN_LOG_LEVEL)', default: 'info' }),
  detect: Type.Boolean({ description: 'Run the live detection engine on every event (WARDEN_DETECT=off to disable)', default: true }),
  detectConfigFile: Type.Optional(Type.String({ description: 'Detection config YAML/JSON over the defaults (WARDEN_DETECT_CONFIG)' })),
  alertWebhookUrl: Type.Optional(Type.String({ description: 'POST medium+ alerts here as JSON (WARDEN_ALERT_WEBHOOK_URL)' })),
  alertWebhookSecret: Type.Optional(Type.String({ minLength: 16, description: 'HMAC key for the x-warden-signature header (WARDEN_ALERT_WEBHOOK_SECRET)' })),
  trustProxy: Type.Optional(Type.String({ description: 'Take the client IP from X-Forwarded-For when the peer matches (e.g. "127.0.0.1" or "10.0.0.0/8") (WARDEN_TRUST_PROXY)' })),
  newDevicesPerDay: Type.Integer({ minimum: 1, maximum: 100, description: 'New devices an account may enrol per 24 h (logins without a device credential) (WARDEN_NEW_DEVICES_PER_DAY)', default: 3 }),
  ingestMaxAgeSeconds: Type.Integer({ minimum: 1, description: 'Oldest event time POST /api/v1/events takes live, in seconds before now; older lines are refused (history goes through mode=backfill) (WARDEN_INGEST_MAX_AGE)', default: 24 * 3600 }),
  ingestMaxSkewSeconds: Type.Integer({ minimum: 0, maximum: 3600, description: 'How far ahead of now an event time may be, in seconds (producer clock skew); later lines are refused, in every mode (WARDEN_INGEST_MAX_SKEW)', default: 300 }),
  retentionFile: Type.Optional(Type.String({ description: 'PII retention policy YAML/JSON: days after delivery per party and field, ID numbers shortest (WARDEN_RETENTION_FILE; docs/pipl.md)' })),
  holidayCalendarFile: Type.Optional(Type.String({ description: 'Public holidays and swapped working days (YAML/JSON {holidays, workdays} of YYYY-MM-DD) added to the built-in State Council calendar, for request deadlines (WARDEN_HOLIDAY_CALENDAR_FILE; docs/pipl.md)' })),
  reconcileEveryMinutes: Type.Integer({ minimum: 0, maximum: 7 * 24 * 60, description: 'Replay the trail against the state rows (`warden audit reconcile`) every N minutes, naming drift in the log and the metric warden_state_reconcile_findings; 0 = only by the CLI (WARDEN_RECONCILE_EVERY_MINUTES)', default: 60 }),
  retentionEveryMinutes: Type.Integer({ minimum: 0, maximum: 7 * 24 * 60, description: 'Run the retention purge every N minutes, 0 = only by `warden retention run` (WARDEN_RETENTION_EVERY_MINUTES)', default: 60 }),
  attributionMinRows: Type.Integer({ minimum: 1, maximum: 100_000, description: 'Fewest distinct usable rows a leaked dump uploaded to POST /api/v1/attributions may have: a leak is a dump, not a lookup (WARDEN_ATTRIBUTION_MIN_ROWS; `warden attribute` on the host is not bound)', default: 20 }),
  attributionRunsPerHour: Type.Integer({ minimum: 0, description: 'Leak-attribution runs an analyst may start per hour over HTTP; beyond it 429 rate_limited, audited (WARDEN_ATTRIBUTION_RUNS_PER_HOUR)', default: 10 }),
  attributionRunsPerDay: Type.Integer({ minimum: 0, description: 'Leak-attribution runs an analyst may start per 24 h over HTTP (WARDEN_ATTRIBUTION_RUNS_PER_DAY)', default: 30 }),
  throttlePerHour: Type.Integer({ minimum: 0, description: 'Records (not requests) an account under the throttle response may still reveal per hour (WARDEN_THROTTLE_PER_HOUR)', default: 10 }),
  bus: Type.Optional(Type.String({ pattern: '^nats://', description: 'Event bus: unset = in-process (embedded default); nats://host:port = NATS JetStream, detection in `warden watch` workers (WARDEN_BUS)' })),
  busStream: Type.String({ pattern: '^[A-Za-z0-9_-]+$', description: 'JetStream stream of activity events (WARDEN_BUS_STREAM)', default: 'WARDEN_EVENTS' }),
  busSubject: Type.String({ pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$', description: 'Subject prefix of the stream; partition p is <prefix>.<p> (WARDEN_BUS_SUBJECT)', default: 'warden.events' }),
  busPartitions: Type.Integer({ minimum: 1, maximum: 1024, description: 'Partitions of the stream (by account); fixed when the stream is created (WARDEN_BUS_PARTITIONS)', default: 4 }),
  siem: Type.Optional(Type.String({ description: 'SIEM sinks, comma-separated: syslog+tls://host:port, syslog+tcp://host:port, syslog+udp://host:port (RFC 5424 + CEF), http(s)://… (OCSF JSON POST), file:PATH (OCSF JSON lines) (WARDEN_SIEM)' })),
  siemAudit: Type.Union([Type.Literal('all'), Type.Literal('changes'), Type.Literal('none')], { description: 'Audit entries forwarded to the SIEM: all, changes (all but allowed views and searches), none (WARDEN_SIEM_AUDIT)', default: 'changes' }),
  siemQueueDir: Type.Optional(Type.String({ description: 'Directory of the SIEM on-disk queues (WARDEN_SIEM_QUEUE_DIR); default <dataDir>/siem-queue' })),
  siemQueueMaxBytes: Type.Integer({ minimum: 65536, description: 'Largest on-disk queue per SIEM sink; beyond it new events are counted and not forwarded (WARDEN_SIEM_QUEUE_MAX_BYTES)', default: 256 * 1024 * 1024 }),
  siemTlsCaFile: Type.Optional(Type.String({ description: 'PEM CA bundle trusted for syslog over TLS (WARDEN_SIEM_TLS_CA_FILE); the system CAs otherwise' })),
  localPasswords: Type.Boolean({ description: 'Accept local account passwords on POST /api/v1/sessions (WARDEN_LOCAL_PASSWORDS=off: single sign-on only)', default: true }),
  oidcIssuer: Type.Optional(Type.String({ description: 'OpenID Connect issuer URL for single sign-on (WARDEN_OIDC_ISSUER); discovery at <issuer>/.well-known/openid-configuration' })),
  oidcClientId: Type.Optional(Type.String({ description: 'Warden\'s client id at the identity provider (WARDEN_OIDC_CLIENT_ID)' })),
  oidcClientSecret: Type.Optional(Type.String({ description: 'Client secret (WARDEN_OIDC_CLIENT_SECRET); unset: a public client (PKCE only)' })),
  oidcRedirectUri: Type.Optional(Type.String({ description: 'Redirect URI registered at the provider, ending in /api/v1/sso/callback (WARDEN_OIDC_REDIRECT_URI)' })),
  oidcMapping: Type.Optional(Type.String({ description: 'Claim and group mapping as JSON (WARDEN_OIDC_MAPPING): {"account_claim","groups_claim","role_claim","site_claim","groups":{GROUP:{"role","site"}},"mfa_acr":[…],"step_up_acr"}; see docs/integrations.md' })),
});
export type Config = Static<typeof ConfigSchema>;

const ENV: Record<string, keyof Config> = {
  WARDEN_DATA_DIR: 'dataDir',
  WARDEN_DATABASE_URL: 'databaseUrl',
  WARDEN_HOST: 'host',
  WARDEN_PORT: 'port',
  WARDEN_ADMIN_TOKEN: 'adminToken',
  WARDEN_MASTER_KEY: 'masterKey',
  WARDEN_MASTER_KEY_FILE: 'masterKeyFile',
  WARDEN_MASTER_KEY_PREVIOUS: 'previousMasterKey',
  WARDEN_POLICY_FILE: 'policyFile',
  WARDEN_SESSION_TTL_MINUTES: 'sessionTtlMinutes',
  WARDEN_MAX_SESSIONS: 'maxSessionsPerAccount',
  WARDEN_BODY_LIMIT: 'bodyLimitBytes',
  WARDEN_INGEST_LIMIT: 'ingestLimitBytes',
  WARDEN_AUDIT_CHECKPOINT_EVERY: 'auditCheckpointEvery',
  WARDEN_AUDIT_HEAD_EVERY_ENTRIES: 'auditCheckpointEvery',
  WARDEN_AUDIT_HEAD_EVERY_SECONDS: 'auditHeadEverySeconds',
  WARDEN_AUDIT_SIGNING_KEY: 'auditSigningKey',
  WARDEN_AUDIT_SIGNING_KEY_FILE: 'auditSigningKeyFile',
  WARDEN_AUDIT_PUBLIC_KEYS: 'auditPublicKeys',
  WARDEN_WITNESS: 'witness',
  WARDEN_DB_POOL: 'poolSize',
  WARDEN_LOG_LEVEL: 'logLevel',
  WARDEN_DETECT: 'detect',
  WARDEN_DETECT_CONFIG: 'detectConfigFile',
  WARDEN_ALERT_WEBHOOK_URL: 'alertWebhookUrl',
  WARDEN_ALERT_WEBHOOK_SECRET: 'alertWebhookSecret',
  WARDEN_THROTTLE_PER_HOUR: 'throttlePerHour',
  WARDEN_ATTRIBUTION_MIN_ROWS: 'attributionMinRows',
  WARDEN_ATTRIBUTION_RUNS_PER_HOUR: 'attributionRunsPerHour',
  WARDEN_ATTRIBUTION_RUNS_PER_DAY: 'attributionRunsPerDay',
  WARDEN_TRUST_PROXY: 'trustProxy',
  WARDEN_INGEST_MAX_AGE: 'ingestMaxAgeSeconds',
  WARDEN_INGEST_MAX_SKEW: 'ingestMaxSkewSeconds',
  WARDEN_NEW_DEVICES_PER_DAY: 'newDevicesPerDay',
  WARDEN_BUS: 'bus',
  WARDEN_BUS_STREAM: 'busStream',
  WARDEN_BUS_SUBJECT: 'busSubject',
  WARDEN_BUS_PARTITIONS: 'busPartitions',
  WARDEN_RETENTION_FILE: 'retentionFile',
  WARDEN_HOLIDAY_CALENDAR_FILE: 'holidayCalendarFile',
  WARDEN_RETENTION_EVERY_MINUTES: 'retentionEveryMinutes',
  WARDEN_RECONCILE_EVERY_MINUTES: 'reconcileEveryMinutes',
  WARDEN_LOCAL_PASSWORDS: 'localPasswords',
  WARDEN_OIDC_ISSUER: 'oidcIssuer',
  WARDEN_OIDC_CLIENT_ID: 'oidcClientId',
  WARDEN_OIDC_CLIENT_SECRET: 'oidcClientSecret',
  WARDEN_OIDC_REDIRECT_URI: 'oidcRedirectUri',
  WARDEN_OIDC_MAPPING: 'oidcMapping',
  WARDEN_SIEM: 'siem',
  WARDEN_SIEM_AUDIT: 'siemAudit',
  WARDEN_SIEM_QUEUE_DIR: 'siemQueueDir',
  WARDEN_SIEM_QUEUE_MAX_BYTES: 'siemQueueMaxBytes',
  WARDEN_SIEM_TLS_CA_FILE: 'siemTlsCaFile',
};

const checker = TypeCompiler.Compile(ConfigSchema);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** Environment first, then explicit overrides (CLI flags). Secrets never appear in the error text. */
export function loadConfig(overrides: Partial<Config> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ConfigSchema.properties)) {
    if ('default' in v) raw[k] = (v as { default: unknown }).default;
  }
  for (const [name, key] of Object.entries(ENV)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    raw[key] = isIntegerKey(key) ? (/^\d+$/.test(value) ? Number(value) : value) : isBooleanKey(key) ? parseBoolean(value) : value;
  }
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) raw[k] = v;
  if (checker.Check(raw)) return raw as Config;
  const problems = [...checker.Errors(raw)].map((e) => {
    const key = e.path.replace(/^\//, '');
    const envName = Object.entries(ENV).find(([, k]) => k === key)?.[0];
    return `${key}${envName ? ` (${envName})` : ''}: ${e.message}`;
  });
  throw new ConfigError([...new Set(problems)]);
}

function isBooleanKey(key: keyof Config): boolean {
  return (ConfigSchema.properties[key] as { type?: string }).type === 'boolean';
}

function parseBoolean(value: string): boolean | string {
  if (/^(1|true|on|yes)$/i.test(value)) return true;
  if (/^(0|false|off|no)$/i.test(value)) return false;
  return value;
}

function isIntegerKey(key: keyof Config): boolean {
  return (ConfigSchema.properties[key] as { type?: string }).type === 'integer';
}
