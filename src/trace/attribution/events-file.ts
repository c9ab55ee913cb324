/**
 * The access history from an NDJSON file of contract events (`--events`), read at close to the
 * speed of a bare read (the scan itself: ./events-scan.ts). A plain file is cut into byte ranges
 * on line boundaries and scanned on worker threads, one per core (in order, on this thread, when
 * the workers are not built: under the test runner); a gzip-compressed file (`.ndjson.gz`, known
 * by its magic bytes, not its name) is inflated as a stream on this thread.
 *
 * The universe (distinct records shown) is estimated by linear counting over a 2^24-bit map.
 */
import { closeSync, createReadStream, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createGunzip } from 'node:zlib';
import type { History } from './score.js';
import { createChunkScanner, mergeParts, popcount, SEEN_BITS, type ChunkScanner, type ScanPart, type ScanStats } from './events-scan.js';

export type { ScanStats } from './events-scan.js';

const CHUNK = 8 * 1024 * 1024;
/** Below this a worker costs more than it saves. */
const THREAD_MIN_BYTES = 64 * 1024 * 1024;
const NEWLINE = Buffer.from('\n');
const workerUrl = new URL('./events-worker.js', import.meta.url);

export interface HistoryFileOptions {
  /** Byte ranges scanned at once (default: one per core, up to 2, for files of 64 MiB or more). */
  threads?: number;
}

/** Reads every byte once and nothing more: the baseline the scan is measured against. */
export function bareRead(path: string): { bytes: number } {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let bytes = 0;
  try {
    for (let n; (n = readSync(fd, buf, 0, CHUNK, null)) > 0; ) bytes += n;
  } finally {
    closeSync(fd);
  }
  return { bytes };
}

const isGzip = (fd: number): boolean => {
  const head = Buffer.alloc(2);
  return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
};

/** The first line start at or after `pos`: `pos` itself at 0 or just after a newline. */
function lineStart(fd: number, pos: number, size: number): number {
  if (pos <= 0) return 0;
  const buf = Buffer.allocUnsafe(64 * 1024);
  for (let at = pos - 1; at < size; ) {
    const n = readSync(fd, buf, 0, buf.length, at);
    if (n <= 0) break;
    const i = buf.indexOf(10);
    if (i !== -1 && i < n) return at + i + 1;
    at += n;
  }
  return size;
}

/** Feeds the lines of bytes [from, to) of the file to the scanner; `from` and `to` are line starts (or the end). */
function scanBytes(fd: number, from: number, to: number, scanner: ChunkScanner): void {
  let buf = Buffer.allocUnsafe(CHUNK);
  let carry = 0;
  for (let pos = from; ; ) {
    const n = pos < to ? readSync(fd, buf, carry, Math.min(buf.length - carry, to - pos), pos) : 0;
    pos += n;
    const total = carry + n;
    if (total === 0) break;
    let end = n === 0 ? total : buf.lastIndexOf(10, total - 1) + 1;
    // The scanner takes newline-ended lines: the file's last line gets one (the carry is shorter than the buffer).
    if (n === 0 && buf[total - 1] !== 10) buf[end++] = 10;
    if (end === 0) {
      // A line longer than the buffer: grow it.
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, total);
      buf = bigger;
      carry = total;
      continue;
    }
    scanner.scan(buf, end);
    if (n === 0) break;
    carry = total - end;
    buf.copy(buf, 0, end, total);
  }
}

/** Scans lines starting in bytes [from, to) of a plain file (a worker's share, or the whole file). */
export function scanRange(path: string, from: number, to: number, leaked: ReadonlySet<string>): ScanPart {
  const scanner = createChunkScanner(leaked);
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    scanBytes(fd, lineStart(fd, from, size), lineStart(fd, Math.min(to, size), size), scanner);
  } finally {
    closeSync(fd);
  }
  return scanner.part;
}

async function scanGzip(path: string, leaked: ReadonlySet<string>): Promise<ScanPart> {
  const scanner = createChunkScanner(leaked);
  let pending: Buffer[] = [];
  let size = 0;
  const flush = (last: boolean) => {
    let all = pending.length === 1 ? pending[0]! : Buffer.concat(pending, size);
    if (last && all[all.length - 1] !== 10) all = Buffer.concat([all, NEWLINE]);
    const end = last ? all.length : all.lastIndexOf(10) + 1;
    if (end > 0) scanner.scan(all, end);
    pending = end < all.length ? [all.subarray(end)] : [];
    size = all.length - end;
  };
  const stream = createReadStream(path, { highWaterMark: 1 << 20 }).pipe(createGunzip({ chunkSize: 1 << 20 }));
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    pending.push(chunk);
    size += chunk.length;
    if (size >= CHUNK) flush(false);
  }
  if (size) flush(true);
  return scanner.part;
}

function inWorker(path: string, from: number, to: number, leaked: string[]): Promise<ScanPart> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerUrl, { workerData: { path, from, to, leaked } });
    worker.once('message', (part: ScanPart) => resolve(part));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`events scan worker stopped with code ${code}`));
    });
  });
}

async function scanPlain(path: string, leaked: ReadonlySet<string>, size: number, opts: HistoryFileOptions): Promise<ScanPart> {
  const threads = Math.max(1, Math.floor(opts.threads ?? (size >= THREAD_MIN_BYTES ? Math.min(2, availableParallelism()) : 1)));
  if (threads === 1) return scanRange(path, 0, size, leaked);
  const cuts = Array.from({ length: threads + 1 }, (_, i) => Math.round((size * i) / threads));
  const ranges = cuts.slice(1).map((to, i) => [cuts[i]!, to] as const);
  const canThread = import.meta.url.endsWith('.js') && existsSync(fileURLToPath(workerUrl));
  if (!canThread) return ranges.map(([from, to]) => scanRange(path, from, to, leaked)).reduce(mergeParts);
  const list = [...leaked];
  const parts = await Promise.all(ranges.map(([from, to]) => inWorker(path, from, to, list)));
  return parts.reduce(mergeParts);
}

export async function historyFromFile(path: string, leaked: ReadonlySet<string>, opts: HistoryFileOptions = {}): Promise<History & { stats: ScanStats }> {
  const fd = openSync(path, 'r');
  let gzip: boolean;
  let size: number;
  try {
    gzip = isGzip(fd);
    size = fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
  const part = gzip ? await scanGzip(path, leaked) : await scanPlain(path, leaked, size, opts);
  const volume = new Map(part.volume);
  for (const [k, n] of part.latinVolume) {
    const name = Buffer.from(k, 'latin1').toString('utf8');
    volume.set(name, (volume.get(name) ?? 0) + n);
  }
  // Linear counting: distinct ≈ −m·ln(empty / m).
  const set = popcount(part.seen);
  const universe = Math.round(-SEEN_BITS * Math.log(Math.max(1, SEEN_BITS - set) / SEEN_BITS));
  return { volume, universe, exposures: part.exposures, stats: part.stats };
}
