/**
 * Verifies the audit trail end to end, against someone who could write the whole store:
 * every entry (gap-free sequence, chain links, content hashes), the Merkle root at every signed
 * tree head (recomputed from the entries while streaming them, which also proves each head
 * consistent with the previous one), every head's signature under PINNED keys only, the density
 * of heads (none missing), and — given what witnesses outside the store saw — truncation, forks
 * and rewrites.
 *
 * Invariants:
 * - Nothing the store holds is trusted: keys come from the caller, roots are recomputed.
 * - Memory is O(log n) for the tree plus one page of entries and heads, plus the witnessed heads.
 * - The first bad seq is the earliest entry the findings put in doubt; findings are capped.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { toBuffer } from '../store/db.js';
import { canonicalEntry, chainHashOf, GENESIS_HASH } from './chain.js';
import { isAuditKind } from './kinds.js';
import { Frontier, leafHash } from './merkle.js';
import { entryFromRow } from './rows.js';
import { checkHead, describeHeadCheck, headJson, type PinnedKeys, type SignedTreeHead } from './sth.js';
import { headFromRow } from './tree-store.js';

export type FindingCode =
  | 'entry_missing'
  | 'entry_unlinked'
  | 'entry_altered'
  | 'entry_unknown_kind'
  | 'head_signature'
  | 'head_root'
  | 'head_missing'
  | 'unsigned_tail'
  | 'truncated'
  | 'audit_head'
  | 'witness_truncated'
  | 'witness_rewritten'
  | 'witness_fork'
  | 'witness_unsigned'
  | 'witness_unreadable';

export interface Finding {
  code: FindingCode;
  /** The earliest entry this finding puts in doubt, when there is one. */
  seq?: number;
  message: string;
}

/** What one witness saw, read by the caller (witness/sinks.ts). */
export interface WitnessReading {
  sink: string;
  heads: SignedTreeHead[];
  /** Lines or rows that were not heads, or a read that failed. */
  problems: string[];
}

export interface WitnessSummary {
  sink: string;
  heads: number;
  latestSize: number | null;
  ok: boolean;
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  lastSeq: number;
  headsVerified: number;
  latestHead: SignedTreeHead | null;
  firstBadSeq?: number;
  reason?: string;
  findings: Finding[];
  witnesses: WitnessSummary[];
  trust: { pinned: boolean; keyIds: string[]; note: string | null };
}

export interface VerifyOptions {
  /** Public keys by key id: pinned in configuration, never read from the store. */
  publicKeys: PinnedKeys;
  pinned?: boolean;
  trustNote?: string | null;
  /** The writer signs a head at every multiple of this many entries. */
  headEveryEntries: number;
  /** The timer signs a head this often while any Warden process runs. */
  headEverySeconds: number;
  /** Slack on top of headEverySeconds before an unsigned tail is a finding (default 60 s). */
  graceSeconds?: number;
  witnesses?: WitnessReading[];
  now?: number;
  pageSize?: number;
}

const MAX_FINDINGS = 100;

