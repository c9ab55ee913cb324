/**
 * PIPL verbs that open the store directly: data-subject requests (`warden subject`), the
 * retention purge (`warden retention run`) and the reports (`warden report`). The actor is
 * `--actor` or the operating-system account; a deletion still takes two different actors.
 * Identifiers are read from the environment or stdin when given as `-`, so a phone number need
 * not sit in the shell history.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadKeyring } from '../../vault/keyring.js';
import { resolveMasterKeys } from '../../vault/master-key.js';
import { createLogger } from '../../ops/logger.js';
import { createMetrics } from '../../ops/metrics.js';
import { systemClock } from '../../ops/clock.js';
import { createAuditTrail, operator } from '../../audit/service.js';
import { createSubjects, type RequestKind } from '../../pipl/subjects.js';
import { accessReportMarkdown, createAccessReports } from '../../pipl/access-report.js';
import { createRetention, loadRetentionPolicy } from '../../pipl/retention.js';
import type { Actor } from '../../identity/types.js';
import { openConfiguredStore, withStoreOptions } from './store-command.js';
import type { Config } from '../../config/config.js';
import type { Store } from '../../store/db.js';
import type { AuditTrail } from '../../audit/service.js';
import type { Keyring } from '../../vault/keyring.js';

interface Opened {
  config: Config;
  store: Store;
  trail: AuditTrail;
  keyring: Keyring;
}

export async function withPipl<T>(opts: { data?: string }, work: (o: Opened) => Promise<T>): Promise<T> {
  const { config, store } = await openConfiguredStore(opts);
  const logger = createLogger({ level: 'error' });
  try {
    const keyring = await loadKeyring(store.db, resolveMasterKeys(config, logger));
    const trail = await createAuditTrail({ db: store.db, config, metrics: createMetrics(), logger, clock: systemClock, timer: false });
    try {
      return await work({ config, store, trail, keyring });
    } finally {
      await trail.close();
    }
  } finally {
    await store.close();
  }
}

const cliActor = (name?: string): Actor => ({ kind: 'system', name: name ?? operator() });
const ctx = { ip: null, requestId: 'cli' };
const fromStdin = (v: string | undefined) => (v === '-' ? readFileSync(0, 'utf8').trim() : v);

function subjectVerb(subject: Command, kind: RequestKind, description: string): Command {
  return withStoreOptions(subject.command(kind === 'deletion' ? 'delete' : kind === 'correction' ? 'correct' : 'access'))
    .description(description)
    .option('--phone <phone>', 'the person\'s phone number ("-": read from stdin)')
    .option('--id-number <id>', 'the person\'s ID number ("-": read from stdin)')
    .option('--actor <name>', 'who files it, recorded in the audit trail (default: os:<the operating-system account>)')
    .option('--identity-verified', 'the person\'s identity was checked (required)');
}

export function registerPipl(program: Command): void {
  const subject = program.command('subject').description('Data-subject requests (PIPL Art. 44–47): access, correction, deletion (deletion approved by a second person)');
  subjectVerb(subject, 'access', 'File an access request and print the Chinese access report (Markdown; --out to write a file)')
    .option('--out <file>', 'write the report here instead of stdout')
    .action(async (opts: { data?: string; phone?: string; idNumber?: string; actor?: string; identityVerified?: boolean; out?: string }) => {
      await withPipl(opts, async ({ store, trail, keyring }) => {
        const subjects = createSubjects({ db: store.db, audit: trail.writer, clock: systemClock, keyring });
        const req = await subjects.file({ kind: 'access', phone: fromStdin(opts.phone), id_number: fromStdin(opts.idNumber), identity_verified: opts.identityVerified === true }, cliActor(opts.actor), ctx);
        const report = await createAccessReports({ db: store.db, audit: trail.writer, clock: systemClock, subjects }).read(req.id, cliActor(opts.actor), ctx);
        const md = accessReportMarkdown(report);
        if (opts.out) writeFileSync(opts.out, md);
        else process.stdout.write(md);
        console.error(`request ${req.id}: ${report.records.length} records, ${report.reveals.length} reveals`);
      });
    });
  subjectVerb(subject, 'correction', 'Correct the person\'s name or address on every waybill they are on')
    .requiredOption('--field <field>', 'name or address')
    .requiredOption('--value <value>', 'the corrected value ("-": read from stdin)')
    .action(async (opts: { data?: string; phone?: string; idNumber?: string; actor?: string; identityVerified?: boolean; field: string; value: string }) => {
      await withPipl(opts, async ({ store, trail, keyring }) => {
        const subjects = createSubjects({ db: store.db, audit: trail.writer, clock: systemClock, keyring });
        const req = await subjects.file({ kind: 'correction', phone: fromStdin(opts.phone), id_number: fromStdin(opts.idNumber), identity_verified: opts.identityVerified === true, correction: { field: opts.field, value: fromStdin(opts.value)! } }, cliActor(opts.actor), ctx);
        console.log(JSON.stringify(req));
      });
    });
  subjectVerb(subject, 'deletion', 'File a deletion request (pending until `warden subject approve` by another actor)')
    .action(async (opts: { data?: string; phone?: string; idNumber?: string; actor?: string; identityVerified?: boolean }) => {
      await withPipl(opts, async ({ store, trail, keyring }) => {
        const subjects = createSubjects({ db: store.db, audit: trail.writer, clock: systemClock, keyring });
        console.log(JSON.stringify(await subjects.file({ kind: 'deletion', phone: fromStdin(opts.phone), id_number: fromStdin(opts.idNumber), identity_verified: opts.identityVerified === true }, cliActor(opts.actor), ctx)));
      });
    });
  withStoreOptions(subject.command('approve <request>'))
    .description('Approve a pending deletion (a different actor from who filed it): the person\'s data keys are destroyed')
    .option('--actor <name>', 'who approves (default: os:<the operating-system account>)')
    .action(async (request: string, opts: { data?: string; actor?: string }) => {
      await withPipl(opts, async ({ store, trail, keyring }) => {
        const subjects = createSubjects({ db: store.db, audit: trail.writer, clock: systemClock, keyring });
        console.log(JSON.stringify(await subjects.approve(request, cliActor(opts.actor), ctx)));
      });
    });
  withStoreOptions(subject.command('list'))
    .description('Requests with their state and deadline')
    .action(async (opts: { data?: string }) => {
      await withPipl(opts, async ({ store, trail, keyring }) => {
        for (const r of await createSubjects({ db: store.db, audit: trail.writer, clock: systemClock, keyring }).list({ limit: 500 })) console.log(JSON.stringify(r));
      });
    });

  const retention = program.command('retention').description('PII retention (WARDEN_RETENTION_FILE): purge what the policy says is due');
  withStoreOptions(retention.command('run'))
    .description('Purge personal data whose retention period ended, in batches, each audited; --dry-run only counts')
    .option('--dry-run', 'count what is due without purging')
    .option('--batch <n>', 'rows per batch (transaction)', '500')
    .option('--actor <name>', 'who runs it (default: os:<the operating-system account>)')
    .action(async (opts: { data?: string; dryRun?: boolean; batch: string; actor?: string }) => {
      const batchSize = Number(opts.batch);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5000) throw Object.assign(new Error('--batch must be a whole number from 1 to 5000'), { exitCode: 2 });
      await withPipl(opts, async ({ config, store, trail }) => {
        const r = createRetention({ db: store.db, audit: trail.writer, clock: systemClock, policy: loadRetentionPolicy(config.retentionFile) });
        const result = await r.run({ dryRun: opts.dryRun ?? false, batchSize, actor: opts.actor ?? operator(), onBatch: (n) => void process.stderr.write(`\r${n} records`) });
        process.stderr.write('\n');
        console.log(JSON.stringify(result));
      });
    });
}
