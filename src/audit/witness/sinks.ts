/**
 * Witness sinks: places outside the store where signed tree heads are published and later read
 * back by an auditor. Configured as a comma-separated list (WARDEN_WITNESS, `--witness`):
 *
 *   file:PATH            an append-only NDJSON file on another path, fsync'd per head
 *   http(s)://host:port  a `warden witness serve` process, sent a consistency proof with each head
 *   postgres://…         a table in a separate database where Warden's role may only INSERT
 *
 * Invariants:
 * - A sink's label never carries a password (it appears in logs, metrics and /audit/status).
 * - Publishing appends; nothing here updates or deletes what a witness holds.
 * - Reads are bounded (pages, a cap) and report malformed lines instead of failing silently.
 */
import { open, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import pg from 'pg';
import { headJson, isParseError, parseHeadJson, type SignedTreeHead } from '../sth.js';
import type { WitnessReading } from '../verify.js';

export type SinkKind = 'file' | 'http' | 'postgres';

/** Builds the consistency proof from `from` to `to` entries (the tree store). */
export type ProofSource = (from: number, to: number) => Promise<Buffer[]>;

export interface WitnessSink {
  readonly kind: SinkKind;
  /** For logs and status: the target without credentials. */
  readonly label: string;
  /** For metrics: kind#position, a closed set fixed by the configuration. */
  readonly metricLabel: string;
  publish(head: SignedTreeHead, proofs: ProofSource): Promise<PublishOutcome>;
  read(): Promise<WitnessReading>;
  close(): Promise<void>;
}

export type PublishOutcome = { status: 'accepted' } | { status: 'superseded'; witnessSize: number };

export class WitnessRefused extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Heads read back from one witness, at most this many (a year of heads every 5 s is ~6.3 M). */
const MAX_READ = 10_000_000;

export function parseWitnessList(list: string | undefined): Array<{ kind: SinkKind; target: string }> {
  if (!list) return [];
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item, i) => {
      if (item.startsWith('file:')) {
        const path = item.slice('file:'.length);
        if (!path) throw new Error(`witness ${i + 1}: file: needs a path (file:/var/lib/witness/heads.ndjson)`);
        return { kind: 'file' as const, target: resolve(path) };
      }
      if (/^https?:\/\//.test(item)) return { kind: 'http' as const, target: item.replace(/\/+$/, '') };
      if (/^postgres(ql)?:\/\//.test(item)) return { kind: 'postgres' as const, target: item };
      throw new Error(`witness ${i + 1}: "${redact(item).slice(0, 80)}" is not file:PATH, http(s)://… or postgres://…`);
    });
}

export function createSinks(list: string | undefined): WitnessSink[] {
  return parseWitnessList(list).map(({ kind, target }, i) => {
    const metricLabel = `${kind}#${i}`;
    if (kind === 'file') return fileSink(target, metricLabel);
    if (kind === 'http') return httpSink(target, metricLabel);
    return postgresSink(target, metricLabel);
  });
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:\/\/[^@/]*@/, '://***@');
  }
}

