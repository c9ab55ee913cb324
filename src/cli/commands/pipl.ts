/**
 * PIPL verbs that open the store directly: data-subject requests (`warden subject`), the
 * retention purge (`warden retention run`) and the reports (`warden report`). Identifiers are
 * read from stdin when given as `-`, so a phone number need not sit in the shell history.
 *
 * The actor is always `os:<the operating-system account>` (audit/service.ts `operator`), a name
 * no Warden account may take (identity/accounts.ts): the CLI never claims an account's name
 * (attack review: `--actor ana1` then `--actor ana2` forged both signatures of a deletion). For
 * the same reason the second signature of a two-person rule is never given here: `warden subject
 * approve` is refused (audited) — a second analyst approves through the API or the console, after
 * seeing what will change. Filing stays possible; an access report is printed once approved.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { systemClock } from '../../ops/clock.js';
import type { RequestKind } from '../../pipl/subjects.js';
import type { Actor } from '../../identity/types.js';
import type { BreachSource } from '../../pipl/breach.js';
import { toMarkdown, type Doc } from '../../pipl/document.js';
import { withOpenedVault, withStoreOptions, type OpenedVault } from './store-command.js';

/** Who acts from the CLI: the operating-system account, never a name given on the command line. */
const operator = async (): Promise<string> => (await import('../../audit/service.js')).operator();
const cliActor = async (): Promise<Actor> => ({ kind: 'system', name: await operator() });
const ctx = { ip: null, requestId: 'cli' };
const fromStdin = (v: string | undefined) => (v === '-' ? readFileSync(0, 'utf8').trim() : v);

function subjectVerb(subject: Command, kind: RequestKind, description: string): Command {
  return withStoreOptions(subject.command(kind === 'deletion' ? 'delete' : kind === 'correction' ? 'correct' : 'access'))
    .description(description)
    .option('--phone <phone>', 'the person\'s phone number ("-": read from stdin)')
    .option('--id-number <id>', 'the person\'s ID number ("-": read from stdin)')
    .option('--identity-verified', 'the person\'s identity was checked (required)');
}

