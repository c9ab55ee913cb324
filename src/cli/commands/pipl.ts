/**
 * PIPL verbs that open the store directly: data-subject requests (`warden subject`), the
 * retention purge (`warden retention run`) and the reports (`warden report`). The actor is
 * `--actor` or the operating-system account; a deletion still takes two different actors.
 * Identifiers are read from the environment or stdin when given as `-`, so a phone number need
 * not sit in the shell history.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { systemClock } from '../../ops/clock.js';
import { operator } from '../../audit/service.js';
import { createSubjects, type RequestKind } from '../../pipl/subjects.js';
import { accessReportMarkdown, createAccessReports } from '../../pipl/access-report.js';
import { createRetention, loadRetentionPolicy } from '../../pipl/retention.js';
import { loadWorkCalendar } from '../../pipl/working-days.js';
import type { Actor } from '../../identity/types.js';
import { breachReportDoc, createBreachReports, type BreachSource } from '../../pipl/breach.js';
import { complianceReportDoc, createCompliance } from '../../pipl/compliance.js';
import { toMarkdown, type Doc } from '../../pipl/document.js';
import { toDocx } from '../../pipl/docx.js';
import { toPdf } from '../../pipl/pdf.js';
import { withOpenedVault, withStoreOptions } from './store-command.js';


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
  const subject = program.command('subject').description('Data-subject requests (PIPL Art. 44–47): access, correction, deletion (correction and deletion approved by a second person)');
  subjectVerb(subject, 'access', 'File an access request and print the Chinese access report (Markdown; --out to write a file)')
    .option('--out <file>', 'write the report here instead of stdout')
    .action(async (opts: { data?: string; phone?: string; idNumber?: string; actor?: string; identityVerified?: boolean; out?: string }) => {
      await withOpenedVault(opts, async ({ config, store, trail, keyring }) => {
        const subjects = createSubjects({ db: store.db, audit: trail.writer, clock: systemClock, keyring, calendar: loadWorkCalendar(config.holidayCalendarFile) });
        const req = await subjects.file({ kind: 'access', phone: fromStdin(opts.phone), id_number: fromStdin(opts.idNumber), identity_verified: opts.identityVerified === true }, cliActor(opts.actor), ctx);
        const report = await createAccessReports({ db: store.db, audit: trail.writer, clock: systemClock, subjects }).read(req.id, cliActor(opts.actor), ctx);
        const md = accessReportMarkdown(report);
        if (opts.out) writeFileSync(opts.out, md);
        else process.stdout.write(md);
        console.error(`request ${req.id}: ${report.records.length} records, ${report.reveals.length} reveals`);
      });
    });
  subjectVerb(subject, 'correction', 'File a correction of the person\'s name or address on every waybill they are on (pending until `warden subject approve` by another actor)')
    .requiredOption('--field <field>', 'name or address')
    .requiredOption('--value <value>', 'the corrected value ("-": read from stdin)')
    .action(async (opts: { data?: string; phone?: string; idNumber?: string; actor?: string; identityVerified?: boolean; field: string; value: string }) => {
      await withOpenedVault(opts, async ({ config, store, trail, keyring }) => {
        const subjects = createSubjects({ db: store.db, audit: trail.writer, clock: systemClock, keyring, calendar: loadWorkCalendar(config.holidayCalendarFile) });
        const req = await subjects.file({ kind: 'correction', phone: fromStdin(opts.phone), id_number: fromStdin(opts.idNumber), identity_verified: opts.identityVerified === true, correction: { field: opts.field, value: fromStdin(opts.value)! } }, cliActor(opts.actor), ctx);
        console.log(JSON.stringify(req));
      });
    });
  subjectVerb(subject, 'deletion', 'File a deletion request (pending until `warden subject approve` by another actor)')
    .action(async (opts: { data?: string; phone?: string; idNumber?: string; actor?: string; identityVerified?: boolean }) => {
      await withOpenedVault(opts, async ({ config, store, trail, keyring }) => {
        const subjects = createSubjects({ db: store.db, audit: trail.writer, clock: systemClock, keyring, calendar: loadWorkCalendar(config.holidayCalendarFile) });
        console.log(JSON.stringify(await subjects.file({ kind: 'deletion', phone: fromStdin(opts.phone), id_number: fromStdin(opts.idNumber), identity_verified: opts.identityVerified === true }, cliActor(opts.actor), ctx)));
      });
    });
  withStoreOptions(subject.command('approve <request>'))
    .description('Approve a pending deletion (the person\'s data keys are destroyed) or correction (applied), as a different actor from who filed it')
    .option('--actor <name>', 'who approves (default: os:<the operating-system account>)')
    .action(async (request: string, opts: { data?: string; actor?: string }) => {
      await withOpenedVault(opts, async ({ config, store, trail, keyring }) => {
        const subjects = createSubjects({ db: store.db, audit: trail.writer, clock: systemClock, keyring, calendar: loadWorkCalendar(config.holidayCalendarFile) });
        console.log(JSON.stringify(await subjects.approve(request, cliActor(opts.actor), ctx)));
      });
    });
  withStoreOptions(subject.command('list'))
    .description('Requests with their state and deadline')
    .action(async (opts: { data?: string }) => {
      await withOpenedVault(opts, async ({ config, store, trail, keyring }) => {
        for (const r of await createSubjects({ db: store.db, audit: trail.writer, clock: systemClock, keyring, calendar: loadWorkCalendar(config.holidayCalendarFile) }).list({ limit: 500 })) console.log(JSON.stringify(r));
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
      await withOpenedVault(opts, async ({ config, store, trail }) => {
        const r = createRetention({ db: store.db, audit: trail.writer, clock: systemClock, policy: loadRetentionPolicy(config.retentionFile) });
        const result = await r.run({ dryRun: opts.dryRun ?? false, batchSize, actor: opts.actor ?? operator(), onBatch: (n) => void process.stderr.write(`\r${n} records`) });
        process.stderr.write('\n');
        console.log(JSON.stringify(result));
      });
    });

  const report = program.command('report').description('PIPL reports, in Chinese: breach (Art. 57) and compliance audit (Art. 54)');
  withStoreOptions(report.command('breach'))
    .description('Draft the breach report from an alert, a case, or accounts and a window')
    .option('--alert <id>', 'an alert id')
    .option('--case <id>', 'a case id')
    .option('--accounts <list>', 'comma-separated accounts (with --from and --to)')
    .option('--from <iso>', 'window start')
    .option('--to <iso>', 'window end')
    .option('--format <f>', 'md, docx, pdf or json', 'md')
    .option('--out <file>', 'write here (required for docx and pdf)')
    .option('--actor <name>', 'who drafts it (default: os:<the operating-system account>)')
    .action(async (opts: { data?: string; alert?: string; case?: string; accounts?: string; from?: string; to?: string; format: string; out?: string; actor?: string }) => {
      const sources = [opts.alert, opts.case, opts.accounts].filter((x) => x !== undefined).length;
      if (sources !== 1) throw Object.assign(new Error('name exactly one of --alert, --case or --accounts'), { exitCode: 2 });
      if (opts.accounts && (!opts.from || !opts.to)) throw Object.assign(new Error('--accounts needs --from and --to'), { exitCode: 2 });
      const source: BreachSource = opts.alert ? { kind: 'alert', alert: opts.alert } : opts.case ? { kind: 'case', case: opts.case } : { kind: 'accounts', accounts: opts.accounts!.split(',').map((a) => a.trim()).filter(Boolean), from: opts.from!, to: opts.to! };
      await withOpenedVault(opts, async ({ store, trail }) => {
        const r = await createBreachReports({ db: store.db, audit: trail.writer, clock: systemClock }).read(source, cliActor(opts.actor), ctx);
        await emit(opts.format, r, breachReportDoc(r), opts.out);
        console.error(`breach report: ${r.records} records, ${r.people} people, ${r.accounts.length} accounts`);
      });
    });
  withStoreOptions(report.command('compliance'))
    .description('The compliance audit report for a period')
    .requiredOption('--from <iso>', 'period start')
    .option('--to <iso>', 'period end (default: now)')
    .option('--format <f>', 'md, docx, pdf or json', 'md')
    .option('--out <file>', 'write here (required for docx and pdf)')
    .option('--actor <name>', 'who runs it (default: os:<the operating-system account>)')
    .action(async (opts: { data?: string; from: string; to?: string; format: string; out?: string; actor?: string }) => {
      await withOpenedVault(opts, async ({ config, store, trail }) => {
        const c = createCompliance({ db: store.db, audit: trail.writer, clock: systemClock, verify: () => trail.verify(), retentionPolicy: loadRetentionPolicy(config.retentionFile) });
        const r = await c.read(new Date(opts.from), opts.to ? new Date(opts.to) : new Date(), cliActor(opts.actor), ctx);
        await emit(opts.format, r, complianceReportDoc(r), opts.out);
      });
    });
}

async function emit(format: string, data: unknown, doc: Doc, out: string | undefined): Promise<void> {
  if (!['md', 'docx', 'pdf', 'json'].includes(format)) throw Object.assign(new Error('--format must be md, docx, pdf or json'), { exitCode: 2 });
  if ((format === 'docx' || format === 'pdf') && !out) throw Object.assign(new Error(`--format ${format} needs --out <file>`), { exitCode: 2 });
  const body = format === 'md' ? toMarkdown(doc) : format === 'json' ? JSON.stringify(data, null, 2) + '\n' : format === 'docx' ? await toDocx(doc) : await toPdf(doc);
  if (out) writeFileSync(out, body);
  else process.stdout.write(body);
}