export async function verifyAuditTrail(db: Kysely<Database>, options: VerifyOptions): Promise<VerifyResult> {
  const pageSize = options.pageSize ?? 5000;
  const every = options.headEveryEntries;
  const findings: Finding[] = [];
  let findingsDropped = 0;
  const find = (f: Finding) => {
    if (findings.length < MAX_FINDINGS) findings.push(f);
    else findingsDropped++;
  };

  const witnessed = indexWitnesses(options.witnesses ?? [], options.publicKeys, find);
  const rootsAtWitnessed = new Map<number, Buffer>();
  /** Validly signed store heads at witnessed sizes: a different root there is a fork. */
  const storeHeadsAtWitnessed = new Map<number, SignedTreeHead>();
  const heads = headPages(db, pageSize);
  let nextHead = await heads.next();

  const frontier = Frontier.empty();
  let prev: Buffer = GENESIS_HASH;
  let expectedSeq = 1;
  let broken = false;
  let headsVerified = 0;
  let lastGood: SignedTreeHead | null = null;
  let latestHead: SignedTreeHead | null = null;
  let firstUnsignedTs: Date | null = null;

  const checkStoreHead = (h: SignedTreeHead, root: Buffer) => {
    latestHead = h;
    const from = (lastGood?.treeSize ?? 0) + 1;
    const check = checkHead(h, options.publicKeys);
    if (check !== 'ok') return find({ code: 'head_signature', seq: from, message: describeHeadCheck(h, check) });
    if (witnessed.has(h.treeSize)) storeHeadsAtWitnessed.set(h.treeSize, h);
    if (!h.root.equals(root)) {
      return find({ code: 'head_root', seq: from, message: `the stored entries do not match the signed head at tree size ${h.treeSize}: an entry in ${from}..${h.treeSize} was altered, removed or inserted and the hashes recomputed` });
    }
    if (h.treeSize - (lastGood?.treeSize ?? 0) > every) reportGap(lastGood?.treeSize ?? 0, h.treeSize);
    headsVerified++;
    lastGood = h;
    firstUnsignedTs = null;
  };
  const reportGap = (a: number, b: number) => {
    const due = (Math.floor(a / every) + 1) * every;
    find({ code: 'head_missing', seq: a + 1, message: `the signed head at tree size ${due} is missing: heads at ${a || 'the start'} and ${b} are more than ${every} entries apart (heads were deleted)` });
  };

  pages: for (;;) {
    const rows = await db.selectFrom('audit_log').selectAll().where('seq', '>=', expectedSeq).orderBy('seq').limit(pageSize).execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      const seq = Number(row.seq);
      const bad = (code: FindingCode, message: string) => {
        find({ code, seq: expectedSeq, message });
        broken = true;
      };
      if (seq !== expectedSeq) bad('entry_missing', `entry ${expectedSeq} is missing (next entry found is ${seq})`);
      else if (!toBuffer(row.prev_hash).equals(prev)) bad('entry_unlinked', `entry ${seq} does not link to entry ${seq - 1} (prev_hash differs)`);
      else if (!isAuditKind(row.kind)) bad('entry_unknown_kind', `entry ${seq} has an unknown kind`);
      if (broken) break pages;
      const entry = entryFromRow(row);
      const canonical = canonicalEntry(seq, entry);
      const hash = chainHashOf(prev, canonical);
      if (!hash.equals(toBuffer(row.hash))) {
        bad('entry_altered', `entry ${seq} was altered (its content does not match its hash)`);
        break pages;
      }
      frontier.append(leafHash(canonical), Number.POSITIVE_INFINITY);
      if (!firstUnsignedTs) firstUnsignedTs = entry.ts;
      while (nextHead && nextHead.treeSize <= seq) {
        // A head below seq can only be one that was skipped by a broken order; heads are read sorted.
        checkStoreHead(nextHead, frontier.root());
        nextHead = await heads.next();
      }
      if (witnessed.has(seq)) rootsAtWitnessed.set(seq, frontier.root());
      prev = hash;
      expectedSeq = seq + 1;
    }
  }
  const lastSeq = expectedSeq - 1;

  if (!broken) {
    await checkTail();
    await checkAuditHead();
  }
  const witnessSummaries = checkWitnesses();

  async function checkTail() {
    // Signed heads beyond the last entry: the tail was cut.
    let beyond: SignedTreeHead | null = null;
    for (; nextHead; nextHead = await heads.next()) {
      const check = checkHead(nextHead, options.publicKeys);
      if (check !== 'ok') find({ code: 'head_signature', seq: lastSeq + 1, message: describeHeadCheck(nextHead, check) });
      else beyond = nextHead;
    }
    if (beyond) {
      find({ code: 'truncated', seq: lastSeq + 1, message: `a signed head at tree size ${beyond.treeSize} exists but the store has only ${lastSeq} entries: entries ${lastSeq + 1}..${beyond.treeSize} were removed` });
    }
    const signed = (lastGood as SignedTreeHead | null)?.treeSize ?? 0;
    if (lastSeq - signed >= every) reportGap(signed, lastSeq);
    else if (lastSeq > signed) {
      const since = (lastGood as SignedTreeHead | null)?.timestamp ?? (firstUnsignedTs as Date | null);
      const allowedMs = (options.headEverySeconds + (options.graceSeconds ?? 60)) * 1000;
      if (since && (options.now ?? Date.now()) - since.getTime() > allowedMs) {
        find({
          code: 'unsigned_tail',
          seq: signed + 1,
          message: `entries ${signed + 1}..${lastSeq} have no signed head, and ${lastGood ? `the newest head is from ${since.toISOString()}` : `the oldest of them is from ${since.toISOString()}`} (heads are signed every ${options.headEverySeconds} s while Warden runs): heads were deleted, or no Warden process has run since (starting one signs them)`,
        });
      }
    }
  }

  async function checkAuditHead() {
    const head = await db.selectFrom('audit_head').selectAll().where('id', '=', 1).executeTakeFirst();
    if (!head) return find({ code: 'audit_head', seq: lastSeq + 1, message: 'the audit head row is missing' });
    const headSeq = Number(head.seq);
    if (headSeq > lastSeq) return find({ code: 'audit_head', seq: lastSeq + 1, message: `entries ${lastSeq + 1}..${headSeq} were removed (the head says ${headSeq})` });
    if (headSeq < lastSeq) return find({ code: 'audit_head', seq: headSeq + 1, message: `entries after ${headSeq} were not written by the audit writer (the head says ${headSeq})` });
    if (!toBuffer(head.hash).equals(prev)) return find({ code: 'audit_head', seq: lastSeq, message: `the last entry ${lastSeq} does not match the head hash` });
    if (head.frontier && !toBuffer(head.frontier).equals(frontier.serialize())) {
      find({ code: 'audit_head', seq: lastSeq, message: 'the tree frontier stored with the head does not match the entries (heads signed from it would be wrong)' });
    }
  }

  function checkWitnesses(): WitnessSummary[] {
    const summaries: WitnessSummary[] = [];
    for (const w of options.witnesses ?? []) {
      const before = findings.length + findingsDropped;
      const valid = w.heads.filter((h) => checkHead(h, options.publicKeys) === 'ok').sort((a, b) => a.treeSize - b.treeSize);
      // One finding of each kind per witness: the earliest rewrite or fork, the largest truncation.
      let rewriteOrFork = false;
      for (const h of valid) {
        if (broken && h.treeSize >= expectedSeq) continue; // the chain already breaks before this size
        if (h.treeSize > lastSeq || rewriteOrFork) continue;
        const root = rootsAtWitnessed.get(h.treeSize);
        const storeHead = storeHeadsAtWitnessed.get(h.treeSize);
        if (storeHead && !storeHead.root.equals(h.root)) {
          rewriteOrFork = true;
          find({ code: 'witness_fork', seq: lastMatchBelow(h.treeSize) + 1, message: `fork: witness ${w.sink} saw root ${h.root.toString('hex')} at tree size ${h.treeSize}, the store holds a signed head with root ${storeHead.root.toString('hex')} at the same size (the trail was rewritten while a writer kept signing)` });
        } else if (root && !root.equals(h.root)) {
          rewriteOrFork = true;
          const from = lastMatchBelow(h.treeSize) + 1;
          find({ code: 'witness_rewritten', seq: from, message: `the store's root at tree size ${h.treeSize} differs from the root witness ${w.sink} saw (${h.root.toString('hex')}): entries ${from}..${h.treeSize} were rewritten` });
        }
      }
      const beyond = valid.at(-1);
      if (beyond && beyond.treeSize > lastSeq && !(broken && beyond.treeSize >= expectedSeq)) {
        find({ code: 'witness_truncated', seq: lastSeq + 1, message: `witness ${w.sink} saw tree size ${beyond.treeSize} with root ${beyond.root.toString('hex')}; the store has only ${lastSeq} entries: entries ${lastSeq + 1}..${beyond.treeSize} were removed` });
      }
      const latest = valid.reduce<SignedTreeHead | null>((a, h) => (!a || h.treeSize > a.treeSize ? h : a), null);
      summaries.push({ sink: w.sink, heads: valid.length, latestSize: latest?.treeSize ?? null, ok: findings.length + findingsDropped === before && w.problems.length === 0 });
    }
    return summaries;
  }

  /** The largest witnessed size below `size` whose root the store reproduces (0 if none). */
  function lastMatchBelow(size: number): number {
    let best = 0;
    for (const [s, list] of witnessed) {
      if (s >= size || s <= best) continue;
      const root = rootsAtWitnessed.get(s);
      if (root && list.every((x) => x.head.root.equals(root))) best = s;
    }
    const good = lastGood as SignedTreeHead | null;
    return good && good.treeSize < size ? Math.max(best, good.treeSize) : best;
  }

  if (findingsDropped) findings.push({ code: findings.at(-1)!.code, message: `… and ${findingsDropped} more findings` });
  const first = findings.filter((f) => f.seq !== undefined).sort((a, b) => a.seq! - b.seq!)[0] ?? findings[0];
  return {
    ok: findings.length === 0,
    entries: lastSeq,
    lastSeq,
    headsVerified,
    latestHead,
    ...(first ? { firstBadSeq: first.seq ?? lastSeq + 1, reason: first.message } : {}),
    findings,
    witnesses: witnessSummaries,
    trust: { pinned: options.pinned ?? true, keyIds: [...options.publicKeys.keys()], note: options.trustNote ?? null },
  };
}

