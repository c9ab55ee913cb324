/**
 * `warden canary plant|list|rotate` and `warden attribute --leak FILE` — leak tracing from the
 * operator's shell, against the configured store. Every act is audited with its actor, always
 * os:<operating-system account> (no `--actor`: attack review 9), like `warden keys rotate`.
 * `warden attribute` records the file's SHA-256 and the counts; it is the host operator's tool,
 * so the HTTP route's minimum dump size and per-analyst run quota (src/trace/attributions.ts) do
 * not bind it.
 */
import type { Command } from 'commander';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { isAppError } from '../../errors.js';
import { systemClock } from '../../ops/clock.js';
import type { Attribution } from '../../trace/attribution/attribute.js';
import { withOpenedVault, withStoreOptions, type OpenedVault } from './store-command.js';

const positive = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`${name} must be a positive integer`);
  return Number(v);
};


const ctx = { ip: null, requestId: 'cli' };

/** The canary service over an opened vault; its modules load only when a canary verb runs. */
async function canaryDeps(c: OpenedVault) {
  const { createCanaries } = await import('../../trace/canaries.js');
  const { createVaultWriter } = await import('../../vault/vault.js');
  const { loadPolicy } = await import('../../access/policy.js');
  return createCanaries({ db: c.store.db, audit: c.trail.writer, clock: systemClock, blindIndexKey: c.keyring.blindIndexKey, vault: createVaultWriter({ db: c.store.db, keyring: c.keyring, clock: systemClock, allow15DigitId: loadPolicy(c.config.policyFile).allow_15_digit_id }) });
}

/** Who acts, as the audit trail records it: os:<the operating-system account>, never a name from the command line. */
async function actorOf(): Promise<string> {
  return (await import('../../audit/service.js')).operator();
}

