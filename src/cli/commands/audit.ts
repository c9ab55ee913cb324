/**
 * `warden audit verify` — checks the trail against pinned keys and witnesses, without the master
 * key (an auditor never needs it) — `warden audit reconcile` (the state rows against the trail)
 * and `warden audit keygen` for the signing key kept outside the store.
 */
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import type { VerifyResult } from '../../audit/verify.js';
import { openConfiguredStore, withStoreOptions } from './store-command.js';

const positive = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`${name} must be a positive integer`);
  return Number(v);
};

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('The tamper-evident audit trail (Merkle tree, signed tree heads, witnesses)');
  withStoreOptions(audit.command('verify'))
    .description('Check every entry, every signed tree head (pinned keys, none missing, consistent) and, with --witness, what each witness saw; exit 1 naming the first bad seq')
    .option('--public-key <keys>', 'pinned audit public key(s), comma-separated (default WARDEN_AUDIT_PUBLIC_KEYS)')
    .option('--witness <sinks>', 'witnesses to check the store against: file:PATH, http(s)://…, postgres://… comma-separated (default WARDEN_WITNESS)')
    .option('--head-every-entries <n>', 'the largest head interval ever configured (default WARDEN_AUDIT_HEAD_EVERY_ENTRIES)', positive('--head-every-entries'))
    .option('--json', 'print the result as JSON')
    .action(async (opts: { data?: string; publicKey?: string; witness?: string; headEveryEntries?: number; json?: boolean }) => {
      const { verifyAuditTrail, verifyResultJson } = await import('../../audit/verify.js');
      const { parsePinnedKeys, resolveTrust, trustNote } = await import('../../audit/signing-key.js');
      const { createSinks } = await import('../../audit/witness/sinks.js');
      const { config, store } = await openConfiguredStore(opts);
      let exitCode = 1;
      try {
        const trust = resolveTrust(parsePinnedKeys(opts.publicKey ?? config.auditPublicKeys, opts.publicKey ? '--public-key' : 'WARDEN_AUDIT_PUBLIC_KEYS'), config);
        const note = trustNote(trust);
        if (note) console.error(`warden: WARNING: ${note}`);
        const sinks = createSinks(opts.witness ?? config.witness);
        const readings = await Promise.all(sinks.map((s) => s.read()));
        await Promise.all(sinks.map((s) => s.close()));
        const result = await verifyAuditTrail(store.db, {
          publicKeys: trust.keys,
          pinned: trust.pinned,
          trustNote: note,
          headEveryEntries: opts.headEveryEntries ?? config.auditCheckpointEvery,
          headEverySeconds: config.auditHeadEverySeconds,
          witnesses: readings,
        });
        if (opts.json) console.log(JSON.stringify(verifyResultJson(result)));
        else printResult(result, sinks.length);
        exitCode = result.ok ? 0 : 1;
      } finally {
        await store.close();
      }
      // Set after close: the embedded store's runtime resets process.exitCode when it shuts down.
      process.exitCode = exitCode;
    });

  withStoreOptions(audit.command('reconcile'))
    .description('Check that the rows deciding who may see what and what detection does (accounts, work, cases, service tokens, exceptions, responses, detector settings) are what the trail recorded — a row written around Warden shows; exit 1 naming them. Run after `audit verify`')
    .option('--json', 'print the result as JSON')
    .option('--policy <file>', 'the access policy the server runs (for the quota recount); default WARDEN_POLICY_FILE or the built-in policy; used only when it is the one the audit trail last recorded loading')
    .action(async (opts: { data?: string; json?: boolean; policy?: string }) => {
      const { checkedSummary, policyInForce, reconcileState } = await import('../../audit/reconcile/index.js');
      const { store } = await openConfiguredStore(opts);
      let exitCode = 1;
      try {
        const result = await reconcileState(store.db, opts.policy ? { policyFile: opts.policy } : {});
        if (!(await policyInForce(store.db, opts.policy))) console.error('note: quotas not recounted — the policy file is not the one the audit trail last recorded loading (give the server\'s file with --policy or WARDEN_POLICY_FILE)');
        if (opts.json) console.log(JSON.stringify(result));
        else {
          console.log(`${result.ok ? 'OK' : 'MISMATCH'}: ${checkedSummary(result.checked)} checked against the trail`);
          for (const f of result.findings) console.log(`  ${f.table} ${f.key}: ${f.problem}`);
          if (result.truncated) console.log(`  … more than ${result.findings.length} rows differ`);
        }
        exitCode = result.ok ? 0 : 1;
      } finally {
        await store.close();
      }
      process.exitCode = exitCode;
    });

  audit
    .command('keygen')
    .description('Generate an Ed25519 audit signing key (for WARDEN_AUDIT_SIGNING_KEY_FILE) and print the public key to pin')
    .requiredOption('--out <file>', 'where to write the private key (created with mode 0600; never overwritten)')
    .action(async (opts: { out: string }) => {
      const { generateSigningKeyText, parsePrivateKey, signerFromPrivateKey } = await import('../../audit/signing-key.js');
      const text = generateSigningKeyText();
      writeFileSync(opts.out, text + '\n', { mode: 0o600, flag: 'wx' });
      const signer = signerFromPrivateKey(parsePrivateKey(text, opts.out), 'file', opts.out);
      console.log(`private key written to ${opts.out}`);
      console.log(`key id      ${signer.keyId}`);
      console.log(`public key  ${signer.publicKeyText}`);
      console.log('pin it: add the public key to WARDEN_AUDIT_PUBLIC_KEYS (keep the old ones), then set WARDEN_AUDIT_SIGNING_KEY_FILE and restart');
    });
}

function printResult(r: VerifyResult, witnesses: number): void {
  if (r.ok) {
    console.log(`audit trail OK: ${r.entries} entries, last seq ${r.lastSeq}, ${r.headsVerified} signed tree heads verified${r.latestHead ? ` (latest at tree size ${r.latestHead.treeSize}, ${r.latestHead.timestamp.toISOString()})` : ''}`);
    for (const w of r.witnesses) console.log(`  witness ${w.sink}: ${w.heads} heads, latest tree size ${w.latestSize ?? '-'}: consistent with the store`);
    if (!witnesses) console.log('  no witness checked: a cut tail, or a rewrite re-signed since, is visible only against a witness (--witness)');
    return;
  }
  console.error(`audit trail BROKEN at seq ${r.firstBadSeq}: ${r.reason} (${r.entries} entries read)`);
  for (const f of r.findings.slice(1, 20)) console.error(`  also: ${f.message}`);
}