export function registerPipl(program: Command): void {
  const subject = program.command('subject').description('Data-subject requests (PIPL Art. 44–47): access, correction, deletion (correction and deletion approved by a second person)');
  subjectVerb(subject, 'access', 'File an access request (pending until a second analyst approves it through the API or console; then `warden subject report ID`)')
    .action(async (opts: { data?: string; phone?: string; idNumber?: string; identityVerified?: boolean }) => {
      await withOpenedVault(opts, async (o) => {
        const subjects = await subjectsOf(o);
        console.log(JSON.stringify(await subjects.file({ kind: 'access', phone: fromStdin(opts.phone), id_number: fromStdin(opts.idNumber), identity_verified: opts.identityVerified === true }, await cliActor(), ctx)));
      });
    });
  withStoreOptions(subject.command('report <request>'))
    .description('Print the Chinese access report of an approved access request (Markdown; --out to write a file); audited')
    .option('--out <file>', 'write the report here instead of stdout')
    .action(async (request: string, opts: { data?: string; out?: string }) => {
      const { accessReportMarkdown, createAccessReports } = await import('../../pipl/access-report.js');
      await withOpenedVault(opts, async (o) => {
        const report = await createAccessReports({ db: o.store.db, audit: o.trail.writer, clock: systemClock, subjects: await subjectsOf(o) }).read(request, await cliActor(), ctx);
        const md = accessReportMarkdown(report);
        if (opts.out) writeFileSync(opts.out, md);
        else process.stdout.write(md);
        console.error(`request ${request}: ${report.records.length} records, ${report.reveals.length} reveals`);
      });
    });
  subjectVerb(subject, 'correction', 'File a correction of the person\'s name or address on every waybill they are on (pending until a second analyst approves it through the API or console)')
    .requiredOption('--field <field>', 'name or address')
    .requiredOption('--value <value>', 'the corrected value ("-": read from stdin)')
    .action(async (opts: { data?: string; phone?: string; idNumber?: string; identityVerified?: boolean; field: string; value: string }) => {
      await withOpenedVault(opts, async (o) => {
        const subjects = await subjectsOf(o);
        console.log(JSON.stringify(await subjects.file({ kind: 'correction', phone: fromStdin(opts.phone), id_number: fromStdin(opts.idNumber), identity_verified: opts.identityVerified === true, correction: { field: opts.field, value: fromStdin(opts.value)! } }, await cliActor(), ctx)));
      });
    });
  subjectVerb(subject, 'deletion', 'File a deletion request (pending until a second analyst approves it through the API or console)')
    .action(async (opts: { data?: string; phone?: string; idNumber?: string; identityVerified?: boolean }) => {
      await withOpenedVault(opts, async (o) => {
        const subjects = await subjectsOf(o);
        console.log(JSON.stringify(await subjects.file({ kind: 'deletion', phone: fromStdin(opts.phone), id_number: fromStdin(opts.idNumber), identity_verified: opts.identityVerified === true }, await cliActor(), ctx)));
      });
    });
  withStoreOptions(subject.command('approve <request>'))
    .description('Refused: a request is approved by a second analyst through the API or console (POST /api/v1/subjects/requests/ID/approve), never from the CLI')
    .action(async (request: string, opts: { data?: string }) => {
      await withOpenedVault(opts, async ({ trail }) => {
        const refusal = 'two-person approvals are not given from the CLI (it acts as an operating-system account, not an analyst): approve through the API or the console as a second analyst, after reading what the request will change';
        await trail.writer.append([{ kind: 'pipl.request_approved', ts: new Date(systemClock.now()), decision: 'denied', reason: 'forbidden', account: null, ip: null, requestId: 'cli', detail: { request: /^dsr-[0-9a-f-]{36}$/.test(request) ? request : null, actor: await operator(), via: 'cli' } }]);
        throw Object.assign(new Error(refusal), { exitCode: 3 });
      });
    });
  withStoreOptions(subject.command('list'))
    .description('Requests with their state and deadline')
    .action(async (opts: { data?: string }) => {
      await withOpenedVault(opts, async (o) => {
        const subjects = await subjectsOf(o);
        for (const r of await subjects.list({ limit: 500 })) console.log(JSON.stringify(r));
      });
    });

  const retention = program.command('retention').description('PII retention (WARDEN_RETENTION_FILE): purge what the policy says is due');
  withStoreOptions(retention.command('run'))
    .description('Purge personal data whose retention period ended, in batches, each audited; --dry-run only counts')
    .option('--dry-run', 'count what is due without purging')
    .option('--batch <n>', 'rows per batch (transaction)', '500')
    .action(async (opts: { data?: string; dryRun?: boolean; batch: string }) => {
      const batchSize = Number(opts.batch);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5000) throw Object.assign(new Error('--batch must be a whole number from 1 to 5000'), { exitCode: 2 });
      const { createRetention, loadRetentionPolicy } = await import('../../pipl/retention.js');
      await withOpenedVault(opts, async ({ config, store, trail }) => {
        const r = createRetention({ db: store.db, audit: trail.writer, clock: systemClock, policy: loadRetentionPolicy(config.retentionFile) });
        const result = await r.run({ dryRun: opts.dryRun ?? false, batchSize, actor: await operator(), onBatch: (n) => void process.stderr.write(`\r${n} records`) });
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
    .action(async (opts: { data?: string; alert?: string; case?: string; accounts?: string; from?: string; to?: string; format: string; out?: string }) => {
      const sources = [opts.alert, opts.case, opts.accounts].filter((x) => x !== undefined).length;
      if (sources !== 1) throw Object.assign(new Error('name exactly one of --alert, --case or --accounts'), { exitCode: 2 });
      if (opts.accounts && (!opts.from || !opts.to)) throw Object.assign(new Error('--accounts needs --from and --to'), { exitCode: 2 });
      const source: BreachSource = opts.alert ? { kind: 'alert', alert: opts.alert } : opts.case ? { kind: 'case', case: opts.case } : { kind: 'accounts', accounts: opts.accounts!.split(',').map((a) => a.trim()).filter(Boolean), from: opts.from!, to: opts.to! };
      const { breachReportDoc, createBreachReports } = await import('../../pipl/breach.js');
      await withOpenedVault(opts, async ({ store, trail }) => {
        const r = await createBreachReports({ db: store.db, audit: trail.writer, clock: systemClock }).read(source, await cliActor(), ctx);
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
    .action(async (opts: { data?: string; from: string; to?: string; format: string; out?: string }) => {
      const { complianceReportDoc, createCompliance } = await import('../../pipl/compliance.js');
      const { loadRetentionPolicy } = await import('../../pipl/retention.js');
      await withOpenedVault(opts, async ({ config, store, trail }) => {
        const c = createCompliance({ db: store.db, audit: trail.writer, clock: systemClock, verify: () => trail.verify(), retentionPolicy: loadRetentionPolicy(config.retentionFile) });
        const r = await c.read(new Date(opts.from), opts.to ? new Date(opts.to) : new Date(), await cliActor(), ctx);
        await emit(opts.format, r, complianceReportDoc(r), opts.out);
      });
    });
}

/** The requests service as the CLI uses it: no quota ledger, since its actor is never an account. */
async function subjectsOf({ config, store, trail, keyring }: OpenedVault) {
  const { createSubjects } = await import('../../pipl/subjects.js');
  const { loadWorkCalendar } = await import('../../pipl/working-days.js');
  return createSubjects({ db: store.db, audit: trail.writer, clock: systemClock, keyring, calendar: loadWorkCalendar(config.holidayCalendarFile), quota: null });
}

async function emit(format: string, data: unknown, doc: Doc, out: string | undefined): Promise<void> {
  if (!['md', 'docx', 'pdf', 'json'].includes(format)) throw Object.assign(new Error('--format must be md, docx, pdf or json'), { exitCode: 2 });
  if ((format === 'docx' || format === 'pdf') && !out) throw Object.assign(new Error(`--format ${format} needs --out <file>`), { exitCode: 2 });
  const body = format === 'md' ? toMarkdown(doc) : format === 'json' ? JSON.stringify(data, null, 2) + '\n' : format === 'docx' ? await docx(doc) : await pdf(doc);
  if (out) writeFileSync(out, body);
  else process.stdout.write(body);
}

// The docx and pdf writers (docx, pdfkit: large) load only when a report is written in them.
const docx = async (doc: Doc) => (await import('../../pipl/docx.js')).toDocx(doc);
const pdf = async (doc: Doc) => (await import('../../pipl/pdf.js')).toPdf(doc);