export function registerTrace(program: Command): void {
  const canary = program.command('canary').description('Canary waybills: realistic fake records no real work touches; any access raises a critical alert');

  withStoreOptions(canary.command('plant'))
    .description('Plant N canaries through the vault (audited; a running server picks them up within 15 s)')
    .requiredOption('--count <n>', 'how many', positive('--count'))
    .option('--phone-range <prefix>', 'a mobile-number prefix the company controls (3–10 digits)')
    .action(async (opts: { data?: string; count: number; phoneRange?: string }) => {
      const out = await withOpenedVault(opts, async (c) => (await canaryDeps(c)).plant(opts.count, { phoneRange: opts.phoneRange }, { kind: 'system', name: await actorOf() }, ctx));
      console.log(`planted ${out.planted} canaries (batch ${out.batch})`);
      process.exitCode = 0;
    });

  withStoreOptions(canary.command('list'))
    .description('The protected canary list (audited)')
    .option('--all', 'include retired canaries (still watched)')
    .option('--json', 'print JSON')
    .action(async (opts: { data?: string; all?: boolean; json?: boolean }) => {
      const out = await withOpenedVault(opts, async (c) => (await canaryDeps(c)).list({ kind: 'system', name: await actorOf() }, ctx, { includeRetired: opts.all, limit: 10_000 }));
      if (opts.json) console.log(JSON.stringify(out));
      else for (const r of out.canaries) console.log(`${r.waybill}\t${r.planted_at}\t${r.retired_at ? `retired ${r.retired_at}` : 'live'}${r.export_id ? `\texport ${r.export_id}` : ''}`);
      process.exitCode = 0;
    });

  withStoreOptions(canary.command('rotate'))
    .description('Retire the live canaries (still watched) and plant fresh ones (audited)')
    .option('--count <n>', 'how many to plant (default: as many as were live)', positive('--count'))
    .option('--phone-range <prefix>', 'a mobile-number prefix the company controls')
    .action(async (opts: { data?: string; count?: number; phoneRange?: string }) => {
      const out = await withOpenedVault(opts, async (c) => (await canaryDeps(c)).rotate(opts.count, { phoneRange: opts.phoneRange }, { kind: 'system', name: await actorOf() }, ctx));
      console.log(`retired ${out.retired}, planted ${out.planted} canaries (batch ${out.batch})`);
      process.exitCode = 0;
    });

  withStoreOptions(program.command('attribute'))
    .description('Who leaked this dump? Match a leaked CSV/XLSX to waybills and rank the accounts whose access history explains it (audited)')
    .requiredOption('--leak <file>', 'the leaked file (CSV or XLSX)')
    .option('--events <file>', 'access history as contract NDJSON, plain or gzip-compressed (default: the stored trail)')
    .option('--json <file>', 'write the result as JSON here')
    .option('--found-at <iso>', 'when the dump was found (the end of the leak window; default now)')
    .option('--limit <n>', 'suspects listed', positive('--limit'), 20)
    .option('--threads <n>', 'byte ranges of a plain events file scanned at once (default: one per core, up to 2, from 64 MiB)', positive('--threads'))
    .action(async (opts: { data?: string; leak: string; events?: string; json?: string; foundAt?: string; limit: number; threads?: number }) => {
      const foundAt = opts.foundAt ? Date.parse(opts.foundAt) : Date.now();
      if (Number.isNaN(foundAt)) throw Object.assign(new Error('--found-at must be an ISO-8601 time'), { exitCode: 2 });
      const usage = (message: string) => Object.assign(new Error(message), { exitCode: 2 });
      let buffer: Buffer;
      try {
        buffer = readFileSync(opts.leak);
      } catch (err) {
        throw usage(`cannot read --leak ${opts.leak}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      const events = opts.events;
      if (events) {
        try {
          if (!statSync(events).isFile()) throw Object.assign(new Error(), { code: 'not a file' });
        } catch (err) {
          throw usage(`cannot read --events ${events}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
        }
      }
      const { createPiiDecryptor } = await import('../../vault/vault.js');
      const { attributeLeak } = await import('../../trace/attribution/attribute.js');
      const { historyFromStore, storeResolver } = await import('../../trace/attribution/store.js');
      const { historyFromFile } = await import('../../trace/attribution/events-file.js');
      const { fileHash } = await import('../../trace/attributions.js');
      const result = await withOpenedVault(opts, async (c) => {
        const resolver = storeResolver({ db: c.store.db, keyring: c.keyring, pii: createPiiDecryptor({ db: c.store.db, keyring: c.keyring }) });
        // An outside history names records the store may not hold: every well-formed number counts.
        const r = events ? { ...resolver, existing: async (ws: string[]) => new Set(ws) } : resolver;
        let out: Attribution & { rows: number };
        try {
          out = await attributeLeak(buffer, { resolver: r, loadHistory: async (leaked) => (events ? historyFromFile(events, leaked, { threads: opts.threads }) : historyFromStore(c.store.db, leaked)) }, { foundAt, limit: opts.limit, seenOnly: Boolean(events) });
        } catch (err) {
          if (isAppError(err)) throw usage(`--leak ${opts.leak}: ${err.message}`);
          throw err;
        }
        // Audited before any result leaves (it may have opened names and addresses to compare them).
        // The host operator (store and master key in hand) is not bound by the HTTP route's minimum dump size or run quota.
        await c.trail.writer.append([{ kind: 'trace.attribution_run', ts: new Date(), decision: 'ok', requestId: 'cli', detail: { actor: await actorOf(), sha256: fileHash(buffer), rows: out.rows, matched: out.matched, unmatched: out.unmatched, records: out.records, sources: out.sources.length, history: events ? 'file' : 'store', via: 'cli' } }]);
        const { rows: _rows, ...result } = out;
        return result;
      });
      if (opts.json) writeFileSync(opts.json, JSON.stringify(result, null, 2) + '\n');
      print(result);
      process.exitCode = 0;
    });
}

function print(r: Attribution): void {
  console.log(`rows matched ${r.matched}, unmatched ${r.unmatched} (junk ${r.junk}); ${r.records} records; matched by ${Object.entries(r.by).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  console.log(`sources: ${r.sources.join(', ') || 'none stands out'}; leak window ${r.window.from ?? '?'} … ${r.window.to}`);
  if (r.unverified_sources.length) console.log(`unverified (upstream-reported only, never a source): ${r.unverified_sources.join(', ')}`);
  if (r.audit_inconsistent) console.log(`WARNING: ${r.audit_inconsistent} marked-export row(s) or canary link(s) differ from the audit trail (changed around Warden): left out; run \`warden audit reconcile\``);
  if (r.late_history) console.log(`NOTE: ${r.late_history} upstream reveal(s) of leaked records reached Warden after the audit trail showed another account the same record: left out of the ranking (they could have been sent by someone who knew what leaked)`);
  for (const x of r.exports) console.log(`marked export ${x.id} made for ${x.account} at ${x.created_at}: ${x.canaries} of its canary rows in the dump, row order kept ${x.order_agreement ?? 'n/a'}`);
  for (const s of r.suspects.slice(0, 20)) {
    console.log(`${s.source ? '*' : s.unverified ? '?' : ' '} ${s.account.padEnd(20)} score ${s.score.toFixed(1).padStart(8)}  matched ${String(s.matched).padStart(6)} of volume ${s.volume}  ${s.first ?? ''} … ${s.last ?? ''}  devices ${s.devices.join(',')}`);
  }
}
