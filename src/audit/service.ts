/**
 * The audit trail as one service: the writer (entries, tree, heads every N entries), the head
 * timer (every N seconds), the witness publisher, inclusion proofs, verification and status.
 * Composition (src/warden.ts) builds it once; CLI verbs that write entries build it too.
 *
 * Invariants:
 * - The signing key comes from outside the store (signing-key.ts); when public keys are pinned,
 *   the signing key must be one of them, or the process refuses to start.
 * - Verification trusts pinned keys only; without any, only the local key, and says so.
 * - A change of signing key is itself audited (keys.audit_signing_key_changed, with its actor).
 * - Closing signs a last head over everything written and gives witnesses a moment to take it.
 */
import { userInfo } from 'node:os';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { Clock } from '../ops/clock.js';
import { AppError } from '../errors.js';
import { canonicalEntry } from './chain.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { entryFromRow } from './rows.js';
import { checkHead, headJson, type SignedTreeHead } from './sth.js';
import { consistencyProof, inclusionProof, latestHead, TreeDataMissing } from './tree-store.js';
import { parsePinnedKeys, resolveAuditSigner, trustNote, type AuditSigner, type SigningKeyConfig, type Trust } from './signing-key.js';
import { createAuditWriter, errorSummary, type AuditWriter } from './writer.js';
import { createHeadTimer, type HeadTimer } from './heads.js';
import { createSinks } from './witness/sinks.js';
import { createWitnessPublisher, type WitnessPublisher } from './witness/publisher.js';
import { verifyAuditTrail, type VerifyResult } from './verify.js';
import { entryJson } from './search.js';

export interface AuditTrailConfig extends SigningKeyConfig {
  auditCheckpointEvery: number;
  auditHeadEverySeconds: number;
  auditPublicKeys?: string | undefined;
  witness?: string | undefined;
}

