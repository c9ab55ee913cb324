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
  const check = new TrailCheck(db, options);
  await check.streamEntries();
  if (!check.broken) {
    await check.checkTail();
    await check.checkAuditHead();
  }
  return check.result(check.checkWitnesses());
}

/** The state of one verification, and its checks in the order they run. */
class TrailCheck {
  private readonly every: number;
  private readonly findings: Finding[] = [];
  private findingsDropped = 0;
  private readonly witnessed: Map<number, Array<{ sink: string; head: SignedTreeHead }>>;
  private readonly rootsAtWitnessed = new Map<number, Buffer>();
  /** Validly signed store heads at witnessed sizes: a different root there is a fork. */
  private readonly storeHeadsAtWitnessed = new Map<number, SignedTreeHead>();
  private readonly heads: ReturnType<typeof headPages>;
  private nextHead: SignedTreeHead | null | undefined;
  private readonly frontier = Frontier.empty();
  private prev: Buffer = GENESIS_HASH;
  private expectedSeq = 1;
  broken = false;
  private headsVerified = 0;
  private lastGood: SignedTreeHead | null = null;
  private latestHead: SignedTreeHead | null = null;
  private firstUnsignedTs: Date | null = null;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: VerifyOptions,
  ) {
    this.every = options.headEveryEntries;
    this.witnessed = indexWitnesses(options.witnesses ?? [], options.publicKeys, (f) => this.find(f));
    this.heads = headPages(db, options.pageSize ?? 5000);
  }

  private get lastSeq(): number {
    return this.expectedSeq - 1;
  }

  private find(f: Finding): void {
    if (this.findings.length < MAX_FINDINGS) this.findings.push(f);
    else this.findingsDropped++;
  }

  /** Every entry once, in order: sequence, link, kind, hash; the root at every head and witnessed size. */
  async streamEntries(): Promise<void> {
    this.nextHead = await this.heads.next();
    const pageSize = this.options.pageSize ?? 5000;
    for (;;) {
      const rows = await this.db.selectFrom('audit_log').selectAll().where('seq', '>=', this.expectedSeq).orderBy('seq').limit(pageSize).execute();
      if (rows.length === 0) return;
      for (const row of rows) {
        const seq = Number(row.seq);
        const problem =
          seq !== this.expectedSeq ? (['entry_missing', `entry ${this.expectedSeq} is missing (next entry found is ${seq})`] as const)
          : !toBuffer(row.prev_hash).equals(this.prev) ? (['entry_unlinked', `entry ${seq} does not link to entry ${seq - 1} (prev_hash differs)`] as const)
          : !isAuditKind(row.kind) ? (['entry_unknown_kind', `entry ${seq} has an unknown kind`] as const)
          : null;
        const entry = problem ? null : entryFromRow(row);
        const canonical = entry ? canonicalEntry(seq, entry) : '';
        const hash = entry ? chainHashOf(this.prev, canonical) : null;
        const bad = problem ?? (hash && !hash.equals(toBuffer(row.hash)) ? (['entry_altered', `entry ${seq} was altered (its content does not match its hash)`] as const) : null);
        if (bad) {
          this.find({ code: bad[0], seq: this.expectedSeq, message: bad[1] });
          this.broken = true;
          return;
        }
        this.frontier.append(leafHash(canonical), Number.POSITIVE_INFINITY);
        if (!this.firstUnsignedTs) this.firstUnsignedTs = entry!.ts;
        while (this.nextHead && this.nextHead.treeSize <= seq) {
          this.checkStoreHead(this.nextHead, this.frontier.root());
          this.nextHead = await this.heads.next();
        }
        if (this.witnessed.has(seq)) this.rootsAtWitnessed.set(seq, this.frontier.root());
        this.prev = hash!;
        this.expectedSeq = seq + 1;
      }
    }
  }

  private checkStoreHead(h: SignedTreeHead, root: Buffer): void {
    this.latestHead = h;
    const from = (this.lastGood?.treeSize ?? 0) + 1;
    const check = checkHead(h, this.options.publicKeys);
    if (check !== 'ok') return this.find({ code: 'head_signature', seq: from, message: describeHeadCheck(h, check) });
    if (this.witnessed.has(h.treeSize)) this.storeHeadsAtWitnessed.set(h.treeSize, h);
    if (!h.root.equals(root)) {
      return this.find({ code: 'head_root', seq: from, message: `the stored entries do not match the signed head at tree size ${h.treeSize}: an entry in ${from}..${h.treeSize} was altered, removed or inserted and the hashes recomputed` });
    }
    if (h.treeSize - (this.lastGood?.treeSize ?? 0) > this.every) this.reportGap(this.lastGood?.treeSize ?? 0, h.treeSize);
    this.headsVerified++;
    this.lastGood = h;
    this.firstUnsignedTs = null;
  }

  private reportGap(a: number, b: number): void {
    const due = (Math.floor(a / this.every) + 1) * this.every;
    this.find({ code: 'head_missing', seq: a + 1, message: `the signed head at tree size ${due} is missing: heads at ${a || 'the start'} and ${b} are more than ${this.every} entries apart (heads were deleted)` });
  }

  /** Heads beyond the last entry (a cut tail), and the entries after the last good head. */
  async checkTail(): Promise<void> {
    const lastSeq = this.lastSeq;
    let beyond: SignedTreeHead | null = null;
    for (; this.nextHead; this.nextHead = await this.heads.next()) {
      const check = checkHead(this.nextHead, this.options.publicKeys);
      if (check !== 'ok') this.find({ code: 'head_signature', seq: lastSeq + 1, message: describeHeadCheck(this.nextHead, check) });
      else beyond = this.nextHead;
    }
    if (beyond) {
      this.find({ code: 'truncated', seq: lastSeq + 1, message: `a signed head at tree size ${beyond.treeSize} exists but the store has only ${lastSeq} entries: entries ${lastSeq + 1}..${beyond.treeSize} were removed` });
    }
    const signed = this.lastGood?.treeSize ?? 0;
    if (lastSeq - signed >= this.every) return this.reportGap(signed, lastSeq);
    if (lastSeq === signed) return;
    const since = this.lastGood?.timestamp ?? this.firstUnsignedTs;
    const allowedMs = (this.options.headEverySeconds + (this.options.graceSeconds ?? 60)) * 1000;
    if (since && (this.options.now ?? Date.now()) - since.getTime() > allowedMs) {
      this.find({
        code: 'unsigned_tail',
        seq: signed + 1,
        message: `entries ${signed + 1}..${lastSeq} have no signed head, and ${this.lastGood ? `the newest head is from ${since.toISOString()}` : `the oldest of them is from ${since.toISOString()}`} (heads are signed every ${this.options.headEverySeconds} s while Warden runs): heads were deleted, or no Warden process has run since (starting one signs them)`,
      });
    }
  }

  async checkAuditHead(): Promise<void> {
    const lastSeq = this.lastSeq;
    const head = await this.db.selectFrom('audit_head').selectAll().where('id', '=', 1).executeTakeFirst();
    if (!head) return this.find({ code: 'audit_head', seq: lastSeq + 1, message: 'the audit head row is missing' });
    const headSeq = Number(head.seq);
    if (headSeq > lastSeq) return this.find({ code: 'audit_head', seq: lastSeq + 1, message: `entries ${lastSeq + 1}..${headSeq} were removed (the head says ${headSeq})` });
    if (headSeq < lastSeq) return this.find({ code: 'audit_head', seq: headSeq + 1, message: `entries after ${headSeq} were not written by the audit writer (the head says ${headSeq})` });
    if (!toBuffer(head.hash).equals(this.prev)) return this.find({ code: 'audit_head', seq: lastSeq, message: `the last entry ${lastSeq} does not match the head hash` });
    if (head.frontier && !toBuffer(head.frontier).equals(this.frontier.serialize())) {
      this.find({ code: 'audit_head', seq: lastSeq, message: 'the tree frontier stored with the head does not match the entries (heads signed from it would be wrong)' });
    }
  }

  /** Per witness: the earliest rewrite or fork, and the largest truncation. */
  checkWitnesses(): WitnessSummary[] {
    const summaries: WitnessSummary[] = [];
    const lastSeq = this.lastSeq;
    for (const w of this.options.witnesses ?? []) {
      const before = this.findings.length + this.findingsDropped;
      const valid = w.heads.filter((h) => checkHead(h, this.options.publicKeys) === 'ok').sort((a, b) => a.treeSize - b.treeSize);
      const reachable = (h: SignedTreeHead) => !(this.broken && h.treeSize >= this.expectedSeq); // past a chain break nothing is known
      const first = valid.find((h) => reachable(h) && h.treeSize <= lastSeq && this.divergence(h) !== null);
      if (first) this.reportDivergence(w.sink, first);
      const beyond = valid.at(-1);
      if (beyond && beyond.treeSize > lastSeq && reachable(beyond)) {
        this.find({ code: 'witness_truncated', seq: lastSeq + 1, message: `witness ${w.sink} saw tree size ${beyond.treeSize} with root ${beyond.root.toString('hex')}; the store has only ${lastSeq} entries: entries ${lastSeq + 1}..${beyond.treeSize} were removed` });
      }
      summaries.push({ sink: w.sink, heads: valid.length, latestSize: beyond?.treeSize ?? null, ok: this.findings.length + this.findingsDropped === before && w.problems.length === 0 });
    }
    return summaries;
  }

  /** How the store departs from a witnessed head: a signed head with another root (fork), another recomputed root (rewrite). */
  private divergence(h: SignedTreeHead): 'fork' | 'rewrite' | null {
    const storeHead = this.storeHeadsAtWitnessed.get(h.treeSize);
    if (storeHead && !storeHead.root.equals(h.root)) return 'fork';
    const root = this.rootsAtWitnessed.get(h.treeSize);
    return root && !root.equals(h.root) ? 'rewrite' : null;
  }

  private reportDivergence(sink: string, h: SignedTreeHead): void {
    const from = this.lastMatchBelow(h.treeSize) + 1;
    if (this.divergence(h) === 'fork') {
      const storeHead = this.storeHeadsAtWitnessed.get(h.treeSize)!;
      this.find({ code: 'witness_fork', seq: from, message: `fork: witness ${sink} saw root ${h.root.toString('hex')} at tree size ${h.treeSize}, the store holds a signed head with root ${storeHead.root.toString('hex')} at the same size (the trail was rewritten while a writer kept signing)` });
    } else {
      this.find({ code: 'witness_rewritten', seq: from, message: `the store's root at tree size ${h.treeSize} differs from the root witness ${sink} saw (${h.root.toString('hex')}): entries ${from}..${h.treeSize} were rewritten` });
    }
  }

  /** The largest witnessed or signed size below `size` whose root the store reproduces (0 if none). */
  private lastMatchBelow(size: number): number {
    let best = 0;
    for (const [s, list] of this.witnessed) {
      if (s >= size || s <= best) continue;
      const root = this.rootsAtWitnessed.get(s);
      if (root && list.every((x) => x.head.root.equals(root))) best = s;
    }
    const good = this.lastGood;
    return good && good.treeSize < size ? Math.max(best, good.treeSize) : best;
  }

  result(witnesses: WitnessSummary[]): VerifyResult {
    const findings = [...this.findings];
    if (this.findingsDropped) findings.push({ code: findings.at(-1)!.code, message: `… and ${this.findingsDropped} more findings` });
    const first = findings.filter((f) => f.seq !== undefined).sort((a, b) => a.seq! - b.seq!)[0] ?? findings[0];
    return {
      ok: findings.length === 0,
      entries: this.lastSeq,
      lastSeq: this.lastSeq,
      headsVerified: this.headsVerified,
      latestHead: this.latestHead,
      ...(first ? { firstBadSeq: first.seq ?? this.lastSeq + 1, reason: first.message } : {}),
      findings,
      witnesses,
      trust: { pinned: this.options.pinned ?? true, keyIds: [...this.options.publicKeys.keys()], note: this.options.trustNote ?? null },
    };
  }
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