/** Witnessed heads by size; reports unsigned heads and forks between witnesses as it goes. */
function indexWitnesses(readings: WitnessReading[], keys: PinnedKeys, find: (f: Finding) => void): Map<number, Array<{ sink: string; head: SignedTreeHead }>> {
  const bySize = new Map<number, Array<{ sink: string; head: SignedTreeHead }>>();
  for (const w of readings) {
    for (const p of w.problems.slice(0, 10)) find({ code: 'witness_unreadable', message: `witness ${w.sink}: ${p}` });
    for (const head of w.heads) {
      const check = checkHead(head, keys);
      if (check !== 'ok') {
        find({ code: 'witness_unsigned', message: `witness ${w.sink}: ${describeHeadCheck(head, check)}` });
        continue;
      }
      const list = bySize.get(head.treeSize) ?? [];
      const other = list.find((x) => !x.head.root.equals(head.root));
      if (other) {
        find({ code: 'witness_fork', seq: head.treeSize, message: `fork: witness ${w.sink} saw root ${head.root.toString('hex')} at tree size ${head.treeSize}, witness ${other.sink} saw ${other.head.root.toString('hex')} (the signing key signed two histories)` });
      }
      list.push({ sink: w.sink, head });
      bySize.set(head.treeSize, list);
    }
  }
  return bySize;
}