function fileSink(path: string, metricLabel: string): WitnessSink {
  return {
    kind: 'file',
    label: `file:${path}`,
    metricLabel,
    async publish(head) {
      const fh = await open(path, 'a', 0o644);
      try {
        await fh.write(JSON.stringify(headJson(head)) + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
      return { status: 'accepted' };
    },
    async read() {
      const heads: SignedTreeHead[] = [];
      const problems: string[] = [];
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        return { sink: `file:${path}`, heads, problems: [`cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`] };
      }
      text.split('\n').forEach((line, i) => {
        if (!line.trim() || heads.length >= MAX_READ) return;
        let parsed: ReturnType<typeof parseHeadJson>;
        try {
          parsed = parseHeadJson(JSON.parse(line));
        } catch {
          parsed = { error: 'not JSON' };
        }
        if (isParseError(parsed)) problems.push(`line ${i + 1} is not a signed head (${parsed.error})`);
        else heads.push(parsed);
      });
      return { sink: `file:${path}`, heads, problems };
    },
    async close() {},
  };
}

function httpSink(base: string, metricLabel: string): WitnessSink {
  const label = redact(base);
  /** The newest head the witness told us it holds (undefined until asked). */
  let witnessLatest: SignedTreeHead | null | undefined;

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(base + path, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      throw new Error(`${method} ${path} answered ${res.status} with a body that is not JSON`);
    }
    return { status: res.status, json };
  }

  const parseLatest = (value: unknown): SignedTreeHead | null => {
    if (!value) return null;
    const h = parseHeadJson(value);
    if (isParseError(h)) throw new Error(`the witness's latest head is malformed (${h.error})`);
    return h;
  };

  async function latest(): Promise<SignedTreeHead | null> {
    const r = await call('GET', '/heads/latest');
    if (r.status !== 200) throw new Error(`GET /heads/latest answered ${r.status}`);
    return parseLatest(r.json?.head);
  }

  return {
    kind: 'http',
    label,
    metricLabel,
    async publish(head, proofs) {
      for (let attempt = 0; attempt < 3; attempt++) {
        if (witnessLatest === undefined) witnessLatest = await latest();
        const seen = witnessLatest;
        if (seen && head.treeSize < seen.treeSize) return { status: 'superseded', witnessSize: seen.treeSize };
        const from = seen && seen.treeSize < head.treeSize ? seen.treeSize : null;
        const proof = from ? (await proofs(from, head.treeSize)).map((b) => b.toString('base64')) : [];
        const r = await call('POST', '/heads', { head: headJson(head), ...(from ? { consistency: { from_size: from, proof } } : {}) });
        if (r.status === 200) {
          witnessLatest = parseLatest(r.json?.latest) ?? head;
          return { status: 'accepted' };
        }
        const reason = String(r.json?.error?.reason ?? 'unknown');
        const message = String(r.json?.error?.message ?? `POST /heads answered ${r.status}`).slice(0, 300);
        if (r.status === 409 && (reason === 'proof_required' || reason === 'stale')) {
          // Another process published meanwhile: learn what the witness holds and try again.
          witnessLatest = parseLatest(r.json?.error?.latest);
          continue;
        }
        witnessLatest = undefined;
        if (r.status === 409) throw new WitnessRefused(reason, message);
        throw new Error(message);
      }
      throw new Error('the witness kept moving while publishing (3 attempts)');
    },
    async read() {
      const heads: SignedTreeHead[] = [];
      const problems: string[] = [];
      let after = 0;
      try {
        while (heads.length < MAX_READ) {
          const r = await call('GET', `/heads?after=${after}&limit=1000`);
          if (r.status !== 200 || !Array.isArray(r.json?.heads)) throw new Error(`GET /heads answered ${r.status}`);
          for (const [i, item] of (r.json.heads as unknown[]).entries()) {
            const h = parseHeadJson(item);
            if (isParseError(h)) problems.push(`head ${heads.length + i + 1} is malformed (${h.error})`);
            else heads.push(h);
          }
          if (r.json.next_after === null || r.json.next_after === undefined) break;
          if (!(Number(r.json.next_after) > after)) throw new Error('GET /heads did not move forward');
          after = Number(r.json.next_after);
        }
      } catch (err) {
        problems.push(`cannot be read (${(err as Error).message.slice(0, 200)})`);
      }
      return { sink: label, heads, problems };
    },
    async close() {},
  };
}

/** The table an operator creates in a separate database (docs/audit.md has the SQL and grants). */
export const WITNESS_TABLE = 'warden_witness_heads';

function postgresSink(url: string, metricLabel: string): WitnessSink {
  const label = redact(url);
  let pool: pg.Pool | null = null;
  const db = () => {
    if (!pool) {
      pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 5000, statement_timeout: 10_000 });
      pool.on('error', () => undefined);
    }
    return pool;
  };
  return {
    kind: 'postgres',
    label,
    metricLabel,
    async publish(head) {
      const j = headJson(head);
      await db().query(`insert into ${WITNESS_TABLE} (tree_size, root_hash, ts, key_id, signature) values ($1, $2, $3, $4, $5)`, [j.tree_size, j.root_hash, j.timestamp, j.key_id, j.signature]);
      return { status: 'accepted' };
    },
    async read() {
      const heads: SignedTreeHead[] = [];
      const problems: string[] = [];
      try {
        let after = -1;
        for (;;) {
          const { rows } = await db().query(
            `select id, tree_size, root_hash, to_char(ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as ts, key_id, signature from ${WITNESS_TABLE} where id > $1 order by id limit 5000`,
            [after],
          );
          for (const row of rows) {
            const h = parseHeadJson({ tree_size: Number(row.tree_size), root_hash: row.root_hash, timestamp: row.ts, key_id: row.key_id, signature: row.signature });
            if (isParseError(h)) problems.push(`row ${row.id} is not a signed head (${h.error})`);
            else heads.push(h);
          }
          if (rows.length < 5000 || heads.length >= MAX_READ) break;
          after = Number(rows.at(-1).id);
        }
      } catch (err) {
        problems.push(`cannot be read (${(err as { code?: string }).code ?? (err as Error).message.slice(0, 120)})`);
      }
      return { sink: label, heads, problems };
    },
    async close() {
      const p = pool as pg.Pool | null;
      pool = null;
      await p?.end();
    },
  };
}