export interface AuditTrail {
  writer: AuditWriter;
  signer: AuditSigner;
  trust: Trust;
  heads: HeadTimer;
  witnesses: WitnessPublisher;
  latestHead(): Promise<SignedTreeHead | null>;
  proof(seq: number): Promise<ReturnType<typeof proofJson>>;
  verify(): Promise<VerifyResult>;
  status(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function createAuditTrail(deps: {
  db: Kysely<Database>;
  config: AuditTrailConfig;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  /** Off for short-lived CLI verbs: they sign at close instead. */
  timer?: boolean;
}): Promise<AuditTrail> {
  const { db, config, logger, metrics } = deps;
  const signer = resolveAuditSigner(config, logger);
  const pinned = parsePinnedKeys(config.auditPublicKeys, 'WARDEN_AUDIT_PUBLIC_KEYS');
  if (pinned.size && !pinned.has(signer.keyId)) {
    throw new Error(`the audit signing key (${signer.keyId}) is not among WARDEN_AUDIT_PUBLIC_KEYS: add its public key ${signer.publicKeyText} (keep the old ones, so earlier heads still verify)`);
  }
  const trust: Trust = pinned.size ? { keys: pinned, pinned: true } : { keys: new Map([[signer.keyId, signer.publicKey]]), pinned: false, source: signer.file ?? 'WARDEN_AUDIT_SIGNING_KEY' };

  const writer = createAuditWriter({ db, signer, metrics, logger, headEveryEntries: config.auditCheckpointEvery });
  await writer.init();
  const heads = createHeadTimer({ db, signer, everySeconds: config.auditHeadEverySeconds, logger });
  const sinks = createSinks(config.witness);
  const witnesses = createWitnessPublisher({ sinks, proofs: (from, to) => consistencyProof(db, from, to), metrics, logger });
  writer.onHeads((hs) => {
    metrics.auditHeadsSigned.inc(hs.length);
    witnesses.publish(hs[hs.length - 1]!);
  });
  heads.onSigned((h) => {
    metrics.auditHeadsSigned.inc();
    witnesses.publish(h);
  });

  await recordKeyChange();
  // Entries a crashed process left unsigned get their head now; then witnesses learn the newest.
  await heads.tick();
  const newest = await latestHead(db);
  if (newest && checkHead(newest, trust.keys) === 'ok') witnesses.publish(newest);
  if (deps.timer !== false) heads.start();
  let lastVerify: { at: string; ok: boolean; entries: number; first_bad_seq?: number } | null = null;

  async function recordKeyChange(): Promise<void> {
    const newest = await latestHead(db);
    if (!newest || newest.keyId === signer.keyId) return;
    logger.warn({ previousKeyId: newest.keyId, keyId: signer.keyId }, 'the audit signing key changed since the last signed head; recording it in the trail');
    await writer.append([
      {
        kind: 'keys.audit_signing_key_changed',
        ts: new Date(deps.clock.now()),
        decision: 'ok',
        account: operator(),
        detail: { previous_key_id: newest.keyId, key_id: signer.keyId, source: signer.source },
      },
    ]);
  }

  async function proof(seq: number) {
    const row = await db.selectFrom('audit_log').selectAll().where('seq', '=', seq).executeTakeFirst();
    if (!row) throw new AppError('not_found', `no audit entry ${seq}`);
    let head = await latestHead(db);
    if (!head || head.treeSize < seq) {
      await heads.tick();
      head = await latestHead(db);
    }
    if (!head || head.treeSize < seq) throw new AppError('conflict', `audit entry ${seq} is not covered by a signed head yet; retry in ${config.auditHeadEverySeconds} s`);
    const canonical = canonicalEntry(seq, entryFromRow(row));
    const leaf = leafHash(canonical);
    let path: Buffer[];
    try {
      path = await inclusionProof(db, seq - 1, head.treeSize);
    } catch (err) {
      if (err instanceof TreeDataMissing) throw new AppError('audit_inconsistent', `the stored tree is incomplete (${err.message}); run warden audit verify`);
      throw err;
    }
    if (checkHead(head, trust.keys) !== 'ok' || !verifyInclusion(seq - 1, head.treeSize, leaf, path, head.root)) {
      throw new AppError('audit_inconsistent', `the stored tree does not match the signed head at tree size ${head.treeSize}; run warden audit verify`);
    }
    return proofJson(row, canonical, leaf, path, head);
  }

  return {
    writer,
    signer,
    trust,
    heads,
    witnesses,
    latestHead: () => latestHead(db),
    proof,
    async verify() {
      await heads.tick().catch((err: unknown) => logger.error({ err: errorSummary(err) }, 'signing a head before verification failed'));
      const readings = await Promise.all(sinks.map((s) => s.read()));
      const result = await verifyAuditTrail(db, {
        publicKeys: trust.keys,
        pinned: trust.pinned,
        trustNote: trustNote(trust),
        headEveryEntries: config.auditCheckpointEvery,
        headEverySeconds: config.auditHeadEverySeconds,
        witnesses: readings,
      });
      lastVerify = { at: new Date().toISOString(), ok: result.ok, entries: result.entries, ...(result.firstBadSeq !== undefined ? { first_bad_seq: result.firstBadSeq } : {}) };
      return result;
    },
    async status() {
      const head = await latestHead(db);
      const tip = await db.selectFrom('audit_head').select('seq').where('id', '=', 1).executeTakeFirst();
      return {
        head: head ? headJson(head) : null,
        tree_size: Number(tip?.seq ?? 0),
        signing_key: { key_id: signer.keyId, public_key: signer.publicKeyText, source: signer.source },
        pinned_key_ids: trust.pinned ? [...trust.keys.keys()] : [],
        witnesses: witnesses.status(),
        last_verify: lastVerify,
      };
    },
    async close() {
      heads.stop();
      await writer.drain();
      await heads.tick().catch((err: unknown) => logger.error({ err: errorSummary(err) }, 'signing the last head at close failed'));
      await witnesses.flush(3000);
      await witnesses.close();
    },
  };
}


/** Who changed a key from a shell: the operating-system account that ran the process. */
export function operator(): string {
  try {
    return `os:${userInfo().username}`;
  } catch {
    return 'os:unknown';
  }
}

function proofJson(row: Parameters<typeof entryJson>[0], canonical: string, leaf: Buffer, path: Buffer[], head: SignedTreeHead) {
  return {
    entry: entryJson(row),
    leaf_index: Number(row.seq) - 1,
    leaf: canonical,
    leaf_hash: leaf.toString('base64'),
    tree_size: head.treeSize,
    audit_path: path.map((p) => p.toString('base64')),
    head: headJson(head),
  };
}
