/**
 * Signed tree heads on a timer: every `everySeconds`, if the tree grew past the newest signed
 * head, sign a head at the current size (the writer signs the every-N-entries heads itself).
 * Also at start (entries a crashed process left unsigned) and at close.
 *
 * Invariants:
 * - The root comes from the frontier stored with audit_head, read in one statement with its
 *   seq, so it is the root of exactly the first `seq` entries; no lock on the hot path.
 * - Any process may sign: two heads for one size collide on the primary key and one is kept;
 *   both would carry the same root.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Logger } from '../ops/logger.js';
import { Frontier } from './merkle.js';
import { signHead, type HeadSigner, type SignedTreeHead } from './sth.js';
import { headToRow } from './tree-store.js';
import { errorSummary } from './writer.js';

export interface HeadTimer {
  /** Signs a head over the current tree if it grew; returns it (null when nothing to sign). */
  tick(): Promise<SignedTreeHead | null>;
  start(): void;
  stop(): void;
  onSigned(listener: (head: SignedTreeHead) => void): void;
}

export function createHeadTimer(deps: { db: Kysely<Database>; signer: HeadSigner; everySeconds: number; logger: Logger }): HeadTimer {
  const listeners: Array<(head: SignedTreeHead) => void> = [];
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<SignedTreeHead | null> | null = null;

  async function signNow(): Promise<SignedTreeHead | null> {
    const { rows } = await sql<{ seq: number; frontier: Uint8Array | null; signed: number | null }>`
      select h.seq, h.frontier, (select max(tree_size) from audit_tree_heads) as signed from audit_head h where h.id = 1`.execute(deps.db);
    const row = rows[0];
    if (!row || !row.frontier) return null;
    const size = Number(row.seq);
    if (size === 0 || (row.signed !== null && Number(row.signed) >= size)) return null;
    const head = signHead(deps.signer, size, Frontier.parse(size, row.frontier).root(), new Date());
    const inserted = await deps.db.insertInto('audit_tree_heads').values(headToRow(head)).onConflict((oc) => oc.column('tree_size').doNothing()).executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return null;
    for (const l of listeners) l(head);
    return head;
  }

  function tick(): Promise<SignedTreeHead | null> {
    // One at a time per process: a slow store must not pile up ticks.
    if (!running) running = signNow().finally(() => (running = null));
    return running;
  }

  return {
    tick,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        tick().catch((err: unknown) => deps.logger.error({ err: errorSummary(err) }, 'signing a tree head failed; will retry'));
      }, deps.everySeconds * 1000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
    onSigned(listener) {
      listeners.push(listener);
    },
  };
}
