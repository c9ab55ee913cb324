/**
 * A bounded, append-only on-disk queue of JSON lines, one per SIEM sink: segments
 * `seg-<n>.ndjson` and a `cursor.json` (segment, byte offset) written by rename after a delivery.
 *
 * `append` never waits: lines are buffered and written in order by one background chain, so a
 * reveal never waits on the SIEM disk. Beyond `maxBytes` on disk new lines are refused and
 * counted (the caller's metric), never blocking. Reading is by position and does not move the
 * cursor; `ack(pos)` does, so a failed delivery is re-read from the last acked position
 * (at-least-once: a redelivery can duplicate, a SIEM dedupes by the event id).
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export interface QueuePos {
  seg: number;
  offset: number;
}
export interface QueueItem {
  line: string;
  /** Position just after this line. */
  next: QueuePos;
}

export interface DiskQueue {
  append(lines: string[]): void;
  /** Up to `max` complete lines from `from` (waits for nothing). */
  read(from: QueuePos, max: number): Promise<QueueItem[]>;
  ack(pos: QueuePos): Promise<void>;
  acked(): QueuePos;
  /** Resolves once everything appended so far is on disk. */
  flushed(): Promise<void>;
  /** Bytes on disk not yet acked (approximate) and lines buffered in memory. */
  stats(): { bytes: number; buffered: number };
  /** Called after lines are on disk (wakes a reader). */
  onWritten(fn: () => void): void;
  close(): Promise<void>;
}

const SEG_BYTES = 1024 * 1024;
const segName = (n: number) => `seg-${String(n).padStart(10, '0')}.ndjson`;

export function openDiskQueue(dir: string, opts: { maxBytes: number; maxBuffered?: number; onDrop: (lines: number) => void; onError?: (err: unknown) => void }): DiskQueue {
  mkdirSync(dir, { recursive: true });
  const maxBuffered = opts.maxBuffered ?? 100_000;
  const segs = readdirSync(dir)
    .map((f) => /^seg-(\d+)\.ndjson$/.exec(f))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  let cursor: QueuePos = segs.length ? { seg: segs[0]!, offset: 0 } : { seg: 1, offset: 0 };
  try {
    const c = JSON.parse(readFileSync(join(dir, 'cursor.json'), 'utf8')) as QueuePos;
    if (Number.isInteger(c.seg) && Number.isInteger(c.offset)) cursor = c;
  } catch {
    // no cursor yet: from the first segment
  }
  const sizes = new Map<number, number>(segs.map((n) => [n, statSync(join(dir, segName(n))).size]));
  let tail = segs.length ? segs[segs.length - 1]! : cursor.seg;
  if (!sizes.has(tail)) sizes.set(tail, 0);
  let handle: FileHandle | null = null;
  let buffer: string[] = [];
  let chain: Promise<void> = Promise.resolve();
  const listeners: Array<() => void> = [];

  const onDisk = (): number => {
    let total = 0;
    for (const [n, size] of sizes) if (n >= cursor.seg) total += size - (n === cursor.seg ? cursor.offset : 0);
    return total;
  };

  async function writeOut(): Promise<void> {
    if (!buffer.length) return;
    const lines = buffer;
    buffer = [];
    let data = lines.join('\n') + '\n';
    let bytes = Buffer.byteLength(data);
    if (onDisk() + bytes > opts.maxBytes) {
      // Keep the oldest (contiguous, in order); refuse what does not fit, counted.
      const kept: string[] = [];
      let room = opts.maxBytes - onDisk();
      for (const l of lines) {
        const b = Buffer.byteLength(l) + 1;
        if (b > room) break;
        kept.push(l);
        room -= b;
      }
      opts.onDrop(lines.length - kept.length);
      if (!kept.length) return;
      data = kept.join('\n') + '\n';
      bytes = Buffer.byteLength(data);
    }
    if ((sizes.get(tail) ?? 0) > 0 && (sizes.get(tail) ?? 0) + bytes > SEG_BYTES) {
      await handle?.close();
      handle = null;
      tail++;
      sizes.set(tail, 0);
    }
    handle ??= await open(join(dir, segName(tail)), 'a');
    await handle.write(data);
    await handle.datasync();
    sizes.set(tail, (sizes.get(tail) ?? 0) + bytes);
    for (const l of listeners) l();
  }

  return {
    append(lines) {
      if (!lines.length) return;
      const room = maxBuffered - buffer.length;
      if (room < lines.length) opts.onDrop(lines.length - Math.max(0, room));
      buffer.push(...(room < lines.length ? lines.slice(0, Math.max(0, room)) : lines));
      const count = lines.length;
      chain = chain.then(writeOut).catch((err) => {
        opts.onDrop(count);
        opts.onError?.(err);
      });
    },
    async read(from, max) {
      const out: QueueItem[] = [];
      let pos = { ...from };
      while (out.length < max) {
        const size = sizes.get(pos.seg);
        if (size === undefined) {
          const later = [...sizes.keys()].filter((n) => n > pos.seg).sort((a, b) => a - b)[0];
          if (later === undefined) break;
          pos = { seg: later, offset: 0 };
          continue;
        }
        if (pos.offset >= size) {
          if (pos.seg >= tail) break;
          pos = { seg: pos.seg + 1, offset: 0 };
          continue;
        }
        const fh = await open(join(dir, segName(pos.seg)), 'r');
        try {
          // A window of 256 KiB, or the rest of the segment when one line is longer than that.
          let start = 0;
          for (let want = Math.min(size - pos.offset, 256 * 1024); ; want = size - pos.offset) {
            const buf = Buffer.alloc(want);
            const { bytesRead } = await fh.read(buf, 0, want, pos.offset);
            for (let i = 0; i < bytesRead && out.length < max; i++) {
              if (buf[i] !== 0x0a) continue;
              out.push({ line: buf.subarray(start, i).toString('utf8'), next: { seg: pos.seg, offset: pos.offset + i + 1 } });
              start = i + 1;
            }
            if (start > 0 || want >= size - pos.offset) break;
          }
          if (start === 0) break; // a torn last line (crash mid-write): wait for nothing more there
          pos = { seg: pos.seg, offset: pos.offset + start };
        } finally {
          await fh.close();
        }
      }
      return out;
    },
    async ack(pos) {
      cursor = { ...pos };
      const tmp = join(dir, 'cursor.json.tmp');
      await writeFile(tmp, JSON.stringify(cursor));
      await rename(tmp, join(dir, 'cursor.json'));
      for (const n of [...sizes.keys()]) {
        if (n < cursor.seg) {
          sizes.delete(n);
          await rm(join(dir, segName(n)), { force: true });
        }
      }
    },
    acked: () => ({ ...cursor }),
    flushed: () => chain,
    stats: () => ({ bytes: onDisk(), buffered: buffer.length }),
    onWritten(fn) {
      listeners.push(fn);
    },
    async close() {
      await chain;
      await handle?.close();
      handle = null;
    },
  };
}
