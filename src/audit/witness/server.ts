/**
 * The witness (`warden witness serve`): a small HTTP service, run by someone other than the
 * store's owner, that keeps every signed tree head it accepted and refuses any head inconsistent
 * with them. Auditors read what it saw from GET /heads.
 *
 * Invariants:
 * - A head is accepted only if its signature verifies under a pinned key and it extends the
 *   newest head held: same size → same root; larger → an RFC 6962 consistency proof from the
 *   newest held head. Smaller trees, other roots and unproven growth are refused (409).
 * - Accepted heads are appended to DIR/heads.ndjson and fsync'd before the answer; the file only
 *   grows, in strictly increasing tree size. POSTs are handled one at a time.
 * - Memory: the newest head plus two numbers per head (size, file offset) for paging.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { mkdirSync, openSync, closeSync, readSync, fstatSync, writeSync, fsyncSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../../ops/logger.js';
import { AppError, ERROR_STATUS, type ErrorCode } from '../../errors.js';
import { verifyConsistency, HASH_BYTES } from '../merkle.js';
import { checkHead, describeHeadCheck, headJson, isParseError, parseHeadJson, type PinnedKeys, type SignedTreeHead } from '../sth.js';

const HeadSchema = Type.Object(
  {
    tree_size: Type.Integer({ minimum: 1 }),
    root_hash: Type.String({ maxLength: 64 }),
    timestamp: Type.String({ maxLength: 40 }),
    key_id: Type.String({ maxLength: 40 }),
    signature: Type.String({ maxLength: 100 }),
  },
  { additionalProperties: false },
);
const PostBody = Type.Object(
  {
    head: HeadSchema,
    consistency: Type.Optional(Type.Object({ from_size: Type.Integer({ minimum: 1 }), proof: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 128 }) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

/** Append-only file of accepted heads, with an in-memory index for paging. */
class HeadFile {
  private readonly sizes: number[] = [];
  private readonly offsets: number[] = [];
  private end = 0;
  latest: SignedTreeHead | null = null;

  constructor(readonly path: string) {
    if (!existsSync(path)) return;
    const text = readFileSync(path, 'utf8');
    let offset = 0;
    for (const [i, line] of text.split('\n').entries()) {
      const bytes = Buffer.byteLength(line) + 1;
      if (line.trim()) {
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          throw new Error(`${path} line ${i + 1}: not JSON`);
        }
        const h = parseHeadJson(value);
        if (isParseError(h)) throw new Error(`${path} line ${i + 1}: ${h.error}`);
        if (this.latest && h.treeSize <= this.latest.treeSize) throw new Error(`${path} line ${i + 1}: tree sizes must increase`);
        this.sizes.push(h.treeSize);
        this.offsets.push(offset);
        this.latest = h;
      }
      offset += bytes;
    }
    this.end = Buffer.byteLength(text);
  }

  append(head: SignedTreeHead): void {
    const line = JSON.stringify(headJson(head)) + '\n';
    const fd = openSync(this.path, 'a', 0o644);
    try {
      writeSync(fd, line);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.sizes.push(head.treeSize);
    this.offsets.push(this.end);
    this.end += Buffer.byteLength(line);
    this.latest = head;
  }

  /** Heads with tree size > after, at most `limit`, and where the next page starts. */
  page(after: number, limit: number): { heads: unknown[]; nextAfter: number | null } {
    let lo = 0;
    let hi = this.sizes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sizes[mid]! <= after) lo = mid + 1;
      else hi = mid;
    }
    const last = Math.min(this.sizes.length, lo + limit);
    if (lo >= last) return { heads: [], nextAfter: null };
    const from = this.offsets[lo]!;
    const to = last < this.offsets.length ? this.offsets[last]! : this.end;
    const buf = Buffer.alloc(to - from);
    const fd = openSync(this.path, 'r');
    try {
      readSync(fd, buf, 0, buf.length, from);
      if (fstatSync(fd).size < to) throw new Error('the heads file shrank');
    } finally {
      closeSync(fd);
    }
    const heads = buf.toString('utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as unknown);
    return { heads, nextAfter: last < this.sizes.length ? this.sizes[last - 1]! : null };
  }
}