/** Heads in tree-size order, a page at a time. */
function headPages(db: Kysely<Database>, pageSize: number) {
  let buffer: SignedTreeHead[] = [];
  let after = 0;
  let done = false;
  return {
    async next(): Promise<SignedTreeHead | null> {
      if (!buffer.length && !done) {
        const rows = await db.selectFrom('audit_tree_heads').selectAll().where('tree_size', '>', after).orderBy('tree_size').limit(pageSize).execute();
        buffer = rows.map(headFromRow);
        if (rows.length < pageSize) done = true;
        if (buffer.length) after = buffer.at(-1)!.treeSize;
      }
      return buffer.shift() ?? null;
    },
  };
}

/** The wire form (HTTP and `warden audit verify --json`), snake_case like the rest of the API. */
export function verifyResultJson(r: VerifyResult) {
  return {
    ok: r.ok,
    entries: r.entries,
    last_seq: r.lastSeq,
    heads_verified: r.headsVerified,
    latest_head: r.latestHead ? headJson(r.latestHead) : null,
    ...(r.firstBadSeq !== undefined ? { first_bad_seq: r.firstBadSeq } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
    findings: r.findings,
    witnesses: r.witnesses.map((w) => ({ sink: w.sink, heads: w.heads, latest_size: w.latestSize, ok: w.ok })),
    trust: { pinned: r.trust.pinned, key_ids: r.trust.keyIds, ...(r.trust.note ? { note: r.trust.note } : {}) },
  };
}