export interface WitnessServerOptions {
  dataDir: string;
  publicKeys: PinnedKeys;
  logger: Logger;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type WitnessApp = FastifyInstance<any, any, any, any, any>;

export async function createWitnessServer(opts: WitnessServerOptions): Promise<WitnessApp> {
  if (opts.publicKeys.size === 0) throw new Error('a witness needs the public key(s) it accepts heads from (--public-key or WARDEN_AUDIT_PUBLIC_KEYS)');
  const dir = resolve(opts.dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = new HeadFile(join(dir, 'heads.ndjson'));
  const app = Fastify({ loggerInstance: opts.logger, bodyLimit: 64 * 1024, disableRequestLogging: true }).withTypeProvider<TypeBoxTypeProvider>();

  app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number }, req, reply) => {
    if (err instanceof AppError) return reply.code(err.status).send({ error: { code: err.code, message: err.message, ...(err.details ?? {}) } });
    if (err.validation || (err.statusCode && err.statusCode < 500)) {
      const code: ErrorCode = err.validation ? 'validation_failed' : 'bad_request';
      return reply.code(ERROR_STATUS[code]).send({ error: { code, message: err.message.slice(0, 200) } });
    }
    req.log.error({ err: { type: err.name } }, 'witness: unhandled error');
    return reply.code(500).send({ error: { code: 'internal', message: `internal error (request ${req.id})` } });
  });

  const refuse = (reason: string, message: string): never => {
    opts.logger.warn({ reason }, `witness refused a head: ${message}`);
    throw new AppError('head_refused', message, { reason, latest: file.latest ? headJson(file.latest) : null });
  };

  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(fn: () => T): Promise<T> => {
    const run = queue.then(fn);
    queue = run.catch(() => undefined);
    return run;
  };

  function accept(body: Static<typeof PostBody>) {
    const head = parseHeadJson(body.head);
    if (isParseError(head)) throw new AppError('validation_failed', `head: ${head.error}`);
    const check = checkHead(head, opts.publicKeys);
    if (check !== 'ok') refuse(check, describeHeadCheck(head, check));
    const latest = file.latest;
    if (!latest) {
      file.append(head);
      return { accepted: true, latest: headJson(head) };
    }
    if (head.treeSize === latest.treeSize) {
      if (!head.root.equals(latest.root)) refuse('fork', `a different root at tree size ${head.treeSize} than the head already witnessed`);
      return { accepted: true, latest: headJson(latest) };
    }
    if (head.treeSize < latest.treeSize) refuse('stale', `tree size ${head.treeSize} is smaller than the ${latest.treeSize} entries already witnessed`);
    if (!body.consistency || body.consistency.from_size !== latest.treeSize) {
      refuse('proof_required', `a consistency proof from tree size ${latest.treeSize} (the newest head witnessed) is required`);
    }
    const proof = body.consistency!.proof.map((p) => Buffer.from(p, 'base64'));
    if (proof.some((p) => p.length !== HASH_BYTES) || !verifyConsistency(latest.treeSize, head.treeSize, latest.root, head.root, proof)) {
      refuse('inconsistent', `tree size ${head.treeSize} is not an extension of the tree of ${latest.treeSize} entries already witnessed (the consistency proof does not link them)`);
    }
    file.append(head);
    return { accepted: true, latest: headJson(head) };
  }

  app.post('/heads', { schema: { body: PostBody } }, async (req) => serially(() => accept(req.body)));
  app.get('/heads/latest', async () => ({ head: file.latest ? headJson(file.latest) : null }));
  app.get(
    '/heads',
    { schema: { querystring: Type.Object({ after: Type.Integer({ minimum: 0, default: 0 }), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 1000 }) }, { additionalProperties: false }) } },
    async (req) => {
      const page = file.page(req.query.after, req.query.limit);
      return { heads: page.heads, next_after: page.nextAfter };
    },
  );
  app.get('/healthz', async () => ({ status: 'ok', heads: file.latest?.treeSize ?? 0 }));
  await app.ready();
  return app;
}
